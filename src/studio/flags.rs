//! The command line of `mpdp studio`: its commands, their flags, and the checks each flag's
//! value passes before anything is read or sent.

use std::path::PathBuf;

use anyhow::{anyhow, bail};
use app::server::keys;
use clap::{Args, Subcommand};
use ed25519_dalek::SigningKey;

/// At most this many characters in `--note`.
pub const MAX_NOTE_CHARS: usize = 2000;

#[derive(Subcommand)]
pub enum StudioCommand {
    /// Pack a mini program directory and upload it as a new version.
    Upload(UploadArgs),
    /// List the versions uploaded for a mini program.
    Versions(VersionsArgs),
    /// Check a manifest from the container API and its bundle as a container does: the
    /// platform's signature, the uploader's signature, the bundle's sha256 and size.
    Verify(VerifyArgs),
    /// Sign in from this machine: approve the code it shows in the console, in a browser where
    /// you are signed in, and a personal access token for the server is kept in your config
    /// directory (readable by you only). `upload` and `versions` then name you with it unless
    /// --token says otherwise.
    Login(LoginArgs),
    /// Apply for publishing review of the newest uploaded version, to be released to the Apps
    /// named once approved — as "Apply for publishing review" in the console. Needs a personal
    /// access token with the publish scope (--token, MPDP_TOKEN, or mpdp studio login); no key.
    Publish(PublishArgs),
    /// Print the platform public key that signs what an App is served (its lists and
    /// manifests), asked with the App's Accessing Key: to copy into the host app's build once.
    /// A container ships this key and never fetches it at run time — whoever answered could then
    /// sign for the platform. The key alone goes to standard output.
    PlatformKey(PlatformKeyArgs),
}

#[derive(Args)]
pub struct PlatformKeyArgs {
    /// The platform's address, e.g. https://mpdp.example.com (http:// or https://).
    #[arg(long, value_name = "URL")]
    pub(super) server: String,
    /// The App's Mini Program Accessing Key (mpak_…) as the console showed it. Prefer the
    /// environment variable: a flag's value is visible to other users of this machine.
    #[arg(long, env = "MPDP_ACCESS_KEY", hide_env_values = true, value_name = "KEY")]
    pub(super) key: String,
}

#[derive(Args)]
pub struct PublishArgs {
    /// The platform's address, e.g. https://mpdp.example.com (http:// or https://).
    #[arg(long, value_name = "URL")]
    pub(super) server: String,
    /// The mini program's id (a UUID, shown on its page in the console).
    #[arg(long, value_name = "ID")]
    pub(super) mini_program: String,
    /// The version to apply for: the newest one uploaded, e.g. 1.2.0.
    #[arg(long = "version", value_name = "X.Y.Z")]
    pub(super) version: String,
    /// An App to release it to once approved (its id); repeat for several.
    #[arg(long = "app", value_name = "ID", required = true)]
    pub(super) apps: Vec<String>,
    /// The share of the Apps' installs it goes to at first, in percent (0–100; default 100).
    #[arg(long, value_name = "PERCENT")]
    pub(super) rollout: Option<String>,
    /// A note for the reviewers (at most 2000 characters).
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    pub(super) note: Option<String>,
    /// A personal access token with the publish scope (mppat_…). Prefer the environment
    /// variable; without either, the one `mpdp studio login` kept for the server.
    #[arg(long, env = "MPDP_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    pub(super) token: Option<String>,
}

#[derive(Args)]
pub struct LoginArgs {
    /// The platform's address, e.g. https://mpdp.example.com (http:// or https://).
    #[arg(long, value_name = "URL")]
    pub(super) server: String,
}

/// Where to, and as whom: the flags every Studio command needs.
#[derive(Args)]
pub struct Target {
    /// The platform's address, e.g. https://mpdp.example.com (http:// or https://).
    #[arg(long, value_name = "URL")]
    pub(super) server: String,
    /// The App's Upload Key (mpuk_…) as the console showed it. Prefer the environment variable:
    /// a flag's value is visible to other users of this machine.
    #[arg(
        long,
        env = "MPDP_UPLOAD_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub(super) key: String,
    /// The mini program's id (a UUID, shown on its page in the console).
    #[arg(long, value_name = "ID")]
    pub(super) mini_program: String,
    /// A personal access token (mppat_…, from your account page in the console) naming you: the
    /// upload is then both signed by the App's Upload Key and attributed to you, and refused if
    /// you may not upload to the mini program. Prefer the environment variable.
    #[arg(long, env = "MPDP_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    pub(super) token: Option<String>,
}

#[derive(Args)]
pub struct UploadArgs {
    #[command(flatten)]
    pub(super) target: Target,
    /// The version to create: a semantic version X.Y.Z[-pre][+build] without leading zeros,
    /// e.g. 1.2.0 or 2.0.0-beta.1.
    #[arg(long = "version", value_name = "X.Y.Z")]
    pub(super) version: String,
    /// What changed in this version, for reviewers (at most 2000 characters).
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    pub(super) note: Option<String>,
    /// The mini program: a directory with app.json at its root. Every regular file in it is
    /// uploaded; symbolic links and special files are refused.
    #[arg(value_name = "DIR")]
    pub(super) dir: PathBuf,
}

#[derive(Args)]
pub struct VersionsArgs {
    #[command(flatten)]
    pub(super) target: Target,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// A manifest as `GET /api/container/v1/mini-programs/{id}` answers it (JSON).
    #[arg(long, value_name = "FILE")]
    pub(super) manifest: PathBuf,
    /// The bundle as `GET /api/container/v1/bundles/{sha256}` answers it.
    #[arg(long, value_name = "FILE")]
    pub(super) bundle: PathBuf,
    /// The workspace's platform public key, as the console's App detail page shows it
    /// (43 base64url characters; one in 64 starts with `-`, which is still the key).
    #[arg(long, value_name = "KEY", allow_hyphen_values = true)]
    pub(super) platform_key: String,
    /// The App the container runs in (its id): the manifest, and the list if given, must be
    /// made for it.
    #[arg(long, value_name = "ID")]
    pub(super) app: Option<String>,
    /// The list as `GET /api/container/v1/mini-programs` answers it: its signature, App and
    /// expiry are checked, and it must hold this very manifest.
    #[arg(long, value_name = "FILE")]
    pub(super) list: Option<PathBuf>,
}

/// The checked flags of [`Target`].
pub(super) struct Checked {
    pub(super) server: String,
    pub(super) key: SigningKey,
    pub(super) mini_program: String,
    /// `Authorization: Bearer mppat_…`, when a token was given.
    pub(super) authorization: Option<String>,
}

impl Target {
    /// Checks the flags; `action` says what the key is for, in the refusal of an Accessing Key.
    pub(super) fn check(&self, action: &str) -> anyhow::Result<Checked> {
        Ok(Checked {
            server: check_server(&self.server)?,
            key: check_key(&self.key, action)?,
            mini_program: check_mini_program(&self.mini_program)?,
            authorization: authorization(self.token.as_deref(), &check_server(&self.server)?)?,
        })
    }
}

/// The `Authorization` header for `--token` (or `MPDP_TOKEN`), else for the token `mpdp studio
/// login` kept for `server`, if any.
pub(super) fn authorization(token: Option<&str>, server: &str) -> anyhow::Result<Option<String>> {
    match token {
        Some(t) => Ok(Some(check_token(t)?)),
        None => Ok(super::credentials::stored_token(server)?.map(|t| format!("Bearer {t}"))),
    }
}

/// `--token`: a personal access token; the header that carries it. Never echoes the token.
pub fn check_token(raw: &str) -> anyhow::Result<String> {
    let text = raw.trim();
    let prefix = app::server::domain::accounts::access_tokens::TOKEN_PREFIX;
    let body = text.strip_prefix(prefix).unwrap_or("");
    if body.len() != 43 || !body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        bail!("--token: not a personal access token: it must be {prefix} followed by 43 base64url characters, as the console showed it");
    }
    Ok(format!("Bearer {text}"))
}

/// `--server`: an http:// or https:// address of a host, without a trailing slash.
pub fn check_server(raw: &str) -> anyhow::Result<String> {
    let text = raw.trim().trim_end_matches('/');
    let url = reqwest::Url::parse(text).map_err(|e| {
        anyhow!("--server: {text:?} is not a URL ({e}); write e.g. https://mpdp.example.com")
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        bail!(
            "--server: must start with http:// or https://, not {}://",
            url.scheme()
        );
    }
    if url.host_str().is_none_or(str::is_empty) {
        bail!("--server: must name a host, like https://mpdp.example.com");
    }
    if url.query().is_some() || url.fragment().is_some() {
        bail!("--server: must be the platform's address, without ?query or #fragment");
    }
    // Keys' signatures, tokens and bundles cross the network: in clear only to this machine.
    let host = url.host_str().unwrap_or_default();
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if url.scheme() == "http" && !loopback {
        bail!("--server: http:// would send the token and the bundle unencrypted: use https:// (http:// is only for this machine: localhost, 127.0.0.1, [::1])");
    }
    Ok(text.to_string())
}

/// `--key`: an Accessing Key. Never echoes the key: it is a secret.
pub fn check_access_key(raw: &str) -> anyhow::Result<String> {
    let text = raw.trim();
    if text.starts_with(keys::UPLOAD_PREFIX) {
        bail!("--key: this is an Upload Key (mpuk_…), which signs uploads; this needs the App's Accessing Key (mpak_…)");
    }
    if !text.starts_with(keys::ACCESS_PREFIX) || text.len() == keys::ACCESS_PREFIX.len() || !text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        bail!("--key: must be the App's Accessing Key as the console showed it, mpak_ followed by base64url characters");
    }
    Ok(text.to_string())
}

/// `--key`: an Upload Key. Never echoes the key: it is a secret.
pub fn check_key(raw: &str, action: &str) -> anyhow::Result<SigningKey> {
    let text = raw.trim();
    if text.starts_with(keys::ACCESS_PREFIX) {
        bail!("--key: not an Upload Key (mpuk_…); an Accessing Key (mpak_…) can't {action}");
    }
    keys::parse_upload_key(text).ok_or_else(|| {
        anyhow!("--key: not an Upload Key: it must be mpuk_ followed by 43 base64url characters, as the console showed it")
    })
}

/// `--mini-program`: a UUID, returned in its canonical form (lowercase, hyphenated), which is
/// what the URL and the signature carry.
pub fn check_mini_program(raw: &str) -> anyhow::Result<String> {
    uuid::Uuid::parse_str(raw.trim())
        .map(|id| id.hyphenated().to_string())
        .map_err(|_| anyhow!("--mini-program: not a mini program id (a UUID)"))
}

/// `--version`: exactly X.Y.Z[-pre][+build], no leading zeros.
pub fn check_version(raw: &str) -> anyhow::Result<String> {
    semver::Version::parse(raw).map(|v| v.to_string()).map_err(|e| {
        anyhow!("--version: {raw:?} is not a semantic version X.Y.Z[-pre][+build] without leading zeros ({e})")
    })
}

/// `--note`: at most [`MAX_NOTE_CHARS`] characters; returns the header value (percent-encoded
/// UTF-8), or `None` for an empty note.
pub fn check_note(raw: &str) -> anyhow::Result<Option<String>> {
    let count = raw.chars().count();
    if count > MAX_NOTE_CHARS {
        bail!("--note: at most {MAX_NOTE_CHARS} characters (this one has {count})");
    }
    if raw.trim().is_empty() {
        return Ok(None);
    }
    Ok(Some(app::server::studio::encode_note(raw)))
}

/// `--platform-key`: an Ed25519 public key in base64url.
pub fn check_platform_key(raw: &str) -> anyhow::Result<[u8; 32]> {
    keys::parse_public_key(raw).ok_or_else(|| {
        anyhow!("--platform-key: not a platform public key: it must be the 43 base64url characters the console shows on the App's page")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::studio::fixtures::ID;

    #[test]
    fn versions_must_be_semantic() {
        for bad in [
            "1.2", "01.0.0", "1.0", "1.02.3", "v1.2.3", "1.2.3.4", "", " 1.2.3",
        ] {
            let e = check_version(bad).unwrap_err().to_string();
            assert!(
                e.starts_with("--version:") && e.contains("X.Y.Z"),
                "{bad}: {e}"
            );
        }
        for good in ["1.2.3", "1.0.0-beta.1", "0.0.1", "2.0.0-rc.1+build.5"] {
            assert_eq!(check_version(good).unwrap(), good);
        }
    }

    #[test]
    fn the_server_must_be_an_http_address() {
        for bad in [
            "ftp://x",
            "x",
            "mpdp.example.com",
            "http://",
            "https://h/?a=1",
            "",
        ] {
            let e = check_server(bad).unwrap_err().to_string();
            assert!(e.starts_with("--server:"), "{bad}: {e}");
        }
        assert!(check_server("ftp://x")
            .unwrap_err()
            .to_string()
            .contains("http://"));
        assert_eq!(
            check_server("https://mpdp.example.com/").unwrap(),
            "https://mpdp.example.com"
        );
        assert_eq!(
            check_server("http://127.0.0.1:3000").unwrap(),
            "http://127.0.0.1:3000"
        );
        assert_eq!(check_server("https://h/mpdp/").unwrap(), "https://h/mpdp");
        assert_eq!(check_server("http://localhost:3000/").unwrap(), "http://localhost:3000");
        assert_eq!(check_server("http://[::1]:3000").unwrap(), "http://[::1]:3000");
        for clear in ["http://mpdp.example.com", "http://10.0.0.5:3000", "http://127.0.0.1.example.com"] {
            let e = check_server(clear).unwrap_err().to_string();
            assert!(e.contains("unencrypted"), "{clear}: {e}");
        }
    }

    #[test]
    fn the_mini_program_is_a_uuid() {
        let e = check_mini_program("acme").unwrap_err().to_string();
        assert_eq!(e, "--mini-program: not a mini program id (a UUID)");
        assert_eq!(
            check_mini_program("0190A0B1C2D37E4F8A9B0C1D2E3F4A5B").unwrap(),
            "0190a0b1-c2d3-7e4f-8a9b-0c1d2e3f4a5b"
        );
    }

    #[test]
    fn only_an_upload_key_is_taken_and_never_echoed() {
        let (upload, _) = keys::new_upload_key();
        assert!(check_key(&upload, "upload").is_ok());
        let (access, _) = keys::new_access_key();
        let e = check_key(&access, "upload").unwrap_err().to_string();
        assert_eq!(
            e,
            "--key: not an Upload Key (mpuk_…); an Accessing Key (mpak_…) can't upload"
        );
        assert!(!e.contains(&access[5..]));
        let e = check_key("mpuk_secret", "upload").unwrap_err().to_string();
        assert!(e.starts_with("--key:") && !e.contains("secret"), "{e}");
    }

    #[test]
    fn notes_are_limited_and_percent_encoded() {
        assert_eq!(
            check_note("Fixed the café\nmenu").unwrap().unwrap(),
            "Fixed%20the%20caf%C3%A9%0Amenu"
        );
        assert_eq!(check_note("  ").unwrap(), None);
        assert!(check_note(&"é".repeat(2000)).unwrap().is_some());
        let e = check_note(&"a".repeat(2001)).unwrap_err().to_string();
        assert!(e.starts_with("--note:") && e.contains("2000"), "{e}");
    }

    /// `mpdp studio …` as the command line parses it.
    #[derive(clap::Parser)]
    struct Cli {
        #[command(subcommand)]
        command: StudioCommand,
    }

    fn parse(args: &[&str]) -> Result<StudioCommand, clap::Error> {
        use clap::Parser;
        Cli::try_parse_from(std::iter::once("studio").chain(args.iter().copied()))
            .map(|c| c.command)
    }

    #[test]
    fn the_command_line_takes_the_documented_flags() {
        let (key, _) = keys::new_upload_key();
        let target = ["--server", "http://h", "--key", key.as_str(), "--mini-program", ID];
        let with = |command: &'static str, rest: &[&'static str]| {
            let mut args = vec![command];
            args.extend(target.iter().copied());
            args.extend(rest.iter().copied());
            parse(&args)
        };
        let command = with("upload", &["--version", "1.2.3", "--note", "n", "bundle"]).unwrap();
        let StudioCommand::Upload(args) = command else {
            panic!("not an upload")
        };
        assert_eq!((args.version.as_str(), args.note.as_deref()), ("1.2.3", Some("n")));
        assert_eq!(args.dir, PathBuf::from("bundle"));
        assert_eq!(args.target.mini_program, ID);
        let StudioCommand::Versions(args) = with("versions", &[]).unwrap() else {
            panic!("not a listing")
        };
        assert_eq!(args.target.server, "http://h");
        assert!(with("upload", &["bundle"]).is_err());
        let help = {
            use clap::CommandFactory;
            let mut cli = Cli::command();
            cli.build();
            cli.find_subcommand_mut("upload")
                .unwrap()
                .render_long_help()
                .to_string()
        };
        assert!(help.contains("[env: MPDP_UPLOAD_KEY]"), "{help}");
    }
}
