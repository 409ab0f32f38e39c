//! Rankings of places (排名) for a period: each child place of `parent` is scored from the
//! inspections finished in its subtree during the period, the scheduled inspections it missed,
//! and the deductions a supervisor recorded (错报、漏报、瞒报). docs/inspections.md gives the rule:
//!
//! - an inspection's percentage is score / max × 100 (inspections whose items were all not
//!   applicable have no percentage and do not count);
//! - a missed occurrence of a schedule counts as an inspection at 0 % (no progress) in the
//!   period its window ends in;
//! - inspection_percent = mean of those percentages; deductions are summed;
//! - score = inspection_percent − deductions (one decimal), and places are ranked by score, high
//!   to low, equal scores sharing a rank (1, 2, 2, 4). A place with no inspection and no missed
//!   one has no score and no rank (listed last; its deductions still shown).

use super::period::Period;
use super::stats::{PlaceRef, resolve_parent};
use crate::db::{DbConnection, inspections, org_units, schedules};
use crate::domain::access::Caller;
use crate::domain::inspections::schedules::{OccurrenceStatus, occurrences_in};
use crate::domain::issues::Clock;
use crate::error::AppError;
use crate::ids::OrgUnitId;
use closeout_sync_protocol::inspection::one_decimal;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlaceRanking {
    /// 1 for the best; equal scores share a rank. Null when the place has no score.
    pub rank: Option<u32>,
    pub id: OrgUnitId,
    pub name: String,
    /// Finished inspections in the period (with a percentage).
    pub inspections: u32,
    /// Scheduled inspections missed in the period (each counted as 0 %).
    pub missed: u32,
    /// Mean percentage over inspections and missed ones, one decimal.
    pub inspection_percent: Option<f64>,
    /// Points taken off (错报、漏报、瞒报), summed.
    pub deductions: f64,
    pub deduction_count: u32,
    /// inspection_percent − deductions, one decimal.
    pub score: Option<f64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Rankings {
    pub parent: PlaceRef,
    pub period: Period,
    /// Best first, then places without a score (by code).
    pub places: Vec<PlaceRanking>,
}

pub fn compute(
    conn: &mut DbConnection,
    caller: &Caller,
    parent: Option<OrgUnitId>,
    period: Period,
    clock: Clock,
) -> Result<Rankings, AppError> {
    let parent = resolve_parent(conn, caller, parent)?;
    let children = org_units::list_in_subtrees(
        conn,
        std::slice::from_ref(&parent.path),
        Some(&parent.id),
        None,
        100_000,
    )?;
    let mut places = Vec::with_capacity(children.len());
    for child in children {
        let mut percents: Vec<f64> =
            inspections::finished_between(conn, &child.path, period.from, period.to)?
                .iter()
                .filter(|i| i.max_score > 0.0)
                .map(|i| i.score * 100.0 / i.max_score)
                .collect();
        let inspected = percents.len() as u32;
        let missed = occurrences_in(
            conn,
            std::slice::from_ref(&child.path),
            period.from,
            period.to,
            clock.today,
        )?
        .into_iter()
        .filter(|o| {
            o.status == OccurrenceStatus::Missed && o.to >= period.from && o.to <= period.to
        })
        .count() as u32;
        percents.extend(std::iter::repeat_n(0.0, missed as usize));
        let deductions = schedules::deductions_between(conn, &child.path, period.from, period.to)?;
        let deducted = one_decimal(deductions.iter().map(|d| d.points).sum());
        let mean =
            (!percents.is_empty()).then(|| percents.iter().sum::<f64>() / percents.len() as f64);
        places.push(PlaceRanking {
            rank: None,
            id: child.id,
            name: child.name,
            inspections: inspected,
            missed,
            inspection_percent: mean.map(one_decimal),
            deductions: deducted,
            deduction_count: deductions.len() as u32,
            score: mean.map(|m| one_decimal(m - deducted)),
        });
    }
    rank(&mut places);
    Ok(Rankings {
        parent: PlaceRef {
            id: parent.id,
            name: parent.name,
        },
        period,
        places,
    })
}

/// Sorts best first (stable: ties keep code order) and gives competition ranks (1, 2, 2, 4).
fn rank(places: &mut [PlaceRanking]) {
    places.sort_by(|a, b| match (a.score, b.score) {
        (Some(x), Some(y)) => y.total_cmp(&x),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    let mut previous: Option<(f64, u32)> = None;
    for (i, p) in places.iter_mut().enumerate() {
        let Some(score) = p.score else { continue };
        let rank = match previous {
            Some((s, r)) if s == score => r,
            _ => i as u32 + 1,
        };
        p.rank = Some(rank);
        previous = Some((score, rank));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn place(name: &str, score: Option<f64>) -> PlaceRanking {
        PlaceRanking {
            rank: None,
            id: OrgUnitId::generate(),
            name: name.into(),
            inspections: 0,
            missed: 0,
            inspection_percent: score,
            deductions: 0.0,
            deduction_count: 0,
            score,
        }
    }

    #[test]
    fn equal_scores_share_a_rank_and_unscored_places_come_last() {
        let mut p = vec![
            place("a", Some(80.0)),
            place("b", None),
            place("c", Some(90.0)),
            place("d", Some(80.0)),
            place("e", Some(70.0)),
        ];
        rank(&mut p);
        let got: Vec<(&str, Option<u32>)> = p.iter().map(|p| (p.name.as_str(), p.rank)).collect();
        assert_eq!(
            got,
            vec![
                ("c", Some(1)),
                ("a", Some(2)),
                ("d", Some(2)),
                ("e", Some(4)),
                ("b", None)
            ]
        );
    }
}
