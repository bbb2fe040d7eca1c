//! `/metrics` in the Prometheus text format, on its own listener (`--metrics-listen`): never on
//! the console's address, so what the server counts is not public unless the operator puts it
//! there. What is measured is named in `app::server::metrics`.

use std::time::{Duration, Instant};

use app::server::metrics;
use app::server::store::Store;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// The recorder, installed for the process: every metric recorded from now on is kept for
/// `/metrics`. Durations are histograms with [`metrics::DURATION_BUCKETS`].
pub fn install() -> anyhow::Result<PrometheusHandle> {
    let handle = PrometheusBuilder::new()
        .set_buckets(metrics::DURATION_BUCKETS)
        .map_err(|e| anyhow::anyhow!("the metrics' buckets: {e}"))?
        .install_recorder()
        .map_err(|e| anyhow::anyhow!("could not install the metrics recorder: {e}"))?;
    metrics::describe();
    Ok(handle)
}

/// What `/metrics` reads: the recorder's handle, and the store for the queues' lengths.
#[derive(Clone)]
pub struct Scrape {
    pub handle: PrometheusHandle,
    pub store: Store,
    /// Whether a release target is configured (its queue is reported only then).
    pub publishing: bool,
}

/// The metrics listener's routes: `GET /metrics` only.
pub fn router(scrape: Scrape) -> Router {
    Router::new().route("/metrics", get(render)).with_state(scrape)
}

async fn render(State(scrape): State<Scrape>) -> Response {
    let publishing = scrape.publishing;
    let queues = scrape
        .store
        .read(move |tx| {
            let mail = app::server::store::outbox::queued(tx)?;
            let webhooks = app::server::store::webhooks::queued(tx)?;
            let publisher = if publishing { Some(app::server::store::publish::state(tx)?.pending()) } else { None };
            Ok((mail, webhooks, publisher))
        })
        .await;
    match queues {
        Ok((mail, webhooks, publisher)) => {
            metrics::queue("mail", mail);
            metrics::queue("webhooks", webhooks);
            if let Some(p) = publisher {
                metrics::queue("publisher", p);
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not read the queues' lengths for /metrics"),
    }
    let mut response = (StatusCode::OK, scrape.handle.render()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    response
}

/// Keeps the histograms' windows moving (the exporter's own listener would; this one is ours).
pub async fn upkeep(handle: PrometheusHandle) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tick.tick().await;
        handle.run_upkeep();
    }
}

/// Counts and times every request of the public listener by route class.
pub async fn measure(request: Request, next: Next) -> Response {
    let class = metrics::route_class(request.uri().path());
    let started = Instant::now();
    let response = next.run(request).await;
    metrics::request(class, response.status().as_u16(), started.elapsed());
    response
}
