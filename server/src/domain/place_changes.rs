//! 区划调整 on the place tree: renaming a place and retiring one, recorded in `place_changes`.
//!
//! Issues point at places by id, so a rename shows the new name on every issue, list and document
//! at once and the history (which records ids) stays true. A retired place keeps its issues and
//! their history; it and everything under it refuse new issues (409 `place_retired`), whichever
//! way they arrive (`POST /issues`, a pushed report, an import). Moving and merging places are in
//! `place_moves`.
//!
//! `actor` None is the operator at the console (CLI); otherwise the actor must be an admin of the
//! place's parent (a system admin for a root), as for creating it.

use super::access::{self, Caller, Place};
use super::places::{OrgUnit, validate_name};
use crate::db::models::OrgUnitRow;
use crate::db::place_changes::{self, PlaceChangeRow};
use crate::db::{DbConnection, org_units, write_transaction};
use crate::error::{AppError, ErrorCode};
use crate::ids::OrgUnitId;
use closeout_sync_protocol::Role;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rename {
    pub name: String,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Retire {
    /// Why (e.g. 撤村并居, the order's number).
    pub reason: Option<String>,
}

/// The place, if the actor may change it: an admin of its parent's subtree.
pub(super) fn changeable(
    conn: &mut DbConnection,
    actor: Option<&Caller>,
    id: &OrgUnitId,
) -> Result<OrgUnitRow, AppError> {
    let row = org_units::find(conn, id)?.ok_or_else(|| AppError::not_found("org unit"))?;
    if let Some(actor) = actor {
        access::require_visible(actor, Place { path: &row.path }, "org unit")?;
        let parent = match &row.parent_id {
            Some(p) => org_units::find(conn, p)?,
            None => None,
        };
        // The place is visible, so a refusal is a 403, even when the place above is not.
        let allowed = match &parent {
            Some(p) => actor.has_role_at(Role::Admin, Place { path: &p.path }),
            None => actor.has_system_role(Role::Admin),
        };
        if !allowed {
            return Err(AppError::new(
                ErrorCode::Forbidden,
                "changing a place (rename, retire, move, merge) needs the admin role for the place above it",
            )
            .zh("调整区划需要上级区划的管理员角色"));
        }
    }
    Ok(row)
}

pub(super) fn record(
    conn: &mut DbConnection,
    actor: Option<&Caller>,
    place: &OrgUnitId,
    kind: &str,
    data: serde_json::Value,
) -> Result<(), AppError> {
    place_changes::insert(
        conn,
        &PlaceChangeRow {
            id: uuid::Uuid::now_v7().to_string(),
            org_unit_id: place.clone(),
            kind: kind.to_owned(),
            data: data.to_string(),
            actor_id: actor.map(|a| a.user_id.clone()),
            created_at: super::now(),
        },
    )?;
    Ok(())
}

/// Gives a place a new name (the old one is kept in `place_changes`).
pub fn rename(
    conn: &mut DbConnection,
    actor: Option<&Caller>,
    id: &OrgUnitId,
    input: Rename,
) -> Result<OrgUnit, AppError> {
    write_transaction(conn, |conn| rename_in(conn, actor, id, input))
}

/// [`rename`] inside the caller's write transaction.
pub(crate) fn rename_in(
    conn: &mut DbConnection,
    actor: Option<&Caller>,
    id: &OrgUnitId,
    input: Rename,
) -> Result<OrgUnit, AppError> {
    let name = input.name.trim().to_owned();
    validate_name(&name)?;
    let row = changeable(conn, actor, id)?;
    if row.name != name {
        org_units::rename(conn, id, &name)?;
        record(
            conn,
            actor,
            id,
            "rename",
            serde_json::json!({"from": row.name, "to": name}),
        )?;
    }
    let row = org_units::find(conn, id)?.ok_or_else(|| AppError::not_found("org unit"))?;
    one(conn, row)
}

/// The place as the API shows it, with its retirement.
pub(super) fn one(conn: &mut DbConnection, row: OrgUnitRow) -> Result<OrgUnit, AppError> {
    let mut units = super::places::annotate(conn, vec![OrgUnit::try_from(row)?])?;
    units.pop().ok_or_else(|| AppError::not_found("org unit"))
}

/// Retires a place: it and its subtree take no new issues. Retiring twice is fine.
pub fn retire(
    conn: &mut DbConnection,
    actor: Option<&Caller>,
    id: &OrgUnitId,
    input: Retire,
) -> Result<OrgUnit, AppError> {
    write_transaction(conn, |conn| {
        let row = changeable(conn, actor, id)?;
        if place_changes::retired_among(conn, std::slice::from_ref(id))?.is_none() {
            record(
                conn,
                actor,
                id,
                "retire",
                serde_json::json!({"reason": input.reason}),
            )?;
        }
        one(conn, row)
    })
}

/// Refuses a new issue at `place` when it or a place above it is retired.
pub fn require_open(conn: &mut DbConnection, place: &OrgUnitRow) -> Result<(), AppError> {
    match refusal(conn, place)? {
        None => Ok(()),
        Some(e) => Err(e),
    }
}

/// Why a new issue at `place` is refused, if it is (a database failure is the outer error, so a
/// sync push does not mistake it for the mutation's fault).
pub fn refusal(conn: &mut DbConnection, place: &OrgUnitRow) -> Result<Option<AppError>, AppError> {
    let ids: Vec<OrgUnitId> = place
        .path
        .trim_matches('/')
        .split('/')
        .filter_map(|id| uuid::Uuid::parse_str(id).ok().map(OrgUnitId::from))
        .collect();
    Ok(place_changes::retired_among(conn, &ids)?.map(|_| {
        AppError::new(
            ErrorCode::PlaceRetired,
            format!(
                "{} has been retired (区划调整): report at the place that took it over",
                place.name
            ),
        )
        .zh(format!(
            "{}已撤销（区划调整），请在承接的区划上报",
            place.name
        ))
    }))
}
