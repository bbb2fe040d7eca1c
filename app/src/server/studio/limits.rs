//! What the Studio API holds in memory against abuse: nonces in flight, uploads in progress per
//! key and per address, and late answers to repeated refusals.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use crate::server::http_error::ApiError;
use crate::server::auth::ratelimit::Tarpit;

use super::*;

/// What the Studio API keeps in memory: nonces in flight, uploads in progress and recent
/// refusals per address.
pub struct StudioLimits {
    pub(super) in_flight: Arc<InFlight>,
    pub(super) uploads: Arc<UploadSlots>,
    pub(super) refusals: Arc<Tarpit>,
    pub(super) room: Arc<DiskRoom>,
}

impl StudioLimits {
    /// The limits, with refusal windows on `clock`.
    pub fn new(clock: crate::server::clock::Clock) -> Self {
        StudioLimits {
            in_flight: Arc::default(),
            uploads: Arc::default(),
            room: Arc::default(),
            refusals: Arc::new(Tarpit::new(REFUSALS_PER_ADDRESS, std::time::Duration::from_secs(60), REFUSAL_DELAY, REFUSAL_DELAY_MAX, REFUSALS_HELD_PER_ADDRESS, clock)),
        }
    }

    /// Forgets refusal windows that have ended (run from a timer).
    pub fn forget_expired(&self) {
        self.refusals.forget_expired();
    }
}

/// Answers a refused authentication (401) late once its client address is past
/// [`REFUSALS_PER_ADDRESS`] a minute, later with each one: a client sending forged uploads in a
/// loop soon gets one answer per connection every ten seconds, and the server spends a timer on
/// each, not a worker. The body of a refused
/// upload is never read, so while the answer waits the client's bytes stop in its own socket.
pub(super) async fn slow_refusals(State(state): State<Studio>, request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let client = request.extensions().get::<crate::server::auth::client::ClientAddr>().map(|c| c.0);
    let response = next.run(request).await;
    if response.status() == StatusCode::UNAUTHORIZED {
        if let Some(hold) = client.and_then(|ip| state.limits.refusals.refused(ip)) {
            tokio::time::sleep(hold.delay).await;
        }
    }
    response
}

/// Nonces of verified requests not yet finished, so a replay sent while the original is still
/// being received is refused at once.
#[derive(Default)]
pub(super) struct InFlight(pub(super) Mutex<HashSet<(String, String)>>);

pub(super) struct NonceHold(pub(super) Arc<InFlight>, pub(super) (String, String));

impl InFlight {
    pub(super) fn hold(self: &Arc<Self>, key: &str, nonce: &str) -> Option<NonceHold> {
        let id = (key.to_string(), nonce.to_string());
        let mut set = self.0.lock().unwrap_or_else(|e| e.into_inner());
        set.insert(id.clone()).then(|| NonceHold(self.clone(), id))
    }
}

impl Drop for NonceHold {
    fn drop(&mut self) {
        self.0 .0.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.1);
    }
}

/// Uploads in progress per key (or console member), per client address and per workspace;
/// entries leave the maps when their count falls to zero, so the maps hold only what is in flight.
#[derive(Default)]
pub(super) struct UploadSlots(pub(super) Mutex<[HashMap<String, usize>; 3]>);

/// One upload's place in each count it takes: key, address (if known), workspace.
pub(super) struct UploadSlot(pub(super) Arc<UploadSlots>, pub(super) [Option<String>; 3]);

impl UploadSlots {
    pub(super) fn take(self: &Arc<Self>, key: &str, workspace: uuid::Uuid, client: Option<IpAddr>) -> Result<UploadSlot, ApiError> {
        let busy = |what: &str, n: usize| {
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_uploads", format!("{n} uploads {what} are already in progress: wait for one to finish, then try again."))
        };
        // Counted as the login limits count addresses: IPv4 itself, IPv6 by its /64.
        let places = [Some(key.to_string()), client.map(crate::server::auth::ratelimit::address_key), Some(workspace.to_string())];
        let caps = [(UPLOADS_PER_KEY, "with this Upload Key"), (UPLOADS_PER_ADDRESS, "from your network address"), (UPLOADS_PER_WORKSPACE, "to this workspace")];
        let mut maps = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for ((map, place), (cap, what)) in maps.iter().zip(&places).zip(caps) {
            if place.as_ref().is_some_and(|p| map.get(p).copied().unwrap_or(0) >= cap) {
                return Err(busy(what, cap));
            }
        }
        for (map, place) in maps.iter_mut().zip(&places) {
            if let Some(p) = place {
                *map.entry(p.clone()).or_default() += 1;
            }
        }
        Ok(UploadSlot(self.clone(), places))
    }
}

impl Drop for UploadSlot {
    fn drop(&mut self) {
        let mut maps = self.0 .0.lock().unwrap_or_else(|e| e.into_inner());
        for (map, place) in maps.iter_mut().zip(&self.1) {
            if let Some(p) = place {
                if let Some(n) = map.get_mut(p) {
                    *n -= 1;
                    if *n == 0 {
                        map.remove(p);
                    }
                }
            }
        }
    }
}

/// The disk the uploads in progress may still write (their spool and their bundle), reserved
/// before a body is read, so that uploads at once cannot together fill the bundles' filesystem.
#[derive(Default)]
pub(super) struct DiskRoom(Mutex<u64>);

/// Room reserved for one upload, given back when it is dropped (the upload ended, stored or not).
pub(super) struct RoomHeld(Arc<DiskRoom>, u64);

impl DiskRoom {
    /// Reserves `bytes` when the filesystem that holds `dir` keeps at least `floor` bytes free
    /// beyond them and every reservation held; else 507 `insufficient_storage`.
    pub(super) fn reserve(self: &Arc<Self>, dir: &std::path::Path, bytes: u64, floor: u64) -> Result<RoomHeld, ApiError> {
        let free = crate::server::store::files::available_bytes(dir).map_err(|e| {
            tracing::error!(error = %e, dir = %dir.display(), "could not read the free space of the bundles' filesystem");
            ApiError::internal()
        })?;
        let mut held = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if free.saturating_sub(*held).saturating_sub(bytes) < floor {
            tracing::warn!(free, reserved = *held, floor, "an upload was refused: the bundles' filesystem is nearly full");
            return Err(ApiError::new(
                StatusCode::INSUFFICIENT_STORAGE,
                "insufficient_storage",
                "The server's disk is nearly full, so uploads are refused until its operator makes room. Nothing was read.",
            ));
        }
        *held += bytes;
        Ok(RoomHeld(self.clone(), bytes))
    }

    /// The bytes reserved now.
    #[cfg(test)]
    pub(super) fn reserved(&self) -> u64 {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for RoomHeld {
    fn drop(&mut self) {
        let mut held = self.0 .0.lock().unwrap_or_else(|e| e.into_inner());
        *held = held.saturating_sub(self.1);
    }
}
