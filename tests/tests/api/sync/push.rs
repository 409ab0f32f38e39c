//! Pushing: exactly once, rejected mutations alone, gaps held and released.

use super::*;
use closeout_tests::assert_problem;

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
        .post(
            "/api/v1/sync/push",
            &c.worker_a.access,
            json!({"protocol": 1, "sent_at": chrono::Utc::now(), "mutations": {"id": "x"}}),
        )
        .await;
    assert_problem(status, &problem, 422, "invalid_field");
    let (status, problem) = app
        .post(
            "/api/v1/sync/push",
            &c.worker_a.access,
            json!({"protocol": 1, "sent_at": "2026-11-20T08:00:00", "mutations": []}),
        )
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

/// Creates in a batch are written together (domain::sync::bulk); what follows them in the batch
/// must still see them, numbered in order, and a repeated issue id must still be recognised.
#[tokio::test]
async fn a_batch_of_creates_and_edits_lands_in_order_as_if_one_by_one() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let (a, b, cc) = (
        uuid::Uuid::now_v7().to_string(),
        uuid::Uuid::now_v7().to_string(),
        uuid::Uuid::now_v7().to_string(),
    );
    let mut clash = create(&cc, &c.places.village_a, "另一件事");
    clash["description"] = json!("不同内容");
    let batch = vec![
        mutation(1, create(&a, &c.places.village_a, "甲")),
        mutation(2, create(&b, &c.places.grid_a1, "乙")),
        // An edit of a create from earlier in the same batch.
        mutation(
            3,
            json!({"type": "update_issue", "issue_id": a, "base_version": 1, "fields": {"title": "甲（更正）"}}),
        ),
        mutation(4, create(&cc, &c.places.village_a, "丙")),
        // The same report resent under a new mutation id, then a clash of issue ids.
        mutation(5, create(&cc, &c.places.village_a, "丙")),
        mutation(6, clash),
        mutation(
            7,
            create(&uuid::Uuid::now_v7().to_string(), &c.places.village_a, "丁"),
        ),
    ];
    let resp = push(&app, &c.worker_a, batch.clone()).await;
    assert_eq!(
        statuses(&resp),
        [
            "applied",
            "applied",
            "applied",
            "applied",
            "duplicate",
            "rejected",
            "applied"
        ],
        "{resp}"
    );
    assert_eq!(resp["results"][5]["code"], "issue_id_taken");
    assert_eq!(resp["results"][2]["version"], 2);
    let (seen, _, _) = pull_all(&app, &c.worker_a, None).await;
    assert_eq!(seen[&a]["title"], "甲（更正）");
    assert_eq!(seen[&a]["version"], 2);
    let numbers: Vec<String> = [&a, &b, &cc]
        .iter()
        .map(|id| seen[*id]["ledger_no"].as_str().unwrap().to_owned())
        .collect();
    let year = (chrono::Utc::now() + chrono::Duration::hours(8)).format("%Y");
    assert_eq!(
        numbers,
        [
            format!("{year}-0000001"),
            format!("{year}-0000002"),
            format!("{year}-0000003")
        ]
    );
    assert_eq!(issue_count(&app, &c).await, 4);
    // The whole batch again (a lost answer): every one a duplicate with its first result.
    let again = push(&app, &c.worker_a, batch).await;
    assert!(statuses(&again).iter().all(|s| s == "duplicate"), "{again}");
    assert_eq!(again["results"][5]["original"]["code"], "issue_id_taken");
    assert_eq!(issue_count(&app, &c).await, 4);
}

/// Two phones of one grid worker pushing the same new issue at the same moment (the report was
/// shared between them): on PostgreSQL both transactions find it missing and insert it; the
/// loser must not get a 500, but the answer of a replay.
#[tokio::test]
async fn the_same_new_issue_pushed_from_two_phones_at_once_is_created_once() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let phone_a = app
        .login(&c.worker_a.username, &c.worker_a.password, "phone-a")
        .await;
    let phone_b = app
        .login(&c.worker_a.username, &c.worker_a.password, "phone-b")
        .await;
    for round in 1..=10u64 {
        let id = uuid::Uuid::now_v7().to_string();
        let body = create(&id, &c.places.village_a, &format!("同一问题{round}"));
        let (a, b) = tokio::join!(
            push(&app, &phone_a, vec![mutation(round, body.clone())]),
            push(&app, &phone_b, vec![mutation(round, body)]),
        );
        let mut got = [statuses(&a)[0].clone(), statuses(&b)[0].clone()];
        got.sort();
        assert_eq!(got, ["applied", "duplicate"], "round {round}: {a} {b}");
    }
    assert_eq!(issue_count(&app, &c).await, 10);
}

#[tokio::test]
async fn a_week_of_reports_in_one_push_lands_whole_and_numbered() {
    // 250 creates: written in bulk (on SQLite as two prepared 100-row blocks and one of 50), each
    // with its history, feed entry and mutation record, numbered in the order they were sent.
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let ids: Vec<String> = (0..250).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let batch: Vec<Value> = ids
        .iter()
        .enumerate()
        .map(|(n, id)| {
            mutation(
                n as u64 + 1,
                create(id, &c.places.village_a, &format!("第{n}处")),
            )
        })
        .collect();
    let resp = push(&app, &c.worker_a, batch.clone()).await;
    assert!(statuses(&resp).iter().all(|s| s == "applied"), "{resp}");
    assert_eq!(resp["acknowledged_seq"], 250);

    let (status, page) = app
        .get("/api/v1/sync/pull?limit=1000", &c.supervisor.access)
        .await;
    assert_eq!(status, StatusCode::OK);
    let pulled: Vec<&Value> = page["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ch| &ch["issue"])
        .collect();
    let pulled_ids: Vec<&str> = pulled.iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(
        pulled_ids, ids,
        "every issue in the feed, in the order sent"
    );
    let numbers: Vec<u32> = pulled
        .iter()
        .map(|i| i["ledger_no"].as_str().unwrap()[5..].parse().unwrap())
        .collect();
    let first = numbers[0];
    assert_eq!(numbers, (first..first + 250).collect::<Vec<_>>());
    let (_, history) = app
        .get(
            &format!("/api/v1/issues/{}", ids[249]),
            &c.supervisor.access,
        )
        .await;
    assert_eq!(history["history"][0]["action"], "report", "{history}");

    // Sent again after a lost answer: every one a duplicate, nothing written twice.
    let again = push(&app, &c.worker_a, batch).await;
    assert!(statuses(&again).iter().all(|s| s == "duplicate"), "{again}");
    let (_, page) = app
        .get("/api/v1/sync/pull?limit=1000", &c.supervisor.access)
        .await;
    assert_eq!(page["changes"].as_array().unwrap().len(), 250);
}
