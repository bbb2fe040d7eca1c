//! Device authorization grants (RFC 8628) of `mpdp studio login`: a request waiting for a person
//! to approve it in the browser, kept under the SHA-256 of its device code (the code itself is
//! only on the device) and found by its user code.

use chrono::{DateTime, Utc};
use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::codec::{self, decode, put};
use super::tables::{DEVICE_GRANTS, DEVICE_GRANTS_BY_USER_CODE};
use super::Reads;
use crate::model::AppError;
use crate::model::account::TokenTerms as Terms;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceGrant {
    /// What the person types in the browser: `XXXX-XXXX`.
    pub user_code: String,
    pub created: DateTime<Utc>,
    pub expires: DateTime<Utc>,
    /// The address the request came from, shown to the person who decides.
    pub client: Option<String>,
    /// When the device last asked for its token (polls closer than the interval slow it down).
    pub last_poll: Option<DateTime<Utc>>,
    pub decision: Option<Decision>,
}

/// What the person decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Decision {
    /// A token with these terms is made for `account` when the device next asks.
    Approved { account: Uuid, terms: Terms },
    Denied,
}

pub fn insert(tx: &WriteTransaction, device_hash: &str, grant: &DeviceGrant) -> Result<(), AppError> {
    let mut by_user = tx.open_table(DEVICE_GRANTS_BY_USER_CODE)?;
    if by_user.get(grant.user_code.as_str())?.is_some() {
        return Err(AppError::conflict("User code", "is in use: ask for a new one"));
    }
    by_user.insert(grant.user_code.as_str(), device_hash)?;
    put(tx, DEVICE_GRANTS, device_hash, grant)
}

pub fn update(tx: &WriteTransaction, device_hash: &str, grant: &DeviceGrant) -> Result<(), AppError> {
    put(tx, DEVICE_GRANTS, device_hash, grant)
}

pub fn get(tx: &impl Reads, device_hash: &str) -> Result<Option<DeviceGrant>, AppError> {
    tx.row(DEVICE_GRANTS, device_hash)
}

/// The grant a user code names: its device hash and the grant.
pub fn by_user_code(tx: &impl Reads, user_code: &str) -> Result<Option<(String, DeviceGrant)>, AppError> {
    let index = tx.open(DEVICE_GRANTS_BY_USER_CODE)?;
    let Some(hash) = index.get(user_code)?.map(|h| h.value().to_string()) else {
        return Ok(None);
    };
    Ok(get(tx, &hash)?.map(|g| (hash, g)))
}

/// Removes a grant (delivered, or expired).
pub fn remove(tx: &WriteTransaction, device_hash: &str) -> Result<(), AppError> {
    if let Some(g) = codec::take::<_, DeviceGrant>(tx, DEVICE_GRANTS, device_hash)? {
        tx.open_table(DEVICE_GRANTS_BY_USER_CODE)?.remove(g.user_code.as_str())?;
    }
    Ok(())
}

/// Removes every grant that expired before `now`; how many.
pub fn purge(tx: &WriteTransaction, now: DateTime<Utc>) -> Result<usize, AppError> {
    let mut stale = Vec::new();
    for row in tx.open_table(DEVICE_GRANTS)?.iter()? {
        let (k, v) = row?;
        if decode::<DeviceGrant>(v.value())?.expires < now {
            stale.push(k.value().to_string());
        }
    }
    for hash in &stale {
        remove(tx, hash)?;
    }
    Ok(stale.len())
}
