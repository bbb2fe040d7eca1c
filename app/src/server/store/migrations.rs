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
    ("0004-verified-email-hashed-sessions", verified_email_hashed_sessions),
    ("0005-apps-keys-platform-keys", apps_keys_platform_keys),
    ("0006-mini-programs-versions", mini_programs_versions),
    ("0007-approvals-releases-notifications", approvals_releases_notifications),
    ("0008-pending-applications-by-applicant", pending_applications_by_applicant),
    ("0009-signed-nonces-by-time", signed_nonces_by_time),
    ("0010-listings", listings),
    ("0011-release-control", release_control),
    ("0012-fleet-health", fleet_health),
    ("0013-publish-queue", publish_queue),
    ("0014-identity", identity),
    ("0015-single-sign-on", single_sign_on),
    ("0016-passkeys", passkeys),
    ("0017-webhooks", webhooks),
    ("0018-requests-follow-membership", requests_follow_membership),
    ("0019-bundle-bytes", bundle_bytes),
];

/// The bytes of bundles each workspace holds, counted from its versions.
fn bundle_bytes(tx: &WriteTransaction) -> Result<(), redb::Error> {
    super::minis::count_bundle_bytes(tx).map_err(|e| redb::Error::Corrupted(format!("bundle bytes: {e}")))
}

/// A person no longer a member of a workspace no longer lists the applications they filed there
/// among their requests.
fn requests_follow_membership(tx: &WriteTransaction) -> Result<(), redb::Error> {
    super::approvals::reindex(tx).map_err(|e| redb::Error::Corrupted(format!("requests: {e}")))
}

/// Webhook endpoints, their deliveries, and the queue of deliveries waiting.
fn webhooks(tx: &WriteTransaction) -> Result<(), redb::Error> {
    tx.open_table(WEBHOOK_ENDPOINTS)?;
    tx.open_table(WEBHOOK_ENDPOINTS_BY_WORKSPACE)?;
    tx.open_table(WEBHOOK_DELIVERIES)?;
    tx.open_table(WEBHOOK_QUEUE)?;
    Ok(())
}

/// Passkeys, and the ceremonies waiting for a browser's answer.
fn passkeys(tx: &WriteTransaction) -> Result<(), redb::Error> {
    tx.open_table(PASSKEYS)?;
    tx.open_table(PASSKEY_CEREMONIES)?;
    Ok(())
}

/// Single sign-on providers, the identities they sign in, and the workspaces that use them.
fn single_sign_on(tx: &WriteTransaction) -> Result<(), redb::Error> {
    tx.open_table(SSO_PROVIDERS)?;
    tx.open_table(SSO_IDENTITIES)?;
    tx.open_table(SSO_WORKSPACES)?;
    Ok(())
}

/// Second factors, personal access tokens, secrets waiting to be shown once, and the device
/// grants of `mpdp studio login`.
fn identity(tx: &WriteTransaction) -> Result<(), redb::Error> {
    tx.open_table(SECOND_FACTORS)?;
    tx.open_table(ACCESS_TOKENS)?;
    tx.open_table(ACCESS_TOKENS_BY_ACCOUNT)?;
    tx.open_table(SHOWN_ONCE)?;
    tx.open_table(DEVICE_GRANTS)?;
    tx.open_table(DEVICE_GRANTS_BY_USER_CODE)?;
    Ok(())
}

/// What is owed to the release target, and what it holds.
fn publish_queue(tx: &WriteTransaction) -> Result<(), redb::Error> {
    tx.open_table(PUBLISH)?;
    tx.open_table(PUBLISHED)?;
    Ok(())
}

/// What installs report about the versions they run, by hour and by day.
fn fleet_health(tx: &WriteTransaction) -> Result<(), redb::Error> {
    tx.open_table(FLEET_HOURS)?;
    tx.open_table(FLEET_DAYS)?;
    Ok(())
}

/// A release holds a stable version, a candidate rolling out and the versions released before:
/// each release of the first shape (one version per App) becomes a stable.
fn release_control(tx: &WriteTransaction) -> Result<(), redb::Error> {
    super::releases::to_release_control(tx).map_err(|e| redb::Error::Corrupted(format!("release control: {e}")))
}

/// Lists every row of every list again from the tables that hold them (each list's module knows
/// its rows; the listing index knows none of them).
fn reindex_all(tx: &WriteTransaction) -> Result<(), crate::model::AppError> {
    super::accounts::reindex(tx)?;
    super::members::reindex(tx)?;
    super::audit::reindex(tx)?;
    super::outbox::reindex(tx)?;
    super::workspaces::reindex(tx)?;
    super::workspace_applications::reindex(tx)?;
    super::change_requests::reindex(tx)?;
    super::approvals::reindex(tx)?;
    super::minis::reindex(tx)?;
    Ok(())
}

/// Every list of the console is read from one index in display order (`listing`): the rows that
/// exist are listed, and the Approvals list's own index and counts, which it replaces, are deleted.
fn listings(tx: &WriteTransaction) -> Result<(), redb::Error> {
    tx.open_table(LISTINGS)?;
    tx.open_table(LISTING_ROWS)?;
    tx.open_table(LISTING_COUNTS)?;
    reindex_all(tx).map_err(|e| redb::Error::Corrupted(format!("listings: {e}")))?;
    tx.delete_table(APPROVALS_INDEX)?;
    tx.delete_table(APPROVAL_COUNTS)?;
    Ok(())
}

/// A pending workspace application no longer reserves its name against other accounts: the
/// pending ones are indexed by applicant instead (`PENDING_APPLICATIONS`), and `PENDING_NAMES`
/// is deleted.
fn pending_applications_by_applicant(tx: &WriteTransaction) -> Result<(), redb::Error> {
    let pending = crate::model::workspace::ApplicationStatus::Pending.code();
    let ids: Vec<u128> = {
        let t = tx.open_table(APPLICATIONS_BY_STATUS)?;
        let mut out = Vec::new();
        for row in t.range((pending, i64::MIN, 0)..=(pending, i64::MAX, u128::MAX))? {
            out.push(row?.0.value().2);
        }
        out
    };
    let mut index = tx.open_table(PENDING_APPLICATIONS)?;
    let applications = tx.open_table(APPLICATIONS)?;
    for id in ids {
        let Some(v) = applications.get(id)? else { continue };
        let value: serde_json::Value = serde_json::from_slice(v.value())
            .map_err(|e| redb::Error::Corrupted(format!("workspace application record: {e}")))?;
        let applicant = value["applicant"]
            .as_str()
            .and_then(|a| uuid::Uuid::parse_str(a).ok())
            .ok_or_else(|| redb::Error::Corrupted(format!("workspace application {id:032x} has no applicant")))?;
        let name = crate::model::workspace::workspace_name_key(value["name"].as_str().unwrap_or_default());
        index.insert((applicant.as_u128(), name.as_str()), id)?;
    }
    drop((index, applications));
    tx.delete_table(PENDING_NAMES)?;
    Ok(())
}

/// Indexes the signed requests' nonces by time.
fn signed_nonces_by_time(tx: &WriteTransaction) -> Result<(), redb::Error> {
    let nonces = tx.open_table(SIGNED_NONCES)?;
    let mut by_time = tx.open_table(SIGNED_NONCES_BY_TIME)?;
    for row in nonces.iter()? {
        let (k, ts) = row?;
        let (key, nonce) = k.value();
        by_time.insert((ts.value(), key, nonce), ())?;
    }
    Ok(())
}

fn approvals_releases_notifications(tx: &WriteTransaction) -> Result<(), redb::Error> {
    tx.open_table(APPROVALS)?;
    tx.open_table(APPROVALS_INDEX)?;
    tx.open_table(APPROVAL_COUNTS)?;
    tx.open_table(APPROVALS_BY_SUBJECT)?;
    tx.open_table(APPROVAL_APPLICANTS)?;
    tx.open_table(APPROVALS_BY_APPLICANT)?;
    tx.open_table(APPROVALS_PENDING)?;
    tx.open_table(RELEASES)?;
    tx.open_table(NOTIFICATIONS)?;
    tx.open_table(NOTIFICATIONS_UNREAD)?;
    Ok(())
}

fn create_accounts_and_sessions(tx: &WriteTransaction) -> Result<(), redb::Error> {
    tx.open_table(ACCOUNTS)?;
    tx.open_table(ACCOUNTS_BY_EMAIL)?;
    tx.open_table(ACCOUNTS_BY_USERNAME)?;
    tx.open_table(SESSIONS_V1)?;
    tx.open_table(SESSIONS_BY_EXPIRY_V1)?;
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

/// Email verification, hashed session ids and per-account indexes:
/// - operators are verified (they were made at the command line by whoever runs the server);
///   every other existing account starts unverified and proves its address by the emailed link;
/// - every live session moves to `SESSIONS` under the hash of its id (nobody is signed out),
///   indexed by account; the old session tables are deleted.
fn verified_email_hashed_sessions(tx: &WriteTransaction) -> Result<(), redb::Error> {
    tx.open_table(ACCOUNT_TOKENS)?;
    tx.open_table(ACCOUNT_TOKENS_BY_ACCOUNT)?;
    tx.open_table(SECRETS)?;
    tx.open_table(AUDIT_BY_ACCOUNT)?;
    {
        let mut accounts = tx.open_table(ACCOUNTS)?;
        let mut updates = Vec::new();
        for row in accounts.iter()? {
            let (k, v) = row?;
            let mut value: serde_json::Value = serde_json::from_slice(v.value())
                .map_err(|e| redb::Error::Corrupted(format!("account record: {e}")))?;
            let operator = value["is_operator"].as_bool().unwrap_or(false);
            value["email_verified"] = serde_json::Value::Bool(operator);
            updates.push((k.value(), serde_json::to_vec(&value).expect("JSON encodes")));
        }
        for (k, v) in updates {
            accounts.insert(k, v.as_slice())?;
        }
    }
    let old: Vec<(i128, Vec<u8>)> = {
        let t = tx.open_table(SESSIONS_V1)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            let (k, v) = row?;
            out.push((k.value(), v.value().to_vec()));
        }
        out
    };
    for (id, bytes) in old {
        super::sessions::migrate_v1(tx, id, &bytes)?;
    }
    tx.delete_table(SESSIONS_V1)?;
    tx.delete_table(SESSIONS_BY_EXPIRY_V1)?;
    Ok(())
}

/// App Manage: the tables of Apps and their keys, and a platform signing key for every existing
/// workspace (new workspaces get theirs when generated).
fn apps_keys_platform_keys(tx: &WriteTransaction) -> Result<(), redb::Error> {
    tx.open_table(APPS)?;
    tx.open_table(APPS_BY_WORKSPACE)?;
    tx.open_table(APP_KEYS)?;
    tx.open_table(APP_KEYS_BY_APP)?;
    tx.open_table(ACCESS_KEYS_BY_HASH)?;
    tx.open_table(PLATFORM_KEYS)?;
    let ids: Vec<u128> = {
        let t = tx.open_table(WORKSPACES)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            out.push(row?.0.value());
        }
        out
    };
    for id in ids {
        super::apps::ensure_platform_key(tx, uuid::Uuid::from_u128(id))
            .map_err(|e| redb::Error::Corrupted(format!("platform key: {e}")))?;
    }
    Ok(())
}

/// Mini programs, their members, versions and the nonces of signed Studio requests.
fn mini_programs_versions(tx: &WriteTransaction) -> Result<(), redb::Error> {
    tx.open_table(MINI_PROGRAMS)?;
    tx.open_table(MINI_PROGRAMS_BY_WORKSPACE)?;
    tx.open_table(MINI_ICONS)?;
    tx.open_table(ASSIGNMENTS)?;
    tx.open_table(ASSIGNMENTS_BY_MEMBER)?;
    tx.open_table(VERSIONS)?;
    tx.open_table(SIGNED_NONCES)?;
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
