//! `/api/v1/issues`: report, list, read with history, and act on issues.

use super::extract::Authenticated;
use super::state::AppState;
use crate::domain::access;
use crate::domain::issues::import_plan::{self, ImportFile, ImportPlan, ImportReport};
use crate::domain::issues::import_record::{self, ImportSummary};
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
use closeout_sync_protocol::{IssueSource, IssueState, Light};
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
    body: super::text::Json<NewIssue>,
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
    /// Only open issues due within this many days from today (at most 3660).
    #[param(maximum = 3660)]
    pub due_within_days: Option<u32>,
    /// Only open issues with these lights (亮灯), comma-separated: `green`, `yellow`, `red`.
    pub light: Option<String>,
    /// Text in the title, description or ledger number.
    pub q: Option<String>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    pub closed_from: Option<DateTime<Utc>>,
    pub closed_to: Option<DateTime<Utc>>,
    /// Order: `-created_at` (default, newest first), `created_at` (oldest first), `deadline`
    /// (soonest first) or `-deadline` (latest first); issues without a deadline come last in
    /// both deadline orders. Keep it unchanged while following `next_cursor`.
    pub sort: Option<String>,
    /// From the previous page's `next_cursor` (of the same `sort`).
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

/// Ten years: further ahead no deadline is set, and the date arithmetic stays in range.
const MAX_DUE_WITHIN_DAYS: u32 = 3660;

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
        let mut lights = Vec::new();
        for s in q
            .light
            .iter()
            .flat_map(|s| s.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let light = Light::parse(s).ok_or_else(|| {
                AppError::new(
                    ErrorCode::InvalidQuery,
                    format!("light: `{s}` is not green, yellow or red"),
                )
                .zh(format!("亮灯“{s}”须为 green、yellow 或 red"))
            })?;
            if !lights.contains(&light) {
                lights.push(light);
            }
        }
        if q.due_within_days.is_some_and(|d| d > MAX_DUE_WITHIN_DAYS) {
            return Err(AppError::new(
                ErrorCode::InvalidQuery,
                format!("due_within_days: at most {MAX_DUE_WITHIN_DAYS}"),
            )
            .zh(format!("due_within_days 不能超过 {MAX_DUE_WITHIN_DAYS}")));
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
            lights,
            text: q.q,
            created_from: q.created_from,
            created_to: q.created_to,
            closed_from: q.closed_from,
            closed_to: q.closed_to,
            cursor: q.cursor,
            sort: q
                .sort
                .as_deref()
                .map(crate::domain::issues::sort::IssueSort::parse)
                .transpose()?
                .unwrap_or_default(),
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
/// "escalate" | "comment" | "instruct", …the action's fields}`. See docs/ledger.md for who may do what when.
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
    body: super::text::Json<TransitionRequest>,
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
    /// The list's name, the first half of each row's stable key (list + 序号). Default: the
    /// title line above the header, else the file name without extension.
    pub list: Option<String>,
}

impl ImportParams {
    fn into_parts(self) -> (String, Option<String>) {
        (self.file_name.unwrap_or_else(|| "upload".into()), self.list)
    }
}

/// Only supervisors and admins import; the rows' places are checked one by one after.
fn require_importer(caller: &crate::domain::access::Caller) -> Result<(), AppError> {
    if caller
        .subtrees_with(closeout_sync_protocol::Role::Supervisor)
        .is_empty()
    {
        access::require_any(caller, closeout_sync_protocol::Role::Admin)?;
    }
    Ok(())
}

/// Import a handed-down list (交办清单): the body is the .xlsx or .csv file itself. All rows or
/// none: any bad row refuses the whole file (422 `import_rejected` with `errors[]`: row, reason,
/// reason_zh). A file imported before is refused (409 `import_already_done`, with `import`).
/// Rows with a 序号 are keyed by list + 序号: a corrected re-send updates or skips them.
/// Needs the supervisor or admin role for every row's place.
#[utoipa::path(
    post,
    path = "/api/v1/issues/import",
    tag = "issues",
    params(ImportParams),
    request_body(content = Vec<u8>, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    responses(
        (status = 201, body = ImportReport),
        (status = 403, body = super::problem::Problem),
        (status = 409, description = "import_already_done, with import", body = super::problem::Problem),
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
    require_importer(&caller)?;
    let (file_name, list) = params.into_inner().into_parts();
    let clock = state.clock();
    let report = state
        .db
        .run(move |conn| {
            let file = ImportFile {
                bytes: &body,
                file_name: &file_name,
                list: list.as_deref(),
            };
            import_plan::import(conn, &caller, &file, clock, &mut |_, _| {})
        })
        .await?;
    Ok(HttpResponse::Created().json(report))
}

/// The dry run of an import: what each row would become (create, update, skip) and every
/// problem, without writing anything. 200 even when rows are bad (see `errors`) or the file was
/// imported before (see `already_imported`); 422 only for a file that is no list at all.
#[utoipa::path(
    post,
    path = "/api/v1/issues/import/preview",
    tag = "issues",
    params(ImportParams),
    request_body(content = Vec<u8>, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    responses(
        (status = 200, body = ImportPlan),
        (status = 403, body = super::problem::Problem),
        (status = 422, description = "import_rejected: no header row", body = super::problem::Problem),
    ),
    security(("bearer" = []))
)]
pub async fn import_preview(
    state: web::Data<AppState>,
    caller: Authenticated,
    params: web::Query<ImportParams>,
    body: web::Bytes,
) -> Result<web::Json<ImportPlan>, AppError> {
    let caller = caller.0;
    require_importer(&caller)?;
    let (file_name, list) = params.into_inner().into_parts();
    let clock = state.clock();
    let plan = state
        .db
        .run(move |conn| {
            let file = ImportFile {
                bytes: &body,
                file_name: &file_name,
                list: list.as_deref(),
            };
            import_plan::preview(conn, &caller, &file, clock)
        })
        .await?;
    Ok(web::Json(plan))
}

/// Imports of handed-down lists within the caller's supervisor or admin places, newest first
/// (at most 500), undone ones included.
#[utoipa::path(
    get,
    path = "/api/v1/issues/imports",
    tag = "issues",
    responses(
        (status = 200, body = Vec<ImportSummary>),
        (status = 403, body = super::problem::Problem),
    ),
    security(("bearer" = []))
)]
pub async fn imports(
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<web::Json<Vec<ImportSummary>>, AppError> {
    let list = state
        .db
        .run(move |conn| import_record::list(conn, &caller.0))
        .await?;
    Ok(web::Json(list))
}

/// Undo an import while none of its issues has moved: its issues are removed (phones are told to
/// drop them) and the record is marked undone. 409 `import_not_undoable` otherwise.
#[utoipa::path(
    post,
    path = "/api/v1/issues/imports/{id}/undo",
    tag = "issues",
    params(("id" = uuid::Uuid, Path)),
    responses(
        (status = 200, body = ImportSummary),
        (status = 403, body = super::problem::Problem),
        (status = 404, body = super::problem::Problem),
        (status = 409, description = "import_not_undoable", body = super::problem::Problem),
    ),
    security(("bearer" = []))
)]
pub async fn undo_import(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<uuid::Uuid>,
) -> Result<web::Json<ImportSummary>, AppError> {
    let id = id.into_inner().to_string();
    let clock = state.clock();
    let summary = state
        .db
        .run(move |conn| import_record::undo(conn, &caller.0, &id, clock))
        .await?;
    Ok(web::Json(summary))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DocumentParams {
    /// `html` (default, printable) or `docx` (Word/WPS, to edit before issuing).
    pub format: Option<String>,
}

/// `html` (true) or `docx` (false); anything else is `400 invalid_query`.
pub fn html_or_docx(format: Option<&str>) -> Result<bool, AppError> {
    match format {
        None | Some("html") => Ok(true),
        Some("docx") => Ok(false),
        Some(other) => Err(AppError::new(
            crate::error::ErrorCode::InvalidQuery,
            format!("format: `{other}` is not html or docx"),
        )
        .zh(format!("不支持的格式“{other}”（可选 html、docx）"))),
    }
}

/// `name` with only ASCII letters, digits and `-` kept (a header-safe file name).
pub fn ascii_name(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// A DOCX download named `name`.
pub fn docx_response(bytes: Vec<u8>, name: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(reports::docx::CONTENT_TYPE)
        .insert_header((
            "content-disposition",
            format!("attachment; filename=\"{name}.docx\""),
        ))
        .body(bytes)
}

/// The rectification notice (整改通知书) of an assigned issue, with its 文号 (allocated the first
/// time the notice is produced), as a printable HTML page or a DOCX to edit before issuing.
#[utoipa::path(
    get,
    path = "/api/v1/issues/{id}/notice",
    tag = "issues",
    params(("id" = uuid::Uuid, Path), DocumentParams),
    responses(
        (status = 200, content_type = "text/html"),
        (status = 400, body = super::problem::Problem),
        (status = 404, body = super::problem::Problem),
        (status = 409, description = "not_assigned", body = super::problem::Problem),
    ),
    security(("bearer" = []))
)]
pub async fn notice_page(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<uuid::Uuid>,
    query: web::Query<DocumentParams>,
) -> Result<HttpResponse, AppError> {
    let id = IssueId::from(id.into_inner());
    notice_document(&state, caller.0, id, query.format.as_deref()).await
}

/// The notice for `caller` (the API's and the console's), HTML or DOCX.
pub async fn notice_document(
    state: &AppState,
    caller: crate::domain::access::Caller,
    id: IssueId,
    format: Option<&str>,
) -> Result<HttpResponse, AppError> {
    let html = html_or_docx(format)?;
    let clock = state.clock();
    let settings = state.settings.documents.clone();
    let data = state
        .db
        .run(move |conn| notice::gather(conn, &caller, &id, clock, &settings))
        .await?;
    if !html {
        return Ok(docx_response(
            reports::docx::notice(&data)?,
            &format!("notice-{}", ascii_name(&data.ledger_no)),
        ));
    }
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("content-security-policy", "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"))
        .body(reports::notice::render(
            &data,
            &super::photos::signed_thumbnail_src(state),
        )))
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
