//! Queries on the place tree. A subtree is every row whose `path` starts with the root's path.

use super::connection::{DbBackend, DbConnection};
use super::models::OrgUnitRow;
use super::schema::org_units::dsl as ou;
use crate::ids::OrgUnitId;
use diesel::prelude::*;

pub fn insert(conn: &mut DbConnection, row: &OrgUnitRow) -> QueryResult<()> {
    diesel::insert_into(ou::org_units)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConnection, id: &OrgUnitId) -> QueryResult<Option<OrgUnitRow>> {
    ou::org_units
        .find(id)
        .select(OrgUnitRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_code(conn: &mut DbConnection, code: &str) -> QueryResult<Option<OrgUnitRow>> {
    ou::org_units
        .filter(ou::code.eq(code))
        .select(OrgUnitRow::as_select())
        .first(conn)
        .optional()
}

/// Every place with a code, for bulk imports that resolve many codes at once.
pub fn all_with_codes(conn: &mut DbConnection) -> QueryResult<Vec<OrgUnitRow>> {
    ou::org_units
        .filter(ou::code.is_not_null())
        .select(OrgUnitRow::as_select())
        .load(conn)
}

/// Places inside any of the given subtrees (path prefixes), in tree order; optionally only the
/// children of one parent.
pub fn list_in_subtrees(
    conn: &mut DbConnection,
    subtree_paths: &[String],
    parent: Option<&OrgUnitId>,
    limit: i64,
) -> QueryResult<Vec<OrgUnitRow>> {
    let Some((first, rest)) = subtree_paths.split_first() else {
        return Ok(Vec::new());
    };
    let mut query = ou::org_units
        .select(OrgUnitRow::as_select())
        .into_boxed::<DbBackend>()
        .filter(ou::path.like(format!("{first}%")));
    for path in rest {
        query = query.or_filter(ou::path.like(format!("{path}%")));
    }
    if let Some(parent) = parent {
        query = query.filter(ou::parent_id.eq(parent.clone()));
    }
    query
        .order((ou::depth, ou::code, ou::name))
        .limit(limit)
        .load(conn)
}

/// Every place (bulk imports resolve codes and unit names against it).
pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<OrgUnitRow>> {
    ou::org_units.select(OrgUnitRow::as_select()).load(conn)
}

/// The county among these places (a place's ancestors), if one is.
pub fn county_among(conn: &mut DbConnection, ids: &[OrgUnitId]) -> QueryResult<Option<OrgUnitId>> {
    ou::org_units
        .filter(ou::id.eq_any(ids).and(ou::level.eq("county")))
        .select(ou::id)
        .first(conn)
        .optional()
}

/// Gives a place a new name.
pub fn rename(conn: &mut DbConnection, id: &OrgUnitId, name: &str) -> QueryResult<usize> {
    diesel::update(ou::org_units.find(id))
        .set(ou::name.eq(name))
        .execute(conn)
}
