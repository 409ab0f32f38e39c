//! The office's time zone: every date a person reads (notice, bulletin, album, exports, captions),
//! "today" for deadlines and ledger years. An IANA name (`ledger.time_zone`, default
//! `Asia/Shanghai`) or, from older configurations, a fixed offset (`ledger.utc_offset_hours`).
//! Times are stored in UTC; this puts them on the office's calendar and back.

use chrono::{FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfficeZone {
    Named(Tz),
    Fixed(FixedOffset),
}

impl Default for OfficeZone {
    fn default() -> Self {
        Self::Named(chrono_tz::Asia::Shanghai)
    }
}

/// A fixed offset of whole hours east of UTC (the older `ledger.utc_offset_hours`); out-of-range
/// values (beyond ±23 h) fall back to UTC+8 — settings refuse them at start-up.
impl From<i32> for OfficeZone {
    fn from(hours: i32) -> Self {
        FixedOffset::east_opt(hours.saturating_mul(3600)).map_or_else(Self::default, Self::Fixed)
    }
}

impl std::str::FromStr for OfficeZone {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse::<Tz>().map(Self::Named).map_err(|_| {
            format!("`{s}` is not an IANA time zone name (e.g. Asia/Shanghai, Asia/Urumqi)")
        })
    }
}

impl<'de> Deserialize<'de> for OfficeZone {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Display for OfficeZone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Named(tz) => f.write_str(tz.name()),
            Self::Fixed(o) => write!(f, "UTC{o}"),
        }
    }
}

impl OfficeZone {
    /// The office's wall-clock time of a UTC moment.
    pub fn local(&self, utc: NaiveDateTime) -> NaiveDateTime {
        match self {
            Self::Named(tz) => tz.from_utc_datetime(&utc).naive_local(),
            Self::Fixed(o) => o.from_utc_datetime(&utc).naive_local(),
        }
    }

    /// The office's calendar day of a UTC moment.
    pub fn day_of(&self, utc: NaiveDateTime) -> NaiveDate {
        self.local(utc).date()
    }

    /// The offset from UTC in force at a UTC moment, in seconds east.
    pub fn offset_seconds_at(&self, utc: NaiveDateTime) -> i32 {
        match self {
            Self::Named(tz) => tz.offset_from_utc_datetime(&utc).fix().local_minus_utc(),
            Self::Fixed(o) => o.local_minus_utc(),
        }
    }

    /// The UTC moment of an office wall-clock time. A time skipped by a daylight-saving jump is
    /// read with the offset before the jump; an ambiguous one takes the earlier moment.
    pub fn to_utc(&self, local: NaiveDateTime) -> NaiveDateTime {
        match self {
            Self::Named(tz) => match tz.from_local_datetime(&local) {
                chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => {
                    t.naive_utc()
                }
                chrono::LocalResult::None => {
                    let before = tz
                        .offset_from_utc_datetime(&(local - chrono::Duration::hours(24)))
                        .fix();
                    local - chrono::Duration::seconds(i64::from(before.local_minus_utc()))
                }
            },
            Self::Fixed(o) => local - chrono::Duration::seconds(i64::from(o.local_minus_utc())),
        }
    }

    /// The UTC moment at which an office day begins.
    pub fn start_of(&self, day: NaiveDate) -> NaiveDateTime {
        self.to_utc(day.and_time(NaiveTime::MIN))
    }
}

#[cfg(test)]
mod tests {
    use super::OfficeZone;
    use chrono::{NaiveDate, NaiveDateTime};

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn beijing_day_of_an_evening_utc_moment_is_the_next_day() {
        let z = OfficeZone::default();
        // 20:00 UTC on 30 November is 04:00 on 1 December in Beijing.
        assert_eq!(
            z.day_of(t("2026-11-30 20:00")),
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
        );
        assert_eq!(
            z.day_of(t("2026-11-30 15:59")),
            NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
        );
        assert_eq!(
            z.start_of(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()),
            t("2026-11-30 16:00")
        );
    }

    #[test]
    fn named_zones_follow_daylight_saving_and_fixed_offsets_do_not() {
        let berlin: OfficeZone = "Europe/Berlin".parse().unwrap();
        assert_eq!(berlin.offset_seconds_at(t("2026-07-01 12:00")), 7200);
        assert_eq!(berlin.offset_seconds_at(t("2026-01-01 12:00")), 3600);
        // 02:30 on 29 March 2026 does not exist in Berlin: read with the winter offset.
        assert_eq!(berlin.to_utc(t("2026-03-29 02:30")), t("2026-03-29 01:30"));
        assert_eq!(
            OfficeZone::from(8).offset_seconds_at(t("2026-07-01 12:00")),
            28800
        );
        assert!("Mars/Olympus".parse::<OfficeZone>().is_err());
    }
}
