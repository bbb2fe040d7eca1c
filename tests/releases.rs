//! Release control with the real binary: a version approved for 10 % of installs reaches about
//! that share of them (by `MPDP-Install-Id`), a raise only adds installs, a pause takes it from
//! everyone on the next request, completing makes it everyone's, and a rollback returns every
//! install to the version before on the very next request. Each refusal changes nothing.

mod common;

use common::minis::{browser_upload, create_android_app, create_mini_program};
use common::workspace::*;
use common::*;

use std::collections::BTreeMap;

struct Setup {
    server: Server,
    ann: reqwest::Client,
    rev: reqwest::Client,
    dev: reqwest::Client,
    app: String,
    access_key: String,
    mp: String,
}

async fn setup() -> Setup {
    setup_with(&[]).await
}

async fn setup_with(extra: &[&str]) -> Setup {
    let (server, _op, ann) = acme_with(extra, "Ann Lee <ann@example.com>").await;
    let rev = join(&server, &ann, "rev", "WorkspaceReviewer").await;
    let dev = join(&server, &ann, "dev", "WorkspaceDeveloper").await;
    let app = create_android_app(&ann, &server, "Super", "com.acme.super").await;
    let mp = create_mini_program(&ann, &server, "Coupons", "Shopping").await;
    Setup { server, ann, rev, dev, app: app.id, access_key: app.access_key, mp }
}

/// [`setup_with`] `extra`, with 1.0.0 released to every install and 1.1.0 to `rollout` percent of
/// them.
async fn staged(extra: &[&str], rollout: &str) -> Setup {
    let s = setup_with(extra).await;
    release(&s, "1.0.0", "").await;
    release(&s, "1.1.0", rollout).await;
    s
}

/// `n` install ids, `install-00000` on.
fn install_ids(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("install-{i:05}")).collect()
}

/// Ann uploads `version` from the console and applies to release it to `rollout` percent; Rex
/// approves.
async fn release(s: &Setup, version: &str, rollout: &str) {
    release_bundle(s, version, rollout, load::bundle(&s.mp, version)).await
}

/// [`release`] with a bundle of its own.
async fn release_bundle(s: &Setup, version: &str, rollout: &str, bundle: Vec<u8>) {
    browser_upload(&s.ann, &s.server, &s.mp, version, "", bundle).await;
    let form = [("workspace", "Acme"), ("id", s.mp.as_str()), ("version", version), ("apps[0]", s.app.as_str()), ("rollout", rollout)];
    let r = call(&s.ann, &s.server, "apply-publishing", &form).await;
    assert!(r.status == 200 || r.status == 302, "{} {}", r.status, r.body);
    let id = r.json().as_str().unwrap().to_string();
    // The approver sees the share the approval releases it to.
    let detail = call(&s.rev, &s.server, "get-application", &[("workspace", "Acme"), ("id", &id)]).await.json();
    let share = detail["rollout"].as_str().unwrap_or_default().to_string();
    match rollout {
        "" | "100" => assert_eq!(share, "100 %: every install gets it at once", "{detail}"),
        _ => assert!(share.starts_with(&format!("{rollout} %: a candidate")), "{detail}"),
    }
    let page = page_text(&s.rev, &s.server.url(&format!("/w/Acme/approvals/{id}"))).await;
    assert!(page.contains(&format!("Super — {share}")), "the page says it beside the App: {page}");
    expect(&call(&s.rev, &s.server, "approve-application", &[("workspace", "Acme"), ("id", &id)]).await, 200, "Rex approves");
}

/// The version of Coupons the list gives `install` (`None`: sent without an install id), or
/// `None` when the list does not hold it.
async fn version_for(s: &Setup, install: Option<&str>) -> Option<String> {
    version_in_container(s, install, None).await
}

/// [`version_for`] from a container that sends its version (`None`: sends none).
async fn version_in_container(s: &Setup, install: Option<&str>, container: Option<&str>) -> Option<String> {
    let mut req = client().get(s.server.url("/api/container/v1/mini-programs")).bearer_auth(&s.access_key);
    if let Some(i) = install {
        req = req.header("mpdp-install-id", i);
    }
    if let Some(v) = container {
        req = req.header("mpdp-container-version", v);
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status(), 200);
    let list: serde_json::Value = r.json().await.unwrap();
    list["mini_programs"].as_array().unwrap().iter().find(|m| m["name"] == "Coupons").map(|m| m["version"].as_str().unwrap().to_string())
}

/// The installs of `installs` that get `version`.
async fn getting(s: &Setup, installs: &[String], version: &str) -> Vec<String> {
    let mut out = Vec::new();
    for i in installs {
        if version_for(s, Some(i)).await.as_deref() == Some(version) {
            out.push(i.clone());
        }
    }
    out
}

async fn control(s: &Setup, c: &reqwest::Client, endpoint: &str, extra: &[(&str, &str)]) -> Reply {
    let mut form = vec![("workspace", "Acme"), ("id", s.mp.as_str()), ("app", s.app.as_str())];
    form.extend_from_slice(extra);
    call(c, &s.server, endpoint, &form).await
}

#[tokio::test]
async fn a_staged_release_is_raised_paused_completed_and_rolled_back_as_the_fleet_sees_it() {
    let s = staged(&[], "10").await;
    let installs = install_ids(2_000);

    // About 10 % get the candidate; a request without an install id gets the stable.
    let ten = getting(&s, &installs, "1.1.0").await;
    assert!((150..=250).contains(&ten.len()), "10 % reached {} of 2 000", ten.len());
    assert_eq!(version_for(&s, None).await.as_deref(), Some("1.0.0"));
    // The same install asks again: the same answer.
    assert_eq!(version_for(&s, Some(&ten[0])).await.as_deref(), Some("1.1.0"));

    // A raise only adds installs.
    expect(&control(&s, &s.ann, "raise-rollout", &[("version", "1.1.0"), ("rollout", "25")]).await, 200, "raise to 25 %");
    let quarter = getting(&s, &installs, "1.1.0").await;
    assert!((420..=580).contains(&quarter.len()), "25 % reached {} of 2 000", quarter.len());
    assert!(ten.iter().all(|i| quarter.contains(i)), "an install of the 10 % lost the candidate");
    // The versions list says where each version is served, and to what share.
    let versions = call(&s.ann, &s.server, "list-versions", &[("workspace", "Acme"), ("id", &s.mp)]).await.json();
    let served = |v: &str| versions["items"].as_array().unwrap().iter().find(|x| x["version"] == v).unwrap()["released_to"].clone();
    assert_eq!(served("1.1.0"), serde_json::json!(["Super (candidate, 25 %)"]));
    assert_eq!(served("1.0.0"), serde_json::json!(["Super (stable)"]));

    // Refusals change nothing.
    expect_field(&control(&s, &s.ann, "raise-rollout", &[("version", "1.1.0"), ("rollout", "20")]).await, 422, "Rollout");
    expect_field(&control(&s, &s.ann, "raise-rollout", &[("version", "1.1.0"), ("rollout", "150")]).await, 422, "Rollout");
    expect_field(&control(&s, &s.ann, "raise-rollout", &[("version", "1.1.0"), ("rollout", "")]).await, 422, "Rollout");
    expect(&control(&s, &s.dev, "raise-rollout", &[("version", "1.1.0"), ("rollout", "50")]).await, 403, "a developer");
    expect(&control(&s, &s.rev, "pause-rollout", &[("version", "1.1.0")]).await, 403, "a reviewer");
    expect_field(&control(&s, &s.ann, "rollback-release", &[("version", "0.9.0"), ("reason", "x")]).await, 422, "Version");
    assert_eq!(getting(&s, &installs[..400], "1.1.0").await, getting(&s, &installs[..400], "1.1.0").await);
    assert_eq!(getting(&s, &quarter, "1.1.0").await.len(), quarter.len());

    // A malformed install id is refused, naming the header.
    let r = client().get(s.server.url("/api/container/v1/mini-programs")).bearer_auth(&s.access_key).header("mpdp-install-id", "short").send().await.unwrap();
    assert_eq!(r.status(), 400);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!((body["error"]["code"].as_str(), body["error"]["field"].as_str()), (Some("install_id_invalid"), Some("MPDP-Install-Id")));

    // Paused: nobody gets it on the next request; resumed: the same installs again.
    expect(&control(&s, &s.ann, "pause-rollout", &[("version", "1.1.0")]).await, 200, "pause");
    assert!(getting(&s, &quarter, "1.0.0").await.len() == quarter.len(), "a paused candidate was still served");
    expect(&control(&s, &s.ann, "pause-rollout", &[("version", "1.1.0")]).await, 409, "pause twice");
    expect(&control(&s, &s.ann, "resume-rollout", &[("version", "1.1.0")]).await, 200, "resume");
    assert_eq!(getting(&s, &quarter, "1.1.0").await.len(), quarter.len());

    // Completed: everyone gets it; rolled back: everyone gets the version before, at once.
    expect(&control(&s, &s.ann, "complete-rollout", &[("version", "1.1.0")]).await, 200, "complete");
    assert_eq!(version_for(&s, None).await.as_deref(), Some("1.1.0"));
    assert_eq!(version_for(&s, Some(&installs[1_999])).await.as_deref(), Some("1.1.0"));
    expect(&control(&s, &s.ann, "complete-rollout", &[("version", "1.1.0")]).await, 409, "nothing left to complete");
    expect_field(&control(&s, &s.ann, "rollback-release", &[("version", "1.0.0"), ("reason", "")]).await, 422, "Reason");
    expect(&control(&s, &s.ann, "rollback-release", &[("version", "1.0.0"), ("reason", "Crashes on start")]).await, 200, "roll back");
    assert_eq!(version_for(&s, None).await.as_deref(), Some("1.0.0"));
    assert!(getting(&s, &quarter, "1.0.0").await.len() == quarter.len());

    let events = audit_events(&s.ann, &s.server, "release.rolled_back", "").await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(events[0]["details"].as_str().unwrap().contains("Crashes on start"), "{events:?}");
    for action in ["release.raised", "release.paused", "release.resumed", "release.completed"] {
        assert_eq!(audit_events(&s.ann, &s.server, action, "").await.len(), 1, "{action}");
    }
}

async fn set_test_devices(s: &Setup, c: &reqwest::Client, devices: &str) -> Reply {
    call(c, &s.server, "set-test-devices", &[("workspace", "Acme"), ("app", &s.app), ("devices", devices)]).await
}

#[tokio::test]
async fn test_devices_get_the_candidate_before_anyone_else() {
    let s = staged(&[], "0").await;
    let installs = install_ids(300);
    assert!(getting(&s, &installs, "1.0.0").await.len() == installs.len(), "0 %: nobody gets the candidate");
    expect_field(&set_test_devices(&s, &s.ann, "short").await, 422, "Test devices");
    expect(&set_test_devices(&s, &s.dev, "qa-device-0001").await, 403, "a developer");
    expect(&set_test_devices(&s, &s.ann, "qa-device-0001\nqa-device-0002\nqa-device-0001").await, 200, "two test devices");
    expect_field(&set_test_devices(&s, &s.ann, "qa-device-0002, qa-device-0001").await, 422, "Test devices");
    for qa in ["qa-device-0001", "qa-device-0002"] {
        assert_eq!(version_for(&s, Some(qa)).await.as_deref(), Some("1.1.0"), "{qa}");
    }
    assert!(getting(&s, &installs, "1.0.0").await.len() == installs.len(), "a test device's list went to others");
    let app = call(&s.ann, &s.server, "get-app", &[("workspace", "Acme"), ("id", &s.app)]).await.json();
    assert_eq!(app["test_devices"], serde_json::json!(["qa-device-0001", "qa-device-0002"]));
    assert_eq!(audit_events(&s.ann, &s.server, "app.test_devices_changed", "").await.len(), 1);
}

#[tokio::test]
async fn two_releases_start_with_different_slices_and_an_abort_keeps_the_stable() {
    let s = staged(&[], "10").await;
    let installs: Vec<String> = (0..1_000).map(|i| format!("device-{i:04}")).collect();
    let first = getting(&s, &installs, "1.1.0").await;
    expect(&control(&s, &s.ann, "abort-rollout", &[("version", "1.1.0")]).await, 200, "abort");
    assert!(getting(&s, &installs, "1.0.0").await.len() == installs.len(), "the aborted candidate was still served");
    expect(&control(&s, &s.ann, "abort-rollout", &[("version", "1.1.0")]).await, 409, "abort twice");
    release(&s, "1.2.0", "10").await;
    let second = getting(&s, &installs, "1.2.0").await;
    let shared = first.iter().filter(|i| second.contains(i)).count();
    assert!(shared * 2 < first.len().min(second.len()), "two releases shared {shared} of about 100 installs");
}

/// The release of Coupons to Super as the console shows it.
async fn shown(s: &Setup) -> serde_json::Value {
    let r = call(&s.ann, &s.server, "mini-program-approvals", &[("workspace", "Acme"), ("id", &s.mp)]).await;
    expect(&r, 200, "the release panel");
    r.json()["releases"][0].clone()
}

#[tokio::test]
async fn a_control_meant_for_a_candidate_since_replaced_is_refused_and_changes_nothing() {
    let s = staged(&[], "10").await;
    // Ann's page shows 1.1.0 at 10 %; meanwhile 1.2.0 is approved and replaces it.
    release(&s, "1.2.0", "10").await;
    let before = shown(&s).await;
    assert_eq!((before["version"].as_str(), before["candidate"]["version"].as_str()), (Some("1.0.0"), Some("1.2.0")), "{before}");
    // The page's controls name the candidate they show, with JavaScript and without.
    let page = page_text(&s.ann, &s.server.url(&format!("/w/Acme/mini-programs/{}", s.mp))).await;
    assert!(page.contains(r#"action="/confirm/pause-rollout""#) && page.contains(r#"name="version" value="1.2.0""#), "{page}");
    let confirm = confirmation_page(&s.ann, &s.server.url(&format!("/confirm/complete-rollout?workspace=Acme&id={}&app={}&version=1.2.0", s.mp, s.app))).await;
    assert!(confirm.contains(r#"action="/api/complete-rollout""#) && confirm.contains(r#"name="version" value="1.2.0""#), "{confirm}");
    let installs = install_ids(400);
    let served = getting(&s, &installs, "1.2.0").await;
    for (endpoint, extra) in [
        ("raise-rollout", vec![("version", "1.1.0"), ("rollout", "50")]),
        ("pause-rollout", vec![("version", "1.1.0")]),
        ("resume-rollout", vec![("version", "1.1.0")]),
        ("complete-rollout", vec![("version", "1.1.0")]),
        ("abort-rollout", vec![("version", "1.1.0")]),
    ] {
        let r = control(&s, &s.ann, endpoint, &extra).await;
        expect_field(&r, 409, "Version");
        assert!(r.body.contains("1.1.0 is no longer the candidate on Super: 1.2.0 is; reload the page"), "{endpoint}: {}", r.body);
    }
    // Naming no version is refused too, naming the field.
    expect_field(&control(&s, &s.ann, "complete-rollout", &[]).await, 422, "Version");
    assert_eq!(shown(&s).await, before, "a refused control changed the release");
    assert_eq!(getting(&s, &installs, "1.2.0").await, served);
    for action in ["release.raised", "release.paused", "release.resumed", "release.completed", "release.aborted"] {
        assert!(audit_events(&s.ann, &s.server, action, "").await.is_empty(), "{action}");
    }
    // Naming the candidate shown now, it is done.
    expect(&control(&s, &s.ann, "complete-rollout", &[("version", "1.2.0")]).await, 200, "complete 1.2.0");
    let after = shown(&s).await;
    assert_eq!((after["version"].as_str(), &after["candidate"]), (Some("1.2.0"), &serde_json::Value::Null), "{after}");
    assert_eq!(version_for(&s, None).await.as_deref(), Some("1.2.0"));
    // Sent again from the same page, it finds nothing rolling out.
    expect_field(&control(&s, &s.ann, "complete-rollout", &[("version", "1.2.0")]).await, 409, "Version");
}

/// Posts `body` to the events API with the App's Accessing Key.
async fn post_events(s: &Setup, body: String) -> (u16, serde_json::Value) {
    let r = client()
        .post(s.server.url("/api/container/v1/events"))
        .bearer_auth(&s.access_key)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or_default())
}

/// `n` launches of `version` by `installs` in turn, every `crash_every`-th followed by a crash.
fn launches(s: &Setup, installs: &[String], version: &str, n: usize, crash_every: usize) -> Vec<serde_json::Value> {
    let now = chrono::Utc::now().to_rfc3339();
    let mut out = Vec::new();
    for i in 0..n {
        let install = &installs[i % installs.len()];
        out.push(serde_json::json!({"install": install, "mini_program": s.mp, "version": version, "kind": "launched", "at": now}));
        if i % crash_every == 0 {
            out.push(serde_json::json!({"install": install, "mini_program": s.mp, "version": version, "kind": "crashed", "at": now}));
        }
    }
    out
}

#[tokio::test]
async fn a_failing_candidate_is_paused_by_the_health_rule_and_the_next_poll_gets_the_stable() {
    let s = staged(&["--fleet-flush-ms", "100"], "10").await;
    let installs = install_ids(2_000);
    let inside = getting(&s, &installs, "1.1.0").await;
    assert!(!inside.is_empty());

    // Refusals count nothing.
    let r = client().post(s.server.url("/api/container/v1/events")).body("{}").send().await.unwrap();
    assert_eq!(r.status(), 401);
    let (status, body) = post_events(&s, "not json".into()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("batch_malformed")));
    let too_many = serde_json::json!({"events": launches(&s, &inside, "1.1.0", 1_001, 1_000_000)});
    assert_eq!(post_events(&s, too_many.to_string()).await.0, 413);
    let huge = serde_json::json!({"events": [], "padding": "x".repeat(300_000)});
    assert_eq!(post_events(&s, huge.to_string()).await.0, 413);
    let foreign = serde_json::json!({"events": [{"install": "install-00001", "mini_program": "0190f5a8-0000-7000-8000-000000000099", "version": "1.1.0", "kind": "crashed", "at": chrono::Utc::now().to_rfc3339()}]});
    let (status, body) = post_events(&s, foreign.to_string()).await;
    assert_eq!((status, body["accepted"].as_u64(), body["rejected"].as_u64()), (202, Some(0), Some(1)));
    let unserved = serde_json::json!({"events": launches(&s, &inside, "0.9.0", 3, 1)});
    let (status, body) = post_events(&s, unserved.to_string()).await;
    assert_eq!((status, body["accepted"].as_u64(), body["rejected"].as_u64()), (202, Some(0), Some(6)), "a version the App is not served");
    let outside: Vec<String> = installs.iter().filter(|i| !inside.contains(i)).take(3).cloned().collect();
    let elsewhere = serde_json::json!({"events": launches(&s, &outside, "1.1.0", 3, 1)});
    let (status, body) = post_events(&s, elsewhere.to_string()).await;
    assert_eq!((status, body["accepted"].as_u64(), body["rejected"].as_u64()), (202, Some(0), Some(6)), "the candidate, from installs outside its share");

    // The stable's failures are not the candidate's; a healthy candidate goes on.
    let stable = serde_json::json!({"events": launches(&s, &installs, "1.0.0", 400, 2)});
    assert_eq!(post_events(&s, stable.to_string()).await.0, 202);
    let healthy = serde_json::json!({"events": launches(&s, &inside, "1.1.0", 300, 1_000)});
    let (status, body) = post_events(&s, healthy.to_string()).await;
    assert_eq!((status, body["accepted"].as_u64()), (202, Some(301)));
    // Failing: 10 % crash. The next flush pauses it, and every install's next poll gets 1.0.0.
    let failing = serde_json::json!({"events": launches(&s, &inside, "1.1.0", 300, 5)});
    assert_eq!(post_events(&s, failing.to_string()).await.0, 202);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while version_for(&s, Some(&inside[0])).await.as_deref() == Some("1.1.0") {
        assert!(std::time::Instant::now() < deadline, "the candidate was not paused\n{}", s.server.log());
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(getting(&s, &inside, "1.0.0").await.len() == inside.len(), "a paused candidate was still served");
    let events = audit_events(&s.ann, &s.server, "release.paused", "").await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["actor"], "health rule");
    assert!(events[0]["details"].as_str().unwrap().contains("61 crashes in 600 launches"), "{events:?}");
    // The release page's figures: per version and day.
    let figures = control(&s, &s.rev, "release-figures", &[]).await.json();
    let row = |v: &str| figures.as_array().unwrap().iter().find(|r| r["version"] == v).cloned().unwrap_or_default();
    assert_eq!((row("1.1.0")["launches"].as_u64(), row("1.1.0")["crashes"].as_u64()), (Some(600), Some(61)), "{figures}");
    assert_eq!(row("1.0.0")["launches"].as_u64(), Some(400));

    // Resumed, the candidate is judged on what is reported from then on: the failures that
    // paused it do not pause it again.
    expect(&control(&s, &s.ann, "resume-rollout", &[("version", "1.1.0")]).await, 200, "resume");
    let one = serde_json::json!({"events": [{"install": inside[0], "mini_program": s.mp, "version": "1.1.0", "kind": "launched", "at": chrono::Utc::now().to_rfc3339()}]});
    let (status, body) = post_events(&s, one.to_string()).await;
    assert_eq!((status, body["accepted"].as_u64()), (202, Some(1)), "{body}");
    // The flush that counts the launch judges the candidate in the same write: once the figures
    // show it, the rule has spoken.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let figures = control(&s, &s.rev, "release-figures", &[]).await.json();
        let launches: u64 = figures.as_array().unwrap().iter().filter(|r| r["version"] == "1.1.0").filter_map(|r| r["launches"].as_u64()).sum();
        if launches == 601 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the launch was not counted: {figures}\n{}", s.server.log());
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(version_for(&s, Some(&inside[0])).await.as_deref(), Some("1.1.0"), "paused again by the failures judged before\n{}", s.server.log());
    assert_eq!(audit_events(&s.ann, &s.server, "release.paused", "").await.len(), 1);
}

#[tokio::test]
async fn the_health_rule_is_set_by_a_manager_within_its_bounds() {
    let s = setup().await;
    release(&s, "1.0.0", "").await;
    expect_field(&control(&s, &s.ann, "set-health-rule", &[("threshold", "0"), ("min_launches", "200")]).await, 422, "Failure threshold");
    expect_field(&control(&s, &s.ann, "set-health-rule", &[("threshold", "2"), ("min_launches", "none")]).await, 422, "Minimum launches");
    expect_field(&control(&s, &s.ann, "set-health-rule", &[("threshold", "2"), ("min_launches", "200")]).await, 422, "Failure threshold");
    expect(&control(&s, &s.dev, "set-health-rule", &[("threshold", "5"), ("min_launches", "50")]).await, 403, "a developer");
    expect(&control(&s, &s.ann, "set-health-rule", &[("threshold", "0.5"), ("min_launches", "1000"), ("roll_back", "on")]).await, 200, "set");
    let r = call(&s.ann, &s.server, "mini-program-approvals", &[("workspace", "Acme"), ("id", &s.mp)]).await.json();
    assert_eq!(r["releases"][0]["health"], serde_json::json!({"threshold_bp": 50, "min_launches": 1000, "roll_back": true}));
    let events = audit_events(&s.ann, &s.server, "release.health_rule_changed", "").await;
    assert!(events[0]["details"].as_str().unwrap().contains("withdraw a candidate at a failure rate of 0.5 % after 1000 launches"), "{events:?}");
}

#[tokio::test]
async fn event_batches_are_limited_per_address() {
    let s = setup_with(&["--event-batches-per-address", "2"]).await;
    release(&s, "1.0.0", "").await;
    let batch = serde_json::json!({"events": launches(&s, &["install-00001".to_string()], "1.0.0", 1, 1_000)}).to_string();
    assert_eq!(post_events(&s, batch.clone()).await.0, 202);
    assert_eq!(post_events(&s, batch.clone()).await.0, 202);
    let (status, body) = post_events(&s, batch).await;
    assert_eq!((status, body["error"]["code"].as_str()), (429, Some("rate_limited")));
}

/// Runs `mpdp dev fleet` against the server with the App's key: the installs per version of its
/// last round.
fn fleet(s: &Setup, extra: &[&str]) -> BTreeMap<String, u64> {
    let out = std::process::Command::new(bin())
        .args(["dev", "fleet", "--server", &s.server.base, "--installs", "10000", "--concurrency", "16"])
        .args(extra)
        .env("MPDP_ACCESS_KEY", &s.access_key)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    let mut counts = BTreeMap::new();
    for line in text.lines() {
        let field = |name: &str| line.split(' ').find_map(|f| f.strip_prefix(&format!("{name}="))).map(str::to_string);
        if let (Some(version), Some(n)) = (field("version"), field("installs")) {
            counts.insert(version, n.parse().unwrap());
        }
    }
    counts
}

#[tokio::test]
async fn a_fleet_of_ten_thousand_installs_sees_the_share_grow_and_a_failing_candidate_stop() {
    let s = staged(&["--fleet-flush-ms", "100"], "10").await;
    let at = |c: &BTreeMap<String, u64>, v: &str| c.get(v).copied().unwrap_or(0);
    let ten = fleet(&s, &["--no-events"]);
    // Which installs a release reaches is drawn afresh for each release, so the counts are
    // binomial: each range is more than four standard deviations either side (30 at 10 %, 43 at
    // 25 % of 10 000).
    assert!((870..=1_130).contains(&at(&ten, "1.1.0")), "10 % reached {ten:?}");
    assert_eq!(at(&ten, "1.0.0") + at(&ten, "1.1.0"), 10_000);
    expect(&control(&s, &s.ann, "raise-rollout", &[("version", "1.1.0"), ("rollout", "25")]).await, 200, "raise to 25 %");
    let quarter = fleet(&s, &["--no-events"]);
    assert!((2_300..=2_700).contains(&at(&quarter, "1.1.0")), "25 % reached {quarter:?}");
    // The candidate's installs crash one launch in ten: the next flush pauses it, and every
    // install's next poll gets the stable.
    fleet(&s, &["--fail", "1.1.0=0.1"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let after = fleet(&s, &["--no-events"]);
        if at(&after, "1.0.0") == 10_000 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still served: {after:?}\n{}", s.server.log());
    }
    let paused = audit_events(&s.ann, &s.server, "release.paused", "").await;
    assert_eq!(paused.len(), 1, "{paused:?}");
    assert_eq!(paused[0]["actor"], "health rule");
}

/// A bundle whose app.json names the oldest container version that can run it.
fn needing(container: &str, marker: &str) -> Vec<u8> {
    let app_json = format!(r#"{{"pages":["index"],"minContainerVersion":"{container}"}}"#);
    app::server::archive::pack(&[("app.json", app_json.as_bytes()), ("index.js", marker.as_bytes())]).unwrap()
}

#[tokio::test]
async fn an_old_container_gets_the_newest_released_version_it_can_run_and_never_one_it_cannot() {
    let s = setup().await;
    release(&s, "1.0.0", "").await;
    release_bundle(&s, "1.1.0", "", needing("2.0.0", "1.1.0")).await;
    release_bundle(&s, "1.2.0", "50", needing("3.0.0", "1.2.0")).await;
    // The version page's list says what each version needs.
    let r = call(&s.ann, &s.server, "list-versions", &[("workspace", "Acme"), ("id", &s.mp)]).await;
    let needs: BTreeMap<String, serde_json::Value> = r.json()["items"].as_array().unwrap().iter().map(|v| (v["version"].as_str().unwrap().to_string(), v["min_container"].clone())).collect();
    assert_eq!((&needs["1.0.0"], &needs["1.1.0"], &needs["1.2.0"]), (&serde_json::Value::Null, &serde_json::json!("2.0.0"), &serde_json::json!("3.0.0")), "{needs:?}");
    // Without a container version only what needs none; then by what each container meets.
    assert_eq!(version_in_container(&s, None, None).await.as_deref(), Some("1.0.0"));
    assert_eq!(version_in_container(&s, Some("install-00000001"), Some("1.9.0")).await.as_deref(), Some("1.0.0"));
    assert_eq!(version_in_container(&s, Some("install-00000001"), Some("2.0.0")).await.as_deref(), Some("1.1.0"));
    // The manifest endpoint agrees, under the platform signature.
    let m = client()
        .get(s.server.url(&format!("/api/container/v1/mini-programs/{}", s.mp)))
        .bearer_auth(&s.access_key)
        .header("mpdp-container-version", "1.0.0")
        .send()
        .await
        .unwrap();
    let m: serde_json::Value = m.json().await.unwrap();
    assert_eq!((m["version"].as_str(), m.get("min_container_version")), (Some("1.0.0"), None));
    // A malformed container version is refused, naming the header.
    let bad = client().get(s.server.url("/api/container/v1/mini-programs")).bearer_auth(&s.access_key).header("mpdp-container-version", "two").send().await.unwrap();
    assert_eq!(bad.status(), 400);
    let body: serde_json::Value = bad.json().await.unwrap();
    assert_eq!((body["error"]["code"].as_str(), body["error"]["field"].as_str()), (Some("container_version_invalid"), Some("MPDP-Container-Version")), "{body}");
    // A fleet of 10 000 installs on container 2.5.0: nobody gets the candidate they cannot run
    // (the fleet stops with an error if one does); on 3.1.0 half of them get it.
    let at = |c: &BTreeMap<String, u64>, v: &str| c.get(v).copied().unwrap_or(0);
    let old = fleet(&s, &["--no-events", "--container-version", "2.5.0"]);
    assert_eq!(at(&old, "1.1.0"), 10_000, "{old:?}");
    let older = fleet(&s, &["--no-events", "--container-version", "1.0.0", "--prefix", "older-"]);
    assert_eq!(at(&older, "1.0.0"), 10_000, "{older:?}");
    let new = fleet(&s, &["--no-events", "--container-version", "3.1.0", "--prefix", "new-"]);
    assert!((4_800..=5_200).contains(&at(&new, "1.2.0")), "{new:?}");
    assert_eq!(at(&new, "1.1.0") + at(&new, "1.2.0"), 10_000, "{new:?}");
}
