//! `mpdp dev fleet`: a simulated fleet of a host App's installs. Each install polls the container
//! list with its own `MPDP-Install-Id` (and the ETag it last got), "launches" every mini program
//! it was given, and reports the launches — and, at the chosen failure rate of each version,
//! crashes — to the events API. Prints, per round, how many installs got each version. With
//! `--container-version` every install says it runs that container version; the fleet stops
//! with an error if any install is given a bundle whose minimum container version is higher.
//!
//! With `--cdn URL` the installs poll the App's published release document instead (see
//! `app::server::release_document`): each computes the document's path from the key, fetches it
//! with `If-None-Match`, checks the platform's signature (`--platform-key`), and decides what to
//! run with the same function the origin follows.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use anyhow::{bail, Context};
use clap::Args;
use sha2::{Digest, Sha256};

#[derive(Args)]
pub struct FleetArgs {
    /// The server, e.g. http://127.0.0.1:3000.
    #[arg(long)]
    server: String,
    /// The App's Mini Program Accessing Key.
    #[arg(long, env = "MPDP_ACCESS_KEY", hide_env_values = true)]
    key: String,
    /// How many installs (each with its own install id).
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    installs: u32,
    /// How many times each install polls and launches.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    rounds: u32,
    /// The share of launches of VERSION that crash, as VERSION=RATE (0 to 1); repeat for several.
    #[arg(long = "fail", value_name = "VERSION=RATE", value_parser = parse_failure)]
    failures: Vec<(String, f64)>,
    /// What every install id starts with (the rest is its number).
    #[arg(long, default_value = "fleet-install-")]
    prefix: String,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    concurrency: u32,
    /// Only poll: report no events.
    #[arg(long)]
    no_events: bool,
    /// The container version every install runs (SemVer), sent as `MPDP-Container-Version`.
    /// Without it none is sent, and only bundles that need no minimum may be served.
    #[arg(long, value_name = "SEMVER", value_parser = parse_container_version)]
    container_version: Option<semver::Version>,
    /// Poll the published release documents here instead of the origin: the base URL the
    /// release target is served at, its prefix included (e.g. https://cdn.example.com/mpdp).
    /// Events still go to --server.
    #[arg(long, value_name = "URL", requires = "platform_key")]
    cdn: Option<String>,
    /// The workspace's platform public key (the App page shows it), to check each document's
    /// signature with.
    #[arg(long, value_name = "KEY", value_parser = parse_platform_key)]
    platform_key: Option<[u8; 32]>,
}

fn parse_platform_key(text: &str) -> Result<[u8; 32], String> {
    app::server::keys::parse_public_key(text.trim()).ok_or_else(|| "must be the platform public key as the App page shows it (43 base64url characters)".to_string())
}

/// One poll of the published release document: `None` when the install's copy is current.
async fn poll_document(client: &reqwest::Client, url: &str, etag: Option<&str>, platform: &[u8; 32], install: &str, container: Option<&semver::Version>) -> anyhow::Result<Option<(Option<String>, Vec<serde_json::Value>)>> {
    let mut req = client.get(url);
    if let Some(tag) = etag {
        req = req.header("if-none-match", tag);
    }
    let r = req.send().await.context("the CDN did not answer a poll")?;
    let status = r.status();
    if status == reqwest::StatusCode::NOT_MODIFIED {
        return Ok(None);
    }
    if !status.is_success() {
        bail!("a poll of {url} was answered {status}");
    }
    let tag = r.headers().get("etag").and_then(|v| v.to_str().ok()).map(str::to_string);
    let raw = r.bytes().await.context("the CDN's answer was cut short")?;
    let doc = app::server::release_document::verify(&raw, platform, chrono::Utc::now()).context("the release document does not verify")?;
    let chosen = app::server::release_document::choose(&doc.body, Some(install), container);
    let manifests = chosen.into_iter().map(|m| serde_json::to_value(m).unwrap_or_default()).collect();
    Ok(Some((tag, manifests)))
}

fn parse_container_version(text: &str) -> Result<semver::Version, String> {
    semver::Version::parse(text.trim()).map_err(|e| format!("must be a semantic version such as 2.4.1 ({e})"))
}

/// Why an install could not run `manifest`, if it could not: its minimum container version is
/// above `container` (or the install sent none).
fn cannot_run(manifest: &serde_json::Value, container: Option<&semver::Version>) -> Option<String> {
    let needs = manifest["min_container_version"].as_str()?;
    let fits = match (semver::Version::parse(needs), container) {
        (Ok(needs), Some(have)) => needs.cmp_precedence(have).is_le(),
        _ => false,
    };
    let have = container.map_or_else(|| "no container version".to_string(), |v| format!("container {v}"));
    (!fits).then(|| format!("an install with {have} was given version {} of {}, which needs container {needs}", manifest["version"].as_str().unwrap_or("?"), manifest["name"].as_str().unwrap_or("?")))
}

fn parse_failure(text: &str) -> Result<(String, f64), String> {
    let (version, rate) = text.split_once('=').ok_or("must be VERSION=RATE, such as 1.1.0=0.1")?;
    let rate: f64 = rate.trim().parse().map_err(|_| format!("{rate} is not a number from 0 to 1"))?;
    if !(0.0..=1.0).contains(&rate) || version.trim().is_empty() {
        return Err("must be VERSION=RATE with a rate from 0 to 1".into());
    }
    Ok((version.trim().to_string(), rate))
}

/// A number in [0, 1) from `text`, the same on every run: whether a launch crashes.
fn draw(text: &str) -> f64 {
    let d = Sha256::digest(text.as_bytes());
    u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]]) as f64 / (u64::MAX as f64 + 1.0)
}

/// What one install keeps between rounds: the ETag of the list it holds, and the list's
/// (mini program, version) pairs.
#[derive(Default, Clone)]
struct Install {
    etag: Option<String>,
    running: Vec<(String, String)>,
}

pub async fn run(args: FleetArgs) -> anyhow::Result<()> {
    if !args.key.starts_with("mpak_") {
        bail!("--key must be the App's Mini Program Accessing Key (mpak_…)");
    }
    let client = reqwest::Client::builder().build().context("could not make an HTTP client")?;
    let base = args.server.trim_end_matches('/').to_string();
    let failures: HashMap<String, f64> = args.failures.iter().cloned().collect();
    let installs: Arc<Vec<Mutex<Install>>> = Arc::new((0..args.installs).map(|_| Mutex::new(Install::default())).collect());
    let document = args.cdn.as_ref().map(|cdn| format!("{}/{}", cdn.trim_end_matches('/'), app::server::release_document::path_for_key(&args.key)));
    for round in 1..=args.rounds {
        let gate = Arc::new(tokio::sync::Semaphore::new(args.concurrency as usize));
        let mut tasks = Vec::with_capacity(args.installs as usize);
        for n in 0..args.installs as usize {
            let (client, base, key, installs, gate, container) = (client.clone(), base.clone(), args.key.clone(), installs.clone(), gate.clone(), args.container_version.clone());
            let (document, platform) = (document.clone(), args.platform_key);
            let id = format!("{}{n:07}", args.prefix);
            tasks.push(tokio::spawn(async move {
                let _slot = gate.acquire_owned().await.context("the fleet stopped")?;
                let etag = installs[n].lock().map_err(|_| anyhow::anyhow!("poisoned"))?.etag.clone();
                if let (Some(url), Some(platform)) = (&document, &platform) {
                    let Some((tag, manifests)) = poll_document(&client, url, etag.as_deref(), platform, &id, container.as_ref()).await? else {
                        return Ok::<bool, anyhow::Error>(true);
                    };
                    if let Some(why) = manifests.iter().find_map(|m| cannot_run(m, container.as_ref())) {
                        bail!("{why}");
                    }
                    let running = manifests.iter().map(|m| (m["id"].as_str().unwrap_or_default().to_string(), m["version"].as_str().unwrap_or_default().to_string())).collect();
                    *installs[n].lock().map_err(|_| anyhow::anyhow!("poisoned"))? = Install { etag: tag, running };
                    return Ok(false);
                }
                let mut req = client.get(format!("{base}/api/container/v1/mini-programs")).bearer_auth(&key).header("mpdp-install-id", &id);
                if let Some(tag) = &etag {
                    req = req.header("if-none-match", tag);
                }
                if let Some(v) = &container {
                    req = req.header("mpdp-container-version", v.to_string());
                }
                let r = req.send().await.context("the server did not answer a poll")?;
                let status = r.status();
                if status == reqwest::StatusCode::NOT_MODIFIED {
                    return Ok::<bool, anyhow::Error>(true);
                }
                if !status.is_success() {
                    bail!("a poll was answered {status}: {}", r.text().await.unwrap_or_default());
                }
                let tag = r.headers().get("etag").and_then(|v| v.to_str().ok()).map(str::to_string);
                let list: serde_json::Value = r.json().await.context("a list that is not JSON")?;
                if let Some(why) = list["mini_programs"].as_array().into_iter().flatten().find_map(|m| cannot_run(m, container.as_ref())) {
                    bail!("{why}");
                }
                let running = list["mini_programs"]
                    .as_array()
                    .map(|l| l.iter().map(|m| (m["id"].as_str().unwrap_or_default().to_string(), m["version"].as_str().unwrap_or_default().to_string())).collect())
                    .unwrap_or_default();
                *installs[n].lock().map_err(|_| anyhow::anyhow!("poisoned"))? = Install { etag: tag, running };
                Ok(false)
            }));
        }
        let mut not_modified = 0;
        for t in tasks {
            if t.await.context("a poll panicked")?? {
                not_modified += 1;
            }
        }
        // What each install runs now, counted; and what it reports.
        let mut counts: BTreeMap<(String, String), u64> = BTreeMap::new();
        let mut events = Vec::new();
        let at = chrono::Utc::now().to_rfc3339();
        for (n, install) in installs.iter().enumerate() {
            let install = install.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
            let id = format!("{}{n:07}", args.prefix);
            for (mp, version) in &install.running {
                *counts.entry((mp.clone(), version.clone())).or_default() += 1;
                events.push(serde_json::json!({"install": id, "mini_program": mp, "version": version, "kind": "launched", "at": at}));
                let rate = failures.get(version).copied().unwrap_or(0.0);
                if draw(&format!("{id} {mp} {version} {round}")) < rate {
                    events.push(serde_json::json!({"install": id, "mini_program": mp, "version": version, "kind": "crashed", "at": at}));
                }
            }
        }
        for ((mp, version), n) in &counts {
            println!("round={round} mini_program={mp} version={version} installs={n}");
        }
        let (mut accepted, mut rejected) = (0u64, 0u64);
        if !args.no_events {
            for batch in events.chunks(1_000) {
                let r = client
                    .post(format!("{base}/api/container/v1/events"))
                    .bearer_auth(&args.key)
                    .json(&serde_json::json!({ "events": batch }))
                    .send()
                    .await
                    .context("the server did not answer an event batch")?;
                let status = r.status();
                let body: serde_json::Value = r.json().await.unwrap_or_default();
                if status != reqwest::StatusCode::ACCEPTED {
                    bail!("an event batch was answered {status}: {body}");
                }
                accepted += body["accepted"].as_u64().unwrap_or(0);
                rejected += body["rejected"].as_u64().unwrap_or(0);
            }
        }
        println!("round={round} polled={} not_modified={not_modified} events_accepted={accepted} events_rejected={rejected}", args.installs);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_install_can_run_only_what_its_container_version_meets() {
        let needs = |v: Option<&str>| serde_json::json!({"name": "Coupons", "version": "1.1.0", "min_container_version": v});
        let v = |t: &str| semver::Version::parse(t).unwrap();
        assert_eq!(cannot_run(&needs(None), None), None);
        assert_eq!(cannot_run(&needs(Some("2.0.0")), Some(&v("2.0.0"))), None);
        assert_eq!(cannot_run(&needs(Some("2.0.0")), Some(&v("2.0.1-rc.1"))), None);
        let why = cannot_run(&needs(Some("2.0.0")), Some(&v("2.0.0-rc.1"))).unwrap();
        assert!(why.contains("container 2.0.0-rc.1") && why.contains("version 1.1.0 of Coupons"), "{why}");
        assert!(cannot_run(&needs(Some("2.0.0")), None).unwrap().contains("no container version"));
        assert!(parse_container_version("2.4").is_err());
    }
}
