//! Official documents (公文) an office issues — the rectification notice (整改通知书) and the
//! bulletin (通报) — with the elements GB/T 9704 gives them: the issuing office (发文机关标志), a
//! document number (发文字号, `建督办〔2026〕12号`: per issuing office and year, from a counter
//! table, never handed out twice), the signature (发文机关署名) with the dated sign-off (成文日期)
//! and room for the seal (印章). The first rendering records the document; printing it again
//! shows the same number and date.

use crate::db::models::OrgUnitRow;
use crate::db::{DbConnection, documents};
use crate::error::AppError;
use crate::ids::UserId;
use crate::settings::DocumentSettings;
use chrono::{Datelike, NaiveDate, NaiveDateTime};

/// What heads and signs a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Official {
    /// 发文机关: `长安区督查办`.
    pub office: String,
    /// 发文字号: `长督查〔2026〕12号`.
    pub number: String,
    /// 成文日期, in the office's time zone.
    pub issued_on: NaiveDate,
}

/// `〔2026〕12号` with the office's 机关代字 before it.
pub fn format_number(prefix: &str, year: i32, seq: i32) -> String {
    format!("{prefix}〔{year}〕{seq}号")
}

/// The issuing office's name and 机关代字.
fn office_names(settings: &DocumentSettings, office: &OrgUnitRow) -> (String, String) {
    let prefix = office
        .code
        .as_ref()
        .and_then(|c| settings.office_prefixes.get(c))
        .unwrap_or(&settings.number_prefix)
        .clone();
    (format!("{}{}", office.name, settings.office_suffix), prefix)
}

/// The document `kind` about `subject`, issued by `office` on `issued_on` (its year numbers it):
/// recorded with the next number of that office and year the first time, read back after.
/// Runs its own write transaction.
#[allow(clippy::too_many_arguments)]
pub fn issue(
    conn: &mut DbConnection,
    settings: &DocumentSettings,
    kind: &str,
    subject: &str,
    office: &OrgUnitRow,
    issued_on: NaiveDate,
    actor: &UserId,
    now: NaiveDateTime,
) -> Result<Official, AppError> {
    let (office_name, prefix) = office_names(settings, office);
    let row = crate::db::connection::write_transaction(
        conn,
        |conn| -> Result<documents::DocumentRow, AppError> {
            if let Some(row) = documents::find(conn, kind, subject)? {
                return Ok(row);
            }
            let year = issued_on.year();
            let seq = documents::next_number(conn, &office.id, year)?;
            let row = documents::DocumentRow {
                id: uuid::Uuid::now_v7().to_string(),
                kind: kind.to_owned(),
                subject: subject.to_owned(),
                office_id: office.id.clone(),
                year,
                seq,
                number: format_number(&prefix, year, seq),
                issued_on,
                created_by: Some(actor.clone()),
                created_at: now,
            };
            documents::insert(conn, &row)?;
            Ok(row)
        },
    )?;
    Ok(Official {
        office: office_name,
        number: row.number,
        issued_on: row.issued_on,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_read_as_offices_write_them() {
        assert_eq!(
            super::format_number("长督查", 2026, 12),
            "长督查〔2026〕12号"
        );
        assert_eq!(super::format_number("", 2027, 1), "〔2027〕1号");
    }
}
