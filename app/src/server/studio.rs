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

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use chrono::Utc;
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::model::apps::KeyKind;
use crate::model::minis::{validate_note, VersionState, VersionView};
use crate::model::workspace::WorkspaceStatus;
use crate::model::audit::AuditAction;
use crate::server::archive;
use crate::server::http_error::ApiError;
use crate::server::routes::Routes;
use crate::server::auth::ratelimit::Tarpit;
use crate::server::keys::{self, SignatureHeader};
use crate::server::store::apps::{self as app_store, Key, KeyRecord};
use crate::server::store::audit::{self, Actor};
pub use crate::server::store::bundles::Bundles;
use crate::server::store::minis::{self as store, Version};
use crate::server::store::workspaces as ws;
use crate::server::context::Context;

/// How far a signed request's clock may be from the server's.
pub const CLOCK_SKEW_SECS: i64 = 300;
/// Uploads in progress at once per Upload Key.
pub const UPLOADS_PER_KEY: usize = 2;
/// Uploads in progress at once per client address (IPv6: per /64).
pub const UPLOADS_PER_ADDRESS: usize = 4;
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

/// Removes the temporary file when an upload is refused or fails.
struct TempFile(Option<PathBuf>);

impl TempFile {
    fn path(&self) -> Result<PathBuf, ApiError> {
        self.0.clone().ok_or_else(ApiError::internal)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
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

/// The Studio API's routes.
pub fn routes() -> Routes<Studio> {
    Routes::default()
        .post("/api/studio/v1/mini-programs/{id}/versions", upload)
        .get("/api/studio/v1/mini-programs/{id}/versions", list_versions)
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

fn unknown_key() -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unknown_key", "The key that signed this request is not known to this server.")
}

fn key_usable(key: &Key, now: chrono::DateTime<Utc>) -> Result<(), ApiError> {
    if key.kind != KeyKind::Upload {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "wrong_key_kind", "This request is signed by an Accessing Key; uploads are signed with the App's Upload Key (mpuk_…)."));
    }
    if key.revoked.is_some() {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "key_revoked", "This Upload Key has been revoked. Ask a Workspace Admin for the App's current Upload Key."));
    }
    if !key.live(now) {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "key_expired", "This Upload Key was rotated and its grace period is over. Use the App's current Upload Key."));
    }
    Ok(())
}

fn stale() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "stale_timestamp",
        format!("The request's timestamp is more than {} minutes from the server's clock: check the clock and sign again.", CLOCK_SKEW_SECS / 60),
    )
}

fn replayed() -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "replayed", "This signed request was already received (its nonce was used): sign each request anew.")
}

fn bad_signature() -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "bad_signature", "The signature does not verify with the key over this request: nothing was read or stored.")
}

/// A verified request: the key, its signature header, and the nonce held against concurrent
/// replays until the request ends.
struct Verified {
    key: KeyRecord,
    sig: SignatureHeader,
    _nonce: NonceHold,
}

/// Authenticates a signed request before anything else is read, in one read of the key and its
/// nonce: the key (known, an Upload Key, not revoked, within its grace period), the clock, the
/// signature over `message`, then the nonce (unused, and held against the same nonce in flight).
/// Nothing is written; the write that acts consumes the nonce.
async fn authenticate(state: &Studio, sig: SignatureHeader, message: impl FnOnce(&SignatureHeader) -> String) -> Result<Verified, ApiError> {
    let (k, n) = (sig.key.clone(), sig.nonce.clone());
    let (key, used) = state.store.read(move |tx| Ok((app_store::key_record(tx, &k)?, store::nonce_used(tx, &k, &n)?))).await?;
    let key = key.ok_or_else(unknown_key)?;
    key_usable(&key.key, state.clock.now())?;
    if (state.clock.timestamp() - sig.ts).abs() > CLOCK_SKEW_SECS {
        return Err(stale());
    }
    if !keys::verify(&key.key.material, message(&sig).as_bytes(), &sig.sig) {
        return Err(bad_signature());
    }
    let hold = state.limits.in_flight.hold(&sig.key, &sig.nonce).ok_or_else(replayed)?;
    if used {
        return Err(replayed());
    }
    Ok(Verified { key, sig, _nonce: hold })
}

/// What the Studio API keeps in memory: nonces in flight, uploads in progress and recent
/// refusals per address.
pub struct StudioLimits {
    in_flight: Arc<InFlight>,
    uploads: Arc<UploadSlots>,
    refusals: Arc<Tarpit>,
}

impl StudioLimits {
    /// The limits, with refusal windows on `clock`.
    pub fn new(clock: crate::server::clock::Clock) -> Self {
        StudioLimits {
            in_flight: Arc::default(),
            uploads: Arc::default(),
            refusals: Arc::new(Tarpit::new(REFUSALS_PER_ADDRESS, std::time::Duration::from_secs(60), REFUSAL_DELAY, REFUSAL_DELAY_MAX, REFUSALS_HELD_PER_ADDRESS, clock)),
        }
    }

    /// Forgets refusal windows that have ended (run from a timer).
    pub fn forget_expired(&self) {
        self.refusals.forget_expired();
    }
}

/// Answers a refused authentication (401) late once its client address is past
/// [`REFUSALS_PER_ADDRESS`] a minute, later with each one: a client sending forged uploads in a
/// loop soon gets one answer per connection every ten seconds, and the server spends a timer on
/// each, not a worker. The body of a refused
/// upload is never read, so while the answer waits the client's bytes stop in its own socket.
async fn slow_refusals(State(state): State<Studio>, request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let client = request.extensions().get::<crate::server::auth::client::ClientAddr>().map(|c| c.0);
    let response = next.run(request).await;
    if response.status() == StatusCode::UNAUTHORIZED {
        if let Some(hold) = client.and_then(|ip| state.limits.refusals.refused(ip)) {
            tokio::time::sleep(hold.delay).await;
        }
    }
    response
}

/// Nonces of verified requests not yet finished, so a replay sent while the original is still
/// being received is refused at once.
#[derive(Default)]
struct InFlight(Mutex<HashSet<(String, String)>>);

struct NonceHold(Arc<InFlight>, (String, String));

impl InFlight {
    fn hold(self: &Arc<Self>, key: &str, nonce: &str) -> Option<NonceHold> {
        let id = (key.to_string(), nonce.to_string());
        let mut set = self.0.lock().unwrap_or_else(|e| e.into_inner());
        set.insert(id.clone()).then(|| NonceHold(self.clone(), id))
    }
}

impl Drop for NonceHold {
    fn drop(&mut self) {
        self.0 .0.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.1);
    }
}

/// Uploads in progress per key and per client address; entries leave the maps when their count
/// falls to zero, so the maps hold only what is in flight.
#[derive(Default)]
struct UploadSlots(Mutex<(HashMap<String, usize>, HashMap<String, usize>)>);

struct UploadSlot(Arc<UploadSlots>, String, Option<String>);

impl UploadSlots {
    fn take(self: &Arc<Self>, key: &str, client: Option<IpAddr>) -> Result<UploadSlot, ApiError> {
        let busy = |what: &str, n: usize| {
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_uploads", format!("{n} uploads {what} are already in progress: wait for one to finish, then try again."))
        };
        // Counted as the login limits count addresses: IPv4 itself, IPv6 by its /64.
        let bucket = client.map(crate::server::auth::ratelimit::address_key);
        let mut maps = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if maps.0.get(key).copied().unwrap_or(0) >= UPLOADS_PER_KEY {
            return Err(busy("with this Upload Key", UPLOADS_PER_KEY));
        }
        if let Some(b) = &bucket {
            if maps.1.get(b).copied().unwrap_or(0) >= UPLOADS_PER_ADDRESS {
                return Err(busy("from your network address", UPLOADS_PER_ADDRESS));
            }
            *maps.1.entry(b.clone()).or_default() += 1;
        }
        *maps.0.entry(key.to_string()).or_default() += 1;
        Ok(UploadSlot(self.clone(), key.to_string(), bucket))
    }
}

impl Drop for UploadSlot {
    fn drop(&mut self) {
        let mut maps = self.0 .0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = maps.0.get_mut(&self.1) {
            *n -= 1;
            if *n == 0 {
                maps.0.remove(&self.1);
            }
        }
        if let Some(b) = &self.2 {
            if let Some(n) = maps.1.get_mut(b) {
                *n -= 1;
                if *n == 0 {
                    maps.1.remove(b);
                }
            }
        }
    }
}

fn not_found_in_key_workspace() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "unknown_mini_program", "No such mini program in the workspace of this key.")
}

fn suspended(name: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "workspace_suspended", format!("The workspace {name} is suspended: nothing can be uploaded until the platform operator reactivates it."))
}

fn removed() -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "mini_program_removed", "This mini program has been removed; nothing more can be uploaded to it.")
}

/// What a signed request about a mini program is checked against before its body is read, in
/// one read: the mini program in the key's workspace, which is active; its versions; the key's
/// App's name. (The write that acts checks them again.)
struct Target {
    mini_program: store::MiniProgram,
    workspace: ws::Workspace,
    versions: Vec<Version>,
    app_name: String,
}

async fn target_of(state: &Studio, key: &Key, id: Uuid) -> Result<Target, ApiError> {
    let (wid, app) = (key.workspace, key.app);
    let found = state
        .store
        .read(move |tx| {
            let mp = store::by_id(tx, id)?.filter(|mp| mp.workspace == wid);
            let Some(mp) = mp else { return Ok(None) };
            let Some(w) = ws::get_workspace(tx, wid)? else { return Ok(None) };
            let app_name = app_store::app_of(tx, wid, app)?.map(|a| a.name).unwrap_or_default();
            Ok(Some(Target { versions: store::versions(tx, id)?, mini_program: mp, workspace: w, app_name }))
        })
        .await?;
    let target = found.ok_or_else(not_found_in_key_workspace)?;
    if target.workspace.status == WorkspaceStatus::Suspended {
        return Err(suspended(&target.workspace.name));
    }
    Ok(target)
}

/// A semantic version higher than every earlier one of the mini program that is not retired.
/// Precedence is SemVer's (§11): build metadata does not count, so `1.0.0+b2` is not higher than
/// `1.0.0+b1`.
fn check_version(text: &str, earlier: &[Version]) -> Result<semver::Version, ApiError> {
    let v = semver::Version::parse(text.trim()).map_err(|_| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "version_invalid", format!("“{}” is not a semantic version like 1.2.3 (three numbers, no leading zeros).", text.trim())).field("version")
    })?;
    let highest = store::highest_live_version(earlier);
    if let Some(h) = highest {
        if v.cmp_precedence(&h) != std::cmp::Ordering::Greater {
            return Err(ApiError::new(StatusCode::CONFLICT, "version_not_higher", format!("Version {v} must be higher than {h}, the highest uploaded so far (build metadata after + does not count).")).field("version"));
        }
    }
    Ok(v)
}

fn too_large(limit: u64) -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "bundle_too_large", format!("The bundle is larger than {} MiB, this server's limit.", limit / (1024 * 1024))).field("bundle")
}

fn truncated() -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "upload_truncated", "The upload was cut short before all its bytes arrived; nothing was stored.")
}

impl From<archive::Refusal> for ApiError {
    fn from(r: archive::Refusal) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, r.code, r.message).field("bundle")
    }
}

/// A received bundle, checked and re-packed: the canonical archive in a temporary file (fsynced)
/// with its sha256 and size, and the sha256 and size of the bytes received.
struct Received {
    temp: TempFile,
    sha256: String,
    size: u64,
    uploaded_sha256: String,
    uploaded_size: u64,
}

/// Reads the body's chunks on a blocking thread, hashing and counting them.
struct ChannelReader {
    chunks: tokio::sync::mpsc::Receiver<Bytes>,
    current: Bytes,
    hasher: Sha256,
    size: u64,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.blocking_recv() {
                Some(chunk) => self.current = chunk,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        let chunk = self.current.split_to(n);
        buf[..n].copy_from_slice(&chunk);
        self.hasher.update(&chunk);
        self.size += n as u64;
        Ok(n)
    }
}

/// Hashes and counts what it writes.
struct HashingWriter {
    file: std::fs::File,
    hasher: Sha256,
    size: u64,
}

impl Write for HashingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Streams a body (at most `limit` bytes) to a blocking thread that checks it as an archive and
/// writes its canonical archive to a temporary file under `bundles/tmp`. The async side only
/// forwards chunks: hashing, decompressing and writing never run on the runtime's workers.
async fn receive_canonical<S, E>(bundles: &Bundles, mut stream: S, limit: u64) -> Result<Received, ApiError>
where
    S: futures::Stream<Item = Result<Bytes, E>> + Unpin,
{
    use futures::StreamExt;
    let dir = bundles.temp_dir();
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(8);
    let worker = tokio::task::spawn_blocking(move || -> Result<Received, ApiError> {
        let internal = |e: std::io::Error| {
            tracing::error!(error = %e, "could not write a bundle's temporary files");
            ApiError::internal()
        };
        std::fs::create_dir_all(&dir).map_err(internal)?;
        let path = dir.join(format!("{}.part", Uuid::new_v4()));
        let out = crate::server::store::files::create_private(&path).map_err(internal)?;
        let temp = TempFile(Some(path));
        // The files' data between reading and re-packing: unlinked at once, gone with the handle.
        let spool_path = dir.join(format!("{}.spool", Uuid::new_v4()));
        let mut spool = crate::server::store::files::create_private(&spool_path).map_err(internal)?;
        std::fs::remove_file(&spool_path).map_err(internal)?;
        let mut reader = ChannelReader { chunks: rx, current: Bytes::new(), hasher: Sha256::new(), size: 0 };
        let writer = HashingWriter { file: out, hasher: Sha256::new(), size: 0 };
        let (writer, _) = archive::canonicalise(std::io::BufReader::with_capacity(64 * 1024, &mut reader), &mut spool, writer)?;
        writer.file.sync_all().map_err(internal)?;
        Ok(Received {
            temp,
            sha256: keys::hex(&writer.hasher.finalize()),
            size: writer.size,
            uploaded_sha256: keys::hex(&reader.hasher.finalize()),
            uploaded_size: reader.size,
        })
    });
    let mut size = 0u64;
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else {
            drop(tx);
            let _ = worker.await;
            return Err(truncated());
        };
        size += chunk.len() as u64;
        if size > limit {
            drop(tx);
            let _ = worker.await;
            return Err(too_large(limit));
        }
        if tx.send(chunk).await.is_err() {
            break; // the archive was refused: its reason is the answer
        }
    }
    drop(tx);
    worker.await.map_err(|_| ApiError::internal())?
}

/// `POST /api/studio/v1/mini-programs/{id}/versions`: a signed upload.
async fn upload(
    State(state): State<Studio>,
    UrlPath(id): UrlPath<String>,
    client: Option<axum::Extension<crate::server::auth::client::ClientAddr>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let client = client.map(|c| c.0 .0);
    match upload_checked(&state, &id, &headers, client, body).await {
        Ok(done) => (StatusCode::CREATED, Json(done)).into_response(),
        Err(e) => e.into_response(),
    }
}

/// The Upload Key's scope: its mini programs and client address ranges.
fn in_scope(key: &KeyRecord, mini_program: Uuid, client: Option<IpAddr>) -> Result<(), ApiError> {
    app_store::upload_scope_allows(key, mini_program, client).map_err(|r| ApiError::new(StatusCode::FORBIDDEN, r.code(), r.message()))
}

pub(crate) async fn upload_checked(state: &Studio, id: &str, headers: &HeaderMap, client: Option<IpAddr>, body: Body) -> Result<Uploaded, ApiError> {
    let sig = signature(headers)?;
    let (Some(claimed_sha), Some(claimed_size)) = (sig.sha256.clone(), sig.size) else {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "signature_malformed", "The MPDP-Signature header of an upload needs sha256= and size=."));
    };
    let version_text = header(headers, "mpdp-version")
        .ok_or_else(|| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "version_missing", "The MPDP-Version header is missing (the version, like 1.2.3).").field("version"))?
        .trim()
        .to_string();
    let mp_id = Uuid::parse_str(id).map_err(|_| not_found_in_key_workspace())?;
    // Authenticate first: nothing below runs for a request the key did not sign.
    let verified = authenticate(state, sig, |sig| keys::upload_message(&mp_id.to_string(), &version_text, &claimed_sha, claimed_size, sig.ts, &sig.nonce)).await?;
    let (record, sig) = (&verified.key, &verified.sig);
    let key = &record.key;
    let _slot = state.limits.uploads.take(&key.id, client)?;
    let Target { mini_program: mp, workspace, versions: earlier, app_name } = target_of(state, key, mp_id).await?;
    in_scope(record, mp.id, client)?;
    if mp.removed {
        return Err(removed());
    }
    check_version(&version_text, &earlier)?;
    let note = match header(headers, "mpdp-note") {
        Some(n) => {
            let decoded = percent_decode(n).ok_or_else(|| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "note_invalid", "The MPDP-Note header must be percent-encoded UTF-8.").field("note"))?;
            validate_note(&decoded).map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "note_invalid", e.to_string()).field("note"))?
        }
        None => String::new(),
    };
    let limit = state.config.max_bundle_bytes;
    if claimed_size > limit {
        return Err(too_large(limit));
    }
    if header(headers, "content-length").is_some_and(|l| l.parse::<u64>().ok() != Some(claimed_size)) {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "size_mismatch", "Content-Length differs from the size= the signature names: nothing was read.").field("bundle"));
    }
    let received = receive_canonical(&state.bundles, body.into_data_stream(), claimed_size).await.map_err(|e| {
        // More bytes than signed is not "too large for the server": the body is not what was signed.
        if e.code == "bundle_too_large" { bundle_mismatch() } else { e }
    })?;
    if received.uploaded_sha256 != claimed_sha || received.uploaded_size != claimed_size {
        return Err(bundle_mismatch());
    }
    let record = Version {
        mini_program: mp.id,
        version: version_text.clone(),
        state: VersionState::Uploaded,
        size: received.size,
        sha256: received.sha256.clone(),
        uploaded_sha256: received.uploaded_sha256.clone(),
        uploaded_size: received.uploaded_size,
        uploader: format!("Upload Key {} ({app_name})", key.id),
        key: Some(key.id.clone()),
        account: None,
        signature: sig.sig.clone(),
        signed_ts: sig.ts,
        signed_nonce: sig.nonce.clone(),
        note,
        created: state.clock.now(),
    };
    let actor = Actor { id: None, name: format!("Upload Key {}", key.id), client: client.map(|c| c.to_string()) };
    let view = record.view();
    let uploader = Uploader::Key { id: key.id.clone(), nonce: sig.nonce.clone(), client };
    store_version(state, received.temp, record, (workspace.id, workspace.name.clone()), mp.name.clone(), actor, uploader).await?;
    state.last_used.touch(&key.id, state.clock.now());
    Ok(Uploaded {
        version: view,
        console_url: format!("{}/w/{}/mini-programs/{}", state.config.public_url.trim_end_matches('/'), workspace.name, mp.id),
    })
}

fn bundle_mismatch() -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "bundle_mismatch", "The bytes received are not the ones signed (their sha256 or size differs from the signature's): nothing was stored.").field("bundle")
}

/// Who stores a version, re-checked in the transaction that stores it.
enum Uploader {
    /// An Upload Key: still usable and in scope; its nonce is consumed here.
    Key { id: String, nonce: String, client: Option<IpAddr> },
    /// A member in the console: still an active member, allowed to upload to the mini program.
    Member(crate::server::guard::Standing),
}

/// Stores a checked bundle and its version record: the file first (durable), then the record.
/// The record's transaction re-checks what the upload was allowed on (the key or the member, the
/// workspace, the mini program, the version), so of two at once one wins; a loser removes the
/// file it put in place unless a record names it.
async fn store_version(state: &Studio, temp: TempFile, record: Version, workspace: (uuid::Uuid, String), mp_name: String, actor: Actor, uploader: Uploader) -> Result<(), ApiError> {
    let temp_path = temp.path()?;
    let bundles = state.bundles.clone();
    let sha = record.sha256.clone();
    let held = tokio::task::spawn_blocking(move || {
        let held = bundles.hold(&sha);
        bundles.commit(&temp_path, &sha).map(|created| (held, created))
    })
    .await
    .map_err(|_| ApiError::internal())?
    .map_err(|e| {
        tracing::error!(error = %e, "could not store a bundle");
        ApiError::internal()
    })?;
    std::mem::forget(temp);
    let (held, created) = held;
    let (wid, wname) = workspace;
    let how = match &uploader {
        Uploader::Key { id, .. } => format!("signed by Upload Key {id}"),
        Uploader::Member(_) => format!("uploaded from the console by {}", actor.name),
    };
    // Refusals come back as `Ok(Err(_))`: what the transaction wrote before (a consumed nonce)
    // commits, the version does not.
    let written: Result<Result<(), ApiError>, crate::model::AppError> = state
        .store
        .write(move |tx| {
            use crate::model::AppError;
            let w = ws::get_workspace(tx, wid)?.ok_or_else(|| AppError::NotFound("No such workspace.".into()))?;
            if w.status == WorkspaceStatus::Suspended {
                return Ok(Err(suspended(&w.name)));
            }
            match &uploader {
                Uploader::Key { id, nonce, client } => {
                    let Some(key) = app_store::key_record(tx, id)? else {
                        return Ok(Err(unknown_key()));
                    };
                    if let Err(e) = key_usable(&key.key, crate::server::store::now()).and_then(|_| in_scope(&key, record.mini_program, *client)) {
                        return Ok(Err(e));
                    }
                    if !store::use_nonce(tx, id, nonce, crate::server::store::now().timestamp(), 2 * CLOCK_SKEW_SECS)? {
                        return Ok(Err(replayed()));
                    }
                }
                Uploader::Member(standing) => {
                    // Blocked, demoted or unassigned since the request was checked: refused.
                    let now = standing.recheck(tx)?;
                    crate::server::guard::MiniProgramAccess::check(tx, &now, record.mini_program, crate::server::guard::MiniNeed::Upload)?;
                }
            }
            let mp = store::get(tx, wid, record.mini_program)?.ok_or_else(|| AppError::NotFound("No such mini program.".into()))?;
            if mp.removed {
                return Ok(Err(removed()));
            }
            let earlier = store::versions(tx, record.mini_program)?;
            if let Err(e) = check_version(&record.version, &earlier) {
                return Ok(Err(e));
            }
            match store::put_version(tx, &record) {
                Ok(()) => {}
                Err(AppError::Conflict { message, .. }) => return Ok(Err(ApiError::new(StatusCode::CONFLICT, "version_retired", message).field("version"))),
                Err(e) => return Err(e),
            }
            audit::record(tx, &actor, Some((wid, &wname)), AuditAction::MiniProgramVersionUploaded, &mp_name, &format!("{} ({} bytes, sha256 {}) {how}", record.version, record.size, record.sha256))?;
            Ok(Ok(()))
        })
        .await;
    let stored = matches!(written, Ok(Ok(())));
    if !stored && created {
        // No record names the file: this upload put it there and holds its address.
        let path = state.bundles.path(&held.sha256);
        let _ = tokio::task::spawn_blocking(move || std::fs::remove_file(path)).await;
    }
    drop(held);
    written?
}

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

async fn console_upload_checked(state: &Studio, session: tower_sessions::Session, name: &str, id: &str, client: Option<IpAddr>, mut form: axum::extract::Multipart) -> Result<String, ApiError> {
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
    let (access, platform, earlier) = state
        .store
        .read(move |tx| Ok((MiniProgramAccess::check(tx, &scope, mp_id, MiniNeed::Upload), app_store::platform_key(tx, wid)?, store::versions(tx, mp_id)?)))
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
    let _slot = state.limits.uploads.take(&format!("account:{me}"), client)?;
    let bad_form = |e: axum::extract::multipart::MultipartError| ApiError::new(StatusCode::BAD_REQUEST, "form_malformed", format!("The upload form could not be read: {e}"));
    let (mut version, mut note, mut received) = (String::new(), String::new(), None);
    while let Some(field) = form.next_field().await.map_err(bad_form)? {
        match field.name() {
            Some("version") => version = field.text().await.map_err(bad_form)?.trim().to_string(),
            Some("note") => note = field.text().await.map_err(bad_form)?,
            Some("bundle") => {
                let limit = state.config.max_bundle_bytes;
                let mut empty = true;
                let mut field = futures::StreamExt::peekable(field);
                if std::pin::Pin::new(&mut field).peek().await.is_some() {
                    empty = false;
                }
                if !empty {
                    received = Some(receive_canonical(&state.bundles, field, limit).await?);
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
    let record = Version {
        mini_program: mp.id,
        version: version.clone(),
        state: VersionState::Uploaded,
        size: received.size,
        sha256: received.sha256.clone(),
        uploaded_sha256: received.uploaded_sha256.clone(),
        uploaded_size: received.uploaded_size,
        uploader: format!("uploaded from the console by {person}"),
        key: None,
        account: Some(me),
        signature,
        signed_ts: ts,
        signed_nonce: nonce,
        note,
        created: state.clock.now(),
    };
    let actor = crate::server::domain::workspaces::actor(m.who(), client);
    store_version(state, received.temp, record, (wid, m.workspace().name.clone()), mp.name.clone(), actor, Uploader::Member(standing)).await?;
    Ok(version)
}

/// `GET /api/studio/v1/mini-programs/{id}/versions`: a signed listing. The nonce is consumed by
/// one small write after the signature verified.
async fn list_versions(
    State(state): State<Studio>,
    UrlPath(id): UrlPath<String>,
    client: Option<axum::Extension<crate::server::auth::client::ClientAddr>>,
    headers: HeaderMap,
) -> Response {
    let client = client.map(|c| c.0 .0);
    let result: Result<Versions, ApiError> = async {
        let sig = signature(&headers)?;
        let mp_id = Uuid::parse_str(&id).map_err(|_| not_found_in_key_workspace())?;
        let verified = authenticate(&state, sig, |sig| keys::list_message(&mp_id.to_string(), sig.ts, &sig.nonce)).await?;
        let target = target_of(&state, &verified.key.key, mp_id).await?;
        in_scope(&verified.key, target.mini_program.id, client)?;
        let (k, n) = (verified.sig.key.clone(), verified.sig.nonce.clone());
        // The nonce is consumed and the list read in one write.
        let listed = state
            .store
            .write(move |tx| {
                if !store::use_nonce(tx, &k, &n, crate::server::store::now().timestamp(), 2 * CLOCK_SKEW_SECS)? {
                    return Ok(None);
                }
                Ok(Some(store::versions(tx, mp_id)?))
            })
            .await?;
        let versions = listed.ok_or_else(replayed)?;
        state.last_used.touch(&verified.key.key.id, state.clock.now());
        Ok(Versions { versions: versions.iter().map(Version::view).collect() })
    }
    .await;
    match result {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

/// The characters a note keeps as they are in its header: RFC 3986's unreserved ones.
const NOTE_KEPT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// A note as its `MPDP-Note` header carries it: every byte of its UTF-8 but the unreserved
/// characters percent-encoded, so any note fits an HTTP header.
pub fn encode_note(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, NOTE_KEPT).to_string()
}

/// Decodes `%XX` escapes; `None` for a malformed escape (a `%` not followed by two hex digits)
/// or bytes that are not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let escapes_whole = text.split('%').skip(1).all(|rest| rest.as_bytes().get(..2).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)));
    escapes_whole.then(|| percent_encoding::percent_decode_str(text).decode_utf8().ok().map(|s| s.into_owned())).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_use_case_refusal_keeps_its_kind_status_and_field() {
        use crate::model::AppError;
        let cases = [
            (AppError::conflict("Version", "was retired"), 409, "conflict", Some("Version")),
            (AppError::Forbidden("blocked".into()), 403, "forbidden", None),
            (AppError::NotFound("gone".into()), 404, "not_found", None),
            (AppError::invalid("note", "too long"), 422, "invalid", Some("note")),
            (AppError::Internal, 500, "internal", None),
        ];
        for (e, status, code, field) in cases {
            let api = ApiError::from(e.clone());
            assert_eq!((api.status.as_u16(), api.code, api.field.as_deref()), (status, code, field), "{e:?}");
            assert_eq!(api.message, e.to_string());
        }
    }

    #[test]
    fn start_up_removes_unfinished_uploads_and_keeps_stored_bundles() {
        let dir = tempfile::tempdir().unwrap();
        let bundles = Bundles::new(dir.path().to_path_buf());
        assert_eq!(bundles.remove_unfinished().unwrap(), 0, "no tmp/ yet");
        std::fs::create_dir_all(bundles.temp_dir()).unwrap();
        std::fs::write(bundles.temp_dir().join("upload-1"), b"half").unwrap();
        std::fs::write(bundles.temp_dir().join("upload-2"), b"").unwrap();
        let sha = "ab".repeat(32);
        let stored = bundles.temp_dir().join("complete");
        std::fs::write(&stored, b"whole").unwrap();
        assert!(bundles.commit(&stored, &sha).unwrap());
        let kept = bundles.path(&sha);
        assert_eq!(bundles.remove_unfinished().unwrap(), 2);
        assert_eq!(std::fs::read_dir(bundles.temp_dir()).unwrap().count(), 0);
        assert_eq!(std::fs::read(kept).unwrap(), b"whole");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn versions_must_be_semantic_and_rise() {
        let v = |s: &str| Version::for_test(Uuid::nil(), s, VersionState::Uploaded);
        assert!(check_version("1.2.3", &[]).is_ok());
        for bad in ["1.2", "01.0.0", "1.0.0.0", "v1.0.0", ""] {
            assert_eq!(check_version(bad, &[]).unwrap_err().code, "version_invalid", "{bad}");
        }
        let earlier = [v("1.2.3"), v("1.10.0")];
        assert_eq!(check_version("1.9.9", &earlier).unwrap_err().code, "version_not_higher");
        assert_eq!(check_version("1.10.0", &earlier).unwrap_err().code, "version_not_higher");
        assert!(check_version("1.10.1-beta.1", &earlier).is_ok());
        // Build metadata has no precedence (SemVer §10): 4.2.0+build.2 is not higher than +build.1.
        assert_eq!(check_version("1.10.0+build.2", &[v("1.10.0+build.1")]).unwrap_err().code, "version_not_higher");
        assert!(check_version("1.10.1+build.1", &[v("1.10.0+build.2")]).is_ok());
        assert_eq!(percent_decode("caf%C3%A9%20ok").as_deref(), Some("café ok"));
        assert_eq!(percent_decode("%zz"), None);
    }
}
