//! Retiring a version over HTTP: a Workspace Admin retires an uploaded version that was never
//! released; it leaves the console's and the Studio's lists, no longer counts as the highest (a
//! lower version uploads after it), its number is not used again, and the audit log keeps it.
//! Nobody else may retire, and nothing else can be retired.

mod common;

use common::minis::{self, create_android_app, create_mini_program, studio_versions};
use common::workspace::*;
use common::*;

struct Setup {
    server: Server,
    ann: reqwest::Client,
    app: String,
    upload_key: String,
    mp: String,
}

async fn setup() -> Setup {
    let (server, _op, ann) = acme().await;
    let app = create_android_app(&ann, &server, "Super", "com.acme.super").await;
    let mp = create_mini_program(&ann, &server, "Coupons", "Shopping").await;
    Setup { server, ann, app: app.id, upload_key: app.upload_key, mp }
}

/// `name` joins Acme by invitation as `role`; returns the client and the account id.
async fn join(s: &Setup, name: &str, role: &str) -> (reqwest::Client, String) {
    join_with_id(&s.server, &s.ann, name, role).await
}

/// A bundle with an app.json at its root, packed as the Studio packs.
fn bundle(marker: &str) -> Vec<u8> {
    app::server::archive::pack(&[("app.json", b"{}"), ("index.js", marker.as_bytes())]).unwrap()
}

/// Uploads from the console's form; returns where the browser is sent.
async fn browser_upload(c: &reqwest::Client, s: &Setup, version: &str) -> String {
    minis::browser_upload(c, &s.server, &s.mp, version, "", bundle(version)).await
}

async fn listed(s: &Setup) -> Vec<String> {
    let r = call(&s.ann, &s.server, "list-versions", &[("workspace", "Acme"), ("id", &s.mp)]).await;
    expect(&r, 200, "list versions");
    strings(&r.json()["items"], "version")
}

async fn retire(c: &reqwest::Client, s: &Setup, version: &str) -> Reply {
    call(c, &s.server, "retire-version", &[("workspace", "Acme"), ("id", &s.mp), ("version", version)]).await
}

#[tokio::test]
async fn a_retired_version_leaves_the_lists_and_a_lower_one_uploads_after_it() {
    let s = setup().await;
    let (mpa, mpa_id) = join(&s, "mpa", "MiniProgramAdmin").await;
    let (dev, dev_id) = join(&s, "dev", "WorkspaceDeveloper").await;
    let (blk, blk_id) = join(&s, "blk", "WorkspaceAdmin").await;
    for (id, part) in [(&mpa_id, "admin"), (&dev_id, "developer")] {
        expect(&call(&s.ann, &s.server, "assign-mini-program", &[("workspace", "Acme"), ("id", &s.mp), ("account", id), ("role", part)]).await, 200, "assign");
    }
    expect(&block_member(&s.ann, &s.server, "Acme", &blk_id).await, 200, "block blk");

    // 1.0.0, then a version so high that nothing could ever be uploaded after it.
    assert!(browser_upload(&dev, &s, "1.0.0").await.ends_with("?uploaded=1.0.0"));
    let blocking = "18446744073709551615.0.0";
    assert!(browser_upload(&dev, &s, blocking).await.contains("?uploaded="));
    assert!(browser_upload(&dev, &s, "2.0.0").await.contains("upload_error="), "lower than the highest");

    // Its mini program's admin, its developer, a blocked Workspace Admin: refused; nothing changes.
    for (who, c, status, says) in [("mini program admin", &mpa, 403, "Only a Workspace Admin"), ("developer", &dev, 403, "Only a Workspace Admin"), ("blocked admin", &blk, 403, "blocked")] {
        let r = retire(c, &s, blocking).await;
        expect(&r, status, who);
        assert!(r.body.contains(says), "{who}: {}", r.body);
    }
    expect(&retire(&client(), &s, blocking).await, 401, "signed out");
    assert_eq!(listed(&s).await, vec![blocking, "1.0.0"]);

    // The Workspace Admin retires it: gone from the console's list and from the Studio's.
    expect(&retire(&s.ann, &s, blocking).await, 200, "retire");
    assert_eq!(listed(&s).await, vec!["1.0.0"]);
    let p = call(&s.ann, &s.server, "get-mini-program", &[("workspace", "Acme"), ("id", &s.mp)]).await.json();
    assert_eq!(p["latest"], "1.0.0");
    let stdout = studio_versions(&s.server, &s.mp, &s.upload_key);
    assert!(stdout.contains("1.0.0") && !stdout.contains(blocking), "{stdout}");
    expect(&retire(&s.ann, &s, blocking).await, 409, "retired twice");

    // A lower version uploads now; the retired number is never used again.
    assert!(browser_upload(&dev, &s, "2.0.0").await.ends_with("?uploaded=2.0.0"));
    let to = browser_upload(&dev, &s, blocking).await;
    assert!(to.contains("upload_error=") && to.contains("retired"), "{to}");
    assert_eq!(listed(&s).await, vec!["2.0.0", "1.0.0"]);

    // A version in review can't be retired (nor anything released after it: the domain's tests).
    let r = call(&s.ann, &s.server, "apply-publishing", &[("workspace", "Acme"), ("id", &s.mp), ("version", "2.0.0"), ("apps[0]", &s.app), ("note", "")]).await;
    expect(&r, 200, "apply for publishing review");
    let r = retire(&s.ann, &s, "2.0.0").await;
    expect(&r, 409, "retire a version in review");
    assert_eq!(r.field().as_deref(), Some("Version"));
    assert!(r.body.contains("In review"), "{}", r.body);
    // An uploaded version that is not the newest can be retired too.
    expect(&retire(&s.ann, &s, "1.0.0").await, 200, "retire an older uploaded version");
    expect(&retire(&s.ann, &s, "9.9.9").await, 404, "no such version");

    // The audit log keeps what was retired.
    let log = workspace_audit(&s.ann, &s.server, "Acme", "mini_program.version_retired", "").await.json();
    let details: Vec<&str> = log["items"].as_array().unwrap().iter().map(|e| e["details"].as_str().unwrap()).collect();
    assert_eq!(details.len(), 2, "{details:?}");
    assert!(details.iter().any(|d| d.starts_with(blocking) && d.contains("was Uploaded")), "{details:?}");
}

#[tokio::test]
async fn the_version_page_offers_retire_to_a_workspace_admin_only() {
    let s = setup().await;
    let (mpa, mpa_id) = join(&s, "mpa", "MiniProgramAdmin").await;
    expect(&call(&s.ann, &s.server, "assign-mini-program", &[("workspace", "Acme"), ("id", &s.mp), ("account", &mpa_id), ("role", "admin")]).await, 200, "assign");
    assert!(browser_upload(&mpa, &s, "1.0.0").await.ends_with("?uploaded=1.0.0"));
    let page = |c: &reqwest::Client| {
        let (c, url) = (c.clone(), s.server.url(&format!("/w/Acme/mini-programs/{}", s.mp)));
        async move { page_text(&c, &url).await }
    };
    let admin = page(&s.ann).await;
    assert!(admin.contains(r#"action="/confirm/retire-version""#), "{admin}");
    assert!(admin.contains("Retire version 1.0.0"), "{admin}");
    assert!(!page(&mpa).await.contains("/confirm/retire-version"));
    // Without JavaScript: the confirmation page, then a plain form post back to the page.
    let confirm = confirmation_page(&s.ann, &s.server.url(&format!("/confirm/retire-version?workspace=Acme&id={}&version=1.0.0&back=/w/Acme/mini-programs/{}", s.mp, s.mp))).await;
    assert!(confirm.contains("a lower version can be uploaded after it") && confirm.contains(r#"action="/api/retire-version""#), "{confirm}");
    let back = format!("/w/Acme/mini-programs/{}", s.mp);
    let r = s
        .ann
        .post(s.server.url("/api/retire-version"))
        .header("origin", s.server.base.clone())
        .header("accept", "text/html")
        .form(&[("workspace", "Acme"), ("id", s.mp.as_str()), ("version", "1.0.0"), ("back", back.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["location"], back.as_str());
    assert!(listed(&s).await.is_empty());
}
