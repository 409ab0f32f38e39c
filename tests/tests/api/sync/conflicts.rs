//! Conflicts kept for supervisors: the same field edited twice, a transition the issue moved past.

use super::*;
use closeout_tests::assert_problem;

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
async fn a_reporters_offline_edit_arriving_after_assignment_is_kept_as_a_conflict() {
    // Found by the strict simulator: the edit was refused `forbidden` and lost.
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let id = uuid::Uuid::now_v7().to_string();
    push(
        &app,
        &c.worker_a,
        vec![mutation(1, create(&id, &c.places.village_a, "河道垃圾"))],
    )
    .await;
    let deadline = (chrono::Utc::now() + chrono::Duration::days(9)).date_naive();
    let (status, body) = app.act(&c.supervisor, &id, json!({"action": "assign", "responsible_unit_id": c.bureau, "responsible_user_id": c.responsible.id, "target": "清理", "deadline": deadline})).await;
    assert_eq!(status, 200, "{body}");
    // The grid worker, offline since reporting, corrected the description and the severity.
    let worker = push(
        &app,
        &c.worker_a,
        vec![mutation(2, json!({"type": "update_issue", "issue_id": id, "base_version": 1, "fields": {"title": "河道垃圾", "description": "桥下约 20 袋"}}))],
    )
    .await;
    assert_eq!(statuses(&worker), ["conflict"], "{worker}");
    let conflicts = worker["results"][0]["conflict_ids"].as_array().unwrap();
    assert_eq!(conflicts.len(), 1, "only the field that differs: {worker}");
    let (_, issue) = app
        .get(&format!("/api/v1/issues/{id}"), &c.supervisor.access)
        .await;
    assert_eq!(
        issue["description"], "",
        "not applied behind the office's back"
    );
    let (_, list) = app
        .get("/api/v1/sync/conflicts", &c.supervisor.access)
        .await;
    assert_eq!(list[0]["field"], "description");
    assert_eq!(list[0]["incoming"]["value"], "桥下约 20 袋");
    assert_eq!(list[0]["incoming"]["reason"], "edited_after_assignment");
    let conflict = list[0]["id"].as_str().unwrap().to_owned();
    let (status, body) = app
        .post(
            &format!("/api/v1/sync/conflicts/{conflict}/resolve"),
            &c.supervisor.access,
            json!({"resolution": "take_incoming"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, issue) = app
        .get(&format!("/api/v1/issues/{id}"), &c.supervisor.access)
        .await;
    assert_eq!(issue["description"], "桥下约 20 袋");
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
    let after = app.fresh_photo(&c.responsible.access, "after", &id).await;
    let (status, body) = app
        .act(
            &c.responsible,
            &id,
            json!({"action": "submit", "photos": [after]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .act(&c.supervisor, &id, json!({"action": "approve"}))
        .await;
    assert_eq!(body["state"], "closed", "{status} {body}");
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

/// `GET /sync/conflicts` pages with `after` (the last conflict's id) and reaches every conflict
/// once, though one push made them all in one transaction (one time for all).
#[tokio::test]
async fn conflicts_page_with_after_and_every_conflict_comes_once() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let ids: Vec<String> = (0..9).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let creates = ids
        .iter()
        .enumerate()
        .map(|(i, id)| mutation(i as u64 + 1, create(id, &c.places.village_a, "原标题")))
        .collect();
    push(&app, &c.worker_a, creates).await;
    let fixes = ids
        .iter()
        .enumerate()
        .map(|(i, id)| mutation(i as u64 + 1, json!({"type": "update_issue", "issue_id": id, "base_version": 1, "fields": {"title": "督查办改的标题"}})))
        .collect();
    push(&app, &c.supervisor, fixes).await;
    let stale = ids
        .iter()
        .enumerate()
        .map(|(i, id)| mutation(i as u64 + 10, json!({"type": "update_issue", "issue_id": id, "base_version": 1, "fields": {"title": "网格员改的标题"}})))
        .collect();
    let res = push(&app, &c.worker_a, stale).await;
    assert!(statuses(&res).iter().all(|s| s == "conflict"), "{res}");

    let list_ids = |page: &Value| -> Vec<String> {
        page.as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let sup = &c.supervisor.access;
    let (status, whole) = app.get("/api/v1/sync/conflicts?limit=1000", sup).await;
    assert_eq!(status, StatusCode::OK, "{whole}");
    let whole = list_ids(&whole);
    assert_eq!(whole.len(), 9);
    let mut paged = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(a) => format!("/api/v1/sync/conflicts?limit=2&after={a}"),
            None => "/api/v1/sync/conflicts?limit=2".to_owned(),
        };
        let (status, page) = app.get(&path, sup).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let page = list_ids(&page);
        paged.extend(page.iter().cloned());
        if page.len() < 2 {
            break;
        }
        after = page.last().cloned();
        assert!(
            paged.len() <= whole.len(),
            "pages go on past every conflict"
        );
    }
    assert_eq!(
        paged, whole,
        "pages of 2 hold the list in its order, each conflict once"
    );
    // An id that is no conflict of the caller's list: 400, not an empty page.
    let (status, problem) = app
        .get(
            &format!("/api/v1/sync/conflicts?after={}", uuid::Uuid::now_v7()),
            sup,
        )
        .await;
    assert_problem(status, &problem, 400, "invalid_query");
}
