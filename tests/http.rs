//! The server over HTTP: accounts, sessions, refusals, operations.

mod common;

use common::*;
use reqwest::StatusCode;
use std::time::Duration;

#[tokio::test]
async fn healthz_answers_when_the_database_is_readable() {
    let server = Server::start(&[]);
    let r = reqwest::get(server.url("/healthz")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "ok\n");
}

#[tokio::test]
async fn sign_up_log_in_protected_call_log_out_then_refused() {
    let server = Server::start(&[]);
    let c = client();

    // Signed out: the protected call is refused and nobody is signed in.
    let r = change_password(&c, &server, PASSWORD, "x", "x").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    assert_eq!(r.kind(), "unauthenticated");
    assert!(me(&c, &server).await.is_null());

    let r = sign_up(&c, &server, "ann@example.com", "ann").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.headers.get("location").unwrap(), "/sign-up?sent=ann@example.com");
    assert!(me(&c, &server).await.is_null(), "sign-up signs nobody in");
    let r = log_in(&c, &server, "ann", PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let cookie = session_cookie(&r.headers).expect("a session cookie");
    assert!(cookie.starts_with("mpdp_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain http must not set Secure: {cookie}"
    );
    assert_eq!(me(&c, &server).await["username"], "ann");

    // Log out, then log in again in a fresh client.
    let r = call(&c, &server, "log-out", &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(me(&c, &server).await.is_null());

    let c2 = client();
    let r = log_in(&c2, &server, "ANN@example.com", PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.headers["location"], "/");
    // With a return target: there, if it is a path of this console; home otherwise.
    for (next, to) in [("/account", "/account"), ("//evil.example", "/"), ("https://evil.example/", "/"), ("javascript:alert(1)", "/")] {
        let r = call(&client(), &server, "log-in", &[("login", "ann"), ("password", PASSWORD), ("next", next)]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.headers["location"], to, "{next}");
    }
    assert_eq!(me(&c2, &server).await["email"], "ann@example.com");

    // The session cookie reaches a protected server function.
    let r = change_password(&c2, &server, "wrong one!", "violet canyon 88", "violet canyon 88").await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.field().as_deref(), Some("Current password"));

    let r = call(&c2, &server, "log-out", &[]).await;
    assert_eq!(r.status, 200);
    let r = change_password(&c2, &server, PASSWORD, "violet canyon 88", "violet canyon 88").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
}

#[tokio::test]
async fn the_session_id_changes_at_login_and_the_old_one_is_dead_after_logout() {
    let (server, c) = server_with_ann(&[]).await;
    call(&c, &server, "log-out", &[]).await;

    // A visitor holding a session id from before login (fixation) ends up with a different one:
    // give the visitor a session first (a failed login stores the attempt in no session, so use
    // a first login), then log in again with that cookie and compare.
    let first = log_in(&c, &server, "ann", PASSWORD).await;
    let before = session_pair(&first.headers);
    assert!(before.len() > "mpdp_session=".len(), "{before}");
    let r = log_in(&c, &server, "ann", PASSWORD).await;
    let id = session_pair(&r.headers);
    assert_ne!(id, before, "the id changes at login");
    // The id held before this login no longer signs anyone in.
    assert_eq!(account_by_cookie(&server, &before).await.1, "null");

    // Replaying that cookie after logout does not sign anyone in.
    call(&c, &server, "log-out", &[]).await;
    assert_eq!(account_by_cookie(&server, &id).await, (StatusCode::OK, "null".to_string()));
}

#[tokio::test]
async fn unknown_user_and_wrong_password_look_the_same() {
    let (server, _ann) = server_with_ann(&[]).await;
    let wrong = log_in(&client(), &server, "ann", "not the password").await;
    let unknown = log_in(&client(), &server, "nobody@example.com", "not the password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!((wrong.status, &wrong.body), (unknown.status, &unknown.body));
    assert!(
        wrong.body.contains("do not match an account"),
        "{}",
        wrong.body
    );
}

#[tokio::test]
async fn failed_logins_are_rate_limited_and_the_window_reopens() {
    let server = Server::start(&["--login-failures-per-account", "3", "--login-window-secs", "900"]);
    let c = client();
    signed_up(&c, &server, "ann@example.com", "ann").await;
    for _ in 0..3 {
        let r = log_in(&client(), &server, "ann", "not the password").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    // Locked: even the right password is refused, with a clear message and Retry-After.
    let r = log_in(&client(), &server, "ann", PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("Too many failed logins for this account"),
        "{}",
        r.body
    );
    assert!(r.headers.get("retry-after").is_some());
    // Another account is unaffected.
    let other = client();
    signed_up(&other, &server, "bob@example.com", "bob").await;
    call(&other, &server, "log-out", &[]).await;
    assert_eq!(log_in(&other, &server, "bob", PASSWORD).await.status, 200);

    // Still locked near the window's end; open once it has passed.
    server.advance(Duration::from_secs(890));
    assert_eq!(log_in(&client(), &server, "ann", PASSWORD).await.status, StatusCode::TOO_MANY_REQUESTS);
    server.advance(Duration::from_secs(11));
    let later = client();
    let r = log_in(&later, &server, "ann", PASSWORD).await;
    assert_eq!(
        r.status, 200,
        "the real user gets in after the window: {}",
        r.body
    );
}

#[tokio::test]
async fn failed_logins_are_rate_limited_per_address() {
    let server = Server::start(&["--login-failures-per-address", "4"]);
    for i in 0..4 {
        let r = log_in(&client(), &server, &format!("user{i}"), "not the password").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = log_in(&client(), &server, "someone-else", "not the password").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.body.contains("network address"), "{}", r.body);
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let (server, c) = server_with_ann(&[]).await;
    let change = [
        ("current_password", PASSWORD),
        ("new_password", "violet canyon 88"),
        ("new_password_confirm", "violet canyon 88"),
    ];

    // From another site, by its Origin or by Sec-Fetch-Site: refused, and so is a cross-site
    // login attempt (login CSRF).
    let stranger = client();
    let log_in_form = [("login", "ann"), ("password", PASSWORD)];
    let cross_site: [(&reqwest::Client, &str, &[(&str, &str)], (&'static str, &str), Option<&str>); 4] = [
        (&c, "change-password", &change, ("origin", "https://evil.example"), Some("another site")),
        (&c, "change-password", &change, ("sec-fetch-site", "cross-site"), None),
        (&c, "log-out", &[], ("sec-fetch-site", "same-site"), None),
        (&stranger, "log-in", &log_in_form, ("origin", "null"), None),
    ];
    for (who, endpoint, form, header, says) in cross_site {
        let r = call_with(who, &server, endpoint, form, headers(&[header])).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{endpoint} with {header:?}: {}", r.body);
        if let Some(says) = says {
            assert!(r.body.contains(says), "{}", r.body);
        }
    }
    // Nothing changed: the old password still works.
    assert_eq!(
        log_in(&client(), &server, "ann", PASSWORD).await.status,
        200
    );

    // The same request from the console itself goes through.
    let own = server.base.clone();
    let r = call_with(
        &c,
        &server,
        "change-password",
        &change,
        headers(&[("origin", &own), ("sec-fetch-site", "same-origin")]),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn sessions_survive_a_restart() {
    let dir = DataDir::new();
    let (server, c) = server_with_ann_in(&dir, &[]).await;
    let cookie = {
        let r = call(&c, &server, "log-out", &[]).await;
        assert_eq!(r.status, 200);
        session_pair(&log_in(&c, &server, "ann", PASSWORD).await.headers)
    };
    let (ok, log) = server.stop();
    assert!(ok, "clean exit: {log}");
    assert!(log.contains("stopped cleanly"), "{log}");

    let server = Server::start_in(&dir, &[]);
    let (_, body) = account_by_cookie(&server, &cookie).await;
    assert_eq!(serde_json::from_str::<serde_json::Value>(&body).unwrap()["username"], "ann");
    assert!(
        !server.log().contains("repairing"),
        "a clean shutdown needs no repair: {}",
        server.log()
    );
}

#[tokio::test]
async fn a_second_server_on_the_same_data_directory_is_refused() {
    let dir = DataDir::new();
    let _first = Server::start_in(&dir, &[]);
    let out = std::process::Command::new(bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("in use by another running mpdp"), "{err}");
}

#[tokio::test]
async fn password_change_signs_out_other_sessions_and_the_new_password_works() {
    let (server, laptop) = server_with_ann(&[]).await;
    let phone = client();
    assert_eq!(log_in(&phone, &server, "ann", PASSWORD).await.status, 200);

    let r = change_password(&laptop, &server, PASSWORD, "violet canyon 88", "violet canyon 88").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        me(&laptop, &server).await["username"],
        "ann",
        "this session stays signed in"
    );
    assert!(
        me(&phone, &server).await.is_null(),
        "the other session is signed out"
    );
    assert_eq!(
        log_in(&client(), &server, "ann", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        log_in(&client(), &server, "ann", "violet canyon 88")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn bad_sign_ups_name_the_field_and_change_nothing() {
    let server = Server::start(&[]);
    let c = client();
    assert_eq!(
        sign_up(&c, &server, "ann@example.com", "ann").await.status,
        200
    );
    let long = "a".repeat(300);
    let cases: Vec<([(&str, &str); 4], u16, &str)> = vec![
        (sign_up_values("bob@example.com", "Ann", PASSWORD, PASSWORD), 409, "Username"),
        (sign_up_values("bob-at-example.com", "bob", PASSWORD, PASSWORD), 422, "Email"),
        (sign_up_values("bob@example.com", "b", PASSWORD, PASSWORD), 422, "Username"),
        (sign_up_values("bob@example.com", "bob", "password1", "password1"), 422, "Password"),
        (sign_up_values("bob@example.com", "bob", "short", "short"), 422, "Password"),
        (sign_up_values("bob@example.com", "bob", PASSWORD, "different 123"), 422, "Confirm password"),
        (sign_up_values(&long, "bob", PASSWORD, PASSWORD), 422, "Email"),
        (sign_up_values("bob@example.com", &long, PASSWORD, PASSWORD), 422, "Username"),
    ];
    for (form, status, field) in cases {
        let fresh = client();
        let r = call(&fresh, &server, "sign-up", &form).await;
        assert_eq!(r.status.as_u16(), status, "{form:?}: {}", r.body);
        assert_eq!(r.field().as_deref(), Some(field), "{form:?}: {}", r.body);
        assert!(
            me(&fresh, &server).await.is_null(),
            "a refused sign-up signs nobody in"
        );
    }
    // None of those created an account: bob can still sign up with every value.
    assert_eq!(
        sign_up(&client(), &server, "bob@example.com", "bob")
            .await
            .status,
        200
    );

    // A registered email gets the same answer as a new one (see tests/accounts.rs), and no
    // second account: the email still logs in as ann.
    let r = call(&client(), &server, "sign-up", &[("email", "ANN@example.com"), ("username", "ann2"), ("password", PASSWORD), ("password_confirm", PASSWORD)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = log_in(&client(), &server, "ann2", PASSWORD).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "no account ann2 was made: {}", r.body);

    // A missing field is a 400 that says what is missing.
    let r = call(
        &client(),
        &server,
        "sign-up",
        &[("email", "carol@example.com")],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let server = Server::start(&[]);
    let huge = "x".repeat(200 * 1024);
    let r = call(
        &client(),
        &server,
        "log-in",
        &[("login", &huge), ("password", "x")],
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
}

#[tokio::test]
async fn a_garbage_session_cookie_is_treated_as_signed_out() {
    let server = Server::start(&[]);
    for cookie in [
        "mpdp_session=garbage",
        "mpdp_session=%%%",
        "mpdp_session=AAAAAAAAAAAAAAAAAAAAAA",
    ] {
        assert_eq!(account_by_cookie(&server, cookie).await, (StatusCode::OK, "null".to_string()), "{cookie}");
        let page = client()
            .get(server.url("/account"))
            .header("accept", "text/html")
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 302, "{cookie}");
        assert_eq!(page.headers()["location"], "/login?next=%2Faccount");
    }
}

#[tokio::test]
async fn plain_form_posts_work_without_javascript() {
    let server = Server::start(&[]);
    let c = client();
    let home = server.url("/");
    let r = c
        .post(server.url("/api/sign-up"))
        .header("accept", "text/html")
        .header("referer", server.url("/sign-up"))
        .form(&[
            ("email", "ann@example.com"),
            ("username", "ann"),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(r.headers()["location"], "/sign-up?sent=ann@example.com");
    let page = c.get(server.url("/sign-up?sent=ann@example.com")).header("sec-fetch-site", "same-origin").send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Check your inbox"), "{page}");
    // What a form's answer says is not said by a link from outside.
    for said in ["sent=mallory%40example.com", "asked=Acme%20says%20hi", "upload_error=Paste+your+key+at+evil.example", "uploaded=9.9.9"] {
        let r = c.get(server.url(&format!("/sign-up?{said}&next=%2Fx"))).header("sec-fetch-site", "cross-site").send().await.unwrap();
        assert_eq!((r.status(), r.headers()["location"].to_str().unwrap()), (StatusCode::SEE_OTHER, "/sign-up?next=%2Fx"), "{said}");
    }
    let r = c
        .post(server.url("/api/log-in"))
        .header("accept", "text/html")
        .header("referer", &home)
        .form(&[("login", "ann"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(r.headers()["location"], "/");
    let page = page_text(&c, &home).await;
    assert!(page.contains("Welcome, ann"), "{page}");

    // An error comes back to the form's page, which shows it.
    let r = client()
        .post(server.url("/api/log-in"))
        .header("accept", "text/html")
        .header("referer", &home)
        .form(&[("login", "ann"), ("password", "not the password")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let back = r.headers()["location"].to_str().unwrap().to_string();
    assert!(back.starts_with(&home) && back.contains("__err="), "{back}");
    // The browser follows the redirect from the form's page, and the page shows the error.
    let page = client().get(&back).header("sec-fetch-site", "same-origin").send().await.unwrap().text().await.unwrap();
    assert!(page.contains("do not match an account"), "{page}");
    // The same link from outside the console (a mail, another site, the address bar) says nothing
    // the server did not: the person is sent to the page without it.
    for headers in [vec![("sec-fetch-site", "cross-site")], vec![("sec-fetch-site", "none")], vec![("referer", "https://evil.example/")], vec![]] {
        let mut request = client().get(format!("{back}&next=%2Faccount"));
        for (k, v) in &headers {
            request = request.header(*k, *v);
        }
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{headers:?}");
        assert_eq!(r.headers()["location"], "/?next=%2Faccount", "{headers:?}");
    }
    let r = client().get(&back).header("referer", &home).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "a browser that sends no Sec-Fetch-Site names the form's page");
    // A path that would name another host is not followed.
    let r = client().get(server.url("//evil.example/x?__err=AA")).send().await.unwrap();
    assert_eq!((r.status(), r.headers()["location"].to_str().unwrap()), (StatusCode::SEE_OTHER, "/"));
}

#[tokio::test]
async fn pages_render_and_unknown_paths_get_the_404_page() {
    let server = Server::start(&[]);
    let r = reqwest::get(server.url("/")).await.unwrap();
    assert_eq!(r.status(), 200);
    let headers = r.headers().clone();
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let policy = headers["content-security-policy"].to_str().unwrap().to_string();
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    let page = r.text().await.unwrap();
    assert!(page.contains("Log in to MPDP"));
    // The page runs only the inline scripts it names: each carries this response's nonce.
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    let nonce = policy.split("'nonce-").nth(1).and_then(|r| r.split('\'').next()).expect(&policy).to_string();
    assert!(nonce.len() >= 16, "{policy}");
    let scripts = page.matches("<script").count();
    assert!(scripts >= 1 && page.matches(&format!(r#" nonce="{nonce}""#)).count() >= scripts, "{scripts} scripts: {page}");
    let again = reqwest::get(server.url("/")).await.unwrap();
    assert!(!again.headers()["content-security-policy"].to_str().unwrap().contains(&nonce), "a new nonce for each response");
    let other = reqwest::get(server.url("/healthz")).await.unwrap();
    let other = other.headers()["content-security-policy"].to_str().unwrap();
    assert!(other.contains("script-src 'self' 'wasm-unsafe-eval'") && !other.contains("nonce"), "{other}");
    assert!(page.contains(r#"<label for="field-login">Email or username</label>"#));
    let r = reqwest::get(server.url("/sign-up")).await.unwrap();
    assert!(r.text().await.unwrap().contains("Create your MPDP account"));
    // A signed-out visit to a page for signed-in people goes to log in, and comes back after.
    let r = client().get(server.url("/account")).header("accept", "text/html").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(r.headers()["location"], "/login?next=%2Faccount");
    let r = client().get(server.url("/w/Acme/members?page=2")).header("accept", "text/html").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(r.headers()["location"], "/login?next=%2Fw%2FAcme%2Fmembers%3Fpage%3D2");
    let r = reqwest::get(server.url("/login?next=%2Faccount")).await.unwrap();
    let login = r.text().await.unwrap();
    assert!(login.contains(r#"name="next" value="/account""#), "{login}");
    // A foreign return target is dropped from the form.
    let r = reqwest::get(server.url("/login?next=%2F%2Fevil.example")).await.unwrap();
    let login = r.text().await.unwrap();
    assert!(!login.contains("evil.example"), "{login}");
    let r = reqwest::get(server.url("/no/such/page")).await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("Page not found"));
    let r = reqwest::get(server.url("/pkg/not-this-build/mpdp.js"))
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn https_public_url_makes_cookies_secure_and_host_bound() {
    let server = Server::start(&["--public-url", "https://console.example.com"]);
    let r = sign_up(&client(), &server, "ann@example.com", "ann").await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Logging in from the public origin.
    let log_in_there = || async {
        let form = [("login", "ann"), ("password", PASSWORD)];
        call_with(&client(), &server, "log-in", &form, headers(&[("origin", "https://console.example.com")])).await
    };
    let r = log_in_there().await;
    let cookie = session_cookie(&r.headers).expect("a session cookie");
    assert!(cookie.starts_with("__Host-mpdp_session="), "{cookie}");
    assert!(cookie.contains("Secure"), "{cookie}");
    let device: Vec<_> = r.headers.get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).filter(|c| c.contains("mpdp_device")).collect();
    assert!(device[0].starts_with("__Host-mpdp_device=") && device[0].contains("Secure"), "{device:?}");
    // Over https, browsers are told to keep to https.
    assert!(r.headers["strict-transport-security"].to_str().unwrap().contains("max-age="));
    // The public origin is accepted as this site's.
    let r = log_in_there().await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn the_operator_area_is_for_operators_only() {
    let dir = DataDir::new();
    let out = create_operator(&dir, "op@example.com", OPERATOR.0, OPERATOR.1);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Created platform operator operator"));
    // A second operator with the same email is refused and says why.
    let again = create_operator(&dir, "OP@example.com", "operator2", "steady lantern 7");
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("Email: is already registered"), "{err}");
    let weak = create_operator(&dir, "op2@example.com", "operator2", "password");
    assert!(String::from_utf8_lossy(&weak.stderr).contains("Password"));

    let server = Server::start_in(&dir, &[]);
    // The operator command refuses to run beside the server.
    let busy = create_operator(&dir, "op3@example.com", "operator3", "steady lantern 7");
    assert!(!busy.status.success());
    let err = String::from_utf8_lossy(&busy.stderr);
    assert!(err.contains("in use"), "{err}");

    let signed_out = call(&client(), &server, "operator-overview", &[]).await;
    assert_eq!(signed_out.status, StatusCode::UNAUTHORIZED);
    let user = client();
    signed_up(&user, &server, "ann@example.com", "ann").await;
    let r = call(&user, &server, "operator-overview", &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(me(&user, &server).await["is_operator"], false);

    let op = operator(&server).await;
    let r = call(&op, &server, "operator-overview", &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["accounts"], 2);
    assert_eq!(r.json()["operators"], 1);
    let page = page_text(&op, &server.url("/")).await;
    assert!(
        page.contains(r#"href="/operator""#),
        "operators see the Operator area in the navigation"
    );
    let page = page_text(&user, &server.url("/")).await;
    assert!(!page.contains(r#"href="/operator""#));
}

#[test]
fn bad_command_line_values_are_refused_with_the_flag_named() {
    let out = std::process::Command::new(bin())
        .args(["serve", "--public-url", "ftp://x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--public-url") && err.contains("must start with http:// or https://"),
        "{err}"
    );
    let out = std::process::Command::new(bin())
        .args(["serve", "--listen", "nowhere"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--listen"));
    let out = std::process::Command::new(bin())
        .args(["serve", "--login-window-secs", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = std::process::Command::new(bin())
        .args(["serve"])
        .env("MPDP_LISTEN", "still nowhere")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--listen"));
    for (flag, value, says) in [
        ("--trusted-proxies", "10.0.0.0/8, proxy.local", "proxy.local"),
        ("--client-address-header", "x real ip", "letters, digits and -"),
        ("--session-idle", "0s", "between 1s and 366d"),
        ("--session-max", "forever", "duration like"),
        ("--account-requests-per-address", "0", "--account-requests-per-address"),
    ] {
        let out = std::process::Command::new(bin())
            .args(["serve", flag, value])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(flag) && err.contains(says), "{flag} {value}: {err}");
    }
    let dir = DataDir::new();
    let out = create_operator(&dir, "not-an-email", "operator", "steady lantern 7");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--email"));
}

/// The help of a flag is its own: each of `serve`'s flags has a line of its own text, and a
/// command that never creates the data directory does not say it does.
#[test]
fn help_says_what_each_flag_is() {
    let help = |args: &[&str]| {
        let out = std::process::Command::new(bin()).args(args).output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let serve = help(&["serve", "--help"]);
    let text_of = |flag: &str| {
        let mut lines = serve.lines().skip_while(|l| l.split_whitespace().next() != Some(flag));
        lines.next().unwrap_or_else(|| panic!("{flag} is not in the help"));
        lines.next().unwrap_or_default().trim().to_string()
    };
    assert!(text_of("--max-bundle-mib").starts_with("The largest bundle an upload may carry"));
    assert!(text_of("--mail-from").starts_with("Sender address of outgoing mail"));
    let mut seen = std::collections::HashSet::new();
    for flag in serve.lines().filter_map(|l| l.trim_start().strip_prefix("--")).map(|l| l.split_whitespace().next().unwrap().to_string()) {
        let text = text_of(&format!("--{flag}"));
        assert!(!text.is_empty() && !text.starts_with('-'), "--{flag} has no text of its own");
        assert!(seen.insert(text.clone()) || flag == "help", "--{flag} repeats another flag's text: {text}");
    }
    for command in ["check", "compact", "backup"] {
        assert!(!help(&[command, "--help"]).contains("created if missing"), "{command}");
    }
}

/// Sends `head` and then `body` on a connection of its own, the body's last part after the
/// server's clock has moved on by `wait`; what the server answers before closing.
async fn trickled(server: &Server, body: &str, wait: Duration) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = server.base.trim_start_matches("http://").trim_end_matches('/').to_string();
    let mut s = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /api/log-in HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let (first, last) = body.split_at(body.len() - 1);
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(first.as_bytes()).await.unwrap();
    s.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.advance(wait);
    s.write_all(last.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut answer)).await.expect("the server answers and closes").unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

/// A body that keeps coming a little at a time, each part within the idle timeout, ends once
/// the deadline its length sets has passed: a client cannot hold a connection by trickling.
#[tokio::test]
async fn a_body_trickled_past_its_deadline_ends_the_request() {
    let server = Server::start(&[]);
    let body = "login=ann&password=x";
    let in_time = trickled(&server, body, Duration::from_secs(20)).await;
    assert!(in_time.starts_with("HTTP/1.1 401"), "a body within its deadline is read: {in_time}");
    let too_slow = trickled(&server, body, Duration::from_secs(31)).await;
    assert!(too_slow.starts_with("HTTP/1.1 4") && !too_slow.starts_with("HTTP/1.1 401"), "{too_slow}");
    assert!(server.log().contains("a request body came too slowly"), "{}", server.log());
}
