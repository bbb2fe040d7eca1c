//! What the server measures, for `/metrics` (Prometheus text format, served on its own listen
//! address: `mpdp serve --metrics-listen`). Every name is here, with its help text, so the set
//! is read in one place.
//!
//! Recording goes through the `metrics` facade. With no recorder installed (metrics off, the
//! default) each call is a no-op; with one, a counter or histogram update is an atomic operation
//! on a registered handle — nothing here touches the data file or blocks.

use std::time::Duration;

/// Requests answered, by route class and status class.
pub const HTTP_REQUESTS: &str = "mpdp_http_requests_total";
/// How long requests took to answer (to the response's head), by route class.
pub const HTTP_DURATION: &str = "mpdp_http_request_duration_seconds";
/// The container API's answers, by what they were.
pub const CONTAINER_ANSWERS: &str = "mpdp_container_answers_total";
/// Bundle uploads stored, by where they came from.
pub const UPLOADS: &str = "mpdp_uploads_total";
/// Bundle uploads refused, by where they came from and the refusal's code.
pub const UPLOADS_REFUSED: &str = "mpdp_uploads_refused_total";
/// Bytes of the bundles stored (their canonical archives).
pub const UPLOAD_BYTES: &str = "mpdp_upload_bytes_total";
/// How long a write transaction's commit took until durable (group commit included).
pub const COMMIT_DURATION: &str = "mpdp_store_commit_duration_seconds";
/// Messages waiting in a queue (mail outbox, webhook deliveries, the release target's changes not
/// yet published).
pub const QUEUE_LENGTH: &str = "mpdp_queue_length";
/// Webhook delivery attempts, by outcome.
pub const WEBHOOK_ATTEMPTS: &str = "mpdp_webhook_attempts_total";
/// Sessions started, by how the person signed in.
pub const SIGN_INS: &str = "mpdp_sign_ins_total";
/// Sign-ins refused (wrong password or code, a refused passkey or single sign-on answer).
pub const SIGN_IN_FAILURES: &str = "mpdp_sign_in_failures_total";

/// The histogram buckets of durations, in seconds: 100 µs to 10 s.
pub const DURATION_BUCKETS: &[f64] = &[0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Registers every metric's help text and unit with the installed recorder.
pub fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(HTTP_REQUESTS, "Requests answered, by route class (console, studio, container, health) and status class (2xx …).");
    describe_histogram!(HTTP_DURATION, Unit::Seconds, "Time to answer a request (to the response's head), by route class.");
    describe_counter!(CONTAINER_ANSWERS, "Container API answers: 200, 206 (a range), 304 (not modified), 4xx, 5xx.");
    describe_counter!(UPLOADS, "Bundle uploads stored, by where they came from (studio, console).");
    describe_counter!(UPLOADS_REFUSED, "Bundle uploads refused, by where they came from and the refusal's code.");
    describe_counter!(UPLOAD_BYTES, Unit::Bytes, "Bytes of the bundles stored (their canonical archives), by where they came from.");
    describe_histogram!(COMMIT_DURATION, Unit::Seconds, "Time for a write transaction's commit to be durable (group commit included).");
    describe_gauge!(QUEUE_LENGTH, "Work waiting: mail not yet sent (mail), webhook deliveries not yet delivered (webhooks), changes not yet published to the release target (publisher).");
    describe_counter!(WEBHOOK_ATTEMPTS, "Webhook delivery attempts, by outcome (delivered: a 2xx answer; failed: anything else, to be retried).");
    describe_counter!(SIGN_INS, "Sessions started, by sign-in method.");
    describe_counter!(SIGN_IN_FAILURES, "Sign-ins refused: a wrong password or code, a refused passkey or single sign-on answer.");
}

/// Which part of the server a path belongs to.
pub fn route_class(path: &str) -> &'static str {
    if path.starts_with("/api/container/") {
        "container"
    } else if path.starts_with("/api/studio/") || path.starts_with("/api/device/") {
        "studio"
    } else if path == "/healthz" {
        "health"
    } else {
        "console"
    }
}

fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// A request answered: its class, status and how long it took.
pub fn request(class: &'static str, status: u16, took: Duration) {
    metrics::counter!(HTTP_REQUESTS, "class" => class, "status" => status_class(status)).increment(1);
    metrics::histogram!(HTTP_DURATION, "class" => class).record(took.as_secs_f64());
    if class == "container" {
        let answer = match status {
            200 => "200",
            206 => "206",
            304 => "304",
            400..=499 => "4xx",
            _ => "5xx",
        };
        metrics::counter!(CONTAINER_ANSWERS, "answer" => answer).increment(1);
    }
}

/// An upload stored (`via`: `studio` or `console`), `bytes` long as stored.
pub fn upload_stored(via: &'static str, bytes: u64) {
    metrics::counter!(UPLOADS, "via" => via).increment(1);
    metrics::counter!(UPLOAD_BYTES, "via" => via).increment(bytes);
}

/// An upload refused with `code`.
pub fn upload_refused(via: &'static str, code: &'static str) {
    metrics::counter!(UPLOADS_REFUSED, "via" => via, "code" => code).increment(1);
}

/// A commit made durable in `took`.
pub fn commit(took: Duration) {
    metrics::histogram!(COMMIT_DURATION).record(took.as_secs_f64());
}

/// A queue's length, as read now.
pub fn queue(name: &'static str, length: u64) {
    metrics::gauge!(QUEUE_LENGTH, "queue" => name).set(length as f64);
}

/// One webhook delivery attempt.
pub fn webhook_attempt(delivered: bool) {
    metrics::counter!(WEBHOOK_ATTEMPTS, "outcome" => if delivered { "delivered" } else { "failed" }).increment(1);
}

/// A session started by `method` (its label: "Password", "Passkey", "Single sign-on" …).
pub fn sign_in(method: &'static str) {
    metrics::counter!(SIGN_INS, "method" => method).increment(1);
}

/// A sign-in refused.
pub fn sign_in_failed() {
    metrics::counter!(SIGN_IN_FAILURES).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_fall_in_their_class() {
        assert_eq!(route_class("/api/container/v1/mini-programs"), "container");
        assert_eq!(route_class("/api/studio/v1/mini-programs/x/versions"), "studio");
        assert_eq!(route_class("/api/device/v1/code"), "studio");
        assert_eq!(route_class("/healthz"), "health");
        assert_eq!(route_class("/w/acme/apps"), "console");
        assert_eq!(route_class("/api/containers"), "console");
        assert_eq!((status_class(204), status_class(304), status_class(429), status_class(503)), ("2xx", "3xx", "4xx", "5xx"));
    }
}
