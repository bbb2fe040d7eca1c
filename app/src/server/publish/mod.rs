//! Publishing releases to S3-compatible storage or a directory (`mpdp serve --publish-to`), for a
//! CDN to serve containers from.
//!
//! The console stays the single writer: after every commit that changes what containers are
//! served (the same change that rebuilds the container API's snapshot), the publisher brings
//! the target up to date with the whole current state:
//!
//! 1. bundles and icons, under their content addresses (`bundles/<sha256>`, `icons/<sha256>`),
//!    written once (`PutMode::Create`) with `Cache-Control: public, max-age=31536000, immutable`;
//! 2. then, per App and live Accessing Key, the signed [release document](document) at the path
//!    the key gives, replaced whole (an S3 PUT, or a rename in a directory), with
//!    `Cache-Control: public, max-age=60`; an unchanged document is written again only when it
//!    is due to be signed anew (every 12 hours; it expires after a day);
//! 3. then deletions: documents of keys that are revoked, past their grace, or of suspended
//!    workspaces' Apps; and, once [`RETIRE_AFTER`] has passed since no published document named
//!    them (so no cached document does either), bundles and icons.
//!
//! What is owed is kept in the database (`store::publish`), raised in the commit that causes
//! it, so nothing is lost to a crash or restart; a failed pass is retried with backoff and never
//! holds up a console request. `mpdp publish check` compares the target with what should be
//! there and `mpdp publish sync` repairs it.

/// The release document lives below the snapshot that builds it; here under its short name.
pub use crate::server::release_document as document;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{Attribute, Attributes, ObjectStore, PutMode, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};

use crate::model::AppError;
use crate::server::clock::Clock;
use crate::server::container::build;
use crate::server::keys;
/// How often an unchanged release document is signed anew: twice in its day of validity, so a
/// container that polls every few minutes downloads it in full only when it changes or twice a
/// day.
const DOCUMENT_RESIGN: std::time::Duration = std::time::Duration::from_secs(12 * 3600);
use crate::server::store::bundles::Bundles;
use crate::server::store::publish::{self as queue, ObjectKind, PublishedObject};
use crate::server::store::Store;
use document::ReleaseBody;

/// How long a CDN may keep a release document.
pub const DOCUMENT_MAX_AGE: u64 = 60;
const DOCUMENT_CACHE: &str = "public, max-age=60";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// How long after no published document names a bundle or icon it is deleted: past the
/// documents' `max-age`, so no cached document names it either.
pub const RETIRE_AFTER: Duration = Duration::from_secs(10 * DOCUMENT_MAX_AGE);
/// Bundles and icons the target may refuse in a pass before it is taken to be down.
const BLOB_REFUSALS_PER_PASS: usize = 3;
/// The longest wait between failed attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How often the worker looks even when nothing woke it (a grace period ending, a document due).
const LOOK_EVERY: Duration = Duration::from_secs(5);

/// Why a pass did not finish.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("the release target refused or could not be reached: {0}")]
    Target(#[from] object_store::Error),
    #[error("bundle {0} is not in the data directory's bundles/ (run `mpdp check`)")]
    BundleMissing(String),
    #[error("could not read the data file: {0}")]
    Data(#[from] AppError),
    #[error("could not sign a release document: {0}")]
    Sign(#[from] crate::server::manifest::ManifestError),
}

/// Where releases are published: a bucket (and prefix) of S3-compatible storage, or a directory.
#[derive(Clone)]
pub struct Target {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    url: String,
    /// Whether the store keeps Content-Type and Cache-Control with an object (a directory does
    /// not: the web server in front of it sets them).
    attributes: bool,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url)
    }
}

/// A target's URL written one way — no trailing or doubled slash — so that `s3://b/p/` and
/// `s3://b/p` are one target, not a new one.
fn canonical(url: &url::Url) -> String {
    let path = url.path().split('/').filter(|p| !p.is_empty()).collect::<Vec<_>>().join("/");
    let host = url.host_str().unwrap_or_default();
    if path.is_empty() { format!("{}://{host}", url.scheme()) } else { format!("{}://{host}/{path}", url.scheme()) }
}

/// Whether `a` and `b` name one target, however each was written.
fn same_target(a: &str, b: &str) -> bool {
    match (url::Url::parse(a), url::Url::parse(b)) {
        (Ok(a), Ok(b)) => canonical(&a) == canonical(&b),
        _ => a == b,
    }
}

impl Target {
    /// `s3://BUCKET[/PREFIX]` (credentials and region from the usual `AWS_*` variables; `endpoint`
    /// for storage other than AWS, such as `http://127.0.0.1:8333`) or `file:///ABSOLUTE/DIR`.
    pub fn parse(url: &str, endpoint: Option<&str>) -> Result<Target, String> {
        const RULE: &str = "must be s3://BUCKET/PREFIX or file:///ABSOLUTE/DIRECTORY";
        let parsed = url::Url::parse(url).map_err(|e| format!("--publish-to {url:?}: {e}; it {RULE}"))?;
        match parsed.scheme() {
            "s3" => {
                let bucket = parsed.host_str().filter(|b| !b.is_empty()).ok_or_else(|| format!("--publish-to {url:?} names no bucket; it {RULE}"))?;
                let prefix = parsed.path().trim_matches('/').to_string();
                let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket).with_retry(object_store::RetryConfig {
                    max_retries: 2,
                    retry_timeout: Duration::from_secs(20),
                    backoff: object_store::BackoffConfig::default(),
                });
                builder = builder.with_client_options(
                    object_store::ClientOptions::new().with_connect_timeout(Duration::from_secs(5)).with_timeout(Duration::from_secs(60)),
                );
                if let Some(e) = endpoint {
                    let e_url = url::Url::parse(e).map_err(|err| format!("--s3-endpoint {e:?}: {err}; it must be a URL like https://s3.example.com"))?;
                    if !matches!(e_url.scheme(), "http" | "https") {
                        return Err(format!("--s3-endpoint {e:?} must start with http:// or https://"));
                    }
                    builder = builder.with_endpoint(e.trim_end_matches('/')).with_allow_http(e_url.scheme() == "http");
                }
                let store = builder.build().map_err(|e| format!("--publish-to {url:?}: {e}"))?;
                Ok(Target { store: Arc::new(store), prefix, url: canonical(&parsed), attributes: true })
            }
            "file" => {
                if endpoint.is_some() {
                    return Err("--s3-endpoint is only for an s3:// --publish-to".into());
                }
                let dir = parsed.to_file_path().map_err(|_| format!("--publish-to {url:?}: a file URL must name an absolute directory, like file:///srv/mpdp"))?;
                std::fs::create_dir_all(&dir).map_err(|e| format!("--publish-to {url:?}: could not create {}: {e}", dir.display()))?;
                let store = LocalFileSystem::new_with_prefix(&dir).map_err(|e| format!("--publish-to {url:?}: {e}"))?;
                Ok(Target { store: Arc::new(store), prefix: String::new(), url: canonical(&parsed), attributes: false })
            }
            other => Err(format!("--publish-to {url:?}: the scheme {other:?} is not supported; it {RULE}")),
        }
    }

    /// The URL as configured.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The object path of `key` (a path under the prefix).
    fn path(&self, key: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(key)
        } else {
            ObjectPath::from(format!("{}/{key}", self.prefix))
        }
    }

    /// `key` for an object path under the prefix.
    fn key_of<'a>(&self, path: &'a str) -> &'a str {
        if self.prefix.is_empty() {
            path
        } else {
            path.strip_prefix(self.prefix.as_str()).and_then(|p| p.strip_prefix('/')).unwrap_or(path)
        }
    }

    fn options(&self, mode: PutMode, content_type: &str, cache: &'static str) -> PutOptions {
        let mut attributes = Attributes::new();
        if self.attributes {
            attributes.insert(Attribute::ContentType, content_type.to_string().into());
            attributes.insert(Attribute::CacheControl, cache.into());
        }
        PutOptions { mode, attributes, ..PutOptions::default() }
    }
}

/// A bundle or icon that should be at the target.
struct Blob {
    kind: ObjectKind,
    sha256: String,
    content_type: String,
    /// Icons are in memory; bundles are read from their file when written.
    bytes: Option<Vec<u8>>,
}

/// A release document that should be at the target.
struct Document {
    body: Arc<ReleaseBody>,
    digest: String,
    seed: [u8; 32],
    /// The end of its key's grace period, when it was rotated.
    until: Option<DateTime<Utc>>,
    /// The keys of the bundles and icons it names: it is written only once they are there.
    blobs: Arc<Vec<String>>,
}

/// Everything that should be at the target at a moment.
struct Desired {
    blobs: BTreeMap<String, Blob>,
    documents: BTreeMap<String, Document>,
}

impl Desired {
    /// What should be there at `now`, with the queue's state and the records, all read in one
    /// transaction.
    fn of(store: &Store, now: DateTime<Utc>) -> Result<(queue::PublishState, Desired, Vec<(String, PublishedObject)>), AppError> {
        store.read_blocking(|tx| {
            let state = queue::state(tx)?;
            let snapshot = build(tx)?;
            let mut blobs = BTreeMap::new();
            let mut documents = BTreeMap::new();
            let mut bodies: HashMap<*const crate::server::container::AppContent, (Arc<ReleaseBody>, String, Arc<Vec<String>>)> = HashMap::new();
            for grant in snapshot.grants(now) {
                let content = grant.content;
                let (body, digest, named) = match bodies.get(&Arc::as_ptr(content)) {
                    Some(known) => known.clone(),
                    None => {
                        let body = Arc::new(content.release_body());
                        let digest = body.digest().map_err(|e| {
                            tracing::error!(error = %e, "could not digest a release document");
                            AppError::Internal
                        })?;
                        let mut named = Vec::new();
                        for sha in content.bundle_hashes() {
                            named.push(format!("bundles/{sha}"));
                            blobs.insert(format!("bundles/{sha}"), Blob { kind: ObjectKind::Bundle, sha256: sha.to_string(), content_type: "application/gzip".into(), bytes: None });
                        }
                        for (sha, kind, bytes) in content.icon_files() {
                            named.push(format!("icons/{sha}"));
                            blobs.insert(format!("icons/{sha}"), Blob { kind: ObjectKind::Icon, sha256: sha, content_type: kind.to_string(), bytes: Some(bytes.to_vec()) });
                        }
                        let named = Arc::new(named);
                        bodies.insert(Arc::as_ptr(content), (body.clone(), digest.clone(), named.clone()));
                        (body, digest, named)
                    }
                };
                documents.insert(document::path_for_key_hash(grant.key_hash), Document { body, digest, seed: *content.signing_seed(), until: grant.expires, blobs: named });
            }
            Ok((state, Desired { blobs, documents }, queue::objects(tx)?))
        })
    }
}

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pass {
    pub written: usize,
    pub deleted: usize,
    /// When the next pass is due even if nothing changes (a document to sign anew, a grace
    /// period ending, a retired bundle to delete).
    pub next_due: Option<DateTime<Utc>>,
}

/// One difference between the target and what should be there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The object's path under the target's prefix.
    pub path: String,
    pub problem: Problem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    /// Should be there and is not.
    Missing,
    /// Is there, but not as the publisher wrote it.
    Changed,
    /// Is there and should not be (under the directories the publisher writes).
    Unexpected,
    /// The data file has changes the target does not have yet.
    Behind,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.problem {
            Problem::Missing => "missing: should be there and is not",
            Problem::Changed => "changed: not as MPDP wrote it (someone else wrote it, or it was damaged)",
            Problem::Unexpected => "unexpected: should not be there (a revoked key's document, a removed bundle, or not MPDP's)",
            Problem::Behind => "behind: the data file has changes not yet published",
        };
        write!(f, "{}: {what}", self.path)
    }
}

/// The publisher: one target, passes one at a time.
pub struct Publisher {
    store: Store,
    target: Target,
    bundles: Bundles,
    clock: Clock,
    running: tokio::sync::Mutex<()>,
}

impl Publisher {
    pub fn new(store: Store, target: Target, bundles: Bundles, clock: Clock) -> Publisher {
        Publisher { store, target, bundles, clock, running: tokio::sync::Mutex::new(()) }
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Brings the target up to date with the data file; records the outcome in the queue.
    pub async fn publish(&self) -> Result<Pass, PublishError> {
        let _one = self.running.lock().await;
        let outcome = self.pass().await;
        let store = self.store.clone();
        let recorded = match &outcome {
            Ok((wanted, _)) => {
                let wanted = *wanted;
                store.write(move |tx| queue::published(tx, wanted)).await
            }
            Err(e) => {
                let message: String = e.to_string().chars().take(600).collect();
                store.write(move |tx| queue::failed(tx, &message)).await
            }
        };
        if let Err(e) = recorded {
            tracing::warn!(error = %e, "could not record how publishing went");
        }
        outcome.map(|(_, pass)| pass)
    }

    async fn pass(&self) -> Result<(u64, Pass), PublishError> {
        let url = self.target.url.clone();
        self.store.write(move |tx| queue::use_target(tx, &url, same_target)).await?;
        let now = self.clock.now();
        let store = self.store.clone();
        let (state, desired, records) = tokio::task::spawn_blocking(move || Desired::of(&store, now))
            .await
            .map_err(|_| AppError::Internal)??;
        let wanted = state.wanted;
        let records: HashMap<String, PublishedObject> = records.into_iter().collect();
        let mut pass = Pass::default();
        let mut due = |t: DateTime<Utc>| pass_due(&mut pass.next_due, t);

        // What went wrong first; the pass goes on with what does not depend on it, and reports it.
        let mut failed: Option<PublishError> = None;

        // 1. Documents no key reads any more (a revoked or ended key, a suspended workspace, a
        // deleted App): first, as nothing waits on them and they are what must stop soonest.
        let mut changes: Vec<(String, Option<PublishedObject>)> = Vec::new();
        let unread = records.iter().filter(|(k, r)| r.kind == ObjectKind::Document && !desired.documents.contains_key(*k)).map(|(k, _)| k);
        if let Err(e) = self.delete(unread, &mut pass.deleted, &mut changes).await {
            failed = Some(e);
        }
        self.record(std::mem::take(&mut changes)).await?;

        // 2. Bundles and icons, before any document names them. One that can't be written (its
        // file gone, the target refusing it) holds up only the documents that name it; after
        // a few refusals the target is taken to be down and no more are tried this pass.
        let mut unwritten: std::collections::HashSet<&str> = std::collections::HashSet::new();
        let mut refusals = 0;
        for (key, blob) in &desired.blobs {
            match records.get(key) {
                Some(r) if r.retired.is_none() => continue,
                Some(r) => {
                    // Named again before it was deleted.
                    changes.push((key.clone(), Some(PublishedObject { retired: None, ..r.clone() })));
                    continue;
                }
                None => {}
            }
            if refusals >= BLOB_REFUSALS_PER_PASS {
                unwritten.insert(key);
                continue;
            }
            match self.put_blob(key, blob).await {
                Ok(object) => {
                    pass.written += 1;
                    changes.push((key.clone(), Some(object)));
                }
                Err(e) => {
                    tracing::warn!(object = %key, error = %e, "could not publish a bundle or icon; the documents naming it wait");
                    // A file missing here says nothing of the target.
                    if matches!(e, PublishError::Target(_)) {
                        refusals += 1;
                    }
                    unwritten.insert(key);
                    failed.get_or_insert(e);
                }
            }
        }
        self.record(std::mem::take(&mut changes)).await?;

        // 3. Documents, replaced whole, each once everything it names is there.
        for (key, doc) in &desired.documents {
            if doc.blobs.iter().any(|b| unwritten.contains(b.as_str())) {
                continue;
            }
            let known = records.get(key);
            if let Some(r) = known {
                let fresh = r.issued.is_some_and(|t| now < t + chrono::Duration::from_std(DOCUMENT_RESIGN).unwrap_or_default());
                if r.digest.as_deref() == Some(doc.digest.as_str()) && fresh {
                    if let Some(t) = r.issued {
                        due(t + chrono::Duration::from_std(DOCUMENT_RESIGN).unwrap_or_default());
                    }
                    if let Some(end) = doc.until {
                        due(end);
                    }
                    continue;
                }
            }
            let sequence = u64::try_from(now.timestamp_millis()).unwrap_or(0).max(known.and_then(|r| r.sequence).map_or(0, |s| s + 1));
            let bytes = doc.body.sign(sequence, now, &doc.seed)?;
            let put = self.target.store.put_opts(&self.target.path(key), PutPayload::from(bytes.clone()), self.target.options(PutMode::Overwrite, "application/json", DOCUMENT_CACHE)).await;
            match put {
                Ok(r) => {
                    pass.written += 1;
                    due(now + chrono::Duration::from_std(DOCUMENT_RESIGN).unwrap_or_default());
                    if let Some(end) = doc.until {
                        due(end);
                    }
                    changes.push((
                        key.clone(),
                        Some(PublishedObject {
                            kind: ObjectKind::Document,
                            sha256: keys::sha256_hex(&bytes),
                            size: bytes.len() as u64,
                            e_tag: r.e_tag,
                            digest: Some(doc.digest.clone()),
                            sequence: Some(sequence),
                            issued: Some(now),
                            retired: None,
                        }),
                    ));
                }
                Err(e) => {
                    failed.get_or_insert(e.into());
                    break;
                }
            }
        }
        self.record(std::mem::take(&mut changes)).await?;
        if let Some(e) = failed {
            // A document not rewritten may still name what no document wants: nothing is
            // retired or deleted until a pass goes through.
            return Err(e);
        }

        // 4. Bundles and icons no document names: retired, then deleted once no cached document
        // can name them.
        let retire = chrono::Duration::from_std(RETIRE_AFTER).unwrap_or_default();
        let mut gone = Vec::new();
        for (key, r) in records.iter().filter(|(k, r)| r.kind != ObjectKind::Document && !desired.blobs.contains_key(*k)) {
            match r.retired {
                None => {
                    due(now + retire);
                    changes.push((key.clone(), Some(PublishedObject { retired: Some(now), ..r.clone() })));
                }
                Some(t) if now < t + retire => due(t + retire),
                Some(_) => gone.push(key),
            }
        }
        let result = self.delete(gone.into_iter(), &mut pass.deleted, &mut changes).await;
        self.record(changes).await?;
        result?;
        Ok((wanted, pass))
    }

    /// Deletes `keys` from the target (one already gone counts as deleted), counting them in
    /// `deleted` and noting each in `changes`; stops at the first the target refuses.
    async fn delete<'k>(&self, keys: impl Iterator<Item = &'k String>, deleted: &mut usize, changes: &mut Vec<(String, Option<PublishedObject>)>) -> Result<(), PublishError> {
        for key in keys {
            match self.target.store.delete(&self.target.path(key)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {
                    *deleted += 1;
                    changes.push((key.clone(), None));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    async fn put_blob(&self, key: &str, blob: &Blob) -> Result<PublishedObject, PublishError> {
        let bytes = match &blob.bytes {
            Some(b) => b.clone(),
            None => tokio::fs::read(self.bundles.path(&blob.sha256)).await.map_err(|_| PublishError::BundleMissing(blob.sha256.clone()))?,
        };
        let size = bytes.len() as u64;
        let e_tag = match self.target.store.put_opts(&self.target.path(key), PutPayload::from(bytes), self.target.options(PutMode::Create, &blob.content_type, IMMUTABLE)).await {
            Ok(r) => r.e_tag,
            // Written before (by an earlier pass that did not record it): content-addressed, so
            // it is the same bytes.
            Err(object_store::Error::AlreadyExists { .. }) => self.target.store.head(&self.target.path(key)).await?.e_tag,
            Err(e) => return Err(e.into()),
        };
        Ok(PublishedObject { kind: blob.kind, sha256: blob.sha256.clone(), size, e_tag, digest: None, sequence: None, issued: None, retired: None })
    }

    async fn record(&self, changes: Vec<(String, Option<PublishedObject>)>) -> Result<(), AppError> {
        if changes.is_empty() {
            return Ok(());
        }
        self.store
            .write(move |tx| {
                for (key, object) in &changes {
                    match object {
                        Some(o) => queue::record(tx, key, o)?,
                        None => queue::forget(tx, key)?,
                    }
                }
                Ok(())
            })
            .await
    }

    /// Compares the target with what should be there: every object MPDP wrote is present with
    /// the ETag it got, nothing else is under `bundles/`, `icons/` and `releases/`, and the data
    /// file has no change the target lacks.
    pub async fn check(&self) -> Result<Vec<Finding>, PublishError> {
        let now = self.clock.now();
        let store = self.store.clone();
        let (state, desired, records) = tokio::task::spawn_blocking(move || Desired::of(&store, now)).await.map_err(|_| AppError::Internal)??;
        let records: HashMap<String, PublishedObject> = if state.target.as_deref() == Some(self.target.url.as_str()) { records.into_iter().collect() } else { HashMap::new() };
        let mut present: HashMap<String, Option<String>> = HashMap::new();
        for dir in ["bundles", "icons", document::DIRECTORY] {
            let listed: Vec<object_store::ObjectMeta> = self.target.store.list(Some(&self.target.path(dir))).try_collect().await?;
            for meta in listed {
                present.insert(self.target.key_of(meta.location.as_ref()).to_string(), meta.e_tag);
            }
        }
        let mut findings = Vec::new();
        let mut finding = |path: &str, problem| findings.push(Finding { path: path.to_string(), problem });
        for key in desired.blobs.keys().chain(desired.documents.keys()) {
            match (present.get(key), records.get(key)) {
                (None, _) => finding(key, Problem::Missing),
                (Some(tag), Some(r)) if r.e_tag.is_some() && *tag != r.e_tag => finding(key, Problem::Changed),
                _ => {}
            }
        }
        for (key, tag) in &present {
            if desired.blobs.contains_key(key) || desired.documents.contains_key(key) {
                continue;
            }
            match records.get(key) {
                // Retired, and deleted on time by the publisher.
                Some(r) if r.retired.is_some() => {}
                Some(r) if r.e_tag.is_some() && *tag != r.e_tag => finding(key, Problem::Changed),
                _ => finding(key, Problem::Unexpected),
            }
        }
        for (key, doc) in &desired.documents {
            if let Some(r) = records.get(key) {
                if r.digest.as_deref() != Some(doc.digest.as_str()) && present.contains_key(key) {
                    finding(key, Problem::Behind);
                }
            }
        }
        findings.sort_by(|a, b| a.path.cmp(&b.path));
        findings.dedup();
        Ok(findings)
    }

    /// Repairs what [`Publisher::check`] finds: writes what is missing or changed again,
    /// deletes what should not be there, and publishes what is behind. Running it again finds
    /// and does nothing.
    pub async fn sync(&self) -> Result<(Vec<Finding>, Pass), PublishError> {
        let findings = self.check().await?;
        let repairs: Vec<(String, Option<PublishedObject>)> = findings
            .iter()
            .filter(|f| f.problem != Problem::Behind)
            .map(|f| match f.problem {
                // Forgotten: written again.
                Problem::Missing | Problem::Changed => (f.path.clone(), None),
                // Recorded as long retired: deleted by the pass.
                _ => (
                    f.path.clone(),
                    Some(PublishedObject {
                        kind: if f.path.starts_with(document::DIRECTORY) { ObjectKind::Document } else { ObjectKind::Bundle },
                        sha256: String::new(),
                        size: 0,
                        e_tag: None,
                        digest: None,
                        sequence: None,
                        issued: None,
                        retired: Some(DateTime::<Utc>::MIN_UTC),
                    }),
                ),
            })
            .collect();
        {
            let _one = self.running.lock().await;
            let changed = repairs.iter().filter(|(_, o)| o.is_none()).map(|(k, _)| k.clone()).collect::<Vec<_>>();
            self.record(repairs).await?;
            // A changed blob is written over (its content address says what it must hold).
            for key in changed.iter().filter(|k| !k.starts_with(document::DIRECTORY)) {
                let _ = self.target.store.delete(&self.target.path(key)).await;
            }
        }
        let pass = self.publish().await?;
        Ok((findings, pass))
    }

    /// Publishes whenever a commit owes it or a pass is due (looked at every [`LOOK_EVERY`], and
    /// whenever the clock moves), until the task is aborted; a failed pass is retried after 1 s,
    /// 2 s, 4 s … (at most [`MAX_BACKOFF`]), whatever wakes it.
    pub async fn run(self: Arc<Self>, wake: Arc<tokio::sync::Notify>) {
        let mut moved = self.clock.moved();
        let mut failures: u32 = 0;
        let mut next_due: Option<DateTime<Utc>> = None;
        let mut first = true;
        loop {
            let owed = match self.store.read(|tx| queue::state(tx)).await {
                Ok(s) => s.pending() > 0,
                Err(_) => true,
            };
            let now = self.clock.now();
            let wait = if first || owed || next_due.is_some_and(|d| now >= d) {
                first = false;
                match self.publish().await {
                    Ok(pass) => {
                        if failures > 0 {
                            tracing::info!(target = %self.target.url, "publishing works again");
                        }
                        if pass.written + pass.deleted > 0 {
                            tracing::info!(written = pass.written, deleted = pass.deleted, "published releases");
                        }
                        failures = 0;
                        next_due = pass.next_due;
                        None
                    }
                    Err(e) => {
                        failures = failures.saturating_add(1);
                        tracing::warn!(target = %self.target.url, error = %e, attempt = failures, "could not publish; will try again");
                        Some(MAX_BACKOFF.min(Duration::from_secs(1) * 2u32.saturating_pow(failures.saturating_sub(1).min(10))))
                    }
                }
            } else {
                None
            };
            match wait {
                Some(backoff) => tokio::time::sleep(backoff).await,
                None => {
                    let until_due = next_due.and_then(|d| (d - self.clock.now()).to_std().ok()).unwrap_or(LOOK_EVERY);
                    tokio::select! {
                        _ = wake.notified() => {}
                        Ok(()) = moved.changed() => {}
                        _ = tokio::time::sleep(until_due.min(LOOK_EVERY)) => {}
                    }
                }
            }
        }
    }
}

fn pass_due(next: &mut Option<DateTime<Utc>>, t: DateTime<Utc>) {
    *next = Some(next.map_or(t, |n| n.min(t)));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A target is kept written one way, so a trailing slash does not make it a new target (which
    /// would forget what the old one holds and write everything again).
    #[test]
    fn a_target_is_written_one_way() {
        let dir = tempfile::tempdir().unwrap();
        let plain = format!("file://{}", dir.path().display());
        assert_eq!(Target::parse(&format!("{plain}/"), None).unwrap().url(), plain);
        assert_eq!(Target::parse(&plain, None).unwrap().url(), plain);
        for given in ["s3://releases/mpdp/", "s3://releases//mpdp", "s3://releases/mpdp"] {
            assert_eq!(Target::parse(given, Some("http://127.0.0.1:9")).unwrap().url(), "s3://releases/mpdp", "{given}");
        }
        assert_eq!(Target::parse("s3://releases/", Some("http://127.0.0.1:9")).unwrap().url(), "s3://releases");
        // As a data file written before kept it: the same target.
        assert!(same_target("s3://releases/mpdp/", "s3://releases/mpdp"));
        assert!(same_target("file:///srv/my%20dir/", "file:///srv/my%20dir"));
        assert!(!same_target("s3://releases/mpdp", "s3://releases/other"));
        assert!(!same_target("s3://releases/mpdp", "file:///releases/mpdp"));
    }
}
