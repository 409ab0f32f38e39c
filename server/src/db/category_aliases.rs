//! Queries on `category_aliases`: county wordings of categories for the 交办清单 importer.

use super::connection::DbConnection;
use super::schema::{category_aliases, org_units};
use crate::ids::{OrgUnitId, UserId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = category_aliases)]
pub struct CategoryAliasRow {
    pub id: String,
    /// None: a shipped default, for every county.
    pub county_id: Option<OrgUnitId>,
    pub alias: String,
    pub category_code: String,
    pub created_by: Option<UserId>,
    pub created_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, row: &CategoryAliasRow) -> QueryResult<()> {
    diesel::insert_into(category_aliases::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<CategoryAliasRow>> {
    category_aliases::table
        .find(id)
        .select(CategoryAliasRow::as_select())
        .first(conn)
        .optional()
}

/// The alias with this wording in this county (None: among the defaults).
pub fn find_wording(
    conn: &mut DbConnection,
    county: Option<&OrgUnitId>,
    alias: &str,
) -> QueryResult<Option<CategoryAliasRow>> {
    let q = category_aliases::table
        .filter(category_aliases::alias.eq(alias))
        .select(CategoryAliasRow::as_select());
    match county {
        Some(c) => q.filter(category_aliases::county_id.eq(c)).first(conn),
        None => q.filter(category_aliases::county_id.is_null()).first(conn),
    }
    .optional()
}

pub fn delete(conn: &mut DbConnection, id: &str) -> QueryResult<usize> {
    diesel::delete(category_aliases::table.find(id)).execute(conn)
}

/// The defaults and the aliases of these counties, with the county's path (None for defaults).
pub fn of_counties(
    conn: &mut DbConnection,
    counties: &[OrgUnitId],
) -> QueryResult<Vec<(CategoryAliasRow, Option<String>)>> {
    category_aliases::table
        .left_join(org_units::table.on(org_units::id.nullable().eq(category_aliases::county_id)))
        .filter(
            category_aliases::county_id
                .is_null()
                .or(category_aliases::county_id.eq_any(counties)),
        )
        .select((CategoryAliasRow::as_select(), org_units::path.nullable()))
        .order((category_aliases::alias, category_aliases::id))
        .load(conn)
}

/// Every alias, with the county's path (None for defaults): the importer loads them once.
pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<(CategoryAliasRow, Option<String>)>> {
    category_aliases::table
        .left_join(org_units::table.on(org_units::id.nullable().eq(category_aliases::county_id)))
        .select((CategoryAliasRow::as_select(), org_units::path.nullable()))
        .order((category_aliases::alias, category_aliases::id))
        .load(conn)
}

/// A merged county's aliases go to the county that took it over, unless it words them already.
pub fn hand_over(
    conn: &mut DbConnection,
    merged: &OrgUnitId,
    survivor: &OrgUnitId,
) -> QueryResult<usize> {
    let taken: Vec<String> = category_aliases::table
        .filter(category_aliases::county_id.eq(survivor))
        .select(category_aliases::alias)
        .load(conn)?;
    diesel::update(
        category_aliases::table
            .filter(category_aliases::county_id.eq(merged))
            .filter(category_aliases::alias.ne_all(taken)),
    )
    .set(category_aliases::county_id.eq(survivor))
    .execute(conn)
}
