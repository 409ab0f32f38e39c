//! `/api/v1/inspection-schedules` (cadences and their due/missed occurrences) and
//! `/api/v1/deductions` (错报、漏报、瞒报).

use super::extract::Authenticated;
use super::state::AppState;
use crate::domain::inspections::deductions::{self, Deduction, NewDeduction};
use crate::domain::inspections::schedules::{self, NewSchedule, Occurrence, Schedule};
use crate::domain::reports::period::Period;
use crate::error::AppError;
use crate::ids::{OrgUnitId, ScheduleId};
use actix_web::{HttpResponse, web};
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ScheduleQuery {
    /// Only this place's subtree (default: every place the caller sees).
    pub place_id: Option<uuid::Uuid>,
    /// `2026-W47` or `2026-11` (default: this month so far).
    pub period: Option<String>,
    /// First day (YYYY-MM-DD), with `to`, instead of `period`.
    pub from: Option<String>,
    /// Last day, included.
    pub to: Option<String>,
    /// Occurrences only: `done`, `due`, `missed` or `upcoming`.
    pub status: Option<String>,
}

impl ScheduleQuery {
    pub fn period(&self, today: chrono::NaiveDate) -> Result<Period, AppError> {
        Period::parse(
            self.period.as_deref(),
            self.from.as_deref(),
            self.to.as_deref(),
            today,
        )
    }
}

/// Set a cadence at a place (supervisor of the place).
#[utoipa::path(
    post,
    path = "/api/v1/inspection-schedules",
    tag = "inspections",
    request_body = NewSchedule,
    responses((status = 201, body = Schedule), (status = 403, body = super::problem::Problem), (status = 404, body = super::problem::Problem), (status = 422, body = super::problem::Problem)),
    security(("bearer" = []))
)]
pub async fn create(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: super::text::Json<NewSchedule>,
) -> Result<HttpResponse, AppError> {
    let input = body.into_inner();
    let clock = state.clock();
    let s = state
        .db
        .run(move |conn| schedules::create(conn, &caller.0, input, clock))
        .await?;
    Ok(HttpResponse::Created().json(s))
}

/// Schedules active during the period at places the caller sees.
#[utoipa::path(
    get,
    path = "/api/v1/inspection-schedules",
    tag = "inspections",
    params(ScheduleQuery),
    responses((status = 200, body = [Schedule]), (status = 400, body = super::problem::Problem), (status = 404, body = super::problem::Problem)),
    security(("bearer" = []))
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Authenticated,
    query: web::Query<ScheduleQuery>,
) -> Result<web::Json<Vec<Schedule>>, AppError> {
    let q = query.into_inner();
    let period = q.period(state.clock().today)?;
    let place = q.place_id.map(OrgUnitId::from);
    let list = state
        .db
        .run(move |conn| schedules::list(conn, &caller.0, place.as_ref(), &period))
        .await?;
    Ok(web::Json(list))
}

/// Stop a schedule (its past occurrences stay as they were).
#[utoipa::path(
    post,
    path = "/api/v1/inspection-schedules/{id}/archive",
    tag = "inspections",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = Schedule), (status = 403, body = super::problem::Problem), (status = 404, body = super::problem::Problem)),
    security(("bearer" = []))
)]
pub async fn archive(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<uuid::Uuid>,
) -> Result<web::Json<Schedule>, AppError> {
    let id = ScheduleId::from(id.into_inner());
    let clock = state.clock();
    let s = state
        .db
        .run(move |conn| schedules::archive(conn, &caller.0, &id, clock))
        .await?;
    Ok(web::Json(s))
}

/// Every occurrence of the schedules in the period — done, due, missed or upcoming — at places
/// the caller sees. Missed: the window ended before today without a finished inspection of the
/// schedule's template at its place.
#[utoipa::path(
    get,
    path = "/api/v1/inspection-schedules/occurrences",
    tag = "inspections",
    params(ScheduleQuery),
    responses((status = 200, body = [Occurrence]), (status = 400, body = super::problem::Problem), (status = 404, body = super::problem::Problem)),
    security(("bearer" = []))
)]
pub async fn occurrences(
    state: web::Data<AppState>,
    caller: Authenticated,
    query: web::Query<ScheduleQuery>,
) -> Result<web::Json<Vec<Occurrence>>, AppError> {
    let q = query.into_inner();
    let clock = state.clock();
    let period = q.period(clock.today)?;
    let only = q
        .status
        .as_deref()
        .map(schedules::parse_status)
        .transpose()?;
    let place = q.place_id.map(OrgUnitId::from);
    let list = state
        .db
        .run(move |conn| {
            schedules::occurrences(conn, &caller.0, place.as_ref(), &period, only, clock)
        })
        .await?;
    Ok(web::Json(list))
}

/// Record a deduction (错报、漏报、瞒报) against a place (supervisor of the place).
#[utoipa::path(
    post,
    path = "/api/v1/deductions",
    tag = "inspections",
    request_body = NewDeduction,
    responses((status = 201, body = Deduction), (status = 403, body = super::problem::Problem), (status = 404, body = super::problem::Problem), (status = 422, body = super::problem::Problem)),
    security(("bearer" = []))
)]
pub async fn create_deduction(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: super::text::Json<NewDeduction>,
) -> Result<HttpResponse, AppError> {
    let input = body.into_inner();
    let clock = state.clock();
    let d = state
        .db
        .run(move |conn| deductions::record(conn, &caller.0, input, clock))
        .await?;
    Ok(HttpResponse::Created().json(d))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeductionQuery {
    /// The place (its whole subtree).
    pub place_id: uuid::Uuid,
    pub period: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// Deductions at a place the caller sees, counting for the period.
#[utoipa::path(
    get,
    path = "/api/v1/deductions",
    tag = "inspections",
    params(DeductionQuery),
    responses((status = 200, body = [Deduction]), (status = 400, body = super::problem::Problem), (status = 404, body = super::problem::Problem)),
    security(("bearer" = []))
)]
pub async fn list_deductions(
    state: web::Data<AppState>,
    caller: Authenticated,
    query: web::Query<DeductionQuery>,
) -> Result<web::Json<Vec<Deduction>>, AppError> {
    let q = query.into_inner();
    let period = Period::parse(
        q.period.as_deref(),
        q.from.as_deref(),
        q.to.as_deref(),
        state.clock().today,
    )?;
    let place = OrgUnitId::from(q.place_id);
    let list = state
        .db
        .run(move |conn| deductions::list(conn, &caller.0, &place, period.from, period.to))
        .await?;
    Ok(web::Json(list))
}
