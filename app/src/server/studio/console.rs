//! The console's upload form: a signed-in member's browser, signed by the workspace's platform
//! key on the member's behalf.

use std::net::IpAddr;

use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use crate::model::minis::validate_note;
use crate::server::http_error::ApiError;
use crate::server::keys;
use crate::server::store::apps::{self as app_store};
use crate::server::store::minis as store;

use super::*;

/// The console's upload (`POST /w/{name}/mini-programs/{id}/versions/upload`, a multipart form
/// with `version`, `note` and `bundle`): for a member assigned to the mini program, or a
/// Workspace Admin. The server computes the hash and signs it with the workspace's platform key
/// as "uploaded from the console by <person>". Answers with a redirect to the mini program's page
/// saying what happened, so it works without JavaScript.
pub async fn console_upload(
    State(state): State<Studio>,
    session: tower_sessions::Session,
    UrlPath((name, id)): UrlPath<(String, String)>,
    client: Option<axum::Extension<crate::server::auth::client::ClientAddr>>,
    multipart: axum::extract::Multipart,
) -> Response {
    use axum::response::Redirect;
    let page = format!("/w/{}/mini-programs/{}", crate::model::url_encode(&name), crate::model::url_encode(&id));
    let client = client.map(|c| c.0 .0);
    match console_upload_checked(&state, session, &name, &id, client, multipart).await {
        Ok((version, size)) => {
            crate::server::metrics::upload_stored("console", size);
            Redirect::to(&format!("{page}?uploaded={}", crate::model::url_encode(&version))).into_response()
        }
        Err(e) if e.status == StatusCode::UNAUTHORIZED => Redirect::to(&format!("/login?next={}", crate::model::url_encode(&page))).into_response(),
        Err(e) => {
            crate::server::metrics::upload_refused("console", e.code);
            let mut r = Redirect::to(&format!("{page}?upload_error={}", crate::model::url_encode(&e.message))).into_response();
            // Scripts and tests read the refusal's status too.
            r.headers_mut().insert("mpdp-refusal", axum::http::HeaderValue::from(e.status.as_u16()));
            r
        }
    }
}

/// A text field of the upload form, read up to `max` bytes: a longer one is refused (422 on
/// `name`) before the rest of it is read.
async fn small_text(mut field: axum::extract::multipart::Field<'_>, name: &'static str, code: &'static str, max: usize) -> Result<String, ApiError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "form_malformed", format!("The upload form could not be read: {e}")))? {
        if bytes.len() + chunk.len() > max {
            return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, format!("The {name} is longer than {max} bytes.")).field(name));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, format!("The {name} is not UTF-8 text.")).field(name))
}

pub(super) async fn console_upload_checked(state: &Studio, session: tower_sessions::Session, name: &str, id: &str, client: Option<IpAddr>, mut form: axum::extract::Multipart) -> Result<(String, u64), ApiError> {
    use crate::server::guard::{act, Member, MiniNeed, MiniProgramAccess, SignedIn};
    let who = SignedIn::from_session(state, session)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "signed_out", "Please log in."))?;
    let m = Member::check(state, who, name).await?.authorize(act::UploadVersions)?;
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "unknown_mini_program", "No such mini program in this workspace.");
    let mp_id = Uuid::parse_str(id).map_err(|_| not_found())?;
    let (wid, me) = (m.workspace().id, m.who().account().id);
    let (standing, scope) = (m.standing(), m.scope());
    // One read before the body: the mini program and the member's part in it, the workspace's
    // platform key, the versions so far. (The write that stores the version checks them again.)
    let (access, platform, earlier, held) = state
        .store
        .read(move |tx| Ok((MiniProgramAccess::check(tx, &scope, mp_id, MiniNeed::Upload), app_store::platform_key(tx, wid)?, store::versions(tx, mp_id)?, store::bundle_bytes(tx, wid)?)))
        .await?;
    let mp = match access {
        Ok(a) => a.into_mini_program(),
        Err(crate::model::AppError::NotFound(_)) => return Err(not_found()),
        Err(crate::model::AppError::Forbidden(message)) => return Err(ApiError::new(StatusCode::FORBIDDEN, "not_assigned", message)),
        Err(e) => return Err(e.into()),
    };
    if mp.removed {
        return Err(removed());
    }
    let platform = platform.ok_or_else(ApiError::internal)?;
    let slot = state.limits.uploads.take(&format!("account:{me}"), wid, client)?;
    // The form's bundle size is not known before it is read: a full workspace is refused now, the
    // rest when the bundle is stored; the room reserved is for the largest bundle.
    within_quota(&m.workspace().name, held, 0, state.config.workspace_bundle_bytes)?;
    let room = state.limits.room.reserve(state.bundles.dir(), room_for(state.config.max_bundle_bytes), state.config.min_free_disk_bytes)?;
    let slot = std::sync::Arc::new((slot, room));
    let bad_form = |e: axum::extract::multipart::MultipartError| ApiError::new(StatusCode::BAD_REQUEST, "form_malformed", format!("The upload form could not be read: {e}"));
    let (mut version, mut note, mut received) = (String::new(), String::new(), None);
    while let Some(field) = form.next_field().await.map_err(bad_form)? {
        match field.name() {
            Some("version") => version = small_text(field, "version", "version_invalid", 1024).await?.trim().to_string(),
            Some("note") => note = small_text(field, "note", "note_invalid", 4 * crate::model::minis::VERSION_NOTE_MAX).await?,
            Some("bundle") => {
                if received.is_some() {
                    return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bundle_invalid", "The form carries more than one bundle: choose one file.").field("bundle"));
                }
                let limit = state.config.max_bundle_bytes;
                let mut empty = true;
                let mut field = futures::StreamExt::peekable(field);
                if std::pin::Pin::new(&mut field).peek().await.is_some() {
                    empty = false;
                }
                if !empty {
                    received = Some(receive_canonical(&state.bundles, field, limit, slot.clone()).await?);
                }
            }
            _ => {}
        }
    }
    check_version(&version, &earlier)?;
    let note = validate_note(&note).map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "note_invalid", e.to_string()).field("note"))?;
    let received = received.ok_or_else(|| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bundle_missing", "Choose the bundle file (.tar.gz) to upload.").field("bundle"))?;
    let (ts, nonce) = (state.clock.timestamp(), keys::new_nonce());
    let signature = keys::sign(&platform.seed, keys::upload_message(&mp.id.to_string(), &version, &received.uploaded_sha256, received.uploaded_size, ts, &nonce).as_bytes());
    let person = m.who().account().username.clone();
    let upload = Upload {
        uploader: format!("uploaded from the console by {person}"),
        key: None,
        account: Some(me),
        signature,
        signed_ts: ts,
        signed_nonce: nonce,
        note,
    };
    let record = received.version(mp.id, version.clone(), upload, state.clock.now());
    let actor = crate::server::domain::workspaces::actor(m.who(), client);
    let size = record.size;
    store_version(state, received.temp, record, (wid, m.workspace().name.clone()), mp.name.clone(), actor, Uploader::Member(standing), slot).await?;
    Ok((version, size))
}
