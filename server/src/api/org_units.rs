//! `/api/v1/org-units`: the place tree, as far as the caller may see it; admins add places.

use super::extract::Authenticated;
use super::state::AppState;
use crate::domain::place_changes::{self, Rename, Retire};
use crate::domain::place_moves::{self, MergePlace, MovePlace, PlaceMerged, PlaceMoved};
use crate::domain::places::{self, NewOrgUnit, OrgUnit};
use crate::error::AppError;
use crate::ids::OrgUnitId;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListOrgUnits {
    /// Only the children of this place.
    pub parent_id: Option<uuid::Uuid>,
    /// At most this many (default 1000, max 5000).
    pub limit: Option<i64>,
    /// The next page: the id of the last place of the previous one (a page shorter than
    /// `limit` is the last).
    pub after: Option<uuid::Uuid>,
}

/// Places the caller can see (every subtree they hold a role on), parents before children: by
/// depth, then code (places without one last), name and id. Page with `after`.
#[utoipa::path(
    get,
    path = "/api/v1/org-units",
    tag = "places",
    params(ListOrgUnits),
    responses((status = 200, body = Vec<OrgUnit>), (status = 400, description = "invalid_query: `limit` out of range, or `after` not a place of the list", body = super::problem::Problem), (status = 401, body = super::problem::Problem)),
    security(("bearer" = []))
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Authenticated,
    query: web::Query<ListOrgUnits>,
) -> Result<web::Json<Vec<OrgUnit>>, AppError> {
    let query = query.into_inner();
    let parent = query.parent_id.map(OrgUnitId::from);
    let after = query.after.map(OrgUnitId::from);
    let limit = crate::domain::keyset::page_limit(query.limit, 1000, 5000)?;
    let units = state
        .db
        .run(move |conn| places::list(conn, &caller.0, parent.as_ref(), after.as_ref(), limit))
        .await?;
    Ok(web::Json(units))
}

/// One place (404 if the caller cannot see it).
#[utoipa::path(
    get,
    path = "/api/v1/org-units/{id}",
    tag = "places",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = OrgUnit), (status = 404, body = super::problem::Problem)),
    security(("bearer" = []))
)]
pub async fn get_one(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<uuid::Uuid>,
) -> Result<web::Json<OrgUnit>, AppError> {
    let id = OrgUnitId::from(id.into_inner());
    let unit = state
        .db
        .run(move |conn| places::get(conn, &caller.0, &id))
        .await?;
    Ok(web::Json(unit))
}

/// Add a place under a parent (admin of the parent's subtree) or a root (system admin).
#[utoipa::path(
    post,
    path = "/api/v1/org-units",
    tag = "places",
    request_body = NewOrgUnit,
    responses(
        (status = 201, body = OrgUnit),
        (status = 403, body = super::problem::Problem),
        (status = 409, description = "org_unit_code_taken", body = super::problem::Problem),
        (status = 422, description = "invalid_field | invalid_org_level", body = super::problem::Problem),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: super::text::Json<NewOrgUnit>,
) -> Result<HttpResponse, AppError> {
    let input = body.into_inner();
    let unit = state
        .db
        .run(move |conn| places::create(conn, &caller.0, input))
        .await?;
    Ok(HttpResponse::Created().json(unit))
}

/// Rename a place (区划调整); every issue, list and document shows the new name at once.
#[utoipa::path(
    post,
    path = "/api/v1/org-units/{id}/rename",
    tag = "places",
    params(("id" = uuid::Uuid, Path)),
    request_body = Rename,
    responses((status = 200, body = OrgUnit), (status = 403, body = super::problem::Problem), (status = 404, body = super::problem::Problem), (status = 422, body = super::problem::Problem)),
    security(("bearer" = []))
)]
pub async fn rename(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<uuid::Uuid>,
    body: web::Json<Rename>,
) -> Result<web::Json<OrgUnit>, AppError> {
    let id = OrgUnitId::from(path.into_inner());
    let input = body.into_inner();
    let unit = state
        .db
        .run(move |conn| place_changes::rename(conn, Some(&caller.0), &id, input))
        .await?;
    Ok(web::Json(unit))
}

/// Retire a place (撤销): it and its subtree take no new issues (409 `place_retired`); its issues
/// and their history stay.
#[utoipa::path(
    post,
    path = "/api/v1/org-units/{id}/retire",
    tag = "places",
    params(("id" = uuid::Uuid, Path)),
    request_body = Retire,
    responses((status = 200, body = OrgUnit), (status = 403, body = super::problem::Problem), (status = 404, body = super::problem::Problem)),
    security(("bearer" = []))
)]
pub async fn retire(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<uuid::Uuid>,
    body: web::Json<Retire>,
) -> Result<web::Json<OrgUnit>, AppError> {
    let id = OrgUnitId::from(path.into_inner());
    let input = body.into_inner();
    let unit = state
        .db
        .run(move |conn| place_changes::retire(conn, Some(&caller.0), &id, input))
        .await?;
    Ok(web::Json(unit))
}

/// Move a place (and everything under it) under another parent (区划调整): its issues get a
/// `place_change` event, statistics and access follow the tree, affected phones pull afresh.
/// Needs `admin` of the place above it and of the new parent.
#[utoipa::path(
    post,
    path = "/api/v1/org-units/{id}/move",
    tag = "places",
    params(("id" = uuid::Uuid, Path)),
    request_body = MovePlace,
    responses(
        (status = 200, body = PlaceMoved),
        (status = 403, body = super::problem::Problem),
        (status = 404, body = super::problem::Problem),
        (status = 409, description = "invalid_place_change | place_retired | concurrent_update", body = super::problem::Problem),
        (status = 422, description = "invalid_field | invalid_org_level", body = super::problem::Problem),
    ),
    security(("bearer" = []))
)]
pub async fn move_place(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<uuid::Uuid>,
    body: super::text::Json<MovePlace>,
) -> Result<web::Json<PlaceMoved>, AppError> {
    let id = OrgUnitId::from(path.into_inner());
    let input = body.into_inner();
    let moved = state
        .db
        .run(move |conn| place_moves::move_place(conn, Some(&caller.0), &id, input))
        .await?;
    Ok(web::Json(moved))
}

/// Merge a place into another of the same level (撤并): its issues, inspections, schedules,
/// deductions, role grants and children go to the survivor; it is retired with `merged_into`.
/// Needs `admin` of the places above both.
#[utoipa::path(
    post,
    path = "/api/v1/org-units/{id}/merge",
    tag = "places",
    params(("id" = uuid::Uuid, Path)),
    request_body = MergePlace,
    responses(
        (status = 200, body = PlaceMerged),
        (status = 403, body = super::problem::Problem),
        (status = 404, body = super::problem::Problem),
        (status = 409, description = "invalid_place_change | place_retired | concurrent_update", body = super::problem::Problem),
        (status = 422, description = "invalid_field | invalid_org_level", body = super::problem::Problem),
    ),
    security(("bearer" = []))
)]
pub async fn merge(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<uuid::Uuid>,
    body: super::text::Json<MergePlace>,
) -> Result<web::Json<PlaceMerged>, AppError> {
    let id = OrgUnitId::from(path.into_inner());
    let input = body.into_inner();
    let merged = state
        .db
        .run(move |conn| place_moves::merge(conn, Some(&caller.0), &id, input))
        .await?;
    Ok(web::Json(merged))
}
