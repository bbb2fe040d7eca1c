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

/// Key: session id. Value: expiry (Unix seconds, 8 bytes big-endian) followed by the session
/// data as JSON.
pub const SESSIONS: TableDefinition<i128, &[u8]> = TableDefinition::new("sessions-1");

/// Key: (expiry in Unix seconds, session id). Value: none. Lets expired sessions be purged
/// without scanning the live ones.
pub const SESSIONS_BY_EXPIRY: TableDefinition<(i64, i128), ()> =
    TableDefinition::new("sessions-by-expiry-1");
