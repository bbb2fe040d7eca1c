//! The operator area: workspace applications, workspaces, change requests, outbox, audit log.

use leptos::prelude::*;
use uuid::Uuid;

use crate::model::page::Position;
use crate::model::workspace::{
    ApplicationView, AuditEventView, ChangeRequestView, OutboxView, OverviewFigures, Page, WorkspaceView,
};
use crate::model::AppError;

#[cfg(feature = "ssr")]
use crate::server::{
    guard::Operator,
    domain::{operator, workspaces as domain},
    state::AppState,
    Context,
};

/// Figures for the operator's overview page.
#[server(prefix = "/api", endpoint = "operator-overview")]
pub async fn operator_overview() -> Result<OverviewFigures, AppError> {
    let op = Operator::require().await?;
    operator::overview(&Context::current()?, &op).await
}

#[cfg(feature = "ssr")]
async fn operator_actor() -> Result<(Operator, crate::server::store::audit::Actor), AppError> {
    let op = Operator::require().await?;
    let actor = domain::actor(&op.signed_in(), super::client_addr_of_request().await);
    Ok((op, actor))
}

/// The queue of workspace applications: filter by status ("" for all), search by name.
#[server(prefix = "/api", endpoint = "list-workspace-applications")]
pub async fn list_workspace_applications(
    status: String,
    q: String,
    #[server(flatten)] at: Position,
) -> Result<Page<ApplicationView>, AppError> {
    let op = Operator::require().await?;
    domain::applications(&Context::current()?, &op, &status, q, at).await
}

/// One application in full: for the operator, or for its applicant.
#[server(prefix = "/api", endpoint = "get-workspace-application")]
pub async fn get_workspace_application(id: Uuid) -> Result<ApplicationView, AppError> {
    let who = crate::server::guard::SignedIn::require().await?;
    domain::application(&Context::current()?, &who, id).await
}

/// Generates the workspace of a pending application.
#[server(prefix = "/api", endpoint = "generate-workspace")]
pub async fn generate_workspace(id: Uuid) -> Result<(), AppError> {
    let (op, actor) = operator_actor().await?;
    let state = AppState::current()?;
    domain::generate(&state, &op, id, actor).await?;
    super::done(&format!("/operator/applications/{id}?generated=1"))
}

/// Rejects a pending application with a reason.
#[server(prefix = "/api", endpoint = "reject-workspace-application")]
pub async fn reject_workspace_application(id: Uuid, reason: String) -> Result<(), AppError> {
    let (op, actor) = operator_actor().await?;
    let state = AppState::current()?;
    domain::reject(&state, &op, id, &reason, actor).await?;
    super::done(&format!("/operator/applications/{id}?rejected=1"))
}

/// All workspaces, searched by name.
#[server(prefix = "/api", endpoint = "list-workspaces")]
pub async fn list_workspaces(
    q: String,
    #[server(flatten)] at: Position,
) -> Result<Page<WorkspaceView>, AppError> {
    let op = Operator::require().await?;
    domain::workspaces(&Context::current()?, &op, q, at).await
}

/// One workspace, for the operator.
#[server(prefix = "/api", endpoint = "get-workspace")]
pub async fn get_workspace(id: Uuid) -> Result<WorkspaceView, AppError> {
    let op = Operator::require().await?;
    domain::workspace(&Context::current()?, &op, id).await
}

/// Edits a workspace's registered information (never its name).
#[server(prefix = "/api", endpoint = "edit-workspace-info")]
pub async fn edit_workspace_info(
    id: Uuid,
    mcc: String,
    address: String,
    representatives: String,
) -> Result<(), AppError> {
    let (op, actor) = operator_actor().await?;
    let state = AppState::current()?;
    domain::edit_info(&state, &op, id, &mcc, &address, &representatives, actor).await?;
    super::done(&format!("/operator/workspaces/{id}?saved=1"))
}

/// Suspends (`action` = "suspend") or reactivates ("reactivate") a workspace, with a reason.
#[server(prefix = "/api", endpoint = "set-workspace-status")]
pub async fn set_workspace_status(
    id: Uuid,
    action: String,
    reason: String,
) -> Result<(), AppError> {
    let (op, actor) = operator_actor().await?;
    let suspend = match action.as_str() {
        "suspend" => true,
        "reactivate" => false,
        _ => return Err(AppError::invalid("Action", "must be suspend or reactivate")),
    };
    let state = AppState::current()?;
    domain::set_status(&state, &op, id, suspend, &reason, actor).await?;
    super::done(&format!("/operator/workspaces/{id}?{action}ed=1"))
}

/// Change requests from Workspace Admins, newest first.
#[server(prefix = "/api", endpoint = "list-change-requests")]
pub async fn list_change_requests(
    #[server(flatten)] at: Position,
) -> Result<Page<ChangeRequestView>, AppError> {
    let op = Operator::require().await?;
    domain::change_requests(&Context::current()?, &op, at).await
}

/// Every account, by username, searched by username or email.
#[server(prefix = "/api", endpoint = "list-accounts")]
pub async fn list_accounts(
    q: String,
    #[server(flatten)] at: Position,
) -> Result<Page<crate::model::account::AccountView>, AppError> {
    let op = Operator::require().await?;
    operator::accounts(&Context::current()?, &op, q, at).await
}

/// Marks an account's email address verified — only while no SMTP server is configured.
#[server(prefix = "/api", endpoint = "mark-account-verified")]
pub async fn mark_account_verified(
    account: Uuid,
    /// The list as it was (search, sort, page), to return to after a plain form post.
    #[server(default)]
    back: Option<String>,
) -> Result<(), AppError> {
    let (op, actor) = operator_actor().await?;
    let state = AppState::current()?;
    crate::server::domain::accounts::mark_verified(&state, &op, account, actor).await?;
    back_to_accounts(back, "verified");
    Ok(())
}

/// After a plain form post: back to the accounts list as it was (`back`), saying `done`.
#[cfg(feature = "ssr")]
fn back_to_accounts(back: Option<String>, done: &str) {
    let list = crate::model::local_path(back.as_deref())
        .filter(|p| p.starts_with("/operator/accounts"))
        .unwrap_or_else(|| "/operator/accounts".into());
    let sep = if list.contains('?') { '&' } else { '?' };
    leptos_axum::redirect(&format!("{list}{sep}{done}=1"));
}

/// Resets a person's second factor (who lost both their authenticator and their recovery codes):
/// login asks for the password alone again. Audited; the person is emailed.
#[server(prefix = "/api", endpoint = "reset-second-factor")]
pub async fn reset_second_factor(
    account: Uuid,
    /// The list as it was (search, sort, page), to return to after a plain form post.
    #[server(default)]
    back: Option<String>,
) -> Result<(), AppError> {
    let (op, actor) = operator_actor().await?;
    let state = AppState::current()?;
    crate::server::domain::accounts::second_factor::reset_by_operator(&state, &op, account, actor).await?;
    back_to_accounts(back, "second_factor_reset");
    Ok(())
}

/// The single sign-on providers, for the operator (never their secrets).
#[server(prefix = "/api", endpoint = "sso-providers")]
pub async fn sso_providers() -> Result<Vec<crate::model::account::SsoProviderView>, AppError> {
    let op = Operator::require().await?;
    crate::server::domain::accounts::sso::providers(&Context::current()?, &op).await
}

/// Adds a single sign-on provider (`create`), or edits the one with this `id` (a blank
/// `client_secret` keeps the saved one).
#[server(prefix = "/api", endpoint = "save-sso-provider")]
#[allow(clippy::too_many_arguments)]
pub async fn save_sso_provider(
    id: String,
    label: String,
    issuer: String,
    client_id: String,
    #[server(default)] client_secret: String,
    #[server(default)] allowed_domains: String,
    #[server(default)] scopes: String,
    #[server(default)] create: bool,
) -> Result<(), AppError> {
    let (op, actor) = operator_actor().await?;
    let form = crate::server::domain::accounts::sso::ProviderForm { id, label, issuer, client_id, client_secret, allowed_domains, scopes };
    crate::server::domain::accounts::sso::save_provider(&Context::current()?, &op, form, create, actor).await?;
    super::done("/operator/sign-in?saved=1")
}

/// Deletes a single sign-on provider that no workspace uses.
#[server(prefix = "/api", endpoint = "delete-sso-provider")]
pub async fn delete_sso_provider(id: String) -> Result<(), AppError> {
    let (op, actor) = operator_actor().await?;
    crate::server::domain::accounts::sso::delete_provider(&Context::current()?, &op, id, actor).await?;
    super::done("/operator/sign-in?deleted=1")
}

/// The outbox: every email the platform has queued, with its delivery state.
#[server(prefix = "/api", endpoint = "list-outbox")]
pub async fn list_outbox(
    state: String,
    q: String,
    #[server(flatten)] at: Position,
) -> Result<Page<OutboxView>, AppError> {
    let op = Operator::require().await?;
    operator::outbox(&Context::current()?, &op, &state, q, at).await
}

/// One outbox message in full.
#[server(prefix = "/api", endpoint = "get-outbox-message")]
pub async fn get_outbox_message(id: Uuid) -> Result<OutboxView, AppError> {
    let op = Operator::require().await?;
    operator::outbox_message(&Context::current()?, &op, id).await
}

/// The audit log of the whole platform, or of one workspace (by name).
#[server(prefix = "/api", endpoint = "platform-audit")]
pub async fn platform_audit(
    workspace: String,
    action: String,
    q: String,
    #[server(flatten)] at: Position,
) -> Result<Page<AuditEventView>, AppError> {
    let op = Operator::require().await?;
    operator::platform_audit(&Context::current()?, &op, workspace, action, q, at).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A list's position is two plain parameters on the wire, `sort` and `cursor`, each of which
    /// may be left out — as a link or a plain form sends them — however the call is made.
    #[test]
    fn a_list_position_travels_as_plain_sort_and_cursor_parameters() {
        let at = Position { sort: "-created".into(), cursor: "a.x".into() };
        let args = ListOutbox { state: "queued".into(), q: "ann".into(), at: at.clone() };
        let wire = serde_qs::to_string(&args).unwrap();
        assert_eq!(wire, "state=queued&q=ann&sort=-created&cursor=a.x");
        let codec = serde_qs::Config::new(5, false);
        let back: ListOutbox = codec.deserialize_str(&wire).unwrap();
        assert_eq!((back.state, back.q, back.at), ("queued".to_string(), "ann".to_string(), at));
        let bare: ListOutbox = codec.deserialize_str("state=&q=").unwrap();
        assert_eq!(bare.at, Position::default());
        let changes: ListChangeRequests = codec.deserialize_str("cursor=b.y").unwrap();
        assert_eq!(changes.at, Position { sort: String::new(), cursor: "b.y".into() });
    }
}
