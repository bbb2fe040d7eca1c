//! `mpdp studio verify`: a manifest and its bundle checked as a container checks them.

use std::fs::File;
use std::io;
use std::path::Path;

use anyhow::{anyhow, bail, Context};
use app::server::keys;
use sha2::{Digest, Sha256};

use super::flags::{check_platform_key, VerifyArgs};

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
