//! Gives a server function's error its HTTP status.

use std::future::Future;

use axum::http::{header, request::Parts, HeaderValue, StatusCode};
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;

use crate::model::AppError;

/// Runs a server function body and, when it fails, sets the error's status code (and
/// `Retry-After` for 429). A plain HTML form post (JavaScript off) keeps the redirect that carries
/// the error back to the form, so its status is left alone.
pub async fn respond<T>(body: impl Future<Output = Result<T, AppError>>) -> Result<T, AppError> {
    let result = body.await;
    if let Err(error) = &result {
        let from_plain_form = use_context::<Parts>()
            .and_then(|p| p.headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).map(|v| v.contains("text/html")))
            .unwrap_or(false);
        if let (false, Some(response)) = (from_plain_form, use_context::<ResponseOptions>()) {
            response.set_status(StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
            if let AppError::RateLimited { retry_after_secs, .. } = error {
                if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                    response.insert_header(header::RETRY_AFTER, v);
                }
            }
        }
    }
    result
}
