//! Acme's Apps and mini programs over HTTP, as the Studio, version and container tests set them
//! up.

use super::*;

/// An App created in Acme: its id and its keys.
pub struct CreatedApp {
    pub id: String,
    pub access_key: String,
    pub upload_key: String,
}

/// `admin` creates the Android App `name` (package `package`) in Acme.
pub async fn create_android_app(admin: &reqwest::Client, server: &Server, name: &str, package: &str) -> CreatedApp {
    let form = [("workspace", "Acme"), ("name", name), ("android", "on"), ("android_package", package)];
    let r = call(admin, server, "create-app", &form).await;
    expect(&r, 200, "create an App");
    let created = r.json();
    let key = |kind: &str| created["keys"].as_array().unwrap().iter().find(|k| k["kind"] == kind).unwrap()["key"].as_str().unwrap().to_string();
    CreatedApp { id: created["app"].as_str().unwrap().to_string(), access_key: key("Accessing"), upload_key: key("Upload") }
}

/// `admin` creates the mini program `name` in `category` in Acme; returns its id.
pub async fn create_mini_program(admin: &reqwest::Client, server: &Server, name: &str, category: &str) -> String {
    let r = call(admin, server, "create-mini-program", &[("workspace", "Acme"), ("name", name), ("category", category)]).await;
    expect(&r, 200, "create a mini program");
    r.json().as_str().unwrap().to_string()
}

/// `c` uploads `bundle` as `version` of Acme's mini program `mp` from the console's form, with
/// `note`; returns where the browser is sent.
pub async fn browser_upload(c: &reqwest::Client, server: &Server, mp: &str, version: &str, note: &str, bundle: Vec<u8>) -> String {
    let form = reqwest::multipart::Form::new()
        .text("version", version.to_string())
        .text("note", note.to_string())
        .part("bundle", reqwest::multipart::Part::bytes(bundle).file_name("bundle.tar.gz"));
    let r = c
        .post(server.url(&format!("/w/Acme/mini-programs/{mp}/versions/upload")))
        .header("origin", server.base.clone())
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{:?}", r.headers());
    r.headers()["location"].to_str().unwrap().to_string()
}

/// What `mpdp studio versions` lists for the mini program `mp`, with the Upload Key `key` from
/// the environment; the command must succeed.
pub fn studio_versions(server: &Server, mp: &str, key: &str) -> String {
    let out = std::process::Command::new(bin())
        .args(["studio", "versions", "--server", &server.base, "--mini-program", mp])
        .env("MPDP_UPLOAD_KEY", key)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).to_string()
}
