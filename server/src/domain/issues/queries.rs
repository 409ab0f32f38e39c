//! Reading the ledger: one issue with its history, and filtered, keyset-paginated lists scoped
//! to what the caller may see.

use super::sort::IssueSort;
use super::view::{self, Issue, IssueDetail};
use super::{Clock, can_see};
use crate::db::issues::{self, IssueFilter};
use crate::db::{DbConnection, org_units};
use crate::domain::access::{self, Caller, Place};
use crate::error::AppError;
use crate::ids::{IssueId, OrgUnitId, UserId};
use chrono::{DateTime, Duration, Utc};
use closeout_sync_protocol::issue::Instruction;
use closeout_sync_protocol::light::{self, LightCause, LightFacts};
use closeout_sync_protocol::{ActionKind, IssueSource, IssueState, Light, Role};
use serde::Serialize;

/// One issue with its whole history; 404 if the caller cannot see it.
pub fn detail(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &IssueId,
    clock: Clock,
) -> Result<IssueDetail, AppError> {
    let row = issues::find(conn, id)?.ok_or_else(|| AppError::not_found("issue"))?;
    if !can_see(caller, &row) {
        return Err(AppError::not_found("issue"));
    }
    let mut history = issues::events_of(conn, id)?
        .into_iter()
        .map(view::event)
        .collect::<Result<Vec<_>, _>>()?;
    // Names from the accounts, disabled ones included: the history names who acted.
    let mut names: std::collections::HashMap<UserId, Option<String>> = Default::default();
    for event in &mut history {
        if let Some(actor) = &event.actor_id {
            if !names.contains_key(actor) {
                let name = crate::db::users::find(conn, actor)?.map(|u| u.display_name);
                names.insert(actor.clone(), name);
            }
            event.actor_name = names.get(actor).cloned().flatten();
        }
    }
    let inspection =
        crate::db::inspections::link_of_issue(conn, id)?.map(|l| view::InspectionLink {
            inspection_id: l.inspection_id,
            item_key: l.item_key,
        });
    let instructions = history
        .iter()
        .filter(|e| e.action == ActionKind::Instruct.as_str())
        .map(|e| Instruction {
            text: e.comment.clone().unwrap_or_default(),
            author_id: e
                .actor_id
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            author_name: e.actor_name.clone().unwrap_or_default(),
            at: e.server_time,
        })
        .collect();
    Ok(IssueDetail {
        issue: view::issue(row, &clock)?,
        instructions,
        history,
        inspection,
    })
}

/// The filters of `GET /api/v1/issues`, already parsed.
#[derive(Debug, Clone, Default)]
pub struct ListRequest {
    pub states: Vec<IssueState>,
    pub place_id: Option<OrgUnitId>,
    pub category: Option<String>,
    pub source: Option<IssueSource>,
    pub responsible_unit_id: Option<OrgUnitId>,
    pub responsible_user_id: Option<UserId>,
    pub overdue: bool,
    pub due_within_days: Option<u32>,
    /// Only open issues with these lights (亮灯).
    pub lights: Vec<Light>,
    pub text: Option<String>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    pub closed_from: Option<DateTime<Utc>>,
    pub closed_to: Option<DateTime<Utc>>,
    pub cursor: Option<String>,
    /// The order of the list (and the kind of `cursor` it takes).
    pub sort: IssueSort,
    pub limit: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IssuePage {
    pub items: Vec<Issue>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

pub fn list(
    conn: &mut DbConnection,
    caller: &Caller,
    req: ListRequest,
    clock: Clock,
) -> Result<IssuePage, AppError> {
    let filter = filter(conn, caller, &req, clock)?;
    let mut rows = issues::list(conn, &filter)?;
    let next_cursor = if rows.len() as i64 > req.limit {
        rows.truncate(req.limit as usize);
        rows.last().map(|r| req.sort.cursor_of(r))
    } else {
        None
    };
    let items = rows
        .into_iter()
        .map(|r| view::issue(r, &clock))
        .collect::<Result<_, _>>()?;
    Ok(IssuePage { items, next_cursor })
}

/// How many issues the list would hold over all its pages.
pub fn count(
    conn: &mut DbConnection,
    caller: &Caller,
    req: &ListRequest,
    clock: Clock,
) -> Result<i64, AppError> {
    // Open issues narrowed only by the tally's terms (the ledger's `overdue`, light and
    // due-soon lists): counted from the grouped index read, which is faster than counting rows.
    if tally_answers(req) {
        return Ok(counts(conn, caller, std::slice::from_ref(req), clock)?
            .first()
            .copied()
            .unwrap_or(0));
    }
    let filter = filter(conn, caller, req, clock)?;
    Ok(issues::count(conn, &filter)?)
}

/// Whether `counts` can answer `req`: about open issues only, narrowed by nothing but states,
/// place, `overdue`, `due_within_days` and lights.
fn tally_answers(req: &ListRequest) -> bool {
    // Destructured in full, so that a filter added to the list must be thought about here.
    let ListRequest {
        states,
        place_id: _,
        overdue,
        due_within_days,
        lights,
        category,
        source,
        responsible_unit_id,
        responsible_user_id,
        text,
        created_from,
        created_to,
        closed_from,
        closed_to,
        cursor: _,
        sort: _,
        limit: _,
    } = req;
    let narrowed_otherwise = category.is_some()
        || source.is_some()
        || responsible_unit_id.is_some()
        || responsible_user_id.is_some()
        || text.is_some()
        || created_from.is_some()
        || created_to.is_some()
        || closed_from.is_some()
        || closed_to.is_some();
    // Open issues only: named open states, or a filter that implies them.
    let open_only = if states.is_empty() {
        *overdue || due_within_days.is_some() || !lights.is_empty()
    } else {
        states.iter().all(|s| s.is_open())
    };
    !narrowed_otherwise && open_only
}

/// What `count` would answer for each request, from one grouped query instead of one count
/// each (the console's dashboard asks some thirty). Every request must be about open issues
/// only, narrowed by nothing but states, place, `overdue`, `due_within_days` and lights; the
/// groups are matched with the list filter's own terms — the subtree of the place, a deadline
/// before today (overdue) or from today to today + n days, and the light of
/// `closeout_sync_protocol::light`, which the SQL light filter is tested against.
pub fn counts(
    conn: &mut DbConnection,
    caller: &Caller,
    reqs: &[ListRequest],
    clock: Clock,
) -> Result<Vec<i64>, AppError> {
    struct Want {
        states: Vec<IssueState>,
        place: Option<String>,
        overdue: bool,
        due: Option<(chrono::NaiveDate, chrono::NaiveDate)>,
        lights: Vec<Light>,
    }
    let mut wants = Vec::with_capacity(reqs.len());
    for req in reqs {
        if !tally_answers(req) {
            return Err(AppError::internal(anyhow::anyhow!(
                "issue counts: a request this tally cannot answer: {req:?}"
            )));
        }
        let place = match &req.place_id {
            Some(id) => {
                let row = org_units::find(conn, id)?.ok_or_else(|| AppError::not_found("place"))?;
                access::require_visible(caller, Place { path: &row.path }, "place")?;
                Some(row.path)
            }
            None => None,
        };
        wants.push(Want {
            states: req.states.clone(),
            place,
            overdue: req.overdue,
            due: req
                .due_within_days
                .map(|d| (clock.today, clock.today + Duration::days(i64::from(d)))),
            lights: req.lights.clone(),
        });
    }
    let open = ListRequest {
        states: IssueState::ALL
            .into_iter()
            .filter(|s| s.is_open())
            .collect(),
        limit: 1,
        ..ListRequest::default()
    };
    let open = filter(conn, caller, &open, clock)?;
    let groups = issues::grouped_counts(
        conn,
        &open.visible_places,
        &open.responsible_units,
        &open.states,
    )?;
    let mut counts = vec![0i64; wants.len()];
    for g in groups {
        let state = IssueState::parse(&g.state).ok_or_else(|| {
            AppError::internal(anyhow::anyhow!("stored state `{}` is not known", g.state))
        })?;
        let light = light::light(
            &LightFacts {
                state,
                deadline: g.deadline,
                progress_on: g.progress_on,
            },
            clock.today,
            &clock.lights,
        )
        .map(LightCause::light);
        for (want, n) in wants.iter().zip(counts.iter_mut()) {
            let hit = (want.states.is_empty() || want.states.contains(&state))
                && want
                    .place
                    .as_ref()
                    .is_none_or(|p| g.place_path.starts_with(p.as_str()))
                && (!want.overdue || g.deadline.is_some_and(|d| d < clock.today))
                && want
                    .due
                    .is_none_or(|(from, to)| g.deadline.is_some_and(|d| d >= from && d <= to))
                && (want.lights.is_empty() || light.is_some_and(|l| want.lights.contains(&l)));
            if hit {
                *n += g.count;
            }
        }
    }
    Ok(counts)
}

/// The request as a query filter scoped to the caller: 404 for a `place_id` the caller cannot
/// see, 400 for a cursor this server did not make.
fn filter(
    conn: &mut DbConnection,
    caller: &Caller,
    req: &ListRequest,
    clock: Clock,
) -> Result<IssueFilter, AppError> {
    let req = req.clone();
    let mut filter = IssueFilter {
        visible_places: caller.visible_subtrees(),
        responsible_units: caller.subtrees_with(Role::Responsible),
        states: req.states.iter().map(|s| s.as_str().to_owned()).collect(),
        category: req.category,
        source: req.source.map(|s| s.as_str().to_owned()),
        responsible_user: req.responsible_user_id,
        text: req
            .text
            .filter(|t| !t.trim().is_empty())
            .map(|t| t.trim().to_owned()),
        created_from: req.created_from.map(|t| t.naive_utc()),
        created_to: req.created_to.map(|t| t.naive_utc()),
        closed_from: req.closed_from.map(|t| t.naive_utc()),
        closed_to: req.closed_to.map(|t| t.naive_utc()),
        limit: req.limit + 1,
        ..IssueFilter::default()
    };
    req.sort.apply(req.cursor.as_deref(), &mut filter)?;
    if let Some(place) = &req.place_id {
        let row = org_units::find(conn, place)?.ok_or_else(|| AppError::not_found("place"))?;
        access::require_visible(caller, Place { path: &row.path }, "place")?;
        filter.place_subtree = Some(row.path);
    }
    if let Some(unit) = &req.responsible_unit_id {
        let row =
            org_units::find(conn, unit)?.ok_or_else(|| AppError::not_found("responsible unit"))?;
        filter.responsible_unit_subtree = Some(row.path);
    }
    if req.overdue {
        filter.deadline_before = Some(clock.today);
    }
    if !req.lights.is_empty() {
        filter.lights = Some((
            req.lights.clone(),
            closeout_sync_protocol::light::LightBounds::on(clock.today, &clock.lights),
        ));
    }
    if let Some(days) = req.due_within_days {
        filter.deadline_within = Some((clock.today, clock.today + Duration::days(i64::from(days))));
    }
    Ok(filter)
}
