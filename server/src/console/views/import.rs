//! 交办清单导入: upload a handed-down list (XLSX or CSV). Until the dry-run preview (task E2)
//! lands this calls the API's all-or-nothing `import::import`: a list with any bad row is refused
//! whole, and the page names every bad row with its reason; a good list is imported and the
//! page says how many issues were created and assigned.

use crate::api::state::AppState;
use crate::console::errors::ConsoleError;
use crate::console::page::{Head, Nav, html};
use crate::console::session::ConsoleUser;
use crate::domain::access;
use crate::domain::issues::import::{self, ImportReport};
use crate::error::{AppError, ErrorCode};
use actix_multipart::Multipart;
use actix_web::{HttpResponse, web};
use askama::Template;
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
    report: Option<ImportReport>,
}

fn page(user: &ConsoleUser) -> ImportPage {
    ImportPage {
        head: Head::new(),
        nav: Nav::of(user, "import"),
        file_name: String::new(),
        problem: None,
        bad_rows: Vec::new(),
        report: None,
    }
}

/// `GET /console/import`
pub async fn form(user: ConsoleUser) -> Result<HttpResponse, ConsoleError> {
    html(&page(&user))
}

/// The multipart form's parts: `csrf` and `file`.
struct Upload {
    csrf: Option<String>,
    file_name: String,
    bytes: Vec<u8>,
}

async fn read_upload(mut parts: Multipart) -> Result<Upload, AppError> {
    let bad = |e: actix_multipart::MultipartError| {
        AppError::new(ErrorCode::BadRequest, format!("upload: {e}")).zh("上传内容无法读取")
    };
    let mut upload = Upload {
        csrf: None,
        file_name: "upload".into(),
        bytes: Vec::new(),
    };
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
            if bytes.len() + chunk.len() > crate::api::IMPORT_LIMIT_BYTES {
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
            _ => {}
        }
    }
    Ok(upload)
}

/// `POST /console/import` (multipart): import, or show every bad row and import nothing.
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
    let outcome = state
        .db
        .run(move |conn| import::import(conn, &caller, &upload.bytes, &name, clock, &mut |_, _| {}))
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
