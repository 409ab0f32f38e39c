//! Recording, reading and listing inspections over REST, and who may.

use super::*;
use closeout_sync_protocol::Role;
use closeout_tests::assert_problem;

#[tokio::test]
async fn an_inspection_is_recorded_scored_read_and_listed() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let template = create_small_template(&app, "small").await;
    let colleague = app
        .user_with("inspector-2", &[(Role::Inspector, Some(&c.places.town))])
        .await;
    let id = new_id();
    let mut h = header(&template, 1, &c.places.village_a, "unannounced");
    h["team"] = json!([colleague.id]);
    let b = body(
        &id,
        h,
        vec![
            item("clean", 0, json!(true)),
            item("tidy", 0, json!(15)),
            item("notes", 0, json!("道路两侧整洁")),
        ],
        None,
    );
    let (status, created) = record(&app, &c.inspector, b.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    // 10 (clean) + 15 (tidy) of 40 (progress blank counts with its 10): 62.5 %.
    assert_eq!(created["score"], 25.0);
    assert_eq!(created["max_score"], 40.0);
    assert_eq!(created["percent"], 62.5);
    assert_eq!(created["state"], "in_progress");
    assert_eq!(created["mode"], "unannounced");
    assert_eq!(created["site"], "村东桥下");
    assert_eq!(created["template_name"], "测试督查表");
    assert_eq!(created["place_name"], "甲社区");
    assert_eq!(created["items"]["tidy"]["rev"], 1);
    assert_eq!(created["items"]["tidy"]["score"], 15.0);
    assert_eq!(
        created["items"]["tidy"]["recorded_by"],
        c.inspector.id.as_str()
    );
    let mut team: Vec<&str> = created["team"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    team.sort();
    let mut expected = vec![c.inspector.id.as_str(), colleague.id.as_str()];
    expected.sort();
    assert_eq!(team, expected);
    // The same request again: 200, nothing changes.
    let (status, again) = record(&app, &c.inspector, b).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["version"], created["version"]);

    // Finish it (with the progress measured); a second, finished one elsewhere.
    let done = record_ok(
        &app,
        &c.inspector,
        body(
            &id,
            header(&template, 1, &c.places.village_a, "unannounced"),
            vec![item("progress", 0, json!(92.5))],
            Some(at(today())),
        ),
    )
    .await;
    assert_eq!(done["state"], "finished");
    assert_eq!(done["percent"], 87.5);
    assert!(done["issues"].as_array().unwrap().is_empty());
    record_ok(
        &app,
        &c.inspector,
        body(
            &new_id(),
            header(&template, 1, &c.places.village_b, "special"),
            vec![],
            None,
        ),
    )
    .await;

    let (_, page) = app
        .get("/api/v1/inspections?limit=1", &c.supervisor.access)
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let (_, next) = app
        .get(
            &format!("/api/v1/inspections?limit=1&cursor={cursor}"),
            &c.supervisor.access,
        )
        .await;
    assert_eq!(next["items"].as_array().unwrap().len(), 1);
    assert!(next["next_cursor"].is_null());
    assert_ne!(page["items"][0]["id"], next["items"][0]["id"]);
    let filtered = format!(
        "/api/v1/inspections?place_id={}&state=finished&mode=unannounced",
        c.places.village_a
    );
    let (_, only) = app.get(&filtered, &c.supervisor.access).await;
    assert_eq!(only["items"].as_array().unwrap().len(), 1);
    assert_eq!(only["items"][0]["id"], id.as_str());
    let (status, problem) = app
        .get("/api/v1/inspections?colour=red", &c.supervisor.access)
        .await;
    assert_problem(status, &problem, 400, "invalid_query");
}

#[tokio::test]
async fn inspections_follow_the_place_tree_and_roles() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let template = create_small_template(&app, "small").await;
    let other_county = app
        .add_place("130104000000", "桥西区", "county", Some(&c.places.city))
        .await;
    let stranger = app
        .user_with("inspector-qx", &[(Role::Inspector, Some(&other_county))])
        .await;
    let id = new_id();
    let b = body(
        &id,
        header(&template, 1, &c.places.village_a, "scheduled"),
        vec![item("clean", 0, json!(true))],
        None,
    );
    record_ok(&app, &c.inspector, b.clone()).await;
    let path = format!("/api/v1/inspections/{id}");

    // An inspector of another county: as if it did not exist, for reading and for writing.
    let (status, problem) = app.get(&path, &stranger.access).await;
    assert_problem(status, &problem, 404, "not_found");
    let (status, problem) = record(&app, &stranger, b.clone()).await;
    assert_problem(status, &problem, 404, "not_found");
    let (_, list) = app.get("/api/v1/inspections", &stranger.access).await;
    assert!(list["items"].as_array().unwrap().is_empty());
    // Village B's grid worker sees nothing of village A; village A's reads but cannot inspect.
    let (status, _) = app.get(&path, &c.worker_b.access).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, seen) = app.get(&path, &c.worker_a.access).await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    let (status, problem) = record(&app, &c.worker_a, b.clone()).await;
    assert_problem(status, &problem, 403, "forbidden");
    // The bureau's responsible person holds no role on the village.
    let (status, _) = app.get(&path, &c.responsible.access).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Bad input is refused with a clear code and nothing written.
    let h = header(&template, 1, &c.places.village_a, "scheduled");
    let cases = [
        (
            body(&id, h.clone(), vec![item("colour", 0, json!(true))], None),
            422,
            "invalid_field",
        ),
        (
            body(&id, h.clone(), vec![item("tidy", 0, json!(21))], None),
            422,
            "invalid_field",
        ),
        (
            body(&id, h.clone(), vec![item("clean", 0, json!(false))], None),
            422,
            "invalid_field",
        ),
        (
            body("not-a-uuid", h.clone(), vec![], None),
            422,
            "invalid_field",
        ),
        (
            body(
                &id,
                header(&template, 7, &c.places.village_a, "scheduled"),
                vec![],
                None,
            ),
            422,
            "template_version_unknown",
        ),
        (
            body(
                &id,
                header(&template, 1, &c.places.village_b, "scheduled"),
                vec![],
                None,
            ),
            409,
            "inspection_id_taken",
        ),
        (
            body(
                &new_id(),
                h.clone(),
                vec![],
                Some("2026-11-19T00:00:00Z".parse().unwrap()),
            ),
            422,
            "invalid_field",
        ),
    ];
    for (b, status_code, code) in cases {
        let (status, problem) = record(&app, &c.inspector, b.clone()).await;
        assert_problem(status, &problem, status_code, code);
    }
    let (status, problem) = record(
        &app,
        &c.inspector,
        json!({"inspection_id": id, "header": h, "colour": 1}),
    )
    .await;
    assert_problem(status, &problem, 422, "invalid_field");
    let (_, after) = app.get(&path, &c.supervisor.access).await;
    assert_eq!(
        after["version"], seen["version"],
        "nothing of the refused requests was written"
    );
    assert_eq!(after["items"].as_object().unwrap().len(), 1);
}
