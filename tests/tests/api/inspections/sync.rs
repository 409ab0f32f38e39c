//! An inspection filled in offline on two phones and merged through the sync protocol.

use super::*;
use closeout_sync_protocol::Role;

fn mutation(seq: u64, body: Value) -> Value {
    json!({"id": uuid::Uuid::now_v7(), "seq": seq, "device_time": "2026-11-20T08:00:00Z", "body": body})
}

fn recorded(
    id: &str,
    header: Value,
    items: Vec<Value>,
    finished_at: Option<DateTime<Utc>>,
) -> Value {
    let mut b = body(id, header, items, finished_at);
    b["type"] = json!("record_inspection");
    b
}

pub async fn push(app: &TestApp, user: &TestUser, mutations: Vec<Value>) -> Value {
    let (status, body) = app
        .post(
            "/api/v1/sync/push",
            &user.access,
            json!({"protocol": 1, "sent_at": Utc::now(), "mutations": mutations}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "push: {body}");
    body
}

/// Every change a user pulls, by entity id (the last op wins).
async fn pull(app: &TestApp, user: &TestUser) -> std::collections::BTreeMap<String, Value> {
    let mut seen = std::collections::BTreeMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/sync/pull?limit=2&cursor={c}"),
            None => "/api/v1/sync/pull?limit=2".to_owned(),
        };
        let (status, page) = app.get(&path, &user.access).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        for change in page["changes"].as_array().unwrap() {
            let (id, value) = match change["op"].as_str().unwrap() {
                "upsert" => (change["issue"]["id"].clone(), change["issue"].clone()),
                "upsert_inspection" => (
                    change["inspection"]["id"].clone(),
                    change["inspection"].clone(),
                ),
                _ => (change["id"].clone(), Value::Null),
            };
            seen.insert(id.as_str().unwrap().to_owned(), value);
        }
        cursor = Some(page["cursor"].as_str().unwrap().to_owned());
        if !page["has_more"].as_bool().unwrap() {
            return seen;
        }
    }
}

#[tokio::test]
async fn two_phones_fill_one_inspection_offline_and_it_merges_with_a_visible_conflict() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let template = create_small_template(&app, "small").await;
    let colleague = app
        .user_with("inspector-2", &[(Role::Inspector, Some(&c.places.town))])
        .await;
    let id = new_id();
    let h = header(&template, 1, &c.places.village_a, "scheduled");
    // Offline, from the same (empty) inspection: phone A records clean and tidy, phone B records
    // progress and tidy too — the same item, differently.
    let a = mutation(
        1,
        recorded(
            &id,
            h.clone(),
            vec![item("clean", 0, json!(true)), item("tidy", 0, json!(15))],
            None,
        ),
    );
    let mut hb = h.clone();
    hb["team"] = json!([c.inspector.id]);
    let b = mutation(
        1,
        recorded(
            &id,
            hb,
            vec![item("progress", 0, json!(85)), item("tidy", 0, json!(10))],
            None,
        ),
    );

    let ra = push(&app, &c.inspector, vec![a]).await;
    assert_eq!(ra["results"][0]["status"], "applied", "{ra}");
    let rb = push(&app, &colleague, vec![b.clone()]).await;
    assert_eq!(rb["results"][0]["status"], "conflict", "{rb}");
    let conflict_ids = rb["results"][0]["conflict_ids"].as_array().unwrap().clone();
    assert_eq!(conflict_ids.len(), 1);

    let (_, merged) = app
        .get(&format!("/api/v1/inspections/{id}"), &c.supervisor.access)
        .await;
    // Different items are both kept; the same item keeps the first to arrive.
    assert_eq!(merged["items"]["clean"]["result"]["value"], true);
    assert_eq!(merged["items"]["progress"]["result"]["value"], 85.0);
    assert_eq!(merged["items"]["tidy"]["result"]["value"], 15.0);
    assert_eq!(merged["items"]["tidy"]["rev"], 1);
    assert_eq!(merged["team"].as_array().unwrap().len(), 2);
    // 10 + 15 + 10 of 40.
    assert_eq!(merged["score"], 35.0);
    // The clash is visible on the inspection and in the supervisors' conflict list.
    let conflicts = merged["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0]["id"], conflict_ids[0]);
    assert_eq!(conflicts[0]["kind"], "item");
    assert_eq!(conflicts[0]["field"], "tidy");
    assert_eq!(conflicts[0]["incoming"]["result"]["value"], 10.0);
    assert_eq!(conflicts[0]["current"]["result"]["value"], 15.0);
    let (_, list) = app
        .get("/api/v1/sync/conflicts", &c.supervisor.access)
        .await;
    let listed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == conflict_ids[0])
        .unwrap();
    assert_eq!(listed["kind"], "inspection_item");
    assert_eq!(listed["inspection_id"], id.as_str());
    assert!(listed["issue_id"].is_null());

    // The phone resends its batch (the answer was lost): the first result, nothing new.
    let again = push(&app, &colleague, vec![b]).await;
    assert_eq!(again["results"][0]["status"], "duplicate");
    assert_eq!(again["results"][0]["original"]["status"], "conflict");
    let (_, same) = app
        .get(&format!("/api/v1/inspections/{id}"), &c.supervisor.access)
        .await;
    assert_eq!(same["conflicts"].as_array().unwrap().len(), 1);
    assert_eq!(same["version"], merged["version"]);

    // Phone B edits tidy again, now from the revision it pulled: that applies.
    let pulled = pull(&app, &colleague).await;
    let snapshot = &pulled[&id];
    assert_eq!(snapshot["items"]["tidy"]["rev"], 1);
    let edit = push(
        &app,
        &colleague,
        vec![mutation(
            2,
            recorded(&id, h.clone(), vec![item("tidy", 1, json!(12))], None),
        )],
    )
    .await;
    assert_eq!(edit["results"][0]["status"], "applied", "{edit}");

    // The supervisor settles the old conflict by taking the phone's 10: a new revision.
    let (status, resolved) = app
        .post(
            &format!(
                "/api/v1/sync/conflicts/{}/resolve",
                conflict_ids[0].as_str().unwrap()
            ),
            &c.supervisor.access,
            json!({"resolution": "take_incoming", "comment": "以复核为准"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{resolved}");
    assert_eq!(resolved["resolution"], "take_incoming");
    let (_, last) = app
        .get(&format!("/api/v1/inspections/{id}"), &c.supervisor.access)
        .await;
    assert_eq!(last["items"]["tidy"]["result"]["value"], 10.0);
    assert_eq!(last["items"]["tidy"]["rev"], 3);
    let (status, _) = app
        .post(
            &format!(
                "/api/v1/sync/conflicts/{}/resolve",
                conflict_ids[0].as_str().unwrap()
            ),
            &c.supervisor.access,
            json!({"resolution": "keep_server"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn inspections_are_pulled_only_by_those_who_see_their_place() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let template = create_small_template(&app, "small").await;
    let id = new_id();
    let r = push(
        &app,
        &c.inspector,
        vec![mutation(
            1,
            recorded(
                &id,
                header(&template, 1, &c.places.village_a, "spot_check"),
                vec![item("clean", 0, json!(true))],
                None,
            ),
        )],
    )
    .await;
    assert_eq!(r["results"][0]["status"], "applied", "{r}");
    let seen_a = pull(&app, &c.worker_a).await;
    assert_eq!(seen_a[&id]["mode"], "spot_check");
    assert_eq!(seen_a[&id]["items"]["clean"]["rev"], 1);
    assert_eq!(seen_a[&id]["place_id"], c.places.village_a.as_str());
    let seen_b = pull(&app, &c.worker_b).await;
    assert!(!seen_b.contains_key(&id));
    // A body this server cannot read is rejected alone (a newer phone).
    let mut odd = recorded(
        &new_id(),
        header(&template, 1, &c.places.village_a, "scheduled"),
        vec![],
        None,
    );
    odd["header"]["weather"] = json!("晴");
    let r = push(&app, &c.inspector, vec![mutation(2, odd)]).await;
    assert_eq!(r["results"][0]["status"], "rejected");
    assert_eq!(r["results"][0]["code"], "malformed_mutation");
}

#[tokio::test]
async fn an_inspection_finished_weeks_ahead_is_refused_over_rest_and_sync() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let template = create_small_template(&app, "small").await;
    let h = header(&template, 1, &c.places.village_a, "scheduled");
    let ahead = Utc::now() + Duration::weeks(3);
    let (status, problem) = record(
        &app,
        &c.inspector,
        body(&new_id(), h.clone(), vec![], Some(ahead)),
    )
    .await;
    closeout_tests::assert_problem(status, &problem, 422, "invalid_field");
    assert!(
        problem["detail"].as_str().unwrap().contains("finished_at"),
        "{problem}"
    );
    let r = push(
        &app,
        &c.inspector,
        vec![mutation(
            1,
            recorded(&new_id(), h.clone(), vec![], Some(ahead)),
        )],
    )
    .await;
    assert_eq!(r["results"][0]["status"], "rejected", "{r}");
    assert_eq!(r["results"][0]["code"], "invalid_field", "{r}");
    // A phone clock a few minutes fast is within the documented tolerance (10 minutes).
    let fast = Utc::now() + Duration::minutes(3);
    let done = record_ok(
        &app,
        &c.inspector,
        body(&new_id(), h.clone(), vec![], Some(fast)),
    )
    .await;
    assert_eq!(done["state"], "finished", "{done}");
    let r = push(
        &app,
        &c.inspector,
        vec![mutation(2, recorded(&new_id(), h, vec![], Some(fast)))],
    )
    .await;
    assert_eq!(r["results"][0]["status"], "applied", "{r}");
}
