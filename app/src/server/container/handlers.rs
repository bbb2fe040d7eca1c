//! The container API's handlers: the bearer Accessing Key read strictly, then each answer taken
//! from the snapshot, and bundles streamed from their files.

use std::sync::Arc;

use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use super::served::not_modified;
use super::snapshot::{unauthorized, AppContent, Selection};
use super::Serving;
use crate::server::http_error::ApiError;
use crate::server::domain::fleet::{EventBatch, MAX_BATCH_BYTES, MAX_EVENTS};
use crate::server::keys;
use crate::server::rollout::{check_install_id, CONTAINER_HEADER, INSTALL_HEADER};

/// A bundle is named by its content, so it never changes; the answer was authorised by a
/// bearer key, so only the client's own cache keeps it, never a shared one.
const IMMUTABLE: &str = "private, max-age=31536000, immutable";

/// A refusal, with `WWW-Authenticate` on a 401 (RFC 6750).
fn refuse(e: ApiError) -> Response {
    let unauthorized = e.status == StatusCode::UNAUTHORIZED;
    let mut r = e.into_response();
    if unauthorized {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"mpdp-container\""));
    }
    r
}

/// The Accessing Key of `Authorization: Bearer mpak_…`.
fn bearer(request: &HeaderMap) -> Result<&str, ApiError> {
    let malformed = || {
        unauthorized("authorization_malformed", "The Authorization header must be `Bearer mpak_…`, with the App's Mini Program Accessing Key.")
    };
    let value = request.get(header::AUTHORIZATION).ok_or_else(|| {
        unauthorized("authorization_missing", "The Authorization header is missing: send `Authorization: Bearer mpak_…` with the App's Mini Program Accessing Key.")
    })?;
    let (scheme, token) = value.to_str().map_err(|_| malformed())?.trim().split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(malformed());
    }
    let token = token.trim();
    if token.starts_with(keys::UPLOAD_PREFIX) {
        return Err(unauthorized("wrong_key_kind", "This is the App's Upload Key (mpuk_…), which signs uploads and must stay with the developers; the container API takes the App's Accessing Key (mpak_…)."));
    }
    if !token.starts_with(keys::ACCESS_PREFIX) {
        return Err(malformed());
    }
    Ok(token)
}

/// What the request's Accessing Key may read; notes the key's use.
fn admitted(state: &Serving, request: &HeaderMap) -> Result<Arc<AppContent>, ApiError> {
    let token = bearer(request)?;
    let snapshot = state.container.snapshot.load();
    let (key_id, content) = snapshot.authorize(token, state.clock.now())?;
    state.last_used.touch(key_id, state.clock.now());
    Ok(content.clone())
}

/// The install the request names (`MPDP-Install-Id`), checked; `None` when it names none (it
/// then gets the stable versions only).
fn install(request: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = request.get(INSTALL_HEADER) else { return Ok(None) };
    let bad = |rule: &str| {
        ApiError::new(StatusCode::BAD_REQUEST, "install_id_invalid", format!("The MPDP-Install-Id header {rule}: send the opaque id the host app generated once for this install, 8 to 128 characters.")).field("MPDP-Install-Id")
    };
    let text = value.to_str().map_err(|_| bad("must be visible ASCII"))?;
    check_install_id(text).map(Some).map_err(bad)
}

/// The container's version (`MPDP-Container-Version`), checked; `None` when it names none (it
/// then gets only bundles that declare no minimum container version).
fn container_version(request: &HeaderMap) -> Result<Option<semver::Version>, ApiError> {
    let Some(value) = request.get(CONTAINER_HEADER) else { return Ok(None) };
    let bad = || {
        ApiError::new(StatusCode::BAD_REQUEST, "container_version_invalid", "The MPDP-Container-Version header must be the container's semantic version, such as 2.4.1.").field("MPDP-Container-Version")
    };
    let text = value.to_str().map_err(|_| bad())?;
    semver::Version::parse(text.trim()).map(Some).map_err(|_| bad())
}

/// What the request's Accessing Key may read, and what its install and container get.
fn admitted_install(state: &Serving, request: &HeaderMap) -> Result<(Arc<AppContent>, Selection), ApiError> {
    let content = admitted(state, request)?;
    let selection = content.select(install(request)?, container_version(request)?.as_ref());
    Ok((content, selection))
}

fn unknown_mini_program() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "unknown_mini_program", "No mini program with this id is released to this App.")
}

/// `GET /api/container/v1/mini-programs`: every manifest released to the App, the candidates
/// the install gets in place of the stable versions.
pub(super) async fn list(State(state): State<Serving>, request: HeaderMap) -> Response {
    match admitted_install(&state, &request) {
        Ok((content, selection)) if selection == content.everything_stable() => content.list.respond(&request),
        Ok((content, selection)) => match content.list_for(selection) {
            Ok(list) => list.respond(&request),
            Err(_) => refuse(ApiError::internal()),
        },
        Err(e) => refuse(e),
    }
}

/// `GET /api/container/v1/mini-programs/{id}`: one manifest.
pub(super) async fn manifest(State(state): State<Serving>, UrlPath(id): UrlPath<String>, request: HeaderMap) -> Response {
    let (content, selection) = match admitted_install(&state, &request) {
        Ok(c) => c,
        Err(e) => return refuse(e),
    };
    match Uuid::parse_str(&id).ok().and_then(|id| content.manifest_for(id, selection)) {
        Some(m) => m.respond(&request),
        None => refuse(unknown_mini_program()),
    }
}

/// `GET /api/container/v1/mini-programs/{id}/icon`: the icon's bytes.
pub(super) async fn icon(State(state): State<Serving>, UrlPath(id): UrlPath<String>, request: HeaderMap) -> Response {
    let content = match admitted(&state, &request) {
        Ok(c) => c,
        Err(e) => return refuse(e),
    };
    let Some(id) = Uuid::parse_str(&id).ok().filter(|id| content.has_mini_program(*id)) else {
        return refuse(unknown_mini_program());
    };
    match content.icons.get(&id) {
        Some(icon) => icon.respond(&request),
        None => refuse(ApiError::new(StatusCode::NOT_FOUND, "no_icon", "This mini program has no icon.")),
    }
}

/// `GET /api/container/v1/platform-key`: the public key that signs the App's lists and
/// manifests — for bootstrapping a host app's build, which must ship the key rather than fetch
/// it (a container trusts no key it is sent).
pub(super) async fn platform_key(State(state): State<Serving>, request: HeaderMap) -> Response {
    match admitted(&state, &request) {
        Ok(content) => content.platform_key.respond(&request),
        Err(e) => refuse(e),
    }
}

/// `GET /api/container/v1/bundles/{sha256}`: a bundle released to the App, from its mapped file
/// (see [`super::bundles`]), whole or one byte range, with its sha256 as ETag.
pub(super) async fn bundle(State(state): State<Serving>, UrlPath(sha256): UrlPath<String>, request: HeaderMap) -> Response {
    let content = match admitted(&state, &request) {
        Ok(c) => c,
        Err(e) => return refuse(e),
    };
    if !content.has_bundle(&sha256) {
        return refuse(ApiError::new(StatusCode::NOT_FOUND, "unknown_bundle", "No bundle with this sha256 is released to this App."));
    }
    drop(content);
    let Ok(etag) = HeaderValue::try_from(format!("\"{sha256}\"")) else {
        return refuse(ApiError::internal());
    };
    let immutable = |headers: &mut HeaderMap| {
        headers.insert(header::ETAG, etag.clone());
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
        headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    };
    // The bytes never change, so date preconditions always hold and are not read.
    if not_modified(&request, &etag) {
        let mut r = StatusCode::NOT_MODIFIED.into_response();
        immutable(r.headers_mut());
        return r;
    }
    let bytes = match state.container.mapped.get(&state.bundles, &sha256) {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, %sha256, "could not read a released bundle (is it missing from the bundles directory?)");
            return refuse(ApiError::internal());
        }
    };
    let len = bytes.len();
    match super::bundles::respond(bytes, &request, &etag) {
        Some(mut r) => {
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/gzip"));
            immutable(r.headers_mut());
            r
        }
        None => {
            let mut r = refuse(ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "range_not_satisfiable",
                "The Range header asks for bytes outside the bundle (or for several ranges): ask for one range within Content-Range's length.",
            ));
            if let Ok(range) = HeaderValue::try_from(format!("bytes */{len}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, range);
            }
            r
        }
    }
}

/// `POST /api/container/v1/events`: a batch of the installs' events (`{"events": [...]}`, at most
/// 1 000, at most 256 KiB), counted for the flush; 202 with how many were accepted and rejected.
/// An oversized batch is 413, a malformed one 400, and neither counts anything.
pub(super) async fn events(State(state): State<Serving>, client: Option<axum::Extension<crate::server::auth::client::ClientAddr>>, request: Request) -> Response {
    let content = match admitted(&state, request.headers()) {
        Ok(c) => c,
        Err(e) => return refuse(e),
    };
    let limited = |e: crate::model::AppError| refuse(ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", e.to_string()));
    if let Some(ip) = client.map(|c| c.0 .0) {
        if let Err(e) = state.event_limits.per_address.check_address(ip) {
            return limited(e);
        }
    }
    let key = keys::sha256_hex(bearer(request.headers()).unwrap_or_default().as_bytes());
    if let Err(e) = state.event_limits.per_key.check(&key) {
        return limited(e);
    }
    let too_large = || refuse(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "batch_too_large", format!("An event batch holds at most {MAX_EVENTS} events in at most {} KiB: send fewer at a time.", MAX_BATCH_BYTES / 1024)));
    let Ok(bytes) = axum::body::to_bytes(request.into_body(), MAX_BATCH_BYTES).await else {
        return too_large();
    };
    let batch: EventBatch = match serde_json::from_slice(&bytes) {
        Ok(b) => b,
        Err(e) => {
            return refuse(ApiError::new(StatusCode::BAD_REQUEST, "batch_malformed", format!("The body must be {{\"events\": [{{\"install\", \"mini_program\", \"version\", \"kind\": \"launched\" | \"launch_failed\" | \"crashed\", \"at\"}}]}}: {e}")))
        }
    };
    if batch.events.len() > MAX_EVENTS {
        return too_large();
    }
    let counted = state.fleet.ingest(content.app(), |mp, version| content.serves(mp, version), batch.events, state.clock.now());
    (StatusCode::ACCEPTED, axum::Json(counted)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read_strictly() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
            m
        };
        assert_eq!(bearer(&HeaderMap::new()).unwrap_err().code, "authorization_missing");
        assert_eq!(bearer(&h("mpak_x")).unwrap_err().code, "authorization_malformed");
        assert_eq!(bearer(&h("Basic mpak_x")).unwrap_err().code, "authorization_malformed");
        assert_eq!(bearer(&h("Bearer abc")).unwrap_err().code, "authorization_malformed");
        assert_eq!(bearer(&h("Bearer mpuk_x")).unwrap_err().code, "wrong_key_kind");
        assert_eq!(bearer(&h("bearer  mpak_x ")).unwrap(), "mpak_x");
    }
}
