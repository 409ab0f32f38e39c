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

pub use connection::{Backend, Db, DbConnection, write_transaction};
