//! `/api/v1/inspections`: record (create, fill in, finish) inspections over REST — the same
//! operation as the `record_inspection` sync mutation — list and read them.

use super::extract::Authenticated;
use super::state::AppState;
use crate::domain::inspections::queries::{self, InspectionPage, ListRequest};
use crate::domain::inspections::view::InspectionDetail;
use crate::error::AppError;
use crate::ids::{InspectionId, OrgUnitId, TemplateId};
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use closeout_sync_protocol::inspection::wire::{
    InspectionMode, InspectionState, RecordInspectionBody,
};
use serde::Deserialize;

/// Record an inspection: creates it (201) if `inspection_id` is new, else merges the header and
/// items into it (200); finishes it when `finished_at` is set (failed items become issues).
/// Items recorded differently from the same base are kept as conflicts (listed on the result).
#[utoipa::path(
    post,
    path = "/api/v1/inspections",
    tag = "inspections",
    request_body = RecordInspectionBody,
    responses(
        (status = 201, body = InspectionDetail),
        (status = 200, description = "an existing inspection, merged", body = InspectionDetail),
        (status = 403, body = super::problem::Problem),
        (status = 404, body = super::problem::Problem),
        (status = 409, description = "inspection_id_taken | template_archived", body = super::problem::Problem),
        (status = 422, description = "invalid_field | template_version_unknown", body = super::problem::Problem),
    ),
    security(("bearer" = []))
)]
pub async fn record(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: super::text::Json<RecordInspectionBody>,
) -> Result<HttpResponse, AppError> {
    let input = body.into_inner();
    let clock = state.clock();
    let (detail, outcome) = state
        .db
        .run(move |conn| queries::record(conn, &caller.0, input, clock))
        .await?;
    Ok(if outcome.created {
        HttpResponse::Created().json(detail)
    } else {
        HttpResponse::Ok().json(detail)
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListInspections {
    /// Only inspections in this place's subtree.
    pub place_id: Option<uuid::Uuid>,
    pub template_id: Option<uuid::Uuid>,
    pub mode: Option<InspectionMode>,
    pub state: Option<InspectionState>,
    pub started_from: Option<DateTime<Utc>>,
    pub started_to: Option<DateTime<Utc>>,
    /// From the previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
}

/// Inspections at places the caller sees, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/inspections",
    tag = "inspections",
    params(ListInspections),
    responses((status = 200, body = InspectionPage), (status = 400, body = super::problem::Problem), (status = 404, body = super::problem::Problem)),
    security(("bearer" = []))
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Authenticated,
    query: web::Query<ListInspections>,
) -> Result<web::Json<InspectionPage>, AppError> {
    let q = query.into_inner();
    let req = ListRequest {
        place_id: q.place_id.map(OrgUnitId::from),
        template_id: q.template_id.map(TemplateId::from),
        mode: q.mode,
        state: q.state,
        started_from: q.started_from,
        started_to: q.started_to,
        cursor: q.cursor,
        limit: crate::domain::keyset::page_limit(q.limit, 50, 200)?,
    };
    let page = state
        .db
        .run(move |conn| queries::list(conn, &caller.0, req))
        .await?;
    Ok(web::Json(page))
}

/// One inspection: its template version, team, place, items with scores, total, the issues its
/// failures raised and the conflicts between phones (404 if the caller cannot see its place).
#[utoipa::path(
    get,
    path = "/api/v1/inspections/{id}",
    tag = "inspections",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = InspectionDetail), (status = 404, body = super::problem::Problem)),
    security(("bearer" = []))
)]
pub async fn get_one(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<uuid::Uuid>,
) -> Result<web::Json<InspectionDetail>, AppError> {
    let id = InspectionId::from(id.into_inner());
    let detail = state
        .db
        .run(move |conn| queries::detail(conn, &caller.0, &id))
        .await?;
    Ok(web::Json(detail))
}

/// The inspection record (督查记录单): template, team, place, each item with its result, score,
/// note and photos, the total and signature lines; a printable HTML page or a DOCX to edit.
#[utoipa::path(
    get,
    path = "/api/v1/inspections/{id}/record",
    tag = "inspections",
    params(("id" = uuid::Uuid, Path), super::issues::DocumentParams),
    responses(
        (status = 200, content_type = "text/html"),
        (status = 400, body = super::problem::Problem),
        (status = 404, body = super::problem::Problem),
    ),
    security(("bearer" = []))
)]
pub async fn record_sheet(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<uuid::Uuid>,
    query: web::Query<super::issues::DocumentParams>,
) -> Result<actix_web::HttpResponse, AppError> {
    let id = InspectionId::from(id.into_inner());
    record_document(&state, caller.0, id, query.format.as_deref()).await
}

/// The inspection record for `caller` (the API's and the console's), HTML or DOCX.
pub async fn record_document(
    state: &AppState,
    caller: crate::domain::access::Caller,
    id: InspectionId,
    format: Option<&str>,
) -> Result<actix_web::HttpResponse, AppError> {
    let html = super::issues::html_or_docx(format)?;
    let clock = state.clock();
    let sheet = state
        .db
        .run(move |conn| {
            crate::domain::inspections::record_sheet::gather(conn, &caller, &id, clock)
        })
        .await?;
    if !html {
        return Ok(super::issues::docx_response(
            crate::reports::docx::inspection_record(&sheet)?,
            "inspection-record",
        ));
    }
    Ok(actix_web::HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("content-security-policy", "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"))
        .body(crate::reports::inspection_record::render(
            &sheet,
            &super::photos::signed_thumbnail_src(state),
        )))
}
