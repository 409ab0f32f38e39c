//! Authorization by role and place: what each role may see and do, and the refusals.

use closeout_sync_protocol::Role;
use closeout_tests::{TestApp, assert_problem};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn a_grid_worker_of_village_a_gets_404_for_anything_in_village_b() {
    let app = TestApp::spawn().await;
    let p = app.places().await;
    let worker = app
        .user_with("wang", &[(Role::GridWorker, Some(&p.village_a))])
        .await;

    // Village A and its grid are visible...
    assert_eq!(
        app.get(
            &format!("/api/v1/org-units/{}", p.village_a),
            &worker.access
        )
        .await
        .0,
        StatusCode::OK
    );
    assert_eq!(
        app.get(&format!("/api/v1/org-units/{}", p.grid_a1), &worker.access)
            .await
            .0,
        StatusCode::OK
    );
    // ...village B, its grid and the town above are not, and look exactly like ids that do not exist.
    for hidden in [&p.village_b, &p.grid_b1, &p.town] {
        let (status, body) = app
            .get(&format!("/api/v1/org-units/{hidden}"), &worker.access)
            .await;
        assert_problem(status, &body, 404, "not_found");
    }
    let (status, unknown) = app
        .get(
            &format!("/api/v1/org-units/{}", uuid::Uuid::now_v7()),
            &worker.access,
        )
        .await;
    assert_problem(status, &unknown, 404, "not_found");

    // Listing shows only A's subtree; asking for B's children is a 404 too.
    let (_, list) = app.get("/api/v1/org-units", &worker.access).await;
    let mut ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    let mut expected = vec![p.village_a.as_str(), p.grid_a1.as_str()];
    expected.sort_unstable();
    assert_eq!(ids, expected);
    let (status, body) = app
        .get(
            &format!("/api/v1/org-units?parent_id={}", p.village_b),
            &worker.access,
        )
        .await;
    assert_problem(status, &body, 404, "not_found");

    // Writing into B is also a 404 (not a 403 that would confirm B exists).
    let (status, body) = app
        .post(
            "/api/v1/org-units",
            &worker.access,
            json!({"code": "130102001002-09", "name": "新网格", "level": "grid", "parent_id": p.village_b}),
        )
        .await;
    assert_problem(status, &body, 404, "not_found");
}

#[tokio::test]
async fn each_field_and_office_role_is_refused_admin_work() {
    let app = TestApp::spawn().await;
    let p = app.places().await;
    for role in [
        Role::GridWorker,
        Role::Inspector,
        Role::Responsible,
        Role::Supervisor,
    ] {
        let user = app
            .user_with(&format!("{role}-a"), &[(role, Some(&p.village_a))])
            .await;
        // Adding a place inside their own village: visible, but not theirs to do.
        let (status, body) = app
            .post(
                "/api/v1/org-units",
                &user.access,
                json!({"code": format!("{role}-grid"), "name": "网格", "level": "grid", "parent_id": p.village_a}),
            )
            .await;
        assert_problem(status, &body, 403, "forbidden");
        let (status, body) = app.get("/api/v1/users", &user.access).await;
        assert_problem(status, &body, 403, "forbidden");
        let (status, body) = app
            .post(
                "/api/v1/users",
                &user.access,
                json!({"username": format!("{role}-made"), "display_name": "x", "password": "long-enough-pw",
                       "roles": [{"role": "grid_worker", "org_unit_id": p.grid_a1}]}),
            )
            .await;
        assert_problem(status, &body, 403, "forbidden");
        // A root place needs a system admin.
        let (status, body) = app
            .post(
                "/api/v1/org-units",
                &user.access,
                json!({"code": format!("{role}-root"), "name": "省", "level": "province", "parent_id": null}),
            )
            .await;
        assert_problem(status, &body, 403, "forbidden");
    }
}

#[tokio::test]
async fn a_village_admin_manages_only_its_village() {
    let app = TestApp::spawn().await;
    let p = app.places().await;
    let admin_a = app
        .user_with("admin-a", &[(Role::Admin, Some(&p.village_a))])
        .await;
    app.user_with("worker-b", &[(Role::GridWorker, Some(&p.grid_b1))])
        .await;

    // Can add a grid in A and a worker on it.
    let (status, grid) = app
        .post(
            "/api/v1/org-units",
            &admin_a.access,
            json!({"code": "130102001001-02", "name": "甲社区第二网格", "level": "grid", "parent_id": p.village_a}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{grid}");
    let (status, body) = app
        .post(
            "/api/v1/users",
            &admin_a.access,
            json!({"username": "li-a2", "display_name": "李", "password": "long-enough-pw",
                   "roles": [{"role": "grid_worker", "org_unit_id": grid["id"]}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app.login("li-a2", "long-enough-pw", "li-phone").await;

    // Cannot grant a role in B (404: B is invisible to it) or on the whole system (403).
    let (status, body) = app
        .post(
            "/api/v1/users",
            &admin_a.access,
            json!({"username": "intruder", "display_name": "x", "password": "long-enough-pw",
                   "roles": [{"role": "supervisor", "org_unit_id": p.village_b}]}),
        )
        .await;
    assert_problem(status, &body, 404, "not_found");
    let (status, body) = app
        .post(
            "/api/v1/users",
            &admin_a.access,
            json!({"username": "intruder", "display_name": "x", "password": "long-enough-pw",
                   "roles": [{"role": "admin", "org_unit_id": null}]}),
        )
        .await;
    assert_problem(status, &body, 403, "forbidden");
    // Nothing half-written: the refused username is still free.
    let (status, _) = app
        .post(
            "/api/v1/users",
            &app.admin.access,
            json!({"username": "intruder", "display_name": "x", "password": "long-enough-pw", "roles": []}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    // Lists only people holding roles in A.
    let (status, users) = app.get("/api/v1/users", &admin_a.access).await;
    assert_eq!(status, StatusCode::OK);
    let mut names: Vec<&str> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, vec!["admin-a", "li-a2"]);
    // The system admin sees everyone.
    let (_, all) = app.get("/api/v1/users?limit=500", &app.admin.access).await;
    assert_eq!(all.as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn a_town_supervisor_sees_every_village_of_the_town_and_roles_add_up() {
    let app = TestApp::spawn().await;
    let p = app.places().await;
    // One person, two hats: supervisor of the town, grid worker in A1.
    let user = app
        .user_with(
            "zhao",
            &[
                (Role::Supervisor, Some(&p.town)),
                (Role::GridWorker, Some(&p.grid_a1)),
            ],
        )
        .await;
    for visible in [&p.town, &p.village_a, &p.village_b, &p.grid_b1] {
        assert_eq!(
            app.get(&format!("/api/v1/org-units/{visible}"), &user.access)
                .await
                .0,
            StatusCode::OK
        );
    }
    let (status, body) = app
        .get(&format!("/api/v1/org-units/{}", p.county), &user.access)
        .await;
    assert_problem(status, &body, 404, "not_found");
    let (_, me) = app.get("/api/v1/me", &user.access).await;
    let roles: Vec<&str> = me["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, vec!["supervisor", "grid_worker"]);
    assert_eq!(me["roles"][0]["org_unit"]["code"], "130102001000");
}

#[tokio::test]
async fn every_protected_endpoint_needs_a_token() {
    let app = TestApp::spawn().await;
    let id = uuid::Uuid::now_v7();
    for (method, path) in [
        (Method::GET, "/api/v1/me".to_owned()),
        (Method::GET, "/api/v1/org-units".to_owned()),
        (Method::GET, format!("/api/v1/org-units/{id}")),
        (Method::POST, "/api/v1/org-units".to_owned()),
        (Method::GET, "/api/v1/users".to_owned()),
        (Method::POST, "/api/v1/users".to_owned()),
    ] {
        let body = (method == Method::POST).then(|| json!({}));
        let (status, problem) = app.call(method.clone(), &path, None, body).await;
        assert_problem(status, &problem, 401, "unauthenticated");
    }
}
