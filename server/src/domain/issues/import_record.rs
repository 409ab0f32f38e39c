//! The record of list imports: listing them, and undoing one while none of its issues has moved
//! (each is still at the version the import left it). The ledger and its history are kept for the
//! record (nothing is deleted): undo rejects (不予受理) every issue the import created, with the
//! reason "import undone", and releases their row keys; the record stays, marked undone, and the
//! same file may then be imported again.

use super::import_plan::may_manage;
use super::{Clock, transitions};
use crate::db::imports::{self, ImportRow};
use crate::db::{DbConnection, issues, users, write_transaction};
use crate::domain::access::Caller;
use crate::domain::evidence::EvidencePolicy;
use crate::error::{AppError, ErrorCode};
use chrono::{DateTime, Utc};
use closeout_sync_protocol::lifecycle::TransitionRequest;
use closeout_sync_protocol::{ActionKind, Role};
use serde::Serialize;

/// Imports listed at most.
pub const LIST_LIMIT: i64 = 500;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ImportSummary {
    pub id: String,
    /// The list's name (the first half of each row's stable key).
    pub list: String,
    pub file_name: String,
    pub file_sha256: String,
    pub imported_by: String,
    pub imported_by_name: String,
    pub imported_at: DateTime<Utc>,
    /// Data rows in the file.
    pub rows: i32,
    pub created: i32,
    pub updated: i32,
    pub skipped: i32,
    pub undone_at: Option<DateTime<Utc>>,
    pub undone_by: Option<String>,
}

pub(super) fn summary(conn: &mut DbConnection, r: ImportRow) -> Result<ImportSummary, AppError> {
    let name = users::find(conn, &r.imported_by)?
        .map(|u| u.display_name)
        .unwrap_or_default();
    Ok(ImportSummary {
        id: r.id,
        list: r.list_key,
        file_name: r.file_name,
        file_sha256: r.file_sha256,
        imported_by: r.imported_by.to_string(),
        imported_by_name: name,
        imported_at: r.imported_at.and_utc(),
        rows: r.row_count,
        created: r.created,
        updated: r.updated,
        skipped: r.skipped,
        undone_at: r.undone_at.map(|t| t.and_utc()),
        undone_by: r.undone_by.map(|u| u.to_string()),
    })
}

/// Imports within the caller's supervisor or admin subtrees, newest first.
pub fn list(conn: &mut DbConnection, caller: &Caller) -> Result<Vec<ImportSummary>, AppError> {
    let mut subtrees = caller.subtrees_with(Role::Supervisor);
    subtrees.extend(caller.subtrees_with(Role::Admin));
    if subtrees.is_empty() {
        return Err(forbidden());
    }
    imports::list_within(conn, &subtrees, LIST_LIMIT)?
        .into_iter()
        .filter(|r| may_manage(caller, &r.place_path))
        .map(|r| summary(conn, r))
        .collect()
}

fn forbidden() -> AppError {
    AppError::new(
        ErrorCode::Forbidden,
        "imports are for supervisors and administrators",
    )
    .zh("只有督查办或管理员可以管理导入")
}

/// Undoes import `id`: rejects every issue it created, all or nothing (needs the supervisor
/// role, as rejecting does). Refused (`import_not_undoable`) once any of them has moved on, when
/// the import changed issues an earlier import made, or when it was undone already.
pub fn undo(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &str,
    clock: Clock,
) -> Result<ImportSummary, AppError> {
    if caller.subtrees_with(Role::Supervisor).is_empty()
        && caller.subtrees_with(Role::Admin).is_empty()
    {
        return Err(forbidden());
    }
    write_transaction(conn, |conn| {
        let record = imports::find(conn, id)?
            .filter(|r| may_manage(caller, &r.place_path))
            .ok_or_else(|| AppError::not_found("import"))?;
        if record.undone_at.is_some() {
            return Err(not_undoable(
                "it was undone already".into(),
                "该批导入已撤销".into(),
            ));
        }
        if imports::updated_others(conn, id)? {
            return Err(not_undoable(
                "it corrected issues an earlier import made".into(),
                "该批导入更正了此前导入的问题".into(),
            ));
        }
        let keys = imports::keys_created_by(conn, id)?;
        let ids: Vec<_> = keys.iter().map(|k| k.issue_id.clone()).collect();
        let rows = issues::find_many(conn, &ids)?;
        let mut moved: Vec<String> = keys
            .iter()
            .filter(|k| {
                rows.iter()
                    .find(|r| r.id == k.issue_id)
                    .is_none_or(|r| r.version != k.issue_version)
            })
            .filter_map(|k| rows.iter().find(|r| r.id == k.issue_id))
            .map(|r| r.ledger_no.clone())
            .collect();
        moved.sort();
        if !moved.is_empty() {
            let shown = moved
                .iter()
                .take(20)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            return Err(not_undoable(
                format!("{} of its issues have moved on: {shown}", moved.len()),
                format!("其中 {} 条问题已有后续办理：{shown}", moved.len()),
            )
            .with_extra(serde_json::json!({ "moved": moved })));
        }
        let reason = format!(
            "撤销导入：{}（批次 {}） / import undone",
            record.file_name, record.id
        );
        for issue in &ids {
            let request = TransitionRequest {
                reason: Some(reason.clone()),
                ..TransitionRequest::new(ActionKind::Reject)
            };
            transitions::apply_within(
                conn,
                caller,
                issue,
                &request,
                clock,
                EvidencePolicy::default(),
            )?;
        }
        imports::release_keys(conn, id)?;
        imports::mark_undone(conn, id, &caller.user_id, clock.now)?;
        let record = imports::find(conn, id)?.ok_or_else(|| AppError::not_found("import"))?;
        summary(conn, record)
    })
}

fn not_undoable(detail: String, zh: String) -> AppError {
    AppError::new(
        ErrorCode::ImportNotUndoable,
        format!("the import cannot be undone: {detail}"),
    )
    .zh(format!("不能撤销该批导入：{zh}"))
}
