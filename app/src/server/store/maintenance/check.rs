//! Check: a stopped server's data directory verified, its file and its bundles.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use redb::ReadableDatabase;
use sha2::{Digest, Sha256};

use super::{cannot_open, open_data_file, schema_version, versions, MaintenanceError, BUNDLE_DIR, DATA_FILE};
use crate::server::store::bundles::Bundles;

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
    bundle_bytes_agree(&tx, &mut report);
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

/// Whether each workspace's count of bundle bytes (what its quota is held to) is what its
/// versions hold; each that is not is a problem. A data file written before the counts were
/// kept has none to compare (the server counts them when it next starts, migration 0019).
fn bundle_bytes_agree(tx: &redb::ReadTransaction, report: &mut CheckReport) {
    use crate::server::store::{minis, tables::BUNDLE_BYTES};
    use redb::ReadableTable;
    let counted_since = tx.open_table(crate::server::store::tables::MIGRATIONS).ok().and_then(|m| m.get("0019-bundle-bytes").ok().flatten()).is_some();
    let counts = match tx.open_table(BUNDLE_BYTES) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) if !counted_since => return,
        Err(e) => return report.problems.push(format!("the bundle bytes per workspace cannot be read: {e}")),
    };
    let counted = || -> Result<Vec<(u128, u64, u64)>, crate::model::AppError> {
        let held = minis::bundle_bytes_by_workspace(tx)?;
        let mut kept: std::collections::BTreeMap<u128, u64> = std::collections::BTreeMap::new();
        for row in counts.iter()? {
            let (w, n) = row?;
            kept.insert(w.value(), n.value());
        }
        let workspaces: BTreeSet<u128> = held.keys().chain(kept.keys()).copied().collect();
        Ok(workspaces
            .into_iter()
            .map(|w| (w, kept.get(&w).copied().unwrap_or(0), held.get(&w).copied().unwrap_or(0)))
            .filter(|(_, kept, held)| kept != held)
            .collect())
    };
    match counted() {
        Ok(differ) => report.problems.extend(differ.into_iter().map(|(w, kept, held)| {
            format!("workspace {}: its count of bundle bytes says {kept}, its versions hold {held}", uuid::Uuid::from_u128(w))
        })),
        Err(e) => report.problems.push(format!("the bundle bytes per workspace cannot be counted: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use super::super::fixtures::temp_dir;
    use crate::server::store::{files, Store};

    #[test]
    fn a_damaged_file_gets_a_message_that_says_what_to_do() {
        let dir = temp_dir("bad");
        std::fs::write(dir.join(DATA_FILE), b"not a database at all, just some bytes").unwrap();
        let e = check(&dir).unwrap_err().to_string();
        assert!(e.contains("mpdp restore") && e.contains("mpdp check"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
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
    fn a_workspace_whose_count_of_bundle_bytes_differs_from_its_versions_is_a_problem() {
        use crate::server::store::{golden, minis, tables::BUNDLE_BYTES};
        let dir = temp_dir("bundle-bytes");
        let store = Store::open(&dir.join(DATA_FILE)).unwrap();
        let (program, version) = (golden::mini_program(), golden::version());
        let workspace = program.workspace.as_u128();
        store.write_blocking(move |tx| { minis::put(tx, &program)?; minis::put_version(tx, &version) }).unwrap();
        let about_counts = |dir: &Path| check(dir).unwrap().problems.into_iter().filter(|p| p.contains("bundle bytes")).collect::<Vec<_>>();
        drop(store);
        assert!(about_counts(&dir).is_empty(), "kept in the write that stores the version");
        let store = Store::open(&dir.join(DATA_FILE)).unwrap();
        store.write_blocking(move |tx| Ok(tx.open_table(BUNDLE_BYTES)?.insert(workspace, 1).map(drop)?)).unwrap();
        drop(store);
        let problems = about_counts(&dir);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("says 1, its versions hold"), "{}", problems[0]);
        // Without the table, a file its migration counted is a problem...
        let store = Store::open(&dir.join(DATA_FILE)).unwrap();
        store.write_blocking(|tx| Ok(tx.delete_table(BUNDLE_BYTES).map(drop)?)).unwrap();
        drop(store);
        assert_eq!(about_counts(&dir).len(), 1);
        // ...and a file from before the counts were kept has nothing to compare: a backup of it
        // restores, and the server counts them when it starts.
        let store = Store::open(&dir.join(DATA_FILE)).unwrap();
        store
            .write_blocking(|tx| {
                tx.delete_table(BUNDLE_BYTES)?;
                tx.open_table(crate::server::store::tables::MIGRATIONS)?.remove("0019-bundle-bytes")?;
                Ok(())
            })
            .unwrap();
        drop(store);
        let report = check(&dir).unwrap();
        assert!(about_counts(&dir).is_empty() && report.versions == 1, "{:?}", report.problems);
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

}
