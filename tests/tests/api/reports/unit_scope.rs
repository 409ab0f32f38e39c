//! A responsible unit's statistics and bulletin cover exactly what its issue list holds: the
//! issues assigned to it, wherever they were reported — not the (empty) place tree below a
//! county bureau.

use closeout_tests::TestApp;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_units_stats_and_bulletin_count_the_issues_assigned_to_it() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let deadline = (chrono::Utc::now() + chrono::Duration::days(9)).date_naive();
    let mut assigned = Vec::new();
    for (worker, place, title) in [
        (&c.worker_a, &c.places.village_a, "甲村一"),
        (&c.worker_a, &c.places.village_a, "甲村二"),
        (&c.worker_b, &c.places.village_b, "乙村一"),
    ] {
        let id = app.report(worker, place, title).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (status, body) = app
            .act(
                &c.supervisor,
                &id,
                json!({"action": "assign", "responsible_unit_id": c.bureau,
                 "responsible_user_id": c.responsible.id, "target": "清理", "deadline": deadline}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assigned.push(id);
    }
    // Not the unit's: reported, never assigned.
    app.report(&c.worker_a, &c.places.village_a, "未交办").await;

    let unit = &c.responsible.access;
    let (_, list) = app.get("/api/v1/issues?limit=200", unit).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 3, "{list}");

    let (status, stats) = app.get("/api/v1/reports/stats", unit).await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    assert_eq!(stats["parent"]["id"], c.bureau.as_str());
    assert_eq!(
        (
            stats["totals"]["found"].clone(),
            stats["totals"]["open"].clone()
        ),
        (json!(3), json!(3)),
        "the unit's own open issues: {stats}"
    );
    let by_place: u64 = stats["places"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["open"].as_u64().unwrap())
        .sum();
    assert_eq!(by_place, 3, "the breakdown adds up: {stats}");

    let (status, bulletin) = app.get("/api/v1/reports/bulletin?format=json", unit).await;
    assert_eq!(status, StatusCode::OK, "{bulletin}");
    assert_eq!(bulletin["totals"]["open"], 3, "{bulletin}");

    // The town's supervisor still sees all four by place.
    let (_, town) = app
        .get(
            &format!("/api/v1/reports/stats?parent={}", c.places.town),
            &c.supervisor.access,
        )
        .await;
    assert_eq!(town["totals"]["open"], 4, "{town}");
}
