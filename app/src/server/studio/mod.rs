//! The Studio API (`/api/studio/v1/…`): how bundles get into the platform. A machine API on its
//! own router — no session, no origin check, no console body limit — authorised by the
//! Upload Key's Ed25519 signature (see [`crate::server::keys`]).
//!
//! An upload is authenticated before a byte of its body is read, each refusal a JSON error with
//! nothing stored: the signature header is well-formed and names the sha256 and size of the body;
//! the key is known, an Upload Key, not revoked, within its grace period; the timestamp is within
//! five minutes; the signature verifies over the upload message (mini program, version, sha256,
//! size, timestamp, nonce); the nonce was not used and is not in use by a request in flight. Then,
//! still without reading the body: at most [`UPLOADS_PER_KEY`] uploads at once per key and
//! [`UPLOADS_PER_ADDRESS`] per client address; the mini program exists in the key's workspace,
//! within the key's scope, not removed; the workspace is active; the version is semantic and
//! higher than every earlier one that is not retired; the signed size is within the limit and
//! agrees with `Content-Length`. Only then is the body streamed — off the async workers, through a
//! bounded channel to a blocking thread that hashes it, reads it strictly as an archive and
//! re-packs the canonical archive (see [`crate::server::archive`]) into a temporary file, fsynced.
//! The received bytes must be exactly the signed ones. The canonical file is renamed to its
//! content address (the directory fsynced) before the record commits; the record's transaction
//! consumes the nonce and re-checks the key, the workspace, the mini program and the version, so
//! of two racing uploads one wins and the loser leaves no file behind.

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::HeaderMap;
use axum::Router;
use serde::Serialize;

use crate::model::minis::VersionView;
use crate::server::routes::Routes;
pub use crate::server::store::bundles::Bundles;
use crate::server::context::Context;

mod authenticate;
mod console;
mod device;
mod limits;
mod person;
mod publish;
mod receive;
#[cfg(test)]
mod tests;
mod upload;

use authenticate::*;
use console::*;
pub use limits::StudioLimits;
use limits::*;
use receive::*;
pub(crate) use upload::{upload_checked, SignedUpload};
use upload::*;

/// How far a signed request's clock may be from the server's.
pub const CLOCK_SKEW_SECS: i64 = 300;

/// Uploads in progress at once per Upload Key.
pub const UPLOADS_PER_KEY: usize = 2;

/// Uploads in progress at once per client address (IPv6: per /64).
pub const UPLOADS_PER_ADDRESS: usize = 4;

/// Uploads in progress at once per workspace (its keys' and its members' together): one tenant's
/// uploads hold at most this many reservations of the disk room above the floor (each its bundle
/// and the 200 MiB its files may unpack to: about 2 GiB at the largest bundles).
pub const UPLOADS_PER_WORKSPACE: usize = 8;

/// Refused unauthenticated requests (401) per client address per minute answered at once; past
/// these, the n-th further one is answered after n × [`REFUSAL_DELAY`], at most
/// [`REFUSAL_DELAY_MAX`].
pub const REFUSALS_PER_ADDRESS: u32 = 20;

/// How much longer each refusal past the budget waits than the one before.
pub const REFUSAL_DELAY: std::time::Duration = std::time::Duration::from_secs(1);

/// The longest a refusal waits.
pub const REFUSAL_DELAY_MAX: std::time::Duration = std::time::Duration::from_secs(10);

/// Refusals of one address waiting at once, at most.
pub const REFUSALS_HELD_PER_ADDRESS: usize = 32;

/// The answer to an upload.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Uploaded {
    pub version: VersionView,
    /// The mini program's page in the console (its versions list).
    pub console_url: String,
}

/// The answer to a version listing: every version that was not retired, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Versions {
    pub versions: Vec<VersionView>,
}

/// What the Studio API's handlers are given: the use cases' context, the bundle files, the
/// Studio's limits kept in memory, and where key uses are noted.
#[derive(Clone)]
pub struct Studio {
    pub cx: Context,
    pub bundles: crate::server::store::bundles::Bundles,
    pub limits: Arc<StudioLimits>,
    pub last_used: Arc<crate::server::domain::apps::LastUsed>,
}

impl std::ops::Deref for Studio {
    type Target = Context;

    fn deref(&self) -> &Context {
        &self.cx
    }
}

/// The Studio API's description (see [`crate::server::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(upload::upload, upload::list_versions, publish::publish, device::device_code, device::device_token))]
pub struct StudioApi;

/// The Studio API's routes.
pub fn routes() -> Routes<Studio> {
    Routes::default()
        .post("/api/studio/v1/mini-programs/{id}/versions", upload)
        .get("/api/studio/v1/mini-programs/{id}/versions", list_versions)
        .post("/api/studio/v1/mini-programs/{id}/publishing", publish::publish)
        .post("/api/device/v1/code", device::device_code)
        .post("/api/device/v1/token", device::device_token)
}

/// The console's own upload form (a signed-in member's browser, not a Studio key).
pub fn console_routes() -> Routes<Studio> {
    Routes::default().post("/w/{name}/mini-programs/{id}/versions/upload", console_upload)
}

pub fn router(state: Studio) -> Router {
    routes()
        .into_router()
        // The upload counts its body itself, against the signed size.
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn_with_state(state.clone(), slow_refusals))
        .with_state(state)
}

pub(super) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The characters a note keeps as they are in its header: RFC 3986's unreserved ones.
pub(super) const NOTE_KEPT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// A note as its `MPDP-Note` header carries it: every byte of its UTF-8 but the unreserved
/// characters percent-encoded, so any note fits an HTTP header.
pub fn encode_note(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, NOTE_KEPT).to_string()
}

/// Decodes `%XX` escapes; `None` for a malformed escape (a `%` not followed by two hex digits)
/// or bytes that are not UTF-8.
pub(super) fn percent_decode(text: &str) -> Option<String> {
    let escapes_whole = text.split('%').skip(1).all(|rest| rest.as_bytes().get(..2).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)));
    escapes_whole.then(|| percent_encoding::percent_decode_str(text).decode_utf8().ok().map(|s| s.into_owned())).flatten()
}
