//! `mpdp studio …`: the developer's client of the Studio API (`/api/studio/v1`).
//!
//! `upload` checks everything it can locally first (the flags, then the bundle directory), packs
//! the directory into a deterministic `.tar.gz` (the same files always give the same bytes, so the
//! same SHA-256), signs what it sends with the Upload Key and streams the archive to the server.
//! `versions` lists what has been uploaded. The key never leaves this machine: only signatures do.
//! `verify` checks, as a container does, a manifest from the container API and its bundle: the
//! platform's signature, the uploader's signature, and the bundle's sha256 and size.

use std::fs::File;
use std::io::{self, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use app::server::keys;
use clap::{Args, Subcommand};
use ed25519_dalek::SigningKey;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// At most this many files in a bundle.
pub const MAX_FILES: usize = 10_000;
/// At most this many characters in `--note`.
pub const MAX_NOTE_CHARS: usize = 2000;
/// The header naming the uploaded version.
const VERSION_HEADER: &str = "MPDP-Version";
/// The header carrying the percent-encoded note.
const NOTE_HEADER: &str = "MPDP-Note";

#[derive(Subcommand)]
pub enum StudioCommand {
    /// Pack a mini program directory and upload it as a new version.
    Upload(UploadArgs),
    /// List the versions uploaded for a mini program.
    Versions(VersionsArgs),
    /// Check a manifest from the container API and its bundle as a container does: the
    /// platform's signature, the uploader's signature, the bundle's sha256 and size.
    Verify(VerifyArgs),
}

/// Where to, and as whom: the flags every Studio command needs.
#[derive(Args)]
pub struct Target {
    /// The platform's address, e.g. https://mpdp.example.com (http:// or https://).
    #[arg(long, value_name = "URL")]
    server: String,
    /// The App's Upload Key (mpuk_…) as the console showed it. Prefer the environment variable:
    /// a flag's value is visible to other users of this machine.
    #[arg(
        long,
        env = "MPDP_UPLOAD_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    key: String,
    /// The mini program's id (a UUID, shown on its page in the console).
    #[arg(long, value_name = "ID")]
    mini_program: String,
}

#[derive(Args)]
pub struct UploadArgs {
    #[command(flatten)]
    target: Target,
    /// The version to create: a semantic version X.Y.Z[-pre][+build] without leading zeros,
    /// e.g. 1.2.0 or 2.0.0-beta.1.
    #[arg(long = "version", value_name = "X.Y.Z")]
    version: String,
    /// What changed in this version, for reviewers (at most 2000 characters).
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    note: Option<String>,
    /// The mini program: a directory with app.json at its root. Every regular file in it is
    /// uploaded; symbolic links and special files are refused.
    #[arg(value_name = "DIR")]
    dir: PathBuf,
}

#[derive(Args)]
pub struct VersionsArgs {
    #[command(flatten)]
    target: Target,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// A manifest as `GET /api/container/v1/mini-programs/{id}` answers it (JSON).
    #[arg(long, value_name = "FILE")]
    manifest: PathBuf,
    /// The bundle as `GET /api/container/v1/bundles/{sha256}` answers it.
    #[arg(long, value_name = "FILE")]
    bundle: PathBuf,
    /// The workspace's platform public key, as the console's App detail page shows it
    /// (43 base64url characters; one in 64 starts with `-`, which is still the key).
    #[arg(long, value_name = "KEY", allow_hyphen_values = true)]
    platform_key: String,
    /// The App the container runs in (its id): the manifest, and the list if given, must be
    /// made for it.
    #[arg(long, value_name = "ID")]
    app: Option<String>,
    /// The list as `GET /api/container/v1/mini-programs` answers it: its signature, App and
    /// expiry are checked, and it must hold this very manifest.
    #[arg(long, value_name = "FILE")]
    list: Option<PathBuf>,
}

/// Runs a Studio command.
pub async fn run(command: StudioCommand) -> anyhow::Result<()> {
    match command {
        StudioCommand::Upload(args) => upload(args).await,
        StudioCommand::Versions(args) => versions(args).await,
        StudioCommand::Verify(args) => {
            print!("{}", verify(&args)?);
            Ok(())
        }
    }
}

/// The checked flags of [`Target`].
struct Checked {
    server: String,
    key: SigningKey,
    mini_program: String,
}

impl Target {
    /// Checks the flags; `action` says what the key is for, in the refusal of an Accessing Key.
    fn check(&self, action: &str) -> anyhow::Result<Checked> {
        Ok(Checked {
            server: check_server(&self.server)?,
            key: check_key(&self.key, action)?,
            mini_program: check_mini_program(&self.mini_program)?,
        })
    }
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


/// A regular file of a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleFile {
    /// The path in the archive: relative to DIR, `/`-separated.
    pub path: String,
    /// Where it is on disk.
    pub source: PathBuf,
    /// Its size when listed.
    pub size: u64,
}

/// Lists DIR's regular files, sorted bytewise by path, after checking that DIR is a mini program
/// bundle: a directory, `app.json` at its root, no symbolic links or special files, at most
/// [`MAX_FILES`] files.
pub fn list_bundle(dir: &Path) -> anyhow::Result<Vec<BundleFile>> {
    list_bundle_limited(dir, MAX_FILES)
}

fn list_bundle_limited(dir: &Path, limit: usize) -> anyhow::Result<Vec<BundleFile>> {
    let meta = match std::fs::metadata(dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            bail!("DIR {} does not exist", dir.display())
        }
        Err(e) => return Err(e).with_context(|| format!("could not read DIR {}", dir.display())),
    };
    if !meta.is_dir() {
        bail!(
            "DIR {} is not a directory: give the directory that holds app.json",
            dir.display()
        );
    }
    // A symbolic link app.json is reported by the walk below, naming it.
    match std::fs::symlink_metadata(dir.join("app.json")) {
        Ok(m) if m.is_file() || m.file_type().is_symlink() => {}
        _ => bail!(
            "DIR has no app.json at its root: a mini program bundle needs one ({})",
            dir.display()
        ),
    }

    let mut files = Vec::new();
    let mut pending = vec![(dir.to_path_buf(), String::new())];
    while let Some((folder, prefix)) = pending.pop() {
        let entries = std::fs::read_dir(&folder)
            .with_context(|| format!("could not read the directory {}", folder.display()))?;
        for entry in entries {
            let entry = entry
                .with_context(|| format!("could not read the directory {}", folder.display()))?;
            let source = entry.path();
            let name = entry.file_name().into_string().map_err(|_| {
                anyhow!("{}: a bundle's file names must be UTF-8", source.display())
            })?;
            let path = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            // The server's rules for paths, told here with the file's name.
            app::server::archive::Canonical::<Vec<u8>>::check_path(&path)
                .map_err(|e| anyhow!("{}: {e}", source.display()))?;
            // DirEntry::file_type does not follow symbolic links.
            let kind = entry
                .file_type()
                .with_context(|| format!("could not read {}", source.display()))?;
            if kind.is_symlink() {
                bail!(
                    "{} is a symbolic link: a bundle holds only regular files and directories",
                    source.display()
                );
            } else if kind.is_dir() {
                pending.push((source, path));
            } else if kind.is_file() {
                let size = entry
                    .metadata()
                    .with_context(|| format!("could not read {}", source.display()))?
                    .len();
                files.push(BundleFile { path, source, size });
                if files.len() > limit {
                    bail!("DIR has more than {limit} files: a bundle holds at most {limit}");
                }
            } else {
                bail!(
                    "{} is a special file (a device, socket or pipe): a bundle holds only regular files and directories",
                    source.display()
                );
            }
        }
    }
    files.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
    Ok(files)
}

/// Packs `files` into the platform's canonical archive (see `app::server::archive`), written to
/// `out`: ustar, every directory that holds a file and the files sorted by path bytes, mode 0644
/// (directories 0755), mtime 0, owner 0:0 without names, a gzip header without name or time. The
/// same files always give the same bytes, and the server's re-pack of them is byte for byte the
/// same archive, so the bundle containers download has the sha256 that was signed.
pub fn pack<W: Write>(files: &[BundleFile], out: W) -> anyhow::Result<W> {
    use app::server::archive::{canonical_entries, Canonical};
    let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    let mut archive = Canonical::new(out);
    for (path, file) in canonical_entries(&paths, &[]) {
        match file {
            None => archive
                .dir(&path)
                .with_context(|| format!("could not pack the directory {path}"))?,
            Some(i) => {
                let file = &files[i];
                let data = File::open(&file.source)
                    .with_context(|| format!("could not open {}", file.source.display()))?;
                archive
                    .file(&path, file.size, data)
                    .with_context(|| format!("could not pack {}", file.source.display()))?;
            }
        }
    }
    archive.finish().context("could not finish the archive")
}

/// Passes writes through, counting and hashing them.
struct Digesting<W> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W: Write> Write for Digesting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A packed bundle in an anonymous temporary file, read from its start.
pub struct Packed {
    pub file: File,
    pub size: u64,
    /// Lowercase hex.
    pub sha256: String,
}

/// Packs `files` into a temporary file (removed when closed), hashing as it writes.
pub fn pack_to_temp(files: &[BundleFile]) -> anyhow::Result<Packed> {
    let temp = tempfile::tempfile().context("could not create a temporary file for the archive")?;
    let out = Digesting {
        inner: io::BufWriter::new(temp),
        hasher: Sha256::new(),
        size: 0,
    };
    let Digesting {
        inner,
        hasher,
        size,
    } = pack(files, out)?;
    let mut file = inner
        .into_inner()
        .map_err(|e| e.into_error())
        .context("could not write the archive")?;
    file.rewind().context("could not read the archive back")?;
    Ok(Packed {
        file,
        size,
        sha256: keys::hex(&hasher.finalize()),
    })
}

/// Seconds since the Unix epoch, for signatures.
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A version as the Studio API describes it.
#[derive(Debug, Deserialize)]
pub struct VersionInfo {
    pub version: String,
    pub state: String,
    pub size: u64,
    pub sha256: String,
    /// Who uploaded it (shown as the server gives it).
    #[serde(default)]
    pub uploader: serde_json::Value,
    /// When it was uploaded (shown as the server gives it).
    #[serde(default)]
    pub created: serde_json::Value,
}

#[derive(Deserialize)]
struct UploadAnswer {
    version: VersionInfo,
    console_url: String,
}

#[derive(Deserialize)]
struct VersionsAnswer {
    versions: Vec<VersionInfo>,
}

#[derive(Deserialize)]
struct ErrorAnswer {
    error: ErrorBody,
}

#[derive(Deserialize)]
struct ErrorBody {
    code: String,
    message: String,
}

fn client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .user_agent(concat!("mpdp-studio/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(30))
        // A redirected POST would lose its streamed body: report the redirect instead.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("could not set up the HTTP client")
}

/// The URL of a mini program's versions.
fn versions_url(server: &str, mini_program: &str) -> String {
    format!("{server}/api/studio/v1/mini-programs/{mini_program}/versions")
}

/// Reads the server's answer: `T` on success, else the error it gives.
async fn answer<T: DeserializeOwned>(
    server: &str,
    response: reqwest::Response,
) -> anyhow::Result<T> {
    let status = response.status();
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = response
        .bytes()
        .await
        .with_context(|| format!("could not read the answer of {server} (--server)"))?;
    if status.is_success() {
        return serde_json::from_slice(&body).map_err(|e| {
            anyhow!("the answer of {server} (--server) was not understood ({e}); is it the MPDP platform?")
        });
    }
    if let Ok(ErrorAnswer { error }) = serde_json::from_slice(&body) {
        bail!("{} ({})", error.message, error.code);
    }
    if status.is_redirection() {
        bail!(
            "{server} (--server) redirects to {}: give that address as --server",
            location.as_deref().unwrap_or("another address")
        );
    }
    bail!("{server} (--server) answered {status} without a Studio API error; is it the MPDP platform's address?")
}

fn connection_error(server: &str) -> String {
    format!("could not reach the server at {server} (--server)")
}

async fn upload(args: UploadArgs) -> anyhow::Result<()> {
    let target = args.target.check("upload")?;
    let version = check_version(&args.version)?;
    let note = match &args.note {
        Some(note) => check_note(note)?,
        None => None,
    };
    let files = list_bundle(&args.dir)?;
    let Packed { file, size, sha256 } = pack_to_temp(&files)?;
    eprintln!(
        "Packed {} files from {} ({} bytes, sha256 {sha256})",
        files.len(),
        args.dir.display(),
        size
    );

    let signature = keys::sign_upload(
        &target.key,
        &target.mini_program,
        &version,
        &sha256,
        size,
        unix_now(),
    );
    let progress = ProgressBar::with_draw_target(Some(size), ProgressDrawTarget::stderr())
        .with_style(
            ProgressStyle::with_template(
                "Uploading [{bar:30}] {bytes}/{total_bytes} · {bytes_per_sec} · ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
    let stream = tokio_util::io::ReaderStream::with_capacity(
        progress.wrap_async_read(tokio::fs::File::from_std(file)),
        64 * 1024,
    );
    let mut request = client()?
        .post(versions_url(&target.server, &target.mini_program))
        .header(CONTENT_TYPE, "application/gzip")
        .header(CONTENT_LENGTH, size)
        .header(VERSION_HEADER, &version)
        .header(keys::SIGNATURE_HEADER, signature);
    if let Some(note) = note {
        request = request.header(NOTE_HEADER, note);
    }
    let sent = request
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await;
    progress.finish_and_clear();
    let response = sent.with_context(|| connection_error(&target.server))?;
    let status = response.status();
    let uploaded: UploadAnswer = answer(&target.server, response).await?;
    if status != StatusCode::CREATED {
        bail!(
            "{} (--server) answered {status} instead of 201 Created",
            target.server
        );
    }
    if !uploaded.version.sha256.eq_ignore_ascii_case(&sha256) {
        bail!(
            "the server recorded sha256 {} but the archive sent has sha256 {sha256}; upload again",
            uploaded.version.sha256
        );
    }
    println!(
        "Uploaded {} ({} bytes, sha256 {})",
        uploaded.version.version, uploaded.version.size, uploaded.version.sha256
    );
    println!("{}", uploaded.console_url);
    Ok(())
}

async fn versions(args: VersionsArgs) -> anyhow::Result<()> {
    let target = args.target.check("list versions")?;
    let signature = keys::sign_list(&target.key, &target.mini_program, unix_now());
    let response = client()?
        .get(versions_url(&target.server, &target.mini_program))
        .header(keys::SIGNATURE_HEADER, signature)
        .timeout(Duration::from_secs(120))
        .send()
        .await
        .with_context(|| connection_error(&target.server))?;
    let VersionsAnswer { versions } = answer(&target.server, response).await?;
    if versions.is_empty() {
        println!("No versions uploaded yet.");
    } else {
        print!("{}", versions_table(&versions));
    }
    Ok(())
}

/// `--platform-key`: an Ed25519 public key in base64url.
pub fn check_platform_key(raw: &str) -> anyhow::Result<[u8; 32]> {
    keys::parse_public_key(raw).ok_or_else(|| {
        anyhow!("--platform-key: not a platform public key: it must be the 43 base64url characters the console shows on the App's page")
    })
}

/// SHA-256 (lowercase hex) and size of a file, read in a stream.
fn digest_file(path: &Path) -> io::Result<(String, u64)> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let size = io::copy(&mut file, &mut hasher)?;
    Ok((keys::hex(&hasher.finalize()), size))
}

/// Checks a manifest and its bundle (see [`VerifyArgs`]); returns what was checked, a line each,
/// or the first mismatch.
pub fn verify(args: &VerifyArgs) -> anyhow::Result<String> {
    use app::server::manifest::{self, SignedBy};
    let platform = check_platform_key(&args.platform_key)?;
    let raw = std::fs::read(&args.manifest)
        .with_context(|| format!("--manifest: could not read {}", args.manifest.display()))?;
    let m = manifest::verify_platform(&raw, &platform)
        .map_err(|e| anyhow!("--manifest {}: {e}", args.manifest.display()))?;
    if let Some(app) = &args.app {
        if &m.app != app {
            bail!("--manifest {}: {}", args.manifest.display(), manifest::ManifestError::WrongApp(m.app.clone(), app.clone()));
        }
    }
    let mut out = format!(
        "Manifest: {} {} (mini program {}, App {})\n",
        m.name, m.version, m.id, m.app
    );
    out.push_str(&format!(
        "platform signature: valid (platform key {})\n",
        keys::public_key_text(&platform)
    ));
    let by = manifest::verify_uploader(&m, &platform)
        .map_err(|e| anyhow!("--manifest {}: {e}", args.manifest.display()))?;
    out.push_str(&match by {
        SignedBy::UploadKey(id) => format!(
            "uploader signature: valid (Upload Key {id}, public key {})\n",
            m.uploader.public_key
        ),
        SignedBy::Console => {
            "uploader signature: valid (uploaded in the console, signed by the platform key)\n"
                .to_string()
        }
    });
    let (sha256, size) = digest_file(&args.bundle)
        .with_context(|| format!("--bundle: could not read {}", args.bundle.display()))?;
    manifest::verify_bundle(&m, &sha256, size)
        .map_err(|e| anyhow!("--bundle {}: {e}", args.bundle.display()))?;
    out.push_str(&format!("bundle: sha256 {sha256}, {size} bytes, as the manifest says\n"));
    if let Some(path) = &args.list {
        let raw = std::fs::read(path).with_context(|| format!("--list: could not read {}", path.display()))?;
        let list = manifest::verify_list_now(&raw, &platform).map_err(|e| anyhow!("--list {}: {e}", path.display()))?;
        if list.app != m.app {
            bail!("--list {}: {}", path.display(), manifest::ManifestError::WrongApp(list.app.clone(), m.app.clone()));
        }
        if !list.mini_programs.iter().any(|l| l == &m) {
            bail!("--list {}: {}", path.display(), manifest::ManifestError::NotInList(m.id.clone()));
        }
        out.push_str(&format!(
            "list: valid (sequence {}, issued {}, expires {}), holds this manifest\n",
            list.sequence, list.issued, list.expires
        ));
    }
    out.push_str("Verified.\n");
    Ok(out)
}

/// A JSON value as a table cell: strings without quotes, nothing for null.
fn cell(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A plain aligned table: version, state, size (bytes, right-aligned), created, uploader and the
/// first 12 hex digits of the SHA-256; one line each, ending with a newline.
pub fn versions_table(versions: &[VersionInfo]) -> String {
    const SIZE: usize = 2;
    let mut rows =
        vec![["VERSION", "STATE", "SIZE", "CREATED", "UPLOADER", "SHA256"].map(String::from)];
    for v in versions {
        rows.push([
            v.version.clone(),
            v.state.clone(),
            v.size.to_string(),
            cell(&v.created),
            cell(&v.uploader),
            v.sha256.chars().take(12).collect(),
        ]);
    }
    let mut widths = [0usize; 6];
    for row in &rows {
        for (width, text) in widths.iter_mut().zip(row) {
            *width = (*width).max(text.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, text)| match i {
                SIZE => format!("{text:>w$}", w = widths[i]),
                _ => format!("{text:<w$}", w = widths[i]),
            })
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::time::SystemTime;

    fn write(dir: &Path, path: &str, contents: &str) {
        let full = dir.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, contents).unwrap();
    }

    fn packed(dir: &Path) -> Vec<u8> {
        pack(&list_bundle(dir).unwrap(), Vec::new()).unwrap()
    }

    const FILES: [(&str, &str); 5] = [
        ("app.json", r#"{"pages":["pages/index"]}"#),
        ("pages/index.js", "Page({})"),
        ("pages/index.wxml", "<view>hi</view>"),
        ("b.txt", "b"),
        ("a/z/deep.txt", "deep"),
    ];

    #[test]
    fn packing_is_deterministic_whatever_the_order_times_and_modes() {
        let one = tempfile::tempdir().unwrap();
        for (path, contents) in FILES {
            write(one.path(), path, contents);
        }
        std::fs::create_dir_all(one.path().join("empty/dir")).unwrap();
        let first = packed(one.path());
        assert_eq!(
            first,
            packed(one.path()),
            "packing twice gives the same bytes"
        );

        let two = tempfile::tempdir().unwrap();
        for (path, contents) in FILES.iter().rev() {
            write(two.path(), path, contents);
            let file = File::options()
                .write(true)
                .open(two.path().join(path))
                .unwrap();
            file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(1_234_567))
                .unwrap();
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let script = two.path().join("b.txt");
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        assert_eq!(
            first,
            packed(two.path()),
            "a copy made differently packs the same"
        );
        assert_eq!(
            keys::sha256_hex(&first),
            keys::sha256_hex(&packed(two.path()))
        );

        let temp = pack_to_temp(&list_bundle(two.path()).unwrap()).unwrap();
        assert_eq!(temp.size, first.len() as u64);
        assert_eq!(temp.sha256, keys::sha256_hex(&first));

        // What is inside: the files and their directories, sorted, with the fixed metadata.
        assert_eq!(&first[..4], &[0x1f, 0x8b, 8, 0], "gzip without a file name");
        assert_eq!(&first[4..8], &[0, 0, 0, 0], "gzip mtime 0");
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&first[..]));
        let mut seen = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let header = entry.header().clone();
            if header.entry_type() == tar::EntryType::Directory {
                assert_eq!(header.mode().unwrap(), 0o755);
                continue;
            }
            assert_eq!(header.entry_type(), tar::EntryType::Regular);
            assert_eq!(header.mode().unwrap(), 0o644);
            assert_eq!(header.mtime().unwrap(), 0);
            assert_eq!((header.uid().unwrap(), header.gid().unwrap()), (0, 0));
            assert_eq!(header.username().unwrap(), Some(""));
            let path = entry.path().unwrap().to_str().unwrap().to_string();
            let mut contents = String::new();
            entry.read_to_string(&mut contents).unwrap();
            seen.push((path, contents));
        }
        let mut expected: Vec<(String, String)> = FILES
            .iter()
            .map(|(p, c)| (p.to_string(), c.to_string()))
            .collect();
        expected.sort();
        assert_eq!(seen, expected);
    }

    #[test]
    fn paths_are_packed_up_to_what_a_ustar_header_holds() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "app.json", "{}");
        let long = format!("{}/{}.js", "d".repeat(99), "f".repeat(90));
        write(dir.path(), &long, "x");
        let bytes = packed(dir.path());
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
        let paths: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_str().unwrap().to_string())
            .collect();
        assert_eq!(paths, ["app.json".to_string(), "d".repeat(99), long]);
        // Longer, and the file is named before anything is sent: a name of more than 100 bytes,
        // a directory that does not fit, a path of more than 255 bytes.
        for too_long in [
            format!("g/{}.js", "f".repeat(120)),
            format!("{}/x.js", "e".repeat(120)),
            format!("{}/{}/{}.js", "h".repeat(90), "i".repeat(90), "f".repeat(90)),
        ] {
            let dir = tempfile::tempdir().unwrap();
            write(dir.path(), "app.json", "{}");
            write(dir.path(), &too_long, "x");
            let e = list_bundle(dir.path()).unwrap_err().to_string();
            // The message names the file, or the directory that does not fit.
            assert!(e.contains(&too_long[..40]) && (e.contains("ustar") || e.contains("255")), "{e}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_symbolic_link_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "app.json", "{}");
        write(dir.path(), "pages/real.js", "x");
        std::os::unix::fs::symlink("real.js", dir.path().join("pages/link.js")).unwrap();
        let e = list_bundle(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("pages/link.js") && e.contains("symbolic link"),
            "{e}"
        );

        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "other.json", "{}");
        std::os::unix::fs::symlink("other.json", dir.path().join("app.json")).unwrap();
        let e = list_bundle(dir.path()).unwrap_err().to_string();
        assert!(e.contains("app.json") && e.contains("symbolic link"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn a_special_file_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "app.json", "{}");
        let socket = dir.path().join("s.sock");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        let e = list_bundle(dir.path()).unwrap_err().to_string();
        assert!(e.contains("s.sock") && e.contains("special file"), "{e}");
    }

    #[test]
    fn a_bundle_needs_an_app_json_file_at_its_root() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "pages/app.json", "{}");
        let e = list_bundle(dir.path()).unwrap_err().to_string();
        assert!(e.contains("DIR has no app.json at its root"), "{e}");
        std::fs::create_dir(dir.path().join("app.json")).unwrap();
        let e = list_bundle(dir.path()).unwrap_err().to_string();
        assert!(e.contains("DIR has no app.json at its root"), "{e}");

        let e = list_bundle(&dir.path().join("missing"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not exist"), "{e}");
        let e = list_bundle(&dir.path().join("pages/app.json"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a directory"), "{e}");
    }

    #[test]
    fn too_many_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "app.json", "{}");
        for i in 0..3 {
            write(dir.path(), &format!("f{i}"), "");
        }
        assert_eq!(list_bundle_limited(dir.path(), 4).unwrap().len(), 4);
        let e = list_bundle_limited(dir.path(), 3).unwrap_err().to_string();
        assert!(e.contains("more than 3 files"), "{e}");
    }

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
        assert_eq!(check_server("http://h/mpdp/").unwrap(), "http://h/mpdp");
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

    const ID: &str = "0190a0b1-c2d3-7e4f-8a9b-0c1d2e3f4a5b";

    #[test]
    fn the_command_line_takes_the_documented_flags() {
        let (key, _) = keys::new_upload_key();
        let command = parse(&[
            "upload",
            "--server",
            "http://h",
            "--key",
            &key,
            "--mini-program",
            ID,
            "--version",
            "1.2.3",
            "--note",
            "n",
            "bundle",
        ])
        .unwrap();
        let StudioCommand::Upload(args) = command else {
            panic!("not an upload")
        };
        assert_eq!(
            (args.version.as_str(), args.note.as_deref()),
            ("1.2.3", Some("n"))
        );
        assert_eq!(args.dir, PathBuf::from("bundle"));
        assert_eq!(args.target.mini_program, ID);
        let StudioCommand::Versions(args) = parse(&[
            "versions",
            "--server",
            "http://h",
            "--key",
            &key,
            "--mini-program",
            ID,
        ])
        .unwrap() else {
            panic!("not a listing")
        };
        assert_eq!(args.target.server, "http://h");
        assert!(parse(&[
            "upload",
            "--server",
            "http://h",
            "--key",
            &key,
            "--mini-program",
            ID,
            "bundle"
        ])
        .is_err());
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

    /// What the fake Studio API saw.
    #[derive(Default)]
    struct Seen {
        headers: Option<axum::http::HeaderMap>,
        body: Vec<u8>,
    }

    /// A Studio API on 127.0.0.1: checks the upload's signature and answers as the platform
    /// does, or with `refusal` when given.
    async fn fake_studio(
        public: [u8; 32],
        refusal: Option<(u16, &'static str)>,
    ) -> (String, std::sync::Arc<std::sync::Mutex<Seen>>) {
        use axum::extract::{Path as UrlPath, State};
        use axum::http::{HeaderMap, StatusCode};
        type Shared = std::sync::Arc<std::sync::Mutex<Seen>>;
        let seen = Shared::default();
        let post = move |State(seen): State<Shared>,
                         UrlPath(id): UrlPath<String>,
                         headers: HeaderMap,
                         body: axum::body::Bytes| async move {
            let sig = keys::SignatureHeader::parse(
                headers.get("mpdp-signature").unwrap().to_str().unwrap(),
            )
            .unwrap();
            let version = headers
                .get("mpdp-version")
                .unwrap()
                .to_str()
                .unwrap()
                .to_string();
            let sha = keys::sha256_hex(&body);
            let message =
                keys::upload_message(&id, &version, &sha, body.len() as u64, sig.ts, &sig.nonce);
            assert!(
                keys::verify(&public, message.as_bytes(), &sig.sig),
                "signature"
            );
            *seen.lock().unwrap() = Seen {
                headers: Some(headers),
                body: body.to_vec(),
            };
            if let Some((status, json)) = refusal {
                return (StatusCode::from_u16(status).unwrap(), json.to_string());
            }
            let answer = serde_json::json!({
                "version": {"version": version, "state": "Uploaded", "size": body.len(),
                            "sha256": sha, "uploader": "ci", "created": "2025-01-02T03:04:05Z"},
                "console_url": format!("http://console/w/Acme/mini-programs/{id}"),
            });
            (StatusCode::CREATED, answer.to_string())
        };
        let list = move |UrlPath(id): UrlPath<String>, headers: HeaderMap| async move {
            let sig = keys::SignatureHeader::parse(
                headers.get("mpdp-signature").unwrap().to_str().unwrap(),
            )
            .unwrap();
            let message = keys::list_message(&id, sig.ts, &sig.nonce);
            assert!(
                keys::verify(&public, message.as_bytes(), &sig.sig),
                "signature"
            );
            let answer = serde_json::json!({"versions": [
                {"version": "1.0.0", "state": "Uploaded", "size": 10, "sha256": "ab".repeat(32),
                 "uploader": "ci", "note": "", "created": "2025-01-02T03:04:05Z"},
            ]});
            (StatusCode::OK, answer.to_string())
        };
        let router = axum::Router::new()
            .route(
                "/api/studio/v1/mini-programs/{id}/versions",
                axum::routing::post(post).get(list),
            )
            .with_state(seen.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        (format!("http://{addr}/"), seen)
    }

    fn upload_args(server: &str, key: &str, dir: &Path, note: Option<&str>) -> UploadArgs {
        UploadArgs {
            target: Target {
                server: server.into(),
                key: key.into(),
                mini_program: ID.to_uppercase(),
            },
            version: "1.2.3".into(),
            note: note.map(str::to_string),
            dir: dir.to_path_buf(),
        }
    }

    #[tokio::test]
    async fn an_upload_streams_the_signed_archive() {
        let dir = tempfile::tempdir().unwrap();
        for (path, contents) in FILES {
            write(dir.path(), path, contents);
        }
        let (key, public) = keys::new_upload_key();
        let (server, seen) = fake_studio(public, None).await;
        upload(upload_args(&server, &key, dir.path(), Some("Fixed: menu")))
            .await
            .unwrap();
        let seen = seen.lock().unwrap();
        let headers = seen.headers.as_ref().unwrap();
        assert_eq!(
            seen.body,
            packed(dir.path()),
            "the deterministic archive was sent"
        );
        let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_string());
        assert_eq!(header("content-type").as_deref(), Some("application/gzip"));
        assert_eq!(header("content-length"), Some(seen.body.len().to_string()));
        assert_eq!(
            header("transfer-encoding"),
            None,
            "a known length, not chunked"
        );
        assert_eq!(header("mpdp-note").as_deref(), Some("Fixed%3A%20menu"));
        let sig = keys::SignatureHeader::parse(&header("mpdp-signature").unwrap()).unwrap();
        assert_eq!(sig.size, Some(seen.body.len() as u64));
        assert_eq!(sig.sha256, Some(keys::sha256_hex(&seen.body)));
    }

    #[tokio::test]
    async fn the_servers_refusal_is_reported_with_its_code() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "app.json", "{}");
        let (key, public) = keys::new_upload_key();
        let refusal = r#"{"error":{"code":"version_exists","message":"version 1.2.3 exists already","field":"version"}}"#;
        let (server, seen) = fake_studio(public, Some((409, refusal))).await;
        let e = upload(upload_args(&server, &key, dir.path(), None))
            .await
            .unwrap_err();
        assert_eq!(
            format!("{e:#}"),
            "version 1.2.3 exists already (version_exists)"
        );
        assert!(seen
            .lock()
            .unwrap()
            .headers
            .as_ref()
            .unwrap()
            .get("mpdp-note")
            .is_none());

        let (server, _) = fake_studio(public, Some((502, "<html>Bad gateway</html>"))).await;
        let e = upload(upload_args(&server, &key, dir.path(), None))
            .await
            .unwrap_err();
        assert!(format!("{e:#}").contains("502"), "{e:#}");
    }

    #[tokio::test]
    async fn versions_are_listed_with_a_signed_request() {
        let (key, public) = keys::new_upload_key();
        let (server, _) = fake_studio(public, None).await;
        let target = Target {
            server,
            key,
            mini_program: ID.into(),
        };
        versions(VersionsArgs { target }).await.unwrap();
    }

    #[tokio::test]
    async fn an_unreachable_server_is_named() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "app.json", "{}");
        let (key, _) = keys::new_upload_key();
        // A port nobody listens on: bind one, then let it go.
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let server = format!("http://{addr}");
        let e = upload(upload_args(&server, &key, dir.path(), None))
            .await
            .unwrap_err();
        assert!(
            format!("{e:#}").starts_with(&format!(
                "could not reach the server at {server} (--server)"
            )),
            "{e:#}"
        );
    }

    #[test]
    fn versions_are_listed_in_an_aligned_table() {
        let versions: Vec<VersionInfo> = serde_json::from_str(
            r#"[{"version":"1.10.0","state":"Uploaded","size":123456,"sha256":"0123456789abcdef","uploader":"ci","note":"x","created":"2025-01-02T03:04:05Z"},
                {"version":"1.2.0","state":"Approved","size":7,"sha256":"fedcba9876543210","uploader":null,"created":"2024-12-31T00:00:00Z"}]"#,
        )
        .unwrap();
        let table = versions_table(&versions);
        assert_eq!(
            table,
            "VERSION  STATE       SIZE  CREATED               UPLOADER  SHA256\n\
             1.10.0   Uploaded  123456  2025-01-02T03:04:05Z  ci        0123456789ab\n\
             1.2.0    Approved       7  2024-12-31T00:00:00Z            fedcba987654\n"
        );
    }
}
