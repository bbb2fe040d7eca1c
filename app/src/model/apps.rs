//! App Manage: the host apps of a workspace and their keys — shared by the browser and the
//! server. A rule lives here once; the form and the server both call it.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AppError;

pub const APP_NAME_MAX: usize = 64;
pub const BUNDLE_ID_MAX: usize = 155;
/// At most this many client address ranges in an Upload Key's scope.
pub const SCOPE_NETWORKS_MAX: usize = 100;
/// The scope form's fields, as its errors name them.
pub const SCOPE_MINI_PROGRAMS_FIELD: &str = "Mini programs";
pub const SCOPE_NETWORKS_FIELD: &str = "Client address ranges";

/// Where a host app runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Platform {
    Ios,
    Android,
}

impl Platform {
    pub fn label(self) -> &'static str {
        match self {
            Platform::Ios => "iOS",
            Platform::Android => "Android",
        }
    }
}

/// The two keys of an App.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyKind {
    /// `mpak_…`: the container SDK reads what was released (bearer secret).
    Accessing,
    /// `mpuk_…`: the Studio signs uploads (Ed25519 signing key).
    Upload,
}

impl KeyKind {
    pub fn label(self) -> &'static str {
        match self {
            KeyKind::Accessing => "Mini Program Accessing Key",
            KeyKind::Upload => "Mini Program Upload Key",
        }
    }

    /// What the key is for, in the words of the console.
    pub fn description(self) -> &'static str {
        match self {
            KeyKind::Accessing => "Lets the container SDK in this app read the app's published mini programs through the platform's container API.",
            KeyKind::Upload => "Lets Mini Program bundles be built and uploaded to the console for this app — with it you need to sign your mini program and upload it — and lets the container verify what it runs.",
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            KeyKind::Accessing => "accessing",
            KeyKind::Upload => "upload",
        }
    }

    pub fn parse(text: &str) -> Result<KeyKind, AppError> {
        match text {
            "accessing" => Ok(KeyKind::Accessing),
            "upload" => Ok(KeyKind::Upload),
            _ => Err(AppError::invalid("Key", "must be the Accessing Key or the Upload Key")),
        }
    }
}

/// How long an old key keeps working after a rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grace {
    None,
    Hour,
    Day,
    Week,
}

impl Grace {
    pub const ALL: [Grace; 4] = [Grace::None, Grace::Hour, Grace::Day, Grace::Week];

    pub fn code(self) -> &'static str {
        match self {
            Grace::None => "none",
            Grace::Hour => "1h",
            Grace::Day => "24h",
            Grace::Week => "7d",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Grace::None => "None: the old key stops at once",
            Grace::Hour => "1 hour",
            Grace::Day => "24 hours",
            Grace::Week => "7 days",
        }
    }

    pub fn seconds(self) -> i64 {
        match self {
            Grace::None => 0,
            Grace::Hour => 3_600,
            Grace::Day => 86_400,
            Grace::Week => 7 * 86_400,
        }
    }

    pub fn parse(text: &str) -> Result<Grace, AppError> {
        Grace::ALL
            .into_iter()
            .find(|g| g.code() == text)
            .ok_or_else(|| AppError::invalid("Grace period", "must be none, 1 hour, 24 hours or 7 days"))
    }
}

/// An App's name: 1–64 characters, no control characters.
pub fn validate_app_name(raw: &str) -> Result<String, AppError> {
    super::text::name("App Name", raw, APP_NAME_MAX)
}

/// An iOS bundle id, by Apple's rule: at least two dot-separated parts of letters, digits and `-`.
pub fn validate_bundle_id(field: &'static str, raw: &str) -> Result<String, AppError> {
    let rule = "must look like com.example.app: at least two dot-separated parts of letters, digits or -";
    dotted(field, raw, rule, |p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
}

/// An Android package name, by Android's rule: at least two dot-separated parts, each starting
/// with a letter, of letters, digits and `_`.
pub fn validate_package_name(field: &'static str, raw: &str) -> Result<String, AppError> {
    let rule = "must look like com.example.app: at least two dot-separated parts, each starting with a letter, of letters, digits or _";
    dotted(field, raw, rule, |p| {
        p.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// `raw` trimmed, if it is at most [`BUNDLE_ID_MAX`] characters of at least two dot-separated
/// parts that each pass `part`.
fn dotted(field: &'static str, raw: &str, rule: &str, part: impl Fn(&str) -> bool) -> Result<String, AppError> {
    let id = raw.trim();
    if id.len() > BUNDLE_ID_MAX {
        return Err(AppError::invalid(field, format!("must be at most {BUNDLE_ID_MAX} characters")));
    }
    let parts: Vec<&str> = id.split('.').collect();
    if parts.len() < 2 || !parts.iter().all(|p| part(p)) {
        return Err(AppError::invalid(field, rule));
    }
    Ok(id.to_string())
}

/// What a form asks for a new App, checked: the name, and for each platform chosen its id.
pub fn check_app(
    name: &str,
    ios: bool,
    ios_bundle_id: &str,
    android: bool,
    android_package: &str,
) -> Result<(String, Option<String>, Option<String>), AppError> {
    let name = validate_app_name(name)?;
    if !ios && !android {
        return Err(AppError::invalid("Platforms", "choose iOS, Android or both"));
    }
    let ios = ios
        .then(|| validate_bundle_id("iOS Bundle ID", ios_bundle_id))
        .transpose()?;
    let android = android
        .then(|| validate_package_name("Android Package Name", android_package))
        .transpose()?;
    Ok((name, ios, android))
}

/// A client address range (CIDR): an IPv4 or IPv6 address and a prefix length, with no address
/// bits set past the prefix. Written `203.0.113.0/24` or `2001:db8::/32`; a bare address is the
/// range of that one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Reads one range; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| "is not an IPv4 or IPv6 address range like 203.0.113.0/24 or 2001:db8::/32".to_string())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(n) if n <= max && !p.starts_with('+') => n,
                _ => return Err(format!("has a prefix length that is not a number from 0 to {max}")),
            },
        };
        let cidr = Cidr { addr, prefix };
        let network = cidr.network();
        if network != addr {
            return Err(format!("has address bits set past its /{prefix} prefix: write {network}/{prefix}"));
        }
        // An IPv4 range written as IPv4-mapped IPv6 (`::ffff:10.0.0.0/104`) is that IPv4 range:
        // IPv4 clients are matched as IPv4 addresses, so kept as IPv6 it would hold none of them.
        if let (IpAddr::V6(v6), true) = (addr, prefix >= 96) {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return Ok(Cidr { addr: IpAddr::V4(v4), prefix: prefix - 96 });
            }
        }
        Ok(cidr)
    }

    fn bits(addr: IpAddr) -> u128 {
        match addr {
            IpAddr::V4(a) => u32::from(a) as u128,
            IpAddr::V6(a) => u128::from(a),
        }
    }

    fn mask(&self) -> u128 {
        let width = if self.addr.is_ipv4() { 32 } else { 128 };
        let all = if width == 32 { u32::MAX as u128 } else { u128::MAX };
        if self.prefix == 0 {
            0
        } else {
            (all >> (width - self.prefix as u32)) << (width - self.prefix as u32) & all
        }
    }

    /// The first address of the range.
    fn network(&self) -> IpAddr {
        let bits = Cidr::bits(self.addr) & self.mask();
        match self.addr {
            IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::from(bits as u32)),
            IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::from(bits)),
        }
    }

    /// Whether `ip` is in the range. An IPv4 client seen as an IPv4-mapped IPv6 address
    /// (`::ffff:203.0.113.7`, on a dual-stack socket) is matched as the IPv4 address it is.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        ip.is_ipv4() == self.addr.is_ipv4() && Cidr::bits(ip) & self.mask() == Cidr::bits(self.addr)
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// The "Client address ranges" of an Upload Key's scope, as typed: ranges one per line or
/// separated by commas, semicolons or spaces; none means any address. Each is checked (an error
/// names the entry and what is wrong with it) and written canonically; repeats are dropped.
pub fn parse_networks(text: &str) -> Result<Vec<String>, AppError> {
    let mut out: Vec<String> = Vec::new();
    let entries = text.split(|c: char| c == ',' || c == ';' || c.is_whitespace()).filter(|e| !e.is_empty());
    for (i, entry) in entries.enumerate() {
        let cidr = Cidr::parse(entry).map_err(|rule| AppError::invalid(SCOPE_NETWORKS_FIELD, format!("entry {} (“{entry}”) {rule}", i + 1)))?;
        let canonical = cidr.to_string();
        if !out.contains(&canonical) {
            out.push(canonical);
        }
    }
    if out.len() > SCOPE_NETWORKS_MAX {
        return Err(AppError::invalid(SCOPE_NETWORKS_FIELD, format!("at most {SCOPE_NETWORKS_MAX} ranges (this list has {})", out.len())));
    }
    Ok(out)
}

/// What an Upload Key may upload to: chosen mini programs (none chosen: every mini program of
/// its workspace) from chosen client address ranges (none: any address).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadScopeView {
    /// (id, name) of each mini program chosen.
    pub mini_programs: Vec<(Uuid, String)>,
    /// The ranges, canonical (`10.0.0.0/8`).
    pub networks: Vec<String>,
}

impl UploadScopeView {
    pub fn mini_programs_text(&self) -> String {
        if self.mini_programs.is_empty() {
            "Every mini program of the workspace".into()
        } else {
            self.mini_programs.iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>().join(", ")
        }
    }

    pub fn networks_text(&self) -> String {
        if self.networks.is_empty() {
            "Any address".into()
        } else {
            self.networks.join(", ")
        }
    }
}

/// A blocked or former member who was shown, in full, Upload Keys that still work: they could
/// have copied them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExposedKeysView {
    pub account: Uuid,
    pub username: String,
    pub email: String,
    /// "Blocked", or "No longer a member".
    pub standing: String,
    pub keys: Vec<ExposedKey>,
}

/// One live Upload Key that was shown to a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExposedKey {
    pub app: Uuid,
    pub app_name: String,
    pub id: String,
    pub masked: String,
}

/// One key of an App as the console shows it: never the key itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyView {
    pub id: String,
    pub kind: KeyKind,
    /// The key masked: its prefix and last characters (`mpak_…x7Qe`).
    pub masked: String,
    pub created: DateTime<Utc>,
    /// After a rotation: when the old key stops working.
    pub expires: Option<DateTime<Utc>>,
    pub revoked: Option<DateTime<Utc>>,
    pub last_used: Option<DateTime<Utc>>,
    /// Usable now.
    pub live: bool,
    /// Who made it (by adding the App or rotating the key), if recorded.
    #[serde(default)]
    pub made_by: Option<String>,
    /// Who was shown it in full (empty: made before MPDP recorded this).
    #[serde(default)]
    pub shown_to: Vec<String>,
    /// An Upload Key's scope.
    #[serde(default)]
    pub scope: Option<UploadScopeView>,
}

/// An App, with its keys, as App detail shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppView {
    pub id: Uuid,
    pub name: String,
    pub ios_bundle_id: Option<String>,
    pub android_package: Option<String>,
    pub created: DateTime<Utc>,
    pub created_by: String,
    /// Every key the App has had, newest first.
    pub keys: Vec<KeyView>,
    /// The workspace's platform public key (base64url Ed25519), which signs manifests.
    pub platform_public_key: String,
    /// The scope of the App's current Upload Key (`None` when it has no live Upload Key).
    #[serde(default)]
    pub upload_scope: Option<UploadScopeView>,
    /// The workspace's mini programs (id, name), to choose an Upload Key's scope from.
    #[serde(default)]
    pub mini_programs: Vec<(Uuid, String)>,
    /// Install ids that get every candidate rolling out to the App.
    #[serde(default)]
    pub test_devices: Vec<String>,
}

/// The most test devices an App lists.
pub const TEST_DEVICES_MAX: usize = 100;

/// The field that lists an App's test devices.
pub const TEST_DEVICES_FIELD: &str = "Test devices";

/// Reads a list of test devices as typed: one install id per line (or separated by commas),
/// each 8 to 128 characters without control characters, at most [`TEST_DEVICES_MAX`]; repeats
/// are dropped, and the list is sorted.
pub fn parse_test_devices(text: &str) -> Result<Vec<String>, AppError> {
    let mut out: Vec<String> = Vec::new();
    for id in text.split(['\n', ',']).map(str::trim).filter(|s| !s.is_empty()) {
        let n = id.chars().count();
        if !(8..=128).contains(&n) || id.chars().any(char::is_control) {
            return Err(AppError::invalid(TEST_DEVICES_FIELD, format!("\"{id}\" is not an install id: each must be 8 to 128 characters")));
        }
        if !out.iter().any(|o| o == id) {
            out.push(id.to_string());
        }
    }
    if out.len() > TEST_DEVICES_MAX {
        return Err(AppError::invalid(TEST_DEVICES_FIELD, format!("at most {TEST_DEVICES_MAX} install ids")));
    }
    out.sort();
    Ok(out)
}

impl AppView {
    pub fn platforms(&self) -> String {
        let mut p = Vec::new();
        if self.ios_bundle_id.is_some() {
            p.push(Platform::Ios.label());
        }
        if self.android_package.is_some() {
            p.push(Platform::Android.label());
        }
        p.join(", ")
    }
}

/// A key shown once: just created or rotated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewKey {
    pub app: Uuid,
    /// The App's name, to tell keys of several Apps apart.
    #[serde(default)]
    pub app_name: String,
    pub kind: KeyKind,
    pub id: String,
    /// The key itself. It is not stored; this is the only time it is shown.
    pub key: String,
}

/// What creating an App gives back: the App and both keys, shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedApp {
    pub app: Uuid,
    pub keys: Vec<NewKey>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_devices_are_read_one_per_line_checked_and_sorted() {
        assert_eq!(parse_test_devices("qa-b-000001\n qa-a-000001 ,qa-b-000001\n\n").unwrap(), ["qa-a-000001", "qa-b-000001"]);
        assert_eq!(parse_test_devices("").unwrap(), Vec::<String>::new());
        assert_eq!(parse_test_devices("short").unwrap_err().field(), Some(TEST_DEVICES_FIELD));
        let many: Vec<String> = (0..=TEST_DEVICES_MAX).map(|i| format!("device-{i:04}")).collect();
        assert!(parse_test_devices(&many.join("\n")).unwrap_err().to_string().contains("at most 100"));
    }

    #[test]
    fn app_forms_are_checked_field_by_field() {
        assert_eq!(
            check_app(" Super App ", true, "com.acme.super", false, "").unwrap(),
            ("Super App".into(), Some("com.acme.super".into()), None)
        );
        assert_eq!(check_app("", true, "com.a.b", false, "").unwrap_err().field(), Some("App Name"));
        assert_eq!(check_app(&"x".repeat(65), true, "com.a.b", false, "").unwrap_err().field(), Some("App Name"));
        assert_eq!(check_app("A", false, "", false, "").unwrap_err().field(), Some("Platforms"));
        for bad in ["", "com", "com..a", "1com.acme", "com.acme app", "com.acme/x", "com.acme-app", &format!("a.{}", "b".repeat(200))] {
            assert_eq!(check_app("A", false, "", true, bad).unwrap_err().field(), Some("Android Package Name"), "{bad}");
        }
        for bad in ["", "com", "com..a", "com.acme_app", "com.acme app", &format!("a.{}", "b".repeat(200))] {
            assert_eq!(check_app("A", true, bad, false, "").unwrap_err().field(), Some("iOS Bundle ID"), "{bad}");
        }
        assert!(check_app("A", true, "com.37signals.acme-app", true, "com.acme.app_2").is_ok(), "each platform's own rule");
    }

    #[test]
    fn address_ranges_are_checked_entry_by_entry_and_written_canonically() {
        assert_eq!(
            parse_networks("10.0.0.0/8\n 203.0.113.7, 2001:DB8::/32;192.168.1.0/24 10.0.0.0/8").unwrap(),
            vec!["10.0.0.0/8", "203.0.113.7/32", "2001:db8::/32", "192.168.1.0/24"]
        );
        assert_eq!(parse_networks("  \n ").unwrap(), Vec::<String>::new(), "none: any address");
        for (text, says) in [
            ("10.0.0.0/8, 10.0.0.300/24", "entry 2 (“10.0.0.300/24”) is not an IPv4 or IPv6 address"),
            ("10.0.0.0/33", "entry 1 (“10.0.0.0/33”) has a prefix length that is not a number from 0 to 32"),
            ("2001:db8::/129", "from 0 to 128"),
            ("10.1.2.3/8", "has address bits set past its /8 prefix: write 10.0.0.0/8"),
            ("example.com", "is not an IPv4 or IPv6 address"),
            ("10.0.0.0/+8", "prefix length"),
            ("10.0.0.0/", "prefix length"),
        ] {
            let e = parse_networks(text).unwrap_err();
            assert_eq!(e.field(), Some(SCOPE_NETWORKS_FIELD));
            assert!(e.to_string().contains(says), "{text}: {e}");
        }
        let many: String = (0..101).map(|i| format!("10.0.{i}.0/24\n")).collect();
        assert!(parse_networks(&many).unwrap_err().to_string().contains("at most 100"));
    }

    #[test]
    fn a_range_holds_the_addresses_under_its_prefix() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let net = Cidr::parse("203.0.113.0/24").unwrap();
        assert!(net.contains(ip("203.0.113.0")) && net.contains(ip("203.0.113.255")));
        assert!(!net.contains(ip("203.0.114.1")) && !net.contains(ip("2001:db8::1")));
        assert!(net.contains(ip("::ffff:203.0.113.9")), "an IPv4-mapped client is its IPv4 address");
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(Cidr::parse("::/0").unwrap().contains(ip("2001:db8::1")));
        assert!(Cidr::parse("192.0.2.1").unwrap().contains(ip("192.0.2.1")));
        assert!(!Cidr::parse("192.0.2.1").unwrap().contains(ip("192.0.2.2")));
        let v6 = Cidr::parse("2001:db8:1::/48").unwrap();
        assert!(v6.contains(ip("2001:db8:1:ffff::1")) && !v6.contains(ip("2001:db8:2::1")));
        // Written as IPv4-mapped IPv6, an IPv4 range is that range.
        let mapped = Cidr::parse("::ffff:10.0.0.0/104").unwrap();
        assert_eq!(mapped.to_string(), "10.0.0.0/8");
        assert!(mapped.contains(ip("10.1.2.3")) && mapped.contains(ip("::ffff:10.1.2.3")) && !mapped.contains(ip("11.0.0.1")));
        assert_eq!(Cidr::parse("::ffff:192.0.2.7").unwrap().to_string(), "192.0.2.7/32");
    }

    #[test]
    fn grace_periods_are_the_four_offered() {
        assert_eq!(Grace::parse("24h").unwrap().seconds(), 86_400);
        assert_eq!(Grace::parse("2h").unwrap_err().field(), Some("Grace period"));
        assert_eq!(KeyKind::parse("upload").unwrap(), KeyKind::Upload);
        assert!(KeyKind::parse("mpak").is_err());
    }
}
