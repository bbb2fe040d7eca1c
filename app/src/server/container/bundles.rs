//! Bundles as the container API serves them. A bundle is named by its content and written once,
//! so its bytes never change: each file is mapped into memory the first time it is asked for, and
//! a download or a range is then a slice of that mapping handed to the socket — no open, read,
//! copy or blocking task per request. A mapping costs address space, not memory: its pages are
//! the kernel's page cache, shared with every other reader. Mappings of bundles no longer served
//! are dropped when the snapshot is rebuilt, so a collected file's space is freed.

use std::collections::HashMap;
use std::sync::RwLock;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::server::store::bundles::Bundles;

/// The bundles mapped so far, by sha256.
#[derive(Default)]
pub struct Mapped {
    maps: RwLock<HashMap<String, Bytes>>,
}

impl Mapped {
    /// The bytes of bundle `sha256`, mapped from its file the first time.
    pub fn get(&self, store: &Bundles, sha256: &str) -> std::io::Result<Bytes> {
        if let Some(b) = self.maps.read().map_err(|_| std::io::Error::other("a poisoned lock"))?.get(sha256) {
            return Ok(b.clone());
        }
        let file = std::fs::File::open(store.path(sha256))?;
        let bytes = if file.metadata()?.len() == 0 {
            Bytes::new()
        } else {
            // SAFETY: a bundle's file is written whole under a temporary name, renamed into place
            // and never written again (its name is its content's hash); it is only ever unlinked,
            // which leaves a mapping valid. So the mapped bytes cannot change under a reader.
            let map = unsafe { memmap2::Mmap::map(&file)? };
            Bytes::from_owner(map)
        };
        let mut maps = self.maps.write().map_err(|_| std::io::Error::other("a poisoned lock"))?;
        Ok(maps.entry(sha256.to_string()).or_insert(bytes).clone())
    }

    /// Drops the mappings of the bundles `served` says are no longer served.
    pub fn retain(&self, served: impl Fn(&str) -> bool) {
        if let Ok(mut maps) = self.maps.write() {
            maps.retain(|sha, _| served(sha));
        }
    }

    /// How many bundles are mapped.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.maps.read().map(|m| m.len()).unwrap_or(0)
    }
}

/// What a request's `Range` asks of `len` bytes.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Part {
    Whole,
    /// One range, first and last byte included.
    Range(u64, u64),
    /// Malformed bytes, outside the bytes, or several ranges.
    Unsatisfiable,
}

/// The part of `len` bytes tagged `etag` a request asks for. A malformed `Range` is refused
/// whatever else the request says; a unit other than bytes is ignored (the whole). `If-Range`
/// with another entity tag (or a weak one) asks for the whole; with a date it holds, as the
/// bytes never change.
pub(super) fn part(request: &HeaderMap, len: u64, etag: &HeaderValue) -> Part {
    let Some(range) = request.get(header::RANGE) else { return Part::Whole };
    // `unit=…`, the unit a token (RFC 9110 §14.1, case-insensitive). A unit other than bytes is
    // not understood, so the header is ignored (§14.2); one that is no token is malformed.
    let Some((unit, spec)) = range.to_str().ok().and_then(|r| r.split_once('=')) else { return Part::Unsatisfiable };
    let token = |c: u8| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c);
    if unit.is_empty() || !unit.bytes().all(token) {
        return Part::Unsatisfiable;
    }
    if !unit.eq_ignore_ascii_case("bytes") {
        return Part::Whole;
    }
    let Ok(asked) = http_range_header::parse_range_header(&format!("bytes={spec}")) else { return Part::Unsatisfiable };
    if let Some(tag) = request.get(header::IF_RANGE).and_then(|v| v.to_str().ok()).map(str::trim) {
        if (tag.starts_with('"') || tag.starts_with("W/")) && tag.as_bytes() != etag.as_bytes() {
            return Part::Whole;
        }
    }
    // Several ranges are refused: refused before `validate`, whose overlap check grows with the
    // square of their number (a header of 25 000 ranges would cost a third of a CPU-second).
    if spec.contains(',') {
        return Part::Unsatisfiable;
    }
    match asked.validate(len).ok().as_deref() {
        Some([one]) => Part::Range(*one.start(), *one.end()),
        _ => Part::Unsatisfiable,
    }
}

/// The answer to a request for `bytes`: the whole (200) or one range of them (206); `None` when
/// the range cannot be satisfied (the caller answers 416 with `Content-Range: bytes */len`).
pub(super) fn respond(bytes: Bytes, request: &HeaderMap, etag: &HeaderValue) -> Option<Response> {
    let len = bytes.len() as u64;
    match part(request, len, etag) {
        Part::Whole => Some(Body::from(bytes).into_response()),
        Part::Range(first, last) => {
            let slice = bytes.slice(usize::try_from(first).ok()?..=usize::try_from(last).ok()?);
            let mut r = (StatusCode::PARTIAL_CONTENT, Body::from(slice)).into_response();
            r.headers_mut().insert(header::CONTENT_RANGE, HeaderValue::try_from(format!("bytes {first}-{last}/{len}")).ok()?);
            Some(r)
        }
        Part::Unsatisfiable => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asking(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(header::HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn one_range_is_served_and_several_or_none_within_are_not() {
        let etag = HeaderValue::from_static("\"abc\"");
        let part = |pairs: &[(&str, &str)]| part(&asking(pairs), 100, &etag);
        assert_eq!(part(&[]), Part::Whole);
        assert_eq!(part(&[("range", "bytes=10-19")]), Part::Range(10, 19));
        assert_eq!(part(&[("range", "bytes=-5")]), Part::Range(95, 99));
        assert_eq!(part(&[("range", "bytes=90-")]), Part::Range(90, 99));
        assert_eq!(part(&[("range", "bytes=90-500")]), Part::Range(90, 99), "an end past the last byte is the last byte");
        assert_eq!(part(&[("range", "bytes=100-")]), Part::Unsatisfiable);
        assert_eq!(part(&[("range", "bytes=0-1,5-6")]), Part::Unsatisfiable);
        let many: Vec<String> = (0..25_000).map(|i| format!("{}-{}", i * 2, i * 2)).collect();
        assert_eq!(part(&[("range", &format!("bytes={}", many.join(",")))]), Part::Unsatisfiable, "many ranges: refused before their overlaps are weighed");
        assert_eq!(part(&[("range", "bytes=0-1,5-6"), ("if-range", "\"old\"")]), Part::Whole, "another tag still asks for the whole");
        assert_eq!(part(&[("range", "bytes")]), Part::Unsatisfiable, "malformed");
        assert_eq!(part(&[("range", "bytes=x-y")]), Part::Unsatisfiable, "malformed");
        assert_eq!(part(&[("range", "am^>wXlx=d")]), Part::Unsatisfiable, "a unit that is no token");
        assert_eq!(part(&[("range", "=0-1")]), Part::Unsatisfiable, "no unit");
        // Another unit is not understood, so the header is ignored; `Bytes` is bytes.
        assert_eq!(part(&[("range", "pages=1")]), Part::Whole);
        assert_eq!(part(&[("range", "Bytes=10-19")]), Part::Range(10, 19));
        // If-Range: the same strong tag or a date keeps the range; another tag asks for the whole.
        assert_eq!(part(&[("range", "bytes=0-9"), ("if-range", "\"abc\"")]), Part::Range(0, 9));
        assert_eq!(part(&[("range", "bytes=0-9"), ("if-range", "Thu, 01 Jan 1970 00:00:00 GMT")]), Part::Range(0, 9));
        assert_eq!(part(&[("range", "bytes=0-9"), ("if-range", "\"old\"")]), Part::Whole);
        assert_eq!(part(&[("range", "bytes=0-9"), ("if-range", "W/\"abc\"")]), Part::Whole);
        // A malformed Range is refused even when If-Range would ask for the whole.
        assert_eq!(part(&[("range", ""), ("if-range", "\"old\"")]), Part::Unsatisfiable);
        assert_eq!(part(&[("range", "bytes=x"), ("if-range", "\"old\"")]), Part::Unsatisfiable);
    }

    #[test]
    fn a_mapped_bundle_is_read_once_and_dropped_when_no_longer_served() {
        let dir = tempfile::tempdir().unwrap();
        let store = Bundles::new(dir.path().to_path_buf());
        let sha = "ab".repeat(32);
        std::fs::create_dir_all(store.path(&sha).parent().unwrap()).unwrap();
        std::fs::write(store.path(&sha), b"the bundle's bytes").unwrap();
        let mapped = Mapped::default();
        let first = mapped.get(&store, &sha).unwrap();
        assert_eq!(&first[..], b"the bundle's bytes");
        // Unlinked while mapped, it is still served from the mapping until dropped.
        std::fs::remove_file(store.path(&sha)).unwrap();
        assert_eq!(mapped.get(&store, &sha).unwrap(), first);
        let r = respond(first, &asking(&[("range", "bytes=4-9")]), &HeaderValue::from_static("\"x\"")).unwrap();
        assert_eq!((r.status(), r.headers()[header::CONTENT_RANGE].to_str().unwrap()), (StatusCode::PARTIAL_CONTENT, "bytes 4-9/18"));
        mapped.retain(|_| false);
        assert_eq!(mapped.len(), 0);
        assert!(mapped.get(&store, &sha).is_err(), "gone from disk and from the map");
    }
}
