//! Server functions, one module per area. Each is thin: authorize, call the domain, map the error.
//! Every one has a stable URL under `/api/`.

pub mod account;
pub mod approvals;
pub mod apps;
pub mod members;
pub mod minis;
pub mod operator;
pub mod workspaces;

/// The client address of the current request, as the middleware resolved it (trusted proxies'
/// forwarding headers believed, anyone else's ignored).
#[cfg(feature = "ssr")]
pub(crate) fn client_addr_of_request() -> impl std::future::Future<Output = Option<std::net::IpAddr>>
{
    use crate::server::auth::client::ClientAddr;
    async {
        if let Ok(axum::Extension(ClientAddr(ip))) =
            leptos_axum::extract::<axum::Extension<ClientAddr>>().await
        {
            return Some(ip);
        }
        leptos_axum::extract::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .await
            .ok()
            .map(|axum::extract::ConnectInfo(addr)| addr.ip())
    }
}

/// A Workspace Admin of `workspace` allowed `action` (by the policy table), with the state and
/// the audit actor a change needs.
#[cfg(feature = "ssr")]
pub(crate) async fn admin_for(
    workspace: &str,
    action: crate::server::policy::WorkspaceAction,
) -> Result<
    (crate::server::state::AppState, crate::server::guard::WorkspaceAdmin, crate::server::store::audit::Actor),
    crate::model::AppError,
> {
    use crate::server::guard::Member;
    let admin = Member::require(workspace).await?.admin(action)?;
    let actor = crate::server::domain::workspaces::actor(&admin.member().who(), client_addr_of_request().await);
    Ok((crate::server::state::AppState::current()?, admin, actor))
}

/// Percent-encodes a query value.
#[cfg(feature = "ssr")]
pub(crate) fn query_escape(s: &str) -> String {
    // An address reads better with its `@` as it is; the rest as any query value.
    crate::model::url_encode(s).replace("%40", "@")
}

/// After a plain form post from a confirmation page (`/confirm/…`): back to the page that asked.
#[cfg(feature = "ssr")]
pub(crate) fn return_to(back: Option<String>) {
    if let Some(path) = crate::model::local_path(back.as_deref()) {
        leptos_axum::redirect(&path);
    }
}
