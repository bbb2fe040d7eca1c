//! Deciding an application (two-person rule, who may decide which category) and withdrawing
//! one.

use uuid::Uuid;

use crate::model::{Missing, OrMissing};
use crate::model::approvals::{validate_apply_note, validate_reason, Category, Status};
use crate::model::minis::VersionState;
use crate::model::workspace::WorkspaceStatus;
use crate::model::AppError;
use crate::model::audit::AuditAction;
use crate::server::guard::{act, Authorized, Member, SignedIn, Standing};
use crate::server::policy::{decide_refusal, may_decide};
use crate::server::store::approvals as store;
use crate::server::store::audit::{self, Actor};
use crate::server::store::workspaces as ws;
use crate::server::Context;

use super::*;

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
    let before = store::get(tx, id)?.filter(|a| a.workspace == wid).or_missing(Missing::Application)?;
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
                close_pending_of_removed(tx, &before, &url)?;
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
/// Refused, like every change there, to a blocked member of its workspace, to a member whose
/// session does not meet what the workspace asks (two factors, its single sign-on), and while the
/// workspace is suspended; an application about the workspace's things (all but a request to
/// join) only while the applicant is still a member.
pub async fn withdraw(cx: &Context, who: &SignedIn, id: Uuid, actor: Actor) -> Result<(), AppError> {
    let me = who.account().id;
    let member_of = cx
        .store
        .read(move |tx| {
            let Some(a) = store::get(tx, id)?.filter(|a| a.applicant == me) else { return Ok(None) };
            let Some(w) = ws::get_workspace(tx, a.workspace)? else { return Ok(None) };
            Ok(crate::server::store::members::membership(tx, w.id, me)?.map(|_| w))
        })
        .await?;
    if let Some(w) = member_of {
        who.single_sign_on_admits(&w).await?;
    }
    cx
        .store
        .write(move |tx| {
            let before = store::get(tx, id)?.filter(|a| a.applicant == me).or_missing(Missing::Application)?;
            let w = ws::get_workspace(tx, before.workspace)?.or_missing(Missing::Application)?;
            let membership = crate::server::store::members::membership(tx, w.id, me)?;
            if membership.is_some() || before.category != Category::MemberRequest {
                crate::server::guard::MemberScope::for_account(tx, w.id, &w.name, me, crate::server::policy::WorkspaceAction::ViewWorkspace)?;
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

