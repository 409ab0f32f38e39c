//! Failed items → ledger issues: one per item, linked both ways, never twice.

use super::sync::push;
use super::*;
use closeout_sync_protocol::Role;

fn mutation(seq: u64, body: Value) -> Value {
    json!({"id": uuid::Uuid::now_v7(), "seq": seq, "device_time": "2026-11-20T08:00:00Z", "body": body})
}

async fn issue_count(app: &TestApp, user: &TestUser) -> usize {
    let (_, page) = app.get("/api/v1/issues?limit=200", &user.access).await;
    page["items"].as_array().unwrap().len()
}

#[tokio::test]
async fn failed_items_raise_exactly_one_issue_each_even_after_retries() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let template = create_small_template(&app, "small").await;
    let colleague = app
        .user_with("inspector-2", &[(Role::Inspector, Some(&c.places.town))])
        .await;
    let id = new_id();
    let finished = at(today());
    let mut finish = body(
        &id,
        header(&template, 1, &c.places.village_a, "unannounced"),
        vec![
            failed_with_photo("clean", json!(false), 7),
            item("tidy", 0, json!(8)),
            item("progress", 0, json!(95)),
            item("notes", 0, json!("暗访发现两处问题")),
        ],
        Some(finished),
    );
    finish["type"] = json!("record_inspection");
    let first = push(&app, &c.inspector, vec![mutation(1, finish.clone())]).await;
    assert_eq!(first["results"][0]["status"], "applied", "{first}");

    let (_, inspection) = app
        .get(&format!("/api/v1/inspections/{id}"), &c.supervisor.access)
        .await;
    assert_eq!(inspection["state"], "finished");
    // 0 (clean failed) + 8 (tidy below 12) + 10 (progress) of 40.
    assert_eq!(inspection["score"], 18.0);
    let raised = inspection["issues"].as_array().unwrap().clone();
    let keys: Vec<&str> = raised
        .iter()
        .map(|i| i["item_key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["clean", "tidy"]);
    assert!(
        raised
            .iter()
            .all(|i| i["state"] == "reported" && i["assignment"].is_null())
    );
    assert_eq!(
        inspection["items"]["clean"]["issue_id"],
        raised[0]["issue_id"]
    );
    assert!(inspection["items"]["progress"]["issue_id"].is_null());

    // The issue: from an unannounced visit, the item's photo as its before-photo, linked back.
    let clean_issue = raised[0]["issue_id"].as_str().unwrap();
    let (_, issue) = app
        .get(
            &format!("/api/v1/issues/{clean_issue}"),
            &c.supervisor.access,
        )
        .await;
    assert_eq!(issue["source"], "unannounced_visit");
    assert_eq!(issue["category"], "three_piles");
    assert_eq!(issue["state"], "reported");
    assert_eq!(issue["title"], "测试督查表：环境整洁");
    assert!(
        issue["description"]
            .as_str()
            .unwrap()
            .contains("现场发现问题"),
        "{issue}"
    );
    assert_eq!(issue["history"][0]["photos"], json!([photo(7)]));
    assert_eq!(
        issue["inspection"],
        json!({"inspection_id": id, "item_key": "clean"})
    );
    assert_eq!(issue["location"]["lat"], 38.05);
    let tidy_issue = raised[1]["issue_id"].as_str().unwrap();
    let (_, tidy) = app
        .get(
            &format!("/api/v1/issues/{tidy_issue}"),
            &c.supervisor.access,
        )
        .await;
    assert_eq!(
        (tidy["category"].as_str(), tidy["severity"].as_str()),
        (Some("street_occupation"), Some("moderate"))
    );
    assert_eq!(issue_count(&app, &c.supervisor).await, 2);

    // Every way of sending it again: the same mutation (a lost answer), a new mutation with the
    // same content, the second phone finishing too, and the REST twin. Still two issues.
    let again = push(&app, &c.inspector, vec![json!({"id": first["results"][0]["id"], "seq": 1, "device_time": "2026-11-20T08:00:00Z", "body": finish})]).await;
    assert_eq!(again["results"][0]["status"], "duplicate");
    let resent = push(&app, &c.inspector, vec![mutation(2, finish.clone())]).await;
    assert_eq!(resent["results"][0]["status"], "duplicate", "{resent}");
    let other = push(&app, &colleague, vec![mutation(1, finish.clone())]).await;
    assert_ne!(other["results"][0]["status"], "rejected", "{other}");
    let mut rest = finish.clone();
    rest.as_object_mut().unwrap().remove("type");
    let (status, _) = record(&app, &c.inspector, rest).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(issue_count(&app, &c.supervisor).await, 2);
    let (_, after) = app
        .get(&format!("/api/v1/inspections/{id}"), &c.supervisor.access)
        .await;
    assert_eq!(after["issues"].as_array().unwrap().len(), 2);

    // A failure recorded after the finish (a late phone) raises its own issue, once.
    let late = body(
        &id,
        header(&template, 1, &c.places.village_a, "unannounced"),
        vec![item("progress", 1, json!(40))],
        None,
    );
    record_ok(&app, &colleague, late.clone()).await;
    record_ok(&app, &colleague, late).await;
    assert_eq!(issue_count(&app, &c.supervisor).await, 3);
}

#[tokio::test]
async fn a_template_that_assigns_on_failure_sends_the_issue_to_the_responsible_unit() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let items = vec![
        item("permits", 0, json!(true)),
        item("started", 0, json!("started")),
        item("progress_vs_plan", 0, json!(70)),
        item("this_week", 0, json!("完成主体结构三层")),
        item("quality", 0, json!(16)),
        json!({"key": "safety", "base_rev": 0, "result": {"value": false, "note": "临边防护缺失", "photos": [photo(3)]}}),
        item("wages", 0, json!(true)),
        item("main_problems", 0, json!("进度滞后，临边防护缺失")),
        item("next_week", 0, json!("完成四层主体")),
    ];
    let mut h = header(KEY_PROJECT, 1, &c.places.village_a, "scheduled");
    h["responsible_unit_id"] = json!(c.bureau);
    h["responsible_user_id"] = json!(c.responsible.id);
    // Finished by the supervisor (督查办 leads the team): assigned through the ledger's rules.
    let id = new_id();
    let done = record_ok(
        &app,
        &c.supervisor,
        body(&id, h.clone(), items.clone(), Some(at(today()))),
    )
    .await;
    // permits 15 + started 15 + progress 0 (70 % < 90 %) + quality 16 + safety 0 + wages 10 = 56 of 100.
    assert_eq!(done["score"], 56.0);
    let raised = done["issues"].as_array().unwrap();
    assert_eq!(raised.len(), 2, "{done}");
    for r in raised {
        assert_eq!(r["state"], "assigned", "{r}");
        assert_eq!(r["assignment"], "assigned");
    }
    let (_, issue) = app
        .get(
            &format!("/api/v1/issues/{}", raised[1]["issue_id"].as_str().unwrap()),
            &c.responsible.access,
        )
        .await;
    assert_eq!(issue["responsible_unit_id"], c.bureau.as_str());
    assert_eq!(issue["deadline"], json!(today() + Duration::days(7)));
    assert_eq!(issue["target"], "按督查意见限期整改到位，并反馈整改情况");
    let actions: Vec<&str> = issue["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["report", "assign"]);
    assert_eq!(issue["history"][1]["actor_role"], "supervisor");

    // Finished by an inspector alone: the issues wait in `reported`, and the inspection says why.
    let done = record_ok(
        &app,
        &c.inspector,
        body(&new_id(), h, items, Some(at(today()))),
    )
    .await;
    for r in done["issues"].as_array().unwrap() {
        assert_eq!(r["state"], "reported");
        assert!(
            r["assignment"].as_str().unwrap().contains("supervisor"),
            "{r}"
        );
    }
}
