//! One connection type over both backends (`#[derive(MultiConnection)]`), an r2d2 pool that picks
//! the backend from the URL scheme, and the one place where backend-specific SQL is matched.

use super::checkpoint::Checkpointer;
use super::issue_figures::FigureStore;
use crate::error::{AppError, ErrorCode};
use crate::settings::{DatabaseSettings, DatabaseTarget};
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection, Pool, PooledConnection};
use secrecy::ExposeSecret;
use std::sync::Arc;
use std::time::Duration;

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

/// The backend type diesel sees for [`DbConnection`] (for boxed queries).
pub type DbBackend = <DbConnection as Connection>::Backend;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Opens connections of the configured backend; SQLite ones get WAL, a busy timeout and foreign keys.
pub struct ConnectionManager {
    target: DatabaseTarget,
    busy_timeout_ms: u32,
}

impl ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        match &self.target {
            DatabaseTarget::Postgres(url) => PgConnection::establish(url.expose_secret())
                .map(DbConnection::Postgres)
                .map_err(r2d2::Error::ConnectionError),
            DatabaseTarget::Sqlite(path) => {
                let path = path.to_string_lossy();
                let mut conn =
                    SqliteConnection::establish(&path).map_err(r2d2::Error::ConnectionError)?;
                // busy_timeout first: switching to WAL itself may have to wait for a lock.
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
                     PRAGMA wal_autocheckpoint = {}; PRAGMA temp_store = MEMORY;",
                    self.busy_timeout_ms,
                    super::checkpoint::BACKSTOP_PAGES
                ))
                .map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
    }
}

/// The pool, shared by request handlers, the CLI and background jobs.
#[derive(Clone)]
pub struct Db {
    pool: Pool<ConnectionManager>,
    backend: Backend,
    /// SQLite: the background checkpoint, stopped when the last clone is dropped.
    _checkpointer: Option<Arc<Checkpointer>>,
    /// This process's copy of what statistics read of every issue.
    figures: Arc<FigureStore>,
}

impl Db {
    /// Connects (creating the SQLite file's directory if needed). Does not migrate.
    pub fn connect(target: &DatabaseTarget, settings: &DatabaseSettings) -> anyhow::Result<Self> {
        let backend = match target {
            DatabaseTarget::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    create_private_dir(dir)?;
                }
                create_private_file(path)?;
                Backend::Sqlite
            }
            DatabaseTarget::Postgres(_) => Backend::Postgres,
        };
        let manager = ConnectionManager {
            target: target.clone(),
            busy_timeout_ms: settings.busy_timeout_ms,
        };
        let pool = Pool::builder()
            .max_size(settings.pool_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(Duration::from_millis(settings.acquire_timeout_ms))
            .build(manager)
            .map_err(|e| anyhow::anyhow!("cannot connect to {}: {e}", target.describe()))?;
        let checkpointer = match target {
            DatabaseTarget::Sqlite(path) => Some(Arc::new(Checkpointer::start(
                path.clone(),
                settings.busy_timeout_ms,
            )?)),
            DatabaseTarget::Postgres(_) => None,
        };
        Ok(Self {
            pool,
            backend,
            _checkpointer: checkpointer,
            figures: Arc::new(FigureStore::new()),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The copy of what statistics read of every issue, shared by this pool's users.
    pub fn figures(&self) -> Arc<FigureStore> {
        self.figures.clone()
    }

    /// A connection for synchronous code (CLI, start-up, background jobs on their own thread).
    pub fn get(&self) -> Result<PooledConnection<ConnectionManager>, AppError> {
        self.pool.get().map_err(|e| {
            let mut err = AppError::new(
                ErrorCode::DatabaseUnavailable,
                "no database connection available",
            );
            err.source = Some(e.into());
            err
        })
    }

    /// Runs blocking database work on the blocking thread pool, never on an async worker thread.
    pub async fn run<T, F>(&self, work: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
    {
        let db = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = db.get()?;
            work(&mut conn)
        })
        .await
        .map_err(AppError::internal)?
    }

    /// Does the database answer `SELECT 1` within `limit`? For readiness probes, which must not
    /// wait the pool's full acquire timeout during an outage.
    pub async fn ping(&self, limit: Duration) -> Result<(), AppError> {
        let db = self.clone();
        let unavailable = |source: Option<anyhow::Error>| {
            let mut err = AppError::new(
                ErrorCode::DatabaseUnavailable,
                "the database does not answer",
            );
            err.source = source;
            err
        };
        let probe = tokio::task::spawn_blocking(move || {
            let mut conn = db
                .pool
                .get_timeout(limit)
                .map_err(|e| unavailable(Some(e.into())))?;
            conn.batch_execute("SELECT 1")
                .map_err(|e| unavailable(Some(e.into())))
        });
        match tokio::time::timeout(limit, probe).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(join)) => Err(AppError::internal(join)),
            Err(_) => Err(unavailable(None)),
        }
    }

    /// (connections open, of which idle) for the metrics endpoint.
    pub fn pool_state(&self) -> (u32, u32) {
        let s = self.pool.state();
        (s.connections, s.idle_connections)
    }
}

/// Creates `dir` (and missing parents) readable by the owner only (0700): it holds password
/// hashes, phone numbers and complaints. An existing directory is left as the operator set it.
pub fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Creates the SQLite file empty with mode 0600 before SQLite opens it (SQLite gives its `-wal`
/// and `-shm` files the database file's mode). An existing file is left alone.
fn create_private_file(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// A transaction that will write. On SQLite it is `BEGIN IMMEDIATE`: it takes the write lock up
/// front, so two writers queue on busy_timeout instead of one failing with SQLITE_BUSY when it
/// upgrades from a read. On PostgreSQL it takes the change feed's counter row lock first: every
/// writer of synced data needs that lock until commit anyway, and taking it before any other row
/// (ledger counters, issues, devices) makes one lock order everywhere, so writers queue instead of
/// deadlocking, and each reads what the one before it committed (no lost version checks).
pub fn write_transaction<T, E, F>(conn: &mut DbConnection, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    type Manager = <DbConnection as Connection>::TransactionManager;
    match conn {
        DbConnection::Sqlite(c) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?
        }
        DbConnection::Postgres(_) => {
            Manager::begin_transaction(conn)?;
            if let Err(e) = super::changes::lock_feed(conn) {
                if let Err(rollback) = Manager::rollback_transaction(conn) {
                    tracing::error!(error = %rollback, "rollback failed");
                }
                return Err(e.into());
            }
        }
    }
    match work(conn) {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            if let Err(rollback) = Manager::rollback_transaction(conn) {
                tracing::error!(error = %rollback, "rollback failed");
            }
            Err(e)
        }
    }
}
