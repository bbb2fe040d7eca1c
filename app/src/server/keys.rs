//! The keys of an App and of a workspace, and the Studio's signature format.
//!
//! - **Accessing Key** (`mpak_` + base64url of 32 random bytes): a bearer secret for the
//!   container API. Only its SHA-256 is stored (the key is random, so a slow hash adds nothing).
//! - **Upload Key** (`mpuk_` + base64url of a 32-byte Ed25519 seed): the developer's tools sign
//!   with it; the server keeps only the public key, so nothing stored can upload.
//! - **Key id**: the first 16 hex digits of SHA-256 of the public key (upload) or of the secret's
//!   hash (accessing); it names a key in the console, the audit log and signatures.
//! - **Platform signing key**: one Ed25519 key pair per workspace; it signs manifests and
//!   browser uploads. Its private part never appears in a response, a log or an export.
//!
//! An upload carries `MPDP-Signature: key=<id>,ts=<unix seconds>,nonce=<32 hex>,
//! sha256=<64 hex>,size=<bytes>,sig=<base64url>`, where `sig` is the Ed25519 signature of
//! [`upload_message`]. A version listing carries the same header without `sha256` and `size`,
//! signing [`list_message`].

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use rand::RngCore;
use sha2::{Digest, Sha256};

pub const ACCESS_PREFIX: &str = "mpak_";
pub const UPLOAD_PREFIX: &str = "mpuk_";
/// The signature header of the Studio API.
pub const SIGNATURE_HEADER: &str = "mpdp-signature";

/// SHA-256 as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

fn random32() -> [u8; 32] {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b
}

/// A new Accessing Key: (the key as shown once, the SHA-256 kept).
pub fn new_access_key() -> (String, [u8; 32]) {
    let key = format!("{ACCESS_PREFIX}{}", B64.encode(random32()));
    let hash = access_key_hash(&key);
    (key, hash)
}

/// What is stored of an Accessing Key.
pub fn access_key_hash(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// A new Upload Key: (the key as shown once, its public key).
pub fn new_upload_key() -> (String, [u8; 32]) {
    let seed = random32();
    (upload_key_text(&seed), public_key_of(&seed))
}

/// An Upload Key's text: `mpuk_` and the seed in unpadded base64url (48 characters).
pub fn upload_key_text(seed: &[u8; 32]) -> String {
    format!("{UPLOAD_PREFIX}{}", B64.encode(seed))
}

/// The signing key of an `mpuk_…` text.
pub fn parse_upload_key(text: &str) -> Option<SigningKey> {
    let seed = B64.decode(text.trim().strip_prefix(UPLOAD_PREFIX)?).ok()?;
    let seed: [u8; 32] = seed.try_into().ok()?;
    Some(SigningKey::from_bytes(&seed))
}

/// A key's id from the bytes it is known by (public key, or secret hash).
pub fn key_id(bytes: &[u8; 32]) -> String {
    sha256_hex(bytes)[..16].to_string()
}

/// The last characters of a key, to recognise it when masked.
pub fn key_tail(key: &str) -> String {
    key[key.len().saturating_sub(4)..].to_string()
}

/// A new workspace signing key pair: (seed, public key).
pub fn new_platform_key() -> ([u8; 32], [u8; 32]) {
    let seed = random32();
    (seed, public_key_of(&seed))
}

/// The Ed25519 public key of a 32-byte seed (RFC 8032's private key).
pub fn public_key_of(seed: &[u8; 32]) -> [u8; 32] {
    SigningKey::from_bytes(seed).verifying_key().to_bytes()
}

/// Signs `message` with a seed; base64url.
pub fn sign(seed: &[u8; 32], message: &[u8]) -> String {
    B64.encode(SigningKey::from_bytes(seed).sign(message).to_bytes())
}

/// Whether `sig` (base64url) is `public`'s signature of `message`.
pub fn verify(public: &[u8; 32], message: &[u8], sig: &str) -> bool {
    let Ok(key) = VerifyingKey::from_bytes(public) else {
        return false;
    };
    let Some(sig) = B64.decode(sig).ok().and_then(|s| <[u8; 64]>::try_from(s).ok()) else {
        return false;
    };
    key.verify(message, &Signature::from_bytes(&sig)).is_ok()
}

/// base64url of a public key, as the console shows it.
pub fn public_key_text(public: &[u8; 32]) -> String {
    B64.encode(public)
}

/// A public key from its base64url text (as [`public_key_text`] writes it).
pub fn parse_public_key(text: &str) -> Option<[u8; 32]> {
    B64.decode(text.trim()).ok()?.try_into().ok()
}

/// What an upload's signature covers.
pub fn upload_message(
    mini_program: &str,
    version: &str,
    sha256: &str,
    size: u64,
    ts: i64,
    nonce: &str,
) -> String {
    format!("MPDP-UPLOAD-V1\n{mini_program}\n{version}\n{sha256}\n{size}\n{ts}\n{nonce}")
}

/// What a version listing's signature covers.
pub fn list_message(mini_program: &str, ts: i64, nonce: &str) -> String {
    format!("MPDP-LIST-V1\n{mini_program}\n{ts}\n{nonce}")
}

/// A fresh nonce: 16 random bytes as hex.
pub fn new_nonce() -> String {
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex(&b)
}

/// The parts of an `MPDP-Signature` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    pub key: String,
    pub ts: i64,
    pub nonce: String,
    /// Upload only.
    pub sha256: Option<String>,
    /// Upload only.
    pub size: Option<u64>,
    pub sig: String,
}

impl SignatureHeader {
    /// The header's text.
    pub fn render(&self) -> String {
        let mut parts = vec![format!("key={}", self.key), format!("ts={}", self.ts), format!("nonce={}", self.nonce)];
        if let Some(s) = &self.sha256 {
            parts.push(format!("sha256={s}"));
        }
        if let Some(n) = self.size {
            parts.push(format!("size={n}"));
        }
        parts.push(format!("sig={}", self.sig));
        parts.join(",")
    }

    /// Reads a header; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<SignatureHeader, SignatureError> {
        use SignatureError::*;
        let mut fields = std::collections::BTreeMap::new();
        for part in text.split(',') {
            let (k, v) = part.trim().split_once('=').ok_or_else(|| NotNameValue(part.trim().to_string()))?;
            if fields.insert(k.trim(), v.trim()).is_some() {
                return Err(Repeated(k.trim().to_string()));
            }
        }
        let get = |k: &'static str| fields.get(k).copied().ok_or(Missing(k));
        let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
        let key = get("key")?;
        if !hex(key, 16) {
            return Err(Malformed { field: "key", rule: "the 16 hex digits of a key id" });
        }
        let ts = get("ts")?.parse::<i64>().map_err(|_| Malformed { field: "ts", rule: "Unix seconds" })?;
        let nonce = get("nonce")?;
        if !hex(nonce, 32) {
            return Err(Malformed { field: "nonce", rule: "32 hex digits" });
        }
        let sha256 = match fields.get("sha256") {
            Some(s) if hex(s, 64) => Some(s.to_lowercase()),
            Some(_) => return Err(Malformed { field: "sha256", rule: "64 hex digits" }),
            None => None,
        };
        let size = match fields.get("size") {
            Some(s) => Some(s.parse::<u64>().map_err(|_| Malformed { field: "size", rule: "a number of bytes" })?),
            None => None,
        };
        let sig = get("sig")?;
        if sig.is_empty() || sig.len() > 100 {
            return Err(Malformed { field: "sig", rule: "a base64url Ed25519 signature" });
        }
        Ok(SignatureHeader {
            key: key.to_lowercase(),
            ts,
            nonce: nonce.to_lowercase(),
            sha256,
            size,
            sig: sig.to_string(),
        })
    }
}

/// What is wrong with a signature header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("“{0}” is not name=value")]
    NotNameValue(String),
    #[error("{0} appears twice")]
    Repeated(String),
    #[error("{0}= is missing")]
    Missing(&'static str),
    #[error("{field}= must be {rule}")]
    Malformed { field: &'static str, rule: &'static str },
}

/// The header a Studio client sends with an upload.
pub fn sign_upload(key: &SigningKey, mini_program: &str, version: &str, sha256: &str, size: u64, ts: i64) -> String {
    let nonce = new_nonce();
    let message = upload_message(mini_program, version, sha256, size, ts, &nonce);
    SignatureHeader {
        key: key_id(&key.verifying_key().to_bytes()),
        ts,
        nonce,
        sha256: Some(sha256.to_string()),
        size: Some(size),
        sig: B64.encode(key.sign(message.as_bytes()).to_bytes()),
    }
    .render()
}

/// The header a Studio client sends to list versions.
pub fn sign_list(key: &SigningKey, mini_program: &str, ts: i64) -> String {
    let nonce = new_nonce();
    let message = list_message(mini_program, ts, &nonce);
    SignatureHeader {
        key: key_id(&key.verifying_key().to_bytes()),
        ts,
        nonce,
        sha256: None,
        size: None,
        sig: B64.encode(key.sign(message.as_bytes()).to_bytes()),
    }
    .render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_their_prefix_and_256_random_bits() {
        let (a, hash) = new_access_key();
        assert!(a.starts_with("mpak_") && a.len() == 5 + 43, "{a}");
        assert_eq!(access_key_hash(&a), hash);
        assert_ne!(new_access_key().0, a);
        let (u, public) = new_upload_key();
        assert!(u.starts_with("mpuk_") && u.len() == 5 + 43, "{u}");
        let key = parse_upload_key(&u).unwrap();
        assert_eq!(key.verifying_key().to_bytes(), public);
        assert!(parse_upload_key(&a).is_none(), "an accessing key is not an upload key");
        assert!(parse_upload_key("mpuk_short").is_none());
    }

    #[test]
    fn an_upload_signature_verifies_only_for_what_was_signed() {
        let (u, public) = new_upload_key();
        let key = parse_upload_key(&u).unwrap();
        let header = sign_upload(&key, "mp", "1.0.0", &"a".repeat(64), 10, 1_700_000_000);
        let h = SignatureHeader::parse(&header).unwrap();
        assert_eq!(h.key, key_id(&public));
        let good = upload_message("mp", "1.0.0", &"a".repeat(64), 10, h.ts, &h.nonce);
        assert!(verify(&public, good.as_bytes(), &h.sig));
        let other = upload_message("mp", "1.0.1", &"a".repeat(64), 10, h.ts, &h.nonce);
        assert!(!verify(&public, other.as_bytes(), &h.sig));
        let (_, stranger) = new_upload_key();
        assert!(!verify(&stranger, good.as_bytes(), &h.sig));
    }

    #[test]
    fn malformed_headers_are_refused_with_the_reason() {
        for (bad, why) in [
            ("", "is not name=value"),
            ("key=zz,ts=1,nonce=00000000000000000000000000000000,sig=x", "16 hex digits"),
            ("key=0000000000000000,ts=x,nonce=00000000000000000000000000000000,sig=x", "Unix seconds"),
            ("key=0000000000000000,ts=1,nonce=0,sig=x", "32 hex digits"),
            ("key=0000000000000000,ts=1,nonce=00000000000000000000000000000000", "sig= is missing"),
            ("key=0000000000000000,key=0000000000000000", "appears twice"),
        ] {
            let e = SignatureHeader::parse(bad).unwrap_err();
            assert!(e.to_string().contains(why), "{bad}: {e}");
        }
    }
}
