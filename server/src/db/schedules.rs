//! Queries on inspection schedules (cadences) and deductions (错报、漏报、瞒报).

use super::connection::DbConnection;
use super::issues::subtree_bounds;
use super::schema::{deductions, inspection_schedules as schedules};
use crate::ids::{DeductionId, IssueId, OrgUnitId, ScheduleId, TemplateId, UserId};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = schedules)]
pub struct ScheduleRow {
    pub id: ScheduleId,
    pub place_id: OrgUnitId,
    pub place_path: String,
    pub template_id: TemplateId,
    pub cadence: String,
    pub team: String,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    pub created_by: UserId,
    pub created_at: NaiveDateTime,
    pub archived_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = deductions)]
pub struct DeductionRow {
    pub id: DeductionId,
    pub place_id: OrgUnitId,
    pub place_path: String,
    pub kind: String,
    pub points: f64,
    pub reason: String,
    pub occurred_on: NaiveDate,
    pub issue_id: Option<IssueId>,
    pub recorded_by: UserId,
    pub created_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, row: &ScheduleRow) -> QueryResult<()> {
    diesel::insert_into(schedules::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConnection, id: &ScheduleId) -> QueryResult<Option<ScheduleRow>> {
    schedules::table
        .find(id)
        .select(ScheduleRow::as_select())
        .first(conn)
        .optional()
}

/// Active schedules at places inside any of the subtrees that run on some day of `from..=to`.
pub fn active_in(
    conn: &mut DbConnection,
    subtrees: &[String],
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<ScheduleRow>> {
    let mut out = Vec::new();
    for prefix in subtrees {
        let (lo, hi) = subtree_bounds(prefix);
        out.extend(
            schedules::table
                .filter(
                    schedules::place_path
                        .ge(lo)
                        .and(schedules::place_path.lt(hi)),
                )
                .filter(schedules::archived_at.is_null())
                .filter(schedules::starts_on.le(to))
                .filter(schedules::ends_on.is_null().or(schedules::ends_on.ge(from)))
                .select(ScheduleRow::as_select())
                .order((schedules::place_path, schedules::created_at))
                .load(conn)?,
        );
    }
    Ok(out)
}

pub fn archive(conn: &mut DbConnection, id: &ScheduleId, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(schedules::table.find(id))
        .set(schedules::archived_at.eq(Some(at)))
        .execute(conn)
        .map(|_| ())
}

pub fn insert_deduction(conn: &mut DbConnection, row: &DeductionRow) -> QueryResult<()> {
    diesel::insert_into(deductions::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// Deductions at places in a subtree counting for a day of `from..=to`.
pub fn deductions_between(
    conn: &mut DbConnection,
    subtree: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<DeductionRow>> {
    let (lo, hi) = subtree_bounds(subtree);
    deductions::table
        .filter(
            deductions::place_path
                .ge(lo)
                .and(deductions::place_path.lt(hi)),
        )
        .filter(
            deductions::occurred_on
                .ge(from)
                .and(deductions::occurred_on.le(to)),
        )
        .select(DeductionRow::as_select())
        .order((deductions::occurred_on, deductions::created_at))
        .load(conn)
}
