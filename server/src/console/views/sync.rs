//! 冲突与积压: the sync conflicts a supervisor settles (`conflicts::resolve`, as
//! `POST /api/v1/sync/conflicts/{id}/resolve`) and the devices whose mutations wait behind a
//! missing one (`push::release_backlog`, as `POST /api/v1/devices/{id}/release-backlog`). The
//! lists come from the same domain functions as the API, with the same scoping.

use crate::api::state::AppState;
use crate::console::errors::ConsoleError;
use crate::console::page::{Head, Nav, html, see_other};
use crate::console::session::ConsoleUser;
use crate::db::DbConnection;
use crate::domain::access::Caller;
use crate::domain::reports::names::Names;
use crate::domain::sync::conflicts::{self, Conflict, Resolution, ResolveRequest};
use crate::domain::sync::{devices, push};
use crate::error::AppError;
use crate::ids::{ConflictId, DeviceId};
use actix_web::{HttpResponse, web};
use askama::Template;
use closeout_sync_protocol::Role;
use serde::Deserialize;

/// Most conflicts and devices shown (the API's own caps).
const SHOWN: i64 = 1_000;

pub struct ConflictRow {
    pub id: String,
    pub what: &'static str,
    /// `/console/issues/{id}` or `/console/inspections/{id}`.
    pub href: String,
    pub field: String,
    pub incoming: String,
    pub current: String,
    pub who: String,
    pub at: String,
    /// Whether the phone's value may replace the server's (field conflicts of an issue or an
    /// inspection).
    pub takes_incoming: bool,
}

/// A conflict already settled: what was decided, by whom, when.
pub struct ResolvedRow {
    pub conflict: ConflictRow,
    pub outcome: &'static str,
    pub by: String,
    pub at: String,
    pub comment: String,
}

/// Most settled conflicts shown, newest first.
const RESOLVED_SHOWN: i64 = 100;

pub struct DeviceRow {
    pub id: String,
    pub owner: String,
    pub device_key: String,
    pub acknowledged: i64,
    pub held: String,
    pub last_seen: String,
}

#[derive(Template)]
#[template(path = "sync.html")]
struct SyncPage {
    head: Head,
    nav: Nav,
    /// None: the caller supervises no place (conflicts are a supervisor's).
    conflicts: Option<Vec<ConflictRow>>,
    /// The latest settled conflicts (empty for a caller who supervises no place).
    resolved: Vec<ResolvedRow>,
    devices: Vec<DeviceRow>,
}

fn local_minute(clock: crate::domain::issues::Clock, t: chrono::DateTime<chrono::Utc>) -> String {
    clock
        .zone
        .local(t.naive_utc())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// A JSON value as one short line of text (the template escapes it).
fn short(v: &serde_json::Value) -> String {
    let text = match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Object(m) if m.contains_key("value") => match &m["value"] {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        },
        other => other.to_string(),
    };
    if text.chars().count() > 160 {
        format!("{}…", text.chars().take(160).collect::<String>())
    } else {
        text
    }
}

fn what(c: &Conflict) -> &'static str {
    match c.kind.as_str() {
        "field" => "字段冲突",
        "transition" => "操作已过时",
        "inspection_item" => "督查项冲突",
        "inspection_header" => "督查信息冲突",
        _ => "冲突",
    }
}

fn conflict_row(
    conn: &mut DbConnection,
    names: &mut Names,
    c: Conflict,
    zone: crate::domain::issues::Clock,
) -> Result<ConflictRow, AppError> {
    let href = match (&c.issue_id, &c.inspection_id) {
        (Some(issue), _) => format!("/console/issues/{issue}"),
        (None, Some(inspection)) => format!("/console/inspections/{inspection}"),
        (None, None) => "/console/sync".to_owned(),
    };
    Ok(ConflictRow {
        id: c.id.to_string(),
        what: what(&c),
        href,
        field: c.field.clone().unwrap_or_default(),
        incoming: short(&c.incoming),
        current: short(&c.current),
        who: names.person(conn, &c.user_id)?,
        at: local_minute(zone, c.created_at),
        takes_incoming: c.kind == "field" || c.kind.starts_with("inspection_"),
    })
}

type Gathered = (Option<Vec<ConflictRow>>, Vec<ResolvedRow>, Vec<DeviceRow>);

/// The settled conflicts among the caller's, newest first.
fn settled(
    conn: &mut DbConnection,
    names: &mut Names,
    caller: &Caller,
    clock: crate::domain::issues::Clock,
) -> Result<Vec<ResolvedRow>, AppError> {
    let done = conflicts::recently_resolved(conn, caller, RESOLVED_SHOWN)?;
    let mut rows = Vec::with_capacity(done.len());
    for c in done {
        let outcome = match c.resolution.as_deref() {
            Some("take_incoming") => "采用手机端的值",
            Some("keep_server") => "保留服务器的值",
            _ => "已处理",
        };
        let by = match &c.resolved_by {
            Some(id) => names.person(conn, id)?,
            None => String::new(),
        };
        let at = c
            .resolved_at
            .map_or_else(String::new, |t| local_minute(clock, t));
        let comment = c.resolution_comment.clone().unwrap_or_default();
        rows.push(ResolvedRow {
            conflict: conflict_row(conn, names, c, clock)?,
            outcome,
            by,
            at,
            comment,
        });
    }
    Ok(rows)
}

fn gather(
    conn: &mut DbConnection,
    caller: &Caller,
    clock: crate::domain::issues::Clock,
) -> Result<Gathered, AppError> {
    let mut names = Names::new(conn)?;
    let (conflicts, resolved) = if caller.subtrees_with(Role::Supervisor).is_empty() {
        (None, Vec::new())
    } else {
        let mut rows = Vec::new();
        for c in conflicts::list(conn, caller, false, None, SHOWN)? {
            rows.push(conflict_row(conn, &mut names, c, clock)?);
        }
        (Some(rows), settled(conn, &mut names, caller, clock)?)
    };
    let mut rows = Vec::new();
    for d in devices::backlogged(conn, caller, SHOWN)? {
        rows.push(DeviceRow {
            id: d.id.to_string(),
            owner: names.person(conn, &d.user_id)?,
            device_key: d.device_key,
            acknowledged: d.acknowledged_seq,
            held: d
                .held
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join("、"),
            last_seen: d
                .last_seen_at
                .map_or_else(String::new, |t| local_minute(clock, t)),
        });
    }
    Ok((conflicts, resolved, rows))
}

/// `GET /console/sync`.
pub async fn page(
    state: web::Data<AppState>,
    user: ConsoleUser,
) -> Result<HttpResponse, ConsoleError> {
    let clock = state.clock();
    let caller = user.caller().clone();
    let (conflicts, resolved, devices) = state
        .db
        .run(move |conn| gather(conn, &caller, clock))
        .await?;
    html(&SyncPage {
        head: Head::new(),
        nav: Nav::of(&user, "sync"),
        conflicts,
        resolved,
        devices,
    })
}

#[derive(Debug, Deserialize)]
pub struct ResolveForm {
    csrf: Option<String>,
    resolution: String,
    comment: Option<String>,
}

fn parse_uuid(s: &str, what: &'static str) -> Result<uuid::Uuid, AppError> {
    uuid::Uuid::parse_str(s).map_err(|_| AppError::not_found(what))
}

/// `POST /console/sync/conflicts/{id}/resolve`: `resolution` is `keep_server` or `take_incoming`.
pub async fn resolve(
    state: web::Data<AppState>,
    user: ConsoleUser,
    id: web::Path<String>,
    form: web::Form<ResolveForm>,
) -> Result<HttpResponse, ConsoleError> {
    let form = form.into_inner();
    user.check_csrf(form.csrf.as_deref())?;
    let id = ConflictId::from(parse_uuid(&id, "conflict")?);
    let resolution = match form.resolution.as_str() {
        "keep_server" => Resolution::KeepServer,
        "take_incoming" => Resolution::TakeIncoming,
        _ => {
            return Err(AppError::invalid_field(
                "resolution",
                "must be keep_server or take_incoming",
                "处理方式须为“保留服务器的值”或“采用手机端的值”",
            )
            .into());
        }
    };
    let request = ResolveRequest {
        resolution,
        comment: form.comment.filter(|c| !c.trim().is_empty()),
    };
    let clock = state.clock();
    let caller = user.caller().clone();
    state
        .db
        .run(move |conn| conflicts::resolve(conn, &caller, &id, request, clock))
        .await?;
    Ok(see_other("/console/sync"))
}

#[derive(Debug, Deserialize)]
pub struct ReleaseForm {
    csrf: Option<String>,
}

/// `POST /console/sync/devices/{id}/release`: skip the missing numbers, apply what was held.
pub async fn release(
    state: web::Data<AppState>,
    user: ConsoleUser,
    id: web::Path<String>,
    form: web::Form<ReleaseForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_csrf(form.csrf.as_deref())?;
    let id = DeviceId::from(parse_uuid(&id, "device")?);
    let clock = state.clock();
    let evidence = state.evidence();
    let limits = state.settings.sync;
    let caller = user.caller().clone();
    state
        .db
        .run(move |conn| push::release_backlog(conn, &caller, &id, clock, evidence, limits))
        .await?;
    Ok(see_other("/console/sync"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_value_is_shown_as_its_text() {
        assert_eq!(short(&serde_json::json!({"value": "新标题"})), "新标题");
        assert_eq!(short(&serde_json::json!(3)), "3");
        assert_eq!(
            short(&serde_json::json!("x".repeat(200))).chars().count(),
            161
        );
    }
}
