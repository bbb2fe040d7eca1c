//! Apps, their keys, and the workspaces' platform signing keys.

use chrono::{DateTime, Utc};
use redb::{ReadTransaction, ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::codec::{decode, encode};
use super::tables::{ACCESS_KEYS_BY_HASH, APPS, APPS_BY_WORKSPACE, APP_KEYS, APP_KEYS_BY_APP, PLATFORM_KEYS};
use crate::model::apps::{KeyKind, KeyView};
use crate::model::AppError;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct App {
    pub id: Uuid,
    pub workspace: Uuid,
    pub name: String,
    pub ios_bundle_id: Option<String>,
    pub android_package: Option<String>,
    pub created: DateTime<Utc>,
    pub created_by: String,
}

/// A key of an App. `material` is what the server keeps: the SHA-256 of an Accessing Key, the
/// public key of an Upload Key.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
        }
    }
}

/// A workspace's platform signing key. The seed never leaves the server.
#[derive(Clone, Serialize, Deserialize)]
pub struct PlatformKey {
    pub seed: [u8; 32],
    pub public: [u8; 32],
    pub created: DateTime<Utc>,
}

pub fn insert_app(tx: &WriteTransaction, app: &App) -> Result<(), AppError> {
    tx.open_table(APPS)?.insert(app.id.as_u128(), encode(app)?.as_slice())?;
    tx.open_table(APPS_BY_WORKSPACE)?
        .insert((app.workspace.as_u128(), app.id.as_u128()), ())?;
    Ok(())
}

fn app_in(table: &impl ReadableTable<u128, &'static [u8]>, workspace: Uuid, id: Uuid) -> Result<Option<App>, AppError> {
    let app: Option<App> = table.get(id.as_u128())?.map(|v| decode(v.value())).transpose()?;
    Ok(app.filter(|a| a.workspace == workspace))
}

/// An App of `workspace` (an App of another workspace is `None`).
pub fn app_of(tx: &ReadTransaction, workspace: Uuid, id: Uuid) -> Result<Option<App>, AppError> {
    app_in(&tx.open_table(APPS)?, workspace, id)
}

pub fn app_of_for_update(tx: &WriteTransaction, workspace: Uuid, id: Uuid) -> Result<Option<App>, AppError> {
    app_in(&tx.open_table(APPS)?, workspace, id)
}

fn apps_in(
    index: &impl ReadableTable<(u128, u128), ()>,
    apps: &impl ReadableTable<u128, &'static [u8]>,
    workspace: Uuid,
) -> Result<Vec<App>, AppError> {
    let ws = workspace.as_u128();
    let mut out = Vec::new();
    for row in index.range((ws, 0)..=(ws, u128::MAX))? {
        let id = row?.0.value().1;
        if let Some(v) = apps.get(id)? {
            out.push(decode::<App>(v.value())?);
        }
    }
    out.sort_by_key(|a| a.name.to_lowercase());
    Ok(out)
}

/// The Apps of a workspace, by name.
pub fn apps_of(tx: &ReadTransaction, workspace: Uuid) -> Result<Vec<App>, AppError> {
    apps_in(&tx.open_table(APPS_BY_WORKSPACE)?, &tx.open_table(APPS)?, workspace)
}

pub fn apps_of_for_update(tx: &WriteTransaction, workspace: Uuid) -> Result<Vec<App>, AppError> {
    apps_in(&tx.open_table(APPS_BY_WORKSPACE)?, &tx.open_table(APPS)?, workspace)
}

pub fn put_key(tx: &WriteTransaction, key: &Key) -> Result<(), AppError> {
    tx.open_table(APP_KEYS)?.insert(key.id.as_str(), encode(key)?.as_slice())?;
    tx.open_table(APP_KEYS_BY_APP)?
        .insert((key.app.as_u128(), key.id.as_str()), ())?;
    if key.kind == KeyKind::Accessing {
        tx.open_table(ACCESS_KEYS_BY_HASH)?
            .insert(&key.material, key.id.as_str())?;
    }
    Ok(())
}

/// Whether a key id is taken (ids are 64 bits of a hash; a clash is retried).
pub fn key_exists(tx: &WriteTransaction, id: &str) -> Result<bool, AppError> {
    Ok(tx.open_table(APP_KEYS)?.get(id)?.is_some())
}

fn key_in(table: &impl ReadableTable<&'static str, &'static [u8]>, id: &str) -> Result<Option<Key>, AppError> {
    table.get(id)?.map(|v| decode(v.value())).transpose()
}

pub fn key(tx: &ReadTransaction, id: &str) -> Result<Option<Key>, AppError> {
    key_in(&tx.open_table(APP_KEYS)?, id)
}

pub fn key_for_update(tx: &WriteTransaction, id: &str) -> Result<Option<Key>, AppError> {
    key_in(&tx.open_table(APP_KEYS)?, id)
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

fn keys_in(
    index: &impl ReadableTable<(u128, &'static str), ()>,
    keys: &impl ReadableTable<&'static str, &'static [u8]>,
    app: Uuid,
) -> Result<Vec<Key>, AppError> {
    let a = app.as_u128();
    let mut out = Vec::new();
    for row in index.range((a, "")..)? {
        let (k, _) = row?;
        let (owner, id) = k.value();
        if owner != a {
            break;
        }
        if let Some(v) = keys.get(id)? {
            out.push(decode::<Key>(v.value())?);
        }
    }
    out.sort_by(|x, y| y.created.cmp(&x.created));
    Ok(out)
}

/// Every key an App has had, newest first.
pub fn keys_of(tx: &ReadTransaction, app: Uuid) -> Result<Vec<Key>, AppError> {
    keys_in(&tx.open_table(APP_KEYS_BY_APP)?, &tx.open_table(APP_KEYS)?, app)
}

pub fn keys_of_for_update(tx: &WriteTransaction, app: Uuid) -> Result<Vec<Key>, AppError> {
    keys_in(&tx.open_table(APP_KEYS_BY_APP)?, &tx.open_table(APP_KEYS)?, app)
}

/// Records when keys were last used (a batch, written at most once a minute per key).
pub fn record_last_used(tx: &WriteTransaction, uses: &[(String, DateTime<Utc>)]) -> Result<(), AppError> {
    let mut table = tx.open_table(APP_KEYS)?;
    for (id, at) in uses {
        let current = table.get(id.as_str())?.map(|v| decode::<Key>(v.value())).transpose()?;
        if let Some(mut k) = current {
            if k.last_used.is_none_or(|l| l < *at) {
                k.last_used = Some(*at);
                table.insert(id.as_str(), encode(&k)?.as_slice())?;
            }
        }
    }
    Ok(())
}

pub fn put_platform_key(tx: &WriteTransaction, workspace: Uuid, key: &PlatformKey) -> Result<(), AppError> {
    tx.open_table(PLATFORM_KEYS)?
        .insert(workspace.as_u128(), encode(key)?.as_slice())?;
    Ok(())
}

pub fn platform_key(tx: &ReadTransaction, workspace: Uuid) -> Result<Option<PlatformKey>, AppError> {
    let v = tx.open_table(PLATFORM_KEYS)?.get(workspace.as_u128())?;
    v.map(|v| decode(v.value())).transpose()
}

/// Creates the workspace's platform signing key (at generation, or by the migration for older
/// workspaces); an existing key is kept.
pub fn ensure_platform_key(tx: &WriteTransaction, workspace: Uuid) -> Result<(), AppError> {
    if tx.open_table(PLATFORM_KEYS)?.get(workspace.as_u128())?.is_some() {
        return Ok(());
    }
    let (seed, public) = crate::server::keys::new_platform_key();
    put_platform_key(tx, workspace, &PlatformKey { seed, public, created: Utc::now() })
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
