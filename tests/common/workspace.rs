//! A workspace "Acme" and its members over HTTP, for the tests of members and of who may call
//! what.

use super::*;

/// An account id nobody has.
pub const NOBODY: &str = "0190d2a4-0000-7000-8000-000000000000";

/// A workspace "Acme" with ann (verified) as its Workspace Admin; returns (server, operator, ann).
pub async fn acme(dir: &DataDir) -> (Server, reqwest::Client, reqwest::Client) {
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
pub async fn invitation_token(op: &reqwest::Client, server: &Server, email: &str) -> String {
    mailed_token(op, server, email, "/invitations/").await
}

/// `admin` invites `emails` to Acme as `role`; every address must come back "invited".
pub async fn invite(admin: &reqwest::Client, server: &Server, emails: &str, role: &str) {
    let r = call(
        admin,
        server,
        "invite-members",
        &[("workspace", "Acme"), ("emails", emails), ("role", role)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    for row in r.json().as_array().unwrap() {
        assert_eq!(row["outcome"], "invited", "{}", r.body);
    }
}

/// `name@example.com`, invited to Acme by `admin` as `role`, signs up, logs in, verifies the
/// address and accepts: the only way in by invitation.
pub async fn join(server: &Server, admin: &reqwest::Client, name: &str, role: &str) -> reqwest::Client {
    let op = server.op.as_ref().expect("a server with an operator");
    let email = format!("{name}@example.com");
    invite(admin, server, &email, role).await;
    let token = invitation_token(op, server, &email).await;
    let c = person(server, name).await;
    let r = call(&c, server, "accept-invitation", &[("token", &token)]).await;
    assert_eq!(r.status, 200, "{name} accepts: {}", r.body);
    c
}

pub async fn member_id(admin: &reqwest::Client, server: &Server, q: &str) -> String {
    let page = call(
        admin,
        server,
        "list-members",
        &[
            ("workspace", "Acme"),
            ("q", q),
            ("role", ""),
            ("status", ""),
        ],
    )
    .await
    .json();
    page["items"][0]["account_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{page}"))
        .to_string()
}

/// How many members (active or blocked) Acme has, as its admin sees.
pub async fn members_total(admin: &reqwest::Client, server: &Server) -> u64 {
    let r = call(
        admin,
        server,
        "list-members",
        &[
            ("workspace", "Acme"),
            ("q", ""),
            ("role", ""),
            ("status", ""),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["total"].as_u64().unwrap()
}

/// What an invitation link shows now: pending, accepted, revoked or expired.
pub async fn invitation_state(server: &Server, token: &str) -> String {
    let r = call(&client(), server, "invitation-details", &[("token", token)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["state"].as_str().unwrap().to_string()
}

/// The actions of Acme's audit log matching `action` (exactly) and `q`, newest first.
pub async fn audit_events(
    admin: &reqwest::Client,
    server: &Server,
    action: &str,
    q: &str,
) -> Vec<serde_json::Value> {
    let r = call(
        admin,
        server,
        "workspace-audit",
        &[
            ("workspace", "Acme"),
            ("action", action),
            ("q", q),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["items"].as_array().unwrap().clone()
}

/// The error message of a refusal.
pub fn message(r: &Reply) -> String {
    r.json()["message"].as_str().unwrap_or_default().to_string()
}
