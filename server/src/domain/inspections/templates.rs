//! Checklist templates as data, versioned: every edit that changes the content makes a new
//! version, and an inspection keeps the version it was made with. Templates are system-wide:
//! anyone logged in reads them (phones need them offline); only a system-wide admin writes.

use crate::db::templates::{self as db, TemplateRow, TemplateVersionRow};
use crate::db::{DbConnection, categories, write_transaction};
use crate::domain::access::{self, Caller};
use crate::domain::issues::Clock;
use crate::error::{AppError, ErrorCode};
use crate::ids::{TemplateId, UserId};
use chrono::{DateTime, Utc};
use closeout_sync_protocol::Role;
use closeout_sync_protocol::inspection::{TemplateContent, validate_template};
use serde::{Deserialize, Serialize};

/// A template at one version.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Template {
    pub id: TemplateId,
    pub code: String,
    /// The version `content` is.
    pub version: i32,
    /// The newest version (what new inspections use).
    pub current_version: i32,
    pub archived_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub content: TemplateContent,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VersionInfo {
    pub version: i32,
    pub name: String,
    /// Null for the versions shipped with Closeout.
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TemplateDetail {
    #[serde(flatten)]
    pub template: Template,
    pub versions: Vec<VersionInfo>,
}

/// `POST /checklist-templates` and one entry of an import.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTemplate {
    /// Optional (imports keep the id they were exported with).
    pub id: Option<uuid::Uuid>,
    /// 1–64 lower-case letters, digits or `_`; unique.
    pub code: String,
    pub content: TemplateContent,
}

/// `PUT /checklist-templates/{id}`: the new content; a new version if it differs.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateUpdate {
    /// The version the edit was made from: refused (409 `conflict`) if someone saved a newer one.
    pub base_version: Option<i32>,
    pub content: TemplateContent,
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct ImportOutcome {
    pub created: Vec<String>,
    /// Templates given a new version.
    pub updated: Vec<String>,
    pub unchanged: Vec<String>,
}

/// The exported file: what `POST /checklist-templates/import` takes back.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateExport {
    /// `closeout-checklist-templates`
    pub format: String,
    pub templates: Vec<NewTemplate>,
}

pub const EXPORT_FORMAT: &str = "closeout-checklist-templates";

pub fn parse_content(row: &TemplateVersionRow) -> Result<TemplateContent, AppError> {
    serde_json::from_str(&row.content).map_err(AppError::internal)
}

fn view(t: &TemplateRow, v: &TemplateVersionRow) -> Result<Template, AppError> {
    Ok(Template {
        id: t.id.clone(),
        code: t.code.clone(),
        version: v.version,
        current_version: t.current_version,
        archived_at: t.archived_at.map(|a| a.and_utc()),
        updated_at: t.updated_at.and_utc(),
        content: parse_content(v)?,
    })
}

/// The content of one version, or `template_version_unknown`.
pub fn content_of(
    conn: &mut DbConnection,
    id: &TemplateId,
    version: i32,
) -> Result<(TemplateRow, TemplateContent), AppError> {
    let template = db::find(conn, id)?.ok_or_else(|| AppError::not_found("checklist template"))?;
    let row = db::version(conn, id, version)?.ok_or_else(|| {
        AppError::new(
            ErrorCode::TemplateVersionUnknown,
            format!("checklist template {id} has no version {version}"),
        )
    })?;
    Ok((template, parse_content(&row)?))
}

/// Checks the content, category codes included.
pub fn validate(conn: &mut DbConnection, content: &TemplateContent) -> Result<(), AppError> {
    validate_template(content).map_err(super::invalid)?;
    let mut codes = vec![("category".to_owned(), content.category.clone())];
    for (i, item) in content.items.iter().enumerate() {
        if let Some(c) = &item.category {
            codes.push((format!("items[{i}].category"), c.clone()));
        }
    }
    for (field, code) in codes {
        if !categories::find(conn, &code)?.is_some_and(|c| c.active) {
            return Err(AppError::invalid_field(
                &field,
                format!("unknown category `{code}` (see GET /api/v1/issue-categories)"),
                format!("未知类别“{code}”"),
            ));
        }
    }
    Ok(())
}

fn validate_code(code: &str) -> Result<(), AppError> {
    let ok = (1..=64).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(AppError::invalid_field(
            "code",
            "1–64 lower-case letters, digits or _",
            "须为 1–64 个小写字母、数字或下划线",
        ))
    }
}

pub fn list(
    conn: &mut DbConnection,
    _caller: &Caller,
    include_archived: bool,
) -> Result<Vec<Template>, AppError> {
    db::list_current(conn, include_archived)?
        .iter()
        .map(|(t, v)| view(t, v))
        .collect()
}

pub fn get(
    conn: &mut DbConnection,
    _caller: &Caller,
    id: &TemplateId,
    version: Option<i32>,
) -> Result<TemplateDetail, AppError> {
    let t = db::find(conn, id)?.ok_or_else(|| AppError::not_found("checklist template"))?;
    let wanted = version.unwrap_or(t.current_version);
    let v = db::version(conn, id, wanted)?.ok_or_else(|| {
        AppError::new(
            ErrorCode::TemplateVersionUnknown,
            format!("checklist template {id} has no version {wanted}"),
        )
    })?;
    let versions = db::versions_of(conn, id)?
        .into_iter()
        .map(|v| VersionInfo {
            version: v.version,
            name: v.name,
            created_by: v.created_by,
            created_at: v.created_at.and_utc(),
        })
        .collect();
    Ok(TemplateDetail {
        template: view(&t, &v)?,
        versions,
    })
}

fn create_within(
    conn: &mut DbConnection,
    caller: &Caller,
    input: &NewTemplate,
    clock: Clock,
) -> Result<Template, AppError> {
    validate_code(&input.code)?;
    validate(conn, &input.content)?;
    let id = input.id.map_or_else(TemplateId::generate, TemplateId::from);
    if db::find(conn, &id)?.is_some() || db::find_by_code(conn, &input.code)?.is_some() {
        return Err(AppError::new(
            ErrorCode::Conflict,
            format!(
                "a checklist template with this id or code `{}` exists",
                input.code
            ),
        )
        .zh(format!("检查模板编号或代码“{}”已存在", input.code)));
    }
    let t = TemplateRow {
        id: id.clone(),
        code: input.code.clone(),
        current_version: 1,
        archived_at: None,
        created_at: clock.now,
        updated_at: clock.now,
    };
    let v = version_row(&id, 1, &input.content, Some(&caller.user_id), clock)?;
    db::insert(conn, &t, &v)?;
    view(&t, &v)
}

fn version_row(
    id: &TemplateId,
    version: i32,
    content: &TemplateContent,
    by: Option<&UserId>,
    clock: Clock,
) -> Result<TemplateVersionRow, AppError> {
    Ok(TemplateVersionRow {
        template_id: id.clone(),
        version,
        name: content.name.trim().to_owned(),
        content: serde_json::to_string(content).map_err(AppError::internal)?,
        created_by: by.cloned(),
        created_at: clock.now,
    })
}

pub fn create(
    conn: &mut DbConnection,
    caller: &Caller,
    input: NewTemplate,
    clock: Clock,
) -> Result<Template, AppError> {
    access::require_system(caller, Role::Admin)?;
    write_transaction(conn, |conn| create_within(conn, caller, &input, clock))
}

/// A new version when the content differs (the same content changes nothing). Returns the
/// template and whether a version was added.
fn update_within(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &TemplateId,
    base_version: Option<i32>,
    content: &TemplateContent,
    clock: Clock,
) -> Result<(Template, bool), AppError> {
    let t = db::find(conn, id)?.ok_or_else(|| AppError::not_found("checklist template"))?;
    if t.archived_at.is_some() {
        return Err(AppError::new(
            ErrorCode::TemplateArchived,
            "an archived template cannot be edited",
        ));
    }
    if base_version.is_some_and(|b| b != t.current_version) {
        return Err(AppError::new(
            ErrorCode::Conflict,
            format!(
                "the template is at version {} now; reload and edit again",
                t.current_version
            ),
        )
        .zh(format!(
            "模板已更新到第 {} 版，请刷新后重新编辑",
            t.current_version
        )));
    }
    validate(conn, content)?;
    let (_, current) = content_of(conn, id, t.current_version)?;
    if current == *content {
        let v = db::version(conn, id, t.current_version)?
            .ok_or_else(|| AppError::not_found("checklist template"))?;
        return Ok((view(&t, &v)?, false));
    }
    let v = version_row(
        id,
        t.current_version + 1,
        content,
        Some(&caller.user_id),
        clock,
    )?;
    if !db::add_version(conn, &v, clock.now)? {
        return Err(AppError::new(
            ErrorCode::ConcurrentUpdate,
            "the template changed at the same moment; reload and retry",
        ));
    }
    let t = db::find(conn, id)?.ok_or_else(|| AppError::not_found("checklist template"))?;
    Ok((view(&t, &v)?, true))
}

pub fn update(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &TemplateId,
    input: TemplateUpdate,
    clock: Clock,
) -> Result<Template, AppError> {
    access::require_system(caller, Role::Admin)?;
    write_transaction(conn, |conn| {
        update_within(conn, caller, id, input.base_version, &input.content, clock)
    })
    .map(|(t, _)| t)
}

/// Archives (no new inspections use it; existing ones keep it) or restores a template.
pub fn set_archived(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &TemplateId,
    archived: bool,
    clock: Clock,
) -> Result<Template, AppError> {
    access::require_system(caller, Role::Admin)?;
    write_transaction(conn, |conn| {
        let t = db::find(conn, id)?.ok_or_else(|| AppError::not_found("checklist template"))?;
        let at = if archived {
            Some(t.archived_at.unwrap_or(clock.now))
        } else {
            None
        };
        db::set_archived(conn, id, at, clock.now)?;
        let t = db::find(conn, id)?.ok_or_else(|| AppError::not_found("checklist template"))?;
        let v = db::version(conn, id, t.current_version)?
            .ok_or_else(|| AppError::not_found("checklist template"))?;
        view(&t, &v)
    })
}

/// Every template in use (not archived), at its current version, as one JSON document.
pub fn export(conn: &mut DbConnection, caller: &Caller) -> Result<TemplateExport, AppError> {
    let templates = list(conn, caller, false)?
        .into_iter()
        .map(|t| NewTemplate {
            id: uuid::Uuid::parse_str(t.id.as_str()).ok(),
            code: t.code,
            content: t.content,
        })
        .collect();
    Ok(TemplateExport {
        format: EXPORT_FORMAT.into(),
        templates,
    })
}

/// Takes an exported document back: templates it does not know are created (with their ids),
/// known ones (by id, else by code) get a new version if the content differs. All or nothing.
pub fn import(
    conn: &mut DbConnection,
    caller: &Caller,
    doc: TemplateExport,
    clock: Clock,
) -> Result<ImportOutcome, AppError> {
    access::require_system(caller, Role::Admin)?;
    if doc.format != EXPORT_FORMAT {
        return Err(AppError::invalid_field(
            "format",
            format!("must be `{EXPORT_FORMAT}`"),
            format!("须为“{EXPORT_FORMAT}”"),
        ));
    }
    write_transaction(conn, |conn| {
        let mut out = ImportOutcome::default();
        for (i, t) in doc.templates.iter().enumerate() {
            let at = |e: AppError| {
                let detail = format!("templates[{i}] ({}): {}", t.code, e.detail);
                let zh = e.detail_zh.clone().unwrap_or_default();
                AppError::new(e.code, detail).zh(format!("第 {} 个模板（{}）：{zh}", i + 1, t.code))
            };
            let existing = match t.id.map(TemplateId::from) {
                Some(id) => db::find(conn, &id)?,
                None => None,
            };
            let existing = match existing {
                Some(e) => Some(e),
                None => db::find_by_code(conn, &t.code)?,
            };
            match existing {
                Some(e) => {
                    let (_, changed) =
                        update_within(conn, caller, &e.id, None, &t.content, clock).map_err(at)?;
                    if changed {
                        &mut out.updated
                    } else {
                        &mut out.unchanged
                    }
                    .push(e.code);
                }
                None => {
                    create_within(conn, caller, t, clock).map_err(at)?;
                    out.created.push(t.code.clone());
                }
            }
        }
        Ok(out)
    })
}
