//! Every table of the MPDP data file, in one place.
//!
//! Names carry a version (`accounts-1`): a change of layout gets a new name and a migration.
//! Values are explicitly encoded bytes (see `codec`), decoded with `Result`.
//! Ids are UUIDs stored as `u128` (big-endian order of the UUID's bytes).

use redb::TableDefinition;

/// Something done with every table of the data file in turn ([`each`]): a backup copies each.
pub trait Visit {
    /// Why a visit stops.
    type Error;

    fn table<K: redb::Key + 'static, V: redb::Value + 'static>(&mut self, def: TableDefinition<K, V>) -> Result<(), Self::Error>;
}

/// Defines every table once: its constant, and its place in [`each`] and [`NAMES`].
macro_rules! tables {
    ($($(#[$doc:meta])* $name:ident: $k:ty => $v:ty = $file:literal;)*) => {
        $($(#[$doc])* pub const $name: TableDefinition<$k, $v> = TableDefinition::new($file);)*

        /// Calls `visit` with every table of the data file, in the order they are defined.
        pub fn each<T: Visit>(visit: &mut T) -> Result<(), T::Error> {
            $(visit.table($name)?;)*
            Ok(())
        }

        /// The name of every table of the data file.
        pub const NAMES: &[&str] = &[$($file),*];
    };
}

tables! {
    /// Key: a setting name (`"schema_version"`). Value: its number.
    META: &str => u64 = "meta-1";

    /// Key: the name of an applied migration. Value: when it was applied (Unix milliseconds).
    MIGRATIONS: &str => i64 = "migrations-1";

    /// Key: account id. Value: `Account` as JSON.
    ACCOUNTS: u128 => &[u8] = "accounts-1";

    /// Key: case-folded email. Value: account id. Unique.
    ACCOUNTS_BY_EMAIL: &str => u128 = "accounts-by-email-1";

    /// Key: case-folded username. Value: account id. Unique.
    ACCOUNTS_BY_USERNAME: &str => u128 = "accounts-by-username-1";

    /// Key: session id as found in the cookie — retired by migration 0004, which moved every
    /// session to `SESSIONS` under its hashed id. Kept only so the migration can read it.
    SESSIONS_V1: i128 => &[u8] = "sessions-1";

    /// Retired with `SESSIONS_V1`.
    SESSIONS_BY_EXPIRY_V1: (i64, i128) => () = "sessions-by-expiry-1";

    /// Key: the session's handle — the first 16 bytes of SHA-256 of the session id, so a copy of
    /// the data file holds no usable cookie. Value: expiry (Unix seconds, 8 bytes big-endian)
    /// followed by the session data as JSON, its keys in order.
    SESSIONS: u128 => &[u8] = "sessions-2";

    /// Key: (expiry in Unix seconds, session handle). Value: none. Lets expired sessions be purged
    /// without scanning the live ones.
    SESSIONS_BY_EXPIRY: (i64, u128) => () = "sessions-by-expiry-2";

    /// Key: (account id, session handle). Value: none. The signed-in sessions of an account, for
    /// "your sessions" and for signing them out.
    SESSIONS_BY_ACCOUNT: (u128, u128) => () = "sessions-by-account-1";

    /// Key: SHA-256 of an emailed account token (email verification, email change, password
    /// reset); the token itself is only in the email. Value: `AccountToken` as JSON.
    ACCOUNT_TOKENS: &[u8; 32] => &[u8] = "account-tokens-1";

    /// Key: (account id, purpose code: 1 verify email, 2 change email, 3 reset password). Value: the
    /// hash of that account's live token for the purpose; issuing a new one retires the old.
    ACCOUNT_TOKENS_BY_ACCOUNT: (u128, u8) => &[u8; 32] = "account-tokens-by-account-1";

    /// Key: secret name (`"device-cookie-key"`). Value: random bytes generated on first start.
    /// Never sent, logged or exported.
    SECRETS: &str => &[u8] = "secrets-1";

    /// Key: application id. Value: `WorkspaceApplication` as JSON.
    APPLICATIONS: u128 => &[u8] = "workspace-applications-1";

    /// Key: (status code, created Unix ms, application id). For the operator's queue by status.
    APPLICATIONS_BY_STATUS: (u8, i64, u128) => () = "workspace-applications-by-status-1";

    /// Key: (applicant account id, created Unix ms, application id). For "my applications".
    APPLICATIONS_BY_APPLICANT: (u128, i64, u128) => () = "workspace-applications-by-applicant-1";

    /// Key: case-folded name of a pending application. Value: application id. Reserved the name
    /// against every other account — which told anyone that someone had applied for it — until
    /// migration 0008 deleted it for `PENDING_APPLICATIONS`. Kept only so that migration can read it.
    PENDING_NAMES: &str => u128 = "workspace-pending-names-1";

    /// Key: (applicant account id, case-folded name of a pending workspace application). Value:
    /// application id. An account's pending applications: at most a few, one per name.
    PENDING_APPLICATIONS: (u128, &str) => u128 = "workspace-pending-applications-1";

    /// Key: workspace id. Value: `Workspace` as JSON.
    WORKSPACES: u128 => &[u8] = "workspaces-1";

    /// Key: case-folded workspace name. Value: workspace id. Unique, never changes.
    WORKSPACES_BY_NAME: &str => u128 = "workspaces-by-name-1";

    /// Key: (workspace id, account id). Value: `Membership` as JSON.
    MEMBERSHIPS: (u128, u128) => &[u8] = "memberships-1";

    /// Key: (account id, workspace id). The workspaces of an account.
    MEMBERSHIPS_BY_ACCOUNT: (u128, u128) => () = "memberships-by-account-1";

    /// Key: (case-folded email, workspace id). Value: `PendingAdmission` as JSON. A person named as
    /// a representative before they had an account joins when they sign up with that email.
    PENDING_ADMISSIONS: (&str, u128) => &[u8] = "pending-admissions-1";

    /// Key: change request id (UUIDv7, so time-ordered). Value: `ChangeRequest` as JSON.
    CHANGE_REQUESTS: u128 => &[u8] = "workspace-change-requests-1";

    /// Key: message id (UUIDv7, so time-ordered). Value: `OutboxMessage` as JSON.
    OUTBOX: u128 => &[u8] = "outbox-1";

    /// Key: (next attempt Unix ms, message id). Messages still to be sent.
    OUTBOX_QUEUE: (i64, u128) => () = "outbox-queue-1";

    /// Key: sequence number (from `META["audit_seq"]`). Value: `AuditEvent` as JSON. Append only.
    AUDIT: u64 => &[u8] = "audit-1";

    /// Key: (workspace id, sequence number). The audit events of one workspace.
    AUDIT_BY_WORKSPACE: (u128, u64) => () = "audit-by-workspace-1";

    /// Key: SHA-256 of the invitation token (the token itself is only in the email). Value:
    /// `Invitation` as JSON.
    INVITATIONS: &[u8; 32] => &[u8] = "invitations-1";

    /// Key: (workspace id, case-folded email). Value: token hash of the latest invitation to that
    /// address, so each address has at most one live invitation per workspace.
    INVITATIONS_BY_WORKSPACE: (u128, &str) => &[u8; 32] = "invitations-by-workspace-1";

    /// Key: (account id, sequence number). The security events of one account (sign-in, failed
    /// sign-in, password and email changes, sessions revoked), shown on the account page.
    AUDIT_BY_ACCOUNT: (u128, u64) => () = "audit-by-account-1";

    /// Key: App id. Value: `App` as JSON.
    APPS: u128 => &[u8] = "apps-1";

    /// Key: (workspace id, App id). The Apps of a workspace.
    APPS_BY_WORKSPACE: (u128, u128) => () = "apps-by-workspace-1";

    /// Key: key id (16 hex digits). Value: `KeyRecord` as JSON (the `Key`'s fields, its upload scope
    /// and holders) — never the key itself: the SHA-256 of an Accessing Key, the public half of an
    /// Upload Key.
    APP_KEYS: &str => &[u8] = "app-keys-1";

    /// Key: (App id, key id). The keys of an App.
    APP_KEYS_BY_APP: (u128, &str) => () = "app-keys-by-app-1";

    /// Key: SHA-256 of an Accessing Key. Value: key id. How a bearer key is recognised.
    ACCESS_KEYS_BY_HASH: &[u8; 32] => &str = "access-keys-by-hash-1";

    /// Key: workspace id. Value: `PlatformKey` as JSON (the workspace's Ed25519 signing key). Its
    /// private part never leaves the server.
    PLATFORM_KEYS: u128 => &[u8] = "platform-keys-1";

    /// Key: mini program id. Value: `MiniProgram` as JSON.
    MINI_PROGRAMS: u128 => &[u8] = "mini-programs-1";

    /// Key: (workspace id, mini program id). The mini programs of a workspace.
    MINI_PROGRAMS_BY_WORKSPACE: (u128, u128) => () = "mini-programs-by-workspace-1";

    /// Key: mini program id. Value: its icon (PNG, JPEG or WebP, checked by content, ≤ 256 KiB).
    MINI_ICONS: u128 => &[u8] = "mini-icons-1";

    /// Key: (mini program id, account id). Value: role code (1 admin, 2 developer).
    ASSIGNMENTS: (u128, u128) => u8 = "assignments-1";

    /// Key: (workspace id, account id, mini program id). A member's mini programs.
    ASSIGNMENTS_BY_MEMBER: (u128, u128, u128) => () = "assignments-by-member-1";

    /// Key: (mini program id, version text). Value: `Version` as JSON; the bundle is the file named
    /// by its sha256 under the data directory's `bundles/`.
    VERSIONS: (u128, &str) => &[u8] = "versions-1";

    /// Key: workspace id. Value: the bytes of the bundles its versions hold (every version that
    /// was stored, retired ones too: their bundles stay), counted in the write that adds one.
    BUNDLE_BYTES: u128 => u64 = "bundle-bytes-1";

    /// Key: (key id, nonce) of a signed Studio request. Value: its time (Unix seconds). A nonce is
    /// accepted once.
    SIGNED_NONCES: (&str, &str) => i64 = "signed-nonces-1";

    /// Key: (time in Unix seconds, key id, nonce): the rows of `SIGNED_NONCES` in time order, so
    /// forgetting the expired ones is a range delete.
    SIGNED_NONCES_BY_TIME: (i64, &str, &str) => () = "signed-nonces-by-time-1";

    /// Key: application id (UUIDv7). Value: `Application` as JSON (publishing, removal, member
    /// request, feature activation).
    APPROVALS: u128 => &[u8] = "approvals-1";

    /// Key: (workspace id, order: 1 created / 2 finished, category code or 0 for any, status code or
    /// 0 for any, time in µs (0 while unfinished), application id). The Approvals list's index until
    /// migration 0010 listed every list in `LISTINGS` and deleted it; kept only so that migration can.
    APPROVALS_INDEX: (u128, u8, u8, u8, i64, u128) => () = "approvals-index-1";

    /// Key: (workspace id, category code or 0, status code or 0). Value: how many applications.
    /// Deleted by migration 0010 for `LISTING_COUNTS`; kept only so that migration can.
    APPROVAL_COUNTS: (u128, u8, u8) => u64 = "approval-counts-1";

    /// Key: (workspace id, subject: the mini program or the applicant, created µs, application id).
    /// Value: (category code, status code, finished µs or 0). For a search by mini program or applicant.
    APPROVALS_BY_SUBJECT: (u128, u128, i64, u128) => (u8, u8, i64) = "approvals-by-subject-1";

    /// Key: (workspace id, applicant account id). Value: "username email", what a search matches.
    APPROVAL_APPLICANTS: (u128, u128) => &str = "approval-applicants-1";

    /// Key: (applicant account id, created µs, application id). "My requests", in every workspace.
    APPROVALS_BY_APPLICANT: (u128, i64, u128) => () = "approvals-by-applicant-1";

    /// Key: what a pending application is about (`version:<mp>:<version>`, `removal:<mp>`,
    /// `feature:<mp>:<code>`, `member:<workspace>:<account>`). Value: its id. At most one pending
    /// application per key.
    APPROVALS_PENDING: &str => u128 = "approvals-pending-1";

    /// Key: (mini program id, App id). Value: `Release` as JSON — the version released to that App.
    RELEASES: (u128, u128) => &[u8] = "releases-1";

    /// Key: (App id, mini program id, version, hour since the Unix epoch). Value: the launches,
    /// failed launches and crashes the App's installs reported for that version in that hour.
    FLEET_HOURS: (u128, u128, &str, i64) => (u64, u64, u64) = "fleet-hours-1";

    /// Key: (App id, mini program id, version, day since the Unix epoch). Value: the estimator of
    /// the distinct installs that reported that version that day, as JSON (HyperLogLog++).
    FLEET_DAYS: (u128, u128, &str, i64) => &[u8] = "fleet-days-1";

    /// Key: (account id, notification id (UUIDv7)). Value: `Notification` as JSON.
    NOTIFICATIONS: (u128, u128) => &[u8] = "notifications-1";

    /// Key: account id. Value: how many of its notifications are unread.
    NOTIFICATIONS_UNREAD: u128 => u64 = "notifications-unread-1";

    /// Key: (list code, scope: the workspace, account or mini program whose list it is, or 0 for a
    /// list of the whole platform, filter code (0: every row), sort number (the column's place in
    /// the list's sorts), sort key bytes, row id). Value: none. Every list of the console is a range
    /// of this index in display order, so a page reads its own rows and no others (`listing`).
    LISTINGS: (u8, u128, u64, u8, &[u8], u128) => () = "listings-1";

    /// Key: (list code, scope, row id). Value: the listing `Row` as JSON — the filter codes and sort
    /// keys the row is listed under, so a change of the row moves exactly its entries.
    LISTING_ROWS: (u8, u128, u128) => &[u8] = "listing-rows-1";

    /// Key: (list code, scope, filter code). Value: how many rows are listed under it. Kept in the
    /// transaction of every write, so a list's count is one lookup.
    LISTING_COUNTS: (u8, u128, u64) => u64 = "listing-counts-1";

    /// Key: `"state"`. Value: `PublishState` as JSON — what is owed to the release target
    /// (raised in every commit that changes what containers are served) and how publishing goes.
    PUBLISH: &str => &[u8] = "publish-1";

    /// Key: an object's path under the release target's prefix. Value: `PublishedObject` as
    /// JSON — what the publisher wrote there.
    PUBLISHED: &str => &[u8] = "published-1";

    /// Key: account id. Value: `SecondFactor` as JSON — the account's authenticator secret (or
    /// one being enrolled), the hashes of its unused recovery codes, and its recent failures.
    SECOND_FACTORS: u128 => &[u8] = "second-factors-1";

    /// Key: hex SHA-256 of a personal access token (the token itself is shown once, never
    /// stored). Value: `AccessToken` as JSON.
    ACCESS_TOKENS: &str => &[u8] = "access-tokens-1";

    /// Key: (account id, token id). Value: the token's hash. A person's tokens, oldest first.
    ACCESS_TOKENS_BY_ACCOUNT: (u128, u128) => &str = "access-tokens-by-account-1";

    /// Key: (session handle, kind). Value: `ShownOnce` as JSON — secrets just made (recovery
    /// codes, an access token) waiting, at most ten minutes, for that session's next page.
    SHOWN_ONCE: (u128, u8) => &[u8] = "shown-once-1";

    /// Key: hex SHA-256 of a device code of `mpdp studio login` (RFC 8628). Value:
    /// `DeviceGrant` as JSON — the request, and the person's decision once made.
    DEVICE_GRANTS: &str => &[u8] = "device-grants-1";

    /// Key: a device grant's user code (`XXXX-XXXX`). Value: the hash its grant is kept under.
    DEVICE_GRANTS_BY_USER_CODE: &str => &str = "device-grants-by-user-code-1";

    /// Key: a single sign-on provider's id. Value: `SsoProvider` as JSON.
    SSO_PROVIDERS: &str => &[u8] = "sso-providers-1";

    /// Key: (provider id, the provider's subject identifier). Value: the account it signs in.
    SSO_IDENTITIES: (&str, &str) => u128 = "sso-identities-1";

    /// Key: (provider id, workspace id): the workspaces that use a provider.
    SSO_WORKSPACES: (&str, u128) => () = "sso-workspaces-1";

    /// Key: (account id, passkey id). Value: `StoredPasskey` as JSON — the credential's public
    /// key and signature counter, its name, and when it was last used.
    PASSKEYS: (u128, u128) => &[u8] = "passkeys-1";

    /// Key: a passkey ceremony's id (kept in the browser's session). Value: `Ceremony` as JSON —
    /// the challenge a registration or sign-in is waiting to be answered, taken out once.
    PASSKEY_CEREMONIES: &str => &[u8] = "passkey-ceremonies-1";

    /// Key: a webhook endpoint's id. Value: `WebhookEndpoint` as JSON — its URL, events and
    /// signing secret.
    WEBHOOK_ENDPOINTS: u128 => &[u8] = "webhook-endpoints-1";

    /// Key: (workspace id, endpoint id): a workspace's webhook endpoints.
    WEBHOOK_ENDPOINTS_BY_WORKSPACE: (u128, u128) => () = "webhook-endpoints-by-workspace-1";

    /// Key: a delivery's id. Value: `WebhookDelivery` as JSON — the event's body, its state and
    /// the record of its attempts.
    WEBHOOK_DELIVERIES: u128 => &[u8] = "webhook-deliveries-1";

    /// Key: (when the next attempt is due, Unix milliseconds; delivery id): the deliveries
    /// waiting to be sent.
    WEBHOOK_QUEUE: (i64, u128) => () = "webhook-queue-1";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_has_its_own_versioned_name() {
        let mut names = NAMES.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), NAMES.len(), "two tables share a name");
        for name in NAMES {
            let (_, version) = name.rsplit_once('-').expect("a name ends in -<version>");
            assert!(version.parse::<u32>().is_ok(), "{name} has no version");
        }
        struct Count(usize);
        impl Visit for Count {
            type Error = std::convert::Infallible;

            fn table<K: redb::Key + 'static, V: redb::Value + 'static>(&mut self, _: TableDefinition<K, V>) -> Result<(), Self::Error> {
                self.0 += 1;
                Ok(())
            }
        }
        let mut count = Count(0);
        each(&mut count).unwrap();
        assert_eq!(count.0, NAMES.len());
    }
}
