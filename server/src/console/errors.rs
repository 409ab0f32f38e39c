//! Errors of the console, answered as HTML pages in Chinese (never problem+json): a missing or
//! ended session sends the browser to the login page, a bad CSRF token is a 403 page, and every
//! domain [`AppError`] keeps its status and its Chinese message.

use crate::error::{AppError, ErrorCode};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;
use std::fmt;

#[derive(Debug)]
pub enum ConsoleError {
    /// No live session: go to the login page, then come back to `next`.
    NotLoggedIn { next: String },
    /// The form's CSRF token is missing or wrong.
    Csrf,
    /// What the domain said.
    App(AppError),
    /// A template failed to render (a bug).
    Render(askama::Error),
}

impl From<AppError> for ConsoleError {
    fn from(e: AppError) -> Self {
        Self::App(e)
    }
}

impl From<askama::Error> for ConsoleError {
    fn from(e: askama::Error) -> Self {
        Self::Render(e)
    }
}

impl fmt::Display for ConsoleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotLoggedIn { .. } => f.write_str("not logged in"),
            Self::Csrf => f.write_str("csrf token missing or wrong"),
            Self::App(e) => write!(f, "{e}"),
            Self::Render(e) => write!(f, "template: {e}"),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    head: super::page::Head,
    status: u16,
    title_zh: &'a str,
    message_zh: &'a str,
    message_en: &'a str,
    code: &'a str,
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NotLoggedIn { .. } => StatusCode::SEE_OTHER,
            Self::Csrf => StatusCode::FORBIDDEN,
            Self::App(e) => {
                StatusCode::from_u16(e.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
            Self::Render(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::NotLoggedIn { next } = self {
            let location = format!("/login?next={}", url_encode(next));
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, location.clone()))
                // htmx follows this header instead of swapping the login page into a fragment.
                .insert_header(("HX-Redirect", location))
                .finish();
        }
        let status = self.status_code();
        let (title_zh, message_zh, message_en, code) = match self {
            Self::Csrf => (
                "请求被拒绝",
                "表单已过期或不是从本系统页面提交的，请刷新页面后重试。".to_owned(),
                "The form's CSRF token is missing or wrong; reload the page and try again."
                    .to_owned(),
                "csrf_token_invalid",
            ),
            Self::App(e) => {
                if e.code.status() >= 500 {
                    tracing::error!(code = %e.code, error = %e, "console request failed");
                }
                let title = match e.code {
                    ErrorCode::NotFound | ErrorCode::RouteNotFound => "未找到",
                    ErrorCode::Forbidden => "无权操作",
                    _ if e.code.status() >= 500 => "服务器错误",
                    _ => "操作未完成",
                };
                let zh = e
                    .detail_zh
                    .clone()
                    .unwrap_or_else(|| e.code.message_zh().to_owned());
                let en = if e.code == ErrorCode::Internal {
                    "an unexpected error occurred; it has been logged".to_owned()
                } else {
                    e.detail.clone()
                };
                (title, zh, en, e.code.as_str())
            }
            Self::Render(e) => {
                tracing::error!(error = %e, "console template failed");
                (
                    "服务器错误",
                    "页面生成失败，已记录。".to_owned(),
                    "the page could not be rendered; it has been logged".to_owned(),
                    "internal",
                )
            }
            Self::NotLoggedIn { .. } => unreachable_login(),
        };
        let page = ErrorPage {
            head: super::page::Head::new(),
            status: status.as_u16(),
            title_zh,
            message_zh: &message_zh,
            message_en: &message_en,
            code,
        };
        let body = page
            .render()
            .unwrap_or_else(|_| format!("{} {}", status.as_u16(), code));
        HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(body)
    }
}

/// The login redirect is answered above; this arm exists only to keep the match total.
fn unreachable_login() -> (&'static str, String, String, &'static str) {
    (
        "请登录",
        "请先登录。".to_owned(),
        "log in first".to_owned(),
        "unauthenticated",
    )
}

/// Percent-encodes a path for a query string (only what a console path can hold needs care).
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
