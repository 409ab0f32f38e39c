//! `POST /sync/push`: a batch of a device's mutations, processed in one transaction, in sequence
//! order, each exactly once. Every mutation ends `applied`, `duplicate`, `conflict` or `rejected`;
//! one after a gap is `held` until the gap fills. A refused mutation is undone alone (savepoint)
//! and the queue moves on; a failure of the server itself rolls the whole batch back, so a retry
//! finds nothing half-applied.
//!
//! A `submit` whose after-photos have not arrived waits for them (`held`, code `photos_pending`)
//! without holding up the device's later mutations: it is applied when the last photo is stored,
//! or when the phone resends it and the photos are there.

use super::bulk::{self, PendingCreates};
use super::devices;
use crate::db::models::{ConflictRow, DeviceRow, SyncMutationRow};
use crate::db::{DbConnection, issues, sync, write_transaction};
use crate::domain::access::Caller;
use crate::domain::evidence::EvidencePolicy;
use crate::domain::issues::edit::{self, Origin};
use crate::domain::issues::report::{self, NewIssue};
use crate::domain::issues::view::Location;
use crate::domain::issues::{Clock, transitions};
use crate::error::{AppError, ErrorCode};
use crate::ids::{ConflictId, IssueId, OrgUnitId};
use chrono::{DateTime, Utc};
use closeout_sync_protocol::sync::{
    Disposition, MutationBody, MutationResult, MutationStatus, PROTOCOL_VERSION, PushResponse,
    classify,
};
use diesel::Connection;
use serde::{Deserialize, Serialize};
use serde_json::json;
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
        device_time: m.device_time.naive_utc(),
        received_at: clock.now,
    })
}

pub(super) fn result(m: &RawMutation, status: MutationStatus) -> MutationResult {
    MutationResult {
        id: m.id.clone(),
        seq: m.seq,
        status,
        code: None,
        message: None,
        message_zh: None,
        version: None,
        conflict_ids: None,
        original: None,
    }
}

fn refused(m: &RawMutation, e: AppError) -> MutationResult {
    MutationResult {
        code: Some(e.code.as_str().to_owned()),
        message_zh: Some(
            e.detail_zh
                .clone()
                .unwrap_or_else(|| e.code.message_zh().to_owned()),
        ),
        message: Some(e.detail),
        ..result(m, MutationStatus::Rejected)
    }
}

/// Codes that mean "the issue moved on while the phone was offline": kept as a conflict.
fn is_stale(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::InvalidTransition
            | ErrorCode::NoPendingExtension
            | ErrorCode::ExtensionAlreadyPending
            | ErrorCode::EscalationAtTop
            | ErrorCode::ConcurrentUpdate
    )
}

/// One mutation inside a savepoint: a refusal undoes it alone.
fn apply(
    conn: &mut DbConnection,
    cx: Context<'_>,
    device: &DeviceRow,
    m: &RawMutation,
) -> Result<MutationResult, AppError> {
    let body: MutationBody = match MutationBody::deserialize(&m.body) {
        Ok(b) => b,
        Err(e) => {
            return Ok(refused(
                m,
                AppError::new(ErrorCode::MalformedMutation, format!("body: {e}")),
            ));
        }
    };
    let outcome = conn.transaction(|conn| apply_body(conn, cx, device, m, &body));
    match outcome {
        Ok(r) => Ok(r),
        Err(e) if e.code.status() >= 500 => Err(e),
        Err(e) => match &body {
            MutationBody::Transition(t) if is_stale(e.code) => {
                transition_conflict(conn, cx, device, m, &t.issue_id, &e)
            }
            MutationBody::Transition(_) if e.code == ErrorCode::PhotosPending => {
                wait_for_photos(conn, device, m, &e, cx.clock)
            }
            _ => Ok(refused(m, e)),
        },
    }
}

fn parse_issue_id(text: &str) -> Result<IssueId, AppError> {
    uuid::Uuid::parse_str(text)
        .map(IssueId::from)
        .map_err(|_| AppError::invalid_field("issue_id", "must be a UUID", "须为 UUID"))
}

fn apply_body(
    conn: &mut DbConnection,
    cx: Context<'_>,
    device: &DeviceRow,
    m: &RawMutation,
    body: &MutationBody,
) -> Result<MutationResult, AppError> {
    let (caller, clock) = (cx.caller, cx.clock);
    match body {
        MutationBody::CreateIssue(b) => {
            let id = parse_issue_id(&b.issue_id)?;
            let place = uuid::Uuid::parse_str(&b.place_id)
                .map(OrgUnitId::from)
                .map_err(|_| AppError::invalid_field("place_id", "must be a UUID", "须为 UUID"))?;
            let input = NewIssue {
                id: Some(uuid::Uuid::parse_str(&b.issue_id).map_err(AppError::internal)?),
                title: b.title.clone(),
                description: b.description.clone(),
                category: b.category.clone(),
                severity: b.severity,
                source: b.source,
                place_id: place,
                location: b.location.as_ref().map(|l| Location {
                    lat: l.lat,
                    lon: l.lon,
                    accuracy_m: l.accuracy_m,
                    address: l.address.clone(),
                }),
                device_time: Some(m.device_time),
                photos: b.photos.clone(),
            };
            report::validate(&input)?;
            let created = report::report_within(conn, caller, &id, &input, clock)?;
            let status = if created {
                MutationStatus::Applied
            } else {
                MutationStatus::Duplicate
            };
            Ok(MutationResult {
                version: Some(1),
                ..result(m, status)
            })
        }
        MutationBody::UpdateIssue(b) => {
            let id = parse_issue_id(&b.issue_id)?;
            let origin = Origin {
                mutation_id: &m.id,
                device_id: &device.id,
            };
            let out =
                edit::edit_within(conn, caller, &origin, &id, b.base_version, &b.fields, clock)?;
            let status = if out.conflicts.is_empty() {
                MutationStatus::Applied
            } else {
                MutationStatus::Conflict
            };
            Ok(MutationResult {
                version: Some(out.version),
                conflict_ids: (!out.conflicts.is_empty())
                    .then(|| out.conflicts.iter().map(|c| c.to_string()).collect()),
                ..result(m, status)
            })
        }
        MutationBody::Transition(t) => {
            let id = parse_issue_id(&t.issue_id)?;
            let mut request = t.request.clone();
            request.device_time = request.device_time.or(Some(m.device_time));
            transitions::apply_within(conn, caller, &id, &request, clock, cx.evidence)?;
            let version = issues::find(conn, &id)?.map(|i| i.version);
            Ok(MutationResult {
                version,
                ..result(m, MutationStatus::Applied)
            })
        }
        MutationBody::RecordInspection(b) => {
            crate::domain::inspections::sync::apply(conn, caller, &device.id, m, b, clock)
        }
    }
}

/// A transition the issue has moved past (a rectification submitted offline after close-out):
/// kept, with its photos, for a supervisor to see and resolve.
fn transition_conflict(
    conn: &mut DbConnection,
    cx: Context<'_>,
    device: &DeviceRow,
    m: &RawMutation,
    issue_id: &str,
    e: &AppError,
) -> Result<MutationResult, AppError> {
    let (caller, clock) = (cx.caller, cx.clock);
    let id = parse_issue_id(issue_id)?;
    let Some(issue) = issues::find(conn, &id)? else {
        return Ok(refused(m, AppError::not_found("issue")));
    };
    let conflict = ConflictId::generate();
    sync::insert_conflict(
        conn,
        &ConflictRow {
            id: conflict.clone(),
            issue_id: id,
            place_path: issue.place_path.clone(),
            mutation_id: m.id.clone(),
            device_id: device.id.clone(),
            user_id: caller.user_id.clone(),
            kind: "transition".into(),
            field: None,
            incoming: json!({ "request": m.body.get("request"), "device_time": m.device_time, "refused": e.code.as_str(), "reason": e.detail }).to_string(),
            current_value: json!({ "state": issue.state, "version": issue.version }).to_string(),
            created_at: clock.now,
            resolved_at: None,
            resolved_by: None,
            resolution: None,
            resolution_comment: None,
        },
    )?;
    Ok(MutationResult {
        code: Some(e.code.as_str().to_owned()),
        message: Some(e.detail.clone()),
        message_zh: e.detail_zh.clone(),
        version: Some(issue.version),
        conflict_ids: Some(vec![conflict.to_string()]),
        ..result(m, MutationStatus::Conflict)
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

/// A transition whose photos have not arrived: kept in the backlog until they have. The device's
/// sequence moves past it, so its later mutations are not held up.
fn wait_for_photos(
    conn: &mut DbConnection,
    device: &DeviceRow,
    m: &RawMutation,
    e: &AppError,
    clock: Clock,
) -> Result<MutationResult, AppError> {
    let text = serde_json::to_string(m).map_err(AppError::internal)?;
    sync::wait_for_photos(conn, &device.id, m.seq as i64, &text, clock.now)?;
    Ok(MutationResult {
        code: Some(e.code.as_str().to_owned()),
        message: Some(format!(
            "{}; it will be applied when they arrive, keep uploading",
            e.detail
        )),
        message_zh: Some("照片上传完成后自动生效，请继续上传照片".to_owned()),
        ..result(m, MutationStatus::Held)
    })
}

/// Tries a mutation that waits for photos again: still waiting, or its final result (recorded in
/// place of the `held` one, so later resends get it as the original).
fn retry_waiting(
    conn: &mut DbConnection,
    cx: Context<'_>,
    device: &DeviceRow,
    seen: &SyncMutationRow,
) -> Result<MutationResult, AppError> {
    let Some(text) = sync::waiting_mutation(conn, &device.id, seen.seq)? else {
        return serde_json::from_str(&seen.result).map_err(AppError::internal);
    };
    let m: RawMutation = serde_json::from_str(&text).map_err(AppError::internal)?;
    let r = apply(conn, cx, device, &m)?;
    if r.status != MutationStatus::Held {
        sync::remove_backlog(conn, &device.id, seen.seq)?;
        let json = serde_json::to_string(&r).map_err(AppError::internal)?;
        sync::set_mutation_result(conn, &seen.id, r.status.as_str(), &json)?;
    }
    Ok(r)
}

/// After a photo is stored: applies the mutations that were waiting for it (and now have all
/// their photos), each with the rights of its device's user. Returns how many were applied.
/// Mutations of revoked devices or disabled users stay waiting.
pub fn release_waiting_for(
    conn: &mut DbConnection,
    sha256: &str,
    clock: Clock,
    evidence: EvidencePolicy,
) -> Result<usize, AppError> {
    let mut done = 0;
    for (device_id, seq) in sync::waiting_for(conn, sha256)? {
        let finished = write_transaction(conn, |conn| {
            let Some(device) = crate::db::devices::find(conn, &device_id)? else {
                return Ok(false);
            };
            if device.revoked_at.is_some() {
                return Ok(false);
            }
            let Some(seen) = sync::mutation_at(conn, &device_id, seq)? else {
                return Ok(false);
            };
            let Ok(owner) =
                crate::domain::sessions::caller_for_user(conn, &device.user_id, &device.device_key)
            else {
                return Ok(false);
            };
            let cx = Context {
                caller: &owner,
                clock,
                evidence,
            };
            let r = retry_waiting(conn, cx, &device, &seen)?;
            Ok::<_, AppError>(r.status != MutationStatus::Held)
        })?;
        done += usize::from(finished);
    }
    Ok(done)
}
