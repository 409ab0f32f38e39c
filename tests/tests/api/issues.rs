//! The rectification ledger over HTTP: the whole life of an issue, every refusal, visibility.

use closeout_tests::{Cast, TestApp, TestUser, assert_problem};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn photo(n: u8) -> String {
    format!("{:064x}", n)
}

fn deadline(days: i64) -> String {
    // The office's "today" is UTC+8; two days ahead is safely in the future either way.
    (chrono::Utc::now() + chrono::Duration::hours(8) + chrono::Duration::days(days))
        .date_naive()
        .to_string()
}

async fn assign(app: &TestApp, c: &Cast, issue: &str) -> Value {
    let (status, body) = app
        .act(
            &c.supervisor,
            issue,
            json!({"action": "assign", "responsible_unit_id": c.bureau, "responsible_user_id": c.responsible.id,
                   "target": "三日内清理完毕", "deadline": deadline(7), "comment": "请尽快整改"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "assign: {body}");
    body
}

async fn step(app: &TestApp, who: &TestUser, issue: &str, body: Value, state: &str) -> Value {
    let action = body["action"].clone();
    let (status, result) = app.act(who, issue, body).await;
    assert_eq!(status, StatusCode::OK, "{action}: {result}");
    assert_eq!(result["state"], state, "after {action}");
    result
}

#[tokio::test]
async fn the_whole_life_of_an_issue() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let issue = app
        .report(&c.worker_a, &c.places.grid_a1, "村口垃圾堆")
        .await;
    let id = issue["id"].as_str().unwrap().to_owned();
    assert_eq!(issue["state"], "reported");
    let year = (chrono::Utc::now() + chrono::Duration::hours(8))
        .format("%Y")
        .to_string();
    assert_eq!(issue["ledger_no"], format!("{year}-0000001"));
    assert_eq!(issue["history"][0]["action"], "report");
    assert_eq!(issue["history"][0]["actor_role"], "grid_worker");

    let after = assign(&app, &c, &id).await;
    assert_eq!(after["state"], "assigned");
    assert_eq!(after["responsible_unit_id"], c.bureau.as_str());
    step(
        &app,
        &c.responsible,
        &id,
        json!({"action": "acknowledge"}),
        "rectifying",
    )
    .await;
    step(
        &app,
        &c.responsible,
        &id,
        json!({"action": "progress", "stage": "initial", "comment": "已安排清运"}),
        "rectifying",
    )
    .await;
    let first_after = app.fresh_photo(&c.responsible.access, "after", &id).await;
    step(
        &app,
        &c.responsible,
        &id,
        json!({"action": "submit", "photos": [first_after], "comment": "已清理"}),
        "submitted",
    )
    .await;
    step(
        &app,
        &c.supervisor,
        &id,
        json!({"action": "return", "reason": "仍有残留"}),
        "rectifying",
    )
    .await;
    step(
        &app,
        &c.responsible,
        &id,
        json!({"action": "submit", "photos": [app.fresh_photo(&c.responsible.access, "after", &id).await]}),
        "submitted",
    )
    .await;
    let closed = step(
        &app,
        &c.supervisor,
        &id,
        json!({"action": "approve", "comment": "现场核实"}),
        "closed",
    )
    .await;
    assert!(closed["closed_at"].is_string());
    // 反弹: found again at a look-back; back to assigned with the count kept.
    let reopened = step(
        &app,
        &c.inspector,
        &id,
        json!({"action": "reopen", "reason": "回头看发现反弹", "deadline": deadline(5)}),
        "assigned",
    )
    .await;
    assert_eq!(reopened["reopen_count"], 1);
    assert!(reopened["closed_at"].is_null());
    step(
        &app,
        &c.responsible,
        &id,
        json!({"action": "acknowledge"}),
        "rectifying",
    )
    .await;
    step(
        &app,
        &c.responsible,
        &id,
        json!({"action": "submit", "photos": [app.fresh_photo(&c.responsible.access, "after", &id).await]}),
        "submitted",
    )
    .await;
    let done = step(
        &app,
        &c.supervisor,
        &id,
        json!({"action": "approve"}),
        "closed",
    )
    .await;

    let history = done["history"].as_array().unwrap();
    let actions: Vec<&str> = history
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "report",
            "assign",
            "acknowledge",
            "progress",
            "submit",
            "return",
            "submit",
            "approve",
            "reopen",
            "acknowledge",
            "submit",
            "approve"
        ]
    );
    let seqs: Vec<i64> = history.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=12).collect::<Vec<_>>());
    assert_eq!(done["version"], 12);
    assert_eq!(history[5]["data"]["reason"], "仍有残留");
    assert_eq!(history[4]["photos"], json!([first_after]));
    assert_eq!(history[8]["actor_role"], "inspector");
    assert_eq!(history[7]["actor_id"], c.supervisor.id.as_str());
    // GET returns the same.
    let (status, got) = app
        .get(&format!("/api/v1/issues/{id}"), &c.worker_a.access)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["history"].as_array().unwrap().len(), 12);
}

async fn untouched(app: &TestApp, c: &Cast, id: &str, version: i64, state: &str) {
    let (_, now) = app
        .get(&format!("/api/v1/issues/{id}"), &c.supervisor.access)
        .await;
    assert_eq!(now["version"], version, "version changed");
    assert_eq!(now["state"], state);
}

#[tokio::test]
async fn every_forbidden_path_is_refused_with_a_stable_code_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let id = app
        .report(&c.worker_a, &c.places.village_a, "乱搭乱建")
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cases: Vec<(&TestUser, Value, u16, &str)> = vec![
        (
            &c.worker_a,
            json!({"action": "assign", "responsible_unit_id": c.bureau, "responsible_user_id": c.responsible.id, "target": "x", "deadline": deadline(3)}),
            403,
            "forbidden",
        ),
        (
            &c.supervisor,
            json!({"action": "approve"}),
            409,
            "invalid_transition",
        ),
        (
            &c.supervisor,
            json!({"action": "acknowledge"}),
            403,
            "forbidden",
        ),
        (
            &c.supervisor,
            json!({"action": "assign", "responsible_unit_id": c.bureau, "responsible_user_id": c.responsible.id, "target": "x"}),
            422,
            "invalid_field",
        ),
        (
            &c.supervisor,
            json!({"action": "assign", "responsible_unit_id": c.bureau, "responsible_user_id": c.worker_a.id, "target": "x", "deadline": deadline(3)}),
            422,
            "invalid_field",
        ),
        (
            &c.supervisor,
            json!({"action": "assign", "responsible_unit_id": c.bureau, "responsible_user_id": c.responsible.id, "target": "x", "deadline": deadline(-3)}),
            422,
            "invalid_field",
        ),
        (
            &c.supervisor,
            json!({"action": "reject"}),
            422,
            "invalid_field",
        ),
        (
            &c.supervisor,
            json!({"action": "escalate", "reason": "x"}),
            409,
            "invalid_transition",
        ),
        (
            &c.supervisor,
            json!({"action": "close"}),
            422,
            "invalid_field",
        ),
        (
            &c.supervisor,
            json!({"action": "comment", "comment": "x", "deadline": deadline(3)}),
            422,
            "invalid_field",
        ),
    ];
    for (who, body, status, code) in cases {
        let (got, problem) = app.act(who, &id, body.clone()).await;
        assert_problem(got, &problem, status, code);
        untouched(&app, &c, &id, 1, "reported").await;
    }
    // A grid worker of another village: the issue does not exist for them.
    let (status, problem) = app
        .get(&format!("/api/v1/issues/{id}"), &c.worker_b.access)
        .await;
    assert_problem(status, &problem, 404, "not_found");
    let (status, problem) = app
        .act(
            &c.worker_b,
            &id,
            json!({"action": "comment", "comment": "看看"}),
        )
        .await;
    assert_problem(status, &problem, 404, "not_found");
    // Before assignment the bureau cannot see it either.
    let (status, _) = app
        .get(&format!("/api/v1/issues/{id}"), &c.responsible.access)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    assign(&app, &c, &id).await;
    let cases: Vec<(&TestUser, Value, u16, &str)> = vec![
        (
            &c.responsible,
            json!({"action": "submit", "photos": [photo(1)]}),
            409,
            "invalid_transition",
        ),
        (
            &c.responsible,
            json!({"action": "approve"}),
            403,
            "forbidden",
        ),
        (
            &c.worker_a,
            json!({"action": "acknowledge"}),
            403,
            "forbidden",
        ),
        (
            &c.supervisor,
            json!({"action": "decide_extension", "granted": true}),
            409,
            "no_pending_extension",
        ),
        (
            &c.responsible,
            json!({"action": "request_extension", "requested_deadline": deadline(3), "reason": "x"}),
            422,
            "invalid_field",
        ),
        (&c.inspector, json!({"action": "approve"}), 403, "forbidden"),
    ];
    for (who, body, status, code) in cases {
        let (got, problem) = app.act(who, &id, body.clone()).await;
        assert_problem(got, &problem, status, code);
        untouched(&app, &c, &id, 2, "assigned").await;
    }
    step(
        &app,
        &c.responsible,
        &id,
        json!({"action": "acknowledge"}),
        "rectifying",
    )
    .await;
    let (got, problem) = app
        .act(&c.responsible, &id, json!({"action": "submit"}))
        .await;
    assert_problem(got, &problem, 422, "invalid_field");
    let (got, problem) = app
        .act(
            &c.responsible,
            &id,
            json!({"action": "submit", "photos": ["not-a-hash"]}),
        )
        .await;
    assert_problem(got, &problem, 422, "invalid_field");
    untouched(&app, &c, &id, 3, "rectifying").await;
    // The grid worker who reported it may still comment; the history grows, the state does not.
    step(
        &app,
        &c.worker_a,
        &id,
        json!({"action": "comment", "comment": "群众反映仍未清理"}),
        "rectifying",
    )
    .await;
}

#[tokio::test]
async fn extensions_escalation_rejection_and_duplicates() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let id = app
        .report(&c.worker_a, &c.places.village_a, "沟渠堵塞")
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assign(&app, &c, &id).await;
    let r = step(&app, &c.responsible, &id, json!({"action": "request_extension", "requested_deadline": deadline(30), "reason": "需采购设备"}), "assigned").await;
    assert_eq!(r["extension_request"]["deadline"], deadline(30));
    let (status, problem) = app
        .act(&c.responsible, &id, json!({"action": "request_extension", "requested_deadline": deadline(40), "reason": "again"}))
        .await;
    assert_problem(status, &problem, 409, "extension_already_pending");
    let r = step(
        &app,
        &c.supervisor,
        &id,
        json!({"action": "decide_extension", "granted": true}),
        "assigned",
    )
    .await;
    assert_eq!(r["deadline"], deadline(30));
    assert!(r["extension_request"].is_null());
    // A refused request leaves the deadline alone.
    step(&app, &c.responsible, &id, json!({"action": "request_extension", "requested_deadline": deadline(60), "reason": "再延"}), "assigned").await;
    let r = step(
        &app,
        &c.supervisor,
        &id,
        json!({"action": "decide_extension", "granted": false, "comment": "不同意"}),
        "assigned",
    )
    .await;
    assert_eq!(r["deadline"], deadline(30));
    // Manual escalation, up to the top of the ladder.
    for level in 1..=4 {
        let r = step(
            &app,
            &c.supervisor,
            &id,
            json!({"action": "escalate", "reason": "进展缓慢"}),
            "assigned",
        )
        .await;
        assert_eq!(r["escalation_level"], level);
    }
    let (status, problem) = app
        .act(
            &c.supervisor,
            &id,
            json!({"action": "escalate", "reason": "x"}),
        )
        .await;
    assert_problem(status, &problem, 409, "escalation_at_top");

    // Duplicates link their original; rejection is final.
    let dup = app
        .report(&c.worker_a, &c.places.village_a, "沟渠堵塞（重复上报）")
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, problem) = app
        .act(
            &c.supervisor,
            &dup,
            json!({"action": "mark_duplicate", "duplicate_of": dup}),
        )
        .await;
    assert_problem(status, &problem, 422, "invalid_field");
    let r = step(
        &app,
        &c.supervisor,
        &dup,
        json!({"action": "mark_duplicate", "duplicate_of": id}),
        "duplicate",
    )
    .await;
    assert_eq!(r["duplicate_of"], id.as_str());
    let bogus = app.report(&c.worker_a, &c.places.village_a, "误报").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    step(
        &app,
        &c.supervisor,
        &bogus,
        json!({"action": "reject", "reason": "非问题"}),
        "rejected",
    )
    .await;
    let (status, problem) = app
        .act(&c.supervisor, &bogus, json!({"action": "assign", "responsible_unit_id": c.bureau, "responsible_user_id": c.responsible.id, "target": "x", "deadline": deadline(3)}))
        .await;
    assert_problem(status, &problem, 409, "invalid_transition");
}

#[tokio::test]
async fn a_resent_report_returns_the_same_issue_and_a_clashing_id_is_refused() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let id = uuid::Uuid::now_v7();
    let body = json!({"id": id, "title": "秸秆焚烧", "category": "straw_burning", "source": "grid_patrol",
                      "place_id": c.places.grid_a1, "device_time": "2026-11-20T08:00:00Z", "photos": [photo(9)]});
    let (first, a) = app
        .post("/api/v1/issues", &c.worker_a.access, body.clone())
        .await;
    let (second, b) = app
        .post("/api/v1/issues", &c.worker_a.access, body.clone())
        .await;
    assert_eq!((first, second), (StatusCode::CREATED, StatusCode::OK));
    assert_eq!(a["ledger_no"], b["ledger_no"]);
    assert_eq!(b["history"].as_array().unwrap().len(), 1);
    assert_eq!(a["history"][0]["device_time"], "2026-11-20T08:00:00Z");
    assert_eq!(a["history"][0]["photos"], json!([photo(9)]));
    let mut other = body.clone();
    other["title"] = json!("别的问题");
    let (status, problem) = app.post("/api/v1/issues", &c.worker_a.access, other).await;
    assert_problem(status, &problem, 409, "issue_id_taken");
    let (_, page) = app.get("/api/v1/issues", &c.supervisor.access).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn reporting_needs_a_field_role_on_the_place_and_valid_content() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let body = |place: &str, category: &str| json!({"title": "问题", "category": category, "source": "grid_patrol", "place_id": place});
    let (status, problem) = app
        .post(
            "/api/v1/issues",
            &c.worker_a.access,
            body(&c.places.village_b, "three_piles"),
        )
        .await;
    assert_problem(status, &problem, 404, "not_found");
    let (status, problem) = app
        .post(
            "/api/v1/issues",
            &c.responsible.access,
            body(&c.bureau, "three_piles"),
        )
        .await;
    assert_problem(status, &problem, 403, "forbidden");
    let (status, problem) = app
        .post(
            "/api/v1/issues",
            &c.worker_a.access,
            body(&c.places.village_a, "ufo"),
        )
        .await;
    assert_problem(status, &problem, 422, "invalid_field");
    let mut bad = body(&c.places.village_a, "three_piles");
    bad["location"] = json!({"lat": 95.0, "lon": 114.0});
    let (status, problem) = app.post("/api/v1/issues", &c.worker_a.access, bad).await;
    assert_problem(status, &problem, 422, "invalid_field");
    let mut bad = body(&c.places.village_a, "three_piles");
    bad["severity"] = json!("apocalyptic");
    let (status, problem) = app.post("/api/v1/issues", &c.worker_a.access, bad).await;
    assert_problem(status, &problem, 422, "invalid_field");
    let (_, page) = app.get("/api/v1/issues", &c.supervisor.access).await;
    assert_eq!(page["items"], json!([]));
}

#[tokio::test]
async fn categories_are_listed_and_only_a_system_admin_adds_one() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let (status, list) = app
        .get("/api/v1/issue-categories", &c.worker_a.access)
        .await;
    assert_eq!(status, StatusCode::OK);
    let codes: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["code"].as_str().unwrap())
        .collect();
    for code in [
        "three_piles",
        "illegal_structure",
        "straw_burning",
        "street_occupation",
        "clean_heating",
        "other",
    ] {
        assert!(codes.contains(&code), "{code} missing");
    }
    let new = json!({"code": "stray_dogs", "name_zh": "流浪犬", "name_en": "Stray dogs"});
    let (status, problem) = app
        .post(
            "/api/v1/issue-categories",
            &c.supervisor.access,
            new.clone(),
        )
        .await;
    assert_problem(status, &problem, 403, "forbidden");
    let (status, _) = app
        .post("/api/v1/issue-categories", &app.admin.access, new.clone())
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, problem) = app
        .post("/api/v1/issue-categories", &app.admin.access, new)
        .await;
    assert_problem(status, &problem, 409, "conflict");
    let (status, _) = app
        .post("/api/v1/issues", &c.worker_a.access, json!({"title": "狗", "category": "stray_dogs", "source": "complaint", "place_id": c.places.village_a}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
}
