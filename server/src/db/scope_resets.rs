//! Queries on `scope_resets`: accounts whose phones must pull afresh after a 区划调整 changed what
//! they see without changing their roles.

use super::connection::DbConnection;
use super::schema::{role_assignments, scope_resets};
use crate::ids::{OrgUnitId, UserId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// The account's stamp, if its scope was ever reset.
pub fn stamp_of(conn: &mut DbConnection, user: &UserId) -> QueryResult<Option<String>> {
    scope_resets::table
        .find(user)
        .select(scope_resets::stamp)
        .first(conn)
        .optional()
}

/// Accounts holding any role on one of `places`.
pub fn holders_on(conn: &mut DbConnection, places: &[OrgUnitId]) -> QueryResult<Vec<UserId>> {
    if places.is_empty() {
        return Ok(Vec::new());
    }
    role_assignments::table
        .filter(role_assignments::org_unit_id.eq_any(places))
        .select(role_assignments::user_id)
        .distinct()
        .load(conn)
}

/// Gives each account a new stamp: cursors made before it answer `reset: true`.
pub fn renew(
    conn: &mut DbConnection,
    users: &[UserId],
    stamp: &str,
    at: NaiveDateTime,
) -> QueryResult<()> {
    for chunk in users.chunks(super::INSERT_CHUNK) {
        diesel::delete(scope_resets::table.filter(scope_resets::user_id.eq_any(chunk)))
            .execute(conn)?;
        for user in chunk {
            diesel::insert_into(scope_resets::table)
                .values((
                    scope_resets::user_id.eq(user),
                    scope_resets::stamp.eq(stamp),
                    scope_resets::reset_at.eq(at),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}
