//! Moving rows along the place tree (区划调整): rewriting the materialized paths under a place that
//! moved, and handing what belonged to a merged place to the place that took it over. Callers
//! hold the write transaction and write the issues themselves (each gets a history event).

use super::connection::DbConnection;
use super::issues::subtree_bounds;
use super::models::IssueRow;
use super::schema::{
    change_feed, deductions, inspection_conflicts, inspection_schedules, inspections,
    issue_imports, issues, org_units, role_assignments, sync_conflicts,
};
use crate::ids::OrgUnitId;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Nullable, Text};

diesel::define_sql_function! {
    /// `substr(text, start)`, 1-based, on both backends.
    fn substr(text: Text, start: Integer) -> Text;
}

diesel::define_sql_function! {
    #[sql_name = "substr"]
    fn substr_nullable(text: Nullable<Text>, start: Integer) -> Nullable<Text>;
}

/// Where the part of a path after `from` starts (paths are ASCII).
fn tail_start(from: &str) -> i32 {
    i32::try_from(from.len()).unwrap_or(i32::MAX - 1) + 1
}

/// `column = to || substr(column, len(from) + 1)` for every row whose `column` lies under `from`.
macro_rules! rewrite {
    ($conn:expr, $table:expr, $col:expr, $from:expr, $to:expr) => {{
        let (lo, hi) = subtree_bounds($from);
        diesel::update($table)
            .filter($col.ge(lo).and($col.lt(hi)))
            .set(
                $col.eq($to
                    .to_owned()
                    .into_sql::<Text>()
                    .concat(substr($col, tail_start($from)))),
            )
            .execute($conn)
    }};
    ($conn:expr, $table:expr, nullable $col:expr, $from:expr, $to:expr) => {{
        let (lo, hi) = subtree_bounds($from);
        diesel::update($table)
            .filter($col.ge(lo).and($col.lt(hi)))
            .set(
                $col.eq($to
                    .to_owned()
                    .into_sql::<Nullable<Text>>()
                    .concat(substr_nullable($col, tail_start($from)))),
            )
            .execute($conn)
    }};
}

/// Rewrites every stored path under `from` to lie under `to`, except the place tree itself and
/// issues' own places (written one by one with an event): units of issues, conflicts, the change
/// feed, inspections, schedules, deductions and import records.
pub fn rewrite_paths(conn: &mut DbConnection, from: &str, to: &str) -> QueryResult<()> {
    rewrite!(conn, issues::table, nullable issues::responsible_unit_path, from, to)?;
    rewrite!(
        conn,
        sync_conflicts::table,
        sync_conflicts::place_path,
        from,
        to
    )?;
    rewrite!(conn, change_feed::table, change_feed::place_path, from, to)?;
    rewrite!(conn, change_feed::table, nullable change_feed::unit_path, from, to)?;
    rewrite!(conn, change_feed::table, nullable change_feed::previous_unit_path, from, to)?;
    rewrite!(conn, inspections::table, inspections::place_path, from, to)?;
    rewrite!(
        conn,
        inspection_conflicts::table,
        inspection_conflicts::place_path,
        from,
        to
    )?;
    rewrite!(
        conn,
        inspection_schedules::table,
        inspection_schedules::place_path,
        from,
        to
    )?;
    rewrite!(conn, deductions::table, deductions::place_path, from, to)?;
    rewrite!(
        conn,
        issue_imports::table,
        issue_imports::place_path,
        from,
        to
    )?;
    Ok(())
}

/// Moves the places under `from` (the place at `from` itself too when `with_root`) to lie under
/// `to`, their depth changed by `depth_delta`.
pub fn rewrite_places(
    conn: &mut DbConnection,
    from: &str,
    to: &str,
    depth_delta: i32,
    with_root: bool,
) -> QueryResult<usize> {
    let (lo, hi) = subtree_bounds(from);
    let path = to
        .to_owned()
        .into_sql::<Text>()
        .concat(substr(org_units::path, tail_start(from)));
    let changes = (
        org_units::path.eq(path),
        org_units::depth.eq(org_units::depth + depth_delta),
    );
    if with_root {
        diesel::update(org_units::table)
            .filter(org_units::path.ge(lo).and(org_units::path.lt(hi)))
            .set(changes)
            .execute(conn)
    } else {
        diesel::update(org_units::table)
            .filter(org_units::path.gt(lo).and(org_units::path.lt(hi)))
            .set(changes)
            .execute(conn)
    }
}

pub fn set_parent(
    conn: &mut DbConnection,
    place: &OrgUnitId,
    parent: &OrgUnitId,
) -> QueryResult<usize> {
    diesel::update(org_units::table.find(place))
        .set(org_units::parent_id.eq(parent))
        .execute(conn)
}

/// The children of `from` become children of `to`.
pub fn adopt_children(
    conn: &mut DbConnection,
    from: &OrgUnitId,
    to: &OrgUnitId,
) -> QueryResult<usize> {
    diesel::update(org_units::table.filter(org_units::parent_id.eq(from)))
        .set(org_units::parent_id.eq(to))
        .execute(conn)
}

/// Issues whose place lies under `path` (the place itself included).
pub fn issues_under(conn: &mut DbConnection, path: &str) -> QueryResult<Vec<IssueRow>> {
    let (lo, hi) = subtree_bounds(path);
    issues::table
        .filter(issues::place_path.ge(lo).and(issues::place_path.lt(hi)))
        .select(IssueRow::as_select())
        .order(issues::id)
        .load(conn)
}

/// Inspections whose place lies under `path`: (id, place path).
pub fn inspections_under(
    conn: &mut DbConnection,
    path: &str,
) -> QueryResult<Vec<(String, String)>> {
    let (lo, hi) = subtree_bounds(path);
    inspections::table
        .filter(
            inspections::place_path
                .ge(lo)
                .and(inspections::place_path.lt(hi)),
        )
        .select((inspections::id, inspections::place_path))
        .load(conn)
}

/// What a merge handed over, row counts.
#[derive(Debug, Clone, Copy, Default)]
pub struct HandedOver {
    pub inspections: usize,
    pub schedules: usize,
    pub deductions: usize,
    pub assigned_as_unit: usize,
}

/// Rows that name the merged place by id name the survivor instead (their paths are rewritten by
/// [`rewrite_paths`]): inspections, schedules, deductions, and issues and inspections it was the
/// responsible unit of.
pub fn hand_over(
    conn: &mut DbConnection,
    merged: &OrgUnitId,
    survivor: &OrgUnitId,
) -> QueryResult<HandedOver> {
    let inspections = diesel::update(inspections::table.filter(inspections::place_id.eq(merged)))
        .set(inspections::place_id.eq(survivor))
        .execute(conn)?;
    diesel::update(inspections::table.filter(inspections::responsible_unit_id.eq(merged)))
        .set(inspections::responsible_unit_id.eq(survivor))
        .execute(conn)?;
    let schedules = diesel::update(
        inspection_schedules::table.filter(inspection_schedules::place_id.eq(merged)),
    )
    .set(inspection_schedules::place_id.eq(survivor))
    .execute(conn)?;
    let deductions = diesel::update(deductions::table.filter(deductions::place_id.eq(merged)))
        .set(deductions::place_id.eq(survivor))
        .execute(conn)?;
    let assigned_as_unit =
        diesel::update(issues::table.filter(issues::responsible_unit_id.eq(merged)))
            .set(issues::responsible_unit_id.eq(survivor))
            .execute(conn)?;
    Ok(HandedOver {
        inspections,
        schedules,
        deductions,
        assigned_as_unit,
    })
}

/// Role grants on the merged place move to the survivor; a grant its holder already has there is
/// dropped. Returns how many moved.
pub fn hand_over_roles(
    conn: &mut DbConnection,
    merged: &OrgUnitId,
    survivor: &OrgUnitId,
) -> QueryResult<usize> {
    let held: Vec<(String, String)> = role_assignments::table
        .filter(role_assignments::org_unit_id.eq(survivor))
        .select((role_assignments::user_id, role_assignments::role))
        .load(conn)?;
    let on_merged: Vec<(String, String, String)> = role_assignments::table
        .filter(role_assignments::org_unit_id.eq(merged))
        .select((
            role_assignments::id,
            role_assignments::user_id,
            role_assignments::role,
        ))
        .load(conn)?;
    let mut moved = 0;
    for (id, user, role) in on_merged {
        let grant = role_assignments::table.filter(role_assignments::id.eq(&id));
        if held.contains(&(user, role)) {
            diesel::delete(grant).execute(conn)?;
        } else {
            moved += diesel::update(grant)
                .set(role_assignments::org_unit_id.eq(survivor))
                .execute(conn)?;
        }
    }
    Ok(moved)
}
