//! 区划调整 of the tree itself: moving a place under another parent (a village to another
//! township) and merging a place into another (撤村并居: its issues, inspections, schedules,
//! deductions, role grants and children go to the place that takes it over; it is retired with a
//! pointer to that place).
//!
//! Everything happens in one transaction. Every issue that changes place or township gets a
//! `place_change` event (old → new) and a change-feed entry, so its history stays true and phones
//! that keep seeing it pull the new place. Stored paths are rewritten, so lists, statistics and
//! rankings follow the tree at once, and so does scoped access. Accounts holding a role on a place
//! the moved place leaves or joins get a new pull scope (`scope_resets`): their phones' next pull
//! answers `reset: true`, as for a role change; accounts holding roles inside the moved subtree
//! get one anyway, as their roles' paths change.
//!
//! `actor` None is the operator at the console (CLI). Otherwise the actor must be an admin of the
//! place above the moved (or merged) place, and an admin of the new parent (of the place above
//! the survivor).

use super::access::{Caller, Place};
use super::place_changes::{changeable, one, record, refusal};
use super::places::{OrgLevel, OrgUnit};
use crate::db::models::{IssueEventRow, OrgUnitRow};
use crate::db::{
    DbConnection, category_aliases, changes, issues, org_units, relocate, scope_resets,
    write_transaction,
};
use crate::error::{AppError, ErrorCode};
use crate::ids::OrgUnitId;
use closeout_sync_protocol::Role;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MovePlace {
    /// The new parent.
    pub parent_id: OrgUnitId,
    /// Why (e.g. the order's number).
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergePlace {
    /// The place that takes the merged one over (same level, not inside it).
    pub into: OrgUnitId,
    pub reason: Option<String>,
}

/// What a move did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlaceMoved {
    /// The place, under its new parent.
    pub place: OrgUnit,
    /// Issues in its subtree (each got a `place_change` event).
    pub issues: usize,
    /// Accounts whose phones must pull afresh.
    pub accounts_reset: usize,
}

/// What a merge did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlaceMerged {
    /// The merged place: retired, `merged_into` the survivor.
    pub merged: OrgUnit,
    pub survivor: OrgUnit,
    /// Issues at the merged place or under it (each got a `place_change` event).
    pub issues: usize,
    pub inspections: usize,
    pub schedules: usize,
    pub deductions: usize,
    /// Role grants moved to the survivor (a grant already held there is dropped).
    pub role_grants: usize,
    /// Places under the merged one, now under the survivor.
    pub children: usize,
    pub accounts_reset: usize,
}

fn invalid(en: &str, zh: &str) -> AppError {
    AppError::new(ErrorCode::InvalidPlaceChange, en).zh(zh)
}

fn open(conn: &mut DbConnection, row: &OrgUnitRow) -> Result<(), AppError> {
    match refusal(conn, row)? {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn parent_of(conn: &mut DbConnection, row: &OrgUnitRow) -> Result<Option<OrgUnitRow>, AppError> {
    Ok(match &row.parent_id {
        Some(p) => org_units::find(conn, p)?,
        None => None,
    })
}

fn named(row: Option<&OrgUnitRow>) -> serde_json::Value {
    match row {
        Some(r) => json!({"id": r.id, "name": r.name, "code": r.code}),
        None => serde_json::Value::Null,
    }
}

/// Moves `id` (and its subtree) under `input.parent_id`. Moving it under its own parent is a no-op.
pub fn move_place(
    conn: &mut DbConnection,
    actor: Option<&Caller>,
    id: &OrgUnitId,
    input: MovePlace,
) -> Result<PlaceMoved, AppError> {
    write_transaction(conn, |conn| move_in(conn, actor, id, input))
}

/// [`move_place`] inside the caller's write transaction.
pub(crate) fn move_in(
    conn: &mut DbConnection,
    actor: Option<&Caller>,
    id: &OrgUnitId,
    input: MovePlace,
) -> Result<PlaceMoved, AppError> {
    {
        let row = changeable(conn, actor, id)?;
        let parent = org_units::find(conn, &input.parent_id)?
            .ok_or_else(|| AppError::not_found("parent org unit"))?;
        if let Some(actor) = actor {
            super::access::require(
                actor,
                Role::Admin,
                Place { path: &parent.path },
                "parent org unit",
            )?;
        }
        if row.parent_id.as_ref() == Some(&parent.id) {
            return Ok(PlaceMoved {
                place: one(conn, row)?,
                issues: 0,
                accounts_reset: 0,
            });
        }
        if parent.path.starts_with(&row.path) {
            return Err(invalid(
                "a place cannot move under itself or a place inside it",
                "不能把区划调整到其自身或其下级之下",
            ));
        }
        let (level, parent_level): (OrgLevel, OrgLevel) =
            (row.level.parse()?, parent.level.parse()?);
        if !parent_level.can_hold(level) {
            return Err(AppError::new(
                ErrorCode::InvalidOrgLevel,
                format!(
                    "a {} cannot be placed under a {}",
                    level.as_str(),
                    parent_level.as_str()
                ),
            )
            .zh("层级与新的上级不匹配"));
        }
        open(conn, &row)?;
        open(conn, &parent)?;
        let old_parent = parent_of(conn, &row)?;
        let new_path = format!("{}{}/", parent.path, row.id);
        let change = Change {
            kind: "move",
            from: named(old_parent.as_ref()),
            to: named(Some(&parent)),
            merged: None,
        };
        let inspections = relocate::inspections_under(conn, &row.path)?;
        let issues = relocate_issues(conn, actor, &row.path, &new_path, &change)?;
        relocate::rewrite_paths(conn, &row.path, &new_path)?;
        relocate::rewrite_places(
            conn,
            &row.path,
            &new_path,
            parent.depth + 1 - row.depth,
            true,
        )?;
        relocate::set_parent(conn, &row.id, &parent.id)?;
        feed_inspections(conn, &inspections, &row.path, &new_path)?;
        let before = old_parent.as_ref().map_or("/", |p| p.path.as_str());
        let accounts_reset = reset_scopes(conn, before, &parent.path)?;
        record(
            conn,
            actor,
            id,
            "move",
            json!({"from": change.from, "to": change.to, "reason": input.reason,
                   "issues": issues, "accounts_reset": accounts_reset}),
        )?;
        let row = org_units::find(conn, id)?.ok_or_else(|| AppError::not_found("org unit"))?;
        Ok(PlaceMoved {
            place: one(conn, row)?,
            issues,
            accounts_reset,
        })
    }
}

/// Merges `id` into `input.into`: see the module documentation.
pub fn merge(
    conn: &mut DbConnection,
    actor: Option<&Caller>,
    id: &OrgUnitId,
    input: MergePlace,
) -> Result<PlaceMerged, AppError> {
    write_transaction(conn, |conn| {
        let merged = changeable(conn, actor, id)?;
        let survivor = changeable(conn, actor, &input.into)?;
        if survivor.path.starts_with(&merged.path) || merged.path.starts_with(&survivor.path) {
            return Err(invalid(
                "a place can only be merged into another place that is neither it, above it nor inside it",
                "只能并入既不是其自身、也不是其上级或下级的区划",
            ));
        }
        if merged.level != survivor.level {
            return Err(AppError::new(
                ErrorCode::InvalidOrgLevel,
                format!(
                    "a {} can only be merged into another {}, not a {}",
                    merged.level, merged.level, survivor.level
                ),
            )
            .zh("只能并入同一层级的区划"));
        }
        open(conn, &merged)?;
        open(conn, &survivor)?;
        let change = Change {
            kind: "merge",
            from: named(Some(&merged)),
            to: named(Some(&survivor)),
            merged: Some((&merged.id, &survivor.id)),
        };
        let inspections = relocate::inspections_under(conn, &merged.path)?;
        let issues = relocate_issues(conn, actor, &merged.path, &survivor.path, &change)?;
        let handed = relocate::hand_over(conn, &merged.id, &survivor.id)?;
        relocate::rewrite_paths(conn, &merged.path, &survivor.path)?;
        let children = relocate::adopt_children(conn, &merged.id, &survivor.id)?;
        relocate::rewrite_places(
            conn,
            &merged.path,
            &survivor.path,
            survivor.depth - merged.depth,
            false,
        )?;
        let role_grants = relocate::hand_over_roles(conn, &merged.id, &survivor.id)?;
        category_aliases::hand_over(conn, &merged.id, &survivor.id)?;
        feed_inspections(conn, &inspections, &merged.path, &survivor.path)?;
        let before = parent_of(conn, &merged)?;
        let before = before.as_ref().map_or("/", |p| p.path.as_str());
        let accounts_reset = reset_scopes(conn, before, &survivor.path)?;
        record(
            conn,
            actor,
            &merged.id,
            "merge",
            json!({"into": survivor.id, "into_name": survivor.name, "reason": input.reason,
                   "issues": issues, "inspections": handed.inspections,
                   "schedules": handed.schedules, "deductions": handed.deductions,
                   "role_grants": role_grants, "children": children}),
        )?;
        record(
            conn,
            actor,
            &merged.id,
            "retire",
            json!({"reason": input.reason, "merged_into": survivor.id}),
        )?;
        record(
            conn,
            actor,
            &survivor.id,
            "absorb",
            json!({"from": merged.id, "from_name": merged.name}),
        )?;
        let survivor_id = survivor.id.clone();
        let survivor =
            org_units::find(conn, &survivor_id)?.ok_or_else(|| AppError::not_found("org unit"))?;
        Ok(PlaceMerged {
            merged: one(conn, merged)?,
            survivor: one(conn, survivor)?,
            issues,
            inspections: handed.inspections,
            schedules: handed.schedules,
            deductions: handed.deductions,
            role_grants,
            children,
            accounts_reset,
        })
    })
}

/// What a `place_change` event records: the kind, the place left and the place joined (the old
/// and new parent for a move, the merged place and the survivor for a merge).
struct Change<'a> {
    kind: &'static str,
    from: serde_json::Value,
    to: serde_json::Value,
    /// For a merge: issues at the merged place (or assigned to it) now belong to the survivor.
    merged: Option<(&'a OrgUnitId, &'a OrgUnitId)>,
}

/// Rewrites every issue under `from` to lie under `to`, each with a new version, a `place_change`
/// event and a change-feed entry. Returns how many.
fn relocate_issues(
    conn: &mut DbConnection,
    actor: Option<&Caller>,
    from: &str,
    to: &str,
    change: &Change<'_>,
) -> Result<usize, AppError> {
    let now = super::now();
    let rows = relocate::issues_under(conn, from)?;
    let under = |path: &str| format!("{to}{}", path.get(from.len()..).unwrap_or(""));
    for row in &rows {
        let mut next = row.clone();
        next.place_path = under(&row.place_path);
        if let Some(unit) = row
            .responsible_unit_path
            .as_deref()
            .filter(|u| u.starts_with(from))
        {
            next.responsible_unit_path = Some(under(unit));
        }
        if let Some((merged, survivor)) = change.merged {
            if &next.place_id == merged {
                next.place_id = survivor.clone();
            }
            if next.responsible_unit_id.as_ref() == Some(merged) {
                next.responsible_unit_id = Some(survivor.clone());
            }
        }
        next.version = row.version + 1;
        next.updated_at = now.into();
        if !issues::update_if_version(conn, &next, row)? {
            return Err(AppError::new(
                ErrorCode::ConcurrentUpdate,
                format!(
                    "issue {} changed during the 区划调整; try again",
                    row.ledger_no
                ),
            ));
        }
        issues::insert_event(
            conn,
            &IssueEventRow {
                data: json!({
                    "change": change.kind,
                    "from": change.from,
                    "to": change.to,
                    "place_id": {"from": row.place_id, "to": next.place_id},
                })
                .to_string(),
                ..IssueEventRow::new(
                    &row.id,
                    next.version,
                    "place_change",
                    Some(row.state.as_str()),
                    &row.state,
                    actor.map(|a| &a.user_id),
                    "admin",
                    now,
                )
            },
        )?;
    }
    Ok(rows.len())
}

/// A change-feed entry for each moved inspection, at its new path.
fn feed_inspections(
    conn: &mut DbConnection,
    moved: &[(String, String)],
    from: &str,
    to: &str,
) -> Result<(), AppError> {
    let now = super::now();
    for (id, path) in moved {
        let path = format!("{to}{}", path.get(from.len()..).unwrap_or(""));
        changes::record(conn, crate::db::inspections::ENTITY, id, &path, now)?;
    }
    Ok(())
}

/// The places on a path (`/a/b/c/` → a, b, c).
fn places_on(path: &str) -> Vec<OrgUnitId> {
    path.split('/')
        .filter_map(|s| uuid::Uuid::parse_str(s).ok().map(OrgUnitId::from))
        .collect()
}

/// New pull scopes for accounts holding a role on a place above the old position (`before`, the
/// old parent's path) but not above the new one (`after`), or the other way round.
fn reset_scopes(conn: &mut DbConnection, before: &str, after: &str) -> Result<usize, AppError> {
    let (old, new) = (places_on(before), places_on(after));
    let changed: Vec<OrgUnitId> = old
        .iter()
        .filter(|p| !new.contains(p))
        .chain(new.iter().filter(|p| !old.contains(p)))
        .cloned()
        .collect();
    let users = scope_resets::holders_on(conn, &changed)?;
    scope_resets::renew(
        conn,
        &users,
        &uuid::Uuid::now_v7().to_string(),
        super::now(),
    )?;
    Ok(users.len())
}
