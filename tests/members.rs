//! Members over HTTP: invitations (one, many, CSV), joining, roles, block / unblock, the last
//! admin rule, and who may call what.

mod common;

use common::*;

/// A workspace "Acme" with ann as its Workspace Admin; returns (server, operator, ann).
async fn acme(dir: &DataDir) -> (Server, reqwest::Client, reqwest::Client) {
    let (server, op) = server_with_operator(dir, &[]).await;
    let ann = person(&server, "ann").await;
    let id = apply(&ann, &server, "Acme", "Ann Lee <ann@example.com>")
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        call(&op, &server, "generate-workspace", &[("id", &id)])
            .await
            .status,
        200
    );
    (server, op, ann)
}

/// The token in the newest invitation email to `email` (read from the outbox as the operator).
async fn invitation_token(op: &reqwest::Client, server: &Server, email: &str) -> String {
    let outbox = call(
        op,
        server,
        "list-outbox",
        &[("state", ""), ("q", email), ("page", "1")],
    )
    .await
    .json();
    let id = outbox["items"][0]["id"]
        .as_str()
        .expect("an invitation email")
        .to_string();
    let body = call(op, server, "get-outbox-message", &[("id", &id)])
        .await
        .json()["body"]
        .as_str()
        .unwrap()
        .to_string();
    let start = body.find("/invitations/").expect("a link") + "/invitations/".len();
    body[start..start + 64].to_string()
}

async fn member_id(admin: &reqwest::Client, server: &Server, q: &str) -> String {
    let page = call(
        admin,
        server,
        "list-members",
        &[
            ("workspace", "Acme"),
            ("q", q),
            ("role", ""),
            ("status", ""),
            ("page", "1"),
        ],
    )
    .await
    .json();
    page["items"][0]["account_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{page}"))
        .to_string()
}

#[tokio::test]
async fn bulk_invite_gives_a_result_per_row_and_mails_only_the_invited() {
    let dir = DataDir::new();
    let (server, op, ann) = acme(&dir).await;
    let list = "email\nnew1@example.com\nnot-an-address\nNEW1@example.com\nann@example.com\nnew2@example.com";
    let r = call(
        &ann,
        &server,
        "invite-members",
        &[
            ("workspace", "Acme"),
            ("emails", list),
            ("role", "WorkspaceDeveloper"),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let rows: Vec<(String, String)> = r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["email"].as_str().unwrap().into(),
                x["outcome"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(rows[0], ("new1@example.com".into(), "invited".into()));
    assert!(rows[1].1.starts_with("invalid address"), "{rows:?}");
    assert_eq!(rows[2].1, "duplicate in the list");
    assert_eq!(rows[3].1, "already a member");
    assert_eq!(rows[4].1, "invited");
    let again = call(
        &ann,
        &server,
        "invite-members",
        &[
            ("workspace", "Acme"),
            ("emails", "new2@example.com"),
            ("role", "WorkspaceDeveloper"),
        ],
    )
    .await
    .json();
    assert_eq!(again[0]["outcome"], "already invited");

    let outbox = call(
        &op,
        &server,
        "list-outbox",
        &[("state", ""), ("q", "invited"), ("page", "1")],
    )
    .await
    .json();
    let mut to: Vec<String> = outbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["to"][0].as_str().unwrap().to_string())
        .collect();
    to.sort();
    assert_eq!(
        to,
        vec!["new1@example.com", "new2@example.com"],
        "mail only for the invited"
    );

    // Too many, malformed, or a bad role: refused, nothing sent.
    let many: String = (0..501).map(|i| format!("u{i}@example.com\n")).collect();
    let r = call(
        &ann,
        &server,
        "invite-members",
        &[
            ("workspace", "Acme"),
            ("emails", &many),
            ("role", "WorkspaceDeveloper"),
        ],
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.field().as_deref()),
        (422, Some("Email addresses"))
    );
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .contains("at most 500"));
    let r = call(
        &ann,
        &server,
        "invite-members",
        &[
            ("workspace", "Acme"),
            ("emails", "a@example.com,\"b@example.com\nc"),
            ("role", "WorkspaceDeveloper"),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "a quoted cell is still read: {}", r.body);
    let oversized = "a".repeat(100 * 1024);
    let r = call(&ann, &server, "invite-members", &[("workspace", "Acme"), ("emails", &oversized), ("role", "WorkspaceDeveloper")]).await;
    assert_eq!(r.status, 413, "an oversized list is refused before it is read");
    let r = call(
        &ann,
        &server,
        "invite-members",
        &[
            ("workspace", "Acme"),
            ("emails", "x@example.com"),
            ("role", "King"),
        ],
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.field().as_deref()),
        (422, Some("Role"))
    );
    let pending = call(&ann, &server, "list-invitations", &[("workspace", "Acme")])
        .await
        .json();
    assert!(!pending
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["email"] == "x@example.com"));
}

#[tokio::test]
async fn an_invitation_joins_by_sign_up_once_and_the_link_then_stops() {
    let dir = DataDir::new();
    let (server, op, ann) = acme(&dir).await;
    call(
        &ann,
        &server,
        "invite-members",
        &[
            ("workspace", "Acme"),
            ("emails", "dev@example.com"),
            ("role", "WorkspaceDeveloper"),
        ],
    )
    .await;
    let token = invitation_token(&op, &server, "dev@example.com").await;
    let info = call(
        &client(),
        &server,
        "invitation-details",
        &[("token", &token)],
    )
    .await
    .json();
    assert_eq!(
        (info["workspace"].as_str(), info["state"].as_str()),
        (Some("Acme"), Some("pending"))
    );

    // Someone else cannot use it.
    let bob = person(&server, "bob").await;
    let r = call(&bob, &server, "accept-invitation", &[("token", &token)]).await;
    assert_eq!(r.status, 403, "{}", r.body);

    // Signing up from the link joins as Workspace Developer, unassigned.
    let dev = client();
    let r = call(
        &dev,
        &server,
        "sign-up",
        &[
            ("email", "dev@example.com"),
            ("username", "dev"),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
            ("invitation", &token),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let home = call(&dev, &server, "workspace-home", &[("workspace", "Acme")])
        .await
        .json();
    assert_eq!(
        (home["role"].as_str(), home["assignment"].as_str()),
        (Some("WorkspaceDeveloper"), Some("unassigned"))
    );

    // The link works once.
    let r = call(&dev, &server, "accept-invitation", &[("token", &token)]).await;
    assert_eq!(r.status, 409);
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .contains("already been used"));
    assert_eq!(
        call(
            &client(),
            &server,
            "invitation-details",
            &[("token", "0".repeat(64).as_str())]
        )
        .await
        .status,
        404
    );

    // Resend gives a new link and kills the old; revoke kills it too.
    call(
        &ann,
        &server,
        "invite-members",
        &[
            ("workspace", "Acme"),
            ("emails", "late@example.com"),
            ("role", "WorkspaceReviewer"),
        ],
    )
    .await;
    let first = invitation_token(&op, &server, "late@example.com").await;
    assert_eq!(
        call(
            &ann,
            &server,
            "resend-invitation",
            &[("workspace", "Acme"), ("email", "late@example.com")]
        )
        .await
        .status,
        200
    );
    let second = invitation_token(&op, &server, "late@example.com").await;
    assert_ne!(first, second);
    assert_eq!(
        call(
            &client(),
            &server,
            "invitation-details",
            &[("token", &first)]
        )
        .await
        .json()["state"],
        "revoked"
    );
    assert_eq!(
        call(
            &ann,
            &server,
            "revoke-invitation",
            &[("workspace", "Acme"), ("email", "late@example.com")]
        )
        .await
        .status,
        200
    );
    assert_eq!(
        call(
            &client(),
            &server,
            "invitation-details",
            &[("token", &second)]
        )
        .await
        .json()["state"],
        "revoked"
    );
    let late = client();
    let r = call(
        &late,
        &server,
        "sign-up",
        &[
            ("email", "late@example.com"),
            ("username", "late"),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
            ("invitation", &second),
        ],
    )
    .await;
    assert_eq!(r.status, 409, "a revoked link can't be used: {}", r.body);
    assert!(
        me(&late, &server).await.is_null(),
        "and the sign-up changed nothing"
    );
}

#[tokio::test]
async fn blocking_takes_effect_on_an_open_session_and_unblocking_restores_it() {
    let dir = DataDir::new();
    let (server, op, ann) = acme(&dir).await;
    call(
        &ann,
        &server,
        "invite-members",
        &[
            ("workspace", "Acme"),
            ("emails", "rev@example.com"),
            ("role", "WorkspaceReviewer"),
        ],
    )
    .await;
    let token = invitation_token(&op, &server, "rev@example.com").await;
    let rev = client();
    call(
        &rev,
        &server,
        "sign-up",
        &[
            ("email", "rev@example.com"),
            ("username", "rev"),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
            ("invitation", &token),
        ],
    )
    .await;
    // rev also has a workspace of their own, which blocking in Acme must not touch.
    let bid = apply(&rev, &server, "Bravo", "Rev <rev@example.com>")
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    call(&op, &server, "generate-workspace", &[("id", &bid)]).await;
    assert_eq!(
        call(&rev, &server, "workspace-home", &[("workspace", "Acme")])
            .await
            .status,
        200
    );

    let rev_id = member_id(&ann, &server, "rev").await;
    let ann_id = member_id(&ann, &server, "ann").await;
    assert_eq!(
        call(
            &ann,
            &server,
            "block-member",
            &[("workspace", "Acme"), ("account", &ann_id)]
        )
        .await
        .status,
        422,
        "not yourself"
    );
    assert_eq!(
        call(
            &ann,
            &server,
            "block-member",
            &[("workspace", "Acme"), ("account", &rev_id)]
        )
        .await
        .status,
        200
    );

    // The same open session is refused from the next request on, with a clear message.
    let r = call(&rev, &server, "workspace-home", &[("workspace", "Acme")]).await;
    assert_eq!(r.status, 403);
    assert!(r.json()["message"].as_str().unwrap().contains("blocked"));
    let page = rev.get(server.url("/w/Acme")).send().await.unwrap();
    assert_eq!(page.status(), 403);
    assert!(page.text().await.unwrap().contains("has been blocked"));
    assert_eq!(
        call(&rev, &server, "leave-workspace", &[("workspace", "Acme")])
            .await
            .status,
        403
    );
    assert!(
        me(&rev, &server).await["username"] == "rev",
        "still signed in to the console"
    );
    assert_eq!(
        call(
            &rev,
            &server,
            "workspace-general",
            &[("workspace", "Bravo")]
        )
        .await
        .status,
        200,
        "other workspaces unaffected"
    );
    let inactive = call(
        &ann,
        &server,
        "list-members",
        &[
            ("workspace", "Acme"),
            ("q", ""),
            ("role", ""),
            ("status", "Inactive"),
            ("page", "1"),
        ],
    )
    .await
    .json();
    assert_eq!(inactive["total"], 1);

    assert_eq!(
        call(
            &ann,
            &server,
            "unblock-member",
            &[("workspace", "Acme"), ("account", &rev_id)]
        )
        .await
        .status,
        200
    );
    assert_eq!(
        call(&rev, &server, "workspace-home", &[("workspace", "Acme")])
            .await
            .status,
        200
    );
    let audit = call(
        &ann,
        &server,
        "workspace-audit",
        &[
            ("workspace", "Acme"),
            ("action", ""),
            ("q", "rev@"),
            ("page", "1"),
        ],
    )
    .await
    .json();
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "member.invited",
        "member.joined",
        "member.blocked",
        "member.unblocked",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
}

#[tokio::test]
async fn the_last_admin_stays_and_roles_change() {
    let dir = DataDir::new();
    let (server, op, ann) = acme(&dir).await;
    let ann_id = member_id(&ann, &server, "ann").await;
    for (endpoint, extra) in [
        ("set-member-role", Some(("role", "WorkspaceReviewer"))),
        ("remove-member", None),
    ] {
        let mut form = vec![("workspace", "Acme"), ("account", ann_id.as_str())];
        form.extend(extra);
        let r = call(&ann, &server, endpoint, &form).await;
        assert!(r.status == 409 || r.status == 422, "{endpoint}: {}", r.body);
    }
    assert_eq!(
        call(&ann, &server, "leave-workspace", &[("workspace", "Acme")])
            .await
            .status,
        409
    );

    call(
        &ann,
        &server,
        "invite-members",
        &[
            ("workspace", "Acme"),
            ("emails", "bo@example.com"),
            ("role", "WorkspaceDeveloper"),
        ],
    )
    .await;
    let token = invitation_token(&op, &server, "bo@example.com").await;
    let bo = client();
    call(
        &bo,
        &server,
        "sign-up",
        &[
            ("email", "bo@example.com"),
            ("username", "boris"),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
            ("invitation", &token),
        ],
    )
    .await;
    let bo_id = member_id(&ann, &server, "boris").await;
    assert_eq!(
        call(
            &bo,
            &server,
            "list-members",
            &[
                ("workspace", "Acme"),
                ("q", ""),
                ("role", ""),
                ("status", ""),
                ("page", "1")
            ]
        )
        .await
        .status,
        403
    );
    assert_eq!(
        call(
            &ann,
            &server,
            "set-member-role",
            &[
                ("workspace", "Acme"),
                ("account", &bo_id),
                ("role", "WorkspaceAdmin")
            ]
        )
        .await
        .status,
        200
    );
    assert_eq!(
        call(
            &bo,
            &server,
            "list-members",
            &[
                ("workspace", "Acme"),
                ("q", ""),
                ("role", "WorkspaceAdmin"),
                ("status", ""),
                ("page", "1")
            ]
        )
        .await
        .json()["total"],
        2
    );
    // Now ann is not the last admin: she may step down, and leave.
    assert_eq!(
        call(
            &ann,
            &server,
            "set-member-role",
            &[
                ("workspace", "Acme"),
                ("account", &ann_id),
                ("role", "WorkspaceReviewer")
            ]
        )
        .await
        .status,
        200
    );
    assert_eq!(
        call(&ann, &server, "leave-workspace", &[("workspace", "Acme")])
            .await
            .status,
        200
    );
    assert_eq!(
        call(&ann, &server, "workspace-home", &[("workspace", "Acme")])
            .await
            .status,
        404
    );
}

/// Every member endpoint × signed out, another workspace's admin, each role, a blocked member
/// and the operator. "allowed" means the call got past authorization (its answer is not
/// 401/403/404); the forms are built so an allowed call changes nothing (a validation error or
/// a harmless read).
#[tokio::test]
async fn member_endpoints_authorization_matrix() {
    let dir = DataDir::new();
    let (server, op, ann) = acme(&dir).await;
    let mut people = vec![];
    for (name, role) in [
        ("rev", "WorkspaceReviewer"),
        ("mpa", "MiniProgramAdmin"),
        ("dev", "WorkspaceDeveloper"),
        ("blk", "WorkspaceDeveloper"),
    ] {
        let email = format!("{name}@example.com");
        call(
            &ann,
            &server,
            "invite-members",
            &[("workspace", "Acme"), ("emails", &email), ("role", role)],
        )
        .await;
        let token = invitation_token(&op, &server, &email).await;
        let c = client();
        let r = call(
            &c,
            &server,
            "sign-up",
            &[
                ("email", &email),
                ("username", name),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
                ("invitation", &token),
            ],
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        people.push((name, c));
    }
    let blk_id = member_id(&ann, &server, "blk").await;
    call(
        &ann,
        &server,
        "block-member",
        &[("workspace", "Acme"), ("account", &blk_id)],
    )
    .await;
    let other = person(&server, "other").await;
    let oid = apply(&other, &server, "Other", "Other <other@example.com>")
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    call(&op, &server, "generate-workspace", &[("id", &oid)]).await;

    let nobody = "0190d2a4-0000-7000-8000-000000000000";
    // (endpoint, form, roles allowed among admin/rev/mpa/dev)
    let rows: Vec<(&str, Vec<(&str, &str)>, [bool; 4])> = vec![
        (
            "workspace-home",
            vec![("workspace", "Acme")],
            [true, true, true, true],
        ),
        (
            "workspace-general",
            vec![("workspace", "Acme")],
            [true, false, false, false],
        ),
        (
            "workspace-audit",
            vec![
                ("workspace", "Acme"),
                ("action", ""),
                ("q", ""),
                ("page", "1"),
            ],
            [true, false, false, false],
        ),
        (
            "request-workspace-change",
            vec![("workspace", "Acme"), ("what", ""), ("why", "")],
            [true, false, false, false],
        ),
        (
            "list-members",
            vec![
                ("workspace", "Acme"),
                ("q", ""),
                ("role", ""),
                ("status", ""),
                ("page", "1"),
            ],
            [true, false, false, false],
        ),
        (
            "list-invitations",
            vec![("workspace", "Acme")],
            [true, false, false, false],
        ),
        (
            "invite-members",
            vec![
                ("workspace", "Acme"),
                ("emails", ""),
                ("role", "WorkspaceDeveloper"),
            ],
            [true, false, false, false],
        ),
        (
            "resend-invitation",
            vec![("workspace", "Acme"), ("email", "none@example.com")],
            [true, false, false, false],
        ),
        (
            "revoke-invitation",
            vec![("workspace", "Acme"), ("email", "none@example.com")],
            [true, false, false, false],
        ),
        (
            "set-member-role",
            vec![
                ("workspace", "Acme"),
                ("account", nobody),
                ("role", "WorkspaceDeveloper"),
            ],
            [true, false, false, false],
        ),
        (
            "block-member",
            vec![("workspace", "Acme"), ("account", nobody)],
            [true, false, false, false],
        ),
        (
            "unblock-member",
            vec![("workspace", "Acme"), ("account", nobody)],
            [true, false, false, false],
        ),
        (
            "remove-member",
            vec![("workspace", "Acme"), ("account", nobody)],
            [true, false, false, false],
        ),
        (
            "leave-workspace",
            vec![("workspace", "Nope")],
            [false, false, false, false],
        ),
    ];
    let passed = |status: u16, body: &str| {
        // A refusal is 401/403, or a 404 that says the workspace is not yours.
        !(status == 401 || status == 403 || (status == 404 && body.contains("no workspace named")))
    };
    let members: Vec<&reqwest::Client> = vec![&ann, &people[0].1, &people[1].1, &people[2].1];
    for (endpoint, form, allowed) in &rows {
        let r = call(&client(), &server, endpoint, form).await;
        assert_eq!(r.status, 401, "{endpoint} signed out: {}", r.body);
        let r = call(&other, &server, endpoint, form).await;
        assert!(
            !passed(r.status.as_u16(), &r.body),
            "{endpoint} as another workspace's admin: {} {}",
            r.status,
            r.body
        );
        let r = call(&op, &server, endpoint, form).await;
        assert!(
            !passed(r.status.as_u16(), &r.body),
            "{endpoint} as the operator (not a member): {} {}",
            r.status,
            r.body
        );
        let r = call(&people[3].1, &server, endpoint, form).await;
        assert!(
            !passed(r.status.as_u16(), &r.body),
            "{endpoint} as a blocked member: {} {}",
            r.status,
            r.body
        );
        for (who, (c, ok)) in ["admin", "reviewer", "mini program admin", "developer"]
            .iter()
            .zip(members.iter().zip(allowed))
        {
            let r = call(c, &server, endpoint, form).await;
            assert_eq!(
                passed(r.status.as_u16(), &r.body),
                *ok,
                "{endpoint} as {who}: {} {}",
                r.status,
                r.body
            );
        }
    }
    // Nothing above changed the membership.
    let page = call(
        &ann,
        &server,
        "list-members",
        &[
            ("workspace", "Acme"),
            ("q", ""),
            ("role", ""),
            ("status", ""),
            ("page", "1"),
        ],
    )
    .await
    .json();
    assert_eq!(page["total"], 5);
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Class {
    /// Anyone, signed in or not.
    Public,
    /// Any signed-in account.
    SignedIn,
    /// Platform operators only.
    Operator,
    /// Workspace members by role: covered row by row in `member_endpoints_authorization_matrix`.
    Workspace,
}

/// Every endpoint the server has must have a row here: `mpdp routes` lists them from the
/// router, so a new endpoint without a row fails this test. Each row's refusals and its allowed
/// caller are then checked.
#[tokio::test]
async fn every_endpoint_has_an_authorization_row() {
    use Class::*;
    let nobody = "0190d2a4-0000-7000-8000-000000000000";
    let rows: Vec<(&str, Class, Vec<(&str, &str)>)> = vec![
        ("GET /healthz", Public, vec![]),
        (
            "POST /api/sign-up",
            Public,
            vec![
                ("email", ""),
                ("username", ""),
                ("password", ""),
                ("password_confirm", ""),
            ],
        ),
        (
            "POST /api/log-in",
            Public,
            vec![("login", "someone"), ("password", "")],
        ),
        ("POST /api/log-out", Public, vec![]),
        ("POST /api/current-account", Public, vec![]),
        ("POST /api/my-workspaces", Public, vec![]),
        (
            "POST /api/invitation-details",
            Public,
            vec![("token", "nope")],
        ),
        (
            "POST /api/change-password",
            SignedIn,
            vec![
                ("current_password", "wrong password"),
                ("new_password", "x"),
                ("new_password_confirm", "x"),
            ],
        ),
        (
            "POST /api/apply-for-workspace",
            SignedIn,
            vec![
                ("name", ""),
                ("mcc", ""),
                ("address", ""),
                ("representatives", ""),
            ],
        ),
        ("POST /api/my-workspace-applications", SignedIn, vec![]),
        (
            "POST /api/withdraw-workspace-application",
            SignedIn,
            vec![("id", nobody)],
        ),
        (
            "POST /api/get-workspace-application",
            SignedIn,
            vec![("id", nobody)],
        ),
        (
            "POST /api/accept-invitation",
            SignedIn,
            vec![("token", "nope")],
        ),
        ("POST /api/operator-overview", Operator, vec![]),
        (
            "POST /api/list-workspace-applications",
            Operator,
            vec![("status", ""), ("q", ""), ("page", "1")],
        ),
        (
            "POST /api/generate-workspace",
            Operator,
            vec![("id", nobody)],
        ),
        (
            "POST /api/reject-workspace-application",
            Operator,
            vec![("id", nobody), ("reason", "x")],
        ),
        (
            "POST /api/list-workspaces",
            Operator,
            vec![("q", ""), ("page", "1")],
        ),
        ("POST /api/get-workspace", Operator, vec![("id", nobody)]),
        (
            "POST /api/edit-workspace-info",
            Operator,
            vec![
                ("id", nobody),
                ("mcc", "5812"),
                ("address", "x"),
                ("representatives", "A <a@example.com>"),
            ],
        ),
        (
            "POST /api/set-workspace-status",
            Operator,
            vec![("id", nobody), ("action", "suspend"), ("reason", "x")],
        ),
        (
            "POST /api/list-change-requests",
            Operator,
            vec![("page", "1")],
        ),
        (
            "POST /api/list-outbox",
            Operator,
            vec![("state", ""), ("q", ""), ("page", "1")],
        ),
        (
            "POST /api/get-outbox-message",
            Operator,
            vec![("id", nobody)],
        ),
        (
            "POST /api/platform-audit",
            Operator,
            vec![("workspace", ""), ("action", ""), ("q", ""), ("page", "1")],
        ),
        ("POST /api/workspace-home", Workspace, vec![]),
        ("POST /api/workspace-general", Workspace, vec![]),
        ("POST /api/workspace-audit", Workspace, vec![]),
        ("POST /api/request-workspace-change", Workspace, vec![]),
        ("POST /api/list-members", Workspace, vec![]),
        ("POST /api/list-invitations", Workspace, vec![]),
        ("POST /api/invite-members", Workspace, vec![]),
        ("POST /api/resend-invitation", Workspace, vec![]),
        ("POST /api/revoke-invitation", Workspace, vec![]),
        ("POST /api/set-member-role", Workspace, vec![]),
        ("POST /api/block-member", Workspace, vec![]),
        ("POST /api/unblock-member", Workspace, vec![]),
        ("POST /api/remove-member", Workspace, vec![]),
        ("POST /api/leave-workspace", Workspace, vec![]),
    ];
    let out = std::process::Command::new(BIN)
        .arg("routes")
        .output()
        .unwrap();
    assert!(out.status.success());
    let routes: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    for route in &routes {
        assert!(
            rows.iter().any(|(r, _, _)| r == route),
            "{route} has no row in the authorization table: add one"
        );
    }
    for (r, _, _) in &rows {
        assert!(
            routes.iter().any(|x| x == r),
            "{r} is in the table but not served"
        );
    }

    let dir = DataDir::new();
    let (server, op) = server_with_operator(&dir, &[]).await;
    let user = person(&server, "user").await;
    let refused = |status: u16| status == 401 || status == 403;
    for (route, class, form) in rows.iter().filter(|(_, c, _)| *c != Workspace) {
        let path = route.split_once(' ').unwrap().1;
        let as_ = |c: &reqwest::Client| {
            let c = c.clone();
            let form = form.clone();
            let url = server.url(path);
            let get = route.starts_with("GET ");
            async move {
                let req = if get {
                    c.get(url)
                } else {
                    c.post(url).header("accept", "application/json").form(&form)
                };
                let r = req.send().await.unwrap();
                (r.status().as_u16(), r.text().await.unwrap())
            }
        };
        let (signed_out, body) = as_(&client()).await;
        match class {
            Public => assert!(
                !refused(signed_out),
                "{route} signed out: {signed_out} {body}"
            ),
            SignedIn => {
                let (as_user, user_body) = as_(&user).await;
                assert_eq!(signed_out, 401, "{route} signed out: {body}");
                assert!(
                    !refused(as_user),
                    "{route} as a user: {as_user} {user_body}"
                );
            }
            Operator => {
                let (as_user, user_body) = as_(&user).await;
                assert_eq!(signed_out, 401, "{route} signed out: {body}");
                assert_eq!(as_user, 403, "{route} as a user: {user_body}");
                let (as_op, op_body) = as_(&op).await;
                assert!(
                    !refused(as_op),
                    "{route} as the operator: {as_op} {op_body}"
                );
            }
            Workspace => unreachable!(),
        }
    }
}
