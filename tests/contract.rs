//! The README as a contract for clients written from it: its worked example of a signed upload
//! is recomputed byte for byte from its inputs and sent to the real server, and every code the
//! Studio and container APIs answer is in its tables.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use app::server::keys;
use common::minis::*;
use common::workspace::*;
use common::*;

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

/// The text between `<!-- worked-example -->` and `<!-- /worked-example -->`.
fn worked_example(readme: &str) -> &str {
    let start = readme.find("<!-- worked-example -->").expect("the README has a worked example");
    let end = readme[start..].find("<!-- /worked-example -->").expect("the worked example ends") + start;
    &readme[start..end]
}

/// The fenced blocks of `text`, in order.
fn blocks(text: &str) -> Vec<String> {
    text.split("```").skip(1).step_by(2).map(|b| b.strip_prefix('\n').unwrap_or(b).strip_suffix('\n').unwrap_or(b).to_string()).collect()
}

/// The worked example's inputs and what follows from them, as the README must show them.
struct Example {
    upload_key: String,
    public_key: String,
    key_id: String,
    mini_program: String,
    version: String,
    body: Vec<u8>,
    ts: i64,
    nonce: String,
}

impl Example {
    /// The example's key: the seed 00 01 02 … 1f.
    fn new() -> Example {
        let seed: [u8; 32] = std::array::from_fn(|i| i as u8);
        let upload_key = keys::upload_key_text(&seed);
        let public = keys::public_key_of(&seed);
        Example {
            upload_key,
            public_key: keys::public_key_text(&public),
            key_id: keys::key_id(&public),
            mini_program: "0193f6c2-5d1e-7a40-9b3c-1f2e3d4c5b6a".into(),
            version: "1.2.3".into(),
            body: app::server::archive::pack(&[("app.json", br#"{"pages":["pages/index"]}"#)]).unwrap(),
            ts: 1764061200,
            nonce: "8a1f0c2e9b7d4e6fa0b1c2d3e4f5a6b7".into(),
        }
    }

    fn message(&self) -> String {
        keys::upload_message(&self.mini_program, &self.version, &keys::sha256_hex(&self.body), self.body.len() as u64, self.ts, &self.nonce)
    }

    fn header(&self) -> String {
        let seed = keys::parse_upload_key(&self.upload_key).unwrap().to_bytes();
        keys::SignatureHeader {
            key: self.key_id.clone(),
            ts: self.ts,
            nonce: self.nonce.clone(),
            sha256: Some(keys::sha256_hex(&self.body)),
            size: Some(self.body.len() as u64),
            sig: keys::sign(&seed, self.message().as_bytes()),
        }
        .render()
    }

    /// The example's three blocks as the README must hold them.
    fn blocks(&self) -> Vec<String> {
        let table = [
            ("upload key", self.upload_key.clone()),
            ("public key", self.public_key.clone()),
            ("key id", self.key_id.clone()),
            ("mini program", self.mini_program.clone()),
            ("version", self.version.clone()),
            ("body size", self.body.len().to_string()),
            ("body sha256", keys::sha256_hex(&self.body)),
            ("ts", self.ts.to_string()),
            ("nonce", self.nonce.clone()),
        ]
        .iter()
        .map(|(k, v)| format!("{k:<15}{v}"))
        .collect::<Vec<_>>()
        .join("\n");
        vec![table, self.message(), format!("MPDP-Signature: {}", self.header())]
    }
}

#[test]
fn the_worked_example_is_what_the_server_checks_byte_for_byte() {
    let readme = readme();
    let section = worked_example(&readme);
    let example = Example::new();
    let expected = example.blocks();
    let shown = blocks(section);
    assert_eq!(shown, expected, "README.md's worked example differs; it should read:\n\n{}", expected.join("\n\n"));
    let digest = keys::sha256_hex(example.message().as_bytes());
    assert!(section.contains(&format!("`{digest}`")), "the message's SHA-256 in the README should be {digest}");
    // The rules it illustrates: 48 characters of key, 86 of signature, 16 hex digits of key id.
    assert_eq!(example.upload_key.len(), 48);
    assert_eq!(example.public_key.len(), 43);
    let parsed = keys::SignatureHeader::parse(&example.header()).unwrap();
    assert_eq!(parsed.sig.len(), 86);
    assert!(!example.message().ends_with('\n') && example.message().lines().count() == 7);
    // The key id is of the raw public key, not of its text.
    assert_eq!(example.key_id, &keys::sha256_hex(&keys::public_key_of(&std::array::from_fn(|i| i as u8)))[..16]);
}

#[test]
fn the_signature_grammar_is_read_as_the_readme_says() {
    let example = Example::new();
    let header = example.header();
    let parsed = keys::SignatureHeader::parse(&header).unwrap();
    // Any order, spaces around names and values, hex in either case: the same fields.
    let mut fields: Vec<&str> = header.split(',').collect();
    fields.reverse();
    let spaced = fields.iter().map(|f| f.replacen('=', " = ", 1)).collect::<Vec<_>>().join(" ,\t");
    assert_eq!(keys::SignatureHeader::parse(&spaced).unwrap(), parsed);
    let upper = header.replace(&example.nonce, &example.nonce.to_uppercase()).replace(&example.key_id, &example.key_id.to_uppercase());
    assert_eq!(keys::SignatureHeader::parse(&upper).unwrap(), parsed);
    // Unknown names are ignored; a repeated one, a missing one or a part without = is malformed.
    assert_eq!(keys::SignatureHeader::parse(&format!("{header},v=2")).unwrap(), parsed);
    assert!(keys::SignatureHeader::parse(&format!("{header},ts=1")).is_err());
    assert!(keys::SignatureHeader::parse(&header.replace(&format!(",nonce={}", example.nonce), "")).is_err());
    assert!(keys::SignatureHeader::parse(&format!("{header},x")).is_err());
    // Padding is not base64url without padding: the signature does not verify.
    let padded = keys::SignatureHeader::parse(&format!("{header}==")).unwrap();
    let public = keys::parse_public_key(&example.public_key).unwrap();
    assert!(keys::verify(&public, example.message().as_bytes(), &parsed.sig));
    assert!(!keys::verify(&public, example.message().as_bytes(), &padded.sig));
}

/// Every `"code"` the machine APIs' sources answer: `ApiError::new(StatusCode::…, "code"`,
/// the container's `unauthorized("code"`, the archive reader's `Refusal::new("code"` and the
/// key scope's `key_scope_…` codes.
fn codes_in_sources() -> BTreeSet<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("app/src/server");
    let mut files: Vec<std::path::PathBuf> = ["studio", "container"]
        .iter()
        .flat_map(|d| std::fs::read_dir(root.join(d)).unwrap().map(|e| e.unwrap().path()))
        // The console's own upload form is not a machine API.
        .filter(|p| p.file_name().is_some_and(|n| n != "console.rs" && n != "tests.rs"))
        .collect();
    files.extend(["archive.rs", "http_error.rs"].iter().map(|f| root.join(f)));
    let mut codes = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        // Tests name codes too; only the code before them answers.
        let text = text.split("#[cfg(test)]").next().unwrap();
        for opener in ["ApiError::new(", "unauthorized(", "Refusal::new("] {
            for (i, _) in text.match_indices(opener) {
                let mut rest = text[i + opener.len()..].trim_start();
                if opener.starts_with("ApiError") {
                    rest = rest.split_once(',').map_or("", |(_, r)| r).trim_start();
                }
                if let Some(quoted) = rest.strip_prefix('"') {
                    codes.insert(quoted.split('"').next().unwrap().to_string());
                }
            }
        }
    }
    // The key scope's refusals (`ScopeRefusal::code`).
    let scope = std::fs::read_to_string(root.join("store/apps.rs")).unwrap();
    for (i, _) in scope.match_indices("\"key_scope_") {
        codes.insert(scope[i + 1..].split('"').next().unwrap().to_string());
    }
    codes
}

#[test]
fn every_code_the_apis_answer_is_in_the_readme() {
    let codes = codes_in_sources();
    // The scan finds what it should: a code of each kind of source.
    for known in ["signature_malformed", "unknown_key", "authorization_missing", "archive_link", "key_scope_address", "range_not_satisfiable", "internal", "token_scope"] {
        assert!(codes.contains(known), "the scan missed {known}: {codes:?}");
    }
    let readme = readme();
    let missing: Vec<&String> = codes.iter().filter(|c| c.as_str() != app::server::archive::IO_FAILURE && !readme.contains(&format!("`{c}`"))).collect();
    assert!(missing.is_empty(), "codes the APIs answer that README.md does not list: {missing:?}");
    // The kinds a use case's refusal keeps on the Studio API.
    for kind in ["invalid", "conflict", "forbidden", "not_found", "second_factor_required"] {
        assert!(readme.contains(&format!("`{kind}`")), "README.md does not list {kind}");
    }
}

/// The worked example's message, signed by an Upload Key the server knows, is accepted as is:
/// the README's way of signing is the server's.
#[tokio::test]
async fn a_client_written_from_the_readme_uploads_and_reads_the_platform_key() {
    let (server, _op, ann) = acme().await;
    let app = create_android_app(&ann, &server, "Super", "com.acme.super").await;
    let mp = create_mini_program(&ann, &server, "Coupons", "Shopping").await;
    // The README's steps, with the App's own Upload Key, the current time and a new nonce.
    let mut example = Example::new();
    example.upload_key = app.upload_key.clone();
    let key = keys::parse_upload_key(&example.upload_key).unwrap();
    example.key_id = keys::key_id(&key.verifying_key().to_bytes());
    example.mini_program = mp.clone();
    example.ts = unix_now() as i64;
    example.nonce = keys::new_nonce();
    // The path's id in capitals and the version with spaces: the message has neither.
    let url = server.url(&format!("/api/studio/v1/mini-programs/{}/versions", mp.to_uppercase()));
    let send = |example: &Example| {
        client()
            .post(&url)
            .header("mpdp-signature", example.header())
            .header("mpdp-version", format!(" {} ", example.version))
            .body(example.body.clone())
            .send()
    };
    let r = send(&example).await.unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let answer: serde_json::Value = r.json().await.unwrap();
    assert_eq!(answer["version"]["version"], "1.2.3");
    assert_eq!(answer["version"]["state"], "Uploaded");
    assert_eq!(answer["version"]["sha256"], keys::sha256_hex(&example.body).as_str(), "a canonical upload is stored as sent");
    assert!(answer["version"]["min_container"].is_null());
    assert!(answer["console_url"].as_str().unwrap().ends_with(&format!("/w/Acme/mini-programs/{mp}")), "{answer}");
    // The same request again is a replay; a ts 301 s off is stale.
    let r = send(&example).await.unwrap();
    assert_eq!((r.status().as_u16(), r.json::<serde_json::Value>().await.unwrap()["error"]["code"].clone()), (401, "replayed".into()));
    // Build metadata has no precedence (SemVer §10): 1.2.3+build.2 is not higher than 1.2.3.
    example.version = "1.2.3+build.2".into();
    example.nonce = keys::new_nonce();
    let r = send(&example).await.unwrap();
    assert_eq!((r.status().as_u16(), r.json::<serde_json::Value>().await.unwrap()["error"]["code"].clone()), (409, "version_not_higher".into()));
    example.version = "1.2.4".into();
    example.nonce = keys::new_nonce();
    example.ts = unix_now() as i64 - 301;
    let r = send(&example).await.unwrap();
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["error"]["code"], "stale_timestamp");

    // The platform key, over HTTP and from the command line, is the one the App's page shows.
    let shown = call(&ann, &server, "get-app", &[("workspace", "Acme"), ("id", &app.id)]).await.json()["platform_public_key"].as_str().unwrap().to_string();
    let r = client().get(server.url("/api/container/v1/platform-key")).bearer_auth(&app.access_key).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(r.headers()["cache-control"], "no-cache");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"format": "mpdp-platform-key-1", "app": app.id, "algorithm": "Ed25519", "platform_key": shown}));
    let r = client().get(server.url("/api/container/v1/platform-key")).bearer_auth(&app.access_key).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(r.status(), 304);
    for (key, code) in [(None, "authorization_missing"), (Some(app.upload_key.as_str()), "wrong_key_kind"), (Some("mpak_AAAA"), "unknown_key")] {
        let mut req = client().get(server.url("/api/container/v1/platform-key"));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 401);
        assert!(r.headers().contains_key("www-authenticate"));
        assert_eq!(r.json::<serde_json::Value>().await.unwrap()["error"]["code"], code);
    }
    let cli = |key: &str| std::process::Command::new(bin()).args(["studio", "platform-key", "--server", &server.base]).env("MPDP_ACCESS_KEY", key).output().unwrap();
    let out = cli(&app.access_key);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), format!("{shown}\n"), "the key alone on standard output");
    let out = cli(&app.upload_key);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--key: this is an Upload Key"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = cli("mpak_AAAA");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown_key"), "{}", String::from_utf8_lossy(&out.stderr));
}

/// `mpdp dev seed` names the App and its platform key, and they are what the container is
/// served: the list is the App's and verifies with that key.
#[tokio::test]
async fn dev_seed_prints_the_app_and_its_platform_key() {
    let dir = DataDir::new();
    let out = std::process::Command::new(bin())
        .args(["dev", "seed", "--data-dir", dir.path().to_str().unwrap(), "--workspaces", "1", "--members", "3", "--approvals", "0", "--bundle-kib", "1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let value = |name: &str| stdout.lines().find_map(|l| l.strip_prefix(&format!("{name}="))).unwrap_or_else(|| panic!("no {name}= in {stdout}")).to_string();
    let (app, platform_key, access_key) = (value("APP"), value("PLATFORM_KEY"), value("ACCESSING_KEY"));
    let server = Server::start_in(&dir, &[]);
    let r = client().get(server.url("/api/container/v1/mini-programs")).bearer_auth(&access_key).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let list = r.bytes().await.unwrap();
    let platform = keys::parse_public_key(&platform_key).expect("PLATFORM_KEY is a public key");
    let read = app::server::manifest::verify_list_now(&list, &platform).unwrap();
    assert_eq!(read.app, app);
    assert!(!read.mini_programs.is_empty(), "the seeded releases are served");
}
