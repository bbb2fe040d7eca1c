//! Who may call what: every endpoint of the server has a row (signed out, a user, an operator,
//! and each workspace role), and the member endpoints are tried by every role.

mod common;

use common::workspace::*;
use common::*;

/// Every workspace endpoint, with a form whose allowed call changes nothing (a validation error,
/// an unknown target, or a read), and the exact status for a Workspace Admin, a Workspace
/// Reviewer, a Mini Program Admin and a Workspace Developer of Acme. `leave-workspace` comes
/// last and really leaves: every member may, except the last admin.
///
/// `every_endpoint_has_an_authorization_row` takes the workspace endpoints from here, so a new
/// workspace endpoint without a row in this matrix fails it.
fn workspace_rows() -> Vec<(&'static str, Vec<(&'static str, &'static str)>, [u16; 4])> {
    const ADMIN_ONLY_READ: [u16; 4] = [200, 403, 403, 403];
    const ADMIN_ONLY_UNKNOWN: [u16; 4] = [404, 403, 403, 403];
    const ADMIN_ONLY_INVALID: [u16; 4] = [422, 403, 403, 403];
    vec![
        ("workspace-home", vec![("workspace", "Acme")], [200, 200, 200, 200]),
        ("workspace-general", vec![("workspace", "Acme")], ADMIN_ONLY_READ),
        // Already not required: nothing changes.
        ("set-sign-in-policy", vec![("workspace", "Acme"), ("require_second_factor", "false")], ADMIN_ONLY_READ),
        // No provider, as already: nothing changes.
        ("set-workspace-sso", vec![("workspace", "Acme")], ADMIN_ONLY_READ),
        ("workspace-audit", vec![("workspace", "Acme"), ("action", ""), ("q", "")], ADMIN_ONLY_READ),
        ("request-workspace-change", vec![("workspace", "Acme"), ("what", ""), ("why", "")], ADMIN_ONLY_INVALID),
        ("list-members", vec![("workspace", "Acme"), ("q", ""), ("role", ""), ("status", "")], ADMIN_ONLY_READ),
        ("list-invitations", vec![("workspace", "Acme")], ADMIN_ONLY_READ),
        ("list-admissions", vec![("workspace", "Acme")], ADMIN_ONLY_READ),
        ("revoke-admission", vec![("workspace", "Acme"), ("email", "none@example.com")], ADMIN_ONLY_UNKNOWN),
        ("invite-members", vec![("workspace", "Acme"), ("emails", ""), ("role", "WorkspaceDeveloper")], ADMIN_ONLY_INVALID),
        ("resend-invitation", vec![("workspace", "Acme"), ("email", "none@example.com")], ADMIN_ONLY_UNKNOWN),
        ("revoke-invitation", vec![("workspace", "Acme"), ("email", "none@example.com")], ADMIN_ONLY_UNKNOWN),
        ("set-member-role", vec![("workspace", "Acme"), ("account", NOBODY), ("role", "WorkspaceDeveloper")], ADMIN_ONLY_UNKNOWN),
        ("block-member", vec![("workspace", "Acme"), ("account", NOBODY)], ADMIN_ONLY_UNKNOWN),
        ("unblock-member", vec![("workspace", "Acme"), ("account", NOBODY)], ADMIN_ONLY_UNKNOWN),
        ("remove-member", vec![("workspace", "Acme"), ("account", NOBODY)], ADMIN_ONLY_UNKNOWN),
        ("list-mini-programs", vec![("workspace", "Acme")], [200, 200, 200, 200]),
        ("get-mini-program", vec![("workspace", "Acme"), ("id", NOBODY)], [404, 404, 404, 404]),
        ("list-versions", vec![("workspace", "Acme"), ("id", NOBODY)], [404, 404, 404, 404]),
        ("mini-program-icon", vec![("workspace", "Acme"), ("id", NOBODY)], [404, 404, 404, 404]),
        ("create-mini-program", vec![("workspace", "Acme"), ("name", ""), ("category", "Finance")], [422, 403, 422, 403]),
        ("assignable-members", vec![("workspace", "Acme")], [200, 403, 200, 403]),
        (
            "edit-mini-program",
            vec![("workspace", "Acme"), ("id", NOBODY), ("name", "X"), ("category", "Finance")],
            [404, 403, 404, 403],
        ),
        (
            "assign-mini-program",
            vec![("workspace", "Acme"), ("id", NOBODY), ("account", NOBODY), ("role", "developer")],
            [404, 403, 404, 403],
        ),
        ("unassign-mini-program", vec![("workspace", "Acme"), ("id", NOBODY), ("account", NOBODY)], [404, 403, 404, 403]),
        ("list-apps", vec![("workspace", "Acme")], ADMIN_ONLY_READ),
        ("get-app", vec![("workspace", "Acme"), ("id", NOBODY)], ADMIN_ONLY_UNKNOWN),
        ("list-app-keys", vec![("workspace", "Acme"), ("id", NOBODY)], ADMIN_ONLY_UNKNOWN),
        ("take-new-keys", vec![("workspace", "Acme"), ("id", NOBODY)], ADMIN_ONLY_READ),
        ("create-app", vec![("workspace", "Acme"), ("name", "")], ADMIN_ONLY_INVALID),
        (
            "rotate-app-key",
            vec![("workspace", "Acme"), ("app", NOBODY), ("kind", "upload"), ("grace", "none")],
            ADMIN_ONLY_UNKNOWN,
        ),
        ("revoke-app-key", vec![("workspace", "Acme"), ("app", NOBODY), ("key", "0000000000000000")], ADMIN_ONLY_UNKNOWN),
        (
            "set-upload-key-scope",
            vec![("workspace", "Acme"), ("app", NOBODY), ("mini_programs[0]", NOBODY), ("networks", "10.0.0.0/8")],
            ADMIN_ONLY_UNKNOWN,
        ),
        ("exposed-upload-keys", vec![("workspace", "Acme")], ADMIN_ONLY_READ),
        ("set-test-devices", vec![("workspace", "Acme"), ("app", NOBODY), ("devices", "qa-device-0001")], ADMIN_ONLY_UNKNOWN),
        // Nobody was shown a key that still works: nothing to rotate.
        ("rotate-exposed-upload-keys", vec![("workspace", "Acme"), ("account", NOBODY)], [409, 403, 403, 403]),
        ("retire-version", vec![("workspace", "Acme"), ("id", NOBODY), ("version", "1.0.0")], ADMIN_ONLY_UNKNOWN),
        // Approvals: Workspace Admins and Reviewers list and decide (member requests, and one's
        // own application, are refused by the domain: tests/approvals.rs); mini program admins
        // and Workspace Admins apply.
        (
            "list-approvals",
            vec![("workspace", "Acme"), ("category", ""), ("status", ""), ("q", ""), ("sort", ""), ("cursor", "")],
            [200, 200, 403, 403],
        ),
        ("approve-application", vec![("workspace", "Acme"), ("id", NOBODY)], [404, 404, 403, 403]),
        ("reject-application", vec![("workspace", "Acme"), ("id", NOBODY), ("reason", "No")], [404, 404, 403, 403]),
        (
            "apply-publishing",
            vec![("workspace", "Acme"), ("id", NOBODY), ("version", "1.0.0"), ("apps[0]", NOBODY)],
            [404, 403, 404, 403],
        ),
        ("apply-removal", vec![("workspace", "Acme"), ("id", NOBODY), ("reason", "Retired")], [404, 403, 404, 403]),
        ("apply-feature", vec![("workspace", "Acme"), ("id", NOBODY), ("feature", "camera")], [404, 403, 404, 403]),
        ("mini-program-approvals", vec![("workspace", "Acme"), ("id", NOBODY)], [404, 404, 404, 404]),
        // Release control: a mini program's admins and Workspace Admins (tests/releases.rs).
        ("raise-rollout", vec![("workspace", "Acme"), ("id", NOBODY), ("app", NOBODY), ("version", "1.1.0"), ("rollout", "50")], [404, 403, 404, 403]),
        ("pause-rollout", vec![("workspace", "Acme"), ("id", NOBODY), ("app", NOBODY), ("version", "1.1.0")], [404, 403, 404, 403]),
        ("resume-rollout", vec![("workspace", "Acme"), ("id", NOBODY), ("app", NOBODY), ("version", "1.1.0")], [404, 403, 404, 403]),
        ("complete-rollout", vec![("workspace", "Acme"), ("id", NOBODY), ("app", NOBODY), ("version", "1.1.0")], [404, 403, 404, 403]),
        ("abort-rollout", vec![("workspace", "Acme"), ("id", NOBODY), ("app", NOBODY), ("version", "1.1.0")], [404, 403, 404, 403]),
        (
            "set-health-rule",
            vec![("workspace", "Acme"), ("id", NOBODY), ("app", NOBODY), ("threshold", "2"), ("min_launches", "200")],
            [404, 403, 404, 403],
        ),
        ("release-figures", vec![("workspace", "Acme"), ("id", NOBODY), ("app", NOBODY)], [404, 404, 404, 404]),
        (
            "rollback-release",
            vec![("workspace", "Acme"), ("id", NOBODY), ("app", NOBODY), ("version", "1.0.0"), ("reason", "Crashes")],
            [404, 403, 404, 403],
        ),
        // Webhooks: Workspace Admins only (tests/webhooks.rs).
        ("list-webhooks", vec![("workspace", "Acme")], ADMIN_ONLY_READ),
        ("get-webhook", vec![("workspace", "Acme"), ("id", NOBODY)], ADMIN_ONLY_UNKNOWN),
        ("create-webhook", vec![("workspace", "Acme"), ("url", "http://10.0.0.1/hook"), ("events[0]", "member.joined")], ADMIN_ONLY_INVALID),
        (
            "update-webhook",
            vec![("workspace", "Acme"), ("id", NOBODY), ("url", "https://93.184.215.14/hook"), ("events[0]", "member.joined")],
            ADMIN_ONLY_UNKNOWN,
        ),
        ("rotate-webhook-secret", vec![("workspace", "Acme"), ("id", NOBODY)], ADMIN_ONLY_UNKNOWN),
        ("delete-webhook", vec![("workspace", "Acme"), ("id", NOBODY)], ADMIN_ONLY_UNKNOWN),
        ("send-test-webhook", vec![("workspace", "Acme"), ("id", NOBODY)], ADMIN_ONLY_UNKNOWN),
        ("list-webhook-deliveries", vec![("workspace", "Acme"), ("id", NOBODY)], ADMIN_ONLY_UNKNOWN),
        ("resend-webhook-delivery", vec![("workspace", "Acme"), ("delivery", NOBODY)], ADMIN_ONLY_UNKNOWN),
        ("leave-workspace", vec![("workspace", "Acme")], [409, 200, 200, 200]),
    ]
}

/// Every workspace endpoint × signed out, another workspace's admin, the operator (not a
/// member), a blocked member, and each role — each with the exact status it must get.
#[tokio::test]
async fn member_endpoints_authorization_matrix() {
    let (server, op, ann) = acme().await;
    let rev = join(&server, &ann, "rev", "WorkspaceReviewer").await;
    let mpa = join(&server, &ann, "mpa", "MiniProgramAdmin").await;
    let dev = join(&server, &ann, "dev", "WorkspaceDeveloper").await;
    let blk = join(&server, &ann, "blk", "WorkspaceDeveloper").await;
    let blk_id = member_id(&ann, &server, "blk").await;
    expect(&block_member(&ann, &server, "Acme", &blk_id).await, 200, "block blk");
    let other = person(&server, "other").await;
    apply_and_generate(&op, &server, &other, "Other", "Other <other@example.com>").await;
    expect(&workspace_home(&other, &server, "Other").await, 200, "other is Other's admin");

    let rows = workspace_rows();
    assert_eq!(
        rows.last().unwrap().0,
        "leave-workspace",
        "leaving goes last"
    );
    let members = [
        ("admin", &ann),
        ("reviewer", &rev),
        ("mini program admin", &mpa),
        ("developer", &dev),
    ];
    for (endpoint, form, expected) in &rows {
        if *endpoint == "leave-workspace" {
            // Every call before this one changed nothing.
            assert_eq!(members_total(&ann, &server).await, 5);
            let pending = call(&ann, &server, "list-invitations", &[("workspace", "Acme")])
                .await
                .json();
            assert_eq!(pending, serde_json::json!([]));
            assert!(audit_events(&ann, &server, "member.left", "")
                .await
                .is_empty());
        }
        let r = call(&client(), &server, endpoint, form).await;
        expect(&r, 401, &format!("{endpoint} signed out"));
        for (who, c) in [
            ("another workspace's admin", &other),
            ("the operator (not a member)", &op),
        ] {
            let r = call(c, &server, endpoint, form).await;
            refused_with(&r, 404, &format!("{endpoint} as {who}"), "no workspace named Acme");
        }
        let r = call(&blk, &server, endpoint, form).await;
        refused_with(&r, 403, &format!("{endpoint} as a blocked member"), "blocked");
        for ((who, c), status) in members.iter().zip(expected) {
            let r = call(c, &server, endpoint, form).await;
            expect(&r, *status, &format!("{endpoint} as {who}"));
        }
    }

    // Each member but the last admin has left.
    for (who, c) in &members[1..] {
        expect(&workspace_home(c, &server, "Acme").await, 404, &format!("the {who} has left"));
    }
    expect(&workspace_general(&ann, &server, "Acme").await, 200, "the last admin stayed");
    assert_eq!(
        members_total(&ann, &server).await,
        2,
        "ann and the blocked blk"
    );
    let mut left: Vec<String> = audit_events(&ann, &server, "member.left", "")
        .await
        .iter()
        .map(|e| e["target"].as_str().unwrap().to_string())
        .collect();
    left.sort();
    assert_eq!(
        left,
        vec!["dev@example.com", "mpa@example.com", "rev@example.com"]
    );
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Class {
    /// Anyone, signed in or not: the status is a signed-out caller's.
    Public,
    /// Any signed-in account: 401 signed out; the status is a signed-in user's.
    SignedIn,
    /// Platform operators only: 401 signed out, 403 for a user; the status is the operator's.
    Operator,
}

/// Every endpoint the server has must have a row: `mpdp routes` lists them from the router, so a
/// new endpoint without a row fails this test. Workspace endpoints are the rows of
/// `workspace_rows` (checked role by role in `member_endpoints_authorization_matrix`); the
/// others are here, each with the exact status its allowed caller gets for a form that changes
/// nothing.
#[tokio::test]
async fn every_endpoint_has_an_authorization_row() {
    use Class::*;
    let rows: Vec<(&str, Class, Vec<(&str, &str)>, u16)> = vec![
        ("GET /healthz", Public, vec![], 200),
        // The Studio API: signed by an Upload Key, never by a session; unsigned is 401.
        ("GET /api/studio/v1/mini-programs/{id}/versions", Public, vec![], 401),
        ("POST /api/studio/v1/mini-programs/{id}/versions", Public, vec![], 401),
        // Applying for review from CI: a personal access token, never a session.
        ("POST /api/studio/v1/mini-programs/{id}/publishing", Public, vec![], 401),
        // The container API: the App's Accessing Key as a bearer token, never a session.
        ("GET /api/container/v1/mini-programs", Public, vec![], 401),
        ("GET /api/container/v1/mini-programs/{id}", Public, vec![], 401),
        ("GET /api/container/v1/mini-programs/{id}/icon", Public, vec![], 401),
        ("GET /api/container/v1/bundles/{sha256}", Public, vec![], 401),
        ("POST /api/container/v1/events", Public, vec![], 401),
        ("GET /api/container/v1/platform-key", Public, vec![], 401),
        // The APIs' description, for anyone.
        ("GET /api/openapi.json", Public, vec![], 200),
        // The console's bundle upload takes a multipart form only (who may: tests/studio.rs).
        ("POST /w/{name}/mini-programs/{id}/versions/upload", Public, vec![], 400),
        ("POST /api/sign-up", Public, vec![("email", ""), ("username", ""), ("password", ""), ("password_confirm", "")], 422),
        ("POST /api/log-in", Public, vec![("login", "someone"), ("password", "")], 422),
        ("POST /api/log-out", Public, vec![], 200),
        ("POST /api/current-account", Public, vec![], 200),
        ("POST /api/my-workspaces", Public, vec![], 200),
        ("POST /api/invitation-details", Public, vec![("token", "nope")], 404),
        ("POST /api/verify-email", Public, vec![("token", "nope")], 422),
        ("POST /api/request-password-reset", Public, vec![("email", "")], 422),
        ("POST /api/reset-password", Public, vec![("token", "nope"), ("new_password", "x"), ("new_password_confirm", "x")], 422),
        (
            "POST /api/change-password",
            SignedIn,
            vec![
                ("current_password", "wrong password"),
                ("new_password", "x"),
                ("new_password_confirm", "x"),
            ],
            422,
        ),
        ("POST /api/change-email", SignedIn, vec![("new_email", ""), ("password", "")], 422),
        // The user is verified already.
        ("POST /api/resend-verification", SignedIn, vec![], 409),
        ("POST /api/my-sessions", SignedIn, vec![], 200),
        ("POST /api/revoke-session", SignedIn, vec![("session", "nope")], 422),
        // The user has no other session.
        ("POST /api/revoke-other-sessions", SignedIn, vec![], 200),
        ("POST /api/my-security-events", SignedIn, vec![], 200),
        // No password step came first in this browser.
        ("POST /api/log-in-code", Public, vec![("code", "123456")], 401),
        ("POST /api/login-in-progress", Public, vec![], 200),
        ("POST /api/my-second-factor", SignedIn, vec![], 200),
        // Shows a new secret; nothing is required until a code confirms it.
        ("POST /api/begin-second-factor", SignedIn, vec![], 200),
        ("POST /api/confirm-second-factor", SignedIn, vec![("code", "")], 422),
        // The user has no second factor to turn off.
        ("POST /api/disable-second-factor", SignedIn, vec![("code", "")], 409),
        ("POST /api/reset-second-factor", Operator, vec![("account", NOBODY)], 404),
        // Passkeys. This server is at an IP address, where passkeys can't work: beginning one
        // says so (409); the other steps refuse before that.
        ("POST /api/my-passkeys", SignedIn, vec![], 200),
        ("POST /api/begin-passkey", SignedIn, vec![("name", "")], 422),
        ("POST /api/finish-passkey", SignedIn, vec![("credential", "")], 422),
        ("POST /api/rename-passkey", SignedIn, vec![("id", NOBODY), ("name", "x")], 404),
        ("POST /api/delete-passkey", SignedIn, vec![("id", NOBODY)], 404),
        ("POST /api/begin-passkey-sign-in", Public, vec![], 409),
        ("POST /api/finish-passkey-sign-in", Public, vec![("credential", "")], 422),
        // No password step came first in this browser.
        ("POST /api/begin-passkey-second-step", Public, vec![], 401),
        ("POST /api/finish-passkey-second-step", Public, vec![("credential", "")], 401),
        // Single sign-on: the browser's way to and back from a provider (no such provider here:
        // back to the login page, which says so), the login page's buttons, and the operator's
        // providers.
        ("GET /sso/{id}", Public, vec![], 303),
        ("GET /sso/{id}/callback", Public, vec![], 303),
        ("POST /api/sign-in-providers", Public, vec![], 200),
        ("POST /api/sso-providers", Operator, vec![], 200),
        ("POST /api/save-sso-provider", Operator, vec![("id", ""), ("label", ""), ("issuer", ""), ("client_id", ""), ("create", "true")], 422),
        ("POST /api/delete-sso-provider", Operator, vec![("id", "nope")], 404),
        ("POST /api/my-access-tokens", SignedIn, vec![], 200),
        ("POST /api/new-access-token", SignedIn, vec![], 200),
        ("POST /api/create-access-token", SignedIn, vec![("name", ""), ("workspace", ""), ("days", "")], 422),
        ("POST /api/revoke-access-token", SignedIn, vec![("id", NOBODY)], 404),
        ("POST /api/device-request", SignedIn, vec![("code", "")], 422),
        ("POST /api/approve-device", SignedIn, vec![("code", ""), ("name", "x"), ("workspace", "Acme"), ("days", "1")], 422),
        ("POST /api/deny-device", SignedIn, vec![("code", "")], 422),
        // `mpdp studio login` (RFC 8628): no client_id, no grant_type.
        ("POST /api/device/v1/code", Public, vec![], 401),
        ("POST /api/device/v1/token", Public, vec![], 400),
        (
            "POST /api/apply-for-workspace",
            SignedIn,
            vec![
                ("name", ""),
                ("mcc", ""),
                ("address", ""),
                ("representatives", ""),
            ],
            422,
        ),
        ("POST /api/my-workspace-applications", SignedIn, vec![], 200),
        ("POST /api/home-summary", SignedIn, vec![], 200),
        ("POST /api/withdraw-workspace-application", SignedIn, vec![("id", NOBODY)], 404),
        ("POST /api/get-workspace-application", SignedIn, vec![("id", NOBODY)], 404),
        ("POST /api/accept-invitation", SignedIn, vec![("token", "nope")], 404),
        ("POST /api/operator-overview", Operator, vec![], 200),
        ("POST /api/list-workspace-applications", Operator, vec![("status", ""), ("q", "")], 200),
        ("POST /api/generate-workspace", Operator, vec![("id", NOBODY)], 404),
        ("POST /api/reject-workspace-application", Operator, vec![("id", NOBODY), ("reason", "x")], 404),
        ("POST /api/list-workspaces", Operator, vec![("q", "")], 200),
        ("POST /api/get-workspace", Operator, vec![("id", NOBODY)], 404),
        (
            "POST /api/edit-workspace-info",
            Operator,
            vec![
                ("id", NOBODY),
                ("mcc", "5812"),
                ("address", "x"),
                ("representatives", "A <a@example.com>"),
            ],
            404,
        ),
        ("POST /api/set-workspace-status", Operator, vec![("id", NOBODY), ("action", "suspend"), ("reason", "x")], 404),
        ("POST /api/list-change-requests", Operator, vec![], 200),
        ("POST /api/list-outbox", Operator, vec![("state", ""), ("q", "")], 200),
        ("POST /api/get-outbox-message", Operator, vec![("id", NOBODY)], 404),
        ("POST /api/platform-audit", Operator, vec![("workspace", ""), ("action", ""), ("q", "")], 200),
        ("POST /api/list-accounts", Operator, vec![("q", "")], 200),
        // Approvals outside one workspace's guard: the applicant need not be a member (a member
        // request), so an application they can't see is 404, whoever asks.
        ("POST /api/get-application", SignedIn, vec![("workspace", "Acme"), ("id", NOBODY)], 404),
        ("POST /api/withdraw-application", SignedIn, vec![("id", NOBODY)], 404),
        // The user is verified; no name is a validation error (a name, known or not, is 200).
        ("POST /api/apply-join", SignedIn, vec![("workspace", "")], 422),
        ("POST /api/my-requests", SignedIn, vec![], 200),
        ("POST /api/open-notifications", SignedIn, vec![], 200),
        // 0 when signed out.
        ("POST /api/unread-notifications", Public, vec![], 200),
        // No SMTP on this server, so the operator may; the account does not exist.
        ("POST /api/mark-account-verified", Operator, vec![("account", NOBODY)], 404),
    ];
    let mut inventory: Vec<String> = rows.iter().map(|(r, ..)| r.to_string()).collect();
    inventory.extend(
        workspace_rows()
            .iter()
            .map(|(endpoint, ..)| format!("POST /api/{endpoint}")),
    );
    let mut unique = inventory.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), inventory.len(), "an endpoint has two rows");

    let out = std::process::Command::new(bin())
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
            inventory.contains(route),
            "{route} has no row in the authorization table (or, for a workspace endpoint, in \
             `workspace_rows`): add one"
        );
    }
    for r in &inventory {
        assert!(routes.contains(r), "{r} is in the table but not served");
    }

    let (server, op) = server_with_operator(&[]).await;
    let user = person(&server, "user").await;
    for (route, class, form, status) in &rows {
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
                let status = r.status();
                let headers = r.headers().clone();
                Reply {
                    status,
                    headers,
                    body: r.text().await.unwrap(),
                }
            }
        };
        let signed_out = as_(&client()).await;
        match class {
            Public => expect(&signed_out, *status, &format!("{route} signed out")),
            SignedIn => {
                expect(&signed_out, 401, &format!("{route} signed out"));
                expect(&as_(&user).await, *status, &format!("{route} as a user"));
            }
            Operator => {
                expect(&signed_out, 401, &format!("{route} signed out"));
                expect(&as_(&user).await, 403, &format!("{route} as a user"));
                expect(
                    &as_(&op).await,
                    *status,
                    &format!("{route} as the operator"),
                );
            }
        }
    }
    // The user's own session survived every call (revoke-other-sessions kept it).
    assert_eq!(me(&user, &server).await["username"], "user");
}

/// The "no second factor" column: once a workspace requires two factors, a member without one is
/// refused every endpoint of the workspace (403 `second_factor_required`) until they turn one on;
/// and a server that requires them of operators refuses the operator area alike.
#[tokio::test]
async fn a_required_second_factor_refuses_every_workspace_endpoint_to_a_member_without_one() {
    let (server, _, ann) = acme().await;
    let dev = join(&server, &ann, "dev", "WorkspaceDeveloper").await;
    let require = |c, on: &'static str| {
        let server = &server;
        async move { call(c, server, "set-sign-in-policy", &[("workspace", "Acme"), ("require_second_factor", on)]).await }
    };
    // An admin without a second factor can't require one (it would shut them out too); a
    // developer may not at all.
    expect_field(&require(&ann, "true").await, 409, "Two-factor authentication");
    expect(&require(&dev, "true").await, 403, "a developer sets the policy");
    turn_on_second_factor(&ann, &server).await;
    expect(&require(&ann, "true").await, 200, "require two factors");
    assert_eq!(workspace_general(&ann, &server, "Acme").await.json()[0]["require_second_factor"], true);
    assert_eq!(audit_events(&ann, &server, "workspace.sign_in_policy_changed", "").await.len(), 1);

    for (endpoint, form, _) in workspace_rows() {
        let r = call(&dev, &server, endpoint, &form).await;
        expect(&r, 403, &format!("{endpoint} without a second factor"));
        assert_eq!(r.json()["kind"], "second_factor_required", "{endpoint}: {}", r.body);
        assert!(message(&r).contains("Acme requires two-factor authentication"), "{endpoint}: {}", r.body);
    }
    // The console's pages say so, with the way to the account page.
    let page = page_text(&dev, &server.url("/w/Acme/mini-programs")).await;
    assert!(page.contains("requires two-factor authentication") && page.contains("/account#two-factor"), "{page}");
    expect(&workspace_home(&ann, &server, "Acme").await, 200, "the admin has one");
    // The Members list shows who has one.
    let two_factor = |list: serde_json::Value, who: &str| list["items"].as_array().unwrap().iter().find(|m| m["username"] == who).unwrap()["second_factor"].clone();
    assert_eq!(two_factor(list_members(&ann, &server, "Acme", "dev", "", "").await.json(), "dev"), false);
    turn_on_second_factor(&dev, &server).await;
    assert_eq!(two_factor(list_members(&ann, &server, "Acme", "dev", "", "").await.json(), "dev"), true);
    expect(&workspace_home(&dev, &server, "Acme").await, 200, "once the developer has one");
    expect(&require(&ann, "false").await, 200, "stop requiring");
    assert_eq!(audit_events(&ann, &server, "workspace.sign_in_policy_changed", "").await.len(), 2);

    // Operators, on a server that requires two factors of them.
    let (server, op) = server_with_operator(&["--require-operator-second-factor"]).await;
    let r = call(&op, &server, "operator-overview", &[]).await;
    expect(&r, 403, "an operator without a second factor");
    assert_eq!(r.json()["kind"], "second_factor_required", "{}", r.body);
    turn_on_second_factor(&op, &server).await;
    expect(&call(&op, &server, "operator-overview", &[]).await, 200, "once the operator has one");
}
