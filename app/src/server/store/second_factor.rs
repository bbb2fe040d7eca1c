//! Second factors: an account's authenticator (TOTP) secret, the secret being enrolled, the
//! hashes of its unused recovery codes, and its recent failed codes.

use chrono::{DateTime, Utc};
use redb::WriteTransaction;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::codec;
use super::tables::SECOND_FACTORS;
use super::Reads;
use crate::model::AppError;

/// What an account has for its second factor.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondFactor {
    /// The authenticator app's shared secret, once its enrolment was confirmed with a code.
    pub totp: Option<TotpSecret>,
    /// A secret shown for enrolment and not yet confirmed.
    pub pending: Option<TotpSecret>,
    /// SHA-256 (hex) of each recovery code not yet used; a used one is removed.
    pub recovery: Vec<String>,
    /// Wrong codes since the last accepted one, and when the first of them came.
    pub failures: u32,
    pub failing_since: Option<DateTime<Utc>>,
}

/// A shared secret of RFC 6238 (SHA-1, six digits, 30-second steps).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpSecret {
    /// The 20 secret bytes, hex.
    pub secret: String,
    pub created: DateTime<Utc>,
    /// The last time step whose code was accepted: a code of this step or an earlier one is
    /// refused, so a code works once.
    pub last_step: u64,
}

pub fn get(tx: &impl Reads, account: Uuid) -> Result<Option<SecondFactor>, AppError> {
    tx.row(SECOND_FACTORS, account.as_u128())
}

pub fn put(tx: &WriteTransaction, account: Uuid, record: &SecondFactor) -> Result<(), AppError> {
    codec::put(tx, SECOND_FACTORS, account.as_u128(), record)
}

/// Removes the account's second factor; whether it had a record.
pub fn remove(tx: &WriteTransaction, account: Uuid) -> Result<bool, AppError> {
    Ok(tx.open_table(SECOND_FACTORS)?.remove(account.as_u128())?.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::store::Store;

    #[test]
    fn a_record_is_kept_replaced_and_removed() {
        let store = Store::memory();
        let id = Uuid::now_v7();
        let record = SecondFactor { recovery: vec!["ab".into()], failures: 1, ..Default::default() };
        store.write_blocking(|tx| put(tx, id, &record)).unwrap();
        assert_eq!(store.write_blocking(|tx| get(tx, id)).unwrap(), Some(record));
        assert!(store.write_blocking(|tx| remove(tx, id)).unwrap());
        assert!(!store.write_blocking(|tx| remove(tx, id)).unwrap());
        assert_eq!(store.write_blocking(|tx| get(tx, id)).unwrap(), None);
    }
}
