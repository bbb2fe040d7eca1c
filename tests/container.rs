//! The container API with the real binary: first every refusal (no key, a malformed header, the
//! Upload Key, an unknown key, unknown ids), then a release's whole way — `mpdp studio upload`,
//! apply for publishing, another member approves — to a container that checks both signatures
//! (also with `mpdp studio verify`), downloads the bundle whole and by ranges, revalidates with
//! ETags, and loses it again on key revocation, rotation, suspension and removal.

mod common;

use std::path::Path;
use std::process::Command;

use app::server::{keys, manifest};
use common::minis::*;
use common::workspace::*;
use common::*;

struct Setup {
    server: Server,
    op: reqwest::Client,
    ann: reqwest::Client,
    wid: String,
    app: String,
    access_key: String,
    upload_key: String,
    other_access_key: String,
    platform_key: String,
    mp: String,
}

/// The Acme workspace (Ann is its Workspace Admin), Apps "Super" and "Other", and the mini
/// program "Coupons".
async fn setup() -> Setup {
    let (server, op, ann) = acme().await;
    let wid = workspace_id(&ann, &server, "Acme").await;
    let app = create_android_app(&ann, &server, "Super", "com.acme.super").await;
    let other = create_android_app(&ann, &server, "Other", "com.acme.other").await;
    let platform_key = call(&ann, &server, "get-app", &[("workspace", "Acme"), ("id", &app.id)]).await.json()["platform_public_key"].as_str().unwrap().to_string();
    let mp = create_mini_program(&ann, &server, "Coupons", "Shopping").await;
    let (access_key, upload_key, other_access_key) = (app.access_key, app.upload_key, other.access_key);
    Setup { server, op, ann, wid, app: app.id, access_key, upload_key, other_access_key, platform_key, mp }
}

/// A GET of the container API with `key` as the bearer token and any other headers.
async fn get(s: &Setup, path: &str, key: Option<&str>, extra: &[(&'static str, &str)]) -> (Reply, Vec<u8>) {
    let mut req = client().get(s.server.url(path));
    if let Some(k) = key {
        req = req.header("authorization", format!("Bearer {k}"));
    }
    for (name, value) in extra {
        req = req.header(*name, *value);
    }
    let r = req.send().await.unwrap_or_else(|e| panic!("{e:?}\n{}", s.server.log()));
    let (status, headers) = (r.status(), r.headers().clone());
    let bytes = r.bytes().await.unwrap().to_vec();
    (Reply { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }, bytes)
}

fn header(r: &Reply, name: &str) -> String {
    r.headers.get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

/// A JSON refusal with this status and code.
fn refused(r: &Reply, status: u16, code: &str) {
    expect(r, status, code);
    let j = r.json();
    assert_eq!(j["error"]["code"], code, "{}", r.body);
    assert!(j["error"]["message"].as_str().is_some_and(|m| m.len() > 10), "{}", r.body);
}

const LIST: &str = "/api/container/v1/mini-programs";

async fn listed(s: &Setup, key: &str) -> Vec<serde_json::Value> {
    let (r, _) = get(s, LIST, Some(key), &[]).await;
    expect(&r, 200, "the list");
    r.json()["mini_programs"].as_array().unwrap().clone()
}

#[tokio::test]
async fn refusals_come_first_and_an_empty_list_is_revalidated() {
    let s = setup().await;
    let (r, _) = get(&s, LIST, None, &[]).await;
    refused(&r, 401, "authorization_missing");
    assert!(header(&r, "www-authenticate").starts_with("Bearer"), "{:?}", r.headers);
    let (r, _) = get(&s, LIST, None, &[("authorization", "Basic YW5uOnB3")]).await;
    refused(&r, 401, "authorization_malformed");
    let (r, _) = get(&s, LIST, Some(&s.upload_key), &[]).await;
    refused(&r, 401, "wrong_key_kind");
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("Accessing Key (mpak_"), "{}", r.body);
    let (r, _) = get(&s, LIST, Some(&keys::new_access_key().0), &[]).await;
    refused(&r, 401, "unknown_key");
    // A session is no key.
    let r = s.ann.get(s.server.url(LIST)).send().await.unwrap();
    assert_eq!(r.status(), 401);

    // Nothing is released yet: an empty list, with an ETag to revalidate it by.
    let (r, _) = get(&s, LIST, Some(&s.access_key), &[]).await;
    expect(&r, 200, "the empty list");
    let empty = manifest::verify_list_now(r.body.as_bytes(), &keys::parse_public_key(&s.platform_key).unwrap()).unwrap();
    assert_eq!((empty.format.as_str(), empty.app.as_str(), empty.mini_programs.len()), ("mpdp-list-1", s.app.as_str(), 0));
    assert_eq!(header(&r, "content-type"), "application/json");
    assert_eq!(header(&r, "cache-control"), "no-cache");
    let etag = header(&r, "etag");
    assert!(etag.starts_with('"') && etag.len() == 66, "{etag}");
    let (r, body) = get(&s, LIST, Some(&s.access_key), &[("if-none-match", &etag)]).await;
    expect(&r, 304, "revalidated");
    assert!(body.is_empty());
    assert_eq!(header(&r, "etag"), etag);
    let (r, _) = get(&s, LIST, Some(&s.access_key), &[("if-none-match", "\"something else\"")]).await;
    expect(&r, 200, "another ETag");

    // Unknown ids, bundles and icons: 404, and nothing of another App's.
    for path in [
        format!("/api/container/v1/mini-programs/{}", s.mp),
        "/api/container/v1/mini-programs/not-a-uuid".to_string(),
        format!("/api/container/v1/mini-programs/{}/icon", s.mp),
    ] {
        let (r, _) = get(&s, &path, Some(&s.access_key), &[]).await;
        refused(&r, 404, "unknown_mini_program");
    }
    let (r, _) = get(&s, &format!("/api/container/v1/bundles/{}", "ab".repeat(32)), Some(&s.access_key), &[]).await;
    refused(&r, 404, "unknown_bundle");
    let (r, _) = get(&s, "/api/container/v1/bundles/..%2F..%2Fmpdp.redb", Some(&s.access_key), &[]).await;
    refused(&r, 404, "unknown_bundle");
    // The key is checked before the id.
    let (r, _) = get(&s, &format!("/api/container/v1/bundles/{}", "ab".repeat(32)), Some(&s.upload_key), &[]).await;
    refused(&r, 401, "wrong_key_kind");
}

/// A bundle directory with an app.json.
fn bundle_dir() -> DataDir {
    let d = DataDir::new();
    std::fs::write(d.path().join("app.json"), br#"{"pages":["index"]}"#).unwrap();
    std::fs::create_dir_all(d.path().join("pages")).unwrap();
    // Enough bytes for ranges to mean something.
    let text: String = (0..2000).map(|i| format!("// line {i}\n")).collect();
    std::fs::write(d.path().join("pages/index.js"), text).unwrap();
    d
}

fn studio(args: &[&str]) -> std::process::Output {
    Command::new(bin()).arg("studio").args(args).env_remove("MPDP_UPLOAD_KEY").output().unwrap()
}

fn verify_cli(manifest: &Path, bundle: &Path, platform_key: &str) -> std::process::Output {
    studio(&["verify", "--manifest", manifest.to_str().unwrap(), "--bundle", bundle.to_str().unwrap(), "--platform-key", platform_key])
}

/// Files an application as Ann; Bob (a Workspace Reviewer) approves it.
async fn approved(s: &Setup, bob: &reqwest::Client, endpoint: &str, form: &[(&str, &str)]) {
    let r = call(&s.ann, &s.server, endpoint, form).await;
    assert!(r.status == 200 || r.status == 302, "{endpoint}: {} {}", r.status, r.body);
    let id = r.json().as_str().unwrap().to_string();
    let r = call(bob, &s.server, "approve-application", &[("workspace", "Acme"), ("id", &id)]).await;
    expect(&r, 200, &format!("{endpoint} approved"));
}

#[tokio::test]
async fn a_release_reaches_the_container_signed_and_leaves_when_it_must() {
    let s = setup().await;
    let op = s.server.op.as_ref().unwrap();
    // Bob joins as Workspace Reviewer: the second person of the two-person rule.
    let r = invite_members(&s.ann, &s.server, "Acme", "bob@example.com", "WorkspaceReviewer").await;
    expect(&r, 200, "invite Bob");
    let token = mailed_token(op, &s.server, "bob@example.com", "/invitations/").await;
    let bob = person(&s.server, "bob").await;
    expect(&accept_invitation(&bob, &s.server, &token).await, 200, "Bob joins");

    let src = bundle_dir();
    let out = studio(&["upload", "--server", &s.server.base, "--key", &s.upload_key, "--mini-program", &s.mp, "--version", "1.0.0", src.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r = call(&s.ann, &s.server, "apply-publishing", &[("workspace", "Acme"), ("id", &s.mp), ("version", "1.0.0"), ("apps[0]", &s.app)]).await;
    assert!(r.status == 200 || r.status == 302, "{} {}", r.status, r.body);
    let application = r.json().as_str().unwrap().to_string();
    assert!(listed(&s, &s.access_key).await.is_empty(), "nothing before the approval");
    expect(&call(&bob, &s.server, "approve-application", &[("workspace", "Acme"), ("id", &application)]).await, 200, "Bob approves");

    // The list shows it at once, and the single manifest is the same.
    let list = listed(&s, &s.access_key).await;
    assert_eq!(list.len(), 1, "{list:?}");
    let m = &list[0];
    assert_eq!((m["id"].as_str(), m["name"].as_str(), m["version"].as_str()), (Some(s.mp.as_str()), Some("Coupons"), Some("1.0.0")));
    assert_eq!(m["app"], s.app.as_str());
    assert_eq!(m["features"], serde_json::json!([]));
    assert!(m.get("icon").is_none());
    let sha = m["bundle"]["sha256"].as_str().unwrap().to_string();
    let bundle_path = format!("/api/container/v1/bundles/{sha}");
    assert_eq!(m["bundle"]["url"], bundle_path.as_str());
    let manifest_path = format!("/api/container/v1/mini-programs/{}", s.mp);
    let (r, manifest_bytes) = get(&s, &manifest_path, Some(&s.access_key), &[]).await;
    expect(&r, 200, "the manifest");
    assert_eq!(&r.json(), m);
    let manifest_etag = header(&r, "etag");
    let (r, _) = get(&s, &manifest_path, Some(&s.access_key), &[("if-none-match", &manifest_etag)]).await;
    expect(&r, 304, "the manifest revalidated");

    // Both signatures verify with the platform key from the App's page.
    let platform = keys::parse_public_key(&s.platform_key).unwrap();
    let read = manifest::verify_platform(&manifest_bytes, &platform).unwrap();
    assert!(matches!(manifest::verify_uploader(&read, &platform).unwrap(), manifest::SignedBy::UploadKey(_)));

    // The bundle, whole: its sha256 is the manifest's.
    let (r, bundle) = get(&s, &bundle_path, Some(&s.access_key), &[]).await;
    expect(&r, 200, "the bundle");
    assert_eq!(keys::sha256_hex(&bundle), sha);
    assert_eq!(bundle.len() as u64, read.bundle.size);
    assert_eq!(header(&r, "etag"), format!("\"{sha}\""));
    // Authorised by a bearer key: kept by the client's cache only, never a shared one.
    assert_eq!(header(&r, "cache-control"), "private, max-age=31536000, immutable");
    assert_eq!(header(&r, "accept-ranges"), "bytes");
    assert_eq!(header(&r, "content-type"), "application/gzip");
    assert_eq!(header(&r, "content-length"), bundle.len().to_string());
    manifest::verify_bundle(&read, &keys::sha256_hex(&bundle), bundle.len() as u64).unwrap();
    let (r, _) = get(&s, &bundle_path, Some(&s.access_key), &[("if-none-match", &format!("\"{sha}\""))]).await;
    expect(&r, 304, "the bundle revalidated");
    // Date preconditions hold for bytes that never change: the bundle, whatever the date.
    for date in ["Thu, 01 Jan 1970 00:00:00 GMT", "Fri, 01 Jan 2100 00:00:00 GMT"] {
        let (r, again) = get(&s, &bundle_path, Some(&s.access_key), &[("if-unmodified-since", date)]).await;
        expect(&r, 200, "the bundle with If-Unmodified-Since");
        assert_eq!(again, bundle);
        let (r, again) = get(&s, &bundle_path, Some(&s.access_key), &[("if-modified-since", date)]).await;
        expect(&r, 200, "the bundle with If-Modified-Since");
        assert_eq!(again, bundle);
    }
    assert_eq!(header(&r, "etag"), format!("\"{sha}\""));

    // By ranges: a slice, the tail, and beyond the end.
    let len = bundle.len();
    let (r, part) = get(&s, &bundle_path, Some(&s.access_key), &[("range", "bytes=10-19")]).await;
    expect(&r, 206, "a range");
    assert_eq!(part, bundle[10..20]);
    assert_eq!(header(&r, "content-range"), format!("bytes 10-19/{len}"));
    assert_eq!(header(&r, "etag"), format!("\"{sha}\""));
    let (r, part) = get(&s, &bundle_path, Some(&s.access_key), &[("range", "bytes=-5")]).await;
    expect(&r, 206, "the last bytes");
    assert_eq!(part, bundle[len - 5..]);
    let (r, _) = get(&s, &bundle_path, Some(&s.access_key), &[("range", &format!("bytes={len}-"))]).await;
    refused(&r, 416, "range_not_satisfiable");
    assert_eq!(header(&r, "content-range"), format!("bytes */{len}"));

    // `mpdp studio verify` checks the same, and names what does not match.
    let files = DataDir::new();
    let (mfile, bfile) = (files.path().join("manifest.json"), files.path().join("bundle.tar.gz"));
    std::fs::write(&mfile, &manifest_bytes).unwrap();
    std::fs::write(&bfile, &bundle).unwrap();
    let out = verify_cli(&mfile, &bfile, &s.platform_key);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("platform signature: valid") && stdout.contains("uploader signature: valid (Upload Key") && stdout.contains(&sha) && stdout.contains("Verified."), "{stdout}");
    let mut tampered: serde_json::Value = serde_json::from_slice(&manifest_bytes).unwrap();
    tampered["name"] = "Free money".into();
    let tfile = files.path().join("tampered.json");
    std::fs::write(&tfile, serde_json::to_vec(&tampered).unwrap()).unwrap();
    let out = verify_cli(&tfile, &bfile, &s.platform_key);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("platform_signature does not verify"), "{}", String::from_utf8_lossy(&out.stderr));
    let other_bundle = files.path().join("other.tar.gz");
    std::fs::write(&other_bundle, &bundle[..len - 1]).unwrap();
    let out = verify_cli(&mfile, &other_bundle, &s.platform_key);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("bundle.sha256"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = verify_cli(&mfile, &bfile, &keys::public_key_text(&keys::new_platform_key().1));
    assert!(!out.status.success(), "another workspace's key");
    let out = verify_cli(&mfile, &bfile, "not-a-key");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--platform-key"), "{}", String::from_utf8_lossy(&out.stderr));

    // The list is signed too, with a sequence and an expiry; verify checks it, and the App.
    let (_, list_bytes) = get(&s, LIST, Some(&s.access_key), &[]).await;
    let signed = manifest::verify_list_now(&list_bytes, &platform).unwrap();
    assert_eq!(signed.app, s.app);
    assert_eq!(signed.mini_programs, vec![read.clone()]);
    let lfile = files.path().join("list.json");
    std::fs::write(&lfile, &list_bytes).unwrap();
    let with = |extra: &[&str]| {
        let mut args = vec!["verify", "--manifest", mfile.to_str().unwrap(), "--bundle", bfile.to_str().unwrap(), "--platform-key", &s.platform_key];
        args.extend_from_slice(extra);
        studio(&args)
    };
    let out = with(&["--list", lfile.to_str().unwrap(), "--app", &s.app]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains(&format!("list: valid (sequence {}", signed.sequence)), "{stdout}");
    let out = with(&["--app", "0190a0b1-0000-7000-8000-00000000abcd"]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("not the App"), "{}", String::from_utf8_lossy(&out.stderr));
    let mut forged: serde_json::Value = serde_json::from_slice(&list_bytes).unwrap();
    forged["sequence"] = (signed.sequence + 1_000_000).into();
    std::fs::write(&lfile, serde_json::to_vec(&forged).unwrap()).unwrap();
    let out = with(&["--list", lfile.to_str().unwrap()]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("platform_signature does not verify"), "{}", String::from_utf8_lossy(&out.stderr));

    // Another App's key sees none of it.
    assert!(listed(&s, &s.other_access_key).await.is_empty());
    let (r, _) = get(&s, &manifest_path, Some(&s.other_access_key), &[]).await;
    refused(&r, 404, "unknown_mini_program");
    let (r, _) = get(&s, &bundle_path, Some(&s.other_access_key), &[]).await;
    refused(&r, 404, "unknown_bundle");

    // An activated feature is in the next answer, under a new ETag.
    let (r, _) = get(&s, LIST, Some(&s.access_key), &[]).await;
    let list_etag = header(&r, "etag");
    approved(&s, &bob, "apply-feature", &[("workspace", "Acme"), ("id", &s.mp), ("feature", "location")]).await;
    let (r, _) = get(&s, LIST, Some(&s.access_key), &[("if-none-match", &list_etag)]).await;
    expect(&r, 200, "the list changed");
    assert!(manifest::verify_list_now(r.body.as_bytes(), &platform).unwrap().sequence > signed.sequence, "a later list has a higher sequence");
    assert_eq!(r.json()["mini_programs"][0]["features"], serde_json::json!(["location"]));
    let (r, bytes) = get(&s, &manifest_path, Some(&s.access_key), &[]).await;
    assert_ne!(header(&r, "etag"), manifest_etag);
    manifest::verify_platform(&bytes, &platform).unwrap();

    // Rotation with an hour's grace: the old key still works, and so does the new one.
    let r = call(&s.ann, &s.server, "rotate-app-key", &[("workspace", "Acme"), ("app", &s.app), ("kind", "accessing"), ("grace", "1h")]).await;
    expect(&r, 200, "rotate with grace");
    let second = r.json()["key"].as_str().unwrap().to_string();
    assert_eq!(listed(&s, &s.access_key).await.len(), 1, "within the grace period");
    assert_eq!(listed(&s, &second).await.len(), 1, "the new key");
    // Rotation without grace ends every older key at once.
    let r = call(&s.ann, &s.server, "rotate-app-key", &[("workspace", "Acme"), ("app", &s.app), ("kind", "accessing"), ("grace", "none")]).await;
    expect(&r, 200, "rotate without grace");
    let third = r.json();
    let (third_key, third_id) = (third["key"].as_str().unwrap().to_string(), third["id"].as_str().unwrap().to_string());
    for old in [&s.access_key, &second] {
        let (r, _) = get(&s, LIST, Some(old), &[]).await;
        refused(&r, 401, "key_expired");
    }
    assert_eq!(listed(&s, &third_key).await.len(), 1);

    // A suspended workspace's mini programs are gone at once, and back on reactivation.
    let suspend = [("id", s.wid.as_str()), ("action", "suspend"), ("reason", "unpaid invoice")];
    expect(&call(&s.op, &s.server, "set-workspace-status", &suspend).await, 200, "suspend Acme");
    assert!(listed(&s, &third_key).await.is_empty(), "suspended");
    let (r, _) = get(&s, &bundle_path, Some(&third_key), &[]).await;
    refused(&r, 404, "unknown_bundle");
    let reactivate = [("id", s.wid.as_str()), ("action", "reactivate"), ("reason", "paid")];
    expect(&call(&s.op, &s.server, "set-workspace-status", &reactivate).await, 200, "reactivate Acme");
    assert_eq!(listed(&s, &third_key).await.len(), 1, "reactivated");

    // Removal takes it off the container API on the next request.
    approved(&s, &bob, "apply-removal", &[("workspace", "Acme"), ("id", &s.mp), ("reason", "Replaced by the new app")]).await;
    assert!(listed(&s, &third_key).await.is_empty(), "removed");
    let (r, _) = get(&s, &manifest_path, Some(&third_key), &[]).await;
    refused(&r, 404, "unknown_mini_program");
    let (r, _) = get(&s, &bundle_path, Some(&third_key), &[]).await;
    refused(&r, 404, "unknown_bundle");

    // A revoked key is refused at once.
    expect(&call(&s.ann, &s.server, "revoke-app-key", &[("workspace", "Acme"), ("app", &s.app), ("key", &third_id)]).await, 200, "revoke");
    let (r, _) = get(&s, LIST, Some(&third_key), &[]).await;
    refused(&r, 401, "key_revoked");
}
