//! Health from the fleet: the events installs report (`POST /api/container/v1/events`) are
//! counted in memory and written every few seconds in one transaction — never a write per event
//! — and in that transaction each candidate they concern is judged by its release's health rule:
//! one that breaks it is paused (or withdrawn), audited, and its managers told.

use std::collections::BTreeSet;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use uuid::Uuid;

use crate::model::approvals::rollout_label;
use crate::model::audit::AuditAction;
use crate::model::minis::MiniRole;
use crate::model::workspace::Role;
use crate::model::AppError;
use crate::server::store::audit::{self, Actor};
use crate::server::store::fleet::{self, Batch, Counts, Installs, Subject};
use crate::server::store::releases::{self, Candidate, Pause, Release};
use crate::server::store::{accounts, members, minis, notifications, outbox};
use crate::server::Context;

/// The most events one batch holds.
pub const MAX_EVENTS: usize = 1_000;

/// The largest batch body, in bytes.
pub const MAX_BATCH_BYTES: usize = 256 * 1024;

/// How far back an event may be dated (a device that was offline reports late).
const OLDEST_DAYS: i64 = 7;

/// How far ahead an event may be dated (clocks disagree).
const NEWEST_MINUTES: i64 = 5;

/// One event as a container reports it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Event {
    pub install: String,
    pub mini_program: String,
    pub version: String,
    pub kind: EventKind,
    /// When it happened, RFC 3339.
    pub at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Launched,
    LaunchFailed,
    Crashed,
}

/// A batch as a container sends it: `{"events": [...]}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventBatch {
    pub events: Vec<Event>,
}

/// What an ingested batch counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, utoipa::ToSchema)]
pub struct Ingested {
    pub accepted: usize,
    pub rejected: usize,
}

/// The hour and day since the Unix epoch that `at` falls in.
fn hour_and_day(at: DateTime<Utc>) -> (i64, i64) {
    let s = at.timestamp();
    (s.div_euclid(3_600), s.div_euclid(86_400))
}

/// Events counted since the last flush.
#[derive(Default)]
pub struct Fleet {
    pending: Mutex<Batch>,
}

impl Fleet {
    /// Counts a batch for `app`: an event is rejected (and not counted) when its install id or
    /// time is malformed, when its time is more than a week old or five minutes ahead, or when
    /// `runs(install, mini program, version)` says the install cannot be running that version
    /// (neither a stable of the App nor a candidate rolling out to the install) — so what is
    /// counted, in memory and in the store, stays bounded by what was released, and a candidate
    /// is judged only on reports from installs within its share.
    pub fn ingest(&self, app: Uuid, runs: impl Fn(&str, Uuid, &str) -> bool, events: Vec<Event>, now: DateTime<Utc>) -> Ingested {
        let mut out = Ingested::default();
        let Ok(mut pending) = self.pending.lock() else { return Ingested { accepted: 0, rejected: events.len() } };
        for e in events {
            let at = DateTime::parse_from_rfc3339(&e.at).ok().map(|t| t.to_utc());
            let mp = Uuid::parse_str(&e.mini_program).ok();
            let ok = crate::server::rollout::check_install_id(&e.install).is_ok()
                && !e.version.is_empty()
                && e.version.len() <= 64
                && at.is_some_and(|t| t > now - Duration::days(OLDEST_DAYS) && t < now + Duration::minutes(NEWEST_MINUTES))
                && mp.is_some_and(|mp| runs(&e.install, mp, &e.version));
            let (Some(at), Some(mp), true) = (at, mp, ok) else {
                out.rejected += 1;
                continue;
            };
            let subject = Subject { app, mini_program: mp, version: e.version };
            let (hour, day) = hour_and_day(at);
            let counts = pending.hours.entry((subject.clone(), hour)).or_default();
            match e.kind {
                EventKind::Launched => counts.launches += 1,
                EventKind::LaunchFailed => counts.failed += 1,
                EventKind::Crashed => counts.crashes += 1,
            }
            pending.days.entry((subject, day)).or_insert_with(Installs::new).insert(&e.install);
            out.accepted += 1;
        }
        out
    }

    /// Writes what was counted since the last flush, in one transaction, and judges the
    /// candidates it concerns; returns how many candidates were stopped.
    pub async fn flush(&self, cx: &Context) -> Result<usize, AppError> {
        let batch = match self.pending.lock() {
            Ok(mut p) => std::mem::take(&mut *p),
            Err(_) => return Err(AppError::Internal),
        };
        if batch.hours.is_empty() && batch.days.is_empty() {
            return Ok(0);
        }
        let url = cx.config.public_url.clone();
        let kept = batch.clone();
        let written = cx
            .store
            .write(move |tx| {
                fleet::add(tx, &batch)?;
                let touched: BTreeSet<&Subject> = batch.hours.keys().map(|(s, _)| s).collect();
                let mut stopped = 0;
                for s in touched {
                    if judge(tx, s, &url)? {
                        stopped += 1;
                    }
                }
                Ok(stopped)
            })
            .await;
        if written.is_err() {
            // Not written: counted again with the next flush's.
            if let Ok(mut p) = self.pending.lock() {
                p.merge(kept);
            }
        }
        written
    }
}

/// Who stops a candidate by the health rule, in the audit log.
fn health_rule() -> Actor {
    Actor::named("health rule")
}

/// What the installs of `r`'s candidate `c` reported since it was released (stored, not what
/// is still counted in memory).
pub fn reported_since_release(tx: &impl crate::server::store::Reads, r: &Release, c: &Candidate) -> Result<Counts, AppError> {
    let s = Subject { app: r.app, mini_program: r.mini_program, version: c.shipped.version.clone() };
    fleet::since(tx, &s, hour_and_day(c.shipped.released).0)
}

/// Judges the candidate `s` names (if it is the App's candidate, rolling out) by its release's
/// health rule, on what its installs reported since it was last resumed (or, never resumed,
/// since it was released): what was reported before a resumption was judged already, and the
/// person who resumed it decided to go on despite it. Stops it when it breaks the rule. Returns
/// whether it was stopped.
fn judge(tx: &redb::WriteTransaction, s: &Subject, public_url: &str) -> Result<bool, AppError> {
    let Some(mut r) = releases::get(tx, s.mini_program, s.app)? else { return Ok(false) };
    let Some(c) = r.candidate.as_ref().filter(|c| c.paused.is_none() && c.shipped.version == s.version) else { return Ok(false) };
    // Counts are kept by the hour the events happened in, so a resumption within an hour is
    // told apart by what had been reported by then, not by the hour.
    let resumed = r.judged_after();
    let counts = reported_since_release(tx, &r, c)?.less(resumed.map(|x| x.reported).unwrap_or_default());
    if !r.health.broken(counts.failures(), counts.launches) {
        return Ok(false);
    }
    let rate = crate::model::approvals::wilson_lower(counts.failures(), counts.launches) * 100.0;
    let since = if resumed.is_some() { " since it was resumed" } else { "" };
    let figures = format!(
        "{} failed launches and {} crashes in {} launches{since} (failure rate at least {rate:.1} % at 95 % confidence; the rule stops at {} after {} launches)",
        counts.failed,
        counts.crashes,
        counts.launches,
        r.health.threshold_label(),
        r.health.min_launches
    );
    let (version, share) = (c.shipped.version.clone(), rollout_label(c.rollout));
    let (action, what) = if r.health.roll_back {
        r.candidate = None;
        r.resumed = None;
        (AuditAction::ReleaseAborted, "withdrawn")
    } else {
        if let Some(c) = r.candidate.as_mut() {
            c.paused = Some(Pause { at: crate::server::store::now(), by: "health rule".into(), reason: figures.clone() });
        }
        (AuditAction::ReleasePaused, "paused")
    };
    let stop = Stop { version: &version, share: &share, action, what, figures: &figures };
    releases::put(tx, &r)?;
    if r.health.roll_back {
        crate::server::domain::approvals::supersede_unserved(tx, s.mini_program, [version.clone()].iter())?;
    }
    tell_managers(tx, &r, &stop, public_url)?;
    Ok(true)
}

/// A candidate the health rule stopped: its version and share, how, and the figures why.
struct Stop<'a> {
    version: &'a str,
    share: &'a str,
    action: AuditAction,
    what: &'a str,
    figures: &'a str,
}

/// Records and tells the mini program's admins and the Workspace Admins that the health rule
/// stopped a candidate.
fn tell_managers(tx: &redb::WriteTransaction, r: &Release, stop: &Stop, public_url: &str) -> Result<(), AppError> {
    let Stop { version, share, action, what, figures } = *stop;
    let Some(p) = minis::by_id(tx, r.mini_program)? else { return Ok(()) };
    let workspace = crate::server::store::workspaces::get_workspace(tx, p.workspace)?.ok_or(AppError::Internal)?;
    let app = crate::server::store::apps::app_of(tx, p.workspace, r.app)?.map(|a| a.name).unwrap_or_default();
    audit::record(tx, &health_rule(), Some((workspace.id, &workspace.name)), action, &p.name, &format!("{app}: {version} at {share} {what} by the health rule: {figures}"))?;
    let text = format!("{} {version} was {what} on {app} by the health rule at {share}: {figures}", p.name);
    let path = format!("/w/{}/mini-programs/{}", workspace.name, p.id);
    let mut people: BTreeSet<Uuid> = minis::members(tx, p.id)?.into_iter().filter(|(_, role)| *role == MiniRole::Admin).map(|(a, _)| a).collect();
    people.extend(members::active_with_role(tx, p.workspace, Role::WorkspaceAdmin)?.into_iter().map(|m| m.account));
    for account in people {
        if members::membership(tx, p.workspace, account)?.is_none_or(|m| !m.active) {
            continue;
        }
        notifications::notify(tx, account, &text, &path)?;
        if let Some(who) = accounts::get(tx, account)? {
            let body = format!("Hello {},\n\n{text}\n\nSee the release:\n{}{path}\n", who.username, public_url.trim_end_matches('/'));
            outbox::enqueue(tx, vec![who.email], &format!("{} {version} was {what} by the health rule", p.name), &body)?;
        }
    }
    Ok(())
}

/// What the installs of mini program `mp` on `app` reported per version and day over the last
/// `days` days, oldest first.
pub fn figures(tx: &redb::ReadTransaction, app: Uuid, mp: Uuid, days: i64, now: DateTime<Utc>) -> Result<Vec<crate::model::approvals::DayFigures>, AppError> {
    Ok(daily(tx, app, mp, days, now)?
        .into_iter()
        .map(|(version, day, c)| crate::model::approvals::DayFigures {
            version,
            day: DateTime::from_timestamp(day * 86_400, 0).unwrap_or_default().date_naive(),
            launches: c.launches,
            failed: c.failed,
            crashes: c.crashes,
        })
        .collect())
}

/// The launches and failure rate of mini program `mp` on `app` per version and day, over the last
/// `days` days (oldest first), for the release page's chart.
pub fn daily(tx: &redb::ReadTransaction, app: Uuid, mp: Uuid, days: i64, now: DateTime<Utc>) -> Result<Vec<(String, i64, Counts)>, AppError> {
    let (hour, day) = hour_and_day(now);
    let first_day = day - days + 1;
    let mut per: std::collections::BTreeMap<(String, i64), Counts> = std::collections::BTreeMap::new();
    for (version, h, counts) in fleet::hours_of(tx, app, mp, first_day * 24)?.0 {
        if h <= hour {
            per.entry((version, h.div_euclid(24))).or_default().add(counts);
        }
    }
    Ok(per.into_iter().map(|((v, d), c)| (v, d, c)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::domain::approvals::tests_support::release_world;

    fn event(install: &str, mp: Uuid, version: &str, kind: EventKind, at: DateTime<Utc>) -> Event {
        Event { install: install.into(), mini_program: mp.to_string(), version: version.into(), kind, at: at.to_rfc3339() }
    }

    #[test]
    fn malformed_stale_and_foreign_events_are_rejected_and_not_counted() {
        let fleet = Fleet::default();
        let (app, mp, other) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let now = Utc::now();
        let events = vec![
            event("install-0001", mp, "1.0.0", EventKind::Launched, now),
            event("short", mp, "1.0.0", EventKind::Launched, now),
            event("install-0001", other, "1.0.0", EventKind::Launched, now),
            event("install-0001", mp, "", EventKind::Launched, now),
            event("install-0001", mp, "9.9.9", EventKind::Launched, now),
            event("install-0001", mp, "1.0.0", EventKind::Crashed, now - Duration::days(8)),
            event("install-0001", mp, "1.0.0", EventKind::Crashed, now + Duration::hours(1)),
            Event { at: "yesterday".into(), ..event("install-0001", mp, "1.0.0", EventKind::Crashed, now) },
        ];
        assert_eq!(fleet.ingest(app, |_, m, v| m == mp && v == "1.0.0", events, now), Ingested { accepted: 1, rejected: 7 });
        let pending = fleet.pending.lock().unwrap();
        assert_eq!(pending.hours.values().map(|c| c.launches + c.failures()).sum::<u64>(), 1);
    }

    #[tokio::test]
    async fn a_failing_candidate_is_paused_at_the_flush_and_its_managers_told() {
        let w = release_world(&["1.0.0", "1.1.0"], 100).await;
        let fleet = Fleet::default();
        let now = Utc::now();
        let mut events = Vec::new();
        for i in 0..300 {
            let install = format!("install-{i:04}");
            events.push(event(&install, w.mp, "1.1.0", EventKind::Launched, now));
            if i % 10 == 0 {
                events.push(event(&install, w.mp, "1.1.0", EventKind::Crashed, now));
            }
            // The stable's failures are not the candidate's.
            events.push(event(&install, w.mp, "1.0.0", EventKind::LaunchFailed, now));
        }
        // Below the minimum launches, nothing happens yet.
        let (first, rest) = events.split_at(300);
        fleet.ingest(w.app, |_, _, _| true, first.to_vec(), now);
        assert_eq!(fleet.flush(&w.state).await.unwrap(), 0);
        fleet.ingest(w.app, |_, _, _| true, rest.to_vec(), now);
        assert_eq!(fleet.flush(&w.state).await.unwrap(), 1);
        let (mp, app) = (w.mp, w.app);
        let r = w.state.store.read(move |tx| releases::get(tx, mp, app)).await.unwrap().unwrap();
        let pause = r.candidate.unwrap().paused.unwrap();
        assert_eq!(pause.by, "health rule");
        assert!(pause.reason.contains("30 crashes in 300 launches"), "{}", pause.reason);
        assert!(w.audit_actions().await.contains(&"release.paused".to_string()));
        // Nothing more to judge: the next flush stops nothing.
        fleet.ingest(w.app, |_, _, _| true, vec![event("install-0001", w.mp, "1.1.0", EventKind::Crashed, now)], now);
        assert_eq!(fleet.flush(&w.state).await.unwrap(), 0);
        let s = Subject { app, mini_program: mp, version: "1.1.0".into() };
        let installs = w.state.store.read(move |tx| fleet::installs_on(tx, &s, hour_and_day(now).1)).await.unwrap();
        assert!((290..=310).contains(&installs), "{installs}");

        // Resumed, it is judged on what is reported from then on: the failures that paused it
        // (and the crash reported while paused) do not pause it again at the next flush…
        use crate::server::domain::releases::{control, Control};
        control(&w.state, &w.admin, mp, app, "1.1.0", Control::Resume, w.actor()).await.unwrap();
        let candidate = || async { w.state.store.read(move |tx| releases::get(tx, mp, app)).await.unwrap().unwrap().candidate.unwrap() };
        fleet.ingest(w.app, |_, _, _| true, vec![event("install-0001", w.mp, "1.1.0", EventKind::Launched, now)], now);
        assert_eq!(fleet.flush(&w.state).await.unwrap(), 0);
        assert!(candidate().await.paused.is_none(), "paused again by the failures judged before the resumption");
        // … but enough new failures do.
        let mut events = Vec::new();
        for i in 0..200 {
            let install = format!("install-{i:04}");
            events.push(event(&install, w.mp, "1.1.0", EventKind::Launched, now));
            if i % 10 == 0 {
                events.push(event(&install, w.mp, "1.1.0", EventKind::LaunchFailed, now));
            }
        }
        fleet.ingest(w.app, |_, _, _| true, events, now);
        assert_eq!(fleet.flush(&w.state).await.unwrap(), 1);
        let pause = candidate().await.paused.unwrap();
        assert_eq!(pause.by, "health rule");
        assert!(pause.reason.contains("20 failed launches and 0 crashes in 201 launches since it was resumed"), "{}", pause.reason);
        assert_eq!(w.audit_actions().await.iter().filter(|a| *a == "release.paused").count(), 2);
    }
}
