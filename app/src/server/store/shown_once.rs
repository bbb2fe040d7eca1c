//! Secrets shown to a person once, right after they were made (recovery codes, a personal access
//! token), kept for the session that made them until its next page shows them — at most
//! [`KEEP_SECS`]. They are taken out in the write that reads them, so of two requests at once
//! only one shows them, and no page loaded later does.

use redb::WriteTransaction;
use serde::{Deserialize, Serialize};

use super::codec::{self, decode};
use super::tables::SHOWN_ONCE;
use crate::model::AppError;

/// How long a secret waits to be shown.
pub const KEEP_SECS: i64 = 600;

/// What is waiting (part of the key: stored, never renumbered).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    RecoveryCodes = 1,
    AccessToken = 2,
}

/// The secrets waiting, and since when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShownOnce {
    /// Unix seconds.
    pub at: i64,
    pub values: Vec<String>,
}

/// Keeps `values` for the session `session` (its handle) to show once.
pub fn put(tx: &WriteTransaction, session: u128, kind: Kind, values: Vec<String>, now: i64) -> Result<(), AppError> {
    codec::put(tx, SHOWN_ONCE, (session, kind as u8), &ShownOnce { at: now, values })
}

/// Takes what waits for `session` (nothing when it waited too long).
pub fn take(tx: &WriteTransaction, session: u128, kind: Kind, now: i64) -> Result<Vec<String>, AppError> {
    let held: Option<ShownOnce> = codec::take(tx, SHOWN_ONCE, (session, kind as u8))?;
    Ok(held.filter(|h| now - h.at <= KEEP_SECS).map(|h| h.values).unwrap_or_default())
}

/// Drops what waited longer than [`KEEP_SECS`]; how many.
pub fn purge(tx: &WriteTransaction, now: i64) -> Result<usize, AppError> {
    let mut t = tx.open_table(SHOWN_ONCE)?;
    let mut stale = Vec::new();
    for row in redb::ReadableTable::iter(&t)? {
        let (k, v) = row?;
        if now - decode::<ShownOnce>(v.value())?.at > KEEP_SECS {
            stale.push(k.value());
        }
    }
    for k in &stale {
        t.remove(*k)?;
    }
    Ok(stale.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::store::Store;

    #[test]
    fn a_secret_is_taken_once_by_its_session_and_not_after_it_waited_too_long() {
        let store = Store::memory();
        store.write_blocking(|tx| put(tx, 7, Kind::AccessToken, vec!["mppat_x".into()], 1_000)).unwrap();
        assert_eq!(store.write_blocking(|tx| take(tx, 8, Kind::AccessToken, 1_001)).unwrap(), Vec::<String>::new(), "another session");
        assert_eq!(store.write_blocking(|tx| take(tx, 7, Kind::RecoveryCodes, 1_001)).unwrap(), Vec::<String>::new(), "another kind");
        assert_eq!(store.write_blocking(|tx| take(tx, 7, Kind::AccessToken, 1_001)).unwrap(), vec!["mppat_x".to_string()]);
        assert!(store.write_blocking(|tx| take(tx, 7, Kind::AccessToken, 1_002)).unwrap().is_empty(), "once");
        store.write_blocking(|tx| put(tx, 7, Kind::RecoveryCodes, vec!["a".into()], 1_000)).unwrap();
        store.write_blocking(|tx| put(tx, 9, Kind::RecoveryCodes, vec!["b".into()], 1_500)).unwrap();
        assert_eq!(store.write_blocking(|tx| purge(tx, 1_000 + KEEP_SECS + 1)).unwrap(), 1);
        assert_eq!(store.write_blocking(|tx| take(tx, 9, Kind::RecoveryCodes, 1_600)).unwrap(), vec!["b".to_string()]);
        store.write_blocking(|tx| put(tx, 7, Kind::RecoveryCodes, vec!["c".into()], 1_000)).unwrap();
        assert!(store.write_blocking(|tx| take(tx, 7, Kind::RecoveryCodes, 1_000 + KEEP_SECS + 1)).unwrap().is_empty(), "too late");
    }
}
