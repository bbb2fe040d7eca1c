//! A tower-sessions [`SessionStore`] on the redb file, so sessions survive restarts.
//!
//! A session is stored under its *handle*, a hash of the id in the cookie: whoever reads the data
//! file (a backup, a stolen disk) learns no cookie that would sign them in. Sessions of a signed-in
//! account are indexed by account, so the person can see and end them.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use redb::{ReadTransaction, ReadableTable, WriteTransaction};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use uuid::Uuid;

use super::tables::{SESSIONS, SESSIONS_BY_ACCOUNT, SESSIONS_BY_EXPIRY};
use super::Store;
use crate::model::AppError;

// The names of the session data the guards write: part of the stored format.
/// The signed-in account.
pub const ACCOUNT_KEY: &str = "account_id";
/// The account's session epoch when the session started; a session of an older epoch is ended.
pub const EPOCH_KEY: &str = "session_epoch";
/// When the person signed in (Unix seconds), for the absolute lifetime.
pub const LOGIN_AT_KEY: &str = "login_at";
/// The last request (Unix seconds).
pub const LAST_SEEN_KEY: &str = "last_seen";
/// The address the person signed in from, for their list of sessions.
pub const CLIENT_KEY: &str = "client";
/// The browser's User-Agent at sign-in, for their list of sessions.
pub const AGENT_KEY: &str = "agent";
/// How the person signed in (`SignInMethod`), for their list of sessions.
pub const METHOD_KEY: &str = "method";
/// A login whose password was right and whose second factor is still to come: the account, its
/// session epoch and when the password was given. It grants nothing.
pub const SECOND_STEP_KEY: &str = "second_step";
/// The single sign-on provider the session was signed in with, if any.
pub const SSO_KEY: &str = "sso";
/// A login waiting for its second step that began at a single sign-on provider (the account
/// has a second factor): the account, and the provider's id and label, which the session counts
/// as signed in with once the second step is passed.
pub const SSO_SECOND_STEP_KEY: &str = "sso_second_step";
/// A single sign-on begun in this browser and not yet back from the provider.
pub const SSO_PENDING_KEY: &str = "sso_pending";
/// The passkey ceremony (registration or sign-in) this browser began last.
pub const PASSKEY_CEREMONY_KEY: &str = "passkey_ceremony";

#[derive(Debug, Clone)]
pub struct RedbSessionStore {
    store: Store,
}

impl RedbSessionStore {
    pub fn new(store: Store) -> Self {
        RedbSessionStore { store }
    }

    /// How far the store's clock runs ahead of the system clock, in seconds. tower-sessions
    /// dates a session's expiry by the system clock; it is stored, and compared, on the store's
    /// clock, so a test that moves the clock forward moves sessions toward their end.
    fn ahead(&self) -> i64 {
        self.store.clock().ahead().as_secs() as i64
    }

    /// An expiry as tower-sessions gives it, on the store's clock (Unix seconds).
    fn stored_expiry(&self, record: &Record) -> i64 {
        record.expiry_date.unix_timestamp().saturating_add(self.ahead())
    }
}

/// The stored key of a session: the first 16 bytes of SHA-256 of its id.
pub fn handle(id: &Id) -> u128 {
    handle_of_raw(id.0)
}

fn handle_of_raw(id: i128) -> u128 {
    let digest = Sha256::digest(id.to_le_bytes());
    u128::from_be_bytes(digest[..16].try_into().expect("16 bytes"))
}

fn backend(e: AppError) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

/// The stored bytes of a session. The data's keys are written in order, so the same session
/// always has the same bytes (a `HashMap` alone would write them in a different order each run).
pub(super) fn encode_data(expiry: i64, data: &HashMap<String, serde_json::Value>) -> Result<Vec<u8>, AppError> {
    let mut bytes = expiry.to_be_bytes().to_vec();
    let ordered: BTreeMap<&String, &serde_json::Value> = data.iter().collect();
    bytes.extend(serde_json::to_vec(&ordered).map_err(|_| AppError::Internal)?);
    Ok(bytes)
}

pub(super) fn split(bytes: &[u8]) -> Result<(i64, HashMap<String, serde_json::Value>), AppError> {
    if bytes.len() < 8 {
        return Err(AppError::Internal);
    }
    let expiry = i64::from_be_bytes(bytes[..8].try_into().expect("8 bytes"));
    let data = serde_json::from_slice(&bytes[8..]).map_err(|_| AppError::Internal)?;
    Ok((expiry, data))
}

fn account_of(data: &HashMap<String, serde_json::Value>) -> Option<u128> {
    data.get(ACCOUNT_KEY)
        .and_then(|v| v.as_str())
        .and_then(|s| Uuid::parse_str(s).ok())
        .map(|u| u.as_u128())
}

/// Writes a session under `h`, keeping the expiry and account indexes in step.
fn put_at(
    tx: &WriteTransaction,
    h: u128,
    expiry: i64,
    data: &HashMap<String, serde_json::Value>,
) -> Result<(), AppError> {
    remove(tx, h)?;
    tx.open_table(SESSIONS)?
        .insert(h, encode_data(expiry, data)?.as_slice())?;
    tx.open_table(SESSIONS_BY_EXPIRY)?.insert((expiry, h), ())?;
    if let Some(account) = account_of(data) {
        tx.open_table(SESSIONS_BY_ACCOUNT)?.insert((account, h), ())?;
    }
    Ok(())
}

/// Deletes the session stored under `h` (and its index rows); true if there was one.
fn remove(tx: &WriteTransaction, h: u128) -> Result<bool, AppError> {
    let old = tx.open_table(SESSIONS)?.remove(h)?.map(|v| v.value().to_vec());
    let Some(bytes) = old else { return Ok(false) };
    if let Ok((expiry, data)) = split(&bytes) {
        tx.open_table(SESSIONS_BY_EXPIRY)?.remove((expiry, h))?;
        if let Some(account) = account_of(&data) {
            tx.open_table(SESSIONS_BY_ACCOUNT)?.remove((account, h))?;
        }
    }
    Ok(true)
}

/// Migration 0004: moves a session stored under its raw id to its handle.
pub(crate) fn migrate_v1(tx: &WriteTransaction, id: i128, bytes: &[u8]) -> Result<(), redb::Error> {
    match split(bytes) {
        Ok((expiry, data)) => put_at(tx, handle_of_raw(id), expiry, &data)
            .map_err(|e| redb::Error::Corrupted(format!("session migration: {e}"))),
        // An unreadable session was useless before; it is dropped.
        Err(_) => Ok(()),
    }
}

/// One signed-in session, as its owner sees it.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub handle: u128,
    pub data: HashMap<String, serde_json::Value>,
    pub expiry: i64,
}

/// The live sessions of `account`.
pub fn of_account(tx: &ReadTransaction, account: Uuid, now: i64) -> Result<Vec<SessionInfo>, AppError> {
    let index = tx.open_table(SESSIONS_BY_ACCOUNT)?;
    let sessions = tx.open_table(SESSIONS)?;
    let a = account.as_u128();
    let mut out = Vec::new();
    for row in index.range((a, 0u128)..=(a, u128::MAX))? {
        let (_, h) = row?.0.value();
        if let Some(v) = sessions.get(h)? {
            let (expiry, data) = split(v.value())?;
            if expiry > now {
                out.push(SessionInfo { handle: h, data, expiry });
            }
        }
    }
    Ok(out)
}

/// Ends one session of `account` (refusing another account's): true if it existed.
pub fn revoke(tx: &WriteTransaction, account: Uuid, h: u128) -> Result<bool, AppError> {
    let owned = tx
        .open_table(SESSIONS_BY_ACCOUNT)?
        .get((account.as_u128(), h))?
        .is_some();
    if !owned {
        return Ok(false);
    }
    remove(tx, h)
}

/// Whether the session with handle `h` is stored (not signed out, revoked or purged).
pub fn stands(tx: &WriteTransaction, h: u128) -> Result<bool, AppError> {
    Ok(tx.open_table(SESSIONS)?.get(h)?.is_some())
}

/// Ends every session of `account` except `keep`; returns how many ended.
pub fn revoke_all(tx: &WriteTransaction, account: Uuid, keep: Option<u128>) -> Result<usize, AppError> {
    let a = account.as_u128();
    let handles: Vec<u128> = {
        let index = tx.open_table(SESSIONS_BY_ACCOUNT)?;
        let mut out = Vec::new();
        for row in index.range((a, 0u128)..=(a, u128::MAX))? {
            out.push(row?.0.value().1);
        }
        out
    };
    let mut n = 0;
    for h in handles.into_iter().filter(|h| Some(*h) != keep) {
        if remove(tx, h)? {
            n += 1;
        }
        // An index row whose session is gone is stale either way.
        tx.open_table(SESSIONS_BY_ACCOUNT)?.remove((a, h))?;
    }
    Ok(n)
}

#[async_trait]
impl SessionStore for RedbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let mut candidate = record.clone();
        let expiry = self.stored_expiry(record);
        let stored = self
            .store
            .write(move |tx| {
                // Never overwrite someone else's session: draw a new id on collision.
                while tx.open_table(SESSIONS)?.get(handle(&candidate.id))?.is_some() {
                    candidate.id = Id::default();
                }
                put_at(tx, handle(&candidate.id), expiry, &candidate.data)?;
                Ok(candidate.id)
            })
            .await
            .map_err(backend)?;
        record.id = stored;
        Ok(())
    }

    /// Updates a stored session. A session that is gone — signed out, revoked from another
    /// browser, purged — is not brought back by a request that was still in flight.
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let expiry = self.stored_expiry(record);
        let record = record.clone();
        self.store
            .write(move |tx| {
                let h = handle(&record.id);
                if tx.open_table(SESSIONS)?.get(h)?.is_none() {
                    return Ok(());
                }
                put_at(tx, h, expiry, &record.data)
            })
            .await
            .map_err(backend)
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        let id = *session_id;
        let found = self
            .store
            .read(move |tx| {
                let sessions = tx.open_table(SESSIONS)?;
                let value = sessions.get(handle(&id))?;
                value.map(|v| split(v.value())).transpose()
            })
            .await
            .map_err(backend)?;
        let Some((expiry, data)) = found else {
            return Ok(None);
        };
        if expiry <= self.store.clock().timestamp() {
            return Ok(None);
        }
        let expiry_date = OffsetDateTime::from_unix_timestamp(expiry.saturating_sub(self.ahead()))
            .map_err(|e| session_store::Error::Backend(e.to_string()))?;
        Ok(Some(Record {
            id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        let h = handle(session_id);
        self.store
            .write(move |tx| remove(tx, h).map(|_| ()))
            .await
            .map_err(backend)
    }
}

#[async_trait]
impl ExpiredDeletion for RedbSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        let now = self.store.clock().timestamp();
        self.store
            .write(move |tx| {
                let expired: Vec<(i64, u128)> = {
                    let by_expiry = tx.open_table(SESSIONS_BY_EXPIRY)?;
                    let mut keys = Vec::new();
                    for row in by_expiry.range((i64::MIN, 0u128)..(now, 0u128))? {
                        keys.push(row?.0.value());
                    }
                    keys
                };
                for (_, h) in expired {
                    remove(tx, h)?;
                }
                Ok(())
            })
            .await
            .map_err(backend)
    }
}

impl RedbSessionStore {
    /// Number of stored sessions, expired or not (for tests and the operator overview).
    pub async fn count(&self) -> Result<u64, AppError> {
        use redb::ReadableTableMetadata;
        self.store
            .read(|tx| Ok(tx.open_table(SESSIONS)?.len()?))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(expiry: OffsetDateTime, account: Uuid) -> Record {
        let mut data = HashMap::new();
        data.insert(ACCOUNT_KEY.to_string(), serde_json::json!(account.to_string()));
        Record {
            id: Id::default(),
            data,
            expiry_date: expiry.replace_nanosecond(0).unwrap(),
        }
    }

    fn later() -> OffsetDateTime {
        OffsetDateTime::now_utc() + time::Duration::hours(1)
    }

    #[tokio::test]
    async fn create_load_save_delete() {
        let store = RedbSessionStore::new(Store::memory());
        let mut r = record(later(), Uuid::new_v4());
        store.create(&mut r).await.unwrap();
        assert_eq!(store.load(&r.id).await.unwrap(), Some(r.clone()));
        r.data.insert("k".into(), serde_json::json!(1));
        r.expiry_date += time::Duration::hours(1);
        store.save(&r).await.unwrap();
        assert_eq!(store.load(&r.id).await.unwrap(), Some(r.clone()));
        store.delete(&r.id).await.unwrap();
        assert_eq!(store.load(&r.id).await.unwrap(), None);
        assert_eq!(store.count().await.unwrap(), 0);
    }

    #[tokio::test]
    async fn the_data_file_holds_no_session_id() {
        let s = Store::memory();
        let store = RedbSessionStore::new(s.clone());
        let mut r = record(later(), Uuid::new_v4());
        store.create(&mut r).await.unwrap();
        let raw = r.id.0 as u128;
        let keys: Vec<u128> = s
            .read(|tx| {
                let mut keys = Vec::new();
                for row in tx.open_table(SESSIONS)?.iter()? {
                    keys.push(row?.0.value());
                }
                Ok(keys)
            })
            .await
            .unwrap();
        assert_eq!(keys, vec![handle(&r.id)]);
        assert_ne!(keys[0], raw);
    }

    #[tokio::test]
    async fn create_never_overwrites_an_existing_id() {
        let store = RedbSessionStore::new(Store::memory());
        let mut first = record(later(), Uuid::new_v4());
        store.create(&mut first).await.unwrap();
        let mut second = record(later(), Uuid::new_v4());
        second.id = first.id;
        second.data.insert("who".into(), serde_json::json!("intruder"));
        store.create(&mut second).await.unwrap();
        assert_ne!(second.id, first.id, "a colliding id is replaced");
        assert_eq!(store.load(&first.id).await.unwrap(), Some(first));
    }

    #[tokio::test]
    async fn a_revoked_session_is_not_brought_back_by_a_late_save() {
        let s = Store::memory();
        let store = RedbSessionStore::new(s.clone());
        let account = Uuid::new_v4();
        let mut a = record(later(), account);
        let mut b = record(later(), account);
        let mut other = record(later(), Uuid::new_v4());
        for r in [&mut a, &mut b, &mut other] {
            store.create(r).await.unwrap();
        }
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let listed = s.read(move |tx| of_account(tx, account, now)).await.unwrap();
        assert_eq!(listed.len(), 2);
        // Another account's session can't be revoked through this account.
        let foreign = handle(&other.id);
        assert!(!s.write(move |tx| revoke(tx, account, foreign)).await.unwrap());
        let hb = handle(&b.id);
        assert!(s.write(move |tx| revoke(tx, account, hb)).await.unwrap());
        store.save(&b).await.unwrap();
        assert_eq!(store.load(&b.id).await.unwrap(), None, "not resurrected");
        let keep = handle(&a.id);
        let mut c = record(later(), account);
        store.create(&mut c).await.unwrap();
        assert_eq!(s.write(move |tx| revoke_all(tx, account, Some(keep))).await.unwrap(), 1);
        assert!(store.load(&a.id).await.unwrap().is_some());
        assert!(store.load(&c.id).await.unwrap().is_none());
        assert!(store.load(&other.id).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn expired_sessions_are_not_loaded_and_are_purged() {
        let s = Store::memory();
        let store = RedbSessionStore::new(s.clone());
        let account = Uuid::new_v4();
        let mut old = record(OffsetDateTime::now_utc() - time::Duration::minutes(1), account);
        let mut live = record(later(), account);
        store.create(&mut old).await.unwrap();
        store.create(&mut live).await.unwrap();
        assert_eq!(store.load(&old.id).await.unwrap(), None);
        store.delete_expired().await.unwrap();
        assert_eq!(store.count().await.unwrap(), 1);
        assert!(store.load(&live.id).await.unwrap().is_some());
        let now = OffsetDateTime::now_utc().unix_timestamp();
        assert_eq!(s.read(move |tx| of_account(tx, account, now)).await.unwrap().len(), 1);
    }
}
