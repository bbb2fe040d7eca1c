//! Account rules: email, username and password syntax, shared by the forms and the server.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AppError;

pub const EMAIL_MAX: usize = 254;
pub const USERNAME_MIN: usize = 3;
pub const USERNAME_MAX: usize = 32;
pub const PASSWORD_MIN: usize = 8;
pub const PASSWORD_MAX: usize = 128;

/// What the console knows about the signed-in person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    pub id: Uuid,
    pub email: String,
    pub username: String,
    pub is_operator: bool,
    pub created: chrono::DateTime<chrono::Utc>,
    /// Whether the email address has been proven by its emailed link.
    pub email_verified: bool,
    /// Whether login asks for a code from an authenticator app after the password.
    pub second_factor: bool,
}

/// One signed-in session, as its owner sees it on the account page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    /// Names the session for "Sign out" (a hash of its id, never the id).
    pub handle: String,
    pub started: Option<chrono::DateTime<chrono::Utc>>,
    pub last_seen: Option<chrono::DateTime<chrono::Utc>>,
    pub client: String,
    pub agent: String,
    /// How the session was signed in ([`SignInMethod::label`]).
    pub method: String,
    /// The session of the browser asking.
    pub current: bool,
}

/// How a session was signed in: shown in the person's list of sessions and in the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignInMethod {
    Password,
    /// The password, then a code from the authenticator app.
    PasswordAndCode,
    /// The password, then one of the account's recovery codes.
    PasswordAndRecoveryCode,
    /// With a passkey alone (it proves possession and the person, by PIN or biometrics).
    Passkey,
    /// The password, then a passkey.
    PasswordAndPasskey,
    /// At a single sign-on provider (its label is noted beside: [`SignInMethod::single_sign_on`]).
    SingleSignOn,
}

impl SignInMethod {
    pub fn label(self) -> &'static str {
        match self {
            SignInMethod::Password => "Password",
            SignInMethod::PasswordAndCode => "Password and authenticator code",
            SignInMethod::PasswordAndRecoveryCode => "Password and recovery code",
            SignInMethod::Passkey => "Passkey",
            SignInMethod::PasswordAndPasskey => "Password and passkey",
            SignInMethod::SingleSignOn => "Single sign-on",
        }
    }

    /// The second factor a login took after its first step, in words ("authenticator code"), if
    /// it took one.
    pub fn second_factor(self) -> Option<&'static str> {
        match self {
            SignInMethod::PasswordAndCode => Some("authenticator code"),
            SignInMethod::PasswordAndRecoveryCode => Some("recovery code"),
            SignInMethod::PasswordAndPasskey => Some("passkey"),
            SignInMethod::Password | SignInMethod::Passkey | SignInMethod::SingleSignOn => None,
        }
    }

    /// How a session made at the single sign-on provider labelled `provider` is described.
    pub fn single_sign_on(provider: &str) -> String {
        format!("Single sign-on ({provider})")
    }
}

/// What a personal access token may do. Stored: the names never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenScope {
    /// Upload versions (`mpdp studio upload`), beside the App's Upload Key.
    Upload,
    /// List a mini program's versions (`mpdp studio versions`).
    Read,
    /// Apply for publishing review (`mpdp studio publish`), as the person may in the console.
    Publish,
}

impl TokenScope {
    pub const ALL: [TokenScope; 3] = [TokenScope::Upload, TokenScope::Read, TokenScope::Publish];

    /// The scope's name in forms and messages.
    pub fn code(self) -> &'static str {
        match self {
            TokenScope::Upload => "upload",
            TokenScope::Read => "read",
            TokenScope::Publish => "publish",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            TokenScope::Upload => "Upload versions",
            TokenScope::Read => "Read versions",
            TokenScope::Publish => "Apply for publishing review",
        }
    }

    pub fn parse(code: &str) -> Option<TokenScope> {
        TokenScope::ALL.into_iter().find(|s| s.code() == code.trim())
    }
}

/// A sign-in of the command line waiting for the person's decision, as the `/device` page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRequestView {
    pub user_code: String,
    pub created: chrono::DateTime<chrono::Utc>,
    pub expires: chrono::DateTime<chrono::Utc>,
    /// The address the command line asked from.
    pub client: String,
}

/// A token's terms, checked: its name, its workspace (by name; membership is checked where the
/// token is made), its scopes and how many days it lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenTerms {
    pub name: String,
    pub workspace: String,
    pub scopes: Vec<TokenScope>,
    pub days: i64,
    /// The single sign-on provider the session that asked for the token signed in with (`None`:
    /// another way). A workspace that requires single sign-on admits only tokens made with its
    /// provider.
    #[serde(default)]
    pub signed_in_with: Option<String>,
}

/// A personal access token as its owner sees it (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenView {
    pub id: Uuid,
    pub name: String,
    /// The workspace it acts in.
    pub workspace: String,
    pub scopes: Vec<TokenScope>,
    pub created: chrono::DateTime<chrono::Utc>,
    pub expires: chrono::DateTime<chrono::Utc>,
    pub last_used: Option<chrono::DateTime<chrono::Utc>>,
    pub revoked: Option<chrono::DateTime<chrono::Utc>>,
    /// Neither revoked nor expired.
    pub live: bool,
}

/// A token just made: the token itself, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAccessToken {
    pub token: String,
    pub view: AccessTokenView,
}

/// The signed-in person's second factor, as the account page shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondFactorView {
    /// Since when login asks for an authenticator code; `None` while it is off.
    pub on_since: Option<chrono::DateTime<chrono::Utc>>,
    /// Recovery codes not yet used.
    pub recovery_left: usize,
    /// An enrolment begun and not yet confirmed with a code.
    pub setup: Option<TotpSetup>,
    /// Recovery codes made just now: shown this once, never again.
    pub fresh_codes: Vec<String>,
}

/// What a person needs to add MPDP to an authenticator app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpSetup {
    /// The secret in base32, in groups of four, for typing it in.
    pub key: String,
    /// The `otpauth://` URI the QR code holds.
    pub uri: String,
    /// The QR code as an SVG document, made on the server.
    pub qr_svg: String,
}

/// Checks an email address and returns it trimmed. Deliberately simple: one `@`, a local part,
/// a domain with a dot, no spaces — the mailbox itself is proven by the mail we send.
pub fn validate_email(field: &str, raw: &str) -> Result<String, AppError> {
    let email = raw.trim();
    if email.is_empty() {
        return Err(AppError::invalid(field, "is required"));
    }
    if email.chars().count() > EMAIL_MAX {
        return Err(AppError::invalid(
            field,
            format!("must be at most {EMAIL_MAX} characters"),
        ));
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(AppError::invalid(field, "must not contain spaces"));
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Err(AppError::invalid(
            field,
            "must be an address like name@example.com",
        ));
    };
    let domain_ok = !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
    if local.is_empty() || local.chars().count() > 64 || !domain_ok {
        return Err(AppError::invalid(
            field,
            "must be an address like name@example.com",
        ));
    }
    Ok(email.to_string())
}

/// Checks an address that comes into the platform anew (sign-up, an email change, an
/// invitation): [`validate_email`], and before the `@` only letters, digits and
/// [`LOCAL_SPECIALS`]. Addresses already held (a password reset, a single sign-on provider's
/// claim, a workspace's representatives) are read by [`validate_email`] alone, so no one who has
/// one is locked out.
pub fn validate_new_email(field: &str, raw: &str) -> Result<String, AppError> {
    let email = validate_email(field, raw)?;
    let local = email.rsplit_once('@').map_or("", |(l, _)| l);
    if !local.chars().all(|c| c.is_alphanumeric() || LOCAL_SPECIALS.contains(c)) {
        return Err(AppError::invalid(
            field,
            format!("must be an address like name@example.com: before the @ only letters, digits and {}", LOCAL_SPECIALS.chars().map(String::from).collect::<Vec<_>>().join(" ")),
        ));
    }
    Ok(email)
}

/// What an address may hold before its `@` besides letters and digits: RFC 5322's atom
/// characters and the dot (anywhere: some carriers' addresses have two in a row, or one last).
/// No quoted or escaped local parts, nor comments: mail servers read `"ann"@x`, `"\a\nn"@x` and
/// `ann(1)@x` as `ann@x`, one mailbox under many keys.
const LOCAL_SPECIALS: &str = "!#$%&'*+-/=?^_`{|}~.";

/// The key under which an email is unique: case-folded.
pub fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// The key a mail budget counts an address under: case-folded, its local part without a `+tag`
/// and without dots — `Ann.Lee+1@x` and `annlee@x` reach one mailbox at many providers, so they
/// share one budget (two distinct mailboxes sharing one is only stricter).
pub fn mailbox_key(email: &str) -> String {
    let key = email_key(email);
    match key.rsplit_once('@') {
        Some((local, domain)) => {
            let local = local.split_once('+').map_or(local, |(l, _)| l);
            format!("{}@{domain}", local.replace('.', ""))
        }
        None => key,
    }
}

/// Usernames: 3–32 characters of `A-Z a-z 0-9 . _ -`, starting with a letter or digit.
pub fn validate_username(raw: &str) -> Result<String, AppError> {
    let name = raw.trim();
    let n = name.chars().count();
    if n == 0 {
        return Err(AppError::invalid("Username", "is required"));
    }
    if !(USERNAME_MIN..=USERNAME_MAX).contains(&n) {
        return Err(AppError::invalid(
            "Username",
            format!("must be {USERNAME_MIN}–{USERNAME_MAX} characters long"),
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(AppError::invalid(
            "Username",
            "may contain only letters A–Z, digits, '.', '_' and '-'",
        ));
    }
    if !name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
    {
        return Err(AppError::invalid(
            "Username",
            "must start with a letter or a digit",
        ));
    }
    if RESERVED_USERNAMES.contains(&username_key(name).as_str()) {
        return Err(AppError::invalid("Username", format!("{name} is the platform's own name; choose another")));
    }
    Ok(name.to_string())
}

/// Names no account may take: the platform signs its own steps in histories and the audit log
/// with them.
pub const RESERVED_USERNAMES: [&str; 1] = ["mpdp"];

/// The key under which a username is unique: case-folded, so `Alice` and `alice` are one name.
pub fn username_key(username: &str) -> String {
    username.trim().to_ascii_lowercase()
}

/// Password length rule (the common-password check runs on the server, where the list is).
pub fn validate_password_length(field: &str, password: &str) -> Result<(), AppError> {
    let n = password.chars().count();
    if n < PASSWORD_MIN {
        return Err(AppError::invalid(
            field,
            format!("must be at least {PASSWORD_MIN} characters long"),
        ));
    }
    if n > PASSWORD_MAX {
        return Err(AppError::invalid(
            field,
            format!("must be at most {PASSWORD_MAX} characters long"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            validate_email("Email", "  Ann@Example.com ").unwrap(),
            "Ann@Example.com"
        );
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "a b@example.com",
            "a@b@c.com",
            "ann@.com",
            "ann@example..com",
        ] {
            let err = validate_email("Email", bad).unwrap_err();
            assert_eq!(err.field(), Some("Email"), "{bad}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(validate_email("Email", &long).is_err());
        assert_eq!(email_key(" Ann@Example.COM"), "ann@example.com");
        // Quoted and escaped local parts and comments name one mailbox many ways: refused.
        for bad in ["\"ann\"@example.com", "\"a\\nn\"@example.com", "a\\nn@example.com", "ann(1)@example.com", "a,b@example.com", "<ann>@example.com"] {
            let err = validate_new_email("Email", bad).unwrap_err();
            assert!(err.field() == Some("Email") && err.to_string().contains("before the @ only letters"), "{bad}: {err}");
            assert_eq!(validate_email("Email", bad).unwrap(), bad, "an address already held is still read");
        }
        for good in ["ann.lee+mpdp@example.com", "o'neil@example.com", "a_b-c{x}|~^`=?/*%$#!&@example.com", "jörg@example.de", "taro..yamada.@docomo.ne.jp", ".ann@example.com"] {
            assert_eq!(validate_new_email("Email", good).unwrap(), good);
        }
        // One mailbox's variants share one mail budget.
        for variant in ["Ann.Lee@Example.com", "annlee+1@example.com", "a.n.n.l.e.e+x+y@EXAMPLE.COM"] {
            assert_eq!(mailbox_key(variant), "annlee@example.com", "{variant}");
        }
        assert_ne!(mailbox_key("annlee@example.com"), mailbox_key("annlee@example.org"));
    }

    #[test]
    fn usernames() {
        assert_eq!(validate_username(" ann.lee_1 ").unwrap(), "ann.lee_1");
        for bad in ["", "ab", &"a".repeat(33), "ann lee", "_ann", "änn", "ann@x"] {
            assert!(validate_username(bad).is_err(), "{bad}");
        }
        assert!(validate_username(&"a".repeat(32)).is_ok());
        let e = validate_username("Mpdp").unwrap_err();
        assert!(e.field() == Some("Username") && e.to_string().contains("platform's own name"), "{e}");
        assert!(validate_username("mpdp-ann").is_ok());
        assert_eq!(username_key("Ann"), "ann");
    }

    #[test]
    fn password_lengths() {
        assert!(validate_password_length("Password", "1234567").is_err());
        assert!(validate_password_length("Password", "12345678").is_ok());
        assert!(validate_password_length("Password", &"x".repeat(128)).is_ok());
        assert!(validate_password_length("Password", &"x".repeat(129)).is_err());
        // characters, not bytes
        assert!(validate_password_length("Password", &"é".repeat(8)).is_ok());
    }
}

/// A single sign-on provider as the login page offers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoButton {
    pub id: String,
    pub label: String,
}

/// A single sign-on provider as the operator sees it (never its client secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoProviderView {
    /// Names it in addresses (`/sso/{id}`): lowercase letters, digits and '-'.
    pub id: String,
    pub label: String,
    pub issuer: String,
    pub client_id: String,
    /// The email domains whose people may sign in with it; empty for any.
    pub allowed_domains: Vec<String>,
    /// Scopes asked beside `openid email profile`.
    pub scopes: Vec<String>,
    pub created: chrono::DateTime<chrono::Utc>,
    /// The workspaces that use it.
    pub workspaces: Vec<String>,
    /// The address to register at the provider as the client's redirect URI.
    pub redirect_uri: String,
}

/// Why a single sign-on came back refused: named in the login page's address (`refused=`), so
/// the page says what went wrong without echoing anything the request carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SsoRefusal {
    /// No such provider (deleted, or a mistyped address).
    UnknownProvider,
    /// The provider could not be reached, or answered something that is not OpenID Connect.
    Unreachable,
    /// The answer names no sign-in this browser began, or another one (`state`).
    State,
    /// The person declined, or the provider refused them.
    Denied,
    /// The authorization response names another issuer than the provider's (`iss`).
    Issuer,
    /// The code was refused at the provider's token endpoint (used already, expired, or not
    /// issued for this sign-in).
    Code,
    /// The ID token failed a check: signature, issuer, audience, expiry or nonce.
    Token,
    /// The provider gave no email address.
    NoEmail,
    /// The provider has not verified the email address, and an account already uses it.
    Unverified,
    /// An account already uses the address, and the provider does not speak for its domain (the
    /// operator listed no allowed email domains for it), so its word can't sign in to that account.
    NotVouched,
    /// The email address is outside the domains allowed for this provider.
    Domain,
    /// Too many sign-ins were begun from the client's address lately.
    TooMany,
}

impl SsoRefusal {
    pub const ALL: [SsoRefusal; 12] = [
        SsoRefusal::UnknownProvider,
        SsoRefusal::Unreachable,
        SsoRefusal::State,
        SsoRefusal::Denied,
        SsoRefusal::Issuer,
        SsoRefusal::Code,
        SsoRefusal::Token,
        SsoRefusal::NoEmail,
        SsoRefusal::Unverified,
        SsoRefusal::NotVouched,
        SsoRefusal::Domain,
        SsoRefusal::TooMany,
    ];

    /// Its name in the login page's address.
    pub fn code(self) -> &'static str {
        match self {
            SsoRefusal::UnknownProvider => "unknown_provider",
            SsoRefusal::Unreachable => "unreachable",
            SsoRefusal::State => "state",
            SsoRefusal::Denied => "denied",
            SsoRefusal::Issuer => "issuer",
            SsoRefusal::Code => "code",
            SsoRefusal::Token => "token",
            SsoRefusal::NoEmail => "no_email",
            SsoRefusal::Unverified => "unverified",
            SsoRefusal::NotVouched => "not_vouched",
            SsoRefusal::Domain => "domain",
            SsoRefusal::TooMany => "too_many",
        }
    }

    pub fn parse(code: &str) -> Option<SsoRefusal> {
        SsoRefusal::ALL.into_iter().find(|r| r.code() == code)
    }

    /// What the person reads. Nothing was signed in, created or changed.
    pub fn message(self) -> &'static str {
        match self {
            SsoRefusal::UnknownProvider => "There is no such single sign-on provider on this server. Nothing was signed in.",
            SsoRefusal::Unreachable => "The single sign-on provider could not be reached or gave an answer that could not be used. Try again later, or ask the platform operator. Nothing was signed in.",
            SsoRefusal::State => "This sign-in was not started in this browser, was started again since, or took longer than ten minutes. Start again from the login page. Nothing was signed in.",
            SsoRefusal::Denied => "The sign-in was declined at the single sign-on provider. Nothing was signed in.",
            SsoRefusal::Issuer => "The answer came from another issuer than the single sign-on provider's. Nothing was signed in.",
            SsoRefusal::Code => "The single sign-on provider refused the sign-in's code: it was used already, expired, or was not issued for this sign-in. Start again from the login page. Nothing was signed in.",
            SsoRefusal::Token => "The single sign-on provider's ID token failed a check (signature, issuer, audience, expiry or nonce). Nothing was signed in.",
            SsoRefusal::NoEmail => "The single sign-on provider gave no email address for you. Nothing was signed in.",
            SsoRefusal::Unverified => "The single sign-on provider has not verified your email address, and an account already uses it. Verify the address at the provider, or log in with your password. Nothing was signed in.",
            SsoRefusal::NotVouched => "An account already uses your email address, and this single sign-on provider does not speak for its domain, so it can't sign in to that account. Log in another way (password or passkey). Nothing was signed in.",
            SsoRefusal::Domain => "Your email address is not in a domain this single sign-on provider may sign in. Nothing was signed in.",
            SsoRefusal::TooMany => "Too many sign-ins were begun from your network address in the last hour. Wait a while and try again.",
        }
    }
}

/// One of a person's passkeys, as their account page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyView {
    pub id: Uuid,
    pub name: String,
    pub created: chrono::DateTime<chrono::Utc>,
    pub last_used: Option<chrono::DateTime<chrono::Utc>>,
}

/// What the second step of a login may be answered with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondStepView {
    pub username: String,
    /// A code from the authenticator app (or a recovery code).
    pub code: bool,
    /// One of the account's passkeys.
    pub passkey: bool,
}
