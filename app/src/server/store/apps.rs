//! Apps, their keys, and the workspaces' platform signing keys.

use std::net::IpAddr;
use super::Reads;

use chrono::{DateTime, Utc};
use redb::{ReadTransaction, ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::codec::{decode, encode, one, put};
use super::effects::{caused, Effect};
use super::tables::{ACCESS_KEYS_BY_HASH, APPS, APPS_BY_WORKSPACE, APP_KEYS, APP_KEYS_BY_APP, PLATFORM_KEYS};
use crate::model::apps::{Cidr, KeyKind, KeyView};
use crate::model::AppError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct App {
    pub id: Uuid,
    pub workspace: Uuid,
    pub name: String,
    pub ios_bundle_id: Option<String>,
    pub android_package: Option<String>,
    pub created: DateTime<Utc>,
    pub created_by: String,
    /// Install ids that get every candidate rolling out to the App, whatever its share.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub test_devices: Vec<String>,
}

/// A key of an App. `material` is what the server keeps: the SHA-256 of an Accessing Key, the
/// public key of an Upload Key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Key {
    pub id: String,
    pub kind: KeyKind,
    pub app: Uuid,
    pub workspace: Uuid,
    pub material: [u8; 32],
    /// The key's last characters, to recognise it when masked.
    pub tail: String,
    pub created: DateTime<Utc>,
    /// Set by a rotation: the key works until then.
    pub expires: Option<DateTime<Utc>>,
    pub revoked: Option<DateTime<Utc>>,
    pub last_used: Option<DateTime<Utc>>,
}

impl Key {
    /// A new key of `app` made at `now`: `text` is what its holder is given once, `material`
    /// what the server keeps.
    pub fn new(app: &App, kind: KeyKind, text: &str, material: [u8; 32], now: DateTime<Utc>) -> Key {
        Key {
            id: crate::server::keys::key_id(&material),
            kind,
            app: app.id,
            workspace: app.workspace,
            material,
            tail: crate::server::keys::key_tail(text),
            created: now,
            expires: None,
            revoked: None,
            last_used: None,
        }
    }

    /// Whether the key may be used at `now`.
    pub fn live(&self, now: DateTime<Utc>) -> bool {
        self.revoked.is_none() && self.expires.is_none_or(|e| now < e)
    }

    pub fn view(&self, now: DateTime<Utc>) -> KeyView {
        let prefix = match self.kind {
            KeyKind::Accessing => crate::server::keys::ACCESS_PREFIX,
            KeyKind::Upload => crate::server::keys::UPLOAD_PREFIX,
        };
        KeyView {
            id: self.id.clone(),
            kind: self.kind,
            masked: format!("{prefix}…{}", self.tail),
            created: self.created,
            expires: self.expires,
            revoked: self.revoked,
            last_used: self.last_used,
            live: self.live(now),
            made_by: None,
            shown_to: Vec::new(),
            scope: None,
        }
    }
}

/// What an Upload Key may upload to. Empty lists are "unrestricted": every mini program of the
/// key's workspace, from any address — which is how a record from before scopes reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadScope {
    /// The mini programs (of the key's workspace) it may upload to; none: all of them.
    #[serde(default)]
    pub mini_programs: Vec<Uuid>,
    /// The client address ranges it may upload from, canonical CIDR (`10.0.0.0/8`); none: any.
    #[serde(default)]
    pub networks: Vec<String>,
}

/// A key as stored: the [`Key`] and, in the same JSON object, what the console keeps beside it
/// — an Upload Key's scope, and who made the key and was shown it in full. A record from before
/// these fields reads as unrestricted, with nobody recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyRecord {
    #[serde(flatten)]
    pub key: Key,
    #[serde(default)]
    pub scope: UploadScope,
    /// The account that made the key (by adding its App or rotating the key before it).
    #[serde(default)]
    pub created_by: Option<Uuid>,
    /// The accounts that were shown the key in full (it is shown once, to whoever made it).
    #[serde(default)]
    pub shown_to: Vec<Uuid>,
}

impl KeyRecord {
    /// A new key, made by `by`, who is shown it.
    pub fn new(key: Key, scope: UploadScope, by: Uuid) -> KeyRecord {
        KeyRecord { key, scope, created_by: Some(by), shown_to: vec![by] }
    }

    /// Whether `account` was shown this key in full.
    pub fn shown(&self, account: Uuid) -> bool {
        self.shown_to.contains(&account)
    }
}

/// Why an Upload Key's scope refuses an upload. The Studio API answers 403 with [`code`] and
/// [`message`](ScopeRefusal::message).
///
/// [`code`]: ScopeRefusal::code
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeRefusal {
    /// The mini program is not one of those the key is limited to.
    MiniProgram,
    /// The client address is outside the key's ranges, or unknown while the key has ranges.
    Address(Option<IpAddr>),
}

impl ScopeRefusal {
    /// The Studio API's error code.
    pub fn code(&self) -> &'static str {
        match self {
            ScopeRefusal::MiniProgram => "key_scope_mini_program",
            ScopeRefusal::Address(_) => "key_scope_address",
        }
    }

    pub fn message(&self) -> String {
        match self {
            ScopeRefusal::MiniProgram => "This Upload Key is limited to other mini programs of the workspace: a Workspace Admin can change its scope on the App's page.".into(),
            ScopeRefusal::Address(Some(ip)) => format!("This Upload Key may not be used from {ip}: it is limited to other client address ranges, which a Workspace Admin can change on the App's page."),
            ScopeRefusal::Address(None) => "This Upload Key is limited to client address ranges, and the server could not tell this request's address.".into(),
        }
    }
}

impl std::fmt::Display for ScopeRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

/// Whether `key`'s scope lets it upload to (or list the versions of) `mini_program` from
/// `client`. Only the scope is checked — the caller has already checked the key is a live
/// Upload Key of the mini program's workspace. A stored range that can't be read matches
/// nothing (refused rather than widened).
pub fn upload_scope_allows(key: &KeyRecord, mini_program: Uuid, client: Option<IpAddr>) -> Result<(), ScopeRefusal> {
    let scope = &key.scope;
    if !scope.mini_programs.is_empty() && !scope.mini_programs.contains(&mini_program) {
        return Err(ScopeRefusal::MiniProgram);
    }
    if !scope.networks.is_empty() {
        let Some(ip) = client else { return Err(ScopeRefusal::Address(None)) };
        if !scope.networks.iter().filter_map(|n| Cidr::parse(n).ok()).any(|n| n.contains(ip)) {
            return Err(ScopeRefusal::Address(Some(ip)));
        }
    }
    Ok(())
}

/// A workspace's platform signing key. The seed never leaves the server.
#[derive(Clone, Serialize, Deserialize)]
pub struct PlatformKey {
    pub seed: [u8; 32],
    pub public: [u8; 32],
    pub created: DateTime<Utc>,
}

pub fn insert_app(tx: &WriteTransaction, app: &App) -> Result<(), AppError> {
    put(tx, APPS, app.id.as_u128(), app)?;
    tx.open_table(APPS_BY_WORKSPACE)?
        .insert((app.workspace.as_u128(), app.id.as_u128()), ())?;
    Ok(())
}

/// Replaces a stored App (what it serves may change: its test devices).
pub fn update_app(tx: &WriteTransaction, app: &App) -> Result<(), AppError> {
    caused(Effect::Served);
    put(tx, APPS, app.id.as_u128(), app)
}

impl super::OfWorkspace for App {
    fn workspace(&self) -> Uuid {
        self.workspace
    }
}

/// An App of `workspace` (an App of another workspace is `None`).
pub fn app_of(tx: &impl Reads, workspace: Uuid, id: Uuid) -> Result<Option<App>, AppError> {
    tx.row_of(APPS, workspace, id)
}

fn apps_in(
    index: &impl ReadableTable<(u128, u128), ()>,
    apps: &impl ReadableTable<u128, &'static [u8]>,
    workspace: Uuid,
) -> Result<Vec<App>, AppError> {
    let mut out: Vec<App> = super::codec::indexed(index, apps, workspace.as_u128())?;
    out.sort_by_key(|a| a.name.to_lowercase());
    Ok(out)
}

/// The Apps of a workspace, by name.
pub fn apps_of(tx: &impl Reads, workspace: Uuid) -> Result<Vec<App>, AppError> {
    apps_in(&tx.open(APPS_BY_WORKSPACE)?, &tx.open(APPS)?, workspace)
}

/// Stores a key with its scope and holders, and indexes it.
pub fn put_key_record(tx: &WriteTransaction, record: &KeyRecord) -> Result<(), AppError> {
    caused(Effect::Served);
    let key = &record.key;
    put(tx, APP_KEYS, key.id.as_str(), record)?;
    tx.open_table(APP_KEYS_BY_APP)?
        .insert((key.app.as_u128(), key.id.as_str()), ())?;
    if key.kind == KeyKind::Accessing {
        tx.open_table(ACCESS_KEYS_BY_HASH)?
            .insert(&key.material, key.id.as_str())?;
    }
    Ok(())
}

/// Stores a key's own fields; the scope and holders already stored with it are kept (a new key
/// gets none: unrestricted, nobody recorded).
pub fn put_key(tx: &WriteTransaction, key: &Key) -> Result<(), AppError> {
    let record = match key_record(tx, &key.id)? {
        Some(r) => KeyRecord { key: key.clone(), ..r },
        None => KeyRecord { key: key.clone(), scope: UploadScope::default(), created_by: None, shown_to: Vec::new() },
    };
    put_key_record(tx, &record)
}

/// Whether a key id is taken (ids are 64 bits of a hash; a clash is retried).
pub fn key_exists(tx: &WriteTransaction, id: &str) -> Result<bool, AppError> {
    Ok(tx.open_table(APP_KEYS)?.get(id)?.is_some())
}

fn key_in(table: &impl ReadableTable<&'static str, &'static [u8]>, id: &str) -> Result<Option<Key>, AppError> {
    one(table, id)
}

fn record_in(table: &impl ReadableTable<&'static str, &'static [u8]>, id: &str) -> Result<Option<KeyRecord>, AppError> {
    one(table, id)
}

/// A key with its scope and holders (for the Studio API: [`upload_scope_allows`]).
pub fn key_record(tx: &impl Reads, id: &str) -> Result<Option<KeyRecord>, AppError> {
    record_in(&tx.open(APP_KEYS)?, id)
}

pub fn key(tx: &impl Reads, id: &str) -> Result<Option<Key>, AppError> {
    key_in(&tx.open(APP_KEYS)?, id)
}

/// The Accessing Key whose SHA-256 is `hash`.
pub fn access_key_by_hash(tx: &ReadTransaction, hash: &[u8; 32]) -> Result<Option<Key>, AppError> {
    let id = tx.open_table(ACCESS_KEYS_BY_HASH)?.get(hash)?.map(|v| v.value().to_string());
    match id {
        Some(id) => key(tx, &id),
        None => Ok(None),
    }
}

/// Every Accessing Key, revoked and expired ones included (for the container API's snapshot).
pub fn access_keys(tx: &ReadTransaction) -> Result<Vec<Key>, AppError> {
    let index = tx.open_table(ACCESS_KEYS_BY_HASH)?;
    let keys = tx.open_table(APP_KEYS)?;
    let mut out = Vec::new();
    for row in index.iter()? {
        let (_, id) = row?;
        if let Some(k) = key_in(&keys, id.value())? {
            out.push(k);
        }
    }
    Ok(out)
}

fn records_in(
    index: &impl ReadableTable<(u128, &'static str), ()>,
    keys: &impl ReadableTable<&'static str, &'static [u8]>,
    app: Uuid,
) -> Result<Vec<KeyRecord>, AppError> {
    let a = app.as_u128();
    let mut out = Vec::new();
    for row in index.range((a, "")..)? {
        let (k, _) = row?;
        let (owner, id) = k.value();
        if owner != a {
            break;
        }
        if let Some(v) = keys.get(id)? {
            out.push(decode::<KeyRecord>(v.value())?);
        }
    }
    out.sort_by(|x, y| y.key.created.cmp(&x.key.created));
    Ok(out)
}

/// Every key an App has had, newest first.
pub fn keys_of(tx: &impl Reads, app: Uuid) -> Result<Vec<Key>, AppError> {
    Ok(key_records_of(tx, app)?.into_iter().map(|r| r.key).collect())
}

/// Every key an App has had, with scopes and holders, newest first.
pub fn key_records_of(tx: &impl Reads, app: Uuid) -> Result<Vec<KeyRecord>, AppError> {
    records_in(&tx.open(APP_KEYS_BY_APP)?, &tx.open(APP_KEYS)?, app)
}

/// Records when keys were last used (a batch, written at most once a minute per key).
pub fn record_last_used(tx: &WriteTransaction, uses: &[(String, DateTime<Utc>)]) -> Result<(), AppError> {
    let mut table = tx.open_table(APP_KEYS)?;
    for (id, at) in uses {
        let current = one::<_, KeyRecord>(&table, id.as_str())?;
        if let Some(mut r) = current {
            if r.key.last_used.is_none_or(|l| l < *at) {
                r.key.last_used = Some(*at);
                table.insert(id.as_str(), encode(&r)?.as_slice())?;
            }
        }
    }
    Ok(())
}

pub fn put_platform_key(tx: &WriteTransaction, workspace: Uuid, key: &PlatformKey) -> Result<(), AppError> {
    caused(Effect::Served);
    put(tx, PLATFORM_KEYS, workspace.as_u128(), key)
}

pub fn platform_key(tx: &ReadTransaction, workspace: Uuid) -> Result<Option<PlatformKey>, AppError> {
    tx.row(PLATFORM_KEYS, workspace.as_u128())
}

/// Creates the workspace's platform signing key (at generation, or by the migration for older
/// workspaces); an existing key is kept.
pub fn ensure_platform_key(tx: &WriteTransaction, workspace: Uuid) -> Result<(), AppError> {
    if tx.open_table(PLATFORM_KEYS)?.get(workspace.as_u128())?.is_some() {
        return Ok(());
    }
    let (seed, public) = crate::server::keys::new_platform_key();
    put_platform_key(tx, workspace, &PlatformKey { seed, public, created: super::now() })
}

#[cfg(test)]
mod tests {
    use super::super::Store;
    use super::*;

    fn key(id: &str, kind: KeyKind, app: Uuid) -> Key {
        Key {
            id: id.into(),
            kind,
            app,
            workspace: Uuid::nil(),
            material: [7; 32],
            tail: "abcd".into(),
            created: Utc::now(),
            expires: None,
            revoked: None,
            last_used: None,
        }
    }

    #[test]
    fn keys_are_found_by_app_by_id_and_by_hash() {
        let store = Store::memory();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        store
            .write_blocking(|tx| {
                put_key(tx, &key("00000000000000a1", KeyKind::Accessing, a))?;
                put_key(tx, &key("00000000000000a2", KeyKind::Upload, a))?;
                put_key(tx, &key("00000000000000b1", KeyKind::Upload, b))?;
                record_last_used(tx, &[("00000000000000a2".into(), Utc::now())])
            })
            .unwrap();
        let mine = store.read_blocking(|tx| keys_of(tx, a)).unwrap();
        assert_eq!(mine.len(), 2);
        assert!(mine.iter().any(|k| k.last_used.is_some()));
        let by_hash = store.read_blocking(|tx| access_key_by_hash(tx, &[7; 32])).unwrap().unwrap();
        assert_eq!(by_hash.id, "00000000000000a1");
        assert!(store.read_blocking(|tx| access_key_by_hash(tx, &[8; 32])).unwrap().is_none());
    }

    /// A key record as an earlier build wrote it (before scopes and holders), byte for byte.
    const KEY_BEFORE_SCOPES: &str = r#"{"id":"00000000000000a2","kind":"Upload","app":"0190f5a8-0000-7000-8000-000000000001","workspace":"0190f5a8-0000-7000-8000-000000000002","material":[7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7],"tail":"abcd","created":"2025-06-01T10:00:00Z","expires":null,"revoked":null,"last_used":"2025-06-02T08:30:00Z"}"#;

    #[test]
    fn stored_keys_from_before_scopes_read_as_unrestricted_and_the_encoding_is_fixed() {
        let old: KeyRecord = crate::server::store::codec::decode(KEY_BEFORE_SCOPES.as_bytes()).unwrap();
        assert_eq!(old.key.id, "00000000000000a2");
        assert_eq!(old.key.kind, KeyKind::Upload);
        assert_eq!(old.key.material, [7; 32]);
        assert!(old.key.last_used.is_some());
        assert_eq!(old.scope, UploadScope::default());
        assert_eq!((old.created_by, old.shown_to.len()), (None, 0));
        assert!(upload_scope_allows(&old, Uuid::new_v4(), None).is_ok(), "unrestricted");
        // What this build writes: the key's fields, then the scope and holders, by these names.
        let by = Uuid::from_u128(3);
        let mut new = KeyRecord::new(old.key.clone(), UploadScope { mini_programs: vec![Uuid::from_u128(4)], networks: vec!["10.0.0.0/8".into()] }, by);
        new.key.last_used = None;
        let text = String::from_utf8(crate::server::store::codec::encode(&new).unwrap()).unwrap();
        assert_eq!(
            text,
            r#"{"id":"00000000000000a2","kind":"Upload","app":"0190f5a8-0000-7000-8000-000000000001","workspace":"0190f5a8-0000-7000-8000-000000000002","material":[7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7],"tail":"abcd","created":"2025-06-01T10:00:00Z","expires":null,"revoked":null,"last_used":null,"scope":{"mini_programs":["00000000-0000-0000-0000-000000000004"],"networks":["10.0.0.0/8"]},"created_by":"00000000-0000-0000-0000-000000000003","shown_to":["00000000-0000-0000-0000-000000000003"]}"#
        );
        // The key alone still reads from the new record (what older readers of `Key` see).
        let plain: Key = crate::server::store::codec::decode(text.as_bytes()).unwrap();
        assert_eq!(plain.id, new.key.id);
    }

    #[test]
    fn writing_a_key_keeps_its_scope_and_holders() {
        let store = Store::memory();
        let (app, by) = (Uuid::new_v4(), Uuid::new_v4());
        let scope = UploadScope { mini_programs: vec![Uuid::new_v4()], networks: vec![] };
        let record = KeyRecord::new(key("00000000000000c1", KeyKind::Upload, app), scope.clone(), by);
        store.write_blocking(|tx| put_key_record(tx, &record)).unwrap();
        let mut k = record.key.clone();
        k.revoked = Some(Utc::now());
        store
            .write_blocking(|tx| {
                put_key(tx, &k)?;
                record_last_used(tx, &[("00000000000000c1".into(), Utc::now())])
            })
            .unwrap();
        let back = store.read_blocking(|tx| key_record(tx, "00000000000000c1")).unwrap().unwrap();
        assert!(back.key.revoked.is_some() && back.key.last_used.is_some());
        assert_eq!(back.scope, scope);
        assert_eq!((back.created_by, back.shown_to.clone()), (Some(by), vec![by]));
        assert!(back.shown(by) && !back.shown(app));
        assert_eq!(store.read_blocking(|tx| key_records_of(tx, app)).unwrap().len(), 1);
    }

    #[test]
    fn an_upload_scope_limits_mini_programs_and_addresses() {
        let (coupons, parking, other) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        let with = |mini_programs: Vec<Uuid>, networks: &[&str]| {
            let scope = UploadScope { mini_programs, networks: networks.iter().map(|n| n.to_string()).collect() };
            KeyRecord::new(key("1", KeyKind::Upload, Uuid::nil()), scope, Uuid::nil())
        };
        let open = with(vec![], &[]);
        assert_eq!(upload_scope_allows(&open, other, None), Ok(()));
        let programs = with(vec![coupons, parking], &[]);
        assert_eq!(upload_scope_allows(&programs, parking, None), Ok(()), "no ranges: any address, even unknown");
        let refused = upload_scope_allows(&programs, other, ip("10.0.0.1")).unwrap_err();
        assert_eq!((refused.code(), refused.clone()), ("key_scope_mini_program", ScopeRefusal::MiniProgram));
        assert!(refused.message().contains("other mini programs"));
        let ranges = with(vec![], &["10.0.0.0/8", "2001:db8::/32"]);
        assert_eq!(upload_scope_allows(&ranges, other, ip("10.20.30.40")), Ok(()));
        assert_eq!(upload_scope_allows(&ranges, other, ip("2001:db8::7")), Ok(()));
        assert_eq!(upload_scope_allows(&ranges, other, ip("::ffff:10.0.0.1")), Ok(()), "IPv4-mapped");
        let outside = upload_scope_allows(&ranges, other, ip("192.0.2.1")).unwrap_err();
        assert_eq!(outside.code(), "key_scope_address");
        assert!(outside.message().contains("192.0.2.1"), "{outside}");
        assert_eq!(upload_scope_allows(&ranges, other, None).unwrap_err(), ScopeRefusal::Address(None), "unknown address: refused");
        // Both rules: the mini program is checked first.
        let both = with(vec![coupons], &["10.0.0.0/8"]);
        assert_eq!(upload_scope_allows(&both, coupons, ip("10.0.0.1")), Ok(()));
        assert_eq!(upload_scope_allows(&both, parking, ip("192.0.2.1")).unwrap_err().code(), "key_scope_mini_program");
        assert_eq!(upload_scope_allows(&both, coupons, ip("192.0.2.1")).unwrap_err().code(), "key_scope_address");
        // A stored range that can't be read widens nothing.
        let broken = with(vec![], &["not a range"]);
        assert!(upload_scope_allows(&broken, coupons, ip("10.0.0.1")).is_err());
    }

    #[test]
    fn a_key_is_live_until_revoked_or_past_its_grace() {
        let now = Utc::now();
        let mut k = key("1", KeyKind::Accessing, Uuid::nil());
        assert!(k.live(now));
        k.expires = Some(now + chrono::Duration::hours(1));
        assert!(k.live(now));
        assert!(!k.live(now + chrono::Duration::hours(2)));
        k.expires = None;
        k.revoked = Some(now);
        assert!(!k.live(now));
        assert!(k.view(now).masked.starts_with("mpak_…"));
    }
}
