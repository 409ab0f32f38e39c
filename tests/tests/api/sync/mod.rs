//! Offline sync over HTTP: exactly-once pushes, held gaps, conflicts kept, scoped pulls with
//! tombstones, revoked devices, clocks.

mod concurrency;
mod conflicts;
mod devices;
mod doc;
mod epoch;
mod hostile;
mod push;

use closeout_tests::{Cast, TestApp, TestUser};
use reqwest::StatusCode;
use serde_json::{Value, json};

pub(super) fn mutation(seq: u64, body: Value) -> Value {
    json!({"id": uuid::Uuid::now_v7(), "seq": seq, "device_time": "2026-11-20T08:00:00Z", "body": body})
}

pub(super) fn create(id: &str, place: &str, title: &str) -> Value {
    json!({"type": "create_issue", "issue_id": id, "title": title, "category": "three_piles",
           "severity": "minor", "source": "grid_patrol", "place_id": place})
}

pub(super) async fn push(app: &TestApp, user: &TestUser, mutations: Vec<Value>) -> Value {
    let (status, body) = app
        .post(
            "/api/v1/sync/push",
            &user.access,
            json!({"protocol": 1, "sent_at": chrono::Utc::now(), "mutations": mutations}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "push: {body}");
    body
}

pub(super) fn statuses(resp: &Value) -> Vec<String> {
    resp["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_owned())
        .collect()
}

/// Pulls to the end; returns (id → upserted issue or Null for a tombstone, final cursor, reset seen).
pub(super) async fn pull_all(
    app: &TestApp,
    user: &TestUser,
    cursor: Option<String>,
) -> (std::collections::BTreeMap<String, Value>, String, bool) {
    let mut seen = std::collections::BTreeMap::new();
    let mut cursor = cursor;
    let mut reset = false;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/sync/pull?limit=3&cursor={c}"),
            None => "/api/v1/sync/pull?limit=3".to_owned(),
        };
        let (status, page) = app.get(&path, &user.access).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        reset |= page["reset"].as_bool().unwrap();
        for change in page["changes"].as_array().unwrap() {
            match change["op"].as_str().unwrap() {
                "upsert" => seen.insert(
                    change["issue"]["id"].as_str().unwrap().to_owned(),
                    change["issue"].clone(),
                ),
                _ => seen.insert(change["id"].as_str().unwrap().to_owned(), Value::Null),
            };
        }
        cursor = Some(page["cursor"].as_str().unwrap().to_owned());
        if !page["has_more"].as_bool().unwrap() {
            return (seen, cursor.unwrap(), reset);
        }
    }
}

pub(super) async fn issue_count(app: &TestApp, c: &Cast) -> usize {
    let (_, page) = app
        .get("/api/v1/issues?limit=200", &c.supervisor.access)
        .await;
    page["items"].as_array().unwrap().len()
}
