//! Server functions, one module per area. Each is thin: authorize, call the domain, map the error.
//! Every one has a stable URL under `/api/`.

pub mod account;
pub mod approvals;
pub mod apps;
pub mod members;
pub mod minis;
pub mod operator;
pub mod releases;
pub mod webhooks;
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

/// Whether the browser says this request came from another site (`Sec-Fetch-Site: cross-site` or
/// `same-site`): a link there, or a window it opened. A browser that says nothing, a typed
/// address and a page of this site do not.
#[cfg(feature = "ssr")]
pub(crate) async fn from_another_site() -> bool {
    leptos_axum::extract::<axum::http::HeaderMap>().await.is_ok_and(|h| {
        matches!(h.get("sec-fetch-site").map(|v| v.as_bytes()), Some(b"cross-site" | b"same-site"))
    })
}

/// The state, the signed-in person (or 401) and the client address of the current request: what
/// a change to one's own account or applications starts from. The change is counted against
/// the account's budget ([`crate::server::Context::count_change`]: 429 past it).
#[cfg(feature = "ssr")]
pub(crate) async fn me_acting() -> Result<
    (crate::server::state::AppState, crate::server::guard::SignedIn, Option<std::net::IpAddr>),
    crate::model::AppError,
> {
    let (state, who, addr) = me_undoing().await?;
    state.count_change(who.account().id)?;
    Ok((state, who, addr))
}

/// The same, for taking back what the person made (signing a session out, revoking a token,
/// deleting a passkey, turning two factors off, withdrawing an application): not counted, so
/// whoever spent the account's budget from a stolen session cannot keep its owner from undoing
/// what they did. Each is bounded by what was made before, which was counted.
#[cfg(feature = "ssr")]
pub(crate) async fn me_undoing() -> Result<
    (crate::server::state::AppState, crate::server::guard::SignedIn, Option<std::net::IpAddr>),
    crate::model::AppError,
> {
    let state = crate::server::state::AppState::current()?;
    let who = crate::server::guard::SignedIn::require().await?;
    Ok((state, who, client_addr_of_request().await))
}

/// A member of `workspace` whom the policy table allows `action`, with the state and the audit
/// actor a change needs.
#[cfg(feature = "ssr")]
pub(crate) async fn acting<A: crate::server::guard::Action>(
    workspace: &str,
    action: A,
) -> Result<
    (crate::server::state::AppState, crate::server::guard::Authorized<A>, crate::server::store::audit::Actor),
    crate::model::AppError,
> {
    use crate::server::guard::Member;
    let m = Member::require(workspace).await?.authorize(action)?;
    let actor = crate::server::domain::workspaces::actor(m.who(), client_addr_of_request().await);
    Ok((crate::server::state::AppState::current()?, m, actor))
}

/// Percent-encodes a query value.
#[cfg(feature = "ssr")]
pub(crate) fn query_escape(s: &str) -> String {
    // An address reads better with its `@` as it is; the rest as any query value.
    crate::model::url_encode(s).replace("%40", "@")
}

/// After a plain form post from a confirmation page (`/confirm/…`): back to the page that asked.
#[cfg(feature = "ssr")]
pub(crate) fn return_to(back: Option<String>) -> Result<(), crate::model::AppError> {
    match crate::model::local_path(back.as_deref()) {
        Some(path) => done(&path),
        None => Ok(()),
    }
}

/// The end of a server function that changed something: a plain form post (without JavaScript)
/// is sent on to `path`; a call from the page just gets `Ok`.
#[cfg(feature = "ssr")]
pub(crate) fn done(path: &str) -> Result<(), crate::model::AppError> {
    leptos_axum::redirect(path);
    Ok(())
}
