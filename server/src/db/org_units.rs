//! Queries on the place tree. A subtree is every row whose `path` starts with the root's path.

use super::connection::{DbBackend, DbConnection};
use super::models::OrgUnitRow;
use super::schema::org_units::dsl as ou;
use crate::ids::OrgUnitId;
use diesel::prelude::*;
use diesel::sql_types::Bool;

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

/// Places inside any of the given subtrees (path prefixes), in list order — by depth, then
/// code (places without one after those with), name and id, the same on both backends —
/// optionally only the children of one parent, and only those after `after` in that order (the
/// keyset of `GET /org-units`: every place once, however many share a depth, code or name).
pub fn list_in_subtrees(
    conn: &mut DbConnection,
    subtree_paths: &[String],
    parent: Option<&OrgUnitId>,
    after: Option<&OrgUnitRow>,
    limit: i64,
) -> QueryResult<Vec<OrgUnitRow>> {
    let Some((first, rest)) = subtree_paths.split_first() else {
        return Ok(Vec::new());
    };
    let mut visible: Box<dyn BoxableExpression<ou::org_units, DbBackend, SqlType = Bool>> =
        Box::new(ou::path.like(format!("{first}%")));
    for path in rest {
        visible = Box::new(visible.or(ou::path.like(format!("{path}%"))));
    }
    let mut query = ou::org_units
        .select(OrgUnitRow::as_select())
        .into_boxed::<DbBackend>()
        .filter(visible);
    if let Some(parent) = parent {
        query = query.filter(ou::parent_id.eq(parent.clone()));
    }
    if let Some(last) = after {
        query = query.filter(after_in_list_order(last));
    }
    query
        .order((ou::depth, ou::code.is_null(), ou::code, ou::name, ou::id))
        .limit(limit)
        .load(conn)
}

/// The places after `last` in list order (depth, code with nulls last, name, id).
fn after_in_list_order(
    last: &OrgUnitRow,
) -> Box<dyn BoxableExpression<ou::org_units, DbBackend, SqlType = Bool>> {
    let same_code_later = ou::name.gt(last.name.clone()).or(ou::name
        .eq(last.name.clone())
        .and(ou::id.gt(last.id.clone())));
    let later_at_depth: Box<dyn BoxableExpression<ou::org_units, DbBackend, SqlType = Bool>> =
        match &last.code {
            Some(code) => Box::new(
                ou::code
                    .is_null()
                    .or(ou::code.gt(code.clone()).assume_not_null())
                    .or(ou::code
                        .eq(code.clone())
                        .assume_not_null()
                        .and(same_code_later)),
            ),
            None => Box::new(ou::code.is_null().and(same_code_later)),
        };
    Box::new(
        ou::depth
            .gt(last.depth)
            .or(ou::depth.eq(last.depth).and(later_at_depth)),
    )
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
