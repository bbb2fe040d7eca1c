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
//!   no two entries with the same path ignoring case (they would overwrite each other on a
//!   case-insensitive file system) nor two directories that differ only in case, no file where a
//!   directory is needed;
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
}

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
    // By path as written; the key is the path folded to lower case, to find case collisions.
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
            let key = path.to_lowercase();
            match (folded.get(&key), items.get(&path)) {
                (_, Some(seen)) if seen.dir && dir => continue, // the same directory twice
                (Some(other), _) => {
                    return Err(Refusal::new("archive_duplicate_path", format!("The bundle has two entries for {path} ({other} and {name}), ignoring case; one would overwrite the other.")));
                }
                (None, _) => {}
            }
            let start = offset;
            if !dir {
                let copied = io::copy(&mut entry, spool).map_err(|e| malformed(e, &exceeded))?;
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
            if items.get(up).is_some_and(|i| !i.dir) || folded.get(&up.to_lowercase()).is_some_and(|p| items.get(p).is_some_and(|i| !i.dir)) {
                return Err(Refusal::new("archive_path_conflict", format!("The bundle has {up} as a file and as the directory of {path}.")));
            }
            match folded.entry(up.to_lowercase()) {
                std::collections::hash_map::Entry::Occupied(other) if other.get() != up => {
                    return Err(Refusal::new("archive_duplicate_path", format!("The bundle has two directories {} and {up}, ignoring case; their files would mix.", other.get())));
                }
                std::collections::hash_map::Entry::Occupied(_) => {}
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(up.to_string());
                }
            }
            parent = up;
        }
    }
    if !items.get("app.json").is_some_and(|i| !i.dir) {
        return Err(Refusal::new("archive_no_app_json", "The bundle has no app.json at its root: a mini program bundle needs one."));
    }
    let paths: Vec<&str> = items.iter().filter(|(_, i)| !i.dir).map(|(p, _)| p.as_str()).collect();
    let dirs: Vec<&str> = items.iter().filter(|(_, i)| i.dir).map(|(p, _)| p.as_str()).collect();
    let io_failure = |e: io::Error| Refusal::new("archive_io", format!("The bundle could not be re-packed ({e})."));
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
    Ok((out, Checked { files, bytes }))
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

    fn tempfile_spool() -> std::fs::File {
        let path = std::env::temp_dir().join(format!("mpdp-spool-{}", uuid::Uuid::new_v4()));
        let f = std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        f
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
        assert_eq!(checked, Checked { files: 3, bytes: 4 });
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
    fn duplicates_conflicts_and_missing_app_json_are_refused() {
        assert_eq!(code(&gzip(&end(tar_of(&[(b"app.json", b'0', b"{}"), (b"a.js", b'0', b"1"), (b"./a.js", b'0', b"2")])))), "archive_duplicate_path");
        assert_eq!(code(&gzip(&end(tar_of(&[(b"app.json", b'0', b"{}"), (b"A.js", b'0', b"1"), (b"a.js", b'0', b"2")])))), "archive_duplicate_path");
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
