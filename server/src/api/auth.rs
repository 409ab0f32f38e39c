//! `/api/v1/auth/*` and `/api/v1/me`: log in, refresh, log out, who am I.

use super::extract::{Authenticated, client_ip};
use super::state::AppState;
use crate::domain::accounts::{self, User};
use crate::domain::sessions::{self, TokenPair};
use crate::error::{AppError, ErrorCode};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    /// A stable id the phone makes once (e.g. a UUID); refresh tokens are bound to it.
    pub device_id: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
    pub device_id: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogoutRequest {
    pub refresh_token: String,
}

/// Log in with username and password; returns an access token and a refresh token for the device.
#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, body = TokenPair),
        (status = 401, description = "invalid_credentials", body = super::problem::Problem),
        (status = 429, description = "too_many_login_attempts", body = super::problem::Problem),
    )
)]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: super::text::Json<LoginRequest>,
) -> Result<web::Json<TokenPair>, AppError> {
    let body = body.into_inner();
    if let Err(wait) = state.login_limiter.check(&body.username, client_ip(&req)) {
        let secs = wait.as_secs().max(1);
        return Err(AppError::new(
            ErrorCode::TooManyLoginAttempts,
            format!("too many login attempts; try again in {secs} s"),
        )
        .zh(format!("登录尝试过于频繁，请 {secs} 秒后再试"))
        .with_extra(serde_json::json!({ "retry_after_secs": secs })));
    }
    let (keys, policy, decoy) = (
        state.keys.clone(),
        state.session_policy(),
        state.decoy_hash.clone(),
    );
    let pair = state
        .db
        .run(move |conn| {
            sessions::login(
                conn,
                &keys,
                policy,
                &body.username,
                &body.password,
                &body.device_id,
                &decoy,
            )
        })
        .await?;
    Ok(web::Json(pair))
}

/// Exchange a refresh token for a new pair. The old refresh token is used up; presenting it again
/// revokes the device's session.
#[utoipa::path(
    post,
    path = "/api/v1/auth/refresh",
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, body = TokenPair),
        (status = 401, description = "refresh_token_invalid | refresh_token_reused | refresh_token_revoked | refresh_token_expired | device_mismatch", body = super::problem::Problem),
    )
)]
pub async fn refresh(
    state: web::Data<AppState>,
    body: super::text::Json<RefreshRequest>,
) -> Result<web::Json<TokenPair>, AppError> {
    let body = body.into_inner();
    let (keys, policy) = (state.keys.clone(), state.session_policy());
    let pair = state
        .db
        .run(move |conn| {
            sessions::refresh(conn, &keys, policy, &body.refresh_token, &body.device_id)
        })
        .await?;
    Ok(web::Json(pair))
}

/// End the session the refresh token belongs to; its access tokens stop working at once.
#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    tag = "auth",
    request_body = LogoutRequest,
    responses((status = 204), (status = 401, body = super::problem::Problem))
)]
pub async fn logout(
    state: web::Data<AppState>,
    body: super::text::Json<LogoutRequest>,
) -> Result<HttpResponse, AppError> {
    let token = body.into_inner().refresh_token;
    state
        .db
        .run(move |conn| sessions::logout(conn, &token))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller: profile and every role with its place.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "auth",
    responses((status = 200, body = User), (status = 401, body = super::problem::Problem)),
    security(("bearer" = []))
)]
pub async fn me(
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<web::Json<User>, AppError> {
    let id = caller.0.user_id.clone();
    let user = state.db.run(move |conn| accounts::get(conn, &id)).await?;
    Ok(web::Json(user))
}
