//! Reading the ledger: one issue with its history, and filtered, keyset-paginated lists scoped
//! to what the caller may see.

use super::view::{self, Issue, IssueDetail};
use super::{Clock, can_see};
use crate::db::issues::{self, IssueFilter};
use crate::db::{DbConnection, org_units};
use crate::domain::access::{self, Caller, Place};
use crate::domain::keyset::Keyset;
use crate::error::AppError;
use crate::ids::{IssueId, OrgUnitId, UserId};
use chrono::{DateTime, Duration, Utc};
use closeout_sync_protocol::{IssueSource, IssueState, Role};
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
    Ok(IssueDetail {
        issue: view::issue(row, clock.today)?,
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
    pub text: Option<String>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    pub closed_from: Option<DateTime<Utc>>,
    pub closed_to: Option<DateTime<Utc>>,
    pub cursor: Option<String>,
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
        rows.last().map(|r| Keyset::encode(r.created_at, &r.id))
    } else {
        None
    };
    let items = rows
        .into_iter()
        .map(|r| view::issue(r, clock.today))
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
    let filter = filter(conn, caller, req, clock)?;
    Ok(issues::count(conn, &filter)?)
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
        after: req
            .cursor
            .as_deref()
            .map(Keyset::decode)
            .transpose()?
            .map(|k| (k.at, IssueId::from(k.id))),
        limit: req.limit + 1,
        ..IssueFilter::default()
    };
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
    if let Some(days) = req.due_within_days {
        filter.deadline_within = Some((clock.today, clock.today + Duration::days(i64::from(days))));
    }
    Ok(filter)
}
