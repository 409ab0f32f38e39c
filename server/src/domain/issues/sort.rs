//! The orders of the issue list (`sort=` of `GET /api/v1/issues`, the console's sortable ledger
//! columns and the exports) and each order's keyset cursor. Every order ends in the id, so it is
//! total and a cursor of the order's own columns reaches every row exactly once; a cursor made
//! for one order is refused (400) under another rather than silently skipping rows.
//!
//! Cursor wire forms (opaque to clients): newest first `k1.…` (the [`Keyset`] of before sorts
//! existed, so old cursors keep working), oldest first `a.k1.…`, by deadline `da.{date|-}.{id}`
//! and `dd.{date|-}.{id}` (`-`: no deadline; those rows come last in both directions).

use crate::db::issues::{IssueFilter, IssueOrder};
use crate::db::models::IssueRow;
use crate::domain::keyset::Keyset;
use crate::error::{AppError, ErrorCode};
use crate::ids::IssueId;
use chrono::NaiveDate;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum IssueSort {
    /// `-created_at`: newest first (the default).
    #[default]
    CreatedDesc,
    /// `created_at`: oldest first.
    CreatedAsc,
    /// `deadline`: soonest deadline first, issues without one last.
    DeadlineAsc,
    /// `-deadline`: latest deadline first, issues without one last.
    DeadlineDesc,
}

impl IssueSort {
    pub const ALL: [IssueSort; 4] = [
        Self::CreatedDesc,
        Self::CreatedAsc,
        Self::DeadlineAsc,
        Self::DeadlineDesc,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreatedDesc => "-created_at",
            Self::CreatedAsc => "created_at",
            Self::DeadlineAsc => "deadline",
            Self::DeadlineDesc => "-deadline",
        }
    }

    /// Parses `sort=`; 400 `invalid_query` naming the accepted values otherwise.
    pub fn parse(s: &str) -> Result<Self, AppError> {
        Self::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| {
                AppError::new(
                    ErrorCode::InvalidQuery,
                    format!(
                        "sort: `{s}` is not one of -created_at, created_at, deadline, -deadline"
                    ),
                )
                .zh(format!(
                    "排序“{s}”无效（可选 -created_at、created_at、deadline、-deadline）"
                ))
            })
    }

    pub fn order(self) -> IssueOrder {
        match self {
            Self::CreatedDesc => IssueOrder::CreatedDesc,
            Self::CreatedAsc => IssueOrder::CreatedAsc,
            Self::DeadlineAsc => IssueOrder::DeadlineAsc,
            Self::DeadlineDesc => IssueOrder::DeadlineDesc,
        }
    }

    fn deadline_prefix(self) -> Option<&'static str> {
        match self {
            Self::DeadlineAsc => Some("da"),
            Self::DeadlineDesc => Some("dd"),
            _ => None,
        }
    }

    /// The cursor after `row` in this order.
    pub fn cursor_of(self, row: &IssueRow) -> String {
        match self {
            Self::CreatedDesc => Keyset::encode(row.created_at, &row.id),
            Self::CreatedAsc => format!("a.{}", Keyset::encode(row.created_at, &row.id)),
            Self::DeadlineAsc | Self::DeadlineDesc => format!(
                "{}.{}.{}",
                self.deadline_prefix().unwrap_or("da"),
                row.deadline
                    .map_or_else(|| "-".to_owned(), |d| d.to_string()),
                row.id
            ),
        }
    }

    /// Sets the filter's order and, from `cursor`, where the page starts.
    pub fn apply(self, cursor: Option<&str>, filter: &mut IssueFilter) -> Result<(), AppError> {
        filter.order = self.order();
        let Some(cursor) = cursor else {
            return Ok(());
        };
        match self {
            Self::CreatedDesc => {
                let k = Keyset::decode(cursor)?;
                filter.after = Some((k.at, IssueId::from(k.id)));
            }
            Self::CreatedAsc => {
                let k = Keyset::decode(cursor.strip_prefix("a.").ok_or_else(other_sort)?)?;
                filter.after = Some((k.at, IssueId::from(k.id)));
            }
            Self::DeadlineAsc | Self::DeadlineDesc => {
                let prefix = self.deadline_prefix().unwrap_or("da");
                let mut parts = cursor.split('.');
                let (Some(p), Some(day), Some(id), None) =
                    (parts.next(), parts.next(), parts.next(), parts.next())
                else {
                    return Err(other_sort());
                };
                if p != prefix {
                    return Err(other_sort());
                }
                let day = match day {
                    "-" => None,
                    d => Some(NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| other_sort())?),
                };
                let id = uuid::Uuid::parse_str(id).map_err(|_| other_sort())?;
                filter.after_deadline = Some((day, IssueId::from(id)));
            }
        }
        Ok(())
    }
}

fn other_sort() -> AppError {
    AppError::new(
        ErrorCode::InvalidQuery,
        "cursor: not a cursor of this sort order (keep `sort` as it was, or start from the first page)",
    )
    .zh("cursor 与当前排序不符（请保持排序不变，或从第一页重新开始）")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_parse_from_their_names_and_nothing_else() {
        for s in IssueSort::ALL {
            assert_eq!(IssueSort::parse(s.as_str()).ok(), Some(s));
        }
        assert!(IssueSort::parse("title").is_err());
    }

    #[test]
    fn a_cursor_of_one_order_is_refused_under_another() {
        let id = uuid::Uuid::nil();
        let mut f = IssueFilter::default();
        let dated = format!("da.2026-12-01.{id}");
        assert!(IssueSort::DeadlineAsc.apply(Some(&dated), &mut f).is_ok());
        assert_eq!(
            f.after_deadline,
            Some((NaiveDate::from_ymd_opt(2026, 12, 1), IssueId::from(id)))
        );
        assert!(IssueSort::DeadlineDesc.apply(Some(&dated), &mut f).is_err());
        assert!(IssueSort::CreatedDesc.apply(Some(&dated), &mut f).is_err());
        let undated = format!("dd.-.{id}");
        let mut f = IssueFilter::default();
        assert!(
            IssueSort::DeadlineDesc
                .apply(Some(&undated), &mut f)
                .is_ok()
        );
        assert_eq!(f.after_deadline, Some((None, IssueId::from(id))));
        assert_eq!(f.order, IssueOrder::DeadlineDesc);
    }
}
