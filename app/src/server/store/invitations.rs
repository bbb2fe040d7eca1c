//! Invitations to join a workspace. Only the SHA-256 of a token is stored; the token travels in
//! the email's link.

use chrono::{DateTime, Utc};
use redb::{ReadTransaction, ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::codec::{decode, encode};
use super::tables::{INVITATIONS, INVITATIONS_BY_WORKSPACE};
use crate::model::account::email_key;
use crate::model::workspace::{InvitationView, Role};
use crate::model::AppError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum InvitationState {
    Pending,
    Accepted,
    Revoked,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Invitation {
    pub workspace: Uuid,
    pub workspace_name: String,
    pub email: String,
    pub role: Role,
    pub inviter: String,
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

/// A new random token (256 bits, hex) and its hash.
pub fn new_token() -> (String, [u8; 32]) {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let hash = hash_token(&token);
    (token, hash)
}

pub fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.trim().as_bytes()).into()
}

/// The live (pending, unexpired) invitation of `email` to `workspace`, if any.
pub fn live_for(
    tx: &WriteTransaction,
    workspace: Uuid,
    email: &str,
    now: DateTime<Utc>,
) -> Result<Option<([u8; 32], Invitation)>, AppError> {
    let key = email_key(email);
    let hash = tx
        .open_table(INVITATIONS_BY_WORKSPACE)?
        .get((workspace.as_u128(), key.as_str()))?
        .map(|v| *v.value());
    let Some(hash) = hash else { return Ok(None) };
    let inv: Option<Invitation> = {
        let t = tx.open_table(INVITATIONS)?;
        let v = t.get(&hash)?;
        v.map(|v| decode(v.value())).transpose()?
    };
    Ok(inv
        .filter(|i| i.state == InvitationState::Pending && !i.expired(now))
        .map(|i| (hash, i)))
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
        let prev: Option<Invitation> = t.get(&old)?.map(|v| decode(v.value())).transpose()?;
        if let Some(mut prev) = prev.filter(|p| p.state == InvitationState::Pending) {
            prev.state = InvitationState::Revoked;
            t.insert(&old, encode(&prev)?.as_slice())?;
        }
    }
    by_ws.insert((inv.workspace.as_u128(), key.as_str()), hash)?;
    tx.open_table(INVITATIONS)?
        .insert(hash, encode(inv)?.as_slice())?;
    Ok(())
}

/// Updates an invitation in place (accepted, revoked).
pub fn update(tx: &WriteTransaction, hash: &[u8; 32], inv: &Invitation) -> Result<(), AppError> {
    tx.open_table(INVITATIONS)?
        .insert(hash, encode(inv)?.as_slice())?;
    Ok(())
}

pub fn by_token(tx: &ReadTransaction, token: &str) -> Result<Option<Invitation>, AppError> {
    let t = tx.open_table(INVITATIONS)?;
    let v = t.get(&hash_token(token))?;
    v.map(|v| decode(v.value())).transpose()
}

pub fn by_token_for_update(
    tx: &WriteTransaction,
    token: &str,
) -> Result<Option<([u8; 32], Invitation)>, AppError> {
    let hash = hash_token(token);
    let t = tx.open_table(INVITATIONS)?;
    let v = t.get(&hash)?;
    Ok(v.map(|v| decode(v.value())).transpose()?.map(|i| (hash, i)))
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
