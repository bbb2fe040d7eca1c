//! The audit log: append-only, per workspace and for the platform.

use chrono::{DateTime, Utc};
use redb::{ReadTransaction, ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::codec::{decode, encode};
use super::tables::{AUDIT, AUDIT_BY_ACCOUNT, AUDIT_BY_WORKSPACE, META};
use crate::model::page::{window, Key, KeyValue, Page, Sort};
use crate::model::workspace::AuditEventView;
use crate::model::AppError;
use crate::model::audit::AuditAction;

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

/// Appends an event in the caller's transaction, so it commits exactly when the change does.
pub fn record(
    tx: &WriteTransaction,
    actor: &Actor,
    workspace: Option<(Uuid, &str)>,
    action: AuditAction,
    target: &str,
    details: &str,
) -> Result<u64, AppError> {
    let mut meta = tx.open_table(META)?;
    let seq = meta.get("audit_seq")?.map(|v| v.value()).unwrap_or(0) + 1;
    meta.insert("audit_seq", seq)?;
    let event = AuditEvent {
        at: Utc::now(),
        workspace: workspace.map(|(id, _)| id),
        workspace_name: workspace.map(|(_, n)| n.to_string()),
        actor: actor.id,
        actor_name: actor.name.clone(),
        action: action.code().into(),
        target: target.into(),
        details: details.into(),
        client: actor.client.clone(),
    };
    tx.open_table(AUDIT)?
        .insert(seq, encode(&event)?.as_slice())?;
    if let Some((id, _)) = workspace {
        tx.open_table(AUDIT_BY_WORKSPACE)?
            .insert((id.as_u128(), seq), ())?;
    }
    Ok(seq)
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
    Ok(seq)
}

/// How audit lists can be sorted: by time (the event's sequence number).
pub const SORTS: &[&str] = &["time"];

fn key(seq: u64) -> (Key, u64) {
    ((KeyValue::Int(seq as i64), seq as u128), seq)
}

/// A page of one account's security events (reads only that page's events).
pub fn of_account(
    tx: &ReadTransaction,
    account: Uuid,
    sort: Sort,
    cursor: &str,
    per_page: u32,
) -> Result<Page<AuditEventView>, AppError> {
    let index = tx.open_table(AUDIT_BY_ACCOUNT)?;
    let events = tx.open_table(AUDIT)?;
    let a = account.as_u128();
    let mut seqs = Vec::new();
    for row in index.range((a, 0)..=(a, u64::MAX))? {
        seqs.push(key(row?.0.value().1));
    }
    window(seqs, sort, cursor, per_page)?.try_map(|seq| load(&events, seq))
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
/// name; `query` searches actor, target and details. Without a filter only the page's events are
/// read.
pub fn list(
    tx: &ReadTransaction,
    workspace: Option<Uuid>,
    action: &str,
    query: &str,
    sort: Sort,
    cursor: &str,
    per_page: u32,
) -> Result<Page<AuditEventView>, AppError> {
    let events = tx.open_table(AUDIT)?;
    let q = query.trim().to_lowercase();
    let matches = |e: &AuditEvent| {
        (action.is_empty() || e.action == action)
            && (q.is_empty()
                || e.actor_name.to_lowercase().contains(&q)
                || e.target.to_lowercase().contains(&q)
                || e.details.to_lowercase().contains(&q))
    };
    let seqs: Vec<u64> = match workspace {
        Some(ws) => {
            let index = tx.open_table(AUDIT_BY_WORKSPACE)?;
            let id = ws.as_u128();
            let mut v = Vec::new();
            for row in index.range((id, 0)..=(id, u64::MAX))? {
                v.push(row?.0.value().1);
            }
            v
        }
        None => {
            let mut v = Vec::new();
            for row in events.iter()? {
                v.push(row?.0.value());
            }
            v
        }
    };
    let mut keys = Vec::with_capacity(seqs.len());
    for seq in seqs {
        if action.is_empty() && q.is_empty() {
            keys.push(key(seq));
        } else if let Some(v) = events.get(seq)? {
            if matches(&decode(v.value())?) {
                keys.push(key(seq));
            }
        }
    }
    window(keys, sort, cursor, per_page)?.try_map(|seq| load(&events, seq))
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
        let newest = Sort::parse("", SORTS, "-time").unwrap();
        let all = store
            .read_blocking(|tx| list(tx, None, "", "", newest, "", 4))
            .unwrap();
        assert_eq!(all.total, 6);
        assert_eq!(all.items.len(), 4);
        assert_eq!(all.items[0].action, "workspace_application.submitted");
        let first = store
            .read_blocking(|tx| list(tx, Some(ws), "", "", newest, "", 4))
            .unwrap();
        let next = first.next.unwrap();
        let mine = store
            .read_blocking(|tx| list(tx, Some(ws), "", "", newest, &next, 4))
            .unwrap();
        assert_eq!((mine.total, mine.items.len()), (5, 1));
        assert_eq!(mine.items[0].target, "t0");
        let filtered = store
            .read_blocking(|tx| list(tx, None, "workspace_application.submitted", "", newest, "", 10))
            .unwrap();
        assert_eq!(filtered.total, 1);
        let searched = store
            .read_blocking(|tx| list(tx, Some(ws), "", "T3", newest, "", 10))
            .unwrap();
        assert_eq!(searched.items.len(), 1);
        assert_eq!(searched.items[0].client, "10.0.0.1");
    }

    #[test]
    fn security_events_are_listed_per_account() {
        let store = Store::memory();
        let (ann, bob) = (Uuid::new_v4(), Uuid::new_v4());
        let actor = Actor { id: Some(ann), name: "ann".into(), client: None };
        let newest = Sort::parse("", SORTS, "-time").unwrap();
        store
            .write_blocking(|tx| {
                record_security(tx, &actor, ann, AuditAction::AccountSignedIn, "ann", "")?;
                record_security(tx, &actor, bob, AuditAction::AccountSignInFailed, "bob", "")?;
                record_security(tx, &actor, ann, AuditAction::AccountPasswordChanged, "ann", "")?;
                Ok(())
            })
            .unwrap();
        let mine = store.read_blocking(|tx| of_account(tx, ann, newest, "", 10)).unwrap();
        assert_eq!(mine.total, 2);
        assert_eq!(mine.items[0].action, "account.password_changed");
        assert_eq!(store.read_blocking(|tx| of_account(tx, bob, newest, "", 10)).unwrap().total, 1);
    }
}
