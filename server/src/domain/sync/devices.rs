//! The device registry: a device is one user's installation of the app, registered at login,
//! numbering its mutations; a revoked device can neither log in, push nor pull.

use crate::db::models::DeviceRow;
use crate::db::{DbConnection, devices, refresh_tokens, sync, users};
use crate::domain::access::{Caller, Place};
use crate::domain::accounts;
use crate::error::{AppError, ErrorCode};
use crate::ids::{DeviceId, UserId};
use chrono::NaiveDateTime;
use closeout_sync_protocol::Role;
use serde::Serialize;

fn revoked() -> AppError {
    AppError::new(
        ErrorCode::DeviceRevoked,
        "this device has been revoked; ask your administrator",
    )
    .zh("该设备已被停用，请联系管理员")
}

/// The device for a user and the phone's own id, registered on first sight.
pub fn register(
    conn: &mut DbConnection,
    user: &UserId,
    key: &str,
    now: NaiveDateTime,
) -> Result<DeviceRow, AppError> {
    if let Some(device) = devices::find_by_key(conn, user, key)? {
        return if device.revoked_at.is_some() {
            Err(revoked())
        } else {
            Ok(device)
        };
    }
    let device = DeviceRow {
        id: DeviceId::generate(),
        user_id: user.clone(),
        device_key: key.to_owned(),
        registered_at: now,
        last_seen_at: Some(now),
        last_seq: 0,
        clock_skew_ms: None,
        revoked_at: None,
        restored_at: None,
    };
    devices::insert(conn, &device)?;
    Ok(device)
}

/// The caller's device (from the access token), refused if revoked.
pub fn of_caller(
    conn: &mut DbConnection,
    caller: &Caller,
    now: NaiveDateTime,
) -> Result<DeviceRow, AppError> {
    register(conn, &caller.user_id, &caller.device_id, now)
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Device {
    pub id: DeviceId,
    pub user_id: UserId,
    pub device_key: String,
    pub registered_at: chrono::DateTime<chrono::Utc>,
    pub last_seen_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Highest mutation sequence number processed, with no gap below.
    pub acknowledged_seq: i64,
    /// Server clock minus device clock at the last push (positive: the phone is behind).
    pub clock_skew_ms: Option<i64>,
    /// Mutations waiting for a missing earlier one.
    pub held: Vec<i64>,
    /// Mutations (a `submit`) waiting for their photos to finish uploading; they hold nothing up.
    pub waiting_for_photos: Vec<i64>,
    pub revoked: bool,
}

fn view(conn: &mut DbConnection, d: DeviceRow) -> Result<Device, AppError> {
    Ok(Device {
        held: sync::held_seqs(conn, &d.id)?,
        waiting_for_photos: sync::waiting_seqs(conn, &d.id)?,
        id: d.id,
        user_id: d.user_id,
        device_key: d.device_key,
        registered_at: d.registered_at.and_utc(),
        last_seen_at: d.last_seen_at.map(|t| t.and_utc()),
        acknowledged_seq: d.last_seq,
        clock_skew_ms: d.clock_skew_ms,
        revoked: d.revoked_at.is_some(),
    })
}

/// May `caller` manage (revoke, release the backlog of) a device of `owner`: a system admin, or a
/// supervisor or admin of a place where the owner holds a role.
fn manages(conn: &mut DbConnection, caller: &Caller, owner: &UserId) -> Result<bool, AppError> {
    if caller.has_system_role(Role::Admin) {
        return Ok(true);
    }
    for (grant, _) in accounts::roles_of(conn, owner)? {
        let place = Place {
            path: &grant.subtree_path,
        };
        if caller.has_role_at(Role::Supervisor, place) || caller.has_role_at(Role::Admin, place) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The caller's own devices, or with `user` those of a user the caller manages.
pub fn list(
    conn: &mut DbConnection,
    caller: &Caller,
    user: Option<&UserId>,
) -> Result<Vec<Device>, AppError> {
    let owner = user.unwrap_or(&caller.user_id);
    if owner != &caller.user_id
        && (users::find(conn, owner)?.is_none() || !manages(conn, caller, owner)?)
    {
        return Err(AppError::not_found("user"));
    }
    devices::of_user(conn, owner)?
        .into_iter()
        .map(|d| view(conn, d))
        .collect()
}

/// Devices with a held backlog that the caller may release (the rule of `releasable`: a system
/// admin, or a supervisor or admin of a place where the owner holds a role), oldest id first.
pub fn backlogged(
    conn: &mut DbConnection,
    caller: &Caller,
    limit: i64,
) -> Result<Vec<Device>, AppError> {
    let mut list = Vec::new();
    for id in sync::held_devices(conn, limit)? {
        let Some(device) = devices::find(conn, &id)? else {
            continue;
        };
        if manages(conn, caller, &device.user_id)? {
            list.push(view(conn, device)?);
        }
    }
    Ok(list)
}

fn managed_device(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &DeviceId,
) -> Result<DeviceRow, AppError> {
    let device = devices::find(conn, id)?.ok_or_else(|| AppError::not_found("device"))?;
    if device.user_id == caller.user_id || manages(conn, caller, &device.user_id)? {
        Ok(device)
    } else {
        Err(AppError::not_found("device"))
    }
}

/// Revokes a device (its owner or a manager): its sessions end, and it cannot log in again.
pub fn revoke(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &DeviceId,
    now: NaiveDateTime,
) -> Result<Device, AppError> {
    crate::db::write_transaction(conn, |conn| {
        let device = managed_device(conn, caller, id)?;
        devices::revoke(conn, id, now)?;
        refresh_tokens::revoke_device(
            conn,
            &device.user_id,
            &device.device_key,
            now,
            "device_revoked",
        )?;
        let device = devices::find(conn, id)?.ok_or_else(|| AppError::not_found("device"))?;
        view(conn, device)
    })
}

/// Releases a device's backlog (a manager, not the owner): the missing sequence numbers before
/// the held mutations are skipped — processed if they ever arrive — and the held ones applied.
pub fn releasable(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &DeviceId,
) -> Result<DeviceRow, AppError> {
    let device = managed_device(conn, caller, id)?;
    if !manages(conn, caller, &device.user_id)? {
        return Err(AppError::new(
            ErrorCode::Forbidden,
            "releasing a backlog needs a supervisor or admin of the user's places",
        )
        .zh("放行积压需要该用户所在区域的督查办或管理员"));
    }
    Ok(device)
}
