//! Workspaces over HTTP: applying, the operator's decisions, Workspace – General, suspension,
//! email through a real SMTP server, and the audit log.

mod common;

use common::workspace::*;
use common::*;
use std::time::Duration;

const REPS: &str = "Ann Lee <ann@example.com>\nZed Ng <zed@example.com>";

/// A raw message received by the SMTP sink, as text: quoted-printable soft line breaks joined
/// and `=3D` decoded (long lines, such as those holding links, are wrapped in transit).
fn text_of(raw: &str) -> String {
    raw.replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=")
}

/// The text of the newest message to `to` containing `needle` that reached the sink; waits for
/// it to arrive.
async fn delivered(sink: &SmtpSink, to: &str, needle: &str) -> String {
    for _ in 0..200 {
        let found =
            sink.messages().into_iter().rev().find(|(rcpt, data)| {
                rcpt.iter().any(|r| r == to) && text_of(data).contains(needle)
            });
        if let Some((_, data)) = found {
            return text_of(&data);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no mail to {to} with {needle:?}: {:?}", sink.messages());
}

/// The token of the link `…{path}{token}` in the newest message delivered to `to`.
async fn delivered_token(sink: &SmtpSink, to: &str, path: &str) -> String {
    let text = delivered(sink, to, path).await;
    let i = text.rfind(path).unwrap() + path.len();
    let token: String = text[i..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect();
    assert_eq!(token.len(), 64, "{text}");
    token
}

/// On a server that delivers mail over SMTP: a signed-in `name@example.com`, verified with the
/// link from the mail the sink received (the outbox copy loses the link once it is sent, so
/// `person`'s way through the outbox does not apply; the server's `op` must be unset).
async fn smtp_person(server: &Server, sink: &SmtpSink, name: &str) -> reqwest::Client {
    assert!(server.op.is_none(), "unset server.op on an SMTP server");
    let c = person(server, name).await;
    let token = delivered_token(sink, &format!("{name}@example.com"), "/verify-email/").await;
    let r = call(&c, server, "verify-email", &[("token", &token)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(me(&c, server).await["email_verified"], true);
    c
}

/// The outbox page for (`state`, `q`) once it holds `n` messages (the worker records a delivery
/// just after the SMTP server has it).
async fn outbox_when(
    op: &reqwest::Client,
    server: &Server,
    state: &str,
    q: &str,
    n: u64,
) -> serde_json::Value {
    let mut page = serde_json::Value::Null;
    for _ in 0..200 {
        let r = list_outbox(op, server, state, q).await;
        assert_eq!(r.status, 200, "{}", r.body);
        page = r.json();
        if page["total"] == n {
            return page;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("expected {n} {state} messages for {q:?}: {page}");
}

/// The addresses of the admissions waiting in Acme, as its admin `c` lists them.
async fn admission_emails(c: &reqwest::Client, server: &Server) -> Vec<String> {
    let r = list_admissions(c, server, "Acme").await;
    assert_eq!(r.status, 200, "{}", r.body);
    strings(&r.json(), "email")
}

/// The (name, status) of `c`'s workspace applications, newest first.
async fn my_applications(c: &reqwest::Client, server: &Server) -> Vec<(String, String)> {
    let r = call(c, server, "my-workspace-applications", &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    string_pairs(&r.json(), "name", "status")
}

#[tokio::test]
async fn applying_needs_a_verified_address_keeps_others_pending_names_private_and_is_capped() {
    let (server, op) = server_with_operator(&[]).await;
    let pending_total = || async {
        call(&op, &server, "list-workspace-applications", &[("status", "Pending"), ("q", "")]).await.json()["total"].as_u64().unwrap()
    };

    // Unverified: refused, with what to do; nothing filed.
    let zed = unverified_person(&server, "zed").await;
    let r = apply(&zed, &server, "Zeta", REPS).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.json()["message"].as_str().unwrap().contains("Verify your email address zed@example.com first"), "{}", r.body);
    assert_eq!(pending_total().await, 0);

    // Ann's pending "Acme" is not revealed to bob: his answer is that of a free name.
    let ann = person(&server, "ann").await;
    let bob = person(&server, "bob").await;
    let a = apply(&ann, &server, "Acme", REPS).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let taken = apply(&bob, &server, "ACME", REPS).await;
    let free = apply(&bob, &server, "Zeta", REPS).await;
    assert_eq!((taken.status, free.status), (reqwest::StatusCode::OK, reqwest::StatusCode::OK), "{} / {}", taken.body, free.body);
    assert_eq!(taken.json()["status"], free.json()["status"]);
    // Her own pending name is refused to her.
    let r = apply(&ann, &server, "acme", REPS).await;
    expect_field(&r, 409, "Workspace Name");
    assert!(r.body.contains("you already have a pending application for this name"), "{}", r.body);

    // At most three pending at a time; the fourth is refused and stores nothing.
    for name in ["Two", "Three"] {
        assert_eq!(apply(&ann, &server, name, REPS).await.status, 200);
    }
    let before = (my_applications(&ann, &server).await, pending_total().await);
    let r = apply(&ann, &server, "Four", REPS).await;
    expect_field(&r, 409, "Workspace application");
    assert!(r.body.contains("you already have 3 pending applications"), "{}", r.body);
    assert_eq!((my_applications(&ann, &server).await, pending_total().await), before, "nothing changed");
    let two = call(&ann, &server, "my-workspace-applications", &[]).await.json().as_array().unwrap().iter().find(|a| a["name"] == "Two").unwrap()["id"].as_str().unwrap().to_string();
    assert_eq!(withdraw_workspace_application(&ann, &server, &two).await.status, 200);
    assert_eq!(apply(&ann, &server, "Four", REPS).await.status, 200, "a withdrawn one no longer counts");

    // The operator generates ann's Acme; bob's can then not be generated, and stays pending.
    let r = generate_workspace(&op, &server, a.json()["id"].as_str().unwrap()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = generate_workspace(&op, &server, taken.json()["id"].as_str().unwrap()).await;
    expect_field(&r, 409, "Workspace Name");
    assert!(my_applications(&bob, &server).await.contains(&("ACME".to_string(), "Pending".to_string())));
    // A workspace's name is refused to everyone.
    let cat = person(&server, "cat").await;
    let r = apply(&cat, &server, "aCme", REPS).await;
    expect_field(&r, 409, "Workspace Name");
    assert!(r.body.contains("is already the name of a workspace"), "{}", r.body);
}

#[tokio::test]
async fn workspace_name_rules_are_checked_on_the_server() {
    let (server, _op) = server_with_operator(&[]).await;
    let ann = person(&server, "ann").await;
    let long = "a".repeat(33);
    for (name, why) in [
        ("Acme Pay", "space"),
        ("Аcme", "Cyrillic look-alike"),
        ("ａcme", "full-width look-alike"),
        ("ab", "2 characters"),
        (long.as_str(), "33 characters"),
        ("acme-pay", "hyphen"),
        ("", "empty"),
    ] {
        let r = apply(&ann, &server, name, REPS).await;
        assert_eq!(r.status, 422, "{why}: {}", r.body);
        assert_eq!(r.field().as_deref(), Some("Workspace Name"), "{why}");
    }
    let r = apply(&ann, &server, &"a".repeat(32), REPS).await;
    assert_eq!(r.status, 200, "32 characters are allowed: {}", r.body);
    let r = apply(&ann, &server, "Acme", REPS).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = apply(&ann, &server, "ACME", REPS).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(r.field().as_deref(), Some("Workspace Name"));

    // Other fields.
    let bad = |mcc: &'static str, address: &'static str, reps: &'static str| {
        [
            ("name", "Other1"),
            ("mcc", mcc),
            ("address", address),
            ("representatives", reps),
        ]
    };
    for (form, field) in [
        (bad("0000", "x", REPS), "Scope of Business"),
        (bad("", "x", REPS), "Scope of Business"),
        (bad("5812", "", REPS), "Business Address"),
        (bad("5812", "x", ""), "Business Representatives"),
        (
            bad(
                "5812",
                "x",
                "Ann <ann@example.com>\nAnn Again <ANN@example.com>",
            ),
            "Business Representatives",
        ),
        (
            bad("5812", "x", "Ann ann@example.com"),
            "Business Representatives",
        ),
    ] {
        let r = call(&ann, &server, "apply-for-workspace", &form).await;
        assert_eq!(
            (r.status.as_u16(), r.field().as_deref()),
            (422, Some(field)),
            "{form:?}: {}",
            r.body
        );
    }
    // The console's form sends the representatives as rows; blank rows are skipped, and a
    // half-filled one is refused by its number.
    let rows = |second_name: &'static str| {
        [
            ("name", "Rows1"),
            ("mcc", "5812 — Eating places and restaurants"),
            ("address", "1 Harbour Road"),
            ("rep[0][name]", "Ann Lee"),
            ("rep[0][email]", "ann@example.com"),
            ("rep[1][name]", second_name),
            ("rep[1][email]", "li@example.com"),
            ("rep[2][name]", ""),
            ("rep[2][email]", ""),
        ]
    };
    let r = call(&ann, &server, "apply-for-workspace", &rows("")).await;
    expect_field(&r, 422, "Business Representatives");
    assert!(r.body.contains("representative 2 needs a name"), "{}", r.body);
    let r = call(&ann, &server, "apply-for-workspace", &rows("Li Wei")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let reps = r.json()["representatives"].clone();
    assert_eq!(reps.as_array().map(|a| a.len()), Some(2), "{reps}");
    assert_eq!(reps[1]["email"], "li@example.com");
    let mine = call(&ann, &server, "my-workspace-applications", &[])
        .await
        .json();
    assert_eq!(
        mine.as_array().unwrap().len(),
        3,
        "only the three valid applications exist"
    );
}

#[tokio::test]
async fn only_operators_decide_and_nobody_decides_twice() {
    let (server, op) = server_with_operator(&[]).await;
    let ann = person(&server, "ann").await;
    let app = apply(&ann, &server, "Acme", REPS).await.json();
    let id = app["id"].as_str().unwrap().to_string();

    // Signed out, and an ordinary user, are refused every operator function.
    let calls: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "list-workspace-applications",
            vec![("status", ""), ("q", "")],
        ),
        ("generate-workspace", vec![("id", &id)]),
        (
            "reject-workspace-application",
            vec![("id", &id), ("reason", "no")],
        ),
        ("list-workspaces", vec![("q", "")]),
        ("list-change-requests", vec![]),
        ("list-outbox", vec![("state", ""), ("q", "")]),
        (
            "platform-audit",
            vec![("workspace", ""), ("action", ""), ("q", "")],
        ),
        ("operator-overview", vec![]),
    ];
    let some_id = "0190d2a4-0000-7000-8000-000000000000";
    let mut calls = calls;
    calls.extend([
        ("get-workspace", vec![("id", some_id)]),
        (
            "edit-workspace-info",
            vec![
                ("id", some_id),
                ("mcc", "5812"),
                ("address", "x"),
                ("representatives", "A <a@example.com>"),
            ],
        ),
        (
            "set-workspace-status",
            vec![("id", some_id), ("action", "suspend"), ("reason", "x")],
        ),
        ("get-outbox-message", vec![("id", some_id)]),
        ("list-accounts", vec![("q", "")]),
        ("mark-account-verified", vec![("account", some_id)]),
    ]);
    for (endpoint, form) in &calls {
        assert_eq!(
            call(&client(), &server, endpoint, form).await.status,
            401,
            "{endpoint} signed out"
        );
        assert_eq!(
            call(&ann, &server, endpoint, form).await.status,
            403,
            "{endpoint} as a user"
        );
    }
    // Nothing was decided by those refused calls.
    assert_eq!(
        call(&ann, &server, "get-workspace-application", &[("id", &id)])
            .await
            .json()["status"],
        "Pending"
    );
    // Another user cannot see ann's application.
    let bob = person(&server, "bob").await;
    assert_eq!(
        call(&bob, &server, "get-workspace-application", &[("id", &id)])
            .await
            .status,
        404
    );

    for (endpoint, form) in &calls {
        if endpoint.starts_with("generate") || endpoint.starts_with("reject") {
            continue;
        }
        let r = call(&op, &server, endpoint, form).await;
        if form.iter().any(|(_, v)| *v == some_id) {
            assert_eq!(
                r.status, 404,
                "{endpoint} as operator, unknown id: {}",
                r.body
            );
        } else {
            assert_eq!(r.status, 200, "{endpoint} as operator: {}", r.body);
        }
    }
    let queue = call(
        &op,
        &server,
        "list-workspace-applications",
        &[("status", "Pending"), ("q", "acm")],
    )
    .await
    .json();
    assert_eq!(queue["total"], 1);
    let r = call(
        &op,
        &server,
        "list-workspace-applications",
        &[("status", "Nonsense"), ("q", "")],
    )
    .await;
    expect_field(&r, 422, "Status");

    let r = reject_workspace_application(&op, &server, &id, " ").await;
    expect_field(&r, 422, "Reason");
    assert_eq!(generate_workspace(&op, &server, &id).await.status, 200);
    let r = generate_workspace(&op, &server, &id).await;
    assert_eq!(r.status, 409, "{}", r.body);
    let r = reject_workspace_application(&op, &server, &id, "late").await;
    assert_eq!(r.status, 409);
    assert_eq!(withdraw_workspace_application(&ann, &server, &id).await.status, 409);
    let r = generate_workspace(&op, &server, "not-a-uuid").await;
    assert_eq!(r.status, 400, "{}", r.body);
}

#[tokio::test]
async fn representatives_become_admins_and_see_general_others_get_404() {
    let (server, op, ann) = acme_with(&[], REPS).await;

    let general = workspace_general(&ann, &server, "acme").await;
    assert_eq!(general.status, 200, "{}", general.body);
    let g = general.json();
    assert_eq!(g[0]["name"], "Acme");
    assert_eq!(g[0]["status"], "Active");
    assert_eq!(g[0]["mcc"], "5812");
    assert_eq!(g[1], "WorkspaceAdmin");
    let mine = call(&ann, &server, "my-workspaces", &[]).await.json();
    assert_eq!(mine[0]["name"], "Acme");

    // zed had no account: signing up with that email admits nobody until the address is
    // verified; then zed is a Workspace Admin.
    let waiting = list_admissions(&ann, &server, "Acme").await;
    assert_eq!(waiting.status, 200, "{}", waiting.body);
    assert_eq!(
        waiting.json().as_array().unwrap().len(),
        1,
        "{}",
        waiting.body
    );
    assert_eq!(waiting.json()[0]["email"], "zed@example.com");
    assert_eq!(waiting.json()[0]["role"], "WorkspaceAdmin");
    let zed = unverified_person(&server, "zed").await;
    let r = workspace_general(&zed, &server, "Acme").await;
    assert_eq!(
        r.status, 404,
        "not before the address is verified: {}",
        r.body
    );
    assert_eq!(
        call(&zed, &server, "my-workspaces", &[]).await.json(),
        serde_json::json!([])
    );
    verify(&op, &server, "zed@example.com").await;
    let r = workspace_general(&zed, &server, "Acme").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()[1], "WorkspaceAdmin");
    assert_eq!(list_admissions(&ann, &server, "Acme").await.json(), serde_json::json!([]), "no longer waiting");

    // A stranger, and a signed-out visitor, learn nothing.
    let bob = person(&server, "bob").await;
    let r = workspace_general(&bob, &server, "Acme").await;
    assert_eq!(r.status, 404);
    let r2 = workspace_general(&bob, &server, "NoSuchOne").await;
    assert_eq!(r2.status, 404);
    assert_eq!(workspace_general(&client(), &server, "Acme").await.status, 401);
    let page = bob.get(server.url("/w/Acme/general")).send().await.unwrap();
    assert_eq!(page.status(), 404);
    let page = ann.get(server.url("/w/Acme/general")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Eating places and restaurants") && html.contains("zed@example.com"),
        "{html}"
    );

    // An admin of workspace B cannot read or change workspace A.
    apply_and_generate(&op, &server, &bob, "Bravo", "Bob <bob@example.com>").await;
    assert_eq!(workspace_general(&bob, &server, "Bravo").await.status, 200);
    let r = request_workspace_change(&bob, &server, "Acme", "x", "y").await;
    assert_eq!(r.status, 404);
    let r = workspace_audit(&bob, &server, "Acme", "", "").await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn suspension_makes_a_workspace_read_only_and_edits_are_audited() {
    let (server, op, ann) = acme().await;
    let ws = workspace_id(&ann, &server, "Acme").await;

    let r = request_workspace_change(&ann, &server, "Acme", "Address", "").await;
    expect_field(&r, 422, "Why");
    let r = request_workspace_change(&ann, &server, "Acme", "New address: 2 Bay Rd", "We moved").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let requests = call(&op, &server, "list-change-requests", &[])
        .await
        .json();
    assert_eq!(requests["items"][0]["why"], "We moved");

    // The operator edits (not the name), refuses bad values, and suspends.
    let r = edit_workspace_info(&op, &server, &ws, "9999", "2 Bay Rd", "Ann Lee <ann@example.com>").await;
    expect_field(&r, 422, "Scope of Business");
    let r = edit_workspace_info(&op, &server, &ws, "5814", "2 Bay Rd", "Ann Lee <ann@example.com>").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let g = workspace_general(&ann, &server, "Acme").await.json();
    assert_eq!(
        (
            g[0]["address"].as_str(),
            g[0]["mcc"].as_str(),
            g[0]["name"].as_str()
        ),
        (Some("2 Bay Rd"), Some("5814"), Some("Acme"))
    );
    assert_eq!(edit_workspace_info(&ann, &server, ws.as_str(), "5812", "x", "A <a@example.com>").await.status, 403);

    let r = set_workspace_status(&op, &server, &ws, "suspend", "").await;
    expect_field(&r, 422, "Reason");
    let r = set_workspace_status(&op, &server, &ws, "delete", "x").await;
    expect_field(&r, 422, "Action");
    assert_eq!(set_workspace_status(&op, &server, &ws, "suspend", "Unpaid invoice").await.status, 200);
    assert_eq!(set_workspace_status(&op, &server, &ws, "suspend", "again").await.status, 409);

    // Suspended: readable, with the status shown, but nothing can be changed by members.
    let g = workspace_general(&ann, &server, "Acme").await.json();
    assert_eq!(g[0]["status"], "Suspended");
    let r = request_workspace_change(&ann, &server, "Acme", "x", "y").await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.json()["message"].as_str().unwrap().contains("suspended"));
    let before = call(&op, &server, "list-change-requests", &[])
        .await
        .json()["total"]
        .clone();
    assert_eq!(before, 1, "the refused request stored nothing");
    assert_eq!(set_workspace_status(&op, &server, &ws, "reactivate", "Paid").await.status, 200);

    // The audit log has every step, with who and from where; the admin sees their workspace's.
    let audit = call(
        &op,
        &server,
        "platform-audit",
        &[("workspace", ""), ("action", ""), ("q", "")],
    )
    .await
    .json();
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for expected in [
        "workspace_application.submitted",
        "workspace.generated",
        "workspace.change_requested",
        "workspace.info_edited",
        "workspace.suspended",
        "workspace.reactivated",
    ] {
        assert!(actions.contains(&expected), "{expected} in {actions:?}");
    }
    assert_eq!(audit["items"][0]["client"], "127.0.0.1");
    assert_eq!(audit["items"][0]["actor"], "operator");
    let theirs = workspace_audit(&ann, &server, "Acme", "workspace.info_edited", "").await.json();
    assert_eq!(theirs["total"], 1);
    assert!(theirs["items"][0]["details"]
        .as_str()
        .unwrap()
        .contains("5812 → 5814"));
    let r = call(
        &op,
        &server,
        "platform-audit",
        &[
            ("workspace", "Nope"),
            ("action", ""),
            ("q", ""),
        ],
    )
    .await;
    expect_field(&r, 422, "Workspace");
}

#[tokio::test]
async fn the_confirmation_email_reaches_every_representative_over_smtp() {
    let sink = SmtpSink::start();
    let (mut server, op) = server_with_operator(&["--smtp-url", &sink.url(), "--mail-from", "MPDP <console@example.com>"]).await;
    server.op = None;
    let ann = smtp_person(&server, &sink, "ann").await;
    apply_and_generate(&op, &server, &ann, "Acme", REPS).await;
    let ws = workspace_id(&ann, &server, "Acme").await;

    let subject = "Subject: Your MPDP workspace Acme is ready";
    let to_ann = delivered(&sink, "ann@example.com", subject).await;
    let to_zed = delivered(&sink, "zed@example.com", subject).await;
    let ready: Vec<_> = sink
        .messages()
        .into_iter()
        .filter(|(_, d)| text_of(d).contains(subject))
        .collect();
    assert_eq!(ready.len(), 2, "one each: {ready:?}");
    for data in [&to_ann, &to_zed] {
        assert!(data.contains(&format!("Workspace ID: {ws}")), "{data}");
        assert!(data.contains("Workspace Name: Acme"), "{data}");
        assert!(
            data.contains(&format!("{}/w/Acme/general", server.base)),
            "{data}"
        );
        assert!(data.contains("console@example.com"), "{data}");
    }
    assert!(
        !to_ann.contains("/sign-up"),
        "ann is verified and already a Workspace Admin: {to_ann}"
    );
    assert!(
        to_zed.contains("/sign-up"),
        "zed has no account yet and is told how to join: {to_zed}"
    );

    // The outbox shows them as sent.
    let sent = outbox_when(&op, &server, "Sent", "is ready", 2).await;
    assert_eq!(sent["items"][0]["state"], "Sent");

    // A rejection reaches the applicant with the reason.
    let id2 = apply(&ann, &server, "Bravo", REPS).await.json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(reject_workspace_application(&op, &server, &id2, "Scope does not match the business").await.status, 200);
    let rejection = delivered(&sink, "ann@example.com", "was rejected").await;
    assert!(
        rejection.contains("Scope does not match the business"),
        "{rejection}"
    );
    assert!(
        !sink
            .messages()
            .iter()
            .any(|(to, d)| to.iter().any(|t| t == "zed@example.com") && d.contains("was rejected")),
        "only the applicant hears of the rejection"
    );
}

#[tokio::test]
async fn an_unreachable_smtp_server_leaves_mail_queued_and_retried_then_delivered() {
    let dir = DataDir::new();
    let dead = format!("smtp://127.0.0.1:{}", free_port());
    let (server, op) = server_with_operator_in(&dir, &["--smtp-url", &dead]).await;
    // Nothing leaves, so the verification link is still in the outbox for `person`.
    let ann = person(&server, "ann").await;
    apply_and_generate(&op, &server, &ann, "Acme", "Ann Lee <ann@example.com>").await;

    // The first attempt fails; the second comes after a backoff of 2 s, on the server's clock.
    let (mut attempts, mut waited) = (0, false);
    for _ in 0..100 {
        let outbox = list_outbox(&op, &server, "", "is ready").await.json();
        assert_eq!(outbox["total"], 1, "{outbox}");
        let m = &outbox["items"][0];
        assert_eq!(m["state"], "Queued", "{m}");
        attempts = m["attempts"].as_u64().unwrap();
        if attempts >= 2 {
            assert!(
                m["last_error"].as_str().is_some_and(|e| !e.is_empty()),
                "{m}"
            );
            break;
        }
        if attempts == 1 && !waited {
            server.advance(Duration::from_secs(3));
            waited = true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(attempts >= 2, "the worker retried");
    let queued = list_outbox(&op, &server, "Queued", "").await.json();
    assert_eq!(
        queued["total"], 2,
        "ann's verification and the ready mail: {queued}"
    );

    // With a working server configured, the same messages go out.
    let (ok, _) = server.stop();
    assert!(ok);
    let sink = SmtpSink::start();
    let server = Server::start_in(&dir, &["--smtp-url", &sink.url()]);
    let ready = delivered(
        &sink,
        "ann@example.com",
        "Subject: Your MPDP workspace Acme is ready",
    )
    .await;
    assert!(ready.contains("Workspace Name: Acme"), "{ready}");
    let verification = delivered(&sink, "ann@example.com", "/verify-email/").await;
    assert!(
        verification.contains("Subject: Verify your MPDP email address"),
        "{verification}"
    );
    let op = operator(&server).await;
    let sent = outbox_when(&op, &server, "Sent", "", 2).await;
    for m in sent["items"].as_array().unwrap() {
        assert_eq!(m["to"][0], "ann@example.com", "{m}");
    }
    assert_eq!(outbox_when(&op, &server, "Queued", "", 0).await["total"], 0);
}

#[tokio::test]
async fn without_smtp_the_outbox_keeps_every_message_for_the_operator() {
    let (server, op, ann) = acme().await;
    let outbox = list_outbox(&op, &server, "Queued", "ann@").await.json();
    assert_eq!(
        outbox["total"], 2,
        "the verification and the ready mail: {outbox}"
    );
    let items = outbox["items"].as_array().unwrap();
    let ready = items
        .iter()
        .find(|m| m["subject"] == "Your MPDP workspace Acme is ready")
        .expect("the ready mail");
    let mid = ready["id"].as_str().unwrap().to_string();
    let m = call(&op, &server, "get-outbox-message", &[("id", &mid)])
        .await
        .json();
    assert!(m["body"].as_str().unwrap().contains("Workspace Name: Acme"));
    // The outbox is the delivery path here: a secret link stays readable to the operator.
    let verification = items
        .iter()
        .find(|m| m["subject"] == "Verify your MPDP email address")
        .expect("the verification mail");
    assert_eq!(
        (
            verification["carries_link"].as_bool(),
            verification["redacted"].as_bool()
        ),
        (Some(true), Some(false)),
        "{verification}"
    );
    assert!(
        verification["body"]
            .as_str()
            .unwrap()
            .contains(&format!("{}/verify-email/", server.base)),
        "{verification}"
    );
    assert!(!verification["body"]
        .as_str()
        .unwrap()
        .contains("[removed after sending]"));
    assert_eq!(
        call(&ann, &server, "get-outbox-message", &[("id", &mid)])
            .await
            .status,
        403
    );
    let page = page_text(&op, &server.url(&format!("/operator/outbox/{mid}"))).await;
    assert!(page.contains("Workspace Name: Acme"));
}

#[tokio::test]
async fn applicants_withdraw_their_own_pending_applications() {
    let (server, _op) = server_with_operator(&[]).await;
    let ann = person(&server, "ann").await;
    let id = apply(&ann, &server, "Acme", REPS).await.json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let bob = person(&server, "bob").await;
    assert_eq!(withdraw_workspace_application(&bob, &server, &id).await.status, 404);
    assert_eq!(withdraw_workspace_application(&ann, &server, &id).await.status, 200);
    let mine = call(&ann, &server, "my-workspace-applications", &[])
        .await
        .json();
    assert_eq!(mine[0]["status"], "Withdrawn");
    // Withdrawn, it no longer keeps ann from asking for the name again.
    assert_eq!(apply(&ann, &server, "acme", REPS).await.status, 200);
    assert_eq!(
        call(
            &client(),
            &server,
            "apply-for-workspace",
            &[
                ("name", "Zeta"),
                ("mcc", "5812"),
                ("address", "x"),
                ("representatives", REPS)
            ]
        )
        .await
        .status,
        401
    );
}

#[tokio::test]
async fn an_impostor_with_a_representatives_email_is_not_admitted_until_the_address_is_proven() {
    let (server, op) = server_with_operator(&[]).await;
    let ann = person(&server, "ann").await;
    // Before the workspace exists, someone signs up with the CEO's address. They can log in, but
    // cannot verify it: the link goes to the CEO's mailbox. Eve, another representative, has
    // signed up too and not verified yet.
    let impostor = client();
    signed_up(&impostor, &server, "ceo@example.com", "impostor").await;
    let eve = unverified_person(&server, "eve").await;
    apply_and_generate(&op, &server, &ann, "Acme", "Ann Lee <ann@example.com>\nCeo Real <ceo@example.com>\nEve Ng <eve@example.com>").await;

    // The impostor is admitted nowhere, and can neither see nor touch the waiting admissions.
    for endpoint in ["workspace-home", "workspace-general", "list-admissions"] {
        let r = call(&impostor, &server, endpoint, &[("workspace", "Acme")]).await;
        assert_eq!(r.status, 404, "{endpoint}: {}", r.body);
    }
    let r = revoke_admission(&impostor, &server, "Acme", "eve@example.com").await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(
        call(&impostor, &server, "my-workspaces", &[]).await.json(),
        serde_json::json!([])
    );
    let page = impostor
        .get(server.url("/w/Acme/general"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 404);
    let r = list_admissions(&client(), &server, "Acme").await;
    assert_eq!(r.status, 401, "{}", r.body);
    // The CEO is told to prove the address.
    let outbox = list_outbox(&op, &server, "", "is ready").await.json();
    let to_ceo = outbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["to"][0] == "ceo@example.com")
        .expect("the ready mail to the CEO");
    assert!(
        to_ceo["body"]
            .as_str()
            .unwrap()
            .contains("once ceo@example.com is a verified address"),
        "{to_ceo}"
    );

    // Ann, the Workspace Admin, sees both admissions waiting, and only herself as a member.
    let r = list_admissions(&ann, &server, "Acme").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut waiting: Vec<(String, String)> = string_pairs(&r.json(), "email", "role");
    waiting.sort();
    assert_eq!(
        waiting,
        vec![
            ("ceo@example.com".to_string(), "WorkspaceAdmin".to_string()),
            ("eve@example.com".to_string(), "WorkspaceAdmin".to_string()),
        ]
    );
    let members = list_members(&ann, &server, "Acme", "", "", "").await.json();
    assert_eq!(members["total"], 1, "{members}");

    // Revoking: an unknown address is 404; eve's admission goes, and her verifying later
    // admits her nowhere.
    let r = revoke_admission(&ann, &server, "Acme", "nobody@example.com").await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = revoke_admission(&ann, &server, "Acme", "eve@example.com").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = revoke_admission(&ann, &server, "Acme", "EVE@example.com").await;
    assert_eq!(r.status, 404, "only once, whatever the case: {}", r.body);
    let waiting = list_admissions(&ann, &server, "Acme").await.json();
    assert_eq!(waiting.as_array().unwrap().len(), 1, "{waiting}");
    assert_eq!(waiting[0]["email"], "ceo@example.com");
    verify(&op, &server, "eve@example.com").await;
    let r = workspace_home(&eve, &server, "Acme").await;
    assert_eq!(
        r.status, 404,
        "a revoked admission admits nobody: {}",
        r.body
    );

    // The real owner proves the address with a password reset link, which only their mailbox
    // receives: the account becomes theirs, the impostor is out, and the admission happens.
    let r = request_password_reset(&client(), &server, "ceo@example.com").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let token = mailed_token(&op, &server, "ceo@example.com", "/reset-password/").await;
    let r = reset_password(&client(), &server, &token, "silver heron 58", "silver heron 58").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        me(&impostor, &server).await.is_null(),
        "the impostor's session ended"
    );
    assert_eq!(
        log_in(&client(), &server, "impostor", PASSWORD)
            .await
            .status,
        401,
        "and their password no longer works"
    );
    let owner = client();
    assert_eq!(
        log_in(&owner, &server, "ceo@example.com", "silver heron 58")
            .await
            .status,
        200
    );
    let r = workspace_general(&owner, &server, "Acme").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()[1], "WorkspaceAdmin");
    assert_eq!(list_admissions(&ann, &server, "Acme").await.json(), serde_json::json!([]));
    let audit = workspace_audit(&ann, &server, "Acme", "", "").await.json();
    let events: Vec<(&str, &str)> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["target"].as_str().unwrap()))
        .collect();
    assert!(
        events.contains(&("member.admitted", "ceo@example.com")),
        "{events:?}"
    );
    assert!(
        events.contains(&("member.admission_revoked", "eve@example.com")),
        "{events:?}"
    );
    assert!(
        !events.contains(&("member.admitted", "eve@example.com")),
        "{events:?}"
    );
}

#[tokio::test]
async fn admissions_wait_while_the_workspace_is_suspended_and_happen_on_reactivation() {
    let (server, op, ann) = acme_with(&[], REPS).await;
    let ws = workspace_id(&ann, &server, "Acme").await;
    let r = set_workspace_status(&op, &server, &ws, "suspend", "Unpaid invoice").await;
    assert_eq!(r.status, 200, "{}", r.body);

    // zed proves the address, and bob (verified already) is named a representative by the
    // operator: while the workspace is suspended neither joins.
    let zed = unverified_person(&server, "zed").await;
    verify(&op, &server, "zed@example.com").await;
    let bob = person(&server, "bob").await;
    let r = edit_workspace_info(&op, &server, ws.as_str(), "5812", "1 Harbour Road, Singapore", &format!("{REPS}\nBob Tan <bob@example.com>"))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    for (who, c) in [("zed", &zed), ("bob", &bob)] {
        let r = workspace_home(c, &server, "Acme").await;
        assert_eq!(
            r.status, 404,
            "{who} is not admitted while suspended: {}",
            r.body
        );
        assert_eq!(
            call(c, &server, "my-workspaces", &[]).await.json(),
            serde_json::json!([]),
            "{who}"
        );
    }
    // Still waiting, readable by the admin; revoking is a change, refused while suspended.
    let mut emails = admission_emails(&ann, &server).await;
    emails.sort();
    assert_eq!(emails, vec!["bob@example.com", "zed@example.com"]);
    let r = revoke_admission(&ann, &server, "Acme", "zed@example.com").await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(
        r.json()["message"].as_str().unwrap().contains("suspended"),
        "{}",
        r.body
    );

    // Reactivated: both join as Workspace Admins, and nothing waits any more.
    let r = set_workspace_status(&op, &server, &ws, "reactivate", "Paid").await;
    assert_eq!(r.status, 200, "{}", r.body);
    for (who, c) in [("zed", &zed), ("bob", &bob)] {
        let r = workspace_general(c, &server, "Acme").await;
        assert_eq!(r.status, 200, "{who}: {}", r.body);
        assert_eq!(r.json()[1], "WorkspaceAdmin", "{who}");
    }
    assert_eq!(list_admissions(&ann, &server, "Acme").await.json(), serde_json::json!([]));
    let admitted = workspace_audit(&ann, &server, "Acme", "member.admitted", "").await.json();
    assert_eq!(admitted["total"], 2, "{admitted}");
}

#[tokio::test]
async fn a_sent_invitation_link_is_cut_from_the_outbox_once_delivered_over_smtp() {
    let sink = SmtpSink::start();
    let (mut server, op) = server_with_operator(&["--smtp-url", &sink.url()]).await;
    server.op = None;
    let ann = smtp_person(&server, &sink, "ann").await;
    apply_and_generate(&op, &server, &ann, "Acme", "Ann Lee <ann@example.com>").await;
    let r = invite_members(&ann, &server, "Acme", "dev@example.com", "WorkspaceDeveloper").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()[0]["outcome"], "invited");

    // The invitee's mailbox has the link.
    let token = delivered_token(&sink, "dev@example.com", "/invitations/").await;

    // Once sent, the stored copy no longer has it, in the list, the message and its page.
    let sent = outbox_when(&op, &server, "Sent", "You are invited", 1).await;
    let item = &sent["items"][0];
    assert_eq!(item["to"][0], "dev@example.com");
    assert_eq!(
        (item["redacted"].as_bool(), item["carries_link"].as_bool()),
        (Some(true), Some(false)),
        "{item}"
    );
    let body = item["body"].as_str().unwrap();
    assert!(!body.contains(&token), "{body}");
    assert!(
        body.contains("/invitations/[removed after sending]"),
        "{body}"
    );
    let mid = item["id"].as_str().unwrap().to_string();
    let r = call(&op, &server, "get-outbox-message", &[("id", &mid)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!r.body.contains(&token), "{}", r.body);
    assert_eq!(r.json()["redacted"], true);
    let page = page_text(&op, &server.url(&format!("/operator/outbox/{mid}"))).await;
    assert!(
        page.contains("/invitations/[removed after sending]"),
        "{page}"
    );
    assert!(!page.contains(&token), "the outbox page shows the link");
    // The verification link ann used is gone from her sent mail the same way.
    let verification = outbox_when(&op, &server, "Sent", "Verify your MPDP", 1).await;
    let v = &verification["items"][0];
    assert_eq!(v["redacted"], true, "{v}");
    assert!(
        v["body"]
            .as_str()
            .unwrap()
            .contains("/verify-email/[removed after sending]"),
        "{v}"
    );

    // The delivered link still works for its owner.
    let info = invitation_details(&server, &token).await.json();
    assert_eq!(info["state"], "pending");
    let dev = smtp_person(&server, &sink, "dev").await;
    let r = accept_invitation(&dev, &server, &token).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn a_representative_taken_off_the_list_is_not_admitted_later() {
    let (server, op, ann) = acme_with(&[], "Ann <ann@example.com>\nZed <zed@example.com>").await;
    let wid = workspace_id(&ann, &server, "Acme").await;
    let admissions = list_admissions(&ann, &server, "Acme").await.json();
    assert_eq!(admissions.as_array().unwrap().len(), 1, "{admissions}");
    // The operator edits zed off the list; a new representative gets the news by mail.
    let r = edit_workspace_info(&op, &server, &wid, "5812", "1 Harbour Road, Singapore", "Ann <ann@example.com>\nYan <yan@example.com>")
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(admission_emails(&ann, &server).await, vec!["yan@example.com"]);
    let r = list_outbox(&op, &server, "", "yan@example.com").await;
    assert!(r.body.contains("You are a Workspace Admin of Acme"), "{}", r.body);
    assert!(r.body.contains("You have been named a representative of the workspace Acme"), "{}", r.body);
    assert!(!r.body.contains("has been generated"), "the workspace is not new: {}", r.body);
    // zed signs up and verifies: not admitted.
    let zed = person(&server, "zed").await;
    assert_eq!(me(&zed, &server).await["email_verified"], true);
    let r = workspace_home(&zed, &server, "Acme").await;
    assert_eq!(r.status, 404, "{}", r.body);
}

#[tokio::test]
async fn the_home_summary_lists_workspaces_applications_and_invitations_for_a_verified_address() {
    let (server, op) = server_with_operator(&[]).await;
    assert_eq!(call(&client(), &server, "home-summary", &[]).await.status, 401);
    let ann = person(&server, "ann").await;
    let r = apply(&ann, &server, "Acme", "Ann <ann@example.com>").await;
    let id = r.json()["id"].as_str().unwrap().to_string();
    let s = call(&ann, &server, "home-summary", &[]).await.json();
    assert_eq!(s["applications"][0]["status"], "Pending", "{s}");
    assert_eq!(s["workspaces"].as_array().unwrap().len(), 0);
    generate_workspace(&op, &server, &id).await;
    let r = invite_members(&ann, &server, "Acme", "bob@example.com", "WorkspaceDeveloper").await;
    assert_eq!(r.status, 200, "{}", r.body);
    // bob, unverified, is shown no invitation; verified, he is.
    let bob = unverified_person(&server, "bob").await;
    let s = call(&bob, &server, "home-summary", &[]).await.json();
    assert_eq!(s["invitations"].as_array().unwrap().len(), 0, "{s}");
    verify(&op, &server, "bob@example.com").await;
    let s = call(&bob, &server, "home-summary", &[]).await.json();
    assert_eq!(s["invitations"][0]["workspace"], "Acme", "{s}");
    assert_eq!(s["invitations"][0]["inviter"], "ann");
    let s = call(&ann, &server, "home-summary", &[]).await.json();
    assert_eq!(s["workspaces"][0]["name"], "Acme", "{s}");
}
