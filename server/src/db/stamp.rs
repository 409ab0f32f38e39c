//! [`Stamp`]: a timestamp (server or device time) of the rows a push writes by the hundred
//! (issues, their events, mutation records, change-feed entries). It is stored exactly as diesel
//! stores a `NaiveDateTime` — on SQLite the text `YYYY-MM-DD HH:MM:SS[.fff|.ffffff|.fffffffff]`,
//! on PostgreSQL a `timestamp` — but written and read on SQLite without chrono's format
//! machinery, which took an eighth of a push's time (docs/benchmarks.md). Anything unusual (a leap second, a
//! year outside 0–9999, text in another format) goes through diesel's own code.

use super::connection::DbBackend;
use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Timestamp;
use diesel::sqlite::{Sqlite, SqliteType};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, AsExpression, FromSqlRow)]
#[diesel(sql_type = Timestamp)]
pub struct Stamp(pub NaiveDateTime);

impl From<NaiveDateTime> for Stamp {
    fn from(t: NaiveDateTime) -> Self {
        Self(t)
    }
}

impl From<Stamp> for NaiveDateTime {
    fn from(s: Stamp) -> Self {
        s.0
    }
}

impl std::ops::Deref for Stamp {
    type Target = NaiveDateTime;
    fn deref(&self) -> &NaiveDateTime {
        &self.0
    }
}

/// The text diesel's SQLite backend writes for `t` (chrono's `%F %T%.f`), or `None` where that
/// needs chrono (a leap second, a year outside 0–9999).
pub fn sqlite_text(t: &NaiveDateTime) -> Option<String> {
    let nanos = t.nanosecond();
    let year = t.year();
    if nanos >= 1_000_000_000 || !(0..=9999).contains(&year) {
        return None;
    }
    let mut s = String::with_capacity(29);
    let digits = |s: &mut String, v: u32, width: usize| {
        let mut buf = [b'0'; 9];
        let mut v = v;
        for i in (0..width).rev() {
            buf[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
        for &b in &buf[..width] {
            s.push(b as char);
        }
    };
    digits(&mut s, year as u32, 4);
    s.push('-');
    digits(&mut s, t.month(), 2);
    s.push('-');
    digits(&mut s, t.day(), 2);
    s.push(' ');
    digits(&mut s, t.hour(), 2);
    s.push(':');
    digits(&mut s, t.minute(), 2);
    s.push(':');
    digits(&mut s, t.second(), 2);
    // `%.f`: nothing for whole seconds, else 3, 6 or 9 digits, the fewest that are exact.
    if nanos != 0 {
        s.push('.');
        if nanos.is_multiple_of(1_000_000) {
            digits(&mut s, nanos / 1_000_000, 3);
        } else if nanos.is_multiple_of(1_000) {
            digits(&mut s, nanos / 1_000, 6);
        } else {
            digits(&mut s, nanos, 9);
        }
    }
    Some(s)
}

/// Reads `YYYY-MM-DD HH:MM:SS` with an optional fraction of 1–9 digits (what [`sqlite_text`] and
/// diesel write); `None` for any other text.
pub fn parse_sqlite_text(text: &str) -> Option<NaiveDateTime> {
    let b = text.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b' ' || b[13] != b':' {
        return None;
    }
    if b[16] != b':' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let date = NaiveDate::from_ymd_opt(num(0, 4)? as i32, num(5, 7)?, num(8, 10)?)?;
    let nanos = match &b[19..] {
        [] => 0,
        [b'.', frac @ ..] if (1..=9).contains(&frac.len()) => {
            num(20, b.len())? * 10u32.pow(9 - frac.len() as u32)
        }
        _ => return None,
    };
    let time = NaiveTime::from_hms_nano_opt(num(11, 13)?, num(14, 16)?, num(17, 19)?, nanos)?;
    Some(NaiveDateTime::new(date, time))
}

impl ToSql<Timestamp, Sqlite> for Stamp {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        match sqlite_text(&self.0) {
            Some(text) => {
                out.set_value(text);
                Ok(IsNull::No)
            }
            None => ToSql::<Timestamp, Sqlite>::to_sql(&self.0, out),
        }
    }
}

impl FromSql<Timestamp, Sqlite> for Stamp {
    fn from_sql(mut value: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        let fast = match value.value_type() {
            Some(SqliteType::Text) => parse_sqlite_text(value.read_text()),
            _ => None,
        };
        match fast {
            Some(t) => Ok(Self(t)),
            None => <NaiveDateTime as FromSql<Timestamp, Sqlite>>::from_sql(value).map(Self),
        }
    }
}

impl ToSql<Timestamp, Pg> for Stamp {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        ToSql::<Timestamp, Pg>::to_sql(&self.0, &mut out.reborrow())
    }
}

impl FromSql<Timestamp, Pg> for Stamp {
    fn from_sql(value: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Timestamp, Pg>>::from_sql(value).map(Self)
    }
}

impl ToSql<Timestamp, DbBackend> for Stamp {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DbBackend>) -> serialize::Result {
        out.set_value((Timestamp, self));
        Ok(IsNull::No)
    }
}

impl FromSql<Timestamp, DbBackend> for Stamp {
    fn from_sql(value: <DbBackend as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        value.from_sql::<Self, Timestamp>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;
    use proptest::prelude::*;

    fn chrono_text(t: &NaiveDateTime) -> String {
        // What diesel 2.3 writes for a NaiveDateTime on SQLite.
        t.format("%F %T%.f").to_string()
    }

    #[test]
    fn writes_what_diesel_writes_for_every_precision() {
        for nanos in [
            0,
            5_000_000,
            120_000_000,
            123_456_000,
            1_000,
            123_456_789,
            7,
        ] {
            let t = NaiveDate::from_ymd_opt(2026, 3, 9)
                .and_then(|d| d.and_hms_nano_opt(7, 5, 3, nanos))
                .unwrap();
            assert_eq!(sqlite_text(&t).unwrap(), chrono_text(&t));
            assert_eq!(parse_sqlite_text(&chrono_text(&t)), Some(t));
        }
    }

    #[test]
    fn leaves_leap_seconds_and_far_years_to_chrono() {
        let leap = NaiveDate::from_ymd_opt(2016, 12, 31)
            .and_then(|d| d.and_hms_nano_opt(23, 59, 59, 1_500_000_000))
            .unwrap();
        assert_eq!(sqlite_text(&leap), None);
        let far = NaiveDate::from_ymd_opt(12_000, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .unwrap();
        assert_eq!(sqlite_text(&far), None);
    }

    #[test]
    fn refuses_text_of_another_shape() {
        for text in [
            "2026-03-09T07:05:03",
            "2026-03-09 07:05",
            "2026-3-09 07:05:03",
            "2026-03-09 07:05:03.",
            "2026-03-09 07:05:03.1234567890",
            "2026-03-09 07:05:03Z",
            "2026-02-30 07:05:03",
            "2026-03-09 25:05:03",
        ] {
            assert_eq!(parse_sqlite_text(text), None, "{text}");
        }
    }

    proptest! {
        #[test]
        fn agrees_with_chrono(secs in 0i64..253_402_300_799, nanos in 0u32..1_000_000_000, coarse in 0u8..3) {
            let nanos = match coarse { 0 => nanos / 1_000_000 * 1_000_000, 1 => nanos / 1_000 * 1_000, _ => nanos };
            let t = DateTime::from_timestamp(secs, nanos).unwrap().naive_utc();
            let text = sqlite_text(&t).unwrap();
            prop_assert_eq!(&text, &chrono_text(&t));
            prop_assert_eq!(parse_sqlite_text(&text), Some(t));
        }
    }
}
