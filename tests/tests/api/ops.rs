//! Health, readiness, metrics, the OpenAPI document and the offline API docs.

use closeout_tests::TestApp;
use reqwest::StatusCode;

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = TestApp::spawn().await;
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers().contains_key("x-request-id"),
        "every response carries a request id"
    );
    let res = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let ready: serde_json::Value = res.json().await.unwrap();
    let expected = match closeout_tests::backend() {
        closeout_tests::Backend::Sqlite => "sqlite",
        closeout_tests::Backend::Postgres => "postgres",
    };
    assert_eq!(ready["database"], expected);

    let _ = app.get("/api/v1/me", &app.admin.access).await;
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(
            "closeout_http_requests_total{method=\"GET\",route=\"/api/v1/me\",status=\"200\"}"
        ),
        "{text}"
    );
    assert!(text.contains("closeout_http_request_duration_seconds_bucket"));
    assert!(text.contains("closeout_db_pool_connections"));
}

#[tokio::test]
async fn openapi_document_and_interactive_docs_are_served_offline() {
    let app = TestApp::spawn().await;
    let doc: serde_json::Value = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/me",
        "/api/v1/org-units",
        "/api/v1/users",
        "/readyz",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }
    assert!(doc["components"]["schemas"].get("Problem").is_some());
    let res = app.client.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
    let html = app
        .client
        .get(app.url("/docs/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("swagger-ui"), "{html:.200}");
    // The UI's script is served by us, not fetched from a CDN.
    let js = app
        .client
        .get(app.url("/docs/swagger-ui-bundle.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), StatusCode::OK);
    assert!(
        !html.contains("https://"),
        "the docs page must not load anything from the internet"
    );
}

/// Phone teams generate clients from this document: it must pass openapi-spec-validator, name every
/// operation uniquely, define every schema it references and declare errors as problem+json.
#[tokio::test]
async fn openapi_document_is_valid_and_declares_problem_errors() {
    let app = TestApp::spawn().await;
    let text = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();

    let mut ids = std::collections::HashSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap_or_default();
            assert!(
                ids.insert(id.to_owned()),
                "{method} {path}: operationId {id} repeats"
            );
            for (status, response) in op["responses"].as_object().unwrap() {
                if status.starts_with('2') || status.starts_with('3') {
                    continue;
                }
                if let Some(content) = response.get("content") {
                    assert!(
                        content.get("application/json").is_none()
                            && content.get("application/problem+json").is_some(),
                        "{method} {path} {status}: errors are application/problem+json"
                    );
                }
            }
            assert!(
                method == "head" || path == "/healthz" || op["responses"].get("503").is_some(),
                "{method} {path}: 503 not declared"
            );
        }
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for reference in text.split("#/components/schemas/").skip(1) {
        let name: String = reference
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
            .collect();
        assert!(
            schemas.contains_key(&name),
            "{name} is referenced but not defined"
        );
    }
    // The pull feed's entries are the sync protocol's Change, not the bulletin's comparison.
    let pull = &doc["components"]["schemas"]["PullResponse"]["properties"]["changes"]["items"];
    let change = pull["$ref"].as_str().unwrap().rsplit('/').next().unwrap();
    assert!(
        schemas[change].to_string().contains("upsert"),
        "PullResponse.changes points at {change}: {}",
        schemas[change]
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, &text).unwrap();
    let validator = closeout_tests::photos::tools_dir().join("python/bin/openapi-spec-validator");
    assert!(
        validator.exists(),
        "openapi-spec-validator is not installed at {}: run scripts/ensure-test-tools (scripts/test does)",
        validator.display()
    );
    let out = std::process::Command::new(&validator)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openapi-spec-validator: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
