//! A mini program bundle on disk: its directory listed and checked, then packed into the
//! platform's canonical archive.

use std::fs::File;
use std::io::{self, Seek, Write};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use app::server::keys;
use sha2::{Digest, Sha256};

/// At most this many files in a bundle.
pub const MAX_FILES: usize = 10_000;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::studio::fixtures::{packed, write, FILES};
    use std::io::Read;
    use std::time::{Duration, SystemTime};

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
}
