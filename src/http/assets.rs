//! The console's static files (WASM, JS, CSS, `public/`), embedded in the binary by the release
//! build, served precompressed, and under a per-build path so they can be cached for a year.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use leptos::prelude::LeptosOptions;
use rust_embed::RustEmbed;
use sha2::{Digest, Sha256};

#[derive(RustEmbed)]
#[folder = "target/site"]
#[allow_missing = true]
struct Site;

const OUTPUT: &str = "mpdp";

/// A short fingerprint of this build's front end; it names the asset directory in URLs.
/// Every file in `pkg/` counts (the main JS and WASM, the CSS, and with WASM splitting every
/// chunk, the loader and the manifest), so a new build never shares a URL with an older file.
fn build_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let mut files: Vec<_> = Site::iter()
            .filter(|name| name.starts_with("pkg/") && !name.ends_with(".gz") && !name.ends_with(".br"))
            .collect();
        files.sort();
        let mut hash = Sha256::new();
        for name in &files {
            if let Some(file) = Site::get(name) {
                hash.update(name.as_bytes());
                hash.update([0]);
                hash.update(file.metadata.sha256_hash());
            }
        }
        hash.finalize()[..9].iter().map(|b| format!("{b:02x}")).collect()
    })
}

pub fn leptos_options() -> LeptosOptions {
    let mut options = leptos::prelude::get_configuration(None)
        .expect("the built-in Leptos settings are valid")
        .leptos_options;
    options.output_name = OUTPUT.into();
    options.site_pkg_dir = format!("pkg/{}", build_id()).into();
    options
}

type Render = Pin<Box<dyn Future<Output = Response<Body>> + Send>>;

/// Serves an embedded file, or renders the console's 404 page.
pub async fn serve_or_not_found<F>(req: Request, not_found: F) -> Response
where
    F: Fn(Request<Body>) -> Render,
{
    if let Some(response) = embedded(req.uri().path(), req.headers()) {
        return response;
    }
    let mut response = not_found(req).await;
    if response.status() == StatusCode::OK {
        *response.status_mut() = StatusCode::NOT_FOUND;
    }
    response
}

fn embedded(path: &str, headers: &HeaderMap) -> Option<Response> {
    let path = path.trim_start_matches('/');
    let (name, immutable) = match path.strip_prefix("pkg/").and_then(|p| p.split_once('/')) {
        Some((id, rest)) if id == build_id() => (format!("pkg/{rest}"), true),
        Some(_) => return None,
        None if path.is_empty() || path.starts_with("pkg/") => return None,
        None => (path.to_string(), false),
    };
    let original = Site::get(&name)?;
    let etag = format!(
        "\"{}\"",
        original.metadata.sha256_hash()[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let cache = if immutable {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=3600"
    };
    let mut builder = Response::builder()
        .header(header::ETAG, &etag)
        .header(header::CACHE_CONTROL, cache)
        .header(header::VARY, "Accept-Encoding");
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        return builder
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
            .ok();
    }
    let mime = mime_guess::from_path(&name).first_or_octet_stream();
    builder = builder.header(header::CONTENT_TYPE, mime.as_ref());
    let accepts = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    for (encoding, suffix) in [("br", "br"), ("gzip", "gz")] {
        if accepts
            .split(',')
            .any(|e| e.trim().split(';').next() == Some(encoding))
        {
            if let Some(compressed) = Site::get(&format!("{name}.{suffix}")) {
                return builder
                    .header(header::CONTENT_ENCODING, HeaderValue::from_static(encoding))
                    .body(Body::from(compressed.data.into_owned()))
                    .ok();
            }
        }
    }
    builder.body(Body::from(original.data.into_owned())).ok()
}
