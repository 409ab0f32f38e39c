//! An account's life over the API and the CLI: disable and enable, grant, revoke and move roles
//! (the phones reset their pull), an administrator's password reset, accounts without roles.

use closeout_sync_protocol::Role;
use closeout_tests::{TestApp, TestUser, assert_problem};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn refresh(app: &TestApp, user: &TestUser) -> (StatusCode, Value) {
    app.call(
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": user.refresh, "device_id": user.device_id})),
    )
    .await
}

async fn login(app: &TestApp, user: &TestUser, password: &str) -> (StatusCode, Value) {
    app.call(
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(
            json!({"username": user.username, "password": password, "device_id": "another-phone"}),
        ),
    )
    .await
}

/// Issue ids in a pull page.
fn pulled(page: &Value) -> Vec<String> {
    page["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["op"] == "upsert")
        .map(|c| c["issue"]["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn disabling_ends_every_session_at_once_and_the_name_stays_in_history() {
    let app = TestApp::spawn().await;
    let p = app.places().await;
    let admin_a = app
        .user_with("admin-a", &[(Role::Admin, Some(&p.village_a))])
        .await;
    let admin_b = app
        .user_with("admin-b", &[(Role::Admin, Some(&p.village_b))])
        .await;
    let worker = app
        .user_with("wang", &[(Role::GridWorker, Some(&p.village_a))])
        .await;
    let second_phone = app.login("wang", &worker.password, "wang-tablet").await;
    let issue = app.report(&worker, &p.village_a, "柴草乱堆").await;
    let issue_path = format!("/api/v1/issues/{}", issue["id"].as_str().unwrap());

    // Not an admin, or an admin of another village: refused, and B's admin does not even see him.
    let disable = format!("/api/v1/users/{}/disable", worker.id);
    let neighbour = app
        .user_with("neighbour", &[(Role::GridWorker, Some(&p.village_a))])
        .await;
    let (status, body) = app.post(&disable, &neighbour.access, json!({})).await;
    assert_problem(status, &body, 403, "forbidden");
    let (status, body) = app.post(&disable, &admin_b.access, json!({})).await;
    assert_problem(status, &body, 404, "not_found");
    let (status, body) = app
        .post(
            &format!("/api/v1/users/{}/disable", admin_a.id),
            &admin_a.access,
            json!({}),
        )
        .await;
    assert_problem(status, &body, 409, "conflict");
    assert_eq!(
        app.get("/api/v1/me", &worker.access).await.0,
        StatusCode::OK
    );

    let (status, body) = app.post(&disable, &admin_a.access, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["active"], false);

    // Both phones' access tokens stop at once, their refresh chains end, login is refused.
    for phone in [&worker, &second_phone] {
        let (status, body) = app.get("/api/v1/me", &phone.access).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["code"], "session_revoked");
        let (status, body) = refresh(&app, phone).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    let (status, body) = login(&app, &worker, &worker.password).await;
    assert_problem(status, &body, 403, "account_disabled");

    // What he reported still names him.
    let (_, detail) = app.get(&issue_path, &admin_a.access).await;
    assert_eq!(detail["history"][0]["actor_name"], "wang");
    assert_eq!(detail["history"][0]["actor_id"], worker.id.as_str());

    // Enabled again, he logs in anew; the old sessions stay ended.
    let (status, body) = app
        .post(
            &format!("/api/v1/users/{}/enable", worker.id),
            &admin_a.access,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["active"], true);
    assert_eq!(
        login(&app, &worker, &worker.password).await.0,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/api/v1/me", &worker.access).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn granting_revoking_and_moving_roles_tell_the_phone_to_reset_its_pull() {
    let app = TestApp::spawn().await;
    let p = app.places().await;
    let town_admin = app
        .user_with("town-admin", &[(Role::Admin, Some(&p.town))])
        .await;
    let admin_a = app
        .user_with("admin-a", &[(Role::Admin, Some(&p.village_a))])
        .await;
    let keeper = app
        .user_with("keeper", &[(Role::GridWorker, Some(&p.town))])
        .await;
    let in_a = app.report(&keeper, &p.village_a, "甲村问题").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let in_b = app.report(&keeper, &p.village_b, "乙村问题").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let worker = app
        .user_with("li-na", &[(Role::GridWorker, Some(&p.village_a))])
        .await;
    let (_, page) = app.get("/api/v1/sync/pull", &worker.access).await;
    assert_eq!(pulled(&page), vec![in_a.clone()]);
    let cursor = page["cursor"].as_str().unwrap().to_owned();
    let pull = format!("/api/v1/sync/pull?cursor={cursor}");

    // Moving A → B needs an admin of both villages.
    let mv = format!("/api/v1/users/{}/roles/move", worker.id);
    let body = json!({"role": "grid_worker", "from_org_unit_id": p.village_a, "to_org_unit_id": p.village_b});
    let (status, problem) = app.post(&mv, &admin_a.access, body.clone()).await;
    assert_problem(status, &problem, 404, "not_found");
    let (status, user) = app.post(&mv, &town_admin.access, body).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["roles"][0]["org_unit"]["id"], p.village_b.as_str());

    // The old cursor resets: drop everything, then B's issue from the beginning.
    let (_, page) = app.get(&pull, &worker.access).await;
    assert_eq!(page["reset"], true, "{page}");
    assert_eq!(pulled(&page), vec![in_b.clone()]);
    let (status, _) = app
        .get(&format!("/api/v1/issues/{in_a}"), &worker.access)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Granting A back widens the scope (another reset). A's admin alone may not: the account is
    // now B's, and he does not manage it. Granting it twice is refused.
    let roles = format!("/api/v1/users/{}/roles", worker.id);
    let grant = json!({"role": "grid_worker", "org_unit_id": p.village_a});
    let (status, problem) = app.post(&roles, &admin_a.access, grant.clone()).await;
    assert_problem(status, &problem, 404, "not_found");
    let (status, user) = app.post(&roles, &town_admin.access, grant.clone()).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    let (status, problem) = app.post(&roles, &town_admin.access, grant).await;
    assert_problem(status, &problem, 409, "duplicate_role_assignment");
    let cursor = page["cursor"].as_str().unwrap();
    let (_, page) = app
        .get(
            &format!("/api/v1/sync/pull?cursor={cursor}"),
            &worker.access,
        )
        .await;
    assert_eq!(page["reset"], true);
    let mut ids = pulled(&page);
    ids.sort();
    let mut both = vec![in_a.clone(), in_b.clone()];
    both.sort();
    assert_eq!(ids, both);

    // Revoking B (by an admin of B's town) narrows it again; revoking what is not held is a 404.
    let revoke = format!("/api/v1/users/{}/roles/revoke", worker.id);
    let b = json!({"role": "grid_worker", "org_unit_id": p.village_b});
    let (status, problem) = app.post(&revoke, &admin_a.access, b.clone()).await;
    assert_problem(status, &problem, 404, "not_found");
    let (status, user) = app.post(&revoke, &town_admin.access, b.clone()).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["roles"].as_array().unwrap().len(), 1);
    let (status, problem) = app.post(&revoke, &town_admin.access, b).await;
    assert_problem(status, &problem, 404, "not_found");
    let cursor = page["cursor"].as_str().unwrap();
    let (_, page) = app
        .get(
            &format!("/api/v1/sync/pull?cursor={cursor}"),
            &worker.access,
        )
        .await;
    assert_eq!(page["reset"], true);
    assert_eq!(pulled(&page), vec![in_a]);
}

#[tokio::test]
async fn an_admin_sets_a_new_password_and_every_session_ends() {
    let app = TestApp::spawn().await;
    let p = app.places().await;
    let admin_a = app
        .user_with("admin-a", &[(Role::Admin, Some(&p.village_a))])
        .await;
    let admin_b = app
        .user_with("admin-b", &[(Role::Admin, Some(&p.village_b))])
        .await;
    let worker = app
        .user_with("zhao", &[(Role::GridWorker, Some(&p.village_a))])
        .await;
    let path = format!("/api/v1/users/{}/password", worker.id);
    let (status, problem) = app
        .post(
            &path,
            &admin_b.access,
            json!({"password": "new-password-9"}),
        )
        .await;
    assert_problem(status, &problem, 404, "not_found");
    let (status, problem) = app
        .post(&path, &worker.access, json!({"password": "new-password-9"}))
        .await;
    assert_problem(status, &problem, 403, "forbidden");
    let (status, problem) = app
        .post(&path, &admin_a.access, json!({"password": "short"}))
        .await;
    assert_problem(status, &problem, 422, "invalid_field");
    let (status, body) = app
        .post(
            &path,
            &admin_a.access,
            json!({"password": "new-password-9"}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(
        app.get("/api/v1/me", &worker.access).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, problem) = login(&app, &worker, &worker.password).await;
    assert_problem(status, &problem, 401, "invalid_credentials");
    assert_eq!(
        login(&app, &worker, "new-password-9").await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn accounts_without_roles_are_listed_for_a_system_admin_only() {
    let app = TestApp::spawn().await;
    let p = app.places().await;
    let admin_a = app
        .user_with("admin-a", &[(Role::Admin, Some(&p.village_a))])
        .await;
    let placed = app
        .user_with("placed", &[(Role::GridWorker, Some(&p.village_a))])
        .await;
    let (status, body) = app
        .post(
            "/api/v1/users",
            &app.admin.access,
            json!({"username": "newcomer", "display_name": "新来的", "password": "newcomer-pass"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Revoking the last role leaves an account without roles too.
    let (status, _) = app
        .post(
            &format!("/api/v1/users/{}/roles/revoke", placed.id),
            &admin_a.access,
            json!({"role": "grid_worker", "org_unit_id": p.village_a}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, list) = app
        .get("/api/v1/users?without_roles=true", &app.admin.access)
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["newcomer", "placed"]);
    let (status, problem) = app
        .get("/api/v1/users?without_roles=true", &admin_a.access)
        .await;
    assert_problem(status, &problem, 403, "forbidden");
    // Once without roles, the account is the whole system's: the village admin no longer manages it.
    let (status, problem) = app
        .post(
            &format!("/api/v1/users/{}/disable", placed.id),
            &admin_a.access,
            json!({}),
        )
        .await;
    assert_problem(status, &problem, 403, "forbidden");
}

#[tokio::test]
async fn the_cli_disables_enables_grants_revokes_and_moves() {
    let app = TestApp::spawn().await;
    let p = app.places().await;
    let worker = app
        .user_with("sun", &[(Role::GridWorker, Some(&p.village_a))])
        .await;
    let out = app.env.cli(&["user", "disable", "sun"], "").unwrap();
    assert!(out.contains("disabled"), "{out}");
    let (status, problem) = login(&app, &worker, &worker.password).await;
    assert_problem(status, &problem, 403, "account_disabled");
    assert_eq!(
        app.get("/api/v1/me", &worker.access).await.0,
        StatusCode::UNAUTHORIZED
    );
    app.env.cli(&["user", "enable", "sun"], "").unwrap();
    let out = app
        .env
        .cli(
            &[
                "user",
                "move",
                "sun",
                "grid_worker@130102001001",
                "130102001002",
            ],
            "",
        )
        .unwrap();
    assert!(
        out.contains("role grid_worker on 130102001002 乙社区"),
        "{out}"
    );
    let out = app
        .env
        .cli(&["user", "grant", "sun", "inspector@130102001000"], "")
        .unwrap();
    assert!(out.contains("role inspector on 130102001000"), "{out}");
    let err = app
        .env
        .cli(&["user", "revoke", "sun", "inspector@130102001001"], "")
        .unwrap_err();
    assert!(err.contains("does not hold"), "{err}");
    app.env
        .cli(&["user", "revoke", "sun", "grid_worker@130102001002"], "")
        .unwrap();
    app.env
        .cli(&["user", "revoke", "sun", "inspector@130102001000"], "")
        .unwrap();
    let out = app
        .env
        .cli(&["user", "list", "--without-roles"], "")
        .unwrap();
    assert!(out.lines().any(|l| l.starts_with("sun\t")), "{out}");
    assert!(!out.contains("admin\t"), "{out}");
    let (_, me) = login(&app, &worker, &worker.password).await;
    assert!(me["access_token"].is_string(), "an enabled account logs in");
}
