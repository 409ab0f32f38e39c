//! The close-out gate: no submission without its after-photos on the server, no close-out while
//! they are pending, and no close-out over a blocking evidence flag unless the supervisor says why
//! (recorded in the history). Offline submits wait for their photos without holding anything up.

use super::*;
use crate::sync::push;
use closeout_tests::photos::fresh_jpeg;
use closeout_tests::{Cast, TestUser};
use serde_json::json;

fn file(rel: &str) -> Vec<u8> {
    std::fs::read(samples().join(rel)).unwrap()
}

/// An issue reported where DSCN0010.jpg was taken, assigned to the bureau and acknowledged.
async fn rectifying(app: &TestApp, c: &Cast) -> String {
    let (status, issue) = app
        .post(
            "/api/v1/issues",
            &c.worker_a.access,
            json!({"title": "河道垃圾", "category": "river_reservoir", "source": "grid_patrol", "place_id": c.places.village_a,
                   "location": {"lat": 43.4674483333333, "lon": 11.8851266666639}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{issue}");
    let id = issue["id"].as_str().unwrap().to_owned();
    let deadline = (chrono::Utc::now() + chrono::Duration::days(5)).date_naive();
    let (status, body) = app.act(&c.supervisor, &id, json!({"action": "assign", "responsible_unit_id": c.bureau, "responsible_user_id": c.responsible.id, "target": "清理", "deadline": deadline})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .act(&c.responsible, &id, json!({"action": "acknowledge"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    id
}

async fn issue(app: &TestApp, user: &TestUser, id: &str) -> Value {
    let (status, body) = app.get(&format!("/api/v1/issues/{id}"), &user.access).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn mutation(seq: u64, body: Value) -> Value {
    json!({"id": uuid::Uuid::now_v7(), "seq": seq, "device_time": chrono::Utc::now(), "body": body})
}

#[tokio::test]
async fn approve_is_refused_over_a_blocking_flag_until_the_supervisor_gives_a_reason() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let id = rectifying(&app, &c).await;
    // An after-photo taken ~400 m away, in 2008: far from the issue and before the assignment.
    let far = file("gps/DSCN0029.jpg");
    let far_sha = app
        .upload_for(&c.responsible.access, &far, "after", &id)
        .await;
    let (status, body) = app
        .act(
            &c.responsible,
            &id,
            json!({"action": "submit", "photos": [far_sha]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let version = body["version"].clone();

    let (status, problem) = app
        .act(&c.supervisor, &id, json!({"action": "approve"}))
        .await;
    assert_problem(status, &problem, 409, "evidence_flagged");
    let mut raised: Vec<&str> = problem["flags"]
        .as_array()
        .unwrap()
        .iter()
        .inspect(|f| assert_eq!(f["sha256"], far_sha.as_str()))
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    raised.sort_unstable();
    // clock_mismatch and no GPS issues are shown on the photo but are not blocking by default.
    assert_eq!(raised, ["far_from_issue", "taken_before_assignment"]);
    assert!(
        problem["message_zh"]
            .as_str()
            .unwrap()
            .contains("override_reason")
    );
    let (status, problem) = app
        .act(
            &c.supervisor,
            &id,
            json!({"action": "approve", "override_reason": "   "}),
        )
        .await;
    assert_problem(status, &problem, 409, "evidence_flagged");
    // Nothing moved.
    let now = issue(&app, &c.supervisor, &id).await;
    assert_eq!(now["state"], "submitted");
    assert_eq!(now["version"], version);

    // A synced approve without a reason is rejected with the same code; the queue moves on.
    let supervisor_phone = app
        .login(&c.supervisor.username, &c.supervisor.password, "sup-tablet")
        .await;
    let resp = push(
        &app,
        &supervisor_phone,
        vec![mutation(
            1,
            json!({"type": "transition", "issue_id": id, "request": {"action": "approve"}}),
        )],
    )
    .await;
    assert_eq!(resp["results"][0]["status"], "rejected");
    assert_eq!(resp["results"][0]["code"], "evidence_flagged");
    assert_eq!(resp["acknowledged_seq"], 1);

    // The responsible person cannot close out, reason or not.
    let (status, problem) = app
        .act(
            &c.responsible,
            &id,
            json!({"action": "approve", "override_reason": "我说行"}),
        )
        .await;
    assert_problem(status, &problem, 403, "forbidden");

    let reason = "已电话核实：照片为同一河段下游，现场已清理";
    let (status, closed) = app
        .act(
            &c.supervisor,
            &id,
            json!({"action": "approve", "override_reason": reason}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{closed}");
    assert_eq!(closed["state"], "closed");
    let last = closed["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["action"], "approve");
    assert_eq!(last["data"]["override_reason"], reason);
    let mut overridden: Vec<&str> = last["data"]["overridden"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    overridden.sort_unstable();
    assert_eq!(overridden, ["far_from_issue", "taken_before_assignment"]);
}

#[tokio::test]
async fn a_clean_submission_closes_without_a_reason_and_only_the_latest_round_counts() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let id = rectifying(&app, &c).await;
    // First round: an after-photo taken far away, years ago; the supervisor returns it.
    let far = file("gps/DSCN0029.jpg");
    let far_sha = app
        .upload_for(&c.responsible.access, &far, "after", &id)
        .await;
    app.act(
        &c.responsible,
        &id,
        json!({"action": "submit", "photos": [far_sha]}),
    )
    .await;
    let (status, body) = app
        .act(
            &c.supervisor,
            &id,
            json!({"action": "return", "reason": "照片不是本点位"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Second round: a fresh photo; the first round's flags no longer stand in the way.
    let fresh = app.fresh_photo(&c.responsible.access, "after", &id).await;
    let (status, body) = app
        .act(
            &c.responsible,
            &id,
            json!({"action": "submit", "photos": [fresh]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, closed) = app
        .act(&c.supervisor, &id, json!({"action": "approve"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{closed}");
    assert_eq!(closed["state"], "closed");
    let last = closed["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["data"]["overridden"], json!([]));
    assert_eq!(last["data"]["override_reason"], Value::Null);
}

#[tokio::test]
async fn the_office_policy_decides_which_flags_block() {
    let app = TestApp::spawn_with(|s| s.evidence.block_approve = vec!["no_exif".into()]).await;
    let c = app.cast().await;
    let id = rectifying(&app, &c).await;
    let gallery = app.fresh_photo(&c.responsible.access, "after", &id).await; // no EXIF
    app.act(
        &c.responsible,
        &id,
        json!({"action": "submit", "photos": [gallery]}),
    )
    .await;
    let (status, problem) = app
        .act(&c.supervisor, &id, json!({"action": "approve"}))
        .await;
    assert_problem(status, &problem, 409, "evidence_flagged");
    assert_eq!(
        problem["flags"],
        json!([{"sha256": gallery, "code": "no_exif"}])
    );

    // Under this policy a far photo does not block.
    let id = rectifying(&app, &c).await;
    let far = file("gps/DSCN0029.jpg");
    let far_sha = app
        .upload_for(&c.responsible.access, &far, "after", &id)
        .await;
    app.act(
        &c.responsible,
        &id,
        json!({"action": "submit", "photos": [far_sha]}),
    )
    .await;
    let (status, closed) = app
        .act(&c.supervisor, &id, json!({"action": "approve"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{closed}");
}

#[tokio::test]
async fn a_submission_is_refused_until_its_after_photos_have_arrived() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let id = rectifying(&app, &c).await;
    let bytes = fresh_jpeg();
    let sha = sha256_hex(&bytes);
    let (status, problem) = app
        .act(
            &c.responsible,
            &id,
            json!({"action": "submit", "photos": [sha]}),
        )
        .await;
    assert_problem(status, &problem, 409, "photos_pending");
    assert_eq!(problem["pending"], json!([sha]));
    let now = issue(&app, &c.responsible, &id).await;
    assert_eq!(now["state"], "rectifying");
    assert_eq!(now["history"].as_array().unwrap().len(), 3);

    app.upload_for(&c.responsible.access, &bytes, "after", &id)
        .await;
    let (status, body) = app
        .act(
            &c.responsible,
            &id,
            json!({"action": "submit", "photos": [sha]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "submitted");
}

/// The bureau's phone, and an after-photo it took but has not uploaded yet.
async fn phone_with_unsent_photo(app: &TestApp, c: &Cast) -> (TestUser, Vec<u8>, String) {
    let phone = app
        .login(
            &c.responsible.username,
            &c.responsible.password,
            "bureau-phone",
        )
        .await;
    let bytes = fresh_jpeg();
    let sha = sha256_hex(&bytes);
    (phone, bytes, sha)
}

#[tokio::test]
async fn an_offline_submit_waits_for_its_photo_without_holding_up_the_queue() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let id = rectifying(&app, &c).await;
    let (phone, bytes, sha) = phone_with_unsent_photo(&app, &c).await;
    let submit = mutation(
        1,
        json!({"type": "transition", "issue_id": id, "request": {"action": "submit", "photos": [sha], "comment": "已清理"}}),
    );
    let comment = mutation(
        2,
        json!({"type": "transition", "issue_id": id, "request": {"action": "comment", "comment": "照片稍后上传"}}),
    );
    let resp = push(&app, &phone, vec![submit.clone(), comment]).await;
    assert_eq!(resp["results"][0]["status"], "held");
    assert_eq!(resp["results"][0]["code"], "photos_pending");
    assert!(
        resp["results"][0]["message_zh"]
            .as_str()
            .unwrap()
            .contains("照片")
    );
    assert_eq!(resp["results"][1]["status"], "applied", "{resp}");
    assert_eq!(resp["acknowledged_seq"], 2, "the queue moved on");
    let (_, devices) = app.get("/api/v1/devices", &phone.access).await;
    let device = devices
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["device_key"] == "bureau-phone")
        .unwrap()
        .clone();
    assert_eq!(device["waiting_for_photos"], json!([1]));
    assert_eq!(device["held"], json!([]));
    assert_eq!(issue(&app, &c.supervisor, &id).await["state"], "rectifying");

    // Resent before the photo is up: still waiting, nothing applied twice.
    let again = push(&app, &phone, vec![submit.clone()]).await;
    assert_eq!(again["results"][0]["status"], "held");

    // The photo arrives (from another connection, as phones' upload queues do): the submit
    // goes through at once, as the phone's user, at its place in the history.
    app.upload_for(&phone.access, &bytes, "after", &id).await;
    let now = issue(&app, &c.supervisor, &id).await;
    assert_eq!(now["state"], "submitted");
    let last = now["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "submit");
    assert_eq!(last["photos"], json!([sha]));
    assert_eq!(last["actor_id"], c.responsible.id.as_str());

    // The phone's resend now learns the final result.
    let settled = push(&app, &phone, vec![submit]).await;
    assert_eq!(settled["results"][0]["status"], "duplicate", "{settled}");
    assert_eq!(settled["results"][0]["original"]["status"], "applied");
    let (_, devices) = app.get("/api/v1/devices", &phone.access).await;
    assert!(
        devices
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["waiting_for_photos"] == json!([]))
    );
}

#[tokio::test]
async fn a_waiting_submit_that_the_issue_moved_past_becomes_a_conflict_with_its_photo() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let id = rectifying(&app, &c).await;
    let (phone, bytes, sha) = phone_with_unsent_photo(&app, &c).await;
    let resp = push(
        &app,
        &phone,
        vec![mutation(1, json!({"type": "transition", "issue_id": id, "request": {"action": "submit", "photos": [sha]}}))],
    )
    .await;
    assert_eq!(resp["results"][0]["status"], "held");
    // Meanwhile a colleague at the office submits other photos and the issue is closed out.
    let other = app.fresh_photo(&c.responsible.access, "after", &id).await;
    let (status, body) = app
        .act(
            &c.responsible,
            &id,
            json!({"action": "submit", "photos": [other]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .act(&c.supervisor, &id, json!({"action": "approve"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.upload_for(&phone.access, &bytes, "after", &id).await;
    assert_eq!(issue(&app, &c.supervisor, &id).await["state"], "closed");
    let (_, conflicts) = app
        .get("/api/v1/sync/conflicts", &c.supervisor.access)
        .await;
    assert_eq!(conflicts[0]["kind"], "transition", "{conflicts}");
    assert_eq!(conflicts[0]["incoming"]["request"]["photos"], json!([sha]));
}
