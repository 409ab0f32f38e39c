//! `/api/v1/issues`: report, list, read with history, and act on issues.

use super::extract::Authenticated;
use super::state::AppState;
use crate::domain::access;
use crate::domain::issues::import::{self, ImportReport};
use crate::domain::issues::queries::{self, IssuePage, ListRequest};
use crate::domain::issues::report::{self, NewIssue};
use crate::domain::issues::view::IssueDetail;
use crate::domain::issues::{notice, transitions};
use crate::error::{AppError, ErrorCode};
use crate::ids::{IssueId, OrgUnitId, UserId};
use crate::reports;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use closeout_sync_protocol::lifecycle::TransitionRequest;
use closeout_sync_protocol::{IssueSource, IssueState};
use serde::Deserialize;

/// Report an issue (上报). 201 when created; 200 with the same issue when this exact report (same
/// `id`) was received before — a phone may resend safely.
#[utoipa::path(
    post,
    path = "/api/v1/issues",
    tag = "issues",
    request_body = NewIssue,
    responses(
        (status = 201, body = IssueDetail),
        (status = 200, description = "a replay of a report already received", body = IssueDetail),
        (status = 403, body = super::problem::Problem),
        (status = 409, description = "issue_id_taken", body = super::problem::Problem),
        (status = 422, body = super::problem::Problem),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: web::Json<NewIssue>,
) -> Result<HttpResponse, AppError> {
    let input = body.into_inner();
    let clock = state.clock();
    let (detail, created) = state
        .db
        .run(move |conn| report::report(conn, &caller.0, input, clock))
        .await?;
    Ok(if created {
        HttpResponse::Created().json(detail)
    } else {
        HttpResponse::Ok().json(detail)
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListIssues {
    /// Comma-separated states, e.g. `assigned,rectifying`.
    pub state: Option<String>,
    /// Only issues in this place's subtree.
    pub place_id: Option<uuid::Uuid>,
    pub category: Option<String>,
    pub source: Option<IssueSource>,
    /// Only issues assigned to this unit (or units below it).
    pub responsible_unit_id: Option<uuid::Uuid>,
    pub responsible_user_id: Option<uuid::Uuid>,
    /// `true`: only open issues past their deadline.
    pub overdue: Option<bool>,
    /// Only open issues due within this many days from today.
    pub due_within_days: Option<u32>,
    /// Text in the title, description or ledger number.
    pub q: Option<String>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    pub closed_from: Option<DateTime<Utc>>,
    pub closed_to: Option<DateTime<Utc>>,
    /// From the previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
}

/// Issues the caller may see (by place, or as the responsible unit), newest first, filtered.
#[utoipa::path(
    get,
    path = "/api/v1/issues",
    tag = "issues",
    params(ListIssues),
    responses((status = 200, body = IssuePage), (status = 400, body = super::problem::Problem)),
    security(("bearer" = []))
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Authenticated,
    query: web::Query<ListIssues>,
) -> Result<web::Json<IssuePage>, AppError> {
    let request = query.into_inner().into_request()?;
    let clock = state.clock();
    let page = state
        .db
        .run(move |conn| queries::list(conn, &caller.0, request, clock))
        .await?;
    Ok(web::Json(page))
}

impl ListIssues {
    /// The list filters, checked: the one parser of `GET /issues` and of the reports that take
    /// the same filters (ledger export, album).
    pub fn into_request(self) -> Result<ListRequest, AppError> {
        let q = self;
        let mut states = Vec::new();
        for s in q
            .state
            .iter()
            .flat_map(|s| s.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            states.push(IssueState::parse(s).ok_or_else(|| {
                AppError::new(
                    ErrorCode::InvalidQuery,
                    format!("state: unknown state `{s}`"),
                )
                .zh(format!("未知状态“{s}”"))
            })?);
        }
        if q.overdue == Some(false) {
            return Err(AppError::new(
                ErrorCode::InvalidQuery,
                "overdue: only `true` is supported",
            )
            .zh("overdue 仅支持 true"));
        }
        Ok(ListRequest {
            states,
            place_id: q.place_id.map(OrgUnitId::from),
            category: q.category,
            source: q.source,
            responsible_unit_id: q.responsible_unit_id.map(OrgUnitId::from),
            responsible_user_id: q.responsible_user_id.map(UserId::from),
            overdue: q.overdue == Some(true),
            due_within_days: q.due_within_days,
            text: q.q,
            created_from: q.created_from,
            created_to: q.created_to,
            closed_from: q.closed_from,
            closed_to: q.closed_to,
            cursor: q.cursor,
            limit: crate::domain::keyset::page_limit(q.limit, 50, 200)?,
        })
    }
}

/// One issue with its whole history (404 if the caller may not see it).
#[utoipa::path(
    get,
    path = "/api/v1/issues/{id}",
    tag = "issues",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = IssueDetail), (status = 404, body = super::problem::Problem)),
    security(("bearer" = []))
)]
pub async fn get_one(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<uuid::Uuid>,
) -> Result<web::Json<IssueDetail>, AppError> {
    let id = IssueId::from(id.into_inner());
    let clock = state.clock();
    let detail = state
        .db
        .run(move |conn| queries::detail(conn, &caller.0, &id, clock))
        .await?;
    Ok(web::Json(detail))
}

/// Act on an issue: `{"action": "assign" | "acknowledge" | "progress" | "submit" | "approve" |
/// "return" | "reopen" | "request_extension" | "decide_extension" | "reject" | "mark_duplicate" |
/// "escalate" | "comment", …the action's fields}`. See docs/ledger.md for who may do what when.
#[utoipa::path(
    post,
    path = "/api/v1/issues/{id}/transitions",
    tag = "issues",
    params(("id" = uuid::Uuid, Path)),
    request_body = TransitionRequest,
    responses(
        (status = 200, body = IssueDetail),
        (status = 403, description = "forbidden: the action needs a role you do not hold for this issue", body = super::problem::Problem),
        (status = 404, body = super::problem::Problem),
        (status = 409, description = "invalid_transition | concurrent_update | no_pending_extension | extension_already_pending | escalation_at_top", body = super::problem::Problem),
        (status = 422, body = super::problem::Problem),
    ),
    security(("bearer" = []))
)]
pub async fn transition(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<uuid::Uuid>,
    body: web::Json<TransitionRequest>,
) -> Result<web::Json<IssueDetail>, AppError> {
    let id = IssueId::from(id.into_inner());
    let request = body.into_inner();
    let clock = state.clock();
    let evidence = state.evidence();
    let detail = state
        .db
        .run(move |conn| transitions::apply(conn, &caller.0, &id, request, clock, evidence))
        .await?;
    Ok(web::Json(detail))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ImportParams {
    /// The file's name, recorded in each issue's history (default `upload`).
    pub file_name: Option<String>,
}

/// Import a handed-down list (交办清单): the body is the .xlsx or .csv file itself. All rows or
/// none: any bad row refuses the whole file (422 `import_rejected` with `errors[]`: row, reason,
/// reason_zh). Needs the supervisor or admin role for every row's place.
#[utoipa::path(
    post,
    path = "/api/v1/issues/import",
    tag = "issues",
    params(ImportParams),
    request_body(content = Vec<u8>, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    responses(
        (status = 201, body = ImportReport),
        (status = 403, body = super::problem::Problem),
        (status = 422, description = "import_rejected, with errors[]", body = super::problem::Problem),
    ),
    security(("bearer" = []))
)]
pub async fn import_list(
    state: web::Data<AppState>,
    caller: Authenticated,
    params: web::Query<ImportParams>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let caller = caller.0;
    if caller
        .subtrees_with(closeout_sync_protocol::Role::Supervisor)
        .is_empty()
    {
        access::require_any(&caller, closeout_sync_protocol::Role::Admin)?;
    }
    let file_name = params
        .into_inner()
        .file_name
        .unwrap_or_else(|| "upload".into());
    let clock = state.clock();
    let report = state
        .db
        .run(move |conn| import::import(conn, &caller, &body, &file_name, clock, &mut |_, _| {}))
        .await?;
    Ok(HttpResponse::Created().json(report))
}

/// The rectification notice (整改通知书) of an assigned issue, as a printable HTML page.
#[utoipa::path(
    get,
    path = "/api/v1/issues/{id}/notice",
    tag = "issues",
    params(("id" = uuid::Uuid, Path)),
    responses(
        (status = 200, content_type = "text/html"),
        (status = 404, body = super::problem::Problem),
        (status = 409, description = "not_assigned", body = super::problem::Problem),
    ),
    security(("bearer" = []))
)]
pub async fn notice_page(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, AppError> {
    let id = IssueId::from(id.into_inner());
    let clock = state.clock();
    let data = state
        .db
        .run(move |conn| notice::gather(conn, &caller.0, &id, clock))
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("content-security-policy", "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"))
        .body(reports::notice::render(&data)))
}

/// Evidence checks on the issue's photos: each photo's flags with their figures.
#[utoipa::path(
    get,
    path = "/api/v1/issues/{id}/evidence",
    tag = "issues",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = crate::domain::evidence::Evidence), (status = 404, body = super::problem::Problem)),
    security(("bearer" = []))
)]
pub async fn evidence(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<uuid::Uuid>,
) -> Result<web::Json<crate::domain::evidence::Evidence>, AppError> {
    let id = IssueId::from(id.into_inner());
    let policy = crate::domain::evidence::EvidencePolicy::from_settings(&state.settings);
    let evidence = state
        .db
        .run(move |conn| crate::domain::evidence::evaluate(conn, &caller.0, &id, policy))
        .await?;
    Ok(web::Json(evidence))
}
