//! Queries on the record of handed-down list imports and the stable keys of their rows.

use super::connection::DbConnection;
use super::schema::{issue_import_rows, issue_imports};
use crate::ids::{IssueId, UserId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = issue_imports)]
pub struct ImportRow {
    pub id: String,
    pub list_key: String,
    pub file_name: String,
    pub file_sha256: String,
    pub place_path: String,
    pub imported_by: UserId,
    pub imported_at: NaiveDateTime,
    pub row_count: i32,
    pub created: i32,
    pub updated: i32,
    pub skipped: i32,
    pub undone_at: Option<NaiveDateTime>,
    pub undone_by: Option<UserId>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = issue_import_rows)]
pub struct ImportKeyRow {
    pub list_key: String,
    pub row_key: String,
    pub issue_id: IssueId,
    pub created_by: String,
    pub last_import_id: String,
    pub content_sha256: String,
    pub issue_version: i32,
}

pub fn insert(conn: &mut DbConnection, row: &ImportRow) -> QueryResult<()> {
    diesel::insert_into(issue_imports::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<ImportRow>> {
    issue_imports::table
        .find(id)
        .select(ImportRow::as_select())
        .first(conn)
        .optional()
}

/// The standing (not undone) import of a file with this SHA-256, if any.
pub fn standing_of_file(conn: &mut DbConnection, sha256: &str) -> QueryResult<Option<ImportRow>> {
    issue_imports::table
        .filter(issue_imports::file_sha256.eq(sha256))
        .filter(issue_imports::undone_at.is_null())
        .select(ImportRow::as_select())
        .order(issue_imports::imported_at)
        .first(conn)
        .optional()
}

/// Imports whose place lies inside one of `subtrees`, newest first.
pub fn list_within(
    conn: &mut DbConnection,
    subtrees: &[String],
    limit: i64,
) -> QueryResult<Vec<ImportRow>> {
    let Some((first, rest)) = subtrees.split_first() else {
        return Ok(Vec::new());
    };
    let mut q = issue_imports::table
        .select(ImportRow::as_select())
        .into_boxed()
        .filter(issue_imports::place_path.like(format!("{first}%")));
    for s in rest {
        q = q.or_filter(issue_imports::place_path.like(format!("{s}%")));
    }
    q.order((issue_imports::imported_at.desc(), issue_imports::id.desc()))
        .limit(limit)
        .load(conn)
}

pub fn set_counts(
    conn: &mut DbConnection,
    id: &str,
    created: i32,
    updated: i32,
    skipped: i32,
) -> QueryResult<()> {
    diesel::update(issue_imports::table.find(id))
        .set((
            issue_imports::created.eq(created),
            issue_imports::updated.eq(updated),
            issue_imports::skipped.eq(skipped),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn mark_undone(
    conn: &mut DbConnection,
    id: &str,
    by: &UserId,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(issue_imports::table.find(id))
        .set((
            issue_imports::undone_at.eq(Some(at)),
            issue_imports::undone_by.eq(Some(by)),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The keyed rows of one list.
pub fn keys_of_list(conn: &mut DbConnection, list_key: &str) -> QueryResult<Vec<ImportKeyRow>> {
    issue_import_rows::table
        .filter(issue_import_rows::list_key.eq(list_key))
        .select(ImportKeyRow::as_select())
        .load(conn)
}

/// The keyed rows whose issue an import created.
pub fn keys_created_by(conn: &mut DbConnection, import: &str) -> QueryResult<Vec<ImportKeyRow>> {
    issue_import_rows::table
        .filter(issue_import_rows::created_by.eq(import))
        .select(ImportKeyRow::as_select())
        .load(conn)
}

/// Whether an import changed issues that an earlier import made.
pub fn updated_others(conn: &mut DbConnection, import: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        issue_import_rows::table
            .filter(issue_import_rows::last_import_id.eq(import))
            .filter(issue_import_rows::created_by.ne(import)),
    ))
    .get_result(conn)
}

pub fn insert_key(conn: &mut DbConnection, row: &ImportKeyRow) -> QueryResult<()> {
    diesel::insert_into(issue_import_rows::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn update_key(
    conn: &mut DbConnection,
    list_key: &str,
    row_key: &str,
    import: &str,
    content_sha256: &str,
    issue_version: i32,
) -> QueryResult<()> {
    diesel::update(issue_import_rows::table.find((list_key, row_key)))
        .set((
            issue_import_rows::last_import_id.eq(import),
            issue_import_rows::content_sha256.eq(content_sha256),
            issue_import_rows::issue_version.eq(issue_version),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Forgets the row keys of the issues an import created (an undo): the list's rows may then be
/// imported afresh.
pub fn release_keys(conn: &mut DbConnection, import: &str) -> QueryResult<()> {
    diesel::delete(issue_import_rows::table.filter(issue_import_rows::created_by.eq(import)))
        .execute(conn)
        .map(|_| ())
}
