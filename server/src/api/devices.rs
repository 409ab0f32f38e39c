//! `/api/v1/devices`: the caller's phones (or a managed user's), revocation, backlog release.

use super::extract::Authenticated;
use super::state::AppState;
use crate::domain::sync::devices::{self, Device};
use crate::domain::sync::push;
use crate::error::AppError;
use crate::ids::{DeviceId, UserId};
use actix_web::web;
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeviceParams {
    /// Another user's devices (a supervisor or admin of their places).
    pub user_id: Option<uuid::Uuid>,
}

/// Devices with their acknowledged sequence, clock skew and held mutations.
#[utoipa::path(
    get,
    path = "/api/v1/devices",
    tag = "sync",
    params(DeviceParams),
    responses((status = 200, body = Vec<Device>), (status = 404, body = super::problem::Problem)),
    security(("bearer" = []))
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Authenticated,
    params: web::Query<DeviceParams>,
) -> Result<web::Json<Vec<Device>>, AppError> {
    let user = params.into_inner().user_id.map(UserId::from);
    Ok(web::Json(
        state
            .db
            .run(move |conn| devices::list(conn, &caller.0, user.as_ref()))
            .await?,
    ))
}

/// Revoke a device: its sessions end and it can no longer log in, push or pull.
#[utoipa::path(
    post,
    path = "/api/v1/devices/{id}/revoke",
    tag = "sync",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = Device), (status = 404, body = super::problem::Problem)),
    security(("bearer" = []))
)]
pub async fn revoke(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<uuid::Uuid>,
) -> Result<web::Json<Device>, AppError> {
    let id = DeviceId::from(id.into_inner());
    let now = state.clock().now;
    Ok(web::Json(
        state
            .db
            .run(move |conn| devices::revoke(conn, &caller.0, &id, now))
            .await?,
    ))
}

/// Release a device's backlog: skip the missing sequence numbers and apply what was held.
#[utoipa::path(
    post,
    path = "/api/v1/devices/{id}/release-backlog",
    tag = "sync",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = Device), (status = 403, body = super::problem::Problem), (status = 404, body = super::problem::Problem)),
    security(("bearer" = []))
)]
pub async fn release_backlog(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<uuid::Uuid>,
) -> Result<web::Json<Device>, AppError> {
    let id = DeviceId::from(id.into_inner());
    let clock = state.clock();
    let evidence = state.evidence();
    let limits = state.settings.sync;
    Ok(web::Json(
        state
            .db
            .run(move |conn| push::release_backlog(conn, &caller.0, &id, clock, evidence, limits))
            .await?,
    ))
}
