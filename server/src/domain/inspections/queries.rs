//! Reading inspections (scoped by place, 404 for what the caller cannot see) and recording one
//! over REST.

use super::can_see;
use super::record::{self, Origin, RecordOutcome};
use super::view::{self, InspectionDetail, InspectionSummary};
use crate::db::inspections::{self as db, InspectionFilter};
use crate::db::{DbConnection, org_units, write_transaction};
use crate::domain::access::{self, Caller, Place};
use crate::domain::issues::Clock;
use crate::domain::keyset::Keyset;
use crate::error::AppError;
use crate::ids::{InspectionId, OrgUnitId, TemplateId};
use chrono::{DateTime, Utc};
use closeout_sync_protocol::inspection::wire::{
    InspectionMode, InspectionState, RecordInspectionBody,
};
use serde::Serialize;

/// `POST /api/v1/inspections`: the same as the `record_inspection` mutation. Returns the
/// inspection and whether it was created now.
pub fn record(
    conn: &mut DbConnection,
    caller: &Caller,
    body: RecordInspectionBody,
    clock: Clock,
) -> Result<(InspectionDetail, RecordOutcome), AppError> {
    let origin = Origin {
        mutation_id: None,
        device_id: None,
        device_time: None,
    };
    let outcome = write_transaction(conn, |conn| {
        record::record_within(conn, caller, origin, &body, clock)
    })?;
    Ok((detail(conn, caller, &outcome.id)?, outcome))
}

pub fn detail(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &InspectionId,
) -> Result<InspectionDetail, AppError> {
    let row = db::find(conn, id)?
        .filter(|r| can_see(caller, r))
        .ok_or_else(|| AppError::not_found("inspection"))?;
    view::detail(conn, &row)
}

/// The filters of `GET /api/v1/inspections`, parsed.
#[derive(Debug, Clone, Default)]
pub struct ListRequest {
    pub place_id: Option<OrgUnitId>,
    pub template_id: Option<TemplateId>,
    pub mode: Option<InspectionMode>,
    pub state: Option<InspectionState>,
    pub started_from: Option<DateTime<Utc>>,
    pub started_to: Option<DateTime<Utc>>,
    pub cursor: Option<String>,
    pub limit: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InspectionPage {
    pub items: Vec<InspectionSummary>,
    /// Pass back as `cursor` for the next page; null at the end.
    pub next_cursor: Option<String>,
}

/// Inspections at places the caller sees, newest started first.
pub fn list(
    conn: &mut DbConnection,
    caller: &Caller,
    req: ListRequest,
) -> Result<InspectionPage, AppError> {
    let place_path = match &req.place_id {
        Some(id) => {
            let place = org_units::find(conn, id)?.ok_or_else(|| AppError::not_found("place"))?;
            access::require_visible(caller, Place { path: &place.path }, "place")?;
            Some(place.path)
        }
        None => None,
    };
    let filter = InspectionFilter {
        subtrees: caller.visible_subtrees(),
        place_path,
        template_id: req.template_id,
        mode: req.mode.map(|m| m.as_str().to_owned()),
        state: req.state.map(|s| match s {
            InspectionState::InProgress => record::IN_PROGRESS.to_owned(),
            InspectionState::Finished => record::FINISHED.to_owned(),
        }),
        started_from: req.started_from.map(|t| t.naive_utc()),
        started_to: req.started_to.map(|t| t.naive_utc()),
        before: req
            .cursor
            .as_deref()
            .map(Keyset::decode)
            .transpose()?
            .map(|k| (k.at, k.id.hyphenated().to_string())),
        limit: req.limit + 1,
    };
    let mut rows = db::list(conn, &filter)?;
    let more = rows.len() as i64 > req.limit;
    rows.truncate(req.limit as usize);
    let next_cursor = if more {
        rows.last().map(|r| Keyset::encode(r.started_at, &r.id))
    } else {
        None
    };
    Ok(InspectionPage {
        items: rows.iter().map(view::summary).collect::<Result<_, _>>()?,
        next_cursor,
    })
}
