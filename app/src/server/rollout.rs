//! Who gets a candidate: the install's cohort, and the release's order of the cohorts.
//!
//! An install's **cohort** is a number from 1 to 1000, the same for every release to its App:
//! the first 8 bytes of SHA-256(App id as 16 bytes ‖ install id as UTF-8), read big-endian,
//! modulo 1000, plus 1. Each candidate has a 16-byte **seed**; its **order** sorts the 1000
//! cohorts by SHA-256(seed ‖ cohort as 2 bytes big-endian) (ties, which SHA-256 makes
//! practically impossible, by cohort), and a cohort's **position** is its index in that order
//! (0–999). An install gets the candidate when the candidate is not paused and its cohort's
//! position is below the rollout in per-mille. So raising the rollout only adds cohorts, and each
//! release starts with its own slice of the fleet; nothing is stored per install.

use sha2::{Digest, Sha256};
use uuid::Uuid;

/// How many cohorts the installs of an App are spread over: the rollout's unit (per-mille).
pub const COHORTS: u16 = 1000;

/// The header a container names its install with.
pub const INSTALL_HEADER: &str = "mpdp-install-id";

/// The header a container names its own version with (SemVer), to get only bundles it can run.
pub const CONTAINER_HEADER: &str = "mpdp-container-version";

/// The install's cohort for `app`, 1–1000.
pub fn cohort(app: Uuid, install: &str) -> u16 {
    let mut h = Sha256::new();
    h.update(app.as_bytes());
    h.update(install.as_bytes());
    let d = h.finalize();
    let n = u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]]);
    (n % u64::from(COHORTS)) as u16 + 1
}

/// A new release's seed: 16 random bytes as lowercase hex.
pub fn new_seed() -> String {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// A release's order of the cohorts: the position of each.
#[derive(Clone)]
pub struct Order {
    /// `positions[c - 1]`: the position of cohort `c`.
    positions: Box<[u16]>,
}

impl Order {
    /// The order a seed (hex, as stored) gives; a seed that is not hex is hashed as its text.
    pub fn of(seed: &str) -> Order {
        let bytes = hex::decode(seed).unwrap_or_else(|_| seed.as_bytes().to_vec());
        let mut keyed: Vec<([u8; 32], u16)> = (1..=COHORTS)
            .map(|c| {
                let mut h = Sha256::new();
                h.update(&bytes);
                h.update(c.to_be_bytes());
                (h.finalize().into(), c)
            })
            .collect();
        keyed.sort_unstable();
        let mut positions = vec![0u16; usize::from(COHORTS)].into_boxed_slice();
        for (position, (_, c)) in keyed.iter().enumerate() {
            positions[usize::from(*c - 1)] = position as u16;
        }
        Order { positions }
    }

    /// The position of cohort `c` (1–1000), 0–999.
    pub fn position(&self, c: u16) -> u16 {
        self.positions[usize::from(c.clamp(1, COHORTS) - 1)]
    }

    /// Whether cohort `c` is within a rollout of `per_mille`.
    pub fn includes(&self, c: u16, per_mille: u16) -> bool {
        self.position(c) < per_mille
    }
}

/// Checks an install id as sent: 8–128 characters, none of them a control character.
pub fn check_install_id(text: &str) -> Result<&str, &'static str> {
    let n = text.chars().count();
    if !(8..=128).contains(&n) {
        return Err("must be 8 to 128 characters");
    }
    if text.chars().any(char::is_control) {
        return Err("must not contain control characters");
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cohorts_spread_evenly_and_a_raise_only_adds_installs() {
        let app = Uuid::from_u128(7);
        let order = Order::of(&new_seed());
        let installs: Vec<u16> = (0..10_000).map(|i| cohort(app, &format!("install-{i:05}"))).collect();
        let at = |per_mille| installs.iter().filter(|c| order.includes(**c, per_mille)).count();
        let (ten, quarter) = (at(100), at(250));
        assert!((900..=1100).contains(&ten), "10 % reached {ten} of 10 000");
        assert!((2_300..=2_700).contains(&quarter), "25 % reached {quarter} of 10 000");
        for c in &installs {
            assert!(!order.includes(*c, 100) || order.includes(*c, 250), "a raise dropped an install");
        }
        assert_eq!(at(0), 0);
        assert_eq!(at(1000), 10_000);
    }

    #[test]
    fn each_release_starts_with_its_own_slice_and_the_order_is_a_permutation() {
        let (a, b) = (Order::of("00112233445566778899aabbccddeeff"), Order::of("ffeeddccbbaa99887766554433221100"));
        let first = |o: &Order| (1..=COHORTS).filter(|c| o.includes(*c, 100)).collect::<Vec<_>>();
        let (fa, fb) = (first(&a), first(&b));
        assert_eq!(fa.len(), 100);
        let shared = fa.iter().filter(|c| fb.contains(c)).count();
        assert!(shared < 40, "two releases share {shared} of their first 100 cohorts");
        let mut seen: Vec<u16> = (1..=COHORTS).map(|c| a.position(c)).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..COHORTS).collect::<Vec<_>>());
    }

    #[test]
    fn the_functions_give_the_documented_values() {
        // Pinned so that a container computing them from the README gets the same answers.
        let app = Uuid::parse_str("0190f5a8-0000-7000-8000-000000000006").unwrap();
        let c = cohort(app, "install-0001");
        let mut h = Sha256::new();
        h.update(app.as_bytes());
        h.update(b"install-0001");
        let d = h.finalize();
        assert_eq!(u64::from(c), u64::from_be_bytes(d[..8].try_into().unwrap()) % 1000 + 1);
        let order = Order::of("00112233445566778899aabbccddeeff");
        let first = (1..=COHORTS).find(|c| order.position(*c) == 0).unwrap();
        let key = |c: u16| {
            let mut h = Sha256::new();
            h.update(hex::decode("00112233445566778899aabbccddeeff").unwrap());
            h.update(c.to_be_bytes());
            h.finalize()
        };
        assert!((1..=COHORTS).all(|c| key(first) <= key(c)));
    }

    #[test]
    fn install_ids_are_checked() {
        assert!(check_install_id("abcdefgh").is_ok());
        assert_eq!(check_install_id("short"), Err("must be 8 to 128 characters"));
        assert!(check_install_id(&"x".repeat(129)).is_err());
        assert_eq!(check_install_id("abc\tdefgh"), Err("must not contain control characters"));
    }
}
