//! Queries on issues and their history.

use super::connection::{DbBackend, DbConnection};
use super::models::{IssueEventRow, IssueRow};
use super::schema::{issue_events, issues};
use super::stamp::Stamp;
use crate::ids::{IssueId, UserId};
use chrono::{NaiveDate, NaiveDateTime};
use closeout_sync_protocol::Light;
use closeout_sync_protocol::light::LightBounds;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Nullable};

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
    for event in events {
        link_photos(conn, event)?;
    }
    super::changes::record_new_issues(conn, rows)
}

pub fn insert_event(conn: &mut DbConnection, row: &IssueEventRow) -> QueryResult<()> {
    diesel::insert_into(issue_events::table)
        .values(row)
        .execute(conn)?;
    link_photos(conn, row)
}

/// Records the photos an event names in `issue_photos` (those not linked to the issue yet).
fn link_photos(conn: &mut DbConnection, event: &IssueEventRow) -> QueryResult<()> {
    use super::schema::issue_photos;
    let mut named: Vec<String> = serde_json::from_str::<Vec<String>>(&event.photos)
        .unwrap_or_default()
        .into_iter()
        .map(|s| s.to_ascii_lowercase())
        .collect();
    if named.is_empty() {
        return Ok(());
    }
    named.sort();
    named.dedup();
    let linked: Vec<String> = issue_photos::table
        .filter(issue_photos::issue_id.eq(&event.issue_id))
        .filter(issue_photos::photo_sha256.eq_any(&named))
        .select(issue_photos::photo_sha256)
        .load(conn)?;
    for sha in named.iter().filter(|s| !linked.contains(s)) {
        diesel::insert_into(issue_photos::table)
            .values((
                issue_photos::issue_id.eq(&event.issue_id),
                issue_photos::photo_sha256.eq(sha),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Issues whose history names the photo `sha256`.
pub fn issues_naming_photo(conn: &mut DbConnection, sha256: &str) -> QueryResult<Vec<IssueId>> {
    use super::schema::issue_photos;
    issue_photos::table
        .filter(issue_photos::photo_sha256.eq(sha256))
        .select(issue_photos::issue_id)
        .load(conn)
}

pub fn events_of(conn: &mut DbConnection, issue: &IssueId) -> QueryResult<Vec<IssueEventRow>> {
    issue_events::table
        .filter(issue_events::issue_id.eq(issue))
        .select(IssueEventRow::as_select())
        .order(issue_events::seq)
        .load(conn)
}

/// The `instruct` events (领导批示) of these issues, oldest first per issue.
pub fn instruction_events(
    conn: &mut DbConnection,
    ids: &[IssueId],
) -> QueryResult<Vec<IssueEventRow>> {
    let mut out = Vec::new();
    // Bounded IN lists: a pull page holds at most a few thousand issues.
    for chunk in ids.chunks(500) {
        out.extend(
            issue_events::table
                .filter(issue_events::issue_id.eq_any(chunk))
                .filter(issue_events::action.eq("instruct"))
                .select(IssueEventRow::as_select())
                .order((issue_events::issue_id, issue_events::seq))
                .load(conn)?,
        );
    }
    Ok(out)
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
    /// Open and with one of these lights, by the day boundaries of the light rule.
    pub lights: Option<(Vec<Light>, LightBounds)>,
    pub text: Option<String>,
    pub created_from: Option<NaiveDateTime>,
    pub created_to: Option<NaiveDateTime>,
    pub closed_from: Option<NaiveDateTime>,
    pub closed_to: Option<NaiveDateTime>,
    /// Keyset cursor of the created-at orders: the (created_at, id) of the last row of the
    /// previous page.
    pub after: Option<(Stamp, IssueId)>,
    /// Keyset cursor of the deadline orders: the (deadline, id) of the last row.
    pub after_deadline: Option<(Option<NaiveDate>, IssueId)>,
    pub order: IssueOrder,
    pub limit: i64,
}

/// The orders the issue list pages in; each is total (the id breaks ties), so a keyset cursor
/// of the order's columns reaches every row once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum IssueOrder {
    /// Newest first.
    #[default]
    CreatedDesc,
    /// Oldest first.
    CreatedAsc,
    /// Soonest deadline first; issues without a deadline last.
    DeadlineAsc,
    /// Latest deadline first; issues without a deadline last.
    DeadlineDesc,
}

pub const OPEN_STATES: [&str; 4] = ["reported", "assigned", "rectifying", "submitted"];

/// One page of the list in the filter's order, after its cursor.
pub fn list(conn: &mut DbConnection, f: &IssueFilter) -> QueryResult<Vec<IssueRow>> {
    if f.visible_places.is_empty() && f.responsible_units.is_empty() {
        return Ok(Vec::new());
    }
    match f.order {
        IssueOrder::CreatedDesc => filtered(f)
            .select(IssueRow::as_select())
            .order((issues::created_at.desc(), issues::id.desc()))
            .limit(f.limit)
            .load(conn),
        IssueOrder::CreatedAsc => filtered(f)
            .select(IssueRow::as_select())
            .order((issues::created_at.asc(), issues::id.asc()))
            .limit(f.limit)
            .load(conn),
        IssueOrder::DeadlineAsc | IssueOrder::DeadlineDesc => by_deadline(conn, f),
    }
}

/// The deadline orders, issues without a deadline last, as two keyset ranges: the dated rows
/// by `(deadline, id)` (the `issues_deadline` index, so a page reads its rows and stops), then,
/// when the page is not full, the undated ones by id. One `ORDER BY deadline IS NULL, deadline,
/// id` sorted every matching row for each page (170 ms with 100,000 issues on PostgreSQL).
fn by_deadline(conn: &mut DbConnection, f: &IssueFilter) -> QueryResult<Vec<IssueRow>> {
    let ascending = f.order != IssueOrder::DeadlineDesc;
    let plain = IssueFilter {
        after_deadline: None,
        ..f.clone()
    };
    let mut rows = Vec::new();
    let undated_after = match &f.after_deadline {
        Some((None, id)) => Some(id.clone()),
        _ => None,
    };
    if undated_after.is_none() {
        let mut q = filtered(&plain)
            .select(IssueRow::as_select())
            .filter(issues::deadline.is_not_null());
        if let Some((Some(d), id)) = &f.after_deadline {
            // The bound on `deadline` alone is implied by the OR; said on its own it is the
            // index range both planners start from.
            q = if ascending {
                q.filter(issues::deadline.ge(*d)).filter(
                    issues::deadline
                        .gt(*d)
                        .or(issues::deadline.eq(*d).and(issues::id.gt(id.clone()))),
                )
            } else {
                q.filter(issues::deadline.le(*d)).filter(
                    issues::deadline
                        .lt(*d)
                        .or(issues::deadline.eq(*d).and(issues::id.lt(id.clone()))),
                )
            };
        }
        let q = if ascending {
            q.order((issues::deadline.asc(), issues::id.asc()))
        } else {
            q.order((issues::deadline.desc(), issues::id.desc()))
        };
        rows = q.limit(f.limit).load(conn)?;
    }
    let missing = f.limit - rows.len() as i64;
    if missing > 0 {
        let mut q = filtered(&plain)
            .select(IssueRow::as_select())
            .filter(issues::deadline.is_null());
        q = match (&undated_after, ascending) {
            (Some(id), true) => q.filter(issues::id.gt(id.clone())),
            (Some(id), false) => q.filter(issues::id.lt(id.clone())),
            (None, _) => q,
        };
        let q = if ascending {
            q.order(issues::id.asc())
        } else {
            q.order(issues::id.desc())
        };
        rows.extend(q.limit(missing).load(conn)?);
    }
    Ok(rows)
}

/// How many issues the filter matches (ignoring `after` and `limit`).
pub fn count(conn: &mut DbConnection, f: &IssueFilter) -> QueryResult<i64> {
    if f.visible_places.is_empty() && f.responsible_units.is_empty() {
        return Ok(0);
    }
    let f = IssueFilter {
        after: None,
        after_deadline: None,
        ..f.clone()
    };
    filtered(&f).count().get_result(conn)
}

/// One group of [`grouped_counts`]: the issues alike in place, state, deadline and progress day.
#[derive(Debug, Clone, Queryable)]
pub struct IssueGroup {
    pub place_path: String,
    pub state: String,
    pub deadline: Option<NaiveDate>,
    pub progress_on: Option<NaiveDate>,
    pub count: i64,
}

/// How many issues, of those seen through `visible_places` or `responsible_units` (as in
/// [`IssueFilter`]) and in one of `states`, there are by place path, state, deadline and progress
/// day: the columns the list's place, state, deadline and light filters read, so one query
/// answers many counts (the console's dashboard).
pub fn grouped_counts(
    conn: &mut DbConnection,
    visible_places: &[String],
    responsible_units: &[String],
    states: &[String],
) -> QueryResult<Vec<IssueGroup>> {
    if visible_places.is_empty() && responsible_units.is_empty() {
        return Ok(Vec::new());
    }
    // A lone subtree is filtered as the bare range, which SQLite reads from `issues_open_tally`
    // in group order (index-only, no sort). `visibility` ORs its terms onto a never-true seed,
    // which keeps SQLite off the place index — right for the list, which walks `issues_created`
    // in order and stops after a page, wrong here.
    let scope: Predicate = match (visible_places, responsible_units) {
        ([prefix], []) => {
            let (lo, hi) = subtree_bounds(prefix);
            Box::new(
                issues::place_path
                    .ge(lo)
                    .and(issues::place_path.lt(hi))
                    .nullable(),
            )
        }
        _ => visibility(visible_places, responsible_units),
    };
    issues::table
        .filter(scope)
        .filter(issues::state.eq_any(states))
        .group_by((
            issues::place_path,
            issues::state,
            issues::deadline,
            issues::progress_on,
        ))
        .select((
            issues::place_path,
            issues::state,
            issues::deadline,
            issues::progress_on,
            diesel::dsl::count_star(),
        ))
        .load(conn)
}

/// Reported in one of the `places` subtrees, or assigned to a unit in one of the `units` ones.
fn visibility(places: &[String], units: &[String]) -> Predicate {
    // Never matches: the subtrees are OR-ed onto it.
    let mut p: Predicate = Box::new(issues::id.ne(issues::id).nullable());
    for prefix in places {
        let (lo, hi) = subtree_bounds(prefix);
        p = Box::new(p.or(issues::place_path.ge(lo).and(issues::place_path.lt(hi))));
    }
    for prefix in units {
        let (lo, hi) = subtree_bounds(prefix);
        p = Box::new(
            p.or(issues::responsible_unit_path
                .ge(lo)
                .and(issues::responsible_unit_path.lt(hi))),
        );
    }
    p
}

/// The filter as a WHERE clause, shared by `list` and `count`.
fn filtered(f: &IssueFilter) -> issues::BoxedQuery<'static, DbBackend> {
    let mut q = issues::table
        .into_boxed::<DbBackend>()
        .filter(visibility(&f.visible_places, &f.responsible_units));
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
    if let Some((lights, bounds)) = &f.lights {
        q = q
            .filter(issues::state.eq_any(OPEN_STATES))
            .filter(light_predicate(lights, bounds));
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
        q = if f.order == IssueOrder::CreatedAsc {
            q.filter(issues::created_at.ge(*at)).filter(
                issues::created_at
                    .gt(*at)
                    .or(issues::created_at.eq(*at).and(issues::id.gt(id.clone()))),
            )
        } else {
            q.filter(issues::created_at.le(*at)).filter(
                issues::created_at
                    .lt(*at)
                    .or(issues::created_at.eq(*at).and(issues::id.lt(id.clone()))),
            )
        };
    }
    q
}

type Predicate = Box<dyn BoxableExpression<issues::table, DbBackend, SqlType = Nullable<Bool>>>;

/// Which open issues have one of `lights`: the comparisons `closeout_sync_protocol::light::light`
/// makes, with the same bounds (its `the_bounds_are_the_rule` test ties the two together; the
/// API's `a_light_filter_returns_what_the_rows_show` test ties this SQL to them on both backends).
fn light_predicate(lights: &[Light], b: &LightBounds) -> Predicate {
    let late = || -> Predicate {
        match b.progress_late_before {
            Some(day) => Box::new(
                issues::state
                    .eq("rectifying")
                    .nullable()
                    .and(issues::progress_on.lt(day)),
            ),
            None => Box::new(issues::id.ne(issues::id).nullable()),
        }
    };
    let not_late = || -> Predicate {
        match b.progress_late_before {
            Some(day) => Box::new(
                issues::state
                    .ne("rectifying")
                    .nullable()
                    .or(issues::progress_on.is_null().nullable())
                    .or(issues::progress_on.ge(day)),
            ),
            None => Box::new(issues::id.eq(issues::id).nullable()),
        }
    };
    let one = |light: Light| -> Predicate {
        match light {
            Light::Red => Box::new(issues::deadline.lt(b.red_before)),
            Light::Yellow => Box::new(
                issues::deadline
                    .is_null()
                    .nullable()
                    .or(issues::deadline.ge(b.red_before))
                    .and(issues::deadline.lt(b.near_before).or(late())),
            ),
            Light::Green => Box::new(
                issues::deadline
                    .is_null()
                    .nullable()
                    .or(issues::deadline.ge(b.near_before))
                    .and(not_late()),
            ),
        }
    };
    let mut predicate: Predicate = Box::new(issues::id.ne(issues::id).nullable());
    for light in lights {
        predicate = Box::new(predicate.or(one(*light)));
    }
    predicate
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
