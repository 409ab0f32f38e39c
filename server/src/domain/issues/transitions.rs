//! Applying an action to an issue: the shared lifecycle decides whether it is allowed; this module
//! checks what needs the database (the unit exists, the person is responsible for it, the
//! original of a duplicate is real), changes the issue, and appends the history event — all in
//! one transaction, guarded by the issue's version so two concurrent actions cannot both land.

use super::report::{validate_photos, validate_position, validate_text};
use super::view::IssueDetail;
use super::{Clock, can_see, queries, roles_for};
use crate::db::models::{IssueEventRow, IssueRow};
use crate::db::{DbConnection, issues, org_units, photos, users, write_transaction};
use crate::domain::access::Caller;
use crate::domain::accounts;
use crate::domain::evidence::{EvidencePolicy, gate_approval};
use crate::error::{AppError, ErrorCode};
use crate::ids::{IssueId, OrgUnitId, UserId};
use closeout_sync_protocol::lifecycle::{self, ActionKind, Facts, Refusal, TransitionRequest};
use closeout_sync_protocol::{IssueState, Role};
use serde_json::json;

/// Maps a refusal of the shared rules to the error a client gets.
pub fn refusal_error(refusal: &Refusal) -> AppError {
    let code = match refusal {
        Refusal::NoAction | Refusal::MissingField { .. } | Refusal::FieldNotApplicable { .. } => {
            ErrorCode::InvalidField
        }
        Refusal::RoleNotAllowed { .. } => ErrorCode::Forbidden,
        Refusal::StateNotAllowed { .. } => ErrorCode::InvalidTransition,
        Refusal::NoPendingExtension => ErrorCode::NoPendingExtension,
        Refusal::ExtensionAlreadyPending => ErrorCode::ExtensionAlreadyPending,
        Refusal::EscalationAtTop => ErrorCode::EscalationAtTop,
    };
    AppError::new(code, refusal.to_string()).zh(refusal.message_zh())
}

fn parse_id(field: &str, value: Option<&String>) -> Result<uuid::Uuid, AppError> {
    value
        .and_then(|v| uuid::Uuid::parse_str(v.trim()).ok())
        .ok_or_else(|| AppError::invalid_field(field, "must be a UUID", "须为 UUID"))
}

/// Applies `request` to the issue as `caller`; returns the issue with its history.
pub fn apply(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &IssueId,
    request: TransitionRequest,
    clock: Clock,
    evidence: EvidencePolicy,
) -> Result<IssueDetail, AppError> {
    validate_request(&request)?;
    write_transaction(conn, |conn| {
        apply_within(conn, caller, id, &request, clock, evidence)
    })?;
    queries::detail(conn, caller, id, clock)
}

/// The body of [`apply`], inside the caller's transaction (bulk imports assign this way).
pub fn apply_within(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &IssueId,
    request: &TransitionRequest,
    clock: Clock,
    evidence: EvidencePolicy,
) -> Result<(), AppError> {
    let current = issues::find(conn, id)?.ok_or_else(|| AppError::not_found("issue"))?;
    if !can_see(caller, &current) {
        return Err(AppError::not_found("issue"));
    }
    let state = IssueState::parse(&current.state)
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("stored state {}", current.state)))?;
    let facts = Facts {
        state,
        extension_pending: current.extension_deadline.is_some(),
        escalation_level: current.escalation_level,
    };
    let decision = lifecycle::decide(&facts, request, &roles_for(caller, &current))
        .map_err(|r| refusal_error(&r))?;
    let mut next = current.clone();
    let data = apply_effects(
        conn,
        caller,
        &mut next,
        request,
        decision.action,
        clock,
        evidence,
    )?;
    next.state = decision.to.as_str().to_owned();
    next.version = current.version + 1;
    next.updated_at = clock.now.into();
    if !issues::update_if_version(conn, &next, &current)? {
        return Err(AppError::new(
            ErrorCode::ConcurrentUpdate,
            "the issue changed while this action was being applied; reload and retry",
        ));
    }
    let position = request.location;
    issues::insert_event(
        conn,
        &IssueEventRow {
            device_time: request.device_time.map(|t| t.naive_utc().into()),
            lat: position.map(|p| p.lat),
            lon: position.map(|p| p.lon),
            accuracy_m: position.and_then(|p| p.accuracy_m),
            comment: request.comment.clone().filter(|c| !c.trim().is_empty()),
            photos: serde_json::to_string(&request.photos).map_err(AppError::internal)?,
            data: data.to_string(),
            ..IssueEventRow::new(
                id,
                next.version,
                decision.action.as_str(),
                Some(decision.from.as_str()),
                decision.to.as_str(),
                Some(&caller.user_id),
                decision.role.as_str(),
                clock.now,
            )
        },
    )?;
    Ok(())
}

fn validate_request(request: &TransitionRequest) -> Result<(), AppError> {
    validate_photos(&request.photos)?;
    if let Some(p) = &request.location {
        validate_position(p.lat, p.lon, p.accuracy_m)?;
    }
    for (field, value, max) in [
        ("comment", &request.comment, 5000),
        ("reason", &request.reason, 2000),
        ("target", &request.target, 2000),
        ("override_reason", &request.override_reason, 2000),
    ] {
        if let Some(v) = value {
            validate_text(field, v, 0, max)?;
        }
    }
    Ok(())
}

/// A rectification is submitted with its after-photos on the server (DESIGN.md: an issue cannot
/// be submitted until its required photos have arrived).
fn require_arrived(conn: &mut DbConnection, photos: &[String]) -> Result<(), AppError> {
    let mut pending = Vec::new();
    for sha in photos {
        if photos::find_photo(conn, sha)?.is_none() {
            pending.push(sha.clone());
        }
    }
    if pending.is_empty() {
        return Ok(());
    }
    Err(AppError::new(
        ErrorCode::PhotosPending,
        format!(
            "{} of the after-photos have not finished uploading; upload them, then submit",
            pending.len()
        ),
    )
    .zh(format!(
        "有 {} 张整改后照片尚未上传完成，请上传后再提交",
        pending.len()
    ))
    .with_extra(json!({ "pending": pending })))
}

/// Changes `issue` as the action demands and returns what the history should record of it.
fn apply_effects(
    conn: &mut DbConnection,
    caller: &Caller,
    issue: &mut IssueRow,
    req: &TransitionRequest,
    action: ActionKind,
    clock: Clock,
    evidence: EvidencePolicy,
) -> Result<serde_json::Value, AppError> {
    let future = |field: &str, day: chrono::NaiveDate| -> Result<(), AppError> {
        if day < clock.today {
            Err(AppError::invalid_field(
                field,
                "must not be in the past",
                "不能早于今天",
            ))
        } else {
            Ok(())
        }
    };
    Ok(match action {
        ActionKind::Assign => {
            let unit_id = OrgUnitId::from(parse_id(
                "responsible_unit_id",
                req.responsible_unit_id.as_ref(),
            )?);
            let user_id = UserId::from(parse_id(
                "responsible_user_id",
                req.responsible_user_id.as_ref(),
            )?);
            let unit = org_units::find(conn, &unit_id)?.ok_or_else(|| {
                AppError::invalid_field("responsible_unit_id", "no such unit", "责任单位不存在")
            })?;
            if users::find(conn, &user_id)?.is_none_or(|u| !u.active) {
                return Err(AppError::invalid_field(
                    "responsible_user_id",
                    "no such active user",
                    "责任人不存在或已停用",
                ));
            }
            let responsible = accounts::roles_of(conn, &user_id)?
                .into_iter()
                .any(|(g, _)| {
                    g.role == Role::Responsible && unit.path.starts_with(&g.subtree_path)
                });
            if !responsible {
                return Err(AppError::invalid_field(
                    "responsible_user_id",
                    "this person does not hold the responsible role for that unit",
                    "该人员不是该责任单位的责任人",
                ));
            }
            let deadline = req
                .deadline
                .ok_or_else(|| AppError::invalid_field("deadline", "required", "必填"))?;
            future("deadline", deadline)?;
            issue.responsible_unit_id = Some(unit.id.clone());
            issue.responsible_unit_path = Some(unit.path.clone());
            issue.responsible_user_id = Some(user_id.clone());
            issue.target = req.target.as_ref().map(|t| t.trim().to_owned());
            issue.deadline = Some(deadline);
            issue.assigned_at = Some(clock.now.into());
            issue.extension_deadline = None;
            issue.extension_reason = None;
            json!({"responsible_unit_id": unit.id, "responsible_unit_name": unit.name,
                   "responsible_user_id": user_id, "target": issue.target, "deadline": deadline})
        }
        // The progress clock (亮灯) starts when the unit signs for the issue, reports progress
        // (续报) or gets it back.
        ActionKind::Acknowledge => {
            issue.progress_on = Some(clock.today);
            json!({})
        }
        ActionKind::Comment | ActionKind::Instruct => json!({}),
        ActionKind::Progress => {
            issue.progress_on = Some(clock.today);
            json!({ "stage": req.stage })
        }
        ActionKind::Submit => {
            require_arrived(conn, &req.photos)?;
            json!({ "after_photos": req.photos.len() })
        }
        ActionKind::Approve => {
            let reason = req.override_reason.as_deref().map(str::trim);
            let overridden = gate_approval(conn, issue, evidence, reason)?;
            issue.closed_at = Some(clock.now.into());
            json!({ "override_reason": reason.filter(|r| !r.is_empty()), "overridden": overridden })
        }
        ActionKind::Return => {
            if let Some(day) = req.deadline {
                future("deadline", day)?;
                issue.deadline = Some(day);
            }
            issue.progress_on = Some(clock.today);
            json!({ "reason": req.reason, "deadline": req.deadline })
        }
        ActionKind::Reopen => {
            if let Some(day) = req.deadline {
                future("deadline", day)?;
                issue.deadline = Some(day);
            }
            issue.reopen_count += 1;
            issue.closed_at = None;
            json!({ "reason": req.reason, "deadline": issue.deadline, "reopen_count": issue.reopen_count })
        }
        ActionKind::RequestExtension => {
            let wanted = req
                .requested_deadline
                .ok_or_else(|| AppError::invalid_field("requested_deadline", "required", "必填"))?;
            if issue.deadline.is_some_and(|d| wanted <= d) {
                return Err(AppError::invalid_field(
                    "requested_deadline",
                    "must be later than the current deadline",
                    "须晚于当前完成时限",
                ));
            }
            issue.extension_deadline = Some(wanted);
            issue.extension_reason = req.reason.clone();
            json!({ "requested_deadline": wanted, "reason": req.reason })
        }
        ActionKind::DecideExtension => {
            let granted = req.granted.unwrap_or(false);
            let requested = issue.extension_deadline.take();
            issue.extension_reason = None;
            if granted {
                let day = req
                    .deadline
                    .or(requested)
                    .ok_or_else(|| AppError::invalid_field("deadline", "required", "必填"))?;
                future("deadline", day)?;
                issue.deadline = Some(day);
            }
            json!({ "granted": granted, "requested_deadline": requested, "deadline": issue.deadline })
        }
        ActionKind::Reject => json!({ "reason": req.reason }),
        ActionKind::MarkDuplicate => {
            let original_id = IssueId::from(parse_id("duplicate_of", req.duplicate_of.as_ref())?);
            let original = issues::find(conn, &original_id)?
                .filter(|o| can_see(caller, o))
                .ok_or_else(|| {
                    AppError::invalid_field("duplicate_of", "no such issue", "原问题不存在")
                })?;
            if original.id == issue.id || original.state == IssueState::Duplicate.as_str() {
                return Err(AppError::invalid_field(
                    "duplicate_of",
                    "must be another issue that is not itself a duplicate",
                    "须为另一个非重复的问题",
                ));
            }
            issue.duplicate_of = Some(original.id.clone());
            json!({ "duplicate_of": original.id, "original_ledger_no": original.ledger_no })
        }
        ActionKind::Escalate => {
            issue.escalation_level += 1;
            json!({ "level": issue.escalation_level, "reason": req.reason })
        }
    })
}
