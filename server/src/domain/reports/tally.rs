//! One period's figures counted as the rows go by (`Tally`), for [`super::stats`]: what each
//! issue adds to its child place, its category and the totals, the backlog's daily differences,
//! and the most overdue issues.

use super::ledger::Office;
use super::period::Period;
use super::stats::{Figures, OVERDUE_LIST_MAX};
use crate::db::issue_figures::FigureRow;
use crate::ids::IssueId;
use chrono::{Duration, NaiveDate, NaiveDateTime};
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Debug, Clone, Default)]
pub(super) struct Acc {
    pub(super) f: Figures,
    pub(super) closed_on_time: u64,
    pub(super) close_days: f64,
}

impl Acc {
    pub(super) fn figures(&self) -> Figures {
        let pct = |n: u64, d: u64| (d > 0).then(|| (n as f64 * 1000.0 / d as f64).round() / 10.0);
        Figures {
            closure_rate: pct(self.f.closed, self.f.closed + self.f.open),
            on_time_rate: pct(self.closed_on_time, self.f.closed),
            avg_days_to_close: (self.f.closed > 0)
                .then(|| (self.close_days / self.f.closed as f64 * 10.0).round() / 10.0),
            ..self.f.clone()
        }
    }
}

/// One period's figures as the rows go by (see `stats::compute_periods`).
pub(super) struct Tally {
    pub(super) period: Period,
    pub(super) start: NaiveDateTime,
    pub(super) end: NaiveDateTime,
    pub(super) overdue_cutoff: NaiveDate,
    pub(super) last_backlog_day: NaiveDate,
    pub(super) backlog_len: usize,
    pub(super) per_place: Vec<Acc>,
    pub(super) per_category: HashMap<Arc<str>, Acc>,
    pub(super) totals: Acc,
    pub(super) backlog_diff: Vec<i64>,
    pub(super) overdue_list: Vec<Overdue>,
    /// The least overdue item kept at the last trim (once the list has been full): an item no
    /// more overdue cannot make the list, so it is not even copied.
    pub(super) overdue_floor: Option<(i64, Box<str>)>,
}

/// An open issue past its deadline at the end of a period, before its title and names are read.
pub(super) struct Overdue {
    pub(super) days: i64,
    pub(super) id: IssueId,
    pub(super) ledger_no: Box<str>,
    pub(super) deadline: Option<NaiveDate>,
    pub(super) escalation_level: i32,
}

impl Tally {
    pub(super) fn new(period: Period, office: Office, places: usize) -> Self {
        let today = office.clock.today;
        let last_backlog_day = period.to.min(today);
        let backlog_len =
            usize::try_from((last_backlog_day - period.from).num_days() + 1).unwrap_or(0);
        Self {
            start: office.start_of(period.from),
            end: office.start_of(period.to + Duration::days(1)),
            overdue_cutoff: (period.to + Duration::days(1)).min(today),
            last_backlog_day,
            backlog_len,
            per_place: vec![Acc::default(); places],
            per_category: HashMap::new(),
            totals: Acc::default(),
            backlog_diff: vec![0i64; backlog_len + 1],
            overdue_list: Vec::new(),
            overdue_floor: None,
            period,
        }
    }

    fn day_index(&self, d: NaiveDate) -> usize {
        usize::try_from((d - self.period.from).num_days())
            .unwrap_or(0)
            .min(self.backlog_len)
    }

    /// Counts `row` (its child place index `place`) if it bears on the period: the filter of
    /// [`FigureRow::bears_on`] for this period.
    pub(super) fn add(
        &mut self,
        row: &FigureRow,
        place: usize,
        office: Office,
        long_overdue_days: i64,
    ) {
        if row.created_at >= self.end || row.closed_at.is_some_and(|t| t < self.start) {
            return;
        }
        let (start, end) = (self.start, self.end);
        let closed_at = row.closed_at.filter(|_| &*row.state == "closed");
        // Office days only where they matter: a report before the period counts on its first
        // day, and a close-out after it on none of its days (most rows are both).
        let created_day = if row.created_at < start {
            self.period.from
        } else {
            office.day_of(row.created_at)
        };
        let closed_day = closed_at.filter(|t| *t < end).map(|t| office.day_of(t));
        let found = row.created_at >= start;
        let closed_in = closed_at.is_some_and(|t| t >= start && t < end);
        let open_at_end = closed_at.is_none_or(|t| t >= end);
        let on_time = closed_in
            && match (row.deadline, closed_day) {
                (Some(deadline), Some(day)) => day <= deadline,
                _ => true,
            };
        let overdue_days = match row.deadline {
            Some(d) if open_at_end && d < self.overdue_cutoff => {
                (self.overdue_cutoff - d).num_days()
            }
            _ => 0,
        };
        let close_days = closed_at.filter(|_| closed_in).map_or(0.0, |t| {
            (t - row.created_at).num_seconds() as f64 / 86_400.0
        });
        let category = match self.per_category.get_mut(&*row.category) {
            Some(acc) => acc,
            None => self.per_category.entry(row.category.clone()).or_default(),
        };
        for acc in [&mut self.per_place[place], category, &mut self.totals] {
            acc.f.found += u64::from(found);
            acc.f.closed += u64::from(closed_in);
            acc.f.open += u64::from(open_at_end);
            acc.f.overdue += u64::from(overdue_days > 0);
            acc.f.escalated += u64::from(open_at_end && row.escalation_level >= 2);
            acc.f.long_overdue += u64::from(overdue_days > long_overdue_days);
            acc.closed_on_time += u64::from(on_time);
            acc.close_days += close_days;
        }
        if self.backlog_len > 0 && created_day <= self.last_backlog_day {
            let at = self.day_index(created_day.max(self.period.from));
            self.backlog_diff[at] += 1;
            if let Some(day) = closed_day
                && day <= self.last_backlog_day
            {
                let at = self.day_index(day.max(self.period.from));
                self.backlog_diff[at] -= 1;
            }
        }
        let beaten = self
            .overdue_floor
            .as_ref()
            .is_some_and(|(days, ledger_no)| {
                overdue_days < *days || (overdue_days == *days && *row.ledger_no >= **ledger_no)
            });
        if overdue_days > 0 && !beaten {
            self.overdue_list.push(Overdue {
                days: overdue_days,
                id: row.id.clone(),
                ledger_no: row.ledger_no.clone(),
                deadline: row.deadline,
                escalation_level: row.escalation_level,
            });
            if self.overdue_list.len() > OVERDUE_LIST_MAX * 2 {
                trim(&mut self.overdue_list);
                self.overdue_floor = self
                    .overdue_list
                    .last()
                    .map(|o| (o.days, o.ledger_no.clone()));
            }
        }
    }
}
/// Keeps the most overdue items (then by ledger number), at most `OVERDUE_LIST_MAX`.
pub(super) fn trim(list: &mut Vec<Overdue>) {
    list.sort_by(|a, b| {
        b.days
            .cmp(&a.days)
            .then_with(|| a.ledger_no.cmp(&b.ledger_no))
    });
    list.truncate(OVERDUE_LIST_MAX);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::issues::Clock;
    use chrono::NaiveTime;

    fn row(n: u32, ledger: u32, deadline: NaiveDate, created_at: NaiveDateTime) -> FigureRow {
        let shared = |s: &str| -> Arc<str> { Arc::from(s) };
        FigureRow {
            id: IssueId::from(uuid::Uuid::from_u128(u128::from(n))),
            ledger_no: format!("2026-{ledger:07}").into_boxed_str(),
            place_path: shared("/p/"),
            responsible_unit_path: None,
            category: shared("road"),
            state: shared("assigned"),
            deadline: Some(deadline),
            escalation_level: 0,
            created_at,
            closed_at: None,
        }
    }

    /// The overdue list past its trims (thousands of overdue rows, many equally late, the better
    /// ones arriving late) is the most overdue 500 by days then ledger number, exactly as sorting
    /// them all would give.
    #[test]
    fn the_overdue_list_keeps_the_most_overdue_whatever_the_order_of_rows() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let now = today.and_time(NaiveTime::from_hms_opt(4, 0, 0).unwrap());
        let office = Office::new(Clock::at(now, 8));
        let from = (today - Duration::days(29)).to_string();
        let period = Period::parse(None, Some(&from), Some(&today.to_string()), today).unwrap();
        // Late by 1–45 days in a scattered order; and late by 1 or 2 days with ledger numbers
        // falling, so each later row beats the ones kept at equal lateness.
        let scattered = |n: u32| (1 + (n * 37) % 45, (n * 7919) % 100_003);
        let falling = |n: u32| (1 + n % 2, 100_000 - n);
        for (name, shape) in [
            ("scattered", &scattered as &dyn Fn(u32) -> (u32, u32)),
            ("falling", &falling),
        ] {
            let mut tally = Tally::new(period.clone(), office, 1);
            let rows: Vec<FigureRow> = (0..6000u32)
                .map(|n| {
                    let (late, ledger) = shape(n);
                    let deadline = today - Duration::days(i64::from(late));
                    let created =
                        (today - Duration::days(i64::from(50 + n % 200))).and_time(NaiveTime::MIN);
                    row(n, ledger, deadline, created)
                })
                .collect();
            for r in &rows {
                tally.add(r, 0, office, 15);
            }
            trim(&mut tally.overdue_list);
            let kept: Vec<(i64, &str)> = tally
                .overdue_list
                .iter()
                .map(|o| (o.days, &*o.ledger_no))
                .collect();
            // A period running to today counts days overdue up to today.
            let mut all: Vec<(i64, &str)> = rows
                .iter()
                .map(|r| ((today - r.deadline.unwrap()).num_days(), &*r.ledger_no))
                .collect();
            all.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
            all.truncate(OVERDUE_LIST_MAX);
            assert_eq!(kept, all, "{name}");
            assert_eq!(tally.totals.f.overdue, 6000, "{name}");
        }
    }
}
