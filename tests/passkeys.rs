//! Passkeys over HTTP, the person's authenticator played by a software token
//! (`webauthn-authenticator-rs`): adding one, the second step of a login with it, and every
//! refusal — another origin, another challenge, an answer sent twice (and twenty times at once),
//! a signature counter that goes backwards — each changing nothing. The console runs at
//! `http://localhost:PORT`, since a passkey belongs to a domain name, never to an IP address.
//! Signing in with a passkey alone (a discoverable credential) is tested in Chromium's virtual
//! authenticator (`end2end/tests/passkeys.spec.ts`).

mod common;

use common::*;
use reqwest::Url;
use webauthn_authenticator_rs::softtoken::SoftToken;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_rs_proto::{CreationChallengeResponse, RequestChallengeResponse};

/// A console whose public URL is `http://localhost:PORT` (its origin, returned beside it).
async fn localhost_server(dir: &DataDir) -> (Server, reqwest::Client, Url) {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let public = format!("http://localhost:{port}");
    let (server, op) = server_with_operator_in(dir, &["--listen", &listen, "--public-url", &public]).await;
    (server, op, Url::parse(&public).unwrap())
}

fn token() -> SoftToken {
    // The software token can't verify a person (no PIN or biometrics): it says it did.
    SoftToken::new(true).unwrap().0
}

/// The browser's part of adding a passkey: the options the server gave, answered by `t` as if
/// at `at`. (The software token can't keep passkeys itself, so the request for one it keeps is
/// relaxed, as a browser would with such an authenticator.)
async fn registration_answer(c: &reqwest::Client, server: &Server, t: &mut SoftToken, name: &str, at: &Url) -> String {
    let r = call(c, server, "begin-passkey", &[("name", name)]).await;
    expect(&r, 200, "begin adding a passkey");
    let mut options: serde_json::Value = serde_json::from_str(r.json().as_str().unwrap()).unwrap();
    assert_eq!(options.pointer("/publicKey/authenticatorSelection/residentKey").unwrap(), "required");
    let sel = options.pointer_mut("/publicKey/authenticatorSelection").unwrap().as_object_mut().unwrap();
    sel.insert("residentKey".into(), "discouraged".into());
    sel.insert("requireResidentKey".into(), false.into());
    let options: CreationChallengeResponse = serde_json::from_value(options).unwrap();
    serde_json::to_string(&t.do_registration(at.clone(), options).unwrap()).unwrap()
}

/// The browser's part of the second step with a passkey: `t` answers the server's options as if
/// at `at`.
async fn assertion(c: &reqwest::Client, server: &Server, t: &mut SoftToken, at: &Url) -> String {
    let r = call(c, server, "begin-passkey-second-step", &[]).await;
    expect(&r, 200, "begin the passkey step");
    let options: RequestChallengeResponse = serde_json::from_str(r.json().as_str().unwrap()).unwrap();
    serde_json::to_string(&t.do_authentication(at.clone(), options).unwrap()).unwrap()
}

/// A new browser where ann's password was given: her login waits for its second step.
async fn after_password(server: &Server) -> reqwest::Client {
    let c = client();
    let r = log_in(&c, server, "ann", PASSWORD).await;
    expect(&r, 200, "ann's password");
    assert!(me(&c, server).await.is_null(), "the password alone signs nobody in");
    c
}

async fn finish_step(c: &reqwest::Client, server: &Server, answer: &str) -> Reply {
    call(c, server, "finish-passkey-second-step", &[("credential", answer), ("next", "/account")]).await
}

fn passkey_refusal(r: &Reply, rule: &str) {
    expect_field(r, 422, "Passkey");
    assert!(r.json()["message"].as_str().unwrap_or_default().contains(rule) || r.body.contains(rule), "{rule}: {}", r.body);
}

async fn passkey_count(c: &reqwest::Client, server: &Server) -> usize {
    let r = call(c, server, "my-passkeys", &[]).await;
    expect(&r, 200, "my passkeys");
    r.json().as_array().unwrap().len()
}

#[tokio::test]
async fn passkeys_are_added_used_after_the_password_and_refused_when_anything_is_off() {
    let dir = DataDir::new();
    let (server, op, here) = localhost_server(&dir).await;
    let ann = person(&server, "ann").await;
    // Another origin of the same host (a page served on another port).
    let elsewhere = Url::parse("http://localhost:1/").unwrap();
    let mut t = token();

    // Names are checked before anything is asked of the browser.
    expect_field(&call(&ann, &server, "begin-passkey", &[("name", " ")]).await, 422, "Passkey name");

    // A passkey made for another site is refused, and none is added.
    let answer = registration_answer(&ann, &server, &mut t, "Phishing", &elsewhere).await;
    passkey_refusal(&call(&ann, &server, "finish-passkey", &[("credential", &answer)]).await, "origin");
    // An answer that is not a credential at all.
    let _ = registration_answer(&ann, &server, &mut t, "Garbled", &here).await;
    passkey_refusal(&call(&ann, &server, "finish-passkey", &[("credential", "{\"id\":1}")]).await, "could not be read");
    assert_eq!(passkey_count(&ann, &server).await, 0);

    // Added; the same answer sent again is refused (its ceremony was taken out).
    let answer = registration_answer(&ann, &server, &mut t, "Laptop", &here).await;
    let r = call(&ann, &server, "finish-passkey", &[("credential", &answer)]).await;
    expect(&r, 200, "add a passkey");
    assert_eq!(r.json()["name"], "Laptop");
    passkey_refusal(&call(&ann, &server, "finish-passkey", &[("credential", &answer)]).await, "answered already");
    assert_eq!(passkey_count(&ann, &server).await, 1);
    assert_eq!(me(&ann, &server).await["second_factor"], true, "a passkey is a second factor");

    // From now on her password asks for the second step, which a passkey answers.
    let b = after_password(&server).await;
    let step = call(&b, &server, "login-in-progress", &[]).await;
    assert_eq!(step.json(), serde_json::json!({ "username": "ann", "code": false, "passkey": true }));
    let answer = assertion(&b, &server, &mut t, &here).await;
    expect(&finish_step(&b, &server, &answer).await, 200, "the passkey step");
    assert_eq!(me(&b, &server).await["username"], "ann");
    let sessions = call(&b, &server, "my-sessions", &[]).await;
    let current = sessions.json().as_array().unwrap().iter().find(|s| s["current"] == true).cloned().unwrap();
    assert_eq!(current["method"], "Password and passkey");
    let listed = call(&ann, &server, "my-passkeys", &[]).await;
    assert!(!listed.json()[0]["last_used"].is_null(), "its use is noted");
    // The same answer again, in another browser at the same step: refused.
    let other = after_password(&server).await;
    let _ = call(&other, &server, "begin-passkey-second-step", &[]).await;
    passkey_refusal(&finish_step(&other, &server, &answer).await, "challenge");
    assert!(me(&other, &server).await.is_null());

    // An answer to an earlier challenge than the one waiting.
    let b = after_password(&server).await;
    let stale = assertion(&b, &server, &mut t, &here).await;
    let _ = assertion(&b, &server, &mut t, &here).await;
    passkey_refusal(&finish_step(&b, &server, &stale).await, "challenge");
    assert!(me(&b, &server).await.is_null());

    // An answer made at another origin.
    let b = after_password(&server).await;
    let phished = assertion(&b, &server, &mut t, &elsewhere).await;
    passkey_refusal(&finish_step(&b, &server, &phished).await, "origin");
    assert!(me(&b, &server).await.is_null());

    // Twenty copies of one answer at once: one session.
    let b = after_password(&server).await;
    let answer = assertion(&b, &server, &mut t, &here).await;
    let tries = (0..20).map(|_| async { finish_step(&b, &server, &answer).await.status.as_u16() });
    let statuses = futures_join_all(tries).await;
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    // The others: the answer was taken (422), or the login it belonged to is over (401).
    assert!(statuses.iter().all(|s| [200, 401, 422].contains(s)), "{statuses:?}");

    // A copied authenticator: its counter goes backwards, and its answer is refused.
    let copy = t.to_cbor().unwrap();
    let b = after_password(&server).await;
    let answer = assertion(&b, &server, &mut t, &here).await;
    expect(&finish_step(&b, &server, &answer).await, 200, "the original");
    let mut clone = SoftToken::from_cbor(&copy).unwrap();
    let b = after_password(&server).await;
    let answer = assertion(&b, &server, &mut clone, &here).await;
    passkey_refusal(&finish_step(&b, &server, &answer).await, "counter");
    assert!(me(&b, &server).await.is_null());
    let events = call(&ann, &server, "my-security-events", &[]).await;
    assert!(events.body.contains("counter went backwards"), "{}", events.body);

    // A passkey counts where a workspace requires two factors.
    apply_and_generate(&op, &server, &ann, "Acme", "Ann Lee <ann@example.com>").await;
    expect(&call(&ann, &server, "set-sign-in-policy", &[("workspace", "Acme"), ("require_second_factor", "true")]).await, 200, "require two factors");
    expect(&call(&ann, &server, "workspace-general", &[("workspace", "Acme")]).await, 200, "ann with her passkey");

    // Renamed, then deleted: the password alone signs her in again, and the workspace that
    // requires two factors refuses her.
    let id = call(&ann, &server, "my-passkeys", &[]).await.json()[0]["id"].as_str().unwrap().to_string();
    expect_field(&call(&ann, &server, "rename-passkey", &[("id", &id), ("name", "")]).await, 422, "Passkey name");
    expect(&call(&ann, &server, "rename-passkey", &[("id", &id), ("name", "Old laptop")]).await, 200, "rename");
    assert_eq!(call(&ann, &server, "my-passkeys", &[]).await.json()[0]["name"], "Old laptop");
    let bob = person(&server, "bob").await;
    expect(&call(&bob, &server, "delete-passkey", &[("id", &id)]).await, 404, "someone else's passkey");
    expect(&call(&ann, &server, "delete-passkey", &[("id", &id)]).await, 200, "delete");
    assert_eq!(passkey_count(&ann, &server).await, 0);
    // She was told of both by email, in the writes that made them.
    let told = list_outbox(&op, &server, "", "passkey").await.json();
    let subjects: Vec<&str> = told["items"].as_array().unwrap().iter().filter(|m| m["to"][0] == "ann@example.com").map(|m| m["subject"].as_str().unwrap()).collect();
    assert!(subjects.contains(&"A passkey was added to your account") && subjects.contains(&"A passkey was removed from your account"), "{told}");
    let c = client();
    expect(&log_in(&c, &server, "ann", PASSWORD).await, 200, "password");
    assert_eq!(me(&c, &server).await["username"], "ann");
    let r = call(&c, &server, "workspace-general", &[("workspace", "Acme")]).await;
    assert_eq!((r.status.as_u16(), r.kind()), (403, "second_factor_required".to_string()));
}
