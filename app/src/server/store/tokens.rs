//! Emailed account tokens: email verification, email change and password reset. Keyed by the
//! token's hash; each account has at most one live token per purpose, and a token is deleted
//! when used, so a link works once.

use chrono::{DateTime, Utc};
use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::codec::{encode, one};
use super::tables::{ACCOUNT_TOKENS, ACCOUNT_TOKENS_BY_ACCOUNT};
use super::Reads;
use crate::model::AppError;
use crate::server::tokens::{hash_token, new_token, well_formed};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Purpose {
    /// Proves the account's current email address.
    VerifyEmail,
    /// Proves a new address the account asked to move to.
    ChangeEmail,
    ResetPassword,
}

impl Purpose {
    /// Stored in index keys: explicit numbers, never the declaration order.
    pub fn code(self) -> u8 {
        match self {
            Purpose::VerifyEmail => 1,
            Purpose::ChangeEmail => 2,
            Purpose::ResetPassword => 3,
        }
    }

    fn link_name(self) -> &'static str {
        match self {
            Purpose::VerifyEmail | Purpose::ChangeEmail => "verification link",
            Purpose::ResetPassword => "password reset link",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountToken {
    pub account: Uuid,
    pub purpose: Purpose,
    /// The address the link was sent to (for a change: the new address).
    pub email: String,
    pub created: DateTime<Utc>,
    pub expires: DateTime<Utc>,
}

/// Issues a token for `account` and `purpose`, retiring the previous one; returns the token (for
/// the email only).
pub fn issue(
    tx: &WriteTransaction,
    account: Uuid,
    purpose: Purpose,
    email: &str,
    lifetime: chrono::Duration,
) -> Result<String, AppError> {
    let mut by_account = tx.open_table(ACCOUNT_TOKENS_BY_ACCOUNT)?;
    let mut tokens = tx.open_table(ACCOUNT_TOKENS)?;
    let key = (account.as_u128(), purpose.code());
    let previous = by_account.get(key)?.map(|v| *v.value());
    if let Some(old) = previous {
        tokens.remove(&old)?;
    }
    let (token, hash) = new_token();
    let now = super::now();
    let record = AccountToken {
        account,
        purpose,
        email: email.to_string(),
        created: now,
        expires: now + lifetime,
    };
    tokens.insert(&hash, encode(&record)?.as_slice())?;
    by_account.insert(key, &hash)?;
    Ok(token)
}

/// Uses a token: it must exist, be for `purpose` and be unexpired. It is deleted either way
/// once found, so a link works at most once.
pub fn consume(
    tx: &WriteTransaction,
    token: &str,
    purpose: Purpose,
    field: &str,
) -> Result<AccountToken, AppError> {
    let invalid = || {
        AppError::invalid(
            field,
            format!(
                "this {} is not valid: it may have been used already or replaced by a newer one",
                purpose.link_name()
            ),
        )
    };
    if !well_formed(token) {
        return Err(AppError::invalid(
            field,
            format!("this {} is malformed; copy the whole link from the email", purpose.link_name()),
        ));
    }
    let hash = hash_token(token);
    let mut tokens = tx.open_table(ACCOUNT_TOKENS)?;
    let found: Option<AccountToken> = one(&tokens, &hash)?;
    let record = found.filter(|r| r.purpose == purpose).ok_or_else(invalid)?;
    tokens.remove(&hash)?;
    tx.open_table(ACCOUNT_TOKENS_BY_ACCOUNT)?
        .remove((record.account.as_u128(), purpose.code()))?;
    if record.expires <= super::now() {
        return Err(AppError::invalid(
            field,
            format!("this {} has expired; ask for a new one", purpose.link_name()),
        ));
    }
    Ok(record)
}

/// The record of a token, without using it up (to check who may use it first).
pub fn peek(tx: &WriteTransaction, token: &str) -> Result<Option<AccountToken>, AppError> {
    if !well_formed(token) {
        return Ok(None);
    }
    tx.row(ACCOUNT_TOKENS, &hash_token(token))
}

/// Retires the live token of `account` for `purpose`, if any.
pub fn retire(tx: &WriteTransaction, account: Uuid, purpose: Purpose) -> Result<(), AppError> {
    let old = tx
        .open_table(ACCOUNT_TOKENS_BY_ACCOUNT)?
        .remove((account.as_u128(), purpose.code()))?
        .map(|v| *v.value());
    if let Some(old) = old {
        tx.open_table(ACCOUNT_TOKENS)?.remove(&old)?;
    }
    Ok(())
}

/// Retires the live password-reset and email-change links of `account`: they were issued for a
/// password or an address that has just changed, so they must not outlive it.
pub fn retire_credential_links(tx: &WriteTransaction, account: Uuid) -> Result<(), AppError> {
    retire(tx, account, Purpose::ResetPassword)?;
    retire(tx, account, Purpose::ChangeEmail)
}

#[cfg(test)]
mod tests {
    use super::super::Store;
    use super::*;

    #[test]
    fn a_token_works_once_for_its_purpose_and_a_new_one_retires_the_old() {
        let store = Store::memory();
        let ann = Uuid::new_v4();
        let first = store
            .write_blocking(|tx| issue(tx, ann, Purpose::VerifyEmail, "ann@example.com", chrono::Duration::hours(24)))
            .unwrap();
        let second = store
            .write_blocking(|tx| issue(tx, ann, Purpose::VerifyEmail, "ann@example.com", chrono::Duration::hours(24)))
            .unwrap();
        let e = store.write_blocking(|tx| consume(tx, &first, Purpose::VerifyEmail, "Link")).unwrap_err();
        assert_eq!((e.status(), e.field()), (422, Some("Link")));
        // the wrong purpose is refused and does not use the token up
        let e = store.write_blocking(|tx| consume(tx, &second, Purpose::ResetPassword, "Link")).unwrap_err();
        assert_eq!(e.status(), 422);
        let used = store.write_blocking(|tx| consume(tx, &second, Purpose::VerifyEmail, "Link")).unwrap();
        assert_eq!((used.account, used.email.as_str()), (ann, "ann@example.com"));
        let e = store.write_blocking(|tx| consume(tx, &second, Purpose::VerifyEmail, "Link")).unwrap_err();
        assert!(e.to_string().contains("not valid"), "{e}");
        let e = store.write_blocking(|tx| consume(tx, "nonsense", Purpose::VerifyEmail, "Link")).unwrap_err();
        assert!(e.to_string().contains("malformed"), "{e}");
    }

    #[test]
    fn an_expired_token_is_refused() {
        let store = Store::memory();
        let ann = Uuid::new_v4();
        let t = store
            .write_blocking(|tx| issue(tx, ann, Purpose::ResetPassword, "ann@example.com", chrono::Duration::seconds(-1)))
            .unwrap();
        let e = store.write_blocking(|tx| consume(tx, &t, Purpose::ResetPassword, "Link")).unwrap_err();
        assert!(e.to_string().contains("expired"), "{e}");
        let e = store.write_blocking(|tx| consume(tx, &t, Purpose::ResetPassword, "Link")).unwrap_err();
        assert!(e.to_string().contains("expired"), "a refused use changes nothing: {e}");
    }
}
