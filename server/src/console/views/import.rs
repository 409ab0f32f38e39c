//! 交办清单导入: upload a handed-down list (XLSX or CSV) → the dry-run preview
//! (`import_plan::preview`: every row's fate, the places it resolved to, every problem; nothing
//! written) → confirm (`import_plan::import`, all or nothing). Servers keep no state between the
//! two steps: the preview page carries the file back in the confirm form (base64) with its
//! SHA-256, and the import checks both and plans again, so what is imported is what was shown —
//! or it is refused.

use crate::api::state::AppState;
use crate::console::errors::ConsoleError;
use crate::console::page::{Head, Nav, html};
use crate::console::session::ConsoleUser;
use crate::domain::access;
use crate::domain::issues::import_plan::{self, ImportFile, ImportPlan, ImportReport};
use crate::error::{AppError, ErrorCode};
use actix_multipart::Multipart;
use actix_web::{HttpResponse, web};
use askama::Template;
use base64::Engine;
use closeout_sync_protocol::Role;
use futures_util::StreamExt;
use serde::Deserialize;

pub struct BadRow {
    pub row: u64,
    pub reason_zh: String,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    head: Head,
    nav: Nav,
    file_name: String,
    problem: Option<String>,
    bad_rows: Vec<BadRow>,
    plan: Option<ImportPlan>,
    /// The previewed file, base64, for the confirm form (only when it may be imported).
    content: String,
    report: Option<ImportReport>,
}

fn page(user: &ConsoleUser) -> ImportPage {
    ImportPage {
        head: Head::new(),
        nav: Nav::of(user, "import"),
        file_name: String::new(),
        problem: None,
        bad_rows: Vec::new(),
        plan: None,
        content: String::new(),
        report: None,
    }
}

/// `GET /console/import`
pub async fn form(user: ConsoleUser) -> Result<HttpResponse, ConsoleError> {
    html(&page(&user))
}

/// The multipart form's parts: `csrf` and `file` (preview), or `csrf`, `content` (base64),
/// `file_name` and `sha256` (confirm).
struct Upload {
    csrf: Option<String>,
    file_name: String,
    bytes: Vec<u8>,
    /// Set on confirm: the SHA-256 the preview showed.
    confirm_sha256: Option<String>,
}

async fn read_upload(mut parts: Multipart) -> Result<Upload, AppError> {
    let bad = |e: actix_multipart::MultipartError| {
        AppError::new(ErrorCode::BadRequest, format!("upload: {e}")).zh("上传内容无法读取")
    };
    let mut upload = Upload {
        csrf: None,
        file_name: "upload".into(),
        bytes: Vec::new(),
        confirm_sha256: None,
    };
    let mut content = None;
    while let Some(part) = parts.next().await {
        let mut part = part.map_err(bad)?;
        let name = part.name().unwrap_or_default().to_owned();
        if name == "file"
            && let Some(f) = part.content_disposition().and_then(|d| d.get_filename())
        {
            upload.file_name = f.to_owned();
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = part.next().await {
            let chunk = chunk.map_err(bad)?;
            // base64 is 4/3 of the bytes it carries.
            if bytes.len() + chunk.len() > crate::api::IMPORT_LIMIT_BYTES / 3 * 4 + 4 {
                return Err(
                    AppError::new(ErrorCode::PayloadTooLarge, "the list is too large")
                        .zh("清单文件过大"),
                );
            }
            bytes.extend_from_slice(&chunk);
        }
        match name.as_str() {
            "csrf" => upload.csrf = Some(String::from_utf8_lossy(&bytes).into_owned()),
            "file" => upload.bytes = bytes,
            "content" => content = Some(bytes),
            "file_name" => upload.file_name = String::from_utf8_lossy(&bytes).into_owned(),
            "sha256" => upload.confirm_sha256 = Some(String::from_utf8_lossy(&bytes).into_owned()),
            _ => {}
        }
    }
    if let Some(content) = content {
        upload.bytes = base64::engine::general_purpose::STANDARD
            .decode(content.trim_ascii())
            .map_err(|_| {
                AppError::new(ErrorCode::BadRequest, "content: not base64").zh("上传内容无法读取")
            })?;
    }
    if upload.bytes.len() > crate::api::IMPORT_LIMIT_BYTES {
        return Err(
            AppError::new(ErrorCode::PayloadTooLarge, "the list is too large").zh("清单文件过大"),
        );
    }
    Ok(upload)
}

/// `POST /console/import` (multipart): a new file is previewed (nothing written); a confirmed one
/// (the preview's form) is imported, all or nothing.
pub async fn upload(
    state: web::Data<AppState>,
    user: ConsoleUser,
    parts: Multipart,
) -> Result<HttpResponse, ConsoleError> {
    let upload = read_upload(parts).await?;
    user.check_csrf(upload.csrf.as_deref())?;
    let caller = user.caller().clone();
    if caller.subtrees_with(Role::Supervisor).is_empty() {
        access::require_any(&caller, Role::Admin)?;
    }
    let mut shown = page(&user);
    shown.file_name = upload.file_name.clone();
    let clock = state.clock();
    let name = upload.file_name.clone();
    let Some(confirmed) = upload.confirm_sha256.clone() else {
        let bytes = upload.bytes;
        let (plan, bytes) = state
            .db
            .run(move |conn| {
                let file = ImportFile {
                    bytes: &bytes,
                    file_name: &name,
                    list: None,
                };
                let plan = import_plan::preview(conn, &caller, &file, clock)?;
                Ok::<_, AppError>((plan, bytes))
            })
            .await?;
        let importable = plan.errors.is_empty() && plan.already_imported.is_none() && plan.rows > 0;
        let status = if importable {
            shown.content = base64::engine::general_purpose::STANDARD.encode(&bytes);
            actix_web::http::StatusCode::OK
        } else {
            shown.problem = Some(if let Some(earlier) = &plan.already_imported {
                format!(
                    "该文件已于 {} 由 {} 导入（批次 {}），不能重复导入",
                    earlier.imported_at.format("%Y-%m-%d %H:%M"),
                    earlier.imported_by_name,
                    earlier.id
                )
            } else if plan.errors.is_empty() {
                "清单中没有数据行".to_owned()
            } else {
                format!("{} 行有错误，整份清单不能导入", plan.errors.len())
            });
            shown.bad_rows = plan
                .errors
                .iter()
                .map(|r| BadRow {
                    row: r.row as u64,
                    reason_zh: r.reason_zh.clone(),
                    reason: r.reason.clone(),
                })
                .collect();
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY
        };
        shown.plan = Some(plan);
        let mut response = html(&shown)?;
        *response.status_mut() = status;
        return Ok(response);
    };
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&upload.bytes));
    if sha != confirmed.trim() {
        return Err(AppError::new(
            ErrorCode::BadRequest,
            "the confirmed file is not the previewed one",
        )
        .zh("确认导入的文件与预览的不一致，请重新上传")
        .into());
    }
    let outcome = state
        .db
        .run(move |conn| {
            let file = ImportFile {
                bytes: &upload.bytes,
                file_name: &name,
                list: None,
            };
            import_plan::import(conn, &caller, &file, clock, &mut |_, _| {})
        })
        .await;
    let status = match outcome {
        Ok(report) => {
            shown.report = Some(report);
            actix_web::http::StatusCode::OK
        }
        Err(e) if e.code == ErrorCode::ImportRejected => {
            shown.problem = Some(e.detail_zh.clone().unwrap_or_else(|| e.detail.clone()));
            shown.bad_rows = rows_of(&e);
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY
        }
        Err(e) if e.code.status() < 500 && e.code != ErrorCode::Forbidden => {
            shown.problem = Some(e.detail_zh.clone().unwrap_or_else(|| e.detail.clone()));
            actix_web::http::StatusCode::from_u16(e.code.status())
                .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST)
        }
        Err(e) => return Err(e.into()),
    };
    let mut response = html(&shown)?;
    *response.status_mut() = status;
    Ok(response)
}

fn rows_of(e: &AppError) -> Vec<BadRow> {
    #[derive(Deserialize)]
    struct Row {
        row: u64,
        reason: String,
        reason_zh: String,
    }
    e.extra
        .as_ref()
        .and_then(|x| x.get("errors"))
        .and_then(|v| serde_json::from_value::<Vec<Row>>(v.clone()).ok())
        .unwrap_or_default()
        .into_iter()
        .map(|r| BadRow {
            row: r.row,
            reason_zh: r.reason_zh,
            reason: r.reason,
        })
        .collect()
}
