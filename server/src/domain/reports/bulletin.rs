//! The weekly or monthly bulletin (周/月通报): the period's statistics turned into what the office
//! announces — totals against the previous period, places ranked, praised and reprimanded, and
//! the overdue list with the units answerable for it. Rendering is `reports::bulletin`.

use super::ledger::Office;
use super::period::Period;
use super::stats::{self, CategoryFigures, Figures, OverdueItem, PlaceRef};
use crate::db::DbConnection;
use crate::domain::access::Caller;
use crate::error::AppError;
use crate::ids::OrgUnitId;
use chrono::NaiveDate;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Ranked {
    pub rank: usize,
    pub id: OrgUnitId,
    pub name: String,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Mention {
    pub id: OrgUnitId,
    pub name: String,
    /// Why, in the bulletin's words.
    pub reasons: Vec<String>,
}

/// This period against the previous one.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = BulletinChange)]
pub struct Change {
    pub found: i64,
    pub closed: i64,
    pub open: i64,
    pub overdue: i64,
    /// Percentage points; null when either period has no rate.
    pub closure_rate: Option<f64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Bulletin {
    /// `建北街道督查整改周通报`
    pub title: String,
    pub parent: PlaceRef,
    pub period: Period,
    pub previous_period: Period,
    pub as_of: NaiveDate,
    pub totals: Figures,
    pub previous: Figures,
    pub change: Change,
    /// Places with any issue in the period: by closure rate (highest first), then fewer overdue.
    pub ranking: Vec<Ranked>,
    /// Every issue closed in the period closed on time, and nothing overdue.
    pub praised: Vec<Mention>,
    /// Open issues at 通报 or above, or overdue beyond `long_overdue_days`.
    pub reprimanded: Vec<Mention>,
    pub long_overdue_days: i64,
    /// Open at the start of the period (end of the day before) and at its end (动态清零).
    pub backlog_start: u64,
    pub backlog_end: u64,
    pub overdue: Vec<OverdueItem>,
    pub categories: Vec<CategoryFigures>,
}

/// Competition ranks over the sorted ranking (1, 1, 3): places equal on closure rate and overdue
/// count share a rank (并列), as in `/reports/rankings`; the name only orders them on the page.
fn share_ranks(ranking: &mut [Ranked]) {
    let key = |r: &Ranked| (r.figures.closure_rate.map(f64::to_bits), r.figures.overdue);
    let mut previous: Option<((Option<u64>, u64), usize)> = None;
    for (i, r) in ranking.iter_mut().enumerate() {
        let rank = match previous {
            Some((k, rank)) if k == key(r) => rank,
            _ => i + 1,
        };
        r.rank = rank;
        previous = Some((key(r), rank));
    }
}

pub fn compute(
    conn: &mut DbConnection,
    figures: &crate::db::issue_figures::FigureStore,
    caller: &Caller,
    parent: Option<OrgUnitId>,
    period: Period,
    office: Office,
    long_overdue_days: i64,
) -> Result<Bulletin, AppError> {
    let previous_period = period.previous();
    let mut both = stats::compute_periods(
        conn,
        figures,
        caller,
        parent,
        &[period.clone(), previous_period.clone()],
        office,
        long_overdue_days,
    )?
    .into_iter();
    let (Some(now), Some(before)) = (both.next(), both.next()) else {
        return Err(AppError::internal(anyhow::anyhow!(
            "bulletin: the statistics of two periods were not both computed"
        )));
    };
    let kind = if period.days_count() <= 7 {
        "周"
    } else if period.days_count() <= 31 {
        "月"
    } else {
        ""
    };
    let mut ranking: Vec<Ranked> = now
        .places
        .iter()
        .filter(|p| p.figures.found + p.figures.closed + p.figures.open > 0)
        .map(|p| Ranked {
            rank: 0,
            id: p.id.clone(),
            name: p.name.clone(),
            figures: p.figures.clone(),
        })
        .collect();
    ranking.sort_by(|a, b| {
        let rate = |r: &Ranked| r.figures.closure_rate.unwrap_or(-1.0);
        rate(b)
            .total_cmp(&rate(a))
            .then(a.figures.overdue.cmp(&b.figures.overdue))
            .then_with(|| a.name.cmp(&b.name))
    });
    share_ranks(&mut ranking);
    let mut praised = Vec::new();
    let mut reprimanded = Vec::new();
    for p in &ranking {
        let f = &p.figures;
        if f.closed > 0 && f.on_time_rate == Some(100.0) && f.overdue == 0 {
            praised.push(Mention {
                id: p.id.clone(),
                name: p.name.clone(),
                reasons: vec![format!("本期销号{}件，全部按期完成，无逾期问题", f.closed)],
            });
        }
        let mut reasons = Vec::new();
        if f.escalated > 0 {
            reasons.push(format!("{}件问题已升级至通报及以上", f.escalated));
        }
        if f.long_overdue > 0 {
            reasons.push(format!(
                "{}件问题逾期超过{}天",
                f.long_overdue, long_overdue_days
            ));
        }
        if !reasons.is_empty() {
            reprimanded.push(Mention {
                id: p.id.clone(),
                name: p.name.clone(),
                reasons,
            });
        }
    }
    let diff = |a: u64, b: u64| a as i64 - b as i64;
    let change = Change {
        found: diff(now.totals.found, before.totals.found),
        closed: diff(now.totals.closed, before.totals.closed),
        open: diff(now.totals.open, before.totals.open),
        overdue: diff(now.totals.overdue, before.totals.overdue),
        closure_rate: match (now.totals.closure_rate, before.totals.closure_rate) {
            (Some(a), Some(b)) => Some(((a - b) * 10.0).round() / 10.0),
            _ => None,
        },
    };
    Ok(Bulletin {
        title: format!("{}督查整改{}通报", now.parent.name, kind),
        backlog_start: before.backlog.last().map_or(0, |p| p.open),
        backlog_end: now.backlog.last().map_or(now.totals.open, |p| p.open),
        parent: now.parent,
        period,
        previous_period,
        as_of: now.as_of,
        previous: before.totals,
        totals: now.totals,
        change,
        ranking,
        praised,
        reprimanded,
        long_overdue_days,
        overdue: now.overdue,
        categories: now.categories,
    })
}
