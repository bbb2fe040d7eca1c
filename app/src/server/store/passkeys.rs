//! Passkeys (WebAuthn credentials) of accounts, and the ceremonies — a registration or a
//! sign-in — waiting for the browser's answer to their challenge. A ceremony is taken out in the
//! write that accepts its answer, so an answer is accepted once however many times it is sent.

use chrono::{DateTime, Utc};
use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::codec::{self, decode};
use super::tables::{PASSKEYS, PASSKEY_CEREMONIES};
use super::Reads;
use crate::model::AppError;

/// At most this many passkeys per account.
pub const MAX_PER_ACCOUNT: usize = 20;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredPasskey {
    pub id: Uuid,
    pub name: String,
    /// The credential: its id, public key and signature counter (WebAuthn's `Passkey`).
    pub credential: serde_json::Value,
    pub created: DateTime<Utc>,
    pub last_used: Option<DateTime<Utc>>,
}

/// What a ceremony is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CeremonyKind {
    /// Adding a passkey named so to the account.
    Register { name: String },
    /// Signing in with a passkey alone (a discoverable credential: the browser says whose).
    SignIn,
    /// The second step of a login whose password was right.
    SecondStep,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ceremony {
    pub kind: CeremonyKind,
    /// The account it is for (none for a sign-in with a passkey alone).
    pub account: Option<Uuid>,
    /// WebAuthn's state of the ceremony: the challenge and what the answer must match.
    pub state: serde_json::Value,
    pub expires: DateTime<Utc>,
}

fn key(account: Uuid, id: Uuid) -> (u128, u128) {
    (account.as_u128(), id.as_u128())
}

pub fn put(tx: &WriteTransaction, account: Uuid, p: &StoredPasskey) -> Result<(), AppError> {
    codec::put(tx, PASSKEYS, key(account, p.id), p)
}

pub fn get(tx: &impl Reads, account: Uuid, id: Uuid) -> Result<Option<StoredPasskey>, AppError> {
    tx.row(PASSKEYS, key(account, id))
}

/// The account's passkeys, oldest first (few: at most [`MAX_PER_ACCOUNT`]).
pub fn of_account(tx: &impl Reads, account: Uuid) -> Result<Vec<StoredPasskey>, AppError> {
    let t = tx.open(PASSKEYS)?;
    let mut out: Vec<StoredPasskey> = super::codec::in_scope(&t, account.as_u128())?;
    out.sort_by_key(|p| p.created);
    Ok(out)
}

pub fn remove(tx: &WriteTransaction, account: Uuid, id: Uuid) -> Result<bool, AppError> {
    Ok(tx.open_table(PASSKEYS)?.remove(key(account, id))?.is_some())
}

pub fn put_ceremony(tx: &WriteTransaction, id: &str, c: &Ceremony) -> Result<(), AppError> {
    codec::put(tx, PASSKEY_CEREMONIES, id, c)
}

pub fn ceremony(tx: &impl Reads, id: &str) -> Result<Option<Ceremony>, AppError> {
    tx.row(PASSKEY_CEREMONIES, id)
}

/// Takes the ceremony out: `None` when another request took it first (or it never was).
pub fn take_ceremony(tx: &WriteTransaction, id: &str) -> Result<Option<Ceremony>, AppError> {
    codec::take(tx, PASSKEY_CEREMONIES, id)
}

/// Deletes the ceremonies past their time; returns how many.
pub fn purge_ceremonies(tx: &WriteTransaction, now: DateTime<Utc>) -> Result<usize, AppError> {
    let mut t = tx.open_table(PASSKEY_CEREMONIES)?;
    let mut old = Vec::new();
    for row in t.iter()? {
        let (k, v) = row?;
        if decode::<Ceremony>(v.value())?.expires <= now {
            old.push(k.value().to_string());
        }
    }
    for k in &old {
        t.remove(k.as_str())?;
    }
    Ok(old.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::store::Store;

    #[test]
    fn a_ceremony_is_taken_once_and_expired_ones_are_purged() {
        let store = Store::memory();
        let now = Utc::now();
        let c = |secs| Ceremony { kind: CeremonyKind::SignIn, account: None, state: serde_json::json!({}), expires: now + chrono::Duration::seconds(secs) };
        let (a, b) = (c(60), c(-1));
        store.write_blocking(move |tx| { put_ceremony(tx, "a", &a)?; put_ceremony(tx, "b", &b) }).unwrap();
        let first = store.write_blocking(|tx| take_ceremony(tx, "a")).unwrap();
        let second = store.write_blocking(|tx| take_ceremony(tx, "a")).unwrap();
        assert!(first.is_some() && second.is_none());
        assert_eq!(store.write_blocking(move |tx| purge_ceremonies(tx, now)).unwrap(), 1);
        assert!(store.read_blocking(|tx| ceremony(tx, "b")).unwrap().is_none());
    }

    #[test]
    fn an_accounts_passkeys_are_its_own() {
        let store = Store::memory();
        let (ann, bob) = (Uuid::new_v4(), Uuid::new_v4());
        let p = |name: &str| StoredPasskey { id: Uuid::new_v4(), name: name.into(), credential: serde_json::json!({}), created: Utc::now(), last_used: None };
        let (k1, k2, k3) = (p("laptop"), p("phone"), p("bob's"));
        let gone = k1.id;
        store.write_blocking(move |tx| { put(tx, ann, &k1)?; put(tx, ann, &k2)?; put(tx, bob, &k3) }).unwrap();
        assert!(store.write_blocking(move |tx| remove(tx, ann, gone)).unwrap());
        let names: Vec<String> = store.read_blocking(move |tx| of_account(tx, ann)).unwrap().into_iter().map(|p| p.name).collect();
        assert_eq!(names, vec!["phone".to_string()]);
    }
}
