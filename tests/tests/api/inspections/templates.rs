//! Checklist templates: the shipped defaults, versioning, archive, export/import, who may edit.

use super::*;
use closeout_tests::assert_problem;

#[tokio::test]
async fn the_default_templates_are_shipped_in_chinese_and_anyone_logged_in_reads_them() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let (status, list) = app
        .get("/api/v1/checklist-templates", &c.worker_a.access)
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let codes: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "clean_heating",
            "key_project",
            "market_business",
            "pest_vector",
            "river_reservoir",
            "road_chief",
            "street_appearance",
            "village_environment"
        ]
    );
    for t in list.as_array().unwrap() {
        let items = t["content"]["items"].as_array().unwrap();
        assert!((6..=15).contains(&items.len()), "{}", t["code"]);
        assert!(
            t["content"]["name"]
                .as_str()
                .unwrap()
                .chars()
                .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
        );
        assert_eq!(t["version"], 1);
    }
    // The weekly key-project form keeps its three headings.
    let key = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == KEY_PROJECT)
        .unwrap();
    let sections: std::collections::BTreeSet<&str> = key["content"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["section"].as_str())
        .collect();
    assert_eq!(
        sections,
        ["下周计划", "主要问题", "本周进展"].into_iter().collect()
    );
    assert_eq!(key["content"]["assign_on_failure"]["deadline_days"], 7);
    // A restart does not seed them twice (nor touch them).
    let mut app = app;
    app.restart().await;
    let (_, again) = app
        .get("/api/v1/checklist-templates", &c.worker_a.access)
        .await;
    assert_eq!(again.as_array().unwrap().len(), 8);
}

#[tokio::test]
async fn editing_a_template_makes_a_new_version_and_inspections_keep_the_one_they_used() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let template = create_small_template(&app, "small").await;
    let id = new_id();
    let first = record_ok(
        &app,
        &c.inspector,
        body(
            &id,
            header(&template, 1, &c.places.village_a, "scheduled"),
            vec![item("clean", 0, json!(true))],
            None,
        ),
    )
    .await;
    assert_eq!(first["max_score"], 40.0);

    // A new item and a heavier `clean`: version 2.
    let mut v2 = small_template();
    v2["name"] = json!("测试督查表（修订）");
    v2["items"][0]["points"] = json!(20);
    v2["items"].as_array_mut().unwrap().push(json!({"key": "signs", "title": "公示牌", "kind": "pass_fail", "points": 10, "severity": "minor"}));
    let path = format!("/api/v1/checklist-templates/{template}");
    let (status, t) = app
        .call(
            reqwest::Method::PUT,
            &path,
            Some(&app.admin.access),
            Some(json!({"base_version": 1, "content": v2})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{t}");
    assert_eq!(
        (t["version"].as_i64(), t["current_version"].as_i64()),
        (Some(2), Some(2))
    );
    // The same content again makes no version 3.
    let (_, same) = app
        .call(
            reqwest::Method::PUT,
            &path,
            Some(&app.admin.access),
            Some(json!({"content": v2})),
        )
        .await;
    assert_eq!(same["version"], 2);
    // An edit made from version 1 is refused now.
    let (status, problem) = app
        .call(
            reqwest::Method::PUT,
            &path,
            Some(&app.admin.access),
            Some(json!({"base_version": 1, "content": small_template()})),
        )
        .await;
    assert_problem(status, &problem, 409, "conflict");
    // Both versions stay readable; the list shows the current one.
    let (_, old) = app
        .get(&format!("{path}?version=1"), &c.inspector.access)
        .await;
    assert_eq!(old["content"]["name"], "测试督查表");
    assert_eq!(old["versions"].as_array().unwrap().len(), 2);
    let (status, problem) = app
        .get(&format!("{path}?version=9"), &c.inspector.access)
        .await;
    assert_problem(status, &problem, 422, "template_version_unknown");

    // The inspection keeps version 1 (its max stays 40, its name the old one) and can still be
    // filled in with it.
    let kept = record_ok(
        &app,
        &c.inspector,
        body(
            &id,
            header(&template, 1, &c.places.village_a, "scheduled"),
            vec![item("tidy", 0, json!(16))],
            None,
        ),
    )
    .await;
    assert_eq!(kept["template_version"], 1);
    assert_eq!(kept["template_name"], "测试督查表");
    assert_eq!(
        (kept["score"].as_f64(), kept["max_score"].as_f64()),
        (Some(26.0), Some(40.0))
    );
    // A new inspection with version 2 scores out of 60; `signs` exists only there.
    let (status, problem) = record(
        &app,
        &c.inspector,
        body(
            &id,
            header(&template, 1, &c.places.village_a, "scheduled"),
            vec![item("signs", 0, json!(true))],
            None,
        ),
    )
    .await;
    assert_problem(status, &problem, 422, "invalid_field");
    let v2_inspection = record_ok(
        &app,
        &c.inspector,
        body(
            &new_id(),
            header(&template, 2, &c.places.village_a, "scheduled"),
            vec![item("signs", 0, json!(true))],
            None,
        ),
    )
    .await;
    assert_eq!(v2_inspection["max_score"], 60.0);

    // Archived: no new inspections, the existing one still takes results.
    let (status, archived) = app
        .post(&format!("{path}/archive"), &app.admin.access, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{archived}");
    assert!(archived["archived_at"].is_string());
    let (status, problem) = record(
        &app,
        &c.inspector,
        body(
            &new_id(),
            header(&template, 2, &c.places.village_a, "scheduled"),
            vec![],
            None,
        ),
    )
    .await;
    assert_problem(status, &problem, 409, "template_archived");
    record_ok(
        &app,
        &c.inspector,
        body(
            &id,
            header(&template, 1, &c.places.village_a, "scheduled"),
            vec![item("progress", 0, json!(90))],
            None,
        ),
    )
    .await;
    let (_, list) = app
        .get("/api/v1/checklist-templates", &c.inspector.access)
        .await;
    assert!(
        !list
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == template.as_str())
    );
    let (_, list) = app
        .get(
            "/api/v1/checklist-templates?include_archived=true",
            &c.inspector.access,
        )
        .await;
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == template.as_str())
    );
}

#[tokio::test]
async fn only_a_system_admin_edits_templates_and_bad_content_is_refused() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let new = json!({"code": "mine", "content": small_template()});
    let (status, problem) = app
        .post(
            "/api/v1/checklist-templates",
            &c.worker_a.access,
            new.clone(),
        )
        .await;
    assert_problem(status, &problem, 403, "forbidden");
    let (status, problem) = app
        .post(
            "/api/v1/checklist-templates",
            &c.supervisor.access,
            new.clone(),
        )
        .await;
    assert_problem(status, &problem, 403, "forbidden");
    let path = format!("/api/v1/checklist-templates/{VILLAGE_ENVIRONMENT}");
    let (status, problem) = app
        .call(
            reqwest::Method::PUT,
            &path,
            Some(&c.inspector.access),
            Some(json!({"content": small_template()})),
        )
        .await;
    assert_problem(status, &problem, 403, "forbidden");
    let (status, problem) = app
        .post(&format!("{path}/archive"), &c.worker_a.access, json!({}))
        .await;
    assert_problem(status, &problem, 403, "forbidden");

    let mut bad = small_template();
    bad["items"][1]["key"] = json!("clean");
    let (status, problem) = app
        .post(
            "/api/v1/checklist-templates",
            &app.admin.access,
            json!({"code": "bad", "content": bad}),
        )
        .await;
    assert_problem(status, &problem, 422, "invalid_field");
    assert!(
        problem["detail"].as_str().unwrap().contains("items[1].key"),
        "{problem}"
    );
    let mut bad = small_template();
    bad["items"][0]["category"] = json!("no_such_category");
    let (status, problem) = app
        .post(
            "/api/v1/checklist-templates",
            &app.admin.access,
            json!({"code": "bad", "content": bad}),
        )
        .await;
    assert_problem(status, &problem, 422, "invalid_field");
    let mut bad = small_template();
    bad["items"][1]["kind"] = json!("slider");
    let (status, problem) = app
        .post(
            "/api/v1/checklist-templates",
            &app.admin.access,
            json!({"code": "bad", "content": bad}),
        )
        .await;
    assert_problem(status, &problem, 422, "invalid_field");
    let (status, problem) = app
        .post(
            "/api/v1/checklist-templates",
            &app.admin.access,
            json!({"code": "village_environment", "content": small_template()}),
        )
        .await;
    assert_problem(status, &problem, 409, "conflict");
}

#[tokio::test]
async fn templates_export_and_import_as_json() {
    let app = TestApp::spawn().await;
    let (status, mut doc) = app
        .get("/api/v1/checklist-templates/export", &app.admin.access)
        .await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    assert_eq!(doc["format"], "closeout-checklist-templates");
    assert_eq!(doc["templates"].as_array().unwrap().len(), 8);
    // Edit one, add one, import: one new version, one new template, the rest unchanged.
    let street = doc["templates"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|t| t["code"] == "street_appearance")
        .unwrap();
    street["content"]["name"] = json!("街道市容秩序督查表（2027版）");
    doc["templates"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": null, "code": "small", "content": small_template()}));
    let (status, out) = app
        .post(
            "/api/v1/checklist-templates/import",
            &app.admin.access,
            doc.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["created"], json!(["small"]));
    assert_eq!(out["updated"], json!(["street_appearance"]));
    assert_eq!(out["unchanged"].as_array().unwrap().len(), 7);
    let (_, street) = app
        .get(
            "/api/v1/checklist-templates/0193f000-0000-7000-8000-000000000002",
            &app.admin.access,
        )
        .await;
    assert_eq!(street["version"], 2);
    assert_eq!(street["content"]["name"], "街道市容秩序督查表（2027版）");
    // Importing again changes nothing; a bad entry refuses the whole document.
    let (_, again) = app
        .post(
            "/api/v1/checklist-templates/import",
            &app.admin.access,
            doc.clone(),
        )
        .await;
    assert_eq!(again["unchanged"].as_array().unwrap().len(), 9, "{again}");
    doc["templates"][0]["content"]["items"] = json!([]);
    doc["templates"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": null, "code": "other_new", "content": small_template()}));
    let (status, problem) = app
        .post("/api/v1/checklist-templates/import", &app.admin.access, doc)
        .await;
    assert_problem(status, &problem, 422, "invalid_field");
    let (_, list) = app
        .get("/api/v1/checklist-templates", &app.admin.access)
        .await;
    assert_eq!(
        list.as_array().unwrap().len(),
        9,
        "nothing of the refused import was written"
    );
}

#[test]
fn servers_starting_at_once_seed_the_default_templates_once() {
    use std::sync::{Arc, Barrier};
    let env = closeout_tests::TestEnv::new();
    let n = 4;
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let (settings, barrier) = (env.settings.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                closeout::startup::open_database(&settings)
                    .map(|_| ())
                    .map_err(|e| format!("{e:#}"))
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap().unwrap();
    }
    let db = env.db();
    let mut conn = db.get().unwrap();
    let all = closeout::db::templates::list_current(&mut conn, true).unwrap();
    assert_eq!(all.len(), 8);
    for (t, _) in &all {
        assert_eq!(
            closeout::db::templates::versions_of(&mut conn, &t.id)
                .unwrap()
                .len(),
            1
        );
    }
}
