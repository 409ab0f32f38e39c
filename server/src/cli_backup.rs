//! `closeout backup DEST` and `closeout restore SRC` (docs/operations.md, "Backups").
//!
//! SQLite: the backup is `VACUUM INTO`, one read transaction, so the copy is consistent while the
//! server keeps writing (WAL readers do not block writers). Restore replaces the database while
//! the server is stopped, then gives the change feed a new epoch so every phone's cursor (which
//! points into the feed of the old, lost future) is answered `reset: true` and pulls afresh.
//! PostgreSQL: pg_dump / PITR back up and restore; `restore --renew-epoch-only` then renews the
//! epoch.

use crate::db::connection::DbConnection;
use crate::settings::{DatabaseTarget, Settings};
use crate::startup::open_database;
use anyhow::{Context, bail};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use std::path::Path;

const PG_ROUTE: &str = "on PostgreSQL, back up with pg_dump (or base backups + WAL archiving for \
     point-in-time recovery) and restore with pg_restore, then run `closeout restore \
     --renew-epoch-only`; see docs/operations.md, \"Backups\"";

/// Writes a consistent copy of the SQLite database to `dest` (which must not exist).
pub fn backup(settings: &Settings, dest: &Path) -> anyhow::Result<String> {
    let DatabaseTarget::Sqlite(_) = settings.database_target() else {
        bail!("`closeout backup` copies SQLite databases only: {PG_ROUTE}");
    };
    if dest.exists() {
        bail!("{} exists; give a new file name", dest.display());
    }
    let dest_str = dest
        .to_str()
        .context("the destination path is not valid UTF-8")?;
    let db = open_database(settings)?;
    let mut conn = db.get()?;
    let started = std::time::Instant::now();
    conn.batch_execute(&format!("VACUUM INTO '{}'", dest_str.replace('\'', "''")))
        .with_context(|| format!("writing the backup to {}", dest.display()))?;
    private(dest)?;
    let bytes = std::fs::metadata(dest)?.len();
    Ok(format!(
        "backed up to {} ({bytes} bytes) in {:.1} s",
        dest.display(),
        started.elapsed().as_secs_f64()
    ))
}

/// Replaces the SQLite database by `src` (the server must be stopped), then renews the feed epoch.
/// The replaced database is kept beside it as `closeout.db.before-restore-<time>`.
pub fn restore(settings: &Settings, src: &Path) -> anyhow::Result<String> {
    let DatabaseTarget::Sqlite(path) = settings.database_target() else {
        bail!("`closeout restore SRC` restores SQLite databases only: {PG_ROUTE}");
    };
    // The backup must be a readable, intact SQLite database of this application.
    {
        let src_str = src.to_str().context("the source path is not valid UTF-8")?;
        if !src.is_file() {
            bail!("{} is not a file", src.display());
        }
        let mut check = SqliteConnection::establish(src_str)
            .with_context(|| format!("opening {}", src.display()))?;
        #[derive(QueryableByName)]
        struct Check {
            #[diesel(sql_type = diesel::sql_types::Text)]
            integrity_check: String,
        }
        let result: Check = diesel::sql_query("PRAGMA integrity_check")
            .get_result(&mut check)
            .with_context(|| format!("{} is not a SQLite database", src.display()))?;
        if result.integrity_check != "ok" {
            bail!(
                "{} fails SQLite's integrity check: {}",
                src.display(),
                result.integrity_check
            );
        }
        diesel::sql_query("SELECT epoch FROM feed_epoch")
            .execute(&mut check)
            .with_context(|| format!("{} is not a Closeout database", src.display()))?;
    }
    let mut kept = None;
    if path.exists() {
        // Fold the old database's write-ahead log into it, so the kept copy is whole and no
        // stale log is left beside the restored file (SQLite would replay it into the wrong
        // database).
        let mut old = SqliteConnection::establish(&path.to_string_lossy())?;
        old.batch_execute("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE;")
            .context("the database is in use: stop the server before restoring")?;
        drop(old);
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        let aside = path.with_file_name(format!("closeout.db.before-restore-{stamp}"));
        std::fs::rename(&path, &aside)?;
        kept = Some(aside);
    }
    for suffix in ["-wal", "-shm"] {
        let stale = path.with_file_name(format!("closeout.db{suffix}"));
        if stale.exists() {
            std::fs::remove_file(&stale)?;
        }
    }
    let staged = path.with_file_name("closeout.db.restoring");
    std::fs::copy(src, &staged)?;
    private(&staged)?;
    std::fs::rename(&staged, &path)?;
    let epoch = renew(settings)?;
    Ok(match kept {
        Some(aside) => format!(
            "restored {} (the replaced database is kept as {}); change feed epoch {epoch}: \
             phones will pull afresh",
            src.display(),
            aside.display()
        ),
        None => format!("restored {}; change feed epoch {epoch}", src.display()),
    })
}

/// Gives the change feed a new epoch (migrating first: the backup may predate this version).
pub fn renew(settings: &Settings) -> anyhow::Result<String> {
    let db = open_database(settings)?;
    let mut conn = db.get()?;
    let conn: &mut DbConnection = &mut conn;
    let epoch = crate::db::changes::renew_epoch(conn)?;
    crate::db::devices::mark_restored(conn, chrono::Utc::now().naive_utc())?;
    Ok(epoch)
}

/// Backups hold password hashes, phone numbers and complaints: 0600 like the database.
fn private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}
