//! Accounts you can trust, over HTTP against the real server: proven email addresses, no
//! enumeration, limits that hold under parallel attack, known devices, client addresses behind
//! proxies, password reset, sessions that slide, expire and can be revoked, secrets that leave
//! the outbox, and the security events a person sees. Refusals first.

mod common;

use common::*;
use reqwest::StatusCode;
use std::time::Duration;

const NEW_PASSWORD: &str = "violet canyon 88";

fn sign_up_form<'a>(email: &'a str, username: &'a str) -> [(&'static str, &'a str); 4] {
    sign_up_values(email, username, PASSWORD, PASSWORD)
}

#[tokio::test]
async fn sign_up_answers_the_same_for_a_registered_email_and_tells_its_owner() {
    let (server, op) = server_with_operator(&[]).await;
    let first = call(&client(), &server, "sign-up", &sign_up_form("ann@example.com", "ann")).await;
    let again = call(&client(), &server, "sign-up", &sign_up_form("ANN@example.com", "annie")).await;
    let fresh = call(&client(), &server, "sign-up", &sign_up_form("bob@example.com", "bob")).await;
    assert_eq!((first.status, again.status, fresh.status), (StatusCode::OK, StatusCode::OK, StatusCode::OK));
    assert_eq!(again.body, fresh.body, "same body");
    // The location differs only by the address typed, which the person already knows.
    assert_eq!(again.headers["location"], "/sign-up?sent=ANN@example.com");
    assert_eq!(fresh.headers["location"], "/sign-up?sent=bob@example.com");
    // No second account for the address; its owner is told someone tried.
    assert_eq!(log_in(&client(), &server, "annie", PASSWORD).await.status, 401);
    let r = list_outbox(&op, &server, "", "ann@example.com").await;
    let subjects: Vec<String> = strings(&r.json()["items"], "subject");
    assert!(subjects.iter().any(|s| s.contains("Someone tried to sign up")), "{subjects:?}");
    assert_eq!(subjects.iter().filter(|s| s.contains("Verify your MPDP email")).count(), 1, "{subjects:?}");
    // Usernames may still be reported as taken.
    let r = call(&client(), &server, "sign-up", &sign_up_form("carol@example.com", "ANN")).await;
    expect_field(&r, 409, "Username");
}

#[tokio::test]
async fn a_verification_link_expires_after_a_day_on_the_servers_clock() {
    let (server, op) = server_with_operator(&["--session-idle", "3d"]).await;
    let ann = unverified_person(&server, "ann").await;
    let token = mailed_token(&op, &server, "ann@example.com", "/verify-email/").await;
    // A day and a minute later the link is refused, and nothing changes.
    server.advance(Duration::from_secs(24 * 3600 + 60));
    let r = call(&ann, &server, "verify-email", &[("token", &token)]).await;
    expect_field(&r, 422, "Verification link");
    assert!(r.body.contains("has expired; ask for a new one"), "{}", r.body);
    assert_eq!(me(&ann, &server).await["email_verified"], false);
    // A new link, used within the day, verifies.
    assert_eq!(call(&ann, &server, "resend-verification", &[]).await.status, 200);
    let fresh = mailed_token(&op, &server, "ann@example.com", "/verify-email/").await;
    assert_ne!(fresh, token);
    server.advance(Duration::from_secs(23 * 3600));
    assert_eq!(call(&ann, &server, "verify-email", &[("token", &fresh)]).await.status, 200);
    assert_eq!(me(&ann, &server).await["email_verified"], true);
}

#[tokio::test]
async fn a_verification_link_works_once_and_bad_links_are_refused() {
    let (server, op) = server_with_operator(&[]).await;
    let ann = unverified_person(&server, "ann").await;
    assert_eq!(me(&ann, &server).await["email_verified"], false);

    for (token, says) in [("", "malformed"), ("zz", "malformed"), (&"ab".repeat(32)[..], "not valid")] {
        let r = call(&ann, &server, "verify-email", &[("token", token)]).await;
        assert_eq!(r.status, 422, "{token}: {}", r.body);
        assert_eq!(r.field().as_deref(), Some("Verification link"));
        assert!(r.body.contains(says), "{}", r.body);
    }
    assert_eq!(me(&ann, &server).await["email_verified"], false, "nothing changed");

    // A resend retires the earlier link.
    let old = mailed_token(&op, &server, "ann@example.com", "/verify-email/").await;
    let r = call(&ann, &server, "resend-verification", &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let new = mailed_token(&op, &server, "ann@example.com", "/verify-email/").await;
    assert_ne!(old, new);
    let r = call(&ann, &server, "verify-email", &[("token", &old)]).await;
    assert_eq!(r.status, 422, "{}", r.body);

    // The link alone verifies nothing: the browser must be signed in as that account (else the
    // owner of an address could verify an impostor's account made with it).
    let r = call(&client(), &server, "verify-email", &[("token", &new)]).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("Log in as ann"), "{}", r.body);
    let bob = person(&server, "bob").await;
    assert_eq!(call(&bob, &server, "verify-email", &[("token", &new)]).await.status, 403);
    assert_eq!(me(&ann, &server).await["email_verified"], false, "nothing changed");

    // The link goes to `next` only when it is a path of this console.
    let r = call(&ann, &server, "verify-email", &[("token", &new), ("next", "//evil.example/")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.headers["location"], "/?verified=1");
    assert_eq!(me(&ann, &server).await["email_verified"], true);
    let r = call(&ann, &server, "verify-email", &[("token", &new)]).await;
    assert_eq!(r.status, 422, "used once: {}", r.body);
    let r = call(&ann, &server, "resend-verification", &[]).await;
    expect_field(&r, 409, "Email");
}

#[tokio::test]
async fn sign_up_and_reset_requests_are_throttled_per_client_address() {
    let server = Server::start(&["--account-requests-per-address", "3"]);
    for i in 0..3 {
        let r = call(&client(), &server, "sign-up", &sign_up_form(&format!("u{i}@example.com"), &format!("user{i}"))).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let r = call(&client(), &server, "sign-up", &sign_up_form("u9@example.com", "user9")).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert!(r.headers.get("retry-after").is_some());
    assert_eq!(log_in(&client(), &server, "user9", PASSWORD).await.status, 401, "nothing was created");
    let r = request_password_reset(&client(), &server, "u0@example.com").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    // Logins are not starved by it.
    assert_eq!(log_in(&client(), &server, "user0", PASSWORD).await.status, 200);
}

#[tokio::test]
async fn password_reset_answers_alike_then_sets_the_password_and_ends_every_session() {
    let (server, op) = server_with_operator(&[]).await;
    let laptop = person(&server, "ann").await;
    let phone = client();
    assert_eq!(log_in(&phone, &server, "ann", PASSWORD).await.status, 200);

    // Refusals: a malformed address, bad links, a weak password — nothing changes.
    let r = request_password_reset(&client(), &server, "not-an-address").await;
    expect_field(&r, 422, "Email");
    let known = request_password_reset(&client(), &server, "ann@example.com").await;
    let unknown = request_password_reset(&client(), &server, "nobody@example.com").await;
    assert_eq!((known.status, &known.body), (unknown.status, &unknown.body));
    assert_eq!(known.headers["location"], unknown.headers["location"]);
    let token = mailed_token(&op, &server, "ann@example.com", "/reset-password/").await;
    let r = list_outbox(&op, &server, "", "nobody@example.com").await;
    assert_eq!(r.json()["total"], 0, "no mail to an address without an account");
    for (t, says) in [("abc", "malformed"), (&"cd".repeat(32)[..], "not valid")] {
        let r = reset_password(&client(), &server, t, NEW_PASSWORD, NEW_PASSWORD).await;
        expect_field(&r, 422, "Reset link");
        assert!(r.body.contains(says), "{}", r.body);
    }
    let r = reset_password(&client(), &server, &token, "password1", "password1").await;
    expect_field(&r, 422, "New password");
    assert_eq!(me(&laptop, &server).await["username"], "ann", "still signed in");

    let r = reset_password(&client(), &server, &token, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(me(&laptop, &server).await.is_null(), "every session ended");
    assert!(me(&phone, &server).await.is_null(), "every session ended");
    assert_eq!(log_in(&client(), &server, "ann", PASSWORD).await.status, 401);
    assert_eq!(log_in(&client(), &server, "ann", NEW_PASSWORD).await.status, 200);
    let r = reset_password(&client(), &server, &token, "another phrase 77", "another phrase 77").await;
    assert_eq!(r.status, 422, "a link works once: {}", r.body);
}

#[tokio::test]
async fn reset_requests_are_limited_per_target_address_whether_or_not_it_exists() {
    let server = Server::start(&[]);
    signed_up(&client(), &server, "ann@example.com", "ann").await;
    // Ann's sign-up mailed her address once already: that counts in the same budget (as a
    // sign-up naming an address that has an account counts its notice).
    for (email, mailed) in [("ann@example.com", 1), ("nobody@example.com", 0)] {
        for _ in mailed..5 {
            let r = request_password_reset(&client(), &server, email).await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
        let r = request_password_reset(&client(), &server, email).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{email}: {}", r.body);
    }
}

#[tokio::test]
async fn a_hundred_parallel_wrong_passwords_verify_at_most_the_limit() {
    let (server, owner) = server_with_ann(&["--login-failures-per-account", "5", "--login-failures-per-address", "1000"]).await;
    // Half by username, half by email: one account, one budget of checks. Each spelling is
    // answered 401 until its own budget is spent (as a login naming nobody would be), but only
    // the account's budget is checked against the password.
    let attempts = (0..100).map(|i| {
        let login = if i % 2 == 0 { "ann" } else { "ANN@example.com" };
        let server = &server;
        async move { log_in(&client(), server, login, "not the password").await.status }
    });
    let statuses = futures_join_all(attempts).await;
    let answered = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    let limited = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!(answered + limited, 100, "{statuses:?}");
    assert_eq!(answered, 10, "five per spelling");
    // The owner sees those failures among their security events: five checked, five not.
    let r = call(&owner, &server, "my-security-events", &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let failed: Vec<String> = r.json()["items"].as_array().unwrap().iter().filter(|e| e["action"] == "account.sign_in_failed").map(|e| e["details"].as_str().unwrap().to_string()).collect();
    assert_eq!(failed.len(), 10, "{failed:?}");
    assert_eq!(failed.iter().filter(|d| *d == "wrong password").count(), 5, "only the budget is checked against the password: {failed:?}");
}


#[tokio::test]
async fn a_known_browser_gets_in_while_strangers_have_spent_the_account_budget() {
    let (server, owner) = server_with_ann(&["--login-failures-per-account", "3"]).await;
    let device = {
        let r = log_in(&owner, &server, "ann", PASSWORD).await;
        r.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .find(|c| c.starts_with("mpdp_device="))
            .expect("a known-device cookie")
    };
    assert!(device.contains("HttpOnly"), "{device}");
    call(&owner, &server, "log-out", &[]).await;
    for _ in 0..3 {
        assert_eq!(log_in(&client(), &server, "ann", "not the password").await.status, 401);
    }
    // A new browser, even with the right password, must wait…
    let r = log_in(&client(), &server, "ann", PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    // …and so must one with a forged device cookie…
    let pair = device.split(';').next().unwrap().to_string();
    let forged = format!("{}0", &pair[..pair.len() - 1]);
    let forged = if forged == pair { format!("{}1", &pair[..pair.len() - 1]) } else { forged };
    let r = call_with(&client(), &server, "log-in", &[("login", "ann"), ("password", PASSWORD)], headers(&[("cookie", &forged)])).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "a forged cookie counts for nothing: {}", r.body);
    // …but the owner's browser gets in.
    let r = log_in(&owner, &server, "ann", PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(me(&owner, &server).await["username"], "ann");
}

#[tokio::test]
async fn forwarded_headers_count_only_from_a_trusted_proxy() {
    // Untrusted peer: spoofed X-Forwarded-For does not spread failures over many addresses.
    let server = Server::start(&["--login-failures-per-address", "3"]);
    for i in 0..3 {
        let r = call_with(&client(), &server, "log-in", &[("login", &format!("u{i}")), ("password", "nope nope")], headers(&[("x-forwarded-for", &format!("198.51.100.{i}"))])).await;
        assert_eq!(r.status, 401);
    }
    let r = call_with(&client(), &server, "log-in", &[("login", "u9"), ("password", "nope nope")], headers(&[("x-forwarded-for", "198.51.100.200")])).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    drop(server);

    // Trusted proxy: each forwarded client has its own budget, and the audit shows it.
    let (server, ann) = server_with_ann(&["--login-failures-per-address", "3", "--trusted-proxies", "127.0.0.1, ::1"]).await;
    for _ in 0..3 {
        let r = call_with(&client(), &server, "log-in", &[("login", "ann"), ("password", "nope nope")], headers(&[("x-forwarded-for", "203.0.113.5")])).await;
        assert_eq!(r.status, 401);
    }
    let r = call_with(&client(), &server, "log-in", &[("login", "bob"), ("password", "nope nope")], headers(&[("x-forwarded-for", "203.0.113.5")])).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "that client is limited: {}", r.body);
    let r = call_with(&client(), &server, "log-in", &[("login", "bob"), ("password", "nope nope")], headers(&[("x-forwarded-for", "1.2.3.4, 203.0.113.6")])).await;
    assert_eq!(r.status, 401, "another client behind the proxy is not: {}", r.body);
    let r = call(&ann, &server, "my-security-events", &[]).await;
    let clients: Vec<String> = r.json()["items"].as_array().unwrap().iter().filter(|e| e["action"] == "account.sign_in_failed").map(|e| e["client"].as_str().unwrap().to_string()).collect();
    assert_eq!(clients, vec!["203.0.113.5"; 3]);
}

#[tokio::test]
async fn only_the_configured_client_address_header_is_believed() {
    // X-Forwarded-For (the default): a Forwarded the client wrote itself, passed on by a proxy
    // that only appends to X-Forwarded-For, spreads nothing.
    let server = Server::start(&["--login-failures-per-address", "2", "--trusted-proxies", "127.0.0.1, ::1"]);
    for i in 0..2 {
        let forged = format!("for=198.51.100.{i}");
        let r = call_with(&client(), &server, "log-in", &[("login", &format!("u{i}")), ("password", "nope nope")], headers(&[("forwarded", &forged), ("x-forwarded-for", "203.0.113.5")])).await;
        assert_eq!(r.status, 401);
    }
    let r = call_with(&client(), &server, "log-in", &[("login", "u9"), ("password", "nope nope")], headers(&[("forwarded", "for=198.51.100.99"), ("x-forwarded-for", "203.0.113.5")])).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "the forged Forwarded was ignored: {}", r.body);
    drop(server);

    // X-Real-IP: the proxy sets it; X-Forwarded-For and Forwarded from the client are ignored.
    let server = Server::start(&["--login-failures-per-address", "2", "--trusted-proxies", "127.0.0.1, ::1", "--client-address-header", "X-Real-IP"]);
    for i in 0..2 {
        let forged = format!("198.51.100.{i}");
        let r = call_with(&client(), &server, "log-in", &[("login", &format!("u{i}")), ("password", "nope nope")], headers(&[("x-forwarded-for", &forged), ("forwarded", &format!("for={forged}")), ("x-real-ip", "203.0.113.7")])).await;
        assert_eq!(r.status, 401);
    }
    let r = call_with(&client(), &server, "log-in", &[("login", "u9"), ("password", "nope nope")], headers(&[("x-forwarded-for", "198.51.100.99"), ("x-real-ip", "203.0.113.7")])).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    let r = call_with(&client(), &server, "log-in", &[("login", "u9"), ("password", "nope nope")], headers(&[("x-real-ip", "203.0.113.8")])).await;
    assert_eq!(r.status, 401, "another client behind the proxy is not limited: {}", r.body);
}

#[tokio::test]
async fn session_pages_and_answers_are_not_cached() {
    let server = Server::start(&[]);
    let r = reqwest::get(server.url("/")).await.unwrap();
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert!(r.headers().get("strict-transport-security").is_none(), "plain http: no HSTS");
    let r = call(&client(), &server, "current-account", &[]).await;
    assert_eq!(r.headers["cache-control"], "no-store");
    let r = reqwest::get(server.url("/account")).await.unwrap();
    assert_eq!(r.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn idle_expiry_slides_with_activity_and_the_absolute_lifetime_caps_it() {
    let (server, ann) = server_with_ann(&["--session-idle", "3s", "--session-max", "9s"]).await;
    // Active for 6 s, twice the idle timeout: still signed in.
    for _ in 0..6 {
        server.advance(Duration::from_secs(1));
        assert_eq!(me(&ann, &server).await["username"], "ann");
    }
    // Idle for longer than the timeout: signed out.
    server.advance(Duration::from_millis(4500));
    assert!(me(&ann, &server).await.is_null(), "idle expiry");

    // However active, a session ends at its absolute lifetime: still in at 8 s, out at 10 s.
    let bob = client();
    signed_up(&bob, &server, "bob@example.com", "bob").await;
    for second in 1..=8 {
        server.advance(Duration::from_secs(1));
        assert_eq!(me(&bob, &server).await["username"], "bob", "signed in {second} s after login");
    }
    server.advance(Duration::from_secs(2));
    assert!(me(&bob, &server).await.is_null(), "past the absolute lifetime");
}

#[tokio::test]
async fn sessions_are_listed_and_a_revoked_one_is_refused_on_its_next_request() {
    let (server, laptop) = server_with_ann(&[]).await;
    let phone = client();
    let r = call_with(&phone, &server, "log-in", &[("login", "ann"), ("password", PASSWORD)], headers(&[("user-agent", "PhoneBrowser/1.0")])).await;
    assert_eq!(r.status, 200);
    let tablet = client();
    assert_eq!(log_in(&tablet, &server, "ann", PASSWORD).await.status, 200);
    let bob = client();
    signed_up(&bob, &server, "bob@example.com", "bob").await;

    let r = call(&laptop, &server, "my-sessions", &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let list = r.json();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(list[0]["current"], true, "this browser first");
    let phone_session = list.iter().find(|s| s["agent"] == "PhoneBrowser/1.0").expect("the phone's session");
    assert_eq!(phone_session["client"], "127.0.0.1");
    let handle = phone_session["handle"].as_str().unwrap().to_string();
    assert!(!handle.is_empty());

    // Refusals: signed out, someone else's account, nonsense.
    assert_eq!(call(&client(), &server, "revoke-session", &[("session", &handle)]).await.status, 401);
    let r = call(&bob, &server, "revoke-session", &[("session", &handle)]).await;
    assert_eq!(r.status, 404, "bob can't end ann's session: {}", r.body);
    let r = call(&laptop, &server, "revoke-session", &[("session", "not-hex")]).await;
    expect_field(&r, 422, "Session");
    assert_eq!(me(&phone, &server).await["username"], "ann");

    let r = call(&laptop, &server, "revoke-session", &[("session", &handle)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(me(&phone, &server).await.is_null(), "refused from its next request");
    assert_eq!(me(&tablet, &server).await["username"], "ann");
    let r = call(&laptop, &server, "revoke-other-sessions", &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(me(&tablet, &server).await.is_null());
    assert_eq!(me(&laptop, &server).await["username"], "ann", "this one stays");
    assert_eq!(me(&bob, &server).await["username"], "bob", "other accounts untouched");
    let r = call(&laptop, &server, "my-security-events", &[]).await;
    let actions: Vec<String> = strings(&r.json()["items"], "action");
    assert!(actions.iter().filter(|a| *a == "account.session_revoked").count() == 2, "{actions:?}");
    assert!(actions.contains(&"account.signed_in".to_string()), "{actions:?}");
}

#[tokio::test]
async fn changes_to_ones_own_account_are_budgeted_per_account_even_in_parallel() {
    let (server, ann) = server_with_ann(&["--account-changes-per-hour", "5"]).await;
    let bob = client();
    signed_up(&bob, &server, "bob@example.com", "bob").await;

    // Ann signs out everywhere five times with no other session: each only moves the epoch on,
    // is kept as a security event, and is counted.
    for _ in 0..5 {
        let r = call(&ann, &server, "revoke-other-sessions", &[]).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    // The sixth change of any kind is refused before anything is written.
    for (endpoint, args) in [
        ("revoke-other-sessions", vec![]),
        ("begin-second-factor", vec![]),
        ("apply-join", vec![("workspace", "acme")]),
        ("change-password", vec![("current_password", PASSWORD), ("new_password", NEW_PASSWORD), ("new_password_confirm", NEW_PASSWORD)]),
    ] {
        let r = call(&ann, &server, endpoint, &args).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{endpoint}: {}", r.body);
        assert!(r.body.contains("Too many requests to change your account"), "{endpoint}: {}", r.body);
        assert!(r.headers.get("retry-after").is_some(), "{endpoint}");
    }
    let events = call(&ann, &server, "my-security-events", &[]).await.json();
    let revoked = strings(&events["items"], "action").iter().filter(|a| *a == "account.session_revoked").count();
    assert_eq!(revoked, 5, "the refused changes left nothing");
    assert_eq!(log_in(&client(), &server, "ann", PASSWORD).await.status, 200, "the password is unchanged");
    assert!(call(&ann, &server, "my-second-factor", &[]).await.json()["setup"].is_null(), "no enrolment was begun");
    // Reading is not a change: the account page still answers.
    assert_eq!(call(&ann, &server, "my-sessions", &[]).await.status, 200);
    // Taking back is never refused: with the budget spent (say, from a stolen session), the
    // owner still signs the other session out.
    let thief = client();
    assert_eq!(log_in(&thief, &server, "ann", PASSWORD).await.status, 200);
    let r = call(&ann, &server, "revoke-other-sessions", &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(me(&thief, &server).await.is_null(), "signed out");

    // Bob's budget is his own, and twenty changes sent at once spend exactly it.
    let tries = (0..20).map(|_| async { call(&bob, &server, "begin-second-factor", &[]).await.status.as_u16() });
    let statuses: Vec<u16> = futures_join_all(tries).await;
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 5, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 15, "{statuses:?}");

    // The budget comes back with time on the server's clock: one change each twelve minutes.
    server.advance(Duration::from_secs(12 * 60 + 1));
    assert_eq!(call(&ann, &server, "revoke-other-sessions", &[]).await.status, 200);
    assert_eq!(call(&ann, &server, "revoke-other-sessions", &[]).await.status, 429);
}

/// The bodies of the messages in the outbox to `to`, newest first.
async fn mail_to(op: &reqwest::Client, server: &Server, to: &str) -> Vec<(String, String)> {
    let r = list_outbox(op, server, "", to).await;
    assert_eq!(r.status, 200, "{}", r.body);
    string_pairs(&r.json()["items"], "subject", "body")
}

#[tokio::test]
async fn email_change_waits_for_the_new_address_and_answers_alike_for_a_taken_one() {
    let (server, op) = server_with_operator(&[]).await;
    let ann = person(&server, "ann").await;
    person(&server, "bob").await;
    let r = call(&ann, &server, "change-email", &[("new_email", "ann.new@example.com"), ("password", "wrong password")]).await;
    expect_field(&r, 422, "Password");
    let r = call(&ann, &server, "change-email", &[("new_email", "nonsense"), ("password", PASSWORD)]).await;
    expect_field(&r, 422, "New email");
    assert_eq!(call(&client(), &server, "change-email", &[("new_email", "x@example.com"), ("password", PASSWORD)]).await.status, 401);

    // An address another account has is answered exactly like a free one; no link is made for
    // it, and its owner is told instead.
    let links_to_bob = mail_to(&op, &server, "bob@example.com").await.iter().filter(|(_, b)| b.contains("/verify-email/")).count();
    let taken = call(&ann, &server, "change-email", &[("new_email", "bob@example.com"), ("password", PASSWORD)]).await;
    let free = call(&ann, &server, "change-email", &[("new_email", "cat@example.com"), ("password", PASSWORD)]).await;
    assert_eq!((taken.status, free.status), (StatusCode::OK, StatusCode::OK), "{} / {}", taken.body, free.body);
    assert_eq!(taken.body.replace("bob@", "cat@"), free.body, "the answer names only the address typed");
    assert_eq!(taken.headers.get("location"), free.headers.get("location"));
    let to_bob = mail_to(&op, &server, "bob@example.com").await;
    assert_eq!(to_bob.iter().filter(|(_, b)| b.contains("/verify-email/")).count(), links_to_bob, "no link to a taken address");
    assert!(to_bob.iter().any(|(s, _)| s.contains("Someone tried to use your email address")), "{to_bob:?}");
    assert_eq!(me(&ann, &server).await["email"], "ann@example.com");

    let r = call(&ann, &server, "change-email", &[("new_email", "ann.new@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(me(&ann, &server).await["email"], "ann@example.com", "not before the link");
    let token = mailed_token(&op, &server, "ann.new@example.com", "/verify-email/").await;
    let r = call(&ann, &server, "verify-email", &[("token", &token)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let now = me(&ann, &server).await;
    assert_eq!((now["email"].as_str(), now["email_verified"].as_bool()), (Some("ann.new@example.com"), Some(true)));
    assert_eq!(log_in(&client(), &server, "ann.new@example.com", PASSWORD).await.status, 200);
    assert_eq!(log_in(&client(), &server, "ann@example.com", PASSWORD).await.status, 401);
    let r = list_outbox(&op, &server, "", "ann@example.com").await;
    assert!(r.body.contains("Your MPDP email address was changed"), "the old address is told");
}

#[tokio::test]
async fn a_failed_login_is_answered_and_recorded_alike_whether_or_not_the_account_exists() {
    let (server, op) = server_with_operator(&[]).await;
    person(&server, "ann").await;
    let known = log_in(&client(), &server, "ann", "not the password").await;
    let unknown = log_in(&client(), &server, "nobody", "not the password").await;
    assert_eq!((known.status, unknown.status), (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED));
    assert_eq!(known.body, unknown.body);
    // Both wrote the same durable record, so neither answer comes back sooner.
    let r = call(&op, &server, "platform-audit", &[("workspace", ""), ("action", "account.sign_in_failed"), ("q", "")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut targets: Vec<String> = strings(&r.json()["items"], "target");
    targets.sort();
    assert_eq!(targets, vec!["ann", "nobody"]);
}

#[tokio::test]
async fn a_spent_account_budget_does_not_tell_that_a_username_and_an_email_are_one_account() {
    let server = Server::start(&["--login-failures-per-account", "2"]);
    signed_up(&client(), &server, "ann@example.com", "ann").await;
    // Strangers spend ann's budget by email, then try her username with the right password; the
    // same is done for an email and a username that name nobody. The answers must match.
    let mut answers = Vec::new();
    for (first, second) in [("ann@example.com", "ann"), ("bob@example.com", "bob")] {
        for _ in 0..2 {
            assert_eq!(log_in(&client(), &server, first, "not the password").await.status, 401);
        }
        let mut seen = Vec::new();
        for _ in 0..3 {
            let r = log_in(&client(), &server, second, PASSWORD).await;
            seen.push((r.status.as_u16(), r.kind()));
        }
        answers.push(seen);
    }
    assert_eq!(answers[0], vec![(401, "invalid_credentials".into()), (401, "invalid_credentials".into()), (429, "rate_limited".into())]);
    assert_eq!(answers[0], answers[1], "ann's username is answered as a login naming nobody");
}

/// The `mpdp_device=…` cookie of a reply, if it sets one.
fn device_cookie(r: &Reply) -> Option<String> {
    r.headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("mpdp_device="))
}

/// Three strangers' wrong passwords for `login`: the account's budget (3) is spent.
async fn strangers_spend(server: &Server, login: &str) {
    for _ in 0..3 {
        assert_eq!(log_in(&client(), server, login, "not the password").await.status, 401);
    }
}

#[tokio::test]
async fn a_known_browser_counts_for_nothing_after_a_password_change_a_reset_or_signing_out_everywhere() {
    let (server, op) = server_with_operator(&["--login-failures-per-account", "3"]).await;

    // Password change: the browser that changed it stays known, the others do not.
    let old = client();
    signed_up(&old, &server, "ann@example.com", "ann").await;
    assert!(device_cookie(&log_in(&old, &server, "ann", PASSWORD).await).is_some());
    let laptop = client();
    assert_eq!(log_in(&laptop, &server, "ann", PASSWORD).await.status, 200);
    let r = change_password(&laptop, &server, PASSWORD, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(device_cookie(&r).is_some(), "this browser's cookie moves to the new epoch");
    call(&laptop, &server, "log-out", &[]).await;
    strangers_spend(&server, "ann").await;
    let r = log_in(&old, &server, "ann", NEW_PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "a cookie from before the change: {}", r.body);
    let r = log_in(&laptop, &server, "ann", NEW_PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Reset: every cookie issued before counts for nothing, the laptop's too.
    request_password_reset(&client(), &server, "ann@example.com").await;
    let token = mailed_token(&op, &server, "ann@example.com", "/reset-password/").await;
    let r = reset_password(&client(), &server, &token, "amber harbour 5", "amber harbour 5").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = log_in(&laptop, &server, "ann", "amber harbour 5").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "a cookie from before the reset: {}", r.body);

    // "Sign out everywhere": the same, but this browser stays signed in and known.
    let phone = client();
    signed_up(&phone, &server, "bob@example.com", "bob").await;
    let desk = client();
    assert_eq!(log_in(&desk, &server, "bob", PASSWORD).await.status, 200);
    let r = call(&desk, &server, "revoke-other-sessions", &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(me(&phone, &server).await.is_null());
    assert_eq!(me(&desk, &server).await["username"], "bob");
    call(&desk, &server, "log-out", &[]).await;
    strangers_spend(&server, "bob").await;
    let r = log_in(&phone, &server, "bob", PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "a cookie from before signing out everywhere: {}", r.body);
    assert_eq!(log_in(&desk, &server, "bob", PASSWORD).await.status, 200);
}

#[tokio::test]
async fn the_operator_marks_an_address_verified_only_without_smtp() {
    let (server, op) = server_with_operator(&[]).await;
    let ann = unverified_person(&server, "ann").await;
    let id = me(&ann, &server).await["id"].as_str().unwrap().to_string();
    assert_eq!(call(&ann, &server, "mark-account-verified", &[("account", &id)]).await.status, 403);
    assert_eq!(call(&client(), &server, "mark-account-verified", &[("account", &id)]).await.status, 401);
    let r = call(&op, &server, "mark-account-verified", &[("account", "not-a-uuid")]).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = call(&op, &server, "mark-account-verified", &[("account", &uuid_like())]).await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = call(&op, &server, "mark-account-verified", &[("account", &id)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(me(&ann, &server).await["email_verified"], true);
    let r = call(&op, &server, "mark-account-verified", &[("account", &id)]).await;
    assert_eq!(r.status, 409, "{}", r.body);
    let r = call(&op, &server, "platform-audit", &[("workspace", ""), ("action", "account.marked_verified"), ("q", "")]).await;
    assert_eq!(r.json()["total"], 1);
    let r = call(&op, &server, "list-accounts", &[("q", "ann")]).await;
    assert_eq!(r.json()["items"][0]["email_verified"], true);
    drop(server);

    let sink = SmtpSink::start();
    let (server, op) = server_with_operator(&["--smtp-url", &sink.url()]).await;
    let bob = unverified_person(&server, "bob").await;
    let id = me(&bob, &server).await["id"].as_str().unwrap().to_string();
    let r = call(&op, &server, "mark-account-verified", &[("account", &id)]).await;
    expect_field(&r, 409, "Verified");
    assert_eq!(me(&bob, &server).await["email_verified"], false);
}

fn uuid_like() -> String {
    "00000000-0000-4000-8000-000000000000".into()
}

#[tokio::test]
async fn a_sent_link_is_cut_out_of_the_outbox_and_reaches_its_owner() {
    let sink = SmtpSink::start();
    let (server, op) = server_with_operator(&["--smtp-url", &sink.url()]).await;
    let ann = client();
    signed_up(&ann, &server, "ann@example.com", "ann").await;
    let mail = sink.wait_for(1);
    // Long lines arrive quoted-printable: undo its soft line breaks.
    let raw = &mail[0].1.replace("=\r\n", "").replace("=\n", "");
    let i = raw.find("/verify-email/").expect("the link was delivered");
    let token: String = raw[i + "/verify-email/".len()..].chars().take_while(|c| c.is_ascii_hexdigit()).collect();
    assert_eq!(token.len(), 64);
    // The stored copy no longer holds it (wait for the worker to record the delivery).
    let mut stored = String::new();
    for _ in 0..100 {
        let r = list_outbox(&op, &server, "Sent", "ann@example.com").await;
        if let Some(m) = r.json()["items"].as_array().unwrap().first() {
            assert_eq!(m["redacted"], true);
            stored = m["body"].as_str().unwrap().to_string();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!stored.is_empty(), "the message was recorded as sent");
    assert!(!stored.contains(&token), "{stored}");
    assert!(stored.contains("[removed after sending]"), "{stored}");
    // The delivered link still works for its owner.
    let r = call(&ann, &server, "verify-email", &[("token", &token)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn two_factor_authentication_from_enrolment_to_login_replay_recovery_and_turning_off() {
    let (server, ann) = server_with_ann(&[]).await;
    // The server's clock runs `ahead` seconds ahead of this one once the test moves it.
    let mut ahead = 0u64;
    let step = |server: &Server, ahead: &mut u64| {
        server.advance(Duration::from_secs(30));
        *ahead += 30;
    };

    // Enrolment: a secret shown as a QR code and a key, confirmed with a typed code.
    assert_eq!(call(&client(), &server, "begin-second-factor", &[]).await.status, 401);
    let r = call(&ann, &server, "confirm-second-factor", &[("code", "123456")]).await;
    expect_field(&r, 422, "Code");
    assert_eq!(call(&ann, &server, "begin-second-factor", &[]).await.status, 200);
    let state = call(&ann, &server, "my-second-factor", &[]).await.json();
    let key = state["setup"]["key"].as_str().unwrap().to_string();
    assert!(state["setup"]["qr_svg"].as_str().unwrap().starts_with("<?xml"), "{state}");
    assert!(state["setup"]["uri"].as_str().unwrap().starts_with("otpauth://totp/MPDP:ann?"));
    assert_eq!(state["on_since"], serde_json::Value::Null);
    for bad in ["", "12345", "abcdef", "000000"] {
        let r = call(&ann, &server, "confirm-second-factor", &[("code", bad)]).await;
        expect_field(&r, 422, "Code");
    }
    let enrolled_at = unix_now() + ahead;
    let r = call(&ann, &server, "confirm-second-factor", &[("code", &authenticator_code(&key, enrolled_at))]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // A page another site opens (a link, or a window it opened just now) takes nothing.
    for site in ["cross-site", "same-site"] {
        let r = ann.get(server.url("/account")).header("sec-fetch-site", site).send().await.unwrap();
        assert_eq!(r.status(), 200, "{site}");
    }
    // Shown once: of five page loads at once, one gets the codes.
    let loads = (0..5).map(|_| {
        let (ann, server) = (&ann, &server);
        async move { call(ann, server, "my-second-factor", &[]).await.json() }
    });
    let states = futures_join_all(loads).await;
    let shown: Vec<&serde_json::Value> = states.iter().filter(|s| !s["fresh_codes"].as_array().unwrap().is_empty()).collect();
    assert_eq!(shown.len(), 1, "{states:?}");
    let state = shown[0].clone();
    let codes: Vec<String> = state["fresh_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect();
    assert_eq!(codes.len(), 10, "{state}");
    assert_eq!(state["recovery_left"], 10);
    assert!(state["on_since"].is_string());
    let again = call(&ann, &server, "my-second-factor", &[]).await.json();
    assert_eq!(again["fresh_codes"].as_array().unwrap().len(), 0, "recovery codes are shown once");
    assert_eq!(call(&ann, &server, "begin-second-factor", &[]).await.status, 409);
    let events = call(&ann, &server, "my-security-events", &[]).await.json();
    assert_eq!(events["items"][0]["action"], "account.second_factor_enabled", "{events}");

    // The password alone grants nothing now.
    let phone = client();
    let r = log_in(&phone, &server, "ann", PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(me(&phone, &server).await.is_null(), "the password step signs nobody in");
    assert_eq!(call(&phone, &server, "my-sessions", &[]).await.status, 401);
    assert_eq!(call(&phone, &server, "login-in-progress", &[]).await.json(), serde_json::json!({ "username": "ann", "code": true, "passkey": false }));
    // A wrong code, and the enrolment's code again (replay), are refused.
    let r = call(&phone, &server, "log-in-code", &[("code", "000000")]).await;
    expect_field(&r, 422, "Code");
    let r = call(&phone, &server, "log-in-code", &[("code", &authenticator_code(&key, enrolled_at))]).await;
    expect_field(&r, 422, "Code");
    assert!(r.body.contains("used already"), "{}", r.body);
    assert!(me(&phone, &server).await.is_null());
    // Fifty tries at once with the next code, from ten browsers: exactly one is let in.
    step(&server, &mut ahead);
    let code = authenticator_code(&key, unix_now() + ahead);
    let browsers: Vec<reqwest::Client> = (0..10).map(|_| client()).collect();
    for b in &browsers {
        assert_eq!(log_in(b, &server, "ann", PASSWORD).await.status, 200);
    }
    let tries = (0..50).map(|i| {
        let (b, server, code) = (&browsers[i % 10], &server, code.as_str());
        async move { call(b, server, "log-in-code", &[("code", code)]).await.status }
    });
    let answers: Vec<u16> = futures_join_all(tries).await.iter().map(|s| s.as_u16()).collect();
    assert_eq!(answers.iter().filter(|s| **s == 200).count(), 1, "{answers:?}");
    // The others: the code was used (422), or — after five wrong codes — refused unchecked (429).
    assert!(answers.iter().all(|s| [200, 401, 422, 429].contains(s)), "{answers:?}");
    assert!(answers.contains(&429), "fifty wrong codes are not all checked: {answers:?}");
    // One session was made (a browser's cookie jar may have lost it to a parallel refusal of
    // its own, which clears the cookie of a session it found empty).
    let sessions = call(&ann, &server, "my-sessions", &[]).await.json();
    let by_code = sessions.as_array().unwrap().iter().filter(|s| s["method"] == "Password and authenticator code").count();
    assert_eq!(by_code, 1, "{sessions}");

    // The account's budget of wrong codes is spent for strangers; the browser that got in is
    // now a known device of the account, with a budget of its own: signed out and back, the next
    // code lets it in before the window ends.
    let known = &browsers[answers.iter().position(|s| *s == 200).unwrap() % 10];
    call(known, &server, "log-out", &[]).await;
    step(&server, &mut ahead);
    let stranger = client();
    log_in(&stranger, &server, "ann", PASSWORD).await;
    let r = call(&stranger, &server, "log-in-code", &[("code", &authenticator_code(&key, unix_now() + ahead))]).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(log_in(known, &server, "ann", PASSWORD).await.status, 200);
    let r = call(known, &server, "log-in-code", &[("code", "000000")]).await;
    expect_field(&r, 422, "Code");
    let r = call(known, &server, "log-in-code", &[("code", &authenticator_code(&key, unix_now() + ahead))]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(me(known, &server).await["username"], "ann");

    // Once the window of those failures has passed, the next code signs the phone in, and its
    // session says how.
    server.advance(Duration::from_secs(15 * 60 + 1));
    ahead += 15 * 60 + 1;
    log_in(&phone, &server, "ann", PASSWORD).await;
    let r = call_with(&phone, &server, "log-in-code", &[("code", &authenticator_code(&key, unix_now() + ahead))], headers(&[("user-agent", "PhoneBrowser/2.0")])).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(me(&phone, &server).await["username"], "ann");
    assert_eq!(call(&phone, &server, "login-in-progress", &[]).await.json(), serde_json::Value::Null);
    let sessions = call(&phone, &server, "my-sessions", &[]).await.json();
    let mine = sessions.as_array().unwrap().iter().find(|s| s["current"] == true).unwrap().clone();
    assert_eq!(mine["method"], "Password and authenticator code", "{sessions}");
    assert!(sessions.as_array().unwrap().iter().any(|s| s["method"] == "Password"), "the first session, before two factors: {sessions}");

    // A recovery code works once, in any case.
    let tablet = client();
    log_in(&tablet, &server, "ann", PASSWORD).await;
    let r = call(&tablet, &server, "log-in-code", &[("code", &codes[0].to_uppercase())]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let sessions = call(&tablet, &server, "my-sessions", &[]).await.json();
    assert!(sessions.as_array().unwrap().iter().any(|s| s["current"] == true && s["method"] == "Password and recovery code"), "{sessions}");
    let other = client();
    log_in(&other, &server, "ann", PASSWORD).await;
    let r = call(&other, &server, "log-in-code", &[("code", &codes[0])]).await;
    expect_field(&r, 422, "Code");
    assert_eq!(call(&ann, &server, "my-second-factor", &[]).await.json()["recovery_left"], 9);

    // The code step waits five minutes for the code, no longer.
    server.advance(Duration::from_secs(5 * 60 + 1));
    ahead += 5 * 60 + 1;
    let r = call(&other, &server, "log-in-code", &[("code", &codes[1])]).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(me(&other, &server).await.is_null());
    // Without a password step first, a code is refused too.
    assert_eq!(call(&client(), &server, "log-in-code", &[("code", &codes[1])]).await.status, 401);

    // Turning it off needs a code; then the password alone signs in again.
    let r = call(&ann, &server, "disable-second-factor", &[("code", "999999")]).await;
    expect_field(&r, 422, "Code");
    let r = call(&ann, &server, "disable-second-factor", &[("code", &codes[1])]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(call(&ann, &server, "disable-second-factor", &[("code", &codes[2])]).await.status, 409);
    let later = client();
    log_in(&later, &server, "ann", PASSWORD).await;
    assert_eq!(me(&later, &server).await["username"], "ann");
    let events = call(&ann, &server, "my-security-events", &[]).await.json();
    let actions = strings(&events["items"], "action");
    for a in ["account.second_factor_disabled", "account.second_factor_failed"] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
    let _ = ahead;
}

#[tokio::test]
async fn the_operator_resets_a_second_factor_and_the_person_is_told() {
    let (server, op) = server_with_operator(&[]).await;
    let ann = person(&server, "ann").await;
    turn_on_second_factor(&ann, &server).await;
    let id = me(&ann, &server).await["id"].as_str().unwrap().to_string();
    let list = call(&op, &server, "list-accounts", &[("q", "ann")]).await.json();
    assert_eq!(list["items"][0]["second_factor"], true, "{list}");

    // Only the operator may; an account without a second factor, or none, is refused.
    assert_eq!(call(&ann, &server, "reset-second-factor", &[("account", &id)]).await.status, 403);
    let r = call(&op, &server, "reset-second-factor", &[("account", &id)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(call(&op, &server, "reset-second-factor", &[("account", &id)]).await.status, 409);
    let r = call(&op, &server, "reset-second-factor", &[("account", "not-an-id")]).await;
    assert_eq!(r.status, 400, "{}", r.body);

    let phone = client();
    log_in(&phone, &server, "ann", PASSWORD).await;
    assert_eq!(me(&phone, &server).await["username"], "ann", "the password alone again");
    let mail = list_outbox(&op, &server, "", "ann@example.com").await.json();
    assert!(strings(&mail["items"], "subject").iter().any(|s| s == "Two-factor authentication was turned off"), "{mail}");
    let audit = call(&op, &server, "platform-audit", &[("workspace", ""), ("action", "account.second_factor_reset"), ("q", "")]).await.json();
    assert_eq!(audit["items"].as_array().unwrap().len(), 1, "{audit}");
}
