//! Recording an inspection: the one code path behind `POST /api/v1/inspections` and the
//! `record_inspection` sync mutation. Creates the inspection if its id is new, merges the header
//! and the item results against what the server has (per item, `inspection::merge_results`),
//! keeps clashes as conflicts, finishes it when asked, recomputes the total, and raises an issue
//! for every failed item that has none yet. Sending the same content again changes nothing.

use super::header::{
    canonical, check_header, header_map, row_location, set_header_field, unit_id, user_id,
};
use super::templates::content_of;
use super::{failures, parse_uuid, require_inspector};
use crate::db::inspections::{self as db, InspectionConflictRow, InspectionRow, ResultRow};
use crate::db::{DbConnection, org_units};
use crate::domain::access::Caller;
use crate::domain::issues::Clock;
use crate::domain::issues::report::validate_text;
use crate::error::{AppError, ErrorCode};
use crate::ids::{DeviceId, InspectionConflictId, InspectionId, OrgUnitId, TemplateId};
use chrono::NaiveDateTime;
use closeout_sync_protocol::inspection::wire::{
    InspectionHeader, InspectionState, RecordInspectionBody,
};
use closeout_sync_protocol::inspection::{
    IncomingResult, ItemResult, StoredResult, TemplateContent, evaluate, merge_results,
    normalize_result, total,
};
use closeout_sync_protocol::sync::merge_fields;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Where a recording came from, for the conflicts it may leave.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    pub mutation_id: Option<&'a str>,
    pub device_id: Option<&'a DeviceId>,
    /// The phone's clock when the person recorded it.
    pub device_time: Option<NaiveDateTime>,
}

#[derive(Debug, Clone)]
pub struct RecordOutcome {
    pub id: InspectionId,
    /// The inspection did not exist before.
    pub created: bool,
    /// Anything was written (false: a replay of content already there).
    pub changed: bool,
    pub version: i32,
    pub conflicts: Vec<InspectionConflictId>,
    pub issues_raised: usize,
}

pub const IN_PROGRESS: &str = "in_progress";
pub const FINISHED: &str = "finished";

pub fn state_of(row: &InspectionRow) -> InspectionState {
    if row.state == FINISHED {
        InspectionState::Finished
    } else {
        InspectionState::InProgress
    }
}

pub fn team_of(row: &InspectionRow) -> Result<Vec<String>, AppError> {
    serde_json::from_str(&row.team).map_err(AppError::internal)
}

/// Stored results by item key.
pub fn stored_results(rows: &[ResultRow]) -> Result<BTreeMap<String, StoredResult>, AppError> {
    rows.iter()
        .map(|r| {
            let result: ItemResult = serde_json::from_str(&r.result).map_err(AppError::internal)?;
            Ok((r.item_key.clone(), StoredResult { rev: r.rev, result }))
        })
        .collect()
}

fn normalize_items(
    template: &TemplateContent,
    body: &RecordInspectionBody,
) -> Result<Vec<IncomingResult>, AppError> {
    if body.items.len() > 200 {
        return Err(AppError::invalid_field(
            "items",
            "at most 200 per request",
            "每次最多 200 项",
        ));
    }
    body.items
        .iter()
        .map(|entry| {
            let item = template
                .items
                .iter()
                .find(|i| i.key == entry.key)
                .ok_or_else(|| {
                    AppError::invalid_field(
                        "items",
                        format!("`{}` is not an item of this template version", entry.key),
                        format!("“{}”不是该模板版本的检查项", entry.key),
                    )
                })?;
            Ok(IncomingResult {
                key: entry.key.clone(),
                base_rev: entry.base_rev,
                result: normalize_result(item, &entry.result).map_err(super::invalid)?,
            })
        })
        .collect()
}

/// How far ahead of the server's clock a phone's `finished_at` may be: phone clocks drift by
/// minutes; an inspection finished weeks ahead would count (and mark a schedule's occurrence
/// `done`) before it happened.
pub const FINISH_AHEAD_TOLERANCE: chrono::Duration = chrono::Duration::minutes(10);

/// Records `body` as `caller` inside the caller's transaction.
pub fn record_within(
    conn: &mut DbConnection,
    caller: &Caller,
    origin: Origin<'_>,
    body: &RecordInspectionBody,
    clock: Clock,
) -> Result<RecordOutcome, AppError> {
    let id = InspectionId::from(parse_uuid("inspection_id", &body.inspection_id)?);
    let h = &body.header;
    let place_id = OrgUnitId::from(parse_uuid("header.place_id", &h.place_id)?);
    let template_id = TemplateId::from(parse_uuid("header.template_id", &h.template_id)?);
    let place = org_units::find(conn, &place_id)?.ok_or_else(|| AppError::not_found("place"))?;
    require_inspector(caller, &place.path)?;
    let (template_row, template) = content_of(conn, &template_id, h.template_version)?;
    let items = normalize_items(&template, body)?;
    if body.finished_at.is_some_and(|f| f < h.started_at) {
        return Err(AppError::invalid_field(
            "finished_at",
            "must not be before started_at",
            "不得早于开始时间",
        ));
    }
    if body
        .finished_at
        .is_some_and(|f| f.naive_utc() > clock.now + FINISH_AHEAD_TOLERANCE)
    {
        return Err(AppError::invalid_field(
            "finished_at",
            "must not be in the future (more than 10 minutes ahead of the server's clock)",
            "结束时间不能晚于当前时间（允许误差 10 分钟）",
        ));
    }
    if let Some(s) = &body.summary {
        validate_text("summary", s, 0, 5000)?;
    }
    // Take the row's lock first (a no-op update), so that two phones' pushes of the same
    // inspection on PostgreSQL apply one after the other instead of one failing.
    db::lock(conn, &id)?;
    let existing = db::find(conn, &id)?;
    let created = existing.is_none();
    let mut changed = created;
    let mut conflicts = Vec::new();
    let mut row = match existing {
        Some(row) => {
            if row.template_id != template_id
                || row.template_version != h.template_version
                || row.place_id != place_id
            {
                return Err(AppError::new(
                    ErrorCode::InspectionIdTaken,
                    format!("inspection {id} exists with another template, version or place"),
                ));
            }
            row
        }
        None => {
            if template_row.archived_at.is_some() {
                return Err(AppError::new(
                    ErrorCode::TemplateArchived,
                    "the template is archived; new inspections must use another",
                ));
            }
            check_header(conn, h)?;
            let loc = h.location.as_ref();
            let row = InspectionRow {
                id: id.clone(),
                template_id: template_id.clone(),
                template_version: h.template_version,
                place_id: place.id.clone(),
                place_path: place.path.clone(),
                mode: h.mode.as_str().to_owned(),
                site: h.site.trim().to_owned(),
                lat: loc.map(|l| l.lat),
                lon: loc.map(|l| l.lon),
                accuracy_m: loc.and_then(|l| l.accuracy_m),
                address: loc.and_then(|l| l.address.clone()),
                team: "[]".into(),
                responsible_unit_id: h.responsible_unit_id.as_deref().map(unit_id),
                responsible_user_id: h.responsible_user_id.as_deref().map(user_id),
                schedule_id: h.schedule_id.as_deref().map(canonical),
                state: IN_PROGRESS.into(),
                started_at: h.started_at.naive_utc(),
                finished_at: None,
                finished_on: None,
                summary: None,
                score: 0.0,
                max_score: 0.0,
                created_by: caller.user_id.clone(),
                version: 1,
                created_at: clock.now,
                updated_at: clock.now,
            };
            db::insert(conn, &row)?;
            row
        }
    };
    let previous_version = row.version;

    // The header: team as a union, started_at the earliest, the rest merged field by field.
    let mut team = team_of(&row)?;
    for member in h
        .team
        .iter()
        .map(|m| user_id(m).to_string())
        .chain([caller.user_id.to_string()])
    {
        if !team.contains(&member) {
            if !created && member != caller.user_id.as_str() {
                check_header(
                    conn,
                    &InspectionHeader {
                        team: vec![member.clone()],
                        ..h.clone()
                    },
                )?;
            }
            team.push(member);
            changed = true;
        }
    }
    team.sort();
    row.team = serde_json::to_string(&team).map_err(AppError::internal)?;
    if h.started_at.naive_utc() < row.started_at {
        row.started_at = h.started_at.naive_utc();
        changed = true;
    }
    if !created {
        let (in_unit, in_user, in_schedule) = (
            h.responsible_unit_id.as_deref().map(canonical),
            h.responsible_user_id.as_deref().map(canonical),
            h.schedule_id.as_deref().map(canonical),
        );
        let incoming = header_map(
            &h.site,
            h.location.as_ref().map(|l| json!(l)),
            h.mode.as_str(),
            in_unit.as_deref(),
            in_user.as_deref(),
            in_schedule.as_deref(),
            body.summary.as_deref(),
        );
        let unit = row.responsible_unit_id.as_ref().map(|u| u.to_string());
        let user = row.responsible_user_id.as_ref().map(|u| u.to_string());
        let current = header_map(
            &row.site,
            row_location(&row),
            &row.mode,
            unit.as_deref(),
            user.as_deref(),
            row.schedule_id.as_deref(),
            row.summary.as_deref(),
        );
        let set_on_server: Vec<String> = current.keys().cloned().collect();
        let merge = merge_fields(&incoming, &current, &set_on_server);
        if !merge.apply.is_empty() {
            check_header(conn, h)?;
        }
        for (field, value) in &merge.apply {
            set_header_field(&mut row, field, value)?;
            changed = true;
        }
        for (field, value, server) in merge.conflicts {
            conflicts.push(conflict(
                conn,
                caller,
                origin,
                &row,
                "header",
                &field,
                json!({"value": value}),
                json!({"value": server, "version": row.version}),
                clock,
            )?);
        }
    } else if let Some(s) = &body.summary {
        row.summary = Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    }

    // The items, merged one by one against their stored revision.
    let mut stored = stored_results(&db::results_of(conn, &id)?)?;
    let merge = merge_results(&items, &stored);
    for key in &merge.apply {
        let Some(incoming) = items.iter().rev().find(|i| &i.key == key) else {
            continue;
        };
        let Some(item) = template.items.iter().find(|i| &i.key == key) else {
            continue;
        };
        let rev = stored.get(key).map_or(1, |s| s.rev + 1);
        let e = evaluate(item, &incoming.result);
        db::save_result(
            conn,
            &ResultRow {
                inspection_id: id.clone(),
                item_key: key.clone(),
                rev,
                result: serde_json::to_string(&incoming.result).map_err(AppError::internal)?,
                score: e.score,
                max_score: e.max,
                failed: e.failed,
                recorded_by: caller.user_id.clone(),
                device_time: origin.device_time,
                recorded_at: clock.now,
            },
        )?;
        stored.insert(
            key.clone(),
            StoredResult {
                rev,
                result: incoming.result.clone(),
            },
        );
        changed = true;
    }
    for key in &merge.conflicts {
        let (Some(incoming), Some(server)) =
            (items.iter().rev().find(|i| &i.key == key), stored.get(key))
        else {
            continue;
        };
        conflicts.push(conflict(
            conn,
            caller,
            origin,
            &row,
            "item",
            key,
            json!({"result": incoming.result, "base_rev": incoming.base_rev}),
            json!({"result": server.result, "rev": server.rev}),
            clock,
        )?);
    }

    if let Some(finished_at) = body.finished_at
        && row.state != FINISHED
    {
        row.state = FINISHED.into();
        row.finished_at = Some(finished_at.naive_utc());
        row.finished_on = Some(clock.day_of(finished_at.naive_utc()));
        changed = true;
    }
    let results: BTreeMap<String, ItemResult> = stored
        .iter()
        .map(|(k, s)| (k.clone(), s.result.clone()))
        .collect();
    let t = total(&template, &results);
    if (t.score, t.max_score) != (row.score, row.max_score) {
        (row.score, row.max_score) = (t.score, t.max_score);
        changed = true;
    }
    if changed {
        // A new inspection was inserted at version 1 above and stays at 1.
        row.version = if created { 1 } else { previous_version + 1 };
        row.updated_at = clock.now;
        if !db::update_if_version(conn, &row, previous_version)? {
            return Err(AppError::new(
                ErrorCode::ConcurrentUpdate,
                "the inspection changed at the same moment; send it again",
            ));
        }
    }
    let issues_raised = if row.state == FINISHED {
        failures::raise(conn, caller, &row, &template, &results, clock)?
    } else {
        0
    };
    Ok(RecordOutcome {
        id,
        created,
        changed,
        version: row.version,
        conflicts,
        issues_raised,
    })
}

#[allow(clippy::too_many_arguments)]
fn conflict(
    conn: &mut DbConnection,
    caller: &Caller,
    origin: Origin<'_>,
    row: &InspectionRow,
    kind: &str,
    field: &str,
    incoming: Value,
    current: Value,
    clock: Clock,
) -> Result<InspectionConflictId, AppError> {
    let id = InspectionConflictId::generate();
    db::insert_conflict(
        conn,
        &InspectionConflictRow {
            id: id.clone(),
            inspection_id: row.id.clone(),
            place_path: row.place_path.clone(),
            kind: kind.into(),
            field: field.into(),
            mutation_id: origin.mutation_id.map(str::to_owned),
            device_id: origin.device_id.cloned(),
            user_id: caller.user_id.clone(),
            incoming: incoming.to_string(),
            current_value: current.to_string(),
            created_at: clock.now,
            resolved_at: None,
            resolved_by: None,
            resolution: None,
            resolution_comment: None,
        },
    )?;
    Ok(id)
}
