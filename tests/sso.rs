//! Single sign-on against a real OpenID Connect provider: panva's `oidc-provider` (npm), started
//! on 127.0.0.1 with one client and four people (`tests/oidc/provider.mjs`; its HTTP steps are
//! in `tests/oidc/FLOW.md`). Every refusal the login page can show is driven here through the
//! real provider: a declined consent, a wrong state, a replayed answer, a wrong issuer, a wrong
//! nonce, an unverified email, an email outside the allowed domains.

mod common;

use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use common::*;

const CLIENT_ID: &str = "mpdp";
const CLIENT_SECRET: &str = "provider secret 42";

fn provider_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oidc")
}

/// Installs the provider's packages once (from its lock file), unless already there
/// (`.ci/setup --browser` installs them), giving npm five minutes.
fn install() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let dir = provider_dir();
        if dir.join("node_modules/oidc-provider/package.json").exists() {
            return;
        }
        let ok = Command::new("timeout")
            .args(["300", "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .stdin(Stdio::null())
            .status()
            .expect("npm runs");
        assert!(ok.success(), "npm ci in tests/oidc failed or took over five minutes: {ok}");
    });
}

/// The running provider; it exits when this is dropped (its stdin closes).
struct Provider {
    child: Child,
    _stdin: ChildStdin,
    issuer: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_provider(redirect_uri: &str) -> Provider {
    install();
    let mut child = Command::new("node")
        .arg(provider_dir().join("provider.mjs"))
        .env("OIDC_PORT", "0")
        .env("OIDC_CLIENT_ID", CLIENT_ID)
        .env("OIDC_CLIENT_SECRET", CLIENT_SECRET)
        .env("OIDC_REDIRECT_URIS", redirect_uri)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node runs the test provider");
    let stdin = child.stdin.take().unwrap();
    let line = first_line(&mut child, Duration::from_secs(60)).unwrap_or_default();
    let issuer = line.trim().strip_prefix("ready ").unwrap_or_else(|| panic!("the provider did not start: {line:?}")).to_string();
    Provider { child, _stdin: stdin, issuer }
}

fn location(r: &reqwest::Response) -> String {
    r.headers().get("location").map(|v| v.to_str().unwrap().to_string()).unwrap_or_else(|| panic!("no Location: {}", r.status()))
}

/// `to` resolved against `base`.
fn resolve(base: &str, to: &str) -> String {
    reqwest::Url::parse(base).unwrap().join(to).unwrap().to_string()
}

/// The query parameter `name` of `url`.
fn param(url: &str, name: &str) -> Option<String> {
    reqwest::Url::parse(url).unwrap().query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// `url` with the query parameter `name` set to `value`.
fn with_param(url: &str, name: &str, value: &str) -> String {
    let mut u = reqwest::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| { let v = if k == name { value.to_string() } else { v.into_owned() }; (k.into_owned(), v) })
        .collect();
    u.query_pairs_mut().clear().extend_pairs(pairs);
    u.to_string()
}

/// The browser begins a sign-in at `/sso/test` and is sent to the provider: the address there.
async fn begin(browser: &reqwest::Client, server: &Server, next: &str) -> String {
    let r = browser.get(server.url(&format!("/sso/test?next={next}"))).send().await.unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    location(&r)
}

/// At the provider (its own cookies, as a browser keeps per site): signs in as `login` and
/// consents — or, with `None`, cancels — and returns the address the provider sends the browser
/// back to.
async fn at_provider(p: &Provider, auth_url: &str, login: Option<&str>) -> String {
    let idp = client();
    let mut url = auth_url.to_string();
    for _ in 0..12 {
        let r = idp.get(&url).send().await.unwrap();
        if r.status() == 303 || r.status() == 302 {
            let to = resolve(&url, &location(&r));
            if !to.starts_with(&p.issuer) {
                return to;
            }
            url = to;
            continue;
        }
        assert_eq!(r.status(), 200, "at the provider: {url}");
        let page = r.text().await.unwrap();
        let Some(login) = login else {
            url = format!("{url}/abort");
            continue;
        };
        let form: Vec<(&str, &str)> = if page.contains(r#"value="login""#) {
            vec![("prompt", "login"), ("login", login), ("password", "anything")]
        } else {
            vec![("prompt", "consent")]
        };
        let r = idp.post(&url).form(&form).send().await.unwrap();
        assert_eq!(r.status(), 303, "posting {form:?} at the provider");
        url = resolve(&url, &location(&r));
    }
    panic!("the provider never sent the browser back");
}

/// The browser comes back from the provider to `callback`: where it is sent next.
async fn come_back(browser: &reqwest::Client, callback: &str) -> String {
    let r = browser.get(callback).send().await.unwrap();
    assert_eq!(r.status(), 303);
    location(&r)
}

/// A whole sign-in as `login` in `browser`: where the browser ends up.
async fn sign_in_as(browser: &reqwest::Client, server: &Server, p: &Provider, login: &str) -> String {
    let auth = begin(browser, server, "/account").await;
    let back = at_provider(p, &auth, Some(login)).await;
    come_back(browser, &back).await
}

fn refused(code: &str) -> String {
    format!("/login?sso=test&refused={code}")
}

async fn account_count(op: &reqwest::Client, server: &Server, q: &str) -> usize {
    let r = call(op, server, "list-accounts", &[("q", q)]).await;
    expect(&r, 200, "list accounts");
    r.json()["items"].as_array().unwrap().len()
}

#[tokio::test]
async fn single_sign_on_with_a_real_provider() {
    let dir = DataDir::new();
    let (server, op) = server_with_operator_in(&dir, &[]).await;
    let p = start_provider(&server.url("/sso/test/callback"));

    // The operator adds the provider; the form is checked field by field.
    let form = |issuer: &str| {
        vec![
            ("id", "test".to_string()),
            ("label", "Test IdP".to_string()),
            ("issuer", issuer.to_string()),
            ("client_id", CLIENT_ID.to_string()),
            ("client_secret", CLIENT_SECRET.to_string()),
            ("allowed_domains", "example.com".to_string()),
            ("scopes", "groups".to_string()),
            ("create", "true".to_string()),
        ]
    };
    let send = |f: Vec<(&'static str, String)>| {
        let (op, server) = (op.clone(), &server);
        async move {
            let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            call(&op, server, "save-sso-provider", &f).await
        }
    };
    expect_field(&send(form("ftp://idp.example")).await, 422, "Issuer URL");
    expect_field(&send(form("http://idp.example")).await, 422, "Issuer URL");
    expect(&send(form(&p.issuer)).await, 200, "add the provider");
    expect_field(&send(form(&p.issuer)).await, 409, "ID");
    let listed = call(&op, &server, "sso-providers", &[]).await;
    expect(&listed, 200, "the operator's providers");
    assert_eq!(listed.json()[0]["redirect_uri"], server.url("/sso/test/callback"));
    assert!(!listed.body.contains(CLIENT_SECRET), "the secret is never shown: {}", listed.body);
    // The login page's buttons, for anyone.
    let buttons = call(&client(), &server, "sign-in-providers", &[]).await;
    assert_eq!(buttons.json(), serde_json::json!([{ "id": "test", "label": "Test IdP" }]));

    // Alice has a password account with a verified address: the provider's verified email
    // links it.
    let alice_pw = person(&server, "alice").await;
    let alice = client();
    assert_eq!(sign_in_as(&alice, &server, &p, "alice").await, "/account");
    assert_eq!(me(&alice, &server).await["username"], "alice");
    let sessions = call(&alice, &server, "my-sessions", &[]).await;
    let current: Vec<_> = sessions.json().as_array().unwrap().iter().filter(|s| s["current"] == true).cloned().collect();
    assert_eq!(current[0]["method"], "Single sign-on (Test IdP)");

    // A verified email no account has: a new account, its address proven, named after the
    // provider's preferred username.
    let dave = client();
    assert_eq!(sign_in_as(&dave, &server, &p, "dave").await, "/account");
    let d = me(&dave, &server).await;
    assert_eq!((d["username"].as_str(), d["email"].as_str(), d["email_verified"].as_bool()), (Some("dave"), Some("dave@example.com"), Some(true)));
    // Signing in again finds the same account by the provider's subject.
    let dave2 = client();
    sign_in_as(&dave2, &server, &p, "dave").await;
    assert_eq!(me(&dave2, &server).await["id"], d["id"]);

    // The provider has not verified bob@example.com, and an account uses it: refused, nothing
    // linked or signed in.
    let _bob_pw = person(&server, "bob").await;
    let bob = client();
    assert_eq!(sign_in_as(&bob, &server, &p, "bob").await, refused("unverified"));
    assert!(me(&bob, &server).await.is_null());

    // carol@elsewhere.test is outside the allowed domains: refused, no account made.
    let carol = client();
    assert_eq!(sign_in_as(&carol, &server, &p, "carol").await, refused("domain"));
    assert!(me(&carol, &server).await.is_null());
    assert_eq!(account_count(&op, &server, "carol").await, 0);

    // The person declines at the provider.
    let declined = client();
    let auth = begin(&declined, &server, "/").await;
    let back = at_provider(&p, &auth, None).await;
    assert_eq!(param(&back, "error").as_deref(), Some("access_denied"));
    assert_eq!(come_back(&declined, &back).await, refused("denied"));
    assert!(me(&declined, &server).await.is_null());

    // A wrong state: refused, and the sign-in it belonged to is spent (an answer is used once).
    let b = client();
    let auth = begin(&b, &server, "/").await;
    let back = at_provider(&p, &auth, Some("alice")).await;
    assert_eq!(come_back(&b, &with_param(&back, "state", "forged")).await, refused("state"));
    assert_eq!(come_back(&b, &back).await, refused("state"));
    assert!(me(&b, &server).await.is_null());

    // A replayed answer, in the browser that used it and in another one.
    let b = client();
    let auth = begin(&b, &server, "/").await;
    let back = at_provider(&p, &auth, Some("dave")).await;
    assert_eq!(come_back(&b, &back).await, "/");
    assert_eq!(come_back(&b, &back).await, refused("state"));
    let other = client();
    assert_eq!(come_back(&other, &back).await, refused("state"));
    assert!(me(&other, &server).await.is_null());
    // A code used once already, with a fresh sign-in's state in the same browser: the provider
    // refuses it at its token endpoint.
    let auth = begin(&b, &server, "/").await;
    let replay = with_param(&back, "state", &param(&auth, "state").unwrap());
    assert_eq!(come_back(&b, &replay).await, refused("code"));

    // An answer that names another issuer (RFC 9207 `iss`).
    let b = client();
    let auth = begin(&b, &server, "/").await;
    let back = at_provider(&p, &auth, Some("alice")).await;
    assert_eq!(param(&back, "iss").as_deref(), Some(p.issuer.as_str()));
    assert_eq!(come_back(&b, &with_param(&back, "iss", "http://127.0.0.1:1")).await, refused("issuer"));
    assert!(me(&b, &server).await.is_null());

    // A wrong nonce: the request at the provider is altered to carry another one, so the ID
    // token does not carry the nonce this browser's sign-in expects.
    let b = client();
    let auth = begin(&b, &server, "/").await;
    let back = at_provider(&p, &with_param(&auth, "nonce", "forged-nonce"), Some("alice")).await;
    assert_eq!(come_back(&b, &back).await, refused("token"));
    assert!(me(&b, &server).await.is_null());

    // An unknown provider, and one that cannot be reached.
    let r = client().get(server.url("/sso/nope")).send().await.unwrap();
    assert_eq!(location(&r), "/login?sso=nope&refused=unknown_provider");
    let mut down = form(&format!("http://127.0.0.1:{}", free_port()));
    down[0].1 = "down".into();
    expect(&send(down).await, 200, "add a provider nobody answers for");
    let r = client().get(server.url("/sso/down")).send().await.unwrap();
    assert_eq!(location(&r), "/login?sso=down&refused=unreachable");
    expect(&call(&op, &server, "delete-sso-provider", &[("id", "down")]).await, 200, "delete it");

    // Refused sign-ins are in the operator's audit log.
    let audit = call(&op, &server, "platform-audit", &[("workspace", ""), ("action", ""), ("q", "carol@elsewhere.test")]).await;
    assert!(audit.body.contains("outside the allowed email domains"), "{}", audit.body);

    // A workspace of Alice's uses the provider: `staff` makes Workspace Developers, and single
    // sign-on is required.
    apply_and_generate(&op, &server, &alice_pw, "Acme", "Alice <alice@example.com>").await;
    let sso_form = |required: &'static str, groups: &'static str| {
        vec![("workspace", "Acme"), ("provider", "test"), ("required", required), ("groups", groups)]
    };
    expect_field(&call(&alice, &server, "set-workspace-sso", &sso_form("false", "staff = Chief")).await, 422, "Group roles");
    expect_field(
        &call(&alice, &server, "set-workspace-sso", &[("workspace", "Acme"), ("provider", "nope")]).await,
        422,
        "Provider",
    );
    // Requiring it from a password session would shut its admin out at once; mapping groups from
    // one would enrol the provider's people in a workspace of someone who is not one of them.
    expect_field(&call(&alice_pw, &server, "set-workspace-sso", &sso_form("true", "staff = Workspace Developer")).await, 409, "Require single sign-on");
    expect_field(&call(&alice_pw, &server, "set-workspace-sso", &sso_form("false", "staff = Workspace Developer")).await, 409, "Group roles");
    expect(&call(&alice_pw, &server, "set-workspace-sso", &sso_form("false", "")).await, 200, "choose the provider, optional, no groups");
    let before_the_rule = access_token(&alice_pw, &server, "Acme").await;
    expect(&call(&alice, &server, "set-workspace-sso", &sso_form("true", "staff = Workspace Developer")).await, 200, "require single sign-on");
    // A token made by her password session before the rule stops, as that session did; one her
    // single sign-on session makes acts (and finds no such mini program).
    let with_the_provider = access_token(&alice, &server, "Acme").await;
    let publishing = |token: String| {
        let url = server.url("/api/studio/v1/mini-programs/nope/publishing");
        async move { client().post(url).bearer_auth(token).json(&serde_json::json!({"version": "1.0.0", "apps": []})).send().await.unwrap() }
    };
    let r = publishing(before_the_rule.clone()).await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("token_single_sign_on"));
    assert_eq!(publishing(with_the_provider).await.status(), 404);
    // Her password session is now refused every page and action of the workspace; other
    // sessions, and her other places, are not.
    for (endpoint, form) in [
        ("workspace-general", vec![("workspace", "Acme")]),
        ("list-members", vec![("workspace", "Acme"), ("q", ""), ("role", ""), ("status", "")]),
        ("list-mini-programs", vec![("workspace", "Acme")]),
    ] {
        let r = call(&alice_pw, &server, endpoint, &form).await;
        expect(&r, 403, endpoint);
        assert_eq!(r.kind(), "sso_required", "{endpoint}");
        expect(&call(&alice, &server, endpoint, &form).await, 200, endpoint);
    }
    expect(&call(&alice_pw, &server, "my-sessions", &[]).await, 200, "her account page");
    // A provider a workspace uses can't be deleted.
    expect(&call(&op, &server, "delete-sso-provider", &[("id", "test")]).await, 409, "delete a provider in use");

    // Dave is in `staff`: his next sign-in makes him a Workspace Developer of Acme.
    let dave3 = client();
    sign_in_as(&dave3, &server, &p, "dave").await;
    let mine = call(&dave3, &server, "my-workspaces", &[]).await;
    assert_eq!(string_pairs(&mine.json(), "name", "role"), vec![("Acme".to_string(), "WorkspaceDeveloper".to_string())]);
    let members = call(&alice, &server, "list-members", &[("workspace", "Acme"), ("q", "dave"), ("role", ""), ("status", "")]).await;
    assert!(members.body.contains("dave@example.com"), "{}", members.body);

    // Dave turns on an authenticator app: the provider vouches for his address, not for his
    // second factor, so its answer alone no longer signs him in. After the code the session
    // counts as made with the provider (Acme requires it).
    let key = turn_on_second_factor(&dave3, &server).await;
    let dave4 = client();
    assert_eq!(sign_in_as(&dave4, &server, &p, "dave").await, "/login/code?next=%2Faccount");
    expect(&call(&dave4, &server, "list-mini-programs", &[("workspace", "Acme")]).await, 401, "nothing before the code");
    server.advance(Duration::from_secs(30));
    let code = authenticator_code(&key, unix_now() + 30);
    expect(&call(&dave4, &server, "log-in-code", &[("code", code.as_str())]).await, 200, "the code");
    expect(&call(&dave4, &server, "list-mini-programs", &[("workspace", "Acme")]).await, 200, "Acme, which requires single sign-on");
    let sessions = call(&dave4, &server, "my-sessions", &[]).await;
    assert!(sessions.body.contains("Single sign-on (Test IdP) and authenticator code"), "{}", sessions.body);
    let audit = call(&op, &server, "platform-audit", &[("workspace", ""), ("action", "account.signed_in"), ("q", "")]).await;
    assert!(audit.body.contains("with single sign-on (Test IdP) and authenticator code"), "{}", audit.body);

    // Survives a restart: the provider, the workspaces using it and the workspace's setting.
    let (ok, _) = server.stop();
    assert!(ok);
    let server = Server::start_in(&dir, &[]);
    let op = operator(&server).await;
    let listed = call(&op, &server, "sso-providers", &[]).await;
    assert_eq!(listed.json()[0]["workspaces"], serde_json::json!(["Acme"]));
    let r = call(&alice_pw, &server, "workspace-general", &[("workspace", "Acme")]).await;
    assert_eq!((r.status.as_u16(), r.kind()), (403, "sso_required".to_string()));
    let r = call(&alice, &server, "workspace-general", &[("workspace", "Acme")]).await;
    expect(&r, 200, "her single sign-on session after the restart");
    assert_eq!(r.json()[0]["single_sign_on"]["groups"], serde_json::json!([["staff", "WorkspaceDeveloper"]]));
}

/// `c` makes a personal access token for `workspace` with the publish scope; the token, as the
/// account page shows it once.
async fn access_token(c: &reqwest::Client, server: &Server, workspace: &str) -> String {
    let r = call(c, server, "create-access-token", &[("name", "ci"), ("workspace", workspace), ("days", "30"), ("scopes[0]", "publish")]).await;
    expect(&r, 200, "create-access-token");
    call(c, server, "new-access-token", &[]).await.json().as_str().unwrap().to_string()
}
