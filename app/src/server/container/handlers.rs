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

/// The refusal of a missing or unknown Accessing Key, which every container endpoint may answer
/// (described for OpenAPI).
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
#[response(
    status = 401,
    description = "`authorization_missing`, `authorization_malformed` (not `Bearer mpak_…`), `wrong_key_kind` (the Upload Key), `unknown_key`, `key_revoked`, `key_expired`; with `WWW-Authenticate: Bearer`.",
    headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"mpdp-container\"`"))
)]
pub(super) struct KeyRefused(crate::server::schemas::ApiErrorBody);

/// The refusal of an install's headers that can't be read (described for OpenAPI).
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
#[response(status = 400, description = "`install_id_invalid`, `container_version_invalid` (with `field`).")]
pub(super) struct BadAsk(crate::server::schemas::ApiErrorBody);

/// The headers with which an install asks for what it should get (described for OpenAPI; the
/// handlers read them from the request's headers).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub(super) struct InstallAsks {
    /// The install's opaque id, 8 to 128 characters without control characters: candidates rolling out are chosen by it. Without it, stable versions only.
    #[param(rename = "MPDP-Install-Id", value_type = Option<crate::server::schemas::InstallId>, nullable = false)]
    install_id: Option<String>,
    /// The container's semantic version: only bundles it can run are given. Without it, only bundles that name no minimum.
    #[param(rename = "MPDP-Container-Version", value_type = Option<crate::server::schemas::SemVer>, nullable = false)]
    container_version: Option<String>,
    /// A tag the server gave (or `*`): 304 when it still holds.
    #[param(rename = "If-None-Match", nullable = false)]
    if_none_match: Option<String>,
}

/// `GET /api/container/v1/mini-programs`: every manifest released to the App, the candidates
/// the install gets in place of the stable versions.
#[utoipa::path(
    get,
    path = "/api/container/v1/mini-programs",
    tag = "container",
    operation_id = "list_mini_programs",
    summary = "Every mini program released to the App, as a signed list",
    params(InstallAsks),
    responses(
        (status = 200, description = "The list, signed by the platform key; a container keeps the highest `sequence` it accepted and refuses a lower one or one past `expires`.", body = crate::server::manifest::SignedList, headers(("ETag" = String, description = "The quoted sha256 of the answer's bytes."), ("Cache-Control" = String, description = "`no-cache`: keep it, ask again."))),
        (status = 304, description = "`If-None-Match` names the current list.", headers(("ETag" = String, description = "The quoted sha256 of the answer's bytes."), ("Cache-Control" = String, description = "`no-cache`: keep it, ask again."))),
        BadAsk,
        KeyRefused,
        crate::server::schemas::InternalError,
    ),
    security(("accessingKey" = []))
)]
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
#[utoipa::path(
    get,
    path = "/api/container/v1/mini-programs/{id}",
    tag = "container",
    operation_id = "get_manifest",
    summary = "One mini program's manifest",
    params(
        ("id" = uuid::Uuid, Path, description = "The mini program's id."),
        InstallAsks,
    ),
    responses(
        (status = 200, description = "The manifest the install gets, signed by the platform key.", body = crate::server::manifest::Manifest, headers(("ETag" = String, description = "The quoted sha256 of the answer's bytes."), ("Cache-Control" = String, description = "`no-cache`: keep it, ask again."))),
        (status = 304, description = "`If-None-Match` names the current manifest.", headers(("ETag" = String, description = "The quoted sha256 of the answer's bytes."), ("Cache-Control" = String, description = "`no-cache`: keep it, ask again."))),
        BadAsk,
        (status = 404, description = "`unknown_mini_program`: none with this id is released to the App (or none the container can run).", body = crate::server::schemas::ApiErrorBody),
        KeyRefused,
        crate::server::schemas::InternalError,
    ),
    security(("accessingKey" = []))
)]
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
#[utoipa::path(
    get,
    path = "/api/container/v1/mini-programs/{id}/icon",
    tag = "container",
    operation_id = "get_icon",
    summary = "A mini program's icon",
    params(
        ("id" = uuid::Uuid, Path, description = "The mini program's id."),
        ("If-None-Match" = Option<String>, Header, nullable = false, description = "A tag the server gave (or `*`): 304 when it still holds."),
    ),
    responses(
        (status = 200, description = "The icon: its sha256 is the manifest's `icon.sha256`.", content(
            (crate::server::schemas::Bytes = "image/png"), (crate::server::schemas::Bytes = "image/jpeg"), (crate::server::schemas::Bytes = "image/webp"),
        ), headers(("ETag" = String, description = "The quoted sha256 of the answer's bytes."), ("Cache-Control" = String, description = "`no-cache`: keep it, ask again."))),
        (status = 304, description = "`If-None-Match` names this icon.", headers(("ETag" = String, description = "The quoted sha256 of the answer's bytes."), ("Cache-Control" = String, description = "`no-cache`: keep it, ask again."))),
        (status = 404, description = "`unknown_mini_program`, `no_icon`.", body = crate::server::schemas::ApiErrorBody),
        KeyRefused,
        crate::server::schemas::InternalError,
    ),
    security(("accessingKey" = []))
)]
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
#[utoipa::path(
    get,
    path = "/api/container/v1/platform-key",
    tag = "container",
    operation_id = "get_platform_key",
    summary = "The platform public key that signs the App's lists and manifests (bootstrap only)",
    description = "To copy into the host app's build once: a container ships this key and never fetches it at run time.",
    params(("If-None-Match" = Option<String>, Header, nullable = false, description = "A tag the server gave (or `*`): 304.")),
    responses(
        (status = 200, description = "The key.", body = crate::server::manifest::PlatformKey, headers(("ETag" = String, description = "The quoted sha256 of the answer's bytes."), ("Cache-Control" = String, description = "`no-cache`: keep it, ask again."))),
        (status = 304, description = "`If-None-Match` names it.", headers(("ETag" = String, description = "The quoted sha256 of the answer's bytes."), ("Cache-Control" = String, description = "`no-cache`: keep it, ask again."))),
        KeyRefused,
        crate::server::schemas::InternalError,
    ),
    security(("accessingKey" = []))
)]
pub(super) async fn platform_key(State(state): State<Serving>, request: HeaderMap) -> Response {
    match admitted(&state, &request) {
        Ok(content) => content.platform_key.respond(&request),
        Err(e) => refuse(e),
    }
}

/// `GET /api/container/v1/bundles/{sha256}`: a bundle released to the App, from its mapped file
/// (see [`super::bundles`]), whole or one byte range, with its sha256 as ETag.
#[utoipa::path(
    get,
    path = "/api/container/v1/bundles/{sha256}",
    tag = "container",
    operation_id = "get_bundle",
    summary = "A bundle released to the App, whole or one byte range",
    params(
        ("sha256" = crate::server::schemas::Sha256, Path, description = "The bundle's sha256, as the manifest's `bundle.sha256`."),
        ("Range" = Option<crate::server::schemas::ByteRange>, Header, nullable = false, description = "One range: `bytes=a-b`, `bytes=a-` or `bytes=-n`. Another unit is ignored (the whole bundle, 200)."),
        ("If-Range" = Option<String>, Header, nullable = false, description = "The bundle's ETag or a date: the range is served; another tag: the whole bundle."),
        ("If-None-Match" = Option<String>, Header, nullable = false, description = "The bundle's tag (or `*`): 304."),
    ),
    responses(
        (status = 200, description = "The bundle (the canonical archive).", body = crate::server::schemas::Bytes, content_type = "application/gzip", headers(
            ("ETag" = String, description = "The quoted sha256 of the bundle."),
            ("Cache-Control" = String, description = "`private, max-age=31536000, immutable`."),
            ("Accept-Ranges" = String, description = "`bytes`."),
        )),
        (status = 206, description = "The range asked for.", body = crate::server::schemas::Bytes, content_type = "application/gzip", headers(
            ("Content-Range" = String, description = "`bytes a-b/length`."),
            ("ETag" = String, description = "The quoted sha256 of the bundle."),
        )),
        (status = 304, description = "`If-None-Match` names this bundle.", headers(("ETag" = String, description = "The quoted sha256 of the bundle."))),
        (status = 404, description = "`unknown_bundle`: no bundle with this sha256 is released to the App.", body = crate::server::schemas::ApiErrorBody),
        (status = 416, description = "`range_not_satisfiable`: beyond the end, malformed (a unit that is no token, or bytes not written `a-b`, `a-` or `-n`), or several ranges.", body = crate::server::schemas::ApiErrorBody, headers(("Content-Range" = String, description = "`bytes */length`."))),
        KeyRefused,
        crate::server::schemas::InternalError,
    ),
    security(("accessingKey" = []))
)]
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
#[utoipa::path(
    post,
    path = "/api/container/v1/events",
    tag = "container",
    operation_id = "report_events",
    summary = "Report what installs did with the versions they run",
    description = "At most 1 000 events in at most 256 KiB. An event is rejected (counted in `rejected`, not in the figures) when its install id is malformed, \
                   its time is more than 7 days old or 5 minutes ahead, or the App is not served that version of that mini program.",
    request_body(content = crate::server::domain::fleet::EventBatch, content_type = "application/json"),
    responses(
        (status = 202, description = "Counted.", body = crate::server::domain::fleet::Ingested),
        (status = 400, description = "`batch_malformed`.", body = crate::server::schemas::ApiErrorBody),
        (status = 413, description = "`batch_too_large`.", body = crate::server::schemas::ApiErrorBody),
        (status = 429, description = "`rate_limited`: too many batches with this key or from this address.", body = crate::server::schemas::ApiErrorBody),
        KeyRefused,
        crate::server::schemas::InternalError,
    ),
    security(("accessingKey" = []))
)]
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
    let counted = state.fleet.ingest(content.app(), |install, mp, version| content.may_run(install, mp, version), batch.events, state.clock.now());
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
