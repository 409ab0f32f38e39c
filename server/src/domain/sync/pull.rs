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
use closeout_sync_protocol::issue::Instruction;
use closeout_sync_protocol::sync::{Change, IssueSnapshot, Location, PullResponse};
use closeout_sync_protocol::{IssueSource, IssueState, Severity};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// Changes per page: at most this many (`limit`, 1–10,000, default 1,000).
pub const MAX_LIMIT: i64 = 10_000;
pub const DEFAULT_LIMIT: i64 = 1_000;

/// A fingerprint of what the user may see: when their roles change, or a 区划调整 moved a place
/// into or out of their subtrees (`stamp`, from `scope_resets`), old cursors force a reset.
fn scope_hash(caller: &Caller, stamp: Option<&str>) -> String {
    let mut grants: Vec<String> = caller
        .grants
        .iter()
        .map(|g| format!("{}@{}", g.role, g.subtree_path))
        .collect();
    grants.sort();
    if let Some(stamp) = stamp {
        grants.push(format!("reset@{stamp}"));
    }
    hex::encode(&Sha256::digest(grants.join("|").as_bytes())[..6])
}

/// What a pull cursor says. Wire form `2.{epoch}.{seq}.{scope}`, opaque to phones.
#[derive(Debug, PartialEq, Eq)]
enum PullCursor {
    /// A cursor of this format: the feed's epoch, the last sequence delivered, the scope.
    Current {
        epoch: String,
        seq: i64,
        scope: String,
    },
    /// `1.{seq}.{scope}`, from before the feed had an epoch: it cannot be told whether it
    /// belongs to this database, so it is answered with a reset.
    BeforeEpochs,
}

fn bad_cursor(why: &str) -> AppError {
    AppError::new(
        ErrorCode::InvalidQuery,
        format!(
            "cursor: not a cursor this server made ({why}); pull without a cursor to start over"
        ),
    )
    .zh("cursor 无效，请不带 cursor 重新拉取")
}

/// A sequence number as written in a cursor: 1–19 ASCII digits that fit an i64 (no sign).
fn cursor_seq(part: &str) -> Result<i64, AppError> {
    if part.is_empty() || part.len() > 19 || !part.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad_cursor(
            "the sequence must be a non-negative whole number",
        ));
    }
    part.parse()
        .map_err(|_| bad_cursor("the sequence is out of range"))
}

fn is_hex(part: &str, max: usize) -> bool {
    !part.is_empty() && part.len() <= max && part.bytes().all(|b| b.is_ascii_hexdigit())
}

fn parse_cursor(cursor: &str) -> Result<PullCursor, AppError> {
    let parts: Vec<&str> = cursor.split('.').collect();
    match parts.as_slice() {
        ["2", epoch, seq, scope] => {
            if !is_hex(epoch, 64) || !is_hex(scope, 64) {
                return Err(bad_cursor("epoch and scope are hexadecimal"));
            }
            Ok(PullCursor::Current {
                epoch: (*epoch).to_owned(),
                seq: cursor_seq(seq)?,
                scope: (*scope).to_owned(),
            })
        }
        ["1", seq, scope] => {
            cursor_seq(seq)?;
            if !is_hex(scope, 64) {
                return Err(bad_cursor("the scope is hexadecimal"));
            }
            Ok(PullCursor::BeforeEpochs)
        }
        _ => Err(bad_cursor("unknown form")),
    }
}

/// The issue as phones hold it, with its 批示 (`instructions`, oldest first).
pub fn snapshot(row: &IssueRow, instructions: Vec<Instruction>) -> IssueSnapshot {
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
        progress_on: row.progress_on,
        instructions,
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
    let stamp = crate::db::scope_resets::stamp_of(conn, &caller.user_id)?;
    let scope = scope_hash(caller, stamp.as_deref());
    let epoch = changes::epoch(conn)?;
    // A cursor that cannot be continued (another epoch — a restore, another database —, beyond
    // the end of this feed, another scope, or from before epochs) starts the phone over.
    let (after, reset) = match cursor
        .filter(|c| !c.is_empty())
        .map(parse_cursor)
        .transpose()?
    {
        None => (0, false),
        Some(PullCursor::Current {
            epoch: was_epoch,
            seq,
            scope: was_scope,
        }) => {
            if was_epoch == epoch && was_scope == scope && seq <= changes::latest(conn)? {
                (seq, false)
            } else {
                (0, true)
            }
        }
        Some(PullCursor::BeforeEpochs) => (0, true),
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
    let mut instructions = crate::domain::issues::instructions::of_issues(conn, &ids)?;
    let mut entries: Vec<(i64, &str)> = latest.into_iter().map(|(id, seq)| (seq, id)).collect();
    entries.sort_unstable();
    let mut changes: Vec<Change> = entries
        .into_iter()
        .map(
            |(seq, id)| match by_id.get(id).filter(|row| can_see(caller, row)) {
                Some(row) => Change::Upsert {
                    seq,
                    issue: Box::new(snapshot(
                        row,
                        instructions.remove(&row.id).unwrap_or_default(),
                    )),
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
        cursor: format!("2.{epoch}.{next}.{scope}"),
        has_more,
        reset,
        acknowledged_seq: device.last_seq as u64,
        server_time: clock.now.and_utc(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_its_own_cursors_and_refuses_garbage() {
        assert_eq!(
            parse_cursor("2.0a1b.42.c0ffee").ok(),
            Some(PullCursor::Current {
                epoch: "0a1b".into(),
                seq: 42,
                scope: "c0ffee".into()
            })
        );
        assert_eq!(
            parse_cursor("1.42.c0ffee").ok(),
            Some(PullCursor::BeforeEpochs)
        );
        for bad in [
            "",
            "nonsense",
            "2.0a1b.-1.c0ffee",
            "2.0a1b.+1.c0ffee",
            "2.0a1b.99999999999999999999.c0ffee",
            "2.0a1b.x.c0ffee",
            "2.zz.1.c0ffee",
            "2.0a1b.1.",
            "2.0a1b.1.c0ffee.9",
            "1.-5.c0ffee",
            "3.0a1b.1.c0ffee",
        ] {
            assert!(parse_cursor(bad).is_err(), "{bad}");
        }
    }
}
