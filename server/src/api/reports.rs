//! `/api/v1/reports/*`: the ledger export (XLSX, CSV, GeoJSON; streamed), statistics, bulletins
//! and before/after albums. Every report is scoped to the caller exactly like the issue list.

use super::extract::Authenticated;
use super::issues::ListIssues;
use super::state::AppState;
use super::stream;
use crate::domain::access::Caller;
use crate::domain::issues::queries::ListRequest;
use crate::domain::reports::album;
use crate::domain::reports::bulletin::{self, Bulletin};
use crate::domain::reports::ledger::{self as ledger_data, Office};
use crate::domain::reports::period::Period;
use crate::domain::reports::rankings::{self, Rankings};
use crate::domain::reports::stats::{self, Stats};
use crate::error::{AppError, ErrorCode};
use crate::ids::{IssueId, OrgUnitId};
use crate::reports::ledger::{self, Format};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use std::collections::HashMap;

/// Splits a query string into the parameters named in `own` (decoded) and the issue-list filters
/// (parsed by the list's own parser, so a filter means the same here as on `GET /issues`).
pub fn split_query(
    query: &str,
    own: &[&str],
) -> Result<(HashMap<String, String>, ListRequest), AppError> {
    let (mine, filters): (Vec<&str>, Vec<&str>) = query
        .split('&')
        .filter(|p| !p.is_empty())
        .partition(|pair| own.contains(&pair.split('=').next().unwrap_or("")));
    let bad = |e: actix_web::error::QueryPayloadError| {
        AppError::new(ErrorCode::InvalidQuery, e.to_string()).zh(format!("查询参数无效：{e}"))
    };
    let mine = web::Query::<HashMap<String, String>>::from_query(&mine.join("&"))
        .map_err(bad)?
        .into_inner();
    let filters = web::Query::<ListIssues>::from_query(&filters.join("&"))
        .map_err(bad)?
        .into_inner();
    if filters.cursor.is_some() || filters.limit.is_some() {
        return Err(AppError::new(
            ErrorCode::InvalidQuery,
            "cursor, limit: a report covers every matching issue; drop them",
        )
        .zh("报表包含全部符合条件的问题，请去掉 cursor 和 limit 参数"));
    }
    Ok((mine, filters.into_request()?))
}

pub fn office(state: &AppState) -> Office {
    Office::new(state.clock()).with_evidence(
        crate::domain::evidence::EvidencePolicy::from_settings(&state.settings),
    )
}

/// The rectification ledger (整改台账) as a file: `format=xlsx` (default), `csv` or `geojson`,
/// with the same filters as `GET /api/v1/issues` (no `cursor`/`limit`: every matching issue).
/// The body is streamed; an export that fails midway ends the response with an error rather
/// than a file that looks complete.
#[utoipa::path(
    get,
    path = "/api/v1/reports/ledger",
    tag = "reports",
    params(
        ("format" = Option<String>, Query, description = "xlsx (default), csv or geojson"),
        ListIssues,
    ),
    responses(
        (status = 200, description = "the file", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 400, body = super::problem::Problem),
        (status = 404, description = "place_id outside the caller's places", body = super::problem::Problem),
    ),
    security(("bearer" = []))
)]
pub async fn ledger_export(
    state: web::Data<AppState>,
    caller: Authenticated,
    http: HttpRequest,
) -> Result<HttpResponse, AppError> {
    export_ledger(&state, caller.0, http.query_string()).await
}

/// The ledger file for a query string of list filters plus `format`: the API's export and the
/// console's export buttons both answer with this.
pub async fn export_ledger(
    state: &AppState,
    caller: crate::domain::access::Caller,
    query: &str,
) -> Result<HttpResponse, AppError> {
    let (own, request) = split_query(query, &["format"])?;
    let format = Format::parse(own.get("format").map_or("xlsx", String::as_str))?;
    let office = office(state);
    let (c, r) = (caller.clone(), request.clone());
    let meta = state
        .db
        .run(move |conn| ledger_data::prepare(conn, &c, &r, office))
        .await?;
    let (writer, aborter, body) = stream::channel();
    let db = state.db.clone();
    let file_name = format!(
        "closeout-ledger-{}.{}",
        meta.as_of.format("%Y%m%d"),
        format.extension()
    );
    tokio::task::spawn_blocking(move || {
        let result = db.get().and_then(|mut conn| {
            ledger::export(
                &mut conn,
                &caller,
                &request,
                office,
                &meta,
                format,
                writer,
                &mut |_| {},
            )
        });
        if let Err(e) = result {
            tracing::error!(error = %e, source = ?e.source, "ledger export failed midway");
            aborter.abort(e.detail);
        }
    });
    Ok(HttpResponse::Ok()
        .content_type(format.content_type())
        .insert_header((
            "content-disposition",
            format!("attachment; filename=\"{file_name}\""),
        ))
        .body(body))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StatsParams {
    /// The place whose children are compared (default: the caller's one place).
    pub parent: Option<uuid::Uuid>,
    /// `2026-W47` (ISO week) or `2026-11` (month). Default: this month so far.
    pub period: Option<String>,
    /// First day (YYYY-MM-DD), with `to`, instead of `period`.
    pub from: Option<String>,
    /// Last day, included.
    pub to: Option<String>,
}

impl StatsParams {
    pub fn period(&self, today: chrono::NaiveDate) -> Result<Period, AppError> {
        Period::parse(
            self.period.as_deref(),
            self.from.as_deref(),
            self.to.as_deref(),
            today,
        )
    }
}

/// Statistics of a period per child place of `parent` and per category, with the open backlog
/// at the end of each day (动态清零). See docs/reports.md for what each figure counts.
#[utoipa::path(
    get,
    path = "/api/v1/reports/stats",
    tag = "reports",
    params(StatsParams),
    responses(
        (status = 200, body = Stats),
        (status = 400, body = super::problem::Problem),
        (status = 404, description = "parent outside the caller's places", body = super::problem::Problem),
    ),
    security(("bearer" = []))
)]
pub async fn stats(
    state: web::Data<AppState>,
    caller: Authenticated,
    query: web::Query<StatsParams>,
) -> Result<web::Json<Stats>, AppError> {
    let office = office(&state);
    let q = query.into_inner();
    let period = q.period(office.clock.today)?;
    let threshold = long_overdue_days(&state);
    let figures = state.db.figures();
    let stats = state
        .db
        .run(move |conn| {
            stats::compute(
                conn,
                &figures,
                &caller.0,
                q.parent.map(OrgUnitId::from),
                period,
                office,
                threshold,
            )
        })
        .await?;
    Ok(web::Json(stats))
}

/// Days overdue beyond which a bulletin reprimands: the 通报 step of the escalation ladder.
fn long_overdue_days(state: &AppState) -> i64 {
    state
        .settings
        .ledger
        .escalation_days
        .get(1)
        .copied()
        .unwrap_or(7)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct BulletinParams {
    /// The place whose children are ranked (default: the caller's one place).
    pub parent: Option<uuid::Uuid>,
    /// `2026-W47` (weekly bulletin) or `2026-11` (monthly). Default: this month so far.
    pub period: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// `html` (default, printable), `docx` (Word/WPS, to edit before issuing) or `json`.
    pub format: Option<String>,
}

/// The weekly or monthly bulletin (周/月通报): totals against the previous period, places ranked
/// by closure rate then overdue, praised and reprimanded places, the overdue list with
/// responsible units. A printable Chinese HTML page, or its data as JSON.
#[utoipa::path(
    get,
    path = "/api/v1/reports/bulletin",
    tag = "reports",
    params(BulletinParams),
    responses(
        (status = 200, description = "text/html page, or JSON with format=json", body = Bulletin),
        (status = 400, body = super::problem::Problem),
        (status = 404, description = "parent outside the caller's places", body = super::problem::Problem),
    ),
    security(("bearer" = []))
)]
pub async fn bulletin(
    state: web::Data<AppState>,
    caller: Authenticated,
    query: web::Query<BulletinParams>,
) -> Result<HttpResponse, AppError> {
    bulletin_document(&state, caller.0, query.into_inner()).await
}

/// The bulletin for `caller` (the API's and the console's): HTML, DOCX or JSON.
pub async fn bulletin_document(
    state: &AppState,
    caller: Caller,
    q: BulletinParams,
) -> Result<HttpResponse, AppError> {
    let office = office(state);
    let format = match q.format.as_deref() {
        None | Some("html") => "html",
        Some("docx") => "docx",
        Some("json") => "json",
        Some(other) => {
            return Err(AppError::new(
                ErrorCode::InvalidQuery,
                format!("format: `{other}` is not html, docx or json"),
            )
            .zh(format!("不支持的格式“{other}”（可选 html、docx、json）")));
        }
    };
    let period = Period::parse(
        q.period.as_deref(),
        q.from.as_deref(),
        q.to.as_deref(),
        office.clock.today,
    )?;
    let threshold = long_overdue_days(state);
    let parent = q.parent.map(OrgUnitId::from);
    let settings = state.settings.documents.clone();
    let figures = state.db.figures();
    let (data, official) = state
        .db
        .run(move |conn| {
            let data =
                bulletin::compute(conn, &figures, &caller, parent, period, office, threshold)?;
            // The printed forms are issued documents: they carry a 文号 of the parent's office.
            let official = if format == "json" {
                None
            } else {
                let place = crate::db::org_units::find(conn, &data.parent.id)?
                    .ok_or_else(|| AppError::not_found("place"))?;
                let subject = format!("{}|{}|{}", data.parent.id, data.period.from, data.period.to);
                Some(crate::domain::documents::issue(
                    conn,
                    &settings,
                    "bulletin",
                    &subject,
                    &place,
                    office.clock.today,
                    &caller.user_id,
                    office.clock.now,
                )?)
            };
            Ok::<_, AppError>((data, official))
        })
        .await?;
    Ok(match official {
        None => HttpResponse::Ok().json(data),
        Some(o) if format == "docx" => super::issues::docx_response(
            crate::reports::docx::bulletin(&data, &o)?,
            &format!("bulletin-{}-{}", data.period.from, data.period.to),
        ),
        Some(o) => printable(crate::reports::bulletin::render(&data, &o)),
    })
}

/// A printable page: HTML with a Content-Security-Policy that allows only this server's images.
pub fn printable(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("content-security-policy", "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"))
        .body(body)
}

/// The before/after album (整改前后对比图册) as a printable HTML page: `issue_id` for one issue,
/// or the issue list's filters (at most 200 issues per album).
#[utoipa::path(
    get,
    path = "/api/v1/reports/album",
    tag = "reports",
    params(
        ("issue_id" = Option<uuid::Uuid>, Query, description = "one issue's album"),
        ListIssues,
    ),
    responses(
        (status = 200, content_type = "text/html"),
        (status = 400, body = super::problem::Problem),
        (status = 404, body = super::problem::Problem),
    ),
    security(("bearer" = []))
)]
pub async fn album(
    state: web::Data<AppState>,
    caller: Authenticated,
    http: HttpRequest,
) -> Result<HttpResponse, AppError> {
    album_document(&state, caller.0, http.query_string()).await
}

/// The album for `caller` (the API's and the console's) from the album's query string.
pub async fn album_document(
    state: &AppState,
    caller: Caller,
    query: &str,
) -> Result<HttpResponse, AppError> {
    let (own, request) = split_query(query, &["issue_id"])?;
    let issue = own
        .get("issue_id")
        .map(|s| {
            uuid::Uuid::parse_str(s).map(IssueId::from).map_err(|_| {
                AppError::new(ErrorCode::InvalidQuery, "issue_id: not a UUID")
                    .zh("issue_id 无效（应为 UUID）")
            })
        })
        .transpose()?;
    let office = office(state);
    let data = state
        .db
        .run(move |conn| album::gather(conn, &caller, &request, issue, office))
        .await?;
    let title = match data.entries.as_slice() {
        [one] if own.contains_key("issue_id") => {
            format!("整改前后对比图册（{}）", one.line.ledger_no)
        }
        _ => "整改前后对比图册".to_owned(),
    };
    let src = super::photos::signed_thumbnail_src(state);
    Ok(printable(crate::reports::album::render(
        &data, &title, &src,
    )))
}

/// Rankings (排名) of the child places of `parent` for a period: the mean inspection percentage
/// (a missed scheduled inspection counts as 0 %) minus deductions (错报、漏报、瞒报). See
/// docs/inspections.md for the rule.
#[utoipa::path(
    get,
    path = "/api/v1/reports/rankings",
    tag = "reports",
    params(StatsParams),
    responses(
        (status = 200, body = Rankings),
        (status = 400, body = super::problem::Problem),
        (status = 404, description = "parent outside the caller's places", body = super::problem::Problem),
    ),
    security(("bearer" = []))
)]
pub async fn rankings(
    state: web::Data<AppState>,
    caller: Authenticated,
    query: web::Query<StatsParams>,
) -> Result<web::Json<Rankings>, AppError> {
    let clock = state.clock();
    let q = query.into_inner();
    let period = q.period(clock.today)?;
    let parent = q.parent.map(OrgUnitId::from);
    let r = state
        .db
        .run(move |conn| rankings::compute(conn, &caller.0, parent, period, clock))
        .await?;
    Ok(web::Json(r))
}
