//! Queries on people and their role assignments.

use super::connection::{DbBackend, DbConnection};
use super::models::{OrgUnitRow, RoleAssignmentRow, UserRow};
use super::schema::{org_units, role_assignments, users};
use crate::ids::{OrgUnitId, UserId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

pub fn insert(conn: &mut DbConnection, row: &UserRow) -> QueryResult<()> {
    diesel::insert_into(users::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConnection, id: &UserId) -> QueryResult<Option<UserRow>> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_username(conn: &mut DbConnection, username: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::username.eq(username))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

pub fn count(conn: &mut DbConnection) -> QueryResult<i64> {
    users::table.count().get_result(conn)
}

pub fn set_password(
    conn: &mut DbConnection,
    id: &UserId,
    hash: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((users::password_hash.eq(hash), users::updated_at.eq(now)))
        .execute(conn)
}

pub fn insert_assignment(conn: &mut DbConnection, row: &RoleAssignmentRow) -> QueryResult<()> {
    diesel::insert_into(role_assignments::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// A user's role assignments, each with its place (None: the whole system).
pub fn assignments_of(
    conn: &mut DbConnection,
    user: &UserId,
) -> QueryResult<Vec<(RoleAssignmentRow, Option<OrgUnitRow>)>> {
    role_assignments::table
        .left_join(org_units::table)
        .filter(role_assignments::user_id.eq(user))
        .select((
            RoleAssignmentRow::as_select(),
            Option::<OrgUnitRow>::as_select(),
        ))
        .order((role_assignments::created_at, role_assignments::id))
        .load(conn)
}

/// Every user, ordered by username, after `after` (keyset pagination).
pub fn list(conn: &mut DbConnection, after: Option<&str>, limit: i64) -> QueryResult<Vec<UserRow>> {
    let mut query = users::table.select(UserRow::as_select()).into_boxed();
    if let Some(after) = after {
        query = query.filter(users::username.gt(after.to_owned()));
    }
    query.order(users::username).limit(limit).load(conn)
}

/// Users holding at least one role inside one of the subtrees, ordered by username.
pub fn list_in_subtrees(
    conn: &mut DbConnection,
    subtree_paths: &[String],
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<UserRow>> {
    let Some((first, rest)) = subtree_paths.split_first() else {
        return Ok(Vec::new());
    };
    let mut query = users::table
        .inner_join(role_assignments::table.inner_join(org_units::table))
        .select(UserRow::as_select())
        .distinct()
        .into_boxed::<DbBackend>()
        .filter(org_units::path.like(format!("{first}%")));
    for path in rest {
        query = query.or_filter(org_units::path.like(format!("{path}%")));
    }
    if let Some(after) = after {
        query = query.filter(users::username.gt(after.to_owned()));
    }
    query.order(users::username).limit(limit).load(conn)
}

/// Users with this display name (names repeat; callers must handle several).
pub fn find_by_display_name(conn: &mut DbConnection, name: &str) -> QueryResult<Vec<UserRow>> {
    users::table
        .filter(users::display_name.eq(name))
        .select(UserRow::as_select())
        .load(conn)
}

/// Enables or disables an account.
pub fn set_active(
    conn: &mut DbConnection,
    id: &UserId,
    active: bool,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((users::active.eq(active), users::updated_at.eq(now)))
        .execute(conn)
}

/// Removes the user's `role` on `place` (None: the whole system); returns how many went.
pub fn delete_assignment(
    conn: &mut DbConnection,
    user: &UserId,
    role: &str,
    place: Option<&OrgUnitId>,
) -> QueryResult<usize> {
    let held = role_assignments::table
        .filter(role_assignments::user_id.eq(user))
        .filter(role_assignments::role.eq(role));
    match place {
        Some(place) => {
            diesel::delete(held.filter(role_assignments::org_unit_id.eq(place))).execute(conn)
        }
        None => diesel::delete(held.filter(role_assignments::org_unit_id.is_null())).execute(conn),
    }
}

/// Accounts that hold no role at all, ordered by username (keyset pagination).
pub fn list_without_roles(
    conn: &mut DbConnection,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<UserRow>> {
    let holders = role_assignments::table.select(role_assignments::user_id);
    let mut query = users::table
        .filter(users::id.ne_all(holders))
        .select(UserRow::as_select())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(users::username.gt(after.to_owned()));
    }
    query.order(users::username).limit(limit).load(conn)
}
