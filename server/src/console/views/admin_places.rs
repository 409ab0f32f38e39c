//! 区划 (admin): the places an admin manages (`places::list` after the domain's admin check,
//! `access::require_any`), created, renamed, retired, moved and merged by the functions behind
//! `POST /api/v1/org-units`, `/org-units/{id}/rename`, `/retire`, `/move` and `/merge`, with
//! their rules (an admin of the parent; of both places above for a move or merge).

use crate::api::state::AppState;
use crate::console::errors::ConsoleError;
use crate::console::page::{Head, Nav, html, see_other};
use crate::console::session::ConsoleUser;
use crate::domain::place_changes::{self, Rename, Retire};
use crate::domain::place_moves::{self, MergePlace, MovePlace};
use crate::domain::places::{NewOrgUnit, OrgLevel};
use crate::domain::{access, places};
use crate::error::AppError;
use crate::ids::OrgUnitId;
use actix_web::{HttpResponse, web};
use askama::Template;
use closeout_sync_protocol::Role;
use serde::Deserialize;

pub struct PlaceRow {
    pub id: String,
    pub code: String,
    pub name: String,
    pub level: &'static str,
    /// Indentation by depth below the admin's top place, in em.
    pub indent: i32,
}

#[derive(Template)]
#[template(path = "admin_places.html")]
struct PlacesPage {
    head: Head,
    nav: Nav,
    places: Vec<PlaceRow>,
    /// (wire name, 中文) of each level a new place may have.
    levels: &'static [(&'static str, &'static str)],
    notice: Option<String>,
}

const LEVELS: &[(&str, &str)] = &[
    ("township", "乡镇/街道"),
    ("village", "村/社区"),
    ("grid", "网格"),
    ("building", "楼栋"),
    ("department", "部门（责任单位）"),
    ("county", "县/区"),
    ("city", "市"),
    ("province", "省"),
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    done: Option<String>,
}

/// `GET /console/admin/places`: admins only (403 otherwise, as the API's admin routes).
pub async fn page(
    state: web::Data<AppState>,
    user: ConsoleUser,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let caller = user.caller().clone();
    let list = state
        .db
        .run(move |conn| {
            access::require_any(&caller, Role::Admin)?;
            places::list(conn, &caller, None, None, 5_000)
        })
        .await?;
    let top = list.iter().map(|p| p.depth).min().unwrap_or(0);
    let notice = match q.done.as_deref() {
        Some("renamed") => Some("区划已更名。".to_owned()),
        Some("retired") => Some("区划已撤销：该区划及其下级不再接收新问题。".to_owned()),
        Some("created") => Some("区划已新增。".to_owned()),
        Some("moved") => {
            Some("区划已调整：其问题、统计和权限随之归入新的上级，相关手机将重新同步。".to_owned())
        }
        Some("merged") => Some("区划已撤并：其问题、检查、角色和下级已并入保留的区划。".to_owned()),
        _ => None,
    };
    html(&PlacesPage {
        head: Head::new(),
        nav: Nav::of(&user, "admin"),
        places: list
            .into_iter()
            .map(|p| PlaceRow {
                id: p.id.to_string(),
                code: p.code.unwrap_or_default(),
                name: p.name,
                level: p.level.as_str(),
                indent: (p.depth - top).clamp(0, 8),
            })
            .collect(),
        levels: LEVELS,
        notice,
    })
}

fn place_id(s: &str) -> Result<OrgUnitId, AppError> {
    uuid::Uuid::parse_str(s)
        .map(OrgUnitId::from)
        .map_err(|_| AppError::not_found("org unit"))
}

#[derive(Debug, Deserialize)]
pub struct RenameForm {
    csrf: Option<String>,
    name: String,
}

/// `POST /console/admin/places/{id}/rename`.
pub async fn rename(
    state: web::Data<AppState>,
    user: ConsoleUser,
    id: web::Path<String>,
    form: web::Form<RenameForm>,
) -> Result<HttpResponse, ConsoleError> {
    let f = form.into_inner();
    user.check_csrf(f.csrf.as_deref())?;
    let id = place_id(&id)?;
    let caller = user.caller().clone();
    state
        .db
        .run(move |conn| place_changes::rename(conn, Some(&caller), &id, Rename { name: f.name }))
        .await?;
    Ok(see_other("/console/admin/places?done=renamed"))
}

#[derive(Debug, Deserialize)]
pub struct RetireForm {
    csrf: Option<String>,
    reason: Option<String>,
}

/// `POST /console/admin/places/{id}/retire`.
pub async fn retire(
    state: web::Data<AppState>,
    user: ConsoleUser,
    id: web::Path<String>,
    form: web::Form<RetireForm>,
) -> Result<HttpResponse, ConsoleError> {
    let f = form.into_inner();
    user.check_csrf(f.csrf.as_deref())?;
    let id = place_id(&id)?;
    let reason = reason_of(f.reason);
    let caller = user.caller().clone();
    state
        .db
        .run(move |conn| place_changes::retire(conn, Some(&caller), &id, Retire { reason }))
        .await?;
    Ok(see_other("/console/admin/places?done=retired"))
}

fn reason_of(reason: Option<String>) -> Option<String> {
    reason.filter(|r| !r.trim().is_empty())
}

#[derive(Debug, Deserialize)]
pub struct CreateForm {
    csrf: Option<String>,
    parent_id: String,
    name: String,
    code: Option<String>,
    level: String,
}

/// `POST /console/admin/places`: a new place under one the caller administers.
pub async fn create(
    state: web::Data<AppState>,
    user: ConsoleUser,
    form: web::Form<CreateForm>,
) -> Result<HttpResponse, ConsoleError> {
    let f = form.into_inner();
    user.check_csrf(f.csrf.as_deref())?;
    let input = NewOrgUnit {
        code: f
            .code
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty()),
        name: f.name,
        level: f.level.parse::<OrgLevel>()?,
        parent_id: Some(place_id(&f.parent_id)?),
    };
    let caller = user.caller().clone();
    state
        .db
        .run(move |conn| places::create(conn, &caller, input))
        .await?;
    Ok(see_other("/console/admin/places?done=created"))
}

#[derive(Debug, Deserialize)]
pub struct MoveForm {
    csrf: Option<String>,
    id: String,
    parent_id: String,
    reason: Option<String>,
}

/// `POST /console/admin/places/move`: a place and its subtree under another parent.
pub async fn move_place(
    state: web::Data<AppState>,
    user: ConsoleUser,
    form: web::Form<MoveForm>,
) -> Result<HttpResponse, ConsoleError> {
    let f = form.into_inner();
    user.check_csrf(f.csrf.as_deref())?;
    let id = place_id(&f.id)?;
    let input = MovePlace {
        parent_id: place_id(&f.parent_id)?,
        reason: reason_of(f.reason),
    };
    let caller = user.caller().clone();
    state
        .db
        .run(move |conn| place_moves::move_place(conn, Some(&caller), &id, input))
        .await?;
    Ok(see_other("/console/admin/places?done=moved"))
}

#[derive(Debug, Deserialize)]
pub struct MergeForm {
    csrf: Option<String>,
    id: String,
    into: String,
    reason: Option<String>,
}

/// `POST /console/admin/places/merge`: one place into another of its level (撤并).
pub async fn merge(
    state: web::Data<AppState>,
    user: ConsoleUser,
    form: web::Form<MergeForm>,
) -> Result<HttpResponse, ConsoleError> {
    let f = form.into_inner();
    user.check_csrf(f.csrf.as_deref())?;
    let id = place_id(&f.id)?;
    let input = MergePlace {
        into: place_id(&f.into)?,
        reason: reason_of(f.reason),
    };
    let caller = user.caller().clone();
    state
        .db
        .run(move |conn| place_moves::merge(conn, Some(&caller), &id, input))
        .await?;
    Ok(see_other("/console/admin/places?done=merged"))
}
