//! The tokens `mpdp studio login` keeps, one per server address, in the user's config directory
//! (`$MPDP_CONFIG_DIR`, else `<config dir>/mpdp`), in `credentials.json` (mode 0600).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{anyhow, Context};

/// Where tokens are kept, if this user has a config directory.
fn credentials_path() -> Option<PathBuf> {
    let dir = match std::env::var_os("MPDP_CONFIG_DIR") {
        Some(d) => PathBuf::from(d),
        None => dirs::config_dir()?.join("mpdp"),
    };
    Some(dir.join("credentials.json"))
}

fn credentials_file() -> anyhow::Result<PathBuf> {
    credentials_path().ok_or_else(|| anyhow!("no config directory for this user: set MPDP_CONFIG_DIR"))
}

fn read_credentials(path: &PathBuf) -> anyhow::Result<BTreeMap<String, String>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| format!("{} is not a credentials file", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(e).with_context(|| format!("could not read {}", path.display())),
    }
}

/// The token `mpdp studio login` kept for `server`, if any.
pub(super) fn stored_token(server: &str) -> anyhow::Result<Option<String>> {
    match credentials_path() {
        Some(path) => Ok(read_credentials(&path)?.get(server).cloned()),
        None => Ok(None),
    }
}

/// Keeps `token` for `server`, readable by this user only (written to a new file, then renamed).
pub(super) fn store_token(server: &str, token: &str) -> anyhow::Result<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let path = credentials_file()?;
    let dir = path.parent().ok_or_else(|| anyhow!("no directory for {}", path.display()))?;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).with_context(|| format!("could not create {}", dir.display()))?;
    let mut all = read_credentials(&path)?;
    all.insert(server.to_string(), token.to_string());
    let partial = dir.join(format!(".credentials.json.{}", std::process::id()));
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&partial).with_context(|| format!("could not create {}", partial.display()))?;
    f.write_all(&serde_json::to_vec_pretty(&all)?)?;
    f.sync_all()?;
    std::fs::rename(&partial, &path).with_context(|| format!("could not write {}", path.display()))?;
    Ok(path)
}
