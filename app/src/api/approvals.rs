//! Approvals: applying (publishing, removal, feature activation, joining a workspace), the
//! Approvals list, deciding and withdrawing, "My requests" and notifications.

use leptos::prelude::*;
use uuid::Uuid;

use crate::model::page::Position;
use crate::model::approvals::{ApplicationDetail, ApplicationRow, MiniApprovals, NotificationView};
use crate::model::page::Page;
use crate::model::AppError;

#[cfg(feature = "ssr")]
use crate::server::{
    guard::{act, Member, SignedIn},
    domain::{approvals as domain, workspaces::actor},
    Context,
};

/// A page of the workspace's applications (Workspace Admins and Reviewers).
#[server(prefix = "/api", endpoint = "list-approvals")]
pub async fn list_approvals(
    workspace: String,
    #[server(default)] category: String,
    #[server(default)] status: String,
    #[server(default)] q: String,
    #[server(flatten)] at: Position,
) -> Result<Page<ApplicationRow>, AppError> {
    let m = Member::require(&workspace).await?.authorize(act::ViewApprovals)?;
    let filter = domain::ListFilter { category, status, search: q, at };
    domain::list(&Context::current()?, &m, filter).await
}

/// One application, for its applicant or the workspace's approvers.
#[server(prefix = "/api", endpoint = "get-application")]
pub async fn get_application(workspace: String, id: Uuid) -> Result<ApplicationDetail, AppError> {
    let who = SignedIn::require().await?;
    domain::get(&Context::current()?, &who, workspace, id).await
}

/// Decides a pending application of `workspace` as a member allowed to decide applications, then
/// returns a plain form post to the page that asked.
#[cfg(feature = "ssr")]
async fn decide(workspace: String, id: Uuid, approve: bool, reason: String, back: Option<String>) -> Result<(), AppError> {
    let (state, m, actor) = super::acting(&workspace, act::DecideApprovals).await?;
    domain::decide(&state, &m, id, approve, reason, actor).await?;
    super::return_to(back)
}

/// Approves a pending application (not one's own).
#[server(prefix = "/api", endpoint = "approve-application")]
pub async fn approve_application(
    workspace: String,
    id: Uuid,
    #[server(default)] reason: String,
    #[server(default)] back: Option<String>,
) -> Result<(), AppError> {
    decide(workspace, id, true, reason, back).await
}

/// Rejects a pending application (not one's own) with a reason the applicant reads.
#[server(prefix = "/api", endpoint = "reject-application")]
pub async fn reject_application(
    workspace: String,
    id: Uuid,
    #[server(default)] reason: String,
    #[server(default)] back: Option<String>,
) -> Result<(), AppError> {
    decide(workspace, id, false, reason, back).await
}

/// The applicant withdraws their pending application.
#[server(prefix = "/api", endpoint = "withdraw-application")]
pub async fn withdraw_application(id: Uuid, #[server(default)] back: Option<String>) -> Result<(), AppError> {
    let (state, who, addr) = super::me_undoing().await?;
    let actor = actor(&who, addr);
    domain::withdraw(&state, &who, id, actor).await?;
    super::return_to(back)
}

/// "Apply for publishing review": the newest Uploaded version, to the chosen Apps (`apps[0]`,
/// `apps[1]`, … in a form), released once approved to `rollout` percent of their installs
/// (empty: all of them).
#[server(prefix = "/api", endpoint = "apply-publishing")]
pub async fn apply_publishing(
    workspace: String,
    id: Uuid,
    #[server(default)] version: String,
    #[server(default)] apps: Vec<Uuid>,
    #[server(default)] note: String,
    #[server(default)] rollout: String,
) -> Result<Uuid, AppError> {
    let rollout = crate::model::approvals::parse_rollout(&rollout)?;
    let (state, m, actor) = super::acting(&workspace, act::ApplyForMiniPrograms).await?;
    state.count_change(m.who().account().id)?;
    let to = domain::Publishing { version, apps, rollout, note };
    let app = domain::apply_publishing_to(&state, &m, id, to, actor).await?;
    leptos_axum::redirect(&format!("/w/{}/approvals/{app}", m.workspace().name));
    Ok(app)
}

/// "Apply for removal" of a released mini program, with a reason.
#[server(prefix = "/api", endpoint = "apply-removal")]
pub async fn apply_removal(workspace: String, id: Uuid, #[server(default)] reason: String) -> Result<Uuid, AppError> {
    let (state, m, actor) = super::acting(&workspace, act::ApplyForMiniPrograms).await?;
    state.count_change(m.who().account().id)?;
    let app = domain::apply_removal(&state, &m, id, reason, actor).await?;
    leptos_axum::redirect(&format!("/w/{}/approvals/{app}", m.workspace().name));
    Ok(app)
}

/// "Apply for feature activation": one capability from the documented list.
#[server(prefix = "/api", endpoint = "apply-feature")]
pub async fn apply_feature(
    workspace: String,
    id: Uuid,
    #[server(default)] feature: String,
    #[server(default)] note: String,
) -> Result<Uuid, AppError> {
    let (state, m, actor) = super::acting(&workspace, act::ApplyForMiniPrograms).await?;
    state.count_change(m.who().account().id)?;
    let app = domain::apply_feature(&state, &m, id, feature, note, actor).await?;
    leptos_axum::redirect(&format!("/w/{}/approvals/{app}", m.workspace().name));
    Ok(app)
}

/// "Apply to join the workspace" by its name. The answer is the same whether or not it exists.
#[server(prefix = "/api", endpoint = "apply-join")]
pub async fn apply_join(#[server(default)] workspace: String, #[server(default)] note: String) -> Result<(), AppError> {
    let (state, who, addr) = super::me_acting().await?;
    let actor = actor(&who, addr);
    let shown = workspace.trim().to_string();
    domain::apply_join(&state, &who, workspace, note, actor).await?;
    super::return_to(Some(format!("/requests?asked={}", crate::model::url_encode(&shown))))
}

/// "My requests": the person's applications in every workspace.
#[server(prefix = "/api", endpoint = "my-requests")]
pub async fn my_requests(#[server(flatten)] at: Position) -> Result<Page<ApplicationRow>, AppError> {
    let who = SignedIn::require().await?;
    domain::mine(&Context::current()?, &who, at).await
}

/// The person's notifications; opening them marks them read.
#[server(prefix = "/api", endpoint = "open-notifications")]
pub async fn open_notifications() -> Result<Vec<NotificationView>, AppError> {
    let who = SignedIn::require().await?;
    domain::open_notifications(&Context::current()?, &who).await
}

/// How many of the person's notifications are unread (0 when signed out).
#[server(prefix = "/api", endpoint = "unread-notifications")]
pub async fn unread_notifications() -> Result<u64, AppError> {
    match SignedIn::optional().await? {
        Some(who) => domain::unread(&Context::current()?, &who).await,
        None => Ok(0),
    }
}

/// What can be applied for on a mini program, and where it is released.
#[server(prefix = "/api", endpoint = "mini-program-approvals")]
pub async fn mini_program_approvals(workspace: String, id: Uuid) -> Result<MiniApprovals, AppError> {
    let m = Member::require(&workspace).await?.authorize(act::ViewMiniPrograms)?;
    domain::of_mini_program(&Context::current()?, &m, id).await
}
