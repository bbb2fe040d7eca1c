//! Approvals (SPEC §7): applying, deciding, withdrawing, and what a decision does — a release, a
//! removal, a new member, an activated feature. Each use case is one write transaction: the
//! application, its effect, its audit events and its notifications commit together or not at all,
//! and two decisions of one application can never both stand (redb serialises write
//! transactions; the second finds it decided and gets 409).
//!
//! **Two-person rule:** nobody decides their own application, whatever their role — a Workspace
//! Admin who applies needs another Workspace Admin or a Workspace Reviewer to decide.

use uuid::Uuid;

use crate::model::approvals::{feature, Category, HistoryEntry, Status};
use crate::model::AppError;
use crate::server::guard::Member;
use crate::server::guard::{MemberScope as Viewer, MiniNeed, MiniProgramAccess};
use crate::server::store::approvals::Application;
use crate::server::store::minis;

mod apply;
mod decide;
mod effects;
mod notify;
mod read;
#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) use tests::support as tests_support;

pub use apply::*;
pub use decide::*;
pub use read::*;
use effects::*;
pub(crate) use effects::supersede_unserved;
use notify::*;

/// The console's address of an application.
pub(super) fn path_of(a: &Application) -> String {
    format!("/w/{}/approvals/{}", crate::model::url_encode(&a.workspace_name), a.id)
}

/// "Coupons 1.2.0", "Coupons", or "" — what an application is about, for messages.
pub(super) fn subject_of(a: &Application) -> String {
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

pub(super) fn step(who: &str, what: &str, text: String) -> HistoryEntry {
    HistoryEntry { at: crate::server::store::now(), who: who.into(), what: what.into(), text }
}

/// The mini program, if `m` may apply for it: its admin, or a Workspace Admin (the
/// mini-program-scoped guard). Others who can see it are refused; those who can't see it get 404.
/// The mini program `mp` as an application about it needs it: managed by the applicant and not
/// removed (409 naming `removed`, the rule that applies to this kind of application).
pub(super) fn applicable(tx: &redb::WriteTransaction, m: &Viewer, mp: Uuid, removed: &str) -> Result<minis::MiniProgram, AppError> {
    let p = MiniProgramAccess::check(tx, m, mp, MiniNeed::Manage)?.into_mini_program();
    if p.removed {
        return Err(AppError::conflict("Mini program", removed));
    }
    Ok(p)
}

pub(super) fn new_application(m: &Member, category: Category, mp: Option<&minis::MiniProgram>, note: String) -> Application {
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
        rollout: crate::model::approvals::FULL_ROLLOUT,
        feature: None,
        note,
        created: now,
        finished: None,
        decided_by: None,
        reason: None,
        history: Vec::new(),
    }
}

