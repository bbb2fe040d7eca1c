//! The manifest a container gets for each mini program released to its App, and how it is
//! signed and checked — shared by the server, which signs, and `mpdp studio verify`, which checks.
//!
//! A manifest carries two signatures:
//!
//! - the **uploader's** (`uploader.signature`): the Ed25519 signature that came with the upload,
//!   by the App's Upload Key (`uploader.key` is its id) or, for a bundle uploaded in the console,
//!   by the workspace's platform key (`uploader.key` is `"console"`), over
//!   [`keys::upload_message`]`(id, version, uploader.sha256, uploader.size, uploader.signed_ts,
//!   uploader.signed_nonce)`; `uploader.public_key` is the key that made it. `uploader.sha256`
//!   and `uploader.size` are those of the bytes that were uploaded;
//! - the **platform's** (`platform_signature`): the workspace's platform key's Ed25519 signature
//!   over the manifest's [canonical bytes](canonical_bytes), which vouches for every other field,
//!   the uploader's public key and `bundle` included. `bundle.sha256` and `bundle.size` are those
//!   of the canonical archive the platform re-packed from the checked upload (see
//!   `server::archive`), which is what the container downloads: the platform vouches for exactly
//!   what it checked. A bundle packed by `mpdp studio upload` is already canonical, so both
//!   digests are then the same.
//!
//! Public keys and signatures are unpadded base64url; hashes are lowercase hex.
//!
//! `format` `mpdp-manifest-2` added `uploader.sha256` and `uploader.size`; in
//! `mpdp-manifest-1` the uploader signed `bundle.sha256` and `bundle.size`.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::server::keys;

/// The `format` of manifests this build writes and reads.
pub const FORMAT: &str = "mpdp-manifest-2";
/// The `format` of container lists this build writes and reads.
pub const LIST_FORMAT: &str = "mpdp-list-1";
/// The `format` of the platform-key answer (`GET /api/container/v1/platform-key`).
pub const PLATFORM_KEY_FORMAT: &str = "mpdp-platform-key-1";
/// How long a container list is valid after it was issued; the server issues a new one well
/// before (see [`LIST_RESIGN`]).
pub const LIST_VALIDITY: std::time::Duration = std::time::Duration::from_secs(24 * 3600);
/// How often the server issues its lists anew even when nothing changed.
pub const LIST_RESIGN: std::time::Duration = std::time::Duration::from_secs(3600);

/// A container list as signed: `GET /api/container/v1/mini-programs` answers it. Its
/// `platform_signature` covers the canonical bytes of everything else, like a manifest's.
/// `sequence` rises with every list the server issues, and `expires` is `issued` plus
/// 24 hours: a container keeps the highest sequence it accepted and refuses a lower one
/// or an expired list, so an old list can't be replayed as the current one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SignedList {
    /// Always `mpdp-list-1`.
    pub format: String,
    /// The App the list was made for.
    pub app: String,
    /// Rises with every list the server issues.
    pub sequence: u64,
    /// RFC 3339, UTC.
    pub issued: String,
    /// RFC 3339, UTC.
    pub expires: String,
    /// The manifests the install gets, sorted by name.
    pub mini_programs: Vec<Manifest>,
    /// The platform key's Ed25519 signature of the canonical bytes of every other field
    /// (unpadded base64url).
    pub platform_signature: String,
}

/// The answer of `GET /api/container/v1/platform-key`: the public half of the platform key that
/// signs what the App is served. For bootstrapping only — a host app ships this key and trusts
/// no key it is sent, or whoever answers could sign for the platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlatformKey {
    pub format: String,
    /// The App the Accessing Key belongs to.
    pub app: String,
    /// Always `Ed25519`.
    pub algorithm: String,
    /// The 32-byte public key, unpadded base64url (43 characters).
    pub platform_key: String,
}

impl PlatformKey {
    pub fn new(app: uuid::Uuid, seed: &[u8; 32]) -> PlatformKey {
        PlatformKey {
            format: PLATFORM_KEY_FORMAT.into(),
            app: app.to_string(),
            algorithm: "Ed25519".into(),
            platform_key: keys::public_key_text(&keys::public_key_of(seed)),
        }
    }
}

/// Checks a container list as received: the platform's signature (over every field it has),
/// its format, and that it has not expired at `now`. Each manifest in it is checked further
/// with [`verify_uploader`] and [`verify_bundle`].
pub fn verify_list(raw: &[u8], platform_public: &[u8; 32], now: chrono::DateTime<chrono::Utc>) -> Result<SignedList, ManifestError> {
    let value: Value = serde_json::from_slice(raw).map_err(|e| ManifestError::NotJson(e.to_string()))?;
    let signature = value.get(SIGNATURE_FIELD).and_then(Value::as_str).ok_or(ManifestError::SignatureMissing)?.to_string();
    if !keys::verify(platform_public, &canonical_bytes(&value)?, &signature) {
        return Err(ManifestError::PlatformSignature);
    }
    if let Some(format) = value.get("format").and_then(Value::as_str) {
        if format != LIST_FORMAT {
            return Err(ManifestError::ListFormat(format.to_string()));
        }
    }
    let list: SignedList = serde_json::from_value(value).map_err(|e| ManifestError::Fields(e.to_string()))?;
    let expires = chrono::DateTime::parse_from_rfc3339(&list.expires).map_err(|_| ManifestError::Fields(format!("expires {:?} is not an RFC 3339 time", list.expires)))?;
    if now >= expires {
        return Err(ManifestError::ListExpired(list.expires.clone()));
    }
    Ok(list)
}

/// [`verify_list`] at the current time.
pub fn verify_list_now(raw: &[u8], platform_public: &[u8; 32]) -> Result<SignedList, ManifestError> {
    verify_list(raw, platform_public, chrono::Utc::now())
}

/// The field that holds the platform's signature, left out of the canonical bytes.
pub const SIGNATURE_FIELD: &str = "platform_signature";
/// `uploader.key` of a bundle uploaded in the console (signed by the platform key).
pub const CONSOLE_UPLOADER: &str = "console";

/// What a container needs to fetch, check and run one mini program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Manifest {
    /// Always `mpdp-manifest-2`.
    pub format: String,
    /// The App this manifest was made for.
    pub app: String,
    /// The mini program's id.
    pub id: String,
    pub name: String,
    /// Absent when the mini program has no icon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<IconRef>,
    /// The released version.
    pub version: String,
    pub bundle: BundleRef,
    /// The oldest container version that can run the bundle (SemVer); absent: any container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_container_version: Option<String>,
    /// Activated features, in activation order.
    pub features: Vec<String>,
    /// When this version was released to the App (RFC 3339, UTC).
    pub released: String,
    pub uploader: Uploader,
    /// The platform's signature of the canonical bytes; empty before signing.
    #[serde(default)]
    pub platform_signature: String,
}

/// Where the icon is and what it hashes to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IconRef {
    /// A path on the platform's server.
    pub url: String,
    pub sha256: String,
}

/// Where the bundle is and what it must hash to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BundleRef {
    /// A path on the platform's server.
    pub url: String,
    pub sha256: String,
    pub size: u64,
}

/// Who signed the upload, and the signature with what it signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Uploader {
    /// The Upload Key's id (16 hex digits), or `console` for a bundle uploaded in the console.
    pub key: String,
    /// The public key that made `signature`.
    pub public_key: String,
    /// The sha256 and size of the bytes uploaded (before the platform re-packed them).
    pub sha256: String,
    pub size: u64,
    pub signed_ts: i64,
    pub signed_nonce: String,
    pub signature: String,
}

/// Why a manifest, or a bundle against it, does not check out: each names the field and the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("the manifest is not JSON: {0}")]
    NotJson(String),
    #[error("the manifest must be a JSON object")]
    NotAnObject,
    #[error("{0}: numbers in a manifest are whole numbers; a fraction or exponent has no canonical form")]
    NotAnInteger(String),
    #[error("platform_signature is missing or not a string")]
    SignatureMissing,
    #[error("platform_signature does not verify with the platform key: the manifest was changed after signing, or another key signed it")]
    PlatformSignature,
    #[error("the manifest does not have the fields of {FORMAT}: {0}")]
    Fields(String),
    #[error("format is {0:?}; this build reads {FORMAT}")]
    Format(String),
    #[error("the list's format is {0:?}; this build reads {LIST_FORMAT}")]
    ListFormat(String),
    #[error("the list expired at {0}: it is an old list, not the current one (ask the server again)")]
    ListExpired(String),
    #[error("the release document's format is {0:?}; this build reads mpdp-release-1")]
    DocumentFormat(String),
    #[error("the release document expired at {0}: it is an old one, not the current one (fetch it again)")]
    DocumentExpired(String),
    #[error("app is {0}, not the App {1} this was checked for")]
    WrongApp(String, String),
    #[error("the manifest of {0} is not in the list, or differs from the list's")]
    NotInList(String),
    #[error("uploader.public_key is not an Ed25519 public key (43 base64url characters)")]
    UploaderKeyMalformed,
    #[error("uploader.key {0:?} is not the id of uploader.public_key (expected {1})")]
    UploaderKeyId(String, String),
    #[error("uploader.key is \"console\" but uploader.public_key is not the platform key")]
    ConsoleKey,
    #[error("uploader.signature does not verify: it was not made by uploader.public_key over this id, version, uploader.sha256, uploader.size, signed_ts and signed_nonce")]
    UploaderSignature,
    #[error("bundle.sha256: the manifest says {expected} but the bundle's is {actual}")]
    BundleSha256 { expected: String, actual: String },
    #[error("bundle.size: the manifest says {expected} bytes but the bundle has {actual}")]
    BundleSize { expected: u64, actual: u64 },
}

/// The bytes the platform signs: the manifest as JSON without its top-level
/// `platform_signature` field, with every object's keys sorted by their bytes (all are ASCII),
/// no whitespace, strings escaped as JSON requires and nothing more (`"` `\` and control
/// characters; `\b \f \n \r \t` by name, the rest as `\u00xx` in lowercase hex; everything else,
/// `/` and non-ASCII included, as itself in UTF-8), whole numbers in decimal. For a manifest this
/// is exactly RFC 8785 (the JSON Canonicalization Scheme), so any JCS library, or
/// `JSON.stringify` with sorted keys, makes the same bytes.
pub fn canonical_bytes(manifest: &Value) -> Result<Vec<u8>, ManifestError> {
    let Value::Object(fields) = manifest else {
        return Err(ManifestError::NotAnObject);
    };
    let mut out = String::new();
    write_object(fields, &mut out, true)?;
    Ok(out.into_bytes())
}

fn write_object(fields: &serde_json::Map<String, Value>, out: &mut String, top: bool) -> Result<(), ManifestError> {
    let mut keys: Vec<&String> = fields.keys().filter(|k| !(top && k.as_str() == SIGNATURE_FIELD)).collect();
    // RFC 8785 §3.2.3: by UTF-16 code units (as JavaScript's sort), which differs from byte
    // order only for keys mixing characters above U+FFFF with ones in U+E000–U+FFFF.
    keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
    out.push('{');
    for (i, key) in keys.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(key, out);
        out.push(':');
        write_value(key, &fields[key], out)?;
    }
    out.push('}');
    Ok(())
}

fn write_value(name: &str, value: &Value, out: &mut String) -> Result<(), ManifestError> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => {
                let _ = write!(out, "{i}");
            }
            (None, Some(u)) => {
                let _ = write!(out, "{u}");
            }
            _ => return Err(ManifestError::NotAnInteger(name.to_string())),
        },
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(name, item, out)?;
            }
            out.push(']');
        }
        Value::Object(fields) => write_object(fields, out, false)?,
    }
    Ok(())
}

/// A JSON string with only the escapes JSON requires (RFC 8785 §3.2.2.2).
fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

impl Manifest {
    /// The manifest with the platform's signature (by the workspace's platform key's seed).
    pub fn signed(mut self, platform_seed: &[u8; 32]) -> Result<Manifest, ManifestError> {
        self.platform_signature = String::new();
        let value = serde_json::to_value(&self).map_err(|e| ManifestError::Fields(e.to_string()))?;
        self.platform_signature = keys::sign(platform_seed, &canonical_bytes(&value)?);
        Ok(self)
    }

    /// What the uploader signed.
    pub fn upload_message(&self) -> String {
        keys::upload_message(&self.id, &self.version, &self.uploader.sha256, self.uploader.size, self.uploader.signed_ts, &self.uploader.signed_nonce)
    }
}

/// Checks the platform's signature over a manifest as received (every field it has, known to this
/// build or not), then reads it. The key is the one the container trusts (shown on the console's
/// App detail page), never one taken from the manifest.
pub fn verify_platform(raw: &[u8], platform_public: &[u8; 32]) -> Result<Manifest, ManifestError> {
    let value: Value = serde_json::from_slice(raw).map_err(|e| ManifestError::NotJson(e.to_string()))?;
    let signature = value
        .get(SIGNATURE_FIELD)
        .and_then(Value::as_str)
        .ok_or(ManifestError::SignatureMissing)?
        .to_string();
    if !keys::verify(platform_public, &canonical_bytes(&value)?, &signature) {
        return Err(ManifestError::PlatformSignature);
    }
    if let Some(format) = value.get("format").and_then(Value::as_str) {
        if format != FORMAT {
            return Err(ManifestError::Format(format.to_string()));
        }
    }
    serde_json::from_value(value).map_err(|e| ManifestError::Fields(e.to_string()))
}

/// Who signed the upload, once checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignedBy {
    /// The Upload Key with this id.
    UploadKey(String),
    /// The workspace's platform key, for a bundle uploaded in the console.
    Console,
}

/// Checks the uploader's signature: its public key matches the key named (`console`: the platform
/// key), and the signature verifies over the upload message the manifest's fields make.
pub fn verify_uploader(manifest: &Manifest, platform_public: &[u8; 32]) -> Result<SignedBy, ManifestError> {
    let public = keys::parse_public_key(&manifest.uploader.public_key).ok_or(ManifestError::UploaderKeyMalformed)?;
    let by = if manifest.uploader.key == CONSOLE_UPLOADER {
        if &public != platform_public {
            return Err(ManifestError::ConsoleKey);
        }
        SignedBy::Console
    } else {
        let id = keys::key_id(&public);
        if manifest.uploader.key != id {
            return Err(ManifestError::UploaderKeyId(manifest.uploader.key.clone(), id));
        }
        SignedBy::UploadKey(id)
    };
    if !keys::verify(&public, manifest.upload_message().as_bytes(), &manifest.uploader.signature) {
        return Err(ManifestError::UploaderSignature);
    }
    Ok(by)
}

/// Checks a downloaded bundle's sha256 (lowercase hex) and size against the manifest.
pub fn verify_bundle(manifest: &Manifest, sha256: &str, size: u64) -> Result<(), ManifestError> {
    if !manifest.bundle.sha256.eq_ignore_ascii_case(sha256) {
        return Err(ManifestError::BundleSha256 { expected: manifest.bundle.sha256.clone(), actual: sha256.to_string() });
    }
    if manifest.bundle.size != size {
        return Err(ManifestError::BundleSize { expected: manifest.bundle.size, actual: size });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MP: &str = "0190a0b1-c2d3-7e4f-8a9b-0c1d2e3f4a5b";

    /// A manifest of a Studio upload: the Upload Key signs, the platform key signs the manifest.
    fn studio_manifest() -> (Manifest, [u8; 32], Vec<u8>) {
        let (upload, _) = keys::new_upload_key();
        let key = keys::parse_upload_key(&upload).unwrap();
        let (seed, platform) = keys::new_platform_key();
        let bundle = b"the bundle's bytes".to_vec();
        let sha = keys::sha256_hex(&bundle);
        let header = keys::SignatureHeader::parse(&keys::sign_upload(&key, MP, "1.2.3", &sha, bundle.len() as u64, 1_700_000_000)).unwrap();
        let m = Manifest {
            format: FORMAT.into(),
            app: "0190a0b1-0000-7000-8000-000000000001".into(),
            id: MP.into(),
            name: "Coupons \"große\" \u{1}\n/é".into(),
            icon: Some(IconRef { url: format!("/api/container/v1/mini-programs/{MP}/icon"), sha256: "ab".repeat(32) }),
            version: "1.2.3".into(),
            bundle: BundleRef { url: format!("/api/container/v1/bundles/{sha}"), sha256: sha, size: bundle.len() as u64 },
            min_container_version: None,
            features: vec!["location".into(), "payment".into()],
            released: "2025-01-02T03:04:05Z".into(),
            uploader: Uploader {
                key: header.key,
                public_key: keys::public_key_text(&key.verifying_key().to_bytes()),
                sha256: keys::sha256_hex(&bundle),
                size: bundle.len() as u64,
                signed_ts: header.ts,
                signed_nonce: header.nonce,
                signature: header.sig,
            },
            platform_signature: String::new(),
        }
        .signed(&seed)
        .unwrap();
        (m, platform, bundle)
    }

    #[test]
    fn the_canonical_form_sorts_keys_drops_the_signature_and_escapes_only_what_json_requires() {
        let value = serde_json::json!({
            "z": [3, -1, {"b": true, "a": null}],
            "platform_signature": "left out",
            "a": "q\"b\\s/é\u{1f}\t",
            "m": {"platform_signature": "kept below the top", "k": 18446744073709551615u64},
        });
        let bytes = canonical_bytes(&value).unwrap();
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            r#"{"a":"q\"b\\s/é\u001f\t","m":{"k":18446744073709551615,"platform_signature":"kept below the top"},"z":[3,-1,{"a":null,"b":true}]}"#
        );
        // The order fields arrive in does not matter; fractions have no canonical form.
        let reordered: Value = serde_json::from_str(r#"{"m":{"k":18446744073709551615,"platform_signature":"kept below the top"},"a":"q\"b\\s/é\u001f\t","z":[3,-1,{"b":true,"a":null}]}"#).unwrap();
        assert_eq!(canonical_bytes(&reordered).unwrap(), canonical_bytes(&value).unwrap());
        assert_eq!(canonical_bytes(&serde_json::json!({"n": 1.5})).unwrap_err(), ManifestError::NotAnInteger("n".into()));
        assert_eq!(canonical_bytes(&serde_json::json!([1])).unwrap_err(), ManifestError::NotAnObject);
    }

    #[test]
    fn keys_sort_by_utf16_code_units_as_rfc_8785_and_javascript_do() {
        // U+1F600 is D83D DE00 in UTF-16, so it sorts before U+FB01 (FB01), although its UTF-8
        // (F0 …) sorts after (EF …); RFC 8785's example (§3.2.3) puts U+1F600 before U+FB33 so.
        let value = serde_json::json!({"\u{fb01}": 1, "\u{1f600}": 2, "a": 3, "\u{e9}": 4});
        assert_eq!(String::from_utf8(canonical_bytes(&value).unwrap()).unwrap(), "{\"a\":3,\"\u{e9}\":4,\"\u{1f600}\":2,\"\u{fb01}\":1}");
    }

    #[test]
    fn a_signed_manifest_verifies_and_its_bundle_matches() {
        let (m, platform, bundle) = studio_manifest();
        let raw = serde_json::to_vec_pretty(&m).unwrap();
        let read = verify_platform(&raw, &platform).unwrap();
        assert_eq!(read, m);
        assert_eq!(verify_uploader(&read, &platform).unwrap(), SignedBy::UploadKey(m.uploader.key.clone()));
        verify_bundle(&read, &keys::sha256_hex(&bundle), bundle.len() as u64).unwrap();
        // Another workspace's platform key does not verify it.
        let (_, other) = keys::new_platform_key();
        assert_eq!(verify_platform(&raw, &other).unwrap_err(), ManifestError::PlatformSignature);
    }

    #[test]
    fn changing_any_field_breaks_the_platform_signature() {
        let (m, platform, _) = studio_manifest();
        let value = serde_json::to_value(&m).unwrap();
        let mut paths = Vec::new();
        fn leaves(v: &Value, path: String, out: &mut Vec<String>) {
            match v {
                Value::Object(f) => f.iter().for_each(|(k, v)| leaves(v, format!("{path}/{k}"), out)),
                Value::Array(a) => a.iter().enumerate().for_each(|(i, v)| leaves(v, format!("{path}/{i}"), out)),
                _ => out.push(path),
            }
        }
        leaves(&value, String::new(), &mut paths);
        assert!(paths.len() >= 15, "{paths:?}");
        for path in paths.iter().filter(|p| p.as_str() != "/platform_signature") {
            let mut changed = value.clone();
            let leaf = changed.pointer_mut(path).unwrap();
            *leaf = match leaf {
                Value::String(s) => Value::String(format!("{s}x")),
                Value::Number(n) => Value::from(n.as_i64().unwrap() + 1),
                other => panic!("{path}: {other}"),
            };
            let raw = serde_json::to_vec(&changed).unwrap();
            assert_eq!(verify_platform(&raw, &platform).unwrap_err(), ManifestError::PlatformSignature, "{path}");
        }
        // An added field is signed too, and so is a removed one.
        let mut added = value.clone();
        added["extra"] = Value::from("x");
        assert_eq!(verify_platform(&serde_json::to_vec(&added).unwrap(), &platform).unwrap_err(), ManifestError::PlatformSignature);
        let mut removed = value.clone();
        removed.as_object_mut().unwrap().remove("icon");
        assert_eq!(verify_platform(&serde_json::to_vec(&removed).unwrap(), &platform).unwrap_err(), ManifestError::PlatformSignature);
        let mut unsigned = value;
        unsigned.as_object_mut().unwrap().remove(SIGNATURE_FIELD);
        assert_eq!(verify_platform(&serde_json::to_vec(&unsigned).unwrap(), &platform).unwrap_err(), ManifestError::SignatureMissing);
    }

    #[test]
    fn the_uploader_signature_covers_the_upload_and_names_its_key() {
        let (m, platform, bundle) = studio_manifest();
        // Re-signed by the platform after a change, the uploader's signature still catches it.
        let (seed, platform2) = keys::new_platform_key();
        let changes: [fn(&mut Manifest); 6] = [
            |m: &mut Manifest| m.version = "1.2.4".into(),
            |m: &mut Manifest| m.id = "0190a0b1-c2d3-7e4f-8a9b-0c1d2e3f4a5c".into(),
            |m: &mut Manifest| m.uploader.sha256 = "cd".repeat(32),
            |m: &mut Manifest| m.uploader.size += 1,
            |m: &mut Manifest| m.uploader.signed_ts += 1,
            |m: &mut Manifest| m.uploader.signed_nonce = "0".repeat(32),
        ];
        for change in changes {
            let mut bad = m.clone();
            change(&mut bad);
            let bad = bad.signed(&seed).unwrap();
            let read = verify_platform(&serde_json::to_vec(&bad).unwrap(), &platform2).unwrap();
            assert_eq!(verify_uploader(&read, &platform2).unwrap_err(), ManifestError::UploaderSignature);
        }
        let mut other_key = m.clone();
        other_key.uploader.public_key = keys::public_key_text(&keys::new_upload_key().1);
        assert!(matches!(verify_uploader(&other_key, &platform).unwrap_err(), ManifestError::UploaderKeyId(..)));
        let mut garbage = m.clone();
        garbage.uploader.public_key = "not a key".into();
        assert_eq!(verify_uploader(&garbage, &platform).unwrap_err(), ManifestError::UploaderKeyMalformed);
        // Posing as a console upload needs the platform key.
        let mut console = m.clone();
        console.uploader.key = CONSOLE_UPLOADER.into();
        assert_eq!(verify_uploader(&console, &platform).unwrap_err(), ManifestError::ConsoleKey);
        // The bundle must be the one named.
        assert!(matches!(verify_bundle(&m, &keys::sha256_hex(b"other"), bundle.len() as u64).unwrap_err(), ManifestError::BundleSha256 { .. }));
        assert!(matches!(verify_bundle(&m, &keys::sha256_hex(&bundle), 1).unwrap_err(), ManifestError::BundleSize { .. }));
    }

    #[test]
    fn a_console_upload_is_signed_by_the_platform_key() {
        let (seed, platform) = keys::new_platform_key();
        let (mut m, _, _) = studio_manifest();
        m.uploader.key = CONSOLE_UPLOADER.into();
        m.uploader.public_key = keys::public_key_text(&platform);
        m.uploader.signature = keys::sign(&seed, m.upload_message().as_bytes());
        let m = m.signed(&seed).unwrap();
        let read = verify_platform(&serde_json::to_vec(&m).unwrap(), &platform).unwrap();
        assert_eq!(verify_uploader(&read, &platform).unwrap(), SignedBy::Console);
    }

    #[test]
    fn another_format_is_refused_after_its_signature() {
        let (seed, platform) = keys::new_platform_key();
        let (mut m, _, _) = studio_manifest();
        m.format = "mpdp-manifest-1".into();
        let m = m.signed(&seed).unwrap();
        assert_eq!(verify_platform(&serde_json::to_vec(&m).unwrap(), &platform).unwrap_err(), ManifestError::Format("mpdp-manifest-1".into()));
    }
}
