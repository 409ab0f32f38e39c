//! Editing an issue's own fields from a phone, merged per field against the version the phone
//! saw (`closeout_sync_protocol::sync::merge_fields`): edits of different fields all land; an
//! edit of a field someone else changed since is kept as a conflict for a supervisor.

use super::report::{validate_position, validate_text};
use super::{Clock, can_see, roles_for};
use crate::db::models::{ConflictRow, IssueEventRow, IssueRow};
use crate::db::{DbConnection, categories, issues, sync};
use crate::domain::access::Caller;
use crate::error::{AppError, ErrorCode};
use crate::ids::{ConflictId, DeviceId, IssueId};
use closeout_sync_protocol::IssueState;
use closeout_sync_protocol::lifecycle::may_edit_fields;
use closeout_sync_protocol::sync::{IssueFields, Location, merge_fields};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Where an edit came from, for the conflicts it may leave.
pub struct Origin<'a> {
    pub mutation_id: &'a str,
    pub device_id: &'a DeviceId,
}

pub struct EditOutcome {
    pub version: i32,
    pub conflicts: Vec<ConflictId>,
}

/// The editable fields of a stored issue, as the merge compares them.
pub fn current_fields(row: &IssueRow) -> BTreeMap<String, Value> {
    let location = match (row.lat, row.lon) {
        (Some(lat), Some(lon)) => Some(Location {
            lat,
            lon,
            accuracy_m: row.accuracy_m,
            address: row.address.clone(),
        }),
        _ => None,
    };
    let fields = IssueFields {
        title: Some(row.title.clone()),
        description: Some(row.description.clone()),
        category: Some(row.category.clone()),
        severity: closeout_sync_protocol::Severity::parse(&row.severity),
        location,
    };
    fields.to_map()
}

fn validate(conn: &mut DbConnection, f: &IssueFields) -> Result<(), AppError> {
    if let Some(t) = &f.title {
        validate_text("title", t, 1, 200)?;
    }
    if let Some(d) = &f.description {
        validate_text("description", d, 0, 5000)?;
    }
    if let Some(c) = &f.category
        && !categories::find(conn, c)?.is_some_and(|c| c.active)
    {
        return Err(AppError::invalid_field(
            "category",
            format!("unknown category `{c}`"),
            format!("未知类别“{c}”"),
        ));
    }
    if let Some(l) = &f.location {
        validate_position(l.lat, l.lon, l.accuracy_m)?;
    }
    Ok(())
}

fn set(row: &mut IssueRow, f: &IssueFields) {
    if let Some(t) = &f.title {
        row.title = t.trim().to_owned();
    }
    if let Some(d) = &f.description {
        row.description = d.trim().to_owned();
    }
    if let Some(c) = &f.category {
        row.category = c.clone();
    }
    if let Some(s) = f.severity {
        row.severity = s.as_str().to_owned();
    }
    if let Some(l) = &f.location {
        (row.lat, row.lon, row.accuracy_m, row.address) =
            (Some(l.lat), Some(l.lon), l.accuracy_m, l.address.clone());
    }
}

/// Fields changed by edits after `base_version` (from the history's `update` events).
fn changed_since(
    conn: &mut DbConnection,
    id: &IssueId,
    base_version: i32,
) -> Result<Vec<String>, AppError> {
    let mut fields = Vec::new();
    for e in issues::events_of(conn, id)?
        .into_iter()
        .filter(|e| e.seq > base_version && e.action == "update")
    {
        let data: Value = serde_json::from_str(&e.data).map_err(AppError::internal)?;
        if let Some(changed) = data["changed"].as_object() {
            fields.extend(changed.keys().cloned());
        }
    }
    Ok(fields)
}

/// Applies an edit inside the caller's transaction.
pub fn edit_within(
    conn: &mut DbConnection,
    caller: &Caller,
    origin: &Origin<'_>,
    id: &IssueId,
    base_version: i32,
    fields: &IssueFields,
    clock: Clock,
) -> Result<EditOutcome, AppError> {
    let current = issues::find(conn, id)?
        .filter(|i| can_see(caller, i))
        .ok_or_else(|| AppError::not_found("issue"))?;
    let state = IssueState::parse(&current.state).unwrap_or(IssueState::Closed);
    let is_reporter = current.reporter_id.as_ref() == Some(&caller.user_id);
    let may_edit = may_edit_fields(state, &roles_for(caller, &current), is_reporter);
    // The reporter edited offline while the issue was still `reported`, and it was assigned (or
    // moved on) before the edit arrived: the edit is not lost but kept as conflicts, one per
    // changed field, for a supervisor to take or leave (issue 13: nothing silently lost).
    let stale_reporter_edit = !may_edit
        && is_reporter
        && state.is_open()
        && (1..=current.version).contains(&base_version);
    if stale_reporter_edit {
        validate(conn, fields)?;
        let server = current_fields(&current);
        let mut conflicts = Vec::new();
        for (field, incoming) in fields.to_map() {
            let server_value = server.get(&field).cloned().unwrap_or(Value::Null);
            if server_value == incoming {
                continue;
            }
            conflicts.push(record_conflict(
                conn,
                caller,
                origin,
                &current,
                base_version,
                (&field, &incoming, &server_value),
                clock,
                Some("edited_after_assignment"),
            )?);
        }
        return Ok(EditOutcome {
            version: current.version,
            conflicts,
        });
    }
    if !may_edit {
        return Err(AppError::new(
            ErrorCode::Forbidden,
            "only the reporter (before assignment) or a supervisor (while open) may edit an issue",
        )
        .zh("只有上报人（交办前）或督查办（办结前）可以修改问题内容"));
    }
    if base_version < 1 || base_version > current.version {
        return Err(AppError::invalid_field(
            "base_version",
            "not a version of this issue",
            "不是该问题的版本号",
        ));
    }
    validate(conn, fields)?;
    let merge = merge_fields(
        &fields.to_map(),
        &current_fields(&current),
        &changed_since(conn, id, base_version)?,
    );
    let mut conflicts = Vec::new();
    for (field, incoming, server) in &merge.conflicts {
        conflicts.push(record_conflict(
            conn,
            caller,
            origin,
            &current,
            base_version,
            (field, incoming, server),
            clock,
            None,
        )?);
    }
    if merge.apply.is_empty() {
        return Ok(EditOutcome {
            version: current.version,
            conflicts,
        });
    }
    let apply = IssueFields::from_map(&merge.apply).map_err(AppError::internal)?;
    let version = write_edit(
        conn,
        caller,
        &current,
        &apply,
        json!({ "changed": merge.apply, "base_version": base_version, "conflicts": conflicts }),
        clock,
    )?;
    Ok(EditOutcome { version, conflicts })
}

/// Keeps a phone's value of one field that could not be applied as a `field` conflict for a
/// supervisor (`take_incoming` applies it later). `reason` says why when it is not a concurrent
/// edit of the same field.
#[allow(clippy::too_many_arguments)]
fn record_conflict(
    conn: &mut DbConnection,
    caller: &Caller,
    origin: &Origin<'_>,
    current: &IssueRow,
    base_version: i32,
    (field, incoming, server): (&String, &Value, &Value),
    clock: Clock,
    reason: Option<&str>,
) -> Result<ConflictId, AppError> {
    let conflict = ConflictId::generate();
    let mut incoming = json!({ "value": incoming, "base_version": base_version });
    if let Some(reason) = reason {
        incoming["reason"] = json!(reason);
    }
    sync::insert_conflict(
        conn,
        &ConflictRow {
            id: conflict.clone(),
            issue_id: current.id.clone(),
            place_path: current.place_path.clone(),
            mutation_id: origin.mutation_id.to_owned(),
            device_id: origin.device_id.clone(),
            user_id: caller.user_id.clone(),
            kind: "field".into(),
            field: Some(field.clone()),
            incoming: incoming.to_string(),
            current_value: json!({ "value": server, "version": current.version }).to_string(),
            created_at: clock.now,
            resolved_at: None,
            resolved_by: None,
            resolution: None,
            resolution_comment: None,
        },
    )?;
    Ok(conflict)
}

/// Writes field changes with their `update` history event; returns the new version. The event
/// holds `changed` (each field's new value) and `previous` (its value before), so the history
/// shows every edit in full whoever made it and however it arrived.
pub fn write_edit(
    conn: &mut DbConnection,
    caller: &Caller,
    current: &IssueRow,
    apply: &IssueFields,
    mut data: Value,
    clock: Clock,
) -> Result<i32, AppError> {
    let before = current_fields(current);
    let previous: serde_json::Map<String, Value> = apply
        .to_map()
        .keys()
        .map(|field| {
            let old = before.get(field).cloned().unwrap_or(Value::Null);
            (field.clone(), old)
        })
        .collect();
    if let Some(object) = data.as_object_mut() {
        object.insert("previous".to_owned(), Value::Object(previous));
    }
    let mut next = current.clone();
    set(&mut next, apply);
    next.version = current.version + 1;
    next.updated_at = clock.now.into();
    if !issues::update_if_version(conn, &next, current)? {
        return Err(AppError::new(
            ErrorCode::ConcurrentUpdate,
            "the issue changed at the same moment; retry",
        ));
    }
    let role = roles_for(caller, current)
        .first()
        .map_or("reporter", |r| r.as_str())
        .to_owned();
    issues::insert_event(
        conn,
        &IssueEventRow {
            data: data.to_string(),
            ..IssueEventRow::new(
                &current.id,
                next.version,
                "update",
                Some(current.state.as_str()),
                &current.state,
                Some(&caller.user_id),
                &role,
                clock.now,
            )
        },
    )?;
    Ok(next.version)
}
