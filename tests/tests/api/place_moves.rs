//! 区划调整 of the tree: moving a village to another township and merging one village into
//! another, over the API and the CLI. History, statistics, scoped access and phones' pulls follow.

use closeout_sync_protocol::Role;
use closeout_tests::{TestApp, TestUser, assert_problem};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn pull(app: &TestApp, user: &TestUser, cursor: Option<&str>) -> Value {
    let path = match cursor {
        Some(c) => format!("/api/v1/sync/pull?cursor={c}"),
        None => "/api/v1/sync/pull".to_owned(),
    };
    let (status, page) = app.get(&path, &user.access).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page
}

/// Pulls to the end of the feed; the last cursor.
async fn cursor_of(app: &TestApp, user: &TestUser) -> String {
    let mut cursor: Option<String> = None;
    loop {
        let page = pull(app, user, cursor.as_deref()).await;
        cursor = Some(page["cursor"].as_str().unwrap().to_owned());
        if page["has_more"] != true {
            return cursor.unwrap();
        }
    }
}

fn issue_ids(page: &Value) -> Vec<String> {
    page["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["issue"].is_object())
        .map(|c| c["issue"]["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn found_at(app: &TestApp, user: &TestUser, parent: &str, place: &str) -> i64 {
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    let from = today - chrono::Duration::days(3);
    let (status, s) = app
        .get(
            &format!("/api/v1/reports/stats?parent={parent}&from={from}&to={today}"),
            &user.access,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{s}");
    s["places"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == place)
        .map_or(0, |p| p["found"].as_i64().unwrap())
}

#[tokio::test]
async fn a_village_moves_to_another_township_with_its_issues_history_and_access() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let p = &c.places;
    let town2 = app
        .add_place("130102002000", "东关街道", "township", Some(&p.county))
        .await;
    let county_admin = app
        .user_with("county-admin", &[(Role::Admin, Some(&p.county))])
        .await;
    let town_admin = app
        .user_with("town-admin", &[(Role::Admin, Some(&p.town))])
        .await;
    let town2_admin = app
        .user_with("town2-admin", &[(Role::Admin, Some(&town2))])
        .await;
    let village_admin = app
        .user_with("village-admin", &[(Role::Admin, Some(&p.village_a))])
        .await;
    let issue = app.report(&c.worker_a, &p.village_a, "村口垃圾").await;
    let id = issue["id"].as_str().unwrap().to_owned();
    let old_cursor = cursor_of(&app, &town_admin).await;
    let new_cursor = cursor_of(&app, &town2_admin).await;
    let county_cursor = cursor_of(&app, &county_admin).await;
    assert!(issue_ids(&pull(&app, &town_admin, None).await).contains(&id));

    let move_a = format!("/api/v1/org-units/{}/move", p.village_a);
    let to_town2 = json!({"parent_id": town2, "reason": "区划调整〔2026〕3号"});
    // The village's own admin may not move it (403); B's worker does not see it (404); the old
    // township's admin does not administer the new township, which it cannot see (404).
    let (status, problem) = app
        .post(&move_a, &village_admin.access, to_town2.clone())
        .await;
    assert_problem(status, &problem, 403, "forbidden");
    let (status, problem) = app
        .post(&move_a, &c.worker_b.access, to_town2.clone())
        .await;
    assert_problem(status, &problem, 404, "not_found");
    let (status, problem) = app
        .post(&move_a, &town_admin.access, to_town2.clone())
        .await;
    assert_problem(status, &problem, 404, "not_found");
    // Not under itself, not under a place of the same level.
    let (status, problem) = app
        .post(
            &format!("/api/v1/org-units/{}/move", p.town),
            &county_admin.access,
            json!({"parent_id": p.grid_a1}),
        )
        .await;
    assert_problem(status, &problem, 409, "invalid_place_change");
    let (status, problem) = app
        .post(
            &move_a,
            &county_admin.access,
            json!({"parent_id": p.village_b}),
        )
        .await;
    assert_problem(status, &problem, 422, "invalid_org_level");

    let (status, moved) = app.post(&move_a, &county_admin.access, to_town2).await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["place"]["parent_id"], town2.as_str());
    assert_eq!(moved["place"]["depth"], 4);
    assert_eq!(moved["issues"], 1);
    // Its grid moved with it.
    let (_, grid) = app
        .get(
            &format!("/api/v1/org-units/{}", p.grid_a1),
            &town2_admin.access,
        )
        .await;
    assert_eq!(grid["depth"], 5, "{grid}");

    // History: a place_change event, old township → new.
    let (_, detail) = app
        .get(&format!("/api/v1/issues/{id}"), &county_admin.access)
        .await;
    let history = detail["history"].as_array().unwrap();
    let last = history.last().unwrap();
    assert_eq!(last["action"], "place_change", "{detail}");
    assert_eq!(last["data"]["change"], "move");
    assert_eq!(last["data"]["from"]["name"], "建北街道");
    assert_eq!(last["data"]["to"]["name"], "东关街道");
    assert_eq!(detail["state"], "reported");

    // Access follows the tree: the new township's admin sees the village and its issue, the old
    // one no longer does; the village's own people keep it.
    let village = format!("/api/v1/org-units/{}", p.village_a);
    assert_eq!(
        app.get(&village, &town2_admin.access).await.0,
        StatusCode::OK
    );
    assert_eq!(
        app.get(&village, &town_admin.access).await.0,
        StatusCode::NOT_FOUND
    );
    let issue_path = format!("/api/v1/issues/{id}");
    assert_eq!(
        app.get(&issue_path, &town2_admin.access).await.0,
        StatusCode::OK
    );
    assert_eq!(
        app.get(&issue_path, &town_admin.access).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&issue_path, &c.supervisor.access).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&issue_path, &c.worker_a.access).await.0,
        StatusCode::OK
    );

    // Phones: both townships' admins are told to reset, and then pull what they now see; the
    // county's admin (whose view did not change) is not, and pulls the issue's new state.
    let page = pull(&app, &town_admin, Some(&old_cursor)).await;
    assert_eq!(page["reset"], true, "{page}");
    assert!(!issue_ids(&page).contains(&id));
    let page = pull(&app, &town2_admin, Some(&new_cursor)).await;
    assert_eq!(page["reset"], true, "{page}");
    assert!(issue_ids(&page).contains(&id));
    let page = pull(&app, &county_admin, Some(&county_cursor)).await;
    assert_eq!(page["reset"], false, "{page}");
    assert!(issue_ids(&page).contains(&id));

    // Statistics: the issue counts for the new township.
    assert_eq!(found_at(&app, &county_admin, &p.county, &town2).await, 1);
    assert_eq!(found_at(&app, &county_admin, &p.county, &p.town).await, 0);

    // The CLI moves too.
    let out = app
        .env
        .cli(&["org", "move", "130102001002", "130102002000"], "")
        .unwrap();
    assert!(out.contains("now under 130102002000"), "{out}");
    let (_, b) = app
        .get(
            &format!("/api/v1/org-units/{}", p.village_b),
            &town2_admin.access,
        )
        .await;
    assert_eq!(b["parent_id"], town2.as_str());
}

#[tokio::test]
async fn a_merged_village_hands_its_issues_roles_and_figures_to_the_survivor() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let p = &c.places;
    let town_admin = app
        .user_with("town-admin", &[(Role::Admin, Some(&p.town))])
        .await;
    let village_admin = app
        .user_with("village-admin", &[(Role::Admin, Some(&p.village_a))])
        .await;
    let a_issue = app.report(&c.worker_a, &p.village_a, "甲村的问题").await;
    let a_id = a_issue["id"].as_str().unwrap().to_owned();
    app.report(&c.worker_b, &p.village_b, "乙村的问题").await;
    let b_cursor = cursor_of(&app, &c.worker_b).await;
    let a_cursor = cursor_of(&app, &c.worker_a).await;

    let merge_a = format!("/api/v1/org-units/{}/merge", p.village_a);
    let into_b = json!({"into": p.village_b, "reason": "撤村并居"});
    let (status, problem) = app
        .post(&merge_a, &village_admin.access, into_b.clone())
        .await;
    assert_problem(status, &problem, 403, "forbidden");
    let (status, problem) = app.post(&merge_a, &c.worker_b.access, into_b.clone()).await;
    assert_problem(status, &problem, 404, "not_found");
    for (into, status, code) in [
        (&p.village_a, 409, "invalid_place_change"),
        (&p.grid_a1, 409, "invalid_place_change"),
        (&p.grid_b1, 422, "invalid_org_level"),
    ] {
        let (s, problem) = app
            .post(&merge_a, &town_admin.access, json!({"into": into}))
            .await;
        assert_problem(s, &problem, status, code);
    }

    let (status, merged) = app.post(&merge_a, &town_admin.access, into_b).await;
    assert_eq!(status, StatusCode::OK, "{merged}");
    assert_eq!(merged["merged"]["retired"], true);
    assert_eq!(merged["merged"]["merged_into"], p.village_b.as_str());
    assert_eq!(merged["issues"], 1);
    assert_eq!(
        merged["role_grants"], 2,
        "worker A's and the village admin's grants moved"
    );
    assert_eq!(merged["children"], 1, "grid A1 moved under B");

    // The issue belongs to the survivor, its history says so.
    let (_, detail) = app
        .get(&format!("/api/v1/issues/{a_id}"), &c.supervisor.access)
        .await;
    assert_eq!(detail["place_id"], p.village_b.as_str());
    let last = detail["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["action"], "place_change");
    assert_eq!(last["data"]["change"], "merge");
    assert_eq!(last["data"]["place_id"]["from"], p.village_a.as_str());
    assert_eq!(last["data"]["place_id"]["to"], p.village_b.as_str());
    // The merged place is retired and points at the survivor.
    let (_, a) = app
        .get(
            &format!("/api/v1/org-units/{}", p.village_a),
            &town_admin.access,
        )
        .await;
    assert_eq!(a["merged_into"], p.village_b.as_str(), "{a}");
    let (status, problem) = app
        .post(
            "/api/v1/issues",
            &c.supervisor.access,
            json!({"title": "新问题", "category": "three_piles", "source": "grid_patrol",
                   "place_id": p.village_a}),
        )
        .await;
    assert_problem(status, &problem, 409, "place_retired");
    let (_, grid) = app
        .get(
            &format!("/api/v1/org-units/{}", p.grid_a1),
            &c.worker_b.access,
        )
        .await;
    assert_eq!(grid["parent_id"], p.village_b.as_str(), "{grid}");

    // Statistics of the survivor hold both villages' issues.
    assert_eq!(
        found_at(&app, &c.supervisor, &p.town, &p.village_b).await,
        2
    );
    // B's grid worker now sees A's old issue: a reset, then it arrives. A's worker holds its
    // role on B now (new scope: reset) and reports there.
    let page = pull(&app, &c.worker_b, Some(&b_cursor)).await;
    assert!(issue_ids(&page).contains(&a_id), "{page}");
    let page = pull(&app, &c.worker_a, Some(&a_cursor)).await;
    assert_eq!(page["reset"], true, "{page}");
    app.report(&c.worker_a, &p.village_b, "并村后上报").await;

    // The CLI merges too (a grid into another grid).
    let out = app
        .env
        .cli(&["org", "merge", "130102001001-01", "130102001002-01"], "")
        .unwrap();
    assert!(out.contains("is retired"), "{out}");
    let out = app
        .env
        .cli(&["org", "merge", "130102001002-01", "130102001002-01"], "")
        .unwrap_err();
    assert!(out.contains("invalid_place_change"), "{out}");
}

#[tokio::test]
async fn org_import_update_shows_the_differences_and_applies_them_only_when_confirmed() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let p = &c.places;
    let issue = app.report(&c.worker_a, &p.village_a, "调整前的问题").await;
    let file = app.env.data_dir.path().join("places.csv");
    std::fs::write(
        &file,
        "区划代码,名称,层级,上级代码\n\
         130102001000,建北街道,township,130102000000\n\
         130102002000,东关街道,township,130102000000\n\
         130102001001,甲村社区,village,130102002000\n\
         130102001009,丁社区,village,130102001000\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let out = app
        .env
        .cli(&["org", "import", path, "--update"], "")
        .unwrap();
    for expected in [
        "nothing was written",
        "new      130102002000 东关街道",
        "new      130102001009 丁社区",
        "rename   130102001001 甲社区 -> 甲村社区",
        "move     130102001001 甲村社区: under 130102001000 建北街道 -> under 130102002000 东关街道",
        "missing  130102001002 乙社区",
        "missing  130102001001-01",
    ] {
        assert!(out.contains(expected), "{expected}\n{out}");
    }
    let village = format!("/api/v1/org-units/{}", p.village_a);
    let (_, a) = app.get(&village, &app.admin.access).await;
    assert_eq!(
        (a["name"].as_str(), a["parent_id"].as_str()),
        (Some("甲社区"), Some(p.town.as_str()))
    );
    // --yes without --update is refused by the parser.
    assert!(app.env.cli(&["org", "import", path, "--yes"], "").is_err());

    let out = app
        .env
        .cli(&["org", "import", path, "--update", "--yes"], "")
        .unwrap();
    assert!(out.contains("2 new, 1 renamed, 1 moved"), "{out}");
    let (_, a) = app.get(&village, &app.admin.access).await;
    assert_eq!(a["name"], "甲村社区");
    let (_, town2) = app
        .get(
            &format!("/api/v1/org-units/{}", a["parent_id"].as_str().unwrap()),
            &app.admin.access,
        )
        .await;
    assert_eq!(town2["code"], "130102002000");
    // Missing places stay; the moved village's issue recorded the move.
    let (status, _) = app
        .get(
            &format!("/api/v1/org-units/{}", p.village_b),
            &app.admin.access,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, detail) = app
        .get(
            &format!("/api/v1/issues/{}", issue["id"].as_str().unwrap()),
            &app.admin.access,
        )
        .await;
    assert_eq!(
        detail["history"].as_array().unwrap().last().unwrap()["action"],
        "place_change"
    );
    // Applied again: nothing left to change.
    let out = app
        .env
        .cli(&["org", "import", path, "--update"], "")
        .unwrap();
    assert!(out.contains("0 new, 0 renamed, 0 moved"), "{out}");
}
