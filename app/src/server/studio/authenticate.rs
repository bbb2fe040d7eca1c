//! Authenticating a signed request before anything else is read: the signature header, the key,
//! the clock, the signature, the nonce.


use axum::http::StatusCode;
use chrono::Utc;

use crate::model::apps::KeyKind;
use crate::server::http_error::ApiError;
use crate::server::keys::{self, SignatureHeader};
use crate::server::store::apps::{self as app_store, Key, KeyRecord};
use crate::server::store::minis::{self as store};

use super::*;

/// The signature header, well-formed.
pub(super) fn signature(text: Option<&str>) -> Result<SignatureHeader, ApiError> {
    let text = text.ok_or_else(|| {
        ApiError::new(StatusCode::UNAUTHORIZED, "signature_missing", "The MPDP-Signature header is missing: sign the request with the App's Upload Key (mpdp studio does this for you).")
    })?;
    SignatureHeader::parse(text).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "signature_malformed", format!("The MPDP-Signature header is malformed: {e}.")))
}

pub(super) fn unknown_key() -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unknown_key", "The key that signed this request is not known to this server.")
}

pub(super) fn key_usable(key: &Key, now: chrono::DateTime<Utc>) -> Result<(), ApiError> {
    if key.kind != KeyKind::Upload {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "wrong_key_kind", "This request is signed by an Accessing Key; uploads are signed with the App's Upload Key (mpuk_…)."));
    }
    if key.revoked.is_some() {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "key_revoked", "This Upload Key has been revoked. Ask a Workspace Admin for the App's current Upload Key."));
    }
    if !key.live(now) {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "key_expired", "This Upload Key was rotated and its grace period is over. Use the App's current Upload Key."));
    }
    Ok(())
}

pub(super) fn stale() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "stale_timestamp",
        format!("The request's timestamp is more than {} minutes from the server's clock: check the clock and sign again.", CLOCK_SKEW_SECS / 60),
    )
}

pub(super) fn replayed() -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "replayed", "This signed request was already received (its nonce was used): sign each request anew.")
}

pub(super) fn bad_signature() -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "bad_signature", "The signature does not verify with the key over this request: nothing was read or stored.")
}

/// A verified request: the key, its signature header, and the nonce held against concurrent
/// replays until the request ends.
pub(super) struct Verified {
    pub(super) key: KeyRecord,
    pub(super) sig: SignatureHeader,
    pub(super) _nonce: NonceHold,
}

/// Authenticates a signed request before anything else is read, in one read of the key and its
/// nonce: the key (known, an Upload Key, not revoked, within its grace period), the clock, the
/// signature over `message`, then the nonce (unused, and held against the same nonce in flight).
/// Nothing is written; the write that acts consumes the nonce.
pub(super) async fn authenticate(state: &Studio, sig: SignatureHeader, message: impl FnOnce(&SignatureHeader) -> String) -> Result<Verified, ApiError> {
    let (k, n) = (sig.key.clone(), sig.nonce.clone());
    let (key, used) = state.store.read(move |tx| Ok((app_store::key_record(tx, &k)?, store::nonce_used(tx, &k, &n)?))).await?;
    let key = key.ok_or_else(unknown_key)?;
    key_usable(&key.key, state.clock.now())?;
    if state.clock.timestamp().abs_diff(sig.ts) > CLOCK_SKEW_SECS.unsigned_abs() {
        return Err(stale());
    }
    if !keys::verify(&key.key.material, message(&sig).as_bytes(), &sig.sig) {
        return Err(bad_signature());
    }
    let hold = state.limits.in_flight.hold(&sig.key, &sig.nonce).ok_or_else(replayed)?;
    if used {
        return Err(replayed());
    }
    Ok(Verified { key, sig, _nonce: hold })
}
