//! Schedules: a cadence of inspections at a place (a daily patrol, a weekly on-site inspection, a
//! monthly check) with a template and an optional team, and the occurrences they call for.
//!
//! An occurrence is one window of the cadence: a day, an ISO week (Monday–Sunday) or a calendar
//! month, cut to the schedule's `starts_on`/`ends_on`. It is **done** when an inspection of the
//! schedule's template at the schedule's place was finished on a day of the window (office
//! calendar), **missed** when its window ended before today and none was, **due** when the window
//! includes today, **upcoming** after. A missed one counts as no progress (docs/inspections.md).

use super::parse_uuid;
use crate::db::inspections as inspections_db;
use crate::db::schedules::{self as db, ScheduleRow};
use crate::db::{DbConnection, org_units, templates, users, write_transaction};
use crate::domain::access::{self, Caller, Place};
use crate::domain::issues::Clock;
use crate::domain::reports::period::Period;
use crate::error::{AppError, ErrorCode};
use crate::ids::{InspectionId, OrgUnitId, ScheduleId, TemplateId, UserId};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use closeout_sync_protocol::Role;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Cadence {
    /// 每日巡查
    Daily,
    /// 每周督查 (ISO weeks, Monday–Sunday)
    Weekly,
    /// 每月检查 (calendar months)
    Monthly,
}

impl Cadence {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Daily => "daily",
            Self::Weekly => "weekly",
            Self::Monthly => "monthly",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Daily, Self::Weekly, Self::Monthly]
            .into_iter()
            .find(|c| c.as_str() == s)
    }

    /// The window containing `day`.
    fn window(self, day: NaiveDate) -> (NaiveDate, NaiveDate) {
        match self {
            Self::Daily => (day, day),
            Self::Weekly => {
                let monday = day - Duration::days(i64::from(day.weekday().num_days_from_monday()));
                (monday, monday + Duration::days(6))
            }
            Self::Monthly => {
                let first = day.with_day(1).unwrap_or(day);
                let next = first
                    .checked_add_months(chrono::Months::new(1))
                    .unwrap_or(first);
                (first, next.pred_opt().unwrap_or(first))
            }
        }
    }
}

/// The windows of a cadence from `starts_on` (to `ends_on`) that intersect `from..=to`, each cut
/// to the schedule's own dates.
pub fn windows(
    cadence: Cadence,
    starts_on: NaiveDate,
    ends_on: Option<NaiveDate>,
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<(NaiveDate, NaiveDate)> {
    let first = from.max(starts_on);
    let last = ends_on.map_or(to, |e| e.min(to));
    let mut out = Vec::new();
    let mut day = first;
    while day <= last {
        let (lo, hi) = cadence.window(day);
        out.push((lo.max(starts_on), ends_on.map_or(hi, |e| hi.min(e))));
        day = hi + Duration::days(1);
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OccurrenceStatus {
    Done,
    Due,
    Missed,
    Upcoming,
}

/// The one rule for an occurrence's status.
pub fn status(window: (NaiveDate, NaiveDate), done: bool, today: NaiveDate) -> OccurrenceStatus {
    if done {
        OccurrenceStatus::Done
    } else if window.1 < today {
        OccurrenceStatus::Missed
    } else if window.0 <= today {
        OccurrenceStatus::Due
    } else {
        OccurrenceStatus::Upcoming
    }
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSchedule {
    pub place_id: OrgUnitId,
    pub template_id: TemplateId,
    pub cadence: Cadence,
    /// Who is expected to go (user ids).
    #[serde(default)]
    pub team: Vec<UserId>,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Schedule {
    pub id: ScheduleId,
    pub place_id: OrgUnitId,
    pub template_id: TemplateId,
    pub cadence: Cadence,
    pub team: Vec<UserId>,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
}

fn view(row: ScheduleRow) -> Result<Schedule, AppError> {
    Ok(Schedule {
        cadence: Cadence::parse(&row.cadence)
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("cadence {}", row.cadence)))?,
        team: serde_json::from_str(&row.team).map_err(AppError::internal)?,
        id: row.id,
        place_id: row.place_id,
        template_id: row.template_id,
        starts_on: row.starts_on,
        ends_on: row.ends_on,
        created_by: row.created_by,
        created_at: row.created_at.and_utc(),
        archived_at: row.archived_at.map(|t| t.and_utc()),
    })
}

/// A supervisor (督查办) of the place sets a cadence there.
pub fn create(
    conn: &mut DbConnection,
    caller: &Caller,
    input: NewSchedule,
    clock: Clock,
) -> Result<Schedule, AppError> {
    write_transaction(conn, |conn| {
        let place =
            org_units::find(conn, &input.place_id)?.ok_or_else(|| AppError::not_found("place"))?;
        access::require(
            caller,
            Role::Supervisor,
            Place { path: &place.path },
            "place",
        )?;
        match templates::find(conn, &input.template_id)? {
            Some(t) if t.archived_at.is_none() => {}
            Some(_) => {
                return Err(AppError::new(
                    ErrorCode::TemplateArchived,
                    "the template is archived",
                ));
            }
            None => {
                return Err(AppError::invalid_field(
                    "template_id",
                    "no such template",
                    "检查模板不存在",
                ));
            }
        }
        if input.ends_on.is_some_and(|e| e < input.starts_on) {
            return Err(AppError::invalid_field(
                "ends_on",
                "must not be before starts_on",
                "不得早于开始日期",
            ));
        }
        if input.team.len() > 20 {
            return Err(AppError::invalid_field(
                "team",
                "at most 20 people",
                "最多 20 人",
            ));
        }
        for member in &input.team {
            if users::find(conn, member)?.is_none_or(|u| !u.active) {
                return Err(AppError::invalid_field(
                    "team",
                    format!("no active user {member}"),
                    format!("用户 {member} 不存在或已停用"),
                ));
            }
        }
        let row = ScheduleRow {
            id: ScheduleId::generate(),
            place_id: place.id,
            place_path: place.path,
            template_id: input.template_id,
            cadence: input.cadence.as_str().into(),
            team: serde_json::to_string(&input.team).map_err(AppError::internal)?,
            starts_on: input.starts_on,
            ends_on: input.ends_on,
            created_by: caller.user_id.clone(),
            created_at: clock.now,
            archived_at: None,
        };
        db::insert(conn, &row)?;
        view(row)
    })
}

pub fn archive(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &ScheduleId,
    clock: Clock,
) -> Result<Schedule, AppError> {
    write_transaction(conn, |conn| {
        let row = db::find(conn, id)?.ok_or_else(|| AppError::not_found("schedule"))?;
        access::require(
            caller,
            Role::Supervisor,
            Place {
                path: &row.place_path,
            },
            "schedule",
        )?;
        if row.archived_at.is_none() {
            db::archive(conn, id, clock.now)?;
        }
        view(db::find(conn, id)?.ok_or_else(|| AppError::not_found("schedule"))?)
    })
}

/// The subtrees a request covers: one visible place's, or all the caller sees.
fn scope(
    conn: &mut DbConnection,
    caller: &Caller,
    place: Option<&OrgUnitId>,
) -> Result<Vec<String>, AppError> {
    match place {
        Some(id) => {
            let row = org_units::find(conn, id)?.ok_or_else(|| AppError::not_found("place"))?;
            access::require_visible(caller, Place { path: &row.path }, "place")?;
            Ok(vec![row.path])
        }
        None => Ok(caller.visible_subtrees()),
    }
}

/// Schedules active on some day of the period, at places the caller sees.
pub fn list(
    conn: &mut DbConnection,
    caller: &Caller,
    place: Option<&OrgUnitId>,
    period: &Period,
) -> Result<Vec<Schedule>, AppError> {
    let subtrees = scope(conn, caller, place)?;
    db::active_in(conn, &subtrees, period.from, period.to)?
        .into_iter()
        .map(view)
        .collect()
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Occurrence {
    pub schedule_id: ScheduleId,
    pub place_id: OrgUnitId,
    pub place_path: String,
    pub template_id: TemplateId,
    pub cadence: Cadence,
    /// First day of the window.
    pub from: NaiveDate,
    /// Last day of the window, included.
    pub to: NaiveDate,
    pub status: OccurrenceStatus,
    /// The inspection that did it.
    pub inspection_id: Option<InspectionId>,
}

/// Every occurrence of the schedules in the subtrees whose window intersects `from..=to`.
pub fn occurrences_in(
    conn: &mut DbConnection,
    subtrees: &[String],
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
) -> Result<Vec<Occurrence>, AppError> {
    let mut out = Vec::new();
    for s in db::active_in(conn, subtrees, from, to)? {
        let cadence = Cadence::parse(&s.cadence)
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("cadence {}", s.cadence)))?;
        let ws = windows(cadence, s.starts_on, s.ends_on, from, to);
        let (Some(first), Some(last)) = (ws.first(), ws.last()) else {
            continue;
        };
        let done: Vec<_> = inspections_db::finished_between(conn, &s.place_path, first.0, last.1)?
            .into_iter()
            .filter(|i| i.place_id == s.place_id && i.template_id == s.template_id)
            .collect();
        for w in ws {
            let by = done
                .iter()
                .find(|i| i.finished_on.is_some_and(|d| d >= w.0 && d <= w.1));
            out.push(Occurrence {
                schedule_id: s.id.clone(),
                place_id: s.place_id.clone(),
                place_path: s.place_path.clone(),
                template_id: s.template_id.clone(),
                cadence,
                from: w.0,
                to: w.1,
                status: status(w, by.is_some(), today),
                inspection_id: by.map(|i| i.id.clone()),
            });
        }
    }
    out.sort_by(|a, b| (a.from, &a.place_path).cmp(&(b.from, &b.place_path)));
    Ok(out)
}

/// What is due and what was missed in the period, at places the caller sees (or one of them).
pub fn occurrences(
    conn: &mut DbConnection,
    caller: &Caller,
    place: Option<&OrgUnitId>,
    period: &Period,
    only: Option<OccurrenceStatus>,
    clock: Clock,
) -> Result<Vec<Occurrence>, AppError> {
    let subtrees = scope(conn, caller, place)?;
    let mut list = occurrences_in(conn, &subtrees, period.from, period.to, clock.today)?;
    if let Some(s) = only {
        list.retain(|o| o.status == s);
    }
    Ok(list)
}

/// Parses `status=` of the occurrences list.
pub fn parse_status(s: &str) -> Result<OccurrenceStatus, AppError> {
    match s {
        "done" => Ok(OccurrenceStatus::Done),
        "due" => Ok(OccurrenceStatus::Due),
        "missed" => Ok(OccurrenceStatus::Missed),
        "upcoming" => Ok(OccurrenceStatus::Upcoming),
        _ => Err(AppError::new(
            ErrorCode::InvalidQuery,
            format!("status: unknown `{s}` (done, due, missed, upcoming)"),
        )
        .zh(format!("未知状态“{s}”"))),
    }
}

/// Parses a schedule id from the path.
pub fn schedule_id(s: &str) -> Result<ScheduleId, AppError> {
    parse_uuid("id", s).map(ScheduleId::from)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn weekly_windows_are_iso_weeks_cut_to_the_schedule() {
        // Starts on Thursday 2026-11-05: the first window is Thu–Sun, then whole weeks.
        let w = windows(
            Cadence::Weekly,
            d("2026-11-05"),
            None,
            d("2026-11-01"),
            d("2026-11-22"),
        );
        assert_eq!(
            w,
            vec![
                (d("2026-11-05"), d("2026-11-08")),
                (d("2026-11-09"), d("2026-11-15")),
                (d("2026-11-16"), d("2026-11-22")),
            ]
        );
        let m = windows(
            Cadence::Monthly,
            d("2026-01-01"),
            Some(d("2026-03-10")),
            d("2026-02-15"),
            d("2026-12-31"),
        );
        assert_eq!(
            m,
            vec![
                (d("2026-02-01"), d("2026-02-28")),
                (d("2026-03-01"), d("2026-03-10"))
            ]
        );
        assert_eq!(
            windows(
                Cadence::Daily,
                d("2026-11-20"),
                None,
                d("2026-11-19"),
                d("2026-11-21")
            )
            .len(),
            2
        );
    }

    #[test]
    fn an_occurrence_is_missed_only_once_its_window_has_ended() {
        let week = (d("2026-11-16"), d("2026-11-22"));
        assert_eq!(
            status(week, false, d("2026-11-23")),
            OccurrenceStatus::Missed
        );
        assert_eq!(status(week, false, d("2026-11-22")), OccurrenceStatus::Due);
        assert_eq!(
            status(week, false, d("2026-11-15")),
            OccurrenceStatus::Upcoming
        );
        assert_eq!(status(week, true, d("2026-11-30")), OccurrenceStatus::Done);
    }
}
