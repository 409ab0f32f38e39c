//! Reporting periods: an ISO week (`2026-W47`), a month (`2026-11`) or explicit days
//! (`from=2026-11-01&to=2026-11-21`, both included), in the office's calendar.

use crate::error::{AppError, ErrorCode};
use chrono::{Datelike, Duration, NaiveDate, Weekday};
use serde::Serialize;

/// The longest period one report covers.
pub const MAX_DAYS: i64 = 366;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Week,
    Month,
    Days,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Period {
    /// As a bulletin heads it: `2026年第47周`, `2026年11月`, `2026年11月01日至2026年11月21日`.
    pub label: String,
    /// First day, included.
    pub from: NaiveDate,
    /// Last day, included.
    pub to: NaiveDate,
    #[serde(skip)]
    kind: Kind,
}

fn bad(detail: String, zh: String) -> AppError {
    AppError::new(ErrorCode::InvalidQuery, detail).zh(zh)
}

impl Period {
    /// From the query: `period`, or `from` and `to`; with neither, the current month so far.
    pub fn parse(
        period: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
        today: NaiveDate,
    ) -> Result<Self, AppError> {
        match (period, from, to) {
            (Some(p), None, None) => Self::named(p.trim()),
            (None, Some(f), Some(t)) => {
                let day = |name: &str, s: &str| {
                    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
                        bad(
                            format!("{name}: `{s}` is not a date (YYYY-MM-DD)"),
                            format!("{name} 不是日期（应为 YYYY-MM-DD）：{s}"),
                        )
                    })
                };
                Self::days(day("from", f)?, day("to", t)?)
            }
            (None, None, None) => {
                let first = today.with_day(1).unwrap_or(today);
                Ok(Self::month(first.year(), first.month()).unwrap_or(Self {
                    label: String::new(),
                    from: first,
                    to: today,
                    kind: Kind::Days,
                }))
            }
            _ => Err(bad(
                "give either `period` (2026-W47 or 2026-11) or both `from` and `to`".into(),
                "请给出 period（如 2026-W47 或 2026-11），或同时给出 from 和 to".into(),
            )),
        }
    }

    fn named(p: &str) -> Result<Self, AppError> {
        let unknown = || {
            bad(
                format!("period: `{p}` is neither a week (2026-W47) nor a month (2026-11)"),
                format!("period 无效：{p}（应为 2026-W47 或 2026-11）"),
            )
        };
        if let Some((year, week)) = p.split_once("-W") {
            let year: i32 = year.parse().map_err(|_| unknown())?;
            let week: u32 = week.parse().map_err(|_| unknown())?;
            return Self::week(year, week).ok_or_else(unknown);
        }
        let (year, month) = p.split_once('-').ok_or_else(unknown)?;
        let year: i32 = year.parse().map_err(|_| unknown())?;
        let month: u32 = month.parse().map_err(|_| unknown())?;
        Self::month(year, month).ok_or_else(unknown)
    }

    fn week(year: i32, week: u32) -> Option<Self> {
        let from = NaiveDate::from_isoywd_opt(year, week, Weekday::Mon)?;
        Some(Self {
            label: format!("{year}年第{week}周"),
            from,
            to: from + Duration::days(6),
            kind: Kind::Week,
        })
    }

    fn month(year: i32, month: u32) -> Option<Self> {
        let from = NaiveDate::from_ymd_opt(year, month, 1)?;
        let next = if month == 12 {
            NaiveDate::from_ymd_opt(year + 1, 1, 1)?
        } else {
            NaiveDate::from_ymd_opt(year, month + 1, 1)?
        };
        Some(Self {
            label: format!("{year}年{month}月"),
            from,
            to: next.pred_opt()?,
            kind: Kind::Month,
        })
    }

    fn days(from: NaiveDate, to: NaiveDate) -> Result<Self, AppError> {
        if to < from || (to - from).num_days() >= MAX_DAYS {
            return Err(bad(
                format!("from/to: need from <= to and at most {MAX_DAYS} days"),
                format!("起止日期无效：起始日期不得晚于结束日期，且不超过 {MAX_DAYS} 天"),
            ));
        }
        Ok(Self {
            label: format!(
                "{}至{}",
                from.format("%Y年%m月%d日"),
                to.format("%Y年%m月%d日")
            ),
            from,
            to,
            kind: Kind::Days,
        })
    }

    /// The period before this one, of the same kind and length (for comparisons).
    pub fn previous(&self) -> Self {
        match self.kind {
            Kind::Week => {
                let monday = self.from - Duration::days(7);
                let iso = monday.iso_week();
                Self::week(iso.year(), iso.week()).unwrap_or_else(|| self.shifted())
            }
            Kind::Month => {
                let last = self.from.pred_opt().unwrap_or(self.from);
                Self::month(last.year(), last.month()).unwrap_or_else(|| self.shifted())
            }
            Kind::Days => self.shifted(),
        }
    }

    fn shifted(&self) -> Self {
        let len = (self.to - self.from).num_days() + 1;
        let to = self.from - Duration::days(1);
        let from = to - Duration::days(len - 1);
        Self::days(from, to).unwrap_or_else(|_| self.clone())
    }

    /// Days in the period, first to last.
    pub fn days_count(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn weeks_months_and_days_parse_with_their_previous_periods() {
        let today = d("2026-11-21");
        let w = Period::parse(Some("2026-W47"), None, None, today).unwrap();
        assert_eq!((w.from, w.to), (d("2026-11-16"), d("2026-11-22")));
        assert_eq!(w.label, "2026年第47周");
        assert_eq!(w.previous().from, d("2026-11-09"));
        let m = Period::parse(Some("2026-01"), None, None, today).unwrap();
        assert_eq!((m.from, m.to), (d("2026-01-01"), d("2026-01-31")));
        let p = m.previous();
        assert_eq!(
            (p.from, p.to, p.label.as_str()),
            (d("2025-12-01"), d("2025-12-31"), "2025年12月")
        );
        let r = Period::parse(None, Some("2026-11-01"), Some("2026-11-10"), today).unwrap();
        assert_eq!(r.previous().from, d("2026-10-22"));
        assert_eq!(r.days_count(), 10);
        for bad in ["2026-W60", "2026-13", "x", "2026"] {
            assert!(
                Period::parse(Some(bad), None, None, today).is_err(),
                "{bad}"
            );
        }
        assert!(Period::parse(None, Some("2026-11-10"), Some("2026-11-01"), today).is_err());
        assert!(Period::parse(Some("2026-11"), Some("2026-11-01"), None, today).is_err());
    }
}
