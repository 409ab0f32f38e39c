//! The edge of a push: each mutation decoded and checked once, on its own. A batch is refused
//! whole only when its envelope (`protocol`, `sent_at`, `mutations` as a list) is not a batch;
//! a mutation that cannot be read — a NUL in a title, a `device_time` without a zone, a number
//! past its type's limit, a `type` this server does not know — becomes a [`Rejection`] naming the
//! field, answered `rejected` in its turn while the rest of the batch applies.
//!
//! A mutation whose `id` and `seq` can be read keeps its place in the device's sequence (its
//! number is used up, so the queue moves on); one without them cannot be placed and is answered
//! at once, recorded nowhere.

use super::push::RawMutation;
use crate::error::{AppError, ErrorCode};
use chrono::{DateTime, Utc};
use closeout_sync_protocol::sync::{
    MutationBody, MutationResult, MutationStatus, NewIssueBody, TransitionBody, UpdateIssueBody,
};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Why one mutation is refused, and which field made it so.
#[derive(Debug)]
pub struct Rejection {
    pub error: AppError,
    /// The field's path in the mutation (`device_time`, `body.fields.title`).
    pub field: Option<String>,
}

impl Rejection {
    fn new(code: ErrorCode, field: &str, detail: String, detail_zh: String) -> Self {
        Self {
            error: AppError::new(code, detail).zh(detail_zh),
            field: Some(field.to_owned()),
        }
    }

    /// A refusal because of `field`.
    pub fn on_field(error: AppError, field: &str) -> Self {
        Self {
            error,
            field: Some(field.to_owned()),
        }
    }

    /// The result a mutation gets for this refusal.
    pub fn result(&self, id: &str, seq: u64) -> MutationResult {
        MutationResult {
            id: id.to_owned(),
            seq,
            status: MutationStatus::Rejected,
            code: Some(self.error.code.as_str().to_owned()),
            message: Some(self.error.detail.clone()),
            message_zh: Some(
                self.error
                    .detail_zh
                    .clone()
                    .unwrap_or_else(|| self.error.code.message_zh().to_owned()),
            ),
            field: self.field.clone(),
            version: None,
            conflict_ids: None,
            original: None,
        }
    }
}

/// A mutation with its place in the device's sequence: `raw` is what arrived (kept as is when it
/// must wait behind a gap), `body` what it does or why it cannot be done.
#[derive(Debug)]
pub struct Incoming {
    pub m: RawMutation,
    pub body: Result<MutationBody, Rejection>,
    pub raw: Value,
}

/// What a pushed mutation decodes to.
#[derive(Debug)]
pub enum Decoded {
    Placed(Box<Incoming>),
    /// No usable `id` or `seq`: answered `rejected` at once.
    Unplaced(MutationResult),
}

/// The longest mutation id kept (a UUID is 36 characters).
const MAX_ID_CHARS: usize = 64;

/// The mutation keys a phone may send.
const KEYS: [&str; 4] = ["id", "seq", "device_time", "body"];

/// Decodes one pushed mutation. `now` stands in for an unreadable `device_time` in the record of
/// its rejection.
pub fn mutation(raw: Value, now: DateTime<Utc>) -> Decoded {
    let Value::Object(map) = &raw else {
        let r = Rejection::new(
            ErrorCode::MalformedMutation,
            "",
            "a mutation must be a JSON object".into(),
            "每条操作须为 JSON 对象".into(),
        );
        return Decoded::Unplaced(r.result("", 0));
    };
    let id = map.get("id").and_then(Value::as_str).unwrap_or("");
    let seq = map.get("seq").and_then(Value::as_u64).unwrap_or(0);
    let shown_id: String = id
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_ID_CHARS)
        .collect();
    if let Some(r) = unplaceable(map, id, seq) {
        return Decoded::Unplaced(r.result(&shown_id, seq));
    }
    let device_time = map
        .get("device_time")
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));
    let body_value = map.get("body").cloned().unwrap_or(Value::Null);
    let body = check(map, id, device_time.is_some()).and_then(|()| body(&body_value));
    Decoded::Placed(Box::new(Incoming {
        m: RawMutation {
            id: id.to_owned(),
            seq,
            device_time: device_time.unwrap_or(now),
            body: body_value,
        },
        body,
        raw,
    }))
}

/// Decodes a mutation kept in the backlog (stored as it arrived).
pub fn stored(text: &str, now: DateTime<Utc>) -> Result<Incoming, AppError> {
    let raw: Value = serde_json::from_str(text).map_err(AppError::internal)?;
    match mutation(raw, now) {
        Decoded::Placed(incoming) => Ok(*incoming),
        Decoded::Unplaced(r) => Err(AppError::internal(anyhow::anyhow!(
            "a stored mutation cannot be placed: {:?}",
            r.code
        ))),
    }
}

/// Why a mutation cannot take a place in its device's sequence, if it cannot.
fn unplaceable(map: &Map<String, Value>, id: &str, seq: u64) -> Option<Rejection> {
    if let Some(path) = map.get("id").and_then(|v| control_path(v, "id")) {
        return Some(control(&path));
    }
    if id.is_empty() || id.chars().count() > MAX_ID_CHARS {
        return Some(Rejection::new(
            ErrorCode::InvalidField,
            "id",
            "id: must be the mutation's UUID".into(),
            "id：须为操作的 UUID".into(),
        ));
    }
    if seq == 0 || seq > i64::MAX as u64 {
        return Some(Rejection::new(
            ErrorCode::InvalidField,
            "seq",
            format!("seq: must be a whole number from 1 to {}", i64::MAX),
            format!("seq：须为 1 至 {} 的整数", i64::MAX),
        ));
    }
    None
}

/// Checks of a placed mutation before its body: text, keys, id, device time.
fn check(map: &Map<String, Value>, id: &str, device_time_ok: bool) -> Result<(), Rejection> {
    for (key, value) in map {
        if let Some(path) = control_path(value, key) {
            return Err(control(&path));
        }
        if !KEYS.contains(&key.as_str()) {
            let key = clean(key);
            return Err(Rejection::new(
                ErrorCode::MalformedMutation,
                &key,
                format!("`{key}` is not a member of a mutation (id, seq, device_time, body)"),
                format!("操作中没有 `{key}` 这一项（应为 id、seq、device_time、body）"),
            ));
        }
    }
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(Rejection::new(
            ErrorCode::InvalidField,
            "id",
            "id: must be a UUID".into(),
            "id：须为 UUID".into(),
        ));
    }
    if !device_time_ok {
        return Err(Rejection::new(
            ErrorCode::InvalidDeviceTime,
            "device_time",
            "device_time: must be an RFC 3339 time with a zone (Z or ±hh:mm)".into(),
            "device_time：须为带时区（Z 或 ±hh:mm）的 RFC 3339 时间".into(),
        ));
    }
    Ok(())
}

/// The body, by its `type`, each kind decoded straight into its own struct so a failure names
/// the field.
fn body(value: &Value) -> Result<MutationBody, Rejection> {
    let Value::Object(map) = value else {
        return Err(Rejection::new(
            ErrorCode::MalformedMutation,
            "body",
            "body: must be an object with a `type`".into(),
            "body：须为带 `type` 的对象".into(),
        ));
    };
    let kind = map.get("type").and_then(Value::as_str).unwrap_or("");
    let mut fields = map.clone();
    fields.remove("type");
    let fields = Value::Object(fields);
    match kind {
        "create_issue" => typed::<NewIssueBody>(fields).map(MutationBody::CreateIssue),
        "update_issue" => typed::<UpdateIssueBody>(fields).map(MutationBody::UpdateIssue),
        "transition" => typed::<TransitionBody>(fields).map(MutationBody::Transition),
        "record_inspection" => typed(fields).map(MutationBody::RecordInspection),
        _ => {
            let kind = clean(kind);
            Err(Rejection::new(
                ErrorCode::MalformedMutation,
                "body.type",
                format!(
                    "body.type: `{kind}` is not a mutation this server knows \
                     (create_issue, update_issue, transition, record_inspection)"
                ),
                format!("body.type：本服务器不认识 `{kind}` 这种操作"),
            ))
        }
    }
}

fn typed<T: DeserializeOwned>(fields: Value) -> Result<T, Rejection> {
    serde_path_to_error::deserialize(fields).map_err(|e| {
        let inner = e.path().to_string();
        let field = if inner == "." {
            "body".to_owned()
        } else {
            format!("body.{inner}")
        };
        let reason = e.into_inner().to_string();
        Rejection::new(
            ErrorCode::MalformedMutation,
            &field,
            format!("{field}: {reason}"),
            format!("{field}：类型或取值不符（{reason}）"),
        )
    })
}

fn control(path: &str) -> Rejection {
    Rejection::new(
        ErrorCode::ControlCharacter,
        path,
        format!(
            "{path}: holds a control character; only tab, line feed and carriage return are allowed in text"
        ),
        format!("{path}：含有控制字符，文本中只允许制表符和换行"),
    )
}

/// A control character a person cannot have typed: C0 other than tab, LF and CR; DEL; C1.
pub fn is_forbidden(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// The path of the first string (or object key) under `value` holding a forbidden character.
/// (Checked without building paths first: nearly every mutation has none.)
pub fn control_path(value: &Value, path: &str) -> Option<String> {
    if !holds_forbidden(value) {
        return None;
    }
    path_of_forbidden(value, path)
}

fn holds_forbidden(value: &Value) -> bool {
    match value {
        Value::String(s) => s.chars().any(is_forbidden),
        Value::Array(items) => items.iter().any(holds_forbidden),
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| k.chars().any(is_forbidden) || holds_forbidden(v)),
        _ => false,
    }
}

fn path_of_forbidden(value: &Value, path: &str) -> Option<String> {
    match value {
        Value::String(s) => s.chars().any(is_forbidden).then(|| path.to_owned()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| path_of_forbidden(v, &format!("{path}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            let here = format!("{path}.{}", clean(k));
            if k.chars().any(is_forbidden) {
                Some(here)
            } else {
                path_of_forbidden(v, &here)
            }
        }),
        _ => None,
    }
}

/// Text safe to echo in a message: control characters dropped, at most 64 characters.
fn clean(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decode(v: Value) -> Decoded {
        mutation(v, Utc::now())
    }

    fn field_of(d: &Decoded) -> (String, String) {
        match d {
            Decoded::Placed(i) => {
                let r = i.body.as_ref().expect_err("rejected");
                (
                    r.error.code.as_str().into(),
                    r.field.clone().unwrap_or_default(),
                )
            }
            Decoded::Unplaced(r) => (
                r.code.clone().unwrap_or_default(),
                r.field.clone().unwrap_or_default(),
            ),
        }
    }

    fn good() -> Value {
        json!({"id": "0193b0c0-0000-7000-8000-000000000001", "seq": 3,
               "device_time": "2026-11-20T08:00:00+08:00",
               "body": {"type": "update_issue", "issue_id": "i", "base_version": 2,
                        "fields": {"title": "t"}}})
    }

    #[test]
    fn each_bad_part_names_its_field() {
        let cases: Vec<(Value, &str, &str)> = vec![
            (
                json!({"title": "a\u{0}b"}),
                "control_character",
                "body.fields.title",
            ),
            (
                json!({"title": "a\u{1b}[2J"}),
                "control_character",
                "body.fields.title",
            ),
            (
                json!({"title": "a\u{85}"}),
                "control_character",
                "body.fields.title",
            ),
            (
                json!({"severity": "apocalyptic"}),
                "malformed_mutation",
                "body.fields.severity",
            ),
            (
                json!({"location": {"lat": "north", "lon": 1.0}}),
                "malformed_mutation",
                "body.fields.location.lat",
            ),
        ];
        for (fields, code, field) in cases {
            let mut v = good();
            v["body"]["fields"] = fields;
            assert_eq!(field_of(&decode(v)), (code.into(), field.into()));
        }
        let mut v = good();
        v["body"]["base_version"] = json!(2_147_483_648_i64);
        assert_eq!(
            field_of(&decode(v)),
            ("malformed_mutation".into(), "body.base_version".into())
        );
        let mut v = good();
        v["device_time"] = json!("2026-11-20T08:00:00");
        assert_eq!(
            field_of(&decode(v)),
            ("invalid_device_time".into(), "device_time".into())
        );
        let mut v = good();
        v["body"]["type"] = json!("launch_rocket");
        assert_eq!(
            field_of(&decode(v)),
            ("malformed_mutation".into(), "body.type".into())
        );
        let mut v = good();
        v["seq"] = json!(u64::MAX);
        assert_eq!(field_of(&decode(v)), ("invalid_field".into(), "seq".into()));
        let mut v = good();
        v["id"] = json!("a\u{0}");
        assert_eq!(
            field_of(&decode(v)),
            ("control_character".into(), "id".into())
        );
    }

    #[test]
    fn tab_newline_and_chinese_pass() {
        let mut v = good();
        v["body"]["fields"]["title"] = json!("村口\t垃圾\r\n堆放");
        let Decoded::Placed(i) = decode(v) else {
            panic!("placed")
        };
        assert!(i.body.is_ok(), "{:?}", i.body);
    }
}
