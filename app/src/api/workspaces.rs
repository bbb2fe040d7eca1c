//! Applying for a workspace, the workspaces a person belongs to, Workspace – General, and a
//! workspace's audit log.

use leptos::prelude::*;
use uuid::Uuid;

use crate::model::page::Position;
use crate::model::workspace::{
    ApplicationView, AuditEventView, MyWorkspace, Page, Role, WorkspaceView,
};
use crate::model::AppError;

#[cfg(feature = "ssr")]
use crate::server::{
    guard::{act, Member, SignedIn},
    domain::workspaces as domain,
    state::AppState,
};

/// Applies for a new workspace. The Business Representatives come as the form's rows (`rep`),
/// or typed one per line as `Name <email>` (`representatives`); both make one list, checked by
/// one rule.
#[server(prefix = "/api", endpoint = "apply-for-workspace")]
pub async fn apply_for_workspace(
    name: String,
    mcc: String,
    address: String,
    #[server(default)] representatives: String,
    #[server(default)] rep: Vec<crate::model::workspace::RepresentativeRow>,
) -> Result<ApplicationView, AppError> {
    let mut rows = crate::model::workspace::representative_lines(&representatives)?;
    rows.extend(rep);
    let (state, who, addr) = super::me_acting().await?;
    let actor = domain::actor(&who, addr);
    let view = domain::apply(
        &state,
        &who,
        domain::ApplicationForm {
            name,
            mcc,
            address,
            representatives: rows,
        },
        actor,
    )
    .await?;
    leptos_axum::redirect("/workspaces?applied=1");
    Ok(view)
}

/// The signed-in person's home: their workspaces, applications and waiting invitations.
#[server(prefix = "/api", endpoint = "home-summary")]
pub async fn home_summary() -> Result<crate::model::workspace::HomeSummary, AppError> {
    let state = AppState::current()?;
    let who = SignedIn::require().await?;
    domain::home_summary(&state, &who).await
}

/// The signed-in person's workspace applications, newest first.
#[server(prefix = "/api", endpoint = "my-workspace-applications")]
pub async fn my_workspace_applications() -> Result<Vec<ApplicationView>, AppError> {
    let state = AppState::current()?;
    let who = SignedIn::require().await?;
    domain::my_applications(&state, &who).await
}

/// Withdraws one's own pending application.
#[server(prefix = "/api", endpoint = "withdraw-workspace-application")]
pub async fn withdraw_workspace_application(id: Uuid) -> Result<(), AppError> {
    let (state, who, addr) = super::me_undoing().await?;
    let actor = domain::actor(&who, addr);
    domain::withdraw(&state, &who, id, actor).await?;
    super::done("/workspaces?withdrawn=1")
}

/// The workspaces the signed-in person belongs to (for the switcher).
#[server(prefix = "/api", endpoint = "my-workspaces")]
pub async fn my_workspaces() -> Result<Vec<MyWorkspace>, AppError> {
    let state = AppState::current()?;
    let Some(who) = SignedIn::optional().await? else {
        return Ok(Vec::new());
    };
    domain::my_workspaces(&state, &who).await
}

/// Workspace – General: the registered information, for a Workspace Admin.
#[server(prefix = "/api", endpoint = "workspace-general")]
pub async fn workspace_general(workspace: String) -> Result<(WorkspaceView, Role), AppError> {
    let member = Member::require(&workspace)
        .await?
        .authorize(act::ViewGeneral)?;
    Ok(domain::general(&member))
}

/// A Workspace Admin requires two factors of every member (`require_second_factor` = `true`), or
/// stops requiring them.
#[server(prefix = "/api", endpoint = "set-sign-in-policy")]
pub async fn set_sign_in_policy(workspace: String, require_second_factor: bool) -> Result<(), AppError> {
    let (state, admin, actor) = super::acting(&workspace, act::SetSignInPolicy).await?;
    domain::set_sign_in_policy(&state, &admin, require_second_factor, actor).await?;
    super::done(&format!("/w/{}/general?sign_in_policy=1", admin.workspace().name))
}

/// A Workspace Admin chooses the workspace's single sign-on provider (`provider` blank for
/// none), whether members must sign in with it, and its group roles (`group = role` lines).
#[server(prefix = "/api", endpoint = "set-workspace-sso")]
pub async fn set_workspace_sso(
    workspace: String,
    #[server(default)] provider: String,
    #[server(default)] required: bool,
    #[server(default)] groups: String,
) -> Result<(), AppError> {
    let (state, admin, actor) = super::acting(&workspace, act::SetSignInPolicy).await?;
    domain::set_single_sign_on(&state, &admin, &provider, required, &groups, actor).await?;
    super::done(&format!("/w/{}/general?single_sign_on=1", admin.workspace().name))
}

/// A Workspace Admin asks the operator to change the registered information.
#[server(prefix = "/api", endpoint = "request-workspace-change")]
pub async fn request_workspace_change(
    workspace: String,
    what: String,
    why: String,
) -> Result<(), AppError> {
    let (state, admin, actor) = super::acting(&workspace, act::RequestInfoChange).await?;
    domain::request_change(&state, &admin, &what, &why, actor).await?;
    leptos_axum::redirect(&format!(
        "/w/{}/general?requested=1",
        admin.workspace().name
    ));
    Ok(())
}

/// A workspace's audit log, for its Workspace Admins.
#[server(prefix = "/api", endpoint = "workspace-audit")]
pub async fn workspace_audit(
    workspace: String,
    action: String,
    q: String,
    #[server(flatten)] at: Position,
) -> Result<Page<AuditEventView>, AppError> {
    let member = Member::require(&workspace).await?.authorize(act::ViewAudit)?;
    domain::audit_log(&crate::server::Context::current()?, &member, action, q, at).await
}
