//! Publishing releases to a real S3-compatible store (SeaweedFS, SigV4 checked) with the real
//! binary: a release appears in the bucket, every change containers would see is reflected (a
//! rollout change, a pause, a rollback, a key rotation and revocation, a suspension, a removal),
//! nothing is lost to a `kill -9` or a store that is down for a while, `mpdp publish check` finds
//! what someone changed in the bucket and `sync` repairs it, and installs polling the published
//! documents through a caching CDN (nginx) see the same split as the origin's.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use app::server::keys;
use app::server::release_document::{self as document, ReleaseDocument};
use common::minis::{browser_upload, create_android_app, create_mini_program, CreatedApp};
use common::seaweed::{CdnCache, Seaweed, BUCKET};
use common::workspace::*;
use common::*;

/// Where the server publishes in the bucket.
const PREFIX: &str = "cdn";

struct World {
    server: Server,
    dir: DataDir,
    op: reqwest::Client,
    ann: reqwest::Client,
    rev: reqwest::Client,
    wid: String,
    app: CreatedApp,
    mp: String,
    platform: [u8; 32],
    env: Vec<(String, String)>,
    flags: Vec<String>,
}

fn publish_flags(s3: &Seaweed) -> Vec<String> {
    vec!["--publish-to".into(), format!("s3://{BUCKET}/{PREFIX}"), "--s3-endpoint".into(), s3.endpoint()]
}

async fn world(s3: &Seaweed) -> World {
    world_with(publish_flags(s3), s3.env()).await
}

async fn world_with(flags: Vec<String>, env: Vec<(String, String)>) -> World {
    let dir = DataDir::new();
    let extra: Vec<&str> = flags.iter().map(String::as_str).collect();
    let (server, op) = server_with_operator_env(&dir, &extra, &env).await;
    let ann = person(&server, "ann").await;
    apply_and_generate(&op, &server, &ann, "Acme", "Ann Lee <ann@example.com>").await;
    let wid = workspace_id(&ann, &server, "Acme").await;
    let rev = join(&server, &ann, "rev", "WorkspaceReviewer").await;
    let app = create_android_app(&ann, &server, "Super", "com.acme.super").await;
    let mp = create_mini_program(&ann, &server, "Coupons", "Shopping").await;
    let platform = call(&ann, &server, "get-app", &[("workspace", "Acme"), ("id", &app.id)]).await.json()["platform_public_key"].as_str().unwrap().to_string();
    let platform = keys::parse_public_key(&platform).unwrap();
    World { server, dir, op, ann, rev, wid, app, mp, platform, env, flags }
}

impl World {
    /// Ann uploads `version` and applies to release it to `rollout` percent ("" for everyone);
    /// Rex approves.
    async fn release(&self, version: &str, rollout: &str) {
        browser_upload(&self.ann, &self.server, &self.mp, version, "", load::bundle(&self.mp, version)).await;
        self.approve(version, rollout).await;
    }

    /// Ann applies to release the uploaded `version` to `rollout` percent; Rex approves.
    async fn approve(&self, version: &str, rollout: &str) {
        let form = [("workspace", "Acme"), ("id", self.mp.as_str()), ("version", version), ("apps[0]", self.app.id.as_str()), ("rollout", rollout)];
        let r = call(&self.ann, &self.server, "apply-publishing", &form).await;
        assert!(r.status == 200 || r.status == 302, "{} {}", r.status, r.body);
        let id = r.json().as_str().unwrap().to_string();
        expect(&call(&self.rev, &self.server, "approve-application", &[("workspace", "Acme"), ("id", &id)]).await, 200, "Rex approves");
    }

    async fn control(&self, endpoint: &str, extra: &[(&str, &str)]) {
        let mut form = vec![("workspace", "Acme"), ("id", self.mp.as_str()), ("app", self.app.id.as_str())];
        form.extend_from_slice(extra);
        expect(&call(&self.ann, &self.server, endpoint, &form).await, 200, endpoint);
    }

    /// The operator's view of publishing.
    async fn publishing(&self) -> serde_json::Value {
        let r = call(&self.op, &self.server, "operator-overview", &[]).await;
        expect(&r, 200, "the operator's overview");
        r.json()["publishing"].clone()
    }

    /// Stops the server as a power cut would (`kill -9`) and starts it again on the same data.
    fn crashed_and_restarted(self) -> World {
        let World { server, dir, op, ann, rev, wid, app, mp, platform, env, flags } = self;
        server.kill9();
        let extra: Vec<&str> = flags.iter().map(String::as_str).collect();
        let server = Server::start_with_env(&dir, &extra, &env);
        World { server, dir, op, ann, rev, wid, app, mp, platform, env, flags }
    }

    fn publish_command(&self, what: &str, extra: &[String]) -> (bool, String) {
        publish_command(&self.dir, &self.env, what, extra)
    }
}

/// Runs `mpdp publish <what>` on `dir` (through the running server's admin socket when one
/// runs), with `extra` flags: (success, standard output and error).
fn publish_command(dir: &DataDir, env: &[(String, String)], what: &str, extra: &[String]) -> (bool, String) {
    let out = Command::new(bin()).args(["publish", what, "--data-dir"]).arg(dir.path()).args(extra).envs(env.iter().cloned()).output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

fn key_of(access_key: &str) -> String {
    format!("{PREFIX}/{}", document::path_for_key(access_key))
}

/// The document published for `access_key`, checked with the platform key; `None` when there is
/// none.
fn published(s3: &Seaweed, w: &World, access_key: &str) -> Option<ReleaseDocument> {
    let raw = s3.get(&key_of(access_key))?;
    Some(document::verify(&raw, &w.platform, chrono::Utc::now()).expect("a published document verifies with the platform key"))
}

/// Waits (at most 60 s) until `test` holds of what is published for `access_key`.
async fn until(s3: &Seaweed, w: &World, access_key: &str, what: &str, test: impl Fn(Option<&ReleaseDocument>) -> bool) -> Option<ReleaseDocument> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let doc = published(s3, w, access_key);
        if test(doc.as_ref()) {
            return doc;
        }
        assert!(Instant::now() < deadline, "not published within 60 s: {what}; now: {doc:?}\n{}", w.server.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The versions of Coupons a document holds: (stable chain, candidate and its rollout).
fn versions(doc: Option<&ReleaseDocument>) -> Option<(Vec<String>, Option<(String, u16)>)> {
    let e = doc?.body.mini_programs.first()?;
    Some((e.stable.iter().map(|m| m.version.clone()).collect(), e.candidate.as_ref().map(|c| (c.manifest.version.clone(), c.rollout))))
}

fn stable(v: &str) -> Option<(Vec<String>, Option<(String, u16)>)> {
    Some((vec![v.to_string()], None))
}

/// Anonymous HEAD of an object in the bucket: its Content-Type and Cache-Control.
fn object_headers(s3: &Seaweed, key: &str) -> (String, String) {
    let out = Command::new("curl").args(["-sS", "-I", &format!("{}/{BUCKET}/{key}", s3.endpoint())]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_lowercase();
    let header = |name: &str| text.lines().find_map(|l| l.strip_prefix(&format!("{name}: ")).map(|v| v.trim().to_string())).unwrap_or_default();
    (header("content-type"), header("cache-control"))
}

#[tokio::test]
async fn every_change_containers_see_is_published_to_the_bucket() {
    let s3 = Seaweed::start();
    let w = world(&s3).await;
    // Before any release, the App's document says so: nothing to run.
    let doc = until(&s3, &w, &w.app.access_key, "the App's empty document", |d| d.is_some()).await.unwrap();
    assert!(doc.body.mini_programs.is_empty());
    assert!(s3.list(&format!("{PREFIX}/bundles/")).is_empty());

    // A release: the bundle under its content address, then the document that names it.
    w.release("1.0.0", "").await;
    let doc = until(&s3, &w, &w.app.access_key, "the first release", |d| versions(d) == stable("1.0.0")).await.unwrap();
    assert_eq!(doc.body.app, w.app.id);
    let bundle = &doc.body.mini_programs[0].stable[0].bundle;
    let bytes = s3.get(&format!("{PREFIX}/bundles/{}", bundle.sha256)).expect("the bundle is in the bucket");
    assert_eq!((keys::sha256_hex(&bytes), bytes.len() as u64), (bundle.sha256.clone(), bundle.size));
    assert_eq!(object_headers(&s3, &format!("{PREFIX}/bundles/{}", bundle.sha256)), ("application/gzip".into(), "public, max-age=31536000, immutable".into()));
    assert_eq!(object_headers(&s3, &key_of(&w.app.access_key)), ("application/json".into(), "public, max-age=60".into()));
    // The same manifest the origin serves.
    let origin: serde_json::Value = client().get(w.server.url("/api/container/v1/mini-programs")).bearer_auth(&w.app.access_key).send().await.unwrap().json().await.unwrap();
    assert_eq!(serde_json::to_value(&doc.body.mini_programs[0].stable[0]).unwrap(), origin["mini_programs"][0]);

    // A staged release, raised, paused, resumed, completed, rolled back.
    w.release("1.1.0", "10").await;
    let doc = until(&s3, &w, &w.app.access_key, "a candidate at 10 %", |d| versions(d) == Some((vec!["1.0.0".into()], Some(("1.1.0".into(), 100))))).await.unwrap();
    let seed = doc.body.mini_programs[0].candidate.as_ref().unwrap().seed.clone();
    assert_eq!(seed.len(), 32);
    w.control("raise-rollout", &[("version", "1.1.0"), ("rollout", "25")]).await;
    until(&s3, &w, &w.app.access_key, "raised to 25 %", |d| versions(d) == Some((vec!["1.0.0".into()], Some(("1.1.0".into(), 250))))).await;
    w.control("pause-rollout", &[("version", "1.1.0")]).await;
    until(&s3, &w, &w.app.access_key, "paused", |d| versions(d) == stable("1.0.0")).await;
    w.control("resume-rollout", &[("version", "1.1.0")]).await;
    until(&s3, &w, &w.app.access_key, "resumed", |d| versions(d) == Some((vec!["1.0.0".into()], Some(("1.1.0".into(), 250))))).await;
    w.control("complete-rollout", &[("version", "1.1.0")]).await;
    until(&s3, &w, &w.app.access_key, "completed", |d| versions(d) == stable("1.1.0")).await;
    w.control("rollback-release", &[("version", "1.0.0"), ("reason", "Crashes on start")]).await;
    let before = until(&s3, &w, &w.app.access_key, "rolled back", |d| versions(d) == stable("1.0.0")).await.unwrap();

    // Test devices are published as hashes of their install ids.
    expect(&call(&w.ann, &w.server, "set-test-devices", &[("workspace", "Acme"), ("app", &w.app.id), ("devices", "qa-device-0001")]).await, 200, "a test device");
    let doc = until(&s3, &w, &w.app.access_key, "the test device", |d| d.is_some_and(|d| !d.body.test_devices.is_empty())).await.unwrap();
    assert_eq!(doc.body.test_devices, vec![keys::sha256_hex(b"qa-device-0001")]);
    assert!(doc.sequence > before.sequence, "the sequence rises");

    // A rotated key is published under both paths until its grace ends; a revoked one's path
    // is deleted.
    let r = call(&w.ann, &w.server, "rotate-app-key", &[("workspace", "Acme"), ("app", &w.app.id), ("kind", "accessing"), ("grace", "1h")]).await;
    expect(&r, 200, "rotate with grace");
    let (second, second_id) = (r.json()["key"].as_str().unwrap().to_string(), r.json()["id"].as_str().unwrap().to_string());
    until(&s3, &w, &second, "the new key's document", |d| versions(d) == stable("1.0.0")).await;
    assert!(published(&s3, &w, &w.app.access_key).is_some(), "the old key's document is kept within its grace");
    w.server.advance(Duration::from_secs(3601));
    until(&s3, &w, &w.app.access_key, "the end of the grace period", |d| d.is_none()).await;
    let r = call(&w.ann, &w.server, "rotate-app-key", &[("workspace", "Acme"), ("app", &w.app.id), ("kind", "accessing"), ("grace", "1h")]).await;
    let third = r.json()["key"].as_str().unwrap().to_string();
    until(&s3, &w, &third, "the third key's document", |d| d.is_some()).await;
    expect(&call(&w.ann, &w.server, "revoke-app-key", &[("workspace", "Acme"), ("app", &w.app.id), ("key", &second_id)]).await, 200, "revoke");
    until(&s3, &w, &second, "a revoked key's document is deleted", |d| d.is_none()).await;
    assert!(published(&s3, &w, &third).is_some());

    // A suspended workspace has nothing published; reactivated, it is back.
    expect(&set_workspace_status(&w.op, &w.server, &w.wid, "suspend", "unpaid invoice").await, 200, "suspend");
    until(&s3, &w, &third, "suspended", |d| d.is_none()).await;
    expect(&set_workspace_status(&w.op, &w.server, &w.wid, "reactivate", "paid").await, 200, "reactivate");
    until(&s3, &w, &third, "reactivated", |d| versions(d) == stable("1.0.0")).await;

    // Removed: gone from the document at once; its bundles are deleted once no cached document
    // can name them any more.
    // (1.1.0's bundle, rolled back from, was deleted once the clock passed the grace period.)
    let bundles = s3.list(&format!("{PREFIX}/bundles/"));
    assert_eq!(bundles, vec![format!("{PREFIX}/bundles/{}", before.body.mini_programs[0].stable[0].bundle.sha256)]);
    let r = call(&w.ann, &w.server, "apply-removal", &[("workspace", "Acme"), ("id", &w.mp), ("reason", "Retired")]).await;
    expect(&r, 200, "apply for removal");
    let id = r.json().as_str().unwrap().to_string();
    expect(&call(&w.rev, &w.server, "approve-application", &[("workspace", "Acme"), ("id", &id)]).await, 200, "approve the removal");
    until(&s3, &w, &third, "removed", |d| d.is_some_and(|d| d.body.mini_programs.is_empty())).await;
    assert_eq!(s3.list(&format!("{PREFIX}/bundles/")), bundles, "kept while a cached document may name them");
    w.server.advance(Duration::from_secs(11 * 60));
    let deadline = Instant::now() + Duration::from_secs(60);
    while !s3.list(&format!("{PREFIX}/bundles/")).is_empty() {
        assert!(Instant::now() < deadline, "retired bundles were not deleted: {:?}", s3.list(PREFIX));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let state = w.publishing().await;
    assert_eq!((state["pending"].as_u64(), state["failures"].as_u64(), state["last_error"].clone()), (Some(0), Some(0), serde_json::Value::Null), "{state}");
}

#[tokio::test]
async fn a_store_that_is_down_or_refuses_holds_nothing_up_and_nothing_is_lost_to_a_crash() {
    let mut s3 = Seaweed::start();
    let w = world(&s3).await;
    w.release("1.0.0", "").await;
    until(&s3, &w, &w.app.access_key, "the first release", |d| versions(d) == stable("1.0.0")).await;

    // The store goes down: the console keeps working, the change waits, the operator sees why.
    s3.stop();
    w.release("1.1.0", "").await;
    let origin: serde_json::Value = client().get(w.server.url("/api/container/v1/mini-programs")).bearer_auth(&w.app.access_key).send().await.unwrap().json().await.unwrap();
    assert_eq!(origin["mini_programs"][0]["version"], "1.1.0", "the origin serves the release at once");
    let deadline = Instant::now() + Duration::from_secs(60);
    let state = loop {
        let state = w.publishing().await;
        if state["failures"].as_u64().unwrap_or(0) >= 1 {
            break state;
        }
        assert!(Instant::now() < deadline, "no failure reported: {state}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(state["pending"].as_u64().unwrap() >= 1, "{state}");
    assert!(state["owed_since"].is_string(), "{state}");
    assert!(state["last_error"].as_str().unwrap().contains("could not be reached"), "{state}");
    let page = client_get_text(&w.op, &w.server, "/operator").await;
    assert!(page.contains("Release publishing") && page.contains("The last attempt failed"), "the operator's overview shows it");

    // Killed between the commit and its publication, restarted while the store is still down,
    // then the store returns: everything is published.
    let w = w.crashed_and_restarted();
    assert!(w.publishing().await["pending"].as_u64().unwrap() >= 1, "still owed after the crash");
    s3.restart();
    until(&s3, &w, &w.app.access_key, "published once the store is back", |d| versions(d) == stable("1.1.0")).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let state = w.publishing().await;
        if state["pending"] == 0 && state["failures"] == 0 {
            assert!(state["last_error"].is_null() && state["owed_since"].is_null(), "{state}");
            break;
        }
        assert!(Instant::now() < deadline, "{state}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The bundle files under a data directory's `bundles/`.
fn bundle_files(dir: &DataDir) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for shard in std::fs::read_dir(dir.path().join("bundles")).unwrap().flatten() {
        if shard.file_name() != "tmp" && shard.path().is_dir() {
            out.extend(std::fs::read_dir(shard.path()).unwrap().flatten().map(|f| f.path()));
        }
    }
    out
}

/// A bundle that can't be written (its file gone from the data directory) holds up only the
/// documents that name it: meanwhile another App's new key is published and its old key's
/// document deleted, and the failure is reported; with the file back, the release follows.
#[tokio::test]
async fn a_bundle_that_cannot_be_written_holds_up_only_the_documents_naming_it() {
    let s3 = Seaweed::start();
    let w = world(&s3).await;
    w.release("1.0.0", "").await;
    until(&s3, &w, &w.app.access_key, "the first release", |d| versions(d) == stable("1.0.0")).await;
    let other = create_android_app(&w.ann, &w.server, "Other", "com.acme.other").await;
    until(&s3, &w, &other.access_key, "the other App's document", |d| d.is_some()).await;

    let before = bundle_files(&w.dir);
    browser_upload(&w.ann, &w.server, &w.mp, "1.1.0", "", load::bundle(&w.mp, "1.1.0")).await;
    let new: Vec<_> = bundle_files(&w.dir).into_iter().filter(|f| !before.contains(f)).collect();
    assert_eq!(new.len(), 1, "{new:?}");
    let aside = w.dir.path().join("aside.tar.gz");
    std::fs::rename(&new[0], &aside).unwrap();
    w.approve("1.1.0", "").await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let state = w.publishing().await;
        if state["last_error"].as_str().is_some_and(|e| e.contains("is not in the data directory's bundles/")) {
            break;
        }
        assert!(Instant::now() < deadline, "the missing bundle is not reported: {state}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let r = call(&w.ann, &w.server, "rotate-app-key", &[("workspace", "Acme"), ("app", &other.id), ("kind", "accessing"), ("grace", "none")]).await;
    expect(&r, 200, "rotate the other App's key at once");
    let rotated = r.json()["key"].as_str().unwrap().to_string();
    until(&s3, &w, &rotated, "the other App's new key's document", |d| d.is_some()).await;
    until(&s3, &w, &other.access_key, "the other App's old key's document is deleted", |d| d.is_none()).await;
    assert_eq!(versions(published(&s3, &w, &w.app.access_key).as_ref()), stable("1.0.0"), "the document naming the missing bundle waits");

    std::fs::rename(&aside, &new[0]).unwrap();
    until(&s3, &w, &w.app.access_key, "published once the bundle is back", |d| versions(d) == stable("1.1.0")).await;
}

/// A page as served (rendered on the server).
async fn client_get_text(c: &reqwest::Client, server: &Server, path: &str) -> String {
    c.get(server.url(path)).send().await.unwrap().text().await.unwrap()
}

#[tokio::test]
async fn wrong_credentials_or_an_unreachable_store_are_named_and_the_server_serves() {
    let s3 = Seaweed::start();
    let mut env = s3.env();
    for (k, v) in env.iter_mut() {
        if k == "AWS_SECRET_ACCESS_KEY" {
            *v = "not-the-secret".into();
        }
    }
    let w = world_with(publish_flags(&s3), env).await;
    w.release("1.0.0", "").await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let state = w.publishing().await;
        if let Some(e) = state["last_error"].as_str() {
            assert!(e.contains("403") || e.contains("SignatureDoesNotMatch") || e.contains("AccessDenied"), "the cause is named: {e}");
            break;
        }
        assert!(Instant::now() < deadline, "{state}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(s3.list(PREFIX).is_empty(), "nothing was written with the wrong secret");
    assert!(w.server.log().contains("could not publish"), "the log says so");

    // Nobody listens at the endpoint: the server starts all the same, and says so.
    let w = world_with(vec!["--publish-to".into(), format!("s3://{BUCKET}/{PREFIX}"), "--s3-endpoint".into(), format!("http://127.0.0.1:{}", free_port())], s3.env()).await;
    w.release("1.0.0", "").await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while w.publishing().await["last_error"].is_null() {
        assert!(Instant::now() < deadline, "no error reported");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A malformed target is refused before the server starts, naming the flag and the rule.
    let dir = DataDir::new();
    for (flags, says) in [
        (vec!["--publish-to", "ftp://bucket/x"], "--publish-to"),
        (vec!["--publish-to", "s3:///prefix"], "names no bucket"),
        (vec!["--publish-to", "file://relative/dir"], "--publish-to"),
        (vec!["--publish-to", "s3://b/p", "--s3-endpoint", "ftp://x"], "--s3-endpoint"),
        (vec!["--s3-endpoint", "http://127.0.0.1:1"], "--publish-to"),
    ] {
        let out = Command::new(bin()).args(["serve", "--listen", "127.0.0.1:0", "--data-dir"]).arg(dir.path()).args(&flags).output().unwrap();
        assert!(!out.status.success(), "{flags:?} was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{flags:?}: {err}");
    }
}

#[tokio::test]
async fn publish_check_finds_what_someone_changed_and_sync_repairs_it() {
    let s3 = Seaweed::start();
    let w = world(&s3).await;
    w.release("1.0.0", "").await;
    let doc = until(&s3, &w, &w.app.access_key, "the first release", |d| versions(d) == stable("1.0.0")).await.unwrap();
    let (ok, out) = w.publish_command("check", &[]);
    assert!(ok, "{out}");
    assert!(out.contains("holds what it should"), "{out}");

    // Someone deletes the bundle, overwrites the document and leaves a file of their own.
    let bundle = format!("{PREFIX}/bundles/{}", doc.body.mini_programs[0].stable[0].bundle.sha256);
    let doc_key = key_of(&w.app.access_key);
    let stray = format!("{PREFIX}/releases/not-mpdps.json");
    s3.delete(&bundle);
    s3.put(&doc_key, b"{\"forged\": true}");
    s3.put(&stray, b"{}");
    let (ok, out) = w.publish_command("check", &[]);
    assert!(!ok, "check passes with a damaged bucket: {out}");
    let line = |path: &str| out.lines().find(|l| l.starts_with(path)).unwrap_or_else(|| panic!("{path} not reported: {out}")).to_string();
    assert!(line(&format!("{}:", &bundle[PREFIX.len() + 1..])).contains("missing"), "{out}");
    assert!(line(&format!("{}:", &doc_key[PREFIX.len() + 1..])).contains("changed"), "{out}");
    assert!(line("releases/not-mpdps.json:").contains("unexpected"), "{out}");

    // Sync repairs it; a second sync and a check find nothing.
    let (ok, out) = w.publish_command("sync", &[]);
    assert!(ok, "{out}");
    assert_eq!(keys::sha256_hex(&s3.get(&bundle).expect("the bundle is back")), doc.body.mini_programs[0].stable[0].bundle.sha256);
    assert_eq!(versions(published(&s3, &w, &w.app.access_key).as_ref()), stable("1.0.0"), "the document is MPDP's again");
    assert!(s3.get(&stray).is_none(), "the stray object is deleted");
    let (ok, out) = w.publish_command("sync", &[]);
    assert!(ok && out.contains("0 objects written, 0 deleted"), "{out}");
    let (ok, out) = w.publish_command("check", &[]);
    assert!(ok, "{out}");

    // With the server stopped, the target is given on the command line.
    let World { server, dir, env, .. } = w;
    let (stopped, log) = server.stop();
    assert!(stopped, "{log}");
    s3.delete(&bundle);
    let (ok, out) = publish_command(&dir, &env, "check", &[]);
    assert!(!ok && out.contains("--publish-to"), "{out}");
    let (ok, out) = publish_command(&dir, &env, "check", &publish_flags(&s3));
    assert!(!ok && out.contains("missing"), "{out}");
    let (ok, out) = publish_command(&dir, &env, "sync", &publish_flags(&s3));
    assert!(ok, "{out}");
    assert!(s3.get(&bundle).is_some(), "repaired offline");
}

#[tokio::test]
async fn installs_polling_the_cdn_see_the_same_split_as_the_origin() {
    let s3 = Seaweed::start();
    let cdn = CdnCache::start(&s3.endpoint(), BUCKET);
    let w = world(&s3).await;
    w.release("1.0.0", "").await;
    w.release("1.1.0", "25").await;
    until(&s3, &w, &w.app.access_key, "a candidate at 25 %", |d| versions(d) == Some((vec!["1.0.0".into()], Some(("1.1.0".into(), 250))))).await;
    let platform = call(&w.ann, &w.server, "get-app", &[("workspace", "Acme"), ("id", &w.app.id)]).await.json()["platform_public_key"].as_str().unwrap().to_string();
    let fleet = |cdn_flags: &[String]| {
        let out = Command::new(bin())
            .args(["dev", "fleet", "--server", &w.server.base, "--key", &w.app.access_key, "--installs", "1000", "--rounds", "2", "--no-events"])
            .args(cdn_flags)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let origin = fleet(&[]);
    let through_cdn = fleet(&["--cdn".into(), format!("{}/{PREFIX}", cdn.url()), "--platform-key".into(), platform]);
    let split = |out: &str| out.lines().filter(|l| l.contains(" version=")).map(str::to_string).collect::<Vec<_>>();
    assert_eq!(split(&through_cdn), split(&origin), "the CDN's installs run what the origin's do:\n{through_cdn}\n{origin}");
    let candidate: u64 = split(&origin).iter().find(|l| l.starts_with("round=1") && l.contains("version=1.1.0")).and_then(|l| l.rsplit('=').next()?.parse().ok()).unwrap();
    assert!((180..=320).contains(&candidate), "25 % reached {candidate} of 1 000");
    // The second round asked with the ETag each install kept: every answer was 304.
    assert!(through_cdn.contains("round=2 polled=1000 not_modified=1000"), "{through_cdn}");
    // The CDN answered from its cache.
    let head = Command::new("curl").args(["-sS", "-D", "-", "-o", "/dev/null", &format!("{}/{}", cdn.url(), key_of(&w.app.access_key))]).output().unwrap();
    assert!(String::from_utf8_lossy(&head.stdout).to_lowercase().contains("x-cache-status: hit"), "{}", String::from_utf8_lossy(&head.stdout));
}

#[tokio::test]
async fn a_directory_target_gets_the_same_documents() {
    let out = tempfile::tempdir().unwrap();
    let url = format!("file://{}", out.path().display());
    let w = world_with(vec!["--publish-to".into(), url], Vec::new()).await;
    w.release("1.0.0", "").await;
    let path = out.path().join(document::path_for_key(&w.app.access_key));
    let deadline = Instant::now() + Duration::from_secs(60);
    let doc = loop {
        if let Ok(raw) = std::fs::read(&path) {
            let doc = document::verify(&raw, &w.platform, chrono::Utc::now()).unwrap();
            if !doc.body.mini_programs.is_empty() {
                break doc;
            }
        }
        assert!(Instant::now() < deadline, "no release in {}", out.path().display());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let sha = &doc.body.mini_programs[0].stable[0].bundle.sha256;
    assert_eq!(keys::sha256_hex(&std::fs::read(out.path().join("bundles").join(sha)).unwrap()), *sha);
}
