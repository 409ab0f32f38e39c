//! Queries on processed mutations, the backlog of held and skipped sequence numbers, and conflicts.

use super::connection::{DbBackend, DbConnection};
use super::models::{ConflictRow, SyncMutationRow};
use super::schema::{sync_backlog, sync_conflicts, sync_mutations, sync_skipped};
use crate::ids::{ConflictId, DeviceId, UserId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

pub fn find_mutation(conn: &mut DbConnection, id: &str) -> QueryResult<Option<SyncMutationRow>> {
    sync_mutations::table
        .find(id)
        .select(SyncMutationRow::as_select())
        .first(conn)
        .optional()
}

/// The processed mutations among `ids`.
pub fn find_mutations(
    conn: &mut DbConnection,
    ids: &[String],
) -> QueryResult<Vec<SyncMutationRow>> {
    let mut found = Vec::new();
    for chunk in ids.chunks(super::INSERT_CHUNK) {
        found.extend(
            sync_mutations::table
                .filter(sync_mutations::id.eq_any(chunk))
                .select(SyncMutationRow::as_select())
                .load(conn)?,
        );
    }
    Ok(found)
}

pub fn insert_mutations(conn: &mut DbConnection, rows: &[SyncMutationRow]) -> QueryResult<()> {
    super::insert_rows!(conn, sync_mutations::table, rows)?;
    Ok(())
}

pub fn insert_mutation(conn: &mut DbConnection, row: &SyncMutationRow) -> QueryResult<()> {
    diesel::insert_into(sync_mutations::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// Holds a mutation that arrived after a gap (again is fine: the first copy stays).
pub fn hold(
    conn: &mut DbConnection,
    device: &DeviceId,
    seq: i64,
    mutation: &str,
    at: NaiveDateTime,
) -> QueryResult<()> {
    keep(conn, device, seq, HELD, mutation, at)
}

/// Puts a mutation in the backlog with `status` unless that sequence number is there already.
fn keep(
    conn: &mut DbConnection,
    device: &DeviceId,
    seq: i64,
    status: &str,
    mutation: &str,
    at: NaiveDateTime,
) -> QueryResult<()> {
    if backlog_status(conn, device, seq)?.is_none() {
        diesel::insert_into(sync_backlog::table)
            .values((
                sync_backlog::device_id.eq(device),
                sync_backlog::seq.eq(seq),
                sync_backlog::status.eq(status),
                sync_backlog::mutation.eq(mutation),
                sync_backlog::received_at.eq(at),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Keeps a mutation that waits for its photos (status `photos`); its sequence number is already
/// processed, so it holds nothing up.
pub fn wait_for_photos(
    conn: &mut DbConnection,
    device: &DeviceId,
    seq: i64,
    mutation: &str,
    at: NaiveDateTime,
) -> QueryResult<()> {
    keep(conn, device, seq, WAITING_FOR_PHOTOS, mutation, at)
}

/// Backlog status of a mutation waiting for photos.
pub const WAITING_FOR_PHOTOS: &str = "photos";

/// Backlog status of a mutation that arrived after a gap in its device's sequence.
const HELD: &str = "held";

/// The mutation at (device, seq) if it is waiting for photos.
pub fn waiting_mutation(
    conn: &mut DbConnection,
    device: &DeviceId,
    seq: i64,
) -> QueryResult<Option<String>> {
    let found: Option<Option<String>> = sync_backlog::table
        .find((device, seq))
        .filter(sync_backlog::status.eq(WAITING_FOR_PHOTOS))
        .select(sync_backlog::mutation)
        .first(conn)
        .optional()?;
    Ok(found.flatten())
}

/// (device, seq) of the mutations waiting for photos that name `sha256`, oldest first.
pub fn waiting_for(conn: &mut DbConnection, sha256: &str) -> QueryResult<Vec<(DeviceId, i64)>> {
    let waiting: Vec<(DeviceId, i64, Option<String>)> = sync_backlog::table
        .filter(sync_backlog::status.eq(WAITING_FOR_PHOTOS))
        .select((
            sync_backlog::device_id,
            sync_backlog::seq,
            sync_backlog::mutation,
        ))
        .order(sync_backlog::received_at)
        .load(conn)?;
    Ok(waiting
        .into_iter()
        .filter(|(_, _, m)| m.as_deref().is_some_and(|m| m.contains(sha256)))
        .map(|(d, s, _)| (d, s))
        .collect())
}

/// Sequence numbers of a device's mutations waiting for photos.
pub fn waiting_seqs(conn: &mut DbConnection, device: &DeviceId) -> QueryResult<Vec<i64>> {
    backlog_seqs(conn, device, WAITING_FOR_PHOTOS)
}

/// A device's backlog sequence numbers with `status`, ascending.
fn backlog_seqs(conn: &mut DbConnection, device: &DeviceId, status: &str) -> QueryResult<Vec<i64>> {
    sync_backlog::table
        .filter(
            sync_backlog::device_id
                .eq(device)
                .and(sync_backlog::status.eq(status)),
        )
        .select(sync_backlog::seq)
        .order(sync_backlog::seq)
        .load(conn)
}

/// The processed mutation with this device and sequence number.
pub fn mutation_at(
    conn: &mut DbConnection,
    device: &DeviceId,
    seq: i64,
) -> QueryResult<Option<SyncMutationRow>> {
    sync_mutations::table
        .filter(
            sync_mutations::device_id
                .eq(device)
                .and(sync_mutations::seq.eq(seq)),
        )
        .select(SyncMutationRow::as_select())
        .first(conn)
        .optional()
}

/// Replaces a mutation's recorded result (a wait for photos that ended).
pub fn set_mutation_result(
    conn: &mut DbConnection,
    id: &str,
    status: &str,
    result: &str,
) -> QueryResult<()> {
    diesel::update(sync_mutations::table.find(id))
        .set((
            sync_mutations::status.eq(status),
            sync_mutations::result.eq(result),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn backlog_status(
    conn: &mut DbConnection,
    device: &DeviceId,
    seq: i64,
) -> QueryResult<Option<String>> {
    sync_backlog::table
        .find((device, seq))
        .select(sync_backlog::status)
        .first(conn)
        .optional()
}

/// Takes the held mutation with this sequence number out of the backlog.
pub fn take_held(
    conn: &mut DbConnection,
    device: &DeviceId,
    seq: i64,
) -> QueryResult<Option<String>> {
    let held: Option<Option<String>> = sync_backlog::table
        .find((device, seq))
        .filter(sync_backlog::status.eq(HELD))
        .select(sync_backlog::mutation)
        .first(conn)
        .optional()?;
    if held.is_some() {
        diesel::delete(sync_backlog::table.find((device, seq))).execute(conn)?;
    }
    Ok(held.flatten())
}

pub fn remove_backlog(conn: &mut DbConnection, device: &DeviceId, seq: i64) -> QueryResult<()> {
    diesel::delete(sync_backlog::table.find((device, seq)))
        .execute(conn)
        .map(|_| ())
}

/// The devices with at least one held mutation (a backlog waiting for a missing earlier one),
/// at most `limit`.
pub fn held_devices(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<DeviceId>> {
    sync_backlog::table
        .filter(sync_backlog::status.eq(HELD))
        .select(sync_backlog::device_id)
        .distinct()
        .order(sync_backlog::device_id)
        .limit(limit)
        .load(conn)
}

/// Every held sequence number of a device, ascending.
pub fn held_seqs(conn: &mut DbConnection, device: &DeviceId) -> QueryResult<Vec<i64>> {
    backlog_seqs(conn, device, HELD)
}

/// Marks a missing sequence number as skipped (a supervisor released the gap); if the mutation
/// turns up later it is still processed.
pub fn mark_skipped(
    conn: &mut DbConnection,
    device: &DeviceId,
    seq: i64,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(sync_backlog::table)
        .values((
            sync_backlog::device_id.eq(device),
            sync_backlog::seq.eq(seq),
            sync_backlog::status.eq("skipped"),
            sync_backlog::mutation.eq(None::<String>),
            sync_backlog::received_at.eq(at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Skips the numbers `first..=last` of a device (a supervisor released the gap): one row,
/// however wide the gap.
pub fn skip_range(
    conn: &mut DbConnection,
    device: &DeviceId,
    first: i64,
    last: i64,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(sync_skipped::table)
        .values((
            sync_skipped::device_id.eq(device),
            sync_skipped::first_seq.eq(first),
            sync_skipped::last_seq.eq(last),
            sync_skipped::released_at.eq(at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Was `seq` released as skipped and has no mutation been recorded at it since (so one arriving
/// now is applied late)?
pub fn is_skipped(conn: &mut DbConnection, device: &DeviceId, seq: i64) -> QueryResult<bool> {
    let in_range: i64 = sync_skipped::table
        .filter(
            sync_skipped::device_id
                .eq(device)
                .and(sync_skipped::first_seq.le(seq))
                .and(sync_skipped::last_seq.ge(seq)),
        )
        .count()
        .get_result(conn)?;
    // Releases before ranges existed left one backlog row per number.
    if in_range == 0 && backlog_status(conn, device, seq)?.as_deref() != Some("skipped") {
        return Ok(false);
    }
    Ok(mutation_at(conn, device, seq)?.is_none())
}

/// (device, seq, status, received_at) of every backlog entry.
pub fn backlog(
    conn: &mut DbConnection,
) -> QueryResult<Vec<(DeviceId, i64, String, NaiveDateTime)>> {
    sync_backlog::table
        .select((
            sync_backlog::device_id,
            sync_backlog::seq,
            sync_backlog::status,
            sync_backlog::received_at,
        ))
        .order((sync_backlog::device_id, sync_backlog::seq))
        .load(conn)
}

pub fn insert_conflict(conn: &mut DbConnection, row: &ConflictRow) -> QueryResult<()> {
    diesel::insert_into(sync_conflicts::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn find_conflict(conn: &mut DbConnection, id: &ConflictId) -> QueryResult<Option<ConflictRow>> {
    sync_conflicts::table
        .find(id)
        .select(ConflictRow::as_select())
        .first(conn)
        .optional()
}

/// Conflicts on issues in the subtrees, oldest first (then by id), after a position.
pub fn list_conflicts(
    conn: &mut DbConnection,
    subtrees: &[String],
    unresolved_only: bool,
    after: Option<(NaiveDateTime, &ConflictId)>,
    limit: i64,
) -> QueryResult<Vec<ConflictRow>> {
    if subtrees.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = sync_conflicts::table
        .select(ConflictRow::as_select())
        .into_boxed::<DbBackend>()
        .filter(super::place_in_subtrees!(sync_conflicts, subtrees));
    if unresolved_only {
        q = q.filter(sync_conflicts::resolved_at.is_null());
    }
    if let Some((at, id)) = after {
        q = q.filter(
            sync_conflicts::created_at
                .gt(at)
                .or(sync_conflicts::created_at
                    .eq(at)
                    .and(sync_conflicts::id.gt(id.clone()))),
        );
    }
    q.order((sync_conflicts::created_at, sync_conflicts::id))
        .limit(limit)
        .load(conn)
}

/// How many conflicts on issues in the subtrees are unresolved.
pub fn count_open_conflicts(conn: &mut DbConnection, subtrees: &[String]) -> QueryResult<i64> {
    if subtrees.is_empty() {
        return Ok(0);
    }
    let q = sync_conflicts::table
        .into_boxed::<DbBackend>()
        .filter(super::place_in_subtrees!(sync_conflicts, subtrees));
    q.filter(sync_conflicts::resolved_at.is_null())
        .count()
        .get_result(conn)
}

/// The latest resolved conflicts on issues in the subtrees, latest resolution first.
pub fn recently_resolved_conflicts(
    conn: &mut DbConnection,
    subtrees: &[String],
    limit: i64,
) -> QueryResult<Vec<ConflictRow>> {
    if subtrees.is_empty() {
        return Ok(Vec::new());
    }
    let q = sync_conflicts::table
        .select(ConflictRow::as_select())
        .into_boxed::<DbBackend>()
        .filter(super::place_in_subtrees!(sync_conflicts, subtrees));
    q.filter(sync_conflicts::resolved_at.is_not_null())
        .order((sync_conflicts::resolved_at.desc(), sync_conflicts::id))
        .limit(limit)
        .load(conn)
}

/// Marks a conflict resolved, only if it was not already: false when someone resolved it first.
pub fn resolve_conflict(
    conn: &mut DbConnection,
    id: &ConflictId,
    by: &UserId,
    at: NaiveDateTime,
    resolution: &str,
    comment: Option<&str>,
) -> QueryResult<bool> {
    let n = diesel::update(
        sync_conflicts::table
            .find(id)
            .filter(sync_conflicts::resolved_at.is_null()),
    )
    .set((
        sync_conflicts::resolved_at.eq(at),
        sync_conflicts::resolved_by.eq(by),
        sync_conflicts::resolution.eq(resolution),
        sync_conflicts::resolution_comment.eq(comment),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// For the metrics scrape: mutations held behind a sequence gap, and unresolved conflicts.
pub fn backlog_and_open_conflicts(conn: &mut DbConnection) -> QueryResult<(i64, i64)> {
    let held = sync_backlog::table.count().get_result(conn)?;
    let open = sync_conflicts::table
        .filter(sync_conflicts::resolved_at.is_null())
        .count()
        .get_result(conn)?;
    Ok((held, open))
}
