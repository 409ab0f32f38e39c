//! Offline sync over HTTP: exactly-once pushes, held gaps, conflicts kept, scoped pulls with
//! tombstones, revoked devices, clocks.

use closeout_tests::{Cast, TestApp, TestUser, assert_problem};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn mutation(seq: u64, body: Value) -> Value {
    json!({"id": uuid::Uuid::now_v7(), "seq": seq, "device_time": "2026-11-20T08:00:00Z", "body": body})
}

fn create(id: &str, place: &str, title: &str) -> Value {
    json!({"type": "create_issue", "issue_id": id, "title": title, "category": "three_piles",
           "severity": "minor", "source": "grid_patrol", "place_id": place})
}

async fn push(app: &TestApp, user: &TestUser, mutations: Vec<Value>) -> Value {
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

fn statuses(resp: &Value) -> Vec<String> {
    resp["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_owned())
        .collect()
}

/// Pulls to the end; returns (id → upserted issue or Null for a tombstone, final cursor, reset seen).
async fn pull_all(
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

async fn issue_count(app: &TestApp, c: &Cast) -> usize {
    let (_, page) = app
        .get("/api/v1/issues?limit=200", &c.supervisor.access)
        .await;
    page["items"].as_array().unwrap().len()
}

#[tokio::test]
async fn a_lost_acknowledgement_never_makes_a_duplicate() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let id = uuid::Uuid::now_v7().to_string();
    let batch = vec![mutation(1, create(&id, &c.places.grid_a1, "柴草堆"))];
    let first = push(&app, &c.worker_a, batch.clone()).await;
    assert_eq!(statuses(&first), ["applied"]);
    assert_eq!(first["acknowledged_seq"], 1);
    // The answer was lost on a 2G link; the phone sends the same batch again, ten times.
    for _ in 0..10 {
        let again = push(&app, &c.worker_a, batch.clone()).await;
        assert_eq!(statuses(&again), ["duplicate"]);
        assert_eq!(again["results"][0]["original"]["status"], "applied");
    }
    assert_eq!(issue_count(&app, &c).await, 1);
    let (seen, _, _) = pull_all(&app, &c.worker_a, None).await;
    assert_eq!(seen[&id]["title"], "柴草堆");
    assert_eq!(seen[&id]["state"], "reported");
}

#[tokio::test]
async fn a_bad_mutation_is_rejected_alone_and_the_queue_moves_on() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let good1 = uuid::Uuid::now_v7().to_string();
    let good2 = uuid::Uuid::now_v7().to_string();
    let mut bad_category = create(&uuid::Uuid::now_v7().to_string(), &c.places.village_a, "x");
    bad_category["category"] = json!("ufo");
    let resp = push(
        &app,
        &c.worker_a,
        vec![
            mutation(1, create(&good1, &c.places.village_a, "一")),
            mutation(
                2,
                json!({"type": "transition", "issue_id": good1, "request": {"action": "approve"}}),
            ),
            mutation(3, bad_category),
            mutation(4, json!({"type": "launch_rocket", "target": "moon"})),
            mutation(
                5,
                create(
                    &uuid::Uuid::now_v7().to_string(),
                    &c.places.village_b,
                    "别村",
                ),
            ),
            mutation(6, create(&good2, &c.places.village_a, "二")),
        ],
    )
    .await;
    assert_eq!(
        statuses(&resp),
        [
            "applied", "rejected", "rejected", "rejected", "rejected", "applied"
        ]
    );
    let codes: Vec<&str> = resp["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        codes,
        [
            "",
            "forbidden",
            "invalid_field",
            "malformed_mutation",
            "not_found",
            ""
        ]
    );
    for r in resp["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "rejected")
    {
        assert!(
            !r["message"].as_str().unwrap().is_empty()
                && !r["message_zh"].as_str().unwrap().is_empty()
        );
    }
    assert_eq!(resp["acknowledged_seq"], 6);
    assert_eq!(issue_count(&app, &c).await, 2);
    // A bad envelope (not a batch at all) is the only thing refused whole.
    let (status, problem) = app
        .post("/api/v1/sync/push", &c.worker_a.access, json!({"protocol": 1, "sent_at": chrono::Utc::now(), "mutations": [{"id": "x", "seq": 7, "device_time": chrono::Utc::now(), "body": {}}]}))
        .await;
    assert_problem(status, &problem, 422, "invalid_field");
    let (status, problem) = app
        .post(
            "/api/v1/sync/push",
            &c.worker_a.access,
            json!({"protocol": 2, "sent_at": chrono::Utc::now(), "mutations": []}),
        )
        .await;
    assert_problem(status, &problem, 400, "unsupported_protocol");
}

#[tokio::test]
async fn a_gap_holds_later_mutations_until_it_fills() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let ids: Vec<String> = (0..4).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let m: Vec<Value> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            mutation(
                i as u64 + 1,
                create(id, &c.places.village_a, &format!("问题{i}")),
            )
        })
        .collect();
    // Batches arrive out of order: 3 and 4 first.
    let held = push(&app, &c.worker_a, vec![m[2].clone(), m[3].clone()]).await;
    assert_eq!(statuses(&held), ["held", "held"]);
    assert_eq!(held["acknowledged_seq"], 0);
    assert_eq!(issue_count(&app, &c).await, 0);
    let (_, devices) = app.get("/api/v1/devices", &c.worker_a.access).await;
    assert_eq!(devices[0]["held"], json!([3, 4]), "the backlog is visible");
    // 1 and 2 arrive: all four are applied, in order.
    let filled = push(&app, &c.worker_a, vec![m[0].clone(), m[1].clone()]).await;
    assert_eq!(statuses(&filled), ["applied", "applied"]);
    assert_eq!(filled["acknowledged_seq"], 4);
    assert_eq!(issue_count(&app, &c).await, 4);
    // The phone resends the ones it saw held: their results now.
    let again = push(&app, &c.worker_a, vec![m[2].clone(), m[3].clone()]).await;
    assert_eq!(statuses(&again), ["duplicate", "duplicate"]);
    assert_eq!(again["results"][0]["original"]["status"], "applied");
    let (_, page) = app
        .get("/api/v1/issues?limit=10", &c.supervisor.access)
        .await;
    let numbers: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        numbers,
        ["问题0", "问题1", "问题2", "问题3"],
        "applied in device order"
    );
    // A reused sequence number with another id is refused, not applied.
    let reuse = push(
        &app,
        &c.worker_a,
        vec![mutation(
            2,
            create(&uuid::Uuid::now_v7().to_string(), &c.places.village_a, "x"),
        )],
    )
    .await;
    assert_eq!(reuse["results"][0]["code"], "sequence_reused");
}

#[tokio::test]
async fn a_supervisor_releases_a_backlog_and_a_late_mutation_still_lands() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let late = mutation(
        1,
        create(
            &uuid::Uuid::now_v7().to_string(),
            &c.places.village_a,
            "迟到的",
        ),
    );
    let held = push(
        &app,
        &c.worker_a,
        vec![mutation(
            3,
            create(&uuid::Uuid::now_v7().to_string(), &c.places.village_a, "三"),
        )],
    )
    .await;
    assert_eq!(statuses(&held), ["held"]);
    let (_, devices) = app
        .get(
            &format!("/api/v1/devices?user_id={}", c.worker_a.id),
            &c.supervisor.access,
        )
        .await;
    let device = devices[0]["id"].as_str().unwrap().to_owned();
    // The phone's owner cannot release its own backlog; a grid worker of another village cannot see it.
    let (status, _) = app
        .post(
            &format!("/api/v1/devices/{device}/release-backlog"),
            &c.worker_a.access,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, problem) = app
        .post(
            &format!("/api/v1/devices/{device}/release-backlog"),
            &c.worker_b.access,
            json!({}),
        )
        .await;
    assert_problem(status, &problem, 404, "not_found");
    let (status, released) = app
        .post(
            &format!("/api/v1/devices/{device}/release-backlog"),
            &c.supervisor.access,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{released}");
    assert_eq!(released["acknowledged_seq"], 3);
    assert_eq!(released["held"], json!([]));
    assert_eq!(issue_count(&app, &c).await, 1);
    // Seq 1 finally arrives: skipped, not lost.
    let resp = push(&app, &c.worker_a, vec![late]).await;
    assert_eq!(statuses(&resp), ["applied"]);
    assert_eq!(issue_count(&app, &c).await, 2);
}

#[tokio::test]
async fn edits_of_different_fields_both_land_and_the_same_field_is_a_visible_conflict() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let id = uuid::Uuid::now_v7().to_string();
    push(
        &app,
        &c.worker_a,
        vec![mutation(1, create(&id, &c.places.village_a, "原标题"))],
    )
    .await;
    // The supervisor fixes the title (from a tablet, against version 1).
    let sup = push(&app, &c.supervisor, vec![mutation(1, json!({"type": "update_issue", "issue_id": id, "base_version": 1, "fields": {"title": "督查办改的标题"}}))]).await;
    assert_eq!(statuses(&sup), ["applied"]);
    assert_eq!(sup["results"][0]["version"], 2);
    // The grid worker, offline, edited title and description against version 1 too.
    let worker = push(
        &app,
        &c.worker_a,
        vec![mutation(2, json!({"type": "update_issue", "issue_id": id, "base_version": 1, "fields": {"title": "网格员改的标题", "description": "补充：在桥下"}}))],
    )
    .await;
    assert_eq!(statuses(&worker), ["conflict"]);
    let conflict_id = worker["results"][0]["conflict_ids"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, issue) = app
        .get(&format!("/api/v1/issues/{id}"), &c.supervisor.access)
        .await;
    assert_eq!(issue["title"], "督查办改的标题", "first to arrive stands");
    assert_eq!(
        issue["description"], "补充：在桥下",
        "the other field landed"
    );
    // Visible to the supervisor, not to a grid worker.
    let (_, list) = app
        .get("/api/v1/sync/conflicts", &c.supervisor.access)
        .await;
    assert_eq!(list[0]["id"], conflict_id.as_str());
    assert_eq!(list[0]["incoming"]["value"], "网格员改的标题");
    assert_eq!(list[0]["current"]["value"], "督查办改的标题");
    let (status, _) = app.get("/api/v1/sync/conflicts", &c.worker_a.access).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Resolved by taking the phone's title; the resolution is history.
    let (status, resolved) = app
        .post(
            &format!("/api/v1/sync/conflicts/{conflict_id}/resolve"),
            &c.supervisor.access,
            json!({"resolution": "take_incoming", "comment": "以现场为准"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{resolved}");
    let (_, issue) = app
        .get(&format!("/api/v1/issues/{id}"), &c.supervisor.access)
        .await;
    assert_eq!(issue["title"], "网格员改的标题");
    let last = issue["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "resolve_conflict");
    assert_eq!(last["comment"], "以现场为准");
    let (status, problem) = app
        .post(
            &format!("/api/v1/sync/conflicts/{conflict_id}/resolve"),
            &c.supervisor.access,
            json!({"resolution": "keep_server"}),
        )
        .await;
    assert_problem(status, &problem, 409, "conflict");
    let (_, open) = app
        .get("/api/v1/sync/conflicts", &c.supervisor.access)
        .await;
    assert_eq!(open, json!([]));
}

#[tokio::test]
async fn a_rectification_submitted_offline_after_close_out_is_kept_with_its_photos() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let id = app.report(&c.worker_a, &c.places.village_a, "污水").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let deadline = (chrono::Utc::now() + chrono::Duration::days(9)).date_naive();
    app.act(&c.supervisor, &id, json!({"action": "assign", "responsible_unit_id": c.bureau, "responsible_user_id": c.responsible.id, "target": "疏通", "deadline": deadline})).await;
    app.act(&c.responsible, &id, json!({"action": "acknowledge"}))
        .await;
    app.act(
        &c.responsible,
        &id,
        json!({"action": "submit", "photos": [format!("{:064x}", 1)]}),
    )
    .await;
    app.act(&c.supervisor, &id, json!({"action": "approve"}))
        .await;
    // Meanwhile a colleague at the bureau, offline for a week, submitted more evidence.
    let photo = format!("{:064x}", 77);
    let resp = push(
        &app,
        &c.responsible,
        vec![mutation(1, json!({"type": "transition", "issue_id": id, "request": {"action": "submit", "photos": [photo], "comment": "补充整改照片"}}))],
    )
    .await;
    assert_eq!(statuses(&resp), ["conflict"]);
    assert_eq!(resp["results"][0]["code"], "invalid_transition");
    let (_, list) = app
        .get("/api/v1/sync/conflicts", &c.supervisor.access)
        .await;
    assert_eq!(list[0]["kind"], "transition");
    assert_eq!(list[0]["incoming"]["request"]["photos"], json!([photo]));
    assert_eq!(list[0]["current"]["state"], "closed");
    let conflict = list[0]["id"].as_str().unwrap().to_owned();
    let (status, problem) = app
        .post(
            &format!("/api/v1/sync/conflicts/{conflict}/resolve"),
            &c.supervisor.access,
            json!({"resolution": "take_incoming"}),
        )
        .await;
    assert_problem(status, &problem, 422, "invalid_field");
    let (status, _) = app
        .post(
            &format!("/api/v1/sync/conflicts/{conflict}/resolve"),
            &c.supervisor.access,
            json!({"resolution": "keep_server", "comment": "已销号，照片存档"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, issue) = app
        .get(&format!("/api/v1/issues/{id}"), &c.supervisor.access)
        .await;
    assert_eq!(issue["state"], "closed");
    let last = issue["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["action"].as_str(), last["photos"].clone()),
        (Some("resolve_conflict"), json!([photo]))
    );
}

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
