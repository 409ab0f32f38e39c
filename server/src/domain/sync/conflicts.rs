//! Conflicts kept from sync, for supervisors: listed until resolved; resolving is itself a step of
//! the issue's history (with the phone's photos, so they stay on the record).

use crate::db::inspections::InspectionConflictRow;
use crate::db::models::{ConflictRow, IssueEventRow};
use crate::db::{DbConnection, issues, sync, write_transaction};
use crate::domain::access::{self, Caller};
use crate::domain::inspections::conflicts as inspection_conflicts;
use crate::domain::issues::edit::write_edit;
use crate::domain::issues::{Clock, roles_for};
use crate::error::{AppError, ErrorCode};
use crate::ids::{ConflictId, DeviceId, InspectionConflictId, InspectionId, IssueId, UserId};
use closeout_sync_protocol::Role;
use closeout_sync_protocol::sync::IssueFields;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Conflict {
    pub id: ConflictId,
    /// The issue it is about (null for an inspection's conflict).
    pub issue_id: Option<IssueId>,
    /// The inspection it is about (absent for an issue's conflict).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inspection_id: Option<InspectionId>,
    /// `field`: the same field edited on the server and on a phone; `transition`: an action the
    /// issue had moved past by the time it arrived; `inspection_item` / `inspection_header`: an
    /// inspection's item (or header field) recorded differently on two phones from the same base.
    pub kind: String,
    pub field: Option<String>,
    /// What the phone sent (for transitions: the whole request, photos included).
    #[schema(value_type = Object)]
    pub incoming: Value,
    /// What the server had, which stood.
    #[schema(value_type = Object)]
    pub current: Value,
    pub mutation_id: Option<String>,
    pub device_id: Option<DeviceId>,
    pub user_id: UserId,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub resolved_at: Option<chrono::DateTime<chrono::Utc>>,
    pub resolved_by: Option<UserId>,
    pub resolution: Option<String>,
    pub resolution_comment: Option<String>,
}

fn view(row: ConflictRow) -> Result<Conflict, AppError> {
    Ok(Conflict {
        incoming: serde_json::from_str(&row.incoming).map_err(AppError::internal)?,
        current: serde_json::from_str(&row.current_value).map_err(AppError::internal)?,
        id: row.id,
        issue_id: Some(row.issue_id),
        inspection_id: None,
        kind: row.kind,
        field: row.field,
        mutation_id: Some(row.mutation_id),
        device_id: Some(row.device_id),
        user_id: row.user_id,
        created_at: row.created_at.and_utc(),
        resolved_at: row.resolved_at.map(|t| t.and_utc()),
        resolved_by: row.resolved_by,
        resolution: row.resolution,
        resolution_comment: row.resolution_comment,
    })
}

/// Conflicts on issues and inspections in the caller's supervised places (unresolved only unless
/// `all`), oldest first then by id, after the conflict `after` (the last of the previous page:
/// every conflict once, however many share a time).
pub fn list(
    conn: &mut DbConnection,
    caller: &Caller,
    all: bool,
    after: Option<&ConflictId>,
    limit: i64,
) -> Result<Vec<Conflict>, AppError> {
    let subtrees = access::require_any(caller, Role::Supervisor)?;
    let position = match after {
        Some(id) => Some(position_of(conn, &subtrees, id)?),
        None => None,
    };
    let inspection_id = match &position {
        Some((_, id)) => Some(as_inspection_conflict(id)?),
        None => None,
    };
    let mut list = sync::list_conflicts(
        conn,
        &subtrees,
        !all,
        position.as_ref().map(|(at, id)| (*at, id)),
        limit,
    )?
    .into_iter()
    .map(view)
    .collect::<Result<Vec<_>, _>>()?;
    let after_inspection = position
        .as_ref()
        .zip(inspection_id.as_ref())
        .map(|((at, _), id)| (*at, id));
    for row in inspection_conflicts::list(conn, &subtrees, all, after_inspection, limit)? {
        list.push(from_inspection(row)?);
    }
    list.sort_by(|a, b| {
        a.created_at
            .cmp(&b.created_at)
            .then_with(|| a.id.as_str().cmp(b.id.as_str()))
    });
    list.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(list)
}

/// How many conflicts on issues and inspections in the caller's supervised places are open (the
/// length of the unresolved list, counted).
pub fn count_open(conn: &mut DbConnection, caller: &Caller) -> Result<i64, AppError> {
    let subtrees = access::require_any(caller, Role::Supervisor)?;
    Ok(sync::count_open_conflicts(conn, &subtrees)?
        + crate::db::inspections::count_open_conflicts(conn, &subtrees)?)
}

/// The latest settled conflicts on issues and inspections in the caller's supervised places,
/// latest settlement first (at most `limit`).
pub fn recently_resolved(
    conn: &mut DbConnection,
    caller: &Caller,
    limit: i64,
) -> Result<Vec<Conflict>, AppError> {
    let subtrees = access::require_any(caller, Role::Supervisor)?;
    let mut list = sync::recently_resolved_conflicts(conn, &subtrees, limit)?
        .into_iter()
        .map(view)
        .collect::<Result<Vec<_>, _>>()?;
    for row in crate::db::inspections::recently_resolved_conflicts(conn, &subtrees, limit)? {
        list.push(from_inspection(row)?);
    }
    list.sort_by(|a, b| {
        b.resolved_at
            .cmp(&a.resolved_at)
            .then_with(|| a.id.as_str().cmp(b.id.as_str()))
    });
    list.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(list)
}

/// The same id as an inspection conflict's (the two tables share one id space).
fn as_inspection_conflict(id: &ConflictId) -> Result<InspectionConflictId, AppError> {
    Ok(InspectionConflictId::from(
        uuid::Uuid::parse_str(id.as_str()).map_err(AppError::internal)?,
    ))
}

/// Where conflict `id` stands in the list: its time and id. 400 unless it is a conflict of the
/// caller's places.
fn position_of(
    conn: &mut DbConnection,
    subtrees: &[String],
    id: &ConflictId,
) -> Result<(chrono::NaiveDateTime, ConflictId), AppError> {
    let inside = |path: &str| subtrees.iter().any(|s| path.starts_with(s.as_str()));
    let found = match sync::find_conflict(conn, id)? {
        Some(row) => inside(&row.place_path).then_some(row.created_at),
        None => inspection_conflicts::find(conn, &as_inspection_conflict(id)?)?
            .filter(|row| inside(&row.place_path))
            .map(|row| row.created_at),
    };
    found.map(|at| (at, id.clone())).ok_or_else(|| {
        AppError::new(
            ErrorCode::InvalidQuery,
            "after: not a conflict of this list (give the id of the last conflict of the previous page)",
        )
        .zh("after 参数须为上一页最后一条冲突的 ID")
    })
}

/// An inspection's conflict in the ledger's conflict list.
fn from_inspection(row: InspectionConflictRow) -> Result<Conflict, AppError> {
    Ok(Conflict {
        id: ConflictId::from(uuid::Uuid::parse_str(row.id.as_str()).map_err(AppError::internal)?),
        issue_id: None,
        inspection_id: Some(row.inspection_id),
        kind: format!("inspection_{}", row.kind),
        field: Some(row.field),
        incoming: serde_json::from_str(&row.incoming).map_err(AppError::internal)?,
        current: serde_json::from_str(&row.current_value).map_err(AppError::internal)?,
        mutation_id: row.mutation_id,
        device_id: row.device_id,
        user_id: row.user_id,
        created_at: row.created_at.and_utc(),
        resolved_at: row.resolved_at.map(|t| t.and_utc()),
        resolved_by: row.resolved_by,
        resolution: row.resolution,
        resolution_comment: row.resolution_comment,
    })
}

/// How a supervisor settles a conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// The server's value (or state) stands; the phone's is kept in the record.
    KeepServer,
    /// Field conflicts only: the phone's value replaces the server's.
    TakeIncoming,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    pub resolution: Resolution,
    pub comment: Option<String>,
}

pub fn resolve(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &ConflictId,
    req: ResolveRequest,
    clock: Clock,
) -> Result<Conflict, AppError> {
    let inspection_conflict =
        InspectionConflictId::from(uuid::Uuid::parse_str(id.as_str()).map_err(AppError::internal)?);
    if inspection_conflicts::exists(conn, &inspection_conflict)? {
        inspection_conflicts::resolve(
            conn,
            caller,
            &inspection_conflict,
            req.resolution,
            req.comment.as_deref(),
            clock,
        )?;
        let row = crate::db::inspections::find_conflict(conn, &inspection_conflict)?
            .ok_or_else(|| AppError::not_found("conflict"))?;
        return from_inspection(row);
    }
    write_transaction(conn, |conn| {
        let conflict =
            sync::find_conflict(conn, id)?.ok_or_else(|| AppError::not_found("conflict"))?;
        let issue = issues::find(conn, &conflict.issue_id)?
            .ok_or_else(|| AppError::not_found("conflict"))?;
        if !roles_for(caller, &issue).contains(&Role::Supervisor) {
            access::require_visible(
                caller,
                access::Place {
                    path: &issue.place_path,
                },
                "conflict",
            )?;
            return Err(AppError::new(
                ErrorCode::Forbidden,
                "resolving a conflict needs the supervisor role for the issue",
            )
            .zh("处理冲突需要该问题所在区域的督查办角色"));
        }
        let incoming: Value =
            serde_json::from_str(&conflict.incoming).map_err(AppError::internal)?;
        let mut current = issue.clone();
        if req.resolution == Resolution::TakeIncoming {
            let Some(field) = conflict.field.as_ref().filter(|_| conflict.kind == "field") else {
                return Err(AppError::invalid_field(
                    "resolution",
                    "take_incoming applies to field conflicts; act on the issue instead",
                    "仅字段冲突可采用手机端的值；其他情况请直接处理问题",
                ));
            };
            let fields = IssueFields::from_map(&BTreeMap::from([(
                field.clone(),
                incoming["value"].clone(),
            )]))
            .map_err(AppError::internal)?;
            let data = json!({ "changed": { field.as_str(): incoming["value"] }, "resolved_conflict": conflict.id });
            write_edit(conn, caller, &current, &fields, data, clock)?;
            current = issues::find(conn, &conflict.issue_id)?
                .ok_or_else(|| AppError::not_found("issue"))?;
        }
        if !sync::resolve_conflict(
            conn,
            id,
            &caller.user_id,
            clock.now,
            resolution_name(req.resolution),
            req.comment.as_deref(),
        )? {
            return Err(
                AppError::new(ErrorCode::Conflict, "this conflict was already resolved")
                    .zh("该冲突已处理"),
            );
        }
        // The resolution joins the history, with the phone's photos.
        let photos = incoming["request"]["photos"].clone();
        let mut next = current.clone();
        next.version = current.version + 1;
        next.updated_at = clock.now.into();
        if !issues::update_if_version(conn, &next, &current)? {
            return Err(AppError::new(
                ErrorCode::ConcurrentUpdate,
                "the issue changed at the same moment; retry",
            ));
        }
        issues::insert_event(
            conn,
            &IssueEventRow {
                comment: req.comment.clone(),
                photos: if photos.is_array() { photos.to_string() } else { "[]".into() },
                data: json!({ "conflict_id": conflict.id, "kind": conflict.kind, "field": conflict.field,
                              "resolution": resolution_name(req.resolution), "incoming": incoming,
                              "from_user": conflict.user_id })
                .to_string(),
                ..IssueEventRow::new(&current.id, next.version, "resolve_conflict", Some(current.state.as_str()), &current.state, Some(&caller.user_id), Role::Supervisor.as_str(), clock.now)
            },
        )?;
        view(sync::find_conflict(conn, id)?.ok_or_else(|| AppError::not_found("conflict"))?)
    })
}

fn resolution_name(r: Resolution) -> &'static str {
    match r {
        Resolution::KeepServer => "keep_server",
        Resolution::TakeIncoming => "take_incoming",
    }
}
