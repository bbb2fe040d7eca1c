//! `mpdp studio login`: the device authorization grant (RFC 8628) against the server's
//! `/api/device/v1/…`; the token it gives is kept by [`super::credentials`].

use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use serde::Deserialize;

use super::credentials::store_token;
use super::flags::{check_server, LoginArgs};

const CLIENT_ID: &str = "mpdp-cli";
const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";

#[derive(Deserialize)]
struct DeviceCode {
    device_code: String,
    user_code: String,
    verification_uri: String,
    verification_uri_complete: String,
    expires_in: u64,
    interval: u64,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    workspace: String,
    scope: String,
    expires_in: i64,
}

#[derive(Deserialize)]
struct Refusal {
    error: String,
    #[serde(default)]
    error_description: String,
}

pub(super) async fn login(args: LoginArgs) -> anyhow::Result<()> {
    let server = check_server(&args.server)?;
    let client = super::client::client()?;
    let unreachable = || format!("could not reach {server} (--server)");
    let response = client.post(format!("{server}/api/device/v1/code")).timeout(Duration::from_secs(30)).form(&[("client_id", CLIENT_ID)]).send().await.with_context(unreachable)?;
    if !response.status().is_success() {
        let status = response.status();
        let refusal: Refusal = read(&server, response).await.map_err(|e| if status.is_redirection() { e } else { anyhow!("{server} answered {status}") })?;
        bail!("{}: {} ({})", server, refusal.error_description, refusal.error);
    }
    let code: DeviceCode = read(&server, response).await?;
    eprintln!("To sign in, open {} in a browser where you are signed in to MPDP,", code.verification_uri);
    eprintln!("and enter the code {}  (or open {})", code.user_code, code.verification_uri_complete);
    eprintln!("Waiting for your approval (up to {} minutes) …", code.expires_in / 60);
    let mut interval = Duration::from_secs(code.interval.max(1));
    loop {
        tokio::time::sleep(interval).await;
        let response = client
            .post(format!("{server}/api/device/v1/token"))
            .timeout(Duration::from_secs(30))
            .form(&[("grant_type", GRANT_TYPE), ("device_code", code.device_code.as_str()), ("client_id", CLIENT_ID)])
            .send()
            .await
            .with_context(unreachable)?;
        if response.status().is_success() {
            let answer: TokenAnswer = read(&server, response).await?;
            let path = store_token(&server, &answer.access_token)?;
            println!(
                "Signed in: a token for the workspace {} ({}), for {} days, is kept in {}",
                answer.workspace,
                answer.scope,
                (answer.expires_in + 3_599) / 86_400,
                path.display()
            );
            return Ok(());
        }
        let status = response.status();
        let refusal: Refusal = read(&server, response).await.map_err(|e| if status.is_redirection() { e } else { anyhow!("{server} answered {status}") })?;
        match refusal.error.as_str() {
            "authorization_pending" => {}
            "slow_down" => interval += Duration::from_secs(5),
            "access_denied" => bail!("the sign-in was denied in the browser: {}", refusal.error_description),
            "expired_token" => bail!("the code expired before it was approved: run mpdp studio login again"),
            other => bail!("{server}: {} ({other})", refusal.error_description),
        }
    }
}

/// An answer of the device endpoints, read up to the limit; a redirect is reported, naming where
/// it points (it is not followed).
async fn read<T: serde::de::DeserializeOwned>(server: &str, response: reqwest::Response) -> anyhow::Result<T> {
    if response.status().is_redirection() {
        let to = response.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("another address");
        bail!("{server} (--server) redirects to {to}: give that address as --server");
    }
    let body = super::client::bounded_body(server, response).await?;
    serde_json::from_slice(&body).context("the server's answer could not be read")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server that redirects the sign-in elsewhere: the device code is not sent on, and the
    /// person is told where it pointed.
    #[tokio::test]
    async fn a_redirect_is_reported_not_followed() {
        use axum::response::IntoResponse;
        let app = axum::Router::new().route(
            "/api/device/v1/code",
            axum::routing::post(|| async { (axum::http::StatusCode::PERMANENT_REDIRECT, [("location", "https://elsewhere.example/code")]).into_response() }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let e = login(LoginArgs { server: server.clone() }).await.unwrap_err().to_string();
        assert_eq!(e, format!("{server} (--server) redirects to https://elsewhere.example/code: give that address as --server"));
    }
}
