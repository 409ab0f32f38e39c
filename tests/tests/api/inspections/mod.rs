//! Inspections over HTTP on both databases: templates and their versions, recording and reading
//! inspections (REST and sync, two phones on one inspection), failed items → issues exactly once,
//! schedules and missed occurrences, rankings with hand-checked figures, and who may do what.

mod issues;
mod photos;
mod rankings;
mod recording;
mod schedules;
mod sync;
mod templates;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use closeout_tests::{TestApp, TestUser};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The shipped templates' fixed ids.
pub const VILLAGE_ENVIRONMENT: &str = "0193f000-0000-7000-8000-000000000001";
pub const KEY_PROJECT: &str = "0193f000-0000-7000-8000-000000000007";

pub fn photo(n: u8) -> String {
    format!("{n:064x}")
}

/// Today in the office's time zone (UTC+8), as the server computes it.
pub fn today() -> NaiveDate {
    (Utc::now() + Duration::hours(8)).date_naive()
}

/// The Monday of the ISO week `weeks` before the current one (0: this week).
pub fn monday(weeks_ago: i64) -> NaiveDate {
    let t = today();
    t - Duration::days(i64::from(t.weekday().num_days_from_monday())) - Duration::weeks(weeks_ago)
}

/// 10:00 office time on `day`, as UTC — or now, if that is still ahead (a finish in the future
/// is refused).
pub fn at(day: NaiveDate) -> DateTime<Utc> {
    (day.and_hms_opt(2, 0, 0).unwrap())
        .and_utc()
        .min(Utc::now())
}

/// A small template whose figures are easy to check by hand (max 40 points):
/// `clean` pass/fail 10 (photo on failure), `tidy` score 0–20 failing below 12, `progress`
/// number worth 10 when 80–100, `notes` text.
pub fn small_template() -> Value {
    json!({
        "name": "测试督查表", "category": "three_piles",
        "items": [
            {"key": "clean", "title": "环境整洁", "kind": "pass_fail", "points": 10, "severity": "minor",
             "photo_required_on_failure": true, "guidance": "无垃圾堆放"},
            {"key": "tidy", "title": "秩序评分", "kind": "score", "points": 20, "fail_below": 12,
             "severity": "moderate", "category": "street_occupation"},
            {"key": "progress", "title": "完成率", "kind": "number", "points": 10, "min": 80, "max": 100,
             "unit": "%", "severity": "minor"},
            {"key": "notes", "title": "情况说明", "kind": "text", "severity": "minor"}
        ]
    })
}

/// Creates the small template as the system admin; returns its id.
pub async fn create_small_template(app: &TestApp, code: &str) -> String {
    let (status, body) = app
        .post(
            "/api/v1/checklist-templates",
            &app.admin.access,
            json!({"code": code, "content": small_template()}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

pub fn header(template: &str, version: i32, place: &str, mode: &str) -> Value {
    json!({"template_id": template, "template_version": version, "place_id": place, "mode": mode,
           "site": "村东桥下", "location": {"lat": 38.05, "lon": 114.52, "accuracy_m": 6.0},
           "started_at": "2026-11-20T01:00:00Z"})
}

pub fn item(key: &str, base_rev: i32, value: Value) -> Value {
    json!({"key": key, "base_rev": base_rev, "result": {"value": value}})
}

pub fn failed_with_photo(key: &str, value: Value, n: u8) -> Value {
    json!({"key": key, "base_rev": 0, "result": {"value": value, "note": "现场发现问题", "photos": [photo(n)]}})
}

pub fn body(
    id: &str,
    header: Value,
    items: Vec<Value>,
    finished_at: Option<DateTime<Utc>>,
) -> Value {
    let mut b = json!({"inspection_id": id, "header": header, "items": items});
    if let Some(f) = finished_at {
        b["finished_at"] = json!(f);
    }
    b
}

pub async fn record(app: &TestApp, user: &TestUser, body: Value) -> (StatusCode, Value) {
    app.post("/api/v1/inspections", &user.access, body).await
}

/// Records and expects 201 or 200; returns the inspection.
pub async fn record_ok(app: &TestApp, user: &TestUser, body: Value) -> Value {
    let (status, res) = record(app, user, body).await;
    assert!(
        status == StatusCode::CREATED || status == StatusCode::OK,
        "{status}: {res}"
    );
    res
}

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
