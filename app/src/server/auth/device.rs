//! "Known device" cookies (OWASP's device-cookie scheme against account lock-out): after a
//! successful login the browser gets a cookie, signed with a server secret, naming the account
//! and a random device id. A later login to that account from that browser spends the device's
//! own failure budget, so strangers guessing at the account cannot lock its owner out. A cookie
//! whose signature does not hold is ignored.
//!
//! The cookie also names the account's session epoch when it was issued: a password change or
//! reset, or "sign out everywhere", raises the epoch, and from then on the cookies issued before
//! count for nothing (a stolen browser profile must not keep its own budget past a password
//! change). Cookies in the earlier two-part form are ignored the same way.

use cookie::{Cookie, CookieJar, Key, SameSite};
use http::HeaderMap;
use rand::RngCore;
use uuid::Uuid;

/// How long a browser stays known.
const LIFETIME_DAYS: i64 = 365;

#[derive(Clone)]
pub struct DeviceCookies {
    key: Key,
    https: bool,
}

impl std::fmt::Debug for DeviceCookies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceCookies")
    }
}

impl DeviceCookies {
    /// `secret`: at least 64 bytes, kept in the data file.
    pub fn new(secret: &[u8], https: bool) -> Self {
        DeviceCookies {
            key: Key::from(secret),
            https,
        }
    }

    pub fn name(&self) -> &'static str {
        if self.https {
            "__Host-mpdp_device"
        } else {
            "mpdp_device"
        }
    }

    /// The (account, session epoch, device id) of the request's device cookie, if present and
    /// genuine.
    pub fn read(&self, headers: &HeaderMap) -> Option<(Uuid, u64, String)> {
        let mut jar = CookieJar::new();
        for value in headers.get_all(http::header::COOKIE) {
            let Ok(value) = value.to_str() else { continue };
            for c in Cookie::split_parse(value.to_string()).flatten() {
                if c.name() == self.name() {
                    jar.add_original(c.into_owned());
                }
            }
        }
        let verified = jar.signed(&self.key).get(self.name())?;
        let mut parts = verified.value().split('.');
        let (account, epoch, device) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let account = Uuid::parse_str(account).ok()?;
        let epoch = epoch.parse().ok()?;
        (device.len() == 32 && device.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| (account, epoch, device.to_string()))
    }

    /// A `Set-Cookie` value that makes this browser known for `account` at its session `epoch`,
    /// keeping `device` when the browser already has an id.
    pub fn issue(&self, account: Uuid, epoch: u64, device: Option<String>) -> String {
        let device = device.unwrap_or_else(|| {
            let mut bytes = [0u8; 16];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            bytes.iter().map(|b| format!("{b:02x}")).collect()
        });
        let mut jar = CookieJar::new();
        jar.signed_mut(&self.key).add(
            Cookie::build((self.name(), format!("{account}.{epoch}.{device}")))
                .path("/")
                .http_only(true)
                .secure(self.https)
                .same_site(SameSite::Lax)
                .max_age(cookie::time::Duration::days(LIFETIME_DAYS)),
        );
        jar.delta()
            .next()
            .map(|c| c.to_string())
            .expect("the cookie just added")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers_with(cookie: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(http::header::COOKIE, cookie.parse().unwrap());
        h
    }

    #[test]
    fn an_issued_cookie_reads_back_and_a_forged_one_does_not() {
        let d = DeviceCookies::new(&[7u8; 64], false);
        let ann = Uuid::new_v4();
        let set = d.issue(ann, 3, None);
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax"), "{set}");
        let pair = set.split(';').next().unwrap();
        let (account, epoch, device) = d.read(&headers_with(&format!("other=1; {pair}"))).unwrap();
        assert_eq!((account, epoch), (ann, 3));
        assert_eq!(device.len(), 32);
        // Same device id kept on the next login.
        let again = d.issue(ann, 4, Some(device.clone()));
        assert!(again.contains(&device));
        // Forged: the epoch moved forward by hand.
        let moved = pair.replace(&format!("{ann}.3."), &format!("{ann}.4."));
        assert!(d.read(&headers_with(&moved)).is_none());
        // Genuine, but in the two-part form of before epochs: ignored.
        let mut jar = CookieJar::new();
        jar.signed_mut(&Key::from(&[7u8; 64])).add(Cookie::new("mpdp_device", format!("{ann}.{device}")));
        let old = jar.delta().next().unwrap().to_string();
        assert!(d.read(&headers_with(old.split(';').next().unwrap())).is_none());
        // Forged: the value changed to another account, or signed with another key.
        let forged = pair.replace(&ann.to_string(), &Uuid::new_v4().to_string());
        assert!(d.read(&headers_with(&forged)).is_none());
        let other_key = DeviceCookies::new(&[8u8; 64], false);
        assert!(other_key.read(&headers_with(pair)).is_none());
        assert!(d.read(&headers_with("mpdp_device=garbage")).is_none());
        assert!(DeviceCookies::new(&[7u8; 64], true).issue(ann, 0, None).starts_with("__Host-"));
    }
}
