//! The HTTP surface: the console's pages and server functions, `/healthz`, the embedded static
//! files, and the middleware around all of it.

mod assets;
mod body_deadline;
mod middleware;
pub mod metrics;
pub mod serve;

use std::sync::Arc;
use std::time::Duration;

use app::server::store::sessions::RedbSessionStore;
use app::server::store::Store;
use app::server::state::AppState;
use app::{shell, App};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use app::server::routes::Routes;
use axum::Router;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::session_store::ExpiredDeletion;
use tower_sessions::{Expiry, SessionManagerLayer};


/// The longest pause allowed between two parts of a request's body.
pub const BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

pub fn router(state: AppState) -> Router {
    let options = assets::leptos_options();
    let routes = generate_route_list(App);
    let context = {
        let state = state.clone();
        move || {
            provide_context(state.clone());
            provide_context(state.cx.clone());
        }
    };
    let render_shell = {
        let options = options.clone();
        move || shell(options.clone())
    };
    let not_found =
        leptos_axum::render_app_async_with_context(context.clone(), render_shell.clone());

    let https = state.config.is_https();
    let sessions = SessionManagerLayer::new(RedbSessionStore::new(state.store.clone()))
        // `__Host-` binds the cookie to this exact origin; browsers accept it only with Secure.
        .with_name(if https {
            "__Host-mpdp_session"
        } else {
            "mpdp_session"
        })
        .with_secure(https)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(
            time::Duration::try_from(state.config.session_idle)
                .unwrap_or(time::Duration::hours(12)),
        ));

    let origin = middleware::OriginPolicy {
        public_origin: Arc::from(state.config.public_origin()),
    };

    let console = Router::new()
        .leptos_routes_with_context(&options, routes, context, render_shell)
        .fallback(move |req: Request| assets::serve_or_not_found(req, not_found.clone()))
        .with_state(options)
        .merge(
            app::server::studio::console_routes()
                .into_router()
                // The multipart reader's own limit (2 MiB by default) would cut a bundle short:
                // `body_limit` below bounds this form by the bundle limit instead.
                .layer(axum::extract::DefaultBodyLimit::disable())
                .with_state(state.studio_api()),
        )
        .merge(app::server::sso::routes().into_router().with_state(state.cx.clone()))
        .layer(axum::middleware::from_fn_with_state(state.config.max_bundle_bytes, middleware::body_limit))
        .layer(sessions)
        .layer(axum::middleware::from_fn_with_state(origin.clone(), middleware::links_from_outside))
        .layer(axum::middleware::from_fn_with_state(origin, middleware::refuse_cross_site));
    // The machine APIs: no session, no origin check, their own limits and authorisation.
    Router::new()
        .merge(health().into_router().with_state(state.store.clone()))
        .merge(app::server::openapi::routes().into_router())
        .merge(app::server::studio::router(state.studio_api()))
        .merge(app::server::container::router(state.container_api()))
        .merge(console)
        // Every request's client address, the machine APIs' too (Upload Key address ranges,
        // uploads per address).
        .layer(axum::middleware::from_fn_with_state(
            middleware::ClientAddressPolicy {
                trusted_proxies: state.config.trusted_proxies.clone().into(),
                header: state.config.client_address_header.clone(),
            },
            middleware::client_address,
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            // A console page sets its own, naming its inline scripts by nonce (`app::ui::shell`).
            HeaderValue::from_str(&app::server::csp::policy(None)).expect("the policy is ASCII"),
        ))
        .layer(axum::middleware::from_fn_with_state(https, middleware::response_headers))
        // A body that stops arriving ends the request (uploads included) rather than holding it;
        // so does one that keeps arriving, a little now and then, for longer than its size needs.
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(BODY_IDLE_TIMEOUT))
        .layer(axum::middleware::from_fn_with_state(state.cx.clock.clone(), body_deadline::body_deadline))
        .layer(TraceLayer::new_for_http())
}

/// Every endpoint of this build: "METHOD path", sorted. Server functions register themselves, so
/// a new one appears here without anyone listing it (the authorization tests rely on that).
pub fn endpoints() -> Vec<String> {
    let mut out: Vec<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, method)| format!("{method} {path}"))
        .collect();
    out.extend_from_slice(health().endpoints());
    out.extend_from_slice(app::server::openapi::routes().endpoints());
    out.extend_from_slice(app::server::studio::routes().endpoints());
    out.extend_from_slice(app::server::studio::console_routes().endpoints());
    out.extend_from_slice(app::server::sso::routes().endpoints());
    out.extend_from_slice(app::server::container::routes().endpoints());
    out.sort();
    out
}

/// `/healthz`, for load balancers and monitors.
fn health() -> Routes<Store> {
    Routes::default().get("/healthz", healthz)
}

/// 200 only when a read transaction opens on the data file.
async fn healthz(State(store): State<Store>) -> impl IntoResponse {
    if store.healthy().await {
        (StatusCode::OK, "ok\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n")
    }
}

/// Writes when App keys were last used, once a minute (off the request path).
pub async fn flush_key_uses(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        if let Err(e) = state.last_used.flush(&state).await {
            tracing::warn!(error = %e, "could not record when keys were last used");
        }
    }
}

/// Writes the fleet's events and judges the candidates they concern, every `--fleet-flush-ms`.
pub async fn flush_fleet_events(state: AppState) {
    let mut tick = tokio::time::interval(state.config.fleet_flush);
    loop {
        tick.tick().await;
        match state.fleet.flush(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(candidates = n, "the health rule stopped candidates"),
            Err(e) => tracing::warn!(error = %e, "could not write the fleet's events; they are counted again at the next flush"),
        }
    }
}

/// Issues the container lists anew (a new sequence, a new expiry) every hour, so a list that
/// is current never expires even when nothing changes.
pub async fn issue_lists_anew(state: AppState) {
    let mut tick = tokio::time::interval(app::server::manifest::LIST_RESIGN);
    tick.tick().await;
    loop {
        tick.tick().await;
        state.container.refresh(&state.store).await;
    }
}

/// Deletes expired sessions, secrets left unshown, passkey ceremonies never answered, and webhook
/// deliveries and mail past their keeping, every ten minutes.
pub async fn purge_expired_sessions(store: Store) {
    let sessions = RedbSessionStore::new(store.clone());
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        if let Err(e) = sessions.delete_expired().await {
            tracing::warn!(error = %e, "could not purge expired sessions");
        }
        let now = store.clock().timestamp();
        if let Err(e) = store.write(move |tx| app::server::store::shown_once::purge(tx, now)).await {
            tracing::warn!(error = %e, "could not purge secrets left unshown");
        }
        let now = store.clock().now();
        if let Err(e) = store.write(move |tx| app::server::store::passkeys::purge_ceremonies(tx, now)).await {
            tracing::warn!(error = %e, "could not purge passkey ceremonies");
        }
        use app::server::store::{outbox, webhooks};
        let now = store.clock().now();
        purge_in_batches(&store, now - chrono::Duration::days(webhooks::KEPT_FOR_DAYS), webhooks::purge, "old webhook deliveries").await;
        purge_in_batches(&store, now - chrono::Duration::days(outbox::KEPT_FOR_DAYS), outbox::purge, "old mail from the outbox").await;
    }
}

/// Runs `purge` (what was made before `before`, a thousand at a time, so no one write holds the
/// store for long) until nothing is left to purge.
async fn purge_in_batches(
    store: &Store,
    before: chrono::DateTime<chrono::Utc>,
    purge: app::server::store::Purge,
    what: &str,
) {
    const BATCH: usize = 1000;
    loop {
        match store.write(move |tx| purge(tx, before, BATCH)).await {
            Ok(n) if n == BATCH => continue,
            Ok(_) => break,
            Err(e) => {
                tracing::warn!(error = %e, "could not purge {what}");
                break;
            }
        }
    }
}

/// Drops the failed-login windows and the Studio API's refusal windows that have ended, once a
/// minute, so the limiters' memory follows recent activity (it is also capped by size).
pub async fn forget_expired_login_windows(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        state.limiter.forget_expired();
        state.studio.forget_expired();
    }
}
