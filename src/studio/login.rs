//! `mpdp studio login`: the device authorization grant (RFC 8628) against the server's
//! `/api/device/v1/…`, and the token it gives kept in the user's config directory
//! (`$MPDP_CONFIG_DIR`, else `<config dir>/mpdp`), in `credentials.json` (mode 0600): one token per
//! server address.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use serde::Deserialize;

use super::flags::{check_server, LoginArgs};

const CLIENT_ID: &str = "mpdp-cli";
const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Where tokens are kept, if this user has a config directory.
fn credentials_path() -> Option<PathBuf> {
    let dir = match std::env::var_os("MPDP_CONFIG_DIR") {
        Some(d) => PathBuf::from(d),
        None => dirs::config_dir()?.join("mpdp"),
    };
    Some(dir.join("credentials.json"))
}

fn credentials_file() -> anyhow::Result<PathBuf> {
    credentials_path().ok_or_else(|| anyhow!("no config directory for this user: set MPDP_CONFIG_DIR"))
}

fn read_credentials(path: &PathBuf) -> anyhow::Result<BTreeMap<String, String>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| format!("{} is not a credentials file", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(e).with_context(|| format!("could not read {}", path.display())),
    }
}

/// The token `mpdp studio login` kept for `server`, if any.
pub(super) fn stored_token(server: &str) -> anyhow::Result<Option<String>> {
    match credentials_path() {
        Some(path) => Ok(read_credentials(&path)?.get(server).cloned()),
        None => Ok(None),
    }
}

/// Keeps `token` for `server`, readable by this user only (written to a new file, then renamed).
fn store_token(server: &str, token: &str) -> anyhow::Result<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let path = credentials_file()?;
    let dir = path.parent().ok_or_else(|| anyhow!("no directory for {}", path.display()))?;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).with_context(|| format!("could not create {}", dir.display()))?;
    let mut all = read_credentials(&path)?;
    all.insert(server.to_string(), token.to_string());
    let partial = dir.join(format!(".credentials.json.{}", std::process::id()));
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&partial).with_context(|| format!("could not create {}", partial.display()))?;
    f.write_all(&serde_json::to_vec_pretty(&all)?)?;
    f.sync_all()?;
    std::fs::rename(&partial, &path).with_context(|| format!("could not write {}", path.display()))?;
    Ok(path)
}

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
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
    let unreachable = || format!("could not reach {server} (--server)");
    let response = client.post(format!("{server}/api/device/v1/code")).form(&[("client_id", CLIENT_ID)]).send().await.with_context(unreachable)?;
    if !response.status().is_success() {
        let status = response.status();
        let refusal: Refusal = response.json().await.map_err(|_| anyhow!("{server} answered {status}"))?;
        bail!("{}: {} ({})", server, refusal.error_description, refusal.error);
    }
    let code: DeviceCode = response.json().await.context("the server's answer could not be read")?;
    eprintln!("To sign in, open {} in a browser where you are signed in to MPDP,", code.verification_uri);
    eprintln!("and enter the code {}  (or open {})", code.user_code, code.verification_uri_complete);
    eprintln!("Waiting for your approval (up to {} minutes) …", code.expires_in / 60);
    let mut interval = Duration::from_secs(code.interval.max(1));
    loop {
        tokio::time::sleep(interval).await;
        let response = client
            .post(format!("{server}/api/device/v1/token"))
            .form(&[("grant_type", GRANT_TYPE), ("device_code", code.device_code.as_str()), ("client_id", CLIENT_ID)])
            .send()
            .await
            .with_context(unreachable)?;
        if response.status().is_success() {
            let answer: TokenAnswer = response.json().await.context("the server's answer could not be read")?;
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
        let refusal: Refusal = response.json().await.map_err(|_| anyhow!("{server} answered {status}"))?;
        match refusal.error.as_str() {
            "authorization_pending" => {}
            "slow_down" => interval += Duration::from_secs(5),
            "access_denied" => bail!("the sign-in was denied in the browser: {}", refusal.error_description),
            "expired_token" => bail!("the code expired before it was approved: run mpdp studio login again"),
            other => bail!("{server}: {} ({other})", refusal.error_description),
        }
    }
}
