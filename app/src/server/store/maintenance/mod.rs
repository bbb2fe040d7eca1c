//! Backup, restore, check and compaction of a data directory (SPEC §8, operations).

mod backup;
mod check;
mod compact;
mod restore;

use std::fs::File;
use std::path::{Path, PathBuf};

use redb::{Database, ReadTransaction, ReadableTable};

use super::codec::decode;
use super::files;
use super::minis::Version;
use super::tables::*;
use super::SCHEMA_KEY;

pub use backup::{backup_database, BackupSummary};
pub use check::{check, CheckReport};
pub use compact::compact;
pub use restore::restore;

/// The data file's name inside a data directory.
pub const DATA_FILE: &str = "mpdp.redb";
/// The bundle directory's name inside a data directory.
pub const BUNDLE_DIR: &str = "bundles";

/// Why a maintenance command (backup, restore, check, compact) could not do its work. Each says
/// what the operator gave or what went wrong, and what to do.
#[derive(Debug, thiserror::Error)]
pub enum MaintenanceError {
    /// What a flag names cannot be used as asked (`--out` exists, `--data-dir` is not empty …).
    #[error("{flag}: {message}")]
    Flag { flag: &'static str, message: String },
    /// The archive `--from` names is not a whole MPDP backup.
    #[error("--from: {} is not an mpdp backup: {why}", from.display())]
    NotABackup { from: PathBuf, why: String },
    /// The data file does not open.
    #[error("the data file {} cannot be opened ({cause}). Nothing was changed. Run `mpdp check --data-dir {}` to see what is wrong; if the file is damaged, restore the latest backup with `mpdp restore --from BACKUP.tar --data-dir NEW-DIR` and start the server with --data-dir NEW-DIR", path.display(), data_dir.display())]
    CannotOpen { path: PathBuf, data_dir: PathBuf, cause: String },
    /// A running server holds the data file.
    #[error("the data file {} is in use by a running mpdp; stop it first", .0.display())]
    InUse(PathBuf),
    /// The data holds what this build cannot copy or read, or does not pass the check.
    #[error("{0}")]
    Unreadable(String),
    /// A file or directory could not be read or written.
    #[error("could not {doing}: {source}")]
    Io { doing: String, #[source] source: std::io::Error },
    /// The data file could not be read or written.
    #[error("could not {doing}: {source}")]
    Storage { doing: String, #[source] source: redb::Error },
}

impl MaintenanceError {
    fn io(doing: impl Into<String>) -> impl FnOnce(std::io::Error) -> MaintenanceError {
        let doing = doing.into();
        move |source| MaintenanceError::Io { doing, source }
    }

    fn storage<E: Into<redb::Error>>(doing: impl Into<String>) -> impl FnOnce(E) -> MaintenanceError {
        let doing = doing.into();
        move |source| MaintenanceError::Storage { doing, source: source.into() }
    }
}

/// The stored versions and the bundles they name, as `tx` sees them.
fn versions(tx: &ReadTransaction) -> Result<Vec<Version>, MaintenanceError> {
    let table = match tx.open_table(VERSIONS) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
        Err(e) => return Err(MaintenanceError::storage("open the versions")(e)),
    };
    let mut out = Vec::new();
    for entry in table.iter().map_err(MaintenanceError::storage("read the versions"))? {
        let (key, value) = entry.map_err(MaintenanceError::storage("read a version"))?;
        let (mp, text) = key.value();
        let version: Version = decode(value.value()).map_err(|_| {
            MaintenanceError::Unreadable(format!("the record of version {text} of mini program {mp:032x} cannot be read"))
        })?;
        out.push(version);
    }
    Ok(out)
}

fn schema_version(tx: &ReadTransaction) -> Result<u64, MaintenanceError> {
    match tx.open_table(META) {
        Ok(meta) => Ok(meta
            .get(SCHEMA_KEY)
            .map_err(MaintenanceError::storage("read the schema version"))?
            .map(|v| v.value())
            .unwrap_or(0)),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(0),
        Err(e) => Err(MaintenanceError::storage("read the schema version")(e)),
    }
}

fn sync_dir(dir: &Path) -> Result<(), MaintenanceError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(MaintenanceError::io(format!("sync the directory {}", dir.display())))
}

/// Opens the data file of a stopped server for maintenance, with a message that says what to do
/// when it cannot be opened.
pub fn open_data_file(data_dir: &Path) -> Result<Database, MaintenanceError> {
    let path = data_dir.join(DATA_FILE);
    if !path.exists() {
        return Err(MaintenanceError::Flag { flag: "--data-dir", message: format!("there is no data file at {}", path.display()) });
    }
    let (file, tightened) = files::open_data_file(&path, false).map_err(|cause| cannot_open(&path, data_dir, &cause))?;
    if let Some(mode) = tightened {
        tracing::warn!(file = %path.display(), was = %format!("{mode:o}"), "the data file could be read by other users; restricted it to its owner (0600)");
    }
    if file.metadata().map(|m| m.len()).unwrap_or(0) == 0 {
        return Err(cannot_open(&path, data_dir, "it is empty"));
    }
    let backend = redb::backends::FileBackend::new(file).map_err(|e| cannot_open(&path, data_dir, &e.to_string()))?;
    Database::builder().create_with_backend(backend).map_err(|e| match e {
        redb::DatabaseError::DatabaseAlreadyOpen => MaintenanceError::InUse(path.clone()),
        other => cannot_open(&path, data_dir, &other.to_string()),
    })
}

/// What to tell an operator whose data file does not open.
pub fn cannot_open(path: &Path, data_dir: &Path, cause: &str) -> MaintenanceError {
    MaintenanceError::CannotOpen { path: path.to_path_buf(), data_dir: data_dir.to_path_buf(), cause: cause.to_string() }
}

#[cfg(test)]
mod fixtures {
    use std::path::Path;

    /// A directory of the test's own, removed when dropped.
    pub(super) struct Temp(tempfile::TempDir);

    impl std::ops::Deref for Temp {
        type Target = Path;

        fn deref(&self) -> &Path {
            self.0.path()
        }
    }

    impl AsRef<Path> for Temp {
        fn as_ref(&self) -> &Path {
            self.0.path()
        }
    }

    pub(super) fn temp_dir(what: &str) -> Temp {
        Temp(tempfile::Builder::new().prefix(&format!("mpdp-maint-{what}-")).tempdir().unwrap())
    }
}
