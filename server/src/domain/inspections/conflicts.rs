//! Conflicts between phones on an inspection, for supervisors of its place: listed with the
//! ledger's sync conflicts (`GET /api/v1/sync/conflicts`) and resolved the same way. Taking the
//! phone's result writes it as a new revision (and raises its issue if it now fails on a finished
//! inspection); keeping the server's leaves it. Either way the phone's answer stays on record.

use super::record::{FINISHED, stored_results};
use super::templates::content_of;
use super::{failures, view};
use crate::db::inspections::{self as db, InspectionConflictRow, ResultRow};
use crate::db::{DbConnection, write_transaction};
use crate::domain::access::{self, Caller, Place};
use crate::domain::issues::Clock;
use crate::domain::sync::conflicts::Resolution;
use crate::error::{AppError, ErrorCode};
use crate::ids::InspectionConflictId;
use closeout_sync_protocol::Role;
use closeout_sync_protocol::inspection::{ItemResult, evaluate, total};
use std::collections::BTreeMap;

/// Conflicts on inspections in the subtrees (unresolved only unless `all`).
pub fn list(
    conn: &mut DbConnection,
    subtrees: &[String],
    all: bool,
    after: Option<(chrono::NaiveDateTime, &InspectionConflictId)>,
    limit: i64,
) -> Result<Vec<InspectionConflictRow>, AppError> {
    Ok(db::list_conflicts(conn, subtrees, !all, after, limit)?)
}

/// An inspection conflict by id.
pub fn find(
    conn: &mut DbConnection,
    id: &InspectionConflictId,
) -> Result<Option<InspectionConflictRow>, AppError> {
    Ok(db::find_conflict(conn, id)?)
}

/// Whether `id` names an inspection conflict (else it is the ledger's).
pub fn exists(conn: &mut DbConnection, id: &InspectionConflictId) -> Result<bool, AppError> {
    Ok(db::find_conflict(conn, id)?.is_some())
}

pub fn resolve(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &InspectionConflictId,
    resolution: Resolution,
    comment: Option<&str>,
    clock: Clock,
) -> Result<view::InspectionConflict, AppError> {
    write_transaction(conn, |conn| {
        let c = db::find_conflict(conn, id)?.ok_or_else(|| AppError::not_found("conflict"))?;
        let at = Place {
            path: &c.place_path,
        };
        if !caller.has_role_at(Role::Supervisor, at) {
            access::require_visible(caller, at, "conflict")?;
            return Err(AppError::new(
                ErrorCode::Forbidden,
                "resolving a conflict needs the supervisor role for the inspection's place",
            )
            .zh("处理冲突需要该督查所在区域的督查办角色"));
        }
        if !db::resolve_conflict(
            conn,
            id,
            &caller.user_id,
            clock.now,
            match resolution {
                Resolution::KeepServer => "keep_server",
                Resolution::TakeIncoming => "take_incoming",
            },
            comment,
        )? {
            return Err(
                AppError::new(ErrorCode::Conflict, "this conflict was already resolved")
                    .zh("该冲突已处理"),
            );
        }
        if resolution == Resolution::TakeIncoming {
            take_incoming(conn, caller, &c, clock)?;
        }
        view::conflict(db::find_conflict(conn, id)?.ok_or_else(|| AppError::not_found("conflict"))?)
    })
}

fn take_incoming(
    conn: &mut DbConnection,
    caller: &Caller,
    c: &InspectionConflictRow,
    clock: Clock,
) -> Result<(), AppError> {
    if c.kind != "item" {
        return Err(AppError::invalid_field(
            "resolution",
            "take_incoming applies to item conflicts; edit the inspection's header instead",
            "仅检查项冲突可采用手机端的结果",
        ));
    }
    db::lock(conn, &c.inspection_id)?;
    let mut row =
        db::find(conn, &c.inspection_id)?.ok_or_else(|| AppError::not_found("inspection"))?;
    let (_, template) = content_of(conn, &row.template_id, row.template_version)?;
    let incoming: serde_json::Value =
        serde_json::from_str(&c.incoming).map_err(AppError::internal)?;
    let result: ItemResult =
        serde_json::from_value(incoming["result"].clone()).map_err(AppError::internal)?;
    let item = template
        .items
        .iter()
        .find(|i| i.key == c.field)
        .ok_or_else(|| AppError::not_found("item"))?;
    let mut stored = stored_results(&db::results_of(conn, &row.id)?)?;
    let rev = stored.get(&c.field).map_or(1, |s| s.rev + 1);
    let e = evaluate(item, &result);
    db::save_result(
        conn,
        &ResultRow {
            inspection_id: row.id.clone(),
            item_key: c.field.clone(),
            rev,
            result: serde_json::to_string(&result).map_err(AppError::internal)?,
            score: e.score,
            max_score: e.max,
            failed: e.failed,
            recorded_by: c.user_id.clone(),
            device_time: None,
            recorded_at: clock.now,
        },
    )?;
    stored.insert(
        c.field.clone(),
        closeout_sync_protocol::inspection::StoredResult { rev, result },
    );
    let results: BTreeMap<String, ItemResult> =
        stored.into_iter().map(|(k, s)| (k, s.result)).collect();
    let t = total(&template, &results);
    let previous = row.version;
    (row.score, row.max_score) = (t.score, t.max_score);
    row.version += 1;
    row.updated_at = clock.now;
    if !db::update_if_version(conn, &row, previous)? {
        return Err(AppError::new(
            ErrorCode::ConcurrentUpdate,
            "the inspection changed at the same moment; retry",
        ));
    }
    if row.state == FINISHED {
        failures::raise(conn, caller, &row, &template, &results, clock)?;
    }
    Ok(())
}
