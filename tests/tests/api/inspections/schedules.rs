//! Schedules: what is due and what was missed.

use super::*;
use closeout_tests::assert_problem;

#[tokio::test]
async fn a_missed_scheduled_inspection_shows_up() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let template = create_small_template(&app, "small").await;
    // Weekly at village A from the Monday two weeks ago: three windows up to this Sunday.
    let start = monday(2);
    let (status, schedule) = app
        .post(
            "/api/v1/inspection-schedules",
            &c.supervisor.access,
            json!({"place_id": c.places.village_a, "template_id": template, "cadence": "weekly",
                   "team": [c.inspector.id], "starts_on": start}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{schedule}");
    // Done two weeks ago; nothing last week; nothing yet this week.
    let mut h = header(&template, 1, &c.places.village_a, "scheduled");
    h["schedule_id"] = schedule["id"].clone();
    h["started_at"] = json!(at(start + Duration::days(1)) - Duration::hours(1));
    let id = new_id();
    record_ok(
        &app,
        &c.inspector,
        body(
            &id,
            h,
            vec![item("clean", 0, json!(true))],
            Some(at(start + Duration::days(1))),
        ),
    )
    .await;
    // An inspection of another template at the place does not count.
    let mut other = header(VILLAGE_ENVIRONMENT, 1, &c.places.village_a, "special");
    other["started_at"] = json!(at(monday(1)) - Duration::hours(1));
    record_ok(
        &app,
        &c.inspector,
        body(&new_id(), other, vec![], Some(at(monday(1)))),
    )
    .await;

    let to = monday(0) + Duration::days(6);
    let path = format!("/api/v1/inspection-schedules/occurrences?from={start}&to={to}");
    let (status, list) = app.get(&path, &c.supervisor.access).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let got: Vec<Value> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|o| json!([o["from"], o["to"], o["status"], o["inspection_id"]]))
        .collect();
    assert_eq!(
        got,
        vec![
            json!([start, start + Duration::days(6), "done", id]),
            json!([monday(1), monday(1) + Duration::days(6), "missed", null]),
            json!([monday(0), to, "due", null]),
        ]
    );
    let (_, missed) = app
        .get(&format!("{path}&status=missed"), &c.inspector.access)
        .await;
    assert_eq!(missed.as_array().unwrap().len(), 1);
    assert_eq!(missed[0]["schedule_id"], schedule["id"]);

    // Village B's grid worker: village A's schedule is not theirs to see.
    let (_, theirs) = app.get(&path, &c.worker_b.access).await;
    assert_eq!(theirs, json!([]));
    let (status, problem) = app
        .get(
            &format!("{path}&place_id={}", c.places.village_a),
            &c.worker_b.access,
        )
        .await;
    assert_problem(status, &problem, 404, "not_found");
    // Only a supervisor of the place sets a cadence; bad input is refused.
    let new = json!({"place_id": c.places.village_a, "template_id": template, "cadence": "weekly", "starts_on": start});
    let (status, problem) = app
        .post(
            "/api/v1/inspection-schedules",
            &c.inspector.access,
            new.clone(),
        )
        .await;
    assert_problem(status, &problem, 403, "forbidden");
    let mut bad = new.clone();
    bad["cadence"] = json!("hourly");
    let (status, problem) = app
        .post("/api/v1/inspection-schedules", &c.supervisor.access, bad)
        .await;
    assert_problem(status, &problem, 422, "invalid_field");
    let mut bad = new;
    bad["ends_on"] = json!(start - Duration::days(1));
    let (status, problem) = app
        .post("/api/v1/inspection-schedules", &c.supervisor.access, bad)
        .await;
    assert_problem(status, &problem, 422, "invalid_field");
    let (status, problem) = app
        .get(&format!("{path}&status=late"), &c.supervisor.access)
        .await;
    assert_problem(status, &problem, 400, "invalid_query");
}
