//! Queries on refresh tokens (stored as SHA-256 hashes, one family per login on one device).

use super::connection::DbConnection;
use super::models::RefreshTokenRow;
use super::schema::refresh_tokens::dsl as rt;
use crate::ids::{RefreshTokenId, TokenFamilyId, UserId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

pub fn insert(conn: &mut DbConnection, row: &RefreshTokenRow) -> QueryResult<()> {
    diesel::insert_into(rt::refresh_tokens)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn find_by_hash(conn: &mut DbConnection, hash: &str) -> QueryResult<Option<RefreshTokenRow>> {
    rt::refresh_tokens
        .filter(rt::token_hash.eq(hash))
        .select(RefreshTokenRow::as_select())
        .first(conn)
        .optional()
}

/// Marks a token as used, only if nobody else did first: returns false when it lost that race.
pub fn mark_rotated(
    conn: &mut DbConnection,
    id: &RefreshTokenId,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(rt::refresh_tokens.find(id).filter(rt::rotated_at.is_null()))
        .set(rt::rotated_at.eq(now))
        .execute(conn)?;
    Ok(n == 1)
}

pub fn revoke_family(
    conn: &mut DbConnection,
    family: &TokenFamilyId,
    now: NaiveDateTime,
    reason: &str,
) -> QueryResult<usize> {
    diesel::update(
        rt::refresh_tokens.filter(rt::family_id.eq(family).and(rt::revoked_at.is_null())),
    )
    .set((rt::revoked_at.eq(now), rt::revoked_reason.eq(reason)))
    .execute(conn)
}

/// Revokes every live token of a user (password reset, account disabled).
pub fn revoke_user(
    conn: &mut DbConnection,
    user: &UserId,
    now: NaiveDateTime,
    reason: &str,
) -> QueryResult<usize> {
    diesel::update(rt::refresh_tokens.filter(rt::user_id.eq(user).and(rt::revoked_at.is_null())))
        .set((rt::revoked_at.eq(now), rt::revoked_reason.eq(reason)))
        .execute(conn)
}

/// Whether the login (family) still has a token that is not revoked: logging out or a detected
/// reuse ends the session's access tokens at once, not when they expire.
pub fn family_is_live(conn: &mut DbConnection, family: &TokenFamilyId) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        rt::refresh_tokens.filter(rt::family_id.eq(family).and(rt::revoked_at.is_null())),
    ))
    .get_result(conn)
}

/// Revokes every live token of one device of a user.
pub fn revoke_device(
    conn: &mut DbConnection,
    user: &UserId,
    device_key: &str,
    now: NaiveDateTime,
    reason: &str,
) -> QueryResult<usize> {
    diesel::update(
        rt::refresh_tokens.filter(
            rt::user_id
                .eq(user)
                .and(rt::device_id.eq(device_key))
                .and(rt::revoked_at.is_null()),
        ),
    )
    .set((rt::revoked_at.eq(now), rt::revoked_reason.eq(reason)))
    .execute(conn)
}
