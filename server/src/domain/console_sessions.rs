//! The web console's sessions: opened with the same username and password as the phones' login,
//! held server-side (the browser only keeps a random token in a cookie), ended by logging out or
//! by the idle and absolute timeouts. Each request turns the token into a [`Caller`] through
//! [`sessions::caller_for_user`], the same function the bearer path ends in, so a disabled
//! account is refused here exactly as on the API.

use super::access::Caller;
use super::sessions;
use crate::auth::refresh;
use crate::db::console_sessions::{self as rows, ConsoleSessionRow};
use crate::db::{DbConnection, write_transaction};
use crate::error::{AppError, ErrorCode};
use chrono::{Duration, NaiveDateTime};

/// How long a console session lives.
#[derive(Debug, Clone, Copy)]
pub struct ConsolePolicy {
    /// Ended after this long without a request.
    pub idle_minutes: i64,
    /// Ended this long after login, whatever happens.
    pub absolute_hours: i64,
}

impl Default for ConsolePolicy {
    fn default() -> Self {
        Self {
            idle_minutes: 120,
            absolute_hours: 12,
        }
    }
}

/// A logged-in console session: who, and the token every form must carry back.
#[derive(Debug, Clone)]
pub struct ConsoleSession {
    pub id: String,
    pub caller: Caller,
    pub csrf_token: String,
}

/// A freshly opened session: the cookie value is shown once (only its hash is stored).
pub struct Opened {
    pub cookie_token: String,
    pub session: ConsoleSession,
}

/// Checks the password and opens a session.
pub fn open(
    conn: &mut DbConnection,
    policy: ConsolePolicy,
    username: &str,
    password_text: &str,
    decoy_hash: &str,
    now: NaiveDateTime,
) -> Result<Opened, AppError> {
    let user = sessions::check_password(conn, username, password_text, decoy_hash)?;
    let token = refresh::generate();
    let row = ConsoleSessionRow {
        id: uuid::Uuid::now_v7().to_string(),
        user_id: user.id.clone(),
        token_hash: refresh::digest(&token),
        csrf_token: refresh::generate(),
        created_at: now,
        last_seen_at: now,
        expires_at: now + Duration::hours(policy.absolute_hours),
        ended_at: None,
        ended_reason: None,
    };
    write_transaction(conn, |conn| {
        rows::insert(conn, &row).map_err(AppError::from)
    })?;
    let caller = sessions::caller_for_user(conn, &user.id, &console_device(&row.id))?;
    Ok(Opened {
        cookie_token: token,
        session: ConsoleSession {
            id: row.id,
            caller,
            csrf_token: row.csrf_token,
        },
    })
}

/// The session a cookie token names, as the caller it acts for; 401 `session_revoked` when it
/// was ended, timed out or its account was disabled.
pub fn authenticate(
    conn: &mut DbConnection,
    policy: ConsolePolicy,
    cookie_token: &str,
    now: NaiveDateTime,
) -> Result<ConsoleSession, AppError> {
    let ended = || {
        AppError::new(
            ErrorCode::SessionRevoked,
            "the console session has ended; log in again",
        )
        .zh("登录已失效，请重新登录")
    };
    let row = rows::find_open(conn, &refresh::digest(cookie_token))?.ok_or_else(ended)?;
    let idle_end = row.last_seen_at + Duration::minutes(policy.idle_minutes);
    if row.expires_at <= now || idle_end <= now {
        rows::end(conn, &row.id, now, "timeout")?;
        return Err(ended());
    }
    let caller = match sessions::caller_for_user(conn, &row.user_id, &console_device(&row.id)) {
        Ok(caller) => caller,
        Err(e) if e.code == ErrorCode::AccountDisabled => {
            rows::end(conn, &row.id, now, "account_disabled")?;
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    // One write a minute at most, not one per page view.
    if now - row.last_seen_at > Duration::minutes(1) {
        rows::touch(conn, &row.id, now)?;
    }
    Ok(ConsoleSession {
        id: row.id,
        caller,
        csrf_token: row.csrf_token,
    })
}

/// Ends the session (logging out twice is fine).
pub fn close(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> Result<(), AppError> {
    rows::end(conn, id, now, "logout")?;
    Ok(())
}

/// The "device" a console session acts from, recorded in history like a phone's id.
fn console_device(session_id: &str) -> String {
    format!("console:{session_id}")
}
