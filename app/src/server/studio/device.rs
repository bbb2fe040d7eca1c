//! The device authorization endpoints of `mpdp studio login` (RFC 8628 §3.1–3.5), beside the
//! Studio API: form-encoded requests, JSON answers, refusals as `{"error", "error_description"}`.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::server::domain::accounts::device::{self, GrantError};

use super::Studio;

/// The largest form these endpoints read.
const FORM_LIMIT: usize = 4096;

fn refusal(e: GrantError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    let body = serde_json::json!({ "error": e.error, "error_description": e.description });
    (status, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

/// The fields of a form-encoded body (bounded); `None` for a body too large.
async fn form(body: Body) -> Option<std::collections::HashMap<String, String>> {
    let bytes = axum::body::to_bytes(body, FORM_LIMIT).await.ok()?;
    Some(url::form_urlencoded::parse(&bytes).into_owned().collect())
}

fn too_large() -> Response {
    refusal(GrantError { status: 413, error: "invalid_request", description: format!("The form may be at most {FORM_LIMIT} bytes.") })
}

/// `POST /api/device/v1/code` with `client_id=mpdp-cli`.
#[utoipa::path(
    post,
    path = "/api/device/v1/code",
    tag = "device",
    operation_id = "device_code",
    summary = "Begin a sign-in of the command line (RFC 8628 §3.1)",
    request_body(content = crate::server::schemas::DeviceCodeForm, content_type = "application/x-www-form-urlencoded", description = "At most 4 096 bytes."),
    responses(
        (status = 200, description = "The codes: the person types `user_code` on `verification_uri`.", body = device::DeviceCode),
        (status = 400, description = "`invalid_request`.", body = crate::server::schemas::GrantErrorBody),
        (status = 401, description = "`invalid_client`: not `mpdp-cli`.", body = crate::server::schemas::GrantErrorBody),
        (status = 429, description = "`slow_down` or `server_error`: too many requests from this address.", body = crate::server::schemas::GrantErrorBody),
        crate::server::schemas::GrantRefusals,
    ),
    security(())
)]
pub(super) async fn device_code(State(state): State<Studio>, client: Option<axum::Extension<crate::server::auth::client::ClientAddr>>, body: Body) -> Response {
    let Some(f) = form(body).await else { return too_large() };
    let client_id = f.get("client_id").map(String::as_str).unwrap_or("");
    match device::start(&state, client_id, client.map(|c| c.0 .0)).await {
        Ok(code) => (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")], Json(code)).into_response(),
        Err(e) => refusal(e),
    }
}

/// `POST /api/device/v1/token` with `grant_type`, `device_code` and `client_id`.
#[utoipa::path(
    post,
    path = "/api/device/v1/token",
    tag = "device",
    operation_id = "device_token",
    summary = "Ask for the token (RFC 8628 §3.4)",
    description = "Asked every `interval` seconds until the person approves or denies the code in the console, or it expires. The token is made when it is given, once.",
    request_body(content = crate::server::schemas::DeviceTokenForm, content_type = "application/x-www-form-urlencoded", description = "At most 4 096 bytes."),
    responses(
        (status = 200, description = "The personal access token.", body = device::TokenAnswer),
        (status = 400, description = "`authorization_pending`, `slow_down`, `access_denied`, `expired_token`, `invalid_grant`, `invalid_request`, `unsupported_grant_type`.", body = crate::server::schemas::GrantErrorBody),
        (status = 401, description = "`invalid_client`.", body = crate::server::schemas::GrantErrorBody),
        (status = 429, description = "`slow_down`, `server_error`.", body = crate::server::schemas::GrantErrorBody),
        crate::server::schemas::GrantRefusals,
    ),
    security(())
)]
pub(super) async fn device_token(State(state): State<Studio>, client: Option<axum::Extension<crate::server::auth::client::ClientAddr>>, body: Body) -> Response {
    let Some(f) = form(body).await else { return too_large() };
    let field = |name: &str| f.get(name).map(String::as_str).unwrap_or("");
    match device::poll(&state, field("grant_type"), field("device_code"), field("client_id"), client.map(|c| c.0 .0)).await {
        Ok(answer) => (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")], Json(answer)).into_response(),
        Err(e) => refusal(e),
    }
}
