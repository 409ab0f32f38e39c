//! Queries on the issue taxonomy.

use super::connection::DbConnection;
use super::models::CategoryRow;
use super::schema::issue_categories::dsl as c;
use diesel::prelude::*;

pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<CategoryRow>> {
    c::issue_categories
        .select(CategoryRow::as_select())
        .order((c::sort_order, c::code))
        .load(conn)
}

pub fn find(conn: &mut DbConnection, code: &str) -> QueryResult<Option<CategoryRow>> {
    c::issue_categories
        .find(code)
        .select(CategoryRow::as_select())
        .first(conn)
        .optional()
}

pub fn insert(conn: &mut DbConnection, row: &CategoryRow) -> QueryResult<()> {
    diesel::insert_into(c::issue_categories)
        .values(row)
        .execute(conn)
        .map(|_| ())
}
