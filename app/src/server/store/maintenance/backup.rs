//! Backup: a data directory's snapshot written as one archive.
//!
//! A backup is one tar archive: `backup.json` (what it holds), `mpdp.redb` (a fresh data file
//! holding every entry of every table as one read transaction saw them) and the bundle files the
//! versions in that snapshot name (`bundles/<ab>/<sha256>.tar.gz`). Bundles are content-addressed
//! and never rewritten, and a bundle file is durable before any record names it, so the files a
//! snapshot names exist and hold their bytes however long after the snapshot they are read.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};

use redb::{
    Database, MultimapTableHandle, ReadTransaction, ReadableDatabase, ReadableTable,
    TableDefinition, TableHandle, WriteTransaction,
};
use serde::{Deserialize, Serialize};

use super::{schema_version, sync_dir, versions, MaintenanceError, BUNDLE_DIR, DATA_FILE};
use crate::server::store::bundles::Bundles;
use crate::server::store::files;
use crate::server::store::Store;

/// The archive entry that describes a backup.
pub(super) const MANIFEST: &str = "backup.json";
/// The layout of the archive this build writes; restore refuses a higher one.
pub(super) const FORMAT: u32 = 1;

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
    impl crate::server::store::tables::Visit for Copy<'_> {
        type Error = MaintenanceError;

        fn table<K: redb::Key + 'static, V: redb::Value + 'static>(&mut self, def: TableDefinition<K, V>) -> Result<(), MaintenanceError> {
            if let Some(n) = copy_table(self.src, self.dst, def).map_err(MaintenanceError::storage(format!("copy the table {}", def.name())))? {
                self.copied.push((def.name().to_string(), n));
            }
            Ok(())
        }
    }
    let mut copy = Copy { src, dst, copied: Vec::new() };
    crate::server::store::tables::each(&mut copy)?;
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

/// `--out` names a place a new file cannot be made (something is in the way, or no permission).
fn in_the_way(path: &Path, e: &std::io::Error) -> MaintenanceError {
    let message = files::in_the_way("--out", path, e);
    let message = message.strip_prefix("--out: ").map(str::to_string).unwrap_or(message);
    MaintenanceError::Flag { flag: "--out", message }
}

#[cfg(test)]
mod tests {
    use super::*;
    use super::super::fixtures::temp_dir;

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
