//! 整改台账: the ledger with every filter of `GET /api/v1/issues` (parsed by the API's own
//! `ListIssues`), keyset paging ("more" loads the next page in place with htmx, or as a plain
//! link without it), and export buttons that send exactly the shown filters to the ledger export.

use crate::api::issues::ListIssues;
use crate::api::state::AppState;
use crate::console::errors::ConsoleError;
use crate::console::page::{Head, Nav, html, is_htmx};
use crate::console::session::ConsoleUser;
use crate::domain::issues::queries;
use crate::domain::issues::sort::IssueSort;
use crate::domain::issues::view::Issue;
use crate::domain::reports::names::Names;
use crate::error::{AppError, ErrorCode};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use closeout_sync_protocol::IssueState;

/// One ledger line as the page shows it.
pub struct Row {
    pub id: String,
    pub ledger_no: String,
    pub title: String,
    pub state: &'static str,
    pub state_code: &'static str,
    pub place: String,
    pub category: String,
    pub deadline: String,
    pub overdue_days: i64,
    pub escalation: &'static str,
    pub created: String,
    /// `green` / `yellow` / `red`, or empty once closed.
    pub light: &'static str,
    pub light_zh: &'static str,
    /// Why, in words (距完成时限还有 2 天 …).
    pub light_why: String,
}

impl Row {
    pub fn of(
        conn: &mut crate::db::DbConnection,
        names: &mut Names,
        issue: Issue,
    ) -> Result<Self, AppError> {
        Ok(Self {
            id: issue.id.to_string(),
            place: names.unit_name(conn, &issue.place_id)?,
            category: names.category(&issue.category),
            ledger_no: issue.ledger_no,
            title: issue.title,
            state: issue.state.name_zh(),
            state_code: issue.state.as_str(),
            deadline: issue.deadline.map(|d| d.to_string()).unwrap_or_default(),
            overdue_days: issue.days_overdue,
            escalation: crate::domain::issues::view::ESCALATION_NAMES_ZH
                .get(issue.escalation_level.clamp(0, 4) as usize)
                .copied()
                .unwrap_or(""),
            created: issue.created_at.format("%Y-%m-%d").to_string(),
            light: issue
                .light
                .map_or("", closeout_sync_protocol::Light::as_str),
            light_zh: issue
                .light
                .map_or("", closeout_sync_protocol::Light::name_zh),
            light_why: issue
                .light_cause
                .map(|c| c.explain_zh())
                .unwrap_or_default(),
        })
    }
}

/// The filter form's current values (empty when not given).
#[derive(Default)]
pub struct Filters {
    pub state: String,
    pub place_id: String,
    pub category: String,
    pub source: String,
    pub responsible_unit_id: String,
    pub responsible_user_id: String,
    pub overdue: bool,
    pub due_within_days: String,
    pub light: String,
    pub q: String,
    pub created_from: String,
    pub created_to: String,
    pub closed_from: String,
    pub closed_to: String,
    /// `sort=` as given (empty: the default, newest first).
    pub sort: String,
}

/// A sortable column's header link: what clicking it sorts by, and the arrow of the current order.
pub struct SortLink {
    pub href: String,
    pub on: bool,
    pub arrow: &'static str,
}

/// The header links of the 时限 and 上报 columns: a click on the current column flips it, a
/// click on another starts with that column's natural order (soonest deadline, newest report).
fn sort_links(base: &str, current: IssueSort) -> (SortLink, SortLink) {
    let link = |to: IssueSort| {
        let sep = if base.is_empty() { "" } else { "&" };
        format!("/console/issues?{base}{sep}sort={}", encode(to.as_str()))
    };
    let deadline = match current {
        IssueSort::DeadlineAsc => SortLink {
            href: link(IssueSort::DeadlineDesc),
            on: true,
            arrow: "↑",
        },
        IssueSort::DeadlineDesc => SortLink {
            href: link(IssueSort::DeadlineAsc),
            on: true,
            arrow: "↓",
        },
        _ => SortLink {
            href: link(IssueSort::DeadlineAsc),
            on: false,
            arrow: "",
        },
    };
    let created = match current {
        IssueSort::CreatedDesc => SortLink {
            href: link(IssueSort::CreatedAsc),
            on: true,
            arrow: "↓",
        },
        IssueSort::CreatedAsc => SortLink {
            href: link(IssueSort::CreatedDesc),
            on: true,
            arrow: "↑",
        },
        _ => SortLink {
            href: link(IssueSort::CreatedDesc),
            on: false,
            arrow: "",
        },
    };
    (deadline, created)
}

fn encode(s: &str) -> String {
    crate::console::errors::url_encode(s)
}

pub struct StateOption {
    pub code: &'static str,
    pub name: &'static str,
}

#[derive(Template)]
#[template(path = "ledger.html")]
struct LedgerPage {
    head: Head,
    nav: Nav,
    filters: Filters,
    states: Vec<StateOption>,
    rows: Vec<Row>,
    total: i64,
    more: Option<String>,
    export_query: String,
    sort_deadline: SortLink,
    sort_created: SortLink,
}

#[derive(Template)]
#[template(path = "_ledger_rows.html")]
struct LedgerRows {
    rows: Vec<Row>,
    more: Option<String>,
}

/// The query without empty fields (an empty form field means "no filter") and without `cursor`.
pub fn clean_query(query: &str, drop: &[&str]) -> String {
    query
        .split('&')
        .filter(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            !k.is_empty() && !v.is_empty() && !drop.contains(&k)
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn bad_query(e: actix_web::error::QueryPayloadError) -> AppError {
    AppError::new(ErrorCode::InvalidQuery, e.to_string()).zh(format!("筛选条件无效：{e}"))
}

/// `GET /console/issues`: the page, or (htmx "more") the next rows.
pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: ConsoleUser,
) -> Result<HttpResponse, ConsoleError> {
    let query = clean_query(req.query_string(), &["format"]);
    if req.query_string().contains("format=") {
        let export = clean_query(req.query_string(), &["cursor", "limit"]);
        return Ok(
            crate::api::reports::export_ledger(&state, user.caller().clone(), &export).await?,
        );
    }
    let params = web::Query::<ListIssues>::from_query(&query)
        .map_err(bad_query)?
        .into_inner();
    let filters = Filters {
        state: params.state.clone().unwrap_or_default(),
        place_id: params.place_id.map(|v| v.to_string()).unwrap_or_default(),
        category: params.category.clone().unwrap_or_default(),
        source: params
            .source
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        responsible_unit_id: params
            .responsible_unit_id
            .map(|v| v.to_string())
            .unwrap_or_default(),
        responsible_user_id: params
            .responsible_user_id
            .map(|v| v.to_string())
            .unwrap_or_default(),
        overdue: params.overdue == Some(true),
        due_within_days: params
            .due_within_days
            .map(|v| v.to_string())
            .unwrap_or_default(),
        light: params.light.clone().unwrap_or_default(),
        q: params.q.clone().unwrap_or_default(),
        created_from: params
            .created_from
            .map(|v| v.to_rfc3339())
            .unwrap_or_default(),
        created_to: params
            .created_to
            .map(|v| v.to_rfc3339())
            .unwrap_or_default(),
        closed_from: params
            .closed_from
            .map(|v| v.to_rfc3339())
            .unwrap_or_default(),
        closed_to: params.closed_to.map(|v| v.to_rfc3339()).unwrap_or_default(),
        sort: params.sort.clone().unwrap_or_default(),
    };
    let request = params.into_request()?;
    let (sort_deadline, sort_created) =
        sort_links(&clean_query(&query, &["cursor", "sort"]), request.sort);
    let clock = state.clock();
    let caller = user.caller().clone();
    let first_page = request.cursor.is_none();
    let (rows, next, total) = state
        .db
        .run(move |conn| {
            let total = if first_page {
                queries::count(conn, &caller, &request, clock)?
            } else {
                0
            };
            let page = queries::list(conn, &caller, request, clock)?;
            let mut names = Names::new(conn)?;
            let rows = page
                .items
                .into_iter()
                .map(|i| Row::of(conn, &mut names, i))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((rows, page.next_cursor, total))
        })
        .await?;
    let base = clean_query(&query, &["cursor"]);
    let more = next.map(|c| {
        let sep = if base.is_empty() { "" } else { "&" };
        format!("/console/issues?{base}{sep}cursor={}", encode(&c))
    });
    if is_htmx(&req) {
        return html(&LedgerRows { rows, more });
    }
    html(&LedgerPage {
        head: Head::new(),
        nav: Nav::of(&user, "ledger"),
        filters,
        states: IssueState::ALL
            .into_iter()
            .map(|s| StateOption {
                code: s.as_str(),
                name: s.name_zh(),
            })
            .collect(),
        rows,
        total,
        more,
        export_query: clean_query(&query, &["cursor", "limit"]),
        sort_deadline,
        sort_created,
    })
}
