//! Applying one mutation of a push: the body parsed, run in a savepoint against the ledger's
//! rules, and its outcome turned into a result — applied, a conflict kept for a supervisor (the
//! issue moved on while the phone was offline), waiting for photos, or rejected alone.

use super::push::{Context, RawMutation};
use crate::db::models::{ConflictRow, DeviceRow};
use crate::db::{DbConnection, issues, sync};
use crate::domain::issues::edit::{self, Origin};
use crate::domain::issues::report::{self, NewIssue};
use crate::domain::issues::transitions;
use crate::domain::issues::view::Location;
use crate::error::{AppError, ErrorCode};
use crate::ids::{ConflictId, IssueId, OrgUnitId};
use closeout_sync_protocol::sync::{MutationBody, MutationResult, MutationStatus};
use diesel::Connection;
use serde_json::json;

pub(crate) fn result(m: &RawMutation, status: MutationStatus) -> MutationResult {
    MutationResult {
        id: m.id.clone(),
        seq: m.seq,
        status,
        code: None,
        message: None,
        message_zh: None,
        field: None,
        version: None,
        conflict_ids: None,
        original: None,
    }
}

pub(super) fn refused(m: &RawMutation, e: AppError) -> MutationResult {
    MutationResult {
        code: Some(e.code.as_str().to_owned()),
        message_zh: Some(
            e.detail_zh
                .clone()
                .unwrap_or_else(|| e.code.message_zh().to_owned()),
        ),
        message: Some(e.detail),
        ..result(m, MutationStatus::Rejected)
    }
}

/// Codes that mean "the issue moved on while the phone was offline": kept as a conflict.
fn is_stale(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::InvalidTransition
            | ErrorCode::NoPendingExtension
            | ErrorCode::ExtensionAlreadyPending
            | ErrorCode::EscalationAtTop
    )
}

/// One decoded mutation inside a savepoint: a refusal undoes it alone. A lost write race is no
/// refusal: it fails the batch, which `push` runs again.
pub(super) fn apply(
    conn: &mut DbConnection,
    cx: Context<'_>,
    device: &DeviceRow,
    m: &RawMutation,
    body: &MutationBody,
) -> Result<MutationResult, AppError> {
    let outcome = conn.transaction(|conn| apply_body(conn, cx, device, m, body));
    match outcome {
        Ok(r) => Ok(r),
        Err(e) if e.code.status() >= 500 || e.is_write_race() => Err(e),
        Err(e) => match body {
            MutationBody::Transition(t) if is_stale(e.code) => {
                transition_conflict(conn, cx, device, m, &t.issue_id, &e)
            }
            MutationBody::Transition(_) if e.code == ErrorCode::PhotosPending => {
                super::waiting::wait_for_photos(conn, device, m, &e, cx.clock)
            }
            _ => Ok(refused(m, e)),
        },
    }
}

fn parse_issue_id(text: &str) -> Result<IssueId, AppError> {
    uuid::Uuid::parse_str(text)
        .map(IssueId::from)
        .map_err(|_| AppError::invalid_field("issue_id", "must be a UUID", "须为 UUID"))
}

fn apply_body(
    conn: &mut DbConnection,
    cx: Context<'_>,
    device: &DeviceRow,
    m: &RawMutation,
    body: &MutationBody,
) -> Result<MutationResult, AppError> {
    let (caller, clock) = (cx.caller, cx.clock);
    match body {
        MutationBody::CreateIssue(b) => {
            let id = parse_issue_id(&b.issue_id)?;
            let place = uuid::Uuid::parse_str(&b.place_id)
                .map(OrgUnitId::from)
                .map_err(|_| AppError::invalid_field("place_id", "must be a UUID", "须为 UUID"))?;
            let input = NewIssue {
                id: Some(uuid::Uuid::parse_str(&b.issue_id).map_err(AppError::internal)?),
                title: b.title.clone(),
                description: b.description.clone(),
                category: b.category.clone(),
                severity: b.severity,
                source: b.source,
                place_id: place,
                location: b.location.as_ref().map(|l| Location {
                    lat: l.lat,
                    lon: l.lon,
                    accuracy_m: l.accuracy_m,
                    address: l.address.clone(),
                }),
                device_time: Some(m.device_time),
                photos: b.photos.clone(),
            };
            report::validate(&input)?;
            let created = report::report_within(conn, caller, &id, &input, clock)?;
            let status = if created {
                MutationStatus::Applied
            } else {
                MutationStatus::Duplicate
            };
            Ok(MutationResult {
                version: Some(1),
                ..result(m, status)
            })
        }
        MutationBody::UpdateIssue(b) => {
            let id = parse_issue_id(&b.issue_id)?;
            let origin = Origin {
                mutation_id: &m.id,
                device_id: &device.id,
            };
            let out =
                edit::edit_within(conn, caller, &origin, &id, b.base_version, &b.fields, clock)?;
            let status = if out.conflicts.is_empty() {
                MutationStatus::Applied
            } else {
                MutationStatus::Conflict
            };
            Ok(MutationResult {
                version: Some(out.version),
                conflict_ids: (!out.conflicts.is_empty())
                    .then(|| out.conflicts.iter().map(|c| c.to_string()).collect()),
                ..result(m, status)
            })
        }
        MutationBody::Transition(t) => {
            let id = parse_issue_id(&t.issue_id)?;
            let mut request = t.request.clone();
            request.device_time = request.device_time.or(Some(m.device_time));
            transitions::apply_within(conn, caller, &id, &request, clock, cx.evidence)?;
            let version = issues::find(conn, &id)?.map(|i| i.version);
            Ok(MutationResult {
                version,
                ..result(m, MutationStatus::Applied)
            })
        }
        MutationBody::RecordInspection(b) => {
            crate::domain::inspections::sync::apply(conn, caller, &device.id, m, b, clock)
        }
    }
}

/// A transition the issue has moved past (a rectification submitted offline after close-out):
/// kept, with its photos, for a supervisor to see and resolve.
fn transition_conflict(
    conn: &mut DbConnection,
    cx: Context<'_>,
    device: &DeviceRow,
    m: &RawMutation,
    issue_id: &str,
    e: &AppError,
) -> Result<MutationResult, AppError> {
    let (caller, clock) = (cx.caller, cx.clock);
    let id = parse_issue_id(issue_id)?;
    let Some(issue) = issues::find(conn, &id)? else {
        return Ok(refused(m, AppError::not_found("issue")));
    };
    let conflict = ConflictId::generate();
    sync::insert_conflict(
        conn,
        &ConflictRow {
            id: conflict.clone(),
            issue_id: id,
            place_path: issue.place_path.clone(),
            mutation_id: m.id.clone(),
            device_id: device.id.clone(),
            user_id: caller.user_id.clone(),
            kind: "transition".into(),
            field: None,
            incoming: json!({ "request": m.body.get("request"), "device_time": m.device_time, "refused": e.code.as_str(), "reason": e.detail }).to_string(),
            current_value: json!({ "state": issue.state, "version": issue.version }).to_string(),
            created_at: clock.now,
            resolved_at: None,
            resolved_by: None,
            resolution: None,
            resolution_comment: None,
        },
    )?;
    Ok(MutationResult {
        code: Some(e.code.as_str().to_owned()),
        message: Some(e.detail.clone()),
        message_zh: e.detail_zh.clone(),
        version: Some(issue.version),
        conflict_ids: Some(vec![conflict.to_string()]),
        ..result(m, MutationStatus::Conflict)
    })
}
