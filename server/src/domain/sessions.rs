//! Logging in, refreshing and logging out; turning an access token into a [`Caller`].
//!
//! Each login on a device starts a *family* of refresh tokens. Every refresh uses up the token it
//! presents and hands out the next one (rotation). A token presented a second time means it was
//! copied: the whole family is revoked, and the device must log in again. A family lives as long
//! as it keeps being refreshed (`refresh_ttl_days` after the last use), so a phone that was offline
//! for a month still gets back in.

use super::access::{Caller, Grant};
use super::accounts;
use crate::auth::jwt::{JwtKeys, SessionRef};
use crate::auth::{password, refresh};
use crate::db::models::RefreshTokenRow;
use crate::db::{DbConnection, refresh_tokens, users, write_transaction};
use crate::error::{AppError, ErrorCode};
use crate::ids::{RefreshTokenId, TokenFamilyId, UserId};
use chrono::{Duration, NaiveDateTime};
use serde::Serialize;

#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    pub access_ttl_secs: i64,
    pub refresh_ttl_days: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TokenPair {
    pub token_type: &'static str,
    pub access_token: String,
    pub access_expires_at: chrono::DateTime<chrono::Utc>,
    /// Opaque; send it to `/auth/refresh` with the same `device_id`. Shown once.
    pub refresh_token: String,
    pub refresh_expires_at: chrono::DateTime<chrono::Utc>,
    pub user_id: UserId,
}

pub fn validate_device_id(device_id: &str) -> Result<(), AppError> {
    let ok =
        (1..=128).contains(&device_id.len()) && device_id.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(())
    } else {
        Err(AppError::invalid_field(
            "device_id",
            "must be 1–128 visible ASCII characters (e.g. a UUID made on the phone)",
            "须为 1–128 个可见 ASCII 字符（例如手机生成的 UUID）",
        ))
    }
}

/// Checks the password and opens a session for the device. `decoy_hash` is verified when the
/// username does not exist, so both failures take the same time.
pub fn login(
    conn: &mut DbConnection,
    keys: &JwtKeys,
    policy: SessionPolicy,
    username: &str,
    password_text: &str,
    device_id: &str,
    decoy_hash: &str,
) -> Result<TokenPair, AppError> {
    validate_device_id(device_id)?;
    let user = check_password(conn, username, password_text, decoy_hash)?;
    let now = super::now();
    let family = TokenFamilyId::generate();
    write_transaction(conn, |conn| {
        // A revoked device cannot log in again (403 device_revoked).
        super::sync::devices::register(conn, &user.id, device_id, now)?;
        issue_pair(conn, keys, policy, &user.id, device_id, family, now)
    })
}

/// The account behind a username and password, if both are right and it is active: the one
/// credential check of the phones' login and the web console's.
pub fn check_password(
    conn: &mut DbConnection,
    username: &str,
    password_text: &str,
    decoy_hash: &str,
) -> Result<crate::db::models::UserRow, AppError> {
    let user = users::find_by_username(conn, username.trim())?;
    let Some(user) = user.filter(|u| password::verify(password_text, &u.password_hash)) else {
        if !decoy_hash.is_empty() {
            let _ = password::verify(password_text, decoy_hash);
        }
        return Err(AppError::new(
            ErrorCode::InvalidCredentials,
            "wrong username or password",
        ));
    };
    if !user.active {
        return Err(AppError::new(
            ErrorCode::AccountDisabled,
            "this account is disabled",
        ));
    }
    Ok(user)
}

/// What happened to a presented refresh token, decided inside the transaction and acted on after
/// it commits (a revocation must be kept even though the request fails).
enum RefreshOutcome {
    Rotated(Box<TokenPair>),
    Refused(AppError),
}

/// Exchanges a refresh token for a new pair; the presented token is used up.
pub fn refresh(
    conn: &mut DbConnection,
    keys: &JwtKeys,
    policy: SessionPolicy,
    refresh_token: &str,
    device_id: &str,
) -> Result<TokenPair, AppError> {
    validate_device_id(device_id)?;
    let hash = refresh::digest(refresh_token);
    let outcome = write_transaction(conn, |conn| -> Result<RefreshOutcome, AppError> {
        let now = super::now();
        let Some(token) = refresh_tokens::find_by_hash(conn, &hash)? else {
            return Ok(RefreshOutcome::Refused(AppError::new(
                ErrorCode::RefreshTokenInvalid,
                "unknown refresh token",
            )));
        };
        if token.revoked_at.is_some() {
            return Ok(RefreshOutcome::Refused(AppError::new(
                ErrorCode::RefreshTokenRevoked,
                "this session was logged out or revoked; log in again",
            )));
        }
        if token.device_id != device_id {
            return Ok(RefreshOutcome::Refused(AppError::new(
                ErrorCode::DeviceMismatch,
                "the refresh token was issued to another device",
            )));
        }
        if token.expires_at < now {
            return Ok(RefreshOutcome::Refused(AppError::new(
                ErrorCode::RefreshTokenExpired,
                "the refresh token has expired; log in again",
            )));
        }
        // A token already rotated, or rotated by a concurrent request a moment ago: a copy is in
        // use somewhere. End the whole session.
        if token.rotated_at.is_some() || !refresh_tokens::mark_rotated(conn, &token.id, now)? {
            refresh_tokens::revoke_family(conn, &token.family_id, now, "reuse_detected")?;
            tracing::warn!(user = %token.user_id, device = %token.device_id, "refresh token reuse: session revoked");
            return Ok(RefreshOutcome::Refused(AppError::new(
                ErrorCode::RefreshTokenReused,
                "this refresh token was already used; the session is revoked, log in again",
            )));
        }
        let user = users::find(conn, &token.user_id)?.ok_or_else(|| AppError::not_found("user"))?;
        if !user.active {
            return Ok(RefreshOutcome::Refused(AppError::new(
                ErrorCode::AccountDisabled,
                "this account is disabled",
            )));
        }
        let pair = issue_pair(
            conn,
            keys,
            policy,
            &user.id,
            device_id,
            token.family_id,
            now,
        )?;
        Ok(RefreshOutcome::Rotated(Box::new(pair)))
    })?;
    match outcome {
        RefreshOutcome::Rotated(pair) => Ok(*pair),
        RefreshOutcome::Refused(e) => Err(e),
    }
}

/// Ends the session the refresh token belongs to (all its tokens). Logging out twice is fine.
pub fn logout(conn: &mut DbConnection, refresh_token: &str) -> Result<(), AppError> {
    let hash = refresh::digest(refresh_token);
    let token = refresh_tokens::find_by_hash(conn, &hash)?
        .ok_or_else(|| AppError::new(ErrorCode::RefreshTokenInvalid, "unknown refresh token"))?;
    refresh_tokens::revoke_family(conn, &token.family_id, super::now(), "logout")?;
    Ok(())
}

/// Turns a bearer token into the caller with all their roles, or a 401 saying what is wrong.
pub fn authenticate(
    conn: &mut DbConnection,
    keys: &JwtKeys,
    bearer: &str,
) -> Result<Caller, AppError> {
    let claims = keys.verify(bearer)?;
    let user_id = parse_user_id(&claims.sub)?;
    let session: TokenFamilyId = serde_json::from_value(serde_json::Value::String(claims.sid))
        .map_err(|_| AppError::new(ErrorCode::TokenMalformed, "bad session id"))?;
    if !refresh_tokens::family_is_live(conn, &session)? {
        return Err(AppError::new(
            ErrorCode::SessionRevoked,
            "this session was logged out or revoked",
        ));
    }
    let user = users::find(conn, &user_id)?.ok_or_else(|| {
        AppError::new(
            ErrorCode::Unauthenticated,
            "the token's user no longer exists",
        )
    })?;
    caller_of(conn, user, claims.did)
}

/// A user as the server acts for them (a device's held mutations released by a supervisor are
/// applied with the rights of the user who made them).
pub fn caller_for_user(
    conn: &mut DbConnection,
    user: &UserId,
    device_key: &str,
) -> Result<Caller, AppError> {
    let row = users::find(conn, user)?.ok_or_else(|| AppError::not_found("user"))?;
    caller_of(conn, row, device_key.to_owned())
}

/// The operator acting as a user from the command line (`closeout issues import --as NAME`).
pub fn caller_by_username(conn: &mut DbConnection, username: &str) -> Result<Caller, AppError> {
    let user =
        users::find_by_username(conn, username)?.ok_or_else(|| AppError::not_found("user"))?;
    caller_of(conn, user, "cli".to_owned())
}

fn caller_of(
    conn: &mut DbConnection,
    user: crate::db::models::UserRow,
    device_id: String,
) -> Result<Caller, AppError> {
    if !user.active {
        return Err(AppError::new(
            ErrorCode::AccountDisabled,
            "this account is disabled",
        ));
    }
    let grants: Vec<Grant> = accounts::roles_of(conn, &user.id)?
        .into_iter()
        .map(|(grant, _)| grant)
        .collect();
    Ok(Caller {
        user_id: user.id,
        username: user.username,
        device_id,
        grants,
    })
}

fn parse_user_id(sub: &str) -> Result<UserId, AppError> {
    uuid::Uuid::parse_str(sub).map(UserId::from).map_err(|_| {
        AppError::new(
            ErrorCode::TokenMalformed,
            "the token's subject is not a user id",
        )
    })
}

fn issue_pair(
    conn: &mut DbConnection,
    keys: &JwtKeys,
    policy: SessionPolicy,
    user_id: &UserId,
    device_id: &str,
    family: TokenFamilyId,
    now: NaiveDateTime,
) -> Result<TokenPair, AppError> {
    let token = refresh::generate();
    let refresh_expires = now + Duration::days(policy.refresh_ttl_days);
    refresh_tokens::insert(
        conn,
        &RefreshTokenRow {
            id: RefreshTokenId::generate(),
            family_id: family.clone(),
            user_id: user_id.clone(),
            device_id: device_id.to_owned(),
            token_hash: refresh::digest(&token),
            created_at: now,
            expires_at: refresh_expires,
            rotated_at: None,
            revoked_at: None,
            revoked_reason: None,
        },
    )?;
    let issued_at = now.and_utc().timestamp();
    let session = SessionRef {
        user_id: user_id.as_str(),
        device_id,
        session_id: family.as_str(),
    };
    let access_token = keys
        .issue(session, issued_at, policy.access_ttl_secs)
        .map_err(AppError::internal)?;
    Ok(TokenPair {
        token_type: "Bearer",
        access_token,
        access_expires_at: (now + Duration::seconds(policy.access_ttl_secs)).and_utc(),
        refresh_token: token,
        refresh_expires_at: refresh_expires.and_utc(),
        user_id: user_id.clone(),
    })
}
