//! Workspaces over HTTP: applying, the operator's decisions, Workspace – General, suspension,
//! email through a real SMTP server, and the audit log.

mod common;

use common::*;
use std::time::Duration;

const REPS: &str = "Ann Lee <ann@example.com>\nZed Ng <zed@example.com>";

#[tokio::test]
async fn workspace_name_rules_are_checked_on_the_server() {
    let dir = DataDir::new();
    let server = Server::start(&dir, &[]);
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
    let mine = call(&ann, &server, "my-workspace-applications", &[])
        .await
        .json();
    assert_eq!(
        mine.as_array().unwrap().len(),
        2,
        "only the two valid applications exist"
    );
}

#[tokio::test]
async fn only_operators_decide_and_nobody_decides_twice() {
    let dir = DataDir::new();
    let (server, op) = server_with_operator(&dir, &[]).await;
    let ann = person(&server, "ann").await;
    let app = apply(&ann, &server, "Acme", REPS).await.json();
    let id = app["id"].as_str().unwrap().to_string();

    // Signed out, and an ordinary user, are refused every operator function.
    let calls: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "list-workspace-applications",
            vec![("status", ""), ("q", ""), ("page", "1")],
        ),
        ("generate-workspace", vec![("id", &id)]),
        (
            "reject-workspace-application",
            vec![("id", &id), ("reason", "no")],
        ),
        ("list-workspaces", vec![("q", ""), ("page", "1")]),
        ("list-change-requests", vec![("page", "1")]),
        ("list-outbox", vec![("state", ""), ("q", ""), ("page", "1")]),
        (
            "platform-audit",
            vec![("workspace", ""), ("action", ""), ("q", ""), ("page", "1")],
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
        &[("status", "Pending"), ("q", "acm"), ("page", "1")],
    )
    .await
    .json();
    assert_eq!(queue["total"], 1);
    let r = call(
        &op,
        &server,
        "list-workspace-applications",
        &[("status", "Nonsense"), ("q", ""), ("page", "1")],
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.field().as_deref()),
        (422, Some("Status"))
    );

    let r = call(
        &op,
        &server,
        "reject-workspace-application",
        &[("id", &id), ("reason", " ")],
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.field().as_deref()),
        (422, Some("Reason"))
    );
    assert_eq!(
        call(&op, &server, "generate-workspace", &[("id", &id)])
            .await
            .status,
        200
    );
    let r = call(&op, &server, "generate-workspace", &[("id", &id)]).await;
    assert_eq!(r.status, 409, "{}", r.body);
    let r = call(
        &op,
        &server,
        "reject-workspace-application",
        &[("id", &id), ("reason", "late")],
    )
    .await;
    assert_eq!(r.status, 409);
    assert_eq!(
        call(
            &ann,
            &server,
            "withdraw-workspace-application",
            &[("id", &id)]
        )
        .await
        .status,
        409
    );
    let r = call(&op, &server, "generate-workspace", &[("id", "not-a-uuid")]).await;
    assert_eq!(r.status, 400, "{}", r.body);
}

#[tokio::test]
async fn representatives_become_admins_and_see_general_others_get_404() {
    let dir = DataDir::new();
    let (server, op) = server_with_operator(&dir, &[]).await;
    let ann = person(&server, "ann").await;
    let id = apply(&ann, &server, "Acme", REPS).await.json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        call(&op, &server, "generate-workspace", &[("id", &id)])
            .await
            .status,
        200
    );

    let general = call(&ann, &server, "workspace-general", &[("workspace", "acme")]).await;
    assert_eq!(general.status, 200, "{}", general.body);
    let g = general.json();
    assert_eq!(g[0]["name"], "Acme");
    assert_eq!(g[0]["status"], "Active");
    assert_eq!(g[0]["mcc"], "5812");
    assert_eq!(g[1], "WorkspaceAdmin");
    let mine = call(&ann, &server, "my-workspaces", &[]).await.json();
    assert_eq!(mine[0]["name"], "Acme");

    // zed had no account: signing up with that email admits them as Workspace Admin.
    let zed = person(&server, "zed").await;
    assert_eq!(
        call(&zed, &server, "workspace-general", &[("workspace", "Acme")])
            .await
            .status,
        200
    );

    // A stranger, and a signed-out visitor, learn nothing.
    let bob = person(&server, "bob").await;
    let r = call(&bob, &server, "workspace-general", &[("workspace", "Acme")]).await;
    assert_eq!(r.status, 404);
    let r2 = call(
        &bob,
        &server,
        "workspace-general",
        &[("workspace", "NoSuchOne")],
    )
    .await;
    assert_eq!(r2.status, 404);
    assert_eq!(
        call(
            &client(),
            &server,
            "workspace-general",
            &[("workspace", "Acme")]
        )
        .await
        .status,
        401
    );
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
    let bid = apply(&bob, &server, "Bravo", "Bob <bob@example.com>")
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    call(&op, &server, "generate-workspace", &[("id", &bid)]).await;
    assert_eq!(
        call(
            &bob,
            &server,
            "workspace-general",
            &[("workspace", "Bravo")]
        )
        .await
        .status,
        200
    );
    let r = call(
        &bob,
        &server,
        "request-workspace-change",
        &[("workspace", "Acme"), ("what", "x"), ("why", "y")],
    )
    .await;
    assert_eq!(r.status, 404);
    let r = call(
        &bob,
        &server,
        "workspace-audit",
        &[
            ("workspace", "Acme"),
            ("action", ""),
            ("q", ""),
            ("page", "1"),
        ],
    )
    .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn suspension_makes_a_workspace_read_only_and_edits_are_audited() {
    let dir = DataDir::new();
    let (server, op) = server_with_operator(&dir, &[]).await;
    let ann = person(&server, "ann").await;
    let id = apply(&ann, &server, "Acme", "Ann Lee <ann@example.com>")
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    call(&op, &server, "generate-workspace", &[("id", &id)]).await;
    let ws = call(&ann, &server, "workspace-general", &[("workspace", "Acme")])
        .await
        .json()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();

    let r = call(
        &ann,
        &server,
        "request-workspace-change",
        &[("workspace", "Acme"), ("what", "Address"), ("why", "")],
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.field().as_deref()),
        (422, Some("Why"))
    );
    let r = call(
        &ann,
        &server,
        "request-workspace-change",
        &[
            ("workspace", "Acme"),
            ("what", "New address: 2 Bay Rd"),
            ("why", "We moved"),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let requests = call(&op, &server, "list-change-requests", &[("page", "1")])
        .await
        .json();
    assert_eq!(requests["items"][0]["why"], "We moved");

    // The operator edits (not the name), refuses bad values, and suspends.
    let edit = |mcc: &'static str, address: &'static str| {
        [
            ("id", ws.clone()),
            ("mcc", mcc.to_string()),
            ("address", address.to_string()),
            ("representatives", "Ann Lee <ann@example.com>".to_string()),
        ]
    };
    let form = edit("9999", "2 Bay Rd");
    let r = call(
        &op,
        &server,
        "edit-workspace-info",
        &form
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .collect::<Vec<_>>(),
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.field().as_deref()),
        (422, Some("Scope of Business"))
    );
    let form = edit("5814", "2 Bay Rd");
    let r = call(
        &op,
        &server,
        "edit-workspace-info",
        &form
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .collect::<Vec<_>>(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let g = call(&ann, &server, "workspace-general", &[("workspace", "Acme")])
        .await
        .json();
    assert_eq!(
        (
            g[0]["address"].as_str(),
            g[0]["mcc"].as_str(),
            g[0]["name"].as_str()
        ),
        (Some("2 Bay Rd"), Some("5814"), Some("Acme"))
    );
    assert_eq!(
        call(
            &ann,
            &server,
            "edit-workspace-info",
            &[
                ("id", ws.as_str()),
                ("mcc", "5812"),
                ("address", "x"),
                ("representatives", "A <a@example.com>")
            ]
        )
        .await
        .status,
        403
    );

    let r = call(
        &op,
        &server,
        "set-workspace-status",
        &[("id", &ws), ("action", "suspend"), ("reason", "")],
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.field().as_deref()),
        (422, Some("Reason"))
    );
    let r = call(
        &op,
        &server,
        "set-workspace-status",
        &[("id", &ws), ("action", "delete"), ("reason", "x")],
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.field().as_deref()),
        (422, Some("Action"))
    );
    assert_eq!(
        call(
            &op,
            &server,
            "set-workspace-status",
            &[
                ("id", &ws),
                ("action", "suspend"),
                ("reason", "Unpaid invoice")
            ]
        )
        .await
        .status,
        200
    );
    assert_eq!(
        call(
            &op,
            &server,
            "set-workspace-status",
            &[("id", &ws), ("action", "suspend"), ("reason", "again")]
        )
        .await
        .status,
        409
    );

    // Suspended: readable, with the status shown, but nothing can be changed by members.
    let g = call(&ann, &server, "workspace-general", &[("workspace", "Acme")])
        .await
        .json();
    assert_eq!(g[0]["status"], "Suspended");
    let r = call(
        &ann,
        &server,
        "request-workspace-change",
        &[("workspace", "Acme"), ("what", "x"), ("why", "y")],
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.json()["message"].as_str().unwrap().contains("suspended"));
    let before = call(&op, &server, "list-change-requests", &[("page", "1")])
        .await
        .json()["total"]
        .clone();
    assert_eq!(before, 1, "the refused request stored nothing");
    assert_eq!(
        call(
            &op,
            &server,
            "set-workspace-status",
            &[("id", &ws), ("action", "reactivate"), ("reason", "Paid")]
        )
        .await
        .status,
        200
    );

    // The audit log has every step, with who and from where; the admin sees their workspace's.
    let audit = call(
        &op,
        &server,
        "platform-audit",
        &[("workspace", ""), ("action", ""), ("q", ""), ("page", "1")],
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
    let theirs = call(
        &ann,
        &server,
        "workspace-audit",
        &[
            ("workspace", "Acme"),
            ("action", "workspace.info_edited"),
            ("q", ""),
            ("page", "1"),
        ],
    )
    .await
    .json();
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
            ("page", "1"),
        ],
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.field().as_deref()),
        (422, Some("Workspace"))
    );
}

#[tokio::test]
async fn the_confirmation_email_reaches_every_representative_over_smtp() {
    let sink = SmtpSink::start();
    let dir = DataDir::new();
    let (server, op) = server_with_operator(
        &dir,
        &[
            "--smtp-url",
            &sink.url(),
            "--mail-from",
            "MPDP <console@example.com>",
        ],
    )
    .await;
    let ann = person(&server, "ann").await;
    let id = apply(&ann, &server, "Acme", REPS).await.json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    call(&op, &server, "generate-workspace", &[("id", &id)]).await;
    let ws = call(&ann, &server, "workspace-general", &[("workspace", "Acme")])
        .await
        .json()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();

    let mut messages = sink.wait_for(2);
    messages.sort();
    assert_eq!(messages[0].0, vec!["ann@example.com"]);
    assert_eq!(messages[1].0, vec!["zed@example.com"]);
    for (_, data) in &messages {
        assert!(
            data.contains("Subject: Your MPDP workspace Acme is ready"),
            "{data}"
        );
        assert!(data.contains(&format!("Workspace ID: {ws}")), "{data}");
        assert!(data.contains("Workspace Name: Acme"), "{data}");
        assert!(
            data.contains(&format!("{}/w/Acme/general", server.base)),
            "{data}"
        );
        assert!(data.contains("console@example.com"), "{data}");
    }
    assert!(
        messages[1].1.contains("/sign-up"),
        "zed has no account yet and is told how to join"
    );

    // The outbox shows them as sent.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let outbox = call(
        &op,
        &server,
        "list-outbox",
        &[("state", "Sent"), ("q", ""), ("page", "1")],
    )
    .await
    .json();
    assert_eq!(outbox["total"], 2);

    // A rejection reaches the applicant with the reason.
    let id2 = apply(&ann, &server, "Bravo", REPS).await.json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    call(
        &op,
        &server,
        "reject-workspace-application",
        &[
            ("id", &id2),
            ("reason", "Scope does not match the business"),
        ],
    )
    .await;
    let messages = sink.wait_for(3);
    let rejection = messages
        .iter()
        .find(|(_, d)| d.contains("was rejected"))
        .expect("a rejection email");
    assert_eq!(rejection.0, vec!["ann@example.com"]);
    assert!(rejection.1.contains("Scope does not match the business"));
}

#[tokio::test]
async fn an_unreachable_smtp_server_leaves_mail_queued_and_retried_then_delivered() {
    let dir = DataDir::new();
    let dead = format!("smtp://127.0.0.1:{}", free_port());
    let (server, op) = server_with_operator(&dir, &["--smtp-url", &dead]).await;
    let ann = person(&server, "ann").await;
    let id = apply(&ann, &server, "Acme", "Ann Lee <ann@example.com>")
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    call(&op, &server, "generate-workspace", &[("id", &id)]).await;

    let mut attempts = 0;
    for _ in 0..100 {
        let outbox = call(
            &op,
            &server,
            "list-outbox",
            &[("state", ""), ("q", ""), ("page", "1")],
        )
        .await
        .json();
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
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(attempts >= 2, "the worker retried");

    // With a working server configured, the same message goes out.
    let (ok, _) = server.stop();
    assert!(ok);
    let sink = SmtpSink::start();
    let server = Server::start(&dir, &["--smtp-url", &sink.url()]);
    let messages = sink.wait_for(1);
    assert_eq!(messages[0].0, vec!["ann@example.com"]);
    let op = client();
    log_in(&op, &server, "operator", "steady lantern 7").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let outbox = call(
        &op,
        &server,
        "list-outbox",
        &[("state", "Sent"), ("q", ""), ("page", "1")],
    )
    .await
    .json();
    assert_eq!(outbox["total"], 1);
}

#[tokio::test]
async fn without_smtp_the_outbox_keeps_every_message_for_the_operator() {
    let dir = DataDir::new();
    let (server, op) = server_with_operator(&dir, &[]).await;
    let ann = person(&server, "ann").await;
    let id = apply(&ann, &server, "Acme", "Ann Lee <ann@example.com>")
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    call(&op, &server, "generate-workspace", &[("id", &id)]).await;
    let outbox = call(
        &op,
        &server,
        "list-outbox",
        &[("state", "Queued"), ("q", "ann@"), ("page", "1")],
    )
    .await
    .json();
    assert_eq!(outbox["total"], 1);
    let mid = outbox["items"][0]["id"].as_str().unwrap().to_string();
    let m = call(&op, &server, "get-outbox-message", &[("id", &mid)])
        .await
        .json();
    assert!(m["body"].as_str().unwrap().contains("Workspace Name: Acme"));
    assert_eq!(
        call(&ann, &server, "get-outbox-message", &[("id", &mid)])
            .await
            .status,
        403
    );
    let page = op
        .get(server.url(&format!("/operator/outbox/{mid}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Workspace Name: Acme"));
}

#[tokio::test]
async fn applicants_withdraw_their_own_pending_applications() {
    let dir = DataDir::new();
    let server = Server::start(&dir, &[]);
    let ann = person(&server, "ann").await;
    let id = apply(&ann, &server, "Acme", REPS).await.json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let bob = person(&server, "bob").await;
    assert_eq!(
        call(
            &bob,
            &server,
            "withdraw-workspace-application",
            &[("id", &id)]
        )
        .await
        .status,
        404
    );
    assert_eq!(
        call(
            &ann,
            &server,
            "withdraw-workspace-application",
            &[("id", &id)]
        )
        .await
        .status,
        200
    );
    let mine = call(&ann, &server, "my-workspace-applications", &[])
        .await
        .json();
    assert_eq!(mine[0]["status"], "Withdrawn");
    // The name is free again.
    assert_eq!(apply(&bob, &server, "acme", REPS).await.status, 200);
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
