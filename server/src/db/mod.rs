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

/// Rows per multi-row INSERT: the widest table (issues, 31 columns) stays well under SQLite's
/// 32,766 and PostgreSQL's 65,535 bind parameters.
pub const INSERT_CHUNK: usize = 500;

/// A multi-row INSERT of `rows` into `table`, in chunks of [`INSERT_CHUNK`]. Diesel's
/// MultiConnection cannot express batch inserts, so this runs on the backend's own connection.
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $rows:expr) => {{
        let mut inserted = 0;
        for chunk in $rows.chunks($crate::db::INSERT_CHUNK) {
            inserted += match $conn {
                $crate::db::DbConnection::Sqlite(c) => {
                    diesel::insert_into($table).values(chunk).execute(c)?
                }
                $crate::db::DbConnection::Postgres(c) => {
                    diesel::insert_into($table).values(chunk).execute(c)?
                }
            };
        }
        Ok::<usize, diesel::result::Error>(inserted)
    }};
}
pub(crate) use insert_rows;

pub use connection::{Backend, Db, DbConnection, write_transaction};
