//! The client of the Studio API: an upload signed with the Upload Key and streamed to the
//! server, the signed listing of versions, and the server's answers read.

use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use app::server::keys;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;

use super::bundle::{list_bundle, pack_to_temp, Packed};
use super::flags::{authorization, check_access_key, check_mini_program, check_note, check_server, check_version, PlatformKeyArgs, PublishArgs, UploadArgs, VersionsArgs};
use super::wire::{
    ErrorAnswer, UploadAnswer, VersionInfo, VersionsAnswer, NOTE_HEADER, VERSION_HEADER,
};

/// Seconds since the Unix epoch, for signatures.
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The most of an answer read: a hostile or broken server can't fill the memory.
pub(super) const ANSWER_LIMIT: usize = 16 * 1024 * 1024;

/// The HTTP client of every command: it follows no redirect, so no request (nor the token or
/// device code it carries) goes anywhere but `--server`.
pub(super) fn client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .user_agent(concat!("mpdp-studio/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(30))
        // A redirected POST would lose its streamed body: report the redirect instead.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("could not set up the HTTP client")
}

/// The body of an answer, refused past [`ANSWER_LIMIT`] bytes.
pub(super) async fn bounded_body(server: &str, mut response: reqwest::Response) -> anyhow::Result<Vec<u8>> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .with_context(|| format!("could not read the answer of {server} (--server)"))?
    {
        if body.len() + chunk.len() > ANSWER_LIMIT {
            bail!("the answer of {server} (--server) is over {} MiB; is it the MPDP platform?", ANSWER_LIMIT >> 20);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The URL of a mini program's versions.
fn versions_url(server: &str, mini_program: &str) -> String {
    format!("{server}/api/studio/v1/mini-programs/{mini_program}/versions")
}

/// Reads the server's answer: `T` on success, else the error it gives.
async fn answer<T: DeserializeOwned>(
    server: &str,
    response: reqwest::Response,
) -> anyhow::Result<T> {
    let status = response.status();
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = bounded_body(server, response).await?;
    if status.is_success() {
        return serde_json::from_slice(&body).map_err(|e| {
            anyhow!("the answer of {server} (--server) was not understood ({e}); is it the MPDP platform?")
        });
    }
    if let Ok(ErrorAnswer { error }) = serde_json::from_slice(&body) {
        bail!("{} ({})", error.message, error.code);
    }
    if status.is_redirection() {
        bail!(
            "{server} (--server) redirects to {}: give that address as --server",
            location.as_deref().unwrap_or("another address")
        );
    }
    bail!("{server} (--server) answered {status} without a Studio API error; is it the MPDP platform's address?")
}

/// `mpdp studio publish`: applies for publishing review with a personal access token.
pub(super) async fn publish(args: PublishArgs) -> anyhow::Result<()> {
    let server = check_server(&args.server)?;
    let mini_program = check_mini_program(&args.mini_program)?;
    let version = check_version(&args.version)?;
    let apps = args
        .apps
        .iter()
        .map(|a| uuid::Uuid::parse_str(a.trim()).map_err(|_| anyhow!("--app: {a:?} is not an App id (a UUID)")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let note = match &args.note {
        Some(n) if n.chars().count() > super::flags::MAX_NOTE_CHARS => bail!("--note: at most {} characters", super::flags::MAX_NOTE_CHARS),
        Some(n) => n.clone(),
        None => String::new(),
    };
    let token = authorization(args.token.as_deref(), &server)?
        .ok_or_else(|| anyhow!("--token: a personal access token with the publish scope is needed (or run mpdp studio login)"))?;
    let body = serde_json::json!({ "version": version, "apps": apps, "rollout_percent": args.rollout, "note": note });
    let response = client()?
        .post(format!("{server}/api/studio/v1/mini-programs/{mini_program}/publishing"))
        .header(reqwest::header::AUTHORIZATION, token)
        .json(&body)
        .timeout(Duration::from_secs(120))
        .send()
        .await
        .with_context(|| connection_error(&server))?;
    let applied: super::wire::Applied = answer(&server, response).await?;
    println!("Applied for publishing review of {version}: {}", applied.console_url);
    Ok(())
}

/// `mpdp studio platform-key`: the platform public key of the App whose Accessing Key is given.
pub(super) async fn platform_key(args: PlatformKeyArgs) -> anyhow::Result<()> {
    use app::server::manifest::{PlatformKey, PLATFORM_KEY_FORMAT};
    let server = check_server(&args.server)?;
    let key = check_access_key(&args.key)?;
    let response = client()?
        .get(format!("{server}/api/container/v1/platform-key"))
        .bearer_auth(key)
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .with_context(|| connection_error(&server))?;
    let answer: PlatformKey = answer(&server, response).await?;
    if answer.format != PLATFORM_KEY_FORMAT || answer.algorithm != "Ed25519" || keys::parse_public_key(&answer.platform_key).is_none() {
        bail!("{server} (--server) answered a platform key this build does not read ({}, {}); is it the MPDP platform?", answer.format, answer.algorithm);
    }
    eprintln!("The platform public key (Ed25519, unpadded base64url) of App {}. Ship it in the host app: a container trusts no key it is sent.", answer.app);
    println!("{}", answer.platform_key);
    Ok(())
}

fn connection_error(server: &str) -> String {
    format!("could not reach the server at {server} (--server)")
}

pub(super) async fn upload(args: UploadArgs) -> anyhow::Result<()> {
    let target = args.target.check("upload")?;
    let version = check_version(&args.version)?;
    let note = match &args.note {
        Some(note) => check_note(note)?,
        None => None,
    };
    let files = list_bundle(&args.dir)?;
    let Packed { file, size, sha256 } = pack_to_temp(&files)?;
    eprintln!(
        "Packed {} files from {} ({} bytes, sha256 {sha256})",
        files.len(),
        args.dir.display(),
        size
    );

    let signature = keys::sign_upload(
        &target.key,
        &target.mini_program,
        &version,
        &sha256,
        size,
        unix_now(),
    );
    let progress = ProgressBar::with_draw_target(Some(size), ProgressDrawTarget::stderr())
        .with_style(
            ProgressStyle::with_template(
                "Uploading [{bar:30}] {bytes}/{total_bytes} · {bytes_per_sec} · ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
    let stream = tokio_util::io::ReaderStream::with_capacity(
        progress.wrap_async_read(tokio::fs::File::from_std(file)),
        64 * 1024,
    );
    let mut request = client()?
        .post(versions_url(&target.server, &target.mini_program))
        .header(CONTENT_TYPE, "application/gzip")
        .header(CONTENT_LENGTH, size)
        .header(VERSION_HEADER, &version)
        .header(keys::SIGNATURE_HEADER, signature);
    if let Some(note) = note {
        request = request.header(NOTE_HEADER, note);
    }
    if let Some(token) = &target.authorization {
        request = request.header(reqwest::header::AUTHORIZATION, token);
    }
    let sent = request
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await;
    progress.finish_and_clear();
    let response = sent.with_context(|| connection_error(&target.server))?;
    let status = response.status();
    let uploaded: UploadAnswer = answer(&target.server, response).await?;
    if status != StatusCode::CREATED {
        bail!(
            "{} (--server) answered {status} instead of 201 Created",
            target.server
        );
    }
    if !uploaded.version.sha256.eq_ignore_ascii_case(&sha256) {
        bail!(
            "the server recorded sha256 {} but the archive sent has sha256 {sha256}; upload again",
            uploaded.version.sha256
        );
    }
    println!(
        "Uploaded {} ({} bytes, sha256 {})",
        uploaded.version.version, uploaded.version.size, uploaded.version.sha256
    );
    println!("{}", uploaded.console_url);
    Ok(())
}

pub(super) async fn versions(args: VersionsArgs) -> anyhow::Result<()> {
    let target = args.target.check("list versions")?;
    let signature = keys::sign_list(&target.key, &target.mini_program, unix_now());
    let mut request = client()?
        .get(versions_url(&target.server, &target.mini_program))
        .header(keys::SIGNATURE_HEADER, signature);
    if let Some(token) = &target.authorization {
        request = request.header(reqwest::header::AUTHORIZATION, token);
    }
    let response = request
        .timeout(Duration::from_secs(120))
        .send()
        .await
        .with_context(|| connection_error(&target.server))?;
    let VersionsAnswer { versions } = answer(&target.server, response).await?;
    if versions.is_empty() {
        println!("No versions uploaded yet.");
    } else {
        print!("{}", versions_table(&versions));
    }
    Ok(())
}

/// A JSON value as a table cell: strings without quotes, nothing for null.
fn cell(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A plain aligned table: version, state, size (bytes, right-aligned), created, uploader and the
/// first 12 hex digits of the SHA-256; one line each, ending with a newline.
pub fn versions_table(versions: &[VersionInfo]) -> String {
    const SIZE: usize = 2;
    let mut rows =
        vec![["VERSION", "STATE", "SIZE", "CREATED", "UPLOADER", "SHA256"].map(String::from)];
    for v in versions {
        rows.push([
            v.version.clone(),
            v.state.clone(),
            v.size.to_string(),
            cell(&v.created),
            cell(&v.uploader),
            v.sha256.chars().take(12).collect(),
        ]);
    }
    let mut widths = [0usize; 6];
    for row in &rows {
        for (width, text) in widths.iter_mut().zip(row) {
            *width = (*width).max(text.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, text)| match i {
                SIZE => format!("{text:>w$}", w = widths[i]),
                _ => format!("{text:<w$}", w = widths[i]),
            })
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::studio::fixtures::{packed, write, FILES, ID};
    use crate::studio::flags::Target;
    use std::path::Path;

    /// What the fake Studio API saw.
    #[derive(Default)]
    struct Seen {
        headers: Option<axum::http::HeaderMap>,
        body: Vec<u8>,
    }

    /// A Studio API on 127.0.0.1: checks the upload's signature and answers as the platform
    /// does, or with `refusal` when given.
    async fn fake_studio(
        public: [u8; 32],
        refusal: Option<(u16, &'static str)>,
    ) -> (String, std::sync::Arc<std::sync::Mutex<Seen>>) {
        use axum::extract::{Path as UrlPath, State};
        use axum::http::{HeaderMap, StatusCode};
        type Shared = std::sync::Arc<std::sync::Mutex<Seen>>;
        let seen = Shared::default();
        let post = move |State(seen): State<Shared>,
                         UrlPath(id): UrlPath<String>,
                         headers: HeaderMap,
                         body: axum::body::Bytes| async move {
            let sig = keys::SignatureHeader::parse(
                headers.get("mpdp-signature").unwrap().to_str().unwrap(),
            )
            .unwrap();
            let version = headers
                .get("mpdp-version")
                .unwrap()
                .to_str()
                .unwrap()
                .to_string();
            let sha = keys::sha256_hex(&body);
            let message =
                keys::upload_message(&id, &version, &sha, body.len() as u64, sig.ts, &sig.nonce);
            assert!(
                keys::verify(&public, message.as_bytes(), &sig.sig),
                "signature"
            );
            *seen.lock().unwrap() = Seen {
                headers: Some(headers),
                body: body.to_vec(),
            };
            if let Some((status, json)) = refusal {
                return (StatusCode::from_u16(status).unwrap(), json.to_string());
            }
            let answer = serde_json::json!({
                "version": {"version": version, "state": "Uploaded", "size": body.len(),
                            "sha256": sha, "uploader": "ci", "created": "2025-01-02T03:04:05Z"},
                "console_url": format!("http://console/w/Acme/mini-programs/{id}"),
            });
            (StatusCode::CREATED, answer.to_string())
        };
        let list = move |UrlPath(id): UrlPath<String>, headers: HeaderMap| async move {
            let sig = keys::SignatureHeader::parse(
                headers.get("mpdp-signature").unwrap().to_str().unwrap(),
            )
            .unwrap();
            let message = keys::list_message(&id, sig.ts, &sig.nonce);
            assert!(
                keys::verify(&public, message.as_bytes(), &sig.sig),
                "signature"
            );
            let answer = serde_json::json!({"versions": [
                {"version": "1.0.0", "state": "Uploaded", "size": 10, "sha256": "ab".repeat(32),
                 "uploader": "ci", "note": "", "created": "2025-01-02T03:04:05Z"},
            ]});
            (StatusCode::OK, answer.to_string())
        };
        let router = axum::Router::new()
            .route(
                "/api/studio/v1/mini-programs/{id}/versions",
                axum::routing::post(post).get(list),
            )
            .with_state(seen.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        (format!("http://{addr}/"), seen)
    }

    fn upload_args(server: &str, key: &str, dir: &Path, note: Option<&str>) -> UploadArgs {
        UploadArgs {
            target: Target {
                server: server.into(),
                key: key.into(),
                mini_program: ID.to_uppercase(),
                token: None,
            },
            version: "1.2.3".into(),
            note: note.map(str::to_string),
            dir: dir.to_path_buf(),
        }
    }

    /// A server that answers every request with too much, or with a redirect elsewhere: the
    /// command reads no more than its limit and follows nothing.
    #[tokio::test]
    async fn an_answer_is_read_up_to_the_limit_and_no_redirect_is_followed() {
        use axum::response::IntoResponse;
        let app = axum::Router::new()
            .route("/big", axum::routing::get(|| async { vec![b' '; ANSWER_LIMIT + 1].into_response() }))
            .route(
                "/moved",
                axum::routing::post(|| async { (axum::http::StatusCode::TEMPORARY_REDIRECT, [("location", "https://elsewhere.example/take")]).into_response() }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let big = client().unwrap().get(format!("{server}/big")).send().await.unwrap();
        let e = bounded_body(&server, big).await.unwrap_err().to_string();
        assert!(e.contains("over 16 MiB"), "{e}");
        let moved = client().unwrap().post(format!("{server}/moved")).form(&[("device_code", "secret")]).send().await.unwrap();
        assert_eq!(moved.status(), StatusCode::TEMPORARY_REDIRECT, "not followed");
    }

    #[tokio::test]
    async fn an_upload_streams_the_signed_archive() {
        let dir = tempfile::tempdir().unwrap();
        for (path, contents) in FILES {
            write(dir.path(), path, contents);
        }
        let (key, public) = keys::new_upload_key();
        let (server, seen) = fake_studio(public, None).await;
        upload(upload_args(&server, &key, dir.path(), Some("Fixed: menu")))
            .await
            .unwrap();
        let seen = seen.lock().unwrap();
        let headers = seen.headers.as_ref().unwrap();
        assert_eq!(
            seen.body,
            packed(dir.path()),
            "the deterministic archive was sent"
        );
        let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_string());
        assert_eq!(header("content-type").as_deref(), Some("application/gzip"));
        assert_eq!(header("content-length"), Some(seen.body.len().to_string()));
        assert_eq!(
            header("transfer-encoding"),
            None,
            "a known length, not chunked"
        );
        assert_eq!(header("mpdp-note").as_deref(), Some("Fixed%3A%20menu"));
        let sig = keys::SignatureHeader::parse(&header("mpdp-signature").unwrap()).unwrap();
        assert_eq!(sig.size, Some(seen.body.len() as u64));
        assert_eq!(sig.sha256, Some(keys::sha256_hex(&seen.body)));
    }

    #[tokio::test]
    async fn the_servers_refusal_is_reported_with_its_code() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "app.json", "{}");
        let (key, public) = keys::new_upload_key();
        let refusal = r#"{"error":{"code":"version_exists","message":"version 1.2.3 exists already","field":"version"}}"#;
        let (server, seen) = fake_studio(public, Some((409, refusal))).await;
        let e = upload(upload_args(&server, &key, dir.path(), None))
            .await
            .unwrap_err();
        assert_eq!(
            format!("{e:#}"),
            "version 1.2.3 exists already (version_exists)"
        );
        assert!(seen
            .lock()
            .unwrap()
            .headers
            .as_ref()
            .unwrap()
            .get("mpdp-note")
            .is_none());

        let (server, _) = fake_studio(public, Some((502, "<html>Bad gateway</html>"))).await;
        let e = upload(upload_args(&server, &key, dir.path(), None))
            .await
            .unwrap_err();
        assert!(format!("{e:#}").contains("502"), "{e:#}");
    }

    #[tokio::test]
    async fn versions_are_listed_with_a_signed_request() {
        let (key, public) = keys::new_upload_key();
        let (server, _) = fake_studio(public, None).await;
        let target = Target {
            server,
            key,
            mini_program: ID.into(),
            token: None,
        };
        versions(VersionsArgs { target }).await.unwrap();
    }

    #[tokio::test]
    async fn an_unreachable_server_is_named() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "app.json", "{}");
        let (key, _) = keys::new_upload_key();
        // A port nobody listens on: bind one, then let it go.
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let server = format!("http://{addr}");
        let e = upload(upload_args(&server, &key, dir.path(), None))
            .await
            .unwrap_err();
        assert!(
            format!("{e:#}").starts_with(&format!(
                "could not reach the server at {server} (--server)"
            )),
            "{e:#}"
        );
    }

    #[test]
    fn versions_are_listed_in_an_aligned_table() {
        let versions: Vec<VersionInfo> = serde_json::from_str(
            r#"[{"version":"1.10.0","state":"Uploaded","size":123456,"sha256":"0123456789abcdef","uploader":"ci","note":"x","created":"2025-01-02T03:04:05Z"},
                {"version":"1.2.0","state":"Approved","size":7,"sha256":"fedcba9876543210","uploader":null,"created":"2024-12-31T00:00:00Z"}]"#,
        )
        .unwrap();
        let table = versions_table(&versions);
        assert_eq!(
            table,
            "VERSION  STATE       SIZE  CREATED               UPLOADER  SHA256\n\
             1.10.0   Uploaded  123456  2025-01-02T03:04:05Z  ci        0123456789ab\n\
             1.2.0    Approved       7  2024-12-31T00:00:00Z            fedcba987654\n"
        );
    }
}
