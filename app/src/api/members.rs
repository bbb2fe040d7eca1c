//! Members, invitations, roles, block / unblock, leaving.

use leptos::prelude::*;
use uuid::Uuid;

use crate::model::page::Position;
use crate::model::workspace::{
    AdmissionView, InvitationInfo, InvitationView, InviteRow, MemberView, Page, WorkspaceHomeView,
};
use crate::model::AppError;

#[cfg(feature = "ssr")]
use crate::server::{
    guard::{act, Member, SignedIn},
    domain::{members as domain, workspaces::actor},
    state::AppState,
};

#[cfg(feature = "ssr")]
use super::acting;

/// A workspace's home: what any member sees.
#[server(prefix = "/api", endpoint = "workspace-home")]
pub async fn workspace_home(workspace: String) -> Result<WorkspaceHomeView, AppError> {
    let m = Member::require(&workspace)
        .await?
        .authorize(act::ViewWorkspace)?;
    crate::server::domain::workspaces::workspace_home(&crate::server::Context::current()?, &m).await
}

/// Members: search by email or username, filter by role (`workspace-admin` …) and status
/// (`active`, `inactive`).
#[server(prefix = "/api", endpoint = "list-members")]
pub async fn list_members(
    workspace: String,
    q: String,
    role: String,
    status: String,
    #[server(flatten)] at: Position,
) -> Result<Page<MemberView>, AppError> {
    let m = Member::require(&workspace)
        .await?
        .authorize(act::ViewMembers)?;
    use crate::model::page::FilterWord;
    use crate::model::workspace::{MemberStatus, Role};
    let role = Role::parse_filter(&role)?;
    let active = MemberStatus::parse_filter(&status)?.map(|s| s == MemberStatus::Active);
    domain::list(&crate::server::Context::current()?, &m, q, role, active, at).await
}

/// Pending invitations of the workspace.
#[server(prefix = "/api", endpoint = "list-invitations")]
pub async fn list_invitations(workspace: String) -> Result<Vec<InvitationView>, AppError> {
    let m = Member::require(&workspace)
        .await?
        .authorize(act::ViewMembers)?;
    domain::invitations(&crate::server::Context::current()?, &m).await
}

/// Admissions waiting for the address to be verified (representatives named at generation or
/// by the operator's edit, whose address has no verified account yet).
#[server(prefix = "/api", endpoint = "list-admissions")]
pub async fn list_admissions(workspace: String) -> Result<Vec<AdmissionView>, AppError> {
    let m = Member::require(&workspace)
        .await?
        .authorize(act::ViewMembers)?;
    domain::admissions(&crate::server::Context::current()?, &m).await
}

/// Withdraws a waiting admission.
#[server(prefix = "/api", endpoint = "revoke-admission")]
pub async fn revoke_admission(workspace: String, email: String) -> Result<(), AppError> {
    let (state, admin, actor) = acting(&workspace, act::InviteMembers).await?;
    domain::revoke_admission(&state, &admin, &email, actor).await
}

/// Invites one address or a list (pasted, or read from a CSV file): a result per address.
#[server(prefix = "/api", endpoint = "invite-members")]
pub async fn invite_members(
    workspace: String,
    emails: String,
    role: String,
) -> Result<Vec<InviteRow>, AppError> {
    let (state, admin, actor) = acting(&workspace, act::InviteMembers).await?;
    let role = crate::model::workspace::Role::parse("Role", &role)?;
    let addresses = domain::parse_address_list(&emails)?;
    domain::invite(&state, &admin, addresses, role, actor).await
}

#[server(prefix = "/api", endpoint = "resend-invitation")]
pub async fn resend_invitation(workspace: String, email: String) -> Result<(), AppError> {
    let (state, admin, actor) = acting(&workspace, act::InviteMembers).await?;
    domain::resend(&state, &admin, &email, actor).await
}

#[server(prefix = "/api", endpoint = "revoke-invitation")]
pub async fn revoke_invitation(workspace: String, email: String) -> Result<(), AppError> {
    let (state, admin, actor) = acting(&workspace, act::InviteMembers).await?;
    domain::revoke(&state, &admin, &email, actor).await
}

#[server(prefix = "/api", endpoint = "set-member-role")]
pub async fn set_member_role(
    workspace: String,
    account: Uuid,
    role: String,
) -> Result<(), AppError> {
    let (state, admin, actor) = acting(&workspace, act::ChangeRoles).await?;
    let role = crate::model::workspace::Role::parse("Role", &role)?;
    domain::set_role(&state, &admin, account, role, actor).await
}

#[server(prefix = "/api", endpoint = "block-member")]
pub async fn block_member(
    workspace: String,
    account: Uuid,
    /// The page to return to after a plain form post from the confirmation page.
    back: Option<String>,
) -> Result<(), AppError> {
    let (state, admin, actor) = acting(&workspace, act::BlockMembers).await?;
    domain::set_blocked(&state, &admin, account, true, actor).await?;
    super::return_to(back)
}

#[server(prefix = "/api", endpoint = "unblock-member")]
pub async fn unblock_member(
    workspace: String,
    account: Uuid,
    /// The page to return to after a plain form post from the confirmation page.
    back: Option<String>,
) -> Result<(), AppError> {
    let (state, admin, actor) = acting(&workspace, act::BlockMembers).await?;
    domain::set_blocked(&state, &admin, account, false, actor).await?;
    super::return_to(back)
}

#[server(prefix = "/api", endpoint = "remove-member")]
pub async fn remove_member(
    workspace: String,
    account: Uuid,
    /// The page to return to after a plain form post from the confirmation page.
    back: Option<String>,
) -> Result<(), AppError> {
    let (state, admin, actor) = acting(&workspace, act::RemoveMembers).await?;
    domain::remove(&state, &admin, account, actor).await?;
    super::return_to(back)
}

/// Leaves a workspace (the last active Workspace Admin can't).
#[server(prefix = "/api", endpoint = "leave-workspace")]
pub async fn leave_workspace(workspace: String) -> Result<(), AppError> {
    let m = Member::require(&workspace)
        .await?
        .authorize(act::Leave)?;
    let state = AppState::current()?;
    let actor = actor(&m.who(), super::client_addr_of_request().await);
    domain::leave(&state, &m, actor).await?;
    super::done("/workspaces?left=1")
}

/// What an invitation link shows. The token is the secret; no sign-in is needed to read it.
#[server(prefix = "/api", endpoint = "invitation-details")]
pub async fn invitation_details(token: String) -> Result<InvitationInfo, AppError> {
    domain::invitation_details(&crate::server::Context::current()?, token).await
}

/// Accepts an invitation as the signed-in account (whose email must match).
#[server(prefix = "/api", endpoint = "accept-invitation")]
pub async fn accept_invitation(token: String) -> Result<(), AppError> {
    let who = SignedIn::require().await?;
    let state = AppState::current()?;
    let actor = actor(&who, super::client_addr_of_request().await);
    let name = domain::accept(&state, &who, token, actor).await?;
    super::done(&format!("/w/{name}?joined=1"))
}
