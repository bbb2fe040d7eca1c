//! Who is told of an application and of its decision, in the console and by email, and what the
//! message says.

use crate::model::workspace::Role;
use crate::model::AppError;
use crate::server::policy::may_decide;
use crate::server::store::approvals::Application;
use crate::server::store::{accounts, notifications, outbox};

use super::*;

/// Whether a new application is announced to the approvers by email as well as in the console.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Announce {
    ConsoleAndMail,
    ConsoleOnly,
}

/// Tells the workspace's approvers of a new application (in the console and, unless `how` says
/// otherwise, by email): Workspace Admins and Reviewers, or for a member request Workspace Admins
/// only; never the applicant.
pub(super) fn tell_approvers(tx: &redb::WriteTransaction, a: &Application, public_url: &str, how: Announce) -> Result<(), AppError> {
    let path = path_of(a);
    let text = format!("{} applied: {} — {}", a.applicant_name, a.category.title(), subject_of(a));
    let roles = Role::ALL.into_iter().filter(|r| may_decide(*r, a.category));
    let approvers = roles.map(|r| crate::server::store::members::active_with_role(tx, a.workspace, r)).collect::<Result<Vec<_>, _>>()?;
    for m in approvers.into_iter().flatten() {
        if m.account == a.applicant {
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

/// Tells the applicant of a decision (in the console and by email). Of an application made as a
/// member, only an active member is told: one blocked or removed since learns nothing more of
/// the workspace (who decided, why).
pub(super) fn tell_applicant(tx: &redb::WriteTransaction, a: &Application, public_url: &str) -> Result<(), AppError> {
    if a.category != Category::MemberRequest && !crate::server::store::members::membership(tx, a.workspace, a.applicant)?.is_some_and(|m| m.active) {
        return Ok(());
    }
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
