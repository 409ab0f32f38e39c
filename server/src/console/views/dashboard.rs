//! 工作台: the office's numbers, each a link to the ledger list it counts. Each number is the
//! count of a ledger request with the filters its link lists (`queries::counts` answers them all
//! from one grouped query, matched in the list filter's terms), so a number and its list agree.
//! Live by polling (see docs/console.md).

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
use closeout_sync_protocol::{IssueState, Light, Role};

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
    /// Open issues by light (亮灯): red, yellow, green, each linking to its list.
    pub lights: Vec<Tile>,
    pub places: Vec<PlaceRow>,
    pub conflicts: Option<i64>,
    /// Devices with held mutations the caller may release (supervisors and admins).
    pub backlogs: Option<usize>,
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
    let base = ListRequest {
        limit: 1,
        ..ListRequest::default()
    };
    // Every figure is the count of a ledger request; all are answered by one grouped query.
    let mut reqs = vec![
        ListRequest {
            states: open.clone(),
            ..base.clone()
        },
        ListRequest {
            overdue: true,
            ..base.clone()
        },
        ListRequest {
            due_within_days: Some(3),
            ..base.clone()
        },
        ListRequest {
            states: vec![IssueState::Submitted],
            ..base.clone()
        },
        ListRequest {
            states: vec![IssueState::Reported],
            ..base.clone()
        },
    ];
    let light_order = [Light::Red, Light::Yellow, Light::Green];
    for light in light_order {
        reqs.push(ListRequest {
            lights: vec![light],
            ..base.clone()
        });
    }
    let all = places::list(conn, caller, None, None, 5_000)?;
    let top = all.iter().map(|p| p.depth).min().unwrap_or(0);
    let shown: Vec<_> = all
        .iter()
        .filter(|p| p.depth == top + 1)
        .take(PLACES_SHOWN)
        .collect();
    for place in &shown {
        reqs.push(ListRequest {
            states: open.clone(),
            place_id: Some(place.id.clone()),
            ..base.clone()
        });
        reqs.push(ListRequest {
            overdue: true,
            place_id: Some(place.id.clone()),
            ..base.clone()
        });
    }
    let counts = queries::counts(conn, caller, &reqs, clock)?;
    let n = |i: usize| counts.get(i).copied().unwrap_or(0);
    let tiles = vec![
        Tile {
            label: "在办问题",
            count: n(0),
            href: format!("/console/issues?state={open_q}"),
            tone: "",
        },
        Tile {
            label: "已超期",
            count: n(1),
            href: "/console/issues?overdue=true".into(),
            tone: "red",
        },
        Tile {
            label: "3 日内到期",
            count: n(2),
            href: "/console/issues?due_within_days=3".into(),
            tone: "yellow",
        },
        Tile {
            label: "待验收",
            count: n(3),
            href: "/console/queue".into(),
            tone: "blue",
        },
        Tile {
            label: "待交办",
            count: n(4),
            href: "/console/issues?state=reported".into(),
            tone: "",
        },
    ];
    let lights = light_order
        .iter()
        .enumerate()
        .map(|(i, light)| Tile {
            label: light.name_zh(),
            count: n(5 + i),
            href: format!("/console/issues?light={}", light.as_str()),
            tone: light.as_str(),
        })
        .collect();
    let first_place = 5 + light_order.len();
    let rows = shown
        .iter()
        .enumerate()
        .map(|(i, place)| {
            let id = &place.id;
            PlaceRow {
                name: place.name.clone(),
                open: n(first_place + 2 * i),
                overdue: n(first_place + 2 * i + 1),
                open_href: format!("/console/issues?state={open_q}&place_id={id}"),
                overdue_href: format!("/console/issues?overdue=true&place_id={id}"),
            }
        })
        .collect();
    let conflicts = if caller.subtrees_with(Role::Supervisor).is_empty() {
        None
    } else {
        Some(crate::domain::sync::conflicts::count_open(conn, caller)?)
    };
    let backlogs = if caller.subtrees_with(Role::Supervisor).is_empty()
        && caller.subtrees_with(Role::Admin).is_empty()
    {
        None
    } else {
        Some(crate::domain::sync::devices::backlogged(conn, caller, 1_000)?.len())
    };
    Ok(Figures {
        tiles,
        lights,
        places: rows,
        conflicts,
        backlogs,
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
