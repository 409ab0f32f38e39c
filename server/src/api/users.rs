//! `/api/v1/users`: admins create people and grant roles within their places.

use super::extract::Authenticated;
use super::state::AppState;
use crate::domain::accounts::{self, NewUser, User};
use crate::error::AppError;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListUsers {
    /// Keyset cursor: the last username of the previous page.
    pub after: Option<String>,
    /// Page size (default 100, max 500).
    pub limit: Option<i64>,
}

/// Users holding a role in the admin's places (all users for a system admin), by username.
#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "users",
    params(ListUsers),
    responses((status = 200, body = Vec<User>), (status = 403, body = super::problem::Problem)),
    security(("bearer" = []))
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Authenticated,
    query: web::Query<ListUsers>,
) -> Result<web::Json<Vec<User>>, AppError> {
    let ListUsers { after, limit } = query.into_inner();
    let limit = limit.unwrap_or(100).clamp(1, 500);
    let users = state
        .db
        .run(move |conn| accounts::list(conn, &caller.0, after.as_deref(), limit))
        .await?;
    Ok(web::Json(users))
}

/// Create a user with roles; each role's place must be within the admin's subtree.
#[utoipa::path(
    post,
    path = "/api/v1/users",
    tag = "users",
    request_body = NewUser,
    responses(
        (status = 201, body = User),
        (status = 403, body = super::problem::Problem),
        (status = 404, description = "a granted place is not visible", body = super::problem::Problem),
        (status = 409, description = "username_taken", body = super::problem::Problem),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: super::text::Json<NewUser>,
) -> Result<HttpResponse, AppError> {
    let input = body.into_inner();
    let policy = state.password_policy();
    let user = state
        .db
        .run(move |conn| accounts::create_user(conn, Some(&caller.0), input, policy))
        .await?;
    Ok(HttpResponse::Created().json(user))
}
