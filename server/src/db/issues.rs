//! Queries on issues and their history.

use super::connection::{DbBackend, DbConnection};
use super::models::{IssueEventRow, IssueRow};
use super::schema::{issue_events, issues};
use super::stamp::Stamp;
use crate::ids::{IssueId, UserId};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

/// Inserts a new issue and its change-feed entry.
pub fn insert(conn: &mut DbConnection, row: &IssueRow) -> QueryResult<()> {
    diesel::insert_into(issues::table)
        .values(row)
        .execute(conn)?;
    super::changes::record_issue(conn, row, None).map(|_| ())
}

pub fn find(conn: &mut DbConnection, id: &IssueId) -> QueryResult<Option<IssueRow>> {
    issues::table
        .find(id)
        .select(IssueRow::as_select())
        .first(conn)
        .optional()
}

/// Writes `row` over `previous` only if the stored version is still `previous.version`: two
/// concurrent changes to one issue cannot both succeed. Appends the change-feed entry. Returns
/// whether it was written.
pub fn update_if_version(
    conn: &mut DbConnection,
    row: &IssueRow,
    previous: &IssueRow,
) -> QueryResult<bool> {
    let n = diesel::update(
        issues::table
            .find(&row.id)
            .filter(issues::version.eq(previous.version)),
    )
    .set(row)
    .execute(conn)?;
    if n == 1 {
        super::changes::record_issue(conn, row, previous.responsible_unit_path.as_deref())?;
    }
    Ok(n == 1)
}

/// Issues by id (for building pull responses).
pub fn find_many(conn: &mut DbConnection, ids: &[IssueId]) -> QueryResult<Vec<IssueRow>> {
    issues::table
        .filter(issues::id.eq_any(ids))
        .select(IssueRow::as_select())
        .load(conn)
}

/// Which of `ids` exist. Reads only the primary key: fetching whole rows made PostgreSQL prefer a
/// sequential scan for a 500-id batch.
pub fn existing(conn: &mut DbConnection, ids: &[IssueId]) -> QueryResult<Vec<IssueId>> {
    issues::table
        .filter(issues::id.eq_any(ids))
        .select(issues::id)
        .load(conn)
}

/// Inserts new issues and their first events in multi-row statements, and records them in the
/// change feed in order: what [`insert`] and [`insert_event`] do one by one, for a batch.
pub fn insert_many(
    conn: &mut DbConnection,
    rows: &[IssueRow],
    events: &[IssueEventRow],
) -> QueryResult<()> {
    super::insert_rows!(conn, issues::table, rows)?;
    super::insert_rows!(conn, issue_events::table, events)?;
    super::changes::record_new_issues(conn, rows)
}

pub fn insert_event(conn: &mut DbConnection, row: &IssueEventRow) -> QueryResult<()> {
    diesel::insert_into(issue_events::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn events_of(conn: &mut DbConnection, issue: &IssueId) -> QueryResult<Vec<IssueEventRow>> {
    issue_events::table
        .filter(issue_events::issue_id.eq(issue))
        .select(IssueEventRow::as_select())
        .order(issue_events::seq)
        .load(conn)
}

/// `[low, high)` bounds of the paths inside a subtree: index-friendly on both backends, unlike
/// `LIKE 'prefix%'`. Paths are ASCII and end with '/', and '0' is the byte after '/'.
pub fn subtree_bounds(prefix: &str) -> (String, String) {
    let high = match prefix.strip_suffix('/') {
        Some(head) => format!("{head}0"),
        None => format!("{prefix}\u{7f}"),
    };
    (prefix.to_owned(), high)
}

/// What a list of issues is narrowed to. Visibility (`visible_places` or `responsible_units`)
/// always applies; the rest only when set.
#[derive(Debug, Clone, Default)]
pub struct IssueFilter {
    /// Subtrees whose issues the caller sees by place.
    pub visible_places: Vec<String>,
    /// Subtrees of units whose assigned issues the caller sees as the responsible unit.
    pub responsible_units: Vec<String>,
    pub states: Vec<String>,
    pub place_subtree: Option<String>,
    pub category: Option<String>,
    pub source: Option<String>,
    pub responsible_unit_subtree: Option<String>,
    pub responsible_user: Option<UserId>,
    /// Open and with a deadline before this day.
    pub deadline_before: Option<NaiveDate>,
    /// Open and with a deadline in `[from, to]`.
    pub deadline_within: Option<(NaiveDate, NaiveDate)>,
    pub text: Option<String>,
    pub created_from: Option<NaiveDateTime>,
    pub created_to: Option<NaiveDateTime>,
    pub closed_from: Option<NaiveDateTime>,
    pub closed_to: Option<NaiveDateTime>,
    /// Keyset cursor: the (created_at, id) of the last row of the previous page.
    pub after: Option<(Stamp, IssueId)>,
    pub limit: i64,
}

pub const OPEN_STATES: [&str; 4] = ["reported", "assigned", "rectifying", "submitted"];

/// Newest first.
pub fn list(conn: &mut DbConnection, f: &IssueFilter) -> QueryResult<Vec<IssueRow>> {
    if f.visible_places.is_empty() && f.responsible_units.is_empty() {
        return Ok(Vec::new());
    }
    filtered(f)
        .select(IssueRow::as_select())
        .order((issues::created_at.desc(), issues::id.desc()))
        .limit(f.limit)
        .load(conn)
}

/// How many issues the filter matches (ignoring `after` and `limit`).
pub fn count(conn: &mut DbConnection, f: &IssueFilter) -> QueryResult<i64> {
    if f.visible_places.is_empty() && f.responsible_units.is_empty() {
        return Ok(0);
    }
    let f = IssueFilter {
        after: None,
        ..f.clone()
    };
    filtered(&f).count().get_result(conn)
}

/// The filter as a WHERE clause, shared by `list` and `count`.
fn filtered(f: &IssueFilter) -> issues::BoxedQuery<'static, DbBackend> {
    let mut q = issues::table
        .into_boxed::<DbBackend>()
        // Never matches: the visibility predicates below are OR-ed onto it.
        .filter(issues::id.ne(issues::id));
    for prefix in &f.visible_places {
        let (lo, hi) = subtree_bounds(prefix);
        q = q.or_filter(issues::place_path.ge(lo).and(issues::place_path.lt(hi)));
    }
    for prefix in &f.responsible_units {
        let (lo, hi) = subtree_bounds(prefix);
        q = q.or_filter(
            issues::responsible_unit_path
                .ge(lo)
                .and(issues::responsible_unit_path.lt(hi)),
        );
    }
    if !f.states.is_empty() {
        q = q.filter(issues::state.eq_any(f.states.clone()));
    }
    if let Some(prefix) = &f.place_subtree {
        let (lo, hi) = subtree_bounds(prefix);
        q = q.filter(issues::place_path.ge(lo).and(issues::place_path.lt(hi)));
    }
    if let Some(prefix) = &f.responsible_unit_subtree {
        let (lo, hi) = subtree_bounds(prefix);
        q = q.filter(
            issues::responsible_unit_path
                .ge(lo)
                .and(issues::responsible_unit_path.lt(hi)),
        );
    }
    if let Some(category) = &f.category {
        q = q.filter(issues::category.eq(category.clone()));
    }
    if let Some(source) = &f.source {
        q = q.filter(issues::source.eq(source.clone()));
    }
    if let Some(user) = &f.responsible_user {
        q = q.filter(issues::responsible_user_id.eq(user.clone()));
    }
    if let Some(day) = f.deadline_before {
        q = q
            .filter(issues::state.eq_any(OPEN_STATES))
            .filter(issues::deadline.lt(day));
    }
    if let Some((from, to)) = f.deadline_within {
        q = q
            .filter(issues::state.eq_any(OPEN_STATES))
            .filter(issues::deadline.ge(from))
            .filter(issues::deadline.le(to));
    }
    if let Some(text) = &f.text {
        let pattern = format!("%{}%", escape_like(text));
        q = q.filter(
            issues::title
                .like(pattern.clone())
                .escape('\\')
                .or(issues::description.like(pattern.clone()).escape('\\'))
                .or(issues::ledger_no.like(pattern).escape('\\')),
        );
    }
    if let Some(t) = f.created_from {
        q = q.filter(issues::created_at.ge(t));
    }
    if let Some(t) = f.created_to {
        q = q.filter(issues::created_at.lt(t));
    }
    if let Some(t) = f.closed_from {
        q = q.filter(issues::closed_at.ge(t));
    }
    if let Some(t) = f.closed_to {
        q = q.filter(issues::closed_at.lt(t));
    }
    if let Some((at, id)) = &f.after {
        // `created_at <= at` is implied by the OR below; said on its own it is an index range
        // both planners use, so page k does not walk past the k-1 pages before it (PostgreSQL
        // otherwise filters from the newest row: a 100,000-issue export took 5 s, not 1).
        q = q.filter(issues::created_at.le(*at)).filter(
            issues::created_at
                .lt(*at)
                .or(issues::created_at.eq(*at).and(issues::id.lt(id.clone()))),
        );
    }
    q
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Issues waiting on their unit, past `deadline_before`, below `below_level` on the ladder:
/// the escalation scheduler's work list, oldest deadline first.
pub fn escalation_candidates(
    conn: &mut DbConnection,
    deadline_before: NaiveDate,
    below_level: i32,
    after: Option<(Option<NaiveDate>, IssueId)>,
    limit: i64,
) -> QueryResult<Vec<IssueRow>> {
    let mut q = issues::table
        .filter(issues::state.eq_any(["assigned", "rectifying"]))
        .filter(issues::deadline.lt(deadline_before))
        .filter(issues::escalation_level.lt(below_level))
        .select(IssueRow::as_select())
        .into_boxed::<DbBackend>();
    if let Some((Some(deadline), id)) = after {
        q = q.filter(
            issues::deadline
                .gt(deadline)
                .or(issues::deadline.eq(deadline).and(issues::id.gt(id))),
        );
    }
    q.order((issues::deadline, issues::id))
        .limit(limit)
        .load(conn)
}

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
    pub created_at: NaiveDateTime,
    pub closed_at: Option<NaiveDateTime>,
}

/// Issues of a subtree that bear on a period `[start, end)`: created before its end, not
/// rejected or duplicate, and not closed before its start. Keyset pages by id.
pub fn figures_in(
    conn: &mut DbConnection,
    subtree: &str,
    start: NaiveDateTime,
    end: NaiveDateTime,
    after: Option<&IssueId>,
    limit: i64,
) -> QueryResult<Vec<IssueFigureRow>> {
    let (lo, hi) = subtree_bounds(subtree);
    let mut q = issues::table
        .select(IssueFigureRow::as_select())
        .filter(issues::place_path.ge(lo).and(issues::place_path.lt(hi)))
        .filter(issues::created_at.lt(end))
        .filter(issues::state.ne_all(["rejected", "duplicate"]))
        .filter(issues::closed_at.is_null().or(issues::closed_at.ge(start)))
        .into_boxed::<DbBackend>();
    if let Some(id) = after {
        q = q.filter(issues::id.gt(id.clone()));
    }
    q.order(issues::id).limit(limit).load(conn)
}

/// (place path, category) of each reopening (反弹) recorded in `[start, end)` in a subtree.
pub fn reopenings_in(
    conn: &mut DbConnection,
    subtree: &str,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> QueryResult<Vec<(String, String)>> {
    let (lo, hi) = subtree_bounds(subtree);
    issue_events::table
        .inner_join(issues::table)
        .filter(issue_events::action.eq("reopen"))
        .filter(issue_events::server_time.ge(start))
        .filter(issue_events::server_time.lt(end))
        .filter(issues::place_path.ge(lo).and(issues::place_path.lt(hi)))
        .select((issues::place_path, issues::category))
        .load(conn)
}
