//! What an approval does: a release, a removal, an activated feature, a new member; and what
//! ends a review.

use std::collections::BTreeSet;

use uuid::Uuid;

use crate::model::{Missing, OrMissing};
use crate::model::approvals::{feature, rollout_label, Category, HistoryEntry, Status, FULL_ROLLOUT};
use crate::model::minis::VersionState;
use crate::model::workspace::Role;
use crate::model::AppError;
use crate::model::audit::AuditAction;
use crate::server::store::approvals::{self as store, Application};
use crate::server::store::audit::{self, Actor};
use crate::server::store::releases::{self, Candidate, Release, Shipped};
use crate::server::store::members::Membership;
use crate::server::store::{apps as app_store, minis};

use super::*;

/// Releases a publishing application's version to its Apps, to all of their installs (it becomes
/// the stable, the stable before kept among the earlier versions) or, when the application asked
/// for less, as the candidate at that share. A candidate already rolling out there is replaced;
/// a version no longer served anywhere becomes Superseded.
pub(super) fn release(tx: &redb::WriteTransaction, a: &Application, history: &mut Vec<HistoryEntry>) -> Result<(), AppError> {
    let (mp_id, version) = (a.mini_program.ok_or(AppError::Internal)?, a.version.clone().unwrap_or_default());
    let p = minis::get(tx, a.workspace, mp_id)?.or_missing(Missing::MiniProgram)?;
    if p.removed {
        return Err(AppError::conflict("Mini program", "has been removed; it can't be released"));
    }
    let mut v = minis::version(tx, mp_id, &version)?.ok_or(AppError::Internal)?;
    if v.state != VersionState::InReview {
        return Err(AppError::conflict("Version", format!("{} is {}, not In review", v.version, v.state.label())));
    }
    let new = semver::Version::parse(&v.version).map_err(|_| AppError::Internal)?;
    let shipped = Shipped { version: v.version.clone(), sha256: v.sha256.clone(), size: v.size, released: crate::server::store::now(), application: a.id };
    let mut replaced = BTreeSet::new();
    let mut to = Vec::new();
    if a.rollout < FULL_ROLLOUT {
        // The Apps still there (one removed since the application is passed over below).
        let mut live = Vec::with_capacity(a.apps.len());
        for app in &a.apps {
            if app_store::app_of(tx, a.workspace, app.0)?.is_some() {
                live.push(app.clone());
            }
        }
        releases::room_for_candidate(tx, &live, mp_id)?;
    }
    for (app_id, app_name) in &a.apps {
        if app_store::app_of(tx, a.workspace, *app_id)?.is_none() {
            continue;
        }
        let mut r = releases::get(tx, mp_id, *app_id)?.unwrap_or_else(|| Release::new(mp_id, *app_id));
        if let Some(old) = r.served().find(|s| semver::Version::parse(&s.version).is_ok_and(|o| o > new)) {
            return Err(AppError::conflict("Version", format!("{} is already released to {app_name}; an older version can't replace it", old.version)));
        }
        replaced.extend(r.served().map(|s| s.version.clone()));
        if a.rollout >= FULL_ROLLOUT {
            r.candidate = None;
            r.make_stable(shipped.clone());
        } else {
            r.candidate = Some(Candidate { shipped: shipped.clone(), rollout: a.rollout, seed: crate::server::rollout::new_seed(), paused: None });
        }
        releases::put(tx, &r)?;
        to.push(app_name.clone());
    }
    v.state = VersionState::Released;
    minis::put_version(tx, &v)?;
    supersede_unserved(tx, mp_id, replaced.iter().filter(|o| **o != v.version))?;
    let share = if a.rollout >= FULL_ROLLOUT { String::new() } else { format!(" as a candidate for {} of installs", rollout_label(a.rollout)) };
    history.push(step("MPDP", "Released", format!("{} {} released to {}{share}", p.name, v.version, to.join(", "))));
    Ok(())
}

/// Marks Superseded each of `versions` of `mp` that no App is served any longer.
pub(crate) fn supersede_unserved<'a>(tx: &redb::WriteTransaction, mp: Uuid, versions: impl Iterator<Item = &'a String>) -> Result<(), AppError> {
    for old in versions {
        if releases::serves(tx, mp, old)? {
            continue;
        }
        if let Some(mut ov) = minis::version(tx, mp, old)?.filter(|v| v.state == VersionState::Released) {
            ov.state = VersionState::Superseded;
            minis::put_version(tx, &ov)?;
        }
    }
    Ok(())
}

/// Takes a mini program off every App: it is Removed, and so are its released versions.
pub(super) fn remove(tx: &redb::WriteTransaction, a: &Application, history: &mut Vec<HistoryEntry>) -> Result<(), AppError> {
    let mp_id = a.mini_program.ok_or(AppError::Internal)?;
    let mut p = minis::get(tx, a.workspace, mp_id)?.or_missing(Missing::MiniProgram)?;
    if p.removed {
        return Err(AppError::conflict("Mini program", "has already been removed"));
    }
    p.removed = true;
    minis::put(tx, &p)?;
    for r in releases::remove_mini_program(tx, mp_id)? {
        for s in r.served() {
            if let Some(mut v) = minis::version(tx, mp_id, &s.version)? {
                v.state = VersionState::Removed;
                minis::put_version(tx, &v)?;
            }
        }
    }
    history.push(step("MPDP", "Removed", format!("{} was taken off every App", p.name)));
    Ok(())
}

/// The version a publishing application put In review leaves it as `to` (Rejected when the
/// application is rejected or closed, Uploaded when it is withdrawn). Other categories: nothing.
pub(super) fn end_review(tx: &redb::WriteTransaction, a: &Application, to: VersionState) -> Result<(), AppError> {
    if let (Category::Publishing, Some(mp), Some(v)) = (a.category, a.mini_program, &a.version) {
        if let Some(mut v) = minis::version(tx, mp, v)?.filter(|v| v.state == VersionState::InReview) {
            v.state = to;
            minis::put_version(tx, &v)?;
        }
    }
    Ok(())
}

/// After a removal, the mini program's pending publishing and feature applications can't succeed:
/// they are closed as Rejected, with the reason, and their applicants told. The platform closes
/// them, not the person who approved the removal, and the audit log says so.
pub(super) fn close_pending_of_removed(tx: &redb::WriteTransaction, removal: &Application, public_url: &str) -> Result<(), AppError> {
    let actor = &Actor::named("MPDP");
    let Some(mp) = removal.mini_program else { return Ok(()) };
    let mut ids = store::pending_with_prefix(tx, &format!("version:{mp}:"))?;
    ids.extend(store::pending_with_prefix(tx, &format!("feature:{mp}:"))?);
    const REASON: &str = "The mini program was removed, so this application can no longer be approved.";
    for id in ids {
        let Some(before) = store::get(tx, id)?.filter(|a| a.status == Status::Pending) else { continue };
        end_review(tx, &before, VersionState::Rejected)?;
        let mut after = before.clone();
        after.status = Status::Rejected;
        after.finished = Some(crate::server::store::now());
        after.decided_by = Some((Uuid::nil(), "MPDP".into()));
        after.reason = Some(REASON.into());
        after.history.push(step("MPDP", "Rejected", REASON.into()));
        store::update(tx, &before, &after)?;
        audit::record(tx, actor, Some((after.workspace, &after.workspace_name)), AuditAction::ApprovalRejected, after.category.title(), &format!("{}: {REASON}", subject_of(&after)))?;
        tell_applicant(tx, &after, public_url)?;
    }
    Ok(())
}

pub(super) fn activate(tx: &redb::WriteTransaction, a: &Application, history: &mut Vec<HistoryEntry>) -> Result<(), AppError> {
    let mp_id = a.mini_program.ok_or(AppError::Internal)?;
    let mut p = minis::get(tx, a.workspace, mp_id)?.or_missing(Missing::MiniProgram)?;
    let code = a.feature.clone().unwrap_or_default();
    if !p.features.contains(&code) {
        p.features.push(code.clone());
        minis::put(tx, &p)?;
    }
    history.push(step("MPDP", "Activated", format!("{} may now use {}", p.name, feature(&code).map(|f| f.label).unwrap_or(&code))));
    Ok(())
}

pub(super) fn join(tx: &redb::WriteTransaction, a: &Application, actor: &Actor, history: &mut Vec<HistoryEntry>) -> Result<(), AppError> {
    if crate::server::store::members::membership(tx, a.workspace, a.applicant)?.is_some() {
        history.push(step("MPDP", "Joined", format!("{} was already a member", a.applicant_name)));
        return Ok(());
    }
    crate::server::store::members::put_membership(tx, &Membership { workspace: a.workspace, account: a.applicant, role: Role::WorkspaceDeveloper, active: true, joined: crate::server::store::now() })?;
    audit::record(tx, actor, Some((a.workspace, &a.workspace_name)), AuditAction::MemberJoined, &a.applicant_email, "as Workspace Developer by an approved member request")?;
    history.push(step("MPDP", "Joined", format!("{} joined as Workspace Developer", a.applicant_name)));
    Ok(())
}

/// Whether a decision changes what the container API serves.
pub(crate) fn changes_container(category: Category) -> bool {
    matches!(category, Category::Publishing | Category::Removal | Category::Feature)
}
