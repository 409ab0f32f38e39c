//! `/api/v1/checklist-templates`: versioned checklist templates — read by anyone logged in,
//! written by a system-wide admin; export and import as one JSON document.

use super::extract::Authenticated;
use super::state::AppState;
use crate::domain::inspections::templates::{
    self, ImportOutcome, NewTemplate, Template, TemplateDetail, TemplateExport, TemplateUpdate,
};
use crate::error::AppError;
use crate::ids::TemplateId;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListTemplates {
    /// Include archived templates.
    pub include_archived: Option<bool>,
}

/// Templates at their current version, by code.
#[utoipa::path(
    get,
    path = "/api/v1/checklist-templates",
    tag = "inspections",
    params(ListTemplates),
    responses((status = 200, body = [Template])),
    security(("bearer" = []))
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Authenticated,
    query: web::Query<ListTemplates>,
) -> Result<web::Json<Vec<Template>>, AppError> {
    let all = query.include_archived.unwrap_or(false);
    let list = state
        .db
        .run(move |conn| templates::list(conn, &caller.0, all))
        .await?;
    Ok(web::Json(list))
}

/// Create a template (version 1). System-wide admin only.
#[utoipa::path(
    post,
    path = "/api/v1/checklist-templates",
    tag = "inspections",
    request_body = NewTemplate,
    responses(
        (status = 201, body = Template),
        (status = 403, body = super::problem::Problem),
        (status = 409, description = "conflict: the id or code exists", body = super::problem::Problem),
        (status = 422, body = super::problem::Problem),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: super::text::Json<NewTemplate>,
) -> Result<HttpResponse, AppError> {
    let input = body.into_inner();
    let clock = state.clock();
    let t = state
        .db
        .run(move |conn| templates::create(conn, &caller.0, input, clock))
        .await?;
    Ok(HttpResponse::Created().json(t))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct GetTemplate {
    /// A past version (default: the current one).
    pub version: Option<i32>,
}

/// One template at a version, with the list of its versions.
#[utoipa::path(
    get,
    path = "/api/v1/checklist-templates/{id}",
    tag = "inspections",
    params(("id" = uuid::Uuid, Path), GetTemplate),
    responses(
        (status = 200, body = TemplateDetail),
        (status = 404, body = super::problem::Problem),
        (status = 422, description = "template_version_unknown", body = super::problem::Problem),
    ),
    security(("bearer" = []))
)]
pub async fn get_one(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<uuid::Uuid>,
    query: web::Query<GetTemplate>,
) -> Result<web::Json<TemplateDetail>, AppError> {
    let id = TemplateId::from(id.into_inner());
    let version = query.version;
    let t = state
        .db
        .run(move |conn| templates::get(conn, &caller.0, &id, version))
        .await?;
    Ok(web::Json(t))
}

/// Edit a template: a new version when the content differs (inspections keep theirs).
#[utoipa::path(
    put,
    path = "/api/v1/checklist-templates/{id}",
    tag = "inspections",
    params(("id" = uuid::Uuid, Path)),
    request_body = TemplateUpdate,
    responses(
        (status = 200, body = Template),
        (status = 403, body = super::problem::Problem),
        (status = 404, body = super::problem::Problem),
        (status = 409, description = "conflict (base_version is not the current one) | template_archived", body = super::problem::Problem),
        (status = 422, body = super::problem::Problem),
    ),
    security(("bearer" = []))
)]
pub async fn update(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<uuid::Uuid>,
    body: super::text::Json<TemplateUpdate>,
) -> Result<web::Json<Template>, AppError> {
    let id = TemplateId::from(id.into_inner());
    let input = body.into_inner();
    let clock = state.clock();
    let t = state
        .db
        .run(move |conn| templates::update(conn, &caller.0, &id, input, clock))
        .await?;
    Ok(web::Json(t))
}

/// Archive a template: no new inspections may use it; those made with it keep it.
#[utoipa::path(
    post,
    path = "/api/v1/checklist-templates/{id}/archive",
    tag = "inspections",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = Template), (status = 403, body = super::problem::Problem), (status = 404, body = super::problem::Problem)),
    security(("bearer" = []))
)]
pub async fn archive(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<uuid::Uuid>,
) -> Result<web::Json<Template>, AppError> {
    set_archived(state, caller, id, true).await
}

/// Take an archived template back into use.
#[utoipa::path(
    post,
    path = "/api/v1/checklist-templates/{id}/restore",
    tag = "inspections",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = Template), (status = 403, body = super::problem::Problem), (status = 404, body = super::problem::Problem)),
    security(("bearer" = []))
)]
pub async fn restore(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<uuid::Uuid>,
) -> Result<web::Json<Template>, AppError> {
    set_archived(state, caller, id, false).await
}

async fn set_archived(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<uuid::Uuid>,
    archived: bool,
) -> Result<web::Json<Template>, AppError> {
    let id = TemplateId::from(id.into_inner());
    let clock = state.clock();
    let t = state
        .db
        .run(move |conn| templates::set_archived(conn, &caller.0, &id, archived, clock))
        .await?;
    Ok(web::Json(t))
}

/// Every template in use at its current version, as one JSON document to import elsewhere.
#[utoipa::path(
    get,
    path = "/api/v1/checklist-templates/export",
    tag = "inspections",
    responses((status = 200, body = TemplateExport)),
    security(("bearer" = []))
)]
pub async fn export(
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<HttpResponse, AppError> {
    let doc = state
        .db
        .run(move |conn| templates::export(conn, &caller.0))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((
            "content-disposition",
            "attachment; filename=\"closeout-checklist-templates.json\"",
        ))
        .json(doc))
}

/// Import an exported document: unknown templates are created, known ones (by id, else code)
/// get a new version if their content differs. All or nothing. System-wide admin only.
#[utoipa::path(
    post,
    path = "/api/v1/checklist-templates/import",
    tag = "inspections",
    request_body = TemplateExport,
    responses(
        (status = 200, body = ImportOutcome),
        (status = 403, body = super::problem::Problem),
        (status = 422, body = super::problem::Problem),
    ),
    security(("bearer" = []))
)]
pub async fn import(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: super::text::Json<TemplateExport>,
) -> Result<web::Json<ImportOutcome>, AppError> {
    let doc = body.into_inner();
    let clock = state.clock();
    let out = state
        .db
        .run(move |conn| templates::import(conn, &caller.0, doc, clock))
        .await?;
    Ok(web::Json(out))
}
