//! `/api/v1/issue-categories`: the configurable taxonomy of problems.

use super::extract::Authenticated;
use super::state::AppState;
use crate::domain::categories::{self, Category, NewCategory};
use crate::error::AppError;
use actix_web::{HttpResponse, web};

/// Every category, in display order.
#[utoipa::path(
    get,
    path = "/api/v1/issue-categories",
    tag = "issues",
    responses((status = 200, body = Vec<Category>)),
    security(("bearer" = []))
)]
pub async fn list(
    state: web::Data<AppState>,
    _caller: Authenticated,
) -> Result<web::Json<Vec<Category>>, AppError> {
    Ok(web::Json(state.db.run(categories::list).await?))
}

/// Add a category (system admin).
#[utoipa::path(
    post,
    path = "/api/v1/issue-categories",
    tag = "issues",
    request_body = NewCategory,
    responses((status = 201, body = Category), (status = 403, body = super::problem::Problem), (status = 409, body = super::problem::Problem)),
    security(("bearer" = []))
)]
pub async fn create(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: super::text::Json<NewCategory>,
) -> Result<HttpResponse, AppError> {
    let input = body.into_inner();
    let created = state
        .db
        .run(move |conn| categories::create(conn, &caller.0, input))
        .await?;
    Ok(HttpResponse::Created().json(created))
}
