//! What the console reads: the Approvals list, one application, My requests, notifications, a
//! mini program's applications and releases.

use uuid::Uuid;

use crate::model::{Missing, OrMissing};
use crate::model::page::Position;
use crate::model::approvals::{
    feature, ApplicationDetail, ApplicationRow, MiniApprovals,
    NotificationView, ReleaseView, Status, FEATURES,
};
use crate::model::minis::VersionState;
use crate::model::page::{Page, PER_PAGE};
use crate::server::store::listing::Window;
use crate::model::workspace::WorkspaceStatus;
use crate::model::AppError;
use crate::server::guard::{act, Authorized, SignedIn};
use crate::server::domain::minis::visible;
use crate::server::policy::{allows, decide_refusal, may_decide, WorkspaceAction};
use crate::server::store::approvals::{self as store, Query};
use crate::server::store::releases;
use crate::server::store::workspaces as ws;
use crate::server::store::{apps as app_store, minis, notifications};
use crate::server::Context;

use super::*;

/// The Approvals list's filters, as the URL carries them.
pub struct ListFilter {
    pub category: String,
    pub status: String,
    pub search: String,
    pub at: Position,
}

/// A page of `m`'s workspace's applications.
pub async fn list(cx: &Context, m: &Authorized<act::ViewApprovals>, f: ListFilter) -> Result<Page<ApplicationRow>, AppError> {
    let q = Query {
        workspace: m.workspace().id,
        category: crate::model::page::FilterWord::parse_filter(&f.category)?,
        status: crate::model::page::FilterWord::parse_filter(&f.status)?,
        search: f.search.chars().take(100).collect(),
        by_email: allows(m.membership().role, WorkspaceAction::ViewMembers),
        window: Window::at(store::LIST, &f.at, PER_PAGE)?,
    };
    let listed = cx.store.read(move |tx| store::list(tx, &q)).await?;
    listed.page.try_map(|a| Ok(a.row()))
}

/// An application, for its applicant or the workspace's approvers (a blocked member of the workspace:
/// 403, like everywhere in it; anyone else: 404). A member is held to what the workspace asks of
/// every member's session (two factors, its single sign-on), as on every page of it. Only a
/// request to join is shown to an applicant who is no member: one removed from the workspace no
/// longer reads what became of the applications made there (who decided, why, where it went).
pub async fn get(cx: &Context, who: &SignedIn, workspace: String, id: Uuid) -> Result<ApplicationDetail, AppError> {
    let me = who.account().id;
    let (detail, member_of) = cx
        .store
        .read(move |tx| {
            let w = ws::workspace_by_name(tx, &workspace)?.or_missing(Missing::Application)?;
            let membership = crate::server::store::members::membership(tx, w.id, me)?;
            let a = store::get(tx, id)?.filter(|a| a.workspace == w.id).or_missing(Missing::Application)?;
            if membership.is_none() && a.category != Category::MemberRequest {
                return Err(Missing::Application.into());
            }
            if membership.is_some() {
                crate::server::guard::MemberScope::for_account(tx, w.id, &w.name, me, WorkspaceAction::ViewWorkspace)?;
            }
            let member_of = membership.is_some().then(|| w.clone());
            let role = membership.map(|m| m.role);
            let approver = role.is_some_and(|r| allows(r, WorkspaceAction::ViewApprovals));
            if a.applicant != me && !approver {
                return Err(Missing::Application.into());
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
            Ok((ApplicationDetail {
                row: a.row(),
                mini_program_id: a.mini_program,
                apps: a.apps.iter().map(|(_, n)| n.clone()).collect(),
                rollout: (a.category == Category::Publishing).then(|| rollout_share(a.rollout)),
                feature: a.feature.as_deref().and_then(|c| feature(c).ok()).map(|f| (f.label.to_string(), f.description.to_string())),
                note: a.note.clone(),
                reason: a.reason.clone(),
                decided_by: a.decided_by.as_ref().map(|d| d.1.clone()),
                history: a.history.clone(),
                can_decide: approver && pending && refusal.is_none(),
                decide_refusal: refusal,
                can_withdraw: a.applicant == me && pending,
            }, member_of))
        })
        .await?;
    if let Some(w) = member_of {
        who.single_sign_on_admits(&w).await?;
    }
    Ok(detail)
}

/// The share of installs a publishing application asks for, as its approver reads it.
fn rollout_share(per_mille: u16) -> String {
    use crate::model::approvals::{rollout_label, FULL_ROLLOUT};
    if per_mille >= FULL_ROLLOUT {
        "100 %: every install gets it at once".into()
    } else {
        format!("{}: a candidate beside the stable, raised from the release page", rollout_label(per_mille))
    }
}

/// "My requests": the person's applications in every workspace.
pub async fn mine(cx: &Context, who: &SignedIn, at: Position) -> Result<Page<ApplicationRow>, AppError> {
    let me = who.account().id;
    let window = Window::at(store::MINE, &at, PER_PAGE)?;
    let page = cx.store.read(move |tx| store::of_applicant(tx, me, &window)).await?;
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

/// How many days of the fleet's figures a release shows.
pub const FIGURE_DAYS: i64 = 14;

/// What `m` can apply for on a mini program they may see, and where it is released.
pub async fn of_mini_program(cx: &Context, m: &Authorized<act::ViewMiniPrograms>, mp: Uuid) -> Result<MiniApprovals, AppError> {
    let viewer = m.scope();
    let now = cx.clock.now();
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
                .map(|r| {
                    Ok(ReleaseView {
                        app_id: r.app,
                        app: apps.iter().find(|(id, _)| *id == r.app).map(|(_, n)| n.clone()).unwrap_or_default(),
                        version: r.stable.as_ref().map(|s| s.version.clone()),
                        released: r.stable.as_ref().map(|s| s.released),
                        candidate: r.candidate.as_ref().map(|c| c.view()),
                        earlier: r.earlier.iter().map(|e| e.version.clone()).collect(),
                        health: r.health,
                        figures: crate::server::domain::fleet::figures(tx, r.app, mp, FIGURE_DAYS, now)?,
                    })
                })
                .collect::<Result<Vec<_>, AppError>>()?;
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
