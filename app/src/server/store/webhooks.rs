//! Webhooks: a workspace's endpoints, and the deliveries of its events to them — stored in the
//! transaction that records the event ([`raise`], called by the audit log), then sent by the
//! webhook worker with retries and backoff, like the mail outbox. A delivery stays as the record
//! of its attempts and the receiver's answers.

use chrono::{DateTime, Utc};
use redb::{ReadTransaction, ReadableTable, ReadableTableMetadata, WriteTransaction};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::codec::{self, decode};
use super::effects::{caused, Effect};
use super::listing::{self, Dimension, List, Listed, Row, Window};
use super::tables::{WEBHOOK_DELIVERIES, WEBHOOK_ENDPOINTS, WEBHOOK_ENDPOINTS_BY_WORKSPACE, WEBHOOK_QUEUE};
use super::Reads;
use crate::model::webhooks::{Attempt, DeliveryState, DeliveryView, EndpointView, WebhookEvent, ATTEMPTS_KEPT};
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
    pub fn view(&self) -> EndpointView {
        EndpointView {
            id: self.id,
            url: self.url.clone(),
            description: self.description.clone(),
            events: self.events.clone(),
            enabled: self.enabled,
            secret: self.secret.clone(),
            created: self.created,
            created_by: self.created_by.clone(),
        }
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
/// transaction commits. Returns how many deliveries were queued.
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
    caused(Effect::Webhook);
    let now = super::now();
    let d = WebhookDelivery {
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
    put(tx, &d)?;
    tx.open_table(WEBHOOK_QUEUE)?.insert((now.timestamp_millis(), d.id.as_u128()), ())?;
    Ok(d.id)
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

/// Deliveries whose next attempt is due, oldest first.
pub fn due(tx: &ReadTransaction, now: DateTime<Utc>, limit: usize) -> Result<Vec<WebhookDelivery>, AppError> {
    super::outbox::due_in(tx, WEBHOOK_QUEUE, WEBHOOK_DELIVERIES, now, limit)
}

/// Records one attempt: delivered (the receiver answered 2xx), or due again after a backoff,
/// or failed after [`MAX_ATTEMPTS`]. `None` if the delivery is gone (its endpoint was deleted).
pub fn record_attempt(
    tx: &WriteTransaction,
    id: Uuid,
    attempt: Attempt,
    delivered: bool,
) -> Result<Option<WebhookDelivery>, AppError> {
    let Some(mut d) = delivery(tx, id)? else {
        return Ok(None);
    };
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
        let d = store.write_blocking(|tx| record_attempt(tx, id, attempt(500), false)).unwrap().unwrap();
        assert_eq!((d.state, d.tries, d.attempts.len()), (DeliveryState::Queued, 1, 1));
        assert!(store.read_blocking(|tx| due(tx, Utc::now(), 10)).unwrap().is_empty(), "not due until the backoff passes");
        assert_eq!(store.read_blocking(|tx| due(tx, Utc::now() + chrono::Duration::seconds(3), 10)).unwrap().len(), 1);
        for _ in 1..MAX_ATTEMPTS {
            store.write_blocking(|tx| record_attempt(tx, id, attempt(503), false)).unwrap();
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
        let d = store.write_blocking(|tx| record_attempt(tx, id, attempt(204), true)).unwrap().unwrap();
        assert_eq!((d.state, d.tries), (DeliveryState::Delivered, 1));
        assert_eq!(d.attempts.len(), MAX_ATTEMPTS as usize + 1, "the earlier attempts stay on record");
        assert_eq!(store.read_blocking(queued).unwrap(), 0);

        // Deleting the endpoint takes its deliveries with it.
        store.write_blocking(|tx| raise(tx, ws, WebhookEvent::ReleasePaused, &serde_json::json!({}))).unwrap();
        store.write_blocking(|tx| delete_endpoint(tx, &e)).unwrap();
        assert_eq!(store.read_blocking(queued).unwrap(), 0);
        assert!(store.read_blocking(|tx| delivery(tx, id)).unwrap().is_none());
        assert!(store.write_blocking(|tx| record_attempt(tx, id, attempt(200), true)).unwrap().is_none());
    }

    #[test]
    fn old_deliveries_are_purged_once_they_ended() {
        let (store, _, e, ids) = raised(WebhookEvent::MemberJoined, 4);
        store.write_blocking(|tx| record_attempt(tx, ids[0], attempt(200), true)).unwrap();
        store.write_blocking(|tx| { for _ in 0..MAX_ATTEMPTS { record_attempt(tx, ids[1], attempt(500), false)?; } Ok(()) }).unwrap();
        store.write_blocking(|tx| record_attempt(tx, ids[3], attempt(200), true)).unwrap();
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
        store.write_blocking(|tx| record_attempt(tx, mine[0], attempt(200), true)).unwrap();
        store.write_blocking(|tx| record_attempt(tx, mine[1], attempt(500), false)).unwrap();

        let off = WebhookEndpoint { enabled: false, ..e.clone() };
        assert_eq!(store.write_blocking(|tx| { put_endpoint(tx, &off)?; hold_back(tx, e.id, Utc::now()) }).unwrap(), 2);
        let states: Vec<_> = mine.iter().map(|id| store.read_blocking(|tx| delivery(tx, *id)).unwrap().unwrap()).collect();
        assert_eq!(states.iter().map(|d| d.state).collect::<Vec<_>>(), [DeliveryState::Delivered, DeliveryState::Failed, DeliveryState::Failed]);
        assert_eq!(states[1].attempts.last().unwrap().summary(), HELD_BACK);
        assert_eq!((states[2].tries, states[2].attempts.len()), (0, 1), "recorded, never sent");
        let due_now = store.read_blocking(|tx| due(tx, Utc::now() + chrono::Duration::hours(2), 10)).unwrap();
        assert!(due_now.iter().all(|d| d.endpoint == other.id) && due_now.len() == 3, "the other endpoint's stay queued");
        assert_eq!(store.write_blocking(|tx| hold_back(tx, e.id, Utc::now())).unwrap(), 0, "nothing left to hold back");
        // An attempt that was on its way when the endpoint was disabled: recorded, no retry.
        let d = store.write_blocking(|tx| record_attempt(tx, mine[2], attempt(500), false)).unwrap().unwrap();
        assert_eq!((d.state, d.tries), (DeliveryState::Failed, 1));
        assert_eq!(store.read_blocking(queued).unwrap(), 3, "only the other endpoint's");
        // A delivery found due for a disabled endpoint is held back, once.
        store.write_blocking(|tx| raise_test(tx, &e, &serde_json::json!({}))).unwrap();
        let test = store.read_blocking(|tx| due(tx, Utc::now(), 10)).unwrap().into_iter().find(|d| d.endpoint == e.id).unwrap();
        store.write_blocking(|tx| hold_back_one(tx, test.id, Utc::now())).unwrap();
        store.write_blocking(|tx| hold_back_one(tx, test.id, Utc::now())).unwrap();
        let held = store.read_blocking(|tx| delivery(tx, test.id)).unwrap().unwrap();
        assert_eq!((held.state, held.attempts.len()), (DeliveryState::Failed, 1));
    }
}
