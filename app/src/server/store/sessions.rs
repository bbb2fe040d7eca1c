//! A tower-sessions [`SessionStore`] on the redb file, so sessions survive restarts.

use std::collections::HashMap;

use async_trait::async_trait;
use redb::{ReadableTable, WriteTransaction};
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};

use super::tables::{SESSIONS, SESSIONS_BY_EXPIRY};
use super::Store;
use crate::model::AppError;

#[derive(Debug, Clone)]
pub struct RedbSessionStore {
    store: Store,
}

impl RedbSessionStore {
    pub fn new(store: Store) -> Self {
        RedbSessionStore { store }
    }
}

fn backend(e: AppError) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

fn encode_record(record: &Record) -> Result<Vec<u8>, AppError> {
    let mut bytes = record.expiry_date.unix_timestamp().to_be_bytes().to_vec();
    bytes.extend(serde_json::to_vec(&record.data).map_err(|_| AppError::Internal)?);
    Ok(bytes)
}

fn decode_record(id: Id, bytes: &[u8]) -> Result<Record, AppError> {
    if bytes.len() < 8 {
        return Err(AppError::Internal);
    }
    let expiry = i64::from_be_bytes(bytes[..8].try_into().expect("8 bytes"));
    let expiry_date =
        OffsetDateTime::from_unix_timestamp(expiry).map_err(|_| AppError::Internal)?;
    let data: HashMap<String, serde_json::Value> =
        serde_json::from_slice(&bytes[8..]).map_err(|_| AppError::Internal)?;
    Ok(Record {
        id,
        data,
        expiry_date,
    })
}

fn put(tx: &WriteTransaction, record: &Record) -> Result<(), AppError> {
    let mut sessions = tx.open_table(SESSIONS)?;
    let mut by_expiry = tx.open_table(SESSIONS_BY_EXPIRY)?;
    if let Some(old) = sessions.get(record.id.0)? {
        let bytes = old.value();
        if bytes.len() >= 8 {
            let old_expiry = i64::from_be_bytes(bytes[..8].try_into().expect("8 bytes"));
            drop(old);
            by_expiry.remove((old_expiry, record.id.0))?;
        }
    }
    sessions.insert(record.id.0, encode_record(record)?.as_slice())?;
    by_expiry.insert((record.expiry_date.unix_timestamp(), record.id.0), ())?;
    Ok(())
}

fn remove(tx: &WriteTransaction, id: i128) -> Result<(), AppError> {
    let mut sessions = tx.open_table(SESSIONS)?;
    let old = sessions.remove(id)?.map(|v| v.value().to_vec());
    if let Some(bytes) = old {
        if bytes.len() >= 8 {
            let expiry = i64::from_be_bytes(bytes[..8].try_into().expect("8 bytes"));
            tx.open_table(SESSIONS_BY_EXPIRY)?.remove((expiry, id))?;
        }
    }
    Ok(())
}

#[async_trait]
impl SessionStore for RedbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let mut candidate = record.clone();
        let stored = self
            .store
            .write(move |tx| {
                // Never overwrite someone else's session: draw a new id on collision.
                while tx.open_table(SESSIONS)?.get(candidate.id.0)?.is_some() {
                    candidate.id = Id::default();
                }
                put(tx, &candidate)?;
                Ok(candidate.id)
            })
            .await
            .map_err(backend)?;
        record.id = stored;
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let record = record.clone();
        self.store
            .write(move |tx| put(tx, &record))
            .await
            .map_err(backend)
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        let id = *session_id;
        let record = self
            .store
            .read(move |tx| {
                let sessions = tx.open_table(SESSIONS)?;
                let value = sessions.get(id.0)?;
                value.map(|v| decode_record(id, v.value())).transpose()
            })
            .await
            .map_err(backend)?;
        Ok(record.filter(|r| r.expiry_date > OffsetDateTime::now_utc()))
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        let id = session_id.0;
        self.store
            .write(move |tx| remove(tx, id))
            .await
            .map_err(backend)
    }
}

#[async_trait]
impl ExpiredDeletion for RedbSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        self.store
            .write(move |tx| {
                let expired: Vec<(i64, i128)> = {
                    let by_expiry = tx.open_table(SESSIONS_BY_EXPIRY)?;
                    let mut keys = Vec::new();
                    for row in by_expiry.range((i64::MIN, i128::MIN)..(now, i128::MIN))? {
                        keys.push(row?.0.value());
                    }
                    keys
                };
                for (_, id) in expired {
                    remove(tx, id)?;
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

    fn record(expiry: OffsetDateTime) -> Record {
        let mut data = HashMap::new();
        data.insert("account_id".to_string(), serde_json::json!("abc"));
        Record {
            id: Id::default(),
            data,
            expiry_date: expiry.replace_nanosecond(0).unwrap(),
        }
    }

    #[tokio::test]
    async fn create_load_save_delete() {
        let store = RedbSessionStore::new(Store::memory());
        let mut r = record(OffsetDateTime::now_utc() + time::Duration::hours(1));
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
    async fn create_never_overwrites_an_existing_id() {
        let store = RedbSessionStore::new(Store::memory());
        let mut first = record(OffsetDateTime::now_utc() + time::Duration::hours(1));
        store.create(&mut first).await.unwrap();
        let mut second = record(OffsetDateTime::now_utc() + time::Duration::hours(1));
        second.id = first.id;
        second
            .data
            .insert("who".into(), serde_json::json!("intruder"));
        store.create(&mut second).await.unwrap();
        assert_ne!(second.id, first.id, "a colliding id is replaced");
        assert_eq!(store.load(&first.id).await.unwrap(), Some(first));
    }

    #[tokio::test]
    async fn expired_sessions_are_not_loaded_and_are_purged() {
        let store = RedbSessionStore::new(Store::memory());
        let mut old = record(OffsetDateTime::now_utc() - time::Duration::minutes(1));
        let mut live = record(OffsetDateTime::now_utc() + time::Duration::hours(1));
        store.create(&mut old).await.unwrap();
        store.create(&mut live).await.unwrap();
        assert_eq!(store.load(&old.id).await.unwrap(), None);
        store.delete_expired().await.unwrap();
        assert_eq!(store.count().await.unwrap(), 1);
        assert!(store.load(&live.id).await.unwrap().is_some());
    }
}
