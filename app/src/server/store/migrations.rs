//! Named, idempotent migrations, each applied in its own write transaction and recorded in
//! `MIGRATIONS` in that same transaction, so a crash never leaves one half-applied.

use redb::{Database, WriteTransaction};

use redb::ReadableTable;

use super::tables::*;
use super::StoreError;

pub type Migration = (
    &'static str,
    fn(&WriteTransaction) -> Result<(), redb::Error>,
);

/// The migrations of this build, in order. Append only; never rename or remove one.
pub const MIGRATIONS_LIST: &[Migration] = &[
    ("0001-accounts-and-sessions", create_accounts_and_sessions),
    ("0002-workspaces-mail-audit", create_workspaces_mail_audit),
    ("0003-invitations", create_invitations),
];

fn create_accounts_and_sessions(tx: &WriteTransaction) -> Result<(), redb::Error> {
    tx.open_table(ACCOUNTS)?;
    tx.open_table(ACCOUNTS_BY_EMAIL)?;
    tx.open_table(ACCOUNTS_BY_USERNAME)?;
    tx.open_table(SESSIONS)?;
    tx.open_table(SESSIONS_BY_EXPIRY)?;
    Ok(())
}

fn create_workspaces_mail_audit(tx: &WriteTransaction) -> Result<(), redb::Error> {
    tx.open_table(APPLICATIONS)?;
    tx.open_table(APPLICATIONS_BY_STATUS)?;
    tx.open_table(APPLICATIONS_BY_APPLICANT)?;
    tx.open_table(PENDING_NAMES)?;
    tx.open_table(WORKSPACES)?;
    tx.open_table(WORKSPACES_BY_NAME)?;
    tx.open_table(MEMBERSHIPS)?;
    tx.open_table(MEMBERSHIPS_BY_ACCOUNT)?;
    tx.open_table(PENDING_ADMISSIONS)?;
    tx.open_table(CHANGE_REQUESTS)?;
    tx.open_table(OUTBOX)?;
    tx.open_table(OUTBOX_QUEUE)?;
    tx.open_table(AUDIT)?;
    tx.open_table(AUDIT_BY_WORKSPACE)?;
    Ok(())
}

fn create_invitations(tx: &WriteTransaction) -> Result<(), redb::Error> {
    tx.open_table(INVITATIONS)?;
    tx.open_table(INVITATIONS_BY_WORKSPACE)?;
    Ok(())
}

/// Applies every migration of `list` not yet recorded; returns the names applied now.
pub fn run(db: &Database, list: &[Migration]) -> Result<Vec<&'static str>, StoreError> {
    let mut applied = Vec::new();
    for (name, migrate) in list {
        let tx = db.begin_write().map_err(redb::Error::from)?;
        let done = tx
            .open_table(MIGRATIONS)
            .map_err(redb::Error::from)?
            .get(*name)
            .map_err(redb::Error::from)?
            .is_some();
        if done {
            tx.abort().map_err(redb::Error::from)?;
            continue;
        }
        migrate(&tx).map_err(|e| StoreError::Migration(name.to_string(), e.to_string()))?;
        tx.open_table(MIGRATIONS)
            .map_err(redb::Error::from)?
            .insert(*name, chrono::Utc::now().timestamp_millis())
            .map_err(redb::Error::from)?;
        tx.commit().map_err(redb::Error::from)?;
        tracing::info!(migration = name, "applied migration");
        applied.push(*name);
    }
    Ok(applied)
}
