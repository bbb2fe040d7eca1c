//! Every table of the MPDP data file, in one place.
//!
//! Names carry a version (`accounts-1`): a change of layout gets a new name and a migration.
//! Values are explicitly encoded bytes (see `codec`), decoded with `Result`.
//! Ids are UUIDs stored as `u128` (big-endian order of the UUID's bytes).

use redb::TableDefinition;

/// Key: a setting name (`"schema_version"`). Value: its number.
pub const META: TableDefinition<&str, u64> = TableDefinition::new("meta-1");

/// Key: the name of an applied migration. Value: when it was applied (Unix milliseconds).
pub const MIGRATIONS: TableDefinition<&str, i64> = TableDefinition::new("migrations-1");

/// Key: account id. Value: `Account` as JSON.
pub const ACCOUNTS: TableDefinition<u128, &[u8]> = TableDefinition::new("accounts-1");

/// Key: case-folded email. Value: account id. Unique.
pub const ACCOUNTS_BY_EMAIL: TableDefinition<&str, u128> =
    TableDefinition::new("accounts-by-email-1");

/// Key: case-folded username. Value: account id. Unique.
pub const ACCOUNTS_BY_USERNAME: TableDefinition<&str, u128> =
    TableDefinition::new("accounts-by-username-1");

/// Key: session id as found in the cookie — retired by migration 0004, which moved every
/// session to `SESSIONS` under its hashed id. Kept only so the migration can read it.
pub const SESSIONS_V1: TableDefinition<i128, &[u8]> = TableDefinition::new("sessions-1");

/// Retired with `SESSIONS_V1`.
pub const SESSIONS_BY_EXPIRY_V1: TableDefinition<(i64, i128), ()> =
    TableDefinition::new("sessions-by-expiry-1");

/// Key: the session's handle — the first 16 bytes of SHA-256 of the session id, so a copy of
/// the data file holds no usable cookie. Value: expiry (Unix seconds, 8 bytes big-endian)
/// followed by the session data as JSON, its keys in order.
pub const SESSIONS: TableDefinition<u128, &[u8]> = TableDefinition::new("sessions-2");

/// Key: (expiry in Unix seconds, session handle). Value: none. Lets expired sessions be purged
/// without scanning the live ones.
pub const SESSIONS_BY_EXPIRY: TableDefinition<(i64, u128), ()> =
    TableDefinition::new("sessions-by-expiry-2");

/// Key: (account id, session handle). Value: none. The signed-in sessions of an account, for
/// "your sessions" and for signing them out.
pub const SESSIONS_BY_ACCOUNT: TableDefinition<(u128, u128), ()> =
    TableDefinition::new("sessions-by-account-1");

/// Key: SHA-256 of an emailed account token (email verification, email change, password
/// reset); the token itself is only in the email. Value: `AccountToken` as JSON.
pub const ACCOUNT_TOKENS: TableDefinition<&[u8; 32], &[u8]> =
    TableDefinition::new("account-tokens-1");

/// Key: (account id, purpose code: 1 verify email, 2 change email, 3 reset password). Value: the
/// hash of that account's live token for the purpose; issuing a new one retires the old.
pub const ACCOUNT_TOKENS_BY_ACCOUNT: TableDefinition<(u128, u8), &[u8; 32]> =
    TableDefinition::new("account-tokens-by-account-1");

/// Key: secret name (`"device-cookie-key"`). Value: random bytes generated on first start.
/// Never sent, logged or exported.
pub const SECRETS: TableDefinition<&str, &[u8]> = TableDefinition::new("secrets-1");

/// Key: application id. Value: `WorkspaceApplication` as JSON.
pub const APPLICATIONS: TableDefinition<u128, &[u8]> =
    TableDefinition::new("workspace-applications-1");

/// Key: (status code, created Unix ms, application id). For the operator's queue by status.
pub const APPLICATIONS_BY_STATUS: TableDefinition<(u8, i64, u128), ()> =
    TableDefinition::new("workspace-applications-by-status-1");

/// Key: (applicant account id, created Unix ms, application id). For "my applications".
pub const APPLICATIONS_BY_APPLICANT: TableDefinition<(u128, i64, u128), ()> =
    TableDefinition::new("workspace-applications-by-applicant-1");

/// Key: case-folded name of a pending application. Value: application id. Reserved the name
/// against every other account — which told anyone that someone had applied for it — until
/// migration 0008 deleted it for `PENDING_APPLICATIONS`. Kept only so that migration can read it.
pub const PENDING_NAMES: TableDefinition<&str, u128> =
    TableDefinition::new("workspace-pending-names-1");

/// Key: (applicant account id, case-folded name of a pending workspace application). Value:
/// application id. An account's pending applications: at most a few, one per name.
pub const PENDING_APPLICATIONS: TableDefinition<(u128, &str), u128> =
    TableDefinition::new("workspace-pending-applications-1");

/// Key: workspace id. Value: `Workspace` as JSON.
pub const WORKSPACES: TableDefinition<u128, &[u8]> = TableDefinition::new("workspaces-1");

/// Key: case-folded workspace name. Value: workspace id. Unique, never changes.
pub const WORKSPACES_BY_NAME: TableDefinition<&str, u128> =
    TableDefinition::new("workspaces-by-name-1");

/// Key: (workspace id, account id). Value: `Membership` as JSON.
pub const MEMBERSHIPS: TableDefinition<(u128, u128), &[u8]> = TableDefinition::new("memberships-1");

/// Key: (account id, workspace id). The workspaces of an account.
pub const MEMBERSHIPS_BY_ACCOUNT: TableDefinition<(u128, u128), ()> =
    TableDefinition::new("memberships-by-account-1");

/// Key: (case-folded email, workspace id). Value: `PendingAdmission` as JSON. A person named as
/// a representative before they had an account joins when they sign up with that email.
pub const PENDING_ADMISSIONS: TableDefinition<(&str, u128), &[u8]> =
    TableDefinition::new("pending-admissions-1");

/// Key: change request id (UUIDv7, so time-ordered). Value: `ChangeRequest` as JSON.
pub const CHANGE_REQUESTS: TableDefinition<u128, &[u8]> =
    TableDefinition::new("workspace-change-requests-1");

/// Key: message id (UUIDv7, so time-ordered). Value: `OutboxMessage` as JSON.
pub const OUTBOX: TableDefinition<u128, &[u8]> = TableDefinition::new("outbox-1");

/// Key: (next attempt Unix ms, message id). Messages still to be sent.
pub const OUTBOX_QUEUE: TableDefinition<(i64, u128), ()> = TableDefinition::new("outbox-queue-1");

/// Key: sequence number (from `META["audit_seq"]`). Value: `AuditEvent` as JSON. Append only.
pub const AUDIT: TableDefinition<u64, &[u8]> = TableDefinition::new("audit-1");

/// Key: (workspace id, sequence number). The audit events of one workspace.
pub const AUDIT_BY_WORKSPACE: TableDefinition<(u128, u64), ()> =
    TableDefinition::new("audit-by-workspace-1");

/// Key: SHA-256 of the invitation token (the token itself is only in the email). Value:
/// `Invitation` as JSON.
pub const INVITATIONS: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("invitations-1");

/// Key: (workspace id, case-folded email). Value: token hash of the latest invitation to that
/// address, so each address has at most one live invitation per workspace.
pub const INVITATIONS_BY_WORKSPACE: TableDefinition<(u128, &str), &[u8; 32]> =
    TableDefinition::new("invitations-by-workspace-1");

/// Key: (account id, sequence number). The security events of one account (sign-in, failed
/// sign-in, password and email changes, sessions revoked), shown on the account page.
pub const AUDIT_BY_ACCOUNT: TableDefinition<(u128, u64), ()> =
    TableDefinition::new("audit-by-account-1");

/// Key: App id. Value: `App` as JSON.
pub const APPS: TableDefinition<u128, &[u8]> = TableDefinition::new("apps-1");

/// Key: (workspace id, App id). The Apps of a workspace.
pub const APPS_BY_WORKSPACE: TableDefinition<(u128, u128), ()> =
    TableDefinition::new("apps-by-workspace-1");

/// Key: key id (16 hex digits). Value: `KeyRecord` as JSON (the `Key`'s fields, its upload scope
/// and holders) — never the key itself: the SHA-256 of an Accessing Key, the public half of an
/// Upload Key.
pub const APP_KEYS: TableDefinition<&str, &[u8]> = TableDefinition::new("app-keys-1");

/// Key: (App id, key id). The keys of an App.
pub const APP_KEYS_BY_APP: TableDefinition<(u128, &str), ()> =
    TableDefinition::new("app-keys-by-app-1");

/// Key: SHA-256 of an Accessing Key. Value: key id. How a bearer key is recognised.
pub const ACCESS_KEYS_BY_HASH: TableDefinition<&[u8; 32], &str> =
    TableDefinition::new("access-keys-by-hash-1");

/// Key: workspace id. Value: `PlatformKey` as JSON (the workspace's Ed25519 signing key). Its
/// private part never leaves the server.
pub const PLATFORM_KEYS: TableDefinition<u128, &[u8]> = TableDefinition::new("platform-keys-1");

/// Key: mini program id. Value: `MiniProgram` as JSON.
pub const MINI_PROGRAMS: TableDefinition<u128, &[u8]> = TableDefinition::new("mini-programs-1");

/// Key: (workspace id, mini program id). The mini programs of a workspace.
pub const MINI_PROGRAMS_BY_WORKSPACE: TableDefinition<(u128, u128), ()> =
    TableDefinition::new("mini-programs-by-workspace-1");

/// Key: mini program id. Value: its icon (PNG, JPEG or WebP, checked by content, ≤ 256 KiB).
pub const MINI_ICONS: TableDefinition<u128, &[u8]> = TableDefinition::new("mini-icons-1");

/// Key: (mini program id, account id). Value: role code (1 admin, 2 developer).
pub const ASSIGNMENTS: TableDefinition<(u128, u128), u8> = TableDefinition::new("assignments-1");

/// Key: (workspace id, account id, mini program id). A member's mini programs.
pub const ASSIGNMENTS_BY_MEMBER: TableDefinition<(u128, u128, u128), ()> =
    TableDefinition::new("assignments-by-member-1");

/// Key: (mini program id, version text). Value: `Version` as JSON; the bundle is the file named
/// by its sha256 under the data directory's `bundles/`.
pub const VERSIONS: TableDefinition<(u128, &str), &[u8]> = TableDefinition::new("versions-1");

/// Key: (key id, nonce) of a signed Studio request. Value: its time (Unix seconds). A nonce is
/// accepted once.
pub const SIGNED_NONCES: TableDefinition<(&str, &str), i64> = TableDefinition::new("signed-nonces-1");

/// Key: (time in Unix seconds, key id, nonce): the rows of `SIGNED_NONCES` in time order, so
/// forgetting the expired ones is a range delete.
pub const SIGNED_NONCES_BY_TIME: TableDefinition<(i64, &str, &str), ()> = TableDefinition::new("signed-nonces-by-time-1");

/// Key: application id (UUIDv7). Value: `Application` as JSON (publishing, removal, member
/// request, feature activation).
pub const APPROVALS: TableDefinition<u128, &[u8]> = TableDefinition::new("approvals-1");

/// Key: (workspace id, order: 1 created / 2 finished, category code or 0 for any, status code or
/// 0 for any, time in µs (0 while unfinished), application id). The Approvals list's index until
/// migration 0010 listed every list in `LISTINGS` and deleted it; kept only so that migration can.
pub const APPROVALS_INDEX: TableDefinition<(u128, u8, u8, u8, i64, u128), ()> =
    TableDefinition::new("approvals-index-1");

/// Key: (workspace id, category code or 0, status code or 0). Value: how many applications.
/// Deleted by migration 0010 for `LISTING_COUNTS`; kept only so that migration can.
pub const APPROVAL_COUNTS: TableDefinition<(u128, u8, u8), u64> =
    TableDefinition::new("approval-counts-1");

/// Key: (workspace id, subject: the mini program or the applicant, created µs, application id).
/// Value: (category code, status code, finished µs or 0). For a search by mini program or applicant.
pub const APPROVALS_BY_SUBJECT: TableDefinition<(u128, u128, i64, u128), (u8, u8, i64)> =
    TableDefinition::new("approvals-by-subject-1");

/// Key: (workspace id, applicant account id). Value: "username email", what a search matches.
pub const APPROVAL_APPLICANTS: TableDefinition<(u128, u128), &str> =
    TableDefinition::new("approval-applicants-1");

/// Key: (applicant account id, created µs, application id). "My requests", in every workspace.
pub const APPROVALS_BY_APPLICANT: TableDefinition<(u128, i64, u128), ()> =
    TableDefinition::new("approvals-by-applicant-1");

/// Key: what a pending application is about (`version:<mp>:<version>`, `removal:<mp>`,
/// `feature:<mp>:<code>`, `member:<workspace>:<account>`). Value: its id. At most one pending
/// application per key.
pub const APPROVALS_PENDING: TableDefinition<&str, u128> = TableDefinition::new("approvals-pending-1");

/// Key: (mini program id, App id). Value: `Release` as JSON — the version released to that App.
pub const RELEASES: TableDefinition<(u128, u128), &[u8]> = TableDefinition::new("releases-1");

/// Key: (account id, notification id (UUIDv7)). Value: `Notification` as JSON.
pub const NOTIFICATIONS: TableDefinition<(u128, u128), &[u8]> = TableDefinition::new("notifications-1");

/// Key: account id. Value: how many of its notifications are unread.
pub const NOTIFICATIONS_UNREAD: TableDefinition<u128, u64> = TableDefinition::new("notifications-unread-1");

/// Key: (list code, scope: the workspace, account or mini program whose list it is, or 0 for a
/// list of the whole platform, filter code (0: every row), sort number (the column's place in
/// the list's sorts), sort key bytes, row id). Value: none. Every list of the console is a range
/// of this index in display order, so a page reads its own rows and no others (`listing`).
pub const LISTINGS: TableDefinition<(u8, u128, u64, u8, &[u8], u128), ()> =
    TableDefinition::new("listings-1");

/// Key: (list code, scope, row id). Value: the listing `Row` as JSON — the filter codes and sort
/// keys the row is listed under, so a change of the row moves exactly its entries.
pub const LISTING_ROWS: TableDefinition<(u8, u128, u128), &[u8]> = TableDefinition::new("listing-rows-1");

/// Key: (list code, scope, filter code). Value: how many rows are listed under it. Kept in the
/// transaction of every write, so a list's count is one lookup.
pub const LISTING_COUNTS: TableDefinition<(u8, u128, u64), u64> = TableDefinition::new("listing-counts-1");
