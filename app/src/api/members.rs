//! Members, invitations, roles, block / unblock, leaving.

use leptos::prelude::*;
use uuid::Uuid;

use crate::model::workspace::{
    AdmissionView, InvitationInfo, InvitationView, InviteRow, MemberView, Page, WorkspaceHomeView,
};
use crate::model::AppError;

#[cfg(feature = "ssr")]
use crate::model::page::Sort;
#[cfg(feature = "ssr")]
use crate::server::{
    guard::{Member, SignedIn},
    domain::{members as domain, workspaces::actor},
    policy::WorkspaceAction,
    state::AppState,
};

#[cfg(feature = "ssr")]
use super::admin_for;

/// A workspace's home: what any member sees.
#[server(prefix = "/api", endpoint = "workspace-home")]
pub async fn workspace_home(workspace: String) -> Result<WorkspaceHomeView, AppError> {
    let m = Member::require(&workspace)
        .await?
        .authorize(WorkspaceAction::ViewWorkspace)?;
    let members = if crate::server::policy::allows(m.membership().role, WorkspaceAction::ViewMembers) {
        let state = AppState::current()?;
        let id = m.workspace().id;
        let now = state.clock.now();
        Some(
            state
                .store
                .read(move |tx| {
                    use crate::server::store::{admissions, invitations, members};
                    Ok(crate::model::workspace::MemberCounts {
                        members: members::count(tx, id, None, None)?,
                        blocked: members::count(tx, id, None, Some(false))?,
                        invitations: invitations::pending(tx, id, now)?
                            .iter()
                            .filter(|i| !i.expired)
                            .count() as u64,
                        waiting_admissions: admissions::pending_admissions(tx, id)?.len() as u64,
                    })
                })
                .await?,
        )
    } else {
        None
    };
    let assignment = {
        let (id, me) = (m.workspace().id, m.who().account().id);
        AppState::current()?
            .store
            .read(move |tx| crate::server::store::minis::assignment_text(tx, id, me))
            .await?
    };
    let pending_approvals = if crate::server::policy::allows(m.membership().role, WorkspaceAction::ViewApprovals) {
        Some(crate::server::domain::approvals::pending_count(&crate::server::Context::current()?, &m).await?)
    } else {
        None
    };
    Ok(WorkspaceHomeView {
        pending_approvals,
        name: m.workspace().name.clone(),
        status: m.workspace().status,
        role: m.membership().role,
        assignment,
        joined: m.membership().joined,
        members,
    })
}

/// Members: search by email or username, filter by role (`workspace-admin` …) and status
/// (`active`, `inactive`).
#[server(prefix = "/api", endpoint = "list-members")]
pub async fn list_members(
    workspace: String,
    q: String,
    role: String,
    status: String,
    #[server(default)] sort: String,
    #[server(default)] cursor: String,
) -> Result<Page<MemberView>, AppError> {
    let m = Member::require(&workspace)
        .await?
        .authorize(WorkspaceAction::ViewMembers)?;
    use crate::model::page::FilterWord;
    use crate::model::workspace::{MemberStatus, Role};
    let role = Role::parse_filter(&role)?;
    let active = MemberStatus::parse_filter(&status)?.map(|s| s == MemberStatus::Active);
    let state = AppState::current()?;
    let id = m.workspace().id;
    state
        .store
        .read(move |tx| {
            crate::server::store::members::list(
                tx,
                id,
                &q,
                role,
                active,
                Sort::parse(&sort, crate::server::store::members::SORTS, "email")?,
                &cursor,
                crate::model::workspace::PER_PAGE,
            )
            .map(|listed| listed.page)
        })
        .await
}

/// Pending invitations of the workspace.
#[server(prefix = "/api", endpoint = "list-invitations")]
pub async fn list_invitations(workspace: String) -> Result<Vec<InvitationView>, AppError> {
    let m = Member::require(&workspace)
        .await?
        .authorize(WorkspaceAction::ViewMembers)?;
    let state = AppState::current()?;
    let id = m.workspace().id;
    state
        .store
        .read({ let now = state.clock.now(); move |tx| crate::server::store::invitations::pending(tx, id, now) })
        .await
}

/// Admissions waiting for the address to be verified (representatives named at generation or
/// by the operator's edit, whose address has no verified account yet).
#[server(prefix = "/api", endpoint = "list-admissions")]
pub async fn list_admissions(workspace: String) -> Result<Vec<AdmissionView>, AppError> {
    let m = Member::require(&workspace)
        .await?
        .authorize(WorkspaceAction::ViewMembers)?;
    let state = AppState::current()?;
    let id = m.workspace().id;
    let rows = state
        .store
        .read(move |tx| crate::server::store::admissions::pending_admissions(tx, id))
        .await?;
    Ok(rows
        .into_iter()
        .map(|(email, role, added)| AdmissionView { email, role, added })
        .collect())
}

/// Withdraws a waiting admission.
#[server(prefix = "/api", endpoint = "revoke-admission")]
pub async fn revoke_admission(workspace: String, email: String) -> Result<(), AppError> {
    let (state, admin, actor) = admin_for(&workspace, WorkspaceAction::InviteMembers).await?;
    domain::revoke_admission(&state, &admin, &email, actor).await
}

/// Invites one address or a list (pasted, or read from a CSV file): a result per address.
#[server(prefix = "/api", endpoint = "invite-members")]
pub async fn invite_members(
    workspace: String,
    emails: String,
    role: String,
) -> Result<Vec<InviteRow>, AppError> {
    let (state, admin, actor) = admin_for(&workspace, WorkspaceAction::InviteMembers).await?;
    let role = crate::model::workspace::Role::parse("Role", &role)?;
    let addresses = domain::parse_address_list(&emails)?;
    domain::invite(&state, &admin, addresses, role, actor).await
}

#[server(prefix = "/api", endpoint = "resend-invitation")]
pub async fn resend_invitation(workspace: String, email: String) -> Result<(), AppError> {
    let (state, admin, actor) = admin_for(&workspace, WorkspaceAction::InviteMembers).await?;
    domain::resend(&state, &admin, &email, actor).await
}

#[server(prefix = "/api", endpoint = "revoke-invitation")]
pub async fn revoke_invitation(workspace: String, email: String) -> Result<(), AppError> {
    let (state, admin, actor) = admin_for(&workspace, WorkspaceAction::InviteMembers).await?;
    domain::revoke(&state, &admin, &email, actor).await
}

#[server(prefix = "/api", endpoint = "set-member-role")]
pub async fn set_member_role(
    workspace: String,
    account: Uuid,
    role: String,
) -> Result<(), AppError> {
    let (state, admin, actor) = admin_for(&workspace, WorkspaceAction::ChangeRoles).await?;
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
    let (state, admin, actor) = admin_for(&workspace, WorkspaceAction::BlockMembers).await?;
    domain::set_blocked(&state, &admin, account, true, actor).await?;
    super::return_to(back);
    Ok(())
}

#[server(prefix = "/api", endpoint = "unblock-member")]
pub async fn unblock_member(
    workspace: String,
    account: Uuid,
    /// The page to return to after a plain form post from the confirmation page.
    back: Option<String>,
) -> Result<(), AppError> {
    let (state, admin, actor) = admin_for(&workspace, WorkspaceAction::BlockMembers).await?;
    domain::set_blocked(&state, &admin, account, false, actor).await?;
    super::return_to(back);
    Ok(())
}

#[server(prefix = "/api", endpoint = "remove-member")]
pub async fn remove_member(
    workspace: String,
    account: Uuid,
    /// The page to return to after a plain form post from the confirmation page.
    back: Option<String>,
) -> Result<(), AppError> {
    let (state, admin, actor) = admin_for(&workspace, WorkspaceAction::RemoveMembers).await?;
    domain::remove(&state, &admin, account, actor).await?;
    super::return_to(back);
    Ok(())
}

/// Leaves a workspace (the last active Workspace Admin can't).
#[server(prefix = "/api", endpoint = "leave-workspace")]
pub async fn leave_workspace(workspace: String) -> Result<(), AppError> {
    let m = Member::require(&workspace)
        .await?
        .authorize(WorkspaceAction::Leave)?;
    let state = AppState::current()?;
    let actor = actor(&m.who(), super::client_addr_of_request().await);
    domain::leave(&state, &m, actor).await?;
    leptos_axum::redirect("/workspaces?left=1");
    Ok(())
}

/// What an invitation link shows. The token is the secret; no sign-in is needed to read it.
#[server(prefix = "/api", endpoint = "invitation-details")]
pub async fn invitation_details(token: String) -> Result<InvitationInfo, AppError> {
    use crate::server::store::invitations::{self as inv, InvitationState};
    let state = AppState::current()?;
    let i = state
        .store
        .read(move |tx| inv::by_token(tx, &token))
        .await?
        .ok_or_else(|| AppError::NotFound("This invitation link is not valid.".into()))?;
    let s = match i.state {
        InvitationState::Accepted => "accepted",
        InvitationState::Revoked => "revoked",
        InvitationState::Pending if i.expired(state.clock.now()) => "expired",
        InvitationState::Pending => "pending",
    };
    Ok(InvitationInfo {
        workspace: i.workspace_name,
        email: i.email,
        role: i.role,
        inviter: i.inviter,
        expires: i.expires,
        state: s.into(),
    })
}

/// Accepts an invitation as the signed-in account (whose email must match).
#[server(prefix = "/api", endpoint = "accept-invitation")]
pub async fn accept_invitation(token: String) -> Result<(), AppError> {
    let who = SignedIn::require().await?;
    let state = AppState::current()?;
    let actor = actor(&who, super::client_addr_of_request().await);
    let name = domain::accept(&state, &who, token, actor).await?;
    leptos_axum::redirect(&format!("/w/{name}?joined=1"));
    Ok(())
}
