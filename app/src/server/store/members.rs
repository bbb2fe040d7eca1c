//! The members of a workspace, as the Members page lists them.

use redb::{ReadTransaction, ReadableTable, WriteTransaction};
use uuid::Uuid;

use super::accounts;
use super::codec::decode;
use super::tables::MEMBERSHIPS;
use super::workspaces::Membership;
use crate::model::page::{window, KeyValue, Page, Sort};
use crate::model::workspace::{MemberView, Role};
use crate::model::AppError;

/// How the members list can be sorted.
pub const SORTS: &[&str] = &["email", "username", "role", "joined"];

/// A page of members: searched by email or username, filtered by role and by status (active =
/// not blocked), sorted by one of [`SORTS`].
#[allow(clippy::too_many_arguments)]
pub fn list(
    tx: &ReadTransaction,
    workspace: Uuid,
    query: &str,
    role: Option<Role>,
    active: Option<bool>,
    sort: Sort,
    cursor: &str,
    per_page: u32,
) -> Result<Page<MemberView>, AppError> {
    let memberships = tx.open_table(MEMBERSHIPS)?;
    let ws = workspace.as_u128();
    let q = query.trim().to_lowercase();
    let mut rows = Vec::new();
    for row in memberships.range((ws, 0)..=(ws, u128::MAX))? {
        let m: Membership = decode(row?.1.value())?;
        if role.is_some_and(|r| r != m.role) || active.is_some_and(|a| a != m.active) {
            continue;
        }
        let Some(account) = accounts::get(tx, m.account)? else {
            continue;
        };
        if !q.is_empty()
            && !account.email.to_lowercase().contains(&q)
            && !account.username.to_lowercase().contains(&q)
        {
            continue;
        }
        let value = match sort.column {
            "username" => KeyValue::Text(account.username.to_lowercase()),
            "role" => KeyValue::Int(m.role as i64),
            "joined" => KeyValue::Int(m.joined.timestamp_micros()),
            _ => KeyValue::Text(account.email.to_lowercase()),
        };
        let key = (value, account.id.as_u128());
        rows.push((key, MemberView {
            account_id: account.id,
            email: account.email,
            username: account.username,
            role: m.role,
            active: m.active,
            joined: m.joined,
            assignment: crate::server::store::minis::assignment_text(tx, workspace, account.id)?,
        }));
    }
    window(rows, sort, cursor, per_page)
}

/// Active Workspace Admins of a workspace, in the caller's write transaction.
pub fn active_admins(tx: &WriteTransaction, workspace: Uuid) -> Result<u64, AppError> {
    let memberships = tx.open_table(MEMBERSHIPS)?;
    let ws = workspace.as_u128();
    let mut n = 0;
    for row in memberships.range((ws, 0)..=(ws, u128::MAX))? {
        let m: Membership = decode(row?.1.value())?;
        if m.active && m.role == Role::WorkspaceAdmin {
            n += 1;
        }
    }
    Ok(n)
}

/// Removes a membership.
pub fn remove(tx: &WriteTransaction, workspace: Uuid, account: Uuid) -> Result<(), AppError> {
    tx.open_table(MEMBERSHIPS)?
        .remove((workspace.as_u128(), account.as_u128()))?;
    tx.open_table(super::tables::MEMBERSHIPS_BY_ACCOUNT)?
        .remove((account.as_u128(), workspace.as_u128()))?;
    super::minis::unassign_member(tx, workspace, account)
}
