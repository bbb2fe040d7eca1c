//! Members over HTTP: invitations (one, many, CSV), joining (sign up, verify the address, accept),
//! roles, block / unblock, the last admin rule and suspension. Who may call what is
//! `tests/authorization.rs`.

mod common;

use common::workspace::*;
use common::*;

/// POSTs to `endpoint` with headers announcing a form body of `len` bytes, sends no body, and
/// returns the answer's status: a server that refuses a body by its announced size answers
/// without waiting for it. (Sending a body the server will not read races with the server
/// closing the connection, which can reset it before the answer is read.)
fn status_of_announced_body(server: &Server, endpoint: &str, cookie: &str, len: usize) -> u16 {
    use std::io::{Read, Write};
    let host = server.base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(host).unwrap();
    // Only a guard against hanging forever if the server waited for the body.
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    write!(
        s,
        "POST /api/{endpoint} HTTP/1.1\r\nHost: {host}\r\nAccept: application/json\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len}\r\n\
         Cookie: {cookie}\r\nExpect: 100-continue\r\n\r\n"
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n") {
        let n = s.read(&mut byte).expect("an answer without the body");
        assert_eq!(
            n,
            1,
            "the connection closed: {:?}",
            String::from_utf8_lossy(&head)
        );
        head.push(byte[0]);
    }
    let line = String::from_utf8(head).unwrap();
    line.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not a status line: {line:?}"))
}


#[tokio::test]
async fn bulk_invite_gives_a_result_per_row_and_mails_only_the_invited() {
    let (server, op, ann) = acme().await;
    let list = "email\nnew1@example.com\nnot-an-address\nNEW1@example.com\nann@example.com\nnew2@example.com";
    let r = invite_members(&ann, &server, "Acme", list, "WorkspaceDeveloper").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let rows: Vec<(String, String)> = string_pairs(&r.json(), "email", "outcome");
    assert_eq!(rows[0], ("new1@example.com".into(), "invited".into()));
    assert!(rows[1].1.starts_with("invalid address"), "{rows:?}");
    assert_eq!(rows[2].1, "duplicate in the list");
    assert_eq!(rows[3].1, "already a member");
    assert_eq!(rows[4].1, "invited");
    let again = invite_members(&ann, &server, "Acme", "new2@example.com", "WorkspaceDeveloper").await.json();
    assert_eq!(again[0]["outcome"], "already invited");

    let outbox = list_outbox(&op, &server, "", "invited").await.json();
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
    let r = invite_members(&ann, &server, "Acme", &many, "WorkspaceDeveloper").await;
    expect_field(&r, 422, "Email addresses");
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .contains("at most 500"));
    let r = invite_members(&ann, &server, "Acme", "a@example.com,\"b@example.com\nc", "WorkspaceDeveloper").await;
    assert_eq!(r.status, 200, "a quoted cell is still read: {}", r.body);
    let r = log_in(&client(), &server, "ann", PASSWORD).await;
    let cookie = session_pair(&r.headers);
    assert_eq!(
        status_of_announced_body(&server, "invite-members", &cookie, 100 * 1024),
        413,
        "an oversized list is refused before it is read"
    );
    let r = invite_members(&ann, &server, "Acme", "x@example.com", "King").await;
    expect_field(&r, 422, "Role");
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
async fn an_invitation_is_accepted_after_sign_up_and_verification_once_and_the_link_then_stops() {
    let (server, op, ann) = acme().await;
    let token = invited(&server, &ann, "dev@example.com", "WorkspaceDeveloper").await;
    let info = invitation_details(&server, &token).await.json();
    assert_eq!(
        (info["workspace"].as_str(), info["state"].as_str()),
        (Some("Acme"), Some("pending"))
    );

    // Someone else cannot use it, even with a verified address.
    let bob = person(&server, "bob").await;
    let r = accept_invitation(&bob, &server, &token).await;
    refused_with(&r, 403, "another account", "This invitation is for dev@example.com");

    // Signing up from the link neither signs in nor joins; the verification link it mails leads
    // back to the invitation.
    let dev = client();
    let next = format!("/invitations/{token}");
    let r = call(
        &dev,
        &server,
        "sign-up",
        &[
            ("email", "dev@example.com"),
            ("username", "dev"),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
            ("next", &next),
        ],
    )
    .await;
    expect(&r, 200, "sign-up");
    assert_eq!(r.headers["location"], "/sign-up?sent=dev@example.com");
    assert!(me(&dev, &server).await.is_null(), "sign-up signs nobody in");
    assert_eq!(invitation_state(&server, &token).await, "pending");
    expect(&log_in(&dev, &server, "dev", PASSWORD).await, 200, "log-in");
    let r = accept_invitation(&dev, &server, &token).await;
    refused_with(&r, 403, "unverified", "Verify your email address");

    let verification = mailed_token(&op, &server, "dev@example.com", "/verify-email/").await;
    let outbox = list_outbox(&op, &server, "", "dev@example.com").await.json();
    let mail = outbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["body"].as_str().unwrap().contains(&verification))
        .expect("the verification mail")
        .clone();
    assert!(
        mail["body"].as_str().unwrap().contains(&format!(
            "/verify-email/{verification}?next=%2Finvitations%2F{token}"
        )),
        "{mail}"
    );
    let r = call(
        &dev,
        &server,
        "verify-email",
        &[("token", &verification), ("next", &next)],
    )
    .await;
    expect(&r, 200, "verify-email");
    assert_eq!(
        r.headers["location"],
        next.as_str(),
        "back to the invitation"
    );

    let r = accept_invitation(&dev, &server, &token).await;
    expect(&r, 200, "verified, the invitee accepts");
    assert_eq!(r.headers["location"], "/w/Acme?joined=1");
    let home = workspace_home(&dev, &server, "Acme").await.json();
    assert_eq!(
        (home["role"].as_str(), home["assignment"].as_str()),
        (Some("WorkspaceDeveloper"), Some("unassigned"))
    );

    // The link works once.
    let r = accept_invitation(&dev, &server, &token).await;
    refused_with(&r, 409, "used twice", "already been used");
    assert_eq!(invitation_state(&server, &token).await, "accepted");
    expect(&invitation_details(&server, "0".repeat(64).as_str()).await, 404, "unknown token");

    // Resend gives a new link and kills the old; revoke kills it too.
    let first = invited(&server, &ann, "late@example.com", "WorkspaceReviewer").await;
    expect(&resend_invitation(&ann, &server, "Acme", "late@example.com").await, 200, "resend");
    let second = invitation_token(&op, &server, "late@example.com").await;
    assert_ne!(first, second);
    assert_eq!(invitation_state(&server, &first).await, "revoked");
    expect(&revoke_invitation(&ann, &server, "Acme", "late@example.com").await, 200, "revoke");
    assert_eq!(invitation_state(&server, &second).await, "revoked");

    // A withdrawn link can't be used, even by the verified owner of the address.
    let late = person(&server, "late").await;
    for t in [&first, &second] {
        let r = accept_invitation(&late, &server, t).await;
        refused_with(&r, 409, "a revoked link", "has been withdrawn");
    }
    expect(&workspace_home(&late, &server, "Acme").await, 404, "and it admitted nobody");
    assert_eq!(members_total(&ann, &server).await, 2);
}

#[tokio::test]
async fn an_unverified_account_cannot_accept_an_invitation_and_nothing_changes() {
    let (server, op, ann) = acme().await;
    let token = invited(&server, &ann, "newdev@example.com", "WorkspaceDeveloper").await;
    let newdev = unverified_person(&server, "newdev").await;
    assert_eq!(me(&newdev, &server).await["email_verified"], false);

    let r = accept_invitation(&newdev, &server, &token).await;
    refused_with(&r, 403, "unverified", "Verify your email address");

    // Nothing changed: not a member anywhere, the invitation still pending and listed, no join
    // in the audit log.
    expect(&workspace_home(&newdev, &server, "Acme").await, 404, "not a member");
    assert_eq!(
        call(&newdev, &server, "my-workspaces", &[]).await.json(),
        serde_json::json!([])
    );
    assert_eq!(invitation_state(&server, &token).await, "pending");
    let pending = call(&ann, &server, "list-invitations", &[("workspace", "Acme")])
        .await
        .json();
    assert_eq!(pending.as_array().unwrap().len(), 1, "{pending}");
    assert_eq!(pending[0]["email"], "newdev@example.com");
    assert_eq!(members_total(&ann, &server).await, 1);
    assert!(audit_events(&ann, &server, "member.joined", "")
        .await
        .is_empty());

    // Verifying is all that was missing.
    verify(&op, &server, "newdev@example.com").await;
    let r = accept_invitation(&newdev, &server, &token).await;
    expect(&r, 200, "verified");
    assert_eq!(members_total(&ann, &server).await, 2);
    assert_eq!(
        audit_events(&ann, &server, "member.joined", "newdev@")
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn accepting_an_invitation_in_a_suspended_workspace_is_refused() {
    let (server, op, ann) = acme().await;
    let ws = workspace_id(&ann, &server, "Acme").await;
    let token = invited(&server, &ann, "dev@example.com", "WorkspaceDeveloper").await;
    let dev = person(&server, "dev").await;
    expect(&set_workspace_status(&op, &server, &ws, "suspend", "Unpaid invoice").await, 200, "suspend");

    let r = accept_invitation(&dev, &server, &token).await;
    refused_with(&r, 403, "suspended", "is suspended");
    assert_eq!(invitation_state(&server, &token).await, "pending");
    expect(&workspace_home(&dev, &server, "Acme").await, 404, "not a member");
    assert_eq!(members_total(&ann, &server).await, 1);
    assert!(audit_events(&ann, &server, "member.joined", "")
        .await
        .is_empty());
    // Nor can anyone be invited meanwhile.
    let r = invite_members(&ann, &server, "Acme", "other@example.com", "WorkspaceDeveloper").await;
    expect(&r, 403, "invite while suspended");

    // Once reactivated, the same link works.
    expect(&set_workspace_status(&op, &server, &ws, "reactivate", "Paid").await, 200, "reactivate");
    let r = accept_invitation(&dev, &server, &token).await;
    expect(&r, 200, "reactivated");
    assert_eq!(members_total(&ann, &server).await, 2);
}

/// `name@example.com`, a new verified person, opens the withdrawn invitation `token` (`what`: whose
/// it was): refused as withdrawn, and not let in.
async fn withdrawn_link_admits_nobody(server: &Server, name: &str, token: &str, what: &str) {
    let c = person(server, name).await;
    let r = accept_invitation(&c, server, token).await;
    refused_with(&r, 409, what, "has been withdrawn");
    expect(&workspace_home(&c, server, "Acme").await, 404, &format!("{name} is not a member"));
}

/// Once bob is an admin in good standing again, the link `revoked` he sent stays revoked, and
/// `name@example.com` still joins by ann's invitation `anns`.
async fn still_revoked_and_anns_admits(server: &Server, revoked: &str, name: &str, anns: &str) {
    assert_eq!(invitation_state(server, revoked).await, "revoked");
    let c = person(server, name).await;
    expect(&accept_invitation(&c, server, anns).await, 200, "ann's invitation still works");
}

#[tokio::test]
async fn blocking_an_admin_revokes_the_invitations_they_sent() {
    let (server, op, ann) = acme().await;
    let bob = join(&server, &ann, "bob", "WorkspaceAdmin").await;
    invite(
        &bob,
        &server,
        "xy1@example.com\nxy2@example.com",
        "WorkspaceDeveloper",
    )
    .await;
    invite(&ann, &server, "xy3@example.com", "WorkspaceReviewer").await;
    let t1 = invitation_token(&op, &server, "xy1@example.com").await;
    let t2 = invitation_token(&op, &server, "xy2@example.com").await;
    let t3 = invitation_token(&op, &server, "xy3@example.com").await;
    for t in [&t1, &t2, &t3] {
        assert_eq!(invitation_state(&server, t).await, "pending");
    }

    let bob_id = member_id(&ann, &server, "bob").await;
    expect(&block_member(&ann, &server, "Acme", &bob_id).await, 200, "block bob");

    // What bob sent no longer lets anyone in; ann's invitation is untouched.
    assert_eq!(invitation_state(&server, &t1).await, "revoked");
    assert_eq!(invitation_state(&server, &t2).await, "revoked");
    assert_eq!(invitation_state(&server, &t3).await, "pending");
    withdrawn_link_admits_nobody(&server, "xy1", &t1, "an invitation from a blocked admin").await;
    let pending = call(&ann, &server, "list-invitations", &[("workspace", "Acme")])
        .await
        .json();
    let emails: Vec<&str> = pending
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, vec!["xy3@example.com"]);

    // The audit log says so, invitation by invitation.
    let revoked = audit_events(&ann, &server, "member.invitation_revoked", "").await;
    let mut targets: Vec<&str> = revoked
        .iter()
        .map(|e| e["target"].as_str().unwrap())
        .collect();
    targets.sort();
    assert_eq!(targets, vec!["xy1@example.com", "xy2@example.com"]);
    for e in &revoked {
        assert_eq!(e["actor"], "ann", "{e}");
        assert!(
            e["details"]
                .as_str()
                .unwrap()
                .contains("sent by bob, who was blocked"),
            "{e}"
        );
    }

    // Unblocking bob does not bring the links back.
    expect(&unblock_member(&ann, &server, "Acme", &bob_id).await, 200, "unblock bob");
    still_revoked_and_anns_admits(&server, &t1, "xy3", &t3).await;
}

#[tokio::test]
async fn demoting_an_admin_revokes_the_invitations_they_sent() {
    let (server, op, ann) = acme().await;
    let bob = join(&server, &ann, "bob", "WorkspaceAdmin").await;
    invite(&bob, &server, "dm1@example.com", "WorkspaceDeveloper").await;
    invite(&ann, &server, "dm2@example.com", "WorkspaceDeveloper").await;
    let t1 = invitation_token(&op, &server, "dm1@example.com").await;
    let t2 = invitation_token(&op, &server, "dm2@example.com").await;
    let bob_id = member_id(&ann, &server, "bob").await;
    let set_role = |role: &'static str| {
        let (ann, server, bob_id) = (&ann, &server, bob_id.clone());
        async move { set_member_role(ann, server, "Acme", &bob_id, role).await }
    };

    // Refused first: a change to the role bob has already changes nothing.
    let r = set_role("WorkspaceAdmin").await;
    expect(&r, 409, "bob is already a Workspace Admin");
    assert_eq!(r.field().as_deref(), Some("Role"));
    assert_eq!(invitation_state(&server, &t1).await, "pending");

    expect(&set_role("WorkspaceReviewer").await, 200, "demote bob");
    assert_eq!(invitation_state(&server, &t1).await, "revoked");
    assert_eq!(invitation_state(&server, &t2).await, "pending", "ann's invitation is untouched");
    withdrawn_link_admits_nobody(&server, "dm1", &t1, "an invitation from a demoted admin").await;
    let revoked = audit_events(&ann, &server, "member.invitation_revoked", "").await;
    assert_eq!(revoked.len(), 1, "{revoked:?}");
    assert!(revoked[0]["details"].as_str().unwrap().contains("sent by bob, who was made Workspace Reviewer"), "{revoked:?}");

    // Made Workspace Admin again, bob does not bring the link back.
    expect(&set_role("WorkspaceAdmin").await, 200, "promote bob");
    still_revoked_and_anns_admits(&server, &t1, "dm2", &t2).await;
}

#[tokio::test]
async fn blocking_takes_effect_on_an_open_session_and_unblocking_restores_it() {
    let (server, op, ann) = acme().await;
    let rev = join(&server, &ann, "rev", "WorkspaceReviewer").await;
    // rev also has a workspace of their own, which blocking in Acme must not touch.
    apply_and_generate(&op, &server, &rev, "Bravo", "Rev <rev@example.com>").await;
    expect(&workspace_home(&rev, &server, "Acme").await, 200, "rev in Acme");

    let rev_id = member_id(&ann, &server, "rev").await;
    let ann_id = member_id(&ann, &server, "ann").await;
    let r = block_member(&ann, &server, "Acme", &ann_id).await;
    expect(&r, 422, "not yourself");
    assert_eq!(r.field().as_deref(), Some("Member"));
    expect(&block_member(&ann, &server, "Acme", &rev_id).await, 200, "block rev");

    // The same open session is refused from the next request on, with a clear message.
    let r = workspace_home(&rev, &server, "Acme").await;
    refused_with(&r, 403, "blocked", "blocked");
    let page = rev.get(server.url("/w/Acme")).send().await.unwrap();
    assert_eq!(page.status(), 403);
    assert!(page.text().await.unwrap().contains("has been blocked"));
    expect(
        &call(&rev, &server, "leave-workspace", &[("workspace", "Acme")]).await,
        403,
        "a blocked member can't leave",
    );
    assert!(
        me(&rev, &server).await["username"] == "rev",
        "still signed in to the console"
    );
    expect(&workspace_general(&rev, &server, "Bravo").await, 200, "other workspaces unaffected");
    let inactive = list_members(&ann, &server, "Acme", "", "", "Inactive").await.json();
    assert_eq!(inactive["total"], 1);

    expect(&unblock_member(&ann, &server, "Acme", &rev_id).await, 200, "unblock");
    expect(&workspace_home(&rev, &server, "Acme").await, 200, "rev is back");
    let actions: Vec<String> = audit_events(&ann, &server, "", "rev@")
        .await
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect();
    for a in [
        "member.invited",
        "member.joined",
        "member.blocked",
        "member.unblocked",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
}

#[tokio::test]
async fn the_last_admin_stays_and_roles_change() {
    let (server, _op, ann) = acme().await;
    let ann_id = member_id(&ann, &server, "ann").await;
    // The last admin can't step down, and nobody removes themselves (they leave instead).
    let r = set_member_role(&ann, &server, "Acme", &ann_id, "WorkspaceReviewer").await;
    expect(&r, 409, "the last admin steps down");
    assert_eq!(r.field().as_deref(), Some("Role"));
    assert!(
        message(&r).contains("last active Workspace Admin"),
        "{}",
        r.body
    );
    let r = remove_member(&ann, &server, "Acme", &ann_id).await;
    expect(&r, 422, "removing oneself");
    assert_eq!(r.field().as_deref(), Some("Member"));
    let r = call(&ann, &server, "leave-workspace", &[("workspace", "Acme")]).await;
    expect(&r, 409, "the last admin leaves");
    assert_eq!(r.field().as_deref(), Some("Member"));
    // Setting the role someone already has is a conflict too.
    let r = set_member_role(&ann, &server, "Acme", &ann_id, "WorkspaceAdmin").await;
    expect(&r, 409, "same role");

    let bo = join(&server, &ann, "boris", "WorkspaceDeveloper").await;
    let bo_id = member_id(&ann, &server, "boris").await;
    expect(&list_members(&bo, &server, "Acme", "", "", "").await, 403, "a developer lists members");
    expect(&set_member_role(&ann, &server, "Acme", &bo_id, "WorkspaceAdmin").await, 200, "boris made admin");
    assert_eq!(list_members(&bo, &server, "Acme", "", "workspace-admin", "").await.json()["total"], 2);
    // Now ann is not the last admin: she may step down, and leave.
    expect(&set_member_role(&ann, &server, "Acme", &ann_id, "WorkspaceReviewer").await, 200, "ann steps down");
    expect(
        &call(&ann, &server, "leave-workspace", &[("workspace", "Acme")]).await,
        200,
        "ann leaves",
    );
    expect(&workspace_home(&ann, &server, "Acme").await, 404, "ann is gone");
}

#[tokio::test]
async fn removing_or_leaving_revokes_the_invitations_the_member_sent() {
    let (server, op, ann) = acme().await;
    let bob = join(&server, &ann, "bob", "WorkspaceAdmin").await;
    let cat = join(&server, &ann, "cat", "WorkspaceAdmin").await;
    invite(&bob, &server, "fromBob@example.com", "WorkspaceDeveloper").await;
    invite(&cat, &server, "fromCat@example.com", "WorkspaceDeveloper").await;
    invite(&ann, &server, "fromAnn@example.com", "WorkspaceDeveloper").await;
    let from_bob = invitation_token(&op, &server, "fromBob@example.com").await;
    let from_cat = invitation_token(&op, &server, "fromCat@example.com").await;
    let from_ann = invitation_token(&op, &server, "fromAnn@example.com").await;

    let bob_id = member_id(&ann, &server, "bob").await;
    let r = remove_member(&ann, &server, "Acme", &bob_id).await;
    expect(&r, 200, "remove bob");
    expect(&call(&cat, &server, "leave-workspace", &[("workspace", "Acme")]).await, 200, "cat leaves");

    assert_eq!(invitation_state(&server, &from_bob).await, "revoked");
    assert_eq!(invitation_state(&server, &from_cat).await, "revoked");
    assert_eq!(invitation_state(&server, &from_ann).await, "pending");
    let invitee = person(&server, "fromBob").await;
    let r = accept_invitation(&invitee, &server, &from_bob).await;
    expect(&r, 409, "an invitation from a removed admin");
    let revoked = audit_events(&ann, &server, "member.invitation_revoked", "").await;
    let details: Vec<&str> = revoked.iter().map(|e| e["details"].as_str().unwrap()).collect();
    assert!(details.iter().any(|d| d.contains("bob, who was removed")), "{details:?}");
    assert!(details.iter().any(|d| d.contains("cat, who left")), "{details:?}");
}

#[tokio::test]
async fn a_plain_form_post_from_the_confirmation_page_returns_to_the_page_that_asked() {
    let (server, _op, ann) = acme().await;
    join(&server, &ann, "bob", "WorkspaceDeveloper").await;
    let bob_id = member_id(&ann, &server, "bob").await;
    // The confirmation page states the consequence in the seed's words, from its own table.
    let link = server.url(&format!("/confirm/block-member?workspace=Acme&account={bob_id}&back=%2Fw%2FAcme%2Fmembers"));
    let page = confirmation_page(&ann, &link).await;
    assert!(page.contains("If the member has been blocked, he/she will not be able to view or operate all mini programs he/she has been joined."), "{page}");
    assert!(page.contains(r#"action="/api/block-member""#), "{page}");
    let (status, to) = confirmed_form_post(&ann, &server, "block-member", &[("workspace", "Acme"), ("account", &bob_id), ("back", "/w/Acme/members")]).await;
    assert_eq!((status, to.as_str()), (302, "/w/Acme/members"));
    // A foreign return target is not followed.
    let (status, to) = confirmed_form_post(&ann, &server, "unblock-member", &[("workspace", "Acme"), ("account", &bob_id), ("back", "//evil.example/")]).await;
    assert_eq!(status, 302);
    assert!(!to.contains("evil.example"), "{to}");
    // An unknown confirmation is a 404 page.
    let r = ann.get(server.url("/confirm/format-disk")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    // A confirmation naming its target is shown only when opened from a console page: a link
    // from a mail, another site or the address bar sends the person to the page it returns to.
    let members_page = server.url("/w/Acme/members");
    for (headers, shown) in [
        (vec![("sec-fetch-site", "same-origin")], true),
        (vec![("sec-fetch-site", "cross-site")], false),
        (vec![("sec-fetch-site", "none")], false),
        (vec![("sec-fetch-site", "same-site")], false),
        (vec![("referer", members_page.as_str())], true),
        (vec![("referer", "https://evil.example/w/Acme")], false),
        (vec![], false),
    ] {
        let mut request = ann.get(&link);
        for (k, v) in &headers {
            request = request.header(*k, *v);
        }
        let r = request.send().await.unwrap();
        if shown {
            assert_eq!(r.status(), 200, "{headers:?}");
        } else {
            assert_eq!(r.status(), 303, "{headers:?}");
            assert_eq!(r.headers()["location"], "/w/Acme/members", "{headers:?}");
        }
    }
    let crafted = ann.get(server.url("/confirm/block-member?account=x&back=%2F%2Fevil.example")).send().await.unwrap();
    assert_eq!((crafted.status().as_u16(), crafted.headers()["location"].to_str().unwrap()), (303, "/"), "a foreign return target is not followed");
}

#[tokio::test]
async fn the_overview_shows_admins_what_needs_attention_and_others_only_their_place() {
    let (server, _op, ann) = acme().await;
    let dev = join(&server, &ann, "dev", "WorkspaceDeveloper").await;
    invite(&ann, &server, "later@example.com", "WorkspaceDeveloper").await;
    let dev_id = member_id(&ann, &server, "dev").await;
    expect(&block_member(&ann, &server, "Acme", &dev_id).await, 200, "block dev");
    let home = workspace_home(&ann, &server, "Acme").await;
    expect(&home, 200, "admin's overview");
    let counts = &home.json()["members"];
    assert_eq!((counts["members"].as_u64(), counts["blocked"].as_u64(), counts["invitations"].as_u64()), (Some(2), Some(1), Some(1)), "{counts}");
    expect(&unblock_member(&ann, &server, "Acme", &dev_id).await, 200, "unblock dev");
    let home = workspace_home(&dev, &server, "Acme").await;
    expect(&home, 200, "developer's overview");
    assert!(home.json()["members"].is_null(), "{}", home.body);
}

/// Posts `form` to `/api/{action}` as the confirmation page's plain HTML form does; returns the
/// status and where the browser is sent.
async fn confirmed_form_post(c: &reqwest::Client, server: &Server, action: &str, form: &[(&str, &str)]) -> (u16, String) {
    let r = c
        .post(server.url(&format!("/api/{action}")))
        .header("accept", "text/html")
        .header("referer", server.url(&format!("/confirm/{action}")))
        .form(form)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.headers()["location"].to_str().unwrap().to_string())
}

/// One page of Acme's audit log as its admin asks for it.
async fn audit_page(ann: &reqwest::Client, server: &Server, sort: &str, cursor: &str) -> Reply {
    call(ann, server, "workspace-audit", &[("workspace", "Acme"), ("action", ""), ("q", ""), ("sort", sort), ("cursor", cursor)]).await
}

fn seqs(r: &Reply) -> Vec<u64> {
    r.json()["items"].as_array().unwrap().iter().map(|e| e["seq"].as_u64().unwrap()).collect()
}

#[tokio::test]
async fn lists_page_by_cursor_sort_by_a_column_and_refuse_changed_links() {
    let (server, _op, ann) = acme().await;
    let emails: Vec<String> = (0..25).map(|i| format!("p{i:02}@example.com")).collect();
    invite(&ann, &server, &emails.join("\n"), "WorkspaceDeveloper").await;

    // Newest first by default; "next" leads on, "previous" leads back to the same rows.
    let first = audit_page(&ann, &server, "", "").await;
    expect(&first, 200, "first page");
    let j = first.json();
    let total = j["total"].as_u64().unwrap();
    assert!(total >= 26, "{j}");
    assert_eq!((j["offset"].as_u64(), j["prev"].is_null(), j["sort"].as_str()), (Some(0), true, Some("-time")));
    let one = seqs(&first);
    assert_eq!(one.len(), 20);
    assert!(one.windows(2).all(|w| w[0] > w[1]), "{one:?}");
    let second = audit_page(&ann, &server, "", j["next"].as_str().unwrap()).await;
    expect(&second, 200, "second page");
    let two = seqs(&second);
    assert_eq!(two.len() as u64, total - 20);
    assert!(two[0] < one[19], "{one:?} {two:?}");
    assert_eq!(second.json()["offset"].as_u64(), Some(20));
    let back = audit_page(&ann, &server, "", second.json()["prev"].as_str().unwrap()).await;
    assert_eq!(seqs(&back), one);

    // A write between pages does not shift the next page.
    invite(&ann, &server, "late@example.com", "WorkspaceDeveloper").await;
    let again = audit_page(&ann, &server, "", j["next"].as_str().unwrap()).await;
    assert_eq!(seqs(&again), two);

    // Oldest first, on request.
    let oldest = audit_page(&ann, &server, "time", "").await;
    expect(&oldest, 200, "oldest first");
    let up = seqs(&oldest);
    assert!(up.windows(2).all(|w| w[0] < w[1]), "{up:?}");

    // An unknown column, a changed cursor, a cursor of another sort: refused, naming the rule.
    let r = audit_page(&ann, &server, "password", "").await;
    expect(&r, 422, "unknown sort");
    assert_eq!(r.json()["field"], "Sort");
    assert!(message(&r).contains("can be sorted by time"), "{}", r.body);
    for bad in ["a.-time.zz.i5", "garbage", "b.-time.1.t", "a.-time.1.i99999999999999999999"] {
        let r = audit_page(&ann, &server, "", bad).await;
        expect(&r, 422, bad);
        assert_eq!(r.json()["field"], "cursor", "{bad}");
    }
    let r = audit_page(&ann, &server, "time", j["next"].as_str().unwrap()).await;
    expect(&r, 422, "cursor of another sort");

    // Members sort by any of their columns.
    let _bob = join(&server, &ann, "bob", "WorkspaceDeveloper").await;
    let names = |r: &Reply| -> Vec<String> {
        strings(&r.json()["items"], "username")
    };
    let list = |sort: &'static str| {
        let (ann, server) = (&ann, &server);
        async move {
            call(ann, server, "list-members", &[("workspace", "Acme"), ("q", ""), ("role", ""), ("status", ""), ("sort", sort), ("cursor", "")]).await
        }
    };
    assert_eq!(names(&list("username").await), ["ann", "bob"]);
    assert_eq!(names(&list("-username").await), ["bob", "ann"]);
    assert_eq!(names(&list("-joined").await), ["bob", "ann"]);
    expect(&list("password_hash").await, 422, "members by an unknown column");

    // The page itself says what is wrong, with a way back, and no server error.
    let r = ann
        .get(server.url("/w/Acme/audit?cursor=a.-time.zz.i5"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(body.contains("this page link is not valid"), "{body}");
    assert!(body.contains("Show the list from the start"), "{body}");
    let r = ann.get(server.url("/w/Acme/members?sort=-username")).send().await.unwrap();
    let body = r.text().await.unwrap();
    assert!(body.contains(r#"aria-sort="descending""#), "{body}");
}
