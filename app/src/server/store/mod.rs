//! The embedded redb store: one data file, opened once per process.
//!
//! redb is blocking, so every call from async code goes through [`Store::read`] /
//! [`Store::write`], which run on tokio's blocking pool. One `write` is one use case: it commits
//! only when the closure returns `Ok`, so a use case is atomic.
//!
//! Writes to a file are group-committed: each use case commits without an fsync (redb's
//! `Durability::None`, which keeps the writer lock only for the work itself), then waits until a
//! durable commit covers it. One waiter at a time makes that durable commit — an empty write
//! transaction with `Durability::Immediate`, which persists every commit before it — and every
//! use case that committed meanwhile is released by the same fsync. A `write` returns (and a
//! request is acknowledged) only once its data is on disk, so nothing acknowledged is lost, and
//! concurrent requests share fsyncs instead of queueing one each.

pub mod access_tokens;
pub mod accounts;
pub mod admissions;
pub mod approvals;
pub mod apps;
pub mod audit;
pub mod bundles;
pub mod change_requests;
pub mod codec;
pub mod device_grants;
pub mod effects;
pub mod files;
pub mod fleet;
#[cfg(test)]
mod golden;
pub mod invitations;
pub mod listing;
pub mod maintenance;
pub mod members;
pub mod migrations;
pub mod minis;
pub mod notifications;
pub mod outbox;
pub mod publish;
pub mod releases;
pub mod second_factor;
pub mod sessions;
pub mod shown_once;
pub mod sso;
pub mod passkeys;
pub mod webhooks;
pub mod secrets;
pub mod tables;
pub mod tokens;
pub mod workspace_applications;
pub mod workspaces;

use std::path::Path;
use std::sync::Arc;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};

use chrono::{DateTime, Utc};
use redb::{Database, Durability, ReadTransaction, ReadableDatabase, WriteTransaction};

use super::clock::Clock;
use crate::model::AppError;
use tables::META;

/// The schema version this build writes. A file with a higher number is refused.
pub const SCHEMA_VERSION: u64 = 10;
const SCHEMA_KEY: &str = "schema_version";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the data file {0} is in use by another running mpdp (it is locked). Stop that process first, or choose another --data-dir."
    )]
    AlreadyOpen(String),
    #[error(
        "the data file was written by a newer MPDP (schema version {found}; this build understands up to {supported}). Run the newer MPDP, or restore a backup made by this version."
    )]
    TooNew { found: u64, supported: u64 },
    #[error("migration {0} failed: {1}")]
    Migration(String, String),
    #[error("database error: {0}")]
    Db(#[from] redb::Error),
    /// The data file cannot be used as it is (a symbolic link, not a regular file …).
    #[error("{0}")]
    DataFile(String),
}

#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
    /// `None` for the in-memory backend, where there is nothing to fsync.
    group: Option<Arc<GroupCommit>>,
    /// Told of each commit's effects once it is on disk (see [`effects`]).
    after_commit: Arc<std::sync::RwLock<Option<effects::Dispatcher>>>,
    /// The server's clock: a write transaction's time (see [`now`]).
    clock: Clock,
}

/// Reading a table, alike in a read transaction and in a write transaction (which sees its own
/// writes): one function reads a record for a page and for the use case that changes it.
pub trait Reads {
    type Table<'t, K: redb::Key + 'static, V: redb::Value + 'static>: redb::ReadableTable<K, V>
    where
        Self: 't;

    fn open<K: redb::Key + 'static, V: redb::Value + 'static>(&self, def: redb::TableDefinition<K, V>) -> Result<Self::Table<'_, K, V>, AppError>;

    /// The row of the table `def` under `key`, decoded; `None` when it holds none.
    fn row<'k, K: redb::Key + 'static, T: serde::de::DeserializeOwned>(
        &self,
        def: redb::TableDefinition<K, &'static [u8]>,
        key: impl std::borrow::Borrow<K::SelfType<'k>>,
    ) -> Result<Option<T>, AppError> {
        codec::one(&self.open(def)?, key)
    }

    /// The row of the table `def` under `id` when it belongs to `workspace`: a row of another
    /// workspace is `None`, as if there were none.
    fn row_of<T: serde::de::DeserializeOwned + OfWorkspace>(
        &self,
        def: redb::TableDefinition<u128, &'static [u8]>,
        workspace: uuid::Uuid,
        id: uuid::Uuid,
    ) -> Result<Option<T>, AppError> {
        Ok(self.row::<u128, T>(def, id.as_u128())?.filter(|r| r.workspace() == workspace))
    }
}

/// A stored row that belongs to one workspace, read with [`Reads::row_of`].
pub trait OfWorkspace {
    fn workspace(&self) -> uuid::Uuid;
}

impl Reads for ReadTransaction {
    type Table<'t, K: redb::Key + 'static, V: redb::Value + 'static> = redb::ReadOnlyTable<K, V>;

    fn open<K: redb::Key + 'static, V: redb::Value + 'static>(&self, def: redb::TableDefinition<K, V>) -> Result<Self::Table<'_, K, V>, AppError> {
        Ok(self.open_table(def)?)
    }
}

impl Reads for WriteTransaction {
    type Table<'t, K: redb::Key + 'static, V: redb::Value + 'static> = redb::Table<'t, K, V>;

    fn open<K: redb::Key + 'static, V: redb::Value + 'static>(&self, def: redb::TableDefinition<K, V>) -> Result<Self::Table<'_, K, V>, AppError> {
        Ok(self.open_table(def)?)
    }
}

thread_local! {
    /// The time of the write transaction running on this thread, if one is.
    static WRITE_TIME: std::cell::Cell<Option<DateTime<Utc>>> = const { std::cell::Cell::new(None) };
}

/// A purge of what was made before a time, at most so many records in one write (the webhook
/// deliveries', the outbox's): it returns how many it deleted.
pub type Purge = fn(&WriteTransaction, DateTime<Utc>, usize) -> Result<usize, AppError>;

/// The time of the write transaction running on this thread: read once from the store's clock
/// when the transaction began, so everything one write stamps bears the same time. Outside a
/// write of a [`Store`] — a unit test on a bare database — it is the system clock.
pub fn now() -> DateTime<Utc> {
    WRITE_TIME.with(|t| t.get()).unwrap_or_else(Utc::now)
}

/// The bookkeeping of group commit (see the module's documentation).
#[derive(Default)]
struct GroupCommit {
    /// Sequence number of the last use case that committed (without fsync). Taken while the use
    /// case still holds redb's writer lock, so the numbers follow commit order.
    committed: AtomicU64,
    state: Mutex<Durable>,
    changed: Condvar,
}

#[derive(Default)]
struct Durable {
    /// Every use case numbered up to this is on disk.
    up_to: u64,
    /// A waiter is making a durable commit right now.
    flushing: bool,
    /// Durable commits made (for tests and the benchmark's curiosity).
    flushes: u64,
}

impl GroupCommit {
    /// Blocks until use case `seq` is on disk, making the durable commit if nobody else is.
    fn wait_durable(&self, db: &Database, seq: u64) -> Result<(), AppError> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if state.up_to >= seq {
                return Ok(());
            }
            if state.flushing {
                state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            state.flushing = true;
            // Every use case numbered up to `target` has committed or still holds the writer
            // lock; the durable transaction below begins after it, so it covers all of them.
            let target = self.committed.load(Ordering::SeqCst);
            drop(state);
            let outcome = flush(db);
            state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            state.flushing = false;
            if outcome.is_ok() {
                state.up_to = state.up_to.max(target);
                state.flushes += 1;
            }
            self.changed.notify_all();
            outcome?;
        }
    }
}

/// An empty durable commit: persists every non-durable commit before it.
fn flush(db: &Database) -> Result<(), AppError> {
    let mut tx = db.begin_write()?;
    tx.set_durability(Durability::Immediate).map_err(|e| {
        tracing::error!(error = %e, "storage failure");
        AppError::Internal
    })?;
    tx.commit()?;
    Ok(())
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

impl Store {
    /// Opens (or creates) the data file, refusing one that another process holds or that a newer
    /// build wrote, and applies pending migrations.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let mut builder = Database::builder();
        builder.set_repair_callback(|_| {
            tracing::warn!("the data file was not closed cleanly last time; repairing it");
        });
        // Opened here, not by redb, to create it 0600 and never through a symbolic link.
        let (file, tightened) = files::open_data_file(path, true).map_err(StoreError::DataFile)?;
        if let Some(mode) = tightened {
            tracing::warn!(file = %path.display(), was = %format!("{mode:o}"), "the data file could be read by other users; restricted it to its owner (0600)");
        }
        let backend = redb::backends::FileBackend::new(file).map_err(|e| StoreError::Db(e.into()))?;
        let db = match builder.create_with_backend(backend) {
            Ok(db) => db,
            Err(redb::DatabaseError::DatabaseAlreadyOpen) => {
                return Err(StoreError::AlreadyOpen(path.display().to_string()))
            }
            Err(e) => return Err(StoreError::Db(e.into())),
        };
        Ok(Store::init(db)?.grouped())
    }

    /// A store on redb's in-memory backend, for tests.
    pub fn memory() -> Store {
        let db = Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .expect("an in-memory database always opens");
        Store::init(db).expect("a fresh in-memory database always migrates")
    }

    fn init(db: Database) -> Result<Store, StoreError> {
        Store::init_with(db, migrations::MIGRATIONS_LIST)
    }

    pub(crate) fn init_with(
        db: Database,
        list: &[migrations::Migration],
    ) -> Result<Store, StoreError> {
        // Check the version before touching anything.
        {
            let tx = db.begin_read().map_err(redb::Error::from)?;
            match tx.open_table(META) {
                Ok(meta) => {
                    let found = meta
                        .get(SCHEMA_KEY)
                        .map_err(redb::Error::from)?
                        .map(|v| v.value())
                        .unwrap_or(0);
                    if found > SCHEMA_VERSION {
                        return Err(StoreError::TooNew {
                            found,
                            supported: SCHEMA_VERSION,
                        });
                    }
                }
                Err(redb::TableError::TableDoesNotExist(_)) => {}
                Err(e) => return Err(StoreError::Db(e.into())),
            }
        }
        migrations::run(&db, list)?;
        let tx = db.begin_write().map_err(redb::Error::from)?;
        tx.open_table(META)
            .map_err(redb::Error::from)?
            .insert(SCHEMA_KEY, SCHEMA_VERSION)
            .map_err(redb::Error::from)?;
        tx.commit().map_err(redb::Error::from)?;
        Ok(Store {
            db: Arc::new(db),
            group: None,
            after_commit: Arc::default(),
            clock: Clock::system(),
        })
    }

    /// Turns group commit on (for a file; see the module's documentation).
    fn grouped(mut self) -> Store {
        self.group = Some(Arc::new(GroupCommit::default()));
        self
    }

    /// This store with its write transactions on `clock`.
    pub fn with_clock(mut self, clock: Clock) -> Store {
        self.clock = clock;
        self
    }

    /// The clock of this store's write transactions.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// How many group (durable) commits this store has made; `None` without group commit.
    pub fn durable_commits(&self) -> Option<u64> {
        self.group.as_ref().map(|g| {
            g.state
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .flushes
        })
    }

    /// The stored schema version.
    pub fn schema_version(&self) -> Result<u64, AppError> {
        let tx = self.db.begin_read()?;
        let meta = tx.open_table(META)?;
        Ok(meta.get(SCHEMA_KEY)?.map(|v| v.value()).unwrap_or(0))
    }

    /// Runs `f` in a read transaction on the blocking pool.
    pub async fn read<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&ReadTransaction) -> Result<T, AppError> + Send + 'static,
    {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || {
            let tx = db.begin_read()?;
            f(&tx)
        })
        .await
        .map_err(join_error)?
    }

    /// Runs `f` in one write transaction on the blocking pool; commits only if `f` succeeds.
    /// Once the commit is on disk, its effects go to the dispatcher (see [`effects`]), and this
    /// returns after the dispatcher has applied them.
    pub async fn write<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTransaction) -> Result<T, AppError> + Send + 'static,
    {
        let store = self.clone();
        let (value, effects) = tokio::task::spawn_blocking(move || store.commit(f))
            .await
            .map_err(join_error)??;
        self.dispatch(effects).await;
        Ok(value)
    }

    /// [`Store::write`] for code that is already off the async executor (the command line, where
    /// no server is told: the effects are returned to the caller instead).
    pub fn write_blocking<T>(
        &self,
        f: impl FnOnce(&WriteTransaction) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        self.commit(f).map(|(value, _)| value)
    }

    /// Registers what applies every commit's effects (the server does, once, at start).
    pub fn on_commit(&self, dispatcher: effects::Dispatcher) {
        *self.after_commit.write().unwrap_or_else(|e| e.into_inner()) = Some(dispatcher);
    }

    /// Applies `effects` through the registered dispatcher, if any.
    pub async fn dispatch(&self, effects: effects::Effects) {
        if effects.is_empty() {
            return;
        }
        let dispatcher = self.after_commit.read().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(dispatcher) = dispatcher {
            dispatcher(self.clone(), effects).await;
        }
    }

    /// One write transaction, committed (and on disk) only if `f` succeeds, with what it caused.
    pub fn commit<T>(
        &self,
        f: impl FnOnce(&WriteTransaction) -> Result<T, AppError>,
    ) -> Result<(T, effects::Effects), AppError> {
        struct Reset(Option<DateTime<Utc>>);
        impl Drop for Reset {
            fn drop(&mut self) {
                WRITE_TIME.with(|t| t.set(self.0));
            }
        }
        let _reset = Reset(WRITE_TIME.with(|t| t.replace(Some(self.clock.now()))));
        let (outcome, mut effects) = effects::collect(|| self.commit_unobserved(f));
        // What only the metrics are told is counted here, once the commit holds.
        if outcome.is_ok() && std::mem::take(&mut effects.sign_in_failed) {
            crate::server::metrics::sign_in_failed();
        }
        outcome.map(|value| (value, effects))
    }

    fn commit_unobserved<T>(
        &self,
        f: impl FnOnce(&WriteTransaction) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        let mut tx = self.db.begin_write()?;
        match f(&tx).and_then(|value| {
            // What containers are served changed: owed to the release target, in this commit.
            if effects::so_far().served {
                publish::note_change(&tx)?;
            }
            Ok(value)
        }) {
            Ok(value) => {
                let Some(group) = &self.group else {
                    tx.commit()?;
                    return Ok(value);
                };
                tx.set_durability(Durability::None).map_err(|e| {
                    tracing::error!(error = %e, "storage failure");
                    AppError::Internal
                })?;
                let started = std::time::Instant::now();
                let seq = group.committed.fetch_add(1, Ordering::SeqCst) + 1;
                tx.commit()?;
                group.wait_durable(&self.db, seq)?;
                crate::server::metrics::commit(started.elapsed());
                Ok(value)
            }
            Err(e) => {
                tx.abort()?;
                Err(e)
            }
        }
    }

    /// [`Store::read`] for code that is already off the async executor.
    pub fn read_blocking<T>(
        &self,
        f: impl FnOnce(&ReadTransaction) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        let tx = self.db.begin_read()?;
        f(&tx)
    }

    /// True when a read transaction opens and the metadata table can be read (`/healthz`).
    pub async fn healthy(&self) -> bool {
        self.read(|tx| {
            let meta = tx.open_table(META)?;
            meta.get(SCHEMA_KEY)?;
            Ok(())
        })
        .await
        .is_ok()
    }

    /// Closes the database cleanly so the next open needs no repair. Waits (up to `patience`)
    /// for other holders — requests still finishing on the blocking pool — to let go.
    pub fn close(self, patience: std::time::Duration) -> Result<(), StoreError> {
        let deadline = std::time::Instant::now() + patience;
        let mut db = self.db;
        loop {
            match Arc::try_unwrap(db) {
                Ok(database) => {
                    database.close().map_err(redb::Error::from)?;
                    return Ok(());
                }
                Err(shared) if std::time::Instant::now() < deadline => {
                    db = shared;
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(_) => {
                    tracing::warn!("the database is still in use at shutdown; it will be closed when the last user drops it");
                    return Ok(());
                }
            }
        }
    }
}

fn join_error(e: tokio::task::JoinError) -> AppError {
    tracing::error!(error = %e, "a storage task failed");
    AppError::Internal
}

macro_rules! storage_errors_are_internal {
    ($($t:ty),*) => {$(
        impl From<$t> for AppError {
            fn from(e: $t) -> Self {
                tracing::error!(error = %e, "storage failure");
                AppError::Internal
            }
        }
    )*};
}
storage_errors_are_internal!(
    redb::Error,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::DatabaseError
);

#[cfg(test)]
mod tests {
    use super::*;
    use redb::backends::InMemoryBackend;
    use redb::{ReadableTable, ReadableTableMetadata};

    #[test]
    fn a_write_transaction_has_one_time_from_the_stores_clock() {
        let clock = Clock::system();
        let store = Store::memory().with_clock(clock.clone());
        clock.advance(std::time::Duration::from_secs(3600));
        let (a, b) = store.write_blocking(|_| Ok((now(), now()))).unwrap();
        assert_eq!(a, b, "everything one write stamps bears one time");
        assert!(a >= Utc::now() + chrono::Duration::minutes(59), "the store's clock, moved on");
        assert!(now() <= Utc::now(), "outside a write: the system clock");
    }

    fn memory_db() -> Database {
        Database::builder()
            .create_with_backend(InMemoryBackend::new())
            .unwrap()
    }

    #[test]
    fn concurrent_writes_to_a_file_share_fsyncs_and_all_persist() {
        const T: redb::TableDefinition<u64, u64> = redb::TableDefinition::new("test-group");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mpdp.redb");
        let store = Store::open(&path).unwrap();
        let (threads, each) = (16u64, 25u64);
        let barrier = Arc::new(std::sync::Barrier::new(threads as usize));
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (store, barrier) = (store.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    for i in 0..each {
                        store
                            .write_blocking(|tx| {
                                tx.open_table(T)?.insert(t * 1000 + i, i)?;
                                Ok(())
                            })
                            .unwrap();
                        // A refused use case in between commits nothing and breaks nothing.
                        let refused: Result<(), AppError> = store.write_blocking(|tx| {
                            tx.open_table(T)?.insert(u64::MAX, 0)?;
                            Err(AppError::conflict("test", "refused"))
                        });
                        assert!(refused.is_err());
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let flushes = store.durable_commits().unwrap();
        assert!(flushes >= 1);
        assert!(
            flushes < threads * each,
            "{flushes} durable commits for {} writes: nothing was grouped",
            threads * each
        );
        store.close(std::time::Duration::from_secs(5)).unwrap();

        let again = Store::open(&path).unwrap();
        let n = again
            .read_blocking(|tx| Ok(tx.open_table(T)?.len()?))
            .unwrap();
        assert_eq!(n, threads * each);
        drop(again);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_store_in_memory_commits_without_grouping() {
        let store = Store::memory();
        assert_eq!(store.durable_commits(), None);
    }

    #[test]
    fn fresh_store_is_at_the_current_schema_version() {
        let store = Store::memory();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    }

    fn mark(tx: &WriteTransaction) -> Result<(), redb::Error> {
        const T: redb::TableDefinition<&str, u64> = redb::TableDefinition::new("test-marks-1");
        let mut t = tx.open_table(T)?;
        let n = t.get("runs")?.map(|v| v.value()).unwrap_or(0);
        t.insert("runs", n + 1)?;
        Ok(())
    }

    fn fail(_: &WriteTransaction) -> Result<(), redb::Error> {
        Err(redb::Error::Corrupted("test migration refuses".into()))
    }

    #[test]
    fn migrations_run_once_each_and_are_recorded() {
        let db = memory_db();
        let list: &[migrations::Migration] = &[
            ("0001-accounts-and-sessions", |_| Ok(())),
            ("test-mark", mark),
        ];
        assert_eq!(
            migrations::run(&db, list).unwrap(),
            vec!["0001-accounts-and-sessions", "test-mark"]
        );
        assert!(
            migrations::run(&db, list).unwrap().is_empty(),
            "a second run applies nothing"
        );
        let tx = db.begin_read().unwrap();
        const T: redb::TableDefinition<&str, u64> = redb::TableDefinition::new("test-marks-1");
        assert_eq!(
            tx.open_table(T)
                .unwrap()
                .get("runs")
                .unwrap()
                .unwrap()
                .value(),
            1
        );
    }

    #[test]
    fn a_failing_migration_changes_nothing_and_is_not_recorded() {
        let db = memory_db();
        let list: &[migrations::Migration] = &[("test-mark", mark), ("test-fail", fail)];
        let err = migrations::run(&db, list).unwrap_err();
        assert!(err.to_string().contains("test-fail"), "{err}");
        let tx = db.begin_read().unwrap();
        let done = tx.open_table(tables::MIGRATIONS).unwrap();
        assert!(done.get("test-mark").unwrap().is_some());
        assert!(done.get("test-fail").unwrap().is_none());
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let db = memory_db();
        let tx = db.begin_write().unwrap();
        tx.open_table(META)
            .unwrap()
            .insert(SCHEMA_KEY, SCHEMA_VERSION + 1)
            .unwrap();
        tx.commit().unwrap();
        match Store::init_with(db, migrations::MIGRATIONS_LIST) {
            Err(StoreError::TooNew { found, supported }) => {
                assert_eq!((found, supported), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
            }
            other => panic!("expected TooNew, got {:?}", other.map(|_| ())),
        }
    }

    #[test]
    fn a_second_open_of_the_same_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mpdp.redb");
        let first = Store::open(&path).unwrap();
        let second = Store::open(&path);
        assert!(
            matches!(second, Err(StoreError::AlreadyOpen(_))),
            "{:?}",
            second.map(|_| ())
        );
        first.close(std::time::Duration::from_secs(1)).unwrap();
        let again = Store::open(&path).unwrap();
        assert_eq!(again.schema_version().unwrap(), SCHEMA_VERSION);
        drop(again);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A data file as schema 3 wrote it: accounts without `email_verified`, sessions under their
    /// raw ids. Migration 0004 verifies operators only and moves sessions to their hashes.
    #[test]
    fn a_schema_3_file_migrates_to_verified_operators_and_hashed_sessions() {
        use crate::server::store::sessions::handle;
        use tower_sessions::session::Id;
        let db = memory_db();
        migrations::run(&db, &migrations::MIGRATIONS_LIST[..3]).unwrap();
        let (ann, op) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        let session = Id::default();
        {
            let tx = db.begin_write().unwrap();
            {
                let mut accounts = tx.open_table(tables::ACCOUNTS).unwrap();
                for (id, name, operator) in [(ann, "ann", false), (op, "op", true)] {
                    let json = format!(r#"{{"id":"{id}","email":"{name}@example.com","username":"{name}","password_hash":"x","is_operator":{operator},"created":"2026-10-01T08:30:00Z","session_epoch":0}}"#);
                    accounts.insert(id.as_u128(), json.as_bytes()).unwrap();
                }
                let expiry = chrono::Utc::now().timestamp() + 3600;
                let mut bytes = expiry.to_be_bytes().to_vec();
                bytes.extend(format!(r#"{{"account_id":"{ann}"}}"#).as_bytes());
                tx.open_table(tables::SESSIONS_V1).unwrap().insert(session.0, bytes.as_slice()).unwrap();
                tx.open_table(tables::SESSIONS_BY_EXPIRY_V1).unwrap().insert((expiry, session.0), ()).unwrap();
                tx.open_table(META).unwrap().insert(SCHEMA_KEY, 3).unwrap();
            }
            tx.commit().unwrap();
        }
        let store = Store::init_with(db, migrations::MIGRATIONS_LIST).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        let a = store.read_blocking(|tx| accounts::get(tx, ann)).unwrap().unwrap();
        let o = store.read_blocking(|tx| accounts::get(tx, op)).unwrap().unwrap();
        assert!(!a.email_verified, "existing accounts start unverified");
        assert!(o.email_verified, "operators are verified");
        let now = chrono::Utc::now().timestamp();
        let listed = store.read_blocking(|tx| sessions::of_account(tx, ann, now)).unwrap();
        assert_eq!(listed.len(), 1, "the live session survived");
        assert_eq!(listed[0].handle, handle(&session));
        let tx = store.db.begin_read().unwrap();
        assert!(tx.open_table(tables::SESSIONS_V1).is_err(), "the raw-id table is gone");
    }

    /// A data file as schema 7 wrote it: a pending application reserving its name in
    /// `PENDING_NAMES`, a decided one not. Migration 0008 indexes the pending one by applicant and
    /// deletes the reservations.
    #[test]
    fn a_schema_7_file_moves_pending_applications_to_their_applicants() {
        let db = memory_db();
        migrations::run(&db, &migrations::MIGRATIONS_LIST[..7]).unwrap();
        let (ann, pending, decided) = (uuid::Uuid::new_v4(), uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        {
            let tx = db.begin_write().unwrap();
            {
                let mut applications = tx.open_table(tables::APPLICATIONS).unwrap();
                let mut by_status = tx.open_table(tables::APPLICATIONS_BY_STATUS).unwrap();
                for (id, name, status, code) in [(pending, "Acme", "Pending", 0u8), (decided, "Beta", "Withdrawn", 3)] {
                    let json = format!(r#"{{"id":"{id}","applicant":"{ann}","applicant_name":"ann","name":"{name}","mcc":"5812","address":"1 Road","representatives":[],"status":"{status}","reason":null,"created":"2026-10-01T08:30:00Z","decided":null,"workspace_id":null}}"#);
                    applications.insert(id.as_u128(), json.as_bytes()).unwrap();
                    by_status.insert((code, 1_790_000_000_000i64, id.as_u128()), ()).unwrap();
                }
                tx.open_table(tables::PENDING_NAMES).unwrap().insert("acme", pending.as_u128()).unwrap();
                tx.open_table(META).unwrap().insert(SCHEMA_KEY, 7).unwrap();
            }
            tx.commit().unwrap();
        }
        let store = Store::init_with(db, migrations::MIGRATIONS_LIST).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        let mine = store.write_blocking(|tx| workspace_applications::pending_of_applicant(tx, ann)).unwrap();
        assert_eq!(mine, vec![("acme".to_string(), pending)]);
        let tx = store.db.begin_read().unwrap();
        assert!(tx.open_table(tables::PENDING_NAMES).is_err(), "the name reservations are gone");
    }

    /// A data file as schema 9 wrote it: accounts, a membership, an audit event, a message and an
    /// application, none of them listed. Migration 0010 lists them all, and the Approvals list's
    /// old index is deleted.
    #[test]
    fn a_schema_9_file_lists_every_row_it_has() {
        let db = memory_db();
        migrations::run(&db, &migrations::MIGRATIONS_LIST[..9]).unwrap();
        let (ann, ws) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        {
            let tx = db.begin_write().unwrap();
            {
                let json = format!(r#"{{"id":"{ann}","email":"ann@example.com","username":"ann","password_hash":"x","is_operator":false,"created":"2026-10-01T08:30:00Z","session_epoch":0,"email_verified":false}}"#);
                tx.open_table(tables::ACCOUNTS).unwrap().insert(ann.as_u128(), json.as_bytes()).unwrap();
                let m = format!(r#"{{"workspace":"{ws}","account":"{ann}","role":"WorkspaceAdmin","active":true,"joined":"2026-10-01T08:30:00Z"}}"#);
                tx.open_table(tables::MEMBERSHIPS).unwrap().insert((ws.as_u128(), ann.as_u128()), m.as_bytes()).unwrap();
                let e = format!(r#"{{"at":"2026-10-01T08:30:00Z","workspace":"{ws}","workspace_name":"Acme","actor":"{ann}","actor_name":"ann","action":"member.invited","target":"bob@example.com","details":"","client":null}}"#);
                tx.open_table(tables::AUDIT).unwrap().insert(1, e.as_bytes()).unwrap();
                tx.open_table(tables::AUDIT_BY_WORKSPACE).unwrap().insert((ws.as_u128(), 1), ()).unwrap();
                tx.open_table(tables::APPROVALS_INDEX).unwrap().insert((ws.as_u128(), 1, 0, 0, 0, 1), ()).unwrap();
                tx.open_table(META).unwrap().insert(SCHEMA_KEY, 9).unwrap();
            }
            tx.commit().unwrap();
        }
        let store = Store::init_with(db, migrations::MIGRATIONS_LIST).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        let (accounts, unverified, members, events) = store
            .read_blocking(|tx| {
                Ok((
                    accounts::list(tx, "", &listing::Window::first(accounts::LIST, 20))?.page.items,
                    accounts::count_unverified(tx)?,
                    members::list(tx, ws, "", true, None, Some(true), &listing::Window::first(members::LIST, 20), members::member_view(tx, ws))?.page.items,
                    audit::list(tx, Some(ws), "member.invited", "", &listing::Window::first(audit::LIST, 20))?.page.items,
                ))
            })
            .unwrap();
        assert_eq!(accounts.iter().map(|a| a.username.as_str()).collect::<Vec<_>>(), vec!["ann"]);
        assert_eq!(unverified, 1);
        assert_eq!(members.iter().map(|m| m.email.as_str()).collect::<Vec<_>>(), vec!["ann@example.com"]);
        assert_eq!(events.iter().map(|e| e.target.as_str()).collect::<Vec<_>>(), vec!["bob@example.com"]);
        let tx = store.db.begin_read().unwrap();
        assert!(tx.open_table(tables::APPROVALS_INDEX).is_err(), "the old Approvals index is gone");
    }

    #[tokio::test]
    async fn a_failed_use_case_writes_nothing() {
        let store = Store::memory();
        let r: Result<(), AppError> = store
            .write(|tx| {
                tx.open_table(META)?.insert("probe", 7)?;
                Err(AppError::invalid("Probe", "refused"))
            })
            .await;
        assert!(r.is_err());
        let v = store
            .read(|tx| Ok(tx.open_table(META)?.get("probe")?.map(|v| v.value())))
            .await
            .unwrap();
        assert_eq!(v, None);
    }

    #[tokio::test]
    async fn a_commit_hands_its_effects_to_the_dispatcher_and_a_failed_one_none() {
        use effects::Effects;
        let store = Store::memory();
        let seen: Arc<Mutex<Vec<Effects>>> = Arc::default();
        let record = seen.clone();
        store.on_commit(Arc::new(move |_store, e| {
            record.lock().unwrap().push(e);
            Box::pin(async {})
        }));
        let release = releases::fixtures::stable(uuid::Uuid::new_v4(), uuid::Uuid::new_v4(), "1.0.0", &"00".repeat(32), 1);
        let r = release.clone();
        store.write(move |tx| releases::put(tx, &r).map(|_| ())).await.unwrap();
        store.write(|tx| outbox::enqueue(tx, vec!["a@example.com".into()], "Hello", "Hi").map(|_| ())).await.unwrap();
        store.write(|tx| Ok(tx.open_table(META)?.insert("probe", 1).map(|_| ())?)).await.unwrap();
        let r = release.clone();
        let failed: Result<(), AppError> = store
            .write(move |tx| {
                releases::put(tx, &r)?;
                outbox::enqueue(tx, vec!["a@example.com".into()], "Hello", "Hi")?;
                Err(AppError::invalid("Probe", "refused"))
            })
            .await;
        assert!(failed.is_err());
        assert_eq!(
            *seen.lock().unwrap(),
            vec![Effects { served: true, ..Effects::default() }, Effects { mail: true, ..Effects::default() }],
            "a commit without effects and a failed one tell nobody"
        );
        // The command line's blocking writes return nothing to a dispatcher.
        let r = release.clone();
        store.write_blocking(move |tx| releases::put(tx, &r).map(|_| ())).unwrap();
        assert_eq!(seen.lock().unwrap().len(), 2);
        let (_, e) = store.commit(move |tx| releases::put(tx, &release).map(|_| ())).unwrap();
        assert!(e.served);
    }
}
