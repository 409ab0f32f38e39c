//! `GET /sync/pull`: the change feed after the device's cursor, only what the user may see, with a
//! tombstone for every entity that left their sight. Cost follows the changes returned: the feed is
//! read by its sequence index, never by scanning issues.

use super::devices;
use crate::db::models::IssueRow;
use crate::db::{DbConnection, changes, issues};
use crate::domain::access::Caller;
use crate::domain::issues::{Clock, can_see};
use crate::error::{AppError, ErrorCode};
use crate::ids::IssueId;
use closeout_sync_protocol::Role;
use closeout_sync_protocol::sync::{Change, IssueSnapshot, Location, PullResponse};
use closeout_sync_protocol::{IssueSource, IssueState, Severity};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

pub const MAX_LIMIT: i64 = 10_000;

/// A fingerprint of what the user may see: when their roles change, old cursors force a reset.
fn scope_hash(caller: &Caller) -> String {
    let mut grants: Vec<String> = caller
        .grants
        .iter()
        .map(|g| format!("{}@{}", g.role, g.subtree_path))
        .collect();
    grants.sort();
    hex::encode(&Sha256::digest(grants.join("|").as_bytes())[..6])
}

fn parse_cursor(cursor: &str) -> Result<(i64, String), AppError> {
    let bad = || {
        AppError::new(
            ErrorCode::InvalidQuery,
            "cursor: not a cursor this server made",
        )
        .zh("cursor 无效")
    };
    let mut parts = cursor.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("1"), Some(seq), Some(scope), None) => {
            Ok((seq.parse().map_err(|_| bad())?, scope.to_owned()))
        }
        _ => Err(bad()),
    }
}

pub fn snapshot(row: &IssueRow) -> IssueSnapshot {
    IssueSnapshot {
        id: row.id.to_string(),
        ledger_no: row.ledger_no.clone(),
        title: row.title.clone(),
        description: row.description.clone(),
        category: row.category.clone(),
        severity: Severity::parse(&row.severity).unwrap_or(Severity::Minor),
        source: IssueSource::parse(&row.source).unwrap_or(IssueSource::GridPatrol),
        state: IssueState::parse(&row.state).unwrap_or(IssueState::Reported),
        place_id: row.place_id.to_string(),
        location: match (row.lat, row.lon) {
            (Some(lat), Some(lon)) => Some(Location {
                lat,
                lon,
                accuracy_m: row.accuracy_m,
                address: row.address.clone(),
            }),
            _ => None,
        },
        reporter_id: row.reporter_id.as_ref().map(|u| u.to_string()),
        responsible_unit_id: row.responsible_unit_id.as_ref().map(|u| u.to_string()),
        responsible_user_id: row.responsible_user_id.as_ref().map(|u| u.to_string()),
        target: row.target.clone(),
        deadline: row.deadline,
        extension_deadline: row.extension_deadline,
        escalation_level: row.escalation_level,
        reopen_count: row.reopen_count,
        duplicate_of: row.duplicate_of.as_ref().map(|i| i.to_string()),
        version: row.version,
        updated_at: row.updated_at.and_utc(),
    }
}

pub fn pull(
    conn: &mut DbConnection,
    caller: &Caller,
    cursor: Option<&str>,
    limit: i64,
    clock: Clock,
) -> Result<PullResponse, AppError> {
    let device = devices::of_caller(conn, caller, clock.now)?;
    crate::db::devices::touch(conn, &device.id, clock.now)?;
    let scope = scope_hash(caller);
    let (after, reset) = match cursor {
        None | Some("") => (0, false),
        Some(c) => {
            let (seq, was) = parse_cursor(c)?;
            if was == scope {
                (seq, false)
            } else {
                (0, true)
            }
        }
    };
    let limit = limit.clamp(1, MAX_LIMIT);
    let places = caller.visible_subtrees();
    let units = caller.subtrees_with(Role::Responsible);
    let mut rows = changes::page(conn, after, &places, &units, limit + 1)?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next = rows.last().map_or(after, |r| r.seq);
    let (inspection_rows, rows): (Vec<_>, Vec<_>) = rows
        .into_iter()
        .partition(|r| r.entity == crate::db::inspections::ENTITY);
    // One entry per entity per page: its latest.
    let mut latest: HashMap<&str, i64> = HashMap::with_capacity(rows.len());
    for r in &rows {
        latest.insert(&r.entity_id, r.seq);
    }
    let ids: Vec<IssueId> = latest
        .keys()
        .filter_map(|id| uuid::Uuid::parse_str(id).ok().map(IssueId::from))
        .collect();
    let found = issues::find_many(conn, &ids)?;
    let by_id: HashMap<&str, &IssueRow> = found.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut entries: Vec<(i64, &str)> = latest.into_iter().map(|(id, seq)| (seq, id)).collect();
    entries.sort_unstable();
    let mut changes: Vec<Change> = entries
        .into_iter()
        .map(
            |(seq, id)| match by_id.get(id).filter(|row| can_see(caller, row)) {
                Some(row) => Change::Upsert {
                    seq,
                    issue: Box::new(snapshot(row)),
                },
                None => Change::Delete {
                    seq,
                    entity: "issue".into(),
                    id: id.to_owned(),
                },
            },
        )
        .collect();
    changes.extend(crate::domain::inspections::sync::changes(
        conn,
        caller,
        &inspection_rows,
    )?);
    changes.sort_by_key(Change::seq);
    Ok(PullResponse {
        changes,
        cursor: format!("1.{next}.{scope}"),
        has_more,
        reset,
        acknowledged_seq: device.last_seq as u64,
        server_time: clock.now.and_utc(),
    })
}
