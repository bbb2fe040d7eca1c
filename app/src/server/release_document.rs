//! The release document: everything a container needs to decide what to run without asking the
//! origin, published per App and Accessing Key to the release target (see
//! [`crate::server::publish`]), and read
//! by containers from a CDN. The server writes it; `mpdp dev fleet --cdn` reads it as a
//! container does, with the same [`choose`] the server's own answers follow.
//!
//! ```text
//! {
//!   "format": "mpdp-release-1",
//!   "app": "<App id>",
//!   "sequence": 1733400000000, "issued": "<RFC 3339>", "expires": "<issued + 24 h>",
//!   "test_devices": ["<SHA-256 hex of an install id>", …],
//!   "mini_programs": [
//!     { "id": "<mini program id>",
//!       "stable": [<manifest>, …],            // the stable, then fallbacks for older containers
//!       "candidate": { "rollout": 250,         // per mille
//!                      "seed": "<32 hex>",      // the release's order of the cohorts
//!                      "manifest": <manifest> } }   // absent when none is rolling out
//!   ],
//!   "platform_signature": "<Ed25519 over the canonical bytes, like a manifest's>"
//! }
//! ```
//!
//! Its path under the target's prefix is `releases/<id>.json`, where `<id>` is the lowercase hex
//! SHA-256 of (the SHA-256 of the Accessing Key as UTF-8, 32 bytes) followed by the ASCII bytes
//! `mpdp-release-1` ([`path_for_key_hash`]): a container computes it from its key, the server
//! from the key's hash it already stores, and nobody from what is published.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::server::keys;
use crate::server::manifest::{canonical_bytes, Manifest, ManifestError, LIST_VALIDITY};
use crate::server::rollout::{cohort, Order};

/// The `format` of release documents this build writes and reads.
pub const FORMAT: &str = "mpdp-release-1";

/// Where release documents are, under the target's prefix.
pub const DIRECTORY: &str = "releases";

/// What a release document says, apart from its stamp and signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseBody {
    pub app: String,
    /// The SHA-256 (lowercase hex) of each of the App's test devices' install ids, sorted: a
    /// test device gets every candidate its container can run.
    pub test_devices: Vec<String>,
    /// In the order of the container list: by name.
    pub mini_programs: Vec<Entry>,
}

/// One mini program released to the App.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub id: String,
    /// The stable version's manifest, then those of older versions for containers too old for
    /// it, each needing an older container than the one before; empty when only a candidate is
    /// released.
    pub stable: Vec<Manifest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate: Option<Candidate>,
}

/// A candidate rolling out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    /// Per mille of the cohorts that get it.
    pub rollout: u16,
    /// The release's seed (hex), which orders the cohorts (see [`crate::server::rollout`]).
    pub seed: String,
    pub manifest: Manifest,
}

/// A release document as published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseDocument {
    pub format: String,
    /// Rises with every document published for the App's key; a container refuses a lower one.
    pub sequence: u64,
    /// RFC 3339, UTC.
    pub issued: String,
    /// RFC 3339, UTC: `issued` plus 24 hours. The server signs it anew well before.
    pub expires: String,
    #[serde(flatten)]
    pub body: ReleaseBody,
    #[serde(default)]
    pub platform_signature: String,
}

/// The document's path under the target's prefix for the Accessing Key whose SHA-256 is
/// `key_hash`.
pub fn path_for_key_hash(key_hash: &[u8; 32]) -> String {
    let mut h = Sha256::new();
    h.update(key_hash);
    h.update(FORMAT.as_bytes());
    format!("{DIRECTORY}/{}.json", hex::encode(h.finalize()))
}

/// [`path_for_key_hash`] for the key itself, as a container computes it.
pub fn path_for_key(key: &str) -> String {
    path_for_key_hash(&keys::access_key_hash(key))
}

impl ReleaseBody {
    /// The SHA-256 (hex) of the body's canonical bytes: the same for the same content, whenever
    /// it was signed.
    pub fn digest(&self) -> Result<String, ManifestError> {
        let value = serde_json::to_value(self).map_err(|e| ManifestError::Fields(e.to_string()))?;
        Ok(keys::sha256_hex(&canonical_bytes(&value)?))
    }

    /// The document for this body, stamped `sequence` at `issued`, signed with the platform
    /// key's `seed`: its bytes.
    pub fn sign(&self, sequence: u64, issued: DateTime<Utc>, seed: &[u8; 32]) -> Result<Vec<u8>, ManifestError> {
        let expires = issued + chrono::Duration::from_std(LIST_VALIDITY).unwrap_or_default();
        let mut doc = ReleaseDocument {
            format: FORMAT.to_string(),
            sequence,
            issued: issued.to_rfc3339_opts(SecondsFormat::Secs, true),
            expires: expires.to_rfc3339_opts(SecondsFormat::Secs, true),
            body: self.clone(),
            platform_signature: String::new(),
        };
        let value = serde_json::to_value(&doc).map_err(|e| ManifestError::Fields(e.to_string()))?;
        doc.platform_signature = keys::sign(seed, &canonical_bytes(&value)?);
        serde_json::to_vec(&doc).map_err(|e| ManifestError::Fields(e.to_string()))
    }
}

/// Checks a release document as fetched: the platform's signature over every field it has, its
/// format, and that it has not expired at `now`. Each manifest in it is checked further with
/// [`crate::server::manifest::verify_uploader`] and `verify_bundle`, as a list's are.
pub fn verify(raw: &[u8], platform_public: &[u8; 32], now: DateTime<Utc>) -> Result<ReleaseDocument, ManifestError> {
    let value: Value = serde_json::from_slice(raw).map_err(|e| ManifestError::NotJson(e.to_string()))?;
    let signature = value.get("platform_signature").and_then(Value::as_str).ok_or(ManifestError::SignatureMissing)?.to_string();
    if !keys::verify(platform_public, &canonical_bytes(&value)?, &signature) {
        return Err(ManifestError::PlatformSignature);
    }
    let format = value.get("format").and_then(Value::as_str).unwrap_or_default();
    if format != FORMAT {
        return Err(ManifestError::DocumentFormat(format.to_string()));
    }
    let doc: ReleaseDocument = serde_json::from_value(value).map_err(|e| ManifestError::Fields(e.to_string()))?;
    let expires = DateTime::parse_from_rfc3339(&doc.expires).map_err(|_| ManifestError::Fields(format!("expires {:?} is not an RFC 3339 time", doc.expires)))?;
    if now >= expires {
        return Err(ManifestError::DocumentExpired(doc.expires.clone()));
    }
    Ok(doc)
}

/// Whether a container of version `container` (`None`: it does not say) can run `m`.
fn runs(m: &Manifest, container: Option<&semver::Version>) -> bool {
    match &m.min_container_version {
        None => true,
        Some(min) => match (semver::Version::parse(min), container) {
            (Ok(min), Some(v)) => min.cmp_precedence(v).is_le(),
            _ => false,
        },
    }
}

/// What an install runs of each mini program in `body`, in order, as the origin's container
/// list would answer it: the candidate when the install is one of the test devices or its
/// cohort is within the rollout — and its container can run it; otherwise the first of `stable`
/// its container can run; nothing when it can run none of them. Without an install id, no
/// candidate.
pub fn choose<'a>(body: &'a ReleaseBody, install: Option<&str>, container: Option<&semver::Version>) -> Vec<&'a Manifest> {
    let app = Uuid::parse_str(&body.app).unwrap_or_default();
    let test_device = install.is_some_and(|i| body.test_devices.binary_search(&keys::sha256_hex(i.as_bytes())).is_ok());
    let c = install.map(|i| cohort(app, i));
    body.mini_programs
        .iter()
        .filter_map(|e| {
            let candidate = e.candidate.as_ref().filter(|cand| {
                runs(&cand.manifest, container) && (test_device || c.is_some_and(|c| Order::of(&cand.seed).includes(c, cand.rollout)))
            });
            match candidate {
                Some(cand) => Some(&cand.manifest),
                None => e.stable.iter().find(|m| runs(m, container)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_is_derived_from_the_key_as_documented() {
        let key = "mpak_example";
        let mut h = Sha256::new();
        h.update(Sha256::digest(key.as_bytes()));
        h.update(b"mpdp-release-1");
        assert_eq!(path_for_key(key), format!("releases/{}.json", hex::encode(h.finalize())));
        assert_ne!(path_for_key(key), path_for_key("mpak_other"));
    }

    #[test]
    fn a_signed_document_verifies_and_any_change_or_expiry_is_refused() {
        let seed = [7u8; 32];
        let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key().to_bytes();
        let body = ReleaseBody { app: Uuid::from_u128(1).to_string(), test_devices: vec![], mini_programs: vec![] };
        let issued: DateTime<Utc> = "2026-12-05T10:00:00Z".parse().unwrap();
        let raw = body.sign(5, issued, &seed).unwrap();
        let doc = verify(&raw, &public, issued).unwrap();
        assert_eq!((doc.sequence, doc.body.clone()), (5, body.clone()));
        assert_eq!(doc.expires, "2026-12-06T10:00:00Z");
        let changed = String::from_utf8(raw.clone()).unwrap().replace("\"sequence\":5", "\"sequence\":6");
        assert!(matches!(verify(changed.as_bytes(), &public, issued), Err(ManifestError::PlatformSignature)));
        assert!(matches!(verify(&raw, &public, issued + chrono::Duration::hours(24)), Err(ManifestError::DocumentExpired(_))));
        // The digest ignores the stamp.
        let again = body.sign(6, issued + chrono::Duration::hours(1), &seed).unwrap();
        assert_ne!(raw, again);
        assert_eq!(body.digest().unwrap(), verify(&again, &public, issued).unwrap().body.digest().unwrap());
    }
}
