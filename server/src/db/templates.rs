//! Queries on checklist templates and their versions. A version row is written once and never
//! changed; the template row points at the current one.

use super::connection::DbConnection;
use super::schema::{checklist_template_versions as versions, checklist_templates as templates};
use crate::ids::{TemplateId, UserId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = templates)]
pub struct TemplateRow {
    pub id: TemplateId,
    pub code: String,
    pub current_version: i32,
    pub archived_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = versions)]
pub struct TemplateVersionRow {
    pub template_id: TemplateId,
    pub version: i32,
    pub name: String,
    pub content: String,
    pub created_by: Option<UserId>,
    pub created_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, t: &TemplateRow, v: &TemplateVersionRow) -> QueryResult<()> {
    diesel::insert_into(templates::table)
        .values(t)
        .execute(conn)?;
    diesel::insert_into(versions::table)
        .values(v)
        .execute(conn)?;
    Ok(())
}

/// Inserts a shipped template unless its id is there already — whatever an admin made of it
/// since. `ON CONFLICT DO NOTHING` (matched per backend: the multi-connection has no upsert), so
/// several servers starting at once seed it once without an error.
pub fn insert_if_absent(
    conn: &mut DbConnection,
    t: &TemplateRow,
    v: &TemplateVersionRow,
) -> QueryResult<bool> {
    let n = match conn {
        DbConnection::Sqlite(c) => diesel::insert_into(templates::table)
            .values(t)
            .on_conflict_do_nothing()
            .execute(c)?,
        DbConnection::Postgres(c) => diesel::insert_into(templates::table)
            .values(t)
            .on_conflict_do_nothing()
            .execute(c)?,
    };
    if n == 1 {
        diesel::insert_into(versions::table)
            .values(v)
            .execute(conn)?;
    }
    Ok(n == 1)
}

pub fn find(conn: &mut DbConnection, id: &TemplateId) -> QueryResult<Option<TemplateRow>> {
    templates::table
        .find(id)
        .select(TemplateRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_code(conn: &mut DbConnection, code: &str) -> QueryResult<Option<TemplateRow>> {
    templates::table
        .filter(templates::code.eq(code))
        .select(TemplateRow::as_select())
        .first(conn)
        .optional()
}

pub fn version(
    conn: &mut DbConnection,
    id: &TemplateId,
    version: i32,
) -> QueryResult<Option<TemplateVersionRow>> {
    versions::table
        .find((id, version))
        .select(TemplateVersionRow::as_select())
        .first(conn)
        .optional()
}

/// Every template with its current version, by code.
pub fn list_current(
    conn: &mut DbConnection,
    include_archived: bool,
) -> QueryResult<Vec<(TemplateRow, TemplateVersionRow)>> {
    let mut q = templates::table
        .inner_join(
            versions::table.on(versions::template_id
                .eq(templates::id)
                .and(versions::version.eq(templates::current_version))),
        )
        .select((TemplateRow::as_select(), TemplateVersionRow::as_select()))
        .into_boxed();
    if !include_archived {
        q = q.filter(templates::archived_at.is_null());
    }
    q.order(templates::code).load(conn)
}

/// Every version of one template, oldest first.
pub fn versions_of(
    conn: &mut DbConnection,
    id: &TemplateId,
) -> QueryResult<Vec<TemplateVersionRow>> {
    versions::table
        .filter(versions::template_id.eq(id))
        .order(versions::version)
        .select(TemplateVersionRow::as_select())
        .load(conn)
}

/// Adds version `v.version` if the template is still at `v.version - 1` (two admins editing at
/// once cannot both make the same version number). Returns whether it was added.
pub fn add_version(
    conn: &mut DbConnection,
    v: &TemplateVersionRow,
    at: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        templates::table
            .find(&v.template_id)
            .filter(templates::current_version.eq(v.version - 1)),
    )
    .set((
        templates::current_version.eq(v.version),
        templates::updated_at.eq(at),
    ))
    .execute(conn)?;
    if n == 1 {
        diesel::insert_into(versions::table)
            .values(v)
            .execute(conn)?;
    }
    Ok(n == 1)
}

pub fn set_archived(
    conn: &mut DbConnection,
    id: &TemplateId,
    archived_at: Option<NaiveDateTime>,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(templates::table.find(id))
        .set((
            templates::archived_at.eq(archived_at),
            templates::updated_at.eq(at),
        ))
        .execute(conn)
        .map(|_| ())
}
