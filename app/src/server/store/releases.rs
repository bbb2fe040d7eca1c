//! What is released to which App: one version of a mini program per App.

use chrono::{DateTime, Utc};
use super::Reads;
use redb::{ReadTransaction, ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::codec::{decode, encode};
use super::effects::{caused, Effect};
use super::tables::RELEASES;
use crate::model::AppError;

/// The version of a mini program an App's container gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    pub mini_program: Uuid,
    pub app: Uuid,
    pub version: String,
    pub sha256: String,
    pub size: u64,
    pub released: DateTime<Utc>,
    /// The publishing application that released it.
    pub application: Uuid,
}

pub fn put(tx: &WriteTransaction, r: &Release) -> Result<Option<Release>, AppError> {
    caused(Effect::Served);
    let mut t = tx.open_table(RELEASES)?;
    let old = t
        .insert((r.mini_program.as_u128(), r.app.as_u128()), encode(r)?.as_slice())?
        .map(|v| decode::<Release>(v.value()))
        .transpose()?;
    Ok(old)
}

fn of_in(t: &impl ReadableTable<(u128, u128), &'static [u8]>, mp: Uuid) -> Result<Vec<Release>, AppError> {
    let m = mp.as_u128();
    let mut out = Vec::new();
    for row in t.range((m, 0)..=(m, u128::MAX))? {
        out.push(decode::<Release>(row?.1.value())?);
    }
    Ok(out)
}

/// Where a mini program is released.
pub fn of_mini_program(tx: &impl Reads, mp: Uuid) -> Result<Vec<Release>, AppError> {
    of_in(&tx.open(RELEASES)?, mp)
}

/// Takes a mini program off every App (a removal); returns what was released.
pub fn remove_mini_program(tx: &WriteTransaction, mp: Uuid) -> Result<Vec<Release>, AppError> {
    caused(Effect::Served);
    let gone = of_mini_program(tx, mp)?;
    let mut t = tx.open_table(RELEASES)?;
    for r in &gone {
        t.remove((r.mini_program.as_u128(), r.app.as_u128()))?;
    }
    Ok(gone)
}

/// Every release, for the container API's snapshot.
pub fn all(tx: &ReadTransaction) -> Result<Vec<Release>, AppError> {
    let t = tx.open_table(RELEASES)?;
    let mut out = Vec::new();
    for row in t.iter()? {
        out.push(decode::<Release>(row?.1.value())?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::Store;
    use super::*;

    fn release(mp: Uuid, app: Uuid, version: &str) -> Release {
        Release { mini_program: mp, app, version: version.into(), sha256: "ab".repeat(32), size: 3, released: Utc::now(), application: Uuid::now_v7() }
    }

    #[test]
    fn a_release_replaces_the_one_before_for_its_app_and_a_removal_takes_all() {
        let store = Store::memory();
        let (mp, a, b) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(store.write_blocking(|tx| put(tx, &release(mp, a, "1.0.0"))).unwrap(), None);
        store.write_blocking(|tx| put(tx, &release(mp, b, "1.0.0"))).unwrap();
        let old = store.write_blocking(|tx| put(tx, &release(mp, a, "1.1.0"))).unwrap().unwrap();
        assert_eq!(old.version, "1.0.0");
        let now: Vec<String> = store.read_blocking(|tx| of_mini_program(tx, mp)).unwrap().into_iter().map(|r| r.version).collect();
        assert_eq!(now.len(), 2);
        assert!(now.contains(&"1.1.0".to_string()) && now.contains(&"1.0.0".to_string()));
        assert_eq!(store.write_blocking(|tx| remove_mini_program(tx, mp)).unwrap().len(), 2);
        assert!(store.read_blocking(all).unwrap().is_empty());
    }
}
