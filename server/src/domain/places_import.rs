//! Importing the place tree from a CSV file (`closeout org import FILE.csv`): all rows or none.
//!
//! Columns (English or the Chinese headers offices use): `code`/`区划代码`, `name`/`名称`,
//! `level`/`层级` (optional for 12-digit division codes, which imply it), `parent_code`/`上级代码`
//! (optional: a division code implies its parent, the nearest ancestor present is used). Rows may
//! come in any order. Codes already in the database are left as they are, so re-running an import
//! is harmless; `places_update` compares them instead (`org import --update`). UTF-8 (with or without BOM) and GBK files, as Excel saves them, are both read.

use super::places::{
    NewOrgUnit, OrgLevel, ancestor_division_codes, new_row, validate_code, validate_name,
};
use crate::db::models::OrgUnitRow;
use crate::db::{DbConnection, org_units, write_transaction};
use crate::error::{AppError, ErrorCode};
use serde::Serialize;
use std::collections::HashMap;

#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub created: usize,
    pub already_present: usize,
}

/// Why one row was refused; `row` counts as a spreadsheet does (the header is row 1).
#[derive(Debug, Clone, Serialize)]
pub struct RowError {
    pub row: usize,
    pub reason: String,
    pub reason_zh: String,
}

pub(super) struct ParsedRow {
    pub row: usize,
    pub code: String,
    pub name: String,
    pub level: OrgLevel,
    pub parent_code: Option<String>,
}

const CODE: &[&str] = &["code", "区划代码", "代码", "编码", "单位代码"];
const NAME: &[&str] = &["name", "名称", "单位名称", "区划名称"];
const LEVEL: &[&str] = &["level", "层级", "级别"];
const PARENT: &[&str] = &["parent_code", "上级代码", "上级区划代码", "上级编码"];

/// Decodes the file as UTF-8 (dropping a BOM) or, failing that, GBK.
pub fn decode_text(bytes: &[u8]) -> Result<String, AppError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(text.to_owned());
    }
    let (text, _, had_errors) = encoding_rs::GBK.decode(bytes);
    if had_errors {
        return Err(AppError::new(
            ErrorCode::ImportRejected,
            "the file is neither UTF-8 nor GBK text",
        )
        .zh("文件既不是 UTF-8 也不是 GBK 编码的文本"));
    }
    Ok(text.into_owned())
}

pub fn import_csv(conn: &mut DbConnection, bytes: &[u8]) -> Result<ImportReport, AppError> {
    let text = decode_text(bytes)?;
    let (rows, errors) = parse(&text)?;
    write_transaction(conn, |conn| create_new(conn, rows, errors))
}

/// Inserts the rows whose codes are not in the database yet, parents before children, inside the
/// caller's transaction; any bad row refuses the whole file.
pub(super) fn create_new(
    conn: &mut DbConnection,
    rows: Vec<ParsedRow>,
    mut errors: Vec<RowError>,
) -> Result<ImportReport, AppError> {
    {
        let mut known: HashMap<String, OrgUnitRow> = org_units::all_with_codes(conn)?
            .into_iter()
            .filter_map(|r| r.code.clone().map(|c| (c, r)))
            .collect();
        let already_present = rows.iter().filter(|r| known.contains_key(&r.code)).count();
        let mut pending: Vec<ParsedRow> = rows
            .into_iter()
            .filter(|r| !known.contains_key(&r.code))
            .collect();
        let mut created = 0;
        // Insert parents before children: each pass inserts every row whose parent is known.
        loop {
            let in_file: std::collections::HashSet<String> =
                pending.iter().map(|r| r.code.clone()).collect();
            let before = pending.len();
            let mut waiting = Vec::new();
            for row in pending {
                match resolve_parent(&row, &known, &in_file) {
                    Parent::Waiting => waiting.push(row),
                    Parent::Missing(code) => errors.push(row_error(
                        row.row,
                        format!("parent code {code} is neither in the file nor in the database"),
                        format!("上级代码 {code} 在文件和系统中都不存在"),
                    )),
                    Parent::Found(parent_code) => {
                        let parent = parent_code.and_then(|c| known.get(&c));
                        let input = NewOrgUnit {
                            code: Some(row.code.clone()),
                            name: row.name.clone(),
                            level: row.level,
                            parent_id: parent.map(|p| p.id.clone()),
                        };
                        match new_row(&input, parent) {
                            Ok(new) => {
                                org_units::insert(conn, &new)?;
                                known.insert(row.code.clone(), new);
                                created += 1;
                            }
                            Err(e) => errors.push(row_error(
                                row.row,
                                e.detail.clone(),
                                e.detail_zh.unwrap_or(e.detail),
                            )),
                        }
                    }
                }
            }
            pending = waiting;
            if pending.is_empty() || pending.len() == before {
                break;
            }
        }
        for row in pending {
            errors.push(row_error(
                row.row,
                "its parent could not be placed (a cycle, or the parent row failed)".into(),
                "其上级无法导入（存在循环或上级行有错误）".into(),
            ));
        }
        if !errors.is_empty() {
            errors.sort_by_key(|e| e.row);
            return Err(rejected(errors));
        }
        Ok(ImportReport {
            created,
            already_present,
        })
    }
}

enum Parent {
    /// The parent (None: a root) is in the database or was inserted earlier in this import.
    Found(Option<String>),
    /// The parent is a row of this file not inserted yet.
    Waiting,
    Missing(String),
}

fn resolve_parent(
    row: &ParsedRow,
    known: &HashMap<String, OrgUnitRow>,
    in_file: &std::collections::HashSet<String>,
) -> Parent {
    match &row.parent_code {
        Some(code) if known.contains_key(code) => Parent::Found(Some(code.clone())),
        Some(code) if in_file.contains(code) => Parent::Waiting,
        Some(code) => Parent::Missing(code.clone()),
        None => {
            for code in ancestor_division_codes(&row.code) {
                if known.contains_key(&code) {
                    return Parent::Found(Some(code));
                }
                if in_file.contains(&code) {
                    return Parent::Waiting;
                }
            }
            Parent::Found(None)
        }
    }
}

pub(super) fn parse(text: &str) -> Result<(Vec<ParsedRow>, Vec<RowError>), AppError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| {
            AppError::new(
                ErrorCode::ImportRejected,
                format!("cannot read the header row: {e}"),
            )
        })?
        .clone();
    let column = |names: &[&str]| {
        headers
            .iter()
            .position(|h| names.contains(&h.to_lowercase().as_str()))
    };
    let (Some(code_col), Some(name_col)) = (column(CODE), column(NAME)) else {
        return Err(AppError::new(
            ErrorCode::ImportRejected,
            "the header row needs at least `code` and `name` columns",
        )
        .zh("表头至少需要“区划代码”和“名称”两列"));
    };
    let (level_col, parent_col) = (column(LEVEL), column(PARENT));

    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, record) in reader.records().enumerate() {
        let row = i + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(row_error(
                    row,
                    format!("unreadable CSV: {e}"),
                    "CSV 格式错误".into(),
                ));
                continue;
            }
        };
        let field = |col: Option<usize>| col.and_then(|c| record.get(c)).unwrap_or("").to_owned();
        let (code, name) = (field(Some(code_col)), field(Some(name_col)));
        if code.is_empty() && name.is_empty() && record.iter().all(str::is_empty) {
            continue; // blank line
        }
        let checked = validate_code(&code)
            .and_then(|_| validate_name(&name))
            .and_then(|_| parse_level(&code, &field(level_col)));
        let level = match checked {
            Ok(level) => level,
            Err(e) => {
                errors.push(row_error(
                    row,
                    e.detail.clone(),
                    e.detail_zh.unwrap_or(e.detail),
                ));
                continue;
            }
        };
        if let Some(first) = seen.insert(code.clone(), row) {
            errors.push(row_error(
                row,
                format!("code {code} already appears on row {first}"),
                format!("代码 {code} 与第 {first} 行重复"),
            ));
            continue;
        }
        let parent_code = Some(field(parent_col)).filter(|p| !p.is_empty());
        rows.push(ParsedRow {
            row,
            code,
            name,
            level,
            parent_code,
        });
    }
    Ok((rows, errors))
}

fn parse_level(code: &str, level: &str) -> Result<OrgLevel, AppError> {
    if !level.is_empty() {
        return level.parse();
    }
    OrgLevel::of_division_code(code).ok_or_else(|| {
        AppError::invalid_field(
            "level",
            "missing, and the code is not a 12-digit division code that would imply it",
            "缺失，且代码不是可推断层级的 12 位区划代码",
        )
    })
}

pub(super) fn row_error(row: usize, reason: String, reason_zh: String) -> RowError {
    RowError {
        row,
        reason,
        reason_zh,
    }
}

pub(super) fn rejected(errors: Vec<RowError>) -> AppError {
    let n = errors.len();
    AppError::new(
        ErrorCode::ImportRejected,
        format!("{n} row(s) were refused; nothing was imported"),
    )
    .zh(format!("{n} 行有错误，未导入任何数据"))
    .with_extra(serde_json::json!({ "errors": errors }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_headers_and_inferred_levels_parse() {
        let (rows, errors) =
            parse("区划代码,名称\n130102001000,某镇\n130102001201,甲村\n").unwrap();
        assert!(errors.is_empty());
        assert_eq!(rows[1].level, OrgLevel::Village);
        assert_eq!(rows[1].row, 3);
    }

    #[test]
    fn bad_rows_are_reported_with_their_numbers() {
        let (_, errors) =
            parse("code,name,level\n1301,x,\n130102001201,,\nab cd,y,grid\n130102001202,村,大队\n")
                .unwrap();
        let rows: Vec<usize> = errors.iter().map(|e| e.row).collect();
        assert_eq!(rows, vec![2, 3, 4, 5]);
    }

    #[test]
    fn gbk_files_from_excel_are_read() {
        let (bytes, _, _) = encoding_rs::GBK.encode("代码,名称\n130102001201,甲村\n");
        assert_eq!(
            decode_text(&bytes).unwrap(),
            "代码,名称\n130102001201,甲村\n"
        );
        assert_eq!(
            decode_text(b"\xEF\xBB\xBFcode,name\n").unwrap(),
            "code,name\n"
        );
    }
}
