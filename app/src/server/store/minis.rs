//! Mini programs, who is assigned to them, their versions, and the nonces of signed requests.

use chrono::{DateTime, Utc};
use super::Reads;
use redb::{ReadTransaction, ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::codec::{self, decode, encode, one};
use super::effects::{caused, Effect};
use super::listing::{self, List, Listed, Row, Window};
use super::tables::{ASSIGNMENTS, ASSIGNMENTS_BY_MEMBER, MINI_ICONS, MINI_PROGRAMS, MINI_PROGRAMS_BY_WORKSPACE, SIGNED_NONCES, SIGNED_NONCES_BY_TIME, VERSIONS, BUNDLE_BYTES};
use crate::model::minis::{MiniRole, VersionState, VersionView};
use crate::model::{AppError, Missing, OrMissing};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MiniProgram {
    pub id: Uuid,
    pub workspace: Uuid,
    pub name: String,
    pub description: String,
    pub category: String,
    pub has_icon: bool,
    pub removed: bool,
    pub created: DateTime<Utc>,
    pub created_by: String,
    /// Activated features (codes from `model::approvals::FEATURES`), in activation order.
    #[serde(default)]
    pub features: Vec<String>,
}

/// A version as stored: its bundle is the content-addressed file named by `sha256`, the
/// canonical archive the platform re-packed from the upload (see `server::archive`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Version {
    pub mini_program: Uuid,
    pub version: String,
    pub state: VersionState,
    /// The canonical archive's size and sha256: what is stored and served.
    pub size: u64,
    pub sha256: String,
    /// The uploaded bytes' sha256 and size: what the uploader signed. Empty in versions stored
    /// before bundles were re-packed, whose stored bytes are the uploaded ones.
    #[serde(default)]
    pub uploaded_sha256: String,
    #[serde(default)]
    pub uploaded_size: u64,
    /// The oldest container version that can run it (`minContainerVersion` in its `app.json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_container: Option<String>,
    /// Who uploaded it, as people read it.
    pub uploader: String,
    /// The Upload Key that signed it, if it came from the Studio.
    pub key: Option<String>,
    /// The person who uploaded it from the console, if so.
    pub account: Option<Uuid>,
    /// The Ed25519 signature over the upload (by the Upload Key, or by the workspace's platform
    /// key for a console upload), base64url.
    pub signature: String,
    /// The signed timestamp and nonce, which with the fields above make the signed message
    /// (`keys::upload_message`), so a container can check who built the bundle.
    #[serde(default)]
    pub signed_ts: i64,
    #[serde(default)]
    pub signed_nonce: String,
    pub note: String,
    pub created: DateTime<Utc>,
}

#[cfg(test)]
impl Version {
    /// A version record for tests: 1 byte, a made-up sha256, uploaded by "test" just now.
    pub(crate) fn for_test(mini_program: Uuid, version: &str, state: VersionState) -> Version {
        Version {
            mini_program,
            version: version.into(),
            state,
            size: 1,
            sha256: "ab".repeat(32),
            uploaded_sha256: String::new(),
            uploaded_size: 0,
            min_container: None,
            uploader: "test".into(),
            key: None,
            account: None,
            signature: String::new(),
            signed_ts: 0,
            signed_nonce: String::new(),
            note: String::new(),
            created: Utc::now(),
        }
    }
}

impl Version {
    /// What the uploader signed: (sha256, size) of the bytes they sent.
    pub fn uploaded(&self) -> (&str, u64) {
        if self.uploaded_sha256.is_empty() {
            (&self.sha256, self.size)
        } else {
            (&self.uploaded_sha256, self.uploaded_size)
        }
    }

    /// Whether a Workspace Admin retired it: it is then left out of every version list and of
    /// "higher than every earlier version".
    pub fn is_retired(&self) -> bool {
        self.state == VersionState::Retired
    }

    pub fn view(&self) -> VersionView {
        VersionView {
            version: self.version.clone(),
            state: self.state,
            size: self.size,
            sha256: self.sha256.clone(),
            uploader: self.uploader.clone(),
            note: self.note.clone(),
            created: self.created,
            min_container: self.min_container.clone(),
            released_to: Vec::new(),
        }
    }
}

/// The number stored for a part in a mini program (pinned in `golden.rs`).
pub(super) fn role_code(r: MiniRole) -> u8 {
    match r {
        MiniRole::Admin => 1,
        MiniRole::Developer => 2,
    }
}

fn role_of(code: u8) -> MiniRole {
    if code == 1 {
        MiniRole::Admin
    } else {
        MiniRole::Developer
    }
}

pub fn put(tx: &WriteTransaction, mp: &MiniProgram) -> Result<(), AppError> {
    caused(Effect::Served);
    codec::put(tx, MINI_PROGRAMS, mp.id.as_u128(), mp)?;
    tx.open_table(MINI_PROGRAMS_BY_WORKSPACE)?
        .insert((mp.workspace.as_u128(), mp.id.as_u128()), ())?;
    Ok(())
}

impl super::OfWorkspace for MiniProgram {
    fn workspace(&self) -> Uuid {
        self.workspace
    }
}

/// A mini program of `workspace` (one of another workspace is `None`).
pub fn get(tx: &impl Reads, workspace: Uuid, id: Uuid) -> Result<Option<MiniProgram>, AppError> {
    tx.row_of(MINI_PROGRAMS, workspace, id)
}

/// A mini program by id alone (for the Studio, which learns the workspace from the key).
pub fn by_id(tx: &impl Reads, id: Uuid) -> Result<Option<MiniProgram>, AppError> {
    tx.row(MINI_PROGRAMS, id.as_u128())
}

/// The mini programs of a workspace, by name.
pub fn of_workspace(tx: &ReadTransaction, workspace: Uuid) -> Result<Vec<MiniProgram>, AppError> {
    let index = tx.open_table(MINI_PROGRAMS_BY_WORKSPACE)?;
    let table = tx.open_table(MINI_PROGRAMS)?;
    let mut out: Vec<MiniProgram> = super::codec::indexed(&index, &table, workspace.as_u128())?;
    out.sort_by_key(|m| m.name.to_lowercase());
    Ok(out)
}

pub fn names_taken(tx: &WriteTransaction, workspace: Uuid, name: &str) -> Result<bool, AppError> {
    let index = tx.open_table(MINI_PROGRAMS_BY_WORKSPACE)?;
    let table = tx.open_table(MINI_PROGRAMS)?;
    let ws = workspace.as_u128();
    for row in index.range((ws, 0)..=(ws, u128::MAX))? {
        if let Some(v) = table.get(row?.0.value().1)? {
            if decode::<MiniProgram>(v.value())?.name.to_lowercase() == name.to_lowercase() {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

pub fn put_icon(tx: &WriteTransaction, id: Uuid, bytes: &[u8]) -> Result<(), AppError> {
    caused(Effect::Served);
    tx.open_table(MINI_ICONS)?.insert(id.as_u128(), bytes)?;
    Ok(())
}

pub fn icon(tx: &ReadTransaction, id: Uuid) -> Result<Option<Vec<u8>>, AppError> {
    let t = tx.open_table(MINI_ICONS)?;
    let v = t.get(id.as_u128())?;
    Ok(v.map(|v| v.value().to_vec()))
}

pub fn assign(tx: &WriteTransaction, workspace: Uuid, mp: Uuid, account: Uuid, role: MiniRole) -> Result<(), AppError> {
    tx.open_table(ASSIGNMENTS)?
        .insert((mp.as_u128(), account.as_u128()), role_code(role))?;
    tx.open_table(ASSIGNMENTS_BY_MEMBER)?
        .insert((workspace.as_u128(), account.as_u128(), mp.as_u128()), ())?;
    Ok(())
}

pub fn unassign(tx: &WriteTransaction, workspace: Uuid, mp: Uuid, account: Uuid) -> Result<bool, AppError> {
    let had = tx
        .open_table(ASSIGNMENTS)?
        .remove((mp.as_u128(), account.as_u128()))?
        .is_some();
    tx.open_table(ASSIGNMENTS_BY_MEMBER)?
        .remove((workspace.as_u128(), account.as_u128(), mp.as_u128()))?;
    Ok(had)
}

/// Every assignment of a member in a workspace (when they leave or are removed).
pub fn unassign_member(tx: &WriteTransaction, workspace: Uuid, account: Uuid) -> Result<(), AppError> {
    let mps: Vec<u128> = {
        let index = tx.open_table(ASSIGNMENTS_BY_MEMBER)?;
        let (w, a) = (workspace.as_u128(), account.as_u128());
        let mut out = Vec::new();
        for row in index.range((w, a, 0)..=(w, a, u128::MAX))? {
            out.push(row?.0.value().2);
        }
        out
    };
    for mp in mps {
        unassign(tx, workspace, Uuid::from_u128(mp), account)?;
    }
    Ok(())
}

fn role_in(t: &impl ReadableTable<(u128, u128), u8>, mp: Uuid, account: Uuid) -> Result<Option<MiniRole>, AppError> {
    Ok(t.get((mp.as_u128(), account.as_u128()))?.map(|v| role_of(v.value())))
}

/// A member's part in a mini program.
pub fn role(tx: &impl Reads, mp: Uuid, account: Uuid) -> Result<Option<MiniRole>, AppError> {
    role_in(&tx.open(ASSIGNMENTS)?, mp, account)
}

/// Who is assigned to a mini program: (account, role).
pub fn members(tx: &impl Reads, mp: Uuid) -> Result<Vec<(Uuid, MiniRole)>, AppError> {
    let t = tx.open(ASSIGNMENTS)?;
    let m = mp.as_u128();
    let mut out = Vec::new();
    for row in t.range((m, 0)..=(m, u128::MAX))? {
        let (k, v) = row?;
        out.push((Uuid::from_u128(k.value().1), role_of(v.value())));
    }
    Ok(out)
}

/// The mini programs a member is assigned to in a workspace.
pub fn assigned_to(tx: &ReadTransaction, workspace: Uuid, account: Uuid) -> Result<Vec<Uuid>, AppError> {
    let index = tx.open_table(ASSIGNMENTS_BY_MEMBER)?;
    let (w, a) = (workspace.as_u128(), account.as_u128());
    let mut out = Vec::new();
    for row in index.range((w, a, 0)..=(w, a, u128::MAX))? {
        out.push(Uuid::from_u128(row?.0.value().2));
    }
    Ok(out)
}

/// One version of a mini program.
pub fn version(tx: &impl Reads, mp: Uuid, version: &str) -> Result<Option<Version>, AppError> {
    tx.row(VERSIONS, (mp.as_u128(), version))
}

/// Stores a version's record. A retired version's record is final: a version number, once
/// uploaded, is never used for other bytes, so an upload of a retired number is refused here
/// (409, field "Version") whatever checked it before.
pub fn put_version(tx: &WriteTransaction, v: &Version) -> Result<(), AppError> {
    // No effect: a version is served only once a release names it, and what is served of it (its
    // digests and size) never changes after the upload; `releases::put` causes the effect.
    let mut table = tx.open_table(VERSIONS)?;
    let key = (v.mini_program.as_u128(), v.version.as_str());
    let before: Option<Version> = one(&table, key)?;
    if before.as_ref().is_some_and(|b| b.is_retired() && !v.is_retired()) {
        return Err(AppError::conflict(
            "Version",
            format!("{} was uploaded before and retired; a version number is never used twice, so choose another", v.version),
        ));
    }
    table.insert(key, encode(v)?.as_slice())?;
    drop(table);
    if before.is_none() {
        let mp = by_id(tx, v.mini_program)?.or_missing(Missing::MiniProgram)?;
        let mut bytes = tx.open_table(BUNDLE_BYTES)?;
        let held = bytes.get(mp.workspace.as_u128())?.map_or(0, |b| b.value());
        bytes.insert(mp.workspace.as_u128(), held.saturating_add(v.size))?;
    }
    index_version(tx, v)
}

/// The bytes of bundles `workspace`'s versions hold: every version stored there, retired ones
/// too (their bundles stay).
pub fn bundle_bytes(tx: &impl Reads, workspace: Uuid) -> Result<u64, AppError> {
    Ok(tx.open(BUNDLE_BYTES)?.get(workspace.as_u128())?.map_or(0, |b| b.value()))
}

/// Counts every workspace's bundle bytes again from the versions (a migration's job, and what
/// `check` compares with).
pub fn bundle_bytes_by_workspace(tx: &impl Reads) -> Result<std::collections::BTreeMap<u128, u64>, AppError> {
    let programs = tx.open(MINI_PROGRAMS)?;
    let mut workspace_of = std::collections::HashMap::new();
    for row in programs.iter()? {
        let mp: MiniProgram = decode(row?.1.value())?;
        workspace_of.insert(mp.id.as_u128(), mp.workspace.as_u128());
    }
    let mut held = std::collections::BTreeMap::new();
    for row in tx.open(VERSIONS)?.iter()? {
        let v: Version = decode(row?.1.value())?;
        if let Some(w) = workspace_of.get(&v.mini_program.as_u128()) {
            *held.entry(*w).or_insert(0u64) += v.size;
        }
    }
    Ok(held)
}

/// Sets every workspace's bundle bytes from its versions.
pub fn count_bundle_bytes(tx: &WriteTransaction) -> Result<(), AppError> {
    let held = bundle_bytes_by_workspace(tx)?;
    let mut bytes = tx.open_table(BUNDLE_BYTES)?;
    bytes.retain(|_, _| false)?;
    for (w, n) in held {
        bytes.insert(w, n)?;
    }
    Ok(())
}

/// A mini program's versions as the console lists them (retired ones left out), newest first.
pub const VERSION_LIST: List = List { code: 11, sorts: &["created"], default_sort: "-created" };

/// A version's place in its list: its upload time, then its number (so the key names the
/// version); its row id is the first 16 bytes of the SHA-256 of the number.
fn version_key(v: &Version) -> (Vec<u8>, u128) {
    use sha2::{Digest, Sha256};
    let mut key = crate::model::page::KeyValue::from(v.created).bytes();
    key.extend_from_slice(v.version.as_bytes());
    let h = Sha256::digest(v.version.as_bytes());
    (key, u128::from_be_bytes(h[..16].try_into().expect("16 bytes")))
}

fn index_version(tx: &WriteTransaction, v: &Version) -> Result<(), AppError> {
    let (key, id) = version_key(v);
    let row = (!v.is_retired()).then(|| Row { filters: vec![0], keys: vec![key] });
    listing::set(tx, VERSION_LIST, v.mini_program.as_u128(), id, row.as_ref())
}

/// Lists every version again (a migration's job).
pub fn reindex(tx: &WriteTransaction) -> Result<(), AppError> {
    listing::clear(tx, VERSION_LIST)?;
    let all: Vec<Version> = listing::records(tx, VERSIONS)?;
    all.iter().try_for_each(|v| index_version(tx, v))
}

/// A page of a mini program's versions that count (retired ones left out): only the page's are
/// read.
pub fn versions_page(tx: &ReadTransaction, mp: Uuid, window: &Window) -> Result<Listed<VersionView>, AppError> {
    let t = tx.open_table(VERSIONS)?;
    let query = listing::Query { scope: mp.as_u128(), filter: 0, window };
    listing::page_keyed(tx, VERSION_LIST, &query, |key, _| {
        let Some(number) = key.get(8..).and_then(|n| std::str::from_utf8(n).ok()) else { return Ok(None) };
        t.get((mp.as_u128(), number))?.map(|v| decode::<Version>(v.value()).map(|v| v.view())).transpose()
    })
}

fn versions_in(table: &impl ReadableTable<(u128, &'static str), &'static [u8]>, mp: Uuid, retired: bool) -> Result<Vec<Version>, AppError> {
    let m = mp.as_u128();
    let mut out = Vec::new();
    for row in table.range((m, "")..)? {
        let (k, v) = row?;
        if k.value().0 != m {
            break;
        }
        let v = decode::<Version>(v.value())?;
        if retired || !v.is_retired() {
            out.push(v);
        }
    }
    out.sort_by(|a, b| b.created.cmp(&a.created));
    Ok(out)
}

/// The versions of a mini program that count, newest first: retired ones are left out (of the
/// console's and the Studio API's lists, of "the newest version", of "higher than every
/// earlier one").
pub fn versions(tx: &impl Reads, mp: Uuid) -> Result<Vec<Version>, AppError> {
    versions_in(&tx.open(VERSIONS)?, mp, false)
}

/// Every version of a mini program, retired ones included, newest first.
pub fn all_versions(tx: &ReadTransaction, mp: Uuid) -> Result<Vec<Version>, AppError> {
    versions_in(&tx.open_table(VERSIONS)?, mp, true)
}

/// The highest semantic version among `versions` that are not retired: what a new upload must be
/// higher than. Version texts that don't parse are skipped (uploads are checked, so there are none).
pub fn highest_live_version(versions: &[Version]) -> Option<semver::Version> {
    versions
        .iter()
        .filter(|v| !v.is_retired())
        .filter_map(|v| semver::Version::parse(&v.version).ok())
        .max_by(|a, b| a.cmp_precedence(b))
}

/// Whether a signed request's nonce was used already (a point read).
pub fn nonce_used(tx: &ReadTransaction, key: &str, nonce: &str) -> Result<bool, AppError> {
    Ok(tx.open_table(SIGNED_NONCES)?.get((key, nonce))?.is_some())
}

/// Records a signed request's nonce; `false` when it was seen before (a replay). Nonces older
/// than `keep_secs` are forgotten (a range of the time index), since their timestamps are
/// refused anyway.
pub fn use_nonce(tx: &WriteTransaction, key: &str, nonce: &str, now: i64, keep_secs: i64) -> Result<bool, AppError> {
    let mut t = tx.open_table(SIGNED_NONCES)?;
    if t.get((key, nonce))?.is_some() {
        return Ok(false);
    }
    let mut by_time = tx.open_table(SIGNED_NONCES_BY_TIME)?;
    let expired: Vec<(i64, String, String)> = {
        let mut out = Vec::new();
        for row in by_time.range((i64::MIN, "", "")..(now - keep_secs, "", ""))? {
            let row = row?;
            let (ts, k, n) = row.0.value();
            out.push((ts, k.to_string(), n.to_string()));
        }
        out
    };
    for (ts, k, n) in expired {
        t.remove((k.as_str(), n.as_str()))?;
        by_time.remove((ts, k.as_str(), n.as_str()))?;
    }
    t.insert((key, nonce), now)?;
    by_time.insert((now, key, nonce), ())?;
    Ok(true)
}


/// "Assigned to Mini Program: Coupons, Parking" (or "unassigned") for a member.
pub fn assignment_text(tx: &redb::ReadTransaction, workspace: Uuid, account: Uuid) -> Result<String, AppError> {
    let mut names = Vec::new();
    for id in assigned_to(tx, workspace, account)? {
        if let Some(p) = get(tx, workspace, id)? {
            names.push(p.name);
        }
    }
    names.sort_by_key(|n| n.to_lowercase());
    Ok(if names.is_empty() { "unassigned".into() } else { names.join(", ") })
}

#[cfg(test)]
mod tests {
    use super::super::Store;
    use super::*;

    #[test]
    fn assignments_are_found_both_ways_and_removed_with_the_member() {
        let store = Store::memory();
        let (ws, mp, ann) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        store.write_blocking(|tx| assign(tx, ws, mp, ann, MiniRole::Developer)).unwrap();
        assert_eq!(store.read_blocking(|tx| role(tx, mp, ann)).unwrap(), Some(MiniRole::Developer));
        assert_eq!(store.read_blocking(|tx| assigned_to(tx, ws, ann)).unwrap(), vec![mp]);
        store.write_blocking(|tx| unassign_member(tx, ws, ann)).unwrap();
        assert_eq!(store.read_blocking(|tx| role(tx, mp, ann)).unwrap(), None);
        assert!(store.read_blocking(|tx| members(tx, mp)).unwrap().is_empty());
    }

    fn record(mp: Uuid, text: &str, state: VersionState) -> Version {
        Version::for_test(mp, text, state)
    }

    /// A mini program of `workspace`, stored.
    fn program(tx: &WriteTransaction, workspace: Uuid) -> Result<Uuid, AppError> {
        let mp = MiniProgram { id: Uuid::now_v7(), workspace, name: format!("mp-{}", Uuid::new_v4().simple()), ..super::super::golden::mini_program() };
        put(tx, &mp)?;
        Ok(mp.id)
    }

    #[test]
    fn a_workspace_counts_the_bytes_of_every_version_it_stores_once() {
        let store = Store::memory();
        let (acme, other) = (Uuid::new_v4(), Uuid::new_v4());
        let sized = |mp, text: &str, size| Version { size, ..record(mp, text, VersionState::Uploaded) };
        store
            .write_blocking(move |tx| {
                let (a, b, c) = (program(tx, acme)?, program(tx, acme)?, program(tx, other)?);
                put_version(tx, &sized(a, "1.0.0", 100))?;
                put_version(tx, &sized(b, "1.0.0", 20))?;
                put_version(tx, &sized(c, "1.0.0", 7))?;
                // A version changing state (released, retired) is not stored again.
                put_version(tx, &Version { state: VersionState::Retired, ..sized(a, "1.0.0", 100) })?;
                put_version(tx, &sized(a, "1.1.0", 3))
            })
            .unwrap();
        let held = |w| store.read_blocking(move |tx| bundle_bytes(tx, w)).unwrap();
        assert_eq!((held(acme), held(other), held(Uuid::new_v4())), (123, 7, 0));
        // Counted again from the versions (the migration, and what `check` compares): the same.
        store.write_blocking(|tx| {
            tx.open_table(BUNDLE_BYTES)?.insert(acme.as_u128(), 1)?;
            count_bundle_bytes(tx)
        }).unwrap();
        assert_eq!((held(acme), held(other)), (123, 7));
        // A version of no known mini program is refused: it would be counted nowhere.
        let e = store.write_blocking(|tx| put_version(tx, &record(Uuid::new_v4(), "1.0.0", VersionState::Uploaded))).unwrap_err();
        assert_eq!(e.status(), 404);
    }

    /// Every state, by the name an earlier build stored it under (and `Retired`, this build's).
    #[test]
    fn version_states_are_stored_by_their_names() {
        use VersionState::*;
        let named = [
            (Uploaded, "Uploaded"),
            (InReview, "InReview"),
            (Approved, "Approved"),
            (Released, "Released"),
            (Rejected, "Rejected"),
            (Superseded, "Superseded"),
            (Removed, "Removed"),
            (Retired, "Retired"),
        ];
        for (state, name) in named {
            assert_eq!(encode(&state).unwrap(), format!("\"{name}\"").into_bytes());
            assert_eq!(decode::<VersionState>(format!("\"{name}\"").as_bytes()).unwrap(), state);
        }
        // A record as an earlier build wrote it reads as it was.
        let old = br#"{"mini_program":"0190f5a8-0000-7000-8000-000000000003","version":"1.2.0","state":"Rejected","size":10,"sha256":"abab","uploader":"Upload Key 00000000000000a2 (Wallet)","key":"00000000000000a2","account":null,"signature":"c2ln","signed_ts":1748772000,"signed_nonce":"bm9uY2U","note":"","created":"2025-06-01T10:00:00Z"}"#;
        let v: Version = decode(old).unwrap();
        assert_eq!((v.version.as_str(), v.state, v.is_retired()), ("1.2.0", VersionState::Rejected, false));
    }

    #[test]
    fn retired_versions_are_left_out_of_lists_and_of_the_highest() {
        let store = Store::memory();
        let mp = store.write_blocking(|tx| program(tx, Uuid::new_v4())).unwrap();
        store
            .write_blocking(|tx| {
                put_version(tx, &record(mp, "1.0.0", VersionState::Released))?;
                put_version(tx, &record(mp, "1.1.0", VersionState::Rejected))?;
                put_version(tx, &record(mp, "18446744073709551615.0.0", VersionState::Retired))
            })
            .unwrap();
        let live = store.read_blocking(|tx| versions(tx, mp)).unwrap();
        assert_eq!(live.iter().map(|v| v.version.as_str()).collect::<Vec<_>>(), vec!["1.1.0", "1.0.0"]);
        assert_eq!(store.read_blocking(|tx| all_versions(tx, mp)).unwrap().len(), 3);
        assert_eq!(store.write_blocking(|tx| versions(tx, mp)).unwrap().len(), 2);
        assert_eq!(highest_live_version(&live), Some(semver::Version::new(1, 1, 0)));
        let all = store.read_blocking(|tx| all_versions(tx, mp)).unwrap();
        assert_eq!(highest_live_version(&all), Some(semver::Version::new(1, 1, 0)), "retired ones don't count, even when passed");
        assert_eq!(highest_live_version(&[]), None);
        // The retired number is not used again.
        let again = store.write_blocking(|tx| put_version(tx, &record(mp, "18446744073709551615.0.0", VersionState::Uploaded))).unwrap_err();
        assert_eq!((again.status(), again.field()), (409, Some("Version")));
        assert!(again.to_string().contains("retired"), "{again}");
        assert!(store.read_blocking(|tx| version(tx, mp, "18446744073709551615.0.0")).unwrap().unwrap().is_retired());
    }

    #[test]
    fn a_nonce_is_accepted_once() {
        let store = Store::memory();
        assert!(store.write_blocking(|tx| use_nonce(tx, "k", "n1", 1000, 600)).unwrap());
        assert!(!store.write_blocking(|tx| use_nonce(tx, "k", "n1", 1001, 600)).unwrap());
        assert!(store.write_blocking(|tx| use_nonce(tx, "other", "n1", 1001, 600)).unwrap());
        // Long after, the old nonce is forgotten (its timestamp would be refused anyway).
        assert!(store.write_blocking(|tx| use_nonce(tx, "k", "n2", 5000, 600)).unwrap());
        assert!(store.write_blocking(|tx| use_nonce(tx, "k", "n1", 5001, 600)).unwrap());
        // Only the nonces of the last `keep_secs` are kept, found through the time index.
        let kept = store.read_blocking(|tx| {
            let t = tx.open_table(SIGNED_NONCES_BY_TIME)?;
            let rows: Vec<(i64, String, String)> = t.iter()?.map(|r| r.map(|(k, _)| { let (a, b, c) = k.value(); (a, b.to_string(), c.to_string()) })).collect::<Result<_, _>>()?;
            Ok(rows)
        }).unwrap();
        assert_eq!(kept, vec![(5000, "k".to_string(), "n2".to_string()), (5001, "k".to_string(), "n1".to_string())]);
        assert!(store.read_blocking(|tx| nonce_used(tx, "k", "n2")).unwrap());
        assert!(!store.read_blocking(|tx| nonce_used(tx, "other", "n1")).unwrap());
    }
}
