//! Rankings of a week, with every figure worked out by hand below.

use super::*;
use closeout_tests::assert_problem;

async fn finished(
    app: &TestApp,
    user: &TestUser,
    template: &str,
    place: &str,
    day: NaiveDate,
    items: Vec<Value>,
) {
    let mut h = header(template, 1, place, "scheduled");
    h["started_at"] = json!(at(day) - Duration::hours(1));
    let done = record_ok(app, user, body(&new_id(), h, items, Some(at(day)))).await;
    assert_eq!(done["state"], "finished");
}

#[tokio::test]
async fn a_week_is_ranked_with_missed_inspections_and_deductions() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let template = create_small_template(&app, "small").await;
    let village_c = app
        .add_place("130102001003", "丙社区", "village", Some(&c.places.town))
        .await;
    // Last week (Monday d0 … Sunday d0+6), over by now.
    let d0 = monday(1);
    let iso = d0.iso_week();
    let period = format!("{}-W{:02}", iso.year(), iso.week());

    // Village A, two inspections of the small template (max 40 each):
    //   #1 clean ✓ 10 + tidy 16 + progress 90 (in 80–100) 10 = 36 / 40 = 90 %
    //   #2 clean ✗ 0 + tidy 14 + progress 85 10             = 24 / 40 = 60 %
    finished(
        &app,
        &c.inspector,
        &template,
        &c.places.village_a,
        d0 + Duration::days(1),
        vec![
            item("clean", 0, json!(true)),
            item("tidy", 0, json!(16)),
            item("progress", 0, json!(90)),
        ],
    )
    .await;
    finished(
        &app,
        &c.inspector,
        &template,
        &c.places.grid_a1,
        d0 + Duration::days(3),
        vec![
            failed_with_photo("clean", json!(false), 1),
            item("tidy", 0, json!(14)),
            item("progress", 0, json!(85)),
        ],
    )
    .await;
    // Not counted: one finished this week (outside the period), one never finished.
    finished(
        &app,
        &c.inspector,
        &template,
        &c.places.village_a,
        today(),
        vec![item("clean", 0, json!(true))],
    )
    .await;
    record_ok(
        &app,
        &c.inspector,
        body(
            &new_id(),
            header(&template, 1, &c.places.village_a, "scheduled"),
            vec![item("tidy", 0, json!(0))],
            None,
        ),
    )
    .await;

    // Village B, one perfect inspection: 10 + 20 + 10 = 40 / 40 = 100 %,
    // and a weekly schedule at its grid since the week before that nobody carried out last week:
    // one missed occurrence, counted as 0 %.
    finished(
        &app,
        &c.inspector,
        &template,
        &c.places.village_b,
        d0 + Duration::days(2),
        vec![
            item("clean", 0, json!(true)),
            item("tidy", 0, json!(20)),
            item("progress", 0, json!(100)),
        ],
    )
    .await;
    let (status, s) = app
        .post(
            "/api/v1/inspection-schedules",
            &c.supervisor.access,
            json!({"place_id": c.places.grid_b1, "template_id": template, "cadence": "weekly",
                   "starts_on": d0 - Duration::days(7), "ends_on": d0 + Duration::days(6)}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{s}");

    // Deductions: A 错报 2.5; B 漏报 5 and 瞒报 10; one for B outside the period (not counted).
    for (place, kind, points, day) in [
        (
            &c.places.village_a,
            "wrong_report",
            2.5,
            d0 + Duration::days(4),
        ),
        (&c.places.grid_b1, "missed_report", 5.0, d0),
        (
            &c.places.village_b,
            "concealed_report",
            10.0,
            d0 + Duration::days(6),
        ),
        (
            &c.places.village_b,
            "concealed_report",
            30.0,
            d0 - Duration::days(1),
        ),
    ] {
        let (status, d) = app
            .post(
                "/api/v1/deductions",
                &c.supervisor.access,
                json!({"place_id": place, "kind": kind, "points": points, "reason": "督查核实", "occurred_on": day}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{d}");
    }

    let (status, r) = app
        .get(
            &format!(
                "/api/v1/reports/rankings?parent={}&period={period}",
                c.places.town
            ),
            &c.supervisor.access,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["period"]["from"], json!(d0));
    let rows: Vec<Value> = r["places"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            json!([
                p["name"],
                p["rank"],
                p["inspections"],
                p["missed"],
                p["inspection_percent"],
                p["deductions"],
                p["score"]
            ])
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            // A: mean(90, 60) = 75.0; 75.0 − 2.5 = 72.5
            json!(["甲社区", 1, 2, 0, 75.0, 2.5, 72.5]),
            // B: mean(100, 0 for the missed one) = 50.0; 50.0 − (5 + 10) = 35.0
            json!(["乙社区", 2, 1, 1, 50.0, 15.0, 35.0]),
            // C: nothing inspected, nothing missed: no score, no rank.
            json!(["丙社区", null, 0, 0, null, 0.0, null]),
        ]
    );
    let _ = village_c;

    // The same report for a grid worker of village B: the town is not theirs.
    let (status, problem) = app
        .get(
            &format!(
                "/api/v1/reports/rankings?parent={}&period={period}",
                c.places.town
            ),
            &c.worker_b.access,
        )
        .await;
    assert_problem(status, &problem, 404, "not_found");
    // Deductions are a supervisor's to record, and must make sense.
    let (status, problem) = app
        .post("/api/v1/deductions", &c.inspector.access, json!({"place_id": c.places.village_a, "kind": "wrong_report", "points": 1, "reason": "x", "occurred_on": d0}))
        .await;
    assert_problem(status, &problem, 403, "forbidden");
    let (status, problem) = app
        .post("/api/v1/deductions", &c.supervisor.access, json!({"place_id": c.places.village_a, "kind": "wrong_report", "points": 0, "reason": "x", "occurred_on": d0}))
        .await;
    assert_problem(status, &problem, 422, "invalid_field");
    let (_, listed) = app
        .get(
            &format!(
                "/api/v1/deductions?place_id={}&period={period}",
                c.places.village_b
            ),
            &c.supervisor.access,
        )
        .await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(listed[0]["kind_zh"], "漏报");
}
