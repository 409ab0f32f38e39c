//! `/api/v1/users`: admins create people, grant, revoke and move roles within their places,
//! disable and enable accounts and set new passwords.

use super::extract::Authenticated;
use super::state::AppState;
use crate::domain::account_lifecycle::{self, NewPassword, RoleMove};
use crate::domain::accounts::{self, NewUser, RoleGrant, User};
use crate::error::AppError;
use crate::ids::UserId;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListUsers {
    /// Keyset cursor: the last username of the previous page.
    pub after: Option<String>,
    /// Page size (default 100, max 500).
    pub limit: Option<i64>,
    /// `true`: only accounts that hold no role at all (a system admin's list).
    pub without_roles: Option<bool>,
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
    let ListUsers {
        after,
        limit,
        without_roles,
    } = query.into_inner();
    let limit = crate::domain::keyset::page_limit(limit, 100, 500)?;
    let users = state
        .db
        .run(move |conn| {
            if without_roles == Some(true) {
                account_lifecycle::list_without_roles(
                    conn,
                    Some(&caller.0),
                    after.as_deref(),
                    limit,
                )
            } else {
                accounts::list(conn, &caller.0, after.as_deref(), limit)
            }
        })
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

fn user_id(path: web::Path<uuid::Uuid>) -> UserId {
    UserId::from(path.into_inner())
}

/// Disable an account: it cannot log in (`account_disabled`) and every session and device
/// refresh chain ends at once, access tokens included. Its name stays in every history.
#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/disable",
    tag = "users",
    params(("id" = uuid::Uuid, Path)),
    responses(
        (status = 200, body = User),
        (status = 403, body = super::problem::Problem),
        (status = 404, description = "not an account in the admin's places", body = super::problem::Problem),
        (status = 409, description = "your own account", body = super::problem::Problem),
    ),
    security(("bearer" = []))
)]
pub async fn disable(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<uuid::Uuid>,
) -> Result<web::Json<User>, AppError> {
    let id = user_id(path);
    let user = state
        .db
        .run(move |conn| account_lifecycle::set_active(conn, Some(&caller.0), &id, false))
        .await?;
    Ok(web::Json(user))
}

/// Enable a disabled account again (it logs in anew; old sessions stay ended).
#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/enable",
    tag = "users",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = User), (status = 403, body = super::problem::Problem), (status = 404, body = super::problem::Problem)),
    security(("bearer" = []))
)]
pub async fn enable(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<uuid::Uuid>,
) -> Result<web::Json<User>, AppError> {
    let id = user_id(path);
    let user = state
        .db
        .run(move |conn| account_lifecycle::set_active(conn, Some(&caller.0), &id, true))
        .await?;
    Ok(web::Json(user))
}

/// Grant a role on a place (no place: the whole system). The account's phones reset their pull.
#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/roles",
    tag = "users",
    params(("id" = uuid::Uuid, Path)),
    request_body = RoleGrant,
    responses(
        (status = 200, body = User),
        (status = 403, body = super::problem::Problem),
        (status = 404, body = super::problem::Problem),
        (status = 409, description = "duplicate_role_assignment", body = super::problem::Problem),
    ),
    security(("bearer" = []))
)]
pub async fn grant_role(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<uuid::Uuid>,
    body: web::Json<RoleGrant>,
) -> Result<web::Json<User>, AppError> {
    let id = user_id(path);
    let grant = body.into_inner();
    let user = state
        .db
        .run(move |conn| account_lifecycle::grant(conn, Some(&caller.0), &id, grant))
        .await?;
    Ok(web::Json(user))
}

/// Revoke a role held on a place. The account's phones reset their pull and drop what they no
/// longer see.
#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/roles/revoke",
    tag = "users",
    params(("id" = uuid::Uuid, Path)),
    request_body = RoleGrant,
    responses((status = 200, body = User), (status = 403, body = super::problem::Problem), (status = 404, description = "not held, or not visible", body = super::problem::Problem)),
    security(("bearer" = []))
)]
pub async fn revoke_role(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<uuid::Uuid>,
    body: web::Json<RoleGrant>,
) -> Result<web::Json<User>, AppError> {
    let id = user_id(path);
    let grant = body.into_inner();
    let user = state
        .db
        .run(move |conn| account_lifecycle::revoke(conn, Some(&caller.0), &id, grant))
        .await?;
    Ok(web::Json(user))
}

/// Move a role from one place to another in one step (admin of both places).
#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/roles/move",
    tag = "users",
    params(("id" = uuid::Uuid, Path)),
    request_body = RoleMove,
    responses((status = 200, body = User), (status = 403, body = super::problem::Problem), (status = 404, body = super::problem::Problem), (status = 409, body = super::problem::Problem)),
    security(("bearer" = []))
)]
pub async fn move_role(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<uuid::Uuid>,
    body: web::Json<RoleMove>,
) -> Result<web::Json<User>, AppError> {
    let id = user_id(path);
    let change = body.into_inner();
    let user = state
        .db
        .run(move |conn| account_lifecycle::move_role(conn, Some(&caller.0), &id, change))
        .await?;
    Ok(web::Json(user))
}

/// Set a new password for an account (an administrator's reset); every session of it ends.
#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/password",
    tag = "users",
    params(("id" = uuid::Uuid, Path)),
    request_body = NewPassword,
    responses((status = 204), (status = 403, body = super::problem::Problem), (status = 404, body = super::problem::Problem), (status = 422, body = super::problem::Problem)),
    security(("bearer" = []))
)]
pub async fn set_password(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<uuid::Uuid>,
    body: web::Json<NewPassword>,
) -> Result<HttpResponse, AppError> {
    let id = user_id(path);
    let password = body.into_inner().password;
    let policy = state.password_policy();
    state
        .db
        .run(move |conn| {
            account_lifecycle::set_password(conn, Some(&caller.0), &id, &password, policy)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
