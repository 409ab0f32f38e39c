//! Embedded migrations, one folder per backend with the same version names, run at start-up.
//! Two servers starting at once must not both migrate: PostgreSQL takes an advisory lock for the
//! duration of the migration transaction; SQLite holds its write lock (`BEGIN IMMEDIATE`).

use super::connection::DbConnection;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

const SQLITE: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

/// Arbitrary but fixed: every Closeout server uses the same key, so they exclude each other.
const MIGRATION_LOCK_KEY: i64 = 0x636c_6f73_656f_7574; // "closeout"

type MigrationError = Box<dyn std::error::Error + Send + Sync>;

/// Applies pending migrations; returns the versions applied (empty when already up to date).
pub fn run_pending(conn: &mut DbConnection) -> anyhow::Result<Vec<String>> {
    let applied = match conn {
        DbConnection::Sqlite(c) => {
            c.immediate_transaction(|c| -> Result<Vec<String>, MigrationError> {
                Ok(c.run_pending_migrations(SQLITE)?
                    .iter()
                    .map(|v| v.to_string())
                    .collect())
            })
        }
        DbConnection::Postgres(c) => c.transaction(|c| -> Result<Vec<String>, MigrationError> {
            diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
                .bind::<BigInt, _>(MIGRATION_LOCK_KEY)
                .execute(c)?;
            Ok(c.run_pending_migrations(POSTGRES)?
                .iter()
                .map(|v| v.to_string())
                .collect())
        }),
    };
    applied.map_err(|e| anyhow::anyhow!("migration failed: {e}"))
}
