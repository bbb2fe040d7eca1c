//! Backup, restore, check and compaction of a data directory (SPEC §8, operations).
//!
//! A backup is one tar archive: `backup.json` (what it holds), `mpdp.redb` (a fresh data file
//! holding every entry of every table as one read transaction saw them) and the bundle files the
//! versions in that snapshot name (`bundles/<ab>/<sha256>.tar.gz`). Bundles are content-addressed
//! and never rewritten, and a bundle file is durable before any record names it, so the files a
//! snapshot names exist and hold their bytes however long after the snapshot they are read.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use redb::{
    Database, MultimapTableHandle, ReadTransaction, ReadableDatabase, ReadableTable,
    TableDefinition, TableHandle,
    WriteTransaction,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::codec::decode;
use super::files;
use super::minis::Version;
use super::tables::*;
use super::{Store, SCHEMA_KEY};
use super::bundles::Bundles;

/// The data file's name inside a data directory.
pub const DATA_FILE: &str = "mpdp.redb";
/// The bundle directory's name inside a data directory.
pub const BUNDLE_DIR: &str = "bundles";
/// The archive entry that describes a backup.
const MANIFEST: &str = "backup.json";
/// The layout of the archive this build writes; restore refuses a higher one.
const FORMAT: u32 = 1;

/// What a backup holds, written into the archive as `backup.json` and reported to the operator.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackupSummary {
    pub format: u32,
    pub created: chrono::DateTime<chrono::Utc>,
    pub schema_version: u64,
    /// Entries per table, by table name.
    pub tables: Vec<(String, u64)>,
    /// The sha256 of every bundle in the archive.
    pub bundles: Vec<String>,
    /// How many versions the snapshot holds.
    pub versions: u64,
}

impl BackupSummary {
    pub fn entries(&self) -> u64 {
        self.tables.iter().map(|(_, n)| n).sum()
    }
}

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

/// What `check` found.
#[derive(Debug, Default)]
pub struct CheckReport {
    pub schema_version: u64,
    pub versions: u64,
    pub bundles_verified: u64,
    /// Faults: a missing or altered bundle, a record that cannot be read, a damaged file.
    pub problems: Vec<String>,
    /// Bundle files no version names (left by an upload that did not commit): harmless.
    pub orphans: Vec<PathBuf>,
    /// Unfinished uploads in the bundle directory's `tmp/`: harmless.
    pub temp_files: Vec<PathBuf>,
}

/// Copies `def` from `src` to `dst`; `None` when the source has no such table.
fn copy_table<K: redb::Key + 'static, V: redb::Value + 'static>(
    src: &ReadTransaction,
    dst: &WriteTransaction,
    def: TableDefinition<K, V>,
) -> Result<Option<u64>, redb::Error> {
    let from = match src.open_table(def) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let mut to = dst.open_table(def)?;
    let mut n = 0;
    for entry in from.iter()? {
        let (k, v) = entry?;
        to.insert(k.value(), v.value())?;
        n += 1;
    }
    Ok(Some(n))
}

/// Copies every table of `tables.rs` that exists in `src` into `dst`; refuses a data file with a
/// table this list does not name, so a new table cannot silently be left out of backups.
fn copy_every_table(
    src: &ReadTransaction,
    dst: &WriteTransaction,
) -> Result<Vec<(String, u64)>, MaintenanceError> {
    struct Copy<'a> {
        src: &'a ReadTransaction,
        dst: &'a WriteTransaction,
        copied: Vec<(String, u64)>,
    }
    impl super::tables::Visit for Copy<'_> {
        type Error = MaintenanceError;

        fn table<K: redb::Key + 'static, V: redb::Value + 'static>(&mut self, def: TableDefinition<K, V>) -> Result<(), MaintenanceError> {
            if let Some(n) = copy_table(self.src, self.dst, def).map_err(MaintenanceError::storage(format!("copy the table {}", def.name())))? {
                self.copied.push((def.name().to_string(), n));
            }
            Ok(())
        }
    }
    let mut copy = Copy { src, dst, copied: Vec::new() };
    super::tables::each(&mut copy)?;
    let copied = copy.copied;
    for table in src.list_tables().map_err(MaintenanceError::storage("list the tables"))? {
        if !copied.iter().any(|(name, _)| name == table.name()) {
            return Err(MaintenanceError::Unreadable(format!(
                "the data file has a table ({}) that this build's backup does not know; use the mpdp that wrote the file",
                table.name()
            )));
        }
    }
    if let Some(table) = src.list_multimap_tables().map_err(MaintenanceError::storage("list the tables"))?.next() {
        return Err(MaintenanceError::Unreadable(format!(
            "the data file has a multimap table ({}) that this build's backup does not know",
            table.name()
        )));
    }
    Ok(copied)
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

/// SHA-256 (hex) and length of a file's bytes.
fn hash_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut len = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        len += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), len))
}

fn sync_dir(dir: &Path) -> Result<(), MaintenanceError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(MaintenanceError::io(format!("sync the directory {}", dir.display())))
}

/// Writes a backup of `db` to `out` (which must not exist): the snapshot of one read transaction
/// and the bundles it names, as one tar archive, fsynced and then moved into place. The archive
/// and its partial files are created 0600 and never through a file or link already there.
pub fn backup_database(db: &Database, data_dir: &Path, out: &Path) -> Result<BackupSummary, MaintenanceError> {
    if let Ok(meta) = std::fs::symlink_metadata(out) {
        let what = if meta.file_type().is_symlink() { "a symbolic link" } else { "a file" };
        return Err(MaintenanceError::Flag {
            flag: "--out",
            message: format!("{} already exists ({what}); a backup never overwrites or writes through one, choose a new name", out.display()),
        });
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = out
        .file_name()
        .ok_or_else(|| MaintenanceError::Flag { flag: "--out", message: format!("{} does not name a file", out.display()) })?
        .to_string_lossy()
        .to_string();
    let partial = parent.join(format!(".{name}.partial"));
    let snapshot_path = parent.join(format!(".{name}.redb.partial"));
    let snapshot = files::create_private(&snapshot_path).map_err(|e| in_the_way(&snapshot_path, &e))?;
    let archive = match files::create_private(&partial) {
        Ok(file) => file,
        Err(e) => {
            let _ = std::fs::remove_file(&snapshot_path);
            return Err(in_the_way(&partial, &e));
        }
    };
    // From here both partial files are ours to remove.
    let result = write_backup(db, data_dir, snapshot, &snapshot_path, archive, &partial, out, &parent);
    let _ = std::fs::remove_file(&snapshot_path);
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

#[allow(clippy::too_many_arguments)]
fn write_backup(
    db: &Database,
    data_dir: &Path,
    snapshot: File,
    snapshot_path: &Path,
    archive_file: File,
    partial: &Path,
    out: &Path,
    parent: &Path,
) -> Result<BackupSummary, MaintenanceError> {
    // One read transaction: the tables and the versions (so the bundles) as of one moment.
    let tx = db
        .begin_read()
        .map_err(MaintenanceError::storage("begin a read transaction"))?;
    let copy = redb::backends::FileBackend::new(snapshot)
        .and_then(|backend| Database::builder().create_with_backend(backend))
        .map_err(|e| MaintenanceError::Flag { flag: "--out", message: format!("could not create {}: {e}", snapshot_path.display()) })?;
    let wtx = copy
        .begin_write()
        .map_err(MaintenanceError::storage("write the snapshot"))?;
    let tables = copy_every_table(&tx, &wtx)?;
    wtx.commit()
        .map_err(MaintenanceError::storage("write the snapshot"))?;
    drop(copy);
    let versions = versions(&tx)?;
    let schema_version = schema_version(&tx)?;
    drop(tx);

    let bundles: BTreeSet<String> = versions.iter().map(|v| v.sha256.clone()).collect();
    let summary = BackupSummary {
        format: FORMAT,
        created: chrono::Utc::now(),
        schema_version,
        tables,
        bundles: bundles.iter().cloned().collect(),
        versions: versions.len() as u64,
    };
    let manifest = serde_json::to_vec_pretty(&summary)
        .map_err(|e| MaintenanceError::io("describe the backup")(e.into()))?;

    let mut archive = tar::Builder::new(archive_file);
    let io = || MaintenanceError::io("write the backup archive");
    let mut header = tar::Header::new_gnu();
    header.set_size(manifest.len() as u64);
    header.set_mode(0o600);
    header.set_mtime(summary.created.timestamp().max(0) as u64);
    header.set_cksum();
    archive
        .append_data(&mut header, MANIFEST, manifest.as_slice())
        .map_err(io())?;
    archive
        .append_path_with_name(snapshot_path, DATA_FILE)
        .map_err(io())?;
    let store = Bundles::new(data_dir.join(BUNDLE_DIR));
    for sha in &bundles {
        let path = store.path(sha);
        let name = path
            .strip_prefix(data_dir)
            .map_err(|_| MaintenanceError::Unreadable(format!("bundle {sha} is outside the data directory")))?
            .to_path_buf();
        archive.append_path_with_name(&path, &name).map_err(MaintenanceError::io(format!(
            "add the bundle {} to the backup (run `mpdp check` on the data directory)",
            path.display()
        )))?;
    }
    let file = archive.into_inner().map_err(io())?;
    file.sync_all().map_err(io())?;
    drop(file);
    files::move_into_place(partial, out).map_err(|message| MaintenanceError::Flag { flag: "--out", message })?;
    sync_dir(parent)?;
    Ok(summary)
}

impl Store {
    /// Writes a backup of the running store (see [`backup_database`]); blocking.
    pub fn backup_to(&self, data_dir: &Path, out: &Path) -> Result<BackupSummary, MaintenanceError> {
        backup_database(&self.db, data_dir, out)
    }
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

/// `--out` names a place a new file cannot be made (something is in the way, or no permission).
fn in_the_way(path: &Path, e: &std::io::Error) -> MaintenanceError {
    let message = files::in_the_way("--out", path, e);
    let message = message.strip_prefix("--out: ").map(str::to_string).unwrap_or(message);
    MaintenanceError::Flag { flag: "--out", message }
}

/// Verifies a stopped server's data directory: the file opens and passes redb's integrity check,
/// every version's bundle exists with its sha256; lists orphan bundle files and unfinished
/// uploads. Errors only when the data file cannot be opened at all.
pub fn check(data_dir: &Path) -> Result<CheckReport, MaintenanceError> {
    let mut db = open_data_file(data_dir)?;
    let mut report = CheckReport::default();
    match db.check_integrity() {
        Ok(true) => {}
        Ok(false) => report
            .problems
            .push("the data file was damaged and has been repaired by redb; compare it with the latest backup".into()),
        Err(e) => report
            .problems
            .push(format!("the data file fails redb's integrity check: {e}")),
    }
    let tx = db
        .begin_read()
        .map_err(|e| cannot_open(&data_dir.join(DATA_FILE), data_dir, &e.to_string()))?;
    report.schema_version = schema_version(&tx)?;
    let versions = match versions(&tx) {
        Ok(v) => v,
        Err(e) => {
            report.problems.push(e.to_string());
            Vec::new()
        }
    };
    drop(tx);
    report.versions = versions.len() as u64;
    let bundles = Bundles::new(data_dir.join(BUNDLE_DIR));
    let mut named = BTreeSet::new();
    for v in &versions {
        let path = bundles.path(&v.sha256);
        named.insert(path.clone());
        match hash_file(&path) {
            Ok((sha, len)) if sha == v.sha256 && len == v.size => report.bundles_verified += 1,
            Ok((sha, len)) => report.problems.push(format!(
                "version {} of mini program {}: its bundle {} has sha256 {sha} and {len} bytes, the record says {} and {} bytes",
                v.version, v.mini_program, path.display(), v.sha256, v.size
            )),
            Err(e) => report.problems.push(format!(
                "version {} of mini program {}: its bundle {} cannot be read: {e}",
                v.version, v.mini_program, path.display()
            )),
        }
    }
    let root = data_dir.join(BUNDLE_DIR);
    if let Ok(dirs) = std::fs::read_dir(&root) {
        for dir in dirs.flatten() {
            let is_tmp = dir.file_name() == "tmp";
            let Ok(files) = std::fs::read_dir(dir.path()) else {
                continue;
            };
            for file in files.flatten() {
                let path = file.path();
                if is_tmp {
                    report.temp_files.push(path);
                } else if !named.contains(&path) {
                    report.orphans.push(path);
                }
            }
        }
    }
    report.orphans.sort();
    report.temp_files.sort();
    Ok(report)
}

/// Compacts a stopped server's data file; returns its size (bytes) before and after.
pub fn compact(data_dir: &Path) -> Result<(u64, u64), MaintenanceError> {
    let path = data_dir.join(DATA_FILE);
    let size = |p: &Path| {
        std::fs::metadata(p)
            .map(|m| m.len())
            .map_err(MaintenanceError::io(format!("read the size of {}", p.display())))
    };
    let mut db = open_data_file(data_dir)?;
    let before = size(&path)?;
    // Each pass moves pages towards the start; stop when one changes nothing.
    for _ in 0..8 {
        match db.compact() {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(MaintenanceError::storage(format!("compact {}", path.display()))(e)),
        }
    }
    drop(db);
    Ok((before, size(&path)?))
}

/// Restores a backup archive into `data_dir`, which must be missing or empty. Every bundle's
/// sha256 is checked as it is written, and the restored data file is opened before success is
/// reported; on failure what was written is removed again.
pub fn restore(from: &Path, data_dir: &Path) -> Result<BackupSummary, MaintenanceError> {
    let data_dir_flag = |message: String| MaintenanceError::Flag { flag: "--data-dir", message };
    if let Ok(mut entries) = std::fs::read_dir(data_dir) {
        if entries.next().is_some() {
            return Err(data_dir_flag(format!(
                "{} is not empty; restore only into a new or empty directory, so nothing is overwritten",
                data_dir.display()
            )));
        }
    } else if data_dir.exists() {
        return Err(data_dir_flag(format!("{} exists and is not a directory", data_dir.display())));
    }
    let archive = File::open(from)
        .map_err(|e| MaintenanceError::Flag { flag: "--from", message: format!("could not open {}: {e}", from.display()) })?;
    files::private_dir(data_dir).map_err(data_dir_flag)?;
    let result = unpack(archive, from, data_dir);
    if result.is_err() {
        if let Ok(entries) = std::fs::read_dir(data_dir) {
            for entry in entries.flatten() {
                let p = entry.path();
                let _ = if p.is_dir() {
                    std::fs::remove_dir_all(&p)
                } else {
                    std::fs::remove_file(&p)
                };
            }
        }
    }
    result
}

fn unpack(archive: File, from: &Path, data_dir: &Path) -> Result<BackupSummary, MaintenanceError> {
    let bad = |why: String| MaintenanceError::NotABackup { from: from.to_path_buf(), why };
    let mut archive = tar::Archive::new(archive);
    let mut summary: Option<BackupSummary> = None;
    let mut bundles_written = BTreeSet::new();
    let mut has_data_file = false;
    let mut dirs = BTreeSet::new();
    for entry in archive.entries().map_err(|e| bad(e.to_string()))? {
        let mut entry = entry.map_err(|e| bad(e.to_string()))?;
        let name = entry
            .path()
            .map_err(|e| bad(e.to_string()))?
            .to_string_lossy()
            .to_string();
        if name == MANIFEST {
            let mut bytes = Vec::new();
            entry
                .read_to_end(&mut bytes)
                .map_err(|e| bad(e.to_string()))?;
            let s: BackupSummary =
                serde_json::from_slice(&bytes).map_err(|e| bad(format!("backup.json: {e}")))?;
            if s.format > FORMAT {
                return Err(MaintenanceError::Flag {
                    flag: "--from",
                    message: format!("the backup has format {} and this build reads up to {FORMAT}; restore it with a newer mpdp", s.format),
                });
            }
            summary = Some(s);
            continue;
        }
        let target = if name == DATA_FILE {
            has_data_file = true;
            data_dir.join(DATA_FILE)
        } else {
            // Only `bundles/<2 hex>/<64 hex>.tar.gz`: nothing in an archive may write elsewhere.
            let parts: Vec<&str> = name.split('/').collect();
            let sha = match parts.as_slice() {
                [BUNDLE_DIR, prefix, file] => file
                    .strip_suffix(".tar.gz")
                    .filter(|sha| {
                        sha.len() == 64
                            && sha.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
                            && sha.starts_with(prefix)
                    })
                    .map(str::to_string),
                _ => None,
            }
            .ok_or_else(|| bad(format!("unexpected entry {name}")))?;
            bundles_written.insert(sha);
            data_dir.join(&name)
        };
        let dir = target
            .parent()
            .ok_or_else(|| bad(format!("unexpected entry {name}")))?
            .to_path_buf();
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(files::DIR_MODE)
            .create(&dir)
            .map_err(MaintenanceError::io(format!("create {}", dir.display())))?;
        dirs.insert(dir);
        // A second entry of the same name is refused, not written over the first.
        let mut file = files::create_private(&target)
            .map_err(|e| bad(format!("could not create {} for {name}: {e}", target.display())))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = entry
                .read(&mut buf)
                .map_err(|e| bad(format!("{name} is cut short: {e}")))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            file.write_all(&buf[..n])
                .map_err(MaintenanceError::io(format!("write {}", target.display())))?;
        }
        file.sync_all()
            .map_err(MaintenanceError::io(format!("write {}", target.display())))?;
        if name != DATA_FILE {
            let sha = hex::encode(hasher.finalize());
            if !name.ends_with(&format!("{sha}.tar.gz")) {
                return Err(bad(format!("{name} does not hold the bytes its name says (sha256 {sha})")));
            }
        }
    }
    let summary = summary.ok_or_else(|| bad("it has no backup.json".into()))?;
    if !has_data_file {
        return Err(bad(format!("it has no {DATA_FILE}")));
    }
    let missing: Vec<&String> = summary
        .bundles
        .iter()
        .filter(|sha| !bundles_written.contains(*sha))
        .collect();
    if !missing.is_empty() {
        return Err(bad(format!("bundles listed in backup.json are missing: {missing:?}")));
    }
    for dir in dirs.iter().rev() {
        sync_dir(dir)?;
    }
    if let Some(parent) = data_dir.parent() {
        let _ = sync_dir(if parent.as_os_str().is_empty() { Path::new(".") } else { parent });
    }
    // The restored file must open and its versions' bundles must all be there.
    let report = check(data_dir)?;
    if !report.problems.is_empty() {
        return Err(MaintenanceError::Unreadable(format!(
            "the restored data does not pass the check: {}",
            report.problems.join("; ")
        )));
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory of the test's own, removed when dropped.
    struct Temp(tempfile::TempDir);

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

    fn temp_dir(what: &str) -> Temp {
        Temp(tempfile::Builder::new().prefix(&format!("mpdp-maint-{what}-")).tempdir().unwrap())
    }

    #[test]
    fn a_backup_restores_every_table_and_refuses_a_non_empty_target() {
        let dir = temp_dir("src");
        let store = Store::open(&dir.join(DATA_FILE)).unwrap();
        let out = dir.join("b.tar");
        let summary = store.backup_to(&dir, &out).unwrap();
        assert!(summary.tables.iter().any(|(name, n)| name == "meta-1" && *n >= 1));
        let again = store.backup_to(&dir, &out).unwrap_err();
        assert!(matches!(again, MaintenanceError::Flag { flag: "--out", .. }), "{again:?}");
        let again = again.to_string();
        assert!(again.contains("--out") && again.contains("already exists"), "{again}");
        store.close(std::time::Duration::from_secs(1)).unwrap();

        let target = temp_dir("dst");
        let restored = restore(&out, &target).unwrap();
        assert_eq!(restored.entries(), summary.entries());
        let refused = restore(&out, &target).unwrap_err().to_string();
        assert!(refused.contains("--data-dir") && refused.contains("not empty"), "{refused}");
        let report = check(&target).unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        let (before, after) = compact(&target).unwrap();
        assert!(after <= before);
        let store = Store::open(&target.join(DATA_FILE)).unwrap();
        assert_eq!(store.schema_version().unwrap(), super::super::SCHEMA_VERSION);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(&target);
    }

    #[test]
    fn a_damaged_file_gets_a_message_that_says_what_to_do() {
        let dir = temp_dir("bad");
        std::fs::write(dir.join(DATA_FILE), b"not a database at all, just some bytes").unwrap();
        let e = check(&dir).unwrap_err().to_string();
        assert!(e.contains("mpdp restore") && e.contains("mpdp check"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_data_file_a_backup_and_a_restore_are_their_owners_only() {
        use super::files::mode_of;
        let dir = temp_dir("modes");
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        assert_eq!(files::private_dir(&dir).unwrap(), Some(0o755));
        let store = Store::open(&dir.join(DATA_FILE)).unwrap();
        assert_eq!(mode_of(&dir).unwrap(), 0o700);
        assert_eq!(mode_of(&dir.join(DATA_FILE)).unwrap(), 0o600);
        let backups = temp_dir("modes-out");
        let out = backups.join("b.tar");
        store.backup_to(&dir, &out).unwrap();
        assert_eq!(mode_of(&out).unwrap(), 0o600);
        let left: Vec<_> = std::fs::read_dir(&backups).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(left, vec![std::ffi::OsString::from("b.tar")], "no partial file is left");
        store.close(std::time::Duration::from_secs(1)).unwrap();

        let target = backups.join("restored/data");
        restore(&out, &target).unwrap();
        assert_eq!(mode_of(&target).unwrap(), 0o700);
        assert_eq!(mode_of(&target.join(DATA_FILE)).unwrap(), 0o600);
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(&backups);
    }

    #[test]
    fn a_loose_data_file_is_tightened_when_it_is_opened() {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp_dir("loose-file");
        let path = dir.join(DATA_FILE);
        drop(Store::open(&path).unwrap());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        drop(Store::open(&path).unwrap());
        assert_eq!(files::mode_of(&path).unwrap(), 0o600);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let report = check(&dir).unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert_eq!(files::mode_of(&path).unwrap(), 0o600);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_data_file_that_is_a_symbolic_link_is_refused() {
        let dir = temp_dir("linked");
        let real_dir = temp_dir("linked-real");
        let real = real_dir.join(DATA_FILE);
        drop(Store::open(&real).unwrap());
        std::os::unix::fs::symlink(&real, dir.join(DATA_FILE)).unwrap();
        let e = Store::open(&dir.join(DATA_FILE)).err().unwrap().to_string();
        assert!(e.contains("is a symbolic link"), "{e}");
        let e = check(&dir).unwrap_err().to_string();
        assert!(e.contains("is a symbolic link"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(real.parent().unwrap());
    }

    #[test]
    fn a_planted_link_at_a_backups_partial_or_target_path_is_refused_not_followed() {
        let dir = temp_dir("planted");
        let store = Store::open(&dir.join(DATA_FILE)).unwrap();
        let out_dir = temp_dir("planted-out");
        let victim = out_dir.join("victim");
        std::fs::write(&victim, b"keep me").unwrap();
        let out = out_dir.join("b.tar");
        for planted in [".b.tar.partial", ".b.tar.redb.partial", "b.tar"] {
            let link = out_dir.join(planted);
            std::os::unix::fs::symlink(&victim, &link).unwrap();
            let e = store.backup_to(&dir, &out).unwrap_err().to_string();
            assert!(e.starts_with("--out:") && e.contains("symbolic link"), "{planted}: {e}");
            assert_eq!(std::fs::read(&victim).unwrap(), b"keep me", "{planted}: the link was followed");
            assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "{planted}: the link was removed");
            let names: Vec<String> = std::fs::read_dir(&out_dir).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
            assert_eq!(names.len(), 2, "{planted}: nothing else was written: {names:?}");
            std::fs::remove_file(&link).unwrap();
        }
        // A dangling link is refused too, and nothing appears where it points.
        let nowhere = out_dir.join("nowhere");
        std::os::unix::fs::symlink(&nowhere, out_dir.join(".b.tar.partial")).unwrap();
        assert!(store.backup_to(&dir, &out).is_err());
        assert!(!nowhere.exists());
        std::fs::remove_file(out_dir.join(".b.tar.partial")).unwrap();
        // A file a person left there is not removed either.
        std::fs::write(out_dir.join(".b.tar.redb.partial"), b"mine").unwrap();
        let e = store.backup_to(&dir, &out).unwrap_err().to_string();
        assert!(e.contains("is a file already"), "{e}");
        assert_eq!(std::fs::read(out_dir.join(".b.tar.redb.partial")).unwrap(), b"mine");
        std::fs::remove_file(out_dir.join(".b.tar.redb.partial")).unwrap();
        store.backup_to(&dir, &out).unwrap();
        store.close(std::time::Duration::from_secs(1)).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(&out_dir);
    }
}
