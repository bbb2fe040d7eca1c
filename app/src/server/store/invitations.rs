//! Invitations to join a workspace. Only the SHA-256 of a token is stored; the token travels in
//! the email's link.

use chrono::{DateTime, Utc};
use redb::{ReadTransaction, ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::codec::{self, decode, encode, one};
use super::tables::{INVITATIONS, INVITATIONS_BY_WORKSPACE};
use super::Reads;
use crate::model::account::email_key;
use crate::model::workspace::{InvitationView, Role};
use crate::model::AppError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum InvitationState {
    Pending,
    Accepted,
    Revoked,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invitation {
    pub workspace: Uuid,
    pub workspace_name: String,
    pub email: String,
    pub role: Role,
    pub inviter: String,
    /// The account that sent it; its invitations are revoked if it is blocked. Absent in
    /// invitations written before this was kept (those match by `inviter` username).
    #[serde(default)]
    pub inviter_id: Option<Uuid>,
    pub created: DateTime<Utc>,
    pub expires: DateTime<Utc>,
    pub state: InvitationState,
}

impl Invitation {
    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        self.expires <= now
    }
    pub fn view(&self, now: DateTime<Utc>) -> InvitationView {
        InvitationView {
            email: self.email.clone(),
            role: self.role,
            inviter: self.inviter.clone(),
            created: self.created,
            expires: self.expires,
            expired: self.expired(now),
        }
    }
}

pub use crate::server::tokens::{hash_token, new_token};

/// The live (pending, unexpired) invitation of `email` to `workspace`, if any.
pub fn live_for(
    tx: &WriteTransaction,
    workspace: Uuid,
    email: &str,
    now: DateTime<Utc>,
) -> Result<Option<([u8; 32], Invitation)>, AppError> {
    Ok(pending_for(tx, workspace, email)?.filter(|(_, i)| !i.expired(now)))
}

/// The pending invitation of `email` to `workspace` (expired or not), if any.
pub fn pending_for(tx: &WriteTransaction, workspace: Uuid, email: &str) -> Result<Option<([u8; 32], Invitation)>, AppError> {
    let key = email_key(email);
    let hash = tx
        .open_table(INVITATIONS_BY_WORKSPACE)?
        .get((workspace.as_u128(), key.as_str()))?
        .map(|v| *v.value());
    let Some(hash) = hash else { return Ok(None) };
    let inv: Option<Invitation> = tx.row(INVITATIONS, &hash)?;
    Ok(inv.filter(|i| i.state == InvitationState::Pending).map(|i| (hash, i)))
}

/// Stores an invitation under `hash`, replacing the address's previous one in this workspace.
pub fn put(tx: &WriteTransaction, hash: &[u8; 32], inv: &Invitation) -> Result<(), AppError> {
    let key = email_key(&inv.email);
    let mut by_ws = tx.open_table(INVITATIONS_BY_WORKSPACE)?;
    let old = by_ws
        .get((inv.workspace.as_u128(), key.as_str()))?
        .map(|v| *v.value());
    if let Some(old) = old.filter(|o| o != hash) {
        // The old link stops working.
        let mut t = tx.open_table(INVITATIONS)?;
        let prev: Option<Invitation> = one(&t, &old)?;
        if let Some(mut prev) = prev.filter(|p| p.state == InvitationState::Pending) {
            prev.state = InvitationState::Revoked;
            t.insert(&old, encode(&prev)?.as_slice())?;
        }
    }
    by_ws.insert((inv.workspace.as_u128(), key.as_str()), hash)?;
    codec::put(tx, INVITATIONS, hash, inv)
}

/// Updates an invitation in place (accepted, revoked).
pub fn update(tx: &WriteTransaction, hash: &[u8; 32], inv: &Invitation) -> Result<(), AppError> {
    codec::put(tx, INVITATIONS, hash, inv)
}

/// The pending invitations of `workspace` sent by `inviter` (id, or username for old records),
/// with their hashes, for revoking them when the inviter is blocked.
pub fn pending_sent_by(
    tx: &WriteTransaction,
    workspace: Uuid,
    inviter: Uuid,
    inviter_name: &str,
) -> Result<Vec<([u8; 32], Invitation)>, AppError> {
    let w = workspace.as_u128();
    let hashes: Vec<[u8; 32]> = {
        let by_ws = tx.open_table(INVITATIONS_BY_WORKSPACE)?;
        let mut out = Vec::new();
        for row in by_ws.range((w, "")..)? {
            let (k, v) = row?;
            if k.value().0 != w {
                break;
            }
            out.push(*v.value());
        }
        out
    };
    let t = tx.open_table(INVITATIONS)?;
    let mut out = Vec::new();
    for h in hashes {
        let Some(v) = t.get(&h)? else { continue };
        let i: Invitation = decode(v.value())?;
        let sent_by = match i.inviter_id {
            Some(id) => id == inviter,
            None => i.inviter == inviter_name,
        };
        if sent_by && i.state == InvitationState::Pending {
            out.push((h, i));
        }
    }
    Ok(out)
}

pub fn by_token(tx: &impl super::Reads, token: &str) -> Result<Option<Invitation>, AppError> {
    tx.row(INVITATIONS, &hash_token(token))
}

/// The live invitations addressed to `email`, in every workspace. (A scan of the live
/// invitations index: there are few at a time.)
pub fn pending_for_email(
    tx: &ReadTransaction,
    email: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Invitation>, AppError> {
    let key = email_key(email);
    let by_ws = tx.open_table(INVITATIONS_BY_WORKSPACE)?;
    let t = tx.open_table(INVITATIONS)?;
    let mut out = Vec::new();
    for row in by_ws.iter()? {
        let (k, v) = row?;
        if k.value().1 != key {
            continue;
        }
        if let Some(v) = t.get(v.value())? {
            let inv: Invitation = decode(v.value())?;
            if inv.state == InvitationState::Pending && !inv.expired(now) {
                out.push(inv);
            }
        }
    }
    Ok(out)
}

/// Pending invitations of a workspace (expired ones included, marked), by email.
pub fn pending(
    tx: &ReadTransaction,
    workspace: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<InvitationView>, AppError> {
    let by_ws = tx.open_table(INVITATIONS_BY_WORKSPACE)?;
    let t = tx.open_table(INVITATIONS)?;
    let ws = workspace.as_u128();
    let mut out = Vec::new();
    for row in by_ws.range((ws, "")..=(ws, "\u{10ffff}"))? {
        let hash = *row?.1.value();
        if let Some(v) = t.get(&hash)? {
            let inv: Invitation = decode(v.value())?;
            if inv.state == InvitationState::Pending {
                out.push(inv.view(now));
            }
        }
    }
    Ok(out)
}
