//! Personal access tokens: a person's named, scoped, expiring tokens for CI and the command
//! line, kept under the SHA-256 of the token (the token itself is shown once and never stored).

use chrono::{DateTime, Utc};
use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::codec::{decode, put};
use super::tables::{ACCESS_TOKENS, ACCESS_TOKENS_BY_ACCOUNT};
use super::Reads;
use crate::model::account::TokenScope;
use crate::model::AppError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessToken {
    pub id: Uuid,
    pub account: Uuid,
    pub name: String,
    /// The one workspace the token acts in.
    pub workspace: Uuid,
    pub workspace_name: String,
    pub scopes: Vec<TokenScope>,
    pub created: DateTime<Utc>,
    pub expires: DateTime<Utc>,
    pub last_used: Option<DateTime<Utc>>,
    pub revoked: Option<DateTime<Utc>>,
    /// The single sign-on provider the session that made it signed in with (`None`: another
    /// way, or a token made before this was kept).
    #[serde(default)]
    pub signed_in_with: Option<String>,
}

impl AccessToken {
    /// Usable now: neither revoked nor expired.
    pub fn live(&self, now: DateTime<Utc>) -> bool {
        self.revoked.is_none() && now < self.expires
    }
}

/// Stores a new token under `hash` (hex SHA-256 of the token).
pub fn insert(tx: &WriteTransaction, hash: &str, token: &AccessToken) -> Result<(), AppError> {
    put(tx, ACCESS_TOKENS, hash, token)?;
    tx.open_table(ACCESS_TOKENS_BY_ACCOUNT)?
        .insert((token.account.as_u128(), token.id.as_u128()), hash)?;
    Ok(())
}

/// Replaces the token stored under `hash` (last used, revoked).
pub fn update(tx: &WriteTransaction, hash: &str, token: &AccessToken) -> Result<(), AppError> {
    put(tx, ACCESS_TOKENS, hash, token)
}

/// Deletes the token stored under `hash` (one that has ended: revoked or expired).
pub fn remove(tx: &WriteTransaction, hash: &str, token: &AccessToken) -> Result<(), AppError> {
    tx.open_table(ACCESS_TOKENS)?.remove(hash)?;
    tx.open_table(ACCESS_TOKENS_BY_ACCOUNT)?.remove((token.account.as_u128(), token.id.as_u128()))?;
    Ok(())
}

/// The token whose SHA-256 is `hash`.
pub fn by_hash(tx: &impl Reads, hash: &str) -> Result<Option<AccessToken>, AppError> {
    tx.row(ACCESS_TOKENS, hash)
}

/// Every token of `account` with its hash, oldest first (ids are UUIDv7).
pub fn of_account(tx: &impl Reads, account: Uuid) -> Result<Vec<(String, AccessToken)>, AppError> {
    let index = tx.open(ACCESS_TOKENS_BY_ACCOUNT)?;
    let tokens = tx.open(ACCESS_TOKENS)?;
    let a = account.as_u128();
    let mut out = Vec::new();
    for row in index.range((a, 0)..=(a, u128::MAX))? {
        let hash = row?.1.value().to_string();
        if let Some(v) = tokens.get(hash.as_str())? {
            out.push((hash, decode(v.value())?));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::store::Store;

    #[test]
    fn tokens_are_found_by_hash_and_listed_per_account() {
        let store = Store::memory();
        let (ann, bob) = (Uuid::now_v7(), Uuid::now_v7());
        let token = |account, name: &str| AccessToken {
            id: Uuid::now_v7(),
            account,
            name: name.into(),
            workspace: Uuid::nil(),
            workspace_name: "Acme".into(),
            scopes: vec![TokenScope::Upload],
            created: Utc::now(),
            expires: Utc::now() + chrono::Duration::days(1),
            last_used: None,
            revoked: None,
            signed_in_with: None,
        };
        let (a1, a2, b1) = (token(ann, "ci"), token(ann, "laptop"), token(bob, "ci"));
        let (x1, x2, y1) = (a1.clone(), a2.clone(), b1.clone());
        store
            .write_blocking(move |tx| {
                insert(tx, "aa", &x1)?;
                insert(tx, "ab", &x2)?;
                insert(tx, "ba", &y1)
            })
            .unwrap();
        let listed = store.write_blocking(move |tx| of_account(tx, ann)).unwrap();
        assert_eq!(listed, vec![("aa".to_string(), a1.clone()), ("ab".to_string(), a2)]);
        assert_eq!(store.write_blocking(|tx| by_hash(tx, "ba")).unwrap(), Some(b1));
        assert_eq!(store.write_blocking(|tx| by_hash(tx, "zz")).unwrap(), None);
        assert!(a1.live(Utc::now()));
        assert!(!a1.live(a1.expires));
        assert!(!AccessToken { revoked: Some(Utc::now()), ..a1 }.live(Utc::now()));
    }
}
