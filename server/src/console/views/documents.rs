//! 通报 / 通知书 / 相册 / 督查记录单: the printable documents, served under the session cookie by
//! the very functions behind the API's document routes (`bulletin_document`, `notice_document`,
//! `album_document`, `record_document`): the same data, 文号, DOCX and signed photo links, so a
//! document printed from the console is the one the API gives.

use crate::api::reports::{BulletinParams, album_document, bulletin_document};
use crate::api::state::AppState;
use crate::console::errors::ConsoleError;
use crate::console::page::{Head, Nav, html};
use crate::console::session::ConsoleUser;
use crate::error::AppError;
use crate::ids::{InspectionId, IssueId};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "documents.html")]
struct DocumentsPage {
    head: Head,
    nav: Nav,
}

/// `GET /console/documents`: what can be printed, and from where.
pub async fn index(user: ConsoleUser) -> Result<HttpResponse, ConsoleError> {
    html(&DocumentsPage {
        head: Head::new(),
        nav: Nav::of(&user, "documents"),
    })
}

/// `GET /console/documents/bulletin?period=…&format=html|docx|json`.
pub async fn bulletin(
    state: web::Data<AppState>,
    user: ConsoleUser,
    q: web::Query<BulletinParams>,
) -> Result<HttpResponse, ConsoleError> {
    Ok(bulletin_document(&state, user.caller().clone(), q.into_inner()).await?)
}

/// `GET /console/documents/album?issue_id=…` or the ledger's filters.
pub async fn album(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: ConsoleUser,
) -> Result<HttpResponse, ConsoleError> {
    Ok(album_document(&state, user.caller().clone(), req.query_string()).await?)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Format {
    format: Option<String>,
}

fn uuid_of(s: &str, what: &'static str) -> Result<uuid::Uuid, AppError> {
    uuid::Uuid::parse_str(s).map_err(|_| AppError::not_found(what))
}

/// `GET /console/issues/{id}/notice?format=html|docx`: the 整改通知书.
pub async fn notice(
    state: web::Data<AppState>,
    user: ConsoleUser,
    id: web::Path<String>,
    q: web::Query<Format>,
) -> Result<HttpResponse, ConsoleError> {
    let id = IssueId::from(uuid_of(&id, "issue")?);
    Ok(
        crate::api::issues::notice_document(&state, user.caller().clone(), id, q.format.as_deref())
            .await?,
    )
}

/// `GET /console/inspections/{id}/record?format=html|docx`: the 督查记录单.
pub async fn record(
    state: web::Data<AppState>,
    user: ConsoleUser,
    id: web::Path<String>,
    q: web::Query<Format>,
) -> Result<HttpResponse, ConsoleError> {
    let id = InspectionId::from(uuid_of(&id, "inspection")?);
    Ok(crate::api::inspections::record_document(
        &state,
        user.caller().clone(),
        id,
        q.format.as_deref(),
    )
    .await?)
}
