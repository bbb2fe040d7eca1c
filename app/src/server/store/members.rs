//! The members of a workspace, as the Members page lists them.

use redb::{ReadTransaction, ReadableTable, WriteTransaction};
use uuid::Uuid;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::accounts::{self, Account};
use super::codec::{decode, encode};
use super::Reads;
use super::listing::{self, Dimension, List, Row, Window};
use super::tables::{MEMBERSHIPS, MEMBERSHIPS_BY_ACCOUNT};
use crate::model::page::KeyValue;
use crate::model::workspace::{MemberView, Role};
use crate::model::AppError;

/// The members list: per workspace, filtered by role and status, sorted by email, username, role
/// or the day they joined.
pub const LIST: List = List { code: 2, sorts: &["email", "username", "role", "joined"], default_sort: "email" };

impl Dimension for Role {
    fn code_in_index(self) -> u32 {
        match self {
            Role::WorkspaceAdmin => 1,
            Role::WorkspaceReviewer => 2,
            Role::MiniProgramAdmin => 3,
            Role::WorkspaceDeveloper => 4,
        }
    }
}

fn row(m: &Membership, a: &Account) -> Row {
    Row::new(
        &[m.role.code_in_index(), m.active.code_in_index()],
        vec![
            KeyValue::Text(a.email.clone()),
            KeyValue::Text(a.username.clone()),
            KeyValue::Int(i64::from(m.role.code_in_index())),
            m.joined.into(),
        ],
    )
}

/// A member of a workspace: their role, and whether they are blocked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Membership {
    pub workspace: Uuid,
    pub account: Uuid,
    pub role: Role,
    /// False when the member is blocked.
    pub active: bool,
    pub joined: DateTime<Utc>,
}

pub fn put_membership(tx: &WriteTransaction, m: &Membership) -> Result<(), AppError> {
    let joined = tx
        .open_table(MEMBERSHIPS)?
        .insert((m.workspace.as_u128(), m.account.as_u128()), encode(m)?.as_slice())?
        .is_none();
    tx.open_table(MEMBERSHIPS_BY_ACCOUNT)?
        .insert((m.account.as_u128(), m.workspace.as_u128()), ())?;
    index(tx, m.workspace, m.account, Some(m))?;
    if joined {
        super::approvals::follow_membership(tx, m.workspace, m.account, true)?;
    }
    Ok(())
}

/// Every membership of a workspace.
pub fn memberships_of(tx: &impl Reads, workspace: Uuid) -> Result<Vec<Membership>, AppError> {
    memberships_in(&tx.open(MEMBERSHIPS)?, workspace)
}

fn memberships_in(t: &impl ReadableTable<(u128, u128), &'static [u8]>, workspace: Uuid) -> Result<Vec<Membership>, AppError> {
    super::codec::in_scope(t, workspace.as_u128())
}

pub fn membership(
    tx: &impl Reads,
    workspace: Uuid,
    account: Uuid,
) -> Result<Option<Membership>, AppError> {
    tx.row(MEMBERSHIPS, (workspace.as_u128(), account.as_u128()))
}

/// Sorts an account's entries of the members lists again after its email changed (they are
/// sorted by email and username), in the transaction that changed it.
pub fn account_changed(tx: &WriteTransaction, account: &Account) -> Result<(), AppError> {
    let workspaces: Vec<u128> = {
        let t = tx.open_table(MEMBERSHIPS_BY_ACCOUNT)?;
        let a = account.id.as_u128();
        let mut out = Vec::new();
        for r in t.range((a, 0)..=(a, u128::MAX))? {
            out.push(r?.0.value().1);
        }
        out
    };
    for w in workspaces {
        let w = Uuid::from_u128(w);
        if let Some(m) = membership(tx, w, account.id)? {
            index(tx, w, account.id, Some(&m))?;
        }
    }
    Ok(())
}

/// Lists (or, with `None`, takes off the list) a workspace's member, in the transaction that
/// writes the membership or the account.
pub fn index(tx: &WriteTransaction, workspace: Uuid, account: Uuid, m: Option<&Membership>) -> Result<(), AppError> {
    let row = match m {
        Some(m) => accounts::get(tx, account)?.map(|a| row(m, &a)),
        None => None,
    };
    listing::set(tx, LIST, workspace.as_u128(), account.as_u128(), row.as_ref())
}

/// Lists every membership again (a migration's job).
pub fn reindex(tx: &WriteTransaction) -> Result<(), AppError> {
    listing::clear(tx, LIST)?;
    let all: Vec<Membership> = listing::records(tx, MEMBERSHIPS)?;
    for m in all {
        index(tx, m.workspace, m.account, Some(&m))?;
    }
    Ok(())
}

/// How many members of a workspace have the role and status asked for (`None`: any).
pub fn count(tx: &impl Reads, workspace: Uuid, role: Option<Role>, active: Option<bool>) -> Result<u64, AppError> {
    listing::count(tx, LIST, workspace.as_u128(), listing::filter(&[role.map(Dimension::code_in_index), active.map(Dimension::code_in_index)]))
}

/// What the Members page shows of a member of `workspace`, for [`list`].
pub fn member_view(tx: &ReadTransaction, workspace: Uuid) -> impl Fn(Membership, Account) -> Result<MemberView, AppError> + '_ {
    move |m, a| view(tx, workspace, m, a)
}

fn view(tx: &ReadTransaction, workspace: Uuid, m: Membership, account: Account) -> Result<MemberView, AppError> {
    let second_factor = account.has_second_factor();
    Ok(MemberView {
        account_id: account.id,
        email: account.email,
        username: account.username,
        role: m.role,
        active: m.active,
        joined: m.joined,
        assignment: super::minis::assignment_text(tx, workspace, account.id)?,
        second_factor,
    })
}

/// A page of members: searched by username (and email, with `by_email`), filtered by role and by
/// status (active = not blocked), sorted by one of [`LIST`]'s sorts, each of the page's members
/// made by `make` from its membership and account ([`member_view`] for the Members page). Without
/// a search only the page's members are read.
#[allow(clippy::too_many_arguments)]
pub fn list<T>(
    tx: &ReadTransaction,
    workspace: Uuid,
    query: &str,
    by_email: bool,
    role: Option<Role>,
    active: Option<bool>,
    window: &Window,
    make: impl Fn(Membership, Account) -> Result<T, AppError>,
) -> Result<listing::Listed<T>, AppError> {
    let memberships = tx.open_table(MEMBERSHIPS)?;
    let ws = workspace.as_u128();
    let q = query.trim().to_lowercase();
    let filter = listing::filter(&[role.map(Dimension::code_in_index), active.map(Dimension::code_in_index)]);
    let query = listing::Query { scope: ws, filter, window };
    let member = |id: u128| -> Result<Option<(Membership, Account)>, AppError> {
        let Some(v) = memberships.get((ws, id))? else { return Ok(None) };
        let m: Membership = decode(v.value())?;
        Ok(accounts::get(tx, m.account)?.map(|a| (m, a)))
    };
    if q.is_empty() {
        return listing::page(tx, LIST, &query, |id| member(id)?.map(|(m, a)| make(m, a)).transpose());
    }
    // A search keeps the members whose username (or email) matches, and builds only the page's.
    let found = listing::search(tx, LIST, &query, |id| {
        Ok(member(id)?.filter(|(_, a)| (by_email && a.email.to_lowercase().contains(&q)) || a.username.to_lowercase().contains(&q)))
    })?;
    Ok(listing::Listed { page: found.page.try_map(|(m, a)| make(m, a))?, entries_read: found.entries_read })
}

/// Active Workspace Admins of a workspace, in the caller's write transaction (from the list's
/// counts: one read).
pub fn active_admins(tx: &WriteTransaction, workspace: Uuid) -> Result<u64, AppError> {
    count(tx, workspace, Some(Role::WorkspaceAdmin), Some(true))
}

/// The active members of a workspace with `role`: only they are read, however many members the
/// workspace has.
pub fn active_with_role(tx: &impl Reads, workspace: Uuid, role: Role) -> Result<Vec<Membership>, AppError> {
    let filter = listing::filter(&[Some(role.code_in_index()), Some(true.code_in_index())]);
    let table = tx.open(MEMBERSHIPS)?;
    let mut out = Vec::new();
    for account in listing::ids(tx, LIST, workspace.as_u128(), filter)? {
        if let Some(v) = table.get((workspace.as_u128(), account))? {
            out.push(decode::<Membership>(v.value())?);
        }
    }
    Ok(out)
}

/// Removes a membership.
pub fn remove(tx: &WriteTransaction, workspace: Uuid, account: Uuid) -> Result<(), AppError> {
    tx.open_table(MEMBERSHIPS)?
        .remove((workspace.as_u128(), account.as_u128()))?;
    index(tx, workspace, account, None)?;
    tx.open_table(super::tables::MEMBERSHIPS_BY_ACCOUNT)?
        .remove((account.as_u128(), workspace.as_u128()))?;
    super::approvals::follow_membership(tx, workspace, account, false)?;
    super::minis::unassign_member(tx, workspace, account)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::store::Store;

    #[test]
    fn the_approvers_of_a_workspace_are_read_without_its_other_members() {
        let store = Store::memory();
        let workspace = Uuid::now_v7();
        let people: Vec<(Role, bool)> = (0..300)
            .map(|i| match i {
                0 | 1 => (Role::WorkspaceAdmin, true),
                2 => (Role::WorkspaceAdmin, false),
                3 => (Role::WorkspaceReviewer, true),
                _ => (Role::WorkspaceDeveloper, true),
            })
            .collect();
        let ids = store
            .write_blocking(|tx| {
                let mut ids = Vec::new();
                for (i, (role, active)) in people.iter().enumerate() {
                    let a = Account { id: Uuid::now_v7(), email: format!("p{i}@example.com"), username: format!("p{i}"), ..crate::server::store::golden::account() };
                    accounts::insert(tx, &a)?;
                    put_membership(tx, &Membership { workspace, account: a.id, role: *role, active: *active, joined: Utc::now() })?;
                    ids.push(a.id);
                }
                Ok(ids)
            })
            .unwrap();
        let (admins, reviewers, counted) = store
            .write_blocking(|tx| Ok((active_with_role(tx, workspace, Role::WorkspaceAdmin)?, active_with_role(tx, workspace, Role::WorkspaceReviewer)?, active_admins(tx, workspace)?)))
            .unwrap();
        let mut admin_ids: Vec<Uuid> = admins.iter().map(|m| m.account).collect();
        admin_ids.sort();
        let mut expected = vec![ids[0], ids[1]];
        expected.sort();
        assert_eq!(admin_ids, expected, "the blocked admin is not among them");
        assert_eq!(reviewers.iter().map(|m| m.account).collect::<Vec<_>>(), vec![ids[3]]);
        assert_eq!(counted, 2);
    }
}
