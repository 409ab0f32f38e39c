//! Statistics against figures computed by hand from the fixture's table (see `super::fixture`).

use super::{fixture, today};
use closeout_tests::assert_problem;
use serde_json::{Value, json};

fn figures(v: &Value) -> Value {
    json!({
        "found": v["found"], "closed": v["closed"], "open": v["open"], "overdue": v["overdue"],
        "closure_rate": v["closure_rate"], "on_time_rate": v["on_time_rate"],
        "avg_days_to_close": v["avg_days_to_close"], "reopened": v["reopened"],
        "escalated": v["escalated"], "long_overdue": v["long_overdue"],
    })
}

#[tokio::test]
async fn reports_stats_match_hand_computed_figures() {
    let f = fixture().await;
    let sup = f.c.supervisor.access.clone();
    let path = format!(
        "/api/v1/reports/stats?parent={}&from={}&to={}",
        f.c.places.town,
        f.d0,
        today()
    );
    let (status, s) = f.app.get(&path, &sup).await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["parent"]["name"], "建北街道");
    assert_eq!(s["period"]["from"], f.d0.to_string());
    // Found: a_on_time, a_overdue, a_reopened, b_late, b_unlocated (b_rejected never counts,
    // the old ones were found before the period). Closed: a_on_time (day 5, on time, 4 days),
    // b_late (day 9, late, 5 days). Open at the end: a_overdue, a_reopened, a_old_open,
    // b_unlocated. Overdue: a_overdue (deadline day 8, 12 days, at 通报).
    assert_eq!(
        figures(&s["totals"]),
        json!({"found": 5, "closed": 2, "open": 4, "overdue": 1, "closure_rate": 33.3,
               "on_time_rate": 50.0, "avg_days_to_close": 4.5, "reopened": 1,
               "escalated": 1, "long_overdue": 1})
    );
    let places = s["places"].as_array().unwrap();
    assert_eq!(places.len(), 2, "{places:?}");
    assert_eq!(places[0]["name"], "甲社区");
    assert_eq!(
        figures(&places[0]),
        json!({"found": 3, "closed": 1, "open": 3, "overdue": 1, "closure_rate": 25.0,
               "on_time_rate": 100.0, "avg_days_to_close": 4.0, "reopened": 1,
               "escalated": 1, "long_overdue": 1})
    );
    assert_eq!(places[1]["name"], "乙社区");
    assert_eq!(
        figures(&places[1]),
        json!({"found": 2, "closed": 1, "open": 1, "overdue": 0, "closure_rate": 50.0,
               "on_time_rate": 0.0, "avg_days_to_close": 5.0, "reopened": 0,
               "escalated": 0, "long_overdue": 0})
    );
    let cats: Vec<(String, Value)> = s["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["code"].as_str().unwrap().to_owned(), figures(c)))
        .collect();
    assert_eq!(
        cats,
        vec![
            (
                "three_piles".into(),
                json!({"found": 3, "closed": 1, "open": 3, "overdue": 0,
                "closure_rate": 25.0, "on_time_rate": 100.0, "avg_days_to_close": 4.0,
                "reopened": 1, "escalated": 0, "long_overdue": 0})
            ),
            (
                "illegal_structure".into(),
                json!({"found": 1, "closed": 0, "open": 1, "overdue": 1,
                "closure_rate": 0.0, "on_time_rate": null, "avg_days_to_close": null,
                "reopened": 0, "escalated": 1, "long_overdue": 1})
            ),
            (
                "street_occupation".into(),
                json!({"found": 1, "closed": 1, "open": 0, "overdue": 0,
                "closure_rate": 100.0, "on_time_rate": 0.0, "avg_days_to_close": 5.0,
                "reopened": 0, "escalated": 0, "long_overdue": 0})
            ),
        ]
    );
    // 动态清零: open at the end of each day, day 0 to today.
    let backlog: Vec<u64> = s["backlog"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["open"].as_u64().unwrap())
        .collect();
    let mut expected = vec![1, 2, 3, 4, 5, 4, 4, 4, 4, 3];
    expected.extend([4; 11]);
    assert_eq!(backlog, expected);
    assert_eq!(s["backlog"][0]["date"], f.d0.to_string());
    let overdue = s["overdue"].as_array().unwrap();
    assert_eq!(overdue.len(), 1);
    assert_eq!(overdue[0]["ledger_no"], f.a[1]["ledger_no"]);
    assert_eq!(overdue[0]["days_overdue"], 12);
    assert_eq!(overdue[0]["responsible_unit"], "长安区住建局");
    assert_eq!(overdue[0]["escalation"], "通报");

    // Without `parent`, the supervisor's one place (the town) is the parent.
    let (_, s2) = f
        .app
        .get(
            &format!("/api/v1/reports/stats?from={}&to={}", f.d0, today()),
            &sup,
        )
        .await;
    assert_eq!(s2["totals"], s["totals"]);
}

#[tokio::test]
async fn reports_stats_of_a_village_b_worker_cover_only_village_b() {
    let f = fixture().await;
    let worker_b = f.c.worker_b.access.clone();
    let range = format!("from={}&to={}", f.d0, today());
    for parent in [&f.c.places.town, &f.c.places.village_a, &f.c.places.grid_a1] {
        let (status, body) = f
            .app
            .get(
                &format!("/api/v1/reports/stats?parent={parent}&{range}"),
                &worker_b,
            )
            .await;
        assert_problem(status, &body, 404, "not_found");
    }
    let (status, s) = f
        .app
        .get(&format!("/api/v1/reports/stats?{range}"), &worker_b)
        .await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["parent"]["name"], "乙社区");
    assert_eq!(s["totals"]["found"], 2);
    assert_eq!(s["totals"]["closed"], 1);
    assert_eq!(s["totals"]["open"], 1);
    let text = s.to_string();
    assert!(!text.contains("甲社区"), "{text}");
    for no in f.a_numbers() {
        assert!(!text.contains(&no));
    }
}

#[tokio::test]
async fn reports_stats_refuse_bad_periods_with_400() {
    let f = fixture().await;
    let sup = f.c.supervisor.access.clone();
    for query in [
        "period=2026-13",
        "period=2026-W99",
        "period=last-week",
        "from=2026-11-01",
        "from=2026-11-10&to=2026-11-01",
        "from=2024-01-01&to=2026-01-01",
        "period=2026-11&from=2026-11-01&to=2026-11-02",
        "parent=village",
        "colour=red",
    ] {
        let (status, body) = f
            .app
            .get(&format!("/api/v1/reports/stats?{query}"), &sup)
            .await;
        assert_problem(status, &body, 400, "invalid_query");
    }
    let (status, s) = f
        .app
        .get("/api/v1/reports/stats?period=2026-W47", &sup)
        .await;
    assert_eq!(status, 200);
    assert_eq!(s["period"]["label"], "2026年第47周");
    assert_eq!(s["period"]["from"], "2026-11-16");

    // A long period: the backlog is given at the end of each week (Sundays) and of the last day.
    let from = today() - chrono::Duration::days(99);
    let (_, s) = f
        .app
        .get(
            &format!("/api/v1/reports/stats?from={from}&to={}", today()),
            &sup,
        )
        .await;
    let points = s["backlog"].as_array().unwrap();
    assert!((14..=16).contains(&points.len()), "{points:?}");
    for p in &points[..points.len() - 1] {
        let day: chrono::NaiveDate = p["date"].as_str().unwrap().parse().unwrap();
        assert_eq!(chrono::Datelike::weekday(&day), chrono::Weekday::Sun);
    }
    assert_eq!(points.last().unwrap()["date"], today().to_string());
    assert_eq!(points.last().unwrap()["open"], 4);
}
