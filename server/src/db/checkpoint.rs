//! SQLite: the write-ahead log is copied back into the database file by a background thread, so a
//! commit never waits for it. With SQLite's default the writer whose commit takes the log past
//! 1,000 pages runs that checkpoint itself, inside the request — a push of 500 reports spent about
//! a twelfth of its time there (docs/benchmarks.md).
//!
//! The thread runs a PASSIVE checkpoint (it never blocks readers or writers) every
//! [`INTERVAL`] on a connection of its own, not one of the pool's. The connections of the pool
//! keep an automatic checkpoint at [`BACKSTOP_PAGES`] so the log stays bounded should this thread
//! fall behind. The thread ends when the last clone of the `Db` that started it is dropped.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the background checkpoint runs.
pub const INTERVAL: Duration = Duration::from_millis(250);

/// The automatic checkpoint of the pool's connections, as a backstop (pages of 4 KiB: 64 MiB).
pub const BACKSTOP_PAGES: u32 = 16_384;

/// Stops the thread when dropped (its channel closes) and waits for it, so its connection is
/// closed when the last `Db` is gone.
pub struct Checkpointer {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the background checkpoint thread panicked");
        }
    }
}

impl Checkpointer {
    /// Starts the thread for the database at `path`.
    pub fn start(path: PathBuf, busy_timeout_ms: u32) -> std::io::Result<Self> {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                let mut conn: Option<SqliteConnection> = None;
                // Nothing is ever sent: the channel closing (or a message) ends the thread.
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
                    if conn.is_none() {
                        conn = open(&path, busy_timeout_ms);
                    }
                    if let Some(c) = conn.as_mut()
                        && let Err(e) = c.batch_execute("PRAGMA wal_checkpoint(PASSIVE)")
                    {
                        tracing::warn!(error = %e, "background checkpoint failed");
                        conn = None;
                    }
                }
            })?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

fn open(path: &std::path::Path, busy_timeout_ms: u32) -> Option<SqliteConnection> {
    let mut conn = match SqliteConnection::establish(&path.to_string_lossy()) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "background checkpoint cannot connect");
            return None;
        }
    };
    // Its own reads never trigger an automatic checkpoint; it only runs the explicit one.
    let pragmas =
        format!("PRAGMA busy_timeout = {busy_timeout_ms}; PRAGMA wal_autocheckpoint = 0;");
    match conn.batch_execute(&pragmas) {
        Ok(()) => Some(conn),
        Err(e) => {
            tracing::warn!(error = %e, "background checkpoint cannot connect");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::db::Db;
    use crate::settings::{DatabaseSettings, DatabaseTarget};
    use diesel::connection::SimpleConnection;
    use std::time::{Duration, Instant};

    #[test]
    fn the_log_reaches_the_database_file_without_a_writer_checkpointing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let db = Db::connect(
            &DatabaseTarget::Sqlite(path.clone()),
            &DatabaseSettings::default(),
        )
        .unwrap();
        let mut conn = db.get().unwrap();
        // About 2 MiB: far below the backstop, so only the background thread checkpoints it.
        conn.batch_execute(
            "CREATE TABLE t (x TEXT); BEGIN; \
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) \
             INSERT INTO t SELECT printf('%.1000c', 'x') FROM n; COMMIT;",
        )
        .unwrap();
        let file = || std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let start = Instant::now();
        while file() < 2_000_000 && start.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(file() >= 2_000_000, "database file is {} bytes", file());
        drop(conn);
        // Dropping the last Db stops the thread and closes its connection.
        drop(db);
    }
}
