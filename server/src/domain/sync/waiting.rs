//! A `submit` whose after-photos have not finished uploading waits for them on the server
//! (`held`, code `photos_pending`) without holding up the device's later mutations, and is applied
//! when the last photo is stored or when the phone resends it (docs/photos.md, "The close-out gate").

use super::apply::{apply, result};
use super::push::{Context, RawMutation};
use crate::db::models::{DeviceRow, SyncMutationRow};
use crate::db::{DbConnection, sync, write_transaction};
use crate::domain::evidence::EvidencePolicy;
use crate::domain::issues::Clock;
use crate::error::AppError;
use closeout_sync_protocol::sync::{MutationResult, MutationStatus};

/// A transition whose photos have not arrived: kept in the backlog until they have. The device's
/// sequence moves past it, so its later mutations are not held up.
pub(super) fn wait_for_photos(
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
pub(super) fn retry_waiting(
    conn: &mut DbConnection,
    cx: Context<'_>,
    device: &DeviceRow,
    seen: &SyncMutationRow,
) -> Result<MutationResult, AppError> {
    let Some(text) = sync::waiting_mutation(conn, &device.id, seen.seq)? else {
        return serde_json::from_str(&seen.result).map_err(AppError::internal);
    };
    let waiting = super::decode::stored(&text, cx.clock.now.and_utc())?;
    let r = match &waiting.body {
        Ok(body) => apply(conn, cx, device, &waiting.m, body)?,
        Err(rejection) => rejection.result(&waiting.m.id, waiting.m.seq),
    };
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
                // Nothing waiting for photos is ahead of its device's sequence.
                max_gap: u64::MAX,
            };
            let r = retry_waiting(conn, cx, &device, &seen)?;
            Ok::<_, AppError>(r.status != MutationStatus::Held)
        })?;
        done += usize::from(finished);
    }
    Ok(done)
}
