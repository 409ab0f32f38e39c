//! Operations endpoints outside `/api/v1`: liveness, readiness, Prometheus metrics.

use super::state::AppState;
use crate::error::AppError;
use actix_web::{HttpResponse, web};
use serde::Serialize;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    pub status: &'static str,
    pub version: &'static str,
}

/// The process is up (no dependency checked).
#[utoipa::path(
    get,
    path = "/healthz",tag = "operations", responses((status = 200, body = Health)))]
pub async fn healthz() -> web::Json<Health> {
    web::Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Readiness {
    pub status: &'static str,
    pub database: &'static str,
}

/// How long readiness waits for the database: a probe must answer well inside its own timeout.
const READINESS_LIMIT: std::time::Duration = std::time::Duration::from_secs(1);

/// Ready to serve: the database answers within a second. 503 `database_unavailable` (with
/// `Retry-After`) otherwise.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses((status = 200, body = Readiness), (status = 503, body = super::problem::Problem))
)]
pub async fn readyz(state: web::Data<AppState>) -> Result<web::Json<Readiness>, AppError> {
    let backend = state.db.backend().as_str();
    state.db.ping(READINESS_LIMIT).await?;
    Ok(web::Json(Readiness {
        status: "ready",
        database: backend,
    }))
}

/// Prometheus text format: request counts and latencies by route, database pool use.
#[utoipa::path(
    get,
    path = "/metrics",tag = "operations", responses((status = 200, content_type = "text/plain")))]
pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let (open, idle) = state.db.pool_state();
    state.metrics.db_connections.set(i64::from(open));
    state.metrics.db_idle_connections.set(i64::from(idle));
    // Gauges read from the database; a scrape still answers (with the last values) without it.
    let counted = state
        .db
        .run(|conn| {
            let (held, conflicts) = crate::db::sync::backlog_and_open_conflicts(conn)?;
            let uploads = crate::db::photos::uploads_in_progress(conn)?;
            Ok((held, conflicts, uploads))
        })
        .await;
    match counted {
        Ok((held, conflicts, uploads)) => {
            state.metrics.sync_held_backlog.set(held);
            state.metrics.sync_open_conflicts.set(conflicts);
            state.metrics.uploads_in_progress.set(uploads);
        }
        Err(e) => tracing::warn!(error = %e, "metrics: cannot count the backlog and conflicts"),
    }
    let text = state.metrics.render().map_err(AppError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}
