//! The issues a period's statistics read (reports::stats): each issue bearing on a period, as it
//! goes, and the reopenings (反弹) recorded in it, within a report's scope.

use super::connection::{DbBackend, DbConnection};
use super::issues::subtree_bounds;
use super::schema::{issue_events, issues};
use crate::ids::IssueId;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

/// The columns statistics need (narrower than [`IssueRow`]).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = issues)]
pub struct IssueFigureRow {
    pub id: IssueId,
    pub ledger_no: String,
    pub title: String,
    pub place_id: crate::ids::OrgUnitId,
    pub place_path: String,
    pub category: String,
    pub state: String,
    pub deadline: Option<NaiveDate>,
    pub escalation_level: i32,
    pub responsible_unit_id: Option<crate::ids::OrgUnitId>,
    pub responsible_unit_path: Option<String>,
    pub created_at: NaiveDateTime,
    pub closed_at: Option<NaiveDateTime>,
}

/// Where a report's issues are: reported in the `places` subtree, or — for a responsible unit's
/// own report, as its issue list has them — assigned to a unit in the `units` subtree.
#[derive(Debug, Clone, Copy)]
pub struct FigureScope<'a> {
    pub places: &'a str,
    pub units: Option<&'a str>,
}

impl FigureScope<'_> {
    fn filter(
        self,
    ) -> Box<
        dyn BoxableExpression<
                issues::table,
                DbBackend,
                SqlType = diesel::sql_types::Nullable<diesel::sql_types::Bool>,
            >,
    > {
        let (lo, hi) = subtree_bounds(self.places);
        let by_place = issues::place_path
            .ge(lo)
            .and(issues::place_path.lt(hi))
            .nullable();
        match self.units {
            Some(units) => {
                let (lo, hi) = subtree_bounds(units);
                Box::new(
                    by_place.or(issues::responsible_unit_path
                        .ge(lo)
                        .and(issues::responsible_unit_path.lt(hi))),
                )
            }
            None => Box::new(by_place),
        }
    }
}

/// Each issue of a subtree that bears on a period `[start, end)`: created before its end, not
/// rejected or duplicate, and not closed before its start; in no order, read by one query as
/// it goes (SQLite steps through the rows; PostgreSQL's driver holds the result, about 200
/// bytes a row). Keyset pages by id made SQLite sort the whole subtree again for each page of
/// 2,000 (15 s for a 100,000-issue bulletin), and pages by `(created_at, id)` got PostgreSQL's
/// generic plan of the cached statement — the subtree index and a sort, 100 ms a page; with no
/// order and no limit, the best plan does not depend on the parameters.
pub fn for_each_figure(
    conn: &mut DbConnection,
    scope: FigureScope<'_>,
    start: NaiveDateTime,
    end: NaiveDateTime,
    mut each: impl FnMut(IssueFigureRow),
) -> QueryResult<()> {
    let rows = issues::table
        .select(IssueFigureRow::as_select())
        .filter(scope.filter())
        .filter(issues::created_at.lt(end))
        .filter(issues::state.ne_all(["rejected", "duplicate"]))
        .filter(issues::closed_at.is_null().or(issues::closed_at.ge(start)))
        .into_boxed::<DbBackend>()
        .load_iter::<IssueFigureRow, diesel::connection::DefaultLoadingMode>(conn)?;
    for row in rows {
        each(row?);
    }
    Ok(())
}

/// (place path, unit path, category) of each reopening (反弹) recorded in `[start, end)` in a
/// scope.
pub fn reopenings_in(
    conn: &mut DbConnection,
    scope: FigureScope<'_>,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> QueryResult<Vec<(String, Option<String>, String)>> {
    let (lo, hi) = subtree_bounds(scope.places);
    let by_place = issues::place_path.ge(lo).and(issues::place_path.lt(hi));
    let q = issue_events::table
        .inner_join(issues::table)
        .filter(issue_events::action.eq("reopen"))
        .filter(issue_events::server_time.ge(start))
        .filter(issue_events::server_time.lt(end))
        .into_boxed::<DbBackend>();
    let q = match scope.units {
        Some(units) => {
            let (lo, hi) = subtree_bounds(units);
            q.filter(
                by_place.nullable().or(issues::responsible_unit_path
                    .ge(lo)
                    .and(issues::responsible_unit_path.lt(hi))),
            )
        }
        None => q.filter(by_place),
    };
    q.select((
        issues::place_path,
        issues::responsible_unit_path,
        issues::category,
    ))
    .load(conn)
}
