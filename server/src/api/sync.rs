//! `/api/v1/sync/*`: push mutations, pull changes, see and resolve conflicts.

use super::extract::Authenticated;
use super::state::AppState;
use crate::domain::sync::conflicts::{self, Conflict, ResolveRequest};
use crate::domain::sync::pull;
use crate::domain::sync::push::{self, PushBatch};
use crate::error::AppError;
use crate::ids::ConflictId;
use actix_web::web;
use closeout_sync_protocol::sync::{PullResponse, PushResponse};
use serde::Deserialize;

/// Push a batch of mutations from the caller's device (the device of the access token). One result
/// per mutation, in sequence order. See docs/sync-protocol.md.
#[utoipa::path(
    post,
    path = "/api/v1/sync/push",
    tag = "sync",
    request_body = PushBatch,
    responses(
        (status = 200, body = PushResponse),
        (status = 400, description = "unsupported_protocol", body = super::problem::Problem),
        (status = 403, description = "device_revoked", body = super::problem::Problem),
        (status = 422, description = "the envelope is malformed (each mutation is judged on its own)", body = super::problem::Problem),
        (status = 503, description = "database_unavailable: the batch kept losing write races; send it again", body = super::problem::Problem),
    ),
    security(("bearer" = []))
)]
pub async fn push_batch(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: web::Json<PushBatch>,
) -> Result<web::Json<PushResponse>, AppError> {
    let batch = body.into_inner();
    let clock = state.clock();
    let evidence = state.evidence();
    let limits = state.settings.sync;
    let timer = state.metrics.sync_push_duration.start_timer();
    let pushed = state
        .db
        .run(move |conn| push::push(conn, &caller.0, batch, clock, evidence, limits))
        .await?;
    state
        .metrics
        .sync_push_retries
        .inc_by(u64::from(pushed.retries));
    timer.observe_duration();
    let mut by_status: Vec<(&str, u64)> = Vec::new();
    for r in &pushed.response.results {
        let status = r.status.as_str();
        match by_status.iter_mut().find(|(s, _)| *s == status) {
            Some((_, n)) => *n += 1,
            None => by_status.push((status, 1)),
        }
    }
    for (status, n) in by_status {
        state
            .metrics
            .sync_push_mutations
            .with_label_values(&[status])
            .inc_by(n);
    }
    Ok(web::Json(pushed.response))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PullParams {
    /// The `cursor` of the previous pull; absent for the first.
    pub cursor: Option<String>,
    /// Changes per page, 1–10000 (default 1000).
    pub limit: Option<i64>,
}

/// Changes after the cursor, scoped to what the caller may see, with tombstones.
#[utoipa::path(
    get,
    path = "/api/v1/sync/pull",
    tag = "sync",
    params(PullParams),
    responses(
        (status = 200, body = PullResponse),
        (status = 400, description = "invalid_query", body = super::problem::Problem),
        (status = 403, description = "device_revoked", body = super::problem::Problem),
    ),
    security(("bearer" = []))
)]
pub async fn pull_changes(
    state: web::Data<AppState>,
    caller: Authenticated,
    params: web::Query<PullParams>,
) -> Result<web::Json<PullResponse>, AppError> {
    let PullParams { cursor, limit } = params.into_inner();
    let limit = crate::domain::keyset::page_limit(limit, pull::DEFAULT_LIMIT, pull::MAX_LIMIT)?;
    let clock = state.clock();
    let timer = state.metrics.sync_pull_duration.start_timer();
    let page = state
        .db
        .run(move |conn| pull::pull(conn, &caller.0, cursor.as_deref(), limit, clock))
        .await?;
    timer.observe_duration();
    Ok(web::Json(page))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ConflictParams {
    /// `true`: resolved ones too.
    pub all: Option<bool>,
    pub limit: Option<i64>,
    /// The next page: the id of the last conflict of the previous one (a page shorter than
    /// `limit` is the last).
    pub after: Option<uuid::Uuid>,
}

/// Conflicts on issues and inspections in the places the caller supervises, oldest first (then
/// by id); page with `after`.
#[utoipa::path(
    get,
    path = "/api/v1/sync/conflicts",
    tag = "sync",
    params(ConflictParams),
    responses((status = 200, body = Vec<Conflict>), (status = 400, description = "invalid_query: `limit` out of range, or `after` not a conflict of the list", body = super::problem::Problem), (status = 403, body = super::problem::Problem)),
    security(("bearer" = []))
)]
pub async fn list_conflicts(
    state: web::Data<AppState>,
    caller: Authenticated,
    params: web::Query<ConflictParams>,
) -> Result<web::Json<Vec<Conflict>>, AppError> {
    let p = params.into_inner();
    let limit = crate::domain::keyset::page_limit(p.limit, 200, 1000)?;
    let after = p.after.map(ConflictId::from);
    let list = state
        .db
        .run(move |conn| {
            conflicts::list(
                conn,
                &caller.0,
                p.all.unwrap_or(false),
                after.as_ref(),
                limit,
            )
        })
        .await?;
    Ok(web::Json(list))
}

/// Resolve a conflict (`keep_server`, or `take_incoming` for a field). Recorded in the history.
#[utoipa::path(
    post,
    path = "/api/v1/sync/conflicts/{id}/resolve",
    tag = "sync",
    params(("id" = uuid::Uuid, Path)),
    request_body = ResolveRequest,
    responses(
        (status = 200, body = Conflict),
        (status = 403, body = super::problem::Problem),
        (status = 404, body = super::problem::Problem),
        (status = 409, description = "already resolved", body = super::problem::Problem),
    ),
    security(("bearer" = []))
)]
pub async fn resolve_conflict(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<uuid::Uuid>,
    body: super::text::Json<ResolveRequest>,
) -> Result<web::Json<Conflict>, AppError> {
    let id = ConflictId::from(id.into_inner());
    let request = body.into_inner();
    let clock = state.clock();
    let resolved = state
        .db
        .run(move |conn| conflicts::resolve(conn, &caller.0, &id, request, clock))
        .await?;
    Ok(web::Json(resolved))
}
