//! Ledger numbers: one counter per scope (county) and year, bumped inside the caller's
//! transaction. The row lock (PostgreSQL) or the write lock (SQLite) serializes concurrent
//! creators, and a rolled-back creation rolls its number back too: unique and gap-free.

use super::connection::DbConnection;
use crate::ids::OrgUnitId;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text};

#[derive(QueryableByName)]
struct Next {
    #[diesel(sql_type = Integer)]
    last_value: i32,
}

/// The next number of `scope` in `year` (1, 2, 3, …). Must run inside a write transaction.
pub fn next(conn: &mut DbConnection, scope: &OrgUnitId, year: i32) -> QueryResult<i32> {
    reserve(conn, scope, year, 1)
}

/// Reserves `count` consecutive numbers of `scope` in `year` and returns the last of them (the
/// first is `last - count + 1`). Must run inside a write transaction.
pub fn reserve(
    conn: &mut DbConnection,
    scope: &OrgUnitId,
    year: i32,
    count: i32,
) -> QueryResult<i32> {
    // The upsert is the same SQL on both backends; only the placeholder syntax differs.
    let sql = match conn {
        DbConnection::Postgres(_) => {
            "INSERT INTO ledger_counters (scope_id, year, last_value) VALUES ($1, $2, $3) \
             ON CONFLICT (scope_id, year) DO UPDATE SET last_value = ledger_counters.last_value + $3 \
             RETURNING last_value"
        }
        DbConnection::Sqlite(_) => {
            "INSERT INTO ledger_counters (scope_id, year, last_value) VALUES (?1, ?2, ?3) \
             ON CONFLICT (scope_id, year) DO UPDATE SET last_value = ledger_counters.last_value + ?3 \
             RETURNING last_value"
        }
    };
    let next: Next = diesel::sql_query(sql)
        .bind::<Text, _>(scope.as_str())
        .bind::<Integer, _>(year)
        .bind::<Integer, _>(count)
        .get_result(conn)?;
    Ok(next.last_value)
}
