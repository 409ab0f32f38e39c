//! Queries on the web console's sessions (the cookie's token is stored as its SHA-256).

use super::connection::DbConnection;
use super::schema::console_sessions;
use super::schema::console_sessions::dsl as cs;
use crate::ids::UserId;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = console_sessions)]
pub struct ConsoleSessionRow {
    pub id: String,
    pub user_id: UserId,
    pub token_hash: String,
    pub csrf_token: String,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub ended_at: Option<NaiveDateTime>,
    pub ended_reason: Option<String>,
}

pub fn insert(conn: &mut DbConnection, row: &ConsoleSessionRow) -> QueryResult<()> {
    diesel::insert_into(cs::console_sessions)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// The session with this token hash, if it has not been ended.
pub fn find_open(conn: &mut DbConnection, hash: &str) -> QueryResult<Option<ConsoleSessionRow>> {
    cs::console_sessions
        .filter(cs::token_hash.eq(hash).and(cs::ended_at.is_null()))
        .select(ConsoleSessionRow::as_select())
        .first(conn)
        .optional()
}

/// Records activity (moves the idle deadline along).
pub fn touch(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(cs::console_sessions.find(id))
        .set(cs::last_seen_at.eq(now))
        .execute(conn)
}

pub fn end(
    conn: &mut DbConnection,
    id: &str,
    now: NaiveDateTime,
    reason: &str,
) -> QueryResult<usize> {
    diesel::update(cs::console_sessions.find(id).filter(cs::ended_at.is_null()))
        .set((cs::ended_at.eq(now), cs::ended_reason.eq(reason)))
        .execute(conn)
}

/// Ends every open console session of a user (account disabled, password reset).
pub fn end_user(
    conn: &mut DbConnection,
    user: &UserId,
    now: NaiveDateTime,
    reason: &str,
) -> QueryResult<usize> {
    diesel::update(cs::console_sessions.filter(cs::user_id.eq(user).and(cs::ended_at.is_null())))
        .set((cs::ended_at.eq(now), cs::ended_reason.eq(reason)))
        .execute(conn)
}
