//! SQLite: the write-ahead log is copied back into the database file by a background thread, so a
//! commit never waits for it. By SQLite's default the writer whose commit takes the log past
//! 1,000 pages runs that checkpoint itself, inside the request — a push of 500 reports spent about
//! a twelfth of its time there (docs/benchmarks.md).
//!
//! The thread keeps SQLite's policy and only moves the work: every [`POLL`] it reads how many
//! frames of the log are not yet in the database file (from the wal-index header in the `-shm`
//! file, whose layout SQLite documents) and, from [`PENDING_FRAMES`] on, runs a PASSIVE
//! checkpoint (which never blocks readers or writers) on a connection of its own. Checkpointing
//! on a timer instead, whatever the log held, made many small checkpoints that wrote the same hot
//! pages over and over and slowed the 200-phone simulator down. The connections of the pool
//! keep an automatic checkpoint at [`BACKSTOP_PAGES`] so the log stays bounded should this thread
//! fall behind. The thread ends when the last clone of the `Db` that started it is dropped.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the thread looks at the log.
pub const POLL: Duration = Duration::from_millis(50);

/// Frames (pages) waiting in the log from which the thread checkpoints: SQLite's own default.
pub const PENDING_FRAMES: u32 = 1_000;

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
                let shm = shm_path(&path);
                // Nothing is ever sent: the channel closing (or a message) ends the thread.
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(POLL) {
                    if pending_frames(&shm).is_none_or(|n| n < PENDING_FRAMES) {
                        continue;
                    }
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

fn shm_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-shm");
    PathBuf::from(name)
}

/// Frames of the log not yet copied into the database file, from the wal-index header
/// (<https://www.sqlite.org/walformat.html>: `mxFrame` at byte 16 of the header, `nBackfill` at
/// byte 96, both in the machine's byte order). `None` when there is no log index to read.
fn pending_frames(shm: &Path) -> Option<u32> {
    let mut header = [0u8; 100];
    std::fs::File::open(shm)
        .and_then(|mut f| f.read_exact(&mut header))
        .ok()?;
    let word = |at: usize| {
        header
            .get(at..at + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_ne_bytes)
    };
    Some(word(16)?.saturating_sub(word(96)?))
}

fn open(path: &Path, busy_timeout_ms: u32) -> Option<SqliteConnection> {
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

    const INSERT: &str = "BEGIN; \
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ROWS) \
        INSERT INTO t SELECT printf('%.4000c', 'x') FROM n; COMMIT;";

    fn file_size(path: &std::path::Path) -> u64 {
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
    }

    /// A fresh database, then one transaction of `rows` pages' worth of rows. The directory must
    /// outlive the `Db`.
    fn database_after_writing(rows: u32) -> (tempfile::TempDir, std::path::PathBuf, Db) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let target = DatabaseTarget::Sqlite(path.clone());
        let db = Db::connect(&target, &DatabaseSettings::default()).unwrap();
        let mut conn = db.get().unwrap();
        conn.batch_execute("CREATE TABLE t (x TEXT);").unwrap();
        conn.batch_execute(&INSERT.replace("ROWS", &rows.to_string()))
            .unwrap();
        (dir, path, db)
    }

    #[test]
    fn a_long_log_reaches_the_database_file_without_a_writer_checkpointing() {
        // 1,500 pages of 4 KiB: past the threshold, far below the writers' backstop.
        let (_dir, path, db) = database_after_writing(1500);
        let start = Instant::now();
        while file_size(&path) < 6_000_000 && start.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(file_size(&path) >= 6_000_000, "{} bytes", file_size(&path));
        // Dropping the last Db stops the thread (joined) and closes its connection.
        drop(db);
    }

    #[test]
    fn a_short_log_waits_as_sqlite_would_let_it() {
        let (_dir, path, _db) = database_after_writing(200);
        std::thread::sleep(super::POLL * 6);
        assert!(file_size(&path) < 800_000, "{} bytes", file_size(&path));
    }
}
