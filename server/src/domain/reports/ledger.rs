//! The ledger (整改台账) as rows for export: the issue list's filters and scope, every page of it
//! walked with the keyset cursor, each issue with the names people read (place, unit, person,
//! category) and its state, overdue days and escalation level in Chinese.

use super::names::Names;
use crate::db::{DbConnection, org_units};
use crate::domain::access::Caller;
use crate::domain::issues::Clock;
use crate::domain::issues::queries::{self, ListRequest};
use crate::domain::issues::view::{ESCALATION_NAMES_ZH, Issue};
use crate::error::{AppError, ErrorCode};
use chrono::{NaiveDate, NaiveDateTime};

/// Issues read per database round trip: big enough to amortise the query, small enough that an
/// export of any size holds only this many rows in memory.
pub const PAGE: i64 = 1000;

/// One line of the ledger, ready to print.
#[derive(Debug, Clone)]
pub struct LedgerRow {
    /// 序号, from 1.
    pub seq: u64,
    pub id: String,
    pub ledger_no: String,
    pub title: String,
    pub description: String,
    pub category_code: String,
    pub category: String,
    pub place: String,
    pub address: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub responsible_unit: String,
    pub responsible_person: String,
    pub target: String,
    pub deadline: Option<NaiveDate>,
    pub state_code: &'static str,
    pub state: &'static str,
    pub overdue: bool,
    pub days_overdue: i64,
    pub escalation_level: i32,
    pub escalation: &'static str,
    pub reopen_count: i32,
    /// 上报日期 in the office's time zone.
    pub reported_on: NaiveDate,
    /// 销号日期 in the office's time zone.
    pub closed_on: Option<NaiveDate>,
    /// 亮灯 of an open issue (`green`/`yellow`/`red`), absent once closed.
    pub light: Option<closeout_sync_protocol::Light>,
    /// 绿灯 / 黄灯 / 红灯, or empty.
    pub light_zh: &'static str,
}

/// What the title row says: whose ledger, which period, as of when.
#[derive(Debug, Clone)]
pub struct LedgerMeta {
    /// The place the export covers: the `place_id` filter, or the caller's own place(s).
    pub scope: String,
    /// `2026年11月01日至2026年11月30日` from the creation filters, or `截至2026年11月21日`.
    pub period: String,
    pub as_of: NaiveDate,
    /// How many issues the export will hold.
    pub total: i64,
}

/// The office's clock, whose zone dates stored UTC times.
#[derive(Debug, Clone, Copy)]
pub struct Office {
    pub clock: Clock,
    /// Thresholds of the photo evidence checks shown in albums.
    pub evidence: crate::domain::evidence::EvidencePolicy,
}

impl Office {
    pub fn new(clock: Clock) -> Self {
        Self {
            clock,
            evidence: crate::domain::evidence::EvidencePolicy::default(),
        }
    }

    /// With the configured evidence thresholds.
    pub fn with_evidence(mut self, evidence: crate::domain::evidence::EvidencePolicy) -> Self {
        self.evidence = evidence;
        self
    }

    /// The office's calendar day of a stored UTC time.
    pub fn day_of(&self, t: NaiveDateTime) -> NaiveDate {
        self.clock.zone.day_of(t)
    }

    /// The UTC instant at which an office day begins.
    pub fn start_of(&self, day: NaiveDate) -> NaiveDateTime {
        self.clock.zone.start_of(day)
    }
}

/// Checks the request (404 for an invisible `place_id`, 400 for paging parameters) and says
/// what the export will cover, before a single byte of it is sent.
pub fn prepare(
    conn: &mut DbConnection,
    caller: &Caller,
    req: &ListRequest,
    office: Office,
) -> Result<LedgerMeta, AppError> {
    if req.cursor.is_some() {
        return Err(AppError::new(
            ErrorCode::InvalidQuery,
            "cursor: an export covers every page; drop `cursor` and `limit`",
        )
        .zh("导出包含全部数据，请去掉 cursor 和 limit 参数"));
    }
    let total = queries::count(conn, caller, req, office.clock)?;
    let scope = match &req.place_id {
        Some(id) => Names::default().place_label(conn, id)?,
        None => {
            let mut names = Vec::new();
            for grant in &caller.grants {
                if let Some(id) = &grant.org_unit_id
                    && let Some(row) = org_units::find(conn, id)?
                    && !names.contains(&row.name)
                {
                    names.push(row.name);
                }
            }
            if caller.grants.iter().any(|g| g.org_unit_id.is_none()) || names.is_empty() {
                "全部地区".to_owned()
            } else {
                names.join("、")
            }
        }
    };
    let (from, to) = covered_days(office, req.created_from, req.created_to);
    let fmt = |d: NaiveDate| d.format("%Y年%m月%d日").to_string();
    let as_of = office.clock.today;
    let period = match (from, to) {
        (Some(from), Some(to)) => format!("{}至{}", fmt(from), fmt(to)),
        (Some(from), None) => format!("{}至{}", fmt(from), fmt(as_of)),
        (None, Some(to)) => format!("截至{}", fmt(to)),
        (None, None) => format!("截至{}", fmt(as_of)),
    };
    Ok(LedgerMeta {
        scope,
        period,
        as_of,
        total,
    })
}

/// The first and last office days a creation filter covers. `created_to` is exclusive, so the
/// last day is the one holding the last instant before it: `created_to=2026-12-01T00:00+08:00`
/// ends on 30 November, `created_to=2026-11-30T23:59:59+08:00` too (that day is covered up to
/// its last second, and a caption must not drop it).
pub fn covered_days(
    office: Office,
    from: Option<chrono::DateTime<chrono::Utc>>,
    to: Option<chrono::DateTime<chrono::Utc>>,
) -> (Option<NaiveDate>, Option<NaiveDate>) {
    (
        from.map(|t| office.day_of(t.naive_utc())),
        to.map(|t| office.day_of(t.naive_utc() - chrono::Duration::nanoseconds(1))),
    )
}

/// Walks every page of the list and hands each page's rows to `sink`, in list order (newest
/// first). Returns how many rows were produced.
pub fn for_each_page(
    conn: &mut DbConnection,
    caller: &Caller,
    req: &ListRequest,
    office: Office,
    sink: &mut dyn FnMut(&[LedgerRow]) -> Result<(), AppError>,
) -> Result<u64, AppError> {
    let mut names = Names::new(conn)?;
    let mut request = ListRequest {
        limit: PAGE,
        cursor: None,
        ..req.clone()
    };
    let mut seq = 0u64;
    loop {
        let page = queries::list(conn, caller, request.clone(), office.clock)?;
        let mut rows = Vec::with_capacity(page.items.len());
        for issue in page.items {
            seq += 1;
            rows.push(row(conn, &mut names, issue, seq, office)?);
        }
        sink(&rows)?;
        match page.next_cursor {
            Some(cursor) => request.cursor = Some(cursor),
            None => return Ok(seq),
        }
    }
}

/// One issue as a ledger line, numbered `seq`.
pub fn row(
    conn: &mut DbConnection,
    names: &mut Names,
    issue: Issue,
    seq: u64,
    office: Office,
) -> Result<LedgerRow, AppError> {
    let level = usize::try_from(issue.escalation_level).unwrap_or(0);
    Ok(LedgerRow {
        seq,
        id: issue.id.to_string(),
        place: names.place_label(conn, &issue.place_id)?,
        responsible_unit: match &issue.responsible_unit_id {
            Some(id) => names.unit_name(conn, id)?,
            None => String::new(),
        },
        responsible_person: match &issue.responsible_user_id {
            Some(id) => names.person(conn, id)?,
            None => String::new(),
        },
        category: names.category(&issue.category),
        category_code: issue.category,
        address: issue.location.as_ref().and_then(|l| l.address.clone()),
        lat: issue.location.as_ref().map(|l| l.lat),
        lon: issue.location.as_ref().map(|l| l.lon),
        ledger_no: issue.ledger_no,
        title: issue.title,
        description: issue.description,
        target: issue.target.unwrap_or_default(),
        deadline: issue.deadline,
        state_code: issue.state.as_str(),
        state: issue.state.name_zh(),
        overdue: issue.overdue,
        days_overdue: issue.days_overdue,
        escalation_level: issue.escalation_level,
        escalation: ESCALATION_NAMES_ZH.get(level).copied().unwrap_or(""),
        reopen_count: issue.reopen_count,
        reported_on: office.day_of(issue.created_at.naive_utc()),
        closed_on: issue.closed_at.map(|t| office.day_of(t.naive_utc())),
        light: issue.light,
        light_zh: issue
            .light
            .map_or("", closeout_sync_protocol::Light::name_zh),
    })
}

#[cfg(test)]
mod tests {
    use super::{Office, covered_days};
    use crate::domain::issues::Clock;
    use chrono::{DateTime, NaiveDate, Utc};

    fn at(s: &str) -> Option<DateTime<Utc>> {
        Some(DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc))
    }

    #[test]
    fn the_last_covered_day_is_the_day_of_the_last_instant_before_the_end() {
        let office = Office::new(Clock::system(crate::zone::OfficeZone::default()));
        let day = |d| NaiveDate::from_ymd_opt(2026, 11, d);
        for (to, last) in [
            ("2026-12-01T00:00:00+08:00", day(30)),
            ("2026-11-30T23:59:59+08:00", day(30)),
            ("2026-11-30T16:00:00Z", day(30)),
            ("2026-11-30T12:00:00+08:00", day(30)),
            ("2026-11-30T00:00:00+08:00", day(29)),
        ] {
            assert_eq!(
                covered_days(office, at("2026-11-01T00:00:00+08:00"), at(to)),
                (day(1), last),
                "{to}"
            );
        }
    }
}
