//! 督查: the inspections at the caller's places (newest first, keyset pages of
//! `inspections::queries::list`) and one inspection with its items, results, photos, the issues
//! its failures raised and its conflicts (`record_sheet::gather` + `queries::detail`, the
//! functions behind `GET /api/v1/inspections/{id}` and its record).

use crate::api::state::AppState;
use crate::console::errors::ConsoleError;
use crate::console::page::{Head, Nav, html};
use crate::console::session::ConsoleUser;
use crate::domain::inspections::queries::{self, ListRequest};
use crate::domain::inspections::record_sheet::{self, SheetItem};
use crate::domain::reports::names::Names;
use crate::error::AppError;
use crate::ids::{InspectionId, OrgUnitId};
use actix_web::{HttpResponse, web};
use askama::Template;
use closeout_sync_protocol::inspection::wire::InspectionState;
use serde::Deserialize;

pub struct Row {
    pub id: String,
    pub started: String,
    pub place: String,
    pub mode: &'static str,
    pub site: String,
    pub finished: bool,
    pub team: String,
    pub percent: String,
}

#[derive(Template)]
#[template(path = "inspections.html")]
struct ListPage {
    head: Head,
    nav: Nav,
    rows: Vec<Row>,
    next: Option<String>,
    place_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    place_id: Option<String>,
    cursor: Option<String>,
}

/// Page size of the list.
const PAGE: i64 = 50;

fn percent(p: Option<f64>) -> String {
    p.map_or_else(|| "—".to_owned(), |p| format!("{p}%"))
}

/// `GET /console/inspections`.
pub async fn list(
    state: web::Data<AppState>,
    user: ConsoleUser,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let q = q.into_inner();
    let place_id = q.place_id.clone().filter(|p| !p.is_empty());
    let place = place_id
        .as_deref()
        .map(|p| {
            uuid::Uuid::parse_str(p)
                .map(OrgUnitId::from)
                .map_err(|_| AppError::not_found("place"))
        })
        .transpose()?;
    let clock = state.clock();
    let caller = user.caller().clone();
    let request = ListRequest {
        place_id: place,
        template_id: None,
        mode: None,
        state: None,
        started_from: None,
        started_to: None,
        cursor: q.cursor.filter(|c| !c.is_empty()),
        limit: PAGE,
    };
    let (rows, next) = state
        .db
        .run(move |conn| {
            let page = queries::list(conn, &caller, request)?;
            let mut names = Names::new(conn)?;
            let mut rows = Vec::with_capacity(page.items.len());
            for i in page.items {
                rows.push(Row {
                    id: i.id.to_string(),
                    started: clock
                        .zone
                        .local(i.started_at.naive_utc())
                        .format("%Y-%m-%d %H:%M")
                        .to_string(),
                    place: names.place_label(conn, &i.place_id)?,
                    mode: i.mode.name_zh(),
                    site: i.site,
                    finished: i.state == InspectionState::Finished,
                    team: i.team.join("、"),
                    percent: percent(i.percent),
                });
            }
            Ok::<_, AppError>((rows, page.next_cursor))
        })
        .await?;
    let place_id = place_id.unwrap_or_default();
    let next = next.map(|c| {
        let mut href = format!("/console/inspections?cursor={}", encode(&c));
        if !place_id.is_empty() {
            href.push_str(&format!("&place_id={}", encode(&place_id)));
        }
        href
    });
    html(&ListPage {
        head: Head::new(),
        nav: Nav::of(&user, "inspections"),
        rows,
        next,
        place_id,
    })
}

/// Percent-encodes a query value.
pub fn encode(s: &str) -> String {
    crate::console::errors::url_encode(s).replace('/', "%2F")
}

pub struct Raised {
    pub id: String,
    pub ledger_no: String,
    pub state: &'static str,
}

#[derive(Template)]
#[template(path = "inspection.html")]
struct DetailPage {
    head: Head,
    nav: Nav,
    id: String,
    template: String,
    place: String,
    site: String,
    team: String,
    mode: &'static str,
    started: String,
    finished: String,
    items: Vec<Item>,
    score: String,
    percent: String,
    summary: String,
    raised: Vec<Raised>,
    conflicts: usize,
}

/// One checklist item as shown: figures as text, photos as SHA-256s for `/console/photos/`.
pub struct Item {
    pub section: String,
    pub title: String,
    pub result: String,
    pub score: String,
    pub max: String,
    pub failed: bool,
    pub note: String,
    pub photos: Vec<String>,
    pub issue: String,
}

impl From<SheetItem> for Item {
    fn from(i: SheetItem) -> Self {
        let figure = |v: Option<f64>| v.map_or_else(String::new, |v| format!("{v}"));
        Self {
            section: i.section.unwrap_or_default(),
            title: i.title,
            result: i.result,
            score: figure(i.score),
            max: figure(i.max),
            failed: i.failed,
            note: i.note,
            photos: i.photos,
            issue: i.issue.unwrap_or_default(),
        }
    }
}

/// `GET /console/inspections/{id}`: 404 when the caller cannot see its place.
pub async fn detail(
    state: web::Data<AppState>,
    user: ConsoleUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let id = uuid::Uuid::parse_str(&id)
        .map(InspectionId::from)
        .map_err(|_| AppError::not_found("inspection"))?;
    let clock = state.clock();
    let caller = user.caller().clone();
    let (detail, sheet) = state
        .db
        .run(move |conn| {
            let detail = queries::detail(conn, &caller, &id)?;
            let sheet = record_sheet::gather(conn, &caller, &id, clock)?;
            Ok::<_, AppError>((detail, sheet))
        })
        .await?;
    let i = &detail.inspection;
    html(&DetailPage {
        head: Head::new(),
        nav: Nav::of(&user, "inspections"),
        id: i.id.clone(),
        template: detail.template_name.clone(),
        place: detail.place_name.clone(),
        site: sheet.site.clone(),
        team: sheet.team.join("、"),
        mode: i.mode.name_zh(),
        started: sheet.started.clone(),
        finished: sheet
            .finished
            .clone()
            .unwrap_or_else(|| "进行中".to_owned()),
        score: format!("{} / {}", sheet.score, sheet.max_score),
        percent: percent(sheet.percent),
        summary: sheet.summary.clone(),
        raised: detail
            .issues
            .iter()
            .map(|r| Raised {
                id: r.issue_id.to_string(),
                ledger_no: r.ledger_no.clone(),
                state: r.state.name_zh(),
            })
            .collect(),
        conflicts: detail
            .conflicts
            .iter()
            .filter(|c| c.resolved_at.is_none())
            .count(),
        items: sheet.items.into_iter().map(Item::from).collect(),
    })
}
