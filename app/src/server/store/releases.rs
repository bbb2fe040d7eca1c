//! What is released to which App: per mini program and App, a stable version that every install
//! gets, at most one candidate that a share of the installs gets, and the versions released
//! there before (what a rollback may return to).

use chrono::{DateTime, Utc};
use super::Reads;
use redb::{ReadTransaction, ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::codec::{decode, encode};
use super::effects::{caused, Effect};
use super::fleet::Counts;
use super::tables::RELEASES;
use crate::model::approvals::HealthRule;
use crate::model::AppError;

/// A version as it was released to an App.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipped {
    pub version: String,
    pub sha256: String,
    pub size: u64,
    pub released: DateTime<Utc>,
    /// The publishing application that released it.
    pub application: Uuid,
}

/// Who paused a candidate, when and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pause {
    pub at: DateTime<Utc>,
    /// The person's name, or "health rule".
    pub by: String,
    pub reason: String,
}

/// A version rolling out to a share of an App's installs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub shipped: Shipped,
    /// The share of installs that get it, in per-mille (0–1000).
    pub rollout: u16,
    /// The release's permutation seed (16 bytes, hex): which cohorts come first.
    pub seed: String,
    /// Set while paused: then no install gets it.
    pub paused: Option<Pause>,
}

impl Candidate {
    /// The candidate as the console shows it.
    pub fn view(&self) -> crate::model::approvals::CandidateView {
        crate::model::approvals::CandidateView {
            version: self.shipped.version.clone(),
            released: self.shipped.released,
            rollout: self.rollout,
            paused: self.paused.as_ref().map(|p| (p.by.clone(), p.reason.clone())),
        }
    }
}

/// A candidate resumed after a pause: what its installs had reported by then, which the health
/// rule no longer counts against it (it judges what they report from the resumption on).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resumed {
    /// The candidate resumed: its version and when it was released (a candidate released later
    /// is judged afresh).
    pub version: String,
    pub released: DateTime<Utc>,
    /// When it was resumed.
    pub at: DateTime<Utc>,
    /// What its installs had reported from its release until it was resumed.
    pub reported: Counts,
}

impl Resumed {
    /// Whether it is about `c`.
    pub fn of(&self, c: &Candidate) -> bool {
        self.version == c.shipped.version && self.released == c.shipped.released
    }
}

/// The release of one mini program to one App.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    pub mini_program: Uuid,
    pub app: Uuid,
    /// What every install gets (`None`: only the candidate's share gets the mini program).
    pub stable: Option<Shipped>,
    pub candidate: Option<Candidate>,
    /// Versions that were the stable before, newest first.
    pub earlier: Vec<Shipped>,
    /// When the fleet's reports stop a candidate.
    #[serde(default)]
    pub health: HealthRule,
    /// When the candidate was last resumed, and what was reported of it by then (`None`, or
    /// about another candidate: it was never resumed).
    #[serde(default)]
    pub resumed: Option<Resumed>,
    /// Versions among `earlier` that a rollback replaced, newest first: never served again as an
    /// older container's fallback (only a rollback to one of them, which takes it off, brings it
    /// back).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rolled_back_from: Vec<String>,
}

impl Release {
    /// Nothing released yet.
    pub fn new(mini_program: Uuid, app: Uuid) -> Release {
        Release { mini_program, app, stable: None, candidate: None, earlier: Vec::new(), health: HealthRule::default(), resumed: None, rolled_back_from: Vec::new() }
    }

    /// The current candidate's last resumption (`None`: it was never resumed): what its installs
    /// reported before it, the health rule no longer counts against it.
    pub fn judged_after(&self) -> Option<&Resumed> {
        let c = self.candidate.as_ref()?;
        self.resumed.as_ref().filter(|r| r.of(c))
    }

    /// Forgets a resumption that is not the current candidate's (it was completed, withdrawn or
    /// replaced).
    pub fn forget_old_resumption(&mut self) {
        if self.judged_after().is_none() {
            self.resumed = None;
        }
    }

    /// The versions this release serves: the stable's and the candidate's.
    pub fn served(&self) -> impl Iterator<Item = &Shipped> {
        self.stable.iter().chain(self.candidate.iter().map(|c| &c.shipped))
    }

    /// Makes `shipped` the stable; the stable it replaces goes first in `earlier` (a version
    /// appears there once, at its latest place).
    pub fn make_stable(&mut self, shipped: Shipped) {
        self.earlier.retain(|e| e.version != shipped.version);
        if let Some(old) = self.stable.take().filter(|o| o.version != shipped.version) {
            self.earlier.retain(|e| e.version != old.version);
            self.earlier.insert(0, old);
        }
        self.stable = Some(shipped);
    }
}

/// The release as stored before release control: one version per App.
#[derive(Deserialize)]
struct FirstShape {
    mini_program: Uuid,
    app: Uuid,
    version: String,
    sha256: String,
    size: u64,
    released: DateTime<Utc>,
    application: Uuid,
}

/// Rewrites every release stored in the first shape as a stable (migration 0011).
pub fn to_release_control(tx: &WriteTransaction) -> Result<(), AppError> {
    let mut t = tx.open_table(RELEASES)?;
    let mut rows = Vec::new();
    for row in t.iter()? {
        let (k, v) = row?;
        if let Ok(old) = serde_json::from_slice::<FirstShape>(v.value()) {
            rows.push((k.value(), old));
        }
    }
    for (k, old) in rows {
        let shipped = Shipped { version: old.version, sha256: old.sha256, size: old.size, released: old.released, application: old.application };
        let r = Release { stable: Some(shipped), ..Release::new(old.mini_program, old.app) };
        t.insert(k, encode(&r)?.as_slice())?;
    }
    Ok(())
}

/// Stores the release of `r.mini_program` to `r.app` (a release serving nothing is deleted,
/// its earlier versions kept only while something is served); returns the one it replaces.
pub fn put(tx: &WriteTransaction, r: &Release) -> Result<Option<Release>, AppError> {
    caused(Effect::Served);
    let mut t = tx.open_table(RELEASES)?;
    let key = (r.mini_program.as_u128(), r.app.as_u128());
    let old = if r.served().next().is_none() { t.remove(key)? } else { t.insert(key, encode(r)?.as_slice())? };
    old.map(|v| decode::<Release>(v.value())).transpose()
}

/// The release of mini program `mp` to `app`, if any.
pub fn get(tx: &impl Reads, mp: Uuid, app: Uuid) -> Result<Option<Release>, AppError> {
    tx.row(RELEASES, (mp.as_u128(), app.as_u128()))
}

fn of_in(t: &impl ReadableTable<(u128, u128), &'static [u8]>, mp: Uuid) -> Result<Vec<Release>, AppError> {
    super::codec::in_scope(t, mp.as_u128())
}

/// Where a mini program is released.
pub fn of_mini_program(tx: &impl Reads, mp: Uuid) -> Result<Vec<Release>, AppError> {
    of_in(&tx.open(RELEASES)?, mp)
}

/// Whether `version` of `mp` is served to any App (as stable or candidate).
pub fn serves(tx: &impl Reads, mp: Uuid, version: &str) -> Result<bool, AppError> {
    Ok(of_mini_program(tx, mp)?.iter().any(|r| r.served().any(|s| s.version == version)))
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

/// The most candidates one App rolls out at once: the container API gives each install one bit
/// per candidate. Releasing another to a share of installs, or resuming a paused one, waits
/// until one ends.
pub const MAX_ROLLING_PER_APP: usize = 64;

/// Whether each of `apps` (id, name) has room for `mp`'s candidate to roll out: fewer than
/// [`MAX_ROLLING_PER_APP`] candidates of other mini programs roll out there (paused ones do not
/// count: no install gets them). Refused with 409, naming the first App without room. Reads
/// every release once (like the snapshot it guards), whatever the number of Apps.
pub fn room_for_candidate(tx: &impl Reads, apps: &[(Uuid, String)], mp: Uuid) -> Result<(), AppError> {
    let mut rolling = vec![0usize; apps.len()];
    for row in tx.open(RELEASES)?.iter()? {
        let (k, v) = row?;
        let (m, a) = k.value();
        let Some(i) = apps.iter().position(|(id, _)| id.as_u128() == a).filter(|_| m != mp.as_u128()) else { continue };
        let r: Release = decode(v.value())?;
        if r.candidate.as_ref().is_some_and(|c| c.paused.is_none()) {
            rolling[i] += 1;
        }
    }
    match apps.iter().zip(rolling).find(|(_, n)| *n >= MAX_ROLLING_PER_APP) {
        Some(((_, name), n)) => Err(AppError::conflict(
            "Release",
            format!("{name} already rolls out {n} candidates, the most one App serves at once: complete, abort or pause one of them first"),
        )),
        None => Ok(()),
    }
}

/// Every release, for the container API's snapshot.
pub fn all(tx: &ReadTransaction) -> Result<Vec<Release>, AppError> {
    super::codec::all(&tx.open_table(RELEASES)?)
}

#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    /// `version` of `mp` released to `app` as its stable, for the tests.
    pub(crate) fn stable(mp: Uuid, app: Uuid, version: &str, sha256: &str, size: u64) -> Release {
        let shipped = Shipped { version: version.into(), sha256: sha256.into(), size, released: Utc::now(), application: Uuid::now_v7() };
        Release { stable: Some(shipped), ..Release::new(mp, app) }
    }

    /// `n` candidates of mini programs of their own rolling out to `app` at 10 %; returns
    /// their mini programs.
    pub(crate) fn fill_with_candidates(tx: &WriteTransaction, app: Uuid, n: usize) -> Result<Vec<Uuid>, AppError> {
        let mut mps = Vec::with_capacity(n);
        for _ in 0..n {
            let mp = Uuid::now_v7();
            let shipped = stable(mp, app, "1.0.0", &"0".repeat(64), 1).stable.ok_or(AppError::Internal)?;
            put(tx, &Release { candidate: Some(Candidate { shipped, rollout: 100, seed: "00".repeat(16), paused: None }), ..Release::new(mp, app) })?;
            mps.push(mp);
        }
        Ok(mps)
    }
}

#[cfg(test)]
mod tests {
    use super::super::Store;
    use super::fixtures::stable;
    use super::*;

    fn version_of(r: &Release) -> String {
        r.stable.as_ref().map(|s| s.version.clone()).unwrap_or_default()
    }

    #[test]
    fn a_release_replaces_the_one_before_for_its_app_and_a_removal_takes_all() {
        let store = Store::memory();
        let (mp, a, b) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let sha = "ab".repeat(32);
        assert_eq!(store.write_blocking(|tx| put(tx, &stable(mp, a, "1.0.0", &sha, 3))).unwrap(), None);
        store.write_blocking(|tx| put(tx, &stable(mp, b, "1.0.0", &sha, 3))).unwrap();
        let old = store.write_blocking(|tx| put(tx, &stable(mp, a, "1.1.0", &sha, 3))).unwrap().unwrap();
        assert_eq!(version_of(&old), "1.0.0");
        let now: Vec<String> = store.read_blocking(|tx| of_mini_program(tx, mp)).unwrap().iter().map(version_of).collect();
        assert_eq!(now.len(), 2);
        assert!(now.contains(&"1.1.0".to_string()) && now.contains(&"1.0.0".to_string()));
        assert!(store.read_blocking(|tx| serves(tx, mp, "1.1.0")).unwrap());
        assert_eq!(store.write_blocking(|tx| remove_mini_program(tx, mp)).unwrap().len(), 2);
        assert!(store.read_blocking(all).unwrap().is_empty());
    }

    #[test]
    fn a_new_stable_keeps_the_one_before_first_among_the_earlier_ones_once() {
        let (mp, app) = (Uuid::now_v7(), Uuid::now_v7());
        let sha = "ab".repeat(32);
        let mut r = stable(mp, app, "1.0.0", &sha, 3);
        for v in ["1.1.0", "1.2.0", "1.0.0"] {
            r.make_stable(stable(mp, app, v, &sha, 3).stable.unwrap());
        }
        assert_eq!(version_of(&r), "1.0.0");
        let earlier: Vec<&str> = r.earlier.iter().map(|e| e.version.as_str()).collect();
        assert_eq!(earlier, ["1.2.0", "1.1.0"]);
    }

    #[test]
    fn a_release_stored_before_resumptions_were_remembered_reads_as_never_resumed() {
        let (mp, app) = (Uuid::now_v7(), Uuid::now_v7());
        let sha = "ab".repeat(32);
        let shipped = |v: &str| format!(r#"{{"version":"{v}","sha256":"{sha}","size":2048,"released":"2026-03-05T11:00:00Z","application":"{}"}}"#, Uuid::nil());
        let stored = format!(
            r#"{{"mini_program":"{mp}","app":"{app}","stable":{},"candidate":{{"shipped":{},"rollout":125,"seed":"00112233445566778899aabbccddeeff","paused":null}},"earlier":[],"health":{{"threshold_bp":150,"min_launches":500,"roll_back":true}}}}"#,
            shipped("1.2.0"),
            shipped("1.3.0")
        );
        let r: Release = decode(stored.as_bytes()).unwrap();
        assert_eq!((r.resumed.as_ref(), r.judged_after()), (None, None));
        assert_eq!(r.candidate.unwrap().rollout, 125);
    }

    #[test]
    fn a_release_of_the_first_shape_is_read_as_a_stable() {
        let store = Store::memory();
        let (mp, app) = (Uuid::now_v7(), Uuid::now_v7());
        let first = format!(
            r#"{{"mini_program":"{mp}","app":"{app}","version":"1.2.0","sha256":"{}","size":2048,"released":"2026-03-04T11:00:00Z","application":"{}"}}"#,
            "ab".repeat(32),
            Uuid::nil()
        );
        store
            .write_blocking(move |tx| {
                tx.open_table(RELEASES)?.insert((mp.as_u128(), app.as_u128()), first.as_bytes())?;
                to_release_control(tx)
            })
            .unwrap();
        let r = store.read_blocking(move |tx| get(tx, mp, app)).unwrap().unwrap();
        assert_eq!(version_of(&r), "1.2.0");
        assert!(r.candidate.is_none() && r.earlier.is_empty());
        // Applied again, it changes nothing.
        store.write_blocking(to_release_control).unwrap();
        assert_eq!(store.read_blocking(move |tx| get(tx, mp, app)).unwrap().unwrap(), r);
    }
}
