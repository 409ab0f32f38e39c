//! 工作台: the office's numbers, each a link to the ledger list it counts. Counts come from the
//! ledger's own query (`queries::count` with the same filters the list uses), so a number and
//! its list can never disagree. Live by polling (see docs/console.md).

use crate::api::state::AppState;
use crate::console::errors::ConsoleError;
use crate::console::page::{Head, Nav, html, is_htmx};
use crate::console::session::ConsoleUser;
use crate::db::DbConnection;
use crate::domain::access::Caller;
use crate::domain::issues::Clock;
use crate::domain::issues::queries::{self, ListRequest};
use crate::domain::places;
use crate::error::AppError;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use closeout_sync_protocol::{IssueState, Role};

/// One figure and the ledger query that lists what it counts.
pub struct Tile {
    pub label: &'static str,
    pub count: i64,
    pub href: String,
    pub tone: &'static str,
}

/// One place's open and overdue figures.
pub struct PlaceRow {
    pub name: String,
    pub open: i64,
    pub overdue: i64,
    pub open_href: String,
    pub overdue_href: String,
}

pub struct Figures {
    pub tiles: Vec<Tile>,
    pub places: Vec<PlaceRow>,
    pub conflicts: Option<usize>,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    head: Head,
    nav: Nav,
    f: Figures,
}

#[derive(Template)]
#[template(path = "_dashboard_figures.html")]
struct DashboardFragment {
    f: Figures,
}

/// Open states, in the lifecycle's own terms.
fn open_states() -> Vec<IssueState> {
    IssueState::ALL
        .into_iter()
        .filter(|s| s.is_open())
        .collect()
}

fn states_param(states: &[IssueState]) -> String {
    states
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Most places listed on the dashboard (the children of the caller's top place).
const PLACES_SHOWN: usize = 12;

fn gather(conn: &mut DbConnection, caller: &Caller, clock: Clock) -> Result<Figures, AppError> {
    let open = open_states();
    let open_q = states_param(&open);
    let mut count = |req: ListRequest| queries::count(conn, caller, &req, clock);
    let base = ListRequest {
        limit: 1,
        ..ListRequest::default()
    };
    let tiles = vec![
        Tile {
            label: "在办问题",
            count: count(ListRequest {
                states: open.clone(),
                ..base.clone()
            })?,
            href: format!("/console/issues?state={open_q}"),
            tone: "",
        },
        Tile {
            label: "已超期",
            count: count(ListRequest {
                overdue: true,
                ..base.clone()
            })?,
            href: "/console/issues?overdue=true".into(),
            tone: "red",
        },
        Tile {
            label: "3 日内到期",
            count: count(ListRequest {
                due_within_days: Some(3),
                ..base.clone()
            })?,
            href: "/console/issues?due_within_days=3".into(),
            tone: "yellow",
        },
        Tile {
            label: "待验收",
            count: count(ListRequest {
                states: vec![IssueState::Submitted],
                ..base.clone()
            })?,
            href: "/console/queue".into(),
            tone: "blue",
        },
        Tile {
            label: "待交办",
            count: count(ListRequest {
                states: vec![IssueState::Reported],
                ..base.clone()
            })?,
            href: "/console/issues?state=reported".into(),
            tone: "",
        },
    ];
    let all = places::list(conn, caller, None, 5_000)?;
    let top = all.iter().map(|p| p.depth).min().unwrap_or(0);
    let mut rows = Vec::new();
    for place in all.iter().filter(|p| p.depth == top + 1).take(PLACES_SHOWN) {
        let id = place.id.clone();
        let open_n = queries::count(
            conn,
            caller,
            &ListRequest {
                states: open.clone(),
                place_id: Some(id.clone()),
                ..base.clone()
            },
            clock,
        )?;
        let overdue_n = queries::count(
            conn,
            caller,
            &ListRequest {
                overdue: true,
                place_id: Some(id.clone()),
                ..base.clone()
            },
            clock,
        )?;
        rows.push(PlaceRow {
            name: place.name.clone(),
            open: open_n,
            overdue: overdue_n,
            open_href: format!("/console/issues?state={open_q}&place_id={id}"),
            overdue_href: format!("/console/issues?overdue=true&place_id={id}"),
        });
    }
    let conflicts = if caller.subtrees_with(Role::Supervisor).is_empty() {
        None
    } else {
        Some(crate::domain::sync::conflicts::list(conn, caller, false, 1_000)?.len())
    };
    Ok(Figures {
        tiles,
        places: rows,
        conflicts,
    })
}

/// `GET /console/`: the whole page, or (polled by htmx) only the figures.
pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: ConsoleUser,
) -> Result<HttpResponse, ConsoleError> {
    let clock = state.clock();
    let caller = user.caller().clone();
    let f = state
        .db
        .run(move |conn| gather(conn, &caller, clock))
        .await?;
    if is_htmx(&req) {
        return html(&DashboardFragment { f });
    }
    html(&DashboardPage {
        head: Head::new(),
        nav: Nav::of(&user, "dashboard"),
        f,
    })
}
