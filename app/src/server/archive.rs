//! Bundle archives: the strict reading of an uploaded `.tar.gz`, and the canonical archive the
//! platform stores, signs and serves instead of it.
//!
//! A container unpacks what the platform vouches for, so the platform must not vouch for bytes it
//! read differently from the way a container will. An upload is read strictly:
//!
//! - exactly one gzip member, and nothing after it (every unpacker reads a second member);
//! - tar headers read raw: GNU long-name and long-link entries (`L`, `K`) are refused before their
//!   data is read; a PAX header (`x`, `g`) is at most [`MAX_PAX_BYTES`] and may not disagree with
//!   the ustar header it describes (`path`, `size`), nor set either twice (unpackers differ on
//!   which counts), nor set `linkpath` or GNU sparse maps;
//! - after the end-of-archive block, nothing but zero padding;
//! - every decompressed byte (headers, data, padding) counts against [`MAX_UNPACKED`], so a bomb
//!   is refused after reading at most that much, whatever its headers declare;
//! - entries are regular files or directories with relative UTF-8 paths: no `..`, no absolute
//!   path, no backslash or control character, at most [`MAX_DEPTH`] levels, at most
//!   [`MAX_PATH_BYTES`] bytes, no file whose name ends with `/` (unpackers make it a directory),
//!   no two entries with the same path ignoring case and Unicode normalisation (they would
//!   overwrite each other on a case-insensitive or normalising file system, such as APFS) nor two
//!   directories that differ only so, no file where a directory is needed;
//! - at most [`MAX_ENTRIES`] entries, and a regular file `app.json` at the root.
//!
//! What passes is re-packed as the **canonical archive**: ustar headers only (no extension
//! headers), entries sorted by path bytes with every parent directory before its contents,
//! directories `0755` and files `0644`, owner `0:0` without names, time `0`; gzip with no name and
//! time `0`. The same files always give the same bytes, and the archive holds exactly what was
//! checked. A container may rely on that: one gzip member, ustar, only files and directories,
//! relative paths without `..`.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::io::{self, BufRead, Read, Seek, SeekFrom, Write};
use std::rc::Rc;

use flate2::{Compression, GzBuilder};

/// At most this many entries (extension headers included).
pub const MAX_ENTRIES: usize = 10_000;
/// At most this many bytes once decompressed (tar headers and padding included).
pub const MAX_UNPACKED: u64 = 200 * 1024 * 1024;
/// At most this many bytes in a path: what a ustar header's name and prefix hold.
pub const MAX_PATH_BYTES: usize = 255;
/// At most this many directory levels in a path.
pub const MAX_DEPTH: usize = 32;
/// At most this many bytes in a PAX extension header.
pub const MAX_PAX_BYTES: u64 = 8 * 1024;

/// The code of a [`Refusal`] that is the server's own failure to read or write its temporary
/// files, not the archive's: answered as an internal error.
pub const IO_FAILURE: &str = "archive_io";

/// Why an archive is refused: a stable code (`archive_…`) and a message naming the entry and the
/// rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
}

impl Refusal {
    fn new(code: &'static str, message: impl Into<String>) -> Refusal {
        Refusal { code, message: message.into() }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// What a checked archive holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// Regular files.
    pub files: usize,
    /// The files' bytes.
    pub bytes: u64,
    /// The oldest container version that can run the bundle, as its `app.json` declares it.
    pub min_container: Option<String>,
}

/// The `app.json` field that names the oldest container version able to run the bundle.
pub const MIN_CONTAINER_FIELD: &str = "minContainerVersion";
/// At most this many bytes in `app.json`, which the check reads whole.
pub const MAX_APP_JSON: u64 = 1024 * 1024;

/// A bundle path, checked and normalised (`./a//b` is `a/b`); `None` for the root itself (`./`).
pub fn normalise_path(raw: &[u8]) -> Result<Option<String>, Refusal> {
    let shown = String::from_utf8_lossy(raw).into_owned();
    let text = std::str::from_utf8(raw).map_err(|_| Refusal::new("archive_path_invalid", format!("The bundle has a path that is not UTF-8 ({shown}).")))?;
    if text.starts_with('/') {
        return Err(Refusal::new("archive_absolute_path", format!("The bundle has an absolute path ({shown}); every path must be relative to the bundle's root.")));
    }
    if text.chars().any(|c| c == '\\' || c.is_control()) {
        return Err(Refusal::new("archive_path_invalid", format!("The bundle has a path with a backslash or a control character ({}); use / between directories.", shown.escape_debug())));
    }
    let parts: Vec<&str> = text.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    if parts.contains(&"..") {
        return Err(Refusal::new("archive_parent_path", format!("The bundle has a path with .. ({shown}), which could write outside the bundle.")));
    }
    if parts.len() > MAX_DEPTH {
        return Err(Refusal::new("archive_too_deep", format!("The bundle has a path more than {MAX_DEPTH} directories deep ({shown}).")));
    }
    if parts.is_empty() {
        return Ok(None);
    }
    let path = parts.join("/");
    if path.len() > MAX_PATH_BYTES {
        return Err(Refusal::new("archive_path_too_long", format!("The bundle has a path longer than {MAX_PATH_BYTES} bytes ({shown}).")));
    }
    Ok(Some(path))
}

/// A ustar header of the canonical archive; `None` when the path does not fit ustar's name and
/// prefix fields.
fn canonical_header(path: &str, dir: bool, size: u64) -> Result<tar::Header, Refusal> {
    let mut h = tar::Header::new_ustar();
    h.set_path(path).map_err(|_| {
        Refusal::new("archive_path_too_long", format!("The path {path} does not fit a ustar header: at most 100 bytes after the last / that fits in 155 bytes before it."))
    })?;
    h.set_entry_type(if dir { tar::EntryType::Directory } else { tar::EntryType::Regular });
    h.set_size(if dir { 0 } else { size });
    h.set_mode(if dir { 0o755 } else { 0o644 });
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    let _ = h.set_username("");
    let _ = h.set_groupname("");
    let _ = h.set_device_major(0);
    let _ = h.set_device_minor(0);
    h.set_cksum();
    Ok(h)
}

/// The entries of a canonical archive holding `files` (and the directories `dirs`): every
/// directory that holds a file, and the files, sorted by path bytes, so each directory comes
/// before its contents (it is their prefix followed by `/`). `Some(i)` is `files[i]`, `None` a
/// directory.
pub fn canonical_entries(files: &[&str], dirs: &[&str]) -> Vec<(String, Option<usize>)> {
    let mut all: BTreeMap<String, Option<usize>> = BTreeMap::new();
    for dir in dirs {
        all.insert(dir.to_string(), None);
    }
    for (i, path) in files.iter().enumerate() {
        let mut parent = *path;
        while let Some((up, _)) = parent.rsplit_once('/') {
            all.entry(up.to_string()).or_insert(None);
            parent = up;
        }
        all.insert(path.to_string(), Some(i));
    }
    // A directory's ancestors too.
    for dir in dirs {
        let mut parent = *dir;
        while let Some((up, _)) = parent.rsplit_once('/') {
            all.entry(up.to_string()).or_insert(None);
            parent = up;
        }
    }
    all.into_iter().collect()
}

/// The canonical archive of `files` held in memory (path, bytes): what `mpdp studio upload` makes
/// of the same files on disk, byte for byte — for the seeder and the tests.
pub fn pack(files: &[(&str, &[u8])]) -> Result<Vec<u8>, CanonicalError> {
    let paths: Vec<&str> = files.iter().map(|(path, _)| *path).collect();
    let mut archive = Canonical::new(Vec::new());
    for (path, file) in canonical_entries(&paths, &[]) {
        match file {
            None => archive.dir(&path)?,
            Some(i) => archive.file(&path, files[i].1.len() as u64, files[i].1)?,
        }
    }
    Ok(archive.finish()?)
}

/// Writes a canonical archive. Entries must be appended in canonical order (sorted by path bytes,
/// parents first); [`Canonical::finish`] writes the end blocks and the gzip trailer.
pub struct Canonical<W: Write> {
    tar: tar::Builder<flate2::write::GzEncoder<W>>,
}

impl<W: Write> Canonical<W> {
    pub fn new(out: W) -> Canonical<W> {
        let gzip = GzBuilder::new().mtime(0).write(out, Compression::default());
        Canonical { tar: tar::Builder::new(gzip) }
    }

    /// Checks that a file's path can be written, its directories' too (the same rules as for an
    /// upload).
    pub fn check_path(path: &str) -> Result<String, Refusal> {
        let normal = normalise_path(path.as_bytes())?.ok_or_else(|| Refusal::new("archive_path_invalid", "An entry needs a path below the bundle's root."))?;
        canonical_header(&normal, false, 0)?;
        let mut parent = normal.as_str();
        while let Some((up, _)) = parent.rsplit_once('/') {
            canonical_header(up, true, 0)?;
            parent = up;
        }
        Ok(normal)
    }

    pub fn dir(&mut self, path: &str) -> Result<(), CanonicalError> {
        let h = canonical_header(path, true, 0)?;
        self.tar.append(&h, io::empty())?;
        Ok(())
    }

    /// Appends a file of exactly `size` bytes read from `data` to its end (fewer or more is an
    /// error: the archive would be corrupt).
    pub fn file(&mut self, path: &str, size: u64, data: impl Read) -> Result<(), CanonicalError> {
        let h = canonical_header(path, false, size)?;
        let mut exact = Exact { inner: data, left: size };
        self.tar.append(&h, &mut exact)?;
        Ok(())
    }

    pub fn finish(self) -> io::Result<W> {
        self.tar.into_inner()?.finish()
    }
}

/// A failure to write a canonical archive: a path it cannot hold, or the I/O below it.
#[derive(Debug)]
pub enum CanonicalError {
    Path(Refusal),
    Io(io::Error),
}

impl From<Refusal> for CanonicalError {
    fn from(r: Refusal) -> Self {
        CanonicalError::Path(r)
    }
}

impl From<io::Error> for CanonicalError {
    fn from(e: io::Error) -> Self {
        CanonicalError::Io(e)
    }
}

impl std::fmt::Display for CanonicalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CanonicalError::Path(r) => f.write_str(&r.message),
            CanonicalError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for CanonicalError {}

/// Reads exactly the declared number of bytes, or fails: a source that is shorter or longer (a
/// file that changed while it was packed) must not corrupt the archive.
struct Exact<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::other("the file grew while it was packed; try again")),
            };
        }
        let max = usize::try_from(self.left).unwrap_or(usize::MAX).min(buf.len());
        let n = self.inner.read(&mut buf[..max])?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the file shrank while it was packed; try again"));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Counts every decompressed byte and fails past the limit (the flag says why it failed).
struct Counting<R> {
    inner: R,
    count: u64,
    exceeded: Rc<Cell<bool>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        if self.count > MAX_UNPACKED {
            self.exceeded.set(true);
            return Err(io::Error::other("the unpacked limit was reached"));
        }
        Ok(n)
    }
}

/// A path as the file systems devices unpack to compare it: in Unicode's NFC and folded to lower
/// case (APFS and HFS+ treat "café" written with a combining accent and with a precomposed one,
/// and often "Café", as one name), so that two entries one device would write to one file are
/// refused rather than one silently overwriting the other.
fn folded_path(path: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    path.nfc().collect::<String>().to_lowercase().nfc().collect()
}

/// The spool as `io::copy` writes to it, noting a write that failed (so that it is told apart
/// from a read of the bundle that failed).
struct Spooled<'a> {
    inner: &'a mut std::fs::File,
    failed: Option<io::Error>,
}

impl Write for Spooled<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf).inspect_err(|e| self.failed = Some(io::Error::new(e.kind(), e.to_string())))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// One checked entry, its data kept in the spool file.
struct Item {
    dir: bool,
    offset: u64,
    size: u64,
}

/// What a PAX header says about the entry after it.
#[derive(Default)]
struct Pax {
    path: Option<Vec<u8>>,
    size: Option<u64>,
}

fn too_large() -> Refusal {
    Refusal::new("archive_too_large_unpacked", format!("The bundle would unpack to more than {} MiB.", MAX_UNPACKED / (1024 * 1024)))
}

/// Reads an uploaded `.tar.gz` strictly (see the module's documentation) and writes its canonical
/// archive to `out`. File data is kept in `spool` (read and written; best an unlinked temporary
/// file) between the two. Nothing is unpacked to the file system.
pub fn canonicalise<R: BufRead, W: Write>(upload: R, spool: &mut std::fs::File, out: W) -> Result<(W, Checked), Refusal> {
    let exceeded = Rc::new(Cell::new(false));
    let malformed = |e: io::Error, exceeded: &Rc<Cell<bool>>| {
        if exceeded.get() {
            too_large()
        } else {
            Refusal::new("archive_malformed", format!("The bundle is not a well-formed gzip-compressed tar archive ({e})."))
        }
    };
    let counting = Counting { inner: flate2::bufread::GzDecoder::new(upload), count: 0, exceeded: exceeded.clone() };
    let mut archive = tar::Archive::new(counting);
    // By path as written; the key is the path folded ([`folded_path`]), to find collisions.
    let mut items: BTreeMap<String, Item> = BTreeMap::new();
    let mut folded: HashMap<String, String> = HashMap::new();
    let (mut entries, mut offset) = (0usize, 0u64);
    {
        let iter = archive.entries().map_err(|e| malformed(e, &exceeded))?.raw(true);
        let mut pending: Option<Pax> = None;
        for entry in iter {
            let mut entry = entry.map_err(|e| malformed(e, &exceeded))?;
            entries += 1;
            if entries > MAX_ENTRIES {
                return Err(Refusal::new("archive_too_many_entries", format!("The bundle has more than {MAX_ENTRIES} entries.")));
            }
            let header = entry.header().clone();
            let kind = header.entry_type();
            let name = String::from_utf8_lossy(&header.path_bytes()).into_owned();
            if kind.is_gnu_longname() || kind.is_gnu_longlink() {
                return Err(Refusal::new(
                    "archive_extension_header",
                    format!("The bundle has a GNU long-name or long-link entry ({name}); paths must fit a ustar header (at most {MAX_PATH_BYTES} bytes). mpdp studio upload packs bundles that do."),
                ));
            }
            let declared = header.entry_size().map_err(|e| malformed(e, &exceeded))?;
            if kind.is_pax_local_extensions() || kind.is_pax_global_extensions() {
                if declared > MAX_PAX_BYTES {
                    return Err(Refusal::new("archive_extension_header", format!("The bundle has a PAX header of {declared} bytes; at most {MAX_PAX_BYTES} are allowed.")));
                }
                let mut data = Vec::with_capacity(declared as usize);
                entry.read_to_end(&mut data).map_err(|e| malformed(e, &exceeded))?;
                let pax = read_pax(&data)?;
                if kind.is_pax_global_extensions() {
                    if pax.path.is_some() || pax.size.is_some() {
                        return Err(Refusal::new("archive_extension_header", "The bundle has a global PAX header that sets a path or a size for every entry."));
                    }
                    continue;
                }
                if pending.replace(pax).is_some() {
                    return Err(Refusal::new("archive_extension_header", "The bundle has two PAX headers in a row for one entry."));
                }
                continue;
            }
            let raw_path = header.path_bytes().into_owned();
            // A name ending in `/` makes unpackers write a directory whatever the entry's type.
            let mut names_a_directory = raw_path.ends_with(b"/");
            if let Some(pax) = pending.take() {
                names_a_directory |= pax.path.as_deref().is_some_and(|p| p.ends_with(b"/"));
                let ustar = normalise_path(&raw_path);
                if pax.path.as_deref().is_some_and(|p| ustar.is_err() || normalise_path(p) != ustar) {
                    let effective = String::from_utf8_lossy(pax.path.as_deref().unwrap_or_default()).into_owned();
                    return Err(Refusal::new(
                        "archive_path_mismatch",
                        format!("The bundle has an entry whose ustar name ({name}) and PAX path ({effective}) disagree; unpackers would write different files."),
                    ));
                }
                if pax.size.is_some_and(|s| s != declared) {
                    return Err(Refusal::new("archive_size_mismatch", format!("The bundle has an entry ({name}) whose ustar size and PAX size disagree.")));
                }
            }
            let path = normalise_path(&raw_path)?;
            if kind.is_symlink() || kind.is_hard_link() {
                return Err(Refusal::new("archive_link", format!("The bundle has a link ({name}); links are not allowed.")));
            }
            let dir = kind.is_dir();
            if !(dir || matches!(kind, tar::EntryType::Regular | tar::EntryType::Continuous)) {
                return Err(Refusal::new("archive_special_file", format!("The bundle has a special file ({name}); only files and directories are allowed.")));
            }
            if !dir && names_a_directory {
                return Err(Refusal::new("archive_path_invalid", format!("The bundle has a file whose name ends with / ({name}); unpackers would make it a directory.")));
            }
            let Some(path) = path else {
                if dir {
                    continue; // `./`: the root itself
                }
                return Err(Refusal::new("archive_path_invalid", format!("The bundle has a file without a name ({name}).")));
            };
            if dir && declared != 0 {
                return Err(Refusal::new("archive_malformed", format!("The bundle has a directory with data ({name}).")));
            }
            if offset.saturating_add(declared) > MAX_UNPACKED {
                return Err(too_large());
            }
            let key = folded_path(&path);
            match (folded.get(&key), items.get(&path)) {
                (_, Some(seen)) if seen.dir && dir => continue, // the same directory twice
                (Some(other), _) => {
                    return Err(Refusal::new("archive_duplicate_path", format!("The bundle has two entries for {path} ({other} and {name}), ignoring case and Unicode normalisation; one would overwrite the other.")));
                }
                (None, _) => {}
            }
            let start = offset;
            if !dir {
                // A read that fails is the bundle's fault; a write to the spool that fails (a
                // full disk) is the server's, and is answered as one.
                let mut spooled = Spooled { inner: &mut *spool, failed: None };
                let copied = match io::copy(&mut entry, &mut spooled) {
                    Ok(n) => n,
                    Err(e) => match spooled.failed.take() {
                        Some(w) => return Err(Refusal::new(IO_FAILURE, format!("The bundle's files could not be kept while it was checked ({w})."))),
                        None => return Err(malformed(e, &exceeded)),
                    },
                };
                if copied != declared {
                    return Err(Refusal::new("archive_malformed", format!("The bundle ends inside {name}.")));
                }
                offset += copied;
            }
            folded.insert(key, path.clone());
            items.insert(path, Item { dir, offset: start, size: declared });
        }
        if pending.is_some() {
            return Err(Refusal::new("archive_extension_header", "The bundle ends with a PAX header that describes no entry."));
        }
    }
    // After the end-of-archive block: zero padding only, then nothing after the gzip member.
    let mut counting = archive.into_inner();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = counting.read(&mut buf).map_err(|e| malformed(e, &exceeded))?;
        if n == 0 {
            break;
        }
        if buf[..n].iter().any(|b| *b != 0) {
            return Err(Refusal::new("archive_trailing_data", "The bundle has data after the tar archive's end; unpackers disagree on what it means."));
        }
    }
    let mut rest = counting.inner.into_inner();
    if !rest.fill_buf().map_err(|e| malformed(e, &exceeded))?.is_empty() {
        return Err(Refusal::new(
            "archive_trailing_data",
            "The bundle has bytes after its gzip stream (a second gzip member?); a bundle is exactly one gzip-compressed tar archive.",
        ));
    }
    if entries == 0 || items.is_empty() {
        return Err(Refusal::new("archive_empty", "The bundle is empty."));
    }
    // A file can't also be a directory that another entry needs, and the directories that files
    // need can't differ only in case either (the canonical archive lists them).
    for path in items.keys() {
        let mut parent = path.as_str();
        while let Some((up, _)) = parent.rsplit_once('/') {
            if items.get(up).is_some_and(|i| !i.dir) || folded.get(&folded_path(up)).is_some_and(|p| items.get(p).is_some_and(|i| !i.dir)) {
                return Err(Refusal::new("archive_path_conflict", format!("The bundle has {up} as a file and as the directory of {path}.")));
            }
            match folded.entry(folded_path(up)) {
                std::collections::hash_map::Entry::Occupied(other) if other.get() != up => {
                    return Err(Refusal::new("archive_duplicate_path", format!("The bundle has two directories {} and {up}, ignoring case and Unicode normalisation; their files would mix.", other.get())));
                }
                std::collections::hash_map::Entry::Occupied(_) => {}
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(up.to_string());
                }
            }
            parent = up;
        }
    }
    let Some(app_json) = items.get("app.json").filter(|i| !i.dir) else {
        return Err(Refusal::new("archive_no_app_json", "The bundle has no app.json at its root: a mini program bundle needs one."));
    };
    let io_failure = |e: io::Error| Refusal::new(IO_FAILURE, format!("The bundle could not be re-packed ({e})."));
    let min_container = {
        if app_json.size > MAX_APP_JSON {
            return Err(app_json_invalid(format!("is larger than {} KiB", MAX_APP_JSON / 1024)));
        }
        let mut text = Vec::with_capacity(app_json.size as usize);
        spool.seek(SeekFrom::Start(app_json.offset)).map_err(io_failure)?;
        (&mut *spool).take(app_json.size).read_to_end(&mut text).map_err(io_failure)?;
        min_container_version(&text)?
    };
    let paths: Vec<&str> = items.iter().filter(|(_, i)| !i.dir).map(|(p, _)| p.as_str()).collect();
    let dirs: Vec<&str> = items.iter().filter(|(_, i)| i.dir).map(|(p, _)| p.as_str()).collect();
    let mut canonical = Canonical::new(out);
    let (mut files, mut bytes) = (0usize, 0u64);
    for (path, file) in canonical_entries(&paths, &dirs) {
        let written = match file {
            Some(i) => {
                let item = &items[paths[i]];
                spool.seek(SeekFrom::Start(item.offset)).map_err(io_failure)?;
                files += 1;
                bytes += item.size;
                canonical.file(&path, item.size, (&mut *spool).take(item.size))
            }
            None => canonical.dir(&path),
        };
        match written {
            Ok(()) => {}
            Err(CanonicalError::Path(r)) => return Err(r),
            Err(CanonicalError::Io(e)) => return Err(io_failure(e)),
        }
    }
    let out = canonical.finish().map_err(io_failure)?;
    Ok((out, Checked { files, bytes, min_container }))
}

fn app_json_invalid(rule: impl std::fmt::Display) -> Refusal {
    Refusal::new("archive_app_json_invalid", format!("The bundle's app.json {rule}."))
}

/// The `minContainerVersion` an `app.json` declares, as a semantic version without build
/// metadata; `None` when it declares none. The file must be a JSON object.
pub fn min_container_version(app_json: &[u8]) -> Result<Option<String>, Refusal> {
    let value: serde_json::Value = serde_json::from_slice(app_json).map_err(|e| app_json_invalid(format_args!("is not JSON ({e})")))?;
    let Some(object) = value.as_object() else {
        return Err(app_json_invalid("is not a JSON object"));
    };
    let Some(declared) = object.get(MIN_CONTAINER_FIELD) else { return Ok(None) };
    let rule = "must be a semantic version such as 2.4.0 (the oldest container version that can run the bundle)";
    let text = declared.as_str().ok_or_else(|| app_json_invalid(format_args!("has a {MIN_CONTAINER_FIELD} that is not a string: it {rule}")))?;
    let shown: String = text.chars().take(40).collect();
    let mut v = semver::Version::parse(text.trim()).map_err(|e| app_json_invalid(format_args!("has {MIN_CONTAINER_FIELD} \"{shown}\" ({e}): it {rule}")))?;
    v.build = semver::BuildMetadata::EMPTY;
    Ok(Some(v.to_string()))
}

/// The fields of a PAX header that could make unpackers disagree.
fn read_pax(data: &[u8]) -> Result<Pax, Refusal> {
    let bad = |why: &str| Refusal::new("archive_extension_header", format!("The bundle has a PAX header that {why}."));
    let mut pax = Pax::default();
    for ext in tar::PaxExtensions::new(data) {
        let ext = ext.map_err(|_| bad("is malformed"))?;
        let key = ext.key_bytes();
        match key {
            // Unpackers differ on which of two records counts.
            b"path" if pax.path.is_some() => return Err(bad("sets the path twice")),
            b"size" if pax.size.is_some() => return Err(bad("sets the size twice")),
            b"path" => pax.path = Some(ext.value_bytes().to_vec()),
            b"size" => pax.size = Some(ext.value().ok().and_then(|v| v.parse().ok()).ok_or_else(|| bad("has a size that is not a number"))?),
            b"linkpath" | b"GNU.sparse.name" => return Err(bad("names a link or a sparse file")),
            k if k.starts_with(b"GNU.sparse") => return Err(bad("describes a sparse file")),
            _ => {}
        }
    }
    Ok(pax)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A raw ustar header block with any name, type and size (the checksum set).
    pub fn raw_header(name: &[u8], kind: u8, size: u64) -> [u8; 512] {
        let mut h = tar::Header::new_ustar();
        {
            let bytes = h.as_mut_bytes();
            bytes[..name.len().min(100)].copy_from_slice(&name[..name.len().min(100)]);
        }
        h.set_entry_type(tar::EntryType::new(kind));
        h.set_size(size);
        h.set_mode(0o644);
        h.set_cksum();
        *h.as_bytes()
    }

    /// A tar stream (no end blocks) from raw entries.
    pub fn tar_of(entries: &[(&[u8], u8, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, kind, data) in entries {
            out.extend_from_slice(&raw_header(name, *kind, data.len() as u64));
            out.extend_from_slice(data);
            out.resize(out.len().div_ceil(512) * 512, 0);
        }
        out
    }

    pub fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    fn end(mut tar: Vec<u8>) -> Vec<u8> {
        tar.extend_from_slice(&[0u8; 1024]);
        tar
    }

    pub fn check(bytes: &[u8]) -> Result<(Vec<u8>, Checked), Refusal> {
        let mut spool = tempfile_spool();
        canonicalise(io::BufReader::new(bytes), &mut spool, Vec::new())
    }

    pub fn tempfile_spool() -> std::fs::File {
        tempfile::tempfile().unwrap()
    }

    /// A spool the server cannot write (a full disk, say) is the server's failure, not a
    /// malformed bundle: the upload is answered as an internal error and logged.
    #[test]
    fn a_spool_that_cannot_be_written_is_the_servers_failure() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spool");
        std::fs::write(&path, b"").unwrap();
        let mut read_only = std::fs::File::open(&path).unwrap();
        let bundle = super::pack(&[("app.json", b"{}"), ("index.js", b"console.log(1)")]).unwrap();
        let refused = canonicalise(io::BufReader::new(&bundle[..]), &mut read_only, Vec::new()).unwrap_err();
        assert_eq!(refused.code, IO_FAILURE, "{}", refused.message);
        assert!(check(&bundle).is_ok(), "the same bundle with a spool that works");
    }

    fn code(bytes: &[u8]) -> &'static str {
        match check(bytes) {
            Ok(_) => "ok",
            Err(r) => r.code,
        }
    }

    /// The paths, types and contents of an archive, read by the tar crate as an unpacker would.
    fn listing(tgz: &[u8]) -> Vec<(String, bool, Vec<u8>)> {
        let mut a = tar::Archive::new(flate2::read::MultiGzDecoder::new(tgz));
        a.entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let mut data = Vec::new();
                e.read_to_end(&mut data).unwrap();
                (e.path().unwrap().to_str().unwrap().to_string(), e.header().entry_type().is_dir(), data)
            })
            .collect()
    }

    #[test]
    fn a_bundle_is_repacked_sorted_with_its_parents_and_nothing_else() {
        let upload = gzip(&end(tar_of(&[(b"pages/b/index.js", b'0', b"b"), (b"./app.json", b'0', b"{}"), (b"./", b'5', b""), (b"pages/a.js", b'0', b"a")])));
        let (canonical, checked) = check(&upload).unwrap();
        assert_eq!(checked, Checked { files: 3, bytes: 4, min_container: None });
        assert_eq!(
            listing(&canonical),
            vec![
                ("app.json".into(), false, b"{}".to_vec()),
                ("pages".into(), true, vec![]),
                ("pages/a.js".into(), false, b"a".to_vec()),
                ("pages/b".into(), true, vec![]),
                ("pages/b/index.js".into(), false, b"b".to_vec()),
            ]
        );
        // The canonical archive is its own canonical form, whatever order the upload had.
        assert_eq!(check(&canonical).unwrap().0, canonical);
        let reordered = gzip(&end(tar_of(&[(b"pages/a.js", b'0', b"a"), (b"app.json", b'0', b"{}"), (b"pages/b/index.js", b'0', b"b")])));
        assert_eq!(check(&reordered).unwrap().0, canonical);
    }

    #[test]
    fn what_a_container_would_read_differently_is_refused() {
        // Two gzip members: the second is what every unpacker also reads.
        let mut two = gzip(&tar_of(&[(b"app.json", b'0', b"{}")]));
        two.extend(gzip(&end(tar_of(&[(b"../../x", b'0', b"x")]))));
        assert_eq!(code(&two), "archive_trailing_data");
        // Data after the end blocks.
        let mut after = end(tar_of(&[(b"app.json", b'0', b"{}")]));
        after.extend(tar_of(&[(b"evil.js", b'0', b"x")]));
        assert_eq!(code(&gzip(&after)), "archive_trailing_data");
        // A PAX path that disagrees with the ustar name.
        let pax = b"14 path=ok.js\n";
        let disagree = end(tar_of(&[(b"app.json", b'0', b"{}"), (b"PaxHeader", b'x', pax), (b"../evil.js", b'0', b"x")]));
        assert_eq!(code(&gzip(&disagree)), "archive_path_mismatch");
        // A PAX path that agrees is fine, and dropped from the canonical archive.
        let agree = end(tar_of(&[(b"app.json", b'0', b"{}"), (b"PaxHeader", b'x', pax), (b"ok.js", b'0', b"x")]));
        let (canonical, _) = check(&gzip(&agree)).unwrap();
        assert_eq!(listing(&canonical).len(), 2);
        // A PAX size that disagrees.
        let size = end(tar_of(&[(b"app.json", b'0', b"{}"), (b"PaxHeader", b'x', b"11 size=99\n"), (b"a.js", b'0', b"x")]));
        assert_eq!(code(&gzip(&size)), "archive_size_mismatch");
    }

    #[test]
    fn extension_headers_are_refused_before_their_data_is_read() {
        // A GNU long name declaring 512 MiB: refused from its header alone.
        let mut huge = raw_header(b"././@LongLink", b'L', 512 * 1024 * 1024).to_vec();
        huge.extend_from_slice(&[0u8; 4096]);
        assert_eq!(code(&gzip(&huge)), "archive_extension_header");
        let mut pax = raw_header(b"PaxHeader", b'x', 1024 * 1024).to_vec();
        pax.extend_from_slice(&[b'a'; 4096]);
        assert_eq!(code(&gzip(&pax)), "archive_extension_header");
        assert_eq!(code(&gzip(&end(tar_of(&[(b"app.json", b'0', b"{}"), (b"x", b'K', b"target")])))), "archive_extension_header");
    }

    #[test]
    fn paths_links_and_special_files_are_refused_by_name() {
        for (name, kind, want) in [
            (&b"../x"[..], b'0', "archive_parent_path"),
            (b"a/../../x", b'0', "archive_parent_path"),
            (b"/etc/passwd", b'0', "archive_absolute_path"),
            (b"a\\..\\x", b'0', "archive_path_invalid"),
            (b"a\x01b", b'0', "archive_path_invalid"),
            (b"\xff.js", b'0', "archive_path_invalid"),
            (b"escape", b'2', "archive_link"),
            (b"hard", b'1', "archive_link"),
            (b"dev", b'3', "archive_special_file"),
            (b"fifo", b'6', "archive_special_file"),
            (b"sparse", b'S', "archive_special_file"),
        ] {
            let tar = end(tar_of(&[(b"app.json", b'0', b"{}"), (name, kind, b"")]));
            assert_eq!(code(&gzip(&tar)), want, "{}", String::from_utf8_lossy(name));
        }
        let deep = "d/".repeat(MAX_DEPTH) + "x.js";
        let mut h = tar::Header::new_ustar();
        h.set_path(&deep).unwrap();
        h.set_size(0);
        h.set_cksum();
        let mut tar = tar_of(&[(b"app.json", b'0', b"{}")]);
        tar.extend_from_slice(h.as_bytes());
        assert_eq!(code(&gzip(&end(tar))), "archive_too_deep");
    }

    #[test]
    fn app_json_must_be_an_object_and_its_min_container_version_a_semantic_version() {
        let with = |json: &[u8]| check(&gzip(&end(tar_of(&[(b"app.json", b'0', json)]))));
        assert_eq!(with(br#"{"pages":[]}"#).unwrap().1.min_container, None);
        assert_eq!(with(br#"{"minContainerVersion":"2.4.0"}"#).unwrap().1.min_container.as_deref(), Some("2.4.0"));
        assert_eq!(with(br#"{"minContainerVersion":" 3.0.0-beta.1+build.7 "}"#).unwrap().1.min_container.as_deref(), Some("3.0.0-beta.1"), "build metadata has no precedence");
        for (json, says) in [
            (&b"not json"[..], "is not JSON"),
            (b"[1,2]", "is not a JSON object"),
            (br#"{"minContainerVersion":2}"#, "not a string"),
            (br#"{"minContainerVersion":"2.4"}"#, "minContainerVersion \"2.4\""),
        ] {
            let r = with(json).unwrap_err();
            assert_eq!(r.code, "archive_app_json_invalid", "{json:?}");
            assert!(r.message.contains("app.json") && r.message.contains(says), "{}", r.message);
        }
        let long = format!(r#"{{"minContainerVersion":"{}"}}"#, "9".repeat(5000));
        assert!(with(long.as_bytes()).unwrap_err().message.len() < 400, "the refusal shows a short part of what was declared");
        let mut big = br#"{"pad":""#.to_vec();
        big.resize(MAX_APP_JSON as usize + 10, b'x');
        big.extend_from_slice(br#""}"#);
        assert!(with(&big).unwrap_err().message.contains("larger than"));
    }

    #[test]
    fn duplicates_conflicts_and_missing_app_json_are_refused() {
        assert_eq!(code(&gzip(&end(tar_of(&[(b"app.json", b'0', b"{}"), (b"a.js", b'0', b"1"), (b"./a.js", b'0', b"2")])))), "archive_duplicate_path");
        assert_eq!(code(&gzip(&end(tar_of(&[(b"app.json", b'0', b"{}"), (b"A.js", b'0', b"1"), (b"a.js", b'0', b"2")])))), "archive_duplicate_path");
        // "café.js" precomposed (NFC) and with a combining accent (NFD): one name on APFS.
        let (nfc, nfd) = ("caf\u{e9}.js".as_bytes(), "cafe\u{301}.js".as_bytes());
        assert_eq!(code(&gzip(&end(tar_of(&[(b"app.json", b'0', b"{}"), (nfc, b'0', b"1"), (nfd, b'0', b"2")])))), "archive_duplicate_path");
        assert_eq!(code(&gzip(&end(tar_of(&[(b"app.json", b'0', b"{}"), ("caf\u{e9}/x.js".as_bytes(), b'0', b"1"), ("CAFE\u{301}/y.js".as_bytes(), b'0', b"2")])))), "archive_duplicate_path");
        assert_eq!(code(&gzip(&end(tar_of(&[(b"app.json", b'0', b"{}"), (nfc, b'0', b"1")])))), "ok", "one of them alone is fine");
        assert_eq!(code(&gzip(&end(tar_of(&[(b"app.json", b'0', b"{}"), (b"a", b'0', b"1"), (b"a/b.js", b'0', b"2")])))), "archive_path_conflict");
        assert_eq!(code(&gzip(&end(tar_of(&[(b"app.json", b'5', b"")])))), "archive_no_app_json");
        assert_eq!(code(&gzip(&end(tar_of(&[(b"sub/app.json", b'0', b"{}")])))), "archive_no_app_json");
        assert_eq!(code(&gzip(&end(Vec::new()))), "archive_empty");
        assert_eq!(code(b"not gzip at all"), "archive_malformed");
        // A repeated directory is harmless.
        assert_eq!(code(&gzip(&end(tar_of(&[(b"app.json", b'0', b"{}"), (b"d/", b'5', b""), (b"d", b'5', b"")])))), "ok");
    }

    #[test]
    fn a_bomb_is_refused_after_reading_at_most_the_limit() {
        // A header declaring more than the limit.
        let mut tar = tar_of(&[(b"app.json", b'0', b"{}")]);
        tar.extend_from_slice(&raw_header(b"big", b'0', MAX_UNPACKED + 1));
        assert_eq!(code(&gzip(&tar)), "archive_too_large_unpacked");
        // Zero padding past the end blocks counts too.
        let mut e = flate2::write::GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(&end(tar_of(&[(b"app.json", b'0', b"{}")]))).unwrap();
        let zeros = vec![0u8; 1024 * 1024];
        for _ in 0..=(MAX_UNPACKED / zeros.len() as u64) {
            e.write_all(&zeros).unwrap();
        }
        let bomb = e.finish().unwrap();
        assert!(bomb.len() < 1024 * 1024, "{}", bomb.len());
        assert_eq!(code(&bomb), "archive_too_large_unpacked");
    }

    #[test]
    fn directories_that_differ_only_in_case_are_refused() {
        // Neither file collides with another, but the canonical archive would list both
        // directories, and refuse itself.
        assert_eq!(code(&gzip(&end(tar_of(&[(b"app.json", b'0', b"{}"), (b"a/x.js", b'0', b"1"), (b"A/y.js", b'0', b"2")])))), "archive_duplicate_path");
        assert_eq!(code(&gzip(&end(tar_of(&[(b"app.json", b'0', b"{}"), (b"a", b'5', b""), (b"A/y.js", b'0', b"2")])))), "archive_duplicate_path");
        assert_eq!(code(&gzip(&end(tar_of(&[(b"app.json", b'0', b"{}"), (b"p/a/x.js", b'0', b"1"), (b"p/A", b'5', b"")])))), "archive_duplicate_path");
        assert_eq!(code(&gzip(&end(tar_of(&[(b"app.json", b'0', b"{}"), (b"a/x.js", b'0', b"1"), (b"a/y.js", b'0', b"2"), (b"a", b'5', b"")])))), "ok");
    }

    #[test]
    fn a_file_whose_name_ends_with_a_slash_is_refused() {
        // In a GNU or old header, unpackers make `pages/` a directory whatever its type; the
        // canonical archive would have held a file.
        let mut gnu = tar::Header::new_gnu();
        gnu.as_mut_bytes()[..6].copy_from_slice(b"pages/");
        gnu.set_entry_type(tar::EntryType::Regular);
        gnu.set_size(0);
        gnu.set_cksum();
        let mut tar = tar_of(&[(b"app.json", b'0', b"{}")]);
        tar.extend_from_slice(gnu.as_bytes());
        assert_eq!(code(&gzip(&end(tar))), "archive_path_invalid");
        assert_eq!(code(&gzip(&end(tar_of(&[(b"app.json", b'0', b"{}"), (b"pages/", b'0', b"")])))), "archive_path_invalid");
        assert_eq!(code(&gzip(&end(tar_of(&[(b"app.json/", b'7', b"{}")])))), "archive_path_invalid");
        // A PAX path ending with `/` for a file agrees with its ustar name once normalised.
        let pax = end(tar_of(&[(b"app.json", b'0', b"{}"), (b"PaxHeader", b'x', b"14 path=a.js/\n"), (b"a.js", b'0', b"x")]));
        assert_eq!(code(&gzip(&pax)), "archive_path_invalid");
        // A directory's may.
        assert_eq!(code(&gzip(&end(tar_of(&[(b"app.json", b'0', b"{}"), (b"pages/", b'5', b"")])))), "ok");
    }

    #[test]
    fn a_pax_header_that_sets_a_path_or_a_size_twice_is_refused() {
        // The tar crate takes the first record, other unpackers the last: the ustar name agrees
        // with the last, and a lenient unpacker would have written evil.js.
        let paths = end(tar_of(&[(b"app.json", b'0', b"{}"), (b"PaxHeader", b'x', b"16 path=evil.js\n14 path=ok.js\n"), (b"ok.js", b'0', b"x")]));
        assert_eq!(code(&gzip(&paths)), "archive_extension_header");
        let sizes = end(tar_of(&[(b"app.json", b'0', b"{}"), (b"PaxHeader", b'x', b"10 size=0\n10 size=1\n"), (b"a.js", b'0', b"x")]));
        assert_eq!(code(&gzip(&sizes)), "archive_extension_header");
        // Once each is fine.
        let once = end(tar_of(&[(b"app.json", b'0', b"{}"), (b"PaxHeader", b'x', b"14 path=ok.js\n10 size=1\n"), (b"ok.js", b'0', b"x")]));
        assert_eq!(code(&gzip(&once)), "ok");
    }
}

/// Hostile archives from a grammar, mixing well-formed and hostile parts, against the reader's
/// promises: it never panics nor hangs, its spool never holds more than the upload unpacks to, it
/// refuses with an `archive_…` code, and what it accepts re-packs to an archive that is its own
/// canonical form and holds exactly the files a lenient unpacker would write from the upload.
/// `MPDP_FUZZ_CASES` sets the number of archives (512 by default).
#[cfg(test)]
mod proptests {
    use super::tests::{gzip, raw_header, tempfile_spool};
    use super::*;
    use proptest::prelude::*;
    use proptest::sample::{select, Index};
    use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};
    use std::cell::RefCell;
    use std::sync::mpsc;
    use std::time::Duration;

    /// Far more than any generated archive takes; past it the reader is taken to hang.
    const ANSWER_WITHIN: Duration = Duration::from_secs(20);

    /// Bytes shown as an escaped string when a case fails.
    #[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
    pub struct Bytes(pub Vec<u8>);

    impl std::fmt::Debug for Bytes {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "b\"{}\"", self.0.escape_ascii())
        }
    }

    fn bytes(b: &[u8]) -> Bytes {
        Bytes(b.to_vec())
    }

    // The grammar.

    #[derive(Debug, Clone)]
    pub struct Case {
        /// The `app.json` entry (`None`: there is none) and where it goes among the items.
        pub app_json: Option<Entry>,
        pub at: Index,
        pub items: Vec<Item>,
        pub end: End,
        pub bomb: Option<Bomb>,
        pub gzip: Gzip,
    }

    #[derive(Debug, Clone)]
    pub enum Item {
        Entry(Entry),
        /// Raw bytes where a header is expected, padded to a block or not.
        Garbage(Bytes, bool),
        /// Zero blocks in the middle: an early end.
        Zeros(usize),
    }

    #[derive(Debug, Clone)]
    pub struct Entry {
        pub name: Name,
        pub kind: u8,
        pub format: Format,
        pub long: Long,
        pub data: Data,
        pub size: Size,
        /// A PAX header (local or global) before the entry.
        pub pax: Option<Pax>,
        pub link: Bytes,
        pub bad_checksum: bool,
    }

    #[derive(Debug, Clone, Copy, PartialEq)]
    pub enum Format {
        Ustar,
        Gnu,
        Old,
    }

    /// How a name that does not fit the 100-byte name field is written.
    #[derive(Debug, Clone, Copy, PartialEq)]
    pub enum Long {
        /// In ustar's prefix and name fields where it can be split, else cut.
        Split,
        /// In a GNU long-name entry before the header (whatever its length), the header's name cut.
        Gnu,
        /// Cut to 100 bytes.
        Cut,
    }

    #[derive(Debug, Clone)]
    pub enum Name {
        /// Parts joined by `/` (or `//`), after a lead (`./`, `/`, `../`), maybe with a trailing `/`.
        Path { lead: &'static str, parts: Vec<Part>, double: bool, trailing: bool },
        /// `d/d/…/x.js`, this many levels.
        Deep(usize),
        /// A directory part and a file part of these lengths in bytes (`é` for two when wide).
        Long { dir: usize, file: usize, wide: bool },
        Raw(Bytes),
    }

    #[derive(Debug, Clone)]
    pub enum Part {
        Word(&'static str),
        Num(u8),
        Odd(Bytes),
    }

    #[derive(Debug, Clone)]
    pub enum Data {
        Bytes(Bytes),
        Json,
        Zeros(usize),
        /// A ustar header block for another file: what a reader out of step reads as an entry.
        Header(Name),
    }

    #[derive(Debug, Clone)]
    pub enum Size {
        Exact,
        Less(u64),
        More(u64),
        Huge(u64),
        /// Not a number.
        Garbage,
    }

    #[derive(Debug, Clone)]
    pub struct Pax {
        pub global: bool,
        pub records: Vec<Record>,
        pub size: Size,
    }

    #[derive(Debug, Clone)]
    pub struct Record {
        pub key: Bytes,
        pub value: Value,
        pub frame: Frame,
    }

    #[derive(Debug, Clone)]
    pub enum Value {
        /// The entry's own name for `path`, its declared size for `size`, else `1`.
        Own,
        /// The declared size plus this.
        Offset(i64),
        Name(Name),
        Junk(Bytes),
        /// This many bytes.
        Long(usize),
    }

    #[derive(Debug, Clone, Copy)]
    pub enum Frame {
        Exact,
        /// The length prefix off by this much.
        Off(i8),
        NoNewline,
        NoLength,
    }

    #[derive(Debug, Clone)]
    pub enum End {
        None,
        One,
        Two,
        Four,
        /// Two zero blocks, then this many zero bytes (a partial block too).
        Zeros(usize),
        Garbage(Bytes),
        More(Vec<Item>),
    }

    /// A run of zeros: one file of them, or padding after the end (at most 1.5 MiB either way).
    #[derive(Debug, Clone)]
    pub enum Bomb {
        File(usize),
        Padding(usize),
    }

    #[derive(Debug, Clone)]
    pub enum Gzip {
        One,
        /// With a name, a comment and an extra field in the gzip header.
        Named,
        /// Two members, split at this point of the tar stream.
        Split(Index),
        Members(usize),
        EmptyMember,
        Trailing(Bytes),
        Truncated(Index),
        Corrupt(Index, u8),
    }

    const WORDS: &[&str] = &["app.json", "App.json", "APP.JSON", "pages", "Pages", "index.js", "a", "A", "b.js", "d", "D", "util", "logo.png", "é.js", "É.js"];
    const ODD: &[&[u8]] = &[b"..", b".", b"", b"x\\y", b"a\x01b", b"\x7f", b"tab\t", b"new\nline", b"\xff\xfe.js", b"\xc3", b"nul\0cut", b"C:", b"~"];
    const LENGTHS: &[usize] = &[0, 1, 54, 99, 100, 101, 154, 155, 156, 200, 254, 255, 256];
    const LINKS: &[&[u8]] = &[b"", b"app.json", b"../../etc/passwd", b"/etc/passwd"];

    impl Name {
        pub fn bytes(&self) -> Vec<u8> {
            match self {
                Name::Path { lead, parts, double, trailing } => {
                    let mut out = lead.as_bytes().to_vec();
                    for (i, part) in parts.iter().enumerate() {
                        if i > 0 {
                            out.extend_from_slice(if *double { b"//" } else { b"/" });
                        }
                        match part {
                            Part::Word(w) => out.extend_from_slice(w.as_bytes()),
                            Part::Num(n) => out.extend_from_slice(format!("f{n}.js").as_bytes()),
                            Part::Odd(b) => out.extend_from_slice(&b.0),
                        }
                    }
                    if *trailing {
                        out.push(b'/');
                    }
                    out
                }
                Name::Deep(levels) => ("d/".repeat(levels.saturating_sub(1)) + "x.js").into_bytes(),
                Name::Long { dir, file, wide } => {
                    let run = |n: usize, c: &str| if *wide { c.repeat(n / 2) + &"a".repeat(n % 2) } else { "a".repeat(n) };
                    let file = run(*file.max(&1), "é");
                    if *dir == 0 { file.into_bytes() } else { format!("{}/{file}", run(*dir, "ü")).into_bytes() }
                }
                Name::Raw(b) => b.0.clone(),
            }
        }

        fn plain(word: &'static str) -> Name {
            Name::Path { lead: "", parts: vec![Part::Word(word)], double: false, trailing: false }
        }
    }

    impl Size {
        fn declared(&self, actual: u64) -> u64 {
            match self {
                Size::Exact | Size::Garbage => actual,
                Size::Less(n) => actual.saturating_sub(*n),
                Size::More(n) => actual + n,
                Size::Huge(n) => *n,
            }
        }
    }

    impl Data {
        fn bytes(&self) -> Vec<u8> {
            match self {
                Data::Bytes(b) => b.0.clone(),
                Data::Json => br#"{"pages":["pages/index"]}"#.to_vec(),
                Data::Zeros(n) => vec![0; *n],
                Data::Header(name) => raw_header(&name.bytes(), b'0', 0).to_vec(),
            }
        }
    }

    /// One PAX record, its length prefix counting itself.
    fn record(key: &[u8], value: &[u8], frame: Frame) -> Vec<u8> {
        let body = key.len() + 1 + value.len() + 1;
        let mut len = body + 1;
        while len != body + 1 + len.to_string().len() {
            len = body + 1 + len.to_string().len();
        }
        let shown = match frame {
            Frame::Off(d) => (len as i64 + d as i64).max(0).to_string(),
            _ => len.to_string(),
        };
        let mut out = Vec::new();
        if !matches!(frame, Frame::NoLength) {
            out.extend_from_slice(shown.as_bytes());
            out.push(b' ');
        }
        out.extend_from_slice(key);
        out.push(b'=');
        out.extend_from_slice(value);
        if !matches!(frame, Frame::NoNewline) {
            out.push(b'\n');
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn header(format: Format, name: &[u8], prefix: &[u8], kind: u8, size: &Size, declared: u64, link: &[u8], bad_checksum: bool) -> [u8; 512] {
        let mut h = match format {
            Format::Ustar => tar::Header::new_ustar(),
            Format::Gnu => tar::Header::new_gnu(),
            Format::Old => tar::Header::new_old(),
        };
        h.set_entry_type(tar::EntryType::new(kind));
        h.set_mode(0o644);
        h.set_size(declared);
        let b = h.as_mut_bytes();
        b[..name.len().min(100)].copy_from_slice(&name[..name.len().min(100)]);
        b[157..157 + link.len().min(100)].copy_from_slice(&link[..link.len().min(100)]);
        if format == Format::Ustar {
            b[345..345 + prefix.len().min(155)].copy_from_slice(&prefix[..prefix.len().min(155)]);
        }
        if matches!(size, Size::Garbage) {
            b[124..136].copy_from_slice(b"9z9z9z9z9z9\0");
        }
        h.set_cksum();
        let mut block = *h.as_bytes();
        if bad_checksum {
            block[300] ^= 1;
        }
        block
    }

    /// Ustar's prefix and name for a path, when it can be split so.
    fn split(name: &[u8]) -> Option<(&[u8], &[u8])> {
        if name.len() <= 100 {
            return Some((b"", name));
        }
        (0..name.len()).rev().filter(|&i| name[i] == b'/').find(|&i| i <= 155 && name.len() - i - 1 <= 100).map(|i| (&name[..i], &name[i + 1..]))
    }

    fn pad(out: &mut Vec<u8>) {
        out.resize(out.len().div_ceil(512) * 512, 0);
    }

    impl Entry {
        fn encode(&self, out: &mut Vec<u8>) {
            let name = self.name.bytes();
            let data = self.data.bytes();
            let declared = self.size.declared(data.len() as u64);
            if let Some(pax) = &self.pax {
                let mut body = Vec::new();
                for r in &pax.records {
                    let value = match (&r.value, r.key.0.as_slice()) {
                        (Value::Own, b"path") => name.clone(),
                        (Value::Own, b"size") => declared.to_string().into_bytes(),
                        (Value::Own, _) => b"1".to_vec(),
                        (Value::Offset(d), _) => (declared as i128 + *d as i128).to_string().into_bytes(),
                        (Value::Name(n), _) => n.bytes(),
                        (Value::Junk(b), _) => b.0.clone(),
                        (Value::Long(n), _) => vec![b'a'; *n],
                    };
                    body.extend(record(&r.key.0, &value, r.frame));
                }
                let kind = if pax.global { b'g' } else { b'x' };
                out.extend_from_slice(&header(self.format, b"PaxHeader/entry", b"", kind, &pax.size, pax.size.declared(body.len() as u64), b"", false));
                out.extend(body);
                pad(out);
            }
            if self.long == Long::Gnu {
                let mut long = name.clone();
                long.push(0);
                out.extend_from_slice(&header(self.format, b"././@LongLink", b"", b'L', &Size::Exact, long.len() as u64, b"", false));
                out.extend(long);
                pad(out);
            }
            let (prefix, field) = match (self.format, self.long) {
                (Format::Ustar, Long::Split) => split(&name).unwrap_or((&b""[..], &name[..])),
                _ => (&b""[..], &name[..]),
            };
            out.extend_from_slice(&header(self.format, field, prefix, self.kind, &self.size, declared, &self.link.0, self.bad_checksum));
            out.extend(data);
            pad(out);
        }

        /// A well-formed file.
        fn file(name: Name, data: Data) -> Entry {
            Entry { name, kind: b'0', format: Format::Ustar, long: Long::Split, data, size: Size::Exact, pax: None, link: bytes(b""), bad_checksum: false }
        }
    }

    fn encode_items(items: &[Item], out: &mut Vec<u8>) {
        for item in items {
            match item {
                Item::Entry(e) => e.encode(out),
                Item::Garbage(b, padded) => {
                    out.extend_from_slice(&b.0);
                    if *padded {
                        pad(out);
                    }
                }
                Item::Zeros(blocks) => out.resize(out.len() + 512 * blocks, 0),
            }
        }
    }

    impl Case {
        /// The tar stream and the upload.
        pub fn encode(&self) -> (Vec<u8>, Vec<u8>) {
            let mut items = self.items.clone();
            if let Some(app) = &self.app_json {
                items.insert(self.at.index(items.len() + 1), Item::Entry(app.clone()));
            }
            if let Some(Bomb::File(n)) = self.bomb {
                items.push(Item::Entry(Entry::file(Name::plain("d"), Data::Zeros(n))));
            }
            let mut tar = Vec::new();
            encode_items(&items, &mut tar);
            match &self.end {
                End::None => {}
                End::One => tar.extend_from_slice(&[0; 512]),
                End::Two => tar.extend_from_slice(&[0; 1024]),
                End::Four => tar.extend_from_slice(&[0; 2048]),
                End::Zeros(n) => tar.resize(tar.len() + 1024 + n, 0),
                End::Garbage(b) => {
                    tar.extend_from_slice(&[0; 1024]);
                    tar.extend_from_slice(&b.0);
                }
                End::More(more) => {
                    tar.extend_from_slice(&[0; 1024]);
                    encode_items(more, &mut tar);
                    tar.extend_from_slice(&[0; 1024]);
                }
            }
            if let Some(Bomb::Padding(n)) = self.bomb {
                tar.resize(tar.len() + n, 0);
            }
            let upload = compress(&tar, &self.gzip);
            (tar, upload)
        }
    }

    fn compress(tar: &[u8], layer: &Gzip) -> Vec<u8> {
        match layer {
            Gzip::One => gzip(tar),
            Gzip::Named => {
                let mut e = flate2::GzBuilder::new().filename("bundle.tar").comment("packed").extra(vec![1, 2, 3, 4]).mtime(7).write(Vec::new(), Compression::best());
                e.write_all(tar).unwrap();
                e.finish().unwrap()
            }
            Gzip::Split(at) => {
                let at = at.index(tar.len() + 1);
                let mut out = gzip(&tar[..at]);
                out.extend(gzip(&tar[at..]));
                out
            }
            Gzip::Members(n) => tar.chunks(tar.len().div_ceil(*n).max(1)).flat_map(gzip).collect(),
            Gzip::EmptyMember => {
                let mut out = gzip(tar);
                out.extend(gzip(b""));
                out
            }
            Gzip::Trailing(b) => {
                let mut out = gzip(tar);
                out.extend_from_slice(&b.0);
                out
            }
            Gzip::Truncated(at) => {
                let mut out = gzip(tar);
                out.truncate(at.index(out.len()));
                out
            }
            Gzip::Corrupt(at, xor) => {
                let mut out = gzip(tar);
                let at = at.index(out.len());
                out[at] ^= xor;
                out
            }
        }
    }

    // Strategies.

    fn part() -> impl Strategy<Value = Part> {
        prop_oneof![
            8 => select(WORDS).prop_map(Part::Word),
            6 => (0u8..40).prop_map(Part::Num),
            1 => select(ODD).prop_map(|b| Part::Odd(bytes(b))),
            1 => prop::collection::vec(any::<u8>(), 1..6).prop_map(|b| Part::Odd(Bytes(b))),
        ]
    }

    fn name() -> impl Strategy<Value = Name> {
        let lead = prop_oneof![24 => Just(""), 3 => Just("./"), 1 => Just("/"), 1 => Just("//"), 1 => Just("../"), 1 => Just(".//")];
        prop_oneof![
            24 => (lead, prop::collection::vec(part(), 1..4), prop::bool::weighted(0.08), prop::bool::weighted(0.08))
                .prop_map(|(lead, parts, double, trailing)| Name::Path { lead, parts, double, trailing }),
            1 => (28usize..=36).prop_map(Name::Deep),
            2 => (select(LENGTHS), select(LENGTHS), prop::bool::weighted(0.2)).prop_map(|(dir, file, wide)| Name::Long { dir, file, wide }),
            1 => prop::collection::vec(any::<u8>(), 0..110).prop_map(|b| Name::Raw(Bytes(b))),
        ]
    }

    fn kind() -> impl Strategy<Value = u8> {
        prop_oneof![
            30 => Just(b'0'),
            3 => Just(b'\0'),
            2 => Just(b'7'),
            10 => Just(b'5'),
            1 => Just(b'1'),
            1 => Just(b'2'),
            1 => Just(b'3'),
            1 => Just(b'4'),
            1 => Just(b'6'),
            1 => Just(b'L'),
            1 => Just(b'K'),
            1 => Just(b'x'),
            1 => Just(b'g'),
            1 => Just(b'S'),
            1 => any::<u8>(),
        ]
    }

    fn format() -> impl Strategy<Value = Format> {
        prop_oneof![10 => Just(Format::Ustar), 2 => Just(Format::Gnu), 1 => Just(Format::Old)]
    }

    fn long() -> impl Strategy<Value = Long> {
        prop_oneof![12 => Just(Long::Split), 1 => Just(Long::Gnu), 1 => Just(Long::Cut)]
    }

    fn data() -> impl Strategy<Value = Data> {
        prop_oneof![
            8 => prop::collection::vec(any::<u8>(), 0..700).prop_map(|b| Data::Bytes(Bytes(b))),
            2 => Just(Data::Json),
            1 => (0usize..16 * 1024).prop_map(Data::Zeros),
            1 => name().prop_map(Data::Header),
        ]
    }

    fn size() -> impl Strategy<Value = Size> {
        let huge = prop_oneof![
            select(vec![MAX_UNPACKED - 4096, MAX_UNPACKED, MAX_UNPACKED + 1, 1 << 32, (8 << 30) - 1, 8 << 30]),
            1u64..=(8 << 30),
        ];
        prop_oneof![
            40 => Just(Size::Exact),
            2 => (1u64..600).prop_map(Size::Less),
            2 => (1u64..1200).prop_map(Size::More),
            2 => huge.prop_map(Size::Huge),
            1 => Just(Size::Garbage),
        ]
    }

    fn pax() -> impl Strategy<Value = Pax> {
        let key = prop_oneof![
            8 => Just(bytes(b"path")),
            4 => Just(bytes(b"size")),
            2 => Just(bytes(b"mtime")),
            1 => Just(bytes(b"linkpath")),
            1 => Just(bytes(b"GNU.sparse.size")),
            1 => Just(bytes(b"GNU.sparse.map")),
            1 => Just(bytes(b"GNU.sparse.name")),
            1 => Just(bytes(b"comment")),
            1 => prop::collection::vec(any::<u8>(), 0..8).prop_map(Bytes),
        ];
        let value = prop_oneof![
            10 => Just(Value::Own),
            1 => (-3i64..=3).prop_map(Value::Offset),
            3 => name().prop_map(Value::Name),
            1 => prop::collection::vec(any::<u8>(), 0..12).prop_map(|b| Value::Junk(Bytes(b))),
            1 => select(vec![100usize, 8 * 1024, 9 * 1024]).prop_map(Value::Long),
        ];
        let frame = prop_oneof![
            16 => Just(Frame::Exact),
            1 => prop_oneof![Just(-2i8), Just(-1), Just(1), Just(2)].prop_map(Frame::Off),
            1 => Just(Frame::NoNewline),
            1 => Just(Frame::NoLength),
        ];
        let record = (key, value, frame).prop_map(|(key, value, frame)| Record { key, value, frame });
        (prop::bool::weighted(0.2), prop::collection::vec(record, 0..4), size()).prop_map(|(global, records, size)| Pax { global, records, size })
    }

    fn entry() -> impl Strategy<Value = Entry> {
        (name(), kind(), format(), long(), data(), size(), prop::option::weighted(0.12, pax()), select(LINKS), prop::bool::weighted(0.02)).prop_map(
            |(name, kind, format, long, data, size, pax, link, bad_checksum)| Entry { name, kind, format, long, data, size, pax, link: bytes(link), bad_checksum },
        )
    }

    /// A file or directory as a packer writes it, maybe with a PAX header that agrees.
    fn benign() -> impl Strategy<Value = Entry> {
        let lead = prop_oneof![8 => Just(""), 1 => Just("./")];
        let part = prop_oneof![2 => select(WORDS).prop_map(Part::Word), 3 => (0u8..40).prop_map(Part::Num)];
        let name = (lead, prop::collection::vec(part, 1..4)).prop_map(|(lead, parts)| Name::Path { lead, parts, double: false, trailing: false });
        let kind = prop_oneof![12 => Just(b'0'), 1 => Just(b'\0'), 1 => Just(b'7'), 4 => Just(b'5')];
        let record = prop_oneof![Just(b"path".as_slice()), Just(b"size".as_slice()), Just(b"mtime".as_slice()), Just(b"comment".as_slice())]
            .prop_map(|key| Record { key: bytes(key), value: Value::Own, frame: Frame::Exact });
        let pax = prop::collection::vec(record, 1..3).prop_map(|records| Pax { global: false, records, size: Size::Exact });
        (name, kind, format(), prop::collection::vec(any::<u8>(), 0..600), prop::option::weighted(0.2, pax)).prop_map(|(name, kind, format, data, pax)| Entry {
            kind,
            format,
            data: Data::Bytes(Bytes(if kind == b'5' { vec![] } else { data })),
            pax,
            ..Entry::file(name, Data::Json)
        })
    }

    fn app_json() -> impl Strategy<Value = Option<Entry>> {
        let app = Entry::file(Name::plain("app.json"), Data::Json);
        let variant = (prop_oneof![Just(""), Just("./"), Just("/")], kind(), format(), prop::option::weighted(0.5, pax())).prop_map(move |(lead, kind, format, pax)| {
            let name = Name::Path { lead, parts: vec![Part::Word("app.json")], double: false, trailing: false };
            Some(Entry { name, kind, format, pax, ..Entry::file(Name::plain("app.json"), Data::Json) })
        });
        prop_oneof![24 => Just(Some(app)), 1 => Just(None), 4 => variant]
    }

    fn item() -> impl Strategy<Value = Item> {
        prop_oneof![
            20 => benign().prop_map(Item::Entry),
            20 => entry().prop_map(Item::Entry),
            1 => (prop::collection::vec(any::<u8>(), 1..1024), any::<bool>()).prop_map(|(b, padded)| Item::Garbage(Bytes(b), padded)),
            1 => (1usize..3).prop_map(Item::Zeros),
        ]
    }

    fn case() -> impl Strategy<Value = Case> {
        let end = prop_oneof![
            2 => Just(End::None),
            2 => Just(End::One),
            16 => Just(End::Two),
            2 => Just(End::Four),
            2 => (1usize..4096).prop_map(End::Zeros),
            1 => prop::collection::vec(any::<u8>(), 1..64).prop_map(|b| End::Garbage(Bytes(b))),
            1 => prop::collection::vec(item(), 1..3).prop_map(End::More),
        ];
        let bomb = prop_oneof![(0usize..=1536 * 1024).prop_map(Bomb::File), (0usize..=1536 * 1024).prop_map(Bomb::Padding)];
        let layer = prop_oneof![
            30 => Just(Gzip::One),
            2 => Just(Gzip::Named),
            1 => any::<Index>().prop_map(Gzip::Split),
            1 => (2usize..5).prop_map(Gzip::Members),
            1 => Just(Gzip::EmptyMember),
            1 => prop::collection::vec(any::<u8>(), 1..16).prop_map(|b| Gzip::Trailing(Bytes(b))),
            1 => any::<Index>().prop_map(Gzip::Truncated),
            2 => (any::<Index>(), 1u8..=255).prop_map(|(at, xor)| Gzip::Corrupt(at, xor)),
        ];
        (app_json(), any::<Index>(), prop::collection::vec(item(), 0..7), end, prop::option::weighted(0.04, bomb), layer)
            .prop_map(|(app_json, at, items, end, bomb, gzip)| Case { app_json, at, items, end, bomb, gzip })
    }

    // The properties.

    fn fail(why: impl Into<String>) -> TestCaseError {
        TestCaseError::fail(why.into())
    }

    type Answer = (Result<(Vec<u8>, Checked), Refusal>, u64);

    /// The reader's answer and the size its spool grew to; a panic or no answer in time fails.
    fn run(upload: &[u8]) -> Result<Answer, TestCaseError> {
        let upload = upload.to_vec();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut spool = tempfile_spool();
            let answer = canonicalise(io::BufReader::new(&upload[..]), &mut spool, Vec::new());
            let grown = spool.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
            let _ = tx.send((answer, grown));
        });
        match rx.recv_timeout(ANSWER_WITHIN) {
            Ok(answer) => Ok(answer),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(fail(format!("no answer within {ANSWER_WITHIN:?}"))),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(fail("the reader panicked")),
        }
    }

    /// How many bytes the first gzip member gives before it ends or fails.
    fn unpacked_len(upload: &[u8]) -> u64 {
        let mut gz = flate2::bufread::GzDecoder::new(upload);
        let (mut buf, mut n) = (vec![0u8; 64 * 1024], 0u64);
        while let Ok(k) = gz.read(&mut buf) {
            if k == 0 {
                break;
            }
            n += k as u64;
        }
        n
    }

    /// `./a//b/` is `a/b`.
    fn normal(path: &[u8]) -> Vec<u8> {
        path.split(|b| *b == b'/').filter(|p| !p.is_empty() && *p != b".").collect::<Vec<_>>().join(&b'/')
    }

    /// What a lenient unpacker writes: `tar::Archive` over every gzip member, GNU long names and
    /// PAX paths and sizes applied, as `tar::Entry::unpack` decides what to make of an entry
    /// (unknown types are files; an old or GNU header's name ending in `/` is a directory). Its
    /// files (normalised path → content) and directories; a link or a failure fails.
    #[allow(clippy::type_complexity)]
    fn lenient(tgz: &[u8]) -> Result<(BTreeMap<Bytes, Bytes>, Vec<Bytes>), TestCaseError> {
        let mut archive = tar::Archive::new(flate2::read::MultiGzDecoder::new(tgz));
        let (mut files, mut dirs) = (BTreeMap::new(), Vec::new());
        let unpacker = |e: io::Error| fail(format!("a lenient unpacker fails on it: {e}"));
        for entry in archive.entries().map_err(unpacker)? {
            let mut entry = entry.map_err(unpacker)?;
            let kind = entry.header().entry_type();
            let path = entry.path_bytes().into_owned();
            if kind.is_pax_global_extensions() || kind.is_pax_local_extensions() || kind.is_gnu_longname() || kind.is_gnu_longlink() {
                continue;
            }
            if kind.is_hard_link() || kind.is_symlink() {
                return Err(fail(format!("a lenient unpacker makes a link {:?}", bytes(&path))));
            }
            if kind.is_dir() || (entry.header().as_ustar().is_none() && path.ends_with(b"/")) {
                dirs.push(Bytes(normal(&path)));
                continue;
            }
            let mut data = Vec::new();
            (&mut entry).take(4 << 20).read_to_end(&mut data).map_err(unpacker)?;
            if let Some(before) = files.insert(Bytes(normal(&path)), Bytes(data)) {
                return Err(fail(format!("a lenient unpacker writes {:?} twice (first {before:?})", bytes(&path))));
            }
        }
        Ok((files, dirs))
    }

    /// One gzip member holding ustar headers of files and directories with clean relative paths,
    /// `app.json` a file at the root, and exactly two zero blocks after the last entry.
    fn check_canonical(tgz: &[u8], checked: &Checked) -> Result<(), TestCaseError> {
        let mut gz = flate2::bufread::GzDecoder::new(tgz);
        let mut tar = Vec::new();
        gz.read_to_end(&mut tar).map_err(|e| fail(format!("the canonical archive does not decompress: {e}")))?;
        prop_assert!(gz.into_inner().is_empty(), "bytes after the canonical archive's gzip member");
        let (mut pos, mut app_json, mut files, mut total) = (0usize, false, 0usize, 0u64);
        loop {
            prop_assert!(pos + 512 <= tar.len(), "the canonical archive has no end blocks");
            let block = &tar[pos..pos + 512];
            if block.iter().all(|b| *b == 0) {
                break;
            }
            let h = tar::Header::from_byte_slice(block);
            prop_assert!(h.as_ustar().is_some(), "not a ustar header at {}", pos);
            let kind = block[156];
            prop_assert!(kind == b'0' || kind == b'5', "entry type {:?}", kind as char);
            let path = h.path_bytes().into_owned();
            let text = std::str::from_utf8(&path).map_err(|_| fail(format!("a path that is not UTF-8: {:?}", bytes(&path))))?;
            prop_assert!(!text.is_empty() && text.len() <= MAX_PATH_BYTES, "path length {}", text.len());
            prop_assert!(!text.chars().any(|c| c == '\\' || c.is_control()), "path {:?}", text);
            prop_assert!(text.split('/').all(|p| !p.is_empty() && p != "." && p != ".."), "path {:?}", text);
            let size = h.entry_size().map_err(|e| fail(e.to_string()))?;
            if kind == b'0' {
                files += 1;
                total += size;
                app_json |= text == "app.json";
            } else {
                prop_assert_eq!(size, 0);
            }
            pos += 512 + (size as usize).div_ceil(512) * 512;
        }
        prop_assert!(tar[pos..] == [0u8; 1024], "after the last entry: {} bytes, not two zero blocks", tar.len() - pos);
        prop_assert!(app_json, "no app.json file at the root");
        prop_assert_eq!((files, total), (checked.files, checked.bytes));
        Ok(())
    }

    /// Every promise for one upload; the refusal's code when it is refused.
    pub fn verify(upload: &[u8]) -> Result<Option<&'static str>, TestCaseError> {
        let (answer, grown) = run(upload)?;
        let bound = unpacked_len(upload);
        prop_assert!(grown <= bound, "the spool grew to {} bytes from {} unpacked", grown, bound);
        let (canonical, checked) = match answer {
            Err(refusal) => {
                prop_assert!(refusal.code.starts_with("archive_"), "refused with {}", refusal.code);
                return Ok(Some(refusal.code));
            }
            Ok(accepted) => accepted,
        };
        let (again, _) = run(&canonical)?;
        let again = again.map_err(|r| fail(format!("the canonical archive is refused: {} ({})", r.code, r.message)))?;
        prop_assert!(again.0 == canonical, "the canonical archive re-packs differently");
        prop_assert_eq!(&again.1, &checked);
        check_canonical(&canonical, &checked)?;
        let (input_files, input_dirs) = lenient(upload)?;
        let (output_files, output_dirs) = lenient(&canonical)?;
        prop_assert_eq!(&input_files, &output_files, "a lenient unpacker writes other files from the upload than from its canonical archive");
        for dir in input_dirs.iter().filter(|d| !d.0.is_empty()) {
            prop_assert!(output_dirs.contains(dir), "a lenient unpacker makes the directory {:?}, which the canonical archive lacks", dir);
        }
        Ok(None)
    }

    fn config() -> Config {
        let cases = std::env::var("MPDP_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512);
        Config {
            cases,
            max_shrink_iters: 2048,
            max_shrink_time: 30_000,
            failure_persistence: Some(Box::new(FileFailurePersistence::SourceParallel("proptest-regressions"))),
            source_file: Some(file!()),
            ..Config::default()
        }
    }

    #[test]
    fn hostile_archives_are_refused_or_repacked_faithfully() {
        let answers: RefCell<BTreeMap<&'static str, usize>> = RefCell::default();
        let mut runner = TestRunner::new(config());
        let result = runner.run(&case(), |case| {
            let (tar, upload) = case.encode();
            prop_assert!(tar.len() < 2 << 20, "the case unpacks to {} bytes", tar.len());
            let code = verify(&upload)?;
            *answers.borrow_mut().entry(code.unwrap_or("accepted")).or_default() += 1;
            Ok(())
        });
        if let Err(e) = result {
            panic!("{e}");
        }
        eprintln!("answers: {:?}", answers.borrow());
    }
}
