//! The admin socket: how `mpdp backup` reaches a running server, whose exclusive lock on the
//! data file keeps every other process out.
//!
//! `<data-dir>/admin.sock` is a Unix socket, mode 0600, that answers only connections from the
//! user the server runs as (checked by the peer's credentials, not only by the file mode). A
//! request is one JSON line, `{"backup": "/absolute/path.tar"}` or `{"publish": "check"}` /
//! `{"publish": "sync"}`; the answer is one JSON line, `{"ok": …}` or `{"error": "<message>"}`.
//! The server writes a backup itself, from one read transaction, while it goes on taking writes;
//! it checks or repairs its release target with its own publisher.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use app::server::store::maintenance::BackupSummary;
use app::server::store::Store;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

/// The socket's name inside the data directory.
pub const SOCKET: &str = "admin.sock";
/// The longest request line accepted.
const MAX_REQUEST: u64 = 16 * 1024;

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Request {
    Backup(PathBuf),
    Publish(PublishAction),
}

#[derive(Serialize, Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum PublishAction {
    Check,
    Sync,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Reply<T> {
    Ok(T),
    Error(String),
}

/// What `mpdp publish check` or `sync` found and did.
#[derive(Serialize, Deserialize)]
pub struct PublishAnswer {
    pub findings: Vec<app::server::publish::Finding>,
    /// The report as a person reads it, one line each.
    pub text: String,
}

/// Checks (`repair` false) or repairs the publisher's target.
pub async fn publish(publisher: &app::server::publish::Publisher, repair: bool) -> anyhow::Result<PublishAnswer> {
    use std::fmt::Write as _;
    let target = publisher.target().url().to_string();
    let mut text = String::new();
    let findings = if repair {
        let (findings, pass) = publisher.sync().await.with_context(|| format!("could not repair {target}"))?;
        for f in &findings {
            let _ = writeln!(text, "repaired {f}");
        }
        let _ = writeln!(text, "OK: {target} is up to date ({} objects written, {} deleted).", pass.written, pass.deleted);
        findings
    } else {
        let findings = publisher.check().await.with_context(|| format!("could not check {target}"))?;
        for f in &findings {
            let _ = writeln!(text, "{f}");
        }
        if findings.is_empty() {
            let _ = writeln!(text, "OK: {target} holds what it should.");
        }
        findings
    };
    Ok(PublishAnswer { findings, text })
}

/// Listens on the admin socket until the returned task is aborted; removes a socket left behind
/// by a server that did not stop cleanly (the caller holds the data directory's lock).
pub fn listen(data_dir: &Path, store: Store, publisher: Option<std::sync::Arc<app::server::publish::Publisher>>) -> anyhow::Result<(tokio::task::JoinHandle<()>, PathBuf)> {
    let path = data_dir.join(SOCKET);
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("could not remove the old {}", path.display())),
    }
    let listener = tokio::net::UnixListener::bind(&path)
        .with_context(|| format!("could not listen on the admin socket {}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("could not restrict {} to its owner", path.display()))?;
    let owner = std::fs::metadata(&path)
        .with_context(|| format!("could not read {}", path.display()))?
        .uid();
    let data_dir = data_dir.to_path_buf();
    let task = tokio::spawn(async move {
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!(error = %e, "admin socket: could not accept a connection");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            match stream.peer_cred() {
                Ok(cred) if cred.uid() == owner => {}
                Ok(cred) => {
                    tracing::warn!(uid = cred.uid(), "admin socket: refused a connection from another user");
                    continue;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "admin socket: refused a connection whose user is unknown");
                    continue;
                }
            }
            tokio::spawn(answer(stream, store.clone(), data_dir.clone(), publisher.clone()));
        }
    });
    Ok((task, path))
}

async fn answer(stream: tokio::net::UnixStream, store: Store, data_dir: PathBuf, publisher: Option<std::sync::Arc<app::server::publish::Publisher>>) {
    let (read, write) = stream.into_split();
    let mut line = String::new();
    let reply = match tokio::io::BufReader::new(read.take(MAX_REQUEST)).read_line(&mut line).await {
        Err(e) => Reply::Error(format!("could not read the request: {e}")),
        Ok(_) => match serde_json::from_str::<Request>(line.trim()) {
            Err(e) => Reply::Error(format!("the request must be one JSON line {{\"backup\": \"/absolute/path\"}} or {{\"publish\": \"check\"}}: {e}")),
            Ok(Request::Publish(action)) => {
                let reply = match publisher {
                    None => Reply::Error("this server does not publish releases (it was started without --publish-to)".into()),
                    Some(p) => match publish(&p, matches!(action, PublishAction::Sync)).await {
                        Ok(answer) => Reply::Ok(serde_json::to_value(answer).unwrap_or_default()),
                        Err(e) => Reply::Error(format!("{e:#}")),
                    },
                };
                return send(write, &reply).await;
            }
            Ok(Request::Backup(backup)) if !backup.is_absolute() => {
                Reply::Error(format!("backup: {} must be an absolute path", backup.display()))
            }
            Ok(Request::Backup(backup)) => {
                tracing::info!(out = %backup.display(), "backup requested on the admin socket");
                let started = std::time::Instant::now();
                match tokio::task::spawn_blocking(move || store.backup_to(&data_dir, &backup)).await {
                    Ok(Ok(summary)) => {
                        tracing::info!(entries = summary.entries(), bundles = summary.bundles.len(), ms = started.elapsed().as_millis() as u64, "backup written");
                        Reply::Ok(summary)
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "backup failed");
                        Reply::Error(e.to_string())
                    }
                    Err(_) => Reply::Error("the backup task failed; see the server's log".into()),
                }
            }
        },
    };
    send(write, &reply).await;
}

async fn send<T: Serialize>(mut write: tokio::net::unix::OwnedWriteHalf, reply: &Reply<T>) {
    let mut bytes = serde_json::to_vec(reply).unwrap_or_else(|_| br#"{"error":"could not encode the answer"}"#.to_vec());
    bytes.push(b'\n');
    if let Err(e) = write.write_all(&bytes).await {
        tracing::warn!(error = %e, "admin socket: could not answer");
    }
}

/// Asks the server running on `data_dir` for a backup to `out`. `Ok(None)` when no server
/// listens there (no socket, or one left by a server that is gone).
pub fn request_backup(data_dir: &Path, out: &Path) -> anyhow::Result<Option<BackupSummary>> {
    ask(data_dir, &Request::Backup(out.to_path_buf()), "backup")
}

/// Asks the server running on `data_dir` to check (or, `repair`, to sync) its release target.
/// `None` when no server listens there.
pub fn request_publish(data_dir: &Path, repair: bool) -> Option<anyhow::Result<PublishAnswer>> {
    let action = if repair { PublishAction::Sync } else { PublishAction::Check };
    ask(data_dir, &Request::Publish(action), "publish").transpose()
}

/// Sends `request` to the server running on `data_dir`; `Ok(None)` when no server listens there
/// (no socket, or one left by a server that is gone).
fn ask<T: serde::de::DeserializeOwned>(data_dir: &Path, request: &Request, what: &str) -> anyhow::Result<Option<T>> {
    let path = data_dir.join(SOCKET);
    let mut stream = match std::os::unix::net::UnixStream::connect(&path) {
        Ok(s) => s,
        Err(e) if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused) => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("could not reach the running server at {}", path.display())),
    };
    let mut bytes = serde_json::to_vec(request)?;
    bytes.push(b'\n');
    stream.write_all(&bytes).with_context(|| format!("could not send the {what} request to the server"))?;
    let mut line = String::new();
    BufReader::new(stream)
        .read_line(&mut line)
        .with_context(|| format!("the server did not answer the {what} request"))?;
    match serde_json::from_str::<Reply<T>>(line.trim()) {
        Ok(Reply::Ok(answer)) => Ok(Some(answer)),
        Ok(Reply::Error(e)) => bail!("{e}"),
        Err(_) if line.trim().is_empty() => bail!("the server closed the admin socket without an answer; see its log"),
        Err(e) => bail!("the server's answer cannot be read ({e}): {line}"),
    }
}

/// The backup summary as a person reads it.
pub fn describe(summary: &BackupSummary, out: &Path) -> String {
    let size = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    format!(
        "Backed up {} entries in {} tables ({} versions, schema {}) and {} bundle files to {} ({} bytes).",
        summary.entries(),
        summary.tables.len(),
        summary.versions,
        summary.schema_version,
        summary.bundles.len(),
        out.display(),
        size
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_one_tagged_json_object() {
        let e = serde_json::to_string(&Reply::<()>::Error("x".into())).unwrap();
        assert_eq!(e, r#"{"error":"x"}"#);
        // The request a backup has always sent still reads.
        assert!(matches!(serde_json::from_str::<Request>(r#"{"backup": "/tmp/x.tar"}"#), Ok(Request::Backup(_))));
        assert!(matches!(serde_json::from_str::<Request>(r#"{"publish": "sync"}"#), Ok(Request::Publish(PublishAction::Sync))));
    }
}
