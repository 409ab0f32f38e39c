//! Statistics of a period per child place of a parent and per category: found, closed, open,
//! overdue, closure and on-time rates, days to close, relapses (反弹) — and the open backlog at
//! the end of each day (动态清零). Scoped like the issue list: the parent must be a place the
//! caller sees, and then its whole subtree is theirs; a responsible unit's report also holds the
//! issues assigned to it (or to units below it) wherever they were reported.
//!
//! Definitions (docs/reports.md repeats them): rejected and duplicate issues never count. An
//! issue is *found* when created in the period; *closed* when its close-out (销号) falls in the
//! period; *open* at the end of the period when created before that end and not closed by then;
//! *overdue* when open at the end and its deadline is before the period's last day + 1 (or
//! today, for a period not over yet). Closure rate = closed / (closed + open): of everything on
//! the ledger during the period, the share struck off. On-time rate = closed on or before the
//! deadline / closed. Relapses count the `reopen` events of the period. The backlog at the end of
//! a past day uses close-out dates as recorded now: an issue reopened later counts as open from
//! its report on.

use super::ledger::Office;
use super::names::Names;
use super::period::Period;
use super::tally::{Tally, trim};
use crate::db::issue_figures::{self, FigureScope, FigureStore};
use crate::db::{DbConnection, org_units};
use crate::domain::access::{self, Caller, Place};
use crate::domain::issues::view::ESCALATION_NAMES_ZH;
use crate::error::{AppError, ErrorCode};
use crate::ids::{IssueId, OrgUnitId};
use chrono::{Datelike, Duration, NaiveDate, Weekday};
use closeout_sync_protocol::Role;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

/// Periods up to this long get a backlog point per day; longer ones one per week (Sundays) and
/// the last day.
pub const DAILY_UP_TO_DAYS: i64 = 62;
/// Longest overdue list a report carries (the counts are always complete).
pub const OVERDUE_LIST_MAX: usize = 500;

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Figures {
    pub found: u64,
    pub closed: u64,
    pub open: u64,
    pub overdue: u64,
    /// Percent, one decimal: closed / (closed + open). Null when both are 0.
    pub closure_rate: Option<f64>,
    /// Percent, one decimal: closed on or before the deadline / closed. Null when none closed.
    pub on_time_rate: Option<f64>,
    /// Days from report to close-out, mean over the issues closed in the period, one decimal.
    pub avg_days_to_close: Option<f64>,
    /// Reopenings (反弹) recorded in the period.
    pub reopened: u64,
    /// Open issues at 通报 (level 2) or above at the end of the period.
    pub escalated: u64,
    /// Open issues more than the bulletin's threshold of days overdue.
    pub long_overdue: u64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlaceRef {
    pub id: OrgUnitId,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlaceFigures {
    pub id: OrgUnitId,
    /// The child place's name; `(本级)` after the parent's name for issues filed on the parent.
    pub name: String,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CategoryFigures {
    pub code: String,
    pub name_zh: String,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BacklogPoint {
    pub date: NaiveDate,
    /// Open issues at the end of that day.
    pub open: u64,
}

/// An open issue past its deadline at the end of the period.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OverdueItem {
    pub ledger_no: String,
    pub title: String,
    pub place: String,
    pub responsible_unit: String,
    pub deadline: NaiveDate,
    pub days_overdue: i64,
    pub escalation_level: i32,
    pub escalation: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Stats {
    pub parent: PlaceRef,
    pub period: Period,
    /// The day the figures were computed (office calendar).
    pub as_of: NaiveDate,
    pub totals: Figures,
    /// Per child place of `parent`, in code order.
    pub places: Vec<PlaceFigures>,
    /// Per category with any figure, in the taxonomy's order.
    pub categories: Vec<CategoryFigures>,
    /// 动态清零: open issues at the end of each day of the period up to today (of each week,
    /// Sundays, and the last day, for periods longer than 62 days).
    pub backlog: Vec<BacklogPoint>,
    /// Open overdue issues at the end of the period, most overdue first (at most 500).
    pub overdue: Vec<OverdueItem>,
}

/// The place a report is about: `parent` if given (404 unless visible), else the caller's one
/// place; a caller with several places (or the whole system) must say which.
pub fn resolve_parent(
    conn: &mut DbConnection,
    caller: &Caller,
    parent: Option<OrgUnitId>,
) -> Result<crate::db::models::OrgUnitRow, AppError> {
    let id = match parent {
        Some(id) => id,
        None => {
            let tops: Vec<_> = caller
                .grants
                .iter()
                .filter(|g| caller.visible_subtrees().contains(&g.subtree_path))
                .filter_map(|g| g.org_unit_id.clone())
                .collect();
            match tops.as_slice() {
                [one] => one.clone(),
                _ => {
                    return Err(AppError::new(
                        ErrorCode::InvalidQuery,
                        "parent: say which place the report is about",
                    )
                    .zh("请用 parent 参数指定统计的上级地区"));
                }
            }
        }
    };
    let row = org_units::find(conn, &id)?.ok_or_else(|| AppError::not_found("place"))?;
    access::require_visible(caller, Place { path: &row.path }, "place")?;
    Ok(row)
}

pub fn compute(
    conn: &mut DbConnection,
    figures: &FigureStore,
    caller: &Caller,
    parent: Option<OrgUnitId>,
    period: Period,
    office: Office,
    long_overdue_days: i64,
) -> Result<Stats, AppError> {
    let mut all = compute_periods(
        conn,
        figures,
        caller,
        parent,
        &[period],
        office,
        long_overdue_days,
    )?;
    all.pop()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("stats of one period: none computed")))
}

/// The statistics of several periods of one parent place, from one read of its issues (the
/// bulletin compares a period with the one before). Each period counts exactly the rows and
/// figures a report of that period alone would.
pub fn compute_periods(
    conn: &mut DbConnection,
    figures: &FigureStore,
    caller: &Caller,
    parent: Option<OrgUnitId>,
    periods: &[Period],
    office: Office,
    long_overdue_days: i64,
) -> Result<Vec<Stats>, AppError> {
    let parent = resolve_parent(conn, caller, parent)?;
    let scope = scope_of(caller, &parent.path);
    let mut names = Names::new(conn)?;
    let children = org_units::list_in_subtrees(
        conn,
        std::slice::from_ref(&parent.path),
        Some(&parent.id),
        None,
        100_000,
    )?;
    // A row's child is the path segment right after the parent's path.
    let child_index: HashMap<String, usize> = children
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.as_str().to_owned(), i))
        .collect();
    let own = children.len();
    let today = office.clock.today;
    let mut tallies: Vec<Tally> = periods
        .iter()
        .map(|p| Tally::new(p.clone(), office, own + 1))
        .collect();
    // A row's child is the path segment right after the parent's path: of its place, or (in a
    // unit's report, for an issue reported elsewhere) of the unit it is assigned to.
    let child_of = |place_path: &str, unit_path: Option<&str>| -> usize {
        let segment = |path: &str| {
            path.strip_prefix(&parent.path)
                .and_then(|rest| rest.split('/').next())
                .and_then(|seg| child_index.get(seg).copied())
        };
        match place_path.strip_prefix(&parent.path) {
            Some(_) => segment(place_path),
            None => unit_path.and_then(segment),
        }
        .unwrap_or(own)
    };
    let (Some(start), Some(end)) = (
        tallies.iter().map(|t| t.start).min(),
        tallies.iter().map(|t| t.end).max(),
    ) else {
        return Ok(Vec::new());
    };
    let ((), refresh) = figures.read(conn, |rows| {
        for row in rows {
            if scope.holds(row) && row.bears_on(start, end) {
                let place = child_of(&row.place_path, row.responsible_unit_path.as_deref());
                for tally in &mut tallies {
                    tally.add(row, place, office, long_overdue_days);
                }
            }
        }
    })?;
    tracing::debug!(?refresh, "statistics read the issues' figures");

    let category_codes = Names::category_codes(conn)?;
    let mut out = Vec::with_capacity(tallies.len());
    for mut tally in tallies {
        for (path, unit_path, category) in
            issue_figures::reopenings_in(conn, scope, tally.start, tally.end)?
        {
            let place = child_of(&path, unit_path.as_deref());
            tally.per_place[place].f.reopened += 1;
            tally
                .per_category
                .entry(Arc::from(category))
                .or_default()
                .f
                .reopened += 1;
            tally.totals.f.reopened += 1;
        }
        let mut places: Vec<PlaceFigures> = children
            .iter()
            .zip(&tally.per_place)
            .map(|(c, acc)| PlaceFigures {
                id: c.id.clone(),
                name: c.name.clone(),
                figures: acc.figures(),
            })
            .collect();
        let own_acc = &tally.per_place[own];
        if own_acc.f.found + own_acc.f.closed + own_acc.f.open + own_acc.f.reopened > 0 {
            places.push(PlaceFigures {
                id: parent.id.clone(),
                name: format!("{}(本级)", parent.name),
                figures: own_acc.figures(),
            });
        }
        let mut categories: Vec<CategoryFigures> = Vec::new();
        for (code, name_zh) in &category_codes {
            if let Some(acc) = tally.per_category.remove(code.as_str()) {
                categories.push(CategoryFigures {
                    code: code.clone(),
                    name_zh: name_zh.clone(),
                    figures: acc.figures(),
                });
            }
        }
        // Codes no longer in the taxonomy still count, under their code.
        let mut rest: Vec<_> = tally.per_category.into_iter().collect();
        rest.sort_by(|a, b| a.0.cmp(&b.0));
        categories.extend(rest.into_iter().map(|(code, acc)| CategoryFigures {
            name_zh: code.to_string(),
            code: code.to_string(),
            figures: acc.figures(),
        }));
        let mut open = 0i64;
        let period = tally.period;
        let weekly = period.days_count() > DAILY_UP_TO_DAYS;
        let backlog_len = tally.backlog_len;
        let backlog = (0..backlog_len)
            .filter_map(|i| {
                open += tally.backlog_diff[i];
                let date = period.from + Duration::days(i as i64);
                let shown = !weekly || date.weekday() == Weekday::Sun || i + 1 == backlog_len;
                shown.then(|| BacklogPoint {
                    date,
                    open: u64::try_from(open).unwrap_or(0),
                })
            })
            .collect();
        let mut overdue_list = tally.overdue_list;
        trim(&mut overdue_list);
        let ids: Vec<IssueId> = overdue_list.iter().map(|o| o.id.clone()).collect();
        let mut details = issue_figures::overdue_details(conn, &ids)?;
        let mut overdue = Vec::with_capacity(overdue_list.len());
        for o in overdue_list {
            let Some((title, place_id, unit_id)) = details.remove(&o.id) else {
                continue;
            };
            let level = usize::try_from(o.escalation_level).unwrap_or(0);
            overdue.push(OverdueItem {
                place: names.place_label(conn, &place_id)?,
                responsible_unit: match &unit_id {
                    Some(id) => names.unit_name(conn, id)?,
                    None => String::new(),
                },
                deadline: o.deadline.unwrap_or(period.to),
                days_overdue: o.days,
                escalation_level: o.escalation_level,
                escalation: ESCALATION_NAMES_ZH
                    .get(level)
                    .copied()
                    .unwrap_or("")
                    .to_owned(),
                ledger_no: o.ledger_no.into(),
                title,
            });
        }
        out.push(Stats {
            parent: PlaceRef {
                id: parent.id.clone(),
                name: parent.name.clone(),
            },
            period,
            as_of: today,
            totals: tally.totals.figures(),
            places,
            categories,
            backlog,
            overdue,
        });
    }
    Ok(out)
}

/// The issues a report on `parent` covers, as the caller's issue list has them: those reported in
/// its subtree, and — when the caller is the responsible unit for it — those assigned to a unit
/// in its subtree, wherever they were reported (a county bureau has no villages below it).
fn scope_of<'a>(caller: &Caller, parent: &'a str) -> FigureScope<'a> {
    let answers_for = caller
        .subtrees_with(Role::Responsible)
        .iter()
        .any(|unit| parent.starts_with(unit.as_str()));
    FigureScope {
        places: parent,
        units: answers_for.then_some(parent),
    }
}
