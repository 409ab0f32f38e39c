//! The before/after album (实施前后状况对比图册): for each issue, the photos of its report (or
//! import) beside the photos of its latest completion report (办结反馈), with its ledger line.
//! Photos are referenced by SHA-256 only; the page shows their thumbnails.

use super::ledger::{self, LedgerRow, Office};
use super::names::Names;
use crate::db::{DbConnection, issues};
use crate::domain::access::Caller;
use crate::domain::issues::queries::{self, ListRequest};
use crate::domain::issues::{can_see, view};
use crate::error::AppError;
use crate::ids::IssueId;
use chrono::NaiveDate;
use std::collections::BTreeMap;

/// Most issues one album page holds; narrow the filters for more.
pub const ALBUM_MAX: i64 = 200;

pub struct AlbumEntry {
    pub line: LedgerRow,
    pub before: Vec<String>,
    pub after: Vec<String>,
    /// The day of the latest completion report (office calendar).
    pub after_on: Option<NaiveDate>,
    /// Evidence-check flags (Chinese messages) by photo SHA-256, for the photos shown.
    pub flags: BTreeMap<String, Vec<&'static str>>,
}

pub struct Album {
    pub entries: Vec<AlbumEntry>,
    /// More issues matched than one album holds.
    pub truncated: bool,
    pub as_of: NaiveDate,
}

/// One issue's album (404 if the caller cannot see it), or the issues the filters select.
pub fn gather(
    conn: &mut DbConnection,
    caller: &Caller,
    req: &ListRequest,
    issue: Option<IssueId>,
    office: Office,
) -> Result<Album, AppError> {
    let (items, truncated) = match issue {
        Some(id) => {
            let row = issues::find(conn, &id)?
                .filter(|r| can_see(caller, r))
                .ok_or_else(|| AppError::not_found("issue"))?;
            (vec![view::issue(row, &office.clock)?], false)
        }
        None => {
            let page = queries::list(
                conn,
                caller,
                ListRequest {
                    limit: ALBUM_MAX,
                    cursor: None,
                    ..req.clone()
                },
                office.clock,
            )?;
            (page.items, page.next_cursor.is_some())
        }
    };
    let mut names = Names::new(conn)?;
    let mut entries = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let history = issues::events_of(conn, &item.id)?;
        let photos = |photos: &str| serde_json::from_str::<Vec<String>>(photos);
        let before = match history.first() {
            Some(e) if e.action == "report" || e.action == "import" => {
                photos(&e.photos).map_err(AppError::internal)?
            }
            _ => Vec::new(),
        };
        let submit = history.iter().rev().find(|e| e.action == "submit");
        let after = match submit {
            Some(e) => photos(&e.photos).map_err(AppError::internal)?,
            None => Vec::new(),
        };
        let evidence = crate::domain::evidence::evaluate(conn, caller, &item.id, office.evidence)?;
        let mut flags: BTreeMap<String, Vec<&'static str>> = BTreeMap::new();
        for check in evidence.photos {
            let shown = (check.role == "before" && before.contains(&check.sha256))
                || (check.role == "after" && after.contains(&check.sha256));
            if shown {
                flags
                    .entry(check.sha256)
                    .or_default()
                    .extend(check.flags.iter().map(|f| f.message_zh));
            }
        }
        entries.push(AlbumEntry {
            flags,
            after_on: submit.map(|e| office.day_of(e.server_time.0)),
            line: ledger::row(conn, &mut names, item, i as u64 + 1, office)?,
            before,
            after,
        });
    }
    Ok(Album {
        entries,
        truncated,
        as_of: office.clock.today,
    })
}
