//! How errors are answered over HTTP: one contract, derived from [`AppError`].
//!
//! - The machine APIs (Studio, container) answer `{"error": {"code", "message", "field"}}` with
//!   the status of the refusal ([`ApiError`]); a use case's [`AppError`] keeps its kind, its
//!   stable code and the field it names.
//! - The console's server functions answer the `AppError` itself, as JSON, with its own status
//!   (422, 409, 401, 403, 404, 429 with Retry-After …), set while the error is encoded (see
//!   `AppError`'s `FromServerFnError`) — never by reading the body back afterwards.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::model::AppError;

/// A refusal: status, a stable code, a message that says what to do, and the field if any.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    /// Seconds to wait before trying again (a rate limit's 429), sent as `Retry-After`.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), field: None, retry_after: None }
    }

    pub(crate) fn field(mut self, field: &'static str) -> ApiError {
        self.field = Some(field.to_string());
        self
    }

    pub(crate) fn internal() -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Something went wrong on the server. It has been logged; please try again.")
    }
}

/// A use case's refusal keeps its kind: its stable code (`conflict`, `forbidden` …), its status
/// and the field it names.
impl From<AppError> for ApiError {
    fn from(e: AppError) -> ApiError {
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry_after = match &e {
            AppError::RateLimited { retry_after_secs, .. } => Some(*retry_after_secs),
            _ => None,
        };
        ApiError { status, code: e.code(), message: e.to_string(), field: e.field().map(str::to_string), retry_after }
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
        let body = ErrorBody { error: ErrorInner { code: self.code, message: &self.message, field: self.field.as_deref() } };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(secs));
        }
        response
    }
}
