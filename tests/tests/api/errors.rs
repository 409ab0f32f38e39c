//! Bad input of every kind gets a 4xx problem with its own code, never a 500.

use closeout_tests::{TestApp, assert_problem};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn raw(
    app: &TestApp,
    method: Method,
    path: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> (StatusCode, Value, String) {
    let res = app
        .client
        .request(method, app.url(path))
        .bearer_auth(&app.admin.access)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let ctype = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        ctype,
    )
}

#[tokio::test]
async fn malformed_bodies_each_get_their_own_code() {
    let app = TestApp::spawn_with(|s| s.http.json_limit_bytes = 4096).await;
    let json = "application/json";
    let cases: Vec<(&str, String, u16, &str)> = vec![
        (json, "{\"name\": ".into(), 400, "malformed_json"),
        (json, "not json at all".into(), 400, "malformed_json"),
        (
            json,
            r#"{"name": 5, "level": "grid"}"#.into(),
            422,
            "invalid_field",
        ),
        (
            json,
            r#"{"name": "x", "level": "grid", "colour": "red"}"#.into(),
            422,
            "invalid_field",
        ),
        (
            json,
            r#"{"name": "x", "level": "hamlet"}"#.into(),
            422,
            "invalid_field",
        ),
        (json, r#"{"level": "grid"}"#.into(), 422, "invalid_field"),
        (
            json,
            format!(r#"{{"name": "{}", "level": "grid"}}"#, "长".repeat(5000)),
            413,
            "payload_too_large",
        ),
        (
            "text/plain",
            r#"{"name": "x", "level": "grid"}"#.into(),
            415,
            "unsupported_media_type",
        ),
    ];
    for (ctype, body, status, code) in cases {
        let (got, problem, response_type) =
            raw(&app, Method::POST, "/api/v1/org-units", ctype, body.clone()).await;
        assert_problem(got, &problem, status, code);
        assert_eq!(response_type, "application/problem+json", "for {body:.60}");
    }
    // Nothing was written by any of them.
    let (_, list) = app.get("/api/v1/org-units", &app.admin.access).await;
    assert_eq!(list, json!([]));
}

#[tokio::test]
async fn bad_paths_queries_routes_and_methods() {
    let app = TestApp::spawn().await;
    let token = app.admin.access.clone();
    let (status, body) = app.get("/api/v1/org-units/not-a-uuid", &token).await;
    assert_problem(status, &body, 400, "invalid_id");
    let (status, body) = app.get("/api/v1/org-units?limit=lots", &token).await;
    assert_problem(status, &body, 400, "invalid_query");
    let (status, body) = app.get("/api/v1/org-units?parent_id=123", &token).await;
    assert_problem(status, &body, 400, "invalid_query");
    let (status, body) = app.get("/api/v1/no-such-thing", &token).await;
    assert_problem(status, &body, 404, "route_not_found");
    let (status, body) = app
        .call(Method::DELETE, "/api/v1/users", Some(&token), None)
        .await;
    assert_problem(status, &body, 405, "method_not_allowed");
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "admin"})),
        )
        .await;
    assert_problem(status, &body, 422, "invalid_field");
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "admin", "password": "x", "device_id": ""})),
        )
        .await;
    assert_problem(status, &body, 422, "invalid_field");
}

#[tokio::test]
async fn conflicts_and_rule_violations_are_4xx_and_write_nothing() {
    let app = TestApp::spawn().await;
    let p = app.places().await;
    let token = app.admin.access.clone();
    // A code used twice.
    let (status, body) = app
        .post("/api/v1/org-units", &token, json!({"code": "130102001001", "name": "重复", "level": "village", "parent_id": p.town}))
        .await;
    assert_problem(status, &body, 409, "org_unit_code_taken");
    // A village under a village.
    let (status, body) = app
        .post("/api/v1/org-units", &token, json!({"code": "130102001009", "name": "村中村", "level": "village", "parent_id": p.village_a}))
        .await;
    assert_problem(status, &body, 422, "invalid_org_level");
    // A parent that does not exist.
    let (status, body) = app
        .post(
            "/api/v1/org-units",
            &token,
            json!({"name": "孤儿", "level": "grid", "parent_id": uuid::Uuid::now_v7()}),
        )
        .await;
    assert_problem(status, &body, 404, "not_found");
    // Users: taken name, short password, bad username, the same role twice.
    let user = |name: &str, pw: &str, roles: Value| json!({"username": name, "display_name": "x", "password": pw, "roles": roles});
    let (status, body) = app
        .post(
            "/api/v1/users",
            &token,
            user("admin", "long-enough-pw", json!([])),
        )
        .await;
    assert_problem(status, &body, 409, "username_taken");
    let (status, body) = app
        .post("/api/v1/users", &token, user("chen", "short", json!([])))
        .await;
    assert_problem(status, &body, 422, "invalid_field");
    let (status, body) = app
        .post(
            "/api/v1/users",
            &token,
            user("a b", "long-enough-pw", json!([])),
        )
        .await;
    assert_problem(status, &body, 422, "invalid_field");
    let twice = json!([{"role": "inspector", "org_unit_id": p.town}, {"role": "inspector", "org_unit_id": p.town}]);
    let (status, body) = app
        .post(
            "/api/v1/users",
            &token,
            user("chen", "long-enough-pw", twice),
        )
        .await;
    assert_problem(status, &body, 409, "duplicate_role_assignment");
    let (status, body) = app
        .post(
            "/api/v1/users",
            &token,
            user(
                "chen",
                "long-enough-pw",
                json!([{"role": "mayor", "org_unit_id": null}]),
            ),
        )
        .await;
    assert_problem(status, &body, 422, "invalid_field");
    // None of that left a trace.
    let (_, users) = app.get("/api/v1/users", &token).await;
    assert_eq!(users.as_array().unwrap().len(), 1);
    let (_, places) = app.get("/api/v1/org-units", &token).await;
    assert_eq!(places.as_array().unwrap().len(), 8);
}
