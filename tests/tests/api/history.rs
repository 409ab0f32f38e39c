//! The history remembers: the first event holds the complete report as first made, and every edit
//! the old and new value of each field it changed, whether it came over REST or a sync push.

use closeout_tests::{TestApp, TestUser};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn mutation(seq: u64, body: Value) -> Value {
    json!({"id": uuid::Uuid::now_v7(), "seq": seq, "device_time": "2026-11-20T08:00:00Z", "body": body})
}

async fn push(app: &TestApp, user: &TestUser, mutations: Vec<Value>) {
    let (status, body) = app
        .post(
            "/api/v1/sync/push",
            &user.access,
            json!({"protocol": 1, "sent_at": chrono::Utc::now(), "mutations": mutations}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "push: {body}");
    for r in body["results"].as_array().unwrap() {
        assert_eq!(r["status"], "applied", "{body}");
    }
}

#[tokio::test]
async fn the_report_survives_a_grid_workers_and_a_supervisors_edits() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let issue = app.report(&c.worker_a, &c.places.village_a, "原标题").await;
    let id = issue["id"].as_str().unwrap();

    push(
        &app,
        &c.worker_a,
        vec![mutation(
            1,
            json!({"type": "update_issue", "issue_id": id, "base_version": 1,
                   "fields": {"title": "网格员改的标题", "description": "网格员改的描述"}}),
        )],
    )
    .await;
    push(
        &app,
        &c.supervisor,
        vec![mutation(
            1,
            json!({"type": "update_issue", "issue_id": id, "base_version": 2,
                   "fields": {"title": "督查办改的标题", "severity": "serious"}}),
        )],
    )
    .await;

    let (status, detail) = app
        .get(&format!("/api/v1/issues/{id}"), &c.supervisor.access)
        .await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["title"], "督查办改的标题");
    let history = detail["history"].as_array().unwrap();
    assert_eq!(history.len(), 3, "{detail}");

    let report = &history[0];
    assert_eq!(report["action"], "report");
    assert_eq!(report["data"]["ledger_no"], detail["ledger_no"]);
    assert_eq!(
        report["data"]["original"],
        json!({"title": "原标题", "description": "现场发现", "category": "three_piles",
               "severity": "minor", "source": "grid_patrol", "place_id": c.places.village_a,
               "location": {"lat": 38.05, "lon": 114.52, "accuracy_m": 8.0, "address": "建北街道1号"}})
    );

    let by_worker = &history[1];
    assert_eq!(by_worker["action"], "update");
    assert_eq!(by_worker["actor_name"], "worker-a");
    assert_eq!(
        by_worker["data"]["changed"],
        json!({"title": "网格员改的标题", "description": "网格员改的描述"})
    );
    assert_eq!(
        by_worker["data"]["previous"],
        json!({"title": "原标题", "description": "现场发现"})
    );

    let by_supervisor = &history[2];
    assert_eq!(by_supervisor["actor_role"], "supervisor");
    assert_eq!(
        by_supervisor["data"]["changed"],
        json!({"title": "督查办改的标题", "severity": "serious"})
    );
    assert_eq!(
        by_supervisor["data"]["previous"],
        json!({"title": "网格员改的标题", "severity": "minor"})
    );
}

#[tokio::test]
async fn a_pushed_report_keeps_its_original_content_in_the_first_event() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let ids: Vec<String> = (0..3).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let mutations = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            mutation(
                i as u64 + 1,
                json!({"type": "create_issue", "issue_id": id, "title": format!("离线上报{i}"),
                       "description": "断网时记录", "category": "three_piles", "severity": "moderate",
                       "source": "grid_patrol", "place_id": c.places.village_a,
                       "location": {"lat": 38.06, "lon": 114.51}}),
            )
        })
        .collect();
    push(&app, &c.worker_a, mutations).await;
    for (i, id) in ids.iter().enumerate() {
        let (_, detail) = app
            .get(&format!("/api/v1/issues/{id}"), &c.worker_a.access)
            .await;
        let first = &detail["history"][0];
        assert_eq!(first["action"], "report");
        assert_eq!(first["data"]["ledger_no"], detail["ledger_no"], "{detail}");
        assert_eq!(
            first["data"]["original"],
            json!({"title": format!("离线上报{i}"), "description": "断网时记录",
                   "category": "three_piles", "severity": "moderate", "source": "grid_patrol",
                   "place_id": c.places.village_a,
                   "location": {"lat": 38.06, "lon": 114.51, "accuracy_m": null, "address": null}})
        );
    }
}
