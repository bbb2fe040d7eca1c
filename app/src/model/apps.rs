//! App Manage: the host apps of a workspace and their keys — shared by the browser and the
//! server. A rule lives here once; the form and the server both call it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AppError;

pub const APP_NAME_MAX: usize = 64;
pub const BUNDLE_ID_MAX: usize = 155;

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
    let name = raw.trim();
    if name.is_empty() {
        return Err(AppError::invalid("App Name", "is required"));
    }
    if name.chars().count() > APP_NAME_MAX {
        return Err(AppError::invalid("App Name", format!("must be at most {APP_NAME_MAX} characters")));
    }
    if name.chars().any(char::is_control) {
        return Err(AppError::invalid("App Name", "must not contain control characters"));
    }
    Ok(name.to_string())
}

/// A bundle id (iOS) or package name (Android): dot-separated parts of letters, digits, `_` and
/// `-`, at least two parts, each starting with a letter.
pub fn validate_bundle_id(field: &'static str, raw: &str) -> Result<String, AppError> {
    let id = raw.trim();
    let rule = "must look like com.example.app: at least two dot-separated parts, each starting with a letter, of letters, digits, _ or -";
    if id.len() > BUNDLE_ID_MAX {
        return Err(AppError::invalid(field, format!("must be at most {BUNDLE_ID_MAX} characters")));
    }
    let parts: Vec<&str> = id.split('.').collect();
    let ok = parts.len() >= 2
        && parts.iter().all(|p| {
            p.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        });
    if !ok {
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
        .then(|| validate_bundle_id("Android Package Name", android_package))
        .transpose()?;
    Ok((name, ios, android))
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
    fn app_forms_are_checked_field_by_field() {
        assert_eq!(
            check_app(" Super App ", true, "com.acme.super", false, "").unwrap(),
            ("Super App".into(), Some("com.acme.super".into()), None)
        );
        assert_eq!(check_app("", true, "com.a.b", false, "").unwrap_err().field(), Some("App Name"));
        assert_eq!(check_app(&"x".repeat(65), true, "com.a.b", false, "").unwrap_err().field(), Some("App Name"));
        assert_eq!(check_app("A", false, "", false, "").unwrap_err().field(), Some("Platforms"));
        for bad in ["", "com", "com..a", "1com.acme", "com.acme app", "com.acme/x", &format!("a.{}", "b".repeat(200))] {
            assert_eq!(check_app("A", false, "", true, bad).unwrap_err().field(), Some("Android Package Name"), "{bad}");
        }
        assert!(check_app("A", true, "com.acme.app", true, "com.acme.app_2").is_ok());
    }

    #[test]
    fn grace_periods_are_the_four_offered() {
        assert_eq!(Grace::parse("24h").unwrap().seconds(), 86_400);
        assert_eq!(Grace::parse("2h").unwrap_err().field(), Some("Grace period"));
        assert_eq!(KeyKind::parse("upload").unwrap(), KeyKind::Upload);
        assert!(KeyKind::parse("mpak").is_err());
    }
}
