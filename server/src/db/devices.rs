//! Queries on registered devices.

use super::connection::DbConnection;
use super::models::DeviceRow;
use super::schema::devices::dsl as d;
use crate::ids::{DeviceId, UserId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

pub fn find(conn: &mut DbConnection, id: &DeviceId) -> QueryResult<Option<DeviceRow>> {
    d::devices
        .find(id)
        .select(DeviceRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_key(
    conn: &mut DbConnection,
    user: &UserId,
    key: &str,
) -> QueryResult<Option<DeviceRow>> {
    d::devices
        .filter(d::user_id.eq(user).and(d::device_key.eq(key)))
        .select(DeviceRow::as_select())
        .first(conn)
        .optional()
}

pub fn insert(conn: &mut DbConnection, row: &DeviceRow) -> QueryResult<()> {
    diesel::insert_into(d::devices)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn of_user(conn: &mut DbConnection, user: &UserId) -> QueryResult<Vec<DeviceRow>> {
    d::devices
        .filter(d::user_id.eq(user))
        .select(DeviceRow::as_select())
        .order(d::registered_at)
        .load(conn)
}

pub fn all(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<DeviceRow>> {
    d::devices
        .select(DeviceRow::as_select())
        .order(d::registered_at)
        .limit(limit)
        .load(conn)
}

/// After a push: how far the device got, when it was seen, its clock skew.
pub fn record_push(
    conn: &mut DbConnection,
    id: &DeviceId,
    last_seq: i64,
    seen: NaiveDateTime,
    skew_ms: i64,
) -> QueryResult<()> {
    diesel::update(d::devices.find(id))
        .set((
            d::last_seq.eq(last_seq),
            d::last_seen_at.eq(seen),
            d::clock_skew_ms.eq(skew_ms),
        ))
        .execute(conn)
        .map(|_| ())
}

/// After a restore: every device's next push says where it stands (`domain::sync::push`).
pub fn mark_restored(conn: &mut DbConnection, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(d::devices.filter(d::revoked_at.is_null()))
        .set(d::restored_at.eq(at))
        .execute(conn)
}

/// The device has pushed since the restore.
pub fn clear_restored(conn: &mut DbConnection, id: &DeviceId) -> QueryResult<()> {
    diesel::update(d::devices.find(id))
        .set(d::restored_at.eq(None::<NaiveDateTime>))
        .execute(conn)
        .map(|_| ())
}

pub fn set_last_seq(conn: &mut DbConnection, id: &DeviceId, last_seq: i64) -> QueryResult<()> {
    diesel::update(d::devices.find(id))
        .set(d::last_seq.eq(last_seq))
        .execute(conn)
        .map(|_| ())
}

pub fn touch(conn: &mut DbConnection, id: &DeviceId, seen: NaiveDateTime) -> QueryResult<()> {
    diesel::update(d::devices.find(id))
        .set(d::last_seen_at.eq(seen))
        .execute(conn)
        .map(|_| ())
}

pub fn revoke(conn: &mut DbConnection, id: &DeviceId, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(d::devices.find(id))
        .set(d::revoked_at.eq(at))
        .execute(conn)
        .map(|_| ())
}
