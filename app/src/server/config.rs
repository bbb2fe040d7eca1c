//! Runtime settings the server functions need (the binary parses them from flags and `MPDP_*`).

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Config {
    /// The address people use to reach the console, e.g. `https://console.example.com`.
    pub public_url: String,
    /// A session ends after this long without a request.
    pub session_idle: Duration,
    /// A session ends this long after login, whatever the activity.
    pub session_absolute: Duration,
    /// Failed logins allowed per account within `login_window`.
    pub login_failures_per_account: u32,
    /// Failed logins allowed per client address within `login_window`.
    pub login_failures_per_address: u32,
    pub login_window: Duration,
    /// Whether an SMTP server is configured (otherwise mail stays in the outbox).
    pub smtp_configured: bool,
    /// Reverse proxies whose `client_address_header` is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The one header the trusted proxies state the client's address in; others are ignored.
    pub client_address_header: super::auth::client::AddressHeader,
    /// Sign-ups, verification resends and reset requests allowed per client address per hour.
    pub account_requests_per_address: u32,
    /// The largest bundle an upload may carry.
    pub max_bundle_bytes: u64,
    /// Where bundles are kept (content-addressed): `bundles/` beside the data file.
    pub bundle_dir: std::path::PathBuf,
}

/// Verification and reset mails allowed per target address per hour.
pub const MAILS_PER_TARGET_PER_HOUR: u32 = 5;

impl Config {
    pub fn is_https(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// The origin (`scheme://host[:port]`) of the public URL.
    pub fn public_origin(&self) -> &str {
        let url = self.public_url.trim_end_matches('/');
        match url.find("://") {
            Some(i) => match url[i + 3..].find('/') {
                Some(j) => &url[..i + 3 + j],
                None => url,
            },
            None => url,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            public_url: "http://127.0.0.1:3000".into(),
            session_idle: Duration::from_secs(12 * 3600),
            session_absolute: Duration::from_secs(7 * 24 * 3600),
            login_failures_per_account: 5,
            login_failures_per_address: 20,
            login_window: Duration::from_secs(15 * 60),
            smtp_configured: false,
            trusted_proxies: Vec::new(),
            client_address_header: Default::default(),
            account_requests_per_address: 20,
            max_bundle_bytes: 50 * 1024 * 1024,
            bundle_dir: std::env::temp_dir().join(format!("mpdp-bundles-{}", std::process::id())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_origin_drops_the_path() {
        let mut c = Config::default();
        c.public_url = "https://console.example.com/mpdp/".into();
        assert_eq!(c.public_origin(), "https://console.example.com");
        assert!(c.is_https());
        c.public_url = "http://127.0.0.1:3000".into();
        assert_eq!(c.public_origin(), "http://127.0.0.1:3000");
    }
}
