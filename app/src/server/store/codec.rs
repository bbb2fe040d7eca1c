//! Encoding of stored values: JSON bytes, decoded with an error rather than a panic; one row
//! read, written or taken (`one`, `put`, `take`; `Reads::row` reads one in either kind of
//! transaction); and the reads that decode many rows at once (a whole table, one scope, the rows
//! an index lists).

use std::borrow::Borrow;

use redb::{ReadableTable, TableDefinition, WriteTransaction};
use serde::{de::DeserializeOwned, Serialize};

use crate::model::AppError;

pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, AppError> {
    serde_json::to_vec(value).map_err(|e| {
        tracing::error!(error = %e, "could not encode a stored value");
        AppError::Internal
    })
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    serde_json::from_slice(bytes).map_err(|e| {
        tracing::error!(error = %e, "a stored value could not be decoded");
        AppError::Internal
    })
}

/// The value of `table` under `key`, decoded; `None` when it holds none.
pub fn one<'k, K: redb::Key + 'static, T: DeserializeOwned>(
    table: &impl ReadableTable<K, &'static [u8]>,
    key: impl Borrow<K::SelfType<'k>>,
) -> Result<Option<T>, AppError> {
    table.get(key)?.map(|v| decode(v.value())).transpose()
}

/// Stores `value` under `key` in the table `def`, encoded, replacing what was there.
pub fn put<'k, K: redb::Key + 'static, T: Serialize>(
    tx: &WriteTransaction,
    def: TableDefinition<K, &'static [u8]>,
    key: impl Borrow<K::SelfType<'k>>,
    value: &T,
) -> Result<(), AppError> {
    tx.open_table(def)?.insert(key, encode(value)?.as_slice())?;
    Ok(())
}

/// Removes the row of the table `def` under `key`, and gives it decoded; `None` when there was
/// none (another request took it first, or it never was).
pub fn take<'k, K: redb::Key + 'static, T: DeserializeOwned>(
    tx: &WriteTransaction,
    def: TableDefinition<K, &'static [u8]>,
    key: impl Borrow<K::SelfType<'k>>,
) -> Result<Option<T>, AppError> {
    tx.open_table(def)?.remove(key)?.map(|v| decode(v.value())).transpose()
}

/// Every value of `table`, decoded, in key order.
pub fn all<K: redb::Key + 'static, T: DeserializeOwned>(table: &impl ReadableTable<K, &'static [u8]>) -> Result<Vec<T>, AppError> {
    let mut out = Vec::new();
    for row in table.iter()? {
        out.push(decode(row?.1.value())?);
    }
    Ok(out)
}

/// The values of one scope of a table keyed by (scope, id), decoded, in id order.
pub fn in_scope<T: DeserializeOwned>(table: &impl ReadableTable<(u128, u128), &'static [u8]>, scope: u128) -> Result<Vec<T>, AppError> {
    let mut out = Vec::new();
    for row in table.range((scope, 0)..=(scope, u128::MAX))? {
        out.push(decode(row?.1.value())?);
    }
    Ok(out)
}

/// The rows of `table` that `index` lists under `scope` (an index keyed by (scope, id)), decoded,
/// in id order; an id the table no longer holds is left out.
pub fn indexed<T: DeserializeOwned>(
    index: &impl ReadableTable<(u128, u128), ()>,
    table: &impl ReadableTable<u128, &'static [u8]>,
    scope: u128,
) -> Result<Vec<T>, AppError> {
    let mut out = Vec::new();
    for row in index.range((scope, 0)..=(scope, u128::MAX))? {
        if let Some(v) = table.get(row?.0.value().1)? {
            out.push(decode(v.value())?);
        }
    }
    Ok(out)
}
