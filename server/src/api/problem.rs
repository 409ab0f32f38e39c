//! Every error leaves as `application/problem+json` (RFC 9457) with a stable `code` and a Chinese
//! `message_zh`. This is the one place that maps [`AppError`] to HTTP, and where actix's own
//! rejections (bad JSON, bad path ids, unknown routes, wrong methods) are given codes too.

use crate::error::{AppError, ErrorCode};
use actix_web::dev::ServiceResponse;
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde::Serialize;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// The body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// `urn:closeout:problem:<code>`
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub code: ErrorCode,
    pub message_zh: String,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        if self.code.status() >= 500 {
            tracing::error!(code = %self.code, error = %self, "request failed");
        }
        let detail = if self.code == ErrorCode::Internal {
            "an unexpected error occurred; it has been logged".to_owned()
        } else {
            self.detail.clone()
        };
        let problem = Problem {
            type_: format!("urn:closeout:problem:{}", self.code),
            title: self.code.title().to_owned(),
            status: self.code.status(),
            detail,
            code: self.code,
            message_zh: self
                .detail_zh
                .clone()
                .unwrap_or_else(|| self.code.message_zh().to_owned()),
        };
        let mut body = serde_json::to_value(&problem).unwrap_or_default();
        if let (Some(serde_json::Value::Object(extra)), serde_json::Value::Object(map)) =
            (&self.extra, &mut body)
        {
            for (k, v) in extra {
                map.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        let mut response = HttpResponse::build(self.status_code());
        response.content_type(PROBLEM_JSON);
        if self.code == ErrorCode::TooManyLoginAttempts
            && let Some(secs) = self
                .extra
                .as_ref()
                .and_then(|e| e.get("retry_after_secs"))
                .and_then(|v| v.as_u64())
        {
            response.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        if matches!(self.code.status(), 503 | 507) {
            response.insert_header((header::RETRY_AFTER, retry_after_secs(self.code).to_string()));
        }
        if self.code.status() == 401 {
            response.insert_header((
                header::WWW_AUTHENTICATE,
                format!("Bearer error=\"{}\"", self.code),
            ));
        }
        response.body(body.to_string())
    }
}

/// How long a client should wait before retrying a 503/507 (every one carries `Retry-After`).
fn retry_after_secs(code: ErrorCode) -> u32 {
    match code {
        ErrorCode::DiskFull => 60,
        _ => 5,
    }
}

/// Bad JSON bodies: syntax → 400 `malformed_json`; wrong types, missing or unknown fields → 422
/// `invalid_field`; too large → 413; not JSON at all → 415.
pub fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let app = match &err {
        JsonPayloadError::OverflowKnownLength { length, limit } => AppError::new(
            ErrorCode::PayloadTooLarge,
            format!("the body is {length} bytes; at most {limit} are accepted"),
        ),
        JsonPayloadError::Overflow { limit } => AppError::new(
            ErrorCode::PayloadTooLarge,
            format!("the body exceeds {limit} bytes"),
        ),
        JsonPayloadError::ContentType => AppError::new(
            ErrorCode::UnsupportedMediaType,
            "send the body as JSON with `Content-Type: application/json`",
        ),
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            AppError::new(ErrorCode::InvalidField, e.to_string()).zh(format!("字段错误：{e}"))
        }
        JsonPayloadError::Deserialize(e) => {
            AppError::new(ErrorCode::MalformedJson, e.to_string()).zh(format!("JSON 格式错误：{e}"))
        }
        other => AppError::new(ErrorCode::BadRequest, other.to_string()),
    };
    app.into()
}

/// Path parameters that do not parse (a bad UUID): 400 `invalid_id`.
pub fn path_error(err: PathError, _req: &HttpRequest) -> actix_web::Error {
    AppError::new(ErrorCode::InvalidId, err.to_string())
        .zh("路径中的标识符无效（应为 UUID）")
        .into()
}

/// Query strings that do not parse: 400 `invalid_query`.
pub fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    AppError::new(ErrorCode::InvalidQuery, err.to_string())
        .zh(format!("查询参数无效：{err}"))
        .into()
}

/// Any route that does not exist.
pub async fn route_not_found(req: HttpRequest) -> Result<HttpResponse, AppError> {
    Err(AppError::new(
        ErrorCode::RouteNotFound,
        format!("no endpoint {} {}", req.method(), req.path()),
    ))
}

/// Rewrites error responses that were not made by [`AppError`] (actix's 405s, 404s, payload
/// errors) into problems, so a client never has to parse two error formats.
pub fn ensure_problem<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v == HeaderValue::from_static(PROBLEM_JSON));
    // The web console answers its errors as HTML pages on purpose (console::errors).
    let is_console_page = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_problem || is_console_page {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let code = match status.as_u16() {
        404 => ErrorCode::RouteNotFound,
        405 => ErrorCode::MethodNotAllowed,
        413 => ErrorCode::PayloadTooLarge,
        415 => ErrorCode::UnsupportedMediaType,
        400..=499 => ErrorCode::BadRequest,
        _ => ErrorCode::Internal,
    };
    let (req, res) = res.into_parts();
    let detail = format!("{} {}: {}", req.method(), req.path(), status);
    let mut problem = AppError::new(code, detail).error_response();
    // Keep the original status (e.g. a 4xx we did not map precisely) and headers such as Allow.
    *problem.status_mut() = status;
    for (name, value) in res.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            problem.headers_mut().insert(name.clone(), value.clone());
        }
    }
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, problem).map_into_right_body(),
    ))
}
