//! What the fleet reports: per App, mini program and version, the launches, failed launches and
//! crashes by hour, and the distinct installs by day (the `cardinality-estimator` crate's
//! HyperLogLog++ of precision 12, 4 096 registers: exact for the first few installs, then about
//! 1.6 % standard error).

use std::collections::BTreeMap;

use cardinality_estimator::CardinalityEstimator;
use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::tables::{FLEET_DAYS, FLEET_HOURS};
use super::Reads;
use crate::model::AppError;

/// Distinct installs, estimated.
pub type Installs = CardinalityEstimator<str>;

/// What was reported of one version in some span of time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub launches: u64,
    pub failed: u64,
    pub crashes: u64,
}

impl Counts {
    pub fn add(&mut self, other: Counts) {
        self.launches += other.launches;
        self.failed += other.failed;
        self.crashes += other.crashes;
    }

    /// Failed launches and crashes.
    pub fn failures(&self) -> u64 {
        self.failed + self.crashes
    }

    /// These counts without `before`, counted earlier among them (none below zero).
    pub fn less(self, before: Counts) -> Counts {
        Counts {
            launches: self.launches.saturating_sub(before.launches),
            failed: self.failed.saturating_sub(before.failed),
            crashes: self.crashes.saturating_sub(before.crashes),
        }
    }
}

/// One version of one mini program on one App.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subject {
    pub app: Uuid,
    pub mini_program: Uuid,
    pub version: String,
}

/// Reports gathered in memory, written in one transaction.
#[derive(Default, Clone)]
pub struct Batch {
    pub hours: BTreeMap<(Subject, i64), Counts>,
    pub days: BTreeMap<(Subject, i64), Installs>,
}

impl Batch {
    /// Adds `other`'s reports to these.
    pub fn merge(&mut self, other: Batch) {
        for (k, c) in other.hours {
            self.hours.entry(k).or_default().add(c);
        }
        for (k, i) in other.days {
            self.days.entry(k).or_insert_with(Installs::new).merge(&i);
        }
    }
}

/// Adds a batch to what is stored.
pub fn add(tx: &WriteTransaction, batch: &Batch) -> Result<(), AppError> {
    let mut hours = tx.open_table(FLEET_HOURS)?;
    for ((s, hour), c) in &batch.hours {
        let key = (s.app.as_u128(), s.mini_program.as_u128(), s.version.as_str(), *hour);
        let (l, f, x) = hours.get(key)?.map(|v| v.value()).unwrap_or_default();
        hours.insert(key, (l + c.launches, f + c.failed, x + c.crashes))?;
    }
    let mut days = tx.open_table(FLEET_DAYS)?;
    for ((s, day), installs) in &batch.days {
        let key = (s.app.as_u128(), s.mini_program.as_u128(), s.version.as_str(), *day);
        let mut merged: Installs = match days.get(key)? {
            Some(v) => decode_installs(v.value())?,
            None => Installs::new(),
        };
        merged.merge(installs);
        let bytes = serde_json::to_vec(&merged).map_err(|_| AppError::Internal)?;
        days.insert(key, bytes.as_slice())?;
    }
    Ok(())
}

fn decode_installs(bytes: &[u8]) -> Result<Installs, AppError> {
    serde_json::from_slice(bytes).map_err(|e| {
        tracing::error!(error = %e, "a stored estimator of installs could not be decoded");
        AppError::Internal
    })
}

/// The counts of `s` from hour `from` on.
pub fn since(tx: &impl Reads, s: &Subject, from: i64) -> Result<Counts, AppError> {
    let t = tx.open(FLEET_HOURS)?;
    let (a, m) = (s.app.as_u128(), s.mini_program.as_u128());
    let mut total = Counts::default();
    for row in t.range((a, m, s.version.as_str(), from)..=(a, m, s.version.as_str(), i64::MAX))? {
        let (launches, failed, crashes) = row?.1.value();
        total.add(Counts { launches, failed, crashes });
    }
    Ok(total)
}

/// Per version of mini program `mp` on `app`, its counts by hour from hour `from` on:
/// (version, hour, counts), by version then hour. Each version's hours before `from` are skipped
/// by a seek, not read, so a page's cost follows its window, not the fleet's whole history; the
/// second value is how many entries were read.
pub fn hours_of(tx: &impl Reads, app: Uuid, mp: Uuid, from: i64) -> Result<(Vec<(String, i64, Counts)>, usize), AppError> {
    let t = tx.open(FLEET_HOURS)?;
    let (a, m) = (app.as_u128(), mp.as_u128());
    let mut out = Vec::new();
    let mut read = 0;
    let mut at = (String::new(), i64::MIN);
    'versions: loop {
        for row in t.range((a, m, at.0.as_str(), at.1)..=(a, m.saturating_add(1), "", i64::MIN))? {
            let row = row?;
            read += 1;
            let (ka, km, version, hour) = row.0.value();
            if (ka, km) != (a, m) {
                break 'versions;
            }
            if hour < from {
                // Into this version's window, in one seek.
                at = (version.to_string(), from);
                continue 'versions;
            }
            let (launches, failed, crashes) = row.1.value();
            out.push((version.to_string(), hour, Counts { launches, failed, crashes }));
        }
        break;
    }
    Ok((out, read))
}

/// The distinct installs that reported version `s` on day `day`, estimated.
pub fn installs_on(tx: &impl Reads, s: &Subject, day: i64) -> Result<u64, AppError> {
    let t = tx.open(FLEET_DAYS)?;
    let v = t.get((s.app.as_u128(), s.mini_program.as_u128(), s.version.as_str(), day))?;
    Ok(match v {
        Some(v) => decode_installs(v.value())?.estimate() as u64,
        None => 0,
    })
}

#[cfg(test)]
mod tests {
    use super::super::Store;
    use super::*;

    #[test]
    fn batches_add_up_by_hour_and_installs_are_counted_once_a_day() {
        let store = Store::memory();
        let s = Subject { app: Uuid::from_u128(1), mini_program: Uuid::from_u128(2), version: "1.0.0".into() };
        let other = Subject { version: "1.1.0".into(), ..s.clone() };
        let batch = |installs: std::ops::Range<u32>| {
            let mut b = Batch::default();
            b.hours.insert((s.clone(), 10), Counts { launches: 3, failed: 1, crashes: 0 });
            b.hours.insert((s.clone(), 11), Counts { launches: 2, failed: 0, crashes: 1 });
            b.hours.insert((other.clone(), 11), Counts { launches: 5, failed: 0, crashes: 0 });
            let mut i = Installs::new();
            for n in installs {
                i.insert(&format!("install-{n}"));
            }
            b.days.insert((s.clone(), 0), i);
            b
        };
        store.write_blocking(|tx| add(tx, &batch(0..100))).unwrap();
        store.write_blocking(|tx| add(tx, &batch(50..150))).unwrap();
        let s2 = s.clone();
        assert_eq!(store.read_blocking(move |tx| since(tx, &s2, 0)).unwrap(), Counts { launches: 10, failed: 2, crashes: 2 });
        let s2 = s.clone();
        assert_eq!(store.read_blocking(move |tx| since(tx, &s2, 11)).unwrap(), Counts { launches: 4, failed: 0, crashes: 2 });
        let s2 = s.clone();
        let installs = store.read_blocking(move |tx| installs_on(tx, &s2, 0)).unwrap();
        assert!((145..=155).contains(&installs), "150 installs counted as {installs}");
        let (rows, _) = store.read_blocking(move |tx| hours_of(tx, s.app, s.mini_program, 11)).unwrap();
        let versions: Vec<(&str, i64)> = rows.iter().map(|(v, h, _)| (v.as_str(), *h)).collect();
        assert_eq!(versions, [("1.0.0", 11), ("1.1.0", 11)]);
    }

    /// A year of hours for three versions: a week's window reads the week, not the year.
    #[test]
    fn a_window_of_hours_is_read_without_the_history_before_it() {
        let store = Store::memory();
        let (app, mp) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let mut b = Batch::default();
        for version in ["1.0.0", "1.1.0", "2.0.0"] {
            for hour in 0..24 * 365 {
                b.hours.insert((Subject { app, mini_program: mp, version: version.into() }, hour), Counts { launches: 1, failed: 0, crashes: 0 });
            }
        }
        // Another mini program's hours, after this one's in the key order.
        b.hours.insert((Subject { app, mini_program: Uuid::from_u128(3), version: "1.0.0".into() }, 5), Counts { launches: 9, failed: 0, crashes: 0 });
        store.write_blocking(move |tx| add(tx, &b)).unwrap();
        let from = 24 * 358;
        let (rows, read) = store.read_blocking(move |tx| hours_of(tx, app, mp, from)).unwrap();
        assert_eq!(rows.len(), 3 * 24 * 7);
        assert!(rows.iter().all(|(_, h, c)| *h >= from && c.launches == 1));
        assert!(read <= rows.len() + 3 + 1, "{read} entries read for {} hours", rows.len());
    }
}
