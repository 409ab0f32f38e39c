//! Inspections as the API and the pull feed show them: the shared snapshot (header, items with
//! revisions, scores, the issues raised), and for REST the names, issues and open conflicts.

use super::record::{state_of, stored_results, team_of};
use super::templates::content_of;
use crate::db::inspections::{self as db, InspectionConflictRow, InspectionRow, IssueLinkRow};
use crate::db::{DbConnection, issues};
use crate::error::AppError;
use crate::ids::{InspectionConflictId, InspectionId, IssueId, OrgUnitId, TemplateId};
use chrono::{DateTime, Utc};
use closeout_sync_protocol::IssueState;
use closeout_sync_protocol::inspection::wire::{InspectionMode, InspectionSnapshot, ItemSnapshot};
use closeout_sync_protocol::inspection::{evaluate, one_decimal};
use closeout_sync_protocol::sync::Location;
use serde::Serialize;
use std::collections::BTreeMap;

/// The snapshot phones store (and the core of the REST view).
pub fn snapshot(
    conn: &mut DbConnection,
    row: &InspectionRow,
) -> Result<InspectionSnapshot, AppError> {
    let (_, template) = content_of(conn, &row.template_id, row.template_version)?;
    let result_rows = db::results_of(conn, &row.id)?;
    let stored = stored_results(&result_rows)?;
    let links: BTreeMap<String, IssueLinkRow> = db::links_of(conn, &row.id)?
        .into_iter()
        .map(|l| (l.item_key.clone(), l))
        .collect();
    let mut items = BTreeMap::new();
    for r in &result_rows {
        let Some(s) = stored.get(&r.item_key) else {
            continue;
        };
        let e = template
            .items
            .iter()
            .find(|i| i.key == r.item_key)
            .map(|i| evaluate(i, &s.result));
        items.insert(
            r.item_key.clone(),
            ItemSnapshot {
                rev: s.rev,
                result: s.result.clone(),
                score: e.map_or(0.0, |e| e.score),
                max: e.map_or(0.0, |e| e.max),
                failed: e.is_some_and(|e| e.failed),
                recorded_by: Some(r.recorded_by.to_string()),
                issue_id: links.get(&r.item_key).map(|l| l.issue_id.to_string()),
            },
        );
    }
    Ok(InspectionSnapshot {
        id: row.id.to_string(),
        template_id: row.template_id.to_string(),
        template_version: row.template_version,
        place_id: row.place_id.to_string(),
        mode: InspectionMode::parse(&row.mode).unwrap_or(InspectionMode::Scheduled),
        site: row.site.clone(),
        location: match (row.lat, row.lon) {
            (Some(lat), Some(lon)) => Some(Location {
                lat,
                lon,
                accuracy_m: row.accuracy_m,
                address: row.address.clone(),
            }),
            _ => None,
        },
        team: team_of(row)?,
        responsible_unit_id: row.responsible_unit_id.as_ref().map(|u| u.to_string()),
        responsible_user_id: row.responsible_user_id.as_ref().map(|u| u.to_string()),
        schedule_id: row.schedule_id.clone(),
        started_at: row.started_at.and_utc(),
        finished_at: row.finished_at.map(|t| t.and_utc()),
        summary: row.summary.clone(),
        state: state_of(row),
        items,
        score: row.score,
        max_score: row.max_score,
        percent: percent(row.score, row.max_score),
        version: row.version,
        updated_at: row.updated_at.and_utc(),
    })
}

pub fn percent(score: f64, max: f64) -> Option<f64> {
    (max > 0.0).then(|| one_decimal(score * 100.0 / max))
}

/// An issue a failed item raised, as the inspection lists it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RaisedIssue {
    pub item_key: String,
    pub issue_id: IssueId,
    pub ledger_no: String,
    pub state: IssueState,
    /// `assigned`, or why the issue stayed `reported` although the template assigns on failure.
    pub assignment: Option<String>,
}

/// A conflict between phones on this inspection.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InspectionConflict {
    pub id: InspectionConflictId,
    pub inspection_id: InspectionId,
    /// `item` (the same item recorded differently from the same base) or `header`.
    pub kind: String,
    /// The item key or the header field.
    pub field: String,
    /// What the phone sent (for items: `result` and `base_rev`).
    #[schema(value_type = Object)]
    pub incoming: serde_json::Value,
    /// What the server had, which stood.
    #[schema(value_type = Object)]
    pub current: serde_json::Value,
    pub user_id: crate::ids::UserId,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolution: Option<String>,
}

pub fn conflict(row: InspectionConflictRow) -> Result<InspectionConflict, AppError> {
    Ok(InspectionConflict {
        incoming: serde_json::from_str(&row.incoming).map_err(AppError::internal)?,
        current: serde_json::from_str(&row.current_value).map_err(AppError::internal)?,
        id: row.id,
        inspection_id: row.inspection_id,
        kind: row.kind,
        field: row.field,
        user_id: row.user_id,
        created_at: row.created_at.and_utc(),
        resolved_at: row.resolved_at.map(|t| t.and_utc()),
        resolution: row.resolution,
    })
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InspectionDetail {
    #[serde(flatten)]
    pub inspection: InspectionSnapshot,
    pub template_name: String,
    pub place_name: String,
    /// The issues its failed items raised, in item order.
    pub issues: Vec<RaisedIssue>,
    /// Conflicts between phones, unresolved ones included.
    pub conflicts: Vec<InspectionConflict>,
}

pub fn detail(conn: &mut DbConnection, row: &InspectionRow) -> Result<InspectionDetail, AppError> {
    let inspection = snapshot(conn, row)?;
    let (_, template) = content_of(conn, &row.template_id, row.template_version)?;
    let place_name = crate::db::org_units::find(conn, &row.place_id)?
        .map(|p| p.name)
        .unwrap_or_default();
    let mut raised = Vec::new();
    for link in db::links_of(conn, &row.id)? {
        if let Some(issue) = issues::find(conn, &link.issue_id)? {
            raised.push(RaisedIssue {
                item_key: link.item_key,
                issue_id: link.issue_id,
                ledger_no: issue.ledger_no,
                state: IssueState::parse(&issue.state).unwrap_or(IssueState::Reported),
                assignment: link.assignment,
            });
        }
    }
    let order = |k: &str| template.items.iter().position(|i| i.key == k);
    raised.sort_by_key(|r| order(&r.item_key));
    let conflicts = db::conflicts_of(conn, &row.id)?
        .into_iter()
        .map(conflict)
        .collect::<Result<_, _>>()?;
    Ok(InspectionDetail {
        inspection,
        template_name: template.name,
        place_name,
        issues: raised,
        conflicts,
    })
}

/// One line of the inspection list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InspectionSummary {
    pub id: InspectionId,
    pub template_id: TemplateId,
    pub template_version: i32,
    pub place_id: OrgUnitId,
    pub mode: InspectionMode,
    pub site: String,
    pub state: closeout_sync_protocol::inspection::wire::InspectionState,
    pub team: Vec<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub score: f64,
    pub max_score: f64,
    pub percent: Option<f64>,
    pub version: i32,
}

pub fn summary(row: &InspectionRow) -> Result<InspectionSummary, AppError> {
    Ok(InspectionSummary {
        id: row.id.clone(),
        template_id: row.template_id.clone(),
        template_version: row.template_version,
        place_id: row.place_id.clone(),
        mode: InspectionMode::parse(&row.mode).unwrap_or(InspectionMode::Scheduled),
        site: row.site.clone(),
        state: state_of(row),
        team: team_of(row)?,
        started_at: row.started_at.and_utc(),
        finished_at: row.finished_at.map(|t| t.and_utc()),
        score: row.score,
        max_score: row.max_score,
        percent: percent(row.score, row.max_score),
        version: row.version,
    })
}
