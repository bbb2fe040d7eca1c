//! The email outbox: every message is stored before it is sent, and stays as the record.

use chrono::{DateTime, Utc};
use redb::{ReadTransaction, ReadableTableMetadata, WriteTransaction};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::codec::{decode, encode, one, put};
use super::effects::{caused, Effect};
use super::listing::{self, Dimension, List, Listed, Row, Window};
use super::Reads;
use super::tables::{OUTBOX, OUTBOX_QUEUE};
use crate::model::{Missing, OrMissing};
use crate::model::workspace::OutboxView;
use crate::model::AppError;

/// After this many failed attempts a message is marked failed and no longer retried.
pub const MAX_ATTEMPTS: u32 = 10;

pub use crate::model::workspace::MailState;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxMessage {
    pub id: Uuid,
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
    pub state: MailState,
    pub attempts: u32,
    pub next_attempt: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created: DateTime<Utc>,
    pub sent: Option<DateTime<Utc>>,
    /// Secrets in `body` (the tokens of links) to cut out once the message is sent.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// Set when the secrets have been cut out of the stored copy.
    #[serde(default)]
    pub redacted: bool,
}

/// What replaces a secret link's token in the stored copy after sending.
pub const REDACTED: &str = "[removed after sending]";

impl OutboxMessage {
    /// Cuts the secrets out of the stored body: once the mail has left, the outbox must not be
    /// a second way to use the link.
    fn redact(&mut self) {
        for secret in std::mem::take(&mut self.secrets) {
            if !secret.is_empty() {
                self.body = self.body.replace(&secret, REDACTED);
            }
        }
        self.redacted = true;
    }

    pub fn view(&self) -> OutboxView {
        OutboxView {
            id: self.id,
            to: self.to.clone(),
            subject: self.subject.clone(),
            body: self.body.clone(),
            state: match self.state {
                MailState::Queued => "Queued",
                MailState::Sent => "Sent",
                MailState::Failed => "Failed",
            }
            .into(),
            attempts: self.attempts,
            last_error: self.last_error.clone(),
            created: self.created,
            sent: self.sent,
            carries_link: !self.secrets.is_empty(),
            redacted: self.redacted,
        }
    }
}

/// How long after its `attempts`-th failed attempt something is tried again: 2 s, 4 s, 8 s …
/// up to an hour.
pub fn retry_after(attempts: u32) -> chrono::Duration {
    chrono::Duration::seconds(2i64.saturating_pow(attempts).min(3600))
}

/// Stores a message for sending, in the caller's transaction.
pub fn enqueue(
    tx: &WriteTransaction,
    to: Vec<String>,
    subject: &str,
    body: &str,
) -> Result<Uuid, AppError> {
    enqueue_with_secret(tx, to, subject, body, None)
}

/// Stores a message whose body holds `secret` (a link's token): it is cut out of the stored copy
/// as soon as the message has been sent (or has finally failed).
pub fn enqueue_with_secret(
    tx: &WriteTransaction,
    to: Vec<String>,
    subject: &str,
    body: &str,
    secret: Option<&str>,
) -> Result<Uuid, AppError> {
    caused(Effect::Mail);
    let now = super::now();
    let message = OutboxMessage {
        id: Uuid::now_v7(),
        to,
        subject: subject.into(),
        body: body.into(),
        state: MailState::Queued,
        attempts: 0,
        next_attempt: now,
        last_error: None,
        created: now,
        sent: None,
        secrets: secret.map(|s| vec![s.to_string()]).unwrap_or_default(),
        redacted: false,
    };
    put(tx, OUTBOX, message.id.as_u128(), &message)?;
    index(tx, &message)?;
    tx.open_table(OUTBOX_QUEUE)?
        .insert((now.timestamp_millis(), message.id.as_u128()), ())?;
    Ok(message.id)
}

/// How many messages wait to be sent (now or at a later attempt).
pub fn queued(tx: &ReadTransaction) -> Result<u64, AppError> {
    Ok(tx.open_table(OUTBOX_QUEUE)?.len()?)
}

/// Messages whose next attempt is due, oldest first.
pub fn due(
    tx: &ReadTransaction,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<OutboxMessage>, AppError> {
    due_in(tx, OUTBOX_QUEUE, OUTBOX, now, limit)
}

/// The records of `records` whose entry in `queue` — keyed by (when due, Unix milliseconds; id)
/// — is due by `now`, oldest first: how the mail and webhook workers find their work.
pub(super) fn due_in<T: serde::de::DeserializeOwned>(
    tx: &ReadTransaction,
    queue: redb::TableDefinition<(i64, u128), ()>,
    records: redb::TableDefinition<u128, &[u8]>,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<T>, AppError> {
    let queue = tx.open_table(queue)?;
    let records = tx.open_table(records)?;
    let mut out = Vec::new();
    for row in queue.range((i64::MIN, 0)..=(now.timestamp_millis(), u128::MAX))?.take(limit) {
        let (_, id) = row?.0.value();
        if let Some(v) = records.get(id)? {
            out.push(decode(v.value())?);
        }
    }
    Ok(out)
}

/// Records the outcome of one delivery attempt.
pub fn record_attempt(
    tx: &WriteTransaction,
    id: Uuid,
    result: Result<(), String>,
    now: DateTime<Utc>,
) -> Result<OutboxMessage, AppError> {
    let mut outbox = tx.open_table(OUTBOX)?;
    let mut queue = tx.open_table(OUTBOX_QUEUE)?;
    let mut m: OutboxMessage = one(&outbox, id.as_u128())?.or_missing(Missing::Message)?;
    queue.remove((m.next_attempt.timestamp_millis(), id.as_u128()))?;
    m.attempts += 1;
    match result {
        Ok(()) => {
            m.state = MailState::Sent;
            m.sent = Some(now);
            m.last_error = None;
            m.redact();
        }
        Err(e) => {
            m.last_error = Some(e);
            if m.attempts >= MAX_ATTEMPTS {
                m.state = MailState::Failed;
                m.redact();
            } else {
                m.next_attempt = now + retry_after(m.attempts);
                queue.insert((m.next_attempt.timestamp_millis(), id.as_u128()), ())?;
            }
        }
    }
    outbox.insert(id.as_u128(), encode(&m)?.as_slice())?;
    drop((outbox, queue));
    index(tx, &m)?;
    Ok(m)
}

/// How long a message is kept after it was queued, once it is sent or has failed for good.
pub const KEPT_FOR_DAYS: i64 = 90;

/// Deletes at most `limit` messages queued before `before` that are sent or failed, oldest first,
/// with their rows in the operator's list; returns how many. Found through the list's index, so
/// a message still queued — it stays, however old — is never read.
pub fn purge(tx: &WriteTransaction, before: DateTime<Utc>, limit: usize) -> Result<usize, AppError> {
    let before = crate::model::page::KeyValue::from(before);
    let mut old = Vec::new();
    for state in [MailState::Sent, MailState::Failed] {
        let filter = listing::filter(&[Some(state.code_in_index())]);
        old.extend(listing::ids_before(tx, LIST, 0, filter, "created", &before, limit - old.len())?);
    }
    let mut outbox = tx.open_table(OUTBOX)?;
    for id in &old {
        outbox.remove(*id)?;
        listing::set(tx, LIST, 0, *id, None)?;
    }
    Ok(old.len())
}

pub fn get(tx: &ReadTransaction, id: Uuid) -> Result<Option<OutboxMessage>, AppError> {
    tx.row(OUTBOX, id.as_u128())
}

/// The outbox as the operator lists it: every message, filtered by state, by when it was queued.
pub const LIST: List = List { code: 5, sorts: &["created"], default_sort: "-created" };

impl Dimension for MailState {
    fn code_in_index(self) -> u32 {
        match self {
            MailState::Queued => 1,
            MailState::Sent => 2,
            MailState::Failed => 3,
        }
    }
}

fn index(tx: &WriteTransaction, m: &OutboxMessage) -> Result<(), AppError> {
    listing::set(tx, LIST, 0, m.id.as_u128(), Some(&Row::new(&[m.state.code_in_index()], vec![m.created.into()])))
}

/// Lists every message again (a migration's job).
pub fn reindex(tx: &WriteTransaction) -> Result<(), AppError> {
    listing::clear(tx, LIST)?;
    let all: Vec<OutboxMessage> = listing::records(tx, OUTBOX)?;
    all.iter().try_for_each(|m| index(tx, m))
}

/// A page of messages, optionally only those in `state` or to/about `query`. Without a search
/// only the page's messages are read.
pub fn list(
    tx: &ReadTransaction,
    state: Option<MailState>,
    query: &str,
    window: &Window,
) -> Result<Listed<OutboxView>, AppError> {
    let matches = |m: &OutboxMessage, q: &str| m.subject.to_lowercase().contains(q) || m.to.iter().any(|t| t.to_lowercase().contains(q));
    let page = listing::Query { scope: 0, filter: listing::filter(&[state.map(Dimension::code_in_index)]), window };
    listing::find(tx, LIST, OUTBOX, &page, query, matches, OutboxMessage::view)
}

#[cfg(test)]
mod tests {
    use super::super::Store;
    use super::*;

    /// How many messages are due at `at`.
    fn due_at(store: &Store, at: DateTime<Utc>) -> usize {
        store.read_blocking(move |tx| due(tx, at, 10)).unwrap().len()
    }

    #[test]
    fn failures_back_off_then_give_up_and_success_dequeues() {
        let store = Store::memory();
        let id = store
            .write_blocking(|tx| enqueue(tx, vec!["a@example.com".into()], "Hi", "Body"))
            .unwrap();
        let now = Utc::now();
        assert_eq!(due_at(&store, now), 1);
        let m = store
            .write_blocking(|tx| record_attempt(tx, id, Err("connection refused".into()), now))
            .unwrap();
        assert_eq!((m.state, m.attempts), (MailState::Queued, 1));
        assert_eq!(due_at(&store, now), 0, "not due until the backoff passes");
        assert_eq!(due_at(&store, now + chrono::Duration::seconds(3)), 1);
        let m = store
            .write_blocking(|tx| record_attempt(tx, id, Ok(()), now))
            .unwrap();
        assert_eq!(m.state, MailState::Sent);
        assert_eq!(due_at(&store, now + chrono::Duration::days(1)), 0);

        let id2 = store
            .write_blocking(|tx| enqueue(tx, vec!["b@example.com".into()], "Hi", "Body"))
            .unwrap();
        for _ in 0..MAX_ATTEMPTS {
            store
                .write_blocking(|tx| record_attempt(tx, id2, Err("down".into()), now))
                .unwrap();
        }
        let m = store.read_blocking(|tx| get(tx, id2)).unwrap().unwrap();
        assert_eq!(m.state, MailState::Failed);
        assert_eq!(due_at(&store, now + chrono::Duration::days(1)), 0);
        let page = store
            .read_blocking(|tx| list(tx, Some(MailState::Failed), "", &Window::first(LIST, 10)))
            .unwrap();
        assert_eq!(page.total, 1);
    }

    #[test]
    fn old_messages_are_purged_once_sent_or_failed_and_queued_ones_stay() {
        let store = Store::memory();
        let mail = |to: &str| {
            let to = vec![to.to_string()];
            store.write_blocking(move |tx| enqueue(tx, to, "Hi", "Body")).unwrap()
        };
        let (sent, failed, queued, sent_too) = (mail("a@x.example"), mail("b@x.example"), mail("c@x.example"), mail("d@x.example"));
        let now = Utc::now();
        store.write_blocking(|tx| record_attempt(tx, sent, Ok(()), now)).unwrap();
        store.write_blocking(|tx| record_attempt(tx, sent_too, Ok(()), now)).unwrap();
        store
            .write_blocking(|tx| (0..MAX_ATTEMPTS).try_for_each(|_| record_attempt(tx, failed, Err("down".into()), now).map(drop)))
            .unwrap();
        let listed = |state| store.read_blocking(move |tx| Ok(list(tx, state, "", &Window::first(LIST, 10))?.total)).unwrap();
        assert_eq!(listed(None), 4);

        assert_eq!(store.write_blocking(|tx| purge(tx, now - chrono::Duration::hours(1), 100)).unwrap(), 0, "none is old enough");
        let cut = Utc::now() + chrono::Duration::seconds(1);
        assert_eq!(store.write_blocking(|tx| purge(tx, cut, 1)).unwrap(), 1, "at most `limit` at a time");
        assert_eq!(store.write_blocking(|tx| purge(tx, cut, 100)).unwrap(), 2);
        assert_eq!(store.write_blocking(|tx| purge(tx, cut, 100)).unwrap(), 0);
        let left: Vec<_> = [sent, failed, queued, sent_too].iter().map(|id| store.read_blocking(|tx| get(tx, *id)).unwrap().map(|m| m.state)).collect();
        assert_eq!(left, [None, None, Some(MailState::Queued), None]);
        assert_eq!((listed(None), listed(Some(MailState::Queued)), listed(Some(MailState::Sent))), (1, 1, 0));
        assert_eq!(store.read_blocking(|tx| super::queued(tx)).unwrap(), 1, "the queue still holds the queued one");
    }

    #[test]
    fn a_secret_link_is_cut_out_of_the_stored_copy_once_sent() {
        let store = Store::memory();
        let token = "0123456789abcdef".repeat(4);
        let body = format!("Open http://x/verify-email/{token} within 24 hours.");
        let id = store
            .write_blocking(|tx| enqueue_with_secret(tx, vec!["a@example.com".into()], "Verify", &body, Some(&token)))
            .unwrap();
        let queued = store.read_blocking(|tx| get(tx, id)).unwrap().unwrap();
        assert!(queued.body.contains(&token), "the sender still needs it");
        assert!(queued.view().carries_link && !queued.view().redacted);
        let sent = store
            .write_blocking(|tx| record_attempt(tx, id, Ok(()), Utc::now()))
            .unwrap();
        assert!(!sent.body.contains(&token));
        assert!(sent.body.contains(REDACTED));
        let stored = store.read_blocking(|tx| get(tx, id)).unwrap().unwrap();
        assert!(!stored.body.contains(&token) && stored.redacted && stored.secrets.is_empty());
    }
}
