//! App Manage over HTTP: Apps and their keys — shown once, never stored, masked afterwards,
//! rotated with a grace period, revoked at once — and who may do what.

mod common;

use common::workspace::*;
use common::*;

async fn create_app(ann: &reqwest::Client, server: &Server, name: &str) -> serde_json::Value {
    let r = call(
        ann,
        server,
        "create-app",
        &[("workspace", "Acme"), ("name", name), ("ios", "on"), ("ios_bundle_id", "com.acme.super"), ("android", "on"), ("android_package", "com.acme.super")],
    )
    .await;
    expect(&r, 200, "create an App");
    r.json()
}

async fn keys(ann: &reqwest::Client, server: &Server, app: &str) -> Vec<serde_json::Value> {
    let r = call(ann, server, "list-app-keys", &[("workspace", "Acme"), ("id", app)]).await;
    expect(&r, 200, "the App's keys");
    r.json().as_array().unwrap().clone()
}

fn key_of<'a>(keys: &'a [serde_json::Value], id: &str) -> &'a serde_json::Value {
    keys.iter().find(|k| k["id"] == id).unwrap_or_else(|| panic!("no key {id} in {keys:?}"))
}

#[tokio::test]
async fn an_admin_adds_an_app_whose_keys_are_shown_once_and_never_stored() {
    let dir = DataDir::new();
    let (server, _op, ann) = acme_in(&dir).await;
    let created = create_app(&ann, &server, "Acme Super App").await;
    let app = created["app"].as_str().unwrap().to_string();
    let made = created["keys"].as_array().unwrap();
    assert_eq!(made.len(), 2);
    let access = made.iter().find(|k| k["kind"] == "Accessing").unwrap();
    let upload = made.iter().find(|k| k["kind"] == "Upload").unwrap();
    let (access_key, upload_key) = (access["key"].as_str().unwrap(), upload["key"].as_str().unwrap());
    assert!(access_key.starts_with("mpak_") && access_key.len() >= 5 + 22, "{access_key}");
    assert!(upload_key.starts_with("mpuk_") && upload_key.len() == 5 + 43, "{upload_key}");

    // Afterwards: masked by their last characters, never in full.
    let view = call(&ann, &server, "get-app", &[("workspace", "Acme"), ("id", &app)]).await;
    expect(&view, 200, "App detail");
    assert!(!view.body.contains(access_key) && !view.body.contains(upload_key), "{}", view.body);
    let v = view.json();
    assert_eq!(v["name"], "Acme Super App");
    assert!(v["platform_public_key"].as_str().is_some_and(|k| k.len() == 43), "{v}");
    let listed = keys(&ann, &server, &app).await;
    let masked = key_of(&listed, access["id"].as_str().unwrap())["masked"].as_str().unwrap().to_string();
    assert_eq!(masked, format!("mpak_…{}", &access_key[access_key.len() - 4..]));
    let list = call(&ann, &server, "list-apps", &[("workspace", "Acme")]).await;
    assert!(!list.body.contains(access_key) && !list.body.contains(upload_key));
    // Nothing waits to be shown to a browser with JavaScript: it had the keys in the answer.
    let waiting = call(&ann, &server, "take-new-keys", &[("workspace", "Acme"), ("id", &app)]).await;
    assert_eq!(waiting.json(), serde_json::json!([]));

    // A browser without JavaScript is sent to the App's page, where the keys wait once.
    let r = ann
        .post(server.url("/api/rotate-app-key"))
        .header("accept", "text/html")
        .form(&[("workspace", "Acme"), ("app", app.as_str()), ("kind", "accessing"), ("grace", "1h")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["location"], format!("/w/Acme/apps/{app}"));
    // The page opened by another site (a link, or a window it opened) does not take it.
    let outside = ann.get(server.url(&format!("/w/Acme/apps/{app}"))).header("sec-fetch-site", "cross-site").send().await.unwrap().text().await.unwrap();
    assert!(outside.split("mpak_").skip(1).all(|s| s.starts_with('…')), "{outside}");
    let page = page_text(&ann, &server.url(&format!("/w/Acme/apps/{app}"))).await;
    // (The page carries it twice: in the field, and in the data the page hydrates from.)
    let shown: std::collections::BTreeSet<&str> =
        page.split("mpak_").skip(1).filter(|s| !s.starts_with('…')).map(|s| &s[..43]).collect();
    assert_eq!(shown.len(), 1, "the new key, in full: {page}");
    assert!(!shown.contains(&access_key[5..]), "a new key, not the first one");
    let again = page_text(&ann, &server.url(&format!("/w/Acme/apps/{app}"))).await;
    assert!(again.split("mpak_").skip(1).all(|s| s.starts_with('…')), "shown once only");

    // The data file holds no key and no private seed.
    drop(server);
    let bytes = std::fs::read(dir.path().join("mpdp.redb")).unwrap();
    for secret in [access_key, upload_key, &access_key[5..], &upload_key[5..]] {
        assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "{secret} is in the data file");
    }
}

#[tokio::test]
async fn rotation_keeps_the_old_key_for_its_grace_and_revocation_is_at_once() {
    let (server, _op, ann) = acme().await;
    let created = create_app(&ann, &server, "Acme").await;
    let app = created["app"].as_str().unwrap().to_string();
    let first_upload = created["keys"].as_array().unwrap().iter().find(|k| k["kind"] == "Upload").unwrap()["id"].as_str().unwrap().to_string();

    // A week's grace: the old key is still live, ending; the new one is live.
    let r = call(&ann, &server, "rotate-app-key", &[("workspace", "Acme"), ("app", &app), ("kind", "upload"), ("grace", "7d")]).await;
    expect(&r, 200, "rotate with 7 days of grace");
    let second = r.json();
    assert!(second["key"].as_str().unwrap().starts_with("mpuk_"));
    let second = second["id"].as_str().unwrap().to_string();
    let ks = keys(&ann, &server, &app).await;
    let old = key_of(&ks, &first_upload);
    assert_eq!(old["live"], true);
    assert!(old["expires"].is_string(), "{old}");
    assert_eq!(key_of(&ks, &second)["live"], true);

    // No grace: the key in use stops at once (the old one's grace is cut short too).
    let r = call(&ann, &server, "rotate-app-key", &[("workspace", "Acme"), ("app", &app), ("kind", "upload"), ("grace", "none")]).await;
    expect(&r, 200, "rotate with no grace");
    let third = r.json()["id"].as_str().unwrap().to_string();
    let ks = keys(&ann, &server, &app).await;
    assert_eq!(key_of(&ks, &first_upload)["live"], false);
    assert_eq!(key_of(&ks, &second)["live"], false);
    assert_eq!(key_of(&ks, &third)["live"], true);

    // Revoked: at once, and only once.
    let r = call(&ann, &server, "revoke-app-key", &[("workspace", "Acme"), ("app", &app), ("key", &third)]).await;
    expect(&r, 200, "revoke");
    let ks = keys(&ann, &server, &app).await;
    assert_eq!(key_of(&ks, &third)["live"], false);
    assert!(key_of(&ks, &third)["revoked"].is_string());
    let r = call(&ann, &server, "revoke-app-key", &[("workspace", "Acme"), ("app", &app), ("key", &third)]).await;
    expect(&r, 409, "revoked twice");

    // Every change is in the audit log.
    let log = workspace_audit(&ann, &server, "Acme", "", "").await.json();
    let actions: Vec<&str> = log["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for a in ["app.created", "app.key_created", "app.key_rotated", "app.key_revoked"] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
}

#[tokio::test]
async fn bad_app_forms_name_the_field_and_change_nothing() {
    let (server, _op, ann) = acme().await;
    let long = "x".repeat(65);
    for (form, field) in [
        (vec![("name", ""), ("ios", "on"), ("ios_bundle_id", "com.a.b")], "App Name"),
        (vec![("name", long.as_str()), ("ios", "on"), ("ios_bundle_id", "com.a.b")], "App Name"),
        (vec![("name", "A")], "Platforms"),
        (vec![("name", "A"), ("ios", "on"), ("ios_bundle_id", "acme")], "iOS Bundle ID"),
        (vec![("name", "A"), ("android", "on"), ("android_package", "com.acme/../x")], "Android Package Name"),
    ] {
        let mut f = vec![("workspace", "Acme")];
        f.extend(form.iter().copied());
        let r = call(&ann, &server, "create-app", &f).await;
        expect(&r, 422, field);
        assert_eq!(r.field().as_deref(), Some(field), "{}", r.body);
    }
    create_app(&ann, &server, "Acme").await;
    let r = call(&ann, &server, "create-app", &[("workspace", "Acme"), ("name", "ACME"), ("ios", "on"), ("ios_bundle_id", "com.a.b")]).await;
    expect(&r, 409, "a second App of the same name");
    let apps = call(&ann, &server, "list-apps", &[("workspace", "Acme")]).await.json();
    assert_eq!(apps.as_array().unwrap().len(), 1);
    let app = apps[0]["id"].as_str().unwrap().to_string();
    for (kind, grace, field) in [("secret", "none", "Key"), ("upload", "2h", "Grace period")] {
        let r = call(&ann, &server, "rotate-app-key", &[("workspace", "Acme"), ("app", &app), ("kind", kind), ("grace", grace)]).await;
        expect(&r, 422, field);
        assert_eq!(r.field().as_deref(), Some(field));
    }
    let r = call(&ann, &server, "get-app", &[("workspace", "Acme"), ("id", "not-a-uuid")]).await;
    assert_eq!(r.status.as_u16() / 100, 4, "{}", r.body);
    assert_eq!(keys(&ann, &server, &app).await.len(), 2, "nothing rotated");
}

#[tokio::test]
async fn another_workspace_cannot_see_or_touch_an_app_and_a_suspended_one_changes_nothing() {
    let (server, op, ann) = acme().await;
    let wid = workspace_id(&ann, &server, "Acme").await;
    let app = create_app(&ann, &server, "Acme").await["app"].as_str().unwrap().to_string();
    let bob = person(&server, "bob").await;
    apply_and_generate(&op, &server, &bob, "Other", "Bob <bob@example.com>").await;
    // Bob, admin of Other, names Acme's App in his own workspace: not found.
    for (endpoint, form) in [
        ("get-app", vec![("workspace", "Other"), ("id", app.as_str())]),
        ("list-app-keys", vec![("workspace", "Other"), ("id", app.as_str())]),
        ("rotate-app-key", vec![("workspace", "Other"), ("app", app.as_str()), ("kind", "upload"), ("grace", "none")]),
    ] {
        expect(&call(&bob, &server, endpoint, &form).await, 404, endpoint);
    }
    // Suspended: readable, not changeable.
    expect(&set_workspace_status(&op, &server, &wid, "suspend", "audit").await, 200, "suspend");
    expect(&call(&ann, &server, "list-apps", &[("workspace", "Acme")]).await, 200, "read while suspended");
    let r = call(&ann, &server, "rotate-app-key", &[("workspace", "Acme"), ("app", &app), ("kind", "upload"), ("grace", "none")]).await;
    expect(&r, 403, "rotate while suspended");
    let r = call(&ann, &server, "create-app", &[("workspace", "Acme"), ("name", "B"), ("ios", "on"), ("ios_bundle_id", "com.a.b")]).await;
    expect(&r, 403, "add while suspended");
}

async fn mini_program(ann: &reqwest::Client, server: &Server, name: &str) -> String {
    let r = call(ann, server, "create-mini-program", &[("workspace", "Acme"), ("name", name), ("category", "Shopping")]).await;
    expect(&r, 200, "create a mini program");
    r.json().as_str().unwrap().to_string()
}

/// `name` joins Acme by invitation as `role`; returns the client and the account id.
async fn join(server: &Server, op: &reqwest::Client, ann: &reqwest::Client, name: &str, role: &str) -> (reqwest::Client, String) {
    let email = format!("{name}@example.com");
    expect(&invite_members(ann, server, "Acme", email.as_str(), role).await, 200, "invite");
    let token = mailed_token(op, server, &email, "/invitations/").await;
    let c = person(server, name).await;
    expect(&accept_invitation(&c, server, &token).await, 200, "accept");
    let list = list_members(ann, server, "Acme", name, "", "").await.json();
    (c, list["items"][0]["account_id"].as_str().unwrap().to_string())
}

fn upload_key_of(keys: &[serde_json::Value]) -> &serde_json::Value {
    keys.iter().find(|k| k["kind"] == "Upload" && k["live"] == true && k["expires"].is_null()).expect("a current Upload Key")
}

#[tokio::test]
async fn an_upload_key_scope_is_checked_field_by_field_audited_and_kept_by_a_rotation() {
    let (server, _op, ann) = acme().await;
    let app = create_app(&ann, &server, "Acme").await["app"].as_str().unwrap().to_string();
    let coupons = mini_program(&ann, &server, "Coupons").await;
    let parking = mini_program(&ann, &server, "Parking").await;

    // At first: unrestricted, and the workspace's mini programs to choose from.
    let v = call(&ann, &server, "get-app", &[("workspace", "Acme"), ("id", &app)]).await.json();
    assert_eq!(v["upload_scope"], serde_json::json!({"mini_programs": [], "networks": []}));
    assert_eq!(v["mini_programs"].as_array().unwrap().len(), 2);
    let scope = |form: Vec<(&'static str, String)>| {
        let (ann, server, app) = (ann.clone(), &server, app.clone());
        async move {
            let mut f: Vec<(&str, String)> = vec![("workspace", "Acme".into()), ("app", app)];
            f.extend(form);
            let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            call(&ann, server, "set-upload-key-scope", &f).await
        }
    };

    // Each rule names the field, and the entry that broke it; nothing is changed.
    let r = scope(vec![("networks", "10.0.0.0/8\n10.0.0.256/24".into())]).await;
    expect(&r, 422, "a bad range");
    assert_eq!(r.field().as_deref(), Some("Client address ranges"));
    assert!(r.body.contains("entry 2") && r.body.contains("10.0.0.256/24"), "{}", r.body);
    let r = scope(vec![("networks", "10.1.0.0/8".into())]).await;
    expect(&r, 422, "bits past the prefix");
    assert!(r.body.contains("write 10.0.0.0/8"), "{}", r.body);
    let other = "0190f5a8-0000-7000-8000-00000000dead".to_string();
    let r = scope(vec![("mini_programs[0]", coupons.clone()), ("mini_programs[1]", other.clone())]).await;
    expect(&r, 422, "an unknown mini program");
    assert_eq!(r.field().as_deref(), Some("Mini programs"));
    assert!(r.body.contains(&other), "{}", r.body);
    expect(&scope(vec![]).await, 422, "nothing changed");

    // Limited: to Coupons, from two ranges (typed as people type them).
    let r = scope(vec![("mini_programs[0]", coupons.clone()), ("mini_programs[2]", coupons.clone()), ("networks", " 203.0.113.0/24,\n2001:DB8::/32 ".into())]).await;
    expect(&r, 200, "set the scope");
    let v = call(&ann, &server, "get-app", &[("workspace", "Acme"), ("id", &app)]).await.json();
    assert_eq!(v["upload_scope"]["mini_programs"], serde_json::json!([[coupons, "Coupons"]]));
    assert_eq!(v["upload_scope"]["networks"], serde_json::json!(["203.0.113.0/24", "2001:db8::/32"]));
    let current = upload_key_of(v["keys"].as_array().unwrap()).clone();
    assert_eq!(current["scope"], v["upload_scope"]);
    assert_eq!(current["made_by"], "ann");
    assert_eq!(current["shown_to"], serde_json::json!(["ann"]));
    let accessing = v["keys"].as_array().unwrap().iter().find(|k| k["kind"] == "Accessing").unwrap();
    assert!(accessing["scope"].is_null(), "an Accessing Key has no upload scope");

    // A rotation keeps the scope: the new key, and the old one in its grace period.
    expect(&call(&ann, &server, "rotate-app-key", &[("workspace", "Acme"), ("app", &app), ("kind", "upload"), ("grace", "1h")]).await, 200, "rotate");
    let ks = keys(&ann, &server, &app).await;
    let new = upload_key_of(&ks);
    assert_ne!(new["id"], current["id"]);
    assert_eq!(new["scope"], current["scope"]);
    // Widened again: to every mini program, from any address — both live keys.
    expect(&scope(vec![("mini_programs[0]", parking.clone())]).await, 200, "change the scope");
    let ks = keys(&ann, &server, &app).await;
    for k in ks.iter().filter(|k| k["kind"] == "Upload" && k["live"] == true) {
        assert_eq!(k["scope"]["mini_programs"], serde_json::json!([[parking, "Parking"]]), "{k}");
        assert_eq!(k["scope"]["networks"], serde_json::json!([]), "{k}");
    }

    // The audit log says what changed.
    let log = workspace_audit(&ann, &server, "Acme", "app.upload_scope_changed", "").await.json();
    let details: Vec<&str> = log["items"].as_array().unwrap().iter().map(|e| e["details"].as_str().unwrap()).collect();
    assert_eq!(details.len(), 2, "{details:?}");
    assert!(details.iter().any(|d| d.contains("mini programs Coupons (was all); client address ranges 203.0.113.0/24, 2001:db8::/32 (was any)")), "{details:?}");
    assert!(details.iter().any(|d| d.contains("mini programs Parking (was Coupons)")), "{details:?}");

    // Revoked: there is no live Upload Key to limit.
    for k in keys(&ann, &server, &app).await.iter().filter(|k| k["kind"] == "Upload" && k["live"] == true) {
        let id = k["id"].as_str().unwrap();
        expect(&call(&ann, &server, "revoke-app-key", &[("workspace", "Acme"), ("app", &app), ("key", id)]).await, 200, "revoke");
    }
    expect(&scope(vec![]).await, 409, "no live Upload Key");
}

#[tokio::test]
async fn the_upload_keys_a_blocked_member_was_shown_are_listed_and_rotated_in_one_step() {
    let (server, op, ann) = acme().await;
    let (bob, bob_id) = join(&server, &op, &ann, "bob", "WorkspaceAdmin").await;
    let first = create_app(&ann, &server, "First").await["app"].as_str().unwrap().to_string();
    // Bob adds an App (shown both its keys) and rotates First's Upload Key (shown the new one).
    let second = create_app(&bob, &server, "Second").await["app"].as_str().unwrap().to_string();
    let r = call(&bob, &server, "rotate-app-key", &[("workspace", "Acme"), ("app", &first), ("kind", "upload"), ("grace", "7d")]).await;
    expect(&r, 200, "bob rotates First's Upload Key");
    let bobs_first = r.json()["id"].as_str().unwrap().to_string();
    let bobs_second = upload_key_of(&keys(&ann, &server, &second).await)["id"].as_str().unwrap().to_string();
    assert_eq!(key_of(&keys(&ann, &server, &first).await, &bobs_first)["shown_to"], serde_json::json!(["bob"]));
    let exposed = || async { call(&ann, &server, "exposed-upload-keys", &[("workspace", "Acme")]).await.json() };
    assert_eq!(exposed().await, serde_json::json!([]), "bob is an active member");

    // Blocked: the console lists the Upload Keys he could have copied (not ann's, still in grace).
    expect(&block_member(&ann, &server, "Acme", &bob_id).await, 200, "block bob");
    let list = exposed().await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!((list[0]["username"].as_str(), list[0]["standing"].as_str()), (Some("bob"), Some("Blocked")));
    let mut ids: Vec<&str> = list[0]["keys"].as_array().unwrap().iter().map(|k| k["id"].as_str().unwrap()).collect();
    ids.sort();
    let mut want = vec![bobs_first.as_str(), bobs_second.as_str()];
    want.sort();
    assert_eq!(ids, want, "{list}");
    let page = page_text(&ann, &server.url("/w/Acme/members")).await;
    assert!(page.contains("Rotate the Upload Keys bob was shown") && page.contains(r#"action="/confirm/rotate-exposed-upload-keys""#), "{page}");

    // One step: each App gets a new Upload Key, shown once to ann; bob's copies stop at once.
    let r = call(&ann, &server, "rotate-exposed-upload-keys", &[("workspace", "Acme"), ("account", &bob_id)]).await;
    expect(&r, 200, "rotate bob's keys");
    let made = r.json();
    let mut apps: Vec<&str> = made.as_array().unwrap().iter().map(|k| k["app_name"].as_str().unwrap()).collect();
    apps.sort();
    assert_eq!(apps, vec!["First", "Second"]);
    assert!(made.as_array().unwrap().iter().all(|k| k["kind"] == "Upload" && k["key"].as_str().unwrap().starts_with("mpuk_")));
    for (app, old) in [(&first, &bobs_first), (&second, &bobs_second)] {
        let ks = keys(&ann, &server, app).await;
        assert_eq!(key_of(&ks, old)["live"], false, "{old} stopped");
        assert_eq!(upload_key_of(&ks)["shown_to"], serde_json::json!(["ann"]));
        assert_eq!(ks.iter().filter(|k| k["kind"] == "Upload" && k["live"] == true).count(), 1, "only the new one works");
    }
    let accessing = keys(&ann, &server, &second).await.into_iter().find(|k| k["kind"] == "Accessing").unwrap();
    assert_eq!(accessing["live"], true, "the container's Accessing Key is not touched");
    assert_eq!(exposed().await, serde_json::json!([]));
    expect(&call(&ann, &server, "rotate-exposed-upload-keys", &[("workspace", "Acme"), ("account", &bob_id)]).await, 409, "nothing left to rotate");
    let log = workspace_audit(&ann, &server, "Acme", "app.key_rotated", "bob had been shown it").await.json();
    assert_eq!(log["items"].as_array().unwrap().len(), 2, "{log}");

    // A removed member's keys are listed too; without JavaScript the new key waits on its App's page.
    let (cy, cy_id) = join(&server, &op, &ann, "cyd", "WorkspaceAdmin").await;
    expect(&call(&cy, &server, "rotate-app-key", &[("workspace", "Acme"), ("app", &second), ("kind", "upload"), ("grace", "none")]).await, 200, "cy rotates");
    expect(&remove_member(&ann, &server, "Acme", &cy_id).await, 200, "remove cy");
    assert_eq!(exposed().await[0]["standing"], "No longer a member");
    // So are those of one moved to a role that does not manage Apps: a demotion is no blocking,
    // but the keys are out of the role's reach all the same.
    let (dee, dee_id) = join(&server, &op, &ann, "dee", "WorkspaceAdmin").await;
    expect(&call(&dee, &server, "rotate-app-key", &[("workspace", "Acme"), ("app", &first), ("kind", "upload"), ("grace", "none")]).await, 200, "dee rotates");
    let demoted = call(&ann, &server, "set-member-role", &[("workspace", "Acme"), ("account", &dee_id), ("role", "WorkspaceDeveloper")]).await;
    expect(&demoted, 200, "demote dee");
    let listed = exposed().await;
    let dee_row = listed.as_array().unwrap().iter().find(|e| e["username"] == "dee").expect("dee is listed").clone();
    assert_eq!(dee_row["standing"], "Now a Workspace Developer", "{listed}");
    let r = ann
        .post(server.url("/api/rotate-exposed-upload-keys"))
        .header("accept", "text/html")
        .form(&[("workspace", "Acme"), ("account", cy_id.as_str()), ("back", "/w/Acme/members")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["location"], format!("/w/Acme/apps/{second}"));
    let waiting = call(&ann, &server, "take-new-keys", &[("workspace", "Acme"), ("id", &second)]).await.json();
    assert_eq!(waiting.as_array().unwrap().len(), 1, "{waiting}");
}
