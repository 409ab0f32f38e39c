//! 亮灯 — the traffic light every open issue carries, as Chinese 督查督办 systems show it: green on
//! track, yellow when its deadline is near or a required progress report (续报) is late, red when
//! overdue. One rule for the server's lists, filters, exports and pages and for phones, which
//! compute it themselves from the issue they hold (the light changes with the calendar, not with a
//! change the feed could carry).

use crate::IssueState;
use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The colour of an open issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Light {
    /// 绿灯 — on track.
    Green,
    /// 黄灯 — the deadline is near, or a progress report is late.
    Yellow,
    /// 红灯 — past its deadline and still open.
    Red,
}

impl Light {
    pub const ALL: [Light; 3] = [Self::Green, Self::Yellow, Self::Red];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Green => "green",
            Self::Yellow => "yellow",
            Self::Red => "red",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Self::Green => "绿灯",
            Self::Yellow => "黄灯",
            Self::Red => "红灯",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

impl fmt::Display for Light {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The office's thresholds (server settings `lights.*`; phones get them from their office).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LightPolicy {
    /// Yellow from this many days before the deadline (the deadline day itself included).
    pub warn_days: u32,
    /// A rectifying unit reports progress (续报) at least every this many days; 0: not required.
    pub progress_interval_days: u32,
}

impl Default for LightPolicy {
    fn default() -> Self {
        Self {
            warn_days: 3,
            progress_interval_days: 7,
        }
    }
}

/// What the light of an issue is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LightFacts {
    pub state: IssueState,
    pub deadline: Option<NaiveDate>,
    /// The office day of the unit's last sign-for (签收), progress report or return: when the
    /// progress clock last started. `None` when it never did.
    pub progress_on: Option<NaiveDate>,
}

/// Why an issue has its colour, with the figure a person reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "cause", rename_all = "snake_case")]
pub enum LightCause {
    /// Nothing is near or late.
    OnTrack,
    /// The deadline is `days_left` days away (0: today).
    DeadlineNear { days_left: i64 },
    /// The last progress report (or the sign-for) was `days_since` days ago.
    ProgressLate { days_since: i64 },
    /// `days_overdue` days past the deadline.
    Overdue { days_overdue: i64 },
}

impl LightCause {
    pub fn light(self) -> Light {
        match self {
            Self::OnTrack => Light::Green,
            Self::DeadlineNear { .. } | Self::ProgressLate { .. } => Light::Yellow,
            Self::Overdue { .. } => Light::Red,
        }
    }

    /// The cause in words, as the office's pages show it.
    pub fn explain_zh(self) -> String {
        match self {
            Self::OnTrack => "按期推进".to_owned(),
            Self::DeadlineNear { days_left: 0 } => "今天到期".to_owned(),
            Self::DeadlineNear { days_left } => format!("距完成时限还有 {days_left} 天"),
            Self::ProgressLate { days_since } => format!("已 {days_since} 天未报送整改进展"),
            Self::Overdue { days_overdue } => format!("已超期 {days_overdue} 天"),
        }
    }
}

/// The light rule as day boundaries on one calendar day, so that a database filter (`light=` on
/// the ledger) asks exactly what [`light`] decides: it compares columns with these days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LightBounds {
    /// Red: open with a deadline before this day (today).
    pub red_before: NaiveDate,
    /// Yellow: open with a deadline before this day (today + `warn_days`), and not red.
    pub near_before: NaiveDate,
    /// Yellow too: rectifying, with the progress clock started before this day; `None` when the
    /// office requires no progress reports.
    pub progress_late_before: Option<NaiveDate>,
}

impl LightBounds {
    pub fn on(today: NaiveDate, policy: &LightPolicy) -> Self {
        Self {
            red_before: today,
            near_before: today + Days::new(u64::from(policy.warn_days)),
            progress_late_before: (policy.progress_interval_days > 0)
                .then(|| today - Days::new(u64::from(policy.progress_interval_days))),
        }
    }
}

/// The light of an issue on `today` (the office's calendar day), or `None` once it is no longer
/// open (closed, rejected, duplicate). Red follows `overdue` exactly (open and past its deadline);
/// a near deadline applies to every open state, a late progress report only while rectifying.
pub fn light(facts: &LightFacts, today: NaiveDate, policy: &LightPolicy) -> Option<LightCause> {
    if !facts.state.is_open() {
        return None;
    }
    let bounds = LightBounds::on(today, policy);
    if let Some(deadline) = facts.deadline {
        let days_left = (deadline - today).num_days();
        if deadline < bounds.red_before {
            return Some(LightCause::Overdue {
                days_overdue: -days_left,
            });
        }
        if deadline < bounds.near_before {
            return Some(LightCause::DeadlineNear { days_left });
        }
    }
    if facts.state == IssueState::Rectifying
        && let (Some(since), Some(late_before)) = (facts.progress_on, bounds.progress_late_before)
        && since < late_before
    {
        return Some(LightCause::ProgressLate {
            days_since: (today - since).num_days(),
        });
    }
    Some(LightCause::OnTrack)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap_or_default()
    }

    fn facts(state: IssueState, deadline: Option<u32>, progress: Option<u32>) -> LightFacts {
        LightFacts {
            state,
            deadline: deadline.map(day),
            progress_on: progress.map(day),
        }
    }

    const POLICY: LightPolicy = LightPolicy {
        warn_days: 3,
        progress_interval_days: 7,
    };

    #[test]
    fn colours_follow_the_deadline() {
        let at = |deadline| {
            light(
                &facts(IssueState::Assigned, Some(deadline), None),
                day(10),
                &POLICY,
            )
        };
        assert_eq!(at(20), Some(LightCause::OnTrack));
        assert_eq!(
            at(13),
            Some(LightCause::OnTrack),
            "3 days left is not yet near"
        );
        assert_eq!(at(12), Some(LightCause::DeadlineNear { days_left: 2 }));
        assert_eq!(at(10), Some(LightCause::DeadlineNear { days_left: 0 }));
        assert_eq!(at(9), Some(LightCause::Overdue { days_overdue: 1 }));
        assert_eq!(at(9).map(LightCause::light), Some(Light::Red));
    }

    #[test]
    fn a_late_progress_report_turns_a_rectifying_issue_yellow() {
        let rect = |progress| {
            light(
                &facts(IssueState::Rectifying, Some(30), Some(progress)),
                day(20),
                &POLICY,
            )
        };
        assert_eq!(
            rect(13),
            Some(LightCause::OnTrack),
            "7 days is still in time"
        );
        assert_eq!(rect(12), Some(LightCause::ProgressLate { days_since: 8 }));
        // Only while rectifying: an assigned issue has no progress to report yet.
        let assigned = facts(IssueState::Assigned, Some(30), Some(1));
        assert_eq!(
            light(&assigned, day(20), &POLICY),
            Some(LightCause::OnTrack)
        );
        // And not at all when the office requires none.
        let off = LightPolicy {
            progress_interval_days: 0,
            ..POLICY
        };
        let late = facts(IssueState::Rectifying, Some(30), Some(1));
        assert_eq!(light(&late, day(20), &off), Some(LightCause::OnTrack));
    }

    #[test]
    fn overdue_wins_over_a_late_report_and_closed_issues_have_no_light() {
        let both = facts(IssueState::Rectifying, Some(5), Some(1));
        assert_eq!(
            light(&both, day(20), &POLICY),
            Some(LightCause::Overdue { days_overdue: 15 })
        );
        for state in [
            IssueState::Closed,
            IssueState::Rejected,
            IssueState::Duplicate,
        ] {
            assert_eq!(light(&facts(state, Some(5), None), day(20), &POLICY), None);
        }
        let reported = facts(IssueState::Reported, None, None);
        assert_eq!(
            light(&reported, day(20), &POLICY),
            Some(LightCause::OnTrack)
        );
    }

    #[test]
    fn the_bounds_are_the_rule() {
        // Every deadline and progress day around today: the comparisons a database filter makes
        // with the bounds give the colour `light` gives.
        let today = day(15);
        for policy in [
            POLICY,
            LightPolicy {
                warn_days: 0,
                progress_interval_days: 0,
            },
        ] {
            let b = LightBounds::on(today, &policy);
            for state in IssueState::ALL {
                for deadline in (0..=30).map(|d| Some(day(d.max(1)))).chain([None]) {
                    for progress in (1..=30).map(|d| Some(day(d))).chain([None]) {
                        let f = LightFacts {
                            state,
                            deadline,
                            progress_on: progress,
                        };
                        let red = deadline.is_some_and(|d| d < b.red_before);
                        let near = deadline.is_some_and(|d| d < b.near_before);
                        let late = state == IssueState::Rectifying
                            && matches!((progress, b.progress_late_before), (Some(p), Some(l)) if p < l);
                        let colour = if red {
                            Light::Red
                        } else if near || late {
                            Light::Yellow
                        } else {
                            Light::Green
                        };
                        let by_bounds = state.is_open().then_some(colour);
                        assert_eq!(
                            light(&f, today, &policy).map(LightCause::light),
                            by_bounds,
                            "{f:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn every_cause_reads_in_chinese() {
        assert_eq!(
            LightCause::Overdue { days_overdue: 4 }.explain_zh(),
            "已超期 4 天"
        );
        assert_eq!(
            LightCause::DeadlineNear { days_left: 0 }.explain_zh(),
            "今天到期"
        );
        assert_eq!(Light::parse("yellow"), Some(Light::Yellow));
        assert_eq!(Light::parse("blue"), None);
    }
}
