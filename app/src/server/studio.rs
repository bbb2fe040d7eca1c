//! The Studio API (`/api/studio/v1/…`): how bundles get into the platform. A machine API on its
//! own router — no session, no origin check, no console body limit — authorised by the
//! Upload Key's Ed25519 signature (see [`crate::server::keys`]).
//!
//! An upload is checked in this order, each refusal a JSON error with nothing stored: the
//! signature header is well-formed; the key is known, an Upload Key, not revoked, within its grace
//! period; the timestamp is within five minutes and the nonce unused; the mini program exists in
//! the key's workspace; the workspace is active; the mini program is not removed; the version is
//! semantic and higher than every earlier one; the size is within the limit; the archive is a
//! well-formed gzip'd tar of at most 10 000 entries and 200 MiB unpacked (measured while reading,
//! so a bomb is refused without unpacking it), with no absolute paths, no `..`, no links or
//! devices, and an `app.json` at its root; and the signature verifies over the received bytes'
//! sha256. The bundle is written to a temporary file, fsynced, renamed to its content address
//! (and the directory fsynced) before its record commits.

use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use chrono::Utc;
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::model::apps::KeyKind;
use crate::model::minis::{validate_note, VersionState, VersionView};
use crate::model::workspace::WorkspaceStatus;
use crate::server::keys::{self, SignatureHeader};
use crate::server::store::apps::{self as app_store, Key};
use crate::server::store::audit::{self, Actor};
use crate::server::store::minis::{self as store, Version};
use crate::server::store::workspaces as ws;
use crate::server::AppState;

/// How far a signed request's clock may be from the server's.
pub const CLOCK_SKEW_SECS: i64 = 300;
/// At most this many entries in a bundle.
pub const MAX_ENTRIES: usize = 10_000;
/// At most this many bytes unpacked.
pub const MAX_UNPACKED: u64 = 200 * 1024 * 1024;

/// A refusal: status, a stable code, a message that says what to do, and the field if any.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<&'static str>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), field: None }
    }

    fn field(mut self, field: &'static str) -> ApiError {
        self.field = Some(field);
        self
    }

    pub(crate) fn internal() -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Something went wrong on the server. It has been logged; please try again.")
    }
}

impl From<crate::model::AppError> for ApiError {
    fn from(e: crate::model::AppError) -> ApiError {
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        ApiError { status, code: "error", message: e.to_string(), field: None }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorInner<'a>,
}

#[derive(Serialize)]
struct ErrorInner<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody { error: ErrorInner { code: self.code, message: &self.message, field: self.field } };
        (self.status, Json(body)).into_response()
    }
}

/// The answer to an upload.
#[derive(Serialize)]
pub struct Uploaded {
    pub version: VersionView,
    pub console_url: String,
}

/// The answer to a version listing.
#[derive(Serialize)]
pub struct Versions {
    pub versions: Vec<VersionView>,
}

/// Content-addressed bundle files under the data directory.
#[derive(Clone, Debug)]
pub struct Bundles {
    dir: PathBuf,
}

impl Bundles {
    pub fn new(dir: PathBuf) -> Bundles {
        Bundles { dir }
    }

    /// Where the bundle with this sha256 lives.
    pub fn path(&self, sha256: &str) -> PathBuf {
        self.dir.join(&sha256[..2]).join(format!("{sha256}.tar.gz"))
    }

    fn temp_dir(&self) -> PathBuf {
        self.dir.join("tmp")
    }

    /// Deletes what uploads interrupted by a crash left in `tmp/`. Only at start-up, while this
    /// process holds the data directory's lock: no upload can be in flight then. Returns how
    /// many files were removed.
    pub fn remove_unfinished(&self) -> std::io::Result<usize> {
        let entries = match std::fs::read_dir(self.temp_dir()) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        let mut removed = 0;
        for entry in entries {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                std::fs::remove_file(entry.path())?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Moves a complete, fsynced temporary file to its content address and fsyncs the directory,
    /// so the file is durable before any record names it.
    pub fn commit(&self, temp: &Path, sha256: &str) -> std::io::Result<PathBuf> {
        let to = self.path(sha256);
        let parent = to.parent().expect("a bundle path has a directory");
        std::fs::create_dir_all(parent)?;
        if to.exists() {
            // The same bytes are already stored.
            std::fs::remove_file(temp)?;
        } else {
            std::fs::rename(temp, &to)?;
        }
        std::fs::File::open(parent)?.sync_all()?;
        Ok(to)
    }
}

/// Removes the temporary file when an upload is refused or fails.
struct TempFile(Option<PathBuf>);

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/studio/v1/mini-programs/{id}/versions", post(upload).get(list_versions))
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

/// The routes of this router, for `mpdp routes`.
pub fn endpoints() -> Vec<String> {
    vec![
        "GET /api/studio/v1/mini-programs/{id}/versions".into(),
        "POST /api/studio/v1/mini-programs/{id}/versions".into(),
    ]
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The signature header, well-formed.
fn signature(headers: &HeaderMap) -> Result<SignatureHeader, ApiError> {
    let text = header(headers, keys::SIGNATURE_HEADER).ok_or_else(|| {
        ApiError::new(StatusCode::UNAUTHORIZED, "signature_missing", "The MPDP-Signature header is missing: sign the request with the App's Upload Key (mpdp studio does this for you).")
    })?;
    SignatureHeader::parse(text).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "signature_malformed", format!("The MPDP-Signature header is malformed: {e}.")))
}

/// The key of a signature: known, an Upload Key, not revoked, within its grace period.
async fn upload_key(state: &AppState, id: &str) -> Result<Key, ApiError> {
    let id = id.to_string();
    let key = state.store.read(move |tx| app_store::key(tx, &id)).await?;
    let key = key.ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "unknown_key", "The key that signed this request is not known to this server."))?;
    if key.kind != KeyKind::Upload {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "wrong_key_kind", "This request is signed by an Accessing Key; uploads are signed with the App's Upload Key (mpuk_…)."));
    }
    if key.revoked.is_some() {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "key_revoked", "This Upload Key has been revoked. Ask a Workspace Admin for the App's current Upload Key."));
    }
    if !key.live(Utc::now()) {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "key_expired", "This Upload Key was rotated and its grace period is over. Use the App's current Upload Key."));
    }
    Ok(key)
}

/// The timestamp is recent and the nonce unused (recorded now, so a replay is refused).
async fn fresh(state: &AppState, sig: &SignatureHeader) -> Result<(), ApiError> {
    let now = Utc::now().timestamp();
    if (now - sig.ts).abs() > CLOCK_SKEW_SECS {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "stale_timestamp",
            format!("The request's timestamp is more than {} minutes from the server's clock: check the clock and sign again.", CLOCK_SKEW_SECS / 60),
        ));
    }
    let (key, nonce) = (sig.key.clone(), sig.nonce.clone());
    let first = state.store.write(move |tx| store::use_nonce(tx, &key, &nonce, now, 2 * CLOCK_SKEW_SECS)).await?;
    if !first {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "replayed", "This signed request was already received (its nonce was used): sign each request anew."));
    }
    Ok(())
}

/// The mini program, in the key's workspace, which is active.
async fn mini_program_of(state: &AppState, key: &Key, id: &str) -> Result<(store::MiniProgram, ws::Workspace), ApiError> {
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "unknown_mini_program", "No such mini program in the workspace of this key.");
    let id = Uuid::parse_str(id).map_err(|_| not_found())?;
    let wid = key.workspace;
    let found = state
        .store
        .read(move |tx| Ok((store::by_id(tx, id)?, ws::get_workspace(tx, wid)?)))
        .await?;
    let (Some(mp), Some(w)) = found else { return Err(not_found()) };
    if mp.workspace != key.workspace {
        return Err(not_found());
    }
    if w.status == WorkspaceStatus::Suspended {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "workspace_suspended", format!("The workspace {} is suspended: nothing can be uploaded until the platform operator reactivates it.", w.name)));
    }
    Ok((mp, w))
}

/// A semantic version higher than every earlier one of the mini program.
fn check_version(text: &str, earlier: &[Version]) -> Result<semver::Version, ApiError> {
    let v = semver::Version::parse(text.trim()).map_err(|_| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "version_invalid", format!("“{}” is not a semantic version like 1.2.3 (three numbers, no leading zeros).", text.trim())).field("version")
    })?;
    let highest = earlier.iter().filter_map(|e| semver::Version::parse(&e.version).ok()).max();
    if let Some(h) = highest {
        if v <= h {
            return Err(ApiError::new(StatusCode::CONFLICT, "version_not_higher", format!("Version {v} must be higher than {h}, the highest uploaded so far.")).field("version"));
        }
    }
    Ok(v)
}

/// Reads a bundle as it would be unpacked, without unpacking it: refuses what could escape, link
/// or exhaust, and requires `app.json` at the root.
pub fn check_archive(path: &Path) -> Result<(), ApiError> {
    let bad = |code: &'static str, message: String| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message).field("bundle");
    let malformed = |e: std::io::Error| bad("archive_malformed", format!("The bundle is not a well-formed gzip-compressed tar archive ({e})."));
    let file = std::fs::File::open(path).map_err(|_| ApiError::internal())?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(std::io::BufReader::new(file)));
    let (mut entries, mut unpacked, mut app_json) = (0usize, 0u64, false);
    for entry in archive.entries().map_err(malformed)? {
        let mut entry = entry.map_err(malformed)?;
        entries += 1;
        if entries > MAX_ENTRIES {
            return Err(bad("archive_too_many_entries", format!("The bundle has more than {MAX_ENTRIES} entries.")));
        }
        let raw = entry.path_bytes().into_owned();
        let name = String::from_utf8_lossy(&raw).into_owned();
        let path = entry.path().map_err(malformed)?.into_owned();
        if raw.first() == Some(&b'/') || path.is_absolute() || path.components().any(|c| matches!(c, Component::RootDir | Component::Prefix(_))) {
            return Err(bad("archive_absolute_path", format!("The bundle has an absolute path ({name}); every path must be relative to the bundle's root.")));
        }
        if path.components().any(|c| c == Component::ParentDir) {
            return Err(bad("archive_parent_path", format!("The bundle has a path with .. ({name}), which could write outside the bundle.")));
        }
        let kind = entry.header().entry_type();
        if kind.is_symlink() || kind.is_hard_link() {
            return Err(bad("archive_link", format!("The bundle has a link ({name}); links are not allowed.")));
        }
        if !(kind.is_file() || kind.is_dir()) {
            return Err(bad("archive_special_file", format!("The bundle has a special file ({name}); only files and directories are allowed.")));
        }
        let declared = entry.header().size().map_err(malformed)?;
        if unpacked.saturating_add(declared) > MAX_UNPACKED {
            return Err(bad("archive_too_large_unpacked", format!("The bundle would unpack to more than {} MiB.", MAX_UNPACKED / (1024 * 1024))));
        }
        // Count what is actually read, not only what the header says.
        let read = std::io::copy(&mut (&mut entry).take(MAX_UNPACKED - unpacked + 1), &mut std::io::sink()).map_err(malformed)?;
        unpacked += read;
        if unpacked > MAX_UNPACKED {
            return Err(bad("archive_too_large_unpacked", format!("The bundle would unpack to more than {} MiB.", MAX_UNPACKED / (1024 * 1024))));
        }
        let normal: Vec<_> = path.components().filter(|c| *c != Component::CurDir).collect();
        if kind.is_file() && normal.len() == 1 && normal[0].as_os_str() == "app.json" {
            app_json = true;
        }
    }
    if entries == 0 {
        return Err(bad("archive_empty", "The bundle is empty.".into()));
    }
    if !app_json {
        return Err(bad("archive_no_app_json", "The bundle has no app.json at its root: a mini program bundle needs one.".into()));
    }
    Ok(())
}

/// Streams a request body to a temporary file under `bundles`, hashing it and refusing more than
/// `limit` bytes; fsyncs it. Returns (temp file, sha256, size).
async fn receive(bundles: &Bundles, body: Body, limit: u64) -> Result<(TempFile, String, u64), ApiError> {
    receive_stream(bundles, body.into_data_stream(), limit).await
}

async fn receive_stream<S, E>(bundles: &Bundles, mut stream: S, limit: u64) -> Result<(TempFile, String, u64), ApiError>
where
    S: futures::Stream<Item = Result<axum::body::Bytes, E>> + Unpin,
{
    use futures::StreamExt;
    let dir = bundles.temp_dir();
    tokio::fs::create_dir_all(&dir).await.map_err(|_| ApiError::internal())?;
    let path = dir.join(format!("{}.part", Uuid::new_v4()));
    let temp = TempFile(Some(path.clone()));
    let mut file = crate::server::store::files::create_private(&path).map_err(|_| ApiError::internal())?;
    let (mut hasher, mut size) = (Sha256::new(), 0u64);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "upload_truncated", "The upload was cut short before all its bytes arrived; nothing was stored."))?;
        size += chunk.len() as u64;
        if size > limit {
            return Err(too_large(limit));
        }
        hasher.update(&chunk);
        file.write_all(&chunk).map_err(|_| ApiError::internal())?;
    }
    file.sync_all().map_err(|_| ApiError::internal())?;
    Ok((temp, keys::hex(&hasher.finalize()), size))
}

fn too_large(limit: u64) -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "bundle_too_large", format!("The bundle is larger than {} MiB, this server's limit.", limit / (1024 * 1024))).field("bundle")
}

/// `POST /api/studio/v1/mini-programs/{id}/versions`: a signed upload.
async fn upload(State(state): State<AppState>, UrlPath(id): UrlPath<String>, headers: HeaderMap, body: Body) -> Response {
    match upload_checked(&state, &id, &headers, body).await {
        Ok(done) => (StatusCode::CREATED, Json(done)).into_response(),
        Err(e) => e.into_response(),
    }
}

pub(crate) async fn upload_checked(state: &AppState, id: &str, headers: &HeaderMap, body: Body) -> Result<Uploaded, ApiError> {
    let sig = signature(headers)?;
    let (Some(claimed_sha), Some(claimed_size)) = (sig.sha256.clone(), sig.size) else {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "signature_malformed", "The MPDP-Signature header of an upload needs sha256= and size=."));
    };
    let key = upload_key(state, &sig.key).await?;
    fresh(state, &sig).await?;
    let (mp, workspace) = mini_program_of(state, &key, id).await?;
    if mp.removed {
        return Err(ApiError::new(StatusCode::CONFLICT, "mini_program_removed", "This mini program has been removed; nothing more can be uploaded to it."));
    }
    let version_text = header(headers, "mpdp-version")
        .ok_or_else(|| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "version_missing", "The MPDP-Version header is missing (the version, like 1.2.3).").field("version"))?
        .trim()
        .to_string();
    let mp_id = mp.id;
    let earlier = state.store.read(move |tx| store::versions(tx, mp_id)).await?;
    check_version(&version_text, &earlier)?;
    let note = match header(headers, "mpdp-note") {
        Some(n) => {
            let decoded = percent_decode(n).ok_or_else(|| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "note_invalid", "The MPDP-Note header must be percent-encoded UTF-8.").field("note"))?;
            validate_note(&decoded).map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "note_invalid", e.to_string()).field("note"))?
        }
        None => String::new(),
    };
    let limit = state.config.max_bundle_bytes;
    let announced = header(headers, "content-length").and_then(|l| l.parse::<u64>().ok());
    if claimed_size > limit || announced.is_some_and(|l| l > limit) {
        return Err(too_large(limit));
    }
    let (temp, sha, size) = receive(&state.bundles, body, limit).await?;
    if announced.is_some_and(|l| l != size) {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "upload_truncated", "The upload was cut short before all its bytes arrived; nothing was stored."));
    }
    let checked_path = temp.0.clone().ok_or_else(ApiError::internal)?;
    tokio::task::spawn_blocking(move || check_archive(&checked_path)).await.map_err(|_| ApiError::internal())??;
    let message = keys::upload_message(&mp.id.to_string(), &version_text, &sha, size, sig.ts, &sig.nonce);
    if sha != claimed_sha || size != claimed_size || !keys::verify(&key.material, message.as_bytes(), &sig.sig) {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "bad_signature", "The signature does not match the bytes received and the key: nothing was stored."));
    }
    let app_name = {
        let app = key.app;
        let wid = key.workspace;
        state.store.read(move |tx| app_store::app_of(tx, wid, app)).await?.map(|a| a.name).unwrap_or_default()
    };
    let record = Version {
        mini_program: mp.id,
        version: version_text.clone(),
        state: VersionState::Uploaded,
        size,
        sha256: sha,
        uploader: format!("Upload Key {} ({app_name})", key.id),
        key: Some(key.id.clone()),
        account: None,
        signature: sig.sig.clone(),
        signed_ts: sig.ts,
        signed_nonce: sig.nonce.clone(),
        note,
        created: Utc::now(),
    };
    let actor = Actor { id: None, name: format!("Upload Key {}", key.id), client: None };
    let view = record.view();
    store_version(state, temp, record, (workspace.id, workspace.name.clone()), mp.name.clone(), actor, format!("signed by Upload Key {}", key.id)).await?;
    state.last_used.touch(&key.id);
    Ok(Uploaded {
        version: view,
        console_url: format!("{}/w/{}/mini-programs/{}", state.config.public_url.trim_end_matches('/'), workspace.name, mp.id),
    })
}

/// Stores a checked bundle and its version record: the file first (durable), then the record,
/// which re-checks the version in the write transaction (of two at once, one wins).
async fn store_version(state: &AppState, temp: TempFile, record: Version, workspace: (uuid::Uuid, String), mp_name: String, actor: Actor, how: String) -> Result<(), ApiError> {
    let temp_path = temp.0.clone().ok_or_else(ApiError::internal)?;
    let bundles = state.bundles.clone();
    let sha = record.sha256.clone();
    tokio::task::spawn_blocking(move || bundles.commit(&temp_path, &sha))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(|e| {
            tracing::error!(error = %e, "could not store a bundle");
            ApiError::internal()
        })?;
    std::mem::forget(temp);
    let (wid, wname) = workspace;
    state
        .store
        .write(move |tx| {
            let earlier = store::versions_for_update(tx, record.mini_program)?;
            if let Err(e) = check_version(&record.version, &earlier) {
                return Err(crate::model::AppError::conflict("version", e.message));
            }
            store::put_version(tx, &record)?;
            audit::record(tx, &actor, Some((wid, &wname)), "mini_program.version_uploaded", &mp_name, &format!("{} ({} bytes, sha256 {}) {how}", record.version, record.size, record.sha256))?;
            Ok(())
        })
        .await
        .map_err(|e| match e {
            crate::model::AppError::Conflict { message, .. } => ApiError::new(StatusCode::CONFLICT, "version_not_higher", message).field("version"),
            other => other.into(),
        })
}

/// The console's upload (`POST /w/{name}/mini-programs/{id}/versions/upload`, a multipart form
/// with `version`, `note` and `bundle`): for a member assigned to the mini program, or a
/// Workspace Admin. The server computes the hash and signs it with the workspace's platform key
/// as "uploaded from the console by <person>". Answers with a redirect to the mini program's page
/// saying what happened, so it works without JavaScript.
pub async fn console_upload(
    State(state): State<AppState>,
    session: tower_sessions::Session,
    UrlPath((name, id)): UrlPath<(String, String)>,
    multipart: axum::extract::Multipart,
) -> Response {
    use axum::response::Redirect;
    let page = format!("/w/{}/mini-programs/{}", crate::model::url_encode(&name), crate::model::url_encode(&id));
    match console_upload_checked(&state, session, &name, &id, multipart).await {
        Ok(version) => Redirect::to(&format!("{page}?uploaded={}", crate::model::url_encode(&version))).into_response(),
        Err(e) if e.status == StatusCode::UNAUTHORIZED => Redirect::to(&format!("/login?next={}", crate::model::url_encode(&page))).into_response(),
        Err(e) => {
            let mut r = Redirect::to(&format!("{page}?upload_error={}", crate::model::url_encode(&e.message))).into_response();
            // Scripts and tests read the refusal's status too.
            r.headers_mut().insert("mpdp-refusal", axum::http::HeaderValue::from(e.status.as_u16()));
            r
        }
    }
}

async fn console_upload_checked(state: &AppState, session: tower_sessions::Session, name: &str, id: &str, mut form: axum::extract::Multipart) -> Result<String, ApiError> {
    use crate::server::auth::guard::{Member, MemberScope, MiniNeed, MiniProgramAccess, SignedIn};
    use crate::server::policy::WorkspaceAction;
    let who = SignedIn::from_session(state, session)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "signed_out", "Please log in."))?;
    let m = Member::check(state, who, name).await?.authorize(WorkspaceAction::UploadVersions)?;
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "unknown_mini_program", "No such mini program in this workspace.");
    let mp_id = Uuid::parse_str(id).map_err(|_| not_found())?;
    let (wid, me) = (m.workspace().id, m.who().account().id);
    let scope = MemberScope::of(&m);
    let (access, platform) = state
        .store
        .read(move |tx| Ok((MiniProgramAccess::check_read(tx, &scope, mp_id, MiniNeed::Upload), app_store::platform_key(tx, wid)?)))
        .await?;
    let mp = match access {
        Ok(a) => a.into_mini_program(),
        Err(crate::model::AppError::NotFound(_)) => return Err(not_found()),
        Err(crate::model::AppError::Forbidden(message)) => return Err(ApiError::new(StatusCode::FORBIDDEN, "not_assigned", message)),
        Err(e) => return Err(e.into()),
    };
    if mp.removed {
        return Err(ApiError::new(StatusCode::CONFLICT, "mini_program_removed", "This mini program has been removed; nothing more can be uploaded to it."));
    }
    let platform = platform.ok_or_else(ApiError::internal)?;
    let bad_form = |e: axum::extract::multipart::MultipartError| ApiError::new(StatusCode::BAD_REQUEST, "form_malformed", format!("The upload form could not be read: {e}"));
    let (mut version, mut note, mut received) = (String::new(), String::new(), None);
    while let Some(field) = form.next_field().await.map_err(bad_form)? {
        match field.name() {
            Some("version") => version = field.text().await.map_err(bad_form)?.trim().to_string(),
            Some("note") => note = field.text().await.map_err(bad_form)?,
            Some("bundle") => {
                let limit = state.config.max_bundle_bytes;
                received = Some(receive_stream(&state.bundles, field, limit).await?);
            }
            _ => {}
        }
    }
    let earlier = state.store.read(move |tx| store::versions(tx, mp_id)).await?;
    check_version(&version, &earlier)?;
    let note = validate_note(&note).map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "note_invalid", e.to_string()).field("note"))?;
    let (temp, sha, size) = received.ok_or_else(|| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bundle_missing", "Choose the bundle file (.tar.gz) to upload.").field("bundle"))?;
    if size == 0 {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bundle_missing", "Choose the bundle file (.tar.gz) to upload.").field("bundle"));
    }
    let checked = temp.0.clone().ok_or_else(ApiError::internal)?;
    tokio::task::spawn_blocking(move || check_archive(&checked)).await.map_err(|_| ApiError::internal())??;
    let (ts, nonce) = (Utc::now().timestamp(), keys::new_nonce());
    let signature = keys::sign(&platform.seed, keys::upload_message(&mp.id.to_string(), &version, &sha, size, ts, &nonce).as_bytes());
    let person = m.who().account().username.clone();
    let record = Version {
        mini_program: mp.id,
        version: version.clone(),
        state: VersionState::Uploaded,
        size,
        sha256: sha,
        uploader: format!("uploaded from the console by {person}"),
        key: None,
        account: Some(me),
        signature,
        signed_ts: ts,
        signed_nonce: nonce,
        note,
        created: Utc::now(),
    };
    let actor = crate::server::domain::workspaces::actor(&m.who(), None);
    store_version(state, temp, record, (wid, m.workspace().name.clone()), mp.name.clone(), actor, format!("uploaded from the console by {person}")).await?;
    Ok(version)
}

/// `GET /api/studio/v1/mini-programs/{id}/versions`: a signed listing.
async fn list_versions(State(state): State<AppState>, UrlPath(id): UrlPath<String>, headers: HeaderMap) -> Response {
    let result: Result<Versions, ApiError> = async {
        let sig = signature(&headers)?;
        let key = upload_key(&state, &sig.key).await?;
        fresh(&state, &sig).await?;
        let (mp, _) = mini_program_of(&state, &key, &id).await?;
        if !keys::verify(&key.material, keys::list_message(&mp.id.to_string(), sig.ts, &sig.nonce).as_bytes(), &sig.sig) {
            return Err(ApiError::new(StatusCode::UNAUTHORIZED, "bad_signature", "The signature does not match the request and the key."));
        }
        let mp_id = mp.id;
        let versions = state.store.read(move |tx| store::versions(tx, mp_id)).await?;
        state.last_used.touch(&key.id);
        Ok(Versions { versions: versions.iter().map(Version::view).collect() })
    }
    .await;
    match result {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Decodes `%XX` escapes; `None` for a malformed escape or bytes that are not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_up_removes_unfinished_uploads_and_keeps_stored_bundles() {
        let dir = std::env::temp_dir().join(format!("mpdp-bundles-{}", uuid::Uuid::new_v4()));
        let bundles = Bundles::new(dir.clone());
        assert_eq!(bundles.remove_unfinished().unwrap(), 0, "no tmp/ yet");
        std::fs::create_dir_all(bundles.temp_dir()).unwrap();
        std::fs::write(bundles.temp_dir().join("upload-1"), b"half").unwrap();
        std::fs::write(bundles.temp_dir().join("upload-2"), b"").unwrap();
        let sha = "ab".repeat(32);
        let stored = bundles.temp_dir().join("complete");
        std::fs::write(&stored, b"whole").unwrap();
        let kept = bundles.commit(&stored, &sha).unwrap();
        assert_eq!(bundles.remove_unfinished().unwrap(), 2);
        assert_eq!(std::fs::read_dir(bundles.temp_dir()).unwrap().count(), 0);
        assert_eq!(std::fs::read(kept).unwrap(), b"whole");
        std::fs::remove_dir_all(dir).unwrap();
    }

    // Archives with escaping paths, links, devices, bombs and no app.json are refused over HTTP,
    // each case, in tests/studio.rs; here, what a well-formed archive and garbage look like.
    fn tgz(entries: &[(&str, &[u8])]) -> std::path::PathBuf {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default()));
        for (name, data) in entries {
            let mut h = tar::Header::new_ustar();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            builder.append_data(&mut h, name, *data).unwrap();
        }
        let bytes = builder.into_inner().unwrap().finish().unwrap();
        let path = std::env::temp_dir().join(format!("mpdp-test-{}.tar.gz", uuid::Uuid::new_v4()));
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn code(p: std::path::PathBuf) -> &'static str {
        let c = check_archive(&p).map(|_| "ok").unwrap_or_else(|e| e.code);
        let _ = std::fs::remove_file(p);
        c
    }

    #[test]
    fn archives_are_read_without_unpacking_them() {
        assert_eq!(code(tgz(&[("app.json", b"{}"), ("pages/index.js", b"x")])), "ok");
        assert_eq!(code(tgz(&[("./app.json", b"{}")])), "ok");
        assert_eq!(code(tgz(&[("index.js", b"x")])), "archive_no_app_json");
        assert_eq!(code(tgz(&[("sub/app.json", b"{}")])), "archive_no_app_json");
        let path = std::env::temp_dir().join(format!("mpdp-test-{}.tar.gz", uuid::Uuid::new_v4()));
        std::fs::write(&path, b"not gzip at all").unwrap();
        assert_eq!(code(path), "archive_malformed");
    }

    #[test]
    fn versions_must_be_semantic_and_rise() {
        let v = |s: &str| Version {
            mini_program: Uuid::nil(),
            version: s.into(),
            state: VersionState::Uploaded,
            size: 0,
            sha256: String::new(),
            uploader: String::new(),
            key: None,
            account: None,
            signature: String::new(),
            signed_ts: 0,
            signed_nonce: String::new(),
            note: String::new(),
            created: Utc::now(),
        };
        assert!(check_version("1.2.3", &[]).is_ok());
        for bad in ["1.2", "01.0.0", "1.0.0.0", "v1.0.0", ""] {
            assert_eq!(check_version(bad, &[]).unwrap_err().code, "version_invalid", "{bad}");
        }
        let earlier = [v("1.2.3"), v("1.10.0")];
        assert_eq!(check_version("1.9.9", &earlier).unwrap_err().code, "version_not_higher");
        assert_eq!(check_version("1.10.0", &earlier).unwrap_err().code, "version_not_higher");
        assert!(check_version("1.10.1-beta.1", &earlier).is_ok());
        assert_eq!(percent_decode("caf%C3%A9%20ok").as_deref(), Some("café ok"));
        assert_eq!(percent_decode("%zz"), None);
    }
}
