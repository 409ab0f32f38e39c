//! Pulling and devices: scope and tombstones, resets, clocks, revocation.

use super::*;
use closeout_tests::assert_problem;

#[tokio::test]
async fn pulls_are_scoped_and_tell_a_unit_when_an_issue_leaves_it() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let in_a = app
        .report(&c.worker_a, &c.places.village_a, "甲村问题")
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let in_b = app
        .report(&c.worker_b, &c.places.village_b, "乙村问题")
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (seen_b, _, _) = pull_all(&app, &c.worker_b, None).await;
    assert_eq!(
        seen_b.keys().collect::<Vec<_>>(),
        vec![&in_b],
        "village B's phone never sees A"
    );
    let deadline = (chrono::Utc::now() + chrono::Duration::days(9)).date_naive();
    app.act(&c.supervisor, &in_a, json!({"action": "assign", "responsible_unit_id": c.bureau, "responsible_user_id": c.responsible.id, "target": "清理", "deadline": deadline})).await;
    let (seen, cursor, _) = pull_all(&app, &c.responsible, None).await;
    assert_eq!(seen[&in_a]["state"], "assigned");
    assert!(!seen.contains_key(&in_b));
    // Reassigned to another unit: the bureau's next pull drops it.
    let other_unit = app
        .add_place(
            "130102-cgj",
            "长安区城管局",
            "department",
            Some(&c.places.county),
        )
        .await;
    let other = app
        .user_with(
            "cgj-wang",
            &[(closeout_sync_protocol::Role::Responsible, Some(&other_unit))],
        )
        .await;
    app.act(&c.supervisor, &in_a, json!({"action": "assign", "responsible_unit_id": other_unit, "responsible_user_id": other.id, "target": "清理", "deadline": deadline})).await;
    let (after, _, reset) = pull_all(&app, &c.responsible, Some(cursor)).await;
    assert!(!reset);
    assert_eq!(after.get(&in_a), Some(&Value::Null), "a tombstone");
    let (theirs, _, _) = pull_all(&app, &other, None).await;
    assert_eq!(theirs[&in_a]["responsible_unit_id"], other_unit.as_str());
}

#[tokio::test]
async fn a_change_of_roles_resets_the_phone_and_acknowledged_seq_travels_with_pulls() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    push(
        &app,
        &c.worker_a,
        vec![mutation(
            1,
            create(&uuid::Uuid::now_v7().to_string(), &c.places.village_a, "一"),
        )],
    )
    .await;
    let (_, cursor, _) = pull_all(&app, &c.worker_a, None).await;
    let (_, page) = app
        .get(
            &format!("/api/v1/sync/pull?cursor={cursor}"),
            &c.worker_a.access,
        )
        .await;
    assert_eq!(page["acknowledged_seq"], 1);
    assert_eq!(page["changes"], json!([]));
    // The worker is given village B too: the old cursor no longer fits; the phone starts over.
    use closeout::db::models::RoleAssignmentRow;
    closeout::db::users::insert_assignment(
        &mut app.db().get().unwrap(),
        &RoleAssignmentRow {
            id: closeout::ids::RoleAssignmentId::generate(),
            user_id: closeout::ids::UserId::from(uuid::Uuid::parse_str(&c.worker_a.id).unwrap()),
            role: "grid_worker".into(),
            org_unit_id: Some(closeout::ids::OrgUnitId::from(
                uuid::Uuid::parse_str(&c.places.village_b).unwrap(),
            )),
            created_at: chrono::Utc::now().naive_utc(),
        },
    )
    .unwrap();
    app.report(&c.worker_b, &c.places.village_b, "乙").await;
    let (seen, _, reset) = pull_all(&app, &c.worker_a, Some(cursor)).await;
    assert!(reset, "told to drop everything and start over");
    assert_eq!(seen.len(), 2);
    let (status, problem) = app
        .get("/api/v1/sync/pull?cursor=nonsense", &c.worker_a.access)
        .await;
    assert_problem(status, &problem, 400, "invalid_query");
}

#[tokio::test]
async fn device_clocks_are_measured_not_trusted() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let three_days_behind = chrono::Utc::now() - chrono::Duration::days(3);
    let batch = json!({"protocol": 1, "sent_at": three_days_behind, "mutations": [
        {"id": uuid::Uuid::now_v7(), "seq": 1, "device_time": three_days_behind, "body": create(&uuid::Uuid::now_v7().to_string(), &c.places.village_a, "时钟慢三天")}]});
    let (_, resp) = app
        .post("/api/v1/sync/push", &c.worker_a.access, batch)
        .await;
    let skew = resp["clock_skew_ms"].as_i64().unwrap();
    assert!((259_100_000..259_300_000).contains(&skew), "{skew}");
    let (_, devices) = app.get("/api/v1/devices", &c.worker_a.access).await;
    assert_eq!(
        devices[0]["clock_skew_ms"].as_i64().unwrap() / 60_000,
        skew / 60_000
    );
    let (_, page) = app.get("/api/v1/issues", &c.supervisor.access).await;
    let created: chrono::DateTime<chrono::Utc> = page["items"][0]["created_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        chrono::Utc::now() - created < chrono::Duration::minutes(5),
        "server time, not the phone's"
    );
    let (_, detail) = app
        .get(
            &format!(
                "/api/v1/issues/{}",
                page["items"][0]["id"].as_str().unwrap()
            ),
            &c.supervisor.access,
        )
        .await;
    assert_eq!(
        detail["history"][0]["device_time"].as_str().unwrap()[..10],
        three_days_behind.to_rfc3339()[..10]
    );
}

#[tokio::test]
async fn a_revoked_device_can_neither_sync_nor_log_in_again() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let (_, devices) = app
        .get(
            &format!("/api/v1/devices?user_id={}", c.worker_a.id),
            &c.supervisor.access,
        )
        .await;
    let device = devices[0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{devices}"))
        .to_owned();
    let (status, problem) = app
        .post(
            &format!("/api/v1/devices/{device}/revoke"),
            &c.worker_b.access,
            json!({}),
        )
        .await;
    assert_problem(status, &problem, 404, "not_found");
    let (status, revoked) = app
        .post(
            &format!("/api/v1/devices/{device}/revoke"),
            &c.supervisor.access,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(revoked["revoked"], true);
    let (status, problem) = app.get("/api/v1/sync/pull", &c.worker_a.access).await;
    assert_problem(status, &problem, 401, "session_revoked");
    let (status, problem) = app
        .call(reqwest::Method::POST, "/api/v1/auth/login", None, Some(json!({"username": "worker-a", "password": "worker-a-password", "device_id": c.worker_a.device_id})))
        .await;
    assert_problem(status, &problem, 403, "device_revoked");
    // A new phone for the same person works.
    let fresh = app
        .login("worker-a", "worker-a-password", "new-phone")
        .await;
    assert_eq!(
        app.get("/api/v1/sync/pull", &fresh.access).await.0,
        StatusCode::OK
    );
}
