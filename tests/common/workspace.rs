//! A workspace "Acme" and its members over HTTP, for the tests of members and of who may call
//! what.

use super::*;

/// An account id nobody has.
pub const NOBODY: &str = "0190d2a4-0000-7000-8000-000000000000";

/// A workspace "Acme" with ann (verified) as its Workspace Admin; returns (server, operator, ann).
pub async fn acme() -> (Server, reqwest::Client, reqwest::Client) {
    acme_with(&[], "Ann Lee <ann@example.com>").await
}

/// [`acme`] on `dir`.
pub async fn acme_in(dir: &DataDir) -> (Server, reqwest::Client, reqwest::Client) {
    acme_with_in(dir, &[], "Ann Lee <ann@example.com>").await
}

/// `acme` on a server started with the flags `extra`, applied for with the representatives
/// `reps` (ann among them).
pub async fn acme_with(extra: &[&str], reps: &str) -> (Server, reqwest::Client, reqwest::Client) {
    let dir = DataDir::new();
    let (server, op, ann) = acme_with_in(&dir, extra, reps).await;
    (server.owning(dir), op, ann)
}

/// [`acme_with`] on `dir`.
pub async fn acme_with_in(dir: &DataDir, extra: &[&str], reps: &str) -> (Server, reqwest::Client, reqwest::Client) {
    let (server, op) = server_with_operator_in(dir, extra).await;
    let ann = person(&server, "ann").await;
    apply_and_generate(&op, &server, &ann, "Acme", reps).await;
    (server, op, ann)
}

/// The id of the workspace `name`, as its admin sees it.
pub async fn workspace_id(admin: &reqwest::Client, server: &Server, name: &str) -> String {
    let r = workspace_general(admin, server, name).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()[0]["id"].as_str().unwrap().to_string()
}

/// The token in the newest invitation email to `email` (read from the outbox as the operator).
pub async fn invitation_token(op: &reqwest::Client, server: &Server, email: &str) -> String {
    mailed_token(op, server, email, "/invitations/").await
}

/// `admin` invites `emails` to Acme as `role`; every address must come back "invited".
pub async fn invite(admin: &reqwest::Client, server: &Server, emails: &str, role: &str) {
    let r = invite_members(admin, server, "Acme", emails, role).await;
    assert_eq!(r.status, 200, "{}", r.body);
    for row in r.json().as_array().unwrap() {
        assert_eq!(row["outcome"], "invited", "{}", r.body);
    }
}

/// `admin` invites `email` to Acme as `role`; returns the token of the link mailed to it.
pub async fn invited(server: &Server, admin: &reqwest::Client, email: &str, role: &str) -> String {
    let op = server.op.as_ref().expect("a server with an operator");
    invite(admin, server, email, role).await;
    invitation_token(op, server, email).await
}

/// `c` sends the pending invitation of `email` to `workspace` again, with a new link.
pub async fn resend_invitation(c: &reqwest::Client, server: &Server, workspace: &str, email: &str) -> Reply {
    call(c, server, "resend-invitation", &[("workspace", workspace), ("email", email)]).await
}

/// `c` revokes the pending invitation of `email` to `workspace`.
pub async fn revoke_invitation(c: &reqwest::Client, server: &Server, workspace: &str, email: &str) -> Reply {
    call(c, server, "revoke-invitation", &[("workspace", workspace), ("email", email)]).await
}

/// `name@example.com`, invited to Acme by `admin` as `role`, signs up, logs in, verifies the
/// address and accepts: the only way in by invitation.
pub async fn join(server: &Server, admin: &reqwest::Client, name: &str, role: &str) -> reqwest::Client {
    let token = invited(server, admin, &format!("{name}@example.com"), role).await;
    let c = person(server, name).await;
    let r = accept_invitation(&c, server, &token).await;
    assert_eq!(r.status, 200, "{name} accepts: {}", r.body);
    c
}

/// The account id of the first member of Acme matching `q`, as `admin` sees.
pub async fn member_id(admin: &reqwest::Client, server: &Server, q: &str) -> String {
    let page = list_members(admin, server, "Acme", q, "", "").await.json();
    page["items"][0]["account_id"].as_str().unwrap_or_else(|| panic!("{page}")).to_string()
}

/// `join`, and the new member's account id.
pub async fn join_with_id(server: &Server, admin: &reqwest::Client, name: &str, role: &str) -> (reqwest::Client, String) {
    let c = join(server, admin, name, role).await;
    (c, member_id(admin, server, name).await)
}

/// How many members (active or blocked) Acme has, as its admin sees.
pub async fn members_total(admin: &reqwest::Client, server: &Server) -> u64 {
    let r = list_members(admin, server, "Acme", "", "", "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["total"].as_u64().unwrap()
}

/// What the invitation link with `token` shows a signed-out visitor.
pub async fn invitation_details(server: &Server, token: &str) -> Reply {
    call(&client(), server, "invitation-details", &[("token", token)]).await
}

/// What an invitation link shows now: pending, accepted, revoked or expired.
pub async fn invitation_state(server: &Server, token: &str) -> String {
    let r = invitation_details(server, token).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["state"].as_str().unwrap().to_string()
}

/// The actions of Acme's audit log matching `action` (exactly) and `q`, newest first.
pub async fn audit_events(admin: &reqwest::Client, server: &Server, action: &str, q: &str) -> Vec<serde_json::Value> {
    let r = workspace_audit(admin, server, "Acme", action, q).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["items"].as_array().unwrap().clone()
}

/// The error message of a refusal.
pub fn message(r: &Reply) -> String {
    r.json()["message"].as_str().unwrap_or_default().to_string()
}

/// A refusal with `status` whose message holds `text` (`what`: which refusal, for the failure).
pub fn refused_with(r: &Reply, status: u16, what: &str, text: &str) {
    super::expect(r, status, what);
    assert!(message(r).contains(text), "{what}: the message should say {text:?}: {}", r.body);
}

/// The General page of `workspace` (its record and the caller's role), as `c` reads it.
pub async fn workspace_general(c: &reqwest::Client, server: &Server, workspace: &str) -> Reply {
    call(c, server, "workspace-general", &[("workspace", workspace)]).await
}

/// The overview of `workspace`, as `c` reads it.
pub async fn workspace_home(c: &reqwest::Client, server: &Server, workspace: &str) -> Reply {
    call(c, server, "workspace-home", &[("workspace", workspace)]).await
}

/// The audit log of `workspace`, filtered by `action` (exactly) and `q`.
pub async fn workspace_audit(c: &reqwest::Client, server: &Server, workspace: &str, action: &str, q: &str) -> Reply {
    call(c, server, "workspace-audit", &[("workspace", workspace), ("action", action), ("q", q)]).await
}

/// The members of `workspace` matching `q`, `role` and `status` (empty: any).
pub async fn list_members(c: &reqwest::Client, server: &Server, workspace: &str, q: &str, role: &str, status: &str) -> Reply {
    call(c, server, "list-members", &[("workspace", workspace), ("q", q), ("role", role), ("status", status)]).await
}

/// `c` invites `emails` (a list, one a line or a CSV) to `workspace` as `role`.
pub async fn invite_members(c: &reqwest::Client, server: &Server, workspace: &str, emails: &str, role: &str) -> Reply {
    call(c, server, "invite-members", &[("workspace", workspace), ("emails", emails), ("role", role)]).await
}

/// `c` accepts the invitation of the link with `token`.
pub async fn accept_invitation(c: &reqwest::Client, server: &Server, token: &str) -> Reply {
    call(c, server, "accept-invitation", &[("token", token)]).await
}

/// The admissions of representatives waiting for a proven address in `workspace`.
pub async fn list_admissions(c: &reqwest::Client, server: &Server, workspace: &str) -> Reply {
    call(c, server, "list-admissions", &[("workspace", workspace)]).await
}

/// `c` revokes the waiting admission of `email` to `workspace`.
pub async fn revoke_admission(c: &reqwest::Client, server: &Server, workspace: &str, email: &str) -> Reply {
    call(c, server, "revoke-admission", &[("workspace", workspace), ("email", email)]).await
}

/// The operator `op` suspends or reactivates (`action`) the workspace with the id `id`.
pub async fn set_workspace_status(op: &reqwest::Client, server: &Server, id: &str, action: &str, reason: &str) -> Reply {
    call(op, server, "set-workspace-status", &[("id", id), ("action", action), ("reason", reason)]).await
}

/// `c` blocks the member `account` of `workspace`.
pub async fn block_member(c: &reqwest::Client, server: &Server, workspace: &str, account: &str) -> Reply {
    call(c, server, "block-member", &[("workspace", workspace), ("account", account)]).await
}

/// `c` unblocks the member `account` of `workspace`.
pub async fn unblock_member(c: &reqwest::Client, server: &Server, workspace: &str, account: &str) -> Reply {
    call(c, server, "unblock-member", &[("workspace", workspace), ("account", account)]).await
}

/// `c` removes the member `account` from `workspace`.
pub async fn remove_member(c: &reqwest::Client, server: &Server, workspace: &str, account: &str) -> Reply {
    call(c, server, "remove-member", &[("workspace", workspace), ("account", account)]).await
}

/// `c` gives the member `account` of `workspace` the role `role`.
pub async fn set_member_role(c: &reqwest::Client, server: &Server, workspace: &str, account: &str, role: &str) -> Reply {
    call(c, server, "set-member-role", &[("workspace", workspace), ("account", account), ("role", role)]).await
}

/// `c` asks the operator to change `what` of `workspace`, because `why`.
pub async fn request_workspace_change(c: &reqwest::Client, server: &Server, workspace: &str, what: &str, why: &str) -> Reply {
    call(c, server, "request-workspace-change", &[("workspace", workspace), ("what", what), ("why", why)]).await
}

/// `c` (only the operator may) edits the information of the workspace with the id `id` (not its
/// name).
pub async fn edit_workspace_info(c: &reqwest::Client, server: &Server, id: &str, mcc: &str, address: &str, reps: &str) -> Reply {
    call(c, server, "edit-workspace-info", &[("id", id), ("mcc", mcc), ("address", address), ("representatives", reps)]).await
}
