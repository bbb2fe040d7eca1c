//! The Studio upload API with the real binary: the real CLI (`mpdp studio upload` and
//! `versions`) against a server on port 0, then every refusal — each with its status and code,
//! and afterwards no record and no file.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::Command;

use app::server::keys;
use common::minis::{self, create_android_app, create_mini_program, studio_versions};
use common::workspace::*;
use common::*;

struct Setup {
    server: Server,
    dir: DataDir,
    op: reqwest::Client,
    ann: reqwest::Client,
    wid: String,
    app: String,
    upload_key: String,
    mp: String,
}

async fn setup(extra: &[&str]) -> Setup {
    let dir = DataDir::new();
    let (server, op, ann) = acme_with_in(&dir, extra, "Ann Lee <ann@example.com>").await;
    let wid = workspace_id(&ann, &server, "Acme").await;
    let app = create_android_app(&ann, &server, "Super", "com.acme.super").await;
    let mp = create_mini_program(&ann, &server, "Coupons", "Shopping").await;
    Setup { server, dir, op, ann, wid, app: app.id, upload_key: app.upload_key, mp }
}

/// A bundle directory with an app.json.
fn bundle_dir() -> DataDir {
    let d = DataDir::new();
    std::fs::write(d.path().join("app.json"), br#"{"pages":["index"]}"#).unwrap();
    std::fs::create_dir_all(d.path().join("pages")).unwrap();
    std::fs::write(d.path().join("pages/index.js"), b"Page({})").unwrap();
    d
}

fn studio(args: &[&str]) -> std::process::Output {
    Command::new(bin()).arg("studio").args(args).env_remove("MPDP_UPLOAD_KEY").output().unwrap()
}

/// A gzip'd tar built by hand, to hold what a careful packer never would.
fn tgz(entries: &[(&str, &[u8], u8)]) -> Vec<u8> {
    let mut raw = Vec::new();
    for (name, data, kind) in entries {
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..108].copy_from_slice(b"0000644\0");
        h[108..116].copy_from_slice(b"0000000\0");
        h[116..124].copy_from_slice(b"0000000\0");
        h[124..136].copy_from_slice(format!("{:011o}\0", data.len()).as_bytes());
        h[136..148].copy_from_slice(b"00000000000\0");
        h[156] = *kind;
        if *kind == b'2' {
            h[157..168].copy_from_slice(b"/etc/passwd");
        }
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|b| *b as u32).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        raw.extend_from_slice(&h);
        raw.extend_from_slice(data);
        raw.resize(raw.len().div_ceil(512) * 512, 0);
    }
    raw.resize(raw.len() + 1024, 0);
    gz(&raw)
}

fn gz(raw: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(raw).unwrap();
    e.finish().unwrap()
}

/// A tar entry declaring (and holding) `size` zero bytes, gzip'd: small on the wire, huge unpacked.
fn bomb(size: usize) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let mut h = [0u8; 512];
    h[..8].copy_from_slice(b"app.json");
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    h[136..148].copy_from_slice(b"00000000000\0");
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|b| *b as u32).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    e.write_all(&h).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..size / zeros.len() {
        e.write_all(&zeros).unwrap();
    }
    e.finish().unwrap()
}

/// A bundle holding `len` bytes that do not compress (xorshift from `seed`): about as large
/// packed as unpacked, and another for each seed.
fn noisy_bundle(len: usize, seed: u64) -> Vec<u8> {
    let mut noise = vec![0u8; len];
    let mut x = seed;
    for b in noise.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    tgz(&[("app.json", b"{}", b'0'), ("assets/noise.bin", &noise, b'0')])
}

fn good_bundle() -> Vec<u8> {
    tgz(&[("app.json", b"{}", b'0'), ("index.js", b"x", b'0')])
}

/// Sends a signed upload as the Studio would, with any part changed by the caller.
struct Upload<'a> {
    key: &'a str,
    mp: &'a str,
    version: &'a str,
    body: Vec<u8>,
    ts: i64,
}

impl<'a> Upload<'a> {
    fn new(s: &'a Setup, version: &'a str, body: Vec<u8>) -> Upload<'a> {
        Upload { key: &s.upload_key, mp: &s.mp, version, body, ts: now() }
    }

    fn header(&self) -> String {
        let key = keys::parse_upload_key(self.key).unwrap();
        keys::sign_upload(&key, self.mp, self.version, &keys::sha256_hex(&self.body), self.body.len() as u64, self.ts)
    }

    async fn send_with(&self, server: &Server, header: Option<String>) -> Reply {
        let mut req = client()
            .post(server.url(&format!("/api/studio/v1/mini-programs/{}/versions", self.mp)))
            .header("content-type", "application/gzip")
            .header("mpdp-version", self.version)
            .body(self.body.clone());
        if let Some(h) = header {
            req = req.header("mpdp-signature", h);
        }
        let r = req.send().await.unwrap();
        let (status, headers) = (r.status(), r.headers().clone());
        Reply { status, headers, body: r.text().await.unwrap() }
    }

    async fn send(&self, server: &Server) -> Reply {
        self.send_with(server, Some(self.header())).await
    }
}

fn refused(r: &Reply, status: u16, code: &str) {
    assert_eq!(r.status.as_u16(), status, "{code}: {}", r.body);
    let j = r.json();
    assert_eq!(j["error"]["code"], code, "{}", r.body);
    assert!(j["error"]["message"].as_str().is_some_and(|m| m.len() > 10), "{}", r.body);
}

async fn versions(s: &Setup) -> Vec<serde_json::Value> {
    versions_of(s, &s.mp).await
}

async fn versions_of(s: &Setup, mp: &str) -> Vec<serde_json::Value> {
    let r = call(&s.ann, &s.server, "list-versions", &[("workspace", "Acme"), ("id", mp)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["items"].as_array().unwrap().clone()
}

/// Bundle files on disk (and no temporary files left).
fn bundle_files(dir: &Path) -> Vec<String> {
    let root = dir.join("bundles");
    let mut out = Vec::new();
    if let Ok(subdirs) = std::fs::read_dir(&root) {
        for d in subdirs.flatten() {
            for f in std::fs::read_dir(d.path()).unwrap().flatten() {
                out.push(format!("{}/{}", d.file_name().to_string_lossy(), f.file_name().to_string_lossy()));
            }
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn the_cli_uploads_a_signed_bundle_and_lists_it() {
    let s = setup(&[]).await;
    let src = bundle_dir();
    let dir = src.path().to_str().unwrap();
    let out = studio(&["upload", "--server", &s.server.base, "--key", &s.upload_key, "--mini-program", &s.mp, "--version", "1.0.0", "--note", "First one: café", dir]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("Uploaded 1.0.0"), "{stdout}");
    assert!(stdout.contains(&format!("/w/Acme/mini-programs/{}", s.mp)), "{stdout}");

    let listed = versions(&s).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["version"], "1.0.0");
    assert_eq!(listed[0]["state"], "Uploaded");
    assert_eq!(listed[0]["note"], "First one: café");
    let sha = listed[0]["sha256"].as_str().unwrap().to_string();
    let file = s.dir.path().join("bundles").join(&sha[..2]).join(format!("{sha}.tar.gz"));
    assert_eq!(keys::sha256_hex(&std::fs::read(&file).unwrap()), sha, "the file is the bundle");

    // The same files pack to the same bytes: a re-upload as a new version has the same sha256.
    let out = studio(&["upload", "--server", &s.server.base, "--key", &s.upload_key, "--mini-program", &s.mp, "--version", "1.0.1", dir]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(versions(&s).await[0]["sha256"], sha.as_str());

    // The CLI shows the server's refusal and exits non-zero.
    let out = studio(&["upload", "--server", &s.server.base, "--key", &s.upload_key, "--mini-program", &s.mp, "--version", "0.9.0", dir]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("must be higher than 1.0.1") && stderr.contains("version_not_higher"), "{stderr}");

    // Listing, with the key from the environment.
    let stdout = studio_versions(&s.server, &s.mp, &s.upload_key);
    assert!(stdout.contains("1.0.1") && stdout.contains("1.0.0") && stdout.contains("Uploaded"), "{stdout}");

    // An Accessing Key can't upload: the CLI says so before sending anything.
    let app = call(&s.ann, &s.server, "create-app", &[("workspace", "Acme"), ("name", "Other"), ("ios", "on"), ("ios_bundle_id", "com.acme.o")]).await.json();
    let mpak = app["keys"][0]["key"].as_str().unwrap().to_string();
    assert!(mpak.starts_with("mpak_"));
    let out = studio(&["upload", "--server", &s.server.base, "--key", &mpak, "--mini-program", &s.mp, "--version", "2.0.0", dir]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Accessing Key"));

    // The audit log names the key.
    let log = workspace_audit(&s.ann, &s.server, "Acme", "mini_program.version_uploaded", "").await.json();
    assert_eq!(log["total"], 2, "{log}");
    let _ = (&s.op, &s.wid, &s.app);
}

#[tokio::test]
async fn every_refusal_has_its_status_and_code_and_stores_nothing() {
    let s = setup(&["--max-bundle-mib", "1"]).await;
    let base = Upload::new(&s, "1.0.0", good_bundle());

    // The signature header: missing, malformed.
    refused(&base.send_with(&s.server, None).await, 401, "signature_missing");
    refused(&base.send_with(&s.server, Some("key=zz".into())).await, 400, "signature_malformed");
    // An unknown key.
    let stranger = keys::new_upload_key().0;
    refused(&Upload { key: &stranger, ..Upload::new(&s, "1.0.0", good_bundle()) }.send(&s.server).await, 401, "unknown_key");
    // A stale timestamp.
    refused(&Upload { ts: now() - 3600, ..Upload::new(&s, "1.0.0", good_bundle()) }.send(&s.server).await, 401, "stale_timestamp");
    // The farthest timestamps there are: stale too (the server's distance to them does not overflow).
    refused(&Upload { ts: i64::MIN, ..Upload::new(&s, "1.0.0", good_bundle()) }.send(&s.server).await, 401, "stale_timestamp");
    refused(&Upload { ts: i64::MAX, ..Upload::new(&s, "1.0.0", good_bundle()) }.send(&s.server).await, 401, "stale_timestamp");
    // A bad signature: right key id, signed by another key.
    let mut forged = keys::SignatureHeader::parse(&base.header()).unwrap();
    forged.sig = keys::SignatureHeader::parse(&Upload { key: &stranger, ..Upload::new(&s, "1.0.0", good_bundle()) }.header()).unwrap().sig;
    refused(&base.send_with(&s.server, Some(forged.render())).await, 401, "bad_signature");
    // Bytes other than those signed (same length, so Content-Length agrees with size=).
    let header = base.header();
    let other = tgz(&[("app.json", b"{}", b'0'), ("index.js", b"y", b'0')]);
    assert_eq!(other.len(), base.body.len());
    refused(&Upload::new(&s, "1.0.0", other).send_with(&s.server, Some(header)).await, 400, "bundle_mismatch");
    // Content-Length other than the signed size.
    let longer = Upload::new(&s, "1.0.0", good_bundle());
    let mut body = longer.body.clone();
    body.extend_from_slice(&[0u8; 10]);
    refused(&Upload { body, ..Upload::new(&s, "1.0.0", good_bundle()) }.send_with(&s.server, Some(longer.header())).await, 400, "size_mismatch");
    // Versions that are not semantic.
    for v in ["1.2", "01.0.0", "latest"] {
        refused(&Upload::new(&s, v, good_bundle()).send(&s.server).await, 422, "version_invalid");
    }
    // Over the size limit (1 MiB on this server).
    refused(&Upload::new(&s, "1.0.0", vec![7u8; 1024 * 1024 + 10]).send(&s.server).await, 413, "bundle_too_large");
    // Archives: malformed, escaping, linking, special, a bomb, no app.json, an app.json that is
    // not JSON or names a minimum container version that is not a semantic version.
    for (body, code) in [
        (b"not a gzip file at all".to_vec(), "archive_malformed"),
        (gz(b"gzip, but not a tar archive, and far too short to be one"), "archive_malformed"),
        (tgz(&[("app.json", b"{}", b'0'), ("../escape.js", b"x", b'0')]), "archive_parent_path"),
        (tgz(&[("app.json", b"{}", b'0'), ("/etc/cron.d/x", b"x", b'0')]), "archive_absolute_path"),
        (tgz(&[("app.json", b"{}", b'0'), ("link", b"", b'2')]), "archive_link"),
        (tgz(&[("app.json", b"{}", b'0'), ("tty", b"", b'3')]), "archive_special_file"),
        (bomb(201 * 1024 * 1024), "archive_too_large_unpacked"),
        (tgz(&[("index.js", b"x", b'0')]), "archive_no_app_json"),
        (tgz(&[("app.json", b"pages: [index]", b'0')]), "archive_app_json_invalid"),
        (tgz(&[("app.json", br#"{"minContainerVersion":"2.4"}"#, b'0')]), "archive_app_json_invalid"),
    ] {
        assert!(body.len() < 1024 * 1024, "{code}: the test bundle itself is small ({} bytes)", body.len());
        refused(&Upload::new(&s, "1.0.0", body).send(&s.server).await, 422, code);
    }
    // A truncated upload: the connection ends before the announced length.
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let body = good_bundle();
        let up = Upload::new(&s, "1.0.0", body.clone());
        let rest = format!("Content-Type: application/gzip\r\nContent-Length: {}\r\n", body.len() + 100);
        let (mut sock, head) = raw_upload(&s, "1.0.0", &up.header(), &rest).await;
        // Whether the server refuses at the headers or at the missing bytes, it may have closed
        // the connection before this write ends: what matters is that nothing is stored.
        let mut request = head.into_bytes();
        request.extend_from_slice(&body);
        let _ = sock.write_all(&request).await;
        let _ = sock.shutdown().await;
        let mut answer = String::new();
        let _ = sock.read_to_string(&mut answer).await;
    }
    // Nothing of all that was stored.
    assert!(versions(&s).await.is_empty());
    assert!(bundle_files(s.dir.path()).is_empty(), "{:?}", bundle_files(s.dir.path()));

    // Now a good one; then a replay of the very same request, and a version not higher.
    let good = Upload::new(&s, "1.0.0", good_bundle());
    let header = good.header();
    let r = good.send_with(&s.server, Some(header.clone())).await;
    assert_eq!(r.status, 201, "{}", r.body);
    refused(&good.send_with(&s.server, Some(header)).await, 401, "replayed");
    refused(&Upload::new(&s, "1.0.0", good_bundle()).send(&s.server).await, 409, "version_not_higher");
    refused(&Upload::new(&s, "0.1.0", good_bundle()).send(&s.server).await, 409, "version_not_higher");

    // Two uploads of one version at once: exactly one wins.
    let (a, b) = (Upload::new(&s, "2.0.0", good_bundle()), Upload::new(&s, "2.0.0", tgz(&[("app.json", b"{\"b\":1}", b'0')])));
    let (ra, rb) = tokio::join!(a.send(&s.server), b.send(&s.server));
    let mut statuses = [ra.status.as_u16(), rb.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [201, 409], "{} / {}", ra.body, rb.body);
    assert_eq!(versions(&s).await.len(), 2);
    // The loser's bundle is not left behind: every file is named by a version.
    let named: Vec<String> = versions(&s).await.iter().map(|v| v["sha256"].as_str().unwrap().to_string()).collect();
    for f in bundle_files(s.dir.path()) {
        assert!(named.iter().any(|sha| f.ends_with(&format!("{sha}.tar.gz"))), "{f} is named by no version: {named:?}");
    }

    // A key of another workspace: its mini programs are not this key's.
    let bob = person(&s.server, "bob").await;
    let oid = apply(&bob, &s.server, "Other", "Bob <bob@example.com>").await.json()["id"].as_str().unwrap().to_string();
    assert_eq!(generate_workspace(&s.op, &s.server, &oid).await.status, 200);
    let other = call(&bob, &s.server, "create-app", &[("workspace", "Other"), ("name", "B"), ("ios", "on"), ("ios_bundle_id", "com.b.b")]).await.json();
    let other_key = other["keys"].as_array().unwrap().iter().find(|k| k["kind"] == "Upload").unwrap()["key"].as_str().unwrap().to_string();
    refused(&Upload { key: &other_key, ..Upload::new(&s, "3.0.0", good_bundle()) }.send(&s.server).await, 404, "unknown_mini_program");

    // A suspended workspace takes nothing; reactivated, it does again.
    let status = |action: &'static str| {
        let (op, server, wid) = (&s.op, &s.server, s.wid.clone());
        async move { set_workspace_status(op, server, wid.as_str(), action, "audit").await }
    };
    assert_eq!(status("suspend").await.status, 200);
    refused(&Upload::new(&s, "3.0.0", good_bundle()).send(&s.server).await, 403, "workspace_suspended");
    assert_eq!(status("reactivate").await.status, 200);

    // Rotated without grace: the old key stops; revoked: refused on the next request.
    let r = call(&s.ann, &s.server, "rotate-app-key", &[("workspace", "Acme"), ("app", &s.app), ("kind", "upload"), ("grace", "none")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (new_key, new_id) = (r.json()["key"].as_str().unwrap().to_string(), r.json()["id"].as_str().unwrap().to_string());
    refused(&Upload::new(&s, "3.0.0", good_bundle()).send(&s.server).await, 401, "key_expired");
    let with_new = Upload { key: &new_key, ..Upload::new(&s, "3.0.0", good_bundle()) };
    let r = with_new.send(&s.server).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(call(&s.ann, &s.server, "revoke-app-key", &[("workspace", "Acme"), ("app", &s.app), ("key", &new_id)]).await.status, 200);
    refused(&Upload { key: &new_key, ..Upload::new(&s, "4.0.0", good_bundle()) }.send(&s.server).await, 401, "key_revoked");

    // Three versions stored, each with its file, and no temporary file left behind.
    let listed = versions(&s).await;
    assert_eq!(listed.len(), 3);
    let files = bundle_files(s.dir.path());
    assert!(files.iter().all(|f| !f.starts_with("tmp/")), "{files:?}");
    for v in &listed {
        let sha = v["sha256"].as_str().unwrap();
        assert!(files.contains(&format!("{}/{sha}.tar.gz", &sha[..2])), "{sha} in {files:?}");
    }
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// `name` joins Acme by invitation as `role`; returns the client and the account id.
async fn join(s: &Setup, name: &str, role: &str) -> (reqwest::Client, String) {
    join_with_id(&s.server, &s.ann, name, role).await
}

/// `name` joins Acme as a Workspace Developer and Ann assigns them Coupons as its developer;
/// returns the client and the account id.
async fn assigned_developer(s: &Setup, name: &str) -> (reqwest::Client, String) {
    let (c, id) = join(s, name, "WorkspaceDeveloper").await;
    let r = call(&s.ann, &s.server, "assign-mini-program", &[("workspace", "Acme"), ("id", &s.mp), ("account", &id), ("role", "developer")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    (c, id)
}

/// A connection to the server, and the head of a Studio upload of `version` signed with
/// `signature`, its other header lines `rest` (each ending in CRLF) last: what to send, and
/// when, is the caller's.
async fn raw_upload(s: &Setup, version: &str, signature: &str, rest: &str) -> (tokio::net::TcpStream, String) {
    let addr = s.server.base.trim_start_matches("http://").to_string();
    let sock = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /api/studio/v1/mini-programs/{}/versions HTTP/1.1\r\nHost: {addr}\r\nMPDP-Version: {version}\r\nMPDP-Signature: {signature}\r\n{rest}\r\n",
        s.mp
    );
    (sock, head)
}

/// Uploads from the console's form; returns where the browser is sent.
async fn browser_upload(c: &reqwest::Client, s: &Setup, version: &str, bundle: Vec<u8>) -> String {
    minis::browser_upload(c, &s.server, &s.mp, version, "from the browser", bundle).await
}

#[tokio::test]
async fn an_assigned_member_uploads_from_the_browser_and_others_are_refused() {
    let s = setup(&[]).await;
    let (dev, dev_id) = join(&s, "dev", "WorkspaceDeveloper").await;
    let (other, _) = join(&s, "other", "WorkspaceDeveloper").await;
    let (rev, _) = join(&s, "rev", "WorkspaceReviewer").await;
    let (blk, blk_id) = join(&s, "blk", "WorkspaceDeveloper").await;
    for id in [&dev_id, &blk_id] {
        let r = call(&s.ann, &s.server, "assign-mini-program", &[("workspace", "Acme"), ("id", &s.mp), ("account", id), ("role", "developer")]).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    assert_eq!(block_member(&s.ann, &s.server, "Acme", &blk_id).await.status, 200);

    // The assigned developer: stored, signed by the platform, named as the uploader.
    let to = browser_upload(&dev, &s, "1.0.0", good_bundle()).await;
    assert!(to.ends_with("?uploaded=1.0.0"), "{to}");
    let listed = versions(&s).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["uploader"], "uploaded from the console by dev");
    assert_eq!(listed[0]["note"], "from the browser");

    // A developer not assigned, a Reviewer, a blocked member: refused, nothing stored.
    for (who, c, needle) in [("not assigned", &other, "No%20such%20mini%20program"), ("reviewer", &rev, "upload"), ("blocked", &blk, "blocked")] {
        let to = browser_upload(c, &s, "2.0.0", good_bundle()).await;
        assert!(to.contains("upload_error=") && to.contains(needle), "{who}: {to}");
    }
    // Bad bundles and versions are refused with the rule, as from the Studio.
    let to = browser_upload(&dev, &s, "1.0.0", good_bundle()).await;
    assert!(to.contains("upload_error=") && to.contains("higher"), "{to}");
    let to = browser_upload(&dev, &s, "3.0.0", tgz(&[("index.js", b"x", b'0')])).await;
    assert!(to.contains("app.json"), "{to}");
    // A version past 64 characters, or a field past its cap, is refused without being echoed.
    let to = browser_upload(&dev, &s, &format!("3.0.0-{}", "a".repeat(60)), good_bundle()).await;
    assert!(to.contains("upload_error=") && to.contains("64%20characters") && to.len() < 400, "{to}");
    let to = browser_upload(&dev, &s, &format!("3.0.0-{}", "a".repeat(200_000)), good_bundle()).await;
    assert!(to.contains("upload_error=") && to.contains("1024%20bytes") && to.len() < 400, "{to}");
    // Signed out: to log in, and back.
    let to = browser_upload(&client(), &s, "3.0.0", good_bundle()).await;
    assert!(to.starts_with("/login?next="), "{to}");
    assert_eq!(versions(&s).await.len(), 1);
    // A bundle of several MiB (over the multipart reader's own 2 MiB default) goes through.
    let big = noisy_bundle(3 << 20, 0x2545_f491_4f6c_dd1d);
    assert!(big.len() > 3 << 20, "{}", big.len());
    let to = browser_upload(&dev, &s, "3.0.0", big).await;
    assert!(to.ends_with("?uploaded=3.0.0"), "{to}");
    let listed = versions(&s).await;
    assert_eq!(listed.len(), 2);
    assert!(listed[0]["size"].as_u64().unwrap() > 3 << 20, "{}", listed[0]);
    assert!(bundle_files(s.dir.path()).iter().all(|f| !f.starts_with("tmp/")));
}

/// A workspace holds bundles up to `--workspace-bundle-mib`, checked before the body is read and
/// again in the write that stores the version (so two uploads at once cannot pass it together),
/// from the Studio and from the console alike.
#[tokio::test]
async fn a_workspace_holds_bundles_up_to_its_quota_even_with_uploads_at_once() {
    let s = setup(&["--workspace-bundle-mib", "1"]).await;
    let kib = |n: usize, seed| noisy_bundle(n * 1024, seed);
    let r = Upload::new(&s, "1.0.0", kib(400, 1)).send(&s.server).await;
    assert_eq!(r.status, 201, "{}", r.body);
    // Two at once, each within the quota on its own but not together: one is stored, the other
    // refused (when it is stored, if both were let in) and its file removed.
    // (Of two mini programs, so that neither is refused for its version whichever commits first.)
    let tickets = create_mini_program(&s.ann, &s.server, "Tickets", "Shopping").await;
    let (a, b) = (Upload::new(&s, "1.1.0", kib(400, 2)), Upload { mp: &tickets, ..Upload::new(&s, "1.0.0", kib(400, 3)) });
    let (ra, rb) = tokio::join!(a.send(&s.server), b.send(&s.server));
    let mut statuses = [ra.status.as_u16(), rb.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [201, 507], "{} / {}", ra.body, rb.body);
    let loser = if ra.status == 507 { &ra } else { &rb };
    refused(loser, 507, "storage_quota_exceeded");
    let stored = || async { versions(&s).await.len() + versions_of(&s, &tickets).await.len() };
    assert_eq!(stored().await, 2);
    assert_eq!(bundle_files(s.dir.path()).len(), 2, "the loser's file is gone");
    // Now about 800 KiB of 1 MiB: 300 KiB more is refused before its body is read.
    let r = Upload::new(&s, "2.0.0", kib(300, 4)).send(&s.server).await;
    refused(&r, 507, "storage_quota_exceeded");
    assert!(r.body.contains("Workspace Acme holds") && r.body.contains("of the 1.0 MiB it may hold"), "{}", r.body);
    assert_eq!(bundle_files(s.dir.path()).len(), 2, "nothing stored");
    // A small one still fits.
    let r = Upload::new(&s, "2.0.0", good_bundle()).send(&s.server).await;
    assert_eq!(r.status, 201, "{}", r.body);
    // From the console, whose form's size is not known before it is read: refused in the write
    // that would store it, and said on the page.
    let to = browser_upload(&s.ann, &s, "3.0.0", kib(300, 5)).await;
    assert!(to.contains("upload_error=") && to.contains("Workspace%20Acme%20holds"), "{to}");
    assert_eq!(stored().await, 3);
    assert_eq!(bundle_files(s.dir.path()).len(), 3);
    // A form with two bundles is refused at the second: one upload, one bundle.
    let bundle = |name: &str| reqwest::multipart::Part::bytes(good_bundle()).file_name(name.to_string());
    let form = reqwest::multipart::Form::new().text("version", "4.0.0").part("bundle", bundle("a.tar.gz")).part("bundle", bundle("b.tar.gz"));
    let r = s.ann.post(s.server.url(&format!("/w/Acme/mini-programs/{}/versions/upload", s.mp))).header("origin", s.server.base.clone()).multipart(form).send().await.unwrap();
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(to.contains("more%20than%20one%20bundle"), "{to}");
    assert_eq!(stored().await, 3);
}

/// The room an upload reserves on the disk is held while its body is read and given back when
/// its client goes away: with room above the floor for one upload, a second is refused while the
/// first hangs, and let in once its connection is gone. Each signs for 1 900 MiB, so it reserves
/// 2 100 MiB (with the 200 MiB its files may unpack to), and the floor leaves 3 150 MiB: what
/// other programs write or free meanwhile may move the free space by a GiB either way.
#[tokio::test]
async fn the_room_an_upload_reserves_is_given_back_when_its_client_goes_away() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const CLAIMED: u64 = 1900 << 20;
    let free_mib = app::server::store::files::available_bytes(&std::env::temp_dir()).unwrap() >> 20;
    assert!(free_mib > 4096, "the test needs 4 GiB free; {free_mib} MiB are");
    let s = setup(&["--max-bundle-mib", "2048", "--min-free-disk-mib", &(free_mib - 3150).to_string()]).await;
    let key = keys::parse_upload_key(&s.upload_key).unwrap();
    let claim = || keys::sign_upload(&key, &s.mp, "1.0.0", &"ab".repeat(32), CLAIMED, now());
    // A probe that signs for 1 900 MiB and sends a few bytes that are no archive: let in, its body is
    // read and refused at once (storing nothing); without room, 507 before anything is read.
    let probe = || async {
        let (mut sock, head) = raw_upload(&s, "1.0.0", &claim(), "Transfer-Encoding: chunked\r\nConnection: close\r\n").await;
        let mut request = head.into_bytes();
        request.extend_from_slice(b"10\r\nnot a gzip file.\r\n0\r\n\r\n");
        let _ = sock.write_all(&request).await;
        let mut answer = String::new();
        let _ = sock.read_to_string(&mut answer).await;
        let status = answer.get(9..12).unwrap_or_default().to_string();
        assert!(["422", "400", "507"].contains(&status.as_str()), "{answer}");
        if status == "507" { "refused" } else { "read" }
    };
    assert_eq!(probe().await, "read", "room for one");
    // An upload that hangs after the first KiB of a real archive: it holds its room.
    let start = noisy_bundle(64 * 1024, 7);
    let (mut sock, head) = raw_upload(&s, "1.0.0", &claim(), &format!("Content-Length: {CLAIMED}\r\n")).await;
    let mut request = head.into_bytes();
    request.extend_from_slice(&start[..1024]);
    sock.write_all(&request).await.unwrap();
    let until = |want: &'static str| async move {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let got = probe().await;
            if got == want {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "still {got}, not {want}");
            tokio::task::yield_now().await;
        }
    };
    until("refused").await;
    drop(sock);
    until("read").await;
    assert!(versions(&s).await.is_empty());
    assert!(bundle_files(s.dir.path()).is_empty(), "{:?}", bundle_files(s.dir.path()));
}

/// A disk whose free space is below `--min-free-disk-mib` (beyond what the uploads in progress
/// may write) takes no upload, from the Studio or the console, and reads nothing of it.
#[tokio::test]
async fn a_disk_near_its_floor_refuses_uploads_before_their_body_is_read() {
    let s = setup(&["--min-free-disk-mib", "16777216"]).await;
    let r = Upload::new(&s, "1.0.0", good_bundle()).send(&s.server).await;
    refused(&r, 507, "insufficient_storage");
    let to = browser_upload(&s.ann, &s, "1.0.0", good_bundle()).await;
    assert!(to.contains("upload_error=") && to.contains("disk%20is%20nearly%20full"), "{to}");
    assert!(versions(&s).await.is_empty());
    assert!(bundle_files(s.dir.path()).is_empty());
}

/// The assign form's members come from `assignable-members`: a page by username, narrowed by `q`
/// (username or email), blocked members never; only those who may assign can ask, and only those
/// who may view the members see, or search, their emails.
#[tokio::test]
async fn the_members_to_assign_are_a_page_narrowed_by_a_search() {
    let s = setup(&[]).await;
    let (dev, _) = join(&s, "dev", "WorkspaceDeveloper").await;
    let (mpa, _) = join(&s, "mpa", "MiniProgramAdmin").await;
    let ask = |q: &str| {
        let (c, server, q) = (s.ann.clone(), &s.server, q.to_string());
        async move { call(&c, server, "assignable-members", &[("workspace", "Acme"), ("q", q.as_str())]).await }
    };
    let all = ask("").await;
    assert_eq!(all.status, 200, "{}", all.body);
    let all = all.json();
    let labels: Vec<&str> = all["members"].as_array().unwrap().iter().map(|m| m["label"].as_str().unwrap()).collect();
    assert_eq!(labels.iter().map(|l| l.split(' ').next().unwrap()).collect::<Vec<_>>(), ["ann", "dev", "mpa"], "{all}");
    assert_eq!(all["more"], false);
    let found = ask("  MPA@ ").await.json();
    assert_eq!(found["members"].as_array().unwrap().len(), 1, "{found}");
    assert!(found["members"][0]["label"].as_str().unwrap().starts_with("mpa ("), "{found}");
    assert_eq!(ask("nobody").await.json()["members"].as_array().unwrap().len(), 0);
    // Without q: the same as an empty search.
    let r = call(&s.ann, &s.server, "assignable-members", &[("workspace", "Acme")]).await;
    assert_eq!(r.json()["members"].as_array().unwrap().len(), 3);
    assert_eq!(all["by_email"], true);
    // A Mini Program Admin assigns, but may not view the members: usernames and roles only,
    // and a search by email finds nobody.
    let seen = call(&mpa, &s.server, "assignable-members", &[("workspace", "Acme"), ("q", "")]).await.json();
    assert_eq!(seen["by_email"], false);
    assert!(!seen.to_string().contains("@example.com"), "{seen}");
    assert_eq!(seen["members"][1]["label"], "dev — Workspace Developer", "{seen}");
    let by_email = call(&mpa, &s.server, "assignable-members", &[("workspace", "Acme"), ("q", "dev@")]).await.json();
    assert_eq!(by_email["members"].as_array().unwrap().len(), 0, "{by_email}");
    // A developer may not assign, so may not list them either.
    assert_eq!(call(&dev, &s.server, "assignable-members", &[("workspace", "Acme"), ("q", "ann")]).await.status, 403);
}

#[tokio::test]
async fn a_mini_program_is_edited_by_its_admins_only_and_by_its_rules() {
    let s = setup(&[]).await;
    let (dev, dev_id) = join(&s, "dev", "WorkspaceDeveloper").await;
    let (mpa, _) = join(&s, "mpa", "MiniProgramAdmin").await;
    let r = call(&s.ann, &s.server, "assign-mini-program", &[("workspace", "Acme"), ("id", &s.mp), ("account", &dev_id), ("role", "developer")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let edit = |c: &reqwest::Client, name: &str, category: &str, icon: &str| {
        let (c, server, mp) = (c.clone(), &s.server, s.mp.clone());
        let (name, category, icon) = (name.to_string(), category.to_string(), icon.to_string());
        async move {
            call(&c, server, "edit-mini-program", &[("workspace", "Acme"), ("id", mp.as_str()), ("name", name.as_str()), ("description", "Save on every order"), ("category", category.as_str()), ("icon", icon.as_str())]).await
        }
    };
    // Its admin (here the Workspace Admin who made it) changes it; the audit log says what changed.
    let r = edit(&s.ann, "Coupons Plus", "Finance", "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let p = call(&s.ann, &s.server, "get-mini-program", &[("workspace", "Acme"), ("id", &s.mp)]).await.json();
    assert_eq!((p["name"].as_str(), p["category"].as_str(), p["description"].as_str()), (Some("Coupons Plus"), Some("Finance"), Some("Save on every order")));
    let log = workspace_audit(&s.ann, &s.server, "Acme", "mini_program.edited", "").await.json();
    assert!(log["items"][0]["details"].as_str().unwrap().contains("name Coupons → Coupons Plus"), "{log}");
    // A developer of it, and a Mini Program Admin who is not its admin: refused.
    assert_eq!(edit(&dev, "Mine", "Finance", "").await.status, 403);
    let r = edit(&mpa, "Mine", "Finance", "").await;
    assert_eq!(r.status, 403, "{}", r.body);
    // The rules: a category from the list, an image for an icon, a name not taken, a change.
    for (name, category, icon, status, field) in [
        ("Coupons Plus", "Weapons", "", 422, "Category"),
        ("Coupons Plus", "Finance", "aGVsbG8gd29ybGQ=", 422, "Icon"),
        ("Coupons Plus", "Finance", "", 422, "Mini Program Name"),
        ("", "Finance", "", 422, "Mini Program Name"),
    ] {
        let r = edit(&s.ann, name, category, icon).await;
        assert_eq!((r.status.as_u16(), r.field().as_deref()), (status, Some(field)), "{}", r.body);
    }
    let r = call(&s.ann, &s.server, "create-mini-program", &[("workspace", "Acme"), ("name", "Parking"), ("category", "Utilities")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = edit(&s.ann, "PARKING", "Finance", "").await;
    assert_eq!(r.status, 409, "{}", r.body);
}

/// A raw tar header block: any name, type and declared size (the checksum set).
fn raw_header(name: &[u8], kind: u8, size: u64) -> Vec<u8> {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name);
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    h[136..148].copy_from_slice(b"00000000000\0");
    h[156] = kind;
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|b| *b as u32).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h.to_vec()
}

/// Raw tar entries (no end blocks), each padded to 512 bytes.
fn tar_entries(entries: &[(&[u8], u8, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, kind, data) in entries {
        out.extend(raw_header(name, *kind, data.len() as u64));
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out
}

/// A GNU long-name entry declaring `size` bytes, followed by that many zeros, then app.json:
/// half a megabyte on the wire.
fn long_name_bomb(size: u64) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(&raw_header(b"././@LongLink", b'L', size)).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..size / zeros.len() as u64 {
        e.write_all(&zeros).unwrap();
    }
    e.write_all(&tar_entries(&[(b"app.json", b'0', b"{}")])).unwrap();
    e.write_all(&[0u8; 1024]).unwrap();
    e.finish().unwrap()
}

/// The server's resident memory, from /proc.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)).unwrap().parse().unwrap()
}

#[tokio::test]
async fn hostile_archives_are_refused_by_rule_and_store_nothing() {
    let s = setup(&[]).await;
    // Two gzip members: app.json in the first (no end blocks); in the second `..` paths, a link
    // out of the bundle and a file written through it — what every unpacker would also read.
    let mut two_members = gz(&tar_entries(&[(b"app.json", b'0', b"{}")]));
    let mut second = tar_entries(&[(b"../../x", b'0', b"x")]);
    let mut link = raw_header(b"escape", b'2', 0);
    link[157..161].copy_from_slice(b"/tmp");
    link[148..156].copy_from_slice(b"        ");
    let sum: u32 = link.iter().map(|b| *b as u32).sum();
    link[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    second.extend(link);
    second.extend(tar_entries(&[(b"escape/y", b'0', b"y")]));
    second.extend_from_slice(&[0u8; 1024]);
    two_members.extend(gz(&second));
    // A PAX header saying `path=ok.js` before an entry whose ustar name is `../evil.js`.
    let mut pax = tar_entries(&[(b"app.json", b'0', b"{}"), (b"PaxHeader/evil", b'x', b"14 path=ok.js\n"), (b"../evil.js", b'0', b"x")]);
    pax.extend_from_slice(&[0u8; 1024]);
    // Data after the end blocks.
    let mut trailing = tar_entries(&[(b"app.json", b'0', b"{}")]);
    trailing.extend_from_slice(&[0u8; 1024]);
    trailing.extend(tar_entries(&[(b"late.js", b'0', b"x")]));
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("two gzip members", two_members, "archive_trailing_data"),
        ("a PAX path over a ustar ..", gz(&pax), "archive_path_mismatch"),
        ("data after the end of the archive", gz(&trailing), "archive_trailing_data"),
        ("a 512 MiB GNU long name", long_name_bomb(512 << 20), "archive_extension_header"),
        ("a huge PAX header", gz(&[raw_header(b"PaxHeader/x", b'x', 1 << 30), vec![b'a'; 4096]].concat()), "archive_extension_header"),
        ("two files, one path ignoring case", tgz(&[("app.json", b"{}", b'0'), ("A.js", b"1", b'0'), ("a.js", b"2", b'0')]), "archive_duplicate_path"),
    ];
    let before = rss_kib(s.server.pid());
    for (what, body, code) in cases {
        assert!(body.len() < 1 << 20, "{what}: {} bytes on the wire", body.len());
        let r = Upload::new(&s, "1.0.0", body).send(&s.server).await;
        assert_eq!(r.status, 422, "{what}: {}", r.body);
        refused(&r, 422, code);
    }
    // The long name was refused from its header: the server did not grow by the name's size.
    let after = rss_kib(s.server.pid());
    assert!(after < before + 128 * 1024, "RSS grew from {before} KiB to {after} KiB");
    assert!(versions(&s).await.is_empty());
    assert!(bundle_files(s.dir.path()).is_empty(), "{:?}", bundle_files(s.dir.path()));

    // The stored bundle is the canonical re-pack: the listing and the file agree, and a well-formed
    // upload that was not canonical is stored canonical.
    let r = Upload::new(&s, "1.0.0", tgz(&[("index.js", b"x", b'0'), ("app.json", b"{}", b'0')])).send(&s.server).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let sha = r.json()["version"]["sha256"].as_str().unwrap().to_string();
    let stored = std::fs::read(s.dir.path().join("bundles").join(&sha[..2]).join(format!("{sha}.tar.gz"))).unwrap();
    assert_eq!(keys::sha256_hex(&stored), sha);
    let mut names = Vec::new();
    let mut a = tar::Archive::new(flate2::read::MultiGzDecoder::new(&stored[..]));
    for e in a.entries().unwrap() {
        names.push(e.unwrap().path().unwrap().to_str().unwrap().to_string());
    }
    assert_eq!(names, ["app.json", "index.js"]);
}

#[tokio::test]
async fn a_forged_signature_is_refused_before_the_body_is_read() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = setup(&["--max-bundle-mib", "1"]).await;
    // A real key id and mini program id (what every manifest carries), a made-up signature, and
    // a body announced far larger than the limit that is never sent: the answer comes anyway.
    let real = keys::SignatureHeader::parse(&Upload::new(&s, "1.0.0", good_bundle()).header()).unwrap();
    let forged = keys::SignatureHeader { sha256: Some("00".repeat(32)), size: Some(64 << 20), sig: "A".repeat(86), ..real };
    let (mut sock, head) = raw_upload(&s, "1.0.0", &forged.render(), &format!("Content-Length: {}\r\n", 64u64 << 20)).await;
    // The head and the first bytes of the body in one write; the server may answer and close
    // before it would take more, so a failed write is not the test's concern: the answer is.
    let mut request = head.into_bytes();
    request.extend_from_slice(&long_name_bomb(8 << 20)[..4096]);
    let _ = sock.write_all(&request).await;
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(20), sock.read(&mut answer)).await.expect("answered without the body").unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(answer.contains("bad_signature"), "{answer}");
    // The refused request wrote nothing: its nonce is still unused, so the same header signed
    // properly... is a new request the key holder could still send.
    assert!(versions(&s).await.is_empty());
    assert!(bundle_files(s.dir.path()).is_empty());

    // A chunked body longer than the signed size is refused as not the signed bytes.
    let body = good_bundle();
    let up = Upload::new(&s, "1.0.0", body.clone());
    let mut padded = body;
    padded.extend_from_slice(&[0u8; 4096]);
    let (mut sock, head) = raw_upload(&s, "1.0.0", &up.header(), "Transfer-Encoding: chunked\r\nConnection: close\r\n").await;
    // The whole request in one write: the server answers as soon as it has read past the signed
    // size, and may close before the last chunks are taken — the answer is what is checked.
    let mut request = head.into_bytes();
    for chunk in padded.chunks(1000) {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let _ = sock.write_all(&request).await;
    let mut answer = Vec::new();
    let _ = sock.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400") && answer.contains("bundle_mismatch"), "{answer}");
    assert!(versions(&s).await.is_empty());
}

#[tokio::test]
async fn parallel_uploads_of_one_key_are_capped() {
    let s = setup(&[]).await;
    // Hold two uploads open (headers sent, body pending); the third is refused at once.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = good_bundle();
    let mut open = Vec::new();
    for v in ["1.0.0", "1.0.1"] {
        let up = Upload::new(&s, v, body.clone());
        let rest = format!("Content-Length: {}\r\nExpect: 100-continue\r\n", body.len());
        let (mut sock, head) = raw_upload(&s, v, &up.header(), &rest).await;
        sock.write_all(head.as_bytes()).await.unwrap();
        // The server takes the upload slot before it reads the body, and asks for the body
        // (`100 Continue`) when it first reads it: from then on the slot is held.
        let mut answered = Vec::new();
        while !answered.windows(4).any(|w| w == b"\r\n\r\n") {
            let mut byte = [0u8; 1];
            let n = tokio::time::timeout(std::time::Duration::from_secs(30), sock.read(&mut byte))
                .await
                .expect("the server asks for the body within 30 s")
                .unwrap();
            assert_eq!(n, 1, "the server closed the upload of {v} before asking for its body: {}", String::from_utf8_lossy(&answered));
            answered.push(byte[0]);
        }
        let answered = String::from_utf8_lossy(&answered);
        assert!(answered.starts_with("HTTP/1.1 100 Continue\r\n"), "upload of {v}: {answered}");
        sock.write_all(&body[..10]).await.unwrap();
        open.push(sock);
    }
    refused(&Upload::new(&s, "1.0.2", body.clone()).send(&s.server).await, 429, "too_many_uploads");
    // When they end, the key uploads again: a held-open upload's connection ends only after its
    // handler has returned, which frees its slot.
    for mut sock in open {
        sock.shutdown().await.unwrap();
        let mut rest = Vec::new();
        let _ = sock.read_to_end(&mut rest).await;
    }
    let r = Upload::new(&s, "1.0.2", body).send(&s.server).await;
    assert_eq!(r.status, 201, "{}", r.body);
}

#[tokio::test]
async fn forged_uploads_past_the_budget_are_answered_late_and_signed_ones_are_not_held() {
    let s = setup(&[]).await;
    let body = good_bundle();
    // Signed by a stranger's key under the App's key id: a fresh nonce each time.
    let real = keys::SignatureHeader::parse(&Upload::new(&s, "1.0.0", body.clone()).header()).unwrap();
    let stranger = keys::parse_upload_key(&keys::new_upload_key().0).unwrap();
    let forged = || {
        let h = keys::sign_upload(&stranger, &s.mp, "1.0.0", &keys::sha256_hex(&body), body.len() as u64, now());
        keys::SignatureHeader { key: real.key.clone(), ..keys::SignatureHeader::parse(&h).unwrap() }.render()
    };
    // Within the budget, each forged upload is refused at once (nothing waits).
    for _ in 0..app::server::studio::REFUSALS_PER_ADDRESS {
        refused(&Upload::new(&s, "1.0.0", body.clone()).send_with(&s.server, Some(forged())).await, 401, "bad_signature");
    }
    // Past it, the refusal is the same 401, but it is not answered before the delay.
    let started = std::time::Instant::now();
    let late = Upload::new(&s, "1.0.0", body.clone());
    let late = late.send_with(&s.server, Some(forged()));
    tokio::pin!(late);
    assert!(
        tokio::time::timeout(app::server::studio::REFUSAL_DELAY / 2, &mut late).await.is_err(),
        "a refusal past the budget must wait before it is answered"
    );
    refused(&late.await, 401, "bad_signature");
    assert!(started.elapsed() >= app::server::studio::REFUSAL_DELAY);
    // The key holder, from the same address, is not held: a signed upload is stored.
    let r = Upload::new(&s, "1.0.0", body).send(&s.server).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(versions(&s).await.len(), 1);
}

/// `c` makes a personal access token named `name` for `workspace` with `scopes`, expiring in
/// `days`; the token, as the account page shows it once.
async fn access_token(c: &reqwest::Client, s: &Setup, workspace: &str, scopes: &[&str], days: &str) -> String {
    let names: Vec<String> = (0..scopes.len()).map(|i| format!("scopes[{i}]")).collect();
    let mut form: Vec<(&str, &str)> = vec![("name", "ci"), ("workspace", workspace), ("days", days)];
    form.extend(names.iter().map(String::as_str).zip(scopes.iter().copied()));
    let r = call(c, &s.server, "create-access-token", &form).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The account page opened by another site (a link, or a window it opened) does not take it.
    let r = c.get(s.server.url("/account")).header("sec-fetch-site", "cross-site").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let token = call(c, &s.server, "new-access-token", &[]).await.json();
    assert_eq!(call(c, &s.server, "new-access-token", &[]).await.json(), serde_json::Value::Null, "shown once");
    token.as_str().unwrap().to_string()
}

fn studio_with_token(s: &Setup, command: &str, token: &str, version: &str, dir: &str) -> std::process::Output {
    let mut args = vec![command, "--server", &s.server.base, "--key", &s.upload_key, "--mini-program", &s.mp];
    if command == "upload" {
        args.extend(["--version", version, dir]);
    }
    Command::new(bin()).arg("studio").args(&args).env("MPDP_TOKEN", token).output().unwrap()
}

fn refused_with(out: &std::process::Output, code: &str) {
    assert!(!out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(code), "{code}: {stderr}");
}

#[tokio::test]
async fn a_personal_access_token_names_the_uploader_beside_the_key_and_is_checked_with_it() {
    let s = setup(&[]).await;
    let src = bundle_dir();
    let dir = src.path().to_str().unwrap();
    let (dev, _) = assigned_developer(&s, "dev").await;
    let (eve, _) = join(&s, "eve", "WorkspaceDeveloper").await;

    // Made on the account page: refusals name the field.
    let r = call(&dev, &s.server, "create-access-token", &[("name", "ci"), ("workspace", "Acme"), ("days", "400"), ("scopes[0]", "upload")]).await;
    expect_field(&r, 422, "Expires in");
    let r = call(&dev, &s.server, "create-access-token", &[("name", "ci"), ("workspace", "Other"), ("days", "30"), ("scopes[0]", "upload")]).await;
    expect_field(&r, 422, "Workspace");
    assert_eq!(call(&dev, &s.server, "my-access-tokens", &[]).await.json(), serde_json::json!([]));

    // The upload is signed by the App's key and names dev; the version and the audit log say so.
    let token = access_token(&dev, &s, "Acme", &["upload", "read"], "30").await;
    assert!(token.starts_with("mppat_"));
    let out = studio_with_token(&s, "upload", &token, "1.0.0", dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listed = versions(&s).await;
    assert!(listed[0]["uploader"].as_str().unwrap().starts_with("dev with Upload Key"), "{listed:?}");
    let log = workspace_audit(&s.ann, &s.server, "Acme", "mini_program.version_uploaded", "").await.json();
    assert_eq!(log["items"][0]["actor"], "dev", "{log}");
    assert!(log["items"][0]["details"].as_str().unwrap().contains("personal access token"), "{log}");
    let mine = call(&dev, &s.server, "my-access-tokens", &[]).await.json();
    assert!(mine[0]["last_used"].is_string(), "{mine}");
    let out = studio_with_token(&s, "versions", &token, "", "");
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("1.0.0"), "{}", String::from_utf8_lossy(&out.stderr));

    // Out of scope, out of its workspace, for a member who may not upload: refused, nothing stored.
    let read_only = access_token(&dev, &s, "Acme", &["read"], "30").await;
    refused_with(&studio_with_token(&s, "upload", &read_only, "1.1.0", dir), "token_scope");
    let upload_only = access_token(&dev, &s, "Acme", &["upload"], "30").await;
    refused_with(&studio_with_token(&s, "versions", &upload_only, "", ""), "token_scope");
    apply_and_generate(&s.op, &s.server, &s.ann, "Other", "Ann Lee <ann@example.com>").await;
    let elsewhere = access_token(&s.ann, &s, "Other", &["upload"], "30").await;
    refused_with(&studio_with_token(&s, "upload", &elsewhere, "1.1.0", dir), "token_workspace");
    let unassigned = access_token(&eve, &s, "Acme", &["upload"], "30").await;
    refused_with(&studio_with_token(&s, "upload", &unassigned, "1.1.0", dir), "not_found");
    refused_with(&studio_with_token(&s, "upload", "mppat_nonsense", "1.1.0", dir), "--token");
    let forged = format!("mppat_{}", "A".repeat(43));
    refused_with(&studio_with_token(&s, "upload", &forged, "1.1.0", dir), "token_invalid");
    // A header that is not a bearer token is refused before anything else.
    let sig = keys::sign_upload(&keys::parse_upload_key(&s.upload_key).unwrap(), &s.mp, "1.1.0", &"0".repeat(64), 10, now());
    let r = client()
        .post(s.server.url(&format!("/api/studio/v1/mini-programs/{}/versions", s.mp)))
        .header("mpdp-signature", sig)
        .header("mpdp-version", "1.1.0")
        .header("authorization", "Basic ZGV2OnB3")
        .body(vec![0u8; 10])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.text().await.unwrap().contains("token_malformed"));

    // Revoked: at once. Expired: after its days. Blocked: at once, whatever the token.
    let revoked = access_token(&dev, &s, "Acme", &["upload"], "30").await;
    let id = call(&dev, &s.server, "my-access-tokens", &[]).await.json()[0]["id"].as_str().unwrap().to_string();
    assert_eq!(call(&eve, &s.server, "revoke-access-token", &[("id", &id)]).await.status, 404, "not eve's");
    assert_eq!(call(&dev, &s.server, "revoke-access-token", &[("id", &id)]).await.status, 200);
    refused_with(&studio_with_token(&s, "upload", &revoked, "1.1.0", dir), "token_invalid");
    let short = access_token(&dev, &s, "Acme", &["upload"], "1").await;
    let (blk, blk_id) = assigned_developer(&s, "blk").await;
    let blocked = access_token(&blk, &s, "Acme", &["upload"], "30").await;
    expect(&block_member(&s.ann, &s.server, "Acme", &blk_id).await, 200, "block blk");
    refused_with(&studio_with_token(&s, "upload", &blocked, "1.1.0", dir), "blocked");
    assert_eq!(versions(&s).await.len(), 1, "only the first upload was stored");
    // Without a token, the key alone still uploads, as before.
    let out = studio(&["upload", "--server", &s.server.base, "--key", &s.upload_key, "--mini-program", &s.mp, "--version", "1.1.0", dir]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // A day later the one-day token has expired (signed by hand at the server's moved clock).
    let day = 86_400 + 60;
    s.server.advance(std::time::Duration::from_secs(day));
    let sig = keys::sign_upload(&keys::parse_upload_key(&s.upload_key).unwrap(), &s.mp, "1.2.0", &"0".repeat(64), 10, now() + day as i64);
    let r = client()
        .post(s.server.url(&format!("/api/studio/v1/mini-programs/{}/versions", s.mp)))
        .header("mpdp-signature", sig)
        .header("mpdp-version", "1.2.0")
        .header("authorization", format!("Bearer {short}"))
        .body(vec![0u8; 10])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let body = r.text().await.unwrap();
    assert!(body.contains("token_invalid") && body.contains("expired"), "{body}");
    let _ = token;
}

/// A token outlives the session that makes it, so a session that signed in more than two hours
/// ago (a stolen cookie, say) makes none until the person signs in again; the login page lets a
/// signed-in person do that, and approving a device's code waits for it too.
#[tokio::test]
async fn a_session_that_signed_in_hours_ago_signs_in_again_before_it_makes_a_token() {
    let s = setup(&[]).await;
    let (dev, _) = assigned_developer(&s, "dev").await;
    s.server.advance(std::time::Duration::from_secs(2 * 3600 + 60));
    let form = [("name", "ci"), ("workspace", "Acme"), ("days", "30"), ("scopes[0]", "upload")];
    let r = call(&dev, &s.server, "create-access-token", &form).await;
    assert_eq!((r.status.as_u16(), r.kind()), (403, "sign_in_again".to_string()), "{}", r.body);
    assert!(r.json()["message"].as_str().unwrap().starts_with("To make a personal access token, sign in again first"), "{}", r.body);
    assert_eq!(call(&dev, &s.server, "my-access-tokens", &[]).await.json(), serde_json::json!([]), "nothing made");
    // The session itself still works for everything else.
    assert_eq!(call(&dev, &s.server, "my-passkeys", &[]).await.status, 200);
    // Approving a device's code waits for the fresh sign-in too.
    let started: serde_json::Value = client()
        .post(s.server.url("/api/device/v1/code"))
        .form(&[("client_id", "mpdp-cli")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let code = started["user_code"].as_str().unwrap();
    let approve = [("code", code), ("name", "laptop"), ("workspace", "Acme"), ("days", "30"), ("scopes[0]", "upload")];
    let r = call(&dev, &s.server, "approve-device", &approve).await;
    assert_eq!((r.status.as_u16(), r.kind()), (403, "sign_in_again".to_string()), "{}", r.body);
    // Without JavaScript the form's page shows the refusal with the way on.
    let r = dev
        .post(s.server.url("/api/create-access-token"))
        .header("accept", "text/html")
        .header("referer", s.server.url("/account"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let back = r.headers()["location"].to_str().unwrap().to_string();
    assert!(back.contains("__err="), "{back}");
    let back = if back.starts_with('/') { s.server.url(&back) } else { back };
    let shown = dev.get(back).header("sec-fetch-site", "same-origin").send().await.unwrap().text().await.unwrap();
    assert!(shown.contains("sign in again first") && shown.contains(r#"href="/login?again=1&amp;next=%2Faccount"#), "{shown}");
    // The login page: to a signed-in person it says so, unless it was sent to sign in again.
    let page = |path: &'static str| {
        let dev = dev.clone();
        let url = s.server.url(path);
        async move { dev.get(url).send().await.unwrap().text().await.unwrap() }
    };
    assert!(page("/login?next=%2Faccount").await.contains("You are logged in"));
    let again = page("/login?again=1&next=%2Faccount%23tokens").await;
    assert!(again.contains("Sign in again to confirm it is you") && again.contains(r#"name="password""#), "{again}");
    // Signed in again, in the same browser: a fresh session, which may.
    expect(&log_in(&dev, &s.server, "dev", PASSWORD).await, 200, "dev signs in again");
    access_token(&dev, &s, "Acme", &["upload"], "30").await;
    expect(&call(&dev, &s.server, "approve-device", &approve).await, 200, "approve the device");
}

/// `mpdp studio login` against the server, its config directory `config`: the child, and the
/// user code it shows once it asks for approval.
fn studio_login(s: &Setup, config: &Path) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = Command::new(bin())
        .args(["studio", "login", "--server", &s.server.base])
        .env("MPDP_CONFIG_DIR", config)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let code = loop {
        let line = lines.next().expect("the login shows a code").unwrap();
        if let Some(rest) = line.split("enter the code ").nth(1) {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (child, code)
}

#[tokio::test]
async fn studio_login_gets_a_token_approved_in_the_browser_and_uploads_name_the_person() {
    let s = setup(&[]).await;
    let src = bundle_dir();
    let dir = src.path().to_str().unwrap();
    let (dev, _) = assigned_developer(&s, "dev").await;
    let config = DataDir::new();

    // Denied in the browser: the command line says so and keeps nothing.
    let (child, code) = studio_login(&s, config.path());
    assert_eq!(call(&dev, &s.server, "device-request", &[("code", &code.to_lowercase())]).await.json()["user_code"], code.as_str());
    assert_eq!(call(&dev, &s.server, "deny-device", &[("code", &code)]).await.status, 200);
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(!config.path().join("credentials.json").exists());

    // Approved: the token is kept, readable by the user only, and uploads name dev.
    let (child, code) = studio_login(&s, config.path());
    let approve = |workspace: &'static str, code: String| {
        let (dev, server) = (dev.clone(), &s.server);
        async move { call(&dev, server, "approve-device", &[("code", &code), ("name", "laptop"), ("workspace", workspace), ("scopes[0]", "upload"), ("scopes[1]", "read"), ("days", "30")]).await }
    };
    expect_field(&approve("Nowhere", code.clone()).await, 422, "Workspace");
    assert_eq!(approve("Acme", code.clone()).await.status, 200);
    expect_field(&approve("Acme", code.clone()).await, 422, "Code");
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains("for the workspace Acme (upload read)"));
    let file = config.path().join("credentials.json");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    let kept: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert!(kept[&s.server.base].as_str().unwrap().starts_with("mppat_"), "{kept}");
    let out = Command::new(bin())
        .args(["studio", "upload", "--server", &s.server.base, "--key", &s.upload_key, "--mini-program", &s.mp, "--version", "1.0.0", dir])
        .env("MPDP_CONFIG_DIR", config.path())
        .env_remove("MPDP_TOKEN")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let log = workspace_audit(&s.ann, &s.server, "Acme", "mini_program.version_uploaded", "").await.json();
    assert_eq!(log["items"][0]["actor"], "dev", "{log}");
    let mine = call(&dev, &s.server, "my-access-tokens", &[]).await.json();
    assert_eq!(mine[0]["name"], "laptop");

    // The endpoints' own refusals (RFC 8628 / RFC 6749 error codes).
    let post = |path: &'static str, form: Vec<(&'static str, String)>| {
        let url = s.server.url(path);
        async move {
            let r = client().post(url).form(&form).send().await.unwrap();
            (r.status().as_u16(), r.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (status, body) = post("/api/device/v1/code", vec![("client_id", "someone".into())]).await;
    assert_eq!((status, body["error"].as_str().unwrap()), (401, "invalid_client"));
    let (_, started) = post("/api/device/v1/code", vec![("client_id", "mpdp-cli".into())]).await;
    let device_code = started["device_code"].as_str().unwrap().to_string();
    let poll = |device_code: String| post("/api/device/v1/token", vec![("grant_type", "urn:ietf:params:oauth:grant-type:device_code".into()), ("device_code", device_code), ("client_id", "mpdp-cli".into())]);
    assert_eq!(poll(device_code.clone()).await.1["error"], "authorization_pending");
    assert_eq!(poll(device_code.clone()).await.1["error"], "slow_down", "asked again at once");
    assert_eq!(poll("mpdc_unknown".into()).await.1["error"], "invalid_grant");
    let (status, body) = post("/api/device/v1/token", vec![("grant_type", "password".into())]).await;
    assert_eq!((status, body["error"].as_str().unwrap()), (400, "unsupported_grant_type"));
    s.server.advance(std::time::Duration::from_secs(601));
    assert_eq!(poll(device_code.clone()).await.1["error"], "expired_token");
    let user_code = started["user_code"].as_str().unwrap().to_string();
    expect_field(&call(&dev, &s.server, "device-request", &[("code", &user_code)]).await, 422, "Code");
}

#[tokio::test]
async fn studio_publish_applies_for_review_with_a_token_as_the_person_could_in_the_console() {
    let s = setup(&[]).await;
    let src = bundle_dir();
    let dir = src.path().to_str().unwrap();
    let out = studio(&["upload", "--server", &s.server.base, "--key", &s.upload_key, "--mini-program", &s.mp, "--version", "1.0.0", dir]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (dev, _) = assigned_developer(&s, "dev").await;
    let publish = |token: &str, version: &str, app: &str| {
        Command::new(bin())
            .args(["studio", "publish", "--server", &s.server.base, "--mini-program", &s.mp, "--version", version, "--app", app, "--rollout", "10", "--note", "from CI"])
            .env("MPDP_TOKEN", token)
            .env("MPDP_CONFIG_DIR", s.dir.path())
            .output()
            .unwrap()
    };
    // Refused: a token without the scope; a developer (only a mini program's admin or a
    // Workspace Admin applies); an App of no workspace; a version that is not the newest.
    let upload_only = access_token(&s.ann, &s, "Acme", &["upload"], "30").await;
    refused_with(&publish(&upload_only, "1.0.0", &s.app), "token_scope");
    let dev_token = access_token(&dev, &s, "Acme", &["publish"], "30").await;
    refused_with(&publish(&dev_token, "1.0.0", &s.app), "forbidden");
    let ann_token = access_token(&s.ann, &s, "Acme", &["publish"], "30").await;
    refused_with(&publish(&ann_token, "1.0.0", "00000000-0000-7000-8000-000000000000"), "Apps");
    refused_with(&publish(&ann_token, "0.9.0", &s.app), "Version");
    let r = client().post(s.server.url(&format!("/api/studio/v1/mini-programs/{}/publishing", s.mp))).body("{}").send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401, "no token");
    let r = client()
        .post(s.server.url(&format!("/api/studio/v1/mini-programs/{}/publishing", s.mp)))
        .header("authorization", format!("Bearer {ann_token}"))
        .body(vec![b'x'; 70_000])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413, "a body past the limit is not read");
    const LIST: &[(&str, &str)] = &[("workspace", "Acme"), ("category", ""), ("status", ""), ("q", ""), ("sort", ""), ("cursor", "")];
    assert_eq!(call(&s.ann, &s.server, "list-approvals", LIST).await.json()["items"].as_array().unwrap().len(), 0, "nothing was filed");

    // Ann's token applies, as ann: the application is hers, at 10 % rollout, in review.
    let out = publish(&ann_token, "1.0.0", &s.app);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("/w/Acme/approvals/"), "{}", String::from_utf8_lossy(&out.stdout));
    let list = call(&s.ann, &s.server, "list-approvals", LIST).await.json();
    assert_eq!(list["items"][0]["applicant"], "ann", "{list}");
    assert_eq!(versions(&s).await[0]["state"], "InReview");
    refused_with(&publish(&ann_token, "1.0.0", &s.app), "Version");
}

/// A token revoked while its publish request is still being sent files nothing, and stays
/// revoked: the token is checked again in the transaction that files the application. The
/// request asks `Expect: 100-continue`, so the server says when it has checked the token and
/// begins to read the body; the token is revoked then, before the body is sent.
#[tokio::test]
async fn a_token_revoked_while_its_publish_request_is_read_files_nothing() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = setup(&[]).await;
    let src = bundle_dir();
    let out = studio(&["upload", "--server", &s.server.base, "--key", &s.upload_key, "--mini-program", &s.mp, "--version", "1.0.0", src.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = access_token(&s.ann, &s, "Acme", &["publish"], "30").await;
    let id = call(&s.ann, &s.server, "my-access-tokens", &[]).await.json()[0]["id"].as_str().unwrap().to_string();

    let body = serde_json::json!({ "version": "1.0.0", "apps": [s.app] }).to_string();
    let addr = s.server.base.trim_start_matches("http://").to_string();
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /api/studio/v1/mini-programs/{}/publishing HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        s.mp,
        body.len()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = conn.read(&mut buf).await.unwrap();
        assert!(n > 0, "the server closed the connection: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    let interim = String::from_utf8_lossy(&seen).to_string();
    assert!(interim.starts_with("HTTP/1.1 100"), "the token held, so the body is asked for: {interim}");

    assert_eq!(call(&s.ann, &s.server, "revoke-access-token", &[("id", &id)]).await.status, 200);
    conn.write_all(body.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    while !String::from_utf8_lossy(&answer).contains("token_invalid") && !String::from_utf8_lossy(&answer).contains("application") {
        let n = conn.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
    }
    let answer = String::from_utf8_lossy(&answer).to_string();
    assert!(answer.starts_with("HTTP/1.1 401") && answer.contains("token_invalid"), "{answer}");
    const LIST: &[(&str, &str)] = &[("workspace", "Acme"), ("category", ""), ("status", ""), ("q", ""), ("sort", ""), ("cursor", "")];
    assert_eq!(call(&s.ann, &s.server, "list-approvals", LIST).await.json()["items"].as_array().unwrap().len(), 0, "nothing was filed");
    assert_eq!(versions(&s).await[0]["state"], "Uploaded");
    let mine = call(&s.ann, &s.server, "my-access-tokens", &[]).await.json();
    assert!(mine[0]["revoked"].is_string(), "the token stays revoked: {mine}");
}
