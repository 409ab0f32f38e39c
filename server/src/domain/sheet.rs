//! Reading the spreadsheets offices send (XLSX from Excel/WPS, or CSV in UTF-8 or GBK) into rows
//! of text, the way a person reads them: dates as `YYYY-MM-DD`, codes typed as numbers as digits.

use super::places_import::decode_text;
use crate::error::{AppError, ErrorCode};
use calamine::{Data, Reader};

/// A table: rows of cells, trimmed. Row 0 is the spreadsheet's row 1.
pub type Table = Vec<Vec<String>>;

/// XLSX when the bytes are a ZIP archive (as every .xlsx is), CSV otherwise.
pub fn read(bytes: &[u8]) -> Result<Table, AppError> {
    if bytes.starts_with(b"PK\x03\x04") {
        read_xlsx(bytes)
    } else {
        read_csv(bytes)
    }
}

fn read_xlsx(bytes: &[u8]) -> Result<Table, AppError> {
    let unreadable = |e: String| {
        AppError::new(
            ErrorCode::ImportRejected,
            format!("the workbook cannot be read: {e}"),
        )
        .zh("无法读取该 Excel 文件")
    };
    let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes.to_vec()))
        .map_err(|e| unreadable(e.to_string()))?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(|| unreadable("it has no worksheet".into()))?
        .map_err(|e| unreadable(e.to_string()))?;
    // Keep spreadsheet row numbers: pad the rows above the used range.
    let (first_row, first_col) = range.start().unwrap_or((0, 0));
    let mut table: Table = vec![Vec::new(); first_row as usize];
    for row in range.rows() {
        let mut cells = vec![String::new(); first_col as usize];
        cells.extend(row.iter().map(cell_text));
        table.push(cells);
    }
    Ok(table)
}

fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty | Data::Error(_) => String::new(),
        Data::String(s) => s.trim().to_owned(),
        Data::Int(i) => i.to_string(),
        // A code or a count typed into a number cell: 130102001001, not 1.30102001001e11.
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => match dt.as_datetime() {
            Some(t) if t.time() == chrono::NaiveTime::MIN => t.date().to_string(),
            Some(t) => t.to_string(),
            None => dt.as_f64().to_string(),
        },
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
    }
}

fn read_csv(bytes: &[u8]) -> Result<Table, AppError> {
    let text = decode_text(bytes)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut table = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| {
            AppError::new(
                ErrorCode::ImportRejected,
                format!("row {}: unreadable CSV: {e}", i + 1),
            )
            .zh(format!("第 {} 行 CSV 格式错误", i + 1))
        })?;
        table.push(record.iter().map(str::to_owned).collect());
    }
    Ok(table)
}

/// Finds the header row among the first rows (offices put a title and a date line above it):
/// the first row naming at least `min_hits` of the known column names. Returns its index and,
/// for each wanted column, the position where it was found.
pub fn find_header<const N: usize>(
    table: &Table,
    columns: [&[&str]; N],
    min_hits: usize,
) -> Option<(usize, [Option<usize>; N])> {
    for (r, row) in table.iter().enumerate().take(10) {
        let normalized: Vec<String> = row.iter().map(|c| normalize_header(c)).collect();
        let mut found = [None; N];
        for (k, names) in columns.iter().enumerate() {
            found[k] = normalized
                .iter()
                .position(|h| names.iter().any(|n| normalize_header(n) == *h));
        }
        if found.iter().filter(|f| f.is_some()).count() >= min_hits {
            return Some((r, found));
        }
    }
    None
}

/// Header text compared loosely: no spaces, no asterisks marking required columns, lower case.
fn normalize_header(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && *c != '*' && *c != '＊')
        .collect::<String>()
        .to_lowercase()
}

/// A day as offices write it: 2026-12-31, 2026/12/31, 2026.12.31, 2026年12月31日, or a date-time.
pub fn parse_day(s: &str) -> Option<chrono::NaiveDate> {
    let s = s.trim();
    let s = s.split([' ', 'T']).next().unwrap_or(s);
    let unified: String = s
        .replace(['年', '月'], "-")
        .replace('日', "")
        .replace(['/', '.'], "-");
    chrono::NaiveDate::parse_from_str(&unified, "%Y-%m-%d").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_in_the_ways_offices_write_them() {
        let d = chrono::NaiveDate::from_ymd_opt(2026, 12, 31);
        for s in [
            "2026-12-31",
            "2026/12/31",
            "2026.12.31",
            "2026年12月31日",
            "2026-12-31 00:00:00",
        ] {
            assert_eq!(parse_day(s), d, "{s}");
        }
        assert_eq!(
            parse_day("2026年3月5日"),
            chrono::NaiveDate::from_ymd_opt(2026, 3, 5)
        );
        assert_eq!(parse_day("年底前"), None);
    }

    #[test]
    fn the_header_row_is_found_below_a_title() {
        let table: Table = vec![
            vec!["某县交办问题清单".into()],
            vec!["".into()],
            vec!["序号".into(), "问题标题*".into(), " 区划代码 ".into()],
        ];
        let (row, cols) =
            find_header(&table, [&["问题标题"], &["区划代码"], &["整改目标"]], 2).unwrap();
        assert_eq!(row, 2);
        assert_eq!(cols, [Some(1), Some(2), None]);
    }
}
