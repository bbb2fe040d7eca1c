//! The signed upload and the signed version listing: checked against the mini program before the
//! body is read, and stored in the one write that checks everything again.

use std::net::IpAddr;

use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use uuid::Uuid;

use crate::model::{Missing, OrMissing};
use crate::model::account::TokenScope;
use crate::model::minis::validate_note;
use crate::server::guard::MiniNeed;
use crate::model::workspace::WorkspaceStatus;
use crate::model::audit::AuditAction;
use crate::server::http_error::ApiError;
use crate::server::keys;
use crate::server::store::apps::{self as app_store, Key, KeyRecord};
use crate::server::store::audit::{self, Actor};
use crate::server::store::minis::{self as store, Version};
use crate::server::store::workspaces as ws;

use super::*;

pub(super) fn not_found_in_key_workspace() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "unknown_mini_program", "No such mini program in the workspace of this key.")
}

pub(super) fn suspended(name: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "workspace_suspended", format!("The workspace {name} is suspended: nothing can be uploaded until the platform operator reactivates it."))
}

pub(super) fn removed() -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "mini_program_removed", "This mini program has been removed; nothing more can be uploaded to it.")
}

/// What a signed request about a mini program is checked against before its body is read, in
/// one read: the mini program in the key's workspace, which is active; its versions; the key's
/// App's name. (The write that acts checks them again.)
pub(super) struct Target {
    pub(super) mini_program: store::MiniProgram,
    pub(super) workspace: ws::Workspace,
    pub(super) versions: Vec<Version>,
    pub(super) app_name: String,
    /// The bytes of bundles the workspace holds (see [`within_quota`]).
    pub(super) bundle_bytes: u64,
}

pub(super) async fn target_of(state: &Studio, key: &Key, id: Uuid) -> Result<Target, ApiError> {
    let (wid, app) = (key.workspace, key.app);
    let found = state
        .store
        .read(move |tx| {
            let mp = store::by_id(tx, id)?.filter(|mp| mp.workspace == wid);
            let Some(mp) = mp else { return Ok(None) };
            let Some(w) = ws::get_workspace(tx, wid)? else { return Ok(None) };
            let app_name = app_store::app_of(tx, wid, app)?.map(|a| a.name).unwrap_or_default();
            Ok(Some(Target { versions: store::versions(tx, id)?, mini_program: mp, workspace: w, app_name, bundle_bytes: store::bundle_bytes(tx, wid)? }))
        })
        .await?;
    let target = found.ok_or_else(not_found_in_key_workspace)?;
    if target.workspace.status == WorkspaceStatus::Suspended {
        return Err(suspended(&target.workspace.name));
    }
    Ok(target)
}

/// Refuses a bundle of `adding` bytes that would take the bundles workspace `name` holds (`held`)
/// past `quota` (507 `storage_quota_exceeded`); `adding` is 0 when it is not known yet (the
/// console's form), and then only a full workspace is refused.
pub(super) fn within_quota(name: &str, held: u64, adding: u64, quota: u64) -> Result<(), ApiError> {
    let over = if adding == 0 { held >= quota } else { held.saturating_add(adding) > quota };
    if !over {
        return Ok(());
    }
    use crate::model::minis::mib;
    let this = if adding == 0 { String::new() } else { format!(": this bundle ({}) would pass it", mib(adding)) };
    Err(ApiError::new(
        StatusCode::INSUFFICIENT_STORAGE,
        "storage_quota_exceeded",
        format!(
            "Workspace {name} holds {} of bundles, of the {} it may hold{this}. Every version uploaded counts, retired ones too; ask the platform operator for more room. Nothing was stored.",
            mib(held),
            mib(quota)
        ),
    ))
}

/// The disk an upload of a bundle of at most `bundle` bytes may write while it is checked: the
/// bundle itself, and its files' data as the archive is re-packed ([`crate::server::archive::MAX_UNPACKED`]).
pub(super) fn room_for(bundle: u64) -> u64 {
    bundle.saturating_add(crate::server::archive::MAX_UNPACKED)
}

/// A semantic version higher than every earlier one of the mini program that is not retired.
/// Precedence is SemVer's (§11): build metadata does not count, so `1.0.0+b2` is not higher than
/// `1.0.0+b1`.
pub(super) fn check_version(text: &str, earlier: &[Version]) -> Result<semver::Version, ApiError> {
    let text = text.trim();
    if text.chars().count() > crate::model::minis::VERSION_MAX {
        let shown: String = text.chars().take(40).collect();
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "version_invalid", format!("“{shown}…” is longer than {} characters.", crate::model::minis::VERSION_MAX)).field("version"));
    }
    let v = semver::Version::parse(text).map_err(|_| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "version_invalid", format!("“{text}” is not a semantic version like 1.2.3 (three numbers, no leading zeros).")).field("version")
    })?;
    let highest = store::highest_live_version(earlier);
    if let Some(h) = highest {
        if v.cmp_precedence(&h) != std::cmp::Ordering::Greater {
            return Err(ApiError::new(StatusCode::CONFLICT, "version_not_higher", format!("Version {v} must be higher than {h}, the highest uploaded so far (build metadata after + does not count).")).field("version"));
        }
    }
    Ok(v)
}

/// `POST /api/studio/v1/mini-programs/{id}/versions`: a signed upload.
#[utoipa::path(
    post,
    path = "/api/studio/v1/mini-programs/{id}/versions",
    tag = "studio",
    operation_id = "upload_version",
    summary = "Upload a version of a mini program",
    description = "Authenticated before a byte of the body is read; the body is then read strictly as a gzip-compressed tar archive, re-packed into the \
                   platform's canonical archive and stored with the version, Uploaded. With a personal access token (`upload` scope) the version names its person.",
    params(
        ("id" = uuid::Uuid, Path, description = "The mini program's id (its lowercase hyphenated form is what is signed)."),
        ("MPDP-Version" = crate::server::schemas::SemVer, Header, description = "The version: a semantic version higher, by SemVer precedence (build metadata does not count), than every version not retired."),
        ("MPDP-Note" = Option<String>, Header, nullable = false, description = "What changed, percent-encoded UTF-8, at most 2 000 characters."),
    ),
    request_body(content = crate::server::schemas::Bytes, content_type = "application/gzip", description = "The bundle: a gzip-compressed tar archive with `app.json` at its root, exactly the bytes signed (`sha256=`, `size=`; a `Content-Length` must equal `size=`)."),
    responses(
        (status = 201, description = "Stored: the version as stored (its `sha256` and `size` are the canonical archive's) and the mini program's page in the console.", body = super::Uploaded),
        (status = 400, description = "`signature_malformed`, `token_malformed`, `size_mismatch`, `bundle_mismatch`, `upload_truncated`.", body = crate::server::schemas::ApiErrorBody),
        crate::server::schemas::SignatureRefused,
        (status = 403, description = "`key_scope_mini_program`, `key_scope_address`, `workspace_suspended`, `token_scope`, `token_workspace`, `token_single_sign_on`, `forbidden`, `second_factor_required`.", body = crate::server::schemas::ApiErrorBody),
        (status = 404, description = "`unknown_mini_program`; `not_found` (the token's person is not assigned to it).", body = crate::server::schemas::ApiErrorBody),
        (status = 409, description = "`mini_program_removed`, `version_not_higher`, `version_retired`.", body = crate::server::schemas::ApiErrorBody),
        (status = 413, description = "`bundle_too_large`: the signed size is over the server's limit.", body = crate::server::schemas::ApiErrorBody),
        (status = 422, description = "`version_missing`, `version_invalid`, `note_invalid`, and the bundle's `archive_…` codes (`field: \"bundle\"`).", body = crate::server::schemas::ApiErrorBody),
        (status = 429, description = "`too_many_uploads`: over 2 uploads at once with this key, 4 from this address or 8 to this workspace.", body = crate::server::schemas::ApiErrorBody),
        (status = 507, description = "`storage_quota_exceeded`: the workspace's bundles would pass its quota; `insufficient_storage`: the server's disk is nearly full. Nothing is stored.", body = crate::server::schemas::ApiErrorBody),
        crate::server::schemas::InternalError,
    ),
    security(("uploadSignature" = []), ("uploadSignature" = [], "personalToken" = []))
)]
pub(super) async fn upload(
    State(state): State<Studio>,
    UrlPath(id): UrlPath<String>,
    client: Option<axum::Extension<crate::server::auth::client::ClientAddr>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let client = client.map(|c| c.0 .0);
    match upload_checked(&state, SignedUpload::of(id, &headers), client, body).await {
        Ok(done) => {
            crate::server::metrics::upload_stored("studio", done.version.size);
            (StatusCode::CREATED, Json(done)).into_response()
        }
        Err(e) => {
            crate::server::metrics::upload_refused("studio", e.code);
            e.into_response()
        }
    }
}

/// The Upload Key's scope: its mini programs and client address ranges.
pub(super) fn in_scope(key: &KeyRecord, mini_program: Uuid, client: Option<IpAddr>) -> Result<(), ApiError> {
    app_store::upload_scope_allows(key, mini_program, client).map_err(|r| ApiError::new(StatusCode::FORBIDDEN, r.code(), r.message()))
}

/// A signed upload as its request states it, each part as sent (checked by [`upload_checked`],
/// in its order: nothing but the signature is looked at before the key's signature verifies).
pub(crate) struct SignedUpload {
    /// The mini program's id, from the path.
    pub mini_program: String,
    /// `MPDP-Signature`.
    pub signature: Option<String>,
    /// `MPDP-Version`.
    pub version: Option<String>,
    /// `MPDP-Note`, percent-encoded.
    pub note: Option<String>,
    /// `Content-Length`.
    pub content_length: Option<String>,
    /// `Authorization: Bearer mppat_…`: the person uploading, when they say.
    pub authorization: Option<String>,
}

impl SignedUpload {
    pub(super) fn of(mini_program: String, headers: &HeaderMap) -> SignedUpload {
        let text = |name: &str| header(headers, name).map(str::to_string);
        SignedUpload {
            mini_program,
            signature: text(keys::SIGNATURE_HEADER),
            version: text("mpdp-version"),
            note: text("mpdp-note"),
            content_length: text("content-length"),
            authorization: super::person::authorization(headers).map(str::to_string),
        }
    }
}

pub(crate) async fn upload_checked(state: &Studio, request: SignedUpload, client: Option<IpAddr>, body: Body) -> Result<Uploaded, ApiError> {
    let sig = signature(request.signature.as_deref())?;
    let (Some(claimed_sha), Some(claimed_size)) = (sig.sha256.clone(), sig.size) else {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "signature_malformed", "The MPDP-Signature header of an upload needs sha256= and size=."));
    };
    let version_text = request.version.as_deref()
        .ok_or_else(|| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "version_missing", "The MPDP-Version header is missing (the version, like 1.2.3).").field("version"))?
        .trim()
        .to_string();
    let mp_id = Uuid::parse_str(&request.mini_program).map_err(|_| not_found_in_key_workspace())?;
    let token = super::person::presented(request.authorization.as_deref())?;
    // Authenticate first: nothing below runs for a request the key did not sign.
    let verified = authenticate(state, sig, |sig| keys::upload_message(&mp_id.to_string(), &version_text, &claimed_sha, claimed_size, sig.ts, &sig.nonce)).await?;
    let (record, sig) = (&verified.key, &verified.sig);
    let key = &record.key;
    let slot = std::sync::Arc::new(state.limits.uploads.take(&key.id, key.workspace, client)?);
    let Target { mini_program: mp, workspace, versions: earlier, app_name, bundle_bytes } = target_of(state, key, mp_id).await?;
    in_scope(record, mp.id, client)?;
    if mp.removed {
        return Err(removed());
    }
    // The person named by a token, checked before the body is read (and again when it is stored).
    let person = match &token {
        Some(t) => {
            let (t, wid, wname, now) = (t.clone(), workspace.id, workspace.name.clone(), state.clock.now());
            let mp = mp.id;
            let checked = state.store.read(move |tx| super::person::check(tx, &t, TokenScope::Upload, (wid, &wname), mp, MiniNeed::Upload, now)).await??;
            Some(checked.0)
        }
        None => None,
    };
    check_version(&version_text, &earlier)?;
    let note = match request.note.as_deref() {
        Some(n) => {
            let decoded = percent_decode(n).ok_or_else(|| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "note_invalid", "The MPDP-Note header must be percent-encoded UTF-8.").field("note"))?;
            validate_note(&decoded).map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "note_invalid", e.to_string()).field("note"))?
        }
        None => String::new(),
    };
    let limit = state.config.max_bundle_bytes;
    if claimed_size > limit {
        return Err(too_large(limit));
    }
    if request.content_length.as_deref().is_some_and(|l| l.parse::<u64>().ok() != Some(claimed_size)) {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "size_mismatch", "Content-Length differs from the size= the signature names: nothing was read.").field("bundle"));
    }
    // The size signed is the upload's; what is stored is its re-pack, checked again when stored.
    within_quota(&workspace.name, bundle_bytes, claimed_size, state.config.workspace_bundle_bytes)?;
    let room = state.limits.room.reserve(state.bundles.dir(), room_for(claimed_size), state.config.min_free_disk_bytes)?;
    let slot = std::sync::Arc::new((slot, room));
    let received = receive_canonical(&state.bundles, body.into_data_stream(), claimed_size, slot.clone()).await.map_err(|e| {
        // More bytes than signed is not "too large for the server": the body is not what was signed.
        if e.code == "bundle_too_large" { bundle_mismatch() } else { e }
    })?;
    if received.uploaded_sha256 != claimed_sha || received.uploaded_size != claimed_size {
        return Err(bundle_mismatch());
    }
    let upload = Upload {
        uploader: match &person {
            Some(p) => format!("{} with Upload Key {} ({app_name})", p.username, key.id),
            None => format!("Upload Key {} ({app_name})", key.id),
        },
        key: Some(key.id.clone()),
        account: person.as_ref().map(|p| p.id),
        signature: sig.sig.clone(),
        signed_ts: sig.ts,
        signed_nonce: sig.nonce.clone(),
        note,
    };
    let record = received.version(mp.id, version_text.clone(), upload, state.clock.now());
    let actor = match &person {
        Some(p) => Actor { id: Some(p.id), name: p.username.clone(), client: client.map(|c| c.to_string()) },
        None => Actor { id: None, name: format!("Upload Key {}", key.id), client: client.map(|c| c.to_string()) },
    };
    let view = record.view();
    let uploader = Uploader::Key { id: key.id.clone(), nonce: sig.nonce.clone(), client, token };
    store_version(state, received.temp, record, (workspace.id, workspace.name.clone()), mp.name.clone(), actor, uploader, slot).await?;
    state.last_used.touch(&key.id, state.clock.now());
    Ok(Uploaded {
        version: view,
        console_url: format!("{}/w/{}/mini-programs/{}", state.config.public_url.trim_end_matches('/'), workspace.name, mp.id),
    })
}

pub(super) fn bundle_mismatch() -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "bundle_mismatch", "The bytes received are not the ones signed (their sha256 or size differs from the signature's): nothing was stored.").field("bundle")
}

/// Who stores a version, re-checked in the transaction that stores it.
pub(super) enum Uploader {
    /// An Upload Key: still usable and in scope; its nonce is consumed here. With a personal
    /// access token, its person too: still allowed to upload to the mini program.
    Key { id: String, nonce: String, client: Option<IpAddr>, token: Option<super::person::Presented> },
    /// A member in the console: still an active member, allowed to upload to the mini program.
    Member(crate::server::guard::Standing),
}

/// Stores a checked bundle and its version record: the file first (durable), then the record.
/// The record's transaction re-checks what the upload was allowed on (the key or the member, the
/// workspace, the mini program, the version), so of two at once one wins; a loser removes the
/// file it put in place unless a record names it.
///
/// It runs as a task of its own: a client that goes away once its bytes are in (or a request
/// dropped for any reason) does not stop it between placing the file and writing the record, so
/// no bundle file is left that nothing names. `hold` (the upload's slot) is let go when it ends,
/// so uploads in progress are counted until then.
#[allow(clippy::too_many_arguments)]
pub(super) async fn store_version(state: &Studio, temp: TempFile, record: Version, workspace: (uuid::Uuid, String), mp_name: String, actor: Actor, uploader: Uploader, hold: impl Send + 'static) -> Result<(), ApiError> {
    use tracing::Instrument;
    let state = state.clone();
    let storing = async move {
        let stored = store_version_to_the_end(&state, temp, record, workspace, mp_name, actor, uploader).await;
        drop(hold);
        stored
    };
    tokio::spawn(storing.instrument(tracing::Span::current())).await.map_err(|_| ApiError::internal())?
}

async fn store_version_to_the_end(state: &Studio, temp: TempFile, record: Version, workspace: (uuid::Uuid, String), mp_name: String, actor: Actor, uploader: Uploader) -> Result<(), ApiError> {
    let temp_path = temp.path()?;
    let bundles = state.bundles.clone();
    let sha = record.sha256.clone();
    let held = tokio::task::spawn_blocking(move || {
        let held = bundles.hold(&sha);
        bundles.commit(&temp_path, &sha).map(|created| (held, created))
    })
    .await
    .map_err(|_| ApiError::internal())?
    .map_err(|e| {
        tracing::error!(error = %e, "could not store a bundle");
        ApiError::internal()
    })?;
    std::mem::forget(temp);
    let (held, created) = held;
    let (wid, wname) = workspace;
    let quota = state.config.workspace_bundle_bytes;
    let how = match &uploader {
        Uploader::Key { id, token: None, .. } => format!("signed by Upload Key {id}"),
        Uploader::Key { id, token: Some(_), .. } => format!("signed by Upload Key {id}, by {} with a personal access token", actor.name),
        Uploader::Member(_) => format!("uploaded from the console by {}", actor.name),
    };
    // Refusals come back as `Ok(Err(_))`: what the transaction wrote before (a consumed nonce)
    // commits, the version does not.
    let written: Result<Result<(), ApiError>, crate::model::AppError> = state
        .store
        .write(move |tx| {
            use crate::model::AppError;
            let w = ws::get_workspace(tx, wid)?.or_missing(Missing::Workspace)?;
            if w.status == WorkspaceStatus::Suspended {
                return Ok(Err(suspended(&w.name)));
            }
            match &uploader {
                Uploader::Key { id, nonce, client, token } => {
                    let Some(key) = app_store::key_record(tx, id)? else {
                        return Ok(Err(unknown_key()));
                    };
                    if let Err(e) = key_usable(&key.key, crate::server::store::now()).and_then(|_| in_scope(&key, record.mini_program, *client)) {
                        return Ok(Err(e));
                    }
                    if let Some(t) = token {
                        let now = crate::server::store::now();
                        match super::person::check(tx, t, TokenScope::Upload, (wid, &wname), record.mini_program, MiniNeed::Upload, now)? {
                            Ok((_, held)) => super::person::used(tx, t, held, now)?,
                            Err(e) => return Ok(Err(e)),
                        }
                    }
                    if !store::use_nonce(tx, id, nonce, crate::server::store::now().timestamp(), 2 * CLOCK_SKEW_SECS)? {
                        return Ok(Err(replayed()));
                    }
                }
                Uploader::Member(standing) => {
                    // Blocked, demoted or unassigned since the request was checked: refused.
                    let now = standing.recheck(tx)?;
                    crate::server::guard::MiniProgramAccess::check(tx, &now, record.mini_program, crate::server::guard::MiniNeed::Upload)?;
                }
            }
            let mp = store::get(tx, wid, record.mini_program)?.ok_or_else(|| AppError::NotFound("No such mini program.".into()))?;
            if mp.removed {
                return Ok(Err(removed()));
            }
            let earlier = store::versions(tx, record.mini_program)?;
            if let Err(e) = check_version(&record.version, &earlier) {
                return Ok(Err(e));
            }
            if let Err(e) = within_quota(&w.name, store::bundle_bytes(tx, wid)?, record.size, quota) {
                return Ok(Err(e));
            }
            match store::put_version(tx, &record) {
                Ok(()) => {}
                Err(AppError::Conflict { message, .. }) => return Ok(Err(ApiError::new(StatusCode::CONFLICT, "version_retired", message).field("version"))),
                Err(e) => return Err(e),
            }
            audit::record(tx, &actor, Some((wid, &wname)), AuditAction::MiniProgramVersionUploaded, &mp_name, &format!("{} ({} bytes, sha256 {}) {how}", record.version, record.size, record.sha256))?;
            Ok(Ok(()))
        })
        .await;
    let stored = matches!(written, Ok(Ok(())));
    if !stored && created {
        // No record names the file: this upload put it there and holds its address.
        let path = state.bundles.path(&held.sha256);
        let _ = tokio::task::spawn_blocking(move || std::fs::remove_file(path)).await;
    }
    drop(held);
    written?
}

/// `GET /api/studio/v1/mini-programs/{id}/versions`: a signed listing. The nonce is consumed by
/// one small write after the signature verified.
#[utoipa::path(
    get,
    path = "/api/studio/v1/mini-programs/{id}/versions",
    tag = "studio",
    operation_id = "list_versions",
    summary = "List a mini program's versions",
    description = "Every version that was not retired, newest first, in one answer. Signed like an upload, without `sha256=` and `size=`; with a personal access token, its `read` scope.",
    params(("id" = uuid::Uuid, Path, description = "The mini program's id.")),
    responses(
        (status = 200, description = "The versions.", body = super::Versions),
        (status = 400, description = "`signature_malformed`, `token_malformed`.", body = crate::server::schemas::ApiErrorBody),
        crate::server::schemas::SignatureRefused,
        (status = 403, description = "`key_scope_mini_program`, `key_scope_address`, `token_scope`, `token_workspace`, `token_single_sign_on`, `forbidden`, `second_factor_required`.", body = crate::server::schemas::ApiErrorBody),
        (status = 404, description = "`unknown_mini_program`; `not_found`.", body = crate::server::schemas::ApiErrorBody),
        crate::server::schemas::InternalError,
    ),
    security(("uploadSignature" = []), ("uploadSignature" = [], "personalToken" = []))
)]
pub(super) async fn list_versions(
    State(state): State<Studio>,
    UrlPath(id): UrlPath<String>,
    client: Option<axum::Extension<crate::server::auth::client::ClientAddr>>,
    headers: HeaderMap,
) -> Response {
    let client = client.map(|c| c.0 .0);
    let result: Result<Versions, ApiError> = async {
        let sig = signature(header(&headers, keys::SIGNATURE_HEADER))?;
        let mp_id = Uuid::parse_str(&id).map_err(|_| not_found_in_key_workspace())?;
        let token = super::person::presented(super::person::authorization(&headers))?;
        let verified = authenticate(&state, sig, |sig| keys::list_message(&mp_id.to_string(), sig.ts, &sig.nonce)).await?;
        let target = target_of(&state, &verified.key.key, mp_id).await?;
        in_scope(&verified.key, target.mini_program.id, client)?;
        let (k, n) = (verified.sig.key.clone(), verified.sig.nonce.clone());
        let (wid, wname) = (target.workspace.id, target.workspace.name.clone());
        // The nonce is consumed, the token (if any) checked and the list read in one write.
        let listed = state
            .store
            .write(move |tx| {
                if !store::use_nonce(tx, &k, &n, crate::server::store::now().timestamp(), 2 * CLOCK_SKEW_SECS)? {
                    return Ok(Err(replayed()));
                }
                if let Some(t) = &token {
                    let now = crate::server::store::now();
                    match super::person::check(tx, t, TokenScope::Read, (wid, &wname), mp_id, MiniNeed::See, now)? {
                        Ok((_, held)) => super::person::used(tx, t, held, now)?,
                        Err(e) => return Ok(Err(e)),
                    }
                }
                Ok(Ok(store::versions(tx, mp_id)?))
            })
            .await?;
        let versions = listed?;
        state.last_used.touch(&verified.key.key.id, state.clock.now());
        Ok(Versions { versions: versions.iter().map(Version::view).collect() })
    }
    .await;
    match result {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}
