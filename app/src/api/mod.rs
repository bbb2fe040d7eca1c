//! Server functions, one module per area. Each is thin: authorize, call the domain, map the error.
//! Every one has a stable URL under `/api/`.

pub mod account;
pub mod members;
pub mod operator;
pub mod workspaces;

#[cfg(feature = "ssr")]
pub(crate) fn client_addr_of_request() -> impl std::future::Future<Output = Option<std::net::IpAddr>>
{
    async {
        leptos_axum::extract::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .await
            .ok()
            .map(|axum::extract::ConnectInfo(addr)| addr.ip())
    }
}
