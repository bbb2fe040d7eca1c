//! Approvals (SPEC §7): applying, deciding, withdrawing, and what a decision does — a release, a
//! removal, a new member, an activated feature. Each use case is one write transaction: the
//! application, its effect, its audit events and its notifications commit together or not at all,
//! and two decisions of one application can never both stand (redb serialises write
//! transactions; the second finds it decided and gets 409).
//!
//! **Two-person rule:** nobody decides their own application, whatever their role — a Workspace
//! Admin who applies needs another Workspace Admin or a Workspace Reviewer to decide.

use std::collections::BTreeSet;

use uuid::Uuid;

use crate::model::approvals::{
    feature, validate_apply_note, validate_reason, ApplicationDetail, ApplicationRow, Category, HistoryEntry, MiniApprovals,
    NotificationView, ReleaseView, Status, FEATURES,
};
use crate::model::minis::VersionState;
use crate::model::page::{Page, Sort, PER_PAGE};
use crate::model::workspace::{Role, WorkspaceStatus};
use crate::model::AppError;
use crate::model::audit::AuditAction;
use crate::server::guard::{act, Authorized, Member, SignedIn, Standing};
use crate::server::guard::{MemberScope as Viewer, MiniNeed, MiniProgramAccess};
use crate::server::domain::minis::visible;
use crate::server::policy::{allows, decide_refusal, may_decide, WorkspaceAction};
use crate::server::store::approvals::{self as store, Application, Query};
use crate::server::store::audit::{self, Actor};
use crate::server::store::releases::{self, Release};
use crate::server::store::members::Membership;
use crate::server::store::workspaces as ws;
use crate::server::store::{accounts, apps as app_store, minis, notifications, outbox};
use crate::server::Context;

fn not_found() -> AppError {
    AppError::NotFound("No such application.".into())
}

fn mini_not_found() -> AppError {
    AppError::NotFound("No such mini program in this workspace.".into())
}

/// The console's address of an application.
fn path_of(a: &Application) -> String {
    format!("/w/{}/approvals/{}", crate::model::url_encode(&a.workspace_name), a.id)
}

/// "Coupons 1.2.0", "Coupons", or "" — what an application is about, for messages.
fn subject_of(a: &Application) -> String {
    let mut s = a.mini_program_name.clone().unwrap_or_default();
    if let Some(v) = &a.version {
        s = format!("{s} {v}");
    }
    if let Some(f) = &a.feature {
        let label = feature(f).map(|f| f.label).unwrap_or(f);
        s = format!("{s}: {label}");
    }
    if a.category == Category::MemberRequest {
        s = format!("{} joining {}", a.applicant_name, a.workspace_name);
    }
    s
}

fn step(who: &str, what: &str, text: String) -> HistoryEntry {
    HistoryEntry { at: crate::server::store::now(), who: who.into(), what: what.into(), text }
}

/// Member requests one account may file in a day. Each one mails every Workspace Admin of the
/// workspace, so apply → withdraw → apply must not become a way to flood their inboxes.
pub const MEMBER_REQUESTS_PER_ACCOUNT_PER_DAY: usize = 5;

/// Member requests to one workspace per hour that are announced by email; past that, its
/// Workspace Admins still find them in the console (notifications, Approvals), without mail.
pub const MEMBER_REQUEST_MAILS_PER_WORKSPACE_PER_HOUR: usize = 10;

/// Whether a new application is announced to the approvers by email as well as in the console.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Announce {
    ConsoleAndMail,
    ConsoleOnly,
}

/// Tells the workspace's approvers of a new application (in the console and, unless `how` says
/// otherwise, by email): Workspace Admins and Reviewers, or for a member request Workspace Admins
/// only; never the applicant.
fn tell_approvers(tx: &redb::WriteTransaction, a: &Application, public_url: &str, how: Announce) -> Result<(), AppError> {
    let path = path_of(a);
    let text = format!("{} applied: {} — {}", a.applicant_name, a.category.title(), subject_of(a));
    for m in crate::server::store::members::memberships_of(tx, a.workspace)? {
        let approver = may_decide(m.role, a.category);
        if !m.active || !approver || m.account == a.applicant {
            continue;
        }
        notifications::notify(tx, m.account, &text, &path)?;
        if how == Announce::ConsoleOnly {
            continue;
        }
        if let Some(who) = accounts::get(tx, m.account)? {
            let body = format!(
                "Hello {},\n\n{text}\n\nOpen it to approve or reject it:\n{}{path}\n",
                who.username,
                public_url.trim_end_matches('/')
            );
            outbox::enqueue(tx, vec![who.email], &format!("New application in {}: {}", a.workspace_name, a.category.title()), &body)?;
        }
    }
    Ok(())
}

/// Tells the applicant of a decision (in the console and by email).
fn tell_applicant(tx: &redb::WriteTransaction, a: &Application, public_url: &str) -> Result<(), AppError> {
    let who = a.decided_by.as_ref().map(|d| d.1.as_str()).unwrap_or("an approver");
    let mut text = format!("Your application “{}” ({}) was {} by {who}", a.category.title(), subject_of(a), a.status.label().to_lowercase());
    if let Some(r) = &a.reason {
        text = format!("{text}: {r}");
    }
    let path = path_of(a);
    notifications::notify(tx, a.applicant, &text, &path)?;
    if let Some(account) = accounts::get(tx, a.applicant)? {
        let body = format!("Hello {},\n\n{text}\n\nSee it here:\n{}{path}\n", account.username, public_url.trim_end_matches('/'));
        outbox::enqueue(tx, vec![account.email], &format!("Your application was {}: {}", a.status.label().to_lowercase(), a.category.title()), &body)?;
    }
    Ok(())
}

/// The mini program, if `m` may apply for it: its admin, or a Workspace Admin (the
/// mini-program-scoped guard). Others who can see it are refused; those who can't see it get 404.
fn require_mini_admin(tx: &redb::WriteTransaction, m: &Viewer, mp: Uuid) -> Result<minis::MiniProgram, AppError> {
    Ok(MiniProgramAccess::check(tx, m, mp, MiniNeed::Manage)?.into_mini_program())
}

fn new_application(m: &Member, category: Category, mp: Option<&minis::MiniProgram>, note: String) -> Application {
    let now = crate::server::store::now();
    Application {
        id: Uuid::now_v7(),
        workspace: m.workspace().id,
        workspace_name: m.workspace().name.clone(),
        category,
        status: Status::Pending,
        applicant: m.who().account().id,
        applicant_name: m.who().account().username.clone(),
        applicant_email: m.who().account().email.clone(),
        mini_program: mp.map(|p| p.id),
        mini_program_name: mp.map(|p| p.name.clone()),
        version: None,
        apps: Vec::new(),
        feature: None,
        note,
        created: now,
        finished: None,
        decided_by: None,
        reason: None,
        history: Vec::new(),
    }
}

/// Stores a new application with its audit event and tells the approvers.
fn file(tx: &redb::WriteTransaction, a: Application, actor: &Actor, public_url: &str) -> Result<Uuid, AppError> {
    file_announced(tx, a, actor, public_url, Announce::ConsoleAndMail)
}

fn file_announced(tx: &redb::WriteTransaction, mut a: Application, actor: &Actor, public_url: &str, how: Announce) -> Result<Uuid, AppError> {
    let subject = subject_of(&a);
    a.history.push(step(&a.applicant_name, "Applied", if a.note.is_empty() { subject.clone() } else { format!("{subject} — {}", a.note) }));
    store::insert(tx, &a)?;
    audit::record(tx, actor, Some((a.workspace, &a.workspace_name)), AuditAction::ApprovalApplied, a.category.title(), &subject)?;
    tell_approvers(tx, &a, public_url, how)?;
    Ok(a.id)
}

/// "Apply for publishing review": the newest version, when Uploaded, to one or more of the
/// workspace's Apps. The version becomes In review.
pub async fn apply_publishing(
    cx: &Context,
    m: &Authorized<act::ApplyForMiniPrograms>,
    mp: Uuid,
    version: String,
    apps: Vec<Uuid>,
    note: String,
    actor: Actor,
) -> Result<Uuid, AppError> {
    let note = validate_apply_note(&note)?;
    let apps: BTreeSet<Uuid> = apps.into_iter().collect();
    if apps.is_empty() {
        return Err(AppError::invalid("Apps", "choose at least one App to release to"));
    }
    let standing = m.standing();
    let mut a = new_application(m, Category::Publishing, None, note);
    let url = cx.config.public_url.clone();
    cx
        .store
        .write(move |tx| {
            let viewer = standing.recheck(tx)?;
            let p = require_mini_admin(tx, &viewer, mp)?;
            if p.removed {
                return Err(AppError::conflict("Mini program", "has been removed; it can't be published again"));
            }
            let versions = minis::versions(tx, mp)?;
            let newest = versions.first().ok_or_else(|| AppError::invalid("Version", "this mini program has no versions yet: upload one first"))?;
            let mut v = versions
                .iter()
                .find(|v| v.version == version.trim())
                .cloned()
                .ok_or_else(|| AppError::invalid("Version", format!("{} is not a version of this mini program", version.trim())))?;
            if v.version != newest.version {
                return Err(AppError::conflict("Version", format!("only the newest version, {}, can be sent to review", newest.version)));
            }
            if v.state != VersionState::Uploaded {
                return Err(AppError::conflict("Version", format!("{} is {}; only an Uploaded version can be sent to review", v.version, v.state.label())));
            }
            for id in &apps {
                let app = app_store::app_of(tx, viewer.workspace(), *id)?
                    .ok_or_else(|| AppError::invalid("Apps", "one of the chosen Apps is not an App of this workspace"))?;
                a.apps.push((app.id, app.name));
            }
            a.mini_program = Some(p.id);
            a.mini_program_name = Some(p.name.clone());
            a.version = Some(v.version.clone());
            let id = file(tx, a, &actor, &url)?;
            v.state = VersionState::InReview;
            minis::put_version(tx, &v)?;
            Ok(id)
        })
        .await
}

/// "Apply for removal": for a mini program released to at least one App, with a reason.
pub async fn apply_removal(cx: &Context, m: &Authorized<act::ApplyForMiniPrograms>, mp: Uuid, reason: String, actor: Actor) -> Result<Uuid, AppError> {
    let reason = validate_reason(&reason)?;
    let standing = m.standing();
    let a = new_application(m, Category::Removal, None, reason);
    let url = cx.config.public_url.clone();
    cx
        .store
        .write(move |tx| {
            let viewer = standing.recheck(tx)?;
            let p = require_mini_admin(tx, &viewer, mp)?;
            if p.removed {
                return Err(AppError::conflict("Mini program", "has already been removed"));
            }
            if releases::of_mini_program(tx, mp)?.is_empty() {
                return Err(AppError::conflict("Mini program", "is not released to any App, so there is nothing to remove"));
            }
            let a = Application { mini_program: Some(p.id), mini_program_name: Some(p.name), ..a };
            file(tx, a, &actor, &url)
        })
        .await
}

/// "Apply for feature activation": one capability from the documented list, for one mini program.
pub async fn apply_feature(cx: &Context, m: &Authorized<act::ApplyForMiniPrograms>, mp: Uuid, code: String, note: String, actor: Actor) -> Result<Uuid, AppError> {
    let mut ids = apply_features(cx, m, vec![(mp, code, note)], actor).await?;
    Ok(ids.remove(0))
}

/// Several feature applications by one member, each checked and filed as [`apply_feature`] does,
/// in one write transaction (all or none).
pub async fn apply_features(cx: &Context, m: &Authorized<act::ApplyForMiniPrograms>, items: Vec<(Uuid, String, String)>, actor: Actor) -> Result<Vec<Uuid>, AppError> {
    let mut checked = Vec::with_capacity(items.len());
    for (mp, code, note) in items {
        checked.push((mp, feature(&code)?, validate_apply_note(&note)?));
    }
    let standing = m.standing();
    let template = feature_template(m);
    let url = cx.config.public_url.clone();
    cx
        .store
        .write(move |tx| {
            let viewer = standing.recheck(tx)?;
            checked.into_iter().map(|(mp, f, note)| apply_feature_in(tx, &viewer, &template, mp, f, note, &actor, &url)).collect()
        })
        .await
}

/// What every feature application of `m` starts from (see [`apply_feature_in`]).
pub(crate) fn feature_template(m: &Member) -> Application {
    new_application(m, Category::Feature, None, String::new())
}

/// Files one feature application in the caller's write transaction, checked as
/// [`apply_feature`] does (`note` already validated): lets `mpdp dev seed` file thousands per
/// transaction.
#[allow(clippy::too_many_arguments)]
pub(crate) fn apply_feature_in(
    tx: &redb::WriteTransaction,
    viewer: &Viewer,
    template: &Application,
    mp: Uuid,
    f: &crate::model::approvals::Feature,
    note: String,
    actor: &Actor,
    url: &str,
) -> Result<Uuid, AppError> {
    let p = require_mini_admin(tx, viewer, mp)?;
    if p.removed {
        return Err(AppError::conflict("Mini program", "has been removed"));
    }
    if p.features.iter().any(|x| x == f.code) {
        return Err(AppError::conflict("Feature", format!("{} is already activated for this mini program", f.label)));
    }
    let a = Application {
        id: Uuid::now_v7(),
        created: crate::server::store::now(),
        mini_program: Some(p.id),
        mini_program_name: Some(p.name),
        feature: Some(f.code.into()),
        note,
        ..template.clone()
    };
    file(tx, a, actor, url)
}

/// "Apply to join the workspace": any signed-in account with a verified email. The answer is the
/// same whether or not the workspace exists, and whether or not the person is already a member
/// or has asked before — the name of a workspace is not revealed this way.
///
/// Limits, read in the transaction that files the request: an account files at most
/// [`MEMBER_REQUESTS_PER_ACCOUNT_PER_DAY`] (429, whatever name is asked for — the count is of
/// the person's own requests, which "My requests" shows them anyway); past
/// [`MEMBER_REQUEST_MAILS_PER_WORKSPACE_PER_HOUR`] a workspace's admins are told in the console
/// only. That second limit answers nothing different: a 429 there would tell that the workspace
/// exists.
pub async fn apply_join(cx: &Context, who: &SignedIn, workspace: String, note: String, actor: Actor) -> Result<(), AppError> {
    let account = who.account().clone();
    if !account.email_verified {
        return Err(AppError::Forbidden(format!(
            "Verify your email address {} first: open the link we sent you (you can ask for a new one on your account page).",
            account.email
        )));
    }
    let name = workspace.trim().to_string();
    if name.is_empty() {
        return Err(AppError::invalid("Workspace name", "is required"));
    }
    if name.chars().count() > 100 {
        return Err(AppError::invalid("Workspace name", "must be at most 100 characters"));
    }
    let note = validate_apply_note(&note)?;
    let url = cx.config.public_url.clone();
    let filed = cx
        .store
        .write(move |tx| {
            let now = crate::server::store::now();
            let day = chrono::Duration::days(1);
            let mine = store::member_requests_by_since(tx, account.id, now - day)?;
            if mine.len() >= MEMBER_REQUESTS_PER_ACCOUNT_PER_DAY {
                let wait = (mine[mine.len() - MEMBER_REQUESTS_PER_ACCOUNT_PER_DAY] + day - now).num_seconds().max(1) as u64;
                return Err(AppError::RateLimited {
                    message: format!(
                        "You can ask to join workspaces at most {MEMBER_REQUESTS_PER_ACCOUNT_PER_DAY} times a day, withdrawn requests included. Please wait {} and try again.",
                        crate::server::auth::ratelimit::wait_text(std::time::Duration::from_secs(wait))
                    ),
                    retry_after_secs: wait,
                });
            }
            let Some(w) = ws::workspace_by_name(tx, &name)? else { return Ok(false) };
            if w.status == WorkspaceStatus::Suspended || crate::server::store::members::membership(tx, w.id, account.id)?.is_some() {
                return Ok(false);
            }
            let a = Application {
                id: Uuid::now_v7(),
                workspace: w.id,
                workspace_name: w.name.clone(),
                category: Category::MemberRequest,
                status: Status::Pending,
                applicant: account.id,
                applicant_name: account.username.clone(),
                applicant_email: account.email.clone(),
                mini_program: None,
                mini_program_name: None,
                version: None,
                apps: Vec::new(),
                feature: None,
                note,
                created: crate::server::store::now(),
                finished: None,
                decided_by: None,
                reason: None,
                history: Vec::new(),
            };
            if store::pending(tx, &a.pending_key())?.is_some() {
                return Ok(false);
            }
            let recent = store::member_requests_to_since(tx, w.id, now - chrono::Duration::hours(1))?;
            let how = if recent < MEMBER_REQUEST_MAILS_PER_WORKSPACE_PER_HOUR { Announce::ConsoleAndMail } else { Announce::ConsoleOnly };
            file_announced(tx, a, &actor, &url, how)?;
            Ok(true)
        })
        .await?;
    tracing::debug!(filed, "member request");
    Ok(())
}

/// Releases a publishing application's version to its Apps: each App's previous release of the
/// mini program is replaced, and a version no longer released anywhere becomes Superseded.
fn release(tx: &redb::WriteTransaction, a: &Application, history: &mut Vec<HistoryEntry>) -> Result<(), AppError> {
    let (mp_id, version) = (a.mini_program.ok_or(AppError::Internal)?, a.version.clone().unwrap_or_default());
    let p = minis::get(tx, a.workspace, mp_id)?.ok_or_else(mini_not_found)?;
    if p.removed {
        return Err(AppError::conflict("Mini program", "has been removed; it can't be released"));
    }
    let mut v = minis::version(tx, mp_id, &version)?.ok_or(AppError::Internal)?;
    if v.state != VersionState::InReview {
        return Err(AppError::conflict("Version", format!("{} is {}, not In review", v.version, v.state.label())));
    }
    let new = semver::Version::parse(&v.version).map_err(|_| AppError::Internal)?;
    let current = releases::of_mini_program(tx, mp_id)?;
    let now = crate::server::store::now();
    let mut replaced = BTreeSet::new();
    let mut to = Vec::new();
    for (app_id, app_name) in &a.apps {
        if app_store::app_of(tx, a.workspace, *app_id)?.is_none() {
            continue;
        }
        if let Some(old) = current.iter().find(|r| r.app == *app_id) {
            if semver::Version::parse(&old.version).is_ok_and(|o| o > new) {
                return Err(AppError::conflict("Version", format!("{} is already released to {app_name}; an older version can't replace it", old.version)));
            }
        }
        let old = releases::put(tx, &Release { mini_program: mp_id, app: *app_id, version: v.version.clone(), sha256: v.sha256.clone(), size: v.size, released: now, application: a.id })?;
        if let Some(old) = old.filter(|o| o.version != v.version) {
            replaced.insert(old.version);
        }
        to.push(app_name.clone());
    }
    v.state = VersionState::Released;
    minis::put_version(tx, &v)?;
    let still: BTreeSet<String> = releases::of_mini_program(tx, mp_id)?.into_iter().map(|r| r.version).collect();
    for old in replaced.iter().filter(|o| !still.contains(*o)) {
        if let Some(mut ov) = minis::version(tx, mp_id, old)? {
            ov.state = VersionState::Superseded;
            minis::put_version(tx, &ov)?;
        }
    }
    history.push(step("MPDP", "Released", format!("{} {} released to {}", p.name, v.version, to.join(", "))));
    Ok(())
}

/// Takes a mini program off every App: it is Removed, and so are its released versions.
fn remove(tx: &redb::WriteTransaction, a: &Application, history: &mut Vec<HistoryEntry>) -> Result<(), AppError> {
    let mp_id = a.mini_program.ok_or(AppError::Internal)?;
    let mut p = minis::get(tx, a.workspace, mp_id)?.ok_or_else(mini_not_found)?;
    if p.removed {
        return Err(AppError::conflict("Mini program", "has already been removed"));
    }
    p.removed = true;
    minis::put(tx, &p)?;
    for r in releases::remove_mini_program(tx, mp_id)? {
        if let Some(mut v) = minis::version(tx, mp_id, &r.version)? {
            v.state = VersionState::Removed;
            minis::put_version(tx, &v)?;
        }
    }
    history.push(step("MPDP", "Removed", format!("{} was taken off every App", p.name)));
    Ok(())
}

/// The version a publishing application put In review leaves it as `to` (Rejected when the
/// application is rejected or closed, Uploaded when it is withdrawn). Other categories: nothing.
fn end_review(tx: &redb::WriteTransaction, a: &Application, to: VersionState) -> Result<(), AppError> {
    if let (Category::Publishing, Some(mp), Some(v)) = (a.category, a.mini_program, &a.version) {
        if let Some(mut v) = minis::version(tx, mp, v)?.filter(|v| v.state == VersionState::InReview) {
            v.state = to;
            minis::put_version(tx, &v)?;
        }
    }
    Ok(())
}

/// After a removal, the mini program's pending publishing and feature applications can't succeed:
/// they are closed as Rejected, with the reason, and their applicants told.
fn close_pending_of_removed(tx: &redb::WriteTransaction, removal: &Application, actor: &Actor, public_url: &str) -> Result<(), AppError> {
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

fn activate(tx: &redb::WriteTransaction, a: &Application, history: &mut Vec<HistoryEntry>) -> Result<(), AppError> {
    let mp_id = a.mini_program.ok_or(AppError::Internal)?;
    let mut p = minis::get(tx, a.workspace, mp_id)?.ok_or_else(mini_not_found)?;
    let code = a.feature.clone().unwrap_or_default();
    if !p.features.contains(&code) {
        p.features.push(code.clone());
        minis::put(tx, &p)?;
    }
    history.push(step("MPDP", "Activated", format!("{} may now use {}", p.name, feature(&code).map(|f| f.label).unwrap_or(&code))));
    Ok(())
}

fn join(tx: &redb::WriteTransaction, a: &Application, actor: &Actor, history: &mut Vec<HistoryEntry>) -> Result<(), AppError> {
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

/// Approves (`reason` optional) or rejects (`reason` required) a pending application of `m`'s
/// workspace, with its effect. Refused: one's own application (two-person rule), a member request
/// for anyone but a Workspace Admin, an application no longer pending (409).
/// Who decides, as [`decide_in`] needs it: a member whose role may decide applications.
pub(crate) struct Decider {
    standing: Standing,
    name: String,
}

impl Decider {
    pub(crate) fn of(m: &Authorized<act::DecideApprovals>) -> Decider {
        Decider { standing: m.standing(), name: m.who().account().username.clone() }
    }
}

/// The reason a decision is stored with: required for a rejection, optional for an approval.
pub(crate) fn decision_reason(approve: bool, reason: &str) -> Result<Option<String>, AppError> {
    if approve {
        Ok(Some(validate_apply_note(reason).map_err(|_| AppError::invalid("Reason", format!("must be at most {} characters", crate::model::approvals::REASON_MAX)))?)
            .filter(|r| !r.is_empty()))
    } else {
        Ok(Some(validate_reason(reason)?))
    }
}

pub async fn decide(cx: &Context, m: &Authorized<act::DecideApprovals>, id: Uuid, approve: bool, reason: String, actor: Actor) -> Result<(), AppError> {
    let reason = decision_reason(approve, &reason)?;
    let decider = Decider::of(m);
    let url = cx.config.public_url.clone();
    cx.store.write(move |tx| decide_in(tx, &decider, id, approve, reason, &actor, &url)).await?;
    Ok(())
}

/// Decides one application in the caller's write transaction, with every check of [`decide`]
/// (`reason` from [`decision_reason`]). What an approval changes for containers is a commit
/// effect (see [`crate::server::store::effects`]).
pub(crate) fn decide_in(tx: &redb::WriteTransaction, d: &Decider, id: Uuid, approve: bool, reason: Option<String>, actor: &Actor, url: &str) -> Result<Category, AppError> {
    let scope = d.standing.recheck(tx)?;
    let (wid, me, my_name, role) = (scope.workspace(), scope.account(), &d.name, scope.role());
    let before = store::get(tx, id)?.filter(|a| a.workspace == wid).ok_or_else(not_found)?;
    if before.applicant == me {
        return Err(AppError::Forbidden(
            "Nobody decides their own application (two-person rule): another Workspace Admin or a Workspace Reviewer must decide it.".into(),
        ));
    }
    if !may_decide(role, before.category) {
        return Err(AppError::Forbidden(decide_refusal(before.category).into()));
    }
    if before.status != Status::Pending {
        return Err(AppError::conflict(
            "Application",
            format!("was already {}; a decided or withdrawn application can't change", before.status.label().to_lowercase()),
        ));
    }
    let mut after = before.clone();
    let mut effects = Vec::new();
    if approve {
        match before.category {
            Category::Publishing => release(tx, &before, &mut effects)?,
            Category::Removal => {
                remove(tx, &before, &mut effects)?;
                close_pending_of_removed(tx, &before, &actor, &url)?;
            }
            Category::Feature => activate(tx, &before, &mut effects)?,
            Category::MemberRequest => join(tx, &before, &actor, &mut effects)?,
        }
    } else {
        end_review(tx, &before, VersionState::Rejected)?;
    }
    after.status = if approve { Status::Approved } else { Status::Rejected };
    after.finished = Some(crate::server::store::now());
    after.decided_by = Some((me, my_name.clone()));
    after.reason = if approve { None } else { reason.clone() };
    let what = if approve { "Approved" } else { "Rejected" };
    after.history.push(step(&my_name, what, reason.clone().unwrap_or_default()));
    after.history.extend(effects);
    store::update(tx, &before, &after)?;
    let action = if approve { AuditAction::ApprovalApproved } else { AuditAction::ApprovalRejected };
    audit::record(tx, &actor, Some((wid, &after.workspace_name)), action, after.category.title(), &format!("{} by {}{}", subject_of(&after), after.applicant_name, reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default()))?;
    if approve && changes_container(after.category) {
        let what = if after.category == Category::Removal { AuditAction::MiniProgramRemoved } else if after.category == Category::Feature { AuditAction::MiniProgramFeatureActivated } else { AuditAction::MiniProgramReleased };
        audit::record(tx, &actor, Some((wid, &after.workspace_name)), what, after.mini_program_name.as_deref().unwrap_or_default(), &subject_of(&after))?;
    }
    tell_applicant(tx, &after, &url)?;
    Ok(after.category)
}

/// The applicant withdraws their pending application; a version in review is Uploaded again.
/// Refused, like every change there, to a blocked member of its workspace and while the workspace
/// is suspended.
pub async fn withdraw(cx: &Context, who: &SignedIn, id: Uuid, actor: Actor) -> Result<(), AppError> {
    let me = who.account().id;
    cx
        .store
        .write(move |tx| {
            let before = store::get(tx, id)?.filter(|a| a.applicant == me).ok_or_else(not_found)?;
            let w = ws::get_workspace(tx, before.workspace)?.ok_or_else(not_found)?;
            if crate::server::store::members::membership(tx, w.id, me)?.is_some_and(|m| !m.active) {
                return Err(Member::blocked(&w.name));
            }
            if w.status == WorkspaceStatus::Suspended {
                return Err(Member::suspended(&w.name));
            }
            if before.status != Status::Pending {
                return Err(AppError::conflict(
                    "Application",
                    format!("was already {}; only a pending application can be withdrawn", before.status.label().to_lowercase()),
                ));
            }
            end_review(tx, &before, VersionState::Uploaded)?;
            let mut after = before.clone();
            after.status = Status::Withdrawn;
            after.finished = Some(crate::server::store::now());
            after.history.push(step(&before.applicant_name, "Withdrawn", String::new()));
            store::update(tx, &before, &after)?;
            audit::record(tx, &actor, Some((after.workspace, &after.workspace_name)), AuditAction::ApprovalWithdrawn, after.category.title(), &subject_of(&after))?;
            Ok(())
        })
        .await
}

/// The Approvals list's filters, as the URL carries them.
pub struct ListFilter {
    pub category: String,
    pub status: String,
    pub search: String,
    pub sort: String,
    pub cursor: String,
}

/// A page of `m`'s workspace's applications.
pub async fn list(cx: &Context, m: &Authorized<act::ViewApprovals>, f: ListFilter) -> Result<Page<ApplicationRow>, AppError> {
    let q = Query {
        workspace: m.workspace().id,
        category: crate::model::page::FilterWord::parse_filter(&f.category)?,
        status: crate::model::page::FilterWord::parse_filter(&f.status)?,
        search: f.search.chars().take(100).collect(),
        sort: Sort::parse(&f.sort, store::SORTS, "-created")?,
        cursor: f.cursor,
        per_page: PER_PAGE,
    };
    let listed = cx.store.read(move |tx| store::list(tx, &q)).await?;
    listed.page.try_map(|a| Ok(a.row()))
}

/// An application, for its applicant or the workspace's approvers (a blocked member of the workspace:
/// 403, like everywhere in it; anyone else: 404).
pub async fn get(cx: &Context, who: &SignedIn, workspace: String, id: Uuid) -> Result<ApplicationDetail, AppError> {
    let me = who.account().id;
    cx
        .store
        .read(move |tx| {
            let w = ws::workspace_by_name(tx, &workspace)?.ok_or_else(not_found)?;
            let membership = crate::server::store::members::membership(tx, w.id, me)?;
            if membership.as_ref().is_some_and(|m| !m.active) {
                return Err(Member::blocked(&w.name));
            }
            let a = store::get(tx, id)?.filter(|a| a.workspace == w.id).ok_or_else(not_found)?;
            let role = membership.map(|m| m.role);
            let approver = role.is_some_and(|r| allows(r, WorkspaceAction::ViewApprovals));
            if a.applicant != me && !approver {
                return Err(not_found());
            }
            let pending = a.status == Status::Pending;
            let refusal = if !approver || !pending {
                None
            } else if a.applicant == me {
                Some("This is your own application: another Workspace Admin or a Workspace Reviewer decides it (two-person rule).".to_string())
            } else if !role.is_some_and(|r| may_decide(r, a.category)) {
                Some(decide_refusal(a.category).to_string())
            } else if w.status == WorkspaceStatus::Suspended {
                Some(format!("The workspace {} is suspended: nothing in it can be decided until the platform operator reactivates it.", w.name))
            } else {
                None
            };
            Ok(ApplicationDetail {
                row: a.row(),
                mini_program_id: a.mini_program,
                apps: a.apps.iter().map(|(_, n)| n.clone()).collect(),
                feature: a.feature.as_deref().and_then(|c| feature(c).ok()).map(|f| (f.label.to_string(), f.description.to_string())),
                note: a.note.clone(),
                reason: a.reason.clone(),
                decided_by: a.decided_by.as_ref().map(|d| d.1.clone()),
                history: a.history.clone(),
                can_decide: approver && pending && refusal.is_none(),
                decide_refusal: refusal,
                can_withdraw: a.applicant == me && pending,
            })
        })
        .await
}

/// "My requests": the person's applications in every workspace.
pub async fn mine(cx: &Context, who: &SignedIn, sort: String, cursor: String) -> Result<Page<ApplicationRow>, AppError> {
    let me = who.account().id;
    let sort = Sort::parse(&sort, &["created"], "-created")?;
    let page = cx.store.read(move |tx| store::of_applicant(tx, me, sort, &cursor, PER_PAGE)).await?;
    page.try_map(|a| Ok(a.row()))
}

/// The person's notifications, newest first; opening them marks them read.
pub async fn open_notifications(cx: &Context, who: &SignedIn) -> Result<Vec<NotificationView>, AppError> {
    let me = who.account().id;
    let list = cx.store.write(move |tx| notifications::open_all(tx, me)).await?;
    Ok(list.iter().map(|n| n.view()).collect())
}

/// How many of the person's notifications are unread.
pub async fn unread(cx: &Context, who: &SignedIn) -> Result<u64, AppError> {
    let me = who.account().id;
    cx.store.read(move |tx| notifications::unread(tx, me)).await
}

/// What `m` can apply for on a mini program they may see, and where it is released.
pub async fn of_mini_program(cx: &Context, m: &Authorized<act::ViewMiniPrograms>, mp: Uuid) -> Result<MiniApprovals, AppError> {
    let viewer = m.scope();
    cx
        .store
        .read(move |tx| {
            let p = visible(tx, &viewer, mp)?;
            let apps: Vec<(Uuid, String)> = app_store::apps_of(tx, viewer.workspace())?.into_iter().map(|a| (a.id, a.name)).collect();
            let released = releases::of_mini_program(tx, mp)?;
            let mut pending = Vec::new();
            let mut note_pending = |key: String| -> Result<bool, AppError> {
                let found = store::pending(tx, &key)?;
                if let Some(id) = found {
                    if let Some(a) = store::get(tx, id)? {
                        pending.push((id, format!("{} — {}", a.category.title(), subject_of(&a))));
                    }
                }
                Ok(found.is_some())
            };
            let newest = minis::versions(tx, mp)?.into_iter().next();
            if let Some(v) = &newest {
                note_pending(format!("version:{mp}:{}", v.version))?;
            }
            let removal_pending = note_pending(format!("removal:{mp}"))?;
            let mut requestable = Vec::new();
            for f in FEATURES {
                let asked = note_pending(format!("feature:{mp}:{}", f.code))?;
                if !asked && !p.features.iter().any(|x| x == f.code) {
                    requestable.push((f.code.to_string(), f.label.to_string()));
                }
            }
            let releases = released
                .iter()
                .map(|r| ReleaseView {
                    app: apps.iter().find(|(id, _)| *id == r.app).map(|(_, n)| n.clone()).unwrap_or_default(),
                    version: r.version.clone(),
                    released: r.released,
                })
                .collect();
            Ok(MiniApprovals {
                publishable: newest.filter(|v| v.state == VersionState::Uploaded && !p.removed).map(|v| v.version),
                apps,
                releases,
                features: p.features.iter().map(|c| (c.clone(), feature(c).map(|f| f.label.to_string()).unwrap_or_else(|_| c.clone()))).collect(),
                requestable: if p.removed { Vec::new() } else { requestable },
                removable: !p.removed && !released.is_empty() && !removal_pending,
                pending,
            })
        })
        .await
}

/// How many applications of the workspace are pending (for the overview).
pub async fn pending_count(cx: &Context, m: &Authorized<act::ViewApprovals>) -> Result<u64, AppError> {
    let wid = m.workspace().id;
    cx.store.read(move |tx| store::count(tx, wid, None, Some(Status::Pending))).await
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use super::*;
    use crate::model::minis::MiniRole;
    use crate::server::domain::accounts::verified_account;
    use crate::server::store::minis::Version;
    use crate::server::store::workspaces::Workspace;
    use crate::server::store::Store;
    use crate::server::Config;

    fn nobody() -> Actor {
        Actor { id: None, name: "test".into(), client: None }
    }

    struct World {
        state: Context,
        workspace: Workspace,
        mp: Uuid,
        app: Uuid,
    }

    /// A member's guard for the action the use case needs, unchecked: the use case's own write
    /// transaction must refuse what the policy does not allow.
    fn acts<A: crate::server::guard::Action>(m: &Member) -> Authorized<A> {
        Authorized::for_tests(m.clone())
    }

    async fn member(w: &World, name: &str, role: Role) -> Member {
        let account = verified_account(&w.state, name).await;
        let membership = Membership { workspace: w.workspace.id, account: account.id, role, active: true, joined: Utc::now() };
        let m = membership.clone();
        w.state.store.write(move |tx| crate::server::store::members::put_membership(tx, &m)).await.unwrap();
        let session = tower_sessions::Session::new(None, std::sync::Arc::new(crate::server::store::sessions::RedbSessionStore::new(w.state.store.clone())), None);
        Member::for_tests(SignedIn::for_tests(account, session), w.workspace.clone(), membership)
    }

    /// A workspace with one App and one mini program (owned by nobody yet).
    async fn world() -> World {
        let state = Context::new(Store::memory(), Config::default());
        let workspace = Workspace {
            id: Uuid::now_v7(),
            name: "Acme".into(),
            mcc: "5812".into(),
            address: "1 Harbour Road".into(),
            representatives: vec![],
            status: WorkspaceStatus::Active,
            status_reason: None,
            created: Utc::now(),
            application: Uuid::now_v7(),
        };
        let (mp, app) = (Uuid::now_v7(), Uuid::now_v7());
        let w = workspace.clone();
        state
            .store
            .write(move |tx| {
                ws::insert_workspace(tx, &w)?;
                app_store::insert_app(tx, &app_store::App { id: app, workspace: w.id, name: "Wallet".into(), ios_bundle_id: Some("com.acme.wallet".into()), android_package: None, created: Utc::now(), created_by: "ann".into() })?;
                minis::put(tx, &minis::MiniProgram { id: mp, workspace: w.id, name: "Coupons".into(), description: String::new(), category: "Shopping".into(), has_icon: false, removed: false, created: Utc::now(), created_by: "ann".into(), features: vec![] })
            })
            .await
            .unwrap();
        World { state, workspace, mp, app }
    }

    async fn upload(w: &World, version: &str) {
        // Each upload a moment after the last, so the versions list has one order.
        let v = Version { size: 10, sha256: crate::server::keys::sha256_hex(version.as_bytes()), created: w.state.clock.now(), ..Version::for_test(w.mp, version, VersionState::Uploaded) };
        w.state.clock.advance(std::time::Duration::from_millis(1));
        w.state.store.write(move |tx| minis::put_version(tx, &v)).await.unwrap();
    }

    async fn state_of(w: &World, version: &str) -> VersionState {
        let (mp, v) = (w.mp, version.to_string());
        w.state.store.read(move |tx| minis::version(tx, mp, &v)).await.unwrap().unwrap().state
    }

    async fn released(w: &World) -> Vec<String> {
        let mp = w.mp;
        w.state.store.read(move |tx| releases::of_mini_program(tx, mp)).await.unwrap().into_iter().map(|r| r.version).collect()
    }

    #[tokio::test]
    async fn publishing_moves_versions_through_their_states_and_refuses_every_other_step() {
        let w = world().await;
        let admin = member(&w, "ann", Role::WorkspaceAdmin).await;
        let mpa = member(&w, "mia", Role::MiniProgramAdmin).await;
        let reviewer = member(&w, "rex", Role::WorkspaceReviewer).await;
        let dev = member(&w, "dev", Role::WorkspaceDeveloper).await;
        let (mp, app, s) = (w.mp, w.app, &w.state);
        let (mia, dev_id, wid) = (mpa.who().account().id, dev.who().account().id, w.workspace.id);
        s.store.write(move |tx| { minis::assign(tx, wid, mp, mia, MiniRole::Admin)?; minis::assign(tx, wid, mp, dev_id, MiniRole::Developer) }).await.unwrap();
        // Nothing to publish yet; nothing released to remove.
        assert_eq!(apply_publishing(s, &acts(&mpa), mp, "1.0.0".into(), vec![app], String::new(), nobody()).await.unwrap_err().status(), 422);
        assert_eq!(apply_removal(s, &acts(&mpa), mp, "old".into(), nobody()).await.unwrap_err().status(), 409);
        upload(&w, "1.0.0").await;
        upload(&w, "1.1.0").await;
        // Only the newest, and only to this workspace's Apps; a developer may not apply.
        assert_eq!(apply_publishing(s, &acts(&mpa), mp, "1.0.0".into(), vec![app], String::new(), nobody()).await.unwrap_err().status(), 409);
        assert_eq!(apply_publishing(s, &acts(&mpa), mp, "1.1.0".into(), vec![Uuid::now_v7()], String::new(), nobody()).await.unwrap_err().field(), Some("Apps"));
        assert_eq!(apply_publishing(s, &acts(&mpa), mp, "1.1.0".into(), vec![], String::new(), nobody()).await.unwrap_err().field(), Some("Apps"));
        assert_eq!(apply_publishing(s, &acts(&dev), mp, "1.1.0".into(), vec![app], String::new(), nobody()).await.unwrap_err().status(), 403);
        let first = apply_publishing(s, &acts(&mpa), mp, "1.1.0".into(), vec![app], "first".into(), nobody()).await.unwrap();
        assert_eq!(state_of(&w, "1.1.0").await, VersionState::InReview);
        // Once in review it can't be sent again.
        assert_eq!(apply_publishing(s, &acts(&admin), mp, "1.1.0".into(), vec![app], String::new(), nobody()).await.unwrap_err().status(), 409);
        // Two-person rule, and a reason for a rejection.
        assert_eq!(decide(s, &acts(&mpa), first, true, String::new(), nobody()).await.unwrap_err().status(), 403);
        assert_eq!(decide(s, &acts(&reviewer), first, false, "  ".into(), nobody()).await.unwrap_err().field(), Some("Reason"));
        decide(s, &acts(&reviewer), first, false, "Crashes on start".into(), nobody()).await.unwrap();
        assert_eq!(state_of(&w, "1.1.0").await, VersionState::Rejected);
        assert_eq!(decide(s, &acts(&admin), first, true, String::new(), nobody()).await.unwrap_err().status(), 409);
        assert_eq!(withdraw(s, &mpa.who(), first, nobody()).await.unwrap_err().status(), 409);
        // A new version, applied for and withdrawn: Uploaded again; withdrawn can't be decided.
        upload(&w, "1.2.0").await;
        let second = apply_publishing(s, &acts(&mpa), mp, "1.2.0".into(), vec![app], String::new(), nobody()).await.unwrap();
        assert_eq!(withdraw(s, &reviewer.who(), second, nobody()).await.unwrap_err().status(), 404, "only the applicant withdraws");
        withdraw(s, &mpa.who(), second, nobody()).await.unwrap();
        assert_eq!(state_of(&w, "1.2.0").await, VersionState::Uploaded);
        assert_eq!(decide(s, &acts(&reviewer), second, true, String::new(), nobody()).await.unwrap_err().status(), 409);
        // Applied again and approved: Released; the next release supersedes it.
        let third = apply_publishing(s, &acts(&mpa), mp, "1.2.0".into(), vec![app], String::new(), nobody()).await.unwrap();
        decide(s, &acts(&reviewer), third, true, String::new(), nobody()).await.unwrap();
        assert_eq!(state_of(&w, "1.2.0").await, VersionState::Released);
        assert_eq!(released(&w).await, vec!["1.2.0"]);
        upload(&w, "2.0.0").await;
        let fourth = apply_publishing(s, &acts(&admin), mp, "2.0.0".into(), vec![app], String::new(), nobody()).await.unwrap();
        assert_eq!(decide(s, &acts(&admin), fourth, true, String::new(), nobody()).await.unwrap_err().status(), 403, "a Workspace Admin does not decide their own");
        decide(s, &acts(&mpa), fourth, true, String::new(), nobody()).await.unwrap_err();
        decide(s, &acts(&reviewer), fourth, true, String::new(), nobody()).await.unwrap();
        assert_eq!((state_of(&w, "1.2.0").await, state_of(&w, "2.0.0").await), (VersionState::Superseded, VersionState::Released));
        // Removal: applied, approved → removed, off every App, nothing more can be applied for.
        let removal = apply_removal(s, &acts(&mpa), mp, "Campaign over".into(), nobody()).await.unwrap();
        let asked = apply_feature(s, &acts(&mpa), mp, "camera".into(), String::new(), nobody()).await.unwrap();
        assert_eq!(apply_removal(s, &acts(&admin), mp, "again".into(), nobody()).await.unwrap_err().status(), 409);
        decide(s, &acts(&admin), removal, true, String::new(), nobody()).await.unwrap();
        assert!(released(&w).await.is_empty());
        assert_eq!(state_of(&w, "2.0.0").await, VersionState::Removed);
        assert_eq!(apply_removal(s, &acts(&mpa), mp, "again".into(), nobody()).await.unwrap_err().status(), 409);
        assert_eq!(apply_feature(s, &acts(&mpa), mp, "camera".into(), String::new(), nobody()).await.unwrap_err().status(), 409);
        // What was still pending about it is closed, with the reason.
        let closed = s.store.read(move |tx| store::get(tx, asked)).await.unwrap().unwrap();
        assert_eq!(closed.status, Status::Rejected);
        assert!(closed.reason.unwrap().contains("was removed"));
        // The applicant was told of each decision.
        let mia_id = mpa.who().account().id;
        assert_eq!(s.store.read(move |tx| notifications::unread(tx, mia_id)).await.unwrap(), 4, "rejected, released, removed, closed");
    }

    #[tokio::test]
    async fn features_and_member_requests_follow_their_rules() {
        let w = world().await;
        let admin = member(&w, "ann", Role::WorkspaceAdmin).await;
        let reviewer = member(&w, "rex", Role::WorkspaceReviewer).await;
        let (mp, s) = (w.mp, &w.state);
        assert_eq!(apply_feature(s, &acts(&admin), mp, "teleport".into(), String::new(), nobody()).await.unwrap_err().field(), Some("Feature"));
        let f = apply_feature(s, &acts(&admin), mp, "location".into(), String::new(), nobody()).await.unwrap();
        assert_eq!(apply_feature(s, &acts(&admin), mp, "location".into(), String::new(), nobody()).await.unwrap_err().status(), 409);
        decide(s, &acts(&reviewer), f, true, String::new(), nobody()).await.unwrap();
        let features = s.store.read(move |tx| minis::by_id(tx, mp)).await.unwrap().unwrap().features;
        assert_eq!(features, vec!["location"]);
        assert_eq!(apply_feature(s, &acts(&admin), mp, "location".into(), String::new(), nobody()).await.unwrap_err().status(), 409);

        // A member request: the same answer for a name that does not exist; only an admin decides.
        let zed = verified_account(s, "zed").await;
        let session = tower_sessions::Session::new(None, std::sync::Arc::new(crate::server::store::sessions::RedbSessionStore::new(s.store.clone())), None);
        let zed = SignedIn::for_tests(zed, session);
        apply_join(s, &zed, "Nowhere".into(), String::new(), nobody()).await.unwrap();
        apply_join(s, &zed, "acme".into(), "I build the coupons".into(), nobody()).await.unwrap();
        apply_join(s, &zed, "Acme".into(), String::new(), nobody()).await.unwrap();
        let mine = mine(s, &zed, String::new(), String::new()).await.unwrap();
        assert_eq!(mine.total, 1, "one request, in the workspace that exists");
        let req = mine.items[0].id;
        assert_eq!(decide(s, &acts(&reviewer), req, true, String::new(), nobody()).await.unwrap_err().status(), 403);
        decide(s, &acts(&admin), req, true, String::new(), nobody()).await.unwrap();
        let (wid, zid) = (w.workspace.id, zed.account().id);
        let joined = s.store.read(move |tx| crate::server::store::members::membership(tx, wid, zid)).await.unwrap().unwrap();
        assert_eq!((joined.role, joined.active), (Role::WorkspaceDeveloper, true));
        // Now a member: asking again files nothing.
        apply_join(s, &zed, "Acme".into(), String::new(), nobody()).await.unwrap();
        assert_eq!(super::mine(s, &zed, String::new(), String::new()).await.unwrap().total, 1);
    }

    #[tokio::test]
    async fn member_requests_are_capped_per_account_and_past_a_workspace_s_hourly_budget_go_unmailed() {
        let w = world().await;
        let admin = member(&w, "ann", Role::WorkspaceAdmin).await;
        let s = &w.state;
        let ann_id = admin.who().account().id;
        let signed_in = |name: &'static str| async move {
            let a = verified_account(s, name).await;
            let session = tower_sessions::Session::new(None, std::sync::Arc::new(crate::server::store::sessions::RedbSessionStore::new(s.store.clone())), None);
            SignedIn::for_tests(a, session)
        };
        let mails_to_ann = || async move {
            s.store
                .read(|tx| outbox::list(tx, None, "New application in Acme", Sort::parse("", outbox::SORTS, "-created")?, "", 50))
                .await
                .unwrap()
                .total
        };
        // Asks, then withdraws, again and again: each time the admins are mailed, up to the cap.
        let loop_until_refused = |who: SignedIn| async move {
            for _ in 0..MEMBER_REQUESTS_PER_ACCOUNT_PER_DAY {
                apply_join(s, &who, "Acme".into(), String::new(), nobody()).await.unwrap();
                let id = mine(s, &who, String::new(), String::new()).await.unwrap().items[0].id;
                withdraw(s, &who, id, nobody()).await.unwrap();
            }
            who
        };
        let joe = loop_until_refused(signed_in("joe").await).await;
        assert_eq!(mails_to_ann().await, MEMBER_REQUESTS_PER_ACCOUNT_PER_DAY as u64);
        let (filed, unread) = (mine(s, &joe, String::new(), String::new()).await.unwrap().total, s.store.read(move |tx| notifications::unread(tx, ann_id)).await.unwrap());
        // The next request is refused, whatever the name — and changes nothing.
        for name in ["Acme", "Nowhere"] {
            let e = apply_join(s, &joe, name.into(), String::new(), nobody()).await.unwrap_err();
            assert_eq!(e.status(), 429, "{name}: {e}");
            assert!(e.to_string().contains("at most 5 times a day"), "{e}");
            assert!(matches!(e, AppError::RateLimited { retry_after_secs, .. } if retry_after_secs > 23 * 3600), "{e:?}");
        }
        assert_eq!(mine(s, &joe, String::new(), String::new()).await.unwrap().total, filed);
        assert_eq!(s.store.read(move |tx| notifications::unread(tx, ann_id)).await.unwrap(), unread);
        assert_eq!(mails_to_ann().await, MEMBER_REQUESTS_PER_ACCOUNT_PER_DAY as u64);

        // Past the workspace's hourly budget, a request is still filed and answered alike, and
        // ann sees it in the console — but no mail goes out.
        loop_until_refused(signed_in("kim").await).await;
        assert_eq!(mails_to_ann().await, MEMBER_REQUEST_MAILS_PER_WORKSPACE_PER_HOUR as u64);
        let lee = signed_in("lee").await;
        apply_join(s, &lee, "Acme".into(), String::new(), nobody()).await.unwrap();
        assert_eq!(mine(s, &lee, String::new(), String::new()).await.unwrap().total, 1);
        assert_eq!(mails_to_ann().await, MEMBER_REQUEST_MAILS_PER_WORKSPACE_PER_HOUR as u64);
        let texts: Vec<String> = open_notifications(s, admin.who()).await.unwrap().into_iter().map(|n| n.text).collect();
        assert!(texts[0].starts_with("lee applied"), "{texts:?}");
    }

    #[tokio::test]
    async fn a_guard_checked_on_the_request_is_proved_again_in_the_transaction_that_acts() {
        let w = world().await;
        let admin = member(&w, "ann", Role::WorkspaceAdmin).await;
        let rex = member(&w, "rex", Role::WorkspaceReviewer).await;
        let s = &w.state;
        let (wid, rex_id) = (w.workspace.id, rex.who().account().id);
        // Both guards pass the request's check.
        let applicant = admin.clone().authorize(act::ApplyForMiniPrograms).unwrap();
        let decider = rex.clone().authorize(act::DecideApprovals).unwrap();
        let id = apply_feature(s, &applicant, w.mp, FEATURES[0].code.into(), String::new(), nobody()).await.unwrap();
        let set = |role: Role, active: bool| {
            let m = Membership { workspace: wid, account: rex_id, role, active, joined: Utc::now() };
            async move { s.store.write(move |tx| crate::server::store::members::put_membership(tx, &m)).await.unwrap() }
        };
        // Then, before the decision commits, the reviewer is demoted, or blocked, or the
        // workspace suspended: each refused in the write transaction, and nothing changes.
        set(Role::WorkspaceDeveloper, true).await;
        assert_eq!(decide(s, &decider, id, true, String::new(), nobody()).await.unwrap_err().status(), 403, "demoted");
        set(Role::WorkspaceReviewer, false).await;
        assert_eq!(decide(s, &decider, id, true, String::new(), nobody()).await.unwrap_err().status(), 403, "blocked");
        s.store.write(move |tx| crate::server::store::members::remove(tx, wid, rex_id)).await.unwrap();
        assert_eq!(decide(s, &decider, id, true, String::new(), nobody()).await.unwrap_err().status(), 404, "removed");
        set(Role::WorkspaceReviewer, true).await;
        let mut suspended = w.workspace.clone();
        suspended.status = WorkspaceStatus::Suspended;
        s.store.write(move |tx| ws::update_workspace(tx, &suspended)).await.unwrap();
        assert_eq!(decide(s, &decider, id, true, String::new(), nobody()).await.unwrap_err().status(), 403, "suspended");
        assert_eq!(apply_feature(s, &applicant, w.mp, FEATURES[1].code.into(), String::new(), nobody()).await.unwrap_err().status(), 403, "suspended");
        assert_eq!(s.store.read(move |tx| store::get(tx, id)).await.unwrap().unwrap().status, Status::Pending, "nothing decided");
        // Reactivated, the same guard acts.
        let active = w.workspace.clone();
        s.store.write(move |tx| ws::update_workspace(tx, &active)).await.unwrap();
        decide(s, &decider, id, true, String::new(), nobody()).await.unwrap();
    }

    #[tokio::test]
    async fn of_two_concurrent_decisions_exactly_one_stands() {
        let w = world().await;
        let admin = member(&w, "ann", Role::WorkspaceAdmin).await;
        let rex = member(&w, "rex", Role::WorkspaceReviewer).await;
        let ray = member(&w, "ray", Role::WorkspaceReviewer).await;
        let s = &w.state;
        let (rex, ray) = (acts(&rex), acts(&ray));
        for (i, f) in FEATURES.iter().enumerate() {
            let id = apply_feature(s, &acts(&admin), w.mp, f.code.into(), String::new(), nobody()).await.unwrap();
            let (a, b) = tokio::join!(
                decide(s, &rex, id, true, String::new(), nobody()),
                decide(s, &ray, id, false, format!("no {i}"), nobody())
            );
            assert!(a.is_ok() != b.is_ok(), "exactly one of {a:?} / {b:?}");
            let loser = a.err().or(b.err()).unwrap();
            assert_eq!(loser.status(), 409);
            let stored = s.store.read(move |tx| store::get(tx, id)).await.unwrap().unwrap();
            let winner_approved = stored.status == Status::Approved;
            assert_eq!(stored.history.iter().filter(|h| h.what == "Approved" || h.what == "Rejected").count(), 1);
            let activated = s.store.read({ let mp = w.mp; move |tx| minis::by_id(tx, mp) }).await.unwrap().unwrap().features.contains(&f.code.to_string());
            assert_eq!(activated, winner_approved);
        }
    }

    /// 100 000 applications in one workspace, filed through the domain: the first page and a page
    /// deep in the list are read from the index, not by scanning (counted in index entries read).
    #[tokio::test]
    async fn a_hundred_thousand_applications_are_paged_without_scanning() {
        const N: usize = 100_000;
        let w = world().await;
        let admin = member(&w, "ann", Role::WorkspaceAdmin).await;
        let template = new_application(&admin, Category::Feature, None, String::new());
        let url = w.state.config.public_url.clone();
        for batch in 0..(N / 5_000) {
            let (template, url) = (template.clone(), url.clone());
            w.state
                .store
                .write(move |tx| {
                    for i in 0..5_000 {
                        let n = batch * 5_000 + i;
                        let a = Application {
                            id: Uuid::now_v7(),
                            created: template.created + chrono::Duration::milliseconds(n as i64),
                            mini_program: Some(Uuid::from_u128(n as u128)),
                            mini_program_name: Some(format!("Mini {n}")),
                            feature: Some("camera".into()),
                            ..template.clone()
                        };
                        file(tx, a, &nobody(), &url)?;
                    }
                    Ok(())
                })
                .await
                .unwrap();
        }
        let wid = w.workspace.id;
        let page = |sort: &'static str, cursor: String, status: Option<Status>| {
            let s = w.state.clone();
            async move {
                s.store
                    .read(move |tx| {
                        store::list(tx, &Query { workspace: wid, category: None, status, search: String::new(), sort: Sort::parse(sort, store::SORTS, "-created")?, cursor, per_page: PER_PAGE })
                    })
                    .await
                    .unwrap()
            }
        };
        let first = page("", String::new(), None).await;
        assert_eq!((first.page.total, first.page.items.len()), (N as u64, 20));
        assert!(first.entries_read <= 21, "first page read {} index entries", first.entries_read);
        // Deep: follow "next" 2 000 times (40 000 rows in), each page as cheap as the first.
        let mut cursor = first.page.next.clone().unwrap();
        let mut max_read = 0;
        for _ in 0..2_000 {
            let p = page("", cursor.clone(), None).await;
            max_read = max_read.max(p.entries_read);
            cursor = p.page.next.clone().unwrap();
        }
        let deep = page("", cursor.clone(), None).await;
        assert_eq!(deep.page.offset, 40_020);
        assert!(max_read <= 21 && deep.entries_read <= 21, "a deep page read {max_read} index entries");
        // Back from there, and with a filter, the same.
        let back = page("", deep.page.prev.clone().unwrap(), None).await;
        assert_eq!(back.page.offset, 40_000);
        assert!(back.entries_read <= 21);
        let pending = page("created", String::new(), Some(Status::Pending)).await;
        assert_eq!(pending.page.total, N as u64);
        assert!(pending.entries_read <= 21);
    }
}
