//! Applying: for publishing review, removal, a feature, or to join a workspace. Each application
//! is filed with its audit event and the approvers told, in the transaction that checks it.

use std::collections::BTreeSet;

use uuid::Uuid;

use crate::model::approvals::{feature, validate_apply_note, validate_reason, Category, Status};
use crate::model::minis::VersionState;
use crate::model::workspace::WorkspaceStatus;
use crate::model::AppError;
use crate::model::audit::AuditAction;
use crate::server::guard::{act, Authorized, Member, SignedIn};
use crate::server::guard::MemberScope as Viewer;
use crate::server::store::approvals::{self as store, Application};
use crate::server::store::audit::{self, Actor};
use crate::server::store::releases;
use crate::server::store::workspaces as ws;
use crate::server::store::{apps as app_store, minis};
use crate::server::Context;

use super::*;

/// Member requests one account may file in a day. Each one mails every Workspace Admin of the
/// workspace, so apply → withdraw → apply must not become a way to flood their inboxes.
pub const MEMBER_REQUESTS_PER_ACCOUNT_PER_DAY: usize = 5;

/// Member requests to one workspace per hour that are announced by email; past that, its
/// Workspace Admins still find them in the console (notifications, Approvals), without mail.
pub const MEMBER_REQUEST_MAILS_PER_WORKSPACE_PER_HOUR: usize = 10;

/// Applications one person files in an hour whose approvers are told by email. Withdrawing lets
/// a member apply again, so apply → withdraw → apply must not become a way to flood the
/// approvers' inboxes: past this, they find the applications in the console (notifications,
/// Approvals), without mail.
pub const MAILED_APPLICATIONS_PER_APPLICANT_PER_HOUR: usize = 10;

/// Stores a new application with its audit event and tells the approvers (by email too, unless
/// its applicant filed [`MAILED_APPLICATIONS_PER_APPLICANT_PER_HOUR`] in the last hour).
pub(super) fn file(tx: &redb::WriteTransaction, a: Application, actor: &Actor, public_url: &str) -> Result<Uuid, AppError> {
    let hour_ago = crate::server::store::now() - chrono::Duration::hours(1);
    let recent = store::filed_by_since(tx, a.applicant, hour_ago, MAILED_APPLICATIONS_PER_APPLICANT_PER_HOUR)?;
    let how = if recent < MAILED_APPLICATIONS_PER_APPLICANT_PER_HOUR { Announce::ConsoleAndMail } else { Announce::ConsoleOnly };
    file_announced(tx, a, actor, public_url, how)
}

pub(super) fn file_announced(tx: &redb::WriteTransaction, mut a: Application, actor: &Actor, public_url: &str, how: Announce) -> Result<Uuid, AppError> {
    let subject = subject_of(&a);
    a.history.push(step(&a.applicant_name, "Applied", if a.note.is_empty() { subject.clone() } else { format!("{subject} — {}", a.note) }));
    store::insert(tx, &a)?;
    audit::record(tx, actor, Some((a.workspace, &a.workspace_name)), AuditAction::ApprovalApplied, a.category.title(), &subject)?;
    tell_approvers(tx, &a, public_url, how)?;
    Ok(a.id)
}

/// "Apply for publishing review": the newest version, when Uploaded, to one or more of the
/// workspace's Apps, released to all of their installs once approved. The version becomes In
/// review.
pub async fn apply_publishing(
    cx: &Context,
    m: &Authorized<act::ApplyForMiniPrograms>,
    mp: Uuid,
    version: String,
    apps: Vec<Uuid>,
    note: String,
    actor: Actor,
) -> Result<Uuid, AppError> {
    let to = Publishing { version, apps, rollout: crate::model::approvals::FULL_ROLLOUT, note };
    apply_publishing_to(cx, m, mp, to, actor).await
}

/// What a publishing application asks for.
pub struct Publishing {
    pub version: String,
    pub apps: Vec<Uuid>,
    /// The share of installs the version goes to once approved, in per-mille (below 1000 it is
    /// released as a candidate).
    pub rollout: u16,
    pub note: String,
}

/// [`apply_publishing`], released at first to the share of installs `to.rollout` says.
pub async fn apply_publishing_to(cx: &Context, m: &Authorized<act::ApplyForMiniPrograms>, mp: Uuid, to: Publishing, actor: Actor) -> Result<Uuid, AppError> {
    let filed = apply_publishing_after(cx, m, mp, to, actor, |_| Ok(Ok::<(), std::convert::Infallible>(()))).await?;
    Ok(filed.unwrap_or_else(|never| match never {}))
}

/// [`apply_publishing_to`], with `first` run in the write transaction that files it, before
/// anything is written: a refusal it returns (`Ok(Err(_))`) files nothing. The Studio API checks
/// the personal access token there, so a token revoked while its request was read does not apply.
pub async fn apply_publishing_after<E, F>(
    cx: &Context,
    m: &Authorized<act::ApplyForMiniPrograms>,
    mp: Uuid,
    to: Publishing,
    actor: Actor,
    first: F,
) -> Result<Result<Uuid, E>, AppError>
where
    E: Send + 'static,
    F: FnOnce(&redb::WriteTransaction) -> Result<Result<(), E>, AppError> + Send + 'static,
{
    let Publishing { version, apps, rollout, note } = to;
    if rollout > crate::model::approvals::FULL_ROLLOUT {
        return Err(AppError::invalid("Rollout", "must be a percentage from 0 to 100"));
    }
    let note = validate_apply_note(&note)?;
    let apps: BTreeSet<Uuid> = apps.into_iter().collect();
    if apps.is_empty() {
        return Err(AppError::invalid("Apps", "choose at least one App to release to"));
    }
    let mut a = Application { rollout, ..new_application(m, Category::Publishing, None, note) };
    let url = cx.config.public_url.clone();
    m
        .write(cx, move |tx, viewer| {
            if let Err(refused) = first(tx)? {
                return Ok(Err(refused));
            }
            let p = applicable(tx, &viewer, mp, "has been removed; it can't be published again")?;
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
            Ok(Ok(id))
        })
        .await
}

/// "Apply for removal": for a mini program released to at least one App, with a reason.
pub async fn apply_removal(cx: &Context, m: &Authorized<act::ApplyForMiniPrograms>, mp: Uuid, reason: String, actor: Actor) -> Result<Uuid, AppError> {
    let reason = validate_reason(&reason)?;
    let a = new_application(m, Category::Removal, None, reason);
    let url = cx.config.public_url.clone();
    m
        .write(cx, move |tx, viewer| {
            let p = applicable(tx, &viewer, mp, "has already been removed")?;
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
    let template = feature_template(m);
    let url = cx.config.public_url.clone();
    m
        .write(cx, move |tx, viewer| {
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
    let p = applicable(tx, viewer, mp, "has been removed")?;
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
/// or has asked before. Names are not secret all the same: a request filed for a workspace that
/// exists is listed in the person's "My requests", and a workspace application refuses a name a
/// workspace has.
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
                rollout: crate::model::approvals::FULL_ROLLOUT,
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
