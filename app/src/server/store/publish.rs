//! The publish queue: what is owed to the release target (`mpdp serve --publish-to`), and what
//! the target is believed to hold.
//!
//! Every commit that changes what containers are served raises `wanted` in that same
//! transaction ([`note_change`], called by [`super::Store::commit`] whenever the commit causes
//! [`super::effects::Effect::Served`]), so a change can't be committed without being owed to the
//! target, whatever happens to the process afterwards. The publisher (`server::publish`) brings
//! the target up to date and then records `published` = the `wanted` it read; a crash in between
//! leaves `wanted` above `published`, and the next run publishes again. Changes coalesce: the
//! publisher always writes the whole current state, never a replay of each change.
//!
//! [`PUBLISHED`] holds one record per object the publisher wrote, so that the next run writes
//! only what changed and deletes only what it wrote.

use chrono::{DateTime, Utc};
use redb::{ReadTransaction, ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::codec::{decode, encode, one, put};
use super::tables::{PUBLISH, PUBLISHED};
use crate::model::AppError;

const STATE: &str = "state";

/// The queue's one row.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishState {
    /// Raised by every commit that changes what containers are served.
    pub wanted: u64,
    /// When the oldest change not yet published was committed (`None`: nothing owed).
    pub owed_since: Option<DateTime<Utc>>,
    /// The `wanted` the target was last brought up to date with.
    pub published: u64,
    /// When that was.
    pub published_at: Option<DateTime<Utc>>,
    /// The target the records in [`PUBLISHED`] describe (its URL as configured).
    pub target: Option<String>,
    /// Failed attempts since the last success.
    pub failures: u32,
    /// Why the last attempt failed, when it did.
    pub last_error: Option<String>,
    /// When the publisher last tried.
    pub last_attempt: Option<DateTime<Utc>>,
}

impl PublishState {
    /// How many changes are committed but not yet published.
    pub fn pending(&self) -> u64 {
        self.wanted.saturating_sub(self.published)
    }
}

/// What kind of object a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    /// A bundle, under its sha256; written once.
    Bundle,
    /// An icon, under its sha256; written once.
    Icon,
    /// An App's release document, under the path its Accessing Key gives; replaced.
    Document,
}

/// One object the publisher wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedObject {
    pub kind: ObjectKind,
    /// SHA-256 of the bytes written (hex).
    pub sha256: String,
    pub size: u64,
    /// The ETag the target gave, when it gave one.
    pub e_tag: Option<String>,
    /// Documents: SHA-256 of what they say apart from their stamp (hex), so an unchanged
    /// document is not written again until it is due to be signed anew.
    pub digest: Option<String>,
    /// Documents: their sequence and when they were issued.
    pub sequence: Option<u64>,
    pub issued: Option<DateTime<Utc>>,
    /// Bundles and icons: since when no published document names them (deleted a while after).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired: Option<DateTime<Utc>>,
}

fn read_state(table: &impl ReadableTable<&'static str, &'static [u8]>) -> Result<PublishState, AppError> {
    Ok(one(table, STATE)?.unwrap_or_default())
}

/// Raises `wanted`: this transaction changes what containers are served.
pub fn note_change(tx: &WriteTransaction) -> Result<(), AppError> {
    let mut table = tx.open_table(PUBLISH)?;
    let mut state = read_state(&table)?;
    if state.pending() == 0 {
        state.owed_since = Some(super::now());
    }
    state.wanted += 1;
    table.insert(STATE, encode(&state)?.as_slice())?;
    Ok(())
}

pub fn state(tx: &ReadTransaction) -> Result<PublishState, AppError> {
    read_state(&tx.open_table(PUBLISH)?)
}

/// Changes the queue's row in this transaction (the publisher's own bookkeeping).
pub fn update(tx: &WriteTransaction, f: impl FnOnce(&mut PublishState)) -> Result<PublishState, AppError> {
    let mut table = tx.open_table(PUBLISH)?;
    let mut state = read_state(&table)?;
    f(&mut state);
    table.insert(STATE, encode(&state)?.as_slice())?;
    Ok(state)
}

/// Records that the target is up to date with `wanted` (read before publishing).
pub fn published(tx: &WriteTransaction, wanted: u64) -> Result<PublishState, AppError> {
    let now = super::now();
    update(tx, |s| {
        s.published = s.published.max(wanted);
        s.published_at = Some(now);
        s.owed_since = if s.pending() == 0 { None } else { s.owed_since.or(Some(now)) };
        s.failures = 0;
        s.last_error = None;
        s.last_attempt = Some(now);
    })
}

/// Records a failed attempt.
pub fn failed(tx: &WriteTransaction, error: &str) -> Result<PublishState, AppError> {
    let now = super::now();
    update(tx, |s| {
        s.failures = s.failures.saturating_add(1);
        s.last_error = Some(error.to_string());
        s.last_attempt = Some(now);
    })
}

/// Every record, by path.
pub fn objects(tx: &ReadTransaction) -> Result<Vec<(String, PublishedObject)>, AppError> {
    let table = tx.open_table(PUBLISHED)?;
    let mut out = Vec::new();
    for row in table.iter()? {
        let (k, v) = row?;
        out.push((k.value().to_string(), decode(v.value())?));
    }
    Ok(out)
}

pub fn record(tx: &WriteTransaction, path: &str, object: &PublishedObject) -> Result<(), AppError> {
    put(tx, PUBLISHED, path, object)
}

pub fn forget(tx: &WriteTransaction, path: &str) -> Result<(), AppError> {
    tx.open_table(PUBLISHED)?.remove(path)?;
    Ok(())
}

/// Starts over for `target` when the records describe another one (`same` tells whether two
/// URLs, however written, name one target): nothing is known to be there yet, so everything is
/// written. The same target written another way keeps the records.
pub fn use_target(tx: &WriteTransaction, target: &str, same: impl Fn(&str, &str) -> bool) -> Result<(), AppError> {
    let state = read_state(&tx.open_table(PUBLISH)?)?;
    match state.target.as_deref() {
        Some(known) if known == target => return Ok(()),
        Some(known) if same(known, target) => return update(tx, |s| s.target = Some(target.to_string())).map(drop),
        _ => {}
    }
    tx.delete_table(PUBLISHED)?;
    tx.open_table(PUBLISHED)?;
    update(tx, |s| s.target = Some(target.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::Store;
    use super::*;

    #[test]
    fn changes_are_owed_until_published_and_a_new_target_starts_over() {
        let store = Store::memory();
        let s = store.read_blocking(|tx| state(tx)).unwrap();
        assert_eq!((s.wanted, s.pending(), s.owed_since), (0, 0, None));
        store.write_blocking(note_change).unwrap();
        store.write_blocking(note_change).unwrap();
        let s = store.read_blocking(|tx| state(tx)).unwrap();
        assert_eq!((s.wanted, s.pending()), (2, 2));
        let since = s.owed_since.unwrap();
        // A failure keeps what is owed and says why.
        let s = store.write_blocking(|tx| failed(tx, "the store is down")).unwrap();
        assert_eq!((s.pending(), s.failures, s.last_error.as_deref()), (2, 1, Some("the store is down")));
        // Published up to the first change only: the second is still owed, since when it was.
        let s = store.write_blocking(|tx| published(tx, 1)).unwrap();
        assert_eq!((s.pending(), s.failures, s.last_error), (1, 0, None));
        assert!(s.owed_since.unwrap() >= since);
        let s = store.write_blocking(|tx| published(tx, 2)).unwrap();
        assert_eq!((s.pending(), s.owed_since), (0, None));

        let object = PublishedObject { kind: ObjectKind::Bundle, sha256: "ab".into(), size: 2, e_tag: None, digest: None, sequence: None, issued: None, retired: None };
        store
            .write_blocking(|tx| {
                use_target(tx, "file:///a", |a, b| a == b)?;
                record(tx, "bundles/ab", &object)
            })
            .unwrap();
        store.write_blocking(|tx| use_target(tx, "file:///a", |a, b| a == b)).unwrap();
        assert_eq!(store.read_blocking(|tx| objects(tx)).unwrap().len(), 1);
        // The same target written another way keeps what is known to be there.
        store.write_blocking(|tx| use_target(tx, "file:///a/", |a, b| a.trim_end_matches('/') == b.trim_end_matches('/'))).unwrap();
        assert_eq!(store.read_blocking(|tx| objects(tx)).unwrap().len(), 1);
        assert_eq!(store.read_blocking(|tx| state(tx)).unwrap().target.as_deref(), Some("file:///a/"));
        store.write_blocking(|tx| use_target(tx, "s3://b", |a, b| a == b)).unwrap();
        assert!(store.read_blocking(|tx| objects(tx)).unwrap().is_empty());
        assert_eq!(store.read_blocking(|tx| state(tx)).unwrap().target.as_deref(), Some("s3://b"));
    }
}
