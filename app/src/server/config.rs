//! Runtime settings the server functions need (the binary parses them from flags and `MPDP_*`).

use std::time::Duration;

use http::HeaderName;

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
    pub client_address_header: AddressHeader,
    /// Sign-ups, verification resends and reset requests allowed per client address per hour.
    pub account_requests_per_address: u32,
    /// Changes a signed-in person may make to their own account (passkeys, two factors, tokens,
    /// password, address) and their own applications, per hour: each is kept, so their number —
    /// and the store's growth by one account — is bounded. Taking something back is not counted.
    pub account_changes_per_hour: u32,
    /// The largest bundle an upload may carry.
    pub max_bundle_bytes: u64,
    /// The bytes of bundles one workspace may hold (`--workspace-bundle-mib`): every version
    /// stored, retired ones too.
    pub workspace_bundle_bytes: u64,
    /// The free space uploads leave on the bundles' filesystem (`--min-free-disk-mib`), beyond
    /// what the uploads in progress may still write.
    pub min_free_disk_bytes: u64,
    /// Where bundles are kept (content-addressed): `bundles/` beside the data file.
    pub bundle_dir: std::path::PathBuf,
    /// How often the fleet's events are written and candidates judged by their health rule.
    pub fleet_flush: Duration,
    /// Event batches allowed per Accessing Key per hour.
    pub event_batches_per_key: u32,
    /// Event batches allowed per client address per hour.
    pub event_batches_per_address: u32,
    /// Where releases are published for a CDN (`--publish-to`), when they are.
    pub publish_target: Option<String>,
    /// Whether platform operators must have two-factor authentication on to use the operator
    /// area (`--require-operator-second-factor`).
    pub operators_need_second_factor: bool,
    /// Whether webhook endpoints may be on private, loopback or link-local addresses and use
    /// plain `http://` (`--webhooks-allow-private-networks`).
    pub webhooks_allow_private: bool,
}

/// Verification and reset mails allowed per target address per hour.
pub const MAILS_PER_TARGET_PER_HOUR: u32 = 5;

impl Config {
    pub fn is_https(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// The origin (`scheme://host[:port]`) of the public URL, as a browser's `Origin` header
    /// states it (host in lower case, no default port).
    pub fn public_origin(&self) -> String {
        url::Url::parse(&self.public_url)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_else(|_| self.public_url.trim_end_matches('/').to_string())
    }

    /// Checks a `--public-url`: an http or https URL naming a host; returned without a trailing
    /// slash.
    pub fn parse_public_url(raw: &str) -> Result<String, String> {
        let raw = raw.trim();
        let url = url::Url::parse(raw).map_err(|_| {
            if raw.contains("://") {
                "must name a host, like https://console.example.com".to_string()
            } else {
                "must start with http:// or https://".to_string()
            }
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("must start with http:// or https://".into());
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("must name a host, like https://console.example.com".into());
        }
        // As the URL parser writes it (scheme and host in lower case, no default port), so that
        // `HTTPS://Console.example.com` is https — Secure cookies, HSTS — like any other spelling.
        Ok(url.as_str().trim_end_matches('/').to_string())
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
            account_changes_per_hour: 60,
            max_bundle_bytes: 50 * 1024 * 1024,
            workspace_bundle_bytes: 4096 * 1024 * 1024,
            min_free_disk_bytes: 1024 * 1024 * 1024,
            bundle_dir: std::env::temp_dir().join(format!("mpdp-bundles-{}", std::process::id())),
            fleet_flush: Duration::from_secs(5),
            event_batches_per_key: 360_000,
            event_batches_per_address: 600,
            publish_target: None,
            operators_need_second_factor: false,
            webhooks_allow_private: false,
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
        c.public_url = "https://Console.Example.com:443/".into();
        assert_eq!(c.public_origin(), "https://console.example.com", "as a browser states it");
    }

    #[test]
    fn a_public_url_is_http_or_https_and_names_a_host() {
        assert_eq!(Config::parse_public_url(" https://console.example.com/mpdp/ ").unwrap(), "https://console.example.com/mpdp");
        let shouted = Config::parse_public_url("HTTPS://Console.Example.com:443/").unwrap();
        assert_eq!(shouted, "https://console.example.com");
        assert!(Config { public_url: shouted, ..Config::default() }.is_https(), "Secure cookies and HSTS");
        for (bad, why) in [
            ("ftp://x", "must start with http:// or https://"),
            ("console.example.com", "must start with http:// or https://"),
            ("https://", "must name a host"),
            ("https://exa mple.com", "must name a host"),
        ] {
            let e = Config::parse_public_url(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }
}

/// The one header trusted proxies state the client's address in (`--client-address-header`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressHeader {
    /// `Forwarded` (RFC 7239), read from its `for=` parameters.
    Forwarded,
    /// Any other header, read as a comma-separated list of addresses, oldest first:
    /// `X-Forwarded-For`, or one address as in `X-Real-IP`.
    List(HeaderName),
}

impl Default for AddressHeader {
    fn default() -> Self {
        AddressHeader::List(HeaderName::from_static("x-forwarded-for"))
    }
}

impl std::fmt::Display for AddressHeader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AddressHeader::Forwarded => f.write_str("forwarded"),
            AddressHeader::List(name) => f.write_str(name.as_str()),
        }
    }
}

/// Parses `--client-address-header`: a header name such as `x-forwarded-for`, `forwarded` or
/// `x-real-ip` (any case).
pub fn parse_address_header(raw: &str) -> Result<AddressHeader, String> {
    let name = raw.trim();
    let rule = "must be the name of the one HTTP header your proxy puts the client's address in \
                (letters, digits and -, at most 64), like x-forwarded-for, forwarded or x-real-ip";
    if name.is_empty() || name.len() > 64 || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(format!("{name:?} {rule}"));
    }
    let name = HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).map_err(|_| format!("{name:?} {rule}"))?;
    Ok(if name == http::header::FORWARDED { AddressHeader::Forwarded } else { AddressHeader::List(name) })
}
