//! Inspections in the sync protocol: applying a `record_inspection` mutation (push) and turning
//! change-feed entries of inspections into `upsert_inspection` / `delete` changes (pull). Kept here
//! so that `domain::sync::push` and `pull` only dispatch to it.

use super::record::{self, Origin};
use super::{can_see, view};
use crate::db::DbConnection;
use crate::db::inspections::{self as db, ENTITY};
use crate::db::models::FeedEntry;
use crate::domain::access::Caller;
use crate::domain::issues::Clock;
use crate::domain::sync::push::RawMutation;
use crate::error::AppError;
use crate::ids::{DeviceId, InspectionId};
use closeout_sync_protocol::inspection::wire::RecordInspectionBody;
use closeout_sync_protocol::sync::{Change, MutationResult, MutationStatus};
use std::collections::HashMap;

/// Applies one `record_inspection` mutation (inside the push's savepoint). `applied` when it
/// changed something or raised issues, `duplicate` when the same content was there already,
/// `conflict` (with `conflict_ids`) when an item or header field clashed — the rest of the
/// mutation is applied all the same.
pub fn apply(
    conn: &mut DbConnection,
    caller: &Caller,
    device: &DeviceId,
    m: &RawMutation,
    body: &RecordInspectionBody,
    clock: Clock,
) -> Result<MutationResult, AppError> {
    let origin = Origin {
        mutation_id: Some(&m.id),
        device_id: Some(device),
        device_time: Some(m.device_time.naive_utc()),
    };
    let out = record::record_within(conn, caller, origin, body, clock)?;
    let status = if !out.conflicts.is_empty() {
        MutationStatus::Conflict
    } else if out.changed || out.issues_raised > 0 {
        MutationStatus::Applied
    } else {
        MutationStatus::Duplicate
    };
    Ok(MutationResult {
        version: Some(out.version),
        conflict_ids: (!out.conflicts.is_empty())
            .then(|| out.conflicts.iter().map(|c| c.to_string()).collect()),
        ..crate::domain::sync::result(m, status)
    })
}

/// The pull changes for the inspection entries of a page: the latest state of each inspection
/// the caller may see, a tombstone for the others.
pub fn changes(
    conn: &mut DbConnection,
    caller: &Caller,
    rows: &[FeedEntry],
) -> Result<Vec<Change>, AppError> {
    let mut latest: HashMap<&str, i64> = HashMap::new();
    for r in rows.iter().filter(|r| r.entity == ENTITY) {
        latest.insert(&r.entity_id, r.seq);
    }
    let ids: Vec<InspectionId> = latest
        .keys()
        .filter_map(|id| uuid::Uuid::parse_str(id).ok().map(InspectionId::from))
        .collect();
    let found: HashMap<String, _> = db::find_many(conn, &ids)?
        .into_iter()
        .map(|r| (r.id.to_string(), r))
        .collect();
    let mut out = Vec::with_capacity(latest.len());
    for (id, seq) in latest {
        out.push(match found.get(id).filter(|row| can_see(caller, row)) {
            Some(row) => Change::UpsertInspection {
                seq,
                inspection: Box::new(view::snapshot(conn, row)?),
            },
            None => Change::Delete {
                seq,
                entity: ENTITY.into(),
                id: id.to_owned(),
            },
        });
    }
    out.sort_by_key(Change::seq);
    Ok(out)
}
