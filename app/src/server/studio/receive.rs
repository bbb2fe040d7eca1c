//! Receiving a bundle: the body streamed off the async workers to a blocking thread that hashes
//! it, reads it strictly as an archive and writes the canonical archive to a temporary file.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use axum::http::StatusCode;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::server::archive;
use crate::server::http_error::ApiError;
use crate::model::minis::VersionState;
use crate::server::keys;
use crate::server::store::minis::Version;
pub use crate::server::store::bundles::Bundles;

/// Removes the temporary file when an upload is refused or fails.
pub(super) struct TempFile(pub(super) Option<PathBuf>);

impl TempFile {
    pub(super) fn path(&self) -> Result<PathBuf, ApiError> {
        self.0.clone().ok_or_else(ApiError::internal)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

pub(super) fn too_large(limit: u64) -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "bundle_too_large", format!("The bundle is larger than {} MiB, this server's limit.", limit / (1024 * 1024))).field("bundle")
}

pub(super) fn truncated() -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "upload_truncated", "The upload was cut short before all its bytes arrived; nothing was stored.")
}

impl From<archive::Refusal> for ApiError {
    fn from(r: archive::Refusal) -> ApiError {
        if r.code == archive::IO_FAILURE {
            // The server's own spool or temporary file failed: not the bundle's fault.
            tracing::error!(error = %r.message, "an upload could not be re-packed");
            return ApiError::internal();
        }
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, r.code, r.message).field("bundle")
    }
}

/// A received bundle, checked and re-packed: the canonical archive in a temporary file (fsynced)
/// with its sha256 and size, and the sha256 and size of the bytes received.
pub(super) struct Received {
    pub(super) temp: TempFile,
    pub(super) sha256: String,
    pub(super) size: u64,
    pub(super) uploaded_sha256: String,
    pub(super) uploaded_size: u64,
    /// The oldest container version that can run it, as its `app.json` declares.
    pub(super) min_container: Option<String>,
}

/// Who uploaded a version and the signature over its upload: what its record holds besides the
/// bundle ([`Received::version`]).
pub(super) struct Upload {
    pub(super) uploader: String,
    pub(super) key: Option<String>,
    pub(super) account: Option<Uuid>,
    pub(super) signature: String,
    pub(super) signed_ts: i64,
    pub(super) signed_nonce: String,
    pub(super) note: String,
}

impl Received {
    /// The record of `version` of mini program `mp`, uploaded as this bundle, not yet submitted.
    pub(super) fn version(&self, mp: Uuid, version: String, upload: Upload, created: chrono::DateTime<chrono::Utc>) -> Version {
        let Upload { uploader, key, account, signature, signed_ts, signed_nonce, note } = upload;
        Version {
            mini_program: mp,
            version,
            state: VersionState::Uploaded,
            size: self.size,
            sha256: self.sha256.clone(),
            uploaded_sha256: self.uploaded_sha256.clone(),
            uploaded_size: self.uploaded_size,
            min_container: self.min_container.clone(),
            uploader,
            key,
            account,
            signature,
            signed_ts,
            signed_nonce,
            note,
            created,
        }
    }
}

/// Set when the request a receive belongs to is gone — its client closed the connection and its
/// handler was dropped while the blocking side still had bytes to unpack: that side stops at its
/// next read or write instead of finishing work whose answer nobody takes.
#[derive(Clone, Default)]
pub(super) struct Abandoned(Arc<AtomicBool>);

impl Abandoned {
    /// The request is gone.
    pub(super) fn set(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    fn check(&self) -> std::io::Result<()> {
        if self.0.load(Ordering::Relaxed) {
            return Err(std::io::Error::other("the upload's request is gone"));
        }
        Ok(())
    }
}

/// Marks the receive abandoned when dropped: held by the async side, so a dropped handler drops it.
struct OnDrop(Abandoned);

impl Drop for OnDrop {
    fn drop(&mut self) {
        self.0.set();
    }
}

/// Reads the body's chunks on a blocking thread, hashing and counting them.
pub(super) struct ChannelReader {
    pub(super) chunks: tokio::sync::mpsc::Receiver<Bytes>,
    pub(super) current: Bytes,
    pub(super) hasher: Sha256,
    pub(super) size: u64,
    pub(super) abandoned: Abandoned,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.abandoned.check()?;
        while self.current.is_empty() {
            match self.chunks.blocking_recv() {
                Some(chunk) => self.current = chunk,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        let chunk = self.current.split_to(n);
        buf[..n].copy_from_slice(&chunk);
        self.hasher.update(&chunk);
        self.size += n as u64;
        Ok(n)
    }
}

/// Hashes and counts what it writes.
pub(super) struct HashingWriter {
    pub(super) file: std::fs::File,
    pub(super) hasher: Sha256,
    pub(super) size: u64,
    pub(super) abandoned: Abandoned,
}

impl Write for HashingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.abandoned.check()?;
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Streams a body (at most `limit` bytes) to a blocking thread that checks it as an archive and
/// writes its canonical archive to a temporary file under `bundles/tmp`. The async side only
/// forwards chunks: hashing, decompressing and writing never run on the runtime's workers.
///
/// `hold` (the upload's slot) is kept by the blocking side until it ends, so the limits on
/// uploads at once count the work that really runs; and when the request is dropped (its client
/// went away) the blocking side stops at its next read or write.
pub(super) async fn receive_canonical<S, E>(bundles: &Bundles, mut stream: S, limit: u64, hold: impl Send + 'static) -> Result<Received, ApiError>
where
    S: futures::Stream<Item = Result<Bytes, E>> + Unpin,
{
    use futures::StreamExt;
    let dir = bundles.temp_dir();
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(8);
    let abandoned = Abandoned::default();
    let _on_drop = OnDrop(abandoned.clone());
    let worker = tokio::task::spawn_blocking(move || -> Result<Received, ApiError> {
        let _hold = hold;
        let internal = |e: std::io::Error| {
            tracing::error!(error = %e, "could not write a bundle's temporary files");
            ApiError::internal()
        };
        std::fs::create_dir_all(&dir).map_err(internal)?;
        let path = dir.join(format!("{}.part", Uuid::new_v4()));
        let out = crate::server::store::files::create_private(&path).map_err(internal)?;
        let temp = TempFile(Some(path));
        // The files' data between reading and re-packing: unlinked at once, gone with the handle.
        let spool_path = dir.join(format!("{}.spool", Uuid::new_v4()));
        let mut spool = crate::server::store::files::create_private(&spool_path).map_err(internal)?;
        std::fs::remove_file(&spool_path).map_err(internal)?;
        let mut reader = ChannelReader { chunks: rx, current: Bytes::new(), hasher: Sha256::new(), size: 0, abandoned: abandoned.clone() };
        let writer = HashingWriter { file: out, hasher: Sha256::new(), size: 0, abandoned };
        // A small buffer, so that the reader (and its look at `abandoned`) is asked at least
        // every 8 KiB of gzip: at most some 8 MiB unpacked between two looks.
        let (writer, checked) = archive::canonicalise(std::io::BufReader::with_capacity(8 * 1024, &mut reader), &mut spool, writer)?;
        writer.file.sync_all().map_err(internal)?;
        Ok(Received {
            temp,
            sha256: keys::hex(&writer.hasher.finalize()),
            size: writer.size,
            uploaded_sha256: keys::hex(&reader.hasher.finalize()),
            uploaded_size: reader.size,
            min_container: checked.min_container,
        })
    });
    let mut size = 0u64;
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else {
            drop(tx);
            let _ = worker.await;
            return Err(truncated());
        };
        size += chunk.len() as u64;
        if size > limit {
            drop(tx);
            let _ = worker.await;
            return Err(too_large(limit));
        }
        if tx.send(chunk).await.is_err() {
            break; // the archive was refused: its reason is the answer
        }
    }
    drop(tx);
    worker.await.map_err(|_| ApiError::internal())?
}
