//! `POST /sync/push`: a batch of a device's mutations, processed in one transaction, in sequence
//! order, each exactly once. Every mutation ends `applied`, `duplicate`, `conflict` or `rejected`;
//! one after a gap is `held` until the gap fills. A refused mutation is undone alone (savepoint)
//! and the queue moves on; a failure of the server itself rolls the whole batch back, so a retry
//! finds nothing half-applied.
//!
//! How one mutation is applied is `apply`; a `submit` waiting for its photos is `waiting`.

use super::apply::{apply, refused, result};
use super::bulk::{self, PendingCreates};
use super::devices;
use super::waiting::retry_waiting;
use crate::db::models::{DeviceRow, SyncMutationRow};
use crate::db::{DbConnection, sync, write_transaction};
use crate::domain::access::Caller;
use crate::domain::evidence::EvidencePolicy;
use crate::domain::issues::Clock;
use crate::error::{AppError, ErrorCode};
use crate::ids::IssueId;
use chrono::{DateTime, Utc};
use closeout_sync_protocol::sync::{
    Disposition, MutationBody, MutationResult, MutationStatus, PROTOCOL_VERSION, PushResponse,
    classify,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The batch as received: the envelope of each mutation is checked strictly, its body separately,
/// so that one body this server does not understand is rejected alone instead of the batch.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PushBatch {
    pub protocol: u32,
    pub sent_at: DateTime<Utc>,
    pub mutations: Vec<RawMutation>,
}

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
    for m in &batch.mutations {
        if uuid::Uuid::parse_str(&m.id).is_err() || m.seq == 0 || m.seq > i64::MAX as u64 {
            return Err(AppError::invalid_field(
                "mutations",
                format!(
                    "mutation `{}`: id must be a UUID and seq a positive number",
                    m.id
                ),
                "操作的 id 须为 UUID，seq 须为正整数",
            ));
        }
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
}

pub fn push(
    conn: &mut DbConnection,
    caller: &Caller,
    mut batch: PushBatch,
    clock: Clock,
    evidence: EvidencePolicy,
) -> Result<PushResponse, AppError> {
    let cx = Context {
        caller,
        clock,
        evidence,
    };
    check(&batch)?;
    batch.mutations.sort_by_key(|m| m.seq);
    let skew_ms = (clock.now.and_utc() - batch.sent_at).num_milliseconds();
    // Two phones pushing the same new issue or inspection at the same moment both find it
    // missing and both insert it; the loser's transaction fails on the key. Redone, the batch
    // sees the winner's row and answers as for a replay. (SQLite serializes writers: no race.)
    let mut attempts = 0;
    loop {
        attempts += 1;
        match push_once(conn, cx, &batch, skew_ms) {
            Err(e) if e.is_write_race() && attempts < 3 => continue,
            outcome => return outcome,
        }
    }
}

fn push_once(
    conn: &mut DbConnection,
    cx: Context<'_>,
    batch: &PushBatch,
    skew_ms: i64,
) -> Result<PushResponse, AppError> {
    let (caller, clock) = (cx.caller, cx.clock);
    write_transaction(conn, |conn| {
        let mut device = devices::of_caller(conn, caller, clock.now)?;
        let mut state = BatchState::read(conn, &device, &batch.mutations)?;
        let mut results = Vec::with_capacity(batch.mutations.len());
        for m in &batch.mutations {
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
        mutations: &[RawMutation],
    ) -> Result<Self, AppError> {
        let ids: Vec<String> = mutations.iter().map(|m| m.id.clone()).collect();
        let seen = sync::find_mutations(conn, &ids)?
            .into_iter()
            .map(|r| (r.id.clone(), r))
            .collect();
        let new_issues: Vec<IssueId> = mutations
            .iter()
            .filter(|m| m.body.get("type").and_then(|t| t.as_str()) == Some("create_issue"))
            .filter_map(|m| m.body.get("issue_id").and_then(|i| i.as_str()))
            .filter_map(|i| uuid::Uuid::parse_str(i).ok().map(IssueId::from))
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
        let held: RawMutation = serde_json::from_str(&text).map_err(AppError::internal)?;
        let result = apply(conn, cx, device, &held)?;
        record(conn, device, &held, &result, cx.clock)?;
        device.last_seq += 1;
    }
    Ok(())
}

fn process(
    conn: &mut DbConnection,
    cx: Context<'_>,
    device: &mut DeviceRow,
    m: &RawMutation,
    state: &mut BatchState,
) -> Result<MutationResult, AppError> {
    let clock = cx.clock;
    let seq = m.seq as i64;
    // A fresh create is checked in memory and written with the batch's others.
    if seq == device.last_seq + 1
        && !state.seen.contains_key(&m.id)
        && let Some(r) = bulk_create(conn, cx, device, m, state)?
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
    let skipped = seq <= device.last_seq
        && sync::backlog_status(conn, &device.id, seq)?.as_deref() == Some("skipped");
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
            let text = serde_json::to_string(m).map_err(AppError::internal)?;
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
            let r = apply(conn, cx, device, m)?;
            record(conn, device, m, &r, clock)?;
            Ok(r)
        }
        Disposition::Apply => {
            let r = apply(conn, cx, device, m)?;
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
    m: &RawMutation,
    state: &mut BatchState,
) -> Result<Option<MutationResult>, AppError> {
    if m.body.get("type").and_then(|t| t.as_str()) != Some("create_issue") {
        return Ok(None);
    }
    let Ok(MutationBody::CreateIssue(body)) = MutationBody::deserialize(&m.body) else {
        return Ok(None);
    };
    let r = match state.creates.try_create(conn, cx, m, &body)? {
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
    Ok(SyncMutationRow {
        id: m.id.clone(),
        device_id: device.id.clone(),
        seq: m.seq as i64,
        kind: m
            .body
            .get("type")
            .and_then(|t| t.as_str())
            .unwrap_or("?")
            .to_owned(),
        status: r.status.as_str().to_owned(),
        result: serde_json::to_string(r).map_err(AppError::internal)?,
        device_time: m.device_time.naive_utc().into(),
        received_at: clock.now.into(),
    })
}

/// A supervisor releases a device's backlog: the missing sequence numbers before the first held
/// mutation are marked skipped (still processed if they ever arrive), and the held mutations are
/// applied with the rights of the device's user.
pub fn release_backlog(
    conn: &mut DbConnection,
    caller: &Caller,
    device: &crate::ids::DeviceId,
    clock: Clock,
    evidence: EvidencePolicy,
) -> Result<super::devices::Device, AppError> {
    write_transaction(conn, |conn| {
        let mut row = devices::releasable(conn, caller, device)?;
        if let Some(first) = sync::held_seqs(conn, &row.id)?.first().copied() {
            for seq in row.last_seq + 1..first {
                sync::mark_skipped(conn, &row.id, seq, clock.now)?;
            }
            row.last_seq = first - 1;
            let owner =
                crate::domain::sessions::caller_for_user(conn, &row.user_id, &row.device_key)?;
            let cx = Context {
                caller: &owner,
                clock,
                evidence,
            };
            drain(conn, cx, &mut row)?;
            crate::db::devices::set_last_seq(conn, &row.id, row.last_seq)?;
        }
        let mut list = devices::list(conn, caller, Some(&row.user_id))?;
        list.retain(|d| d.id == row.id);
        list.pop().ok_or_else(|| AppError::not_found("device"))
    })
}
