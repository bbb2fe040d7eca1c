//! The files other local users must not read: the data directory (0700), the data file, backups
//! and their partial files (0600). New files are created with `O_CREAT | O_EXCL | O_NOFOLLOW`, so
//! a file or symbolic link planted where one is about to be written is refused, never followed or
//! overwritten. A data directory or data file found with looser permissions is tightened.
//!
//! Secrets (signing seeds, the device-cookie key) live inside the data file (`secrets.rs`,
//! `PLATFORM_KEYS`), so these modes cover them.

use std::fs::{File, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// The data directory's mode: its owner only.
pub const DIR_MODE: u32 = 0o700;
/// The mode of the data file, of backups and of their partial files.
pub const FILE_MODE: u32 = 0o600;

/// The permission bits of a mode (no file type).
fn bits(mode: u32) -> u32 {
    mode & 0o7777
}

/// Creates `dir` (and missing parents) with mode 0700, or tightens an existing directory that
/// group or others may use. Returns the mode it had when it was tightened, for the log.
pub fn private_dir(dir: &Path) -> Result<Option<u32>, String> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
        .map_err(|e| format!("could not create the data directory {}: {e}", dir.display()))?;
    let meta = std::fs::metadata(dir)
        .map_err(|e| format!("could not read the data directory {}: {e}", dir.display()))?;
    if !meta.is_dir() {
        return Err(format!("--data-dir: {} is not a directory", dir.display()));
    }
    let mode = bits(meta.permissions().mode());
    if mode & 0o077 == 0 {
        return Ok(None);
    }
    std::fs::set_permissions(dir, Permissions::from_mode(DIR_MODE)).map_err(|e| {
        format!(
            "the data directory {} can be read by other users (mode {mode:o}) and could not be restricted to its owner: {e}. Run `chmod 700 {}` as its owner.",
            dir.display(),
            dir.display()
        )
    })?;
    Ok(Some(mode))
}

/// Creates a new file at `path`, mode 0600, refusing (never following or truncating) anything
/// already there, a symbolic link included.
pub fn create_private(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

/// The bytes an unprivileged process may still write on the filesystem that holds `path` (or,
/// while `path` is not made yet, its nearest ancestor that is).
pub fn available_bytes(path: &Path) -> io::Result<u64> {
    let there = path.ancestors().find(|p| p.exists()).unwrap_or(path);
    let s = rustix::fs::statvfs(there)?;
    Ok(s.f_bavail.saturating_mul(s.f_frsize))
}

/// Opens (or creates, 0600) the data directory's lock file, without following a symbolic link.
pub fn open_lock_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(FILE_MODE)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

/// The message for a path [`create_private`] refused because something is already there.
pub fn in_the_way(flag: &str, path: &Path, e: &io::Error) -> String {
    if e.kind() == io::ErrorKind::AlreadyExists {
        let what = match std::fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => "a symbolic link",
            _ => "a file",
        };
        format!(
            "{flag}: {} is {what} already; a backup never writes through or over an existing file or link. Remove it if an interrupted backup left it, or choose another name.",
            path.display()
        )
    } else {
        format!("{flag}: could not create {}: {e}", path.display())
    }
}

/// Opens the data file for reading and writing without following a symbolic link, creating it
/// with mode 0600 when `create` and it is missing; tightens an existing file that others may
/// read. Returns the file and, when it was tightened, the mode it had.
pub fn open_data_file(path: &Path, create: bool) -> Result<(File, Option<u32>), String> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(create)
        .mode(FILE_MODE)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => format!(
                "the data file {} is a symbolic link; MPDP opens only a regular file there. Point --data-dir at the directory that really holds it.",
                path.display()
            ),
            _ => format!("could not open the data file {}: {e}", path.display()),
        })?;
    let meta = file
        .metadata()
        .map_err(|e| format!("could not read the data file {}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("the data file {} is not a regular file", path.display()));
    }
    let mode = bits(meta.permissions().mode());
    if mode & 0o077 == 0 {
        return Ok((file, None));
    }
    file.set_permissions(Permissions::from_mode(FILE_MODE)).map_err(|e| {
        format!(
            "the data file {} can be read by other users (mode {mode:o}) and could not be restricted to its owner: {e}",
            path.display()
        )
    })?;
    Ok((file, Some(mode)))
}

/// Moves the finished `partial` to `out` unless something (a file, a symbolic link) is there:
/// a hard link fails rather than replace, where a rename would silently replace.
pub fn move_into_place(partial: &Path, out: &Path) -> Result<(), String> {
    match std::fs::hard_link(partial, out) {
        Ok(()) => std::fs::remove_file(partial)
            .map_err(|e| format!("could not remove {} after moving it into place: {e}", partial.display())),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(format!(
            "--out: {} appeared while the backup was written; a backup never overwrites, choose a new name",
            out.display()
        )),
        // A file system without hard links: look right before renaming instead.
        Err(_) => {
            if std::fs::symlink_metadata(out).is_ok() {
                return Err(format!(
                    "--out: {} appeared while the backup was written; a backup never overwrites, choose a new name",
                    out.display()
                ));
            }
            std::fs::rename(partial, out).map_err(|e| {
                format!("--out: could not move the backup into place at {}: {e}", out.display())
            })
        }
    }
}

/// The permission bits of the file or directory at `path` (not following a link), for tests
/// and checks.
pub fn mode_of(path: &Path) -> io::Result<u32> {
    std::fs::symlink_metadata(path).map(|m| bits(m.permissions().mode()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// A path of the test's own (not yet created) inside a directory removed when dropped.
    /// (The directory is held only to be removed when the test ends.)
    struct Temp(#[allow(dead_code)] tempfile::TempDir, PathBuf);

    impl std::ops::Deref for Temp {
        type Target = PathBuf;

        fn deref(&self) -> &PathBuf {
            &self.1
        }
    }

    impl AsRef<Path> for Temp {
        fn as_ref(&self) -> &Path {
            &self.1
        }
    }

    fn temp(what: &str) -> Temp {
        let dir = tempfile::Builder::new().prefix("mpdp-files-").tempdir().unwrap();
        let path = dir.path().join(what);
        Temp(dir, path)
    }

    #[test]
    fn a_new_data_directory_is_its_owners_only() {
        let root = temp("new");
        let dir = root.join("a/b");
        assert_eq!(private_dir(&dir).unwrap(), None);
        assert_eq!(mode_of(&dir).unwrap(), 0o700);
        assert_eq!(mode_of(&root.join("a")).unwrap(), 0o700);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn a_loose_data_directory_is_tightened_and_says_so() {
        let dir = temp("loose");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, Permissions::from_mode(0o755)).unwrap();
        assert_eq!(private_dir(&dir).unwrap(), Some(0o755));
        assert_eq!(mode_of(&dir).unwrap(), 0o700);
        assert_eq!(private_dir(&dir).unwrap(), None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_data_dir_that_is_a_file_is_refused() {
        let path = temp("file");
        std::fs::write(&path, b"x").unwrap();
        let e = private_dir(&path).unwrap_err();
        assert!(e.contains("data directory") || e.contains("--data-dir"), "{e}");
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn private_files_are_0600_and_refuse_what_is_in_the_way() {
        let dir = temp("create");
        private_dir(&dir).unwrap();
        let path = dir.join("f");
        drop(create_private(&path).unwrap());
        assert_eq!(mode_of(&path).unwrap(), 0o600);
        let e = create_private(&path).unwrap_err();
        assert!(in_the_way("--out", &path, &e).contains("is a file already"), "{}", in_the_way("--out", &path, &e));
        // A planted link is neither followed nor replaced; its target stays as it was.
        let target = dir.join("target");
        std::fs::write(&target, b"keep").unwrap();
        let link = dir.join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = create_private(&link).unwrap_err();
        let said = in_the_way("--out", &link, &e);
        assert!(said.starts_with("--out:") && said.contains("a symbolic link"), "{said}");
        let dangling = dir.join("dangling");
        std::os::unix::fs::symlink(dir.join("nowhere"), &dangling).unwrap();
        assert!(create_private(&dangling).is_err());
        assert!(!dir.join("nowhere").exists(), "the link was not followed");
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_data_file_is_0600_tightened_and_never_a_link() {
        let dir = temp("data");
        private_dir(&dir).unwrap();
        let path = dir.join("mpdp.redb");
        let (_, tightened) = open_data_file(&path, true).unwrap();
        assert_eq!((tightened, mode_of(&path).unwrap()), (None, 0o600));
        std::fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap();
        let (_, tightened) = open_data_file(&path, false).unwrap();
        assert_eq!((tightened, mode_of(&path).unwrap()), (Some(0o644), 0o600));
        let elsewhere = dir.join("elsewhere.redb");
        std::fs::write(&elsewhere, b"").unwrap();
        let link = dir.join("link.redb");
        std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
        let e = open_data_file(&link, true).unwrap_err();
        assert!(e.contains("is a symbolic link"), "{e}");
        assert!(open_data_file(&dir.join("missing.redb"), false).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn moving_into_place_never_replaces() {
        let dir = temp("move");
        private_dir(&dir).unwrap();
        let partial = dir.join(".b.tar.partial");
        std::fs::write(&partial, b"backup").unwrap();
        let out = dir.join("b.tar");
        let target = dir.join("victim");
        std::fs::write(&target, b"keep").unwrap();
        std::os::unix::fs::symlink(&target, &out).unwrap();
        let e = move_into_place(&partial, &out).unwrap_err();
        assert!(e.starts_with("--out:") && e.contains("never overwrites"), "{e}");
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");
        std::fs::remove_file(&out).unwrap();
        move_into_place(&partial, &out).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"backup");
        assert!(!partial.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
