//! Storage: the connection over SQLite or PostgreSQL, the pool, migrations, the schema and the
//! queries. No HTTP types here and no business rules: callers decide, this module reads and writes.

pub mod categories;
pub mod category_aliases;
pub mod changes;
pub mod checkpoint;
pub mod connection;
pub mod console_sessions;
pub mod devices;
pub mod documents;
pub mod imports;
pub mod inspections;
pub mod issue_figures;
pub mod issues;
pub mod ledger_numbers;
pub mod migrate;
pub mod models;
pub mod org_units;
pub mod photos;
pub mod place_changes;
pub mod refresh_tokens;
pub mod relocate;
pub mod schedules;
pub mod schema;
pub mod scope_resets;
pub mod stamp;
pub mod sync;
pub mod templates;
pub mod users;

/// Rows per multi-row INSERT elsewhere: the widest table (issues, 31 columns) stays well under
/// SQLite's 32,766 and PostgreSQL's 65,535 bind parameters.
pub const INSERT_CHUNK: usize = 500;

/// Rows per prepared multi-row INSERT in [`insert_rows!`] on SQLite (3,100 parameters for issues).
pub const INSERT_BLOCK: usize = 100;

/// Writes `rows` into `table` in bulk. SQLite: multi-row INSERTs of [`INSERT_BLOCK`] rows, one
/// prepared statement per table, and one INSERT for the rest.
/// PostgreSQL: one binary `COPY … FROM STDIN` — no statement to parse or plan, however many rows
/// (a 500-row INSERT of issues spent longer being parsed and bound than executed). Diesel's
/// MultiConnection cannot express either, so this runs on the backend's own connection.
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $rows:expr) => {{
        let rows = $rows;
        match $conn {
            _ if rows.is_empty() => Ok::<usize, diesel::result::Error>(0),
            $crate::db::DbConnection::Sqlite(c) => {
                // Blocks of a fixed size have a static query id, so SQLite prepares each
                // table's block statement once per connection instead of once per batch.
                let mut inserted = 0;
                let mut blocks = rows.chunks_exact($crate::db::INSERT_BLOCK);
                for block in &mut blocks {
                    inserted += match <&[_; $crate::db::INSERT_BLOCK]>::try_from(block) {
                        Ok(block) => diesel::insert_into($table).values(block).execute(c)?,
                        Err(_) => diesel::insert_into($table).values(block).execute(c)?,
                    };
                }
                let rest = blocks.remainder();
                if !rest.is_empty() {
                    inserted += diesel::insert_into($table).values(rest).execute(c)?;
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

/// `$table.place_path` inside any of `$subtrees` (path prefixes) as one boxed condition, false
/// for none: the scope of both conflict tables' lists and counts.
macro_rules! place_in_subtrees {
    ($table:ident, $subtrees:expr) => {{
        let mut cond: Box<
            dyn BoxableExpression<$table::table, DbBackend, SqlType = diesel::sql_types::Bool>,
        > = Box::new($table::id.ne($table::id));
        for prefix in $subtrees {
            let (lo, hi) = super::issues::subtree_bounds(prefix);
            cond = Box::new(cond.or($table::place_path.ge(lo).and($table::place_path.lt(hi))));
        }
        cond
    }};
}
pub(crate) use place_in_subtrees;

pub use connection::{Backend, Db, DbConnection, write_transaction};
