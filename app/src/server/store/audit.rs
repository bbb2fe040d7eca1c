//! The audit log: append-only, per workspace and for the platform.

use chrono::{DateTime, Utc};
use redb::{ReadTransaction, ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::codec::{decode, put};
use super::listing::{self, List, Listed, Row, Window};
use super::tables::{AUDIT, AUDIT_BY_ACCOUNT, AUDIT_BY_WORKSPACE, META};
use crate::model::page::{KeyValue, Page};
use crate::model::workspace::AuditEventView;
use crate::model::AppError;
use crate::model::audit::AuditAction;
use crate::model::webhooks::WebhookEvent;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub at: DateTime<Utc>,
    pub workspace: Option<Uuid>,
    pub workspace_name: Option<String>,
    pub actor: Option<Uuid>,
    pub actor_name: String,
    pub action: String,
    pub target: String,
    pub details: String,
    pub client: Option<String>,
}

/// Who did something, and from where.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: Option<Uuid>,
    pub name: String,
    pub client: Option<String>,
}

impl Actor {
    /// An actor that is no account and has no address: the health rule, the dev seed, a test.
    pub fn named(name: impl Into<String>) -> Actor {
        Actor { id: None, name: name.into(), client: None }
    }
}

/// Appends an event in the caller's transaction, so it commits exactly when the change does; an
/// event of a workspace that its webhook endpoints subscribe to is queued for them in the same
/// transaction.
pub fn record(
    tx: &WriteTransaction,
    actor: &Actor,
    workspace: Option<(Uuid, &str)>,
    action: AuditAction,
    target: &str,
    details: &str,
) -> Result<u64, AppError> {
    if action == AuditAction::AccountSignInFailed {
        super::effects::caused(super::effects::Effect::SignInFailed);
    }
    let mut meta = tx.open_table(META)?;
    let seq = meta.get("audit_seq")?.map(|v| v.value()).unwrap_or(0) + 1;
    meta.insert("audit_seq", seq)?;
    let event = AuditEvent {
        at: super::now(),
        workspace: workspace.map(|(id, _)| id),
        workspace_name: workspace.map(|(_, n)| n.to_string()),
        actor: actor.id,
        actor_name: actor.name.clone(),
        action: action.code().into(),
        target: target.into(),
        details: details.into(),
        client: actor.client.clone(),
    };
    put(tx, AUDIT, seq, &event)?;
    if let Some((id, _)) = workspace {
        tx.open_table(AUDIT_BY_WORKSPACE)?
            .insert((id.as_u128(), seq), ())?;
    }
    index(tx, seq, &event)?;
    if let (Some((id, _)), Some(hook)) = (workspace, WebhookEvent::of(action)) {
        super::webhooks::raise(tx, id, hook, &webhook_data(seq, action, &event))?;
    }
    Ok(seq)
}

/// What a webhook delivery of an audited event says (its `data`): the workspace, what was done
/// to what, by whom, and the entry's number in the audit log.
fn webhook_data(seq: u64, action: AuditAction, e: &AuditEvent) -> serde_json::Value {
    serde_json::json!({
        "workspace": { "id": e.workspace, "name": e.workspace_name },
        "action": action.code(),
        "summary": action.label(),
        "target": e.target,
        "details": e.details,
        "actor": { "id": e.actor, "name": e.actor_name },
        "audit_seq": seq,
        "at": e.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    })
}

/// The audit logs: a workspace's (scope: the workspace) and the platform's (scope 0), filtered
/// by action, newest or oldest first.
pub const LIST: List = List { code: 3, sorts: &["time"], default_sort: "-time" };

/// An account's security events (scope: the account).
pub const SECURITY_LIST: List = List { code: 4, sorts: &["time"], default_sort: "-time" };

fn time_key(seq: u64) -> Vec<KeyValue> {
    vec![KeyValue::Int(seq as i64)]
}

fn index(tx: &WriteTransaction, seq: u64, e: &AuditEvent) -> Result<(), AppError> {
    let row = Row::new(&[listing::text_code(&e.action)], time_key(seq));
    listing::set(tx, LIST, 0, u128::from(seq), Some(&row))?;
    if let Some(w) = e.workspace {
        listing::set(tx, LIST, w.as_u128(), u128::from(seq), Some(&row))?;
    }
    Ok(())
}

/// Lists every event again (a migration's job).
pub fn reindex(tx: &WriteTransaction) -> Result<(), AppError> {
    listing::clear(tx, LIST)?;
    listing::clear(tx, SECURITY_LIST)?;
    let all: Vec<(u64, AuditEvent)> = {
        let t = tx.open_table(AUDIT)?;
        let mut out = Vec::new();
        for r in t.iter()? {
            let (k, v) = r?;
            out.push((k.value(), decode(v.value())?));
        }
        out
    };
    for (seq, e) in &all {
        index(tx, *seq, e)?;
    }
    let security: Vec<(u128, u64)> = {
        let t = tx.open_table(AUDIT_BY_ACCOUNT)?;
        let mut out = Vec::new();
        for r in t.iter()? {
            out.push(r?.0.value());
        }
        out
    };
    for (account, seq) in security {
        listing::set(tx, SECURITY_LIST, account, u128::from(seq), Some(&Row::new(&[], time_key(seq))))?;
    }
    Ok(())
}

/// Appends a security event of `account` (sign-in, password or email change, sessions ended):
/// kept in the platform's log and shown to the person on their account page.
pub fn record_security(
    tx: &WriteTransaction,
    actor: &Actor,
    account: Uuid,
    action: AuditAction,
    target: &str,
    details: &str,
) -> Result<u64, AppError> {
    let seq = record(tx, actor, None, action, target, details)?;
    tx.open_table(AUDIT_BY_ACCOUNT)?
        .insert((account.as_u128(), seq), ())?;
    listing::set(tx, SECURITY_LIST, account.as_u128(), u128::from(seq), Some(&Row::new(&[], time_key(seq))))?;
    Ok(seq)
}

/// A page of one account's security events (reads only that page's events).
pub fn of_account(tx: &ReadTransaction, account: Uuid, window: &Window) -> Result<Page<AuditEventView>, AppError> {
    let events = tx.open_table(AUDIT)?;
    let query = listing::Query { scope: account.as_u128(), filter: 0, window };
    Ok(listing::page(tx, SECURITY_LIST, &query, |seq| load(&events, seq as u64).map(Some))?.page)
}

fn load(events: &impl ReadableTable<u64, &'static [u8]>, seq: u64) -> Result<AuditEventView, AppError> {
    match events.get(seq)? {
        Some(v) => Ok(view(seq, decode(v.value())?)),
        None => Err(AppError::Internal),
    }
}

fn view(seq: u64, e: AuditEvent) -> AuditEventView {
    AuditEventView {
        seq,
        at: e.at,
        workspace: e.workspace_name,
        actor: e.actor_name,
        action: e.action,
        target: e.target,
        details: e.details,
        client: e.client.unwrap_or_default(),
    }
}

/// A page of events: one workspace's, or (with `None`) all of them. `action` filters by action
/// name; `query` searches actor, target and details. Without a search only the page's events are
/// read, whatever the action filter; a search reads the scope's events of that action.
pub fn list(
    tx: &ReadTransaction,
    workspace: Option<Uuid>,
    action: &str,
    query: &str,
    window: &Window,
) -> Result<Listed<AuditEventView>, AppError> {
    let events = tx.open_table(AUDIT)?;
    let scope = workspace.map_or(0, |w| w.as_u128());
    let filter = listing::filter(&[(!action.is_empty()).then(|| listing::text_code(action))]);
    let q = query.trim().to_lowercase();
    if q.is_empty() {
        let query = listing::Query { scope, filter, window };
        return listing::page(tx, LIST, &query, |seq| {
            let event = load(&events, seq as u64)?;
            // Two actions whose codes share 32 bits are told apart here.
            Ok((action.is_empty() || event.action == action).then_some(event))
        });
    }
    // A search reads the scope's events of that action and keeps the matches.
    let query = listing::Query { scope, filter, window };
    listing::search(tx, LIST, &query, |seq| {
        let Some(v) = events.get(seq as u64)? else { return Ok(None) };
        let e: AuditEvent = decode(v.value())?;
        let hit = (action.is_empty() || e.action == action)
            && (e.actor_name.to_lowercase().contains(&q)
                || e.target.to_lowercase().contains(&q)
                || e.details.to_lowercase().contains(&q));
        Ok(hit.then(|| view(seq as u64, e)))
    })
}

#[cfg(test)]
mod tests {
    use super::super::Store;
    use super::*;

    #[test]
    fn events_are_numbered_filtered_and_paged_newest_first() {
        let store = Store::memory();
        let ws = Uuid::new_v4();
        let actor = Actor {
            id: None,
            name: "ann".into(),
            client: Some("10.0.0.1".into()),
        };
        store
            .write_blocking(|tx| {
                for i in 0..5 {
                    record(
                        tx,
                        &actor,
                        Some((ws, "Acme")),
                        AuditAction::WorkspaceInfoEdited,
                        &format!("t{i}"),
                        "",
                    )?;
                }
                record(tx, &actor, None, AuditAction::WorkspaceApplicationSubmitted, "other", "")?;
                Ok(())
            })
            .unwrap();
        let at = |cursor: &str, per_page| Window { cursor: cursor.to_string(), ..Window::first(LIST, per_page) };
        let all = store
            .read_blocking(|tx| list(tx, None, "", "", &at("", 4)))
            .unwrap();
        assert_eq!(all.total, 6);
        assert_eq!(all.items.len(), 4);
        assert_eq!(all.items[0].action, "workspace_application.submitted");
        let first = store
            .read_blocking(|tx| list(tx, Some(ws), "", "", &at("", 4)))
            .unwrap();
        let next = first.page.next.clone().unwrap();
        let mine = store
            .read_blocking(|tx| list(tx, Some(ws), "", "", &at(&next, 4)))
            .unwrap();
        assert_eq!((mine.total, mine.items.len()), (5, 1));
        assert_eq!(mine.items[0].target, "t0");
        let filtered = store
            .read_blocking(|tx| list(tx, None, "workspace_application.submitted", "", &at("", 10)))
            .unwrap();
        assert_eq!(filtered.total, 1);
        let searched = store
            .read_blocking(|tx| list(tx, Some(ws), "", "T3", &at("", 10)))
            .unwrap();
        assert_eq!(searched.items.len(), 1);
        assert_eq!(searched.items[0].client, "10.0.0.1");
    }

    #[test]
    fn security_events_are_listed_per_account() {
        let store = Store::memory();
        let (ann, bob) = (Uuid::new_v4(), Uuid::new_v4());
        let actor = Actor { id: Some(ann), name: "ann".into(), client: None };
        let newest = Window::first(SECURITY_LIST, 10);
        store
            .write_blocking(|tx| {
                record_security(tx, &actor, ann, AuditAction::AccountSignedIn, "ann", "")?;
                record_security(tx, &actor, bob, AuditAction::AccountSignInFailed, "bob", "")?;
                record_security(tx, &actor, ann, AuditAction::AccountPasswordChanged, "ann", "")?;
                Ok(())
            })
            .unwrap();
        let mine = store.read_blocking(|tx| of_account(tx, ann, &newest)).unwrap();
        assert_eq!(mine.total, 2);
        assert_eq!(mine.items[0].action, "account.password_changed");
        assert_eq!(store.read_blocking(|tx| of_account(tx, bob, &newest)).unwrap().total, 1);
    }
}
