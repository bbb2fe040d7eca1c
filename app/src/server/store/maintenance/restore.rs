//! Restore: a backup archive unpacked into a new data directory, checked before it is used.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::backup::{BackupSummary, FORMAT, MANIFEST};
use super::{check, sync_dir, MaintenanceError, BUNDLE_DIR, DATA_FILE};
use crate::server::store::files;

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
    use super::super::fixtures::temp_dir;
    use super::super::{compact, restore};
    use crate::server::store::Store;

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
        assert_eq!(store.schema_version().unwrap(), crate::server::store::SCHEMA_VERSION);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(&target);
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
}
