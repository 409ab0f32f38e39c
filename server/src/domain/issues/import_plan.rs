//! What importing a handed-down list would do, and doing it: decode → check (`import::parse`) →
//! plan (create, update or skip each row by its stable key, list + 序号) → write, all or nothing.
//! The same file is never imported twice: its SHA-256 is recorded with every import.
//! `preview` is the dry run (CLI `--dry-run`, `POST /issues/import/preview`, the console's page):
//! the same plan, nothing written.

use super::import::{self, ParsedList, Row};
use super::import_record::{ImportSummary, summary};
use super::report::{Origin, insert_new, ledger_scope};
use super::{Clock, edit, transitions};
use crate::db::imports::{self, ImportKeyRow, ImportRow};
use crate::db::models::IssueRow;
use crate::db::{DbConnection, issues, write_transaction};
use crate::domain::access::Caller;
use crate::domain::evidence::EvidencePolicy;
use crate::domain::places_import::RowError;
use crate::error::{AppError, ErrorCode};
use crate::ids::{IssueId, OrgUnitId};
use closeout_sync_protocol::lifecycle::TransitionRequest;
use closeout_sync_protocol::sync::IssueFields;
use closeout_sync_protocol::{ActionKind, IssueState, Role, Severity};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// What an import would do with one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanAction {
    /// A new issue.
    Create,
    /// A corrected row: the issue an earlier import made from it gets the new content.
    Update,
    /// Unchanged since the last import, or its issue has moved on (see `note`).
    Skip,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlanItem {
    /// Spreadsheet row number (the header row counts).
    pub row: usize,
    /// 序号 as written.
    pub key: Option<String>,
    pub action: PlanAction,
    pub title: String,
    pub place_code: Option<String>,
    pub place_name: String,
    pub category: String,
    /// Assigned on import to this unit (name) and person.
    pub assign_unit: Option<String>,
    pub deadline: Option<chrono::NaiveDate>,
    /// For update and skip: the issue the row made before.
    pub issue_id: Option<String>,
    pub ledger_no: Option<String>,
    pub note: Option<String>,
}

/// The dry run of an import: every row's fate and every problem. Nothing is written.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ImportPlan {
    /// The list's name, the first half of each row's key (given, its title line, or the file name).
    pub list: String,
    pub file_name: String,
    pub file_sha256: String,
    /// Data rows in the file.
    pub rows: usize,
    pub create: usize,
    pub update: usize,
    pub skip: usize,
    /// Rows assigned on import (of those created).
    pub assign: usize,
    /// Set when this very file was imported before: importing it is refused.
    pub already_imported: Option<ImportSummary>,
    pub items: Vec<PlanItem>,
    /// Bad rows: when any, importing is refused and nothing is written.
    #[schema(value_type = Vec<Object>)]
    pub errors: Vec<RowError>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    /// The import's id (`GET /issues/imports`, undo); also in each new issue's first event.
    pub batch_id: String,
    pub list: String,
    pub created: usize,
    /// Of those, assigned on import (the row named unit, person, target and deadline).
    pub assigned: usize,
    /// Corrected rows whose issue was updated.
    pub updated: usize,
    /// Rows unchanged since the last import of the list, or whose issue has moved on.
    pub skipped: usize,
    pub first_ledger_no: Option<String>,
    pub last_ledger_no: Option<String>,
}

/// Who imports and what: the bytes and how to name the list.
pub struct ImportFile<'a> {
    pub bytes: &'a [u8],
    pub file_name: &'a str,
    /// The list's name when the caller gives one; else the title line, else the file name.
    pub list: Option<&'a str>,
}

/// The dry run: what importing `file` would do, with every problem. Writes nothing.
pub fn preview(
    conn: &mut DbConnection,
    caller: &Caller,
    file: &ImportFile<'_>,
    clock: Clock,
) -> Result<ImportPlan, AppError> {
    let parsed = import::parse(conn, caller, file.bytes, clock)?;
    Ok(plan(conn, file, &parsed)?.0)
}

/// What each row becomes, beside the plan: the key row and current issue for updates.
enum Fate {
    Create,
    Update(Box<IssueRow>, ImportKeyRow),
    Skip,
}

fn plan(
    conn: &mut DbConnection,
    file: &ImportFile<'_>,
    parsed: &ParsedList,
) -> Result<(ImportPlan, Vec<Fate>), AppError> {
    let list = list_name(file, parsed);
    let file_sha256 = hex::encode(Sha256::digest(file.bytes));
    let already_imported = imports::standing_of_file(conn, &file_sha256)?
        .map(|r| summary(conn, r))
        .transpose()?;
    let known: HashMap<String, ImportKeyRow> = imports::keys_of_list(conn, &list)?
        .into_iter()
        .map(|k| (k.row_key.clone(), k))
        .collect();
    let mut errors = parsed.errors.clone();
    let mut items = Vec::with_capacity(parsed.rows.len());
    let mut fates = Vec::with_capacity(parsed.rows.len());
    for row in &parsed.rows {
        let before = match row.key.as_ref().and_then(|k| known.get(k)) {
            Some(k) => issues::find(conn, &k.issue_id)?.map(|i| (k.clone(), i)),
            None => None,
        };
        let (fate, note) = match before {
            None => (Fate::Create, None),
            Some((k, _)) if k.content_sha256 == row.content_sha256 => (
                Fate::Skip,
                Some("unchanged since the last import / 与上次导入相同".to_owned()),
            ),
            Some((_, issue)) if issue.place_id != row.place.id => {
                errors.push(RowError {
                    row: row.row,
                    reason: format!(
                        "序号 {} made issue {} in another place; a re-sent row cannot move it",
                        row.key.as_deref().unwrap_or(""),
                        issue.ledger_no
                    ),
                    reason_zh: format!(
                        "序号 {} 已生成问题 {}（另一区划），更正不能改变区划",
                        row.key.as_deref().unwrap_or(""),
                        issue.ledger_no
                    ),
                });
                continue;
            }
            Some((k, issue)) if k.issue_version != issue.version => (
                Fate::Skip,
                Some(format!(
                    "issue {} has moved on since it was imported; change it in the ledger / 问题已有后续办理，请在台账中修改",
                    issue.ledger_no
                )),
            ),
            Some((k, issue)) => (Fate::Update(Box::new(issue), k), None),
        };
        let (issue_id, ledger_no) = match &fate {
            Fate::Update(issue, _) => (Some(issue.id.to_string()), Some(issue.ledger_no.clone())),
            _ => row
                .key
                .as_ref()
                .and_then(|k| known.get(k))
                .map_or((None, None), |k| (Some(k.issue_id.to_string()), None)),
        };
        items.push(PlanItem {
            row: row.row,
            key: row.key.clone(),
            action: match fate {
                Fate::Create => PlanAction::Create,
                Fate::Update(..) => PlanAction::Update,
                Fate::Skip => PlanAction::Skip,
            },
            title: row.issue.title.clone(),
            place_code: row.place.code.clone(),
            place_name: row.place.name.clone(),
            category: row.issue.category.clone(),
            assign_unit: row.assignment.as_ref().map(|a| a.unit.name.clone()),
            deadline: row.assignment.as_ref().map(|a| a.deadline),
            issue_id,
            ledger_no,
            note,
        });
        fates.push(fate);
    }
    errors.sort_by_key(|e| e.row);
    let count = |a: PlanAction| items.iter().filter(|i| i.action == a).count();
    let plan = ImportPlan {
        list,
        file_name: file.file_name.to_owned(),
        file_sha256,
        rows: parsed.data_rows,
        create: count(PlanAction::Create),
        update: count(PlanAction::Update),
        skip: count(PlanAction::Skip),
        assign: items
            .iter()
            .filter(|i| i.action == PlanAction::Create && i.assign_unit.is_some())
            .count(),
        already_imported,
        items,
        errors,
    };
    Ok((plan, fates))
}

fn list_name(file: &ImportFile<'_>, parsed: &ParsedList) -> String {
    let given = file.list.map(str::trim).filter(|l| !l.is_empty());
    let from_file = file
        .file_name
        .rsplit_once('.')
        .map_or(file.file_name, |(stem, _)| stem);
    given
        .or(parsed.title.as_deref())
        .unwrap_or(from_file)
        .to_owned()
}

/// Reads, checks, plans and imports the list as `caller`, all or nothing. Refused: a file
/// imported before (`import_already_done`, naming that import), any bad row (`import_rejected`
/// with `errors[]`). `progress(done, total)` is called per row.
pub fn import(
    conn: &mut DbConnection,
    caller: &Caller,
    file: &ImportFile<'_>,
    clock: Clock,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ImportReport, AppError> {
    let parsed = import::parse(conn, caller, file.bytes, clock)?;
    write_transaction(conn, |conn| -> Result<ImportReport, AppError> {
        let (plan, fates) = plan(conn, file, &parsed)?;
        if let Some(earlier) = &plan.already_imported {
            return Err(already_done(earlier));
        }
        if !plan.errors.is_empty() {
            let n = plan.errors.len();
            return Err(AppError::new(
                ErrorCode::ImportRejected,
                format!("{n} row(s) were refused; nothing was imported"),
            )
            .zh(format!("{n} 行有错误，未导入任何数据"))
            .with_extra(serde_json::json!({ "errors": plan.errors })));
        }
        if parsed.rows.is_empty() {
            return Err(
                AppError::new(ErrorCode::ImportRejected, "the list has no rows")
                    .zh("清单中没有数据行"),
            );
        }
        write(conn, caller, file, &parsed, plan, fates, clock, progress)
    })
}

fn already_done(earlier: &ImportSummary) -> AppError {
    AppError::new(
        ErrorCode::ImportAlreadyDone,
        format!(
            "this file was imported on {} by {} as import {} ({} issue(s) created); nothing was imported again",
            earlier.imported_at, earlier.imported_by_name, earlier.id, earlier.created
        ),
    )
    .zh(format!(
        "该文件已于 {} 由 {} 导入（批次 {}，新建 {} 条），未重复导入",
        earlier.imported_at, earlier.imported_by_name, earlier.id, earlier.created
    ))
    .with_extra(serde_json::json!({ "import": earlier }))
}

#[allow(clippy::too_many_arguments)]
fn write(
    conn: &mut DbConnection,
    caller: &Caller,
    file: &ImportFile<'_>,
    parsed: &ParsedList,
    plan: ImportPlan,
    fates: Vec<Fate>,
    clock: Clock,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ImportReport, AppError> {
    let batch_id = uuid::Uuid::now_v7().to_string();
    imports::insert(
        conn,
        &ImportRow {
            id: batch_id.clone(),
            list_key: plan.list.clone(),
            file_name: file.file_name.to_owned(),
            file_sha256: plan.file_sha256.clone(),
            place_path: common_place(&parsed.rows),
            imported_by: caller.user_id.clone(),
            imported_at: clock.now,
            row_count: i32::try_from(plan.rows).unwrap_or(i32::MAX),
            created: 0,
            updated: 0,
            skipped: 0,
            undone_at: None,
            undone_by: None,
        },
    )?;
    let mut report = ImportReport {
        batch_id: batch_id.clone(),
        list: plan.list.clone(),
        created: 0,
        assigned: 0,
        updated: 0,
        skipped: 0,
        first_ledger_no: None,
        last_ledger_no: None,
    };
    let mut scopes: HashMap<OrgUnitId, OrgUnitId> = HashMap::new();
    let total = parsed.rows.len();
    for (done, (row, fate)) in parsed.rows.iter().zip(fates).enumerate() {
        let provenance = serde_json::json!({
            "batch_id": batch_id, "file": file.file_name, "row": row.row,
            "list": plan.list, "key": row.key,
        });
        match fate {
            Fate::Skip => report.skipped += 1,
            Fate::Create => {
                let scope = match scopes.get(&row.place.id) {
                    Some(s) => s.clone(),
                    None => {
                        let s = ledger_scope(conn, &row.place)?;
                        scopes.insert(row.place.id.clone(), s.clone());
                        s
                    }
                };
                let origin = Origin {
                    reporter: Some(&caller.user_id),
                    role: row.role.as_str(),
                    action: "import",
                    import: Some(provenance),
                };
                let id = IssueId::generate();
                let created = insert_new(
                    conn,
                    id.clone(),
                    &row.issue,
                    &row.place,
                    scope,
                    &origin,
                    clock,
                )?;
                let mut version = created.version;
                report
                    .first_ledger_no
                    .get_or_insert_with(|| created.ledger_no.clone());
                report.last_ledger_no = Some(created.ledger_no);
                report.created += 1;
                if row.assignment.is_some() {
                    version = assign(conn, caller, &id, row, file.file_name, clock)?;
                    report.assigned += 1;
                }
                // Rows without 序号 are recorded too (under no list) so that undo finds them.
                let (list_key, row_key) = match &row.key {
                    Some(k) => (plan.list.clone(), k.clone()),
                    None => (String::new(), id.to_string()),
                };
                imports::insert_key(
                    conn,
                    &ImportKeyRow {
                        list_key,
                        row_key,
                        issue_id: id,
                        created_by: batch_id.clone(),
                        last_import_id: batch_id.clone(),
                        content_sha256: row.content_sha256.clone(),
                        issue_version: version,
                    },
                )?;
            }
            Fate::Update(current, key) => {
                let mut version = current.version;
                let changes = changed_fields(&current, row);
                if let Some((fields, changed)) = changes {
                    version = edit::write_edit(
                        conn,
                        caller,
                        &current,
                        &fields,
                        serde_json::json!({ "changed": changed, "import": provenance }),
                        clock,
                    )?;
                }
                if row.assignment.is_some() && current.state == IssueState::Reported.as_str() {
                    version = assign(conn, caller, &current.id, row, file.file_name, clock)?;
                }
                imports::update_key(
                    conn,
                    &key.list_key,
                    &key.row_key,
                    &batch_id,
                    &row.content_sha256,
                    version,
                )?;
                report.updated += 1;
            }
        }
        progress(done + 1, total);
    }
    imports::set_counts(
        conn,
        &batch_id,
        count_i32(report.created),
        count_i32(report.updated),
        count_i32(report.skipped),
    )?;
    Ok(report)
}

fn count_i32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Assigns (交办) the new or corrected issue as its row says; returns the issue's new version.
fn assign(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &IssueId,
    row: &Row,
    file_name: &str,
    clock: Clock,
) -> Result<i32, AppError> {
    let Some(a) = &row.assignment else {
        return Err(AppError::internal(anyhow::anyhow!(
            "row without assignment"
        )));
    };
    let request = TransitionRequest {
        responsible_unit_id: Some(a.unit.id.to_string()),
        responsible_user_id: Some(a.person.to_string()),
        target: Some(a.target.clone()),
        deadline: Some(a.deadline),
        comment: Some(format!("交办清单 {file_name} 第 {} 行", row.row)),
        ..TransitionRequest::new(ActionKind::Assign)
    };
    // Assigning consults no evidence policy: the defaults do.
    let evidence = EvidencePolicy::default();
    transitions::apply_within(conn, caller, id, &request, clock, evidence)
        .map_err(|e| AppError::new(e.code, format!("row {}: {}", row.row, e.detail)))?;
    issues::find(conn, id)?
        .map(|i| i.version)
        .ok_or_else(|| AppError::not_found("issue"))
}

/// The fields a corrected row changes, as an edit and as the history's `changed` map.
fn changed_fields(current: &IssueRow, row: &Row) -> Option<(IssueFields, serde_json::Value)> {
    let new = &row.issue;
    let mut fields = IssueFields::default();
    let mut changed = serde_json::Map::new();
    if current.title != new.title {
        fields.title = Some(new.title.clone());
        changed.insert("title".into(), new.title.clone().into());
    }
    if current.description != new.description {
        fields.description = Some(new.description.clone());
        changed.insert("description".into(), new.description.clone().into());
    }
    if current.category != new.category {
        fields.category = Some(new.category.clone());
        changed.insert("category".into(), new.category.clone().into());
    }
    if Severity::parse(&current.severity) != Some(new.severity) {
        fields.severity = Some(new.severity);
        changed.insert("severity".into(), new.severity.as_str().into());
    }
    (!changed.is_empty()).then_some((fields, serde_json::Value::Object(changed)))
}

/// The nearest place holding every row: the longest common path at a node boundary.
fn common_place(rows: &[Row]) -> String {
    let mut paths = rows.iter().map(|r| r.place.path.as_str());
    let Some(first) = paths.next() else {
        return String::new();
    };
    let mut common = first.to_owned();
    for p in paths {
        while !p.starts_with(common.as_str()) {
            common.pop();
            while !common.is_empty() && !common.ends_with('/') {
                common.pop();
            }
        }
    }
    common
}

/// Whether the caller may see and undo an import of `place_path`.
pub(super) fn may_manage(caller: &Caller, place_path: &str) -> bool {
    [Role::Supervisor, Role::Admin]
        .into_iter()
        .flat_map(|r| caller.subtrees_with(r))
        .any(|s| place_path.starts_with(&s))
}
