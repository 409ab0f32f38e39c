//! Text a client sends, refused the same way on both databases when it holds a control character
//! a person cannot have typed (NUL, escape, …; tab, LF and CR are fine): 422 `control_character`
//! naming the field. JSON bodies go through [`Json`] (in place of `web::Json`), query strings
//! through the [`refuse_control_in_query`] middleware. PostgreSQL cannot store NUL in text at all,
//! so without this a NUL was a 500 there and a stored NUL on SQLite.
//! Pushed mutations are checked one by one in `domain::sync::decode` instead (`rejected`, not 422).

use crate::domain::sync::decode::{control_path, is_forbidden};
use crate::error::{AppError, ErrorCode};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use serde::de::DeserializeOwned;
use std::future::Future;
use std::pin::Pin;

fn control(field: &str) -> AppError {
    AppError::new(
        ErrorCode::ControlCharacter,
        format!("{field}: holds a control character; only tab, line feed and carriage return are allowed in text"),
    )
    .zh(format!("{field}：含有控制字符，文本中只允许制表符和换行"))
}

/// A JSON body, with every string and key checked for control characters before it is typed.
/// Limits and syntax errors are `web::Json`'s (the app's `JsonConfig`).
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let value = web::Json::<serde_json::Value>::from_request(req, payload);
        Box::pin(async move {
            let web::Json(value) = value.await?;
            if let Some(path) = control_path(&value, "") {
                let field = path.trim_start_matches('.');
                return Err(control(if field.is_empty() { "body" } else { field }).into());
            }
            serde_json::from_value(value).map(Json).map_err(|e| {
                AppError::new(ErrorCode::InvalidField, e.to_string())
                    .zh(format!("字段错误：{e}"))
                    .into()
            })
        })
    }
}

/// Refuses a query string whose decoded text holds a control character (`?q=%00`).
pub async fn refuse_control_in_query(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if let Some(name) = controlled_parameter(req.query_string()) {
        let refusal = control(&format!("query parameter `{name}`"));
        return Ok(req
            .into_response(HttpResponse::from_error(refusal))
            .map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

/// The name of the first parameter whose decoded name or value holds a control character.
fn controlled_parameter(query: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (name, value) = (percent_decode(name), percent_decode(value));
        (name.chars().any(is_forbidden) || value.chars().any(is_forbidden))
            .then(|| name.chars().filter(|c| !c.is_control()).take(40).collect())
    })
}

/// `application/x-www-form-urlencoded` decoding (`+` is a space), lossy for bad UTF-8.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len()
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit() =>
            {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("00");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(0));
                i += 3;
                continue;
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_controls_are_found_after_decoding() {
        assert_eq!(controlled_parameter("q=a%00b&limit=5"), Some("q".into()));
        assert_eq!(controlled_parameter("limit=5&q=%1B"), Some("q".into()));
        assert_eq!(controlled_parameter("q=%C2%85"), Some("q".into()));
        assert_eq!(controlled_parameter("q=%E6%9D%91+%09%0A&x=%"), None);
        assert_eq!(controlled_parameter("q=%2"), None);
        assert_eq!(controlled_parameter(""), None);
    }
}
