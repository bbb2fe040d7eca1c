//! The Studio API's refusals and bundle files, without a server.

use uuid::Uuid;

use crate::model::minis::VersionState;
use crate::server::http_error::ApiError;
pub use crate::server::store::bundles::Bundles;
use crate::server::store::minis::Version;

use super::*;
use super::upload::*;

#[test]
fn a_use_case_refusal_keeps_its_kind_status_and_field() {
    use crate::model::AppError;
    let cases = [
        (AppError::conflict("Version", "was retired"), 409, "conflict", Some("Version")),
        (AppError::Forbidden("blocked".into()), 403, "forbidden", None),
        (AppError::NotFound("gone".into()), 404, "not_found", None),
        (AppError::invalid("note", "too long"), 422, "invalid", Some("note")),
        (AppError::Internal, 500, "internal", None),
    ];
    for (e, status, code, field) in cases {
        let api = ApiError::from(e.clone());
        assert_eq!((api.status.as_u16(), api.code, api.field.as_deref()), (status, code, field), "{e:?}");
        assert_eq!(api.message, e.to_string());
    }
    // A rate limit's refusal keeps its wait, and says it as `Retry-After`.
    let limited = AppError::RateLimited { message: "Too many requests to change your account.".into(), retry_after_secs: 42 };
    let response = axum::response::IntoResponse::into_response(ApiError::from(limited));
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(response.headers()["retry-after"], "42");
}

#[test]
fn start_up_removes_unfinished_uploads_and_keeps_stored_bundles() {
    let dir = tempfile::tempdir().unwrap();
    let bundles = Bundles::new(dir.path().to_path_buf());
    assert_eq!(bundles.remove_unfinished().unwrap(), 0, "no tmp/ yet");
    std::fs::create_dir_all(bundles.temp_dir()).unwrap();
    std::fs::write(bundles.temp_dir().join("upload-1"), b"half").unwrap();
    std::fs::write(bundles.temp_dir().join("upload-2"), b"").unwrap();
    let sha = "ab".repeat(32);
    let stored = bundles.temp_dir().join("complete");
    std::fs::write(&stored, b"whole").unwrap();
    assert!(bundles.commit(&stored, &sha).unwrap());
    let kept = bundles.path(&sha);
    assert_eq!(bundles.remove_unfinished().unwrap(), 2);
    assert_eq!(std::fs::read_dir(bundles.temp_dir()).unwrap().count(), 0);
    assert_eq!(std::fs::read(kept).unwrap(), b"whole");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn versions_must_be_semantic_and_rise() {
    let v = |s: &str| Version::for_test(Uuid::nil(), s, VersionState::Uploaded);
    assert!(check_version("1.2.3", &[]).is_ok());
    for bad in ["1.2", "01.0.0", "1.0.0.0", "v1.0.0", ""] {
        assert_eq!(check_version(bad, &[]).unwrap_err().code, "version_invalid", "{bad}");
    }
    // SemVer sets no length; a version is at most 64 characters, and a longer one is not echoed.
    let long = format!("1.0.0-{}", "a".repeat(58));
    assert!(check_version(&long, &[]).is_ok());
    let longer = format!("1.0.0-{}", "a".repeat(100_000));
    let e = check_version(&longer, &[]).unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), ("version_invalid", Some("version")));
    assert!(e.message.len() < 120, "{}", e.message);
    let earlier = [v("1.2.3"), v("1.10.0")];
    assert_eq!(check_version("1.9.9", &earlier).unwrap_err().code, "version_not_higher");
    assert_eq!(check_version("1.10.0", &earlier).unwrap_err().code, "version_not_higher");
    assert!(check_version("1.10.1-beta.1", &earlier).is_ok());
    // Build metadata has no precedence (SemVer §10): 4.2.0+build.2 is not higher than +build.1.
    assert_eq!(check_version("1.10.0+build.2", &[v("1.10.0+build.1")]).unwrap_err().code, "version_not_higher");
    assert!(check_version("1.10.1+build.1", &[v("1.10.0+build.2")]).is_ok());
    assert_eq!(percent_decode("caf%C3%A9%20ok").as_deref(), Some("café ok"));
    assert_eq!(percent_decode("%zz"), None);
}

/// A receive whose request is dropped (its client went away) keeps the upload's slot until its
/// blocking side has stopped, so the limits on uploads at once count the work that really runs:
/// the slot is let go on the blocking thread, not where the request's future was dropped.
#[tokio::test]
async fn a_dropped_receive_holds_its_slot_until_its_blocking_side_stops() {
    use super::receive::receive_canonical;
    use futures::StreamExt;
    use std::sync::{Arc, Mutex};
    /// Notes the thread it is let go on.
    struct Slot(Arc<Mutex<Option<std::thread::ThreadId>>>);
    impl Drop for Slot {
        fn drop(&mut self) {
            *self.0.lock().unwrap() = Some(std::thread::current().id());
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let bundles = Bundles::new(dir.path().to_path_buf());
    let upload = crate::server::archive::pack(&[("app.json", b"{}"), ("index.js", &[7u8; 200_000])]).unwrap();
    // The first half of the body, then nothing more: the blocking side waits for the rest.
    let first: Vec<Result<axum::body::Bytes, std::io::Error>> = vec![Ok(axum::body::Bytes::copy_from_slice(&upload[..upload.len() / 2]))];
    let stream = futures::stream::iter(first).chain(futures::stream::pending());
    let released = Arc::new(Mutex::new(None));
    let slot = Slot(released.clone());
    let receiving = tokio::spawn(async move { receive_canonical(&bundles, Box::pin(stream), u64::MAX, slot).await.map(|_| ()) });
    tokio::task::yield_now().await;
    receiving.abort();
    assert!(receiving.await.unwrap_err().is_cancelled());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let on = loop {
        if let Some(t) = *released.lock().unwrap() {
            break t;
        }
        assert!(std::time::Instant::now() < deadline, "the blocking side never stopped");
        tokio::task::yield_now().await;
    };
    assert_ne!(on, std::thread::current().id(), "let go by the blocking side, not by the dropped request");
    let left: Vec<_> = std::fs::read_dir(dir.path().join("tmp")).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    assert!(left.is_empty(), "its temporary files are gone: {left:?}");
}

/// Once the request is gone, the body's reader and the canonical archive's writer refuse to go
/// on: the blocking side stops at its next read or write.
#[test]
fn an_abandoned_receive_reads_and_writes_nothing_more() {
    use super::receive::{Abandoned, ChannelReader, HashingWriter};
    use sha2::Digest;
    use std::io::{Read, Write};
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    tx.try_send(axum::body::Bytes::from_static(b"abcdef")).unwrap();
    let abandoned = Abandoned::default();
    let mut reader = ChannelReader { chunks: rx, current: axum::body::Bytes::new(), hasher: sha2::Sha256::new(), size: 0, abandoned: abandoned.clone() };
    let mut writer = HashingWriter { file: tempfile::tempfile().unwrap(), hasher: sha2::Sha256::new(), size: 0, abandoned: abandoned.clone() };
    let mut buf = [0u8; 3];
    assert_eq!(reader.read(&mut buf).unwrap(), 3);
    assert_eq!(writer.write(&buf).unwrap(), 3);
    abandoned.set();
    assert!(reader.read(&mut buf).is_err() && writer.write(&buf).is_err());
}

/// A client that goes away once its bytes are in drops its request: the storing goes on to its
/// end, so the bundle it put in place is named by a record or removed, never left behind.
#[tokio::test]
async fn a_dropped_upload_request_leaves_no_bundle_that_nothing_names() {
    use crate::server::store::audit::Actor;
    let dir = tempfile::tempdir().unwrap();
    let cx = crate::server::Context::new(crate::server::store::Store::memory(), crate::server::Config::default());
    let studio = Studio {
        bundles: Bundles::new(dir.path().to_path_buf()),
        limits: std::sync::Arc::new(limits::StudioLimits::new(cx.clock.clone())),
        last_used: Default::default(),
        cx,
    };
    std::fs::create_dir_all(studio.bundles.temp_dir()).unwrap();
    let temp = studio.bundles.temp_dir().join("upload-dropped");
    std::fs::write(&temp, b"a bundle").unwrap();
    let mp = Uuid::now_v7();
    let mut record = Version::for_test(mp, "1.0.0", VersionState::Uploaded);
    record.sha256 = crate::server::keys::sha256_hex(b"a bundle");
    let sha = record.sha256.clone();
    // Its workspace is gone, so the record's write refuses and the file must go again.
    let uploader = Uploader::Key { id: "k".into(), nonce: "n".into(), client: None, token: None };
    // Writes wait behind one that waits for the test, so the request is dropped while its record's
    // write is queued.
    let (started, release) = (std::sync::mpsc::channel(), std::sync::mpsc::channel::<()>());
    let blocker = {
        let (started, release) = (started.0, release.1);
        let store = studio.store.clone();
        tokio::spawn(async move {
            store
                .write(move |_| {
                    let _ = started.send(());
                    let _ = release.recv();
                    Ok(())
                })
                .await
        })
    };
    let started = started.1;
    tokio::task::spawn_blocking(move || started.recv()).await.unwrap().unwrap();
    let request = {
        let studio = studio.clone();
        let temp = receive::TempFile(Some(temp.clone()));
        tokio::spawn(async move { store_version(&studio, temp, record, (Uuid::now_v7(), "Gone".into()), "mp".into(), Actor::named("test"), uploader, ()).await })
    };
    // The bundle is in place (its temporary file moved); then the request is dropped.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while temp.exists() {
        assert!(std::time::Instant::now() < deadline, "the bundle was never put in place");
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    request.abort();
    release.0.send(()).unwrap();
    blocker.await.unwrap().unwrap();
    // The storing holds the bundle's address until it has ended.
    let bundles = studio.bundles.clone();
    let held = tokio::task::spawn_blocking(move || bundles.hold(&sha)).await.unwrap();
    assert!(!studio.bundles.path(&held.sha256).exists(), "no record names it, so it is removed");
    let versions = studio.store.read(move |tx| crate::server::store::minis::versions(tx, mp)).await.unwrap();
    assert!(versions.is_empty());
}

#[test]
fn uploads_at_once_reserve_their_room_above_the_floor() {
    let dir = std::env::temp_dir().join(format!("mpdp-room-{}", Uuid::new_v4()));
    let free = crate::server::store::files::available_bytes(&dir).unwrap();
    // Room above the floor for two reservations, not three.
    let each = free / 10;
    let floor = free - each * 5 / 2;
    let room = std::sync::Arc::new(DiskRoom::default());
    let a = room.reserve(&dir, each, floor).unwrap();
    let b = room.reserve(&dir, each, floor).unwrap();
    let e = room.reserve(&dir, each, floor).err().expect("no room for a third");
    assert_eq!((e.status.as_u16(), e.code), (507, "insufficient_storage"));
    assert_eq!(room.reserved(), 2 * each);
    drop(a);
    let c = room.reserve(&dir, each, floor).unwrap();
    drop((b, c));
    assert_eq!(room.reserved(), 0, "every reservation is given back");
}

#[test]
fn a_bundle_past_the_workspace_quota_is_refused_with_what_it_holds() {
    assert!(within_quota("Acme", 900, 100, 1000).is_ok(), "up to the quota itself");
    let e = within_quota("Acme", 900, 101, 1000).unwrap_err();
    assert_eq!((e.status.as_u16(), e.code), (507, "storage_quota_exceeded"));
    assert!(e.message.contains("Workspace Acme holds 0.0 MiB") && e.message.contains("would pass it"), "{}", e.message);
    // Size not known yet (the console's form): only a full workspace is refused.
    assert!(within_quota("Acme", 999, 0, 1000).is_ok());
    let e = within_quota("Acme", 1000, 0, 1000).unwrap_err();
    assert!(!e.message.contains("would pass it"), "{}", e.message);
}

#[test]
fn a_workspace_has_at_most_its_number_of_uploads_in_progress() {
    let slots = std::sync::Arc::new(UploadSlots::default());
    let (acme, other) = (Uuid::new_v4(), Uuid::new_v4());
    let mut held: Vec<_> = (0..UPLOADS_PER_WORKSPACE).map(|i| slots.take(&format!("key{i}"), acme, None).unwrap()).collect();
    let e = slots.take("another-key", acme, None).err().expect("the workspace's uploads are all in progress");
    assert_eq!((e.status.as_u16(), e.code), (429, "too_many_uploads"));
    assert!(e.message.contains("to this workspace"), "{}", e.message);
    let elsewhere = slots.take("another-key", other, None).unwrap();
    held.pop();
    let again = slots.take("another-key", acme, None).unwrap();
    drop((held, elsewhere, again));
    assert!(slots.0.lock().unwrap().iter().all(|m| m.is_empty()), "every count is given back");
}
