//! Hostile input (issue 13, defects 4 and 5): one mutation's content never blocks or breaks its
//! batch — a NUL in a title, a zone-less `device_time`, numbers past their type, unknown kinds,
//! sequence numbers far ahead — and control characters are refused alike on both databases, in
//! push (`rejected`) and on REST (422).

use super::*;
use closeout_tests::assert_problem;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;

fn code_and_field(r: &Value) -> (String, String) {
    (
        r["code"].as_str().unwrap_or("").to_owned(),
        r["field"].as_str().unwrap_or("").to_owned(),
    )
}

#[tokio::test]
async fn each_bad_mutation_is_rejected_naming_its_field_and_the_rest_applies() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let place = &c.places.village_a;
    let good: Vec<String> = (0..3).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let mut nul_title = create(&uuid::Uuid::now_v7().to_string(), place, "村口\u{0}垃圾");
    nul_title["description"] = json!("ok");
    let mut zoneless = mutation(
        3,
        create(&uuid::Uuid::now_v7().to_string(), place, "无时区"),
    );
    zoneless["device_time"] = json!("2026-11-20T08:00:00");
    let mut garbage_time = mutation(4, create(&uuid::Uuid::now_v7().to_string(), place, "乱码"));
    garbage_time["device_time"] = json!("yesterday");
    let mut bad_id = mutation(9, create(&uuid::Uuid::now_v7().to_string(), place, "x"));
    bad_id["id"] = json!("not-a-uuid");
    let mut extra_member = mutation(11, create(&uuid::Uuid::now_v7().to_string(), place, "x"));
    extra_member["priority"] = json!(1);
    let batch = vec![
        mutation(1, create(&good[0], place, "一")),
        mutation(2, nul_title),
        zoneless,
        garbage_time,
        mutation(
            5,
            json!({"type": "update_issue", "issue_id": good[0], "base_version": 2_147_483_648_i64,
                   "fields": {"title": "t"}}),
        ),
        mutation(6, json!({"type": "launch_rocket", "target": "moon"})),
        mutation(
            7,
            json!({"type": "update_issue", "issue_id": good[0], "base_version": 1,
                   "fields": {"severity": 5}}),
        ),
        mutation(
            8,
            json!({"type": "transition", "issue_id": good[0],
                   "request": {"action": "comment", "comment": "bell\u{7}"}}),
        ),
        bad_id,
        mutation(10, create(&good[1], place, "二\t换行\n也可")),
        extra_member,
        mutation(12, create(&good[2], place, "三")),
    ];
    let resp = push(&app, &c.worker_a, batch.clone()).await;
    let results = resp["results"].as_array().unwrap();
    let got: Vec<(String, (String, String))> = results
        .iter()
        .map(|r| (r["status"].as_str().unwrap().to_owned(), code_and_field(r)))
        .collect();
    let want = [
        ("applied", ("", "")),
        ("rejected", ("control_character", "body.title")),
        ("rejected", ("invalid_device_time", "device_time")),
        ("rejected", ("invalid_device_time", "device_time")),
        ("rejected", ("malformed_mutation", "body.base_version")),
        ("rejected", ("malformed_mutation", "body.type")),
        ("rejected", ("malformed_mutation", "body.fields.severity")),
        ("rejected", ("control_character", "body.request.comment")),
        ("rejected", ("invalid_field", "id")),
        ("applied", ("", "")),
        ("rejected", ("malformed_mutation", "priority")),
        ("applied", ("", "")),
    ];
    let want: Vec<(String, (String, String))> = want
        .iter()
        .map(|(s, (c, f))| (s.to_string(), (c.to_string(), f.to_string())))
        .collect();
    assert_eq!(got, want, "{resp}");
    for r in results.iter().filter(|r| r["status"] == "rejected") {
        assert!(!r["message"].as_str().unwrap().is_empty(), "{r}");
        assert!(!r["message_zh"].as_str().unwrap().is_empty(), "{r}");
    }
    assert_eq!(resp["acknowledged_seq"], 12, "every number used up: {resp}");
    assert_eq!(issue_count(&app, &c).await, 3);
    // Resent (the answer was lost): the same answers, as duplicates of the first.
    let again = push(&app, &c.worker_a, batch).await;
    for (first, second) in results.iter().zip(again["results"].as_array().unwrap()) {
        assert_eq!(second["status"], "duplicate", "{second}");
        assert_eq!(second["original"]["status"], first["status"]);
        assert_eq!(second["original"]["code"], first["code"]);
    }
    // A mutation with no usable place in the sequence is answered alone; the batch still lands.
    let last = uuid::Uuid::now_v7().to_string();
    let resp = push(
        &app,
        &c.worker_a,
        vec![
            json!("not an object"),
            json!({"id": uuid::Uuid::now_v7(), "seq": -1, "device_time": "2026-11-20T08:00:00Z", "body": {}}),
            json!({"id": uuid::Uuid::now_v7(), "seq": 1.5, "device_time": "2026-11-20T08:00:00Z", "body": {}}),
            json!({"seq": 13, "device_time": "2026-11-20T08:00:00Z", "body": {}}),
            mutation(13, create(&last, place, "四")),
        ],
    )
    .await;
    assert_eq!(
        statuses(&resp),
        ["rejected", "rejected", "rejected", "rejected", "applied"],
        "{resp}"
    );
    assert_eq!(resp["acknowledged_seq"], 13);
}

#[tokio::test]
async fn control_characters_are_refused_on_rest_the_same_on_both_databases() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    // A login name with a NUL: 422, not a 500 (PostgreSQL cannot even compare it).
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "worker-a\u{0}", "password": "x", "device_id": "p"})),
        )
        .await;
    assert_problem(status, &body, 422, "control_character");
    // The list filter.
    for q in ["%00", "a%1Bb", "%C2%85", "%7F"] {
        let (status, body) = app
            .get(&format!("/api/v1/issues?q={q}"), &c.supervisor.access)
            .await;
        assert_problem(status, &body, 422, "control_character");
    }
    let (status, _) = app
        .get("/api/v1/issues?q=%E6%9D%91%09", &c.supervisor.access)
        .await;
    assert_eq!(status, StatusCode::OK);
    // A new issue over REST.
    let (status, body) = app
        .post(
            "/api/v1/issues",
            &c.worker_a.access,
            json!({"title": "村口\u{0}", "category": "three_piles", "source": "grid_patrol",
                   "place_id": c.places.village_a}),
        )
        .await;
    assert_problem(status, &body, 422, "control_character");
    assert!(body["detail"].as_str().unwrap().contains("title"), "{body}");
    assert_eq!(issue_count(&app, &c).await, 0);
}

#[tokio::test]
async fn sequence_numbers_far_ahead_are_refused_and_a_release_costs_what_is_held() {
    let app = TestApp::spawn_with(|s| s.sync.max_sequence_gap = 500_000).await;
    let c = app.cast().await;
    let place = &c.places.village_a;
    let id = |_| uuid::Uuid::now_v7().to_string();
    let resp = push(
        &app,
        &c.worker_a,
        vec![
            mutation(1, create(&id(0), place, "一")),
            mutation(600_000, create(&id(0), place, "远")),
            mutation(i64::MAX as u64, create(&id(0), place, "最大")),
            mutation(i64::MAX as u64 + 1, create(&id(0), place, "越界")),
        ],
    )
    .await;
    let codes: Vec<(String, String)> = resp["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(code_and_field)
        .collect();
    assert_eq!(
        statuses(&resp),
        ["rejected", "applied", "rejected", "rejected"]
    );
    assert_eq!(
        codes,
        [
            ("invalid_field".to_owned(), "seq".to_owned()),
            (String::new(), String::new()),
            ("sequence_gap_too_large".to_owned(), "seq".to_owned()),
            ("sequence_gap_too_large".to_owned(), "seq".to_owned()),
        ]
    );
    assert_eq!(resp["acknowledged_seq"], 1);
    // Within the limit: seq 400,000 is held behind the gap; a supervisor's release is one
    // skipped range, not 399,998 rows, and a late number in the gap still lands.
    let far = id(0);
    let resp = push(
        &app,
        &c.worker_a,
        vec![mutation(400_000, create(&far, place, "远方"))],
    )
    .await;
    assert_eq!(statuses(&resp), ["held"]);
    let (_, devices) = app
        .get(
            &format!("/api/v1/devices?user_id={}", c.worker_a.id),
            &c.supervisor.access,
        )
        .await;
    let device = devices
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["device_key"] == "worker-a-phone")
        .unwrap_or_else(|| panic!("{devices}"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let started = std::time::Instant::now();
    let (status, body) = app
        .post(
            &format!("/api/v1/devices/{device}/release-backlog"),
            &c.supervisor.access,
            json!({}),
        )
        .await;
    let took = started.elapsed();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        took < std::time::Duration::from_secs(2),
        "release took {took:?}"
    );
    let backlog_rows = count(&app, "SELECT COUNT(*) AS n FROM sync_backlog");
    let skipped_ranges = count(&app, "SELECT COUNT(*) AS n FROM sync_skipped");
    assert_eq!((backlog_rows, skipped_ranges), (0, 1));
    let late = id(0);
    let resp = push(
        &app,
        &c.worker_a,
        vec![mutation(2_000, create(&late, place, "迟到"))],
    )
    .await;
    assert_eq!(statuses(&resp), ["applied"], "{resp}");
    assert_eq!(resp["acknowledged_seq"], 400_000);
    // The number is used now: another mutation with it is a reuse.
    let resp = push(
        &app,
        &c.worker_a,
        vec![mutation(2_000, create(&id(0), place, "重号"))],
    )
    .await;
    assert_eq!(resp["results"][0]["code"], "sequence_reused", "{resp}");
    assert_eq!(issue_count(&app, &c).await, 3);
}

fn count(app: &TestApp, sql: &str) -> i64 {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = app.db().get().unwrap();
    diesel::sql_query(sql)
        .get_result::<N>(&mut *conn)
        .unwrap()
        .n
}

/// Random hostile mutations (strings with control characters, numbers at and past their type's
/// limits, times without zones, unknown kinds, wrong types) around one good one: never a 5xx,
/// never the batch refused, the good one always applied.
#[tokio::test]
async fn random_hostile_mutations_never_break_a_batch() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let mut rng = StdRng::seed_from_u64(13);
    let mut seq = 0u64;
    for round in 0..24 {
        let mut batch = Vec::new();
        for _ in 0..rng.random_range(1..6) {
            seq += 1;
            batch.push(hostile(&mut rng, seq, &c.places.village_a));
        }
        seq += 1;
        let good = uuid::Uuid::now_v7().to_string();
        batch.push(mutation(seq, create(&good, &c.places.village_a, "正常")));
        let (status, resp) = app
            .post(
                "/api/v1/sync/push",
                &c.worker_a.access,
                json!({"protocol": 1, "sent_at": chrono::Utc::now(), "mutations": batch}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "round {round}: {resp}\n{batch:?}");
        let results = resp["results"].as_array().unwrap();
        assert_eq!(results.len(), batch.len());
        assert_eq!(
            results.last().unwrap()["status"],
            "applied",
            "round {round}: {resp}"
        );
        for r in results {
            assert_ne!(r["code"], "internal", "{r}");
            assert_ne!(
                r["status"], "held",
                "round {round}: nothing is left behind: {r}"
            );
        }
        assert_eq!(resp["acknowledged_seq"], seq, "round {round}: {resp}");
    }
}

fn hostile_text(rng: &mut StdRng) -> Value {
    const PIECES: [&str; 10] = [
        "\u{0}",
        "\u{1}",
        "\u{1b}[31m",
        "\u{7f}",
        "\u{85}",
        "\u{9f}",
        "村口",
        "\u{202e}",
        "\u{feff}",
        "'; DROP TABLE issues; --",
    ];
    let text: String = (0..rng.random_range(1..4))
        .map(|_| PIECES[rng.random_range(0..PIECES.len())])
        .collect();
    json!(text)
}

fn hostile_number(rng: &mut StdRng) -> Value {
    match rng.random_range(0..8) {
        0 => json!(i32::MAX),
        1 => json!(i32::MAX as i64 + 1),
        2 => json!(i64::MIN),
        3 => json!(u64::MAX),
        4 => json!(1e308),
        5 => json!(-0.0),
        6 => json!("12"),
        _ => json!(null),
    }
}

fn hostile(rng: &mut StdRng, seq: u64, place: &str) -> Value {
    let issue = uuid::Uuid::now_v7().to_string();
    let mut m = mutation(seq, create(&issue, place, "基础"));
    match rng.random_range(0..9) {
        0 => m["body"]["title"] = hostile_text(rng),
        1 => m["body"]["description"] = hostile_text(rng),
        2 => {
            m["body"]["location"] = json!({"lat": hostile_number(rng), "lon": hostile_number(rng)})
        }
        3 => {
            m["device_time"] = json!(
                [
                    "2026-11-20T08:00:00",
                    "2026-13-40T99:00:00Z",
                    "",
                    "now",
                    "1e9"
                ][rng.random_range(0..5)]
            )
        }
        4 => m["body"]["type"] = hostile_text(rng),
        5 => {
            m["body"] = json!({"type": "update_issue", "issue_id": issue,
                               "base_version": hostile_number(rng), "fields": {"title": "t"}})
        }
        6 => m["body"]["severity"] = hostile_number(rng),
        7 => m["body"] = hostile_number(rng),
        _ => {
            m["body"] = json!({"type": "transition", "issue_id": issue,
                               "request": {"action": hostile_text(rng)}})
        }
    }
    m
}
