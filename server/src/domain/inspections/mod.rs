//! Inspections (督查): versioned checklist templates, inspections filled in on phones (offline,
//! by several team members) or over REST, the issues their failed items raise on the ledger,
//! conflicts between phones, schedules (cadences) and deductions (错报、漏报、瞒报). The rules phones
//! share — item kinds, scoring, the failure rule, the per-item merge — are
//! `closeout_sync_protocol::inspection`; docs/inspections.md explains the whole.

pub mod conflicts;
pub mod deductions;
pub mod defaults;
pub mod failures;
pub mod header;
pub mod queries;
pub mod record;
pub mod record_sheet;
pub mod schedules;
pub mod sync;
pub mod templates;
pub mod view;

use super::access::{self, Caller, Place};
use crate::db::inspections::InspectionRow;
use crate::error::{AppError, ErrorCode};
use closeout_sync_protocol::Role;

/// Who may carry out (create, fill in, finish) an inspection at a place.
pub const INSPECTORS: [Role; 2] = [Role::Inspector, Role::Supervisor];

/// The role the caller inspects in at this place: 404 if the place is invisible to them, 403 if
/// they hold neither `inspector` nor `supervisor` there.
pub fn require_inspector(caller: &Caller, place_path: &str) -> Result<Role, AppError> {
    let at = Place { path: place_path };
    if let Some(role) = INSPECTORS.into_iter().find(|r| caller.has_role_at(*r, at)) {
        return Ok(role);
    }
    access::require_visible(caller, at, "place")?;
    Err(AppError::new(
        ErrorCode::Forbidden,
        "inspections need the inspector or supervisor role for this place",
    )
    .zh("督查需要本区域的督查组成员或督查办角色"))
}

/// Anyone holding a role on a subtree containing the inspection's place may read it.
pub fn can_see(caller: &Caller, row: &InspectionRow) -> bool {
    caller.can_see(Place {
        path: &row.place_path,
    })
}

/// Parses a UUID a client sent in `field`.
pub fn parse_uuid(field: &str, value: &str) -> Result<uuid::Uuid, AppError> {
    uuid::Uuid::parse_str(value.trim())
        .map_err(|_| AppError::invalid_field(field, "must be a UUID", "须为 UUID"))
}

/// A shared-rule refusal as the error a client gets.
pub fn invalid(e: closeout_sync_protocol::inspection::Invalid) -> AppError {
    AppError::invalid_field(&e.field, e.message, e.message_zh)
}
