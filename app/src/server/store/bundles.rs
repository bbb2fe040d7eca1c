//! Bundle files: content-addressed archives beside the data file (`bundles/<ab>/<sha256>.tar.gz`),
//! written through a temporary file in `bundles/tmp` that is fsynced, renamed into place and
//! its directory fsynced before any record names it.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Content-addressed bundle files under the data directory.
#[derive(Clone, Debug)]
pub struct Bundles {
    dir: PathBuf,
    /// The content addresses being stored or cleaned up right now: one upload at a time per
    /// address, so a loser's cleanup never removes a file that a winner's record names.
    busy: Arc<(Mutex<HashSet<String>>, std::sync::Condvar)>,
}

impl Bundles {
    pub fn new(dir: PathBuf) -> Bundles {
        Bundles { dir, busy: Arc::default() }
    }

    /// Where the bundle with this sha256 lives.
    pub fn path(&self, sha256: &str) -> PathBuf {
        self.dir.join(&sha256[..2]).join(format!("{sha256}.tar.gz"))
    }

    /// The directory the bundles live in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn temp_dir(&self) -> PathBuf {
        self.dir.join("tmp")
    }

    /// Deletes what uploads interrupted by a crash left in `tmp/`. Only at start-up, while this
    /// process holds the data directory's lock: no upload can be in flight then. Returns how
    /// many files were removed.
    pub fn remove_unfinished(&self) -> std::io::Result<usize> {
        let entries = match std::fs::read_dir(self.temp_dir()) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        let mut removed = 0;
        for entry in entries {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                std::fs::remove_file(entry.path())?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Holds the content address `sha256` until the guard is dropped (blocking).
    pub fn hold(&self, sha256: &str) -> Held {
        let (lock, freed) = &*self.busy;
        let mut busy = lock.lock().unwrap_or_else(|e| e.into_inner());
        while busy.contains(sha256) {
            busy = freed.wait(busy).unwrap_or_else(|e| e.into_inner());
        }
        busy.insert(sha256.to_string());
        Held { bundles: self.clone(), sha256: sha256.to_string() }
    }

    /// Moves a complete, fsynced temporary file to its content address and fsyncs the directory,
    /// so the file is durable before any record names it. Returns whether this call created the
    /// file (false: the same bytes were stored already).
    pub fn commit(&self, temp: &Path, sha256: &str) -> std::io::Result<bool> {
        let to = self.path(sha256);
        let parent = to.parent().expect("a bundle path has a directory");
        std::fs::create_dir_all(parent)?;
        let created = if to.exists() {
            std::fs::remove_file(temp)?;
            false
        } else {
            std::fs::rename(temp, &to)?;
            true
        };
        std::fs::File::open(parent)?.sync_all()?;
        Ok(created)
    }
}

/// A content address held by one upload (see [`Bundles::hold`]).
pub struct Held {
    bundles: Bundles,
    pub sha256: String,
}

impl Drop for Held {
    fn drop(&mut self) {
        let (lock, freed) = &*self.bundles.busy;
        lock.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.sha256);
        freed.notify_all();
    }
}
