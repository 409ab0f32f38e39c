//! 督查 standings: the rankings of a period (`reports::rankings::compute`, as
//! `GET /api/v1/reports/rankings`) and the scheduled inspections missed in it
//! (`schedules::occurrences` with `status=missed`, as `GET /api/v1/inspection-schedules/occurrences`).
//! The query parameters are the API's own structs, so a period means the same on both.

use crate::api::reports::StatsParams;
use crate::api::schedules::ScheduleQuery;
use crate::api::state::AppState;
use crate::console::errors::ConsoleError;
use crate::console::page::{Head, Nav, html};
use crate::console::session::ConsoleUser;
use crate::domain::inspections::schedules::{self, Cadence, OccurrenceStatus};
use crate::domain::reports::names::Names;
use crate::domain::reports::rankings::{self, PlaceRanking};
use crate::error::AppError;
use crate::ids::OrgUnitId;
use actix_web::{HttpResponse, web};
use askama::Template;

#[derive(Template)]
#[template(path = "rankings.html")]
struct RankingsPage {
    head: Head,
    nav: Nav,
    parent: String,
    period_label: String,
    period: String,
    places: Vec<PlaceRanking>,
}

fn figure(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |v| format!("{v}"))
}

impl RankingsPage {
    fn rank(p: &PlaceRanking) -> String {
        p.rank.map_or_else(|| "—".to_owned(), |r| r.to_string())
    }
    fn percent(p: &PlaceRanking) -> String {
        figure(p.inspection_percent)
    }
    fn score(p: &PlaceRanking) -> String {
        figure(p.score)
    }
}

/// `GET /console/rankings?period=2026-11` (or `from`/`to`, `parent`).
pub async fn rankings(
    state: web::Data<AppState>,
    user: ConsoleUser,
    q: web::Query<StatsParams>,
) -> Result<HttpResponse, ConsoleError> {
    let clock = state.clock();
    let q = q.into_inner();
    let period = q.period(clock.today)?;
    let parent = q.parent.map(OrgUnitId::from);
    let caller = user.caller().clone();
    let r = state
        .db
        .run(move |conn| rankings::compute(conn, &caller, parent, period, clock))
        .await?;
    html(&RankingsPage {
        head: Head::new(),
        nav: Nav::of(&user, "inspections"),
        parent: r.parent.name,
        period_label: r.period.label,
        period: q.period.unwrap_or_default(),
        places: r.places,
    })
}

pub struct Missed {
    pub place: String,
    pub cadence: &'static str,
    pub from: String,
    pub to: String,
}

#[derive(Template)]
#[template(path = "missed.html")]
struct MissedPage {
    head: Head,
    nav: Nav,
    period: String,
    rows: Vec<Missed>,
}

fn cadence_zh(c: Cadence) -> &'static str {
    match c {
        Cadence::Daily => "每日巡查",
        Cadence::Weekly => "每周督查",
        Cadence::Monthly => "每月检查",
    }
}

/// `GET /console/schedules/missed?period=…` (or `from`/`to`, `place_id`).
pub async fn missed(
    state: web::Data<AppState>,
    user: ConsoleUser,
    q: web::Query<ScheduleQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let clock = state.clock();
    let q = q.into_inner();
    if q.status.is_some() {
        return Err(AppError::new(
            crate::error::ErrorCode::InvalidQuery,
            "status: this page lists missed occurrences only",
        )
        .zh("本页只列漏检，请去掉 status 参数")
        .into());
    }
    let period = q.period(clock.today)?;
    let place = q.place_id.map(OrgUnitId::from);
    let caller = user.caller().clone();
    let (label, rows) = state
        .db
        .run(move |conn| {
            let list = schedules::occurrences(
                conn,
                &caller,
                place.as_ref(),
                &period,
                Some(OccurrenceStatus::Missed),
                clock,
            )?;
            let mut names = Names::new(conn)?;
            let mut rows = Vec::with_capacity(list.len());
            for o in list {
                rows.push(Missed {
                    place: names.place_label(conn, &o.place_id)?,
                    cadence: cadence_zh(o.cadence),
                    from: o.from.to_string(),
                    to: o.to.to_string(),
                });
            }
            Ok::<_, AppError>((period.label, rows))
        })
        .await?;
    html(&MissedPage {
        head: Head::new(),
        nav: Nav::of(&user, "inspections"),
        period: label,
        rows,
    })
}
