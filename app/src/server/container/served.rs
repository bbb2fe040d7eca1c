//! A prebuilt answer of the container API and its conditional GET: the ETag it carries, and
//! `If-None-Match` read as RFC 9110 says.

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::model::AppError;
use crate::server::keys;

/// Lists, manifests and icons change with releases: a cache keeps them but asks again each time.
const REVALIDATE: &str = "no-cache";

/// A prebuilt answer: its bytes, their type and their ETag (the SHA-256 of the bytes, quoted).
#[derive(Clone)]
pub(super) struct Served {
    pub(super) body: Bytes,
    pub(super) content_type: HeaderValue,
    pub(super) etag: HeaderValue,
}

impl Served {
    pub(super) fn new(body: Vec<u8>, content_type: &'static str) -> Result<Served, AppError> {
        let etag = HeaderValue::try_from(format!("\"{}\"", keys::sha256_hex(&body))).map_err(|_| AppError::Internal)?;
        Ok(Served { body: Bytes::from(body), content_type: HeaderValue::from_static(content_type), etag })
    }

    pub(super) fn json(value: &impl Serialize) -> Result<Served, AppError> {
        let body = serde_json::to_vec(value).map_err(|e| {
            tracing::error!(error = %e, "could not serialise a container API answer");
            AppError::Internal
        })?;
        Served::new(body, "application/json")
    }

    /// 200 with the bytes, or 304 when the request's `If-None-Match` names them.
    pub(super) fn respond(&self, request: &HeaderMap) -> Response {
        let mut response = if not_modified(request, &self.etag) {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            let mut r = Body::from(self.body.clone()).into_response();
            r.headers_mut().insert(header::CONTENT_TYPE, self.content_type.clone());
            r
        };
        let headers = response.headers_mut();
        headers.insert(header::ETAG, self.etag.clone());
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(REVALIDATE));
        response
    }
}

/// Whether `If-None-Match` names `etag` (a quoted tag), so the client's copy is current: the
/// header is `*` or a comma-separated list of entity tags, compared weakly (`W/"x"` matches
/// `"x"`), as RFC 9110 §13.1.2 says. (The `headers` crate's `IfNoneMatch` would do, but its
/// `EntityTag` debug-asserts on client bytes: a space inside a tag panics the request in a
/// debug build.)
pub(super) fn not_modified(request: &HeaderMap, etag: &HeaderValue) -> bool {
    let Ok(etag) = etag.to_str() else { return false };
    request.get_all(header::IF_NONE_MATCH).iter().filter_map(|v| v.to_str().ok()).any(|list| {
        list.split(',').map(str::trim).any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_names_the_current_etag() {
        let s = Served::new(b"{}".to_vec(), "application/json").unwrap();
        let with = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::IF_NONE_MATCH, HeaderValue::from_str(v).unwrap());
            m
        };
        assert_eq!(s.respond(&HeaderMap::new()).status(), StatusCode::OK);
        let current = s.respond(&HeaderMap::new()).headers()[header::ETAG].to_str().unwrap().to_string();
        assert_eq!(s.respond(&with(&current)).status(), StatusCode::NOT_MODIFIED);
        assert_eq!(s.respond(&with(&format!("\"old\", {current}"))).status(), StatusCode::NOT_MODIFIED);
        assert_eq!(s.respond(&with(&format!("W/{current}"))).status(), StatusCode::NOT_MODIFIED);
        assert_eq!(s.respond(&with("*")).status(), StatusCode::NOT_MODIFIED);
        assert_eq!(s.respond(&with("\"old\"")).status(), StatusCode::OK);
        assert_eq!(s.respond(&with("\"with a space\"")).status(), StatusCode::OK);
        assert_eq!(s.respond(&with("")).status(), StatusCode::OK);
    }
}
