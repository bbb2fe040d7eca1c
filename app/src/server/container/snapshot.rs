//! What the container API serves, as one immutable snapshot: every Accessing Key with its App's
//! signed list, manifests, icons and bundles, built in one read transaction and swapped in whole
//! after each commit that changes it.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use arc_swap::ArcSwap;
use axum::http::StatusCode;
use chrono::{DateTime, SecondsFormat, Utc};
use redb::ReadTransaction;
use serde::Serialize;
use uuid::Uuid;

use super::served::Served;
use super::{bundle_url, icon_url};
use crate::model::minis::VersionState;
use crate::model::workspace::WorkspaceStatus;
use crate::model::AppError;
use crate::server::keys;
use crate::server::manifest::{BundleRef, IconRef, Manifest, Uploader, CONSOLE_UPLOADER, FORMAT, LIST_FORMAT, LIST_VALIDITY};
use crate::server::store::apps::{self as app_store, PlatformKey};
use crate::server::store::minis::{self as mini_store, MiniProgram};
use crate::server::store::workspaces as ws;
use crate::server::rollout::{cohort, Order};
use crate::server::store::releases::{self, Shipped};
use crate::server::store::Store;
use crate::server::http_error::ApiError;
use crate::server::release_document::{Candidate, Entry as DocumentEntry, ReleaseBody};

/// The body of `GET /api/container/v1/mini-programs`: signed like a manifest (see
/// [`crate::server::manifest::SignedList`]), with a sequence that only rises and an expiry, so
/// an old list can't be replayed as the current one.
#[derive(Serialize)]
struct List<'a> {
    format: &'static str,
    app: String,
    sequence: u64,
    issued: String,
    expires: String,
    mini_programs: Vec<&'a Manifest>,
    platform_signature: String,
}

/// What stamps a snapshot's lists: the sequence, and when they were made.
#[derive(Clone, Copy)]
pub struct Stamp {
    pub sequence: u64,
    pub issued: DateTime<Utc>,
}

/// A candidate as the snapshot serves it: who is in, and what they get.
struct Rolling {
    mini_program: Uuid,
    order: Order,
    /// The release's seed, which gives `order`.
    seed: String,
    rollout: u16,
    /// The lowest tier that can run it (see [`Selection::tier`]).
    needs: u16,
    manifest: Served,
}

/// One mini program in an App's list: the stable version, then, for containers too old for
/// it, older versions released to the App, each needing an older container than the one before.
struct Line {
    id: Uuid,
    chain: Vec<Runnable>,
}

/// A manifest and the lowest tier that can run it.
struct Runnable {
    needs: u16,
    manifest: Manifest,
    served: Served,
}

/// Which answers an install gets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Selection {
    /// The container's tier: how many of the App's distinct minimum container versions its
    /// version meets (0 without `MPDP-Container-Version`). A manifest whose minimum is the
    /// `k`-th lowest needs tier `k`; one without a minimum needs none.
    pub tier: u16,
    /// Bit `i`: the install gets the App's `i`-th candidate.
    pub candidates: u64,
}

/// The most candidates one App serves at once (one bit each in a [`Selection`]); releases and
/// resumptions past it are refused ([`releases::room_for_candidate`]), so any further ones
/// (none, short of a fault) are not served until one ends.
const MAX_CANDIDATES: usize = releases::MAX_ROLLING_PER_APP;
const _: () = assert!(MAX_CANDIDATES <= u64::BITS as usize);

/// How many bytes of signed lists one App keeps (see [`Kept`]).
const KEPT_LIST_BYTES: usize = 4 << 20;

/// The lists signed for selections other than the stable one, kept so that the next install of
/// the same selection costs no signature. A client chooses its selection (install id and
/// container version), so what is kept has a budget: a list that would take the total past it
/// starts the keeping over (the lists in use are signed again as they are asked for), and the
/// memory one App's content holds stays under the budget, or one list when a list is larger.
struct Kept {
    lists: HashMap<Selection, Arc<Served>>,
    bytes: usize,
    budget: usize,
}

impl Kept {
    fn new(budget: usize) -> Kept {
        Kept { lists: HashMap::new(), bytes: 0, budget }
    }

    fn keep(&mut self, selection: Selection, list: Arc<Served>) {
        let size = list.body.len();
        if self.bytes + size > self.budget {
            self.lists.clear();
            self.bytes = 0;
        }
        if let Some(old) = self.lists.insert(selection, list) {
            self.bytes -= old.body.len();
        }
        self.bytes += size;
    }
}

/// What one App's container is served: the stable list and manifests, which every install gets,
/// and the candidates, each with its order of the cohorts. A list with candidates in it is
/// signed the first time an install of that selection asks, then kept (see [`Kept`]).
pub struct AppContent {
    app: Uuid,
    /// The list a container that meets every minimum gets without candidates.
    pub(super) list: Served,
    pub(super) icons: HashMap<Uuid, Arc<Served>>,
    /// The platform public key that signs the App's answers (bootstrap only).
    pub(super) platform_key: Served,
    bundles: HashSet<String>,
    candidates: Vec<Rolling>,
    /// The list's entries in order.
    lines: Vec<Line>,
    /// Where each mini program is in `lines`.
    index: HashMap<Uuid, usize>,
    candidate_manifests: Vec<Manifest>,
    /// The distinct minimum container versions of what is served, lowest first.
    thresholds: Vec<semver::Version>,
    /// Install ids that get every candidate.
    test_devices: HashSet<String>,
    lists: RwLock<Kept>,
    seed: [u8; 32],
    stamp: Stamp,
    /// Whether the App's workspace is active (a suspended one's Apps get an empty list, and
    /// nothing of theirs is published).
    active: bool,
}

impl AppContent {
    /// The ids of the mini programs with a stable version released to the App, in the list's
    /// order.
    pub fn mini_programs(&self) -> Vec<Uuid> {
        self.lines.iter().filter(|l| !l.chain.is_empty()).map(|l| l.id).collect()
    }

    /// Whether the bundle with this sha256 is served to the App (as a stable or a candidate).
    pub fn has_bundle(&self, sha256: &str) -> bool {
        self.bundles.contains(sha256)
    }

    /// The App this content is served to.
    pub fn app(&self) -> Uuid {
        self.app
    }

    /// Whether `version` of mini program `mp` is served to some install of the App: its stable,
    /// or a candidate rolling out.
    pub fn serves(&self, mp: Uuid, version: &str) -> bool {
        self.index.get(&mp).is_some_and(|i| self.lines[*i].chain.iter().any(|r| r.manifest.version == version))
            || self.candidates.iter().zip(&self.candidate_manifests).any(|(r, m)| r.mini_program == mp && m.version == version)
    }

    /// Whether `install` may be running `version` of mini program `mp`, so its reports of that
    /// version count: a stable version served to the App, or the candidate when the install gets
    /// it (its cohort is within the rollout, or it is one of the App's test devices). A report of
    /// the candidate from an install outside its share comes from no install that ran it.
    pub fn may_run(&self, install: &str, mp: Uuid, version: &str) -> bool {
        self.index.get(&mp).is_some_and(|i| self.lines[*i].chain.iter().any(|r| r.manifest.version == version))
            || self.candidates.iter().zip(&self.candidate_manifests).any(|(r, m)| {
                r.mini_program == mp
                    && m.version == version
                    && (self.test_devices.contains(install) || r.order.includes(cohort(self.app, install), r.rollout))
            })
    }

    /// Whether the mini program is served to some install of the App.
    pub fn has_mini_program(&self, id: Uuid) -> bool {
        self.index.contains_key(&id)
    }

    /// The selection of a container that meets every minimum and gets no candidate: the one
    /// [`AppContent::list`] answers.
    pub fn everything_stable(&self) -> Selection {
        Selection { tier: self.top_tier(), candidates: 0 }
    }

    fn top_tier(&self) -> u16 {
        u16::try_from(self.thresholds.len()).unwrap_or(u16::MAX)
    }

    /// What an install gets. Its tier comes from its container version (see
    /// [`Selection::tier`]). Its candidates: none without an install id; with one, those whose
    /// rollout includes the install's cohort (see [`crate::server::rollout`]), or all of them for
    /// one of the App's test devices — in each case only those its container can run.
    pub fn select(&self, install: Option<&str>, container: Option<&semver::Version>) -> Selection {
        let tier = match container {
            Some(v) => u16::try_from(self.thresholds.partition_point(|t| t.cmp_precedence(v) != std::cmp::Ordering::Greater)).unwrap_or(u16::MAX),
            None => 0,
        };
        let Some(install) = install.filter(|_| !self.candidates.is_empty()) else { return Selection { tier, candidates: 0 } };
        let test_device = self.test_devices.contains(install);
        let c = cohort(self.app, install);
        let candidates = self
            .candidates
            .iter()
            .enumerate()
            .filter(|(_, r)| r.needs <= tier && (test_device || r.order.includes(c, r.rollout)))
            .fold(0, |s, (i, _)| s | (1 << i));
        Selection { tier, candidates }
    }

    /// What a container of `tier` runs of `line` when it does not get the candidate.
    fn runnable(line: &Line, tier: u16) -> Option<&Runnable> {
        line.chain.iter().find(|r| r.needs <= tier)
    }

    /// The index of mini program `id`'s candidate, when `selection` gets it.
    fn chosen_candidate(&self, id: Uuid, selection: Selection) -> Option<usize> {
        if selection.candidates == 0 {
            return None;
        }
        self.candidates.iter().position(|r| r.mini_program == id).filter(|i| selection.candidates & (1 << i) != 0)
    }

    /// The list an install of `selection` gets.
    pub(super) fn list_for(&self, selection: Selection) -> Result<Arc<Served>, AppError> {
        if selection == self.everything_stable() {
            return Ok(Arc::new(self.list.clone()));
        }
        if let Some(l) = self.lists.read().map_err(|_| AppError::Internal)?.lists.get(&selection) {
            return Ok(l.clone());
        }
        let chosen: Vec<&Manifest> = self
            .lines
            .iter()
            .filter_map(|line| match self.chosen_candidate(line.id, selection) {
                Some(i) => Some(&self.candidate_manifests[i]),
                None => Self::runnable(line, selection.tier).map(|r| &r.manifest),
            })
            .collect();
        let list = Arc::new(signed_list(self.app, chosen, &self.seed, self.stamp)?);
        self.lists.write().map_err(|_| AppError::Internal)?.keep(selection, list.clone());
        Ok(list)
    }

    /// What the App's release document says (see [`crate::server::release_document`]): the
    /// same manifests, candidates and test devices the origin's answers are chosen from.
    pub fn release_body(&self) -> ReleaseBody {
        let mut test_devices: Vec<String> = self.test_devices.iter().map(|i| keys::sha256_hex(i.as_bytes())).collect();
        test_devices.sort_unstable();
        let mini_programs = self
            .lines
            .iter()
            .map(|line| DocumentEntry {
                id: line.id.to_string(),
                stable: line.chain.iter().map(|r| r.manifest.clone()).collect(),
                candidate: self.candidates.iter().position(|r| r.mini_program == line.id).map(|i| Candidate {
                    rollout: self.candidates[i].rollout,
                    seed: self.candidates[i].seed.clone(),
                    manifest: self.candidate_manifests[i].clone(),
                }),
            })
            .collect();
        ReleaseBody { app: self.app.to_string(), test_devices, mini_programs }
    }

    /// The platform key's seed, which signs what the App is served.
    pub(crate) fn signing_seed(&self) -> &[u8; 32] {
        &self.seed
    }

    /// The bundles served to the App, by sha256.
    pub fn bundle_hashes(&self) -> impl Iterator<Item = &str> {
        self.bundles.iter().map(String::as_str)
    }

    /// The icons served to the App: (sha256, content type, bytes).
    pub fn icon_files(&self) -> impl Iterator<Item = (String, &str, &[u8])> {
        self.icons.values().map(|i| (keys::sha256_hex(&i.body), i.content_type.to_str().unwrap_or("application/octet-stream"), &i.body[..]))
    }

    /// The manifest of mini program `id` an install of `selection` gets.
    pub(super) fn manifest_for(&self, id: Uuid, selection: Selection) -> Option<&Served> {
        match self.chosen_candidate(id, selection) {
            Some(i) => Some(&self.candidates[i].manifest),
            None => Self::runnable(&self.lines[*self.index.get(&id)?], selection.tier).map(|r| &r.served),
        }
    }
}

/// An Accessing Key as the snapshot knows it.
struct Grant {
    key_id: String,
    revoked: bool,
    /// The end of the grace period after a rotation.
    expires: Option<DateTime<Utc>>,
    content: Arc<AppContent>,
}

/// Everything the container API serves, by the SHA-256 of each Accessing Key.
#[derive(Default)]
pub struct Snapshot {
    keys: HashMap<[u8; 32], Grant>,
}

pub(super) fn unauthorized(code: &'static str, message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, code, message)
}

/// An Accessing Key that may read its App's content at some moment (see [`Snapshot::grants`]).
pub struct LiveGrant<'a> {
    /// The SHA-256 of the key.
    pub key_hash: &'a [u8; 32],
    /// The end of its grace period, after a rotation.
    pub expires: Option<DateTime<Utc>>,
    pub content: &'a Arc<AppContent>,
}

impl Snapshot {
    /// Every key that may read at `now` (not revoked, not past its grace), of an App whose
    /// workspace is active.
    pub fn grants(&self, now: DateTime<Utc>) -> Vec<LiveGrant<'_>> {
        self.keys
            .iter()
            .filter(|(_, g)| !g.revoked && !g.expires.is_some_and(|end| now >= end) && g.content.active)
            .map(|(k, g)| LiveGrant { key_hash: k, expires: g.expires, content: &g.content })
            .collect()
    }

    /// The sha256 of every bundle served to some App (each App's content read once, however
    /// many keys share it).
    pub fn bundles(&self) -> HashSet<&str> {
        let mut seen: HashSet<*const AppContent> = HashSet::new();
        let mut out = HashSet::new();
        for g in self.keys.values() {
            if seen.insert(Arc::as_ptr(&g.content)) {
                out.extend(g.content.bundles.iter().map(String::as_str));
            }
        }
        out
    }

    /// The content an Accessing Key may read at `now`, or why it may not.
    pub fn authorize(&self, token: &str, now: DateTime<Utc>) -> Result<(&str, &Arc<AppContent>), ApiError> {
        let grant = self.keys.get(&keys::access_key_hash(token)).ok_or_else(|| {
            unauthorized("unknown_key", "This Accessing Key is not known to this server: use the App's current Mini Program Accessing Key as the console showed it.")
        })?;
        if grant.revoked {
            return Err(unauthorized("key_revoked", "This Accessing Key has been revoked. Ask a Workspace Admin for the App's current Accessing Key."));
        }
        if grant.expires.is_some_and(|end| now >= end) {
            return Err(unauthorized("key_expired", "This Accessing Key was rotated and its grace period is over. Use the App's current Accessing Key."));
        }
        Ok((&grant.key_id, &grant.content))
    }
}

/// The container API's snapshot and what keeps it current.
pub struct Container {
    pub(super) snapshot: ArcSwap<Snapshot>,
    /// Refresh calls so far; each call takes the next number.
    requested: AtomicU64,
    /// Held while rebuilding; holds the highest call number whose commit the current snapshot's
    /// read has seen.
    covered: tokio::sync::Mutex<u64>,
    /// The last lists' sequence.
    sequence: AtomicU64,
    /// The bundle files mapped so far; those no longer served are dropped at each rebuild.
    pub(super) mapped: super::bundles::Mapped,
}

impl Default for Container {
    fn default() -> Self {
        Container::new()
    }
}

impl Container {
    /// An empty snapshot (nothing served) until the first [`Container::refresh`].
    pub fn new() -> Container {
        Container {
            snapshot: ArcSwap::from_pointee(Snapshot::default()),
            requested: AtomicU64::new(0),
            covered: tokio::sync::Mutex::new(0),
            sequence: AtomicU64::new(0),
            mapped: super::bundles::Mapped::default(),
        }
    }

    /// The snapshot being served.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// Rebuilds the snapshot from the store and swaps it in. Call it after a commit that changes
    /// what is served. Refreshes run one at a time, each reading after it got its turn, so the
    /// last swap always comes from a read that began after the last commit; a call whose commit a
    /// finished rebuild already saw returns at once.
    pub async fn refresh(&self, store: &Store) {
        let ticket = self.requested.fetch_add(1, Ordering::SeqCst) + 1;
        let mut covered = self.covered.lock().await;
        if *covered >= ticket {
            return;
        }
        // Every call numbered up to here committed before this read begins.
        let upto = self.requested.load(Ordering::SeqCst);
        // The time in milliseconds, or one more than the last if the clock has not moved on:
        // it only rises, across restarts too as long as the clock does.
        let issued = store.clock().now();
        let now_ms = u64::try_from(issued.timestamp_millis()).unwrap_or(0);
        let last = self.sequence.load(Ordering::SeqCst);
        let sequence = now_ms.max(last + 1);
        self.sequence.store(sequence, Ordering::SeqCst);
        let stamp = Stamp { sequence, issued };
        match store.read(move |tx| build_at(tx, stamp)).await {
            Ok(snapshot) => {
                let snapshot = Arc::new(snapshot);
                self.snapshot.store(snapshot.clone());
                let served = snapshot.bundles();
                self.mapped.retain(|sha| served.contains(sha));
                *covered = upto;
            }
            Err(e) => tracing::error!(error = %e, "could not rebuild the container API's snapshot; it keeps serving the previous one"),
        }
    }
}

/// One mini program released to an App, ready to serve: what every install gets, and the
/// candidate that a share of them gets (not while paused).
struct Entry {
    id: Uuid,
    name: String,
    /// The stable, then the fallbacks for older containers (see [`fallbacks`]).
    chain: Vec<Manifest>,
    candidate: Option<(Manifest, String, u16)>,
    icon: Option<Arc<Served>>,
}

/// A manifest's minimum container version; one that does not parse (never stored so) is taken
/// as higher than any container, so its bundle goes to none.
fn minimum(m: &Manifest) -> Option<semver::Version> {
    m.min_container_version.as_deref().map(|t| semver::Version::parse(t).unwrap_or_else(|_| semver::Version::new(u64::MAX, 0, 0)))
}

/// The versions released to the App before `stable` that older containers fall back to: older
/// than the stable, newest first, each needing an older container than every one before it,
/// ending with the first that needs none. A version rolled back from is never a fallback, whether
/// newer than the stable or (the stable released since) older.
fn fallbacks(tx: &ReadTransaction, mp: &MiniProgram, r: &releases::Release, stable: &Manifest, icon: &Option<Arc<Served>>, platform: &PlatformKey) -> Result<Vec<Manifest>, AppError> {
    let Some(mut floor) = minimum(stable) else { return Ok(Vec::new()) };
    let Ok(top) = semver::Version::parse(&stable.version) else { return Ok(Vec::new()) };
    let mut older: Vec<(semver::Version, &Shipped)> = r.earlier.iter().filter_map(|s| Some((semver::Version::parse(&s.version).ok()?, s))).filter(|(v, s)| v.cmp_precedence(&top).is_lt() && !r.rolled_back_from.contains(&s.version)).collect();
    older.sort_by(|a, b| b.0.cmp_precedence(&a.0));
    let mut chain = Vec::new();
    for (_, shipped) in older {
        let Some(m) = manifest_of(tx, mp, r.app, shipped, icon, platform)? else { continue };
        match minimum(&m) {
            None => {
                chain.push(m);
                break;
            }
            Some(needs) if needs.cmp_precedence(&floor).is_lt() => {
                floor = needs;
                chain.push(m);
            }
            Some(_) => {}
        }
    }
    Ok(chain)
}

/// What the build remembers per workspace and mini program, so each is read once.
#[derive(Default)]
struct Reads {
    /// The platform key of each active workspace (`None`: suspended, or unknown).
    workspaces: HashMap<Uuid, Option<PlatformKey>>,
    /// Mini programs that are not removed (`None`: removed, or unknown).
    minis: HashMap<Uuid, Option<MiniProgram>>,
    icons: HashMap<Uuid, Option<Arc<Served>>>,
}

impl Reads {
    fn workspace(&mut self, tx: &ReadTransaction, id: Uuid) -> Result<Option<PlatformKey>, AppError> {
        if let Some(known) = self.workspaces.get(&id) {
            return Ok(known.clone());
        }
        let active = ws::get_workspace(tx, id)?.is_some_and(|w| w.status == WorkspaceStatus::Active);
        let platform = if active { app_store::platform_key(tx, id)? } else { None };
        self.workspaces.insert(id, platform.clone());
        Ok(platform)
    }

    fn mini_program(&mut self, tx: &ReadTransaction, id: Uuid) -> Result<Option<MiniProgram>, AppError> {
        if let Some(known) = self.minis.get(&id) {
            return Ok(known.clone());
        }
        let mp = mini_store::by_id(tx, id)?.filter(|m| !m.removed);
        self.minis.insert(id, mp.clone());
        Ok(mp)
    }

    fn icon(&mut self, tx: &ReadTransaction, id: Uuid) -> Result<Option<Arc<Served>>, AppError> {
        if let Some(known) = self.icons.get(&id) {
            return Ok(known.clone());
        }
        let icon = match mini_store::icon(tx, id)? {
            Some(bytes) => {
                let kind = match imagesize::image_type(&bytes) {
                    Ok(imagesize::ImageType::Png) => "image/png",
                    Ok(imagesize::ImageType::Jpeg) => "image/jpeg",
                    Ok(imagesize::ImageType::Webp) => "image/webp",
                    _ => "application/octet-stream",
                };
                Some(Arc::new(Served::new(bytes, kind)?))
            }
            None => None,
        };
        self.icons.insert(id, icon.clone());
        Ok(icon)
    }
}

/// Builds the snapshot in one read transaction: every Accessing Key (revoked and expired ones
/// too, to say why they are refused) with what its App is served — the releases of mini programs
/// that are not removed, in workspaces that are active, each manifest signed by the workspace's
/// platform key.
pub fn build(tx: &ReadTransaction) -> Result<Snapshot, AppError> {
    let issued = Utc::now();
    build_at(tx, Stamp { sequence: u64::try_from(issued.timestamp_millis()).unwrap_or(0), issued })
}

/// The signed manifest of `shipped`, a version of `mp` released to `app`; `None` (logged) when
/// its version or the Upload Key that signed it is not stored.
fn manifest_of(tx: &ReadTransaction, mp: &MiniProgram, app: Uuid, shipped: &Shipped, icon: &Option<Arc<Served>>, platform: &PlatformKey) -> Result<Option<Manifest>, AppError> {
    let Some(version) = mini_store::version(tx, mp.id, &shipped.version)? else {
        tracing::warn!(mini_program = %mp.id, version = %shipped.version, "a release names a version that is not stored; not served");
        return Ok(None);
    };
    if matches!(version.state, VersionState::Removed | VersionState::Retired) {
        return Ok(None);
    }
    let (key, public_key) = match &version.key {
        Some(id) => match app_store::key(tx, id)? {
            Some(k) => (id.clone(), keys::public_key_text(&k.material)),
            None => {
                tracing::warn!(mini_program = %mp.id, version = %shipped.version, key = %id, "the Upload Key that signed a released version is not stored; not served");
                return Ok(None);
            }
        },
        None => (CONSOLE_UPLOADER.to_string(), keys::public_key_text(&platform.public)),
    };
    let manifest = Manifest {
        format: FORMAT.to_string(),
        app: app.to_string(),
        id: mp.id.to_string(),
        name: mp.name.clone(),
        icon: icon.as_ref().map(|i| IconRef { url: icon_url(mp.id), sha256: keys::sha256_hex(&i.body) }),
        version: version.version.clone(),
        bundle: BundleRef { url: bundle_url(&version.sha256), sha256: version.sha256.clone(), size: version.size },
        min_container_version: version.min_container.clone(),
        features: mp.features.clone(),
        released: shipped.released.to_rfc3339_opts(SecondsFormat::Secs, true),
        uploader: Uploader {
            key,
            public_key,
            sha256: version.uploaded().0.to_string(),
            size: version.uploaded().1,
            signed_ts: version.signed_ts,
            signed_nonce: version.signed_nonce.clone(),
            signature: version.signature.clone(),
        },
        platform_signature: String::new(),
    }
    .signed(&platform.seed)
    .map_err(|e| {
        tracing::error!(error = %e, "could not sign a manifest");
        AppError::Internal
    })?;
    Ok(Some(manifest))
}

/// [`build`], its lists stamped with `stamp`.
pub fn build_at(tx: &ReadTransaction, stamp: Stamp) -> Result<Snapshot, AppError> {
    let mut reads = Reads::default();
    let mut per_app: HashMap<Uuid, Vec<Entry>> = HashMap::new();
    for r in releases::all(tx)? {
        let Some(mp) = reads.mini_program(tx, r.mini_program)? else { continue };
        let Some(platform) = reads.workspace(tx, mp.workspace)? else { continue };
        let icon = if mp.has_icon { reads.icon(tx, mp.id)? } else { None };
        let chain = match &r.stable {
            Some(s) => match manifest_of(tx, &mp, r.app, s, &icon, &platform)? {
                Some(stable) => {
                    let mut chain = fallbacks(tx, &mp, &r, &stable, &icon, &platform)?;
                    chain.insert(0, stable);
                    chain
                }
                None => Vec::new(),
            },
            None => Vec::new(),
        };
        let candidate = match r.candidate.as_ref().filter(|c| c.paused.is_none()) {
            Some(c) => manifest_of(tx, &mp, r.app, &c.shipped, &icon, &platform)?.map(|m| (m, c.seed.clone(), c.rollout)),
            None => None,
        };
        if chain.is_empty() && candidate.is_none() {
            continue;
        }
        per_app.entry(r.app).or_default().push(Entry { id: mp.id, name: mp.name.to_lowercase(), chain, candidate, icon });
    }
    let mut contents: HashMap<Uuid, Arc<AppContent>> = HashMap::new();
    let mut snapshot = Snapshot::default();
    let mut platform_keys: HashMap<Uuid, Option<PlatformKey>> = HashMap::new();
    for key in app_store::access_keys(tx)? {
        let content = match contents.get(&key.app) {
            Some(c) => c.clone(),
            None => {
                // A suspended workspace's Apps get an empty list, signed all the same.
                let platform = match platform_keys.get(&key.workspace) {
                    Some(p) => p.clone(),
                    None => {
                        let p = app_store::platform_key(tx, key.workspace)?;
                        platform_keys.insert(key.workspace, p.clone());
                        p
                    }
                };
                let Some(platform) = platform else {
                    tracing::warn!(workspace = %key.workspace, "a workspace has no platform key; its Apps are not served");
                    continue;
                };
                let test_devices = app_store::app_of(tx, key.workspace, key.app)?.map(|a| a.test_devices).unwrap_or_default();
                let active = reads.workspace(tx, key.workspace)?.is_some();
                let c = Arc::new(app_content(key.app, per_app.remove(&key.app).unwrap_or_default(), test_devices, &platform.seed, stamp, active)?);
                contents.insert(key.app, c.clone());
                c
            }
        };
        snapshot.keys.insert(key.material, Grant { key_id: key.id, revoked: key.revoked.is_some(), expires: key.expires, content });
    }
    Ok(snapshot)
}

/// A list of `manifests` for `app`, signed with the platform key's `seed`.
fn signed_list(app: Uuid, manifests: Vec<&Manifest>, seed: &[u8; 32], stamp: Stamp) -> Result<Served, AppError> {
    let mut list = List {
        format: LIST_FORMAT,
        app: app.to_string(),
        sequence: stamp.sequence,
        issued: stamp.issued.to_rfc3339_opts(SecondsFormat::Secs, true),
        expires: (stamp.issued + chrono::Duration::from_std(LIST_VALIDITY).unwrap_or_default()).to_rfc3339_opts(SecondsFormat::Secs, true),
        mini_programs: manifests,
        platform_signature: String::new(),
    };
    let unsigned = serde_json::to_value(&list).map_err(|_| AppError::Internal)?;
    let bytes = crate::server::manifest::canonical_bytes(&unsigned).map_err(|e| {
        tracing::error!(error = %e, "could not sign a container list");
        AppError::Internal
    })?;
    list.platform_signature = keys::sign(seed, &bytes);
    Served::json(&list)
}

/// One App's answers, the list sorted by name.
fn app_content(app: Uuid, mut entries: Vec<Entry>, test_devices: Vec<String>, platform_seed: &[u8; 32], stamp: Stamp, active: bool) -> Result<AppContent, AppError> {
    entries.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    let mut thresholds: Vec<semver::Version> = entries.iter().flat_map(|e| e.chain.iter().chain(e.candidate.iter().map(|c| &c.0))).filter_map(minimum).collect();
    thresholds.sort_by(semver::Version::cmp_precedence);
    thresholds.dedup_by(|a, b| a.cmp_precedence(b).is_eq());
    // A manifest needs the tier just above its minimum's place among the thresholds.
    let needs = |m: &Manifest| match minimum(m) {
        Some(v) => u16::try_from(thresholds.partition_point(|t| t.cmp_precedence(&v).is_lt()) + 1).unwrap_or(u16::MAX),
        None => 0,
    };
    let list = signed_list(app, entries.iter().filter_map(|e| e.chain.first()).collect(), platform_seed, stamp)?;
    let mut icons = HashMap::new();
    let mut bundles = HashSet::new();
    let mut candidates = Vec::new();
    let mut candidate_manifests = Vec::new();
    let mut lines = Vec::with_capacity(entries.len());
    let mut index = HashMap::with_capacity(entries.len());
    for e in entries {
        let mut chain = Vec::with_capacity(e.chain.len());
        for manifest in e.chain {
            bundles.insert(manifest.bundle.sha256.clone());
            chain.push(Runnable { needs: needs(&manifest), served: Served::json(&manifest)?, manifest });
        }
        if let Some((manifest, seed, rollout)) = e.candidate {
            if candidates.len() < MAX_CANDIDATES {
                bundles.insert(manifest.bundle.sha256.clone());
                candidates.push(Rolling { mini_program: e.id, order: Order::of(&seed), seed, rollout, needs: needs(&manifest), manifest: Served::json(&manifest)? });
                candidate_manifests.push(manifest);
            } else {
                tracing::warn!(%app, mini_program = %e.id, "more candidates than one App serves at once; this one waits");
            }
        }
        if let Some(icon) = &e.icon {
            icons.insert(e.id, icon.clone());
        }
        index.insert(e.id, lines.len());
        lines.push(Line { id: e.id, chain });
    }
    Ok(AppContent {
        app,
        list,
        platform_key: Served::json(&crate::server::manifest::PlatformKey::new(app, platform_seed))?,
        icons,
        bundles,
        candidates,
        lines,
        index,
        candidate_manifests,
        thresholds,
        test_devices: test_devices.into_iter().collect(),
        lists: RwLock::new(Kept::new(KEPT_LIST_BYTES)),
        seed: *platform_seed,
        stamp,
        active,
    })
}

/// A JSON body, for the tests' reading of served answers.
#[cfg(test)]
fn served_json(s: &Served) -> serde_json::Value {
    serde_json::from_slice(&s.body).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::apps::KeyKind;
    use crate::model::minis::VersionState;
    use crate::server::manifest;
    use crate::server::store::apps::{App, Key};
    use crate::server::store::minis::Version;
    use crate::server::store::workspaces::fixtures;
    use chrono::Duration;

    /// A workspace with an App (its Accessing Key returned), a mini program with a version
    /// uploaded by an Upload Key, released to the App.
    struct World {
        store: Store,
        workspace: Uuid,
        app: Uuid,
        access: String,
        access_id: String,
        mp: Uuid,
        platform: [u8; 32],
    }

    fn access_key(app: &App, now: DateTime<Utc>) -> (String, Key) {
        let (text, material) = keys::new_access_key();
        let key = Key::new(app, KeyKind::Accessing, &text, material, now);
        (text, key)
    }

    fn add_app(store: &Store, workspace: Uuid, name: &str) -> (App, String, Key) {
        let now = Utc::now();
        let app = App { id: Uuid::now_v7(), workspace, name: name.into(), ios_bundle_id: None, android_package: Some("com.acme".into()), created: now, created_by: "ann".into(), test_devices: vec![] };
        let (text, key) = access_key(&app, now);
        store
            .write_blocking(|tx| {
                app_store::insert_app(tx, &app)?;
                app_store::put_key(tx, &key)
            })
            .unwrap();
        (app, text, key)
    }

    fn world() -> World {
        let store = Store::memory();
        let now = Utc::now();
        let w = fixtures::workspace("Acme", WorkspaceStatus::Active);
        let workspace = w.id;
        store
            .write_blocking(|tx| {
                ws::insert_workspace(tx, &w)?;
                app_store::ensure_platform_key(tx, workspace)
            })
            .unwrap();
        let platform = store.read_blocking(|tx| app_store::platform_key(tx, workspace)).unwrap().unwrap().public;
        let (app, access, access_key) = add_app(&store, workspace, "Super");
        // The Upload Key that signs the bundle.
        let (upload, upload_public) = keys::new_upload_key();
        let signer = keys::parse_upload_key(&upload).unwrap();
        let upload_key = Key { kind: KeyKind::Upload, material: upload_public, id: keys::key_id(&upload_public), ..access_key.clone() };
        let mp = Uuid::now_v7();
        let bundle = b"bundle bytes";
        let sha = keys::sha256_hex(bundle);
        let header = keys::SignatureHeader::parse(&keys::sign_upload(&signer, &mp.to_string(), "1.0.0", &sha, bundle.len() as u64, now.timestamp())).unwrap();
        let mini = MiniProgram {
            id: mp,
            workspace,
            name: "Coupons".into(),
            description: String::new(),
            category: "Shopping".into(),
            has_icon: false,
            removed: false,
            created: now,
            created_by: "ann".into(),
            features: vec!["location".into()],
        };
        let version = Version {
            mini_program: mp,
            version: "1.0.0".into(),
            state: VersionState::Uploaded,
            size: bundle.len() as u64,
            sha256: sha.clone(),
            uploaded_sha256: String::new(),
            uploaded_size: 0,
            min_container: None,
            uploader: "ci".into(),
            key: Some(header.key.clone()),
            account: None,
            signature: header.sig.clone(),
            signed_ts: header.ts,
            signed_nonce: header.nonce.clone(),
            note: String::new(),
            created: now,
        };
        store
            .write_blocking(|tx| {
                app_store::put_key(tx, &upload_key)?;
                mini_store::put(tx, &mini)?;
                mini_store::put_version(tx, &version)?;
                releases::put(tx, &releases::fixtures::stable(mp, app.id, "1.0.0", &sha, bundle.len() as u64)).map(|_| ())
            })
            .unwrap();
        World { store, workspace, app: app.id, access, access_id: access_key.id, mp, platform }
    }

    fn snapshot(w: &World) -> Snapshot {
        let stamp = Stamp { sequence: 7, issued: chrono::DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z").unwrap().to_utc() };
        w.store.read_blocking(move |tx| build_at(tx, stamp)).unwrap()
    }

    /// What the world's App is served now, by a snapshot built from its store.
    fn served(w: &World) -> Arc<AppContent> {
        let s = snapshot(w);
        let (_, content) = s.authorize(&w.access, Utc::now()).unwrap();
        content.clone()
    }

    fn code(r: Result<(&str, &Arc<AppContent>), ApiError>) -> &'static str {
        r.map(|_| "ok").unwrap_or_else(|e| e.code)
    }

    #[test]
    fn an_apps_key_sees_its_release_with_both_signatures_valid() {
        let w = world();
        let s = snapshot(&w);
        let (id, content) = s.authorize(&w.access, Utc::now()).unwrap();
        assert_eq!(id, w.access_id);
        assert_eq!(content.mini_programs(), vec![w.mp]);
        let list = served_json(&content.list);
        assert_eq!(list["app"], w.app.to_string());
        // The list is signed with its sequence and lifetime.
        let signed = manifest::verify_list(&content.list.body, &w.platform, chrono::DateTime::parse_from_rfc3339("2026-01-02T04:00:00Z").unwrap().to_utc()).unwrap();
        assert_eq!((signed.sequence, signed.issued.as_str(), signed.expires.as_str()), (7, "2026-01-02T03:04:05Z", "2026-01-03T03:04:05Z"));
        assert!(matches!(manifest::verify_list(&content.list.body, &w.platform, chrono::DateTime::parse_from_rfc3339("2026-01-03T03:04:05Z").unwrap().to_utc()), Err(manifest::ManifestError::ListExpired(_))));
        let m = &list["mini_programs"][0];
        assert_eq!((m["name"].as_str(), m["version"].as_str()), (Some("Coupons"), Some("1.0.0")));
        assert_eq!(m["features"], serde_json::json!(["location"]));
        assert!(m.get("icon").is_none(), "no icon, no icon field");
        let one = content.manifest_for(w.mp, content.everything_stable()).unwrap();
        assert_eq!(&served_json(one), m, "the list holds the same manifests");
        let read = manifest::verify_platform(&one.body, &w.platform).unwrap();
        assert!(matches!(manifest::verify_uploader(&read, &w.platform).unwrap(), manifest::SignedBy::UploadKey(_)));
        manifest::verify_bundle(&read, &keys::sha256_hex(b"bundle bytes"), 12).unwrap();
        assert!(content.has_bundle(&read.bundle.sha256));
        assert_eq!(read.bundle.url, format!("/api/container/v1/bundles/{}", read.bundle.sha256));
        // The same store gives the same bytes, so the same ETags.
        let again = snapshot(&w);
        let (_, content2) = again.authorize(&w.access, Utc::now()).unwrap();
        assert_eq!(content2.list.etag, content.list.etag);
        assert_eq!(code(s.authorize("mpak_unknown", Utc::now())), "unknown_key");
    }

    #[test]
    fn another_apps_key_does_not_see_it() {
        let w = world();
        let (_, other, _) = add_app(&w.store, w.workspace, "Other");
        let s = snapshot(&w);
        let (_, content) = s.authorize(&other, Utc::now()).unwrap();
        assert!(content.mini_programs().is_empty());
        assert!(content.lines.is_empty() && content.bundles.is_empty());
        assert_eq!(served_json(&content.list)["mini_programs"], serde_json::json!([]));
    }

    #[test]
    fn a_revoked_key_is_refused() {
        let w = world();
        let id = w.access_id.clone();
        w.store
            .write_blocking(|tx| {
                let mut k = app_store::key(tx, &id)?.unwrap();
                k.revoked = Some(Utc::now());
                app_store::put_key(tx, &k)
            })
            .unwrap();
        assert_eq!(code(snapshot(&w).authorize(&w.access, Utc::now())), "key_revoked");
    }

    #[test]
    fn a_rotated_key_works_until_its_grace_ends_by_the_clock() {
        let w = world();
        let id = w.access_id.clone();
        let end = Utc::now() + Duration::hours(1);
        w.store
            .write_blocking(|tx| {
                let mut k = app_store::key(tx, &id)?.unwrap();
                k.expires = Some(end);
                app_store::put_key(tx, &k)
            })
            .unwrap();
        let s = snapshot(&w);
        assert_eq!(code(s.authorize(&w.access, end - Duration::seconds(1))), "ok");
        // The same snapshot, later: no rebuild is needed for the grace period to end.
        assert_eq!(code(s.authorize(&w.access, end)), "key_expired");
    }

    #[test]
    fn a_suspended_workspace_serves_nothing() {
        let w = world();
        let wid = w.workspace;
        w.store
            .write_blocking(|tx| {
                let mut ws_ = ws::get_workspace(tx, wid)?.unwrap();
                ws_.status = WorkspaceStatus::Suspended;
                ws::update_workspace(tx, &ws_)
            })
            .unwrap();
        let content = &served(&w);
        assert!(content.mini_programs().is_empty() && content.bundles.is_empty());
    }

    #[test]
    fn a_removed_mini_program_is_gone() {
        let w = world();
        let (wid, mp) = (w.workspace, w.mp);
        w.store
            .write_blocking(|tx| {
                let mut m = mini_store::get(tx, wid, mp)?.unwrap();
                m.removed = true;
                mini_store::put(tx, &m)
            })
            .unwrap();
        let content = &served(&w);
        assert!(content.mini_programs().is_empty() && content.bundles.is_empty());
    }

    #[test]
    fn a_console_upload_names_the_platform_key_and_an_icon_is_served() {
        let w = world();
        let (wid, mp) = (w.workspace, w.mp);
        let png = {
            // The smallest PNG header imagesize recognises: signature and IHDR of 16×16.
            let mut b = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, b'I', b'H', b'D', b'R'];
            b.extend_from_slice(&16u32.to_be_bytes());
            b.extend_from_slice(&16u32.to_be_bytes());
            b.extend_from_slice(&[8, 6, 0, 0, 0]);
            b
        };
        let platform = w.store.read_blocking(|tx| app_store::platform_key(tx, wid)).unwrap().unwrap();
        w.store
            .write_blocking(|tx| {
                let mut v = mini_store::version(tx, mp, "1.0.0")?.unwrap();
                v.key = None;
                v.signature = keys::sign(&platform.seed, keys::upload_message(&mp.to_string(), "1.0.0", &v.sha256, v.size, v.signed_ts, &v.signed_nonce).as_bytes());
                mini_store::put_version(tx, &v)?;
                let mut m = mini_store::get(tx, wid, mp)?.unwrap();
                m.has_icon = true;
                mini_store::put(tx, &m)?;
                mini_store::put_icon(tx, mp, &png)
            })
            .unwrap();
        let content = &served(&w);
        let read = manifest::verify_platform(&content.manifest_for(mp, content.everything_stable()).unwrap().body, &w.platform).unwrap();
        assert_eq!(read.uploader.key, "console");
        assert_eq!(manifest::verify_uploader(&read, &w.platform).unwrap(), manifest::SignedBy::Console);
        let icon = &content.icons[&mp];
        assert_eq!(icon.content_type, "image/png");
        assert_eq!(read.icon.unwrap(), IconRef { url: icon_url(mp), sha256: keys::sha256_hex(&png) });
    }

    /// Adds version `v` of the world's mini program, signed by the platform key (as a console
    /// upload), needing container version `min`; returns what it was released as.
    fn add_version(w: &World, v: &str, min: Option<&str>) -> Shipped {
        let (wid, mp) = (w.workspace, w.mp);
        let (v, bundle, min) = (v.to_string(), format!("bundle of {v}"), min.map(str::to_string));
        let sha = keys::sha256_hex(bundle.as_bytes());
        let platform = w.store.read_blocking(move |tx| app_store::platform_key(tx, wid)).unwrap().unwrap();
        let shipped = Shipped { version: v.clone(), sha256: sha.clone(), size: bundle.len() as u64, released: Utc::now(), application: Uuid::now_v7() };
        w.store
            .write_blocking(move |tx| {
                let mut version = mini_store::version(tx, mp, "1.0.0")?.unwrap();
                (version.version, version.sha256, version.size, version.key, version.min_container) = (v.clone(), sha.clone(), bundle.len() as u64, None, min);
                version.signature = keys::sign(&platform.seed, keys::upload_message(&mp.to_string(), &v, &sha, version.size, version.signed_ts, &version.signed_nonce).as_bytes());
                mini_store::put_version(tx, &version)
            })
            .unwrap();
        shipped
    }

    /// Changes the world's release.
    fn release(w: &World, change: impl FnOnce(&mut releases::Release) + Send + 'static) {
        let (mp, app) = (w.mp, w.app);
        w.store
            .write_blocking(move |tx| {
                let mut r = releases::get(tx, mp, app)?.unwrap();
                change(&mut r);
                releases::put(tx, &r).map(|_| ())
            })
            .unwrap();
    }

    /// Adds version `v` of the world's mini program (signed by the platform key, as a console
    /// upload) and makes it the candidate at `rollout`, paused or not.
    fn add_candidate(w: &World, v: &str, rollout: u16, paused: bool) -> String {
        let shipped = add_version(w, v, None);
        let sha = shipped.sha256.clone();
        let pause = paused.then(|| releases::Pause { at: Utc::now(), by: "ann".into(), reason: "test".into() });
        release(w, move |r| r.candidate = Some(releases::Candidate { shipped, rollout, seed: crate::server::rollout::new_seed(), paused: pause }));
        sha
    }

    fn version_in(content: &AppContent, selection: Selection) -> String {
        let list = content.list_for(selection).unwrap();
        served_json(&list)["mini_programs"][0]["version"].as_str().unwrap().to_string()
    }

    #[test]
    fn a_candidate_goes_to_the_installs_its_rollout_includes_with_a_signed_list_of_their_own() {
        let w = world();
        let sha = add_candidate(&w, "1.1.0", 100, false);
        let content = &served(&w);
        assert_eq!(content.select(None, None), content.everything_stable(), "no install id: the stable");
        let installs: Vec<String> = (0..2_000).map(|i| format!("install-{i:05}")).collect();
        let chosen: Vec<&String> = installs.iter().filter(|i| content.select(Some(i), None).candidates != 0).collect();
        assert!((140..=260).contains(&chosen.len()), "10 % gave {} of 2 000", chosen.len());
        let (inside, outside) = (chosen[0].as_str(), installs.iter().find(|i| content.select(Some(i), None).candidates == 0).unwrap().as_str());
        assert_eq!(version_in(content, content.select(Some(inside), None)), "1.1.0");
        assert_eq!(version_in(content, content.select(Some(outside), None)), "1.0.0");
        // The candidate's list is signed like the stable one, and kept once made.
        let list = content.list_for(content.select(Some(inside), None)).unwrap();
        manifest::verify_list(&list.body, &w.platform, chrono::DateTime::parse_from_rfc3339("2026-01-02T04:00:00Z").unwrap().to_utc()).unwrap();
        assert!(Arc::ptr_eq(&list, &content.list_for(content.select(Some(inside), None)).unwrap()));
        let one = content.manifest_for(w.mp, content.select(Some(inside), None)).unwrap();
        let read = manifest::verify_platform(&one.body, &w.platform).unwrap();
        assert_eq!((read.version.as_str(), read.bundle.sha256.as_str()), ("1.1.0", sha.as_str()));
        assert_eq!(manifest::verify_uploader(&read, &w.platform).unwrap(), manifest::SignedBy::Console);
        assert!(content.has_bundle(&sha) && content.has_mini_program(w.mp));
        assert!(content.serves(w.mp, "1.1.0") && content.serves(w.mp, "1.0.0") && !content.serves(w.mp, "0.9.0"));
        // Reports: the stable from any install, the candidate only from an install that gets it.
        assert!(content.may_run(inside, w.mp, "1.1.0") && content.may_run(inside, w.mp, "1.0.0"));
        assert!(!content.may_run(outside, w.mp, "1.1.0") && content.may_run(outside, w.mp, "1.0.0"));
        assert!(!content.may_run(inside, w.mp, "0.9.0") && !content.may_run(inside, Uuid::now_v7(), "1.1.0"));
        assert_eq!(content.mini_programs(), vec![w.mp]);
    }

    #[test]
    fn the_lists_kept_for_selections_stay_within_their_budget_whatever_clients_ask() {
        let w = world();
        add_candidate(&w, "1.1.0", 1000, false);
        let content = served(&w);
        let size = content.list_for(Selection { tier: 0, candidates: 1 }).unwrap().body.len();
        *content.lists.write().unwrap() = Kept::new(size * 7 / 2);
        // A client cycling container versions (tiers) asks for one selection after another.
        let at = chrono::DateTime::parse_from_rfc3339("2026-01-02T04:00:00Z").unwrap().to_utc();
        for tier in 0..40 {
            let list = content.list_for(Selection { tier, candidates: 1 }).unwrap();
            manifest::verify_list(&list.body, &w.platform, at).unwrap();
            let kept = content.lists.read().unwrap();
            assert!(kept.bytes <= size * 7 / 2 && kept.lists.len() <= 3, "tier {tier}: {} lists, {} bytes kept", kept.lists.len(), kept.bytes);
            assert_eq!(kept.bytes, kept.lists.values().map(|l| l.body.len()).sum::<usize>());
        }
        // What is in use is still kept: the same selection again costs no signature.
        let last = content.list_for(Selection { tier: 39, candidates: 1 }).unwrap();
        assert!(Arc::ptr_eq(&last, &content.list_for(Selection { tier: 39, candidates: 1 }).unwrap()));
        assert_eq!(version_in(&content, Selection { tier: 0, candidates: 1 }), "1.1.0");
        // A list larger than the whole budget is kept alone.
        *content.lists.write().unwrap() = Kept::new(size / 2);
        content.list_for(Selection { tier: 0, candidates: 1 }).unwrap();
        content.list_for(Selection { tier: 1, candidates: 1 }).unwrap();
        assert_eq!(content.lists.read().unwrap().lists.len(), 1);
    }

    #[test]
    fn a_version_rolled_back_from_is_no_fallback_once_a_newer_stable_is_released() {
        let w = world();
        let v = |t: &str| semver::Version::parse(t).unwrap();
        // 1.0.0 (world's) was the stable; 1.3.0 (any container) crashed and was rolled back from,
        // to 1.1.0 (any); then 1.4.0 (containers 3.0.0 and up) became the stable.
        let (v11, v13, v14) = (add_version(&w, "1.1.0", None), add_version(&w, "1.3.0", None), add_version(&w, "1.4.0", Some("3.0.0")));
        release(&w, move |r| {
            r.make_stable(v13);
            r.make_stable(v11);
            r.rolled_back_from = vec!["1.3.0".into()];
            r.make_stable(v14);
        });
        let content = &served(&w);
        let install = Some("install-00001");
        assert_eq!(versions_in(content, content.select(install, Some(&v("2.0.0")))), ["1.1.0"], "an older container falls back past 1.3.0");
        assert_eq!(versions_in(content, content.select(install, None)), ["1.1.0"]);
        assert_eq!(versions_in(content, content.select(install, Some(&v("3.0.0")))), ["1.4.0"]);
        assert!(!content.serves(w.mp, "1.3.0"));
    }

    fn versions_in(content: &AppContent, selection: Selection) -> Vec<String> {
        let list = content.list_for(selection).unwrap();
        served_json(&list)["mini_programs"].as_array().unwrap().iter().map(|m| m["version"].as_str().unwrap().to_string()).collect()
    }

    #[test]
    fn a_container_gets_the_newest_released_version_it_can_run_or_nothing() {
        let w = world();
        let v = |t: &str| semver::Version::parse(t).unwrap();
        // 1.0.0 (any container) was the stable before 1.1.0 (containers 2.0.0 and up); 1.2.0
        // (3.0.0 and up) rolls out to everyone; 1.3.0 (any) was rolled back from.
        let (v11, v12, v13) = (add_version(&w, "1.1.0", Some("2.0.0")), add_version(&w, "1.2.0", Some("3.0.0")), add_version(&w, "1.3.0", None));
        release(&w, move |r| {
            r.make_stable(v13);
            r.make_stable(v11);
            r.candidate = Some(releases::Candidate { shipped: v12, rollout: 1000, seed: crate::server::rollout::new_seed(), paused: None });
        });
        let content = &served(&w);
        let install = Some("install-00001");
        let (none, old, mid, new) = (content.select(install, None), content.select(install, Some(&v("1.9.9"))), content.select(install, Some(&v("2.5.0"))), content.select(install, Some(&v("3.0.0"))));
        assert_eq!(versions_in(content, none), ["1.0.0"], "no container version: only what needs none");
        assert_eq!(versions_in(content, old), ["1.0.0"]);
        assert_eq!(versions_in(content, mid), ["1.1.0"], "too old for the candidate: the stable");
        assert_eq!(versions_in(content, new), ["1.2.0"]);
        assert_eq!(versions_in(content, content.select(install, Some(&v("3.0.0-rc.1")))), ["1.1.0"], "a pre-release comes before its release");
        assert_eq!(versions_in(content, content.select(None, Some(&v("9.0.0")))), ["1.1.0"]);
        let version_of = |sel: Selection| manifest::verify_platform(&content.manifest_for(w.mp, sel).unwrap().body, &w.platform).unwrap();
        assert_eq!(version_of(old).version, "1.0.0");
        let needs = version_of(new);
        assert_eq!((needs.version.as_str(), needs.min_container_version.as_deref()), ("1.2.0", Some("3.0.0")), "the manifest says what it needs, under the signature");
        assert!(content.serves(w.mp, "1.0.0") && !content.serves(w.mp, "1.3.0"), "a version rolled back from is no fallback");
        // Once 1.0.0 needs 1.5.0 too, a 1.0 container gets nothing at all.
        let mp = w.mp;
        w.store
            .write_blocking(move |tx| {
                let mut old = mini_store::version(tx, mp, "1.0.0")?.unwrap();
                old.min_container = Some("1.5.0".into());
                mini_store::put_version(tx, &old)
            })
            .unwrap();
        let content = &served(&w);
        let old = content.select(install, Some(&v("1.0.0")));
        assert!(versions_in(content, old).is_empty());
        assert!(content.manifest_for(w.mp, old).is_none());
        assert_eq!(versions_in(content, content.select(install, Some(&v("1.6.0")))), ["1.0.0"]);
    }

    #[test]
    fn a_test_device_gets_the_candidate_at_any_share() {
        let w = world();
        add_candidate(&w, "1.1.0", 0, false);
        let app = w.app;
        w.store
            .write_blocking(move |tx| {
                let mut a = app_store::apps_of(tx, w.workspace)?.into_iter().find(|a| a.id == app).unwrap();
                a.test_devices = vec!["qa-device-0001".into()];
                app_store::update_app(tx, &a)
            })
            .unwrap();
        let content = &served(&w);
        assert_eq!(version_in(content, content.select(Some("qa-device-0001"), None)), "1.1.0");
        assert!((0..200).all(|i| content.select(Some(&format!("install-{i:05}")), None).candidates == 0), "0 %: nobody else");
    }

    #[test]
    fn a_paused_candidate_goes_to_nobody() {
        let w = world();
        let sha = add_candidate(&w, "1.1.0", 1000, true);
        let content = &served(&w);
        assert!((0..100).all(|i| content.select(Some(&format!("install-{i:05}")), None).candidates == 0));
        assert!(!content.has_bundle(&sha) && !content.serves(w.mp, "1.1.0"));
        assert_eq!(version_in(content, content.everything_stable()), "1.0.0");
    }

    #[tokio::test]
    async fn refresh_swaps_in_what_was_committed_before_it_was_called() {
        let w = world();
        let container = Container::new();
        assert_eq!(code(container.snapshot().authorize(&w.access, Utc::now())), "unknown_key");
        container.refresh(&w.store).await;
        assert_eq!(code(container.snapshot().authorize(&w.access, Utc::now())), "ok");
        let (_, other, _) = add_app(&w.store, w.workspace, "Other");
        // Calls at once: every one returns with the new key served.
        let sequence = |c: &Container| served_json(&c.snapshot().authorize(&w.access, Utc::now()).unwrap().1.list)["sequence"].as_u64().unwrap();
        let before = sequence(&container);
        let (a, b) = tokio::join!(container.refresh(&w.store), container.refresh(&w.store));
        let _ = (a, b);
        assert_eq!(code(container.snapshot().authorize(&other, Utc::now())), "ok");
        // Each rebuild's lists carry a higher sequence than the last.
        assert!(sequence(&container) > before);
        container.refresh(&w.store).await;
        let after = sequence(&container);
        container.refresh(&w.store).await;
        assert!(sequence(&container) > after);
    }
}
