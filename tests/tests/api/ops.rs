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

/// Made-up HTTP methods and unknown paths do not grow the metric label set.
#[tokio::test]
async fn metric_labels_stay_bounded_whatever_clients_send() {
    let app = TestApp::spawn().await;
    for i in 0..40 {
        let method = reqwest::Method::from_bytes(format!("MADEUP{i}").as_bytes()).unwrap();
        let _ = app
            .client
            .request(method, app.url(&format!("/no/such/path/{i}")))
            .send()
            .await
            .unwrap();
    }
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!text.contains("MADEUP"), "a made-up method became a label");
    assert!(!text.contains("/no/such/path"), "a raw path became a label");
    assert!(
        text.contains("method=\"other\",route=\"unmatched\""),
        "{text}"
    );
}

/// Uptime monitors use HEAD: it answers wherever GET does, with the headers and no body.
#[tokio::test]
async fn head_answers_wherever_get_does() {
    let app = TestApp::spawn().await;
    for path in [
        "/healthz",
        "/readyz",
        "/openapi.json",
        "/metrics",
        "/api/v1/me",
    ] {
        let res = app
            .client
            .head(app.url(path))
            .bearer_auth(&app.admin.access)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "HEAD {path}");
        assert!(
            res.bytes().await.unwrap().is_empty(),
            "HEAD {path} sent a body"
        );
    }
    // Without a token, HEAD is refused like GET.
    let res = app.client.head(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

/// The data directory and the database hold password hashes, phone numbers and complaints:
/// created readable by the owner only.
#[tokio::test]
async fn data_directory_and_database_are_created_private() {
    use std::os::unix::fs::PermissionsExt;
    let app = TestApp::spawn_with(|s| s.data_dir = s.data_dir.join("fresh/data")).await;
    let _ = app.get("/api/v1/me", &app.admin.access).await;
    let dir = app.env.settings.data_dir.clone();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700, "{}", dir.display());
    if closeout_tests::backend() == closeout_tests::Backend::Sqlite {
        for file in ["closeout.db", "closeout.db-wal", "closeout.db-shm"] {
            let path = dir.join(file);
            if path.exists() {
                assert_eq!(mode(&path), 0o600, "{}", path.display());
            }
        }
        assert!(dir.join("closeout.db").exists());
    }
}

/// The Grafana dashboard shipped in docs/grafana/closeout.json queries only metrics /metrics
/// exposes: every `closeout_…` name in its expressions is a series of a live server's scrape
/// (after a push and a pull, so the labelled ones have children). Also the process metrics carry
/// real figures.
#[tokio::test]
async fn every_metric_the_grafana_dashboard_queries_is_exposed() {
    let app = TestApp::spawn().await;
    let places = app.places().await;
    let worker = app
        .user_with(
            "metrics-worker",
            &[(
                closeout_tests::protocol::Role::GridWorker,
                Some(&places.village_a),
            )],
        )
        .await;
    let issue = uuid::Uuid::now_v7().to_string();
    let (status, body) = app
        .post(
            "/api/v1/sync/push",
            &worker.access,
            serde_json::json!({"protocol": 1, "sent_at": chrono::Utc::now(), "mutations": [
                {"id": uuid::Uuid::now_v7(), "seq": 1, "device_time": "2026-11-20T08:00:00Z",
                 "body": {"type": "create_issue", "issue_id": issue, "title": "占道经营",
                          "category": "three_piles", "severity": "minor", "source": "grid_patrol",
                          "place_id": places.village_a}}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = app.get("/api/v1/sync/pull", &worker.access).await;
    assert_eq!(status, StatusCode::OK);
    let scrape = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let series: std::collections::HashSet<&str> = scrape
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .collect();

    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/grafana/closeout.json");
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut queried = std::collections::BTreeSet::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            let mut rest = expr;
            while let Some(at) = rest.find("closeout_") {
                let name: String = rest[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                rest = &rest[at + name.len()..];
                queried.insert(name);
            }
        }
    }
    assert!(queried.len() >= 15, "the dashboard queries {queried:?}");
    let missing: Vec<_> = queried
        .iter()
        .filter(|name| !series.contains(name.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "queried by the dashboard, not in /metrics: {missing:?}"
    );

    let value = |name: &str| -> f64 {
        scrape
            .lines()
            .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(' ')))
            .unwrap_or_else(|| panic!("{name} not in /metrics"))
            .parse()
            .unwrap()
    };
    assert!(value("closeout_process_resident_memory_bytes") > 1e6);
    assert!(value("closeout_process_open_fds") >= 3.0);
    assert!(value("closeout_process_cpu_seconds_total") > 0.0);
    assert!(
        scrape.contains("closeout_sync_push_mutations_total{result=\"applied\"} 1"),
        "{scrape}"
    );
    assert!(scrape.contains("closeout_sync_pull_duration_seconds_count 1"));
    assert!(scrape.contains("closeout_sync_held_backlog 0"));
}
