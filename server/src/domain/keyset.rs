//! The one keyset cursor of every list that pages by (timestamp, id) — issues, inspections and
//! the ledger exports that walk the issue list. It carries the last row's timestamp to the
//! nanosecond, exactly as read: SQLite keeps the nanoseconds a transaction's rows share (one
//! import, one push batch), and a cursor that rounded them (it once kept microseconds) compared
//! below the tied rows and skipped the rest of the group. The database binds it back as a
//! [`Stamp`], the writer that stored it, so `=` on the timestamp is identity on both backends.
//!
//! Wire form: `k1.{unix seconds}.{nanoseconds, 9 digits}.{uuid}` — opaque to clients.
//!
//! [`page_limit`] is the one check of every list's `limit`: out of range is a 400 naming the
//! range, never silently clamped.

use crate::db::stamp::Stamp;
use crate::error::{AppError, ErrorCode};
use chrono::{DateTime, NaiveDateTime};

const PREFIX: &str = "k1";

/// The position after (or before, for newest-first lists) the last row of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyset {
    pub at: Stamp,
    pub id: uuid::Uuid,
}

impl Keyset {
    /// The cursor of a row: its timestamp as read and its id.
    pub fn encode(at: impl Into<Stamp>, id: &impl std::fmt::Display) -> String {
        let t = at.into().0.and_utc();
        format!(
            "{PREFIX}.{}.{:09}.{id}",
            t.timestamp(),
            t.timestamp_subsec_nanos(),
        )
    }

    /// Reads a cursor this server made; 400 `invalid_query` for anything else (including the
    /// microsecond cursors of earlier versions, which could skip rows: start from the first page).
    pub fn decode(cursor: &str) -> Result<Self, AppError> {
        let bad = || {
            AppError::new(
                ErrorCode::InvalidQuery,
                "cursor: not a cursor this server made (an older server's cursor: start again \
                 from the first page)",
            )
            .zh("cursor 无效（如为旧版本服务器的游标，请从第一页重新开始）")
        };
        let mut parts = cursor.split('.');
        let (Some(PREFIX), Some(secs), Some(nanos), Some(id), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(bad());
        };
        if nanos.len() != 9 || !nanos.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let secs: i64 = secs.parse().map_err(|_| bad())?;
        let nanos: u32 = nanos.parse().map_err(|_| bad())?;
        let at: NaiveDateTime = DateTime::from_timestamp(secs, nanos)
            .ok_or_else(bad)?
            .naive_utc();
        let id = uuid::Uuid::parse_str(id).map_err(|_| bad())?;
        Ok(Self { at: Stamp(at), id })
    }
}

/// A list's `limit`: `default` when absent, else 1..=`max` or 400 `invalid_query` naming the range.
pub fn page_limit(limit: Option<i64>, default: i64, max: i64) -> Result<i64, AppError> {
    match limit {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(n) => Err(AppError::new(
            ErrorCode::InvalidQuery,
            format!("limit: must be from 1 to {max} (got {n})"),
        )
        .zh(format!("limit 须在 1 到 {max} 之间（收到 {n}）"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn refuses_what_it_did_not_make() {
        for bad in [
            "",
            "garbage",
            "1795000000123456_0192f0c8-0000-7000-8000-000000000000",
            "k1.1795000000.123.0192f0c8-0000-7000-8000-000000000000",
            "k1.x.000000000.0192f0c8-0000-7000-8000-000000000000",
            "k1.1795000000.000000000.not-a-uuid",
            "k1.1795000000.000000000.0192f0c8-0000-7000-8000-000000000000.x",
            "k2.1795000000.000000000.0192f0c8-0000-7000-8000-000000000000",
        ] {
            assert!(Keyset::decode(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn round_trips_to_the_nanosecond(secs in -62_000_000_000i64..253_402_300_799, nanos in 0u32..1_000_000_000) {
            let at = DateTime::from_timestamp(secs, nanos).unwrap().naive_utc();
            let id = uuid::Uuid::now_v7();
            prop_assert_eq!(Keyset::decode(&Keyset::encode(at, &id)).unwrap(), Keyset { at: Stamp(at), id });
        }
    }
}
