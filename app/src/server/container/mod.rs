//! The container API (`/api/container/v1/…`): what a host App's container SDK reads — the mini
//! programs released to that App, each as a signed [manifest](crate::server::manifest), their
//! icons and their bundle bytes. A machine API on its own router (no session, no origin check),
//! authorised by `Authorization: Bearer mpak_…`, the App's Accessing Key.
//!
//! This is the hot path, so nothing here reads or writes the database: every answer comes from an
//! immutable [`Snapshot`] of pre-serialised bodies and their ETags per App, looked up by the
//! Accessing Key's SHA-256, and swapped in whole by [`Container::refresh`] after each commit that
//! changes what is served (releases, removals, features, keys, workspace status). A key's grace
//! end is kept in the snapshot and compared with the clock on each request, so a grace period
//! ends on time without a rebuild. "Last used" is noted in memory ([`LastUsed::touch`]). Bundle
//! files are mapped into memory once each ([`bundles::Mapped`]) and served as slices of it.
//!
//! [`LastUsed::touch`]: crate::server::domain::apps::LastUsed::touch

mod bundles;
mod handlers;
mod served;
mod snapshot;

use std::sync::Arc;

use axum::Router;
use uuid::Uuid;

use crate::server::routes::Routes;
use handlers::{bundle, events, icon, list, manifest, platform_key};

pub use snapshot::{build, build_at, AppContent, Container, LiveGrant, Snapshot, Stamp};

/// Where the container API lives.
pub const PREFIX: &str = "/api/container/v1";

/// The path of a mini program's icon.
pub fn icon_url(id: Uuid) -> String {
    format!("{PREFIX}/mini-programs/{id}/icon")
}

/// The path of a bundle.
pub fn bundle_url(sha256: &str) -> String {
    format!("{PREFIX}/bundles/{sha256}")
}

/// What the container API's handlers are given: the snapshot they serve, the bundle files, the
/// clock, and where key uses are noted.
#[derive(Clone)]
pub struct Serving {
    pub container: Arc<Container>,
    pub bundles: crate::server::store::bundles::Bundles,
    pub clock: crate::server::clock::Clock,
    pub last_used: Arc<crate::server::domain::apps::LastUsed>,
    pub fleet: Arc<crate::server::domain::fleet::Fleet>,
    pub event_limits: Arc<EventLimits>,
}

/// How many event batches an Accessing Key, and a client address, may send per hour.
pub struct EventLimits {
    per_key: crate::server::auth::ratelimit::Throttle,
    per_address: crate::server::auth::ratelimit::Throttle,
}

impl EventLimits {
    pub fn new(config: &crate::server::Config, clock: crate::server::clock::Clock) -> EventLimits {
        use crate::server::auth::ratelimit::Throttle;
        EventLimits {
            per_key: Throttle::per_hour(config.event_batches_per_key, "of events with this Accessing Key", clock.clone()),
            per_address: Throttle::per_hour(config.event_batches_per_address, "of events from your network address", clock),
        }
    }
}

/// The container API's description (see [`crate::server::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(handlers::list, handlers::manifest, handlers::icon, handlers::bundle, handlers::events, handlers::platform_key))]
pub struct ContainerApi;

/// The container API's routes.
pub fn routes() -> Routes<Serving> {
    Routes::default()
        .get("/api/container/v1/mini-programs", list)
        .get("/api/container/v1/mini-programs/{id}", manifest)
        .get("/api/container/v1/mini-programs/{id}/icon", icon)
        .get("/api/container/v1/bundles/{sha256}", bundle)
        .post("/api/container/v1/events", events)
        .get("/api/container/v1/platform-key", platform_key)
}

pub fn router(state: Serving) -> Router {
    routes().into_router().with_state(state)
}
