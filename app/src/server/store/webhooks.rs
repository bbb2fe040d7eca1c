//! Webhooks: a workspace's endpoints, and the deliveries of its events to them — stored in the
//! transaction that records the event ([`raise`], called by the audit log), then sent by the
//! webhook worker with retries and backoff, like the mail outbox. A delivery stays as the record
//! of its attempts and the receiver's answers.
//!
//! No workspace can starve the others, and every read of the queue is bounded:
//! - an endpoint has at most [`WAITING_MAX`] deliveries waiting (a workspace at most
//!   [`ENDPOINTS_MAX`](crate::model::webhooks::ENDPOINTS_MAX) times that): an event beyond them
//!   is recorded as failed, not queued ([`raise`]), and the console refuses a test event or a
//!   re-send with a conflict;
//! - the worker picks what to send with [`pick`], which skips the deliveries of a workspace or an
//!   endpoint that already has its share in flight ([`Limits`]) and reads at most
//!   [`Limits::scan`] rows of the queue; when it stopped early, the next pick goes on from there
//!   (and wraps around to the oldest), so a delivery behind a long backlog of another workspace's
//!   is reached within a few picks, never only once that backlog is gone;
//! - [`record_attempt`] applies an attempt only to the delivery as the sender saw it (still
//!   queued, attempted as many times), so a stale read can never re-queue a delivered one.

use chrono::{DateTime, Utc};
use redb::{ReadTransaction, ReadableTable, ReadableTableMetadata, WriteTransaction};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::codec::{self, decode};
use super::effects::{caused, Effect};
use super::listing::{self, Dimension, List, Listed, Row, Window};
use super::tables::{WEBHOOK_DELIVERIES, WEBHOOK_ENDPOINTS, WEBHOOK_ENDPOINTS_BY_WORKSPACE, WEBHOOK_QUEUE};
use super::Reads;
use crate::model::webhooks::{
    too_many_waiting, Attempt, DeliveryState, DeliveryView, EndpointView, WebhookEvent, ATTEMPTS_KEPT, WAITING_MAX,
};

use crate::model::AppError;

/// After this many failed attempts in a row a delivery is marked failed and no longer retried
/// (about 17 minutes after the first, with the outbox's backoff).
pub const MAX_ATTEMPTS: u32 = super::outbox::MAX_ATTEMPTS;

/// A workspace's endpoint: where its events are posted, which ones, and the secret they are
/// signed with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookEndpoint {
    pub id: Uuid,
    pub workspace: Uuid,
    pub url: String,
    pub description: String,
    pub events: Vec<WebhookEvent>,
    /// `whsec_` and the base64 of the key (Standard Webhooks).
    pub secret: String,
    pub enabled: bool,
    pub created: DateTime<Utc>,
    pub created_by: String,
}

impl WebhookEndpoint {
    /// The endpoint as a list shows it: without its secret.
    pub fn view(&self) -> EndpointView {
        EndpointView {
            id: self.id,
            url: self.url.clone(),
            description: self.description.clone(),
            events: self.events.clone(),
            enabled: self.enabled,
            secret: None,
            created: self.created,
            created_by: self.created_by.clone(),
        }
    }

    /// The endpoint as its own page shows it to a Workspace Admin: with its secret.
    pub fn view_with_secret(&self) -> EndpointView {
        EndpointView { secret: Some(self.secret.clone()), ..self.view() }
    }
}

/// One event on its way to one endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    pub id: Uuid,
    pub workspace: Uuid,
    pub endpoint: Uuid,
    /// The event's `type`.
    pub event: String,
    /// The body every attempt posts.
    pub payload: String,
    pub state: DeliveryState,
    /// Attempts since it was queued or last re-sent.
    pub tries: u32,
    pub next_attempt: DateTime<Utc>,
    /// The newest attempts, oldest first.
    pub attempts: Vec<Attempt>,
    pub created: DateTime<Utc>,
}

impl WebhookDelivery {
    /// The `webhook-id` header: the same for every attempt, so a receiver can drop repeats.
    pub fn message_id(&self) -> String {
        format!("msg_{}", self.id.simple())
    }

    pub fn view(&self) -> DeliveryView {
        DeliveryView {
            id: self.id,
            endpoint: self.endpoint,
            event: self.event.clone(),
            state: self.state,
            created: self.created,
            next_attempt: (self.state == DeliveryState::Queued).then_some(self.next_attempt),
            attempts: self.attempts.clone(),
            payload: self.payload.clone(),
        }
    }
}

/// A workspace's endpoints, oldest first.
pub fn endpoints_of(tx: &impl Reads, workspace: Uuid) -> Result<Vec<WebhookEndpoint>, AppError> {
    let by_workspace = tx.open(WEBHOOK_ENDPOINTS_BY_WORKSPACE)?;
    let endpoints = tx.open(WEBHOOK_ENDPOINTS)?;
    super::codec::indexed(&by_workspace, &endpoints, workspace.as_u128())
}

/// One endpoint of `workspace` (`None` for an endpoint of another workspace).
pub fn endpoint(tx: &impl Reads, workspace: Uuid, id: Uuid) -> Result<Option<WebhookEndpoint>, AppError> {
    tx.row_of(WEBHOOK_ENDPOINTS, workspace, id)
}

impl super::OfWorkspace for WebhookEndpoint {
    fn workspace(&self) -> Uuid {
        self.workspace
    }
}

/// Adds or replaces an endpoint.
pub fn put_endpoint(tx: &WriteTransaction, e: &WebhookEndpoint) -> Result<(), AppError> {
    codec::put(tx, WEBHOOK_ENDPOINTS, e.id.as_u128(), e)?;
    tx.open_table(WEBHOOK_ENDPOINTS_BY_WORKSPACE)?.insert((e.workspace.as_u128(), e.id.as_u128()), ())?;
    Ok(())
}

/// Deletes an endpoint and every delivery to it (queued ones are not sent).
pub fn delete_endpoint(tx: &WriteTransaction, e: &WebhookEndpoint) -> Result<(), AppError> {
    for id in listing::ids(tx, LIST, e.id.as_u128(), 0)? {
        if let Some(d) = delivery(tx, Uuid::from_u128(id))? {
            tx.open_table(WEBHOOK_QUEUE)?.remove((d.next_attempt.timestamp_millis(), id))?;
            tx.open_table(WEBHOOK_DELIVERIES)?.remove(id)?;
        }
        listing::set(tx, LIST, e.id.as_u128(), id, None)?;
    }
    tx.open_table(WEBHOOK_ENDPOINTS)?.remove(e.id.as_u128())?;
    tx.open_table(WEBHOOK_ENDPOINTS_BY_WORKSPACE)?.remove((e.workspace.as_u128(), e.id.as_u128()))?;
    Ok(())
}

/// The body of a delivery: the Standard Webhooks envelope around `data`.
fn envelope(event: &str, at: DateTime<Utc>, data: &serde_json::Value) -> Result<String, AppError> {
    let body = serde_json::json!({
        "type": event,
        "timestamp": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": data,
    });
    serde_json::to_string(&body).map_err(|_| AppError::Internal)
}

/// Queues `event` with `data` for every enabled endpoint of `workspace` that subscribes to it,
/// in the caller's transaction (the one that records the event): it is sent only if that
/// transaction commits. An endpoint that already has [`WAITING_MAX`] deliveries waiting gets
/// this one as failed, not queued (its attempt says why; it can be re-sent later). Returns how
/// many deliveries were made.
pub fn raise(tx: &WriteTransaction, workspace: Uuid, event: WebhookEvent, data: &serde_json::Value) -> Result<usize, AppError> {
    let endpoints: Vec<WebhookEndpoint> =
        endpoints_of(tx, workspace)?.into_iter().filter(|e| e.enabled && e.events.contains(&event)).collect();
    if endpoints.is_empty() {
        return Ok(0);
    }
    let body = envelope(event.code(), super::now(), data)?;
    for e in &endpoints {
        enqueue(tx, e, event.code(), body.clone())?;
    }
    Ok(endpoints.len())
}

/// Queues a test event for one endpoint, whatever it subscribes to.
pub fn raise_test(tx: &WriteTransaction, e: &WebhookEndpoint, data: &serde_json::Value) -> Result<Uuid, AppError> {
    let body = envelope(crate::model::webhooks::TEST_EVENT, super::now(), data)?;
    enqueue(tx, e, crate::model::webhooks::TEST_EVENT, body)
}

fn enqueue(tx: &WriteTransaction, e: &WebhookEndpoint, event: &str, payload: String) -> Result<Uuid, AppError> {
    let now = super::now();
    let mut d = WebhookDelivery {
        id: Uuid::now_v7(),
        workspace: e.workspace,
        endpoint: e.id,
        event: event.into(),
        payload,
        state: DeliveryState::Queued,
        tries: 0,
        next_attempt: now,
        attempts: Vec::new(),
        created: now,
    };
    if waiting(tx, e.id)? >= WAITING_MAX {
        // Recorded, never sent: the endpoint's backlog is as long as it may be.
        d.state = DeliveryState::Failed;
        let why = format!("not sent: {}", too_many_waiting());
        keep_attempt(&mut d, Attempt { at: now, status: None, answer: String::new(), error: Some(why), millis: 0 });
        put(tx, &d)?;
        return Ok(d.id);
    }
    caused(Effect::Webhook);
    put(tx, &d)?;
    tx.open_table(WEBHOOK_QUEUE)?.insert((now.timestamp_millis(), d.id.as_u128()), ())?;
    Ok(d.id)
}

/// How many deliveries of `endpoint` wait (queued for their first attempt or a retry): one read
/// of the list's counts.
pub fn waiting(tx: &impl Reads, endpoint: Uuid) -> Result<u64, AppError> {
    listing::count(tx, LIST, endpoint.as_u128(), listing::filter(&[Some(DeliveryState::Queued.code_in_index())]))
}

fn put(tx: &WriteTransaction, d: &WebhookDelivery) -> Result<(), AppError> {
    codec::put(tx, WEBHOOK_DELIVERIES, d.id.as_u128(), d)?;
    index(tx, d)
}

pub fn delivery(tx: &impl Reads, id: Uuid) -> Result<Option<WebhookDelivery>, AppError> {
    tx.row(WEBHOOK_DELIVERIES, id.as_u128())
}

/// How many deliveries wait (for their first attempt or a retry).
pub fn queued(tx: &ReadTransaction) -> Result<u64, AppError> {
    Ok(tx.open_table(WEBHOOK_QUEUE)?.len()?)
}

/// Deliveries whose next attempt is due, oldest first, at most `limit` (whoever they are for: the
/// tests' view of the queue; the worker uses [`pick`]).
#[cfg(test)]
pub fn due(tx: &ReadTransaction, now: DateTime<Utc>, limit: usize) -> Result<Vec<WebhookDelivery>, AppError> {
    super::outbox::due_in(tx, WEBHOOK_QUEUE, WEBHOOK_DELIVERIES, now, limit)
}

/// A place in the queue: a delivery's due time (Unix milliseconds) and its id.
pub type QueueKey = (i64, u128);

/// How much the worker sends at once, and how much of the queue one [`pick`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deliveries in flight in all.
    pub in_flight: usize,
    /// Deliveries in flight for one workspace.
    pub per_workspace: usize,
    /// Deliveries in flight to one endpoint.
    pub per_endpoint: usize,
    /// Rows of the queue one pick reads at most.
    pub scan: usize,
}

/// A delivery being sent: whose it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sending {
    pub workspace: Uuid,
    pub endpoint: Uuid,
}

/// What [`pick`] chose, and where the next pick goes on (`None`: from the oldest).
#[derive(Debug)]
pub struct Picked {
    pub due: Vec<WebhookDelivery>,
    pub resume: Option<QueueKey>,
}

/// Of a delivery, what [`pick`] needs to know before deciding to read all of it.
#[derive(Deserialize)]
struct Route {
    workspace: Uuid,
    endpoint: Uuid,
}

/// The due deliveries to send now, besides those in flight (`sending`, by id): at most the free
/// places of [`Limits::in_flight`], none of a workspace or to an endpoint that would then have
/// more than its share in flight. Reads the queue in order of due time from `from` (the previous
/// pick's `resume`; `None`: the oldest) to the newest due, then from the oldest up to `from`,
/// reading at most [`Limits::scan`] rows: a long backlog the limits skip holds up a pick, never
/// the deliveries behind it, which a later pick reaches.
pub fn pick(
    tx: &ReadTransaction,
    now: DateTime<Utc>,
    sending: &std::collections::HashMap<Uuid, Sending>,
    limits: Limits,
    from: Option<QueueKey>,
) -> Result<Picked, AppError> {
    use std::collections::HashMap;
    use std::ops::Bound::{Excluded, Included, Unbounded};
    let free = limits.in_flight.saturating_sub(sending.len());
    if free == 0 {
        return Ok(Picked { due: Vec::new(), resume: from });
    }
    let (mut per_workspace, mut per_endpoint) = (HashMap::<Uuid, usize>::new(), HashMap::<Uuid, usize>::new());
    for s in sending.values() {
        *per_workspace.entry(s.workspace).or_default() += 1;
        *per_endpoint.entry(s.endpoint).or_default() += 1;
    }
    let queue = tx.open_table(WEBHOOK_QUEUE)?;
    let records = tx.open_table(WEBHOOK_DELIVERIES)?;
    let last: QueueKey = (now.timestamp_millis(), u128::MAX);
    let from = from.filter(|f| *f <= last);
    // From `from` to the newest due, then the ones before `from`.
    let passes = match from {
        Some(f) => vec![(Included(f), Included(last)), (Unbounded, Excluded(f))],
        None => vec![(Unbounded, Included(last))],
    };
    let (mut due, mut read) = (Vec::new(), 0);
    for range in passes {
        for row in queue.range::<QueueKey>(range)? {
            let key = row?.0.value();
            if read == limits.scan {
                return Ok(Picked { due, resume: Some(key) });
            }
            read += 1;
            let id = Uuid::from_u128(key.1);
            if sending.contains_key(&id) {
                continue;
            }
            let Some(value) = records.get(key.1)? else { continue };
            let route: Route = decode(value.value())?;
            let (w, e) = (per_workspace.entry(route.workspace).or_default(), per_endpoint.entry(route.endpoint).or_default());
            if *w >= limits.per_workspace || *e >= limits.per_endpoint {
                continue;
            }
            (*w, *e) = (*w + 1, *e + 1);
            due.push(decode(value.value())?);
            if due.len() == free {
                // Full: the next pick goes on from here (this one is in flight by then).
                return Ok(Picked { due, resume: Some(key) });
            }
        }
    }
    Ok(Picked { due, resume: None })
}

/// Records one attempt made of the delivery as the sender read it — still queued, attempted
/// `tries` times before: delivered (the receiver answered 2xx), or due again after a backoff,
/// or failed after [`MAX_ATTEMPTS`]. `None`, and nothing changed, if the delivery is gone (its
/// endpoint was deleted), is no longer queued (delivered, failed, or held back meanwhile), or
/// was attempted since (a stale read sent it twice): such an attempt is not recorded.
pub fn record_attempt(
    tx: &WriteTransaction,
    id: Uuid,
    tries: u32,
    attempt: Attempt,
    delivered: bool,
) -> Result<Option<WebhookDelivery>, AppError> {
    let Some(mut d) = delivery(tx, id)? else {
        return Ok(None);
    };
    if d.state != DeliveryState::Queued || d.tries != tries {
        return Ok(None);
    }
    let now = attempt.at;
    tx.open_table(WEBHOOK_QUEUE)?.remove((d.next_attempt.timestamp_millis(), id.as_u128()))?;
    d.tries += 1;
    keep_attempt(&mut d, attempt);
    // An endpoint disabled while this attempt was on its way gets no retry.
    let disabled = !endpoint(tx, d.workspace, d.endpoint)?.is_some_and(|e| e.enabled);
    if delivered {
        d.state = DeliveryState::Delivered;
    } else if d.tries >= MAX_ATTEMPTS || disabled {
        d.state = DeliveryState::Failed;
    } else {
        d.state = DeliveryState::Queued;
        d.next_attempt = now + super::outbox::retry_after(d.tries);
        tx.open_table(WEBHOOK_QUEUE)?.insert((d.next_attempt.timestamp_millis(), id.as_u128()), ())?;
    }
    put(tx, &d)?;
    Ok(Some(d))
}

/// How long a delivery is kept after it was made, once it is delivered or failed.
pub const KEPT_FOR_DAYS: i64 = 30;

/// Deletes at most `limit` deliveries made before `before` that are delivered or failed, oldest
/// first (ids are time-ordered), with their rows in the list; returns how many.
pub fn purge(tx: &WriteTransaction, before: DateTime<Utc>, limit: usize) -> Result<usize, AppError> {
    let old: Vec<WebhookDelivery> = {
        let deliveries = tx.open_table(WEBHOOK_DELIVERIES)?;
        let mut old = Vec::new();
        for row in deliveries.iter()? {
            let d: WebhookDelivery = decode(row?.1.value())?;
            if d.created >= before || old.len() >= limit {
                break;
            }
            if d.state != DeliveryState::Queued {
                old.push(d);
            }
        }
        old
    };
    let mut deliveries = tx.open_table(WEBHOOK_DELIVERIES)?;
    for d in &old {
        deliveries.remove(d.id.as_u128())?;
        listing::set(tx, LIST, d.endpoint.as_u128(), d.id.as_u128(), None)?;
    }
    Ok(old.len())
}

/// What a queued delivery's last attempt says when its endpoint was disabled before it was sent.
pub const HELD_BACK: &str = "not sent: the endpoint was disabled";

/// Ends every queued delivery of `endpoint` as failed, with an attempt saying it was not sent
/// because the endpoint was disabled (in the transaction that disables it); each can be re-sent
/// once the endpoint is enabled again. Returns how many.
pub fn hold_back(tx: &WriteTransaction, endpoint: Uuid, now: DateTime<Utc>) -> Result<usize, AppError> {
    let queued = listing::ids(tx, LIST, endpoint.as_u128(), listing::filter(&[Some(DeliveryState::Queued.code_in_index())]))?;
    for id in &queued {
        hold_back_one(tx, Uuid::from_u128(*id), now)?;
    }
    Ok(queued.len())
}

/// Ends one queued delivery as failed without sending it (see [`hold_back`]): what the worker
/// does with a delivery it finds due for a disabled endpoint.
pub fn hold_back_one(tx: &WriteTransaction, id: Uuid, now: DateTime<Utc>) -> Result<(), AppError> {
    let Some(mut d) = delivery(tx, id)? else { return Ok(()) };
    if d.state != DeliveryState::Queued {
        return Ok(());
    }
    tx.open_table(WEBHOOK_QUEUE)?.remove((d.next_attempt.timestamp_millis(), id.as_u128()))?;
    keep_attempt(&mut d, Attempt { at: now, status: None, answer: String::new(), error: Some(HELD_BACK.into()), millis: 0 });
    d.state = DeliveryState::Failed;
    put(tx, &d)
}

/// Adds `attempt` to the delivery's record, which keeps the last [`ATTEMPTS_KEPT`].
fn keep_attempt(d: &mut WebhookDelivery, attempt: Attempt) {
    d.attempts.push(attempt);
    if d.attempts.len() > ATTEMPTS_KEPT {
        d.attempts.drain(..d.attempts.len() - ATTEMPTS_KEPT);
    }
}

/// Queues a delivery again, due now, with a fresh count of attempts (the record of earlier
/// attempts stays). A delivery still queued is brought forward.
pub fn resend(tx: &WriteTransaction, d: &mut WebhookDelivery) -> Result<(), AppError> {
    caused(Effect::Webhook);
    let now = super::now();
    let mut queue = tx.open_table(WEBHOOK_QUEUE)?;
    queue.remove((d.next_attempt.timestamp_millis(), d.id.as_u128()))?;
    d.state = DeliveryState::Queued;
    d.tries = 0;
    d.next_attempt = now;
    queue.insert((now.timestamp_millis(), d.id.as_u128()), ())?;
    drop(queue);
    put(tx, d)
}

/// An endpoint's deliveries (scope: the endpoint), filtered by state, by when they were made.
pub const LIST: List = List { code: 12, sorts: &["created"], default_sort: "-created" };

impl Dimension for DeliveryState {
    fn code_in_index(self) -> u32 {
        match self {
            DeliveryState::Queued => 1,
            DeliveryState::Delivered => 2,
            DeliveryState::Failed => 3,
        }
    }
}

fn index(tx: &WriteTransaction, d: &WebhookDelivery) -> Result<(), AppError> {
    let row = Row::new(&[d.state.code_in_index()], vec![d.created.into()]);
    listing::set(tx, LIST, d.endpoint.as_u128(), d.id.as_u128(), Some(&row))
}

/// A page of an endpoint's deliveries, optionally only those in `state` or of an event whose
/// `type` holds `query`. Without a search only the page's deliveries are read.
pub fn list(
    tx: &ReadTransaction,
    endpoint: Uuid,
    state: Option<DeliveryState>,
    search: &str,
    window: &Window,
) -> Result<Listed<DeliveryView>, AppError> {
    let matches = |d: &WebhookDelivery, q: &str| d.event.contains(q);
    let page = listing::Query { scope: endpoint.as_u128(), filter: listing::filter(&[state.map(Dimension::code_in_index)]), window };
    listing::find(tx, LIST, WEBHOOK_DELIVERIES, &page, search, matches, WebhookDelivery::view)
}

#[cfg(test)]
mod tests {
    use super::super::Store;
    use super::*;

    fn endpoint_of(workspace: Uuid, events: Vec<WebhookEvent>, enabled: bool) -> WebhookEndpoint {
        WebhookEndpoint {
            id: Uuid::now_v7(),
            workspace,
            url: "https://hooks.example.com/mpdp".into(),
            description: String::new(),
            events,
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
            enabled,
            created: Utc::now(),
            created_by: "ada".into(),
        }
    }

    /// A store with one endpoint of a new workspace, hearing `event`, raised `n` times: the
    /// store, the workspace, the endpoint and the deliveries' ids.
    fn raised(event: WebhookEvent, n: usize) -> (Store, Uuid, WebhookEndpoint, Vec<Uuid>) {
        let store = Store::memory();
        let ws = Uuid::now_v7();
        let e = endpoint_of(ws, vec![event], true);
        store.write_blocking(|tx| put_endpoint(tx, &e)).unwrap();
        for _ in 0..n {
            store.write_blocking(|tx| raise(tx, ws, event, &serde_json::json!({}))).unwrap();
        }
        let ids = store.read_blocking(|tx| due(tx, Utc::now(), 10)).unwrap().into_iter().map(|d| d.id).collect();
        (store, ws, e, ids)
    }

    fn attempt(status: u16) -> Attempt {
        Attempt { at: Utc::now(), status: Some(status), answer: String::new(), error: None, millis: 3 }
    }

    /// One attempt answered `status`, recorded as the worker does: of the delivery as it is now.
    fn tried(tx: &WriteTransaction, id: Uuid, status: u16) -> Result<Option<WebhookDelivery>, AppError> {
        let tries = delivery(tx, id)?.map_or(0, |d| d.tries);
        record_attempt(tx, id, tries, attempt(status), (200..300).contains(&status))
    }

    #[test]
    fn an_event_reaches_the_enabled_endpoints_that_subscribe_to_it_only() {
        let store = Store::memory();
        let (ws, other) = (Uuid::now_v7(), Uuid::now_v7());
        let blocked = endpoint_of(ws, vec![WebhookEvent::MemberBlocked], true);
        let all = endpoint_of(ws, WebhookEvent::ALL.to_vec(), true);
        let off = endpoint_of(ws, WebhookEvent::ALL.to_vec(), false);
        let elsewhere = endpoint_of(other, WebhookEvent::ALL.to_vec(), true);
        store
            .write_blocking(|tx| [&blocked, &all, &off, &elsewhere].into_iter().try_for_each(|e| put_endpoint(tx, e)))
            .unwrap();
        let data = serde_json::json!({"target": "bob@example.com"});
        let n = store.write_blocking(|tx| raise(tx, ws, WebhookEvent::MemberBlocked, &data)).unwrap();
        assert_eq!(n, 2);
        let n = store.write_blocking(|tx| raise(tx, ws, WebhookEvent::VersionUploaded, &data)).unwrap();
        assert_eq!(n, 1);
        let due = store.read_blocking(|tx| due(tx, Utc::now(), 10)).unwrap();
        assert_eq!(due.len(), 3);
        let body: serde_json::Value = serde_json::from_str(&due[0].payload).unwrap();
        assert_eq!(body["type"], "member.blocked");
        assert_eq!(body["data"]["target"], "bob@example.com");
        assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
        assert!(due.iter().all(|d| d.endpoint != off.id && d.endpoint != elsewhere.id));
        assert_eq!(store.read_blocking(|tx| Ok(endpoints_of(tx, ws)?.len())).unwrap(), 3);
        assert_eq!(store.read_blocking(|tx| endpoint(tx, other, all.id)).unwrap(), None, "another workspace's");
    }

    #[test]
    fn failures_back_off_then_give_up_and_a_resend_starts_again() {
        let (store, ws, e, ids) = raised(WebhookEvent::ReleasePaused, 1);
        let id = ids[0];
        let d = store.write_blocking(|tx| tried(tx, id, 500)).unwrap().unwrap();
        assert_eq!((d.state, d.tries, d.attempts.len()), (DeliveryState::Queued, 1, 1));
        assert!(store.read_blocking(|tx| due(tx, Utc::now(), 10)).unwrap().is_empty(), "not due until the backoff passes");
        assert_eq!(store.read_blocking(|tx| due(tx, Utc::now() + chrono::Duration::seconds(3), 10)).unwrap().len(), 1);
        for _ in 1..MAX_ATTEMPTS {
            store.write_blocking(|tx| tried(tx, id, 503)).unwrap();
        }
        let d = store.read_blocking(|tx| delivery(tx, id)).unwrap().unwrap();
        assert_eq!(d.state, DeliveryState::Failed);
        assert_eq!(store.read_blocking(queued).unwrap(), 0);
        let failed = store
            .read_blocking(|tx| list(tx, e.id, Some(DeliveryState::Failed), "", &Window::first(LIST, 10)))
            .unwrap();
        assert_eq!(failed.total, 1);

        store
            .write_blocking(|tx| {
                let mut d = delivery(tx, id)?.unwrap();
                resend(tx, &mut d)
            })
            .unwrap();
        assert_eq!(store.read_blocking(|tx| due(tx, Utc::now(), 10)).unwrap().len(), 1);
        let d = store.write_blocking(|tx| tried(tx, id, 204)).unwrap().unwrap();
        assert_eq!((d.state, d.tries), (DeliveryState::Delivered, 1));
        assert_eq!(d.attempts.len(), MAX_ATTEMPTS as usize + 1, "the earlier attempts stay on record");
        assert_eq!(store.read_blocking(queued).unwrap(), 0);

        // Deleting the endpoint takes its deliveries with it.
        store.write_blocking(|tx| raise(tx, ws, WebhookEvent::ReleasePaused, &serde_json::json!({}))).unwrap();
        store.write_blocking(|tx| delete_endpoint(tx, &e)).unwrap();
        assert_eq!(store.read_blocking(queued).unwrap(), 0);
        assert!(store.read_blocking(|tx| delivery(tx, id)).unwrap().is_none());
        assert!(store.write_blocking(|tx| record_attempt(tx, id, 0, attempt(200), true)).unwrap().is_none());
    }

    #[test]
    fn old_deliveries_are_purged_once_they_ended() {
        let (store, _, e, ids) = raised(WebhookEvent::MemberJoined, 4);
        store.write_blocking(|tx| tried(tx, ids[0], 200)).unwrap();
        store.write_blocking(|tx| { for _ in 0..MAX_ATTEMPTS { tried(tx, ids[1], 500)?; } Ok(()) }).unwrap();
        store.write_blocking(|tx| tried(tx, ids[3], 200)).unwrap();
        let listed = |state| store.read_blocking(move |tx| Ok(list(tx, e.id, state, "", &Window::first(LIST, 10))?.total)).unwrap();
        assert_eq!(listed(None), 4);

        // Nothing is old enough yet.
        assert_eq!(store.write_blocking(|tx| purge(tx, Utc::now() - chrono::Duration::hours(1), 100)).unwrap(), 0);
        // Made before the cut-off: the delivered and the failed one go, the queued one stays;
        // at most `limit` at a time.
        let cut = Utc::now() + chrono::Duration::seconds(1);
        assert_eq!(store.write_blocking(|tx| purge(tx, cut, 1)).unwrap(), 1);
        assert_eq!(store.write_blocking(|tx| purge(tx, cut, 100)).unwrap(), 2);
        assert_eq!(store.write_blocking(|tx| purge(tx, cut, 100)).unwrap(), 0);
        let left: Vec<_> = ids.iter().map(|id| store.read_blocking(|tx| delivery(tx, *id)).unwrap().map(|d| d.state)).collect();
        assert_eq!(left, [None, None, Some(DeliveryState::Queued), None]);
        assert_eq!((listed(None), listed(Some(DeliveryState::Queued))), (1, 1));
        assert_eq!(store.read_blocking(queued).unwrap(), 1);
    }

    #[test]
    fn disabling_holds_back_the_queued_deliveries_only() {
        let store = Store::memory();
        let ws = Uuid::now_v7();
        let (e, other) = (endpoint_of(ws, vec![WebhookEvent::MemberJoined], true), endpoint_of(ws, vec![WebhookEvent::MemberJoined], true));
        store.write_blocking(|tx| [&e, &other].into_iter().try_for_each(|x| put_endpoint(tx, x))).unwrap();
        for _ in 0..3 {
            store.write_blocking(|tx| raise(tx, ws, WebhookEvent::MemberJoined, &serde_json::json!({}))).unwrap();
        }
        let mine: Vec<Uuid> = store.read_blocking(|tx| due(tx, Utc::now(), 10)).unwrap().into_iter().filter(|d| d.endpoint == e.id).map(|d| d.id).collect();
        assert_eq!(mine.len(), 3);
        // One was delivered already, one waits for a retry, one was never tried.
        store.write_blocking(|tx| tried(tx, mine[0], 200)).unwrap();
        store.write_blocking(|tx| tried(tx, mine[1], 500)).unwrap();

        let off = WebhookEndpoint { enabled: false, ..e.clone() };
        assert_eq!(store.write_blocking(|tx| { put_endpoint(tx, &off)?; hold_back(tx, e.id, Utc::now()) }).unwrap(), 2);
        let states: Vec<_> = mine.iter().map(|id| store.read_blocking(|tx| delivery(tx, *id)).unwrap().unwrap()).collect();
        assert_eq!(states.iter().map(|d| d.state).collect::<Vec<_>>(), [DeliveryState::Delivered, DeliveryState::Failed, DeliveryState::Failed]);
        assert_eq!(states[1].attempts.last().unwrap().summary(), HELD_BACK);
        assert_eq!((states[2].tries, states[2].attempts.len()), (0, 1), "recorded, never sent");
        let due_now = store.read_blocking(|tx| due(tx, Utc::now() + chrono::Duration::hours(2), 10)).unwrap();
        assert!(due_now.iter().all(|d| d.endpoint == other.id) && due_now.len() == 3, "the other endpoint's stay queued");
        assert_eq!(store.write_blocking(|tx| hold_back(tx, e.id, Utc::now())).unwrap(), 0, "nothing left to hold back");
        // An attempt that was on its way when the endpoint was disabled finds it held back: the
        // hold-back stands, no retry.
        assert!(store.write_blocking(|tx| record_attempt(tx, mine[2], 0, attempt(500), false)).unwrap().is_none());
        let d = store.read_blocking(|tx| delivery(tx, mine[2])).unwrap().unwrap();
        assert_eq!((d.state, d.tries, d.attempts[0].summary()), (DeliveryState::Failed, 0, HELD_BACK.to_string()));
        assert_eq!(store.read_blocking(queued).unwrap(), 3, "only the other endpoint's");
        // One still queued for a disabled endpoint (a test event, queued here regardless): its
        // attempt is recorded, with no retry.
        let on_its_way = store.write_blocking(|tx| raise_test(tx, &e, &serde_json::json!({}))).unwrap();
        let d = store.write_blocking(|tx| tried(tx, on_its_way, 500)).unwrap().unwrap();
        assert_eq!((d.state, d.tries), (DeliveryState::Failed, 1));
        // A delivery found due for a disabled endpoint is held back, once.
        store.write_blocking(|tx| raise_test(tx, &e, &serde_json::json!({}))).unwrap();
        let test = store.read_blocking(|tx| due(tx, Utc::now(), 10)).unwrap().into_iter().find(|d| d.endpoint == e.id).unwrap();
        store.write_blocking(|tx| hold_back_one(tx, test.id, Utc::now())).unwrap();
        store.write_blocking(|tx| hold_back_one(tx, test.id, Utc::now())).unwrap();
        let held = store.read_blocking(|tx| delivery(tx, test.id)).unwrap().unwrap();
        assert_eq!((held.state, held.attempts.len()), (DeliveryState::Failed, 1));
    }

    #[test]
    fn a_stale_attempt_changes_nothing() {
        let (store, _, _, ids) = raised(WebhookEvent::MemberJoined, 1);
        let id = ids[0];
        // The sender read it unattempted, sent it, and recorded the answer…
        let d = store.write_blocking(|tx| record_attempt(tx, id, 0, attempt(200), true)).unwrap().unwrap();
        assert_eq!((d.state, d.tries), (DeliveryState::Delivered, 1));
        // … while a stale read had it sent again, which failed: not recorded.
        assert!(store.write_blocking(|tx| record_attempt(tx, id, 0, attempt(500), false)).unwrap().is_none());
        let d = store.read_blocking(|tx| delivery(tx, id)).unwrap().unwrap();
        assert_eq!((d.state, d.tries, d.attempts.len()), (DeliveryState::Delivered, 1, 1));
        assert_eq!(store.read_blocking(queued).unwrap(), 0, "nothing queued again");
        assert!(store.read_blocking(|tx| due(tx, Utc::now() + chrono::Duration::hours(1), 10)).unwrap().is_empty());

        // Queued for a retry: an attempt made of an older read (0 tries) is not counted either.
        let (store, _, _, ids) = raised(WebhookEvent::MemberJoined, 1);
        store.write_blocking(|tx| record_attempt(tx, ids[0], 0, attempt(500), false)).unwrap().unwrap();
        assert!(store.write_blocking(|tx| record_attempt(tx, ids[0], 0, attempt(500), false)).unwrap().is_none());
        let d = store.read_blocking(|tx| delivery(tx, ids[0])).unwrap().unwrap();
        assert_eq!((d.state, d.tries, d.attempts.len()), (DeliveryState::Queued, 1, 1));
        assert_eq!(store.read_blocking(queued).unwrap(), 1);
    }

    const LIMITS: Limits = Limits { in_flight: 16, per_workspace: 4, per_endpoint: 2, scan: 1024 };

    #[test]
    fn a_workspace_with_hundreds_due_leaves_room_for_the_others() {
        let store = Store::memory();
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let hostile: Vec<WebhookEndpoint> = (0..3).map(|_| endpoint_of(a, vec![WebhookEvent::MemberJoined], true)).collect();
        let other = endpoint_of(b, vec![WebhookEvent::MemberJoined], true);
        store.write_blocking(|tx| hostile.iter().chain([&other]).try_for_each(|e| put_endpoint(tx, e))).unwrap();
        // Workspace A: 3 × 200 due, all older than B's one.
        store
            .write_blocking(|tx| (0..200).try_for_each(|_| raise(tx, a, WebhookEvent::MemberJoined, &serde_json::json!({})).map(drop)))
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(5));
        store.write_blocking(|tx| raise(tx, b, WebhookEvent::MemberJoined, &serde_json::json!({}))).unwrap();
        let now = store.clock().now();
        assert_eq!(store.read_blocking(move |tx| due(tx, now, 256)).unwrap().iter().filter(|d| d.workspace == b).count(), 0, "the oldest 256 are all A's");

        // Nothing in flight: A gets its share of 4 (2 per endpoint), B its delivery.
        let none = std::collections::HashMap::new();
        let picked = store.read_blocking(move |tx| pick(tx, now, &none, LIMITS, None)).unwrap();
        let of = |w: Uuid| picked.due.iter().filter(|d| d.workspace == w).count();
        assert_eq!((of(a), of(b), picked.due.len()), (4, 1, 5));
        assert!(hostile.iter().all(|e| picked.due.iter().filter(|d| d.endpoint == e.id).count() <= 2));
        assert_eq!(picked.resume, None, "the whole queue was read");

        // A has its 4 in flight (never answering): only B's is picked.
        let sending: std::collections::HashMap<Uuid, Sending> =
            picked.due.iter().filter(|d| d.workspace == a).map(|d| (d.id, Sending { workspace: a, endpoint: d.endpoint })).collect();
        let busy = sending.clone();
        let picked = store.read_blocking(move |tx| pick(tx, now, &busy, LIMITS, None)).unwrap();
        assert_eq!(picked.due.iter().map(|d| d.workspace).collect::<Vec<_>>(), [b]);

        // With a scan shorter than A's backlog (600 rows), each pick goes on where the last
        // stopped: B's is reached in the third (which then reads on from the oldest).
        let short = Limits { scan: 250, ..LIMITS };
        let mut from = None;
        let mut found = Vec::new();
        for _ in 0..3 {
            let busy = sending.clone();
            let picked = store.read_blocking(move |tx| pick(tx, now, &busy, short, from)).unwrap();
            found.push(picked.due.iter().map(|d| d.workspace).collect::<Vec<_>>());
            from = picked.resume;
        }
        assert_eq!(found, [vec![], vec![], vec![b]]);

        // Every place taken: nothing read.
        let full: std::collections::HashMap<Uuid, Sending> =
            (0..16).map(|_| (Uuid::now_v7(), Sending { workspace: Uuid::now_v7(), endpoint: Uuid::now_v7() })).collect();
        let picked = store.read_blocking(move |tx| pick(tx, now, &full, LIMITS, None)).unwrap();
        assert!(picked.due.is_empty());
    }

    #[test]
    fn an_endpoint_has_at_most_so_many_deliveries_waiting() {
        let (store, ws, e, _) = raised(WebhookEvent::MemberJoined, 0);
        store
            .write_blocking(|tx| (0..WAITING_MAX).try_for_each(|_| raise(tx, ws, WebhookEvent::MemberJoined, &serde_json::json!({})).map(drop)))
            .unwrap();
        assert_eq!(store.read_blocking(move |tx| waiting(tx, e.id)).unwrap(), WAITING_MAX);
        // One more: recorded as failed, with the reason, and not queued.
        store.write_blocking(|tx| raise(tx, ws, WebhookEvent::MemberJoined, &serde_json::json!({}))).unwrap();
        assert_eq!(store.read_blocking(queued).unwrap(), WAITING_MAX);
        let failed = store.read_blocking(move |tx| list(tx, e.id, Some(DeliveryState::Failed), "", &Window::first(LIST, 10))).unwrap();
        assert_eq!(failed.total, 1);
        let why = failed.page.items[0].attempts[0].summary();
        assert!(why.contains("1000 deliveries waiting"), "{why}");
        assert_eq!((failed.page.items[0].attempts.len(), failed.page.items[0].next_attempt), (1, None));
    }
}
