//! Secrets that travel in emailed links (invitations, email verification, password reset): 256
//! random bits from the operating system, hex encoded. Only their SHA-256 is ever stored.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// A new random token and its hash.
pub fn new_token() -> (String, [u8; 32]) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let hash = hash_token(&token);
    (token, hash)
}

pub fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.trim().as_bytes()).into()
}

/// Whether `token` looks like one of ours (64 lowercase hex digits), so a malformed one is
/// refused with a clear message before any lookup.
pub fn well_formed(token: &str) -> bool {
    let t = token.trim();
    t.len() == 64 && t.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_hex_and_only_their_hash_is_kept() {
        let (a, ha) = new_token();
        let (b, _) = new_token();
        assert_ne!(a, b);
        assert!(well_formed(&a));
        assert_eq!(hash_token(&a), ha);
        assert!(!well_formed("xyz"));
        assert!(!well_formed(&a.to_uppercase()));
        assert!(!well_formed(&a[..63]));
    }
}
