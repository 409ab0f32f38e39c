//! `/api/v1/category-aliases`: how counties word categories in their lists, for the importer.

use super::extract::Authenticated;
use super::state::AppState;
use crate::domain::category_aliases::{self, CategoryAlias, NewCategoryAlias};
use crate::error::AppError;
use crate::ids::OrgUnitId;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListAliases {
    /// Only the aliases in effect at this place (its county's and the defaults).
    pub place_id: Option<uuid::Uuid>,
}

/// The shipped defaults and the aliases of the counties where the caller works.
#[utoipa::path(
    get,
    path = "/api/v1/category-aliases",
    tag = "issues",
    params(ListAliases),
    responses((status = 200, body = Vec<CategoryAlias>), (status = 404, body = super::problem::Problem)),
    security(("bearer" = []))
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Authenticated,
    query: web::Query<ListAliases>,
) -> Result<web::Json<Vec<CategoryAlias>>, AppError> {
    let place = query.into_inner().place_id.map(OrgUnitId::from);
    let aliases = state
        .db
        .run(move |conn| category_aliases::list(conn, &caller.0, place.as_ref()))
        .await?;
    Ok(web::Json(aliases))
}

/// Add an alias for a county (`admin` of the county) or a default (system-wide `admin`).
#[utoipa::path(
    post,
    path = "/api/v1/category-aliases",
    tag = "issues",
    request_body = NewCategoryAlias,
    responses(
        (status = 201, body = CategoryAlias),
        (status = 403, body = super::problem::Problem),
        (status = 404, body = super::problem::Problem),
        (status = 409, description = "category_alias_taken", body = super::problem::Problem),
        (status = 422, description = "invalid_field", body = super::problem::Problem),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: super::text::Json<NewCategoryAlias>,
) -> Result<HttpResponse, AppError> {
    let input = body.into_inner();
    let alias = state
        .db
        .run(move |conn| category_aliases::add(conn, Some(&caller.0), input))
        .await?;
    Ok(HttpResponse::Created().json(alias))
}

/// Remove an alias (`admin` of its county; a system-wide `admin` for a default).
#[utoipa::path(
    delete,
    path = "/api/v1/category-aliases/{id}",
    tag = "issues",
    params(("id" = uuid::Uuid, Path)),
    responses(
        (status = 204, description = "removed"),
        (status = 403, body = super::problem::Problem),
        (status = 404, body = super::problem::Problem),
    ),
    security(("bearer" = []))
)]
pub async fn remove(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner().to_string();
    state
        .db
        .run(move |conn| category_aliases::remove(conn, Some(&caller.0), &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
