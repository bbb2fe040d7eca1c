//! A request body must arrive whole by a deadline that its length sets. The idle timeout
//! ([`super::BODY_IDLE_TIMEOUT`]) ends a body that stops; without a deadline, a client sending a
//! byte now and then, each within that timeout, would hold its connection for weeks — and a few
//! hundred such clients every connection the server serves.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use http_body::{Frame, SizeHint};

use app::server::clock::Clock;

/// What every body is given, whatever its length.
pub const BODY_GRACE: Duration = Duration::from_secs(30);
/// The rate a body must keep on average beyond [`BODY_GRACE`]: a 64 KiB form has 34 seconds, a
/// 50 MiB upload 53 minutes.
pub const BODY_MIN_BYTES_PER_SEC: u64 = 16 * 1024;

/// Gives the request's body its deadline: [`BODY_GRACE`] plus its announced length
/// (`Content-Length`; none: none) at [`BODY_MIN_BYTES_PER_SEC`], from now on the server's
/// clock. A part arriving after it ends the body with an error, and so the request.
pub async fn body_deadline(State(clock): State<Clock>, req: Request, next: Next) -> Response {
    // A request without a body (every GET of the container API) has nothing to wait for.
    if http_body::Body::is_end_stream(req.body()) {
        return next.run(req).await;
    }
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let allowed = BODY_GRACE + Duration::from_secs(announced / BODY_MIN_BYTES_PER_SEC);
    let deadline = clock.now() + chrono::Duration::from_std(allowed).unwrap_or(chrono::Duration::MAX);
    next.run(req.map(|inner| Body::new(Deadline { inner, clock, deadline }))).await
}

struct Deadline {
    inner: Body,
    clock: Clock,
    deadline: chrono::DateTime<chrono::Utc>,
}

/// The body came too slowly.
#[derive(Debug)]
struct TooSlow;

impl std::fmt::Display for TooSlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the request body came too slowly for its length")
    }
}

impl std::error::Error for TooSlow {}

impl http_body::Body for Deadline {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(_))) if this.clock.now() > this.deadline => {
                tracing::info!("a request body came too slowly for its length; the request ends");
                Poll::Ready(Some(Err(axum::Error::new(TooSlow))))
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
