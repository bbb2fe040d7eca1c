//! Webhooks against a real receiver (`tests/webhook_receiver.py`, Python's standard library,
//! started by the test on 127.0.0.1): a Workspace Admin's endpoints get the events they chose,
//! signed as Standard Webhooks (checked by the receiver with its own HMAC); a receiver answering
//! 500 is retried until it takes the delivery, one answering slowly holds up nobody else, a
//! redirect is not followed; deliveries are listed with every attempt and answer and re-sent on
//! request, a disabled endpoint is sent nothing more, and a delivery queued when the server stops
//! is sent after it starts again. And the refusals: plain http and private addresses without the
//! operator's flag, unknown events, other workspaces' endpoints and deliveries, the endpoint limit
//! under concurrent requests.

mod common;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::minis::*;
use common::workspace::*;
use common::*;

/// The receiver, on a free port of 127.0.0.1, recording into its own directory.
struct Receiver {
    _child: KillOnDrop,
    port: u16,
    dir: DataDir,
}

impl Receiver {
    fn start() -> Receiver {
        Receiver::start_on(0)
    }

    /// A receiver on `port` (0: any free one).
    fn start_on(port: u16) -> Receiver {
        let dir = DataDir::new();
        let (child, line) = start_python_helper("webhook_receiver.py", port, &dir, Stdio::inherit(), "python3 runs the webhook receiver");
        let port = line.trim().strip_prefix("listening ").and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("receiver said {line:?}"));
        Receiver { _child: child, port, dir }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The receiver checks signatures with these secrets (from now on).
    fn trust(&self, secrets: &[&str]) {
        std::fs::write(self.dir.path().join("secrets"), secrets.join("\n")).unwrap();
    }

    /// Every request recorded so far at `stage` ("received" or "answered") on `path`.
    fn requests(&self, stage: &str, path: &str) -> Vec<serde_json::Value> {
        let log: PathBuf = self.dir.path().join("requests.jsonl");
        std::fs::read_to_string(log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|r| r["stage"] == stage && r["path"] == path)
            .collect()
    }

    /// Waits (up to 30 s) until `path` has had `n` requests at `stage`; returns them.
    async fn wait_for(&self, stage: &str, path: &str, n: usize) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let got = self.requests(stage, path);
            if got.len() >= n {
                return got;
            }
            assert!(Instant::now() < deadline, "{path} had {} requests {stage}, not {n}", got.len());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn create(c: &reqwest::Client, server: &Server, workspace: &str, url: &str, events: &[&str]) -> Reply {
    let names: Vec<String> = (0..events.len()).map(|i| format!("events[{i}]")).collect();
    let mut form: Vec<(&str, &str)> = vec![("workspace", workspace), ("url", url), ("description", "test receiver")];
    form.extend(names.iter().map(String::as_str).zip(events.iter().copied()));
    call(c, server, "create-webhook", &form).await
}

/// Saves an endpoint of Acme's as hearing `member.blocked` only, enabled or not.
async fn save(c: &reqwest::Client, server: &Server, id: &str, url: &str, enabled: bool) -> Reply {
    let mut form = vec![("workspace", "Acme"), ("id", id), ("url", url), ("events[0]", "member.blocked")];
    if enabled {
        form.push(("enabled", "on"));
    }
    call(c, server, "update-webhook", &form).await
}

/// Creates an endpoint; its id and signing secret.
async fn endpoint(c: &reqwest::Client, server: &Server, url: &str, events: &[&str]) -> (String, String) {
    let r = create(c, server, "Acme", url, events).await;
    expect(&r, 200, &format!("add {url}"));
    let made = r.json();
    (made["endpoint"].as_str().unwrap().to_string(), made["secret"].as_str().unwrap().to_string())
}

async fn deliveries(c: &reqwest::Client, server: &Server, endpoint: &str, state: &str) -> Vec<serde_json::Value> {
    let r = call(c, server, "list-webhook-deliveries", &[("workspace", "Acme"), ("id", endpoint), ("state", state)]).await;
    expect(&r, 200, "list deliveries");
    r.json()["items"].as_array().unwrap().clone()
}

/// Waits (up to 60 s) until the endpoint's deliveries satisfy `done`, the server's clock moved
/// on by `step` between looks (so backoffs pass without waiting them out).
async fn wait_until(
    c: &reqwest::Client,
    server: &Server,
    endpoint: &str,
    step: Duration,
    done: impl Fn(&[serde_json::Value]) -> bool,
) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let all = deliveries(c, server, endpoint, "").await;
        if done(&all) {
            return all;
        }
        assert!(Instant::now() < deadline, "deliveries never got there: {all:#?}");
        if !step.is_zero() {
            // The move wakes the webhook worker: a retry that is due now is sent at once.
            server.advance(step);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn endpoints_get_the_events_they_chose_signed_and_retried_and_a_slow_one_holds_up_nobody() {
    let receiver = Receiver::start();
    let (server, _op, ann) = acme_with(&["--webhooks-allow-private-networks"], "Ann Lee <ann@example.com>").await;
    let (ok, ok_secret) = endpoint(&ann, &server, &receiver.url("/ok"), &["member.blocked", "member.joined"]).await;
    let (flaky, flaky_secret) = endpoint(&ann, &server, &receiver.url("/fail-twice"), &["member.blocked"]).await;
    let (slow, _) = endpoint(&ann, &server, &receiver.url("/slow"), &["member.blocked"]).await;
    let (uploads, _) = endpoint(&ann, &server, &receiver.url("/always-500"), &["version.uploaded"]).await;
    let (moved, _) = endpoint(&ann, &server, &receiver.url("/redirect"), &["member.joined"]).await;
    receiver.trust(&[&ok_secret, &flaky_secret]);

    // The list carries no endpoint's secret, nor does the list page; the endpoint's own does.
    let r = call(&ann, &server, "list-webhooks", &[("workspace", "Acme")]).await;
    expect(&r, 200, "list endpoints");
    assert_eq!(r.json().as_array().unwrap().len(), 5);
    assert!(r.json().as_array().unwrap().iter().all(|e| e.get("secret").is_none()), "{}", r.body);
    assert!(!r.body.contains("whsec_"), "no secret in the list: {}", r.body);
    let html = page_text(&ann, &server.url("/w/Acme/webhooks")).await;
    assert!(html.contains(&receiver.url("/fail-twice")) && !html.contains("whsec_"), "the list page: {html}");
    let r = call(&ann, &server, "get-webhook", &[("workspace", "Acme"), ("id", &ok)]).await;
    expect(&r, 200, "get an endpoint");
    assert_eq!(r.json()["secret"], ok_secret.as_str());

    // A member joins: only the endpoints of member.joined hear of it.
    let (_dev, dev_id) = join_with_id(&server, &ann, "dev", "WorkspaceDeveloper").await;
    let joined = receiver.wait_for("received", "/ok", 1).await;
    let body: serde_json::Value = serde_json::from_str(joined[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["type"], "member.joined");
    assert_eq!(body["data"]["target"], "dev@example.com");
    assert_eq!(body["data"]["workspace"]["name"], "Acme");
    assert_eq!(body["data"]["action"], "member.joined");
    assert_eq!(joined[0]["verified"], true, "the receiver's own HMAC agrees: {:?}", joined[0]);
    let h = &joined[0]["headers"];
    assert!(h["webhook-id"].as_str().unwrap().starts_with("msg_"));
    assert!(h["webhook-signature"].as_str().unwrap().starts_with("v1,"));
    assert_eq!(h["content-type"], "application/json");
    assert!(h["webhook-timestamp"].as_str().unwrap().parse::<i64>().is_ok());

    // A redirect is an answer, not a delivery: not followed, retried later.
    receiver.wait_for("answered", "/redirect", 1).await;
    let first = wait_until(&ann, &server, &moved, Duration::ZERO, |d| d.len() == 1 && !d[0]["attempts"].as_array().unwrap().is_empty()).await;
    assert_eq!(first[0]["state"], "Queued");
    assert_eq!(first[0]["attempts"][0]["status"], 302);
    assert_eq!(receiver.requests("received", "/ok").len(), 1, "the redirect to /ok was not followed");

    // A member is blocked: /slow holds its request (the sender gives up after 10 s) while /ok
    // and /fail-twice are answered; the block itself answers at once.
    let r = block_member(&ann, &server, "Acme", &dev_id).await;
    expect(&r, 200, "block dev");
    receiver.wait_for("received", "/slow", 1).await;
    let blocked = receiver.wait_for("received", "/ok", 2).await;
    receiver.wait_for("answered", "/fail-twice", 1).await;
    assert!(receiver.requests("answered", "/slow").is_empty(), "/slow is still holding its request");
    let body: serde_json::Value = serde_json::from_str(blocked[1]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["type"], "member.blocked");
    assert_eq!(blocked[1]["verified"], true);

    // /fail-twice answers 500 twice, then takes it: three attempts, one webhook-id.
    let done = wait_until(&ann, &server, &flaky, Duration::from_secs(5), |d| d.first().is_some_and(|d| d["state"] == "Delivered")).await;
    let attempts = done[0]["attempts"].as_array().unwrap();
    let statuses: Vec<u64> = attempts.iter().map(|a| a["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses, vec![500, 500, 200]);
    assert_eq!(attempts[0]["answer"], "not yet");
    assert_eq!(attempts[2]["answer"], "thanks");
    let sent = receiver.requests("received", "/fail-twice");
    assert_eq!(sent.len(), 3);
    assert!(sent.iter().all(|s| s["headers"]["webhook-id"] == sent[0]["headers"]["webhook-id"] && s["verified"] == true));
    let filtered = deliveries(&ann, &server, &flaky, "delivered").await;
    assert_eq!(filtered.len(), 1);
    assert!(deliveries(&ann, &server, &flaky, "failed").await.is_empty());

    // /slow: no answer within the timeout, recorded as such and queued again.
    let slow_done = wait_until(&ann, &server, &slow, Duration::ZERO, |d| d.first().is_some_and(|d| !d["attempts"].as_array().unwrap().is_empty())).await;
    assert_eq!(slow_done[0]["state"], "Queued");
    assert!(slow_done[0]["attempts"][0]["error"].as_str().unwrap().contains("no answer within 10 seconds"), "{slow_done:?}");

    // Disabled, /slow is sent nothing more: its waiting delivery ends failed, held back (an
    // attempt on its way then is not recorded over that, nor retried), and a re-send is refused
    // until it is enabled again.
    let r = save(&ann, &server, &slow, &receiver.url("/slow"), false).await;
    expect(&r, 200, "disable /slow");
    let held = wait_until(&ann, &server, &slow, Duration::ZERO, |d| d[0]["state"] == "Failed").await;
    assert!(held[0]["next_attempt"].is_null());
    let r = call(&ann, &server, "resend-webhook-delivery", &[("workspace", "Acme"), ("delivery", held[0]["id"].as_str().unwrap())]).await;
    expect_field(&r, 409, "Enabled");
    let r = call(&ann, &server, "send-test-webhook", &[("workspace", "Acme"), ("id", &slow)]).await;
    expect_field(&r, 409, "Enabled");
    let slow_requests = receiver.requests("received", "/slow").len();

    // Re-sending a delivered event posts it again under the same webhook-id.
    let delivered = deliveries(&ann, &server, &ok, "delivered").await;
    assert_eq!(delivered.len(), 2);
    let r = call(&ann, &server, "resend-webhook-delivery", &[("workspace", "Acme"), ("delivery", delivered[0]["id"].as_str().unwrap())]).await;
    expect(&r, 200, "re-send");
    let again = receiver.wait_for("received", "/ok", 3).await;
    assert_eq!(again[2]["headers"]["webhook-id"], blocked[1]["headers"]["webhook-id"], "the newest delivery, sent again");
    wait_until(&ann, &server, &ok, Duration::ZERO, |d| d[0]["attempts"].as_array().unwrap().len() == 2 && d[0]["state"] == "Delivered").await;

    // A version uploaded reaches /always-500, which never takes it: failed after ten attempts.
    let mp = create_mini_program(&ann, &server, "Pay", "Finance").await;
    browser_upload(&ann, &server, &mp, "1.0.0", "", common::load::bundle(&mp, "1.0.0")).await;
    let failed = wait_until(&ann, &server, &uploads, Duration::from_secs(600), |d| d.first().is_some_and(|d| d["state"] == "Failed")).await;
    assert_eq!(failed[0]["attempts"].as_array().unwrap().len(), 10);
    assert_eq!(failed[0]["event"], "version.uploaded");
    assert!(failed[0]["next_attempt"].is_null());

    // Disabled, an endpoint hears nothing; a test event is sent whatever it chose.
    let r = save(&ann, &server, &ok, &receiver.url("/ok"), false).await;
    expect(&r, 200, "disable /ok");
    assert_eq!(r.json()["enabled"], false);
    assert_eq!(r.json()["secret"], ok_secret.as_str(), "the endpoint's page, as saved");
    let r = call(&ann, &server, "unblock-member", &[("workspace", "Acme"), ("account", &dev_id)]).await;
    expect(&r, 200, "unblock");
    let r = block_member(&ann, &server, "Acme", &dev_id).await;
    expect(&r, 200, "block again");
    receiver.wait_for("received", "/fail-twice", 4).await;
    assert_eq!(receiver.requests("received", "/ok").len(), 3, "a disabled endpoint is not told");
    assert_eq!(receiver.requests("received", "/slow").len(), slow_requests, "nor retried, hours of server time later");

    // A new secret signs from now on; enabled again, /ok takes a test event, sent whatever it chose.
    let r = call(&ann, &server, "rotate-webhook-secret", &[("workspace", "Acme"), ("id", &ok)]).await;
    expect(&r, 200, "rotate");
    let new_secret = r.json()["secret"].as_str().unwrap().to_string();
    assert_ne!(new_secret, ok_secret);
    receiver.trust(&[&new_secret]);
    let r = call(&ann, &server, "send-test-webhook", &[("workspace", "Acme"), ("id", &ok)]).await;
    expect_field(&r, 409, "Enabled");
    let r = save(&ann, &server, &ok, &receiver.url("/ok"), true).await;
    expect(&r, 200, "enable /ok");
    let r = call(&ann, &server, "send-test-webhook", &[("workspace", "Acme"), ("id", &ok)]).await;
    expect(&r, 200, "test event");
    let tested = receiver.wait_for("received", "/ok", 4).await;
    assert_eq!(tested[3]["verified"], true, "signed with the new secret");
    assert!(tested[3]["body"].as_str().unwrap().contains("\"type\":\"webhook.test\""));

    // Every change is in the audit log.
    assert_eq!(audit_events(&ann, &server, "webhook.endpoint_added", "").await.len(), 5);
    assert_eq!(audit_events(&ann, &server, "webhook.endpoint_changed", "").await.len(), 4);
    // So are test events and re-sends (the refused ones changed nothing).
    assert_eq!(audit_events(&ann, &server, "webhook.test_sent", "").await.len(), 1);
    assert_eq!(audit_events(&ann, &server, "webhook.delivery_resent", "").await.len(), 1);

    // Deleted: its deliveries go with it.
    let r = call(&ann, &server, "delete-webhook", &[("workspace", "Acme"), ("id", &uploads)]).await;
    expect(&r, 200, "delete");
    let r = call(&ann, &server, "list-webhook-deliveries", &[("workspace", "Acme"), ("id", &uploads)]).await;
    expect(&r, 404, "a deleted endpoint's deliveries");
    let r = call(&ann, &server, "list-webhooks", &[("workspace", "Acme")]).await;
    assert_eq!(r.json().as_array().unwrap().len(), 4);
    assert!(!r.body.contains("whsec_"), "{}", r.body);
}

#[tokio::test]
async fn endpoints_are_https_to_public_hosts_for_known_events_and_kept_to_their_workspace() {
    let (server, op, ann) = acme().await;
    let before = call(&ann, &server, "list-webhooks", &[("workspace", "Acme")]).await;
    assert_eq!(before.json(), serde_json::json!([]));

    for (url, events, rule) in [
        ("http://93.184.215.14/hook", vec!["member.joined"], "must start with https://"),
        ("https://127.0.0.1/hook", vec!["member.joined"], "--webhooks-allow-private-networks"),
        ("https://10.1.2.3/hook", vec!["member.joined"], "--webhooks-allow-private-networks"),
        ("https://[::1]/hook", vec!["member.joined"], "--webhooks-allow-private-networks"),
        ("https://169.254.169.254/latest/meta-data", vec!["member.joined"], "--webhooks-allow-private-networks"),
        ("https://localhost/hook", vec!["member.joined"], "--webhooks-allow-private-networks"),
        ("https://user:pw@93.184.215.14/hook", vec!["member.joined"], "user name or password"),
        ("not a url", vec!["member.joined"], "must be an absolute URL"),
    ] {
        let r = create(&ann, &server, "Acme", url, &events).await;
        expect_field(&r, 422, "Endpoint URL");
        assert!(message(&r).contains(rule), "{url}: {}", r.body);
    }
    let r = create(&ann, &server, "Acme", "https://93.184.215.14/hook", &["version.deleted"]).await;
    expect_field(&r, 422, "Events");
    assert!(message(&r).contains("\"version.deleted\" is not an event"), "{}", r.body);
    let r = create(&ann, &server, "Acme", "https://93.184.215.14/hook", &[]).await;
    expect_field(&r, 422, "Events");
    let after = call(&ann, &server, "list-webhooks", &[("workspace", "Acme")]).await;
    assert_eq!(after.json(), serde_json::json!([]), "a refusal changes nothing");
    assert!(audit_events(&ann, &server, "webhook.endpoint_added", "").await.is_empty());

    // Twenty-five at once: the workspace's limit of twenty holds, and one URL is added once.
    let urls: Vec<String> = (0..25).map(|i| format!("https://93.184.215.14/hook/{i}")).collect();
    let statuses: Vec<u16> =
        futures_join_all(urls.iter().map(|u| async { create(&ann, &server, "Acme", u, &["member.joined"]).await.status.as_u16() })).await;
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 20, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 5, "{statuses:?}");
    let listed = call(&ann, &server, "list-webhooks", &[("workspace", "Acme")]).await.json();
    assert_eq!(listed.as_array().unwrap().len(), 20);
    let id = listed[0]["id"].as_str().unwrap().to_string();
    let r = call(&ann, &server, "delete-webhook", &[("workspace", "Acme"), ("id", &id)]).await;
    expect(&r, 200, "delete one");
    let same = listed[1]["url"].as_str().unwrap().to_string();
    let statuses = futures_join_all((0..10).map(|_| async { create(&ann, &server, "Acme", &same, &["member.joined"]).await.status.as_u16() })).await;
    assert!(statuses.iter().all(|s| *s == 409), "an endpoint's URL is added once: {statuses:?}");
    let r = create(&ann, &server, "Acme", &same.replace("hook/", "other/"), &["member.joined"]).await;
    expect(&r, 200, "the twentieth");
    // A test event to a public host that cannot be reached here: queued, never a server error.
    let r = call(&ann, &server, "send-test-webhook", &[("workspace", "Acme"), ("id", listed[1]["id"].as_str().unwrap())]).await;
    expect(&r, 200, "queued");
    let delivery = r.json().as_str().unwrap().to_string();

    // Another workspace's admin reaches none of it, by id or by name.
    let other = person(&server, "other").await;
    apply_and_generate(&op, &server, &other, "Other", "Other <other@example.com>").await;
    let endpoint = listed[1]["id"].as_str().unwrap();
    for (name, form) in [
        ("get-webhook", vec![("workspace", "Other"), ("id", endpoint)]),
        ("list-webhook-deliveries", vec![("workspace", "Other"), ("id", endpoint)]),
        ("send-test-webhook", vec![("workspace", "Other"), ("id", endpoint)]),
        ("rotate-webhook-secret", vec![("workspace", "Other"), ("id", endpoint)]),
        ("delete-webhook", vec![("workspace", "Other"), ("id", endpoint)]),
        ("resend-webhook-delivery", vec![("workspace", "Other"), ("delivery", &delivery)]),
    ] {
        expect(&call(&other, &server, name, &form).await, 404, &format!("{name} of another workspace's endpoint"));
    }
    for (name, form) in [
        ("get-webhook", vec![("workspace", "Acme"), ("id", endpoint)]),
        ("delete-webhook", vec![("workspace", "Acme"), ("id", endpoint)]),
    ] {
        expect(&call(&other, &server, name, &form).await, 404, &format!("{name} in a workspace one is not a member of"));
    }
    let r = call(&ann, &server, "get-webhook", &[("workspace", "Acme"), ("id", endpoint)]).await;
    expect(&r, 200, "still there");

    // Unknown states and cursors are refused by name.
    let r = call(&ann, &server, "list-webhook-deliveries", &[("workspace", "Acme"), ("id", endpoint), ("state", "lost")]).await;
    expect_field(&r, 422, "State");
}

#[tokio::test]
async fn a_delivery_waiting_for_its_receiver_is_sent_after_a_restart() {
    // The receiver is not there yet: its address refuses connections.
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/ok");
    let dir = DataDir::new();
    let flags = ["--webhooks-allow-private-networks"];
    let (server, _op, ann) = acme_with_in(&dir, &flags, "Ann Lee <ann@example.com>").await;
    let (endpoint_id, secret) = endpoint(&ann, &server, &url, &["member.joined"]).await;
    join_with_id(&server, &ann, "dev", "WorkspaceDeveloper").await;
    let refused = wait_until(&ann, &server, &endpoint_id, Duration::ZERO, |d| d.first().is_some_and(|d| !d["attempts"].as_array().unwrap().is_empty())).await;
    assert_eq!(refused[0]["state"], "Queued");
    assert!(refused[0]["attempts"][0]["error"].as_str().unwrap().starts_with("could not connect"), "{refused:?}");
    let (ok, log) = server.stop();
    assert!(ok, "clean exit: {log}");

    // The receiver comes up; the server starts again on the same data and sends what waited.
    let receiver = Receiver::start_on(port);
    receiver.trust(&[&secret]);
    let server = Server::start_in(&dir, &flags);
    server.advance(Duration::from_secs(60));
    let got = receiver.wait_for("received", "/ok", 1).await;
    assert_eq!(got[0]["verified"], true);
    assert!(got[0]["body"].as_str().unwrap().contains("\"type\":\"member.joined\""));
    let done = wait_until(&ann, &server, &endpoint_id, Duration::ZERO, |d| d.first().is_some_and(|d| d["state"] == "Delivered")).await;
    assert_eq!(done[0]["attempts"].as_array().unwrap().len(), 2);
}
