//! 区划调整: renaming and retiring places over the API and the CLI; a retired place takes no new
//! issue however it arrives, and keeps the issues and history it has.

use closeout_sync_protocol::Role;
use closeout_tests::{TestApp, assert_problem};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_town_admin_renames_a_village_and_every_issue_shows_the_new_name() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let town_admin = app
        .user_with("town-admin", &[(Role::Admin, Some(&c.places.town))])
        .await;
    let village_admin = app
        .user_with("village-admin", &[(Role::Admin, Some(&c.places.village_a))])
        .await;
    let issue = app
        .report(&c.worker_a, &c.places.village_a, "旧村名下的问题")
        .await;
    let rename = format!("/api/v1/org-units/{}/rename", c.places.village_a);

    // The village's own admin may not rename it (the place above decides), B's grid worker does
    // not see it, an empty name is refused.
    let (status, problem) = app
        .post(&rename, &village_admin.access, json!({"name": "甲村"}))
        .await;
    assert_problem(status, &problem, 403, "forbidden");
    let (status, problem) = app
        .post(&rename, &c.worker_b.access, json!({"name": "甲村"}))
        .await;
    assert_problem(status, &problem, 404, "not_found");
    let (status, problem) = app
        .post(&rename, &town_admin.access, json!({"name": "  "}))
        .await;
    assert_problem(status, &problem, 422, "invalid_field");

    let (status, unit) = app
        .post(
            &rename,
            &town_admin.access,
            json!({"name": "甲村（合并后）"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{unit}");
    assert_eq!(unit["name"], "甲村（合并后）");
    let (_, unit) = app
        .get(
            &format!("/api/v1/org-units/{}", c.places.village_a),
            &c.worker_a.access,
        )
        .await;
    assert_eq!(unit["name"], "甲村（合并后）");
    // The issue still belongs to the same place, and its history is untouched.
    let id = issue["id"].as_str().unwrap();
    let (_, detail) = app
        .get(&format!("/api/v1/issues/{id}"), &c.supervisor.access)
        .await;
    assert_eq!(detail["place_id"], c.places.village_a.as_str());
    assert_eq!(detail["history"].as_array().unwrap().len(), 1);

    let out = app
        .env
        .cli(&["org", "rename", "130102001002", "乙村"], "")
        .unwrap();
    assert!(out.contains("乙村"), "{out}");
    let (_, unit) = app
        .get(
            &format!("/api/v1/org-units/{}", c.places.village_b),
            &c.worker_b.access,
        )
        .await;
    assert_eq!(unit["name"], "乙村");
}

#[tokio::test]
async fn a_retired_village_takes_no_new_issue_and_keeps_its_old_ones() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let town_admin = app
        .user_with("town-admin", &[(Role::Admin, Some(&c.places.town))])
        .await;
    let old = app
        .report(&c.worker_a, &c.places.village_a, "撤并前的问题")
        .await;
    let old_id = old["id"].as_str().unwrap();

    let (status, unit) = app
        .post(
            &format!("/api/v1/org-units/{}/retire", c.places.village_a),
            &town_admin.access,
            json!({"reason": "撤村并居"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{unit}");

    // Neither the village nor its grid takes a new issue, over REST or a push.
    for place in [&c.places.village_a, &c.places.grid_a1] {
        let (status, problem) = app
            .post(
                "/api/v1/issues",
                &c.supervisor.access,
                json!({"title": "新问题", "category": "three_piles", "source": "grid_patrol",
                       "place_id": place}),
            )
            .await;
        assert_problem(status, &problem, 409, "place_retired");
    }
    let (status, pushed) = app
        .post(
            "/api/v1/sync/push",
            &c.worker_a.access,
            json!({"protocol": 1, "sent_at": chrono::Utc::now(), "mutations": [
                {"id": uuid::Uuid::now_v7(), "seq": 1, "device_time": chrono::Utc::now(),
                 "body": {"type": "create_issue", "issue_id": uuid::Uuid::now_v7(), "title": "离线上报",
                          "category": "three_piles", "severity": "minor", "source": "grid_patrol",
                          "place_id": c.places.village_a}}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{pushed}");
    assert_eq!(pushed["results"][0]["status"], "rejected", "{pushed}");
    assert_eq!(pushed["results"][0]["code"], "place_retired", "{pushed}");

    // The old issue is still there and can still be worked on; village B is unaffected.
    let (status, _) = app
        .get(&format!("/api/v1/issues/{old_id}"), &c.worker_a.access)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app
        .act(
            &c.supervisor,
            old_id,
            json!({"action": "comment", "comment": "并入乙村后继续整改"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.report(&c.worker_b, &c.places.village_b, "乙村照常")
        .await;

    // The CLI retires too.
    app.env
        .cli(&["org", "retire", "130102001002", "--reason", "并入"], "")
        .unwrap();
    let (status, problem) = app
        .post(
            "/api/v1/issues",
            &c.worker_b.access,
            json!({"title": "新问题", "category": "three_piles", "source": "grid_patrol",
                   "place_id": c.places.village_b}),
        )
        .await;
    assert_problem(status, &problem, 409, "place_retired");
}
