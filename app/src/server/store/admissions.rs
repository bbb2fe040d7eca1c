//! Admissions: a person named by email joins a workspace with a role once their address is
//! proven; until then the admission waits.

use chrono::{DateTime, Utc};
use redb::{ReadTransaction, ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::codec::{decode, put};
use super::members::{membership, put_membership, Membership};
use super::tables::*;
use super::workspaces::get_workspace;
use crate::model::account::email_key;
use crate::model::workspace::*;
use crate::model::AppError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingAdmission {
    pub role: Role,
    pub added: DateTime<Utc>,
}

/// Makes `email`'s account a member with `role` — only when that account has verified the
/// address; otherwise records the admission, which happens when the address is proven (at
/// verification). An existing membership keeps its role unless `role` ranks higher.
pub fn admit(
    tx: &WriteTransaction,
    workspace: Uuid,
    email: &str,
    role: Role,
) -> Result<Option<Uuid>, AppError> {
    let key = email_key(email);
    let account = tx
        .open_table(ACCOUNTS_BY_EMAIL)?
        .get(key.as_str())?
        .map(|v| Uuid::from_u128(v.value()));
    let verified = match account {
        Some(id) => crate::server::store::accounts::get(tx, id)?
            .is_some_and(|a| a.email_verified),
        None => false,
    };
    // Nobody joins a suspended workspace; the admission waits for its reactivation.
    let open = get_workspace(tx, workspace)?
        .is_some_and(|w| w.status != WorkspaceStatus::Suspended);
    match account {
        Some(account) if verified && open => {
            let m = match membership(tx, workspace, account)? {
                Some(mut m) => {
                    if role.rank() > m.role.rank() {
                        m.role = role;
                    }
                    m
                }
                None => Membership {
                    workspace,
                    account,
                    role,
                    active: true,
                    joined: super::now(),
                },
            };
            put_membership(tx, &m)?;
            Ok(Some(account))
        }
        _ => {
            let p = PendingAdmission {
                role,
                added: super::now(),
            };
            put(tx, PENDING_ADMISSIONS, (key.as_str(), workspace.as_u128()), &p)?;
            Ok(None)
        }
    }
}

/// When `email` has just been proven: turns the admissions waiting for it into memberships.
/// Admissions to a suspended workspace stay waiting until it is reactivated. Returns the
/// workspaces joined, with their names and the role.
pub fn admit_pending(
    tx: &WriteTransaction,
    account: Uuid,
    email: &str,
) -> Result<Vec<(Uuid, String, Role)>, AppError> {
    let key = email_key(email);
    let waiting: Vec<(u128, PendingAdmission)> = {
        let t = tx.open_table(PENDING_ADMISSIONS)?;
        let mut out = Vec::new();
        for row in t.range((key.as_str(), 0u128)..=(key.as_str(), u128::MAX))? {
            let (k, v) = row?;
            out.push((k.value().1, decode(v.value())?));
        }
        out
    };
    let mut joined = Vec::new();
    for (ws, p) in waiting {
        let workspace = Uuid::from_u128(ws);
        let Some(w) = get_workspace(tx, workspace)? else {
            tx.open_table(PENDING_ADMISSIONS)?.remove((key.as_str(), ws))?;
            continue;
        };
        if w.status == WorkspaceStatus::Suspended {
            continue;
        }
        tx.open_table(PENDING_ADMISSIONS)?.remove((key.as_str(), ws))?;
        let role = match membership(tx, workspace, account)? {
            Some(mut m) => {
                if p.role.rank() > m.role.rank() {
                    m.role = p.role;
                }
                put_membership(tx, &m)?;
                m.role
            }
            None => {
                put_membership(
                    tx,
                    &Membership {
                        workspace,
                        account,
                        role: p.role,
                        active: true,
                        joined: super::now(),
                    },
                )?;
                p.role
            }
        };
        joined.push((workspace, w.name, role));
    }
    Ok(joined)
}

/// The admissions of `workspace` still waiting for their address to be proven: (email, role,
/// added). Few per workspace (representatives), so a scan of the small table is fine.
pub fn pending_admissions(
    tx: &ReadTransaction,
    workspace: Uuid,
) -> Result<Vec<(String, Role, chrono::DateTime<Utc>)>, AppError> {
    admissions_in(&tx.open_table(PENDING_ADMISSIONS)?, workspace)
}

/// [`pending_admissions`] inside a write transaction.
pub fn pending_admissions_of(
    tx: &WriteTransaction,
    workspace: Uuid,
) -> Result<Vec<(String, Role, chrono::DateTime<Utc>)>, AppError> {
    admissions_in(&tx.open_table(PENDING_ADMISSIONS)?, workspace)
}

fn admissions_in(
    t: &impl ReadableTable<(&'static str, u128), &'static [u8]>,
    workspace: Uuid,
) -> Result<Vec<(String, Role, chrono::DateTime<Utc>)>, AppError> {
    let mut out = Vec::new();
    for row in t.iter()? {
        let (k, v) = row?;
        let (email, ws) = k.value();
        if ws == workspace.as_u128() {
            let p: PendingAdmission = decode(v.value())?;
            out.push((email.to_string(), p.role, p.added));
        }
    }
    Ok(out)
}

/// Withdraws a waiting admission; true if there was one.
pub fn revoke_admission(tx: &WriteTransaction, workspace: Uuid, email: &str) -> Result<bool, AppError> {
    Ok(tx
        .open_table(PENDING_ADMISSIONS)?
        .remove((email_key(email).as_str(), workspace.as_u128()))?
        .is_some())
}

#[cfg(test)]
mod tests {
    use super::super::workspaces::{fixtures::workspace, insert_workspace};
    use super::super::Store;
    use super::*;

    #[test]
    fn admission_waits_for_a_verified_address_and_a_workspace_that_is_not_suspended() {
        let store = Store::memory();
        let active = workspace("Acme", WorkspaceStatus::Active);
        let suspended = workspace("Frozen", WorkspaceStatus::Suspended);
        let (a, b) = (active.id, suspended.id);
        store
            .write_blocking(|tx| {
                insert_workspace(tx, &active)?;
                insert_workspace(tx, &suspended)
            })
            .unwrap();
        for ws in [a, b] {
            let joined = store
                .write_blocking(|tx| admit(tx, ws, "New@Example.com", Role::WorkspaceAdmin))
                .unwrap();
            assert_eq!(joined, None);
        }
        assert_eq!(store.read_blocking(|tx| pending_admissions(tx, a)).unwrap().len(), 1);
        let account = Uuid::new_v4();
        let admitted = store
            .write_blocking(|tx| admit_pending(tx, account, "new@example.com"))
            .unwrap();
        assert_eq!(admitted, vec![(a, "Acme".to_string(), Role::WorkspaceAdmin)]);
        let m = store
            .read_blocking(|tx| membership(tx, a, account))
            .unwrap()
            .unwrap();
        assert_eq!(m.role, Role::WorkspaceAdmin);
        assert!(store.read_blocking(|tx| membership(tx, b, account)).unwrap().is_none());
        assert_eq!(
            store.read_blocking(|tx| pending_admissions(tx, b)).unwrap().len(),
            1,
            "still waiting for the suspended workspace"
        );
        assert!(store.write_blocking(|tx| revoke_admission(tx, b, "NEW@example.com")).unwrap());
        assert!(store
            .write_blocking(|tx| admit_pending(tx, account, "new@example.com"))
            .unwrap()
            .is_empty());
    }
}
