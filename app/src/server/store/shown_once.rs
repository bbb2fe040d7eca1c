//! Secrets shown to a person once, right after they were made (recovery codes, a personal access
//! token), kept for the session that made them until its next page shows them — at most
//! [`KEEP_SECS`]. They are taken out in the write that reads them, so of two requests at once
//! only one shows them, and no page loaded later does.
//!
//! They are kept sealed (AES-256-GCM) under a key derived from the session's id, which only the
//! browser's cookie holds — the data file keeps sessions under the id's hash — so whoever reads
//! the data file (a backup, a stolen disk) finds no secret waiting there.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::Aes256Gcm;
use redb::WriteTransaction;
use sha2::{Digest, Sha256};
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
    /// The secrets, sealed for the session: a 12-byte nonce, then the ciphertext (hex).
    #[serde(default)]
    pub sealed: String,
}

/// The key of the session whose cookie holds `session_id`.
fn cipher(session_id: &str) -> Aes256Gcm {
    let key: [u8; 32] = Sha256::digest(format!("mpdp shown-once 1\0{session_id}")).into();
    Aes256Gcm::new(&key.into())
}

/// `values` sealed for the session whose cookie holds `session_id`.
pub fn seal(session_id: &str, values: &[String]) -> Result<String, AppError> {
    let nonce: [u8; 12] = rand::random();
    let plain = serde_json::to_vec(values).map_err(|_| AppError::Internal)?;
    let sealed = cipher(session_id).encrypt(&nonce.into(), plain.as_slice()).map_err(|_| AppError::Internal)?;
    Ok(hex::encode([nonce.as_slice(), &sealed].concat()))
}

/// What `sealed` holds, opened with the session's id; nothing when it is not that session's.
pub fn open(session_id: &str, sealed: &str) -> Vec<String> {
    let Some((nonce, body)) = hex::decode(sealed).ok().filter(|b| b.len() > 12).map(|mut b| { let body = b.split_off(12); (b, body) }) else {
        return Vec::new();
    };
    let Ok(nonce) = <[u8; 12]>::try_from(nonce.as_slice()) else { return Vec::new() };
    cipher(session_id)
        .decrypt(&nonce.into(), body.as_slice())
        .ok()
        .and_then(|plain| serde_json::from_slice(&plain).ok())
        .unwrap_or_default()
}

/// Keeps `sealed` (see [`seal`]) for the session `session` (its handle) to show once.
pub fn put(tx: &WriteTransaction, session: u128, kind: Kind, sealed: String, now: i64) -> Result<(), AppError> {
    codec::put(tx, SHOWN_ONCE, (session, kind as u8), &ShownOnce { at: now, sealed })
}

/// Takes what waits for `session`, still sealed (nothing when it waited too long).
pub fn take(tx: &WriteTransaction, session: u128, kind: Kind, now: i64) -> Result<Option<String>, AppError> {
    let held: Option<ShownOnce> = codec::take(tx, SHOWN_ONCE, (session, kind as u8))?;
    Ok(held.filter(|h| now - h.at <= KEEP_SECS).map(|h| h.sealed))
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
        let put_ = |session: u128, kind: Kind, v: &str, at: i64| {
            let sealed = seal("cookie", &[v.to_string()]).unwrap();
            store.write_blocking(move |tx| put(tx, session, kind, sealed, at)).unwrap()
        };
        let take_ = |session: u128, kind: Kind, at: i64| store.write_blocking(move |tx| take(tx, session, kind, at)).unwrap().map(|s| open("cookie", &s));
        put_(7, Kind::AccessToken, "mppat_x", 1_000);
        assert_eq!(take_(8, Kind::AccessToken, 1_001), None, "another session");
        assert_eq!(take_(7, Kind::RecoveryCodes, 1_001), None, "another kind");
        assert_eq!(take_(7, Kind::AccessToken, 1_001), Some(vec!["mppat_x".to_string()]));
        assert_eq!(take_(7, Kind::AccessToken, 1_002), None, "once");
        put_(7, Kind::RecoveryCodes, "a", 1_000);
        put_(9, Kind::RecoveryCodes, "b", 1_500);
        assert_eq!(store.write_blocking(|tx| purge(tx, 1_000 + KEEP_SECS + 1)).unwrap(), 1);
        assert_eq!(take_(9, Kind::RecoveryCodes, 1_600), Some(vec!["b".to_string()]));
        put_(7, Kind::RecoveryCodes, "c", 1_000);
        assert_eq!(take_(7, Kind::RecoveryCodes, 1_000 + KEEP_SECS + 1), None, "too late");
    }

    /// The data file holds the secrets only sealed, for the session's cookie alone to open.
    #[test]
    fn a_secret_is_kept_sealed_for_its_session_alone() {
        let values = vec!["mppat_secret".to_string(), "abcde-fghjk".to_string()];
        let sealed = seal("the-cookie", &values).unwrap();
        assert!(!sealed.contains(&hex::encode("mppat_secret")) && !sealed.contains("mppat"), "{sealed}");
        assert_ne!(seal("the-cookie", &values).unwrap(), sealed, "a fresh nonce each time");
        assert_eq!(open("the-cookie", &sealed), values);
        assert!(open("another-cookie", &sealed).is_empty());
        let mut altered = sealed.clone().into_bytes();
        let last = altered.len() - 1;
        altered[last] = if altered[last] == b'0' { b'1' } else { b'0' };
        assert!(open("the-cookie", &String::from_utf8(altered).unwrap()).is_empty(), "altered");
        assert!(open("the-cookie", "").is_empty() && open("the-cookie", "zz").is_empty());
    }
}
