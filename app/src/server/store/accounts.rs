//! Account records and their unique indexes.

use chrono::{DateTime, Utc};
use super::Reads;
use redb::{ReadTransaction, ReadableTable, ReadableTableMetadata, WriteTransaction};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::codec::{encode, put};
use super::listing::{self, Dimension, List, Listed, Row, Window};
use super::tables::{ACCOUNTS, ACCOUNTS_BY_EMAIL, ACCOUNTS_BY_USERNAME};
use crate::model::Missing;
use crate::model::account::{email_key, username_key, AccountView};
use crate::model::page::KeyValue;
use crate::model::AppError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: Uuid,
    pub email: String,
    pub username: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    pub is_operator: bool,
    pub created: DateTime<Utc>,
    /// Raised when the password changes; sessions from an older epoch are signed out.
    pub session_epoch: u64,
    /// Whether the owner of `email` has proven it by opening the emailed link. Only a verified
    /// address admits its account to anything (invitations, representative admissions).
    /// Absent in records written before verification existed: those read as unverified.
    #[serde(default)]
    pub email_verified: bool,
    /// Since when a second factor (an authenticator app) is required at login; its secret and
    /// recovery codes are in `second_factor`. Absent in records written before two factors existed.
    #[serde(default)]
    pub second_factor: Option<DateTime<Utc>>,
    /// How many passkeys the account has (they are in `passkeys`). Absent in records written
    /// before passkeys existed: none.
    #[serde(default)]
    pub passkeys: u32,
}

impl Account {
    /// Whether the account has a second factor: an authenticator app or a passkey.
    pub fn has_second_factor(&self) -> bool {
        self.second_factor.is_some() || self.passkeys > 0
    }

    pub fn view(&self) -> AccountView {
        AccountView {
            id: self.id,
            email: self.email.clone(),
            username: self.username.clone(),
            is_operator: self.is_operator,
            created: self.created,
            email_verified: self.email_verified,
            second_factor: self.has_second_factor(),
        }
    }
}

/// Inserts a new account; refuses a taken email or username (ignoring case).
pub fn insert(tx: &WriteTransaction, account: &Account) -> Result<(), AppError> {
    let mut by_email = tx.open_table(ACCOUNTS_BY_EMAIL)?;
    let mut by_username = tx.open_table(ACCOUNTS_BY_USERNAME)?;
    let ekey = email_key(&account.email);
    let ukey = username_key(&account.username);
    if by_email.get(ekey.as_str())?.is_some() {
        return Err(AppError::conflict(
            "Email",
            "is already registered to an account",
        ));
    }
    if by_username.get(ukey.as_str())?.is_some() {
        return Err(AppError::conflict("Username", "is already taken"));
    }
    by_email.insert(ekey.as_str(), account.id.as_u128())?;
    by_username.insert(ukey.as_str(), account.id.as_u128())?;
    put(tx, ACCOUNTS, account.id.as_u128(), account)?;
    index(tx, account)
}

/// The operator's accounts list, sorted by username, email or when the account was made.
pub const LIST: List = List { code: 1, sorts: &["username", "email", "created"], default_sort: "username" };

fn index(tx: &WriteTransaction, a: &Account) -> Result<(), AppError> {
    let row = Row::new(
        &[a.email_verified.code_in_index(), a.is_operator.code_in_index()],
        vec![KeyValue::Text(a.username.clone()), KeyValue::Text(a.email.clone()), a.created.into()],
    );
    listing::set(tx, LIST, 0, a.id.as_u128(), Some(&row))
}

/// Lists every account again (a migration's job).
pub fn reindex(tx: &WriteTransaction) -> Result<(), AppError> {
    listing::clear(tx, LIST)?;
    let all: Vec<Account> = listing::records(tx, ACCOUNTS)?;
    all.iter().try_for_each(|a| index(tx, a))
}

/// Replaces an account's record. Email and username are not changed here.
pub fn update(tx: &WriteTransaction, account: &Account) -> Result<(), AppError> {
    let mut accounts = tx.open_table(ACCOUNTS)?;
    if accounts.get(account.id.as_u128())?.is_none() {
        return Err(Missing::Account.into());
    }
    accounts.insert(account.id.as_u128(), encode(account)?.as_slice())?;
    drop(accounts);
    index(tx, account)
}

/// Moves an account to a new email address, refusing one that another account holds. The caller
/// sorts the account's members list entries again (`members::account_changed`).
pub fn change_email(tx: &WriteTransaction, account: &mut Account, new_email: &str) -> Result<(), AppError> {
    let mut by_email = tx.open_table(ACCOUNTS_BY_EMAIL)?;
    let new_key = email_key(new_email);
    if let Some(holder) = by_email.get(new_key.as_str())?.map(|v| v.value()) {
        if holder != account.id.as_u128() {
            return Err(AppError::conflict(
                "New email",
                "is already used by another account",
            ));
        }
    }
    by_email.remove(email_key(&account.email).as_str())?;
    by_email.insert(new_key.as_str(), account.id.as_u128())?;
    drop(by_email);
    account.email = new_email.to_string();
    update(tx, account)?;
    Ok(())
}

pub fn get(tx: &impl Reads, id: Uuid) -> Result<Option<Account>, AppError> {
    tx.row(ACCOUNTS, id.as_u128())
}

/// Finds an account by email (when `login` contains `@`) or by username, ignoring case.
pub fn find_by_login(tx: &impl Reads, login: &str) -> Result<Option<Account>, AppError> {
    let id = if login.contains('@') {
        tx.open(ACCOUNTS_BY_EMAIL)?
            .get(email_key(login).as_str())?
            .map(|v| v.value())
    } else {
        tx.open(ACCOUNTS_BY_USERNAME)?
            .get(username_key(login).as_str())?
            .map(|v| v.value())
    };
    match id {
        Some(id) => get(tx, Uuid::from_u128(id)),
        None => Ok(None),
    }
}

pub fn count(tx: &ReadTransaction) -> Result<u64, AppError> {
    Ok(tx.open_table(ACCOUNTS)?.len()?)
}

/// A page of accounts, those whose username or email contains `query`. Without a search only
/// the page's accounts are read.
pub fn list(tx: &ReadTransaction, query: &str, window: &Window) -> Result<Listed<AccountView>, AppError> {
    let matches = |a: &Account, q: &str| a.username.to_lowercase().contains(q) || a.email.to_lowercase().contains(q);
    listing::find(tx, LIST, ACCOUNTS, &listing::Query { scope: 0, filter: 0, window }, query, matches, Account::view)
}

/// Accounts whose email address is not verified yet.
pub fn count_unverified(tx: &ReadTransaction) -> Result<u64, AppError> {
    listing::count(tx, LIST, 0, listing::filter(&[Some(false.code_in_index()), None]))
}

/// Accounts of platform operators.
pub fn count_operators(tx: &ReadTransaction) -> Result<u64, AppError> {
    listing::count(tx, LIST, 0, listing::filter(&[None, Some(true.code_in_index())]))
}

#[cfg(test)]
mod tests {
    use super::super::Store;
    use super::*;

    fn account(email: &str, username: &str) -> Account {
        Account {
            id: Uuid::new_v4(),
            email: email.into(),
            username: username.into(),
            password_hash: "x".into(),
            is_operator: false,
            created: Utc::now(),
            session_epoch: 0,
            email_verified: false,
            second_factor: None,
            passkeys: 0,
        }
    }

    /// Bytes of an account as the build before email verification wrote them.
    const WRITTEN_BEFORE_VERIFICATION: &str = r#"{"id":"0193a1c2-7d4e-7c1a-9d2b-3f4e5a6b7c8d","email":"ann@example.com","username":"ann","password_hash":"$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA","is_operator":false,"created":"2026-10-01T08:30:00Z","session_epoch":2}"#;

    fn found(store: &Store, login: &str) -> Option<Account> {
        let login = login.to_string();
        store.read_blocking(move |tx| find_by_login(tx, &login)).unwrap()
    }

    #[test]
    fn accounts_written_by_an_earlier_build_still_decode() {
        let a: Account = super::super::codec::decode(WRITTEN_BEFORE_VERIFICATION.as_bytes()).unwrap();
        assert_eq!(a.username, "ann");
        assert_eq!(a.session_epoch, 2);
        assert!(!a.email_verified, "unknown means unverified");
        // and the current encoding keeps every field name
        let json: serde_json::Value = serde_json::from_slice(&encode(&a).unwrap()).unwrap();
        for field in ["id", "email", "username", "password_hash", "is_operator", "created", "session_epoch", "email_verified"] {
            assert!(json.get(field).is_some(), "{field}");
        }
    }

    #[test]
    fn changing_email_moves_the_index_and_refuses_a_taken_address() {
        let store = Store::memory();
        let mut ann = account("ann@example.com", "ann");
        let bob = account("bob@example.com", "bob");
        store.write_blocking(|tx| insert(tx, &ann)).unwrap();
        store.write_blocking(|tx| insert(tx, &bob)).unwrap();
        let e = store
            .write_blocking(|tx| change_email(tx, &mut ann.clone(), "BOB@example.com"))
            .unwrap_err();
        assert_eq!((e.status(), e.field()), (409, Some("New email")));
        store.write_blocking(|tx| change_email(tx, &mut ann, "ann@new.example")).unwrap();
        assert!(found(&store, "ann@example.com").is_none());
        assert_eq!(
            found(&store, "ANN@new.example").map(|a| a.email),
            Some("ann@new.example".to_string())
        );
    }

    #[test]
    fn email_and_username_are_unique_ignoring_case() {
        let store = Store::memory();
        let ann = account("Ann@Example.com", "ann");
        store.write_blocking(|tx| insert(tx, &ann)).unwrap();
        let same_email = store
            .write_blocking(|tx| insert(tx, &account("ann@example.COM", "other")))
            .unwrap_err();
        assert_eq!(same_email.field(), Some("Email"));
        assert_eq!(same_email.status(), 409);
        let same_name = store
            .write_blocking(|tx| insert(tx, &account("bob@example.com", "ANN")))
            .unwrap_err();
        assert_eq!(same_name.field(), Some("Username"));
        // the refused inserts left nothing behind
        assert_eq!(store.read_blocking(count).unwrap(), 1);
        assert!(found(&store, "bob@example.com").is_none());
    }

    #[test]
    fn found_by_email_or_username() {
        let store = Store::memory();
        let ann = account("Ann@Example.com", "Ann.Lee");
        store.write_blocking(|tx| insert(tx, &ann)).unwrap();
        for login in ["ann@example.com", "ANN@EXAMPLE.COM", "ann.lee", "Ann.Lee"] {
            assert_eq!(found(&store, login).map(|a| a.id), Some(ann.id), "{login}");
        }
        assert!(found(&store, "nobody").is_none());
    }

    #[test]
    fn update_persists_and_refuses_unknown_ids() {
        let store = Store::memory();
        let mut ann = account("ann@example.com", "ann");
        store.write_blocking(|tx| insert(tx, &ann)).unwrap();
        ann.session_epoch = 3;
        ann.is_operator = true;
        store.write_blocking(|tx| update(tx, &ann)).unwrap();
        assert_eq!(
            store.read_blocking(|tx| get(tx, ann.id)).unwrap().unwrap(),
            ann
        );
        assert_eq!(store.read_blocking(count_operators).unwrap(), 1);
        let ghost = account("ghost@example.com", "ghost");
        assert_eq!(
            store
                .write_blocking(|tx| update(tx, &ghost))
                .unwrap_err()
                .status(),
            404
        );
    }
}
