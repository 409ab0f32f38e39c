//! Queries on inspections, their item results, the issues their failures raised and the
//! conflicts between phones. Every write to an inspection appends to the change feed.

use super::connection::{DbBackend, DbConnection};
use super::issues::subtree_bounds;
use super::schema::{inspection_conflicts, inspection_issues, inspection_results, inspections};
use crate::ids::{
    DeviceId, InspectionConflictId, InspectionId, IssueId, OrgUnitId, TemplateId, UserId,
};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = inspections, treat_none_as_null = true)]
pub struct InspectionRow {
    pub id: InspectionId,
    pub template_id: TemplateId,
    pub template_version: i32,
    pub place_id: OrgUnitId,
    pub place_path: String,
    pub mode: String,
    pub site: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub accuracy_m: Option<f64>,
    pub address: Option<String>,
    pub team: String,
    pub responsible_unit_id: Option<OrgUnitId>,
    pub responsible_user_id: Option<UserId>,
    pub schedule_id: Option<String>,
    pub state: String,
    pub started_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
    pub finished_on: Option<NaiveDate>,
    pub summary: Option<String>,
    pub score: f64,
    pub max_score: f64,
    pub created_by: UserId,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = inspection_results, treat_none_as_null = true)]
pub struct ResultRow {
    pub inspection_id: InspectionId,
    pub item_key: String,
    pub rev: i32,
    pub result: String,
    pub score: f64,
    pub max_score: f64,
    pub failed: bool,
    pub recorded_by: UserId,
    pub device_time: Option<NaiveDateTime>,
    pub recorded_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = inspection_issues)]
pub struct IssueLinkRow {
    pub inspection_id: InspectionId,
    pub item_key: String,
    pub issue_id: IssueId,
    pub assignment: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = inspection_conflicts)]
pub struct InspectionConflictRow {
    pub id: InspectionConflictId,
    pub inspection_id: InspectionId,
    pub place_path: String,
    pub kind: String,
    pub field: String,
    pub mutation_id: Option<String>,
    pub device_id: Option<DeviceId>,
    pub user_id: UserId,
    pub incoming: String,
    pub current_value: String,
    pub created_at: NaiveDateTime,
    pub resolved_at: Option<NaiveDateTime>,
    pub resolved_by: Option<UserId>,
    pub resolution: Option<String>,
    pub resolution_comment: Option<String>,
}

pub const ENTITY: &str = "inspection";

pub fn insert(conn: &mut DbConnection, row: &InspectionRow) -> QueryResult<()> {
    diesel::insert_into(inspections::table)
        .values(row)
        .execute(conn)?;
    super::changes::record(
        conn,
        ENTITY,
        row.id.as_str(),
        &row.place_path,
        row.updated_at,
    )
    .map(|_| ())
}

/// Locks the inspection's row until commit (a no-op update; nothing if it does not exist yet).
pub fn lock(conn: &mut DbConnection, id: &InspectionId) -> QueryResult<()> {
    diesel::update(inspections::table.find(id))
        .set(inspections::version.eq(inspections::version))
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConnection, id: &InspectionId) -> QueryResult<Option<InspectionRow>> {
    inspections::table
        .find(id)
        .select(InspectionRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_many(conn: &mut DbConnection, ids: &[InspectionId]) -> QueryResult<Vec<InspectionRow>> {
    inspections::table
        .filter(inspections::id.eq_any(ids))
        .select(InspectionRow::as_select())
        .load(conn)
}

/// Writes `row` if the stored version is still `previous_version`; appends the feed entry.
pub fn update_if_version(
    conn: &mut DbConnection,
    row: &InspectionRow,
    previous_version: i32,
) -> QueryResult<bool> {
    let n = diesel::update(
        inspections::table
            .find(&row.id)
            .filter(inspections::version.eq(previous_version)),
    )
    .set(row)
    .execute(conn)?;
    if n == 1 {
        super::changes::record(
            conn,
            ENTITY,
            row.id.as_str(),
            &row.place_path,
            row.updated_at,
        )?;
    }
    Ok(n == 1)
}

/// What a list of inspections is narrowed to (visibility: `subtrees`, never empty).
#[derive(Debug, Clone, Default)]
pub struct InspectionFilter {
    pub subtrees: Vec<String>,
    pub place_path: Option<String>,
    pub template_id: Option<TemplateId>,
    pub mode: Option<String>,
    pub state: Option<String>,
    pub started_from: Option<NaiveDateTime>,
    pub started_to: Option<NaiveDateTime>,
    /// Keyset: strictly before this (started_at, id), newest first.
    pub before: Option<(super::stamp::Stamp, String)>,
    pub limit: i64,
}

pub fn list(conn: &mut DbConnection, f: &InspectionFilter) -> QueryResult<Vec<InspectionRow>> {
    if f.subtrees.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = inspections::table
        .select(InspectionRow::as_select())
        .into_boxed::<DbBackend>()
        .filter(inspections::id.ne(inspections::id));
    for prefix in &f.subtrees {
        let (lo, hi) = subtree_bounds(prefix);
        q = q.or_filter(
            inspections::place_path
                .ge(lo)
                .and(inspections::place_path.lt(hi)),
        );
    }
    if let Some(p) = &f.place_path {
        let (lo, hi) = subtree_bounds(p);
        q = q.filter(
            inspections::place_path
                .ge(lo)
                .and(inspections::place_path.lt(hi)),
        );
    }
    if let Some(t) = &f.template_id {
        q = q.filter(inspections::template_id.eq(t.clone()));
    }
    if let Some(m) = &f.mode {
        q = q.filter(inspections::mode.eq(m.clone()));
    }
    if let Some(s) = &f.state {
        q = q.filter(inspections::state.eq(s.clone()));
    }
    if let Some(t) = f.started_from {
        q = q.filter(inspections::started_at.ge(t));
    }
    if let Some(t) = f.started_to {
        q = q.filter(inspections::started_at.le(t));
    }
    if let Some((t, id)) = &f.before {
        q = q.filter(
            inspections::started_at.lt(*t).or(inspections::started_at
                .eq(*t)
                .and(inspections::id.lt(id.clone()))),
        );
    }
    q.order((inspections::started_at.desc(), inspections::id.desc()))
        .limit(f.limit)
        .load(conn)
}

/// Finished inspections in a subtree whose office day falls in `from..=to` (rankings, schedules).
pub fn finished_between(
    conn: &mut DbConnection,
    subtree: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<InspectionRow>> {
    let (lo, hi) = subtree_bounds(subtree);
    inspections::table
        .filter(
            inspections::place_path
                .ge(lo)
                .and(inspections::place_path.lt(hi)),
        )
        .filter(
            inspections::finished_on
                .ge(from)
                .and(inspections::finished_on.le(to)),
        )
        .select(InspectionRow::as_select())
        .order((inspections::finished_on, inspections::id))
        .load(conn)
}

pub fn results_of(conn: &mut DbConnection, id: &InspectionId) -> QueryResult<Vec<ResultRow>> {
    inspection_results::table
        .filter(inspection_results::inspection_id.eq(id))
        .select(ResultRow::as_select())
        .order(inspection_results::item_key)
        .load(conn)
}

/// Inserts a first result (rev 1) or replaces the stored one.
pub fn save_result(conn: &mut DbConnection, row: &ResultRow) -> QueryResult<()> {
    let n = diesel::update(inspection_results::table.find((&row.inspection_id, &row.item_key)))
        .set(row)
        .execute(conn)?;
    if n == 0 {
        diesel::insert_into(inspection_results::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

pub fn links_of(conn: &mut DbConnection, id: &InspectionId) -> QueryResult<Vec<IssueLinkRow>> {
    inspection_issues::table
        .filter(inspection_issues::inspection_id.eq(id))
        .select(IssueLinkRow::as_select())
        .order(inspection_issues::item_key)
        .load(conn)
}

pub fn link_of_issue(
    conn: &mut DbConnection,
    issue: &IssueId,
) -> QueryResult<Option<IssueLinkRow>> {
    inspection_issues::table
        .filter(inspection_issues::issue_id.eq(issue))
        .select(IssueLinkRow::as_select())
        .first(conn)
        .optional()
}

pub fn insert_link(conn: &mut DbConnection, row: &IssueLinkRow) -> QueryResult<()> {
    diesel::insert_into(inspection_issues::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn insert_conflict(conn: &mut DbConnection, row: &InspectionConflictRow) -> QueryResult<()> {
    diesel::insert_into(inspection_conflicts::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn find_conflict(
    conn: &mut DbConnection,
    id: &InspectionConflictId,
) -> QueryResult<Option<InspectionConflictRow>> {
    inspection_conflicts::table
        .find(id)
        .select(InspectionConflictRow::as_select())
        .first(conn)
        .optional()
}

pub fn conflicts_of(
    conn: &mut DbConnection,
    id: &InspectionId,
) -> QueryResult<Vec<InspectionConflictRow>> {
    inspection_conflicts::table
        .filter(inspection_conflicts::inspection_id.eq(id))
        .select(InspectionConflictRow::as_select())
        .order(inspection_conflicts::created_at)
        .load(conn)
}

/// Conflicts on inspections in the subtrees, oldest first (then by id), after a position.
pub fn list_conflicts(
    conn: &mut DbConnection,
    subtrees: &[String],
    unresolved_only: bool,
    after: Option<(NaiveDateTime, &InspectionConflictId)>,
    limit: i64,
) -> QueryResult<Vec<InspectionConflictRow>> {
    if subtrees.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = inspection_conflicts::table
        .select(InspectionConflictRow::as_select())
        .into_boxed::<DbBackend>()
        .filter(super::place_in_subtrees!(inspection_conflicts, subtrees));
    if unresolved_only {
        q = q.filter(inspection_conflicts::resolved_at.is_null());
    }
    if let Some((at, id)) = after {
        q = q.filter(
            inspection_conflicts::created_at
                .gt(at)
                .or(inspection_conflicts::created_at
                    .eq(at)
                    .and(inspection_conflicts::id.gt(id.clone()))),
        );
    }
    q.order((inspection_conflicts::created_at, inspection_conflicts::id))
        .limit(limit)
        .load(conn)
}

/// How many conflicts on inspections in the subtrees are unresolved.
pub fn count_open_conflicts(conn: &mut DbConnection, subtrees: &[String]) -> QueryResult<i64> {
    if subtrees.is_empty() {
        return Ok(0);
    }
    let q = inspection_conflicts::table
        .into_boxed::<DbBackend>()
        .filter(super::place_in_subtrees!(inspection_conflicts, subtrees));
    q.filter(inspection_conflicts::resolved_at.is_null())
        .count()
        .get_result(conn)
}

/// The latest resolved conflicts on inspections in the subtrees, latest resolution first.
pub fn recently_resolved_conflicts(
    conn: &mut DbConnection,
    subtrees: &[String],
    limit: i64,
) -> QueryResult<Vec<InspectionConflictRow>> {
    if subtrees.is_empty() {
        return Ok(Vec::new());
    }
    let q = inspection_conflicts::table
        .select(InspectionConflictRow::as_select())
        .into_boxed::<DbBackend>()
        .filter(super::place_in_subtrees!(inspection_conflicts, subtrees));
    q.filter(inspection_conflicts::resolved_at.is_not_null())
        .order((
            inspection_conflicts::resolved_at.desc(),
            inspection_conflicts::id,
        ))
        .limit(limit)
        .load(conn)
}

/// Marks a conflict resolved unless it already was: false when someone resolved it first.
pub fn resolve_conflict(
    conn: &mut DbConnection,
    id: &InspectionConflictId,
    by: &UserId,
    at: NaiveDateTime,
    resolution: &str,
    comment: Option<&str>,
) -> QueryResult<bool> {
    let n = diesel::update(
        inspection_conflicts::table
            .find(id)
            .filter(inspection_conflicts::resolved_at.is_null()),
    )
    .set((
        inspection_conflicts::resolved_at.eq(at),
        inspection_conflicts::resolved_by.eq(by),
        inspection_conflicts::resolution.eq(resolution),
        inspection_conflicts::resolution_comment.eq(comment),
    ))
    .execute(conn)?;
    Ok(n == 1)
}
