//! Re-importing the place tree with changes (`closeout org import FILE.csv --update`): the file is
//! compared with the database — places renamed, moved under another parent, new, and places under
//! a listed place that the file no longer has — and the differences are shown first. Applying them
//! (`--update --yes`) creates the new places, renames and moves in one transaction, through the
//! same 区划调整 as the API (history events, reset pulls). Missing places are only reported:
//! retiring or merging one is a decision (`org retire`, `org merge`).

use super::place_changes::{self, Rename};
use super::place_moves::{self, MovePlace};
use super::places::ancestor_division_codes;
use super::places_import::{ParsedRow, create_new, decode_text, parse, rejected, row_error};
use crate::db::models::OrgUnitRow;
use crate::db::{DbConnection, org_units, write_transaction};
use crate::error::AppError;
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// One place in a difference: its code and name (the file's name for new and renamed places).
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Renamed {
    pub code: String,
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Moved {
    pub code: String,
    pub name: String,
    pub from_parent: Option<Listed>,
    pub to_parent: Listed,
    depth: i32,
}

/// What the file changes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PlaceDiff {
    pub new: Vec<Listed>,
    pub renamed: Vec<Renamed>,
    pub moved: Vec<Moved>,
    /// Under a place the file lists, in the database, not in the file: left as they are.
    pub missing: Vec<Listed>,
    pub unchanged: usize,
}

impl PlaceDiff {
    pub fn is_empty(&self) -> bool {
        self.new.is_empty() && self.renamed.is_empty() && self.moved.is_empty()
    }
}

/// The differences between the file and the database; writes nothing.
pub fn plan(conn: &mut DbConnection, bytes: &[u8]) -> Result<PlaceDiff, AppError> {
    let text = decode_text(bytes)?;
    let (rows, errors) = parse(&text)?;
    let all = org_units::all(conn)?;
    compare(&rows, errors, &all)
}

/// Applies the differences in one transaction and returns them.
pub fn apply(conn: &mut DbConnection, bytes: &[u8]) -> Result<PlaceDiff, AppError> {
    let text = decode_text(bytes)?;
    let (rows, errors) = parse(&text)?;
    write_transaction(conn, |conn| {
        let all = org_units::all(conn)?;
        let diff = compare(&rows, errors, &all)?;
        create_new(conn, rows, Vec::new())?;
        for r in &diff.renamed {
            let id = by_code(conn, &r.code)?.id;
            place_changes::rename_in(conn, None, &id, Rename { name: r.to.clone() })?;
        }
        let mut moves: Vec<&Moved> = diff.moved.iter().collect();
        moves.sort_by_key(|m| m.depth);
        for m in moves {
            let id = by_code(conn, &m.code)?.id;
            let parent_id = by_code(conn, &m.to_parent.code)?.id;
            let input = MovePlace {
                parent_id,
                reason: Some("org import --update".into()),
            };
            place_moves::move_in(conn, None, &id, input)?;
        }
        Ok(diff)
    })
}

fn by_code(conn: &mut DbConnection, code: &str) -> Result<OrgUnitRow, AppError> {
    org_units::find_by_code(conn, code)?
        .ok_or_else(|| AppError::not_found(&format!("place {code}")))
}

/// The parent a row names: its `parent_code`, else the nearest ancestor division code in the file
/// or the database. None: a root, or no parent given.
fn parent_code(
    row: &ParsedRow,
    known: &HashMap<&str, &OrgUnitRow>,
    in_file: &HashMap<&str, &ParsedRow>,
) -> Option<String> {
    if let Some(code) = &row.parent_code {
        return Some(code.clone());
    }
    ancestor_division_codes(&row.code)
        .into_iter()
        .find(|c| known.contains_key(c.as_str()) || in_file.contains_key(c.as_str()))
}

fn compare(
    rows: &[ParsedRow],
    mut errors: Vec<super::places_import::RowError>,
    all: &[OrgUnitRow],
) -> Result<PlaceDiff, AppError> {
    let known: HashMap<&str, &OrgUnitRow> = all
        .iter()
        .filter_map(|r| r.code.as_deref().map(|c| (c, r)))
        .collect();
    let by_id: HashMap<&str, &OrgUnitRow> = all.iter().map(|r| (r.id.as_str(), r)).collect();
    let in_file: HashMap<&str, &ParsedRow> = rows.iter().map(|r| (r.code.as_str(), r)).collect();
    let name_of = |code: &str| {
        in_file
            .get(code)
            .map(|r| r.name.clone())
            .or_else(|| known.get(code).map(|r| r.name.clone()))
            .unwrap_or_default()
    };
    let mut diff = PlaceDiff::default();
    for row in rows {
        let parent = parent_code(row, &known, &in_file);
        if let Some(p) = &parent
            && !known.contains_key(p.as_str())
            && !in_file.contains_key(p.as_str())
        {
            errors.push(row_error(
                row.row,
                format!("parent code {p} is neither in the file nor in the database"),
                format!("上级代码 {p} 在文件和系统中都不存在"),
            ));
            continue;
        }
        let Some(existing) = known.get(row.code.as_str()) else {
            diff.new.push(Listed {
                code: row.code.clone(),
                name: row.name.clone(),
            });
            continue;
        };
        let mut same = true;
        if existing.name != row.name {
            same = false;
            diff.renamed.push(Renamed {
                code: row.code.clone(),
                from: existing.name.clone(),
                to: row.name.clone(),
            });
        }
        let current = existing
            .parent_id
            .as_ref()
            .and_then(|p| by_id.get(p.as_str()));
        let current_code = current.and_then(|p| p.code.clone());
        if let Some(p) = parent.filter(|p| Some(p) != current_code.as_ref()) {
            same = false;
            diff.moved.push(Moved {
                code: row.code.clone(),
                name: row.name.clone(),
                from_parent: current.map(|c| Listed {
                    code: c.code.clone().unwrap_or_default(),
                    name: c.name.clone(),
                }),
                to_parent: Listed {
                    name: name_of(&p),
                    code: p,
                },
                depth: existing.depth,
            });
        }
        if same {
            diff.unchanged += 1;
        }
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.row);
        return Err(rejected(errors));
    }
    // Places under a listed place that the file does not have.
    let listed: HashSet<&str> = rows
        .iter()
        .filter_map(|r| known.get(r.code.as_str()).map(|p| p.id.as_str()))
        .collect();
    for place in all {
        let Some(code) = &place.code else { continue };
        if in_file.contains_key(code.as_str()) {
            continue;
        }
        let under_listed = place
            .path
            .trim_matches('/')
            .split('/')
            .filter(|id| *id != place.id.as_str())
            .any(|id| listed.contains(id));
        if under_listed {
            diff.missing.push(Listed {
                code: code.clone(),
                name: place.name.clone(),
            });
        }
    }
    diff.missing.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(diff)
}
