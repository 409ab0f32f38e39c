//! Ledger export (整改台账): the list's rows, page by page, rendered as XLSX, CSV or GeoJSON onto
//! any writer — an HTTP response body or a file — without holding the whole ledger in memory.

mod csv;
mod geojson;
mod xlsx;

use crate::db::DbConnection;
use crate::domain::access::Caller;
use crate::domain::issues::queries::ListRequest;
use crate::domain::reports::ledger::{self, LedgerMeta, LedgerRow, Office};
use crate::error::{AppError, ErrorCode};
use std::io::Write;

/// The column headers, in the order offices keep them.
pub const HEADERS: [&str; 19] = [
    "序号",
    "台账编号",
    "问题标题",
    "问题描述",
    "问题类别",
    "所属地点",
    "具体位置",
    "责任单位",
    "责任人",
    "整改目标",
    "完成时限",
    "当前状态",
    "是否逾期",
    "逾期天数",
    "督办等级",
    "反弹次数",
    "上报日期",
    "销号日期",
    "亮灯",
];

/// A person's text as a spreadsheet cell: text starting with `=`, `+`, `-`, `@`, a tab or a carriage
/// return gets a leading `'`, as OWASP advises against CSV/formula injection — a grid worker's
/// title `=HYPERLINK(…)` must not become a live link (or worse) in the office's spreadsheet.
/// Spreadsheets show the text as typed; the quote is visible in a text editor only.
pub fn cell_text(text: &str) -> std::borrow::Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}").into(),
        _ => text.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::cell_text;

    #[test]
    fn formula_starts_are_quoted_and_other_text_kept() {
        for (input, expected) in [
            (
                "=HYPERLINK(\"http://x\",\"点我\")",
                "'=HYPERLINK(\"http://x\",\"点我\")",
            ),
            ("+1", "'+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("村口=垃圾", "村口=垃圾"),
            ("", ""),
            (" =1", " =1"),
        ] {
            assert_eq!(cell_text(input), expected, "{input:?}");
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xlsx,
    Csv,
    GeoJson,
}

impl Format {
    pub fn parse(s: &str) -> Result<Self, AppError> {
        match s {
            "xlsx" => Ok(Self::Xlsx),
            "csv" => Ok(Self::Csv),
            "geojson" => Ok(Self::GeoJson),
            other => Err(AppError::new(
                ErrorCode::InvalidQuery,
                format!("format: `{other}` is not one of xlsx, csv, geojson"),
            )
            .zh(format!(
                "不支持的导出格式“{other}”（可选 xlsx、csv、geojson）"
            ))),
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Xlsx => "xlsx",
            Self::Csv => "csv",
            Self::GeoJson => "geojson",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Self::Csv => "text/csv; charset=utf-8",
            Self::GeoJson => "application/geo+json",
        }
    }
}

/// What an export wrote.
#[derive(Debug, Clone, Copy, Default)]
pub struct Written {
    pub rows: u64,
    /// GeoJSON only: issues left out for having no location.
    pub without_location: u64,
}

/// One output format: rows arrive page by page, then `finish` completes the file.
trait Renderer {
    fn rows(&mut self, rows: &[LedgerRow]) -> Result<(), AppError>;
    fn finish(self: Box<Self>) -> Result<Written, AppError>;
}

/// Writes the whole ledger the request selects to `out` in `format`; `progress` is told how many
/// rows are done after each page.
#[allow(clippy::too_many_arguments)]
pub fn export<W: Write + Send + 'static>(
    conn: &mut DbConnection,
    caller: &Caller,
    req: &ListRequest,
    office: Office,
    meta: &LedgerMeta,
    format: Format,
    out: W,
    progress: &mut dyn FnMut(u64),
) -> Result<Written, AppError> {
    let mut renderer: Box<dyn Renderer> = match format {
        Format::Xlsx => Box::new(xlsx::Xlsx::new(meta, out)?),
        Format::Csv => Box::new(csv::Csv::new(out)?),
        Format::GeoJson => Box::new(geojson::GeoJson::new(meta, out)?),
    };
    let mut done = 0u64;
    ledger::for_each_page(conn, caller, req, office, &mut |rows| {
        renderer.rows(rows)?;
        done += rows.len() as u64;
        progress(done);
        Ok(())
    })?;
    renderer.finish()
}

/// I/O failures while writing an export (the client went away, the disk is full).
fn io_error(e: impl std::error::Error + Send + Sync + 'static) -> AppError {
    AppError::internal(e)
}
