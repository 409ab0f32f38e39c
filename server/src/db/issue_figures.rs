//! The issues a period's statistics read (reports::stats), and the reopenings (反弹) recorded in
//! a period, within a report's scope.
//!
//! Statistics read the few columns below of every issue bearing on a period — 80,000 rows of a
//! 100,000-issue county for a month's bulletin. Reading and decoding them per request took
//! 300–500 ms (SQLite's row lookups and diesel's per-row decoding; aggregating in SQL was no
//! faster on SQLite). So each process keeps them in memory ([`FigureStore`]) and brings its copy
//! up to date before each read from the change feed, which names every issue written (in the
//! writer's transaction, visible in sequence order): a read costs one look at the feed's head and
//! a reload of the issues written since. The copy is read again whole when the feed's epoch
//! changes (a restore), when a place moved or merged (区划调整 rewrites unit paths without feed
//! entries), when more issues changed than a reload is worth, and at the latest after
//! [`FULL_RELOAD_AFTER`] (so an edit made by hand in SQL is seen within that time).

use super::changes;
use super::connection::{DbBackend, DbConnection};
use super::issues::subtree_bounds;
use super::schema::{change_feed, issue_events, issues, place_changes};
use crate::ids::{IssueId, OrgUnitId};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The copy is read whole again at the latest this long after its last whole read.
pub const FULL_RELOAD_AFTER: Duration = Duration::from_secs(600);
/// Issues read per statement when bringing the copy up to date.
const RELOAD_CHUNK: usize = 500;

/// What statistics need of an issue. Paths, categories and states are shared among rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FigureRow {
    pub id: IssueId,
    pub ledger_no: Box<str>,
    pub place_path: Arc<str>,
    pub responsible_unit_path: Option<Arc<str>>,
    pub category: Arc<str>,
    pub state: Arc<str>,
    pub deadline: Option<NaiveDate>,
    pub escalation_level: i32,
    pub created_at: NaiveDateTime,
    pub closed_at: Option<NaiveDateTime>,
}

impl FigureRow {
    /// Bears on the period `[start, end)`: created before its end, not rejected or duplicate,
    /// and not closed before its start.
    pub fn bears_on(&self, start: NaiveDateTime, end: NaiveDateTime) -> bool {
        self.created_at < end
            && !matches!(&*self.state, "rejected" | "duplicate")
            && self.closed_at.is_none_or(|t| t >= start)
    }
}

type Columns = (
    IssueId,
    String,
    String,
    Option<String>,
    String,
    String,
    Option<NaiveDate>,
    i32,
    NaiveDateTime,
    Option<NaiveDateTime>,
);

macro_rules! figure_columns {
    () => {
        (
            issues::id,
            issues::ledger_no,
            issues::place_path,
            issues::responsible_unit_path,
            issues::category,
            issues::state,
            issues::deadline,
            issues::escalation_level,
            issues::created_at,
            issues::closed_at,
        )
    };
}

/// Where a report's issues are: reported in the `places` subtree, or — for a responsible unit's
/// own report, as its issue list has them — assigned to a unit in the `units` subtree.
#[derive(Debug, Clone, Copy)]
pub struct FigureScope<'a> {
    pub places: &'a str,
    pub units: Option<&'a str>,
}

impl FigureScope<'_> {
    /// Whether `row` is in the scope (paths end with `/`, so a prefix is a subtree).
    pub fn holds(self, row: &FigureRow) -> bool {
        row.place_path.starts_with(self.places)
            || self.units.is_some_and(|units| {
                row.responsible_unit_path
                    .as_deref()
                    .is_some_and(|p| p.starts_with(units))
            })
    }
}

/// This process's copy of every issue's [`FigureRow`] (see the module's text).
pub struct FigureStore {
    copy: Mutex<Option<Held>>,
}

struct Held {
    epoch: String,
    /// The feed position the rows reflect (at least).
    seq: i64,
    place_changes: i64,
    read_whole_at: Instant,
    rows: Vec<FigureRow>,
    index: HashMap<IssueId, usize>,
    shared: HashSet<Arc<str>>,
}

/// How a read found the copy (for tests and logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    UpToDate,
    Reloaded(usize),
    ReadWhole,
}

impl Default for FigureStore {
    fn default() -> Self {
        Self::new()
    }
}

impl FigureStore {
    pub fn new() -> Self {
        Self {
            copy: Mutex::new(None),
        }
    }

    /// Brings the copy up to date with the database and lends its rows (all issues, in no order)
    /// to `read`. Reads wait for one another.
    pub fn read<R>(
        &self,
        conn: &mut DbConnection,
        read: impl FnOnce(&[FigureRow]) -> R,
    ) -> QueryResult<(R, Refresh)> {
        let mut guard = self.copy.lock().unwrap_or_else(PoisonError::into_inner);
        let refresh = refresh(conn, &mut guard)?;
        let rows = guard.as_ref().map_or(&[][..], |c| c.rows.as_slice());
        Ok((read(rows), refresh))
    }

    /// Drops the copy: the next read reads every issue (after writing issues behind the feed's
    /// back, as tests that back-date an issue do).
    pub fn forget(&self) {
        *self.copy.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

fn refresh(conn: &mut DbConnection, copy: &mut Option<Held>) -> QueryResult<Refresh> {
    // The head first: every entry up to it is committed (writers hold the counter until they
    // commit), and issues written after it are read again next time.
    let epoch = changes::epoch(conn)?;
    let head = changes::latest(conn)?;
    let moved: i64 = place_changes::table.count().get_result(conn)?;
    let current = copy.as_mut().filter(|c| {
        c.epoch == epoch
            && c.place_changes == moved
            && c.seq <= head
            && c.read_whole_at.elapsed() < FULL_RELOAD_AFTER
    });
    if let Some(c) = current {
        if c.seq == head {
            return Ok(Refresh::UpToDate);
        }
        let written: Vec<IssueId> = change_feed::table
            .filter(change_feed::seq.gt(c.seq))
            .filter(change_feed::entity.eq("issue"))
            .select(change_feed::entity_id)
            .distinct()
            .load(conn)?;
        if written.len() <= c.rows.len() / 4 + RELOAD_CHUNK {
            for chunk in written.chunks(RELOAD_CHUNK) {
                let rows: Vec<Columns> = issues::table
                    .filter(issues::id.eq_any(chunk))
                    .select(figure_columns!())
                    .load(conn)?;
                for columns in rows {
                    c.put(columns);
                }
            }
            c.seq = head;
            return Ok(Refresh::Reloaded(written.len()));
        }
    }
    let mut whole = Held {
        epoch,
        seq: head,
        place_changes: moved,
        read_whole_at: Instant::now(),
        rows: Vec::new(),
        index: HashMap::new(),
        shared: HashSet::new(),
    };
    let rows = issues::table
        .select(figure_columns!())
        .into_boxed::<DbBackend>()
        .load_iter::<Columns, diesel::connection::DefaultLoadingMode>(conn)?;
    for columns in rows {
        whole.put(columns?);
    }
    *copy = Some(whole);
    Ok(Refresh::ReadWhole)
}

impl Held {
    fn share(&mut self, s: String) -> Arc<str> {
        if let Some(known) = self.shared.get(s.as_str()) {
            return known.clone();
        }
        let s: Arc<str> = Arc::from(s);
        self.shared.insert(s.clone());
        s
    }

    fn put(&mut self, c: Columns) {
        let (id, ledger_no, place, unit, category, state, deadline, level, created, closed) = c;
        let row = FigureRow {
            ledger_no: ledger_no.into_boxed_str(),
            place_path: self.share(place),
            responsible_unit_path: unit.map(|u| self.share(u)),
            category: self.share(category),
            state: self.share(state),
            deadline,
            escalation_level: level,
            created_at: created,
            closed_at: closed,
            id,
        };
        match self.index.get(&row.id) {
            Some(&at) => self.rows[at] = row,
            None => {
                self.index.insert(row.id.clone(), self.rows.len());
                self.rows.push(row);
            }
        }
    }
}

/// An issue's title, place and responsible unit.
pub type OverdueDetails = (String, OrgUnitId, Option<OrgUnitId>);

/// What an overdue list shows of an issue beyond its [`FigureRow`]: title, place, unit.
pub fn overdue_details(
    conn: &mut DbConnection,
    ids: &[IssueId],
) -> QueryResult<HashMap<IssueId, OverdueDetails>> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(RELOAD_CHUNK) {
        let rows: Vec<(IssueId, String, OrgUnitId, Option<OrgUnitId>)> = issues::table
            .filter(issues::id.eq_any(chunk))
            .select((
                issues::id,
                issues::title,
                issues::place_id,
                issues::responsible_unit_id,
            ))
            .load(conn)?;
        out.extend(rows.into_iter().map(|(id, t, p, u)| (id, (t, p, u))));
    }
    Ok(out)
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
