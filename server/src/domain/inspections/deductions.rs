//! Deductions (扣分) for wrong, missed or concealed reports (错报、漏报、瞒报): a supervisor of the
//! place records points taken off its ranking, with the reason and the day it counts for.

use crate::db::schedules::{self as db, DeductionRow};
use crate::db::{DbConnection, issues, org_units, write_transaction};
use crate::domain::access::{self, Caller, Place};
use crate::domain::issues::Clock;
use crate::domain::issues::report::validate_text;
use crate::error::AppError;
use crate::ids::{DeductionId, IssueId, OrgUnitId, UserId};
use chrono::{DateTime, NaiveDate, Utc};
use closeout_sync_protocol::Role;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeductionKind {
    /// 错报
    WrongReport,
    /// 漏报
    MissedReport,
    /// 瞒报
    ConcealedReport,
}

impl DeductionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WrongReport => "wrong_report",
            Self::MissedReport => "missed_report",
            Self::ConcealedReport => "concealed_report",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Self::WrongReport => "错报",
            Self::MissedReport => "漏报",
            Self::ConcealedReport => "瞒报",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::WrongReport, Self::MissedReport, Self::ConcealedReport]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDeduction {
    pub place_id: OrgUnitId,
    pub kind: DeductionKind,
    /// Points off the place's score (on its 100-point scale), more than 0 and at most 100.
    pub points: f64,
    pub reason: String,
    /// The day it counts for (its period), today or earlier.
    pub occurred_on: NaiveDate,
    /// The issue it concerns, if any (at the place or below).
    pub issue_id: Option<IssueId>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Deduction {
    pub id: DeductionId,
    pub place_id: OrgUnitId,
    pub kind: DeductionKind,
    pub kind_zh: String,
    pub points: f64,
    pub reason: String,
    pub occurred_on: NaiveDate,
    pub issue_id: Option<IssueId>,
    pub recorded_by: UserId,
    pub created_at: DateTime<Utc>,
}

pub fn view(row: DeductionRow) -> Result<Deduction, AppError> {
    let kind = DeductionKind::parse(&row.kind)
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("deduction kind {}", row.kind)))?;
    Ok(Deduction {
        id: row.id,
        place_id: row.place_id,
        kind,
        kind_zh: kind.name_zh().into(),
        points: row.points,
        reason: row.reason,
        occurred_on: row.occurred_on,
        issue_id: row.issue_id,
        recorded_by: row.recorded_by,
        created_at: row.created_at.and_utc(),
    })
}

pub fn record(
    conn: &mut DbConnection,
    caller: &Caller,
    input: NewDeduction,
    clock: Clock,
) -> Result<Deduction, AppError> {
    write_transaction(conn, |conn| {
        let place =
            org_units::find(conn, &input.place_id)?.ok_or_else(|| AppError::not_found("place"))?;
        access::require(
            caller,
            Role::Supervisor,
            Place { path: &place.path },
            "place",
        )?;
        if !(input.points > 0.0 && input.points <= 100.0) {
            return Err(AppError::invalid_field(
                "points",
                "must be more than 0 and at most 100",
                "须大于 0 且不超过 100",
            ));
        }
        validate_text("reason", &input.reason, 1, 2000)?;
        if input.occurred_on > clock.today {
            return Err(AppError::invalid_field(
                "occurred_on",
                "must not be in the future",
                "不能晚于今天",
            ));
        }
        if let Some(id) = &input.issue_id {
            let at_place =
                issues::find(conn, id)?.is_some_and(|i| i.place_path.starts_with(&place.path));
            if !at_place {
                return Err(AppError::invalid_field(
                    "issue_id",
                    "no such issue at this place",
                    "该地区没有此问题",
                ));
            }
        }
        let row = DeductionRow {
            id: DeductionId::generate(),
            place_id: place.id,
            place_path: place.path,
            kind: input.kind.as_str().into(),
            points: (input.points * 10.0).round() / 10.0,
            reason: input.reason.trim().into(),
            occurred_on: input.occurred_on,
            issue_id: input.issue_id,
            recorded_by: caller.user_id.clone(),
            created_at: clock.now,
        };
        db::insert_deduction(conn, &row)?;
        view(row)
    })
}

/// Deductions at a place the caller sees (its whole subtree) counting for the period's days.
pub fn list(
    conn: &mut DbConnection,
    caller: &Caller,
    place: &OrgUnitId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Deduction>, AppError> {
    let row = org_units::find(conn, place)?.ok_or_else(|| AppError::not_found("place"))?;
    access::require_visible(caller, Place { path: &row.path }, "place")?;
    db::deductions_between(conn, &row.path, from, to)?
        .into_iter()
        .map(view)
        .collect()
}
