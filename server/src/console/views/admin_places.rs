//! 区划 (admin): the places an admin manages (`places::list` after the domain's admin check,
//! `access::require_any`), renamed and retired by the functions behind
//! `POST /api/v1/org-units/{id}/rename` and `/retire` (an admin of the place's parent).

use crate::api::state::AppState;
use crate::console::errors::ConsoleError;
use crate::console::page::{Head, Nav, html, see_other};
use crate::console::session::ConsoleUser;
use crate::domain::place_changes::{self, Rename, Retire};
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
    notice: Option<String>,
}

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
            places::list(conn, &caller, None, 5_000)
        })
        .await?;
    let top = list.iter().map(|p| p.depth).min().unwrap_or(0);
    let notice = match q.done.as_deref() {
        Some("renamed") => Some("区划已更名。".to_owned()),
        Some("retired") => Some("区划已撤销：该区划及其下级不再接收新问题。".to_owned()),
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
    let reason = f.reason.filter(|r| !r.trim().is_empty());
    let caller = user.caller().clone();
    state
        .db
        .run(move |conn| place_changes::retire(conn, Some(&caller), &id, Retire { reason }))
        .await?;
    Ok(see_other("/console/admin/places?done=retired"))
}
