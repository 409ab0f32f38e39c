//! Issues and their history as the API shows them, with `overdue`, `days_overdue` and the light
//! (亮灯, by `closeout_sync_protocol::light`) derived.

use super::Clock;
use crate::db::models::{IssueEventRow, IssueRow};
use crate::error::AppError;
use crate::ids::{IssueEventId, IssueId, OrgUnitId, UserId};
use chrono::{DateTime, NaiveDate, Utc};
use closeout_sync_protocol::issue::Instruction;
use closeout_sync_protocol::light::{self, LightCause, LightFacts};
use closeout_sync_protocol::{IssueSource, IssueState, Light, Severity};
use serde::{Deserialize, Serialize};

/// Where the problem is (WGS-84), as reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Location {
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: Option<f64>,
    pub address: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ExtensionRequest {
    pub deadline: NaiveDate,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Issue {
    pub id: IssueId,
    /// 台账编号, unique per county and year, e.g. `2026-0000123`.
    pub ledger_no: String,
    pub title: String,
    pub description: String,
    pub category: String,
    pub severity: Severity,
    pub source: IssueSource,
    pub state: IssueState,
    pub place_id: OrgUnitId,
    pub location: Option<Location>,
    pub reporter_id: Option<UserId>,
    pub responsible_unit_id: Option<OrgUnitId>,
    pub responsible_user_id: Option<UserId>,
    /// 整改目标
    pub target: Option<String>,
    /// 完成时限 (a day in the office's time zone)
    pub deadline: Option<NaiveDate>,
    pub extension_request: Option<ExtensionRequest>,
    /// Past its deadline and still open.
    pub overdue: bool,
    pub days_overdue: i64,
    /// 亮灯: `green` on track, `yellow` deadline near or progress report late, `red` overdue;
    /// absent once the issue is no longer open (docs/ledger.md#lights).
    pub light: Option<Light>,
    /// Why the light has its colour, with the figure (days left, since, overdue).
    pub light_cause: Option<LightCause>,
    /// The office day the progress clock last started (签收, 续报, 退回).
    pub progress_on: Option<NaiveDate>,
    /// 0 none, 1 催办 reminder, 2 通报 bulletin, 3 约谈 admonition, 4 问责 accountability.
    pub escalation_level: i32,
    pub reopen_count: i32,
    pub duplicate_of: Option<IssueId>,
    /// Bumps with every change; equals the `seq` of the latest history event.
    pub version: i32,
    pub assigned_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IssueEvent {
    pub id: IssueEventId,
    pub seq: i32,
    /// `report`, `import`, one of the actions, or `escalate` by the scheduler.
    pub action: String,
    pub from_state: Option<IssueState>,
    pub to_state: IssueState,
    pub actor_id: Option<UserId>,
    /// The actor's display name as the account holds it now; kept for disabled accounts.
    pub actor_name: Option<String>,
    /// The role the actor acted in, or `system`.
    pub actor_role: String,
    /// The phone's clock: recorded, never used for ordering.
    pub device_time: Option<DateTime<Utc>>,
    pub server_time: DateTime<Utc>,
    pub location: Option<Location>,
    pub comment: Option<String>,
    /// SHA-256 of photos attached to this step.
    pub photos: Vec<String>,
    /// What the step set: deadline, unit, reason, level, …
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IssueDetail {
    #[serde(flatten)]
    pub issue: Issue,
    /// 领导批示, oldest first: the `instruct` steps of the history, shown above it.
    pub instructions: Vec<Instruction>,
    /// Every step, oldest first. Append-only.
    pub history: Vec<IssueEvent>,
    /// The inspection item whose failure raised this issue, if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inspection: Option<InspectionLink>,
}

/// Where an issue raised by an inspection came from.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InspectionLink {
    pub inspection_id: crate::ids::InspectionId,
    pub item_key: String,
}

pub const ESCALATION_NAMES_ZH: [&str; 5] = ["无", "催办", "通报", "约谈", "问责"];

fn stored<T>(what: &str, value: &str, parsed: Option<T>) -> Result<T, AppError> {
    parsed
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("stored {what} `{value}` is not known")))
}

pub fn issue(row: IssueRow, clock: &Clock) -> Result<Issue, AppError> {
    let today = clock.today;
    let state = stored("state", &row.state, IssueState::parse(&row.state))?;
    let light_cause = light::light(
        &LightFacts {
            state,
            deadline: row.deadline,
            progress_on: row.progress_on,
        },
        today,
        &clock.lights,
    );
    let days_overdue = match row.deadline {
        Some(deadline) if state.is_open() && deadline < today => (today - deadline).num_days(),
        _ => 0,
    };
    Ok(Issue {
        severity: stored("severity", &row.severity, Severity::parse(&row.severity))?,
        source: stored("source", &row.source, IssueSource::parse(&row.source))?,
        location: match (row.lat, row.lon) {
            (Some(lat), Some(lon)) => Some(Location {
                lat,
                lon,
                accuracy_m: row.accuracy_m,
                address: row.address.clone(),
            }),
            _ => None,
        },
        extension_request: row.extension_deadline.map(|deadline| ExtensionRequest {
            deadline,
            reason: row.extension_reason.clone(),
        }),
        overdue: days_overdue > 0,
        days_overdue,
        light: light_cause.map(LightCause::light),
        light_cause,
        progress_on: row.progress_on,
        state,
        id: row.id,
        ledger_no: row.ledger_no,
        title: row.title,
        description: row.description,
        category: row.category,
        place_id: row.place_id,
        reporter_id: row.reporter_id,
        responsible_unit_id: row.responsible_unit_id,
        responsible_user_id: row.responsible_user_id,
        target: row.target,
        deadline: row.deadline,
        escalation_level: row.escalation_level,
        reopen_count: row.reopen_count,
        duplicate_of: row.duplicate_of,
        version: row.version,
        assigned_at: row.assigned_at.map(|t| t.and_utc()),
        closed_at: row.closed_at.map(|t| t.and_utc()),
        created_at: row.created_at.and_utc(),
        updated_at: row.updated_at.and_utc(),
    })
}

pub fn event(row: IssueEventRow) -> Result<IssueEvent, AppError> {
    let parse_state = |s: &str| stored("state", s, IssueState::parse(s));
    Ok(IssueEvent {
        from_state: row.from_state.as_deref().map(parse_state).transpose()?,
        to_state: parse_state(&row.to_state)?,
        location: match (row.lat, row.lon) {
            (Some(lat), Some(lon)) => Some(Location {
                lat,
                lon,
                accuracy_m: row.accuracy_m,
                address: None,
            }),
            _ => None,
        },
        photos: serde_json::from_str(&row.photos).map_err(AppError::internal)?,
        data: serde_json::from_str(&row.data).map_err(AppError::internal)?,
        id: row.id,
        seq: row.seq,
        action: row.action,
        actor_id: row.actor_id,
        actor_name: None,
        actor_role: row.actor_role,
        device_time: row.device_time.map(|t| t.and_utc()),
        server_time: row.server_time.and_utc(),
        comment: row.comment,
    })
}
