//! Compaction: a stopped server's data file made as small as its data.

use std::path::Path;

use super::{open_data_file, MaintenanceError, DATA_FILE};

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
