//! Storage: the connection over SQLite or PostgreSQL, the pool, migrations, the schema and the
//! queries. No HTTP types here and no business rules: callers decide, this module reads and writes.

pub mod categories;
pub mod changes;
pub mod connection;
pub mod devices;
pub mod inspections;
pub mod issues;
pub mod ledger_numbers;
pub mod migrate;
pub mod models;
pub mod org_units;
pub mod photos;
pub mod refresh_tokens;
pub mod schedules;
pub mod schema;
pub mod sync;
pub mod templates;
pub mod users;

/// Rows per multi-row INSERT on SQLite: the widest table (issues, 31 columns) stays well under
/// its 32,766 bind parameters.
pub const INSERT_CHUNK: usize = 500;

/// Writes `rows` into `table` in bulk. SQLite: multi-row INSERTs in chunks of [`INSERT_CHUNK`].
/// PostgreSQL: one binary `COPY … FROM STDIN` — no statement to parse or plan, however many rows
/// (a 500-row INSERT of issues spent longer being parsed and bound than executed). Diesel's
/// MultiConnection cannot express either, so this runs on the backend's own connection.
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $rows:expr) => {{
        let rows = $rows;
        match $conn {
            _ if rows.is_empty() => Ok::<usize, diesel::result::Error>(0),
            $crate::db::DbConnection::Sqlite(c) => {
                let mut inserted = 0;
                for chunk in rows.chunks($crate::db::INSERT_CHUNK) {
                    inserted += diesel::insert_into($table).values(chunk).execute(c)?;
                }
                Ok(inserted)
            }
            $crate::db::DbConnection::Postgres(c) => diesel::ExecuteCopyFromDsl::execute(
                diesel::copy_from($table).from_insertable(rows),
                c,
            ),
        }
    }};
}
pub(crate) use insert_rows;

pub use connection::{Backend, Db, DbConnection, write_transaction};
