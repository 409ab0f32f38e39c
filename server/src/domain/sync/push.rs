//! `POST /sync/push`: a batch of a device's mutations, processed in one transaction, in sequence
//! order, each exactly once. Every mutation ends `applied`, `duplicate`, `conflict` or `rejected`;
//! one after a gap is `held` until the gap fills. A refused mutation is undone alone (savepoint)
//! and the queue moves on; a failure of the server itself rolls the whole batch back, so a retry
//! finds nothing half-applied. A lost write race (PostgreSQL) runs the batch again, whole.
//!
//! How one mutation is applied is `apply`; a `submit` waiting for its photos is `waiting`.

use super::apply::{apply, refused, result};
use super::bulk::{self, PendingCreates};
use super::decode::{self, Decoded, Incoming};
use super::devices;
use super::waiting::retry_waiting;
use crate::db::models::{DeviceRow, SyncMutationRow};
use crate::db::{DbConnection, sync, write_transaction};
use crate::domain::access::Caller;
use crate::domain::evidence::EvidencePolicy;
use crate::domain::issues::Clock;
use crate::error::{AppError, ErrorCode};
use crate::ids::IssueId;
use crate::settings::SyncSettings;
use chrono::{DateTime, Utc};
use closeout_sync_protocol::sync::{
    Disposition, MutationBody, MutationResult, MutationStatus, PROTOCOL_VERSION, PushResponse,
    classify,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The batch as received: the envelope is checked strictly; each mutation is decoded on its own
/// (`decode`), so that one this server cannot read is rejected alone instead of the batch.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PushBatch {
    pub protocol: u32,
    pub sent_at: DateTime<Utc>,
    #[schema(value_type = Vec<RawMutation>)]
    pub mutations: Vec<serde_json::Value>,
}

/// A mutation as kept and recorded: its body still JSON (what it does is `decode`'s answer).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMutation {
    pub id: String,
    pub seq: u64,
    pub device_time: DateTime<Utc>,
    #[schema(value_type = Object)]
    pub body: serde_json::Value,
}

pub const MAX_BATCH: usize = 1000;

fn check(batch: &PushBatch) -> Result<(), AppError> {
    if batch.protocol != PROTOCOL_VERSION {
        return Err(AppError::new(
            ErrorCode::UnsupportedProtocol,
            format!(
                "protocol {} is not supported; this server speaks {PROTOCOL_VERSION}",
                batch.protocol
            ),
        ));
    }
    if batch.mutations.len() > MAX_BATCH {
        return Err(AppError::invalid_field(
            "mutations",
            format!("at most {MAX_BATCH} per batch"),
            format!("每批最多 {MAX_BATCH} 条"),
        ));
    }
    Ok(())
}

/// What every mutation of a push is applied with.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    /// The device's user.
    pub caller: &'a Caller,
    pub clock: Clock,
    pub evidence: EvidencePolicy,
    /// How far ahead of the acknowledged number a `seq` may be.
    pub max_gap: u64,
}

/// A push's answer and how often it was run again after losing a write race.
pub struct Pushed {
    pub response: PushResponse,
    pub retries: u32,
}

pub fn push(
    conn: &mut DbConnection,
    caller: &Caller,
    batch: PushBatch,
    clock: Clock,
    evidence: EvidencePolicy,
    limits: SyncSettings,
) -> Result<Pushed, AppError> {
    let cx = Context {
        caller,
        clock,
        evidence,
        max_gap: limits.max_sequence_gap,
    };
    check(&batch)?;
    let skew_ms = (clock.now.and_utc() - batch.sent_at).num_milliseconds();
    let now = clock.now.and_utc();
    let mut unplaced = Vec::new();
    let mut placed = Vec::with_capacity(batch.mutations.len());
    for raw in batch.mutations {
        match decode::mutation(raw, now) {
            Decoded::Placed(incoming) => placed.push(*incoming),
            Decoded::Unplaced(result) => unplaced.push(result),
        }
    }
    placed.sort_by_key(|i| i.m.seq);
    // Two phones pushing the same new issue at once both find it missing and both insert it; a
    // version check loses to a concurrent edit; PostgreSQL may refuse to serialize or find a
    // deadlock. The loser's transaction rolls back whole and runs again, after a jittered pause,
    // and sees the winner's rows: a race is never a phone's problem.
    let mut retries = 0;
    loop {
        match push_once(conn, cx, &placed, skew_ms) {
            Err(e) if e.is_write_race() && retries + 1 < limits.write_race_attempts.max(1) => {
                retries += 1;
                tracing::warn!(retry = retries, error = %e, "push lost a write race; running it again");
                std::thread::sleep(backoff(retries));
            }
            Err(e) if e.is_write_race() => {
                tracing::error!(retries, error = %e, "push kept losing write races");
                return Err(AppError::new(
                    ErrorCode::DatabaseUnavailable,
                    "the database is too busy to take this batch now; send it again",
                ));
            }
            Err(e) => return Err(e),
            Ok(mut response) => {
                if !unplaced.is_empty() {
                    unplaced.append(&mut response.results);
                    response.results = unplaced;
                }
                return Ok(Pushed { response, retries });
            }
        }
    }
}

/// A pause before the next attempt: up to 5 ms × 2^attempt (at most 320 ms), chosen at random so
/// that two losers do not meet again.
fn backoff(attempt: u32) -> std::time::Duration {
    let ceiling = 5u64 << attempt.min(6);
    std::time::Duration::from_millis(rand::random_range(1..=ceiling))
}

fn push_once(
    conn: &mut DbConnection,
    cx: Context<'_>,
    mutations: &[Incoming],
    skew_ms: i64,
) -> Result<PushResponse, AppError> {
    let (caller, clock) = (cx.caller, cx.clock);
    write_transaction(conn, |conn| {
        let mut device = devices::of_caller(conn, caller, clock.now)?;
        if device.restored_at.is_some() {
            rebase_after_restore(conn, cx, &mut device, mutations)?;
        }
        let mut state = BatchState::read(conn, &device, mutations)?;
        let mut results = Vec::with_capacity(mutations.len());
        for m in mutations {
            results.push(process(conn, cx, &mut device, m, &mut state)?);
        }
        state.creates.flush(conn, cx)?;
        crate::db::devices::record_push(conn, &device.id, device.last_seq, clock.now, skew_ms)?;
        Ok(PushResponse {
            results,
            acknowledged_seq: device.last_seq as u64,
            clock_skew_ms: skew_ms,
            server_time: clock.now.and_utc(),
        })
    })
}

/// The first push of a device after the database was restored from a backup. What the phone
/// pushed after the backup was acknowledged (so the phone has let it go) but is not in the restored
/// database: its numbers would hold everything behind a gap that never fills. The batch's first
/// new number says where the phone stands; the numbers before it are recorded as skipped (still
/// applied if they ever arrive), within `max_gap`. A batch of replays only leaves the mark.
fn rebase_after_restore(
    conn: &mut DbConnection,
    cx: Context<'_>,
    device: &mut DeviceRow,
    mutations: &[Incoming],
) -> Result<(), AppError> {
    let Some(first) = mutations
        .iter()
        .map(|i| i.m.seq as i64)
        .find(|&seq| seq > device.last_seq)
    else {
        return Ok(());
    };
    if first > device.last_seq + 1 && (first - device.last_seq) as u64 <= cx.max_gap {
        tracing::warn!(
            device = %device.id,
            from = device.last_seq + 1,
            to = first - 1,
            "first push after a restore: the numbers pushed after the backup are recorded as skipped"
        );
        sync::skip_range(
            conn,
            &device.id,
            device.last_seq + 1,
            first - 1,
            cx.clock.now,
        )?;
        device.last_seq = first - 1;
    }
    crate::db::devices::clear_restored(conn, &device.id)?;
    device.restored_at = None;
    Ok(())
}

/// What a batch reads once: which of its mutations were processed before, whether the device
/// has held mutations to drain, and the creates it writes together (`bulk`).
struct BatchState {
    /// Mutation records by id: those found at the start and those this batch made.
    seen: HashMap<String, SyncMutationRow>,
    /// The device may have held mutations (so progress must try to drain them).
    held: bool,
    creates: PendingCreates,
}

impl BatchState {
    fn read(
        conn: &mut DbConnection,
        device: &DeviceRow,
        mutations: &[Incoming],
    ) -> Result<Self, AppError> {
        let ids: Vec<String> = mutations.iter().map(|i| i.m.id.clone()).collect();
        let seen = sync::find_mutations(conn, &ids)?
            .into_iter()
            .map(|r| (r.id.clone(), r))
            .collect();
        let new_issues: Vec<IssueId> = mutations
            .iter()
            .filter_map(|i| match &i.body {
                Ok(MutationBody::CreateIssue(b)) => uuid::Uuid::parse_str(&b.issue_id).ok(),
                _ => None,
            })
            .map(IssueId::from)
            .collect();
        Ok(Self {
            seen,
            held: !sync::held_seqs(conn, &device.id)?.is_empty(),
            creates: PendingCreates::for_batch(conn, &new_issues)?,
        })
    }

    /// The record of a mutation id, if it was processed (looked up in the database only for a
    /// sequence number the device has passed, i.e. a possible replay).
    fn seen(
        &mut self,
        conn: &mut DbConnection,
        m: &RawMutation,
        last_seq: i64,
    ) -> Result<Option<SyncMutationRow>, AppError> {
        if let Some(r) = self.seen.get(&m.id) {
            return Ok(Some(r.clone()));
        }
        if m.seq as i64 <= last_seq {
            return Ok(sync::find_mutation(conn, &m.id)?);
        }
        Ok(None)
    }
}

/// Applies held mutations that the device's progress has reached.
pub fn drain(
    conn: &mut DbConnection,
    cx: Context<'_>,
    device: &mut DeviceRow,
) -> Result<(), AppError> {
    while let Some(text) = sync::take_held(conn, &device.id, device.last_seq + 1)? {
        let held = decode::stored(&text, cx.clock.now.and_utc())?;
        let result = decided(conn, cx, device, &held)?;
        record(conn, device, &held.m, &result, cx.clock)?;
        device.last_seq += 1;
    }
    Ok(())
}

/// A placed mutation's result in its turn: its rejection if it could not be decoded, else
/// applied (or refused) against the ledger.
fn decided(
    conn: &mut DbConnection,
    cx: Context<'_>,
    device: &DeviceRow,
    m: &Incoming,
) -> Result<MutationResult, AppError> {
    match &m.body {
        Ok(body) => apply(conn, cx, device, &m.m, body),
        Err(rejection) => Ok(rejection.result(&m.m.id, m.m.seq)),
    }
}

fn process(
    conn: &mut DbConnection,
    cx: Context<'_>,
    device: &mut DeviceRow,
    incoming: &Incoming,
    state: &mut BatchState,
) -> Result<MutationResult, AppError> {
    let clock = cx.clock;
    let m = &incoming.m;
    let seq = m.seq as i64;
    // A fresh create is checked in memory and written with the batch's others.
    if seq == device.last_seq + 1
        && !state.seen.contains_key(&m.id)
        && let Some(r) = bulk_create(conn, cx, device, incoming, state)?
    {
        device.last_seq = seq;
        if state.held {
            state.creates.flush(conn, cx)?;
            drain(conn, cx, device)?;
        }
        return Ok(r);
    }
    // Anything else sees the creates before it.
    state.creates.flush(conn, cx)?;
    let seen = state.seen(conn, m, device.last_seq)?;
    if seen.is_none() && m.seq > device.last_seq as u64 + cx.max_gap {
        // Held, it would wait behind a gap no lost batch makes; released, it would skip the gap.
        let error = AppError::new(
            ErrorCode::SequenceGapTooLarge,
            format!(
                "seq {seq} is more than {} ahead of the acknowledged seq {}",
                cx.max_gap, device.last_seq
            ),
        )
        .zh(format!(
            "序号 {seq} 超出已确认序号 {} 逾 {}",
            device.last_seq, cx.max_gap
        ));
        return Ok(decode::Rejection::on_field(error, "seq").result(&m.id, m.seq));
    }
    let skipped = seq <= device.last_seq && sync::is_skipped(conn, &device.id, seq)?;
    match classify(m.seq, device.last_seq as u64, seen.is_some(), skipped) {
        Disposition::Duplicate => {
            let seen = seen
                .ok_or_else(|| AppError::internal(anyhow::anyhow!("duplicate without a record")))?;
            if seen.status == MutationStatus::Held.as_str() {
                // Still waiting for photos: perhaps they are here now.
                let r = retry_waiting(conn, cx, device, &seen)?;
                state.seen.remove(&m.id);
                return Ok(r);
            }
            let original: MutationResult =
                serde_json::from_str(&seen.result).map_err(AppError::internal)?;
            Ok(MutationResult {
                version: original.version,
                original: Some(Box::new(original)),
                ..result(m, MutationStatus::Duplicate)
            })
        }
        Disposition::SequenceReused => Ok(refused(
            m,
            AppError::new(
                ErrorCode::SequenceReused,
                format!("seq {seq} was already used by another mutation"),
            ),
        )),
        Disposition::Hold => {
            let text = serde_json::to_string(&incoming.raw).map_err(AppError::internal)?;
            sync::hold(conn, &device.id, seq, &text, clock.now)?;
            state.held = true;
            Ok(MutationResult {
                message: Some(format!("waiting for seq {}", device.last_seq + 1)),
                message_zh: Some(format!("等待序号 {} 到达", device.last_seq + 1)),
                ..result(m, MutationStatus::Held)
            })
        }
        // A skipped number arriving late: applied, progress unchanged.
        Disposition::Apply if skipped => {
            sync::remove_backlog(conn, &device.id, seq)?;
            let r = decided(conn, cx, device, incoming)?;
            let row = record(conn, device, m, &r, clock)?;
            state.seen.insert(row.id.clone(), row);
            Ok(r)
        }
        Disposition::Apply => {
            let r = decided(conn, cx, device, incoming)?;
            let row = record(conn, device, m, &r, clock)?;
            state.seen.insert(row.id.clone(), row);
            device.last_seq = seq;
            if state.held {
                drain(conn, cx, device)?;
            }
            Ok(r)
        }
    }
}

/// A fresh `create_issue` through [`PendingCreates`]: `None` if it is not one, or the ordinary path
/// must handle it.
fn bulk_create(
    conn: &mut DbConnection,
    cx: Context<'_>,
    device: &DeviceRow,
    incoming: &Incoming,
    state: &mut BatchState,
) -> Result<Option<MutationResult>, AppError> {
    let Ok(MutationBody::CreateIssue(body)) = &incoming.body else {
        return Ok(None);
    };
    let m = &incoming.m;
    let r = match state.creates.try_create(conn, cx, m, body)? {
        None => return Ok(None),
        Some(Ok(_)) => bulk::applied(m),
        Some(Err(refusal)) => refused(m, refusal),
    };
    let row = record_row(device, m, &r, cx.clock)?;
    state.seen.insert(row.id.clone(), row.clone());
    state.creates.record(row);
    Ok(Some(r))
}

fn record(
    conn: &mut DbConnection,
    device: &DeviceRow,
    m: &RawMutation,
    r: &MutationResult,
    clock: Clock,
) -> Result<SyncMutationRow, AppError> {
    let row = record_row(device, m, r, clock)?;
    sync::insert_mutation(conn, &row)?;
    Ok(row)
}

fn record_row(
    device: &DeviceRow,
    m: &RawMutation,
    r: &MutationResult,
    clock: Clock,
) -> Result<SyncMutationRow, AppError> {
    let kind: String = m
        .body
        .get("type")
        .and_then(|t| t.as_str())
        .unwrap_or("?")
        .chars()
        .filter(|c| !c.is_control())
        .take(40)
        .collect();
    Ok(SyncMutationRow {
        id: m.id.clone(),
        device_id: device.id.clone(),
        seq: m.seq as i64,
        kind,
        status: r.status.as_str().to_owned(),
        result: serde_json::to_string(r).map_err(AppError::internal)?,
        device_time: m.device_time.naive_utc().into(),
        received_at: clock.now.into(),
    })
}

/// A supervisor releases a device's backlog: the missing sequence numbers before the first held
/// mutation are marked skipped — one range, whatever its width — (still processed if they ever
/// arrive), and the held mutations are applied with the rights of the device's user. The work is
/// proportional to what is held, not to the gap.
pub fn release_backlog(
    conn: &mut DbConnection,
    caller: &Caller,
    device: &crate::ids::DeviceId,
    clock: Clock,
    evidence: EvidencePolicy,
    limits: SyncSettings,
) -> Result<super::devices::Device, AppError> {
    write_transaction(conn, |conn| {
        let mut row = devices::releasable(conn, caller, device)?;
        if let Some(first) = sync::held_seqs(conn, &row.id)?.first().copied() {
            if first > row.last_seq + 1 {
                sync::skip_range(conn, &row.id, row.last_seq + 1, first - 1, clock.now)?;
            }
            row.last_seq = first - 1;
            let owner =
                crate::domain::sessions::caller_for_user(conn, &row.user_id, &row.device_key)?;
            let cx = Context {
                caller: &owner,
                clock,
                evidence,
                max_gap: limits.max_sequence_gap,
            };
            drain(conn, cx, &mut row)?;
            crate::db::devices::set_last_seq(conn, &row.id, row.last_seq)?;
        }
        let mut list = devices::list(conn, caller, Some(&row.user_id))?;
        list.retain(|d| d.id == row.id);
        list.pop().ok_or_else(|| AppError::not_found("device"))
    })
}
