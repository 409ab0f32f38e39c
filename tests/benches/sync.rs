//! Benchmark: push throughput (create_issue mutations in batches of 500) and pull time for 10,000
//! changes, with a same-run baseline (the same issues reported one by one over REST), and the pull
//! again after the database has grown (cost must follow the changes returned, not the database).
//!
//!     cargo bench -p closeout-tests --bench sync [-- PUSHED GROWN]
//!     CLOSEOUT_TEST_BACKEND=postgres cargo bench -p closeout-tests --bench sync
//!     CLOSEOUT_BENCH_WITHOUT_REFERENCE_CHECKS=1 CLOSEOUT_TEST_BACKEND=postgres cargo bench …  (experiment)
//!
//! Targets (issue 4): ≥ 20,000 mutations/s on SQLite, ≥ 10,000 on PostgreSQL; pull of 10,000
//! changes < 200 ms; pull with 1,000,000 issues within 1.5× of the time with 10,000.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Utc;
use closeout::db::write_transaction;
use closeout_sync_protocol::sync::PullResponse;
use closeout_tests::{TestApp, TestUser};
use serde_json::{Value, json};
use std::time::Instant;

fn create(place: &str, n: usize) -> Value {
    json!({"type": "create_issue", "issue_id": uuid::Uuid::now_v7(), "title": format!("巡查发现{n}"),
           "category": "three_piles", "severity": "minor", "source": "grid_patrol", "place_id": place})
}

async fn push_all(
    app: &TestApp,
    user: &TestUser,
    place: &str,
    total: usize,
    first_seq: usize,
) -> f64 {
    // The request bodies are made before the clock starts: building them is the phone's work.
    let bodies: Vec<Vec<u8>> = (0..total)
        .step_by(500)
        .map(|start| {
            let mutations: Vec<Value> = (start..(start + 500).min(total))
                .map(|i| json!({"id": uuid::Uuid::now_v7(), "seq": first_seq + i, "device_time": Utc::now(), "body": create(place, i)}))
                .collect();
            serde_json::to_vec(&json!({"protocol": 1, "sent_at": Utc::now(), "mutations": mutations}))
                .unwrap()
        })
        .collect();
    let t = Instant::now();
    for body in bodies {
        let res = app
            .client
            .post(app.url("/api/v1/sync/push"))
            .bearer_auth(&user.access)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        assert!(
            body["results"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["status"] == "applied"),
            "{body}"
        );
    }
    t.elapsed().as_secs_f64()
}

/// Pulling the newest `n` changes (cursor placed just before them), 7 times: the median time
/// until the whole answer has arrived, and the median time a phone then takes to parse it into
/// the protocol's types (not part of the server's figure, printed beside it).
async fn pull_latest(app: &TestApp, user: &TestUser, n: i64) -> (f64, f64) {
    let latest = closeout::db::changes::latest(&mut app.db().get().unwrap()).unwrap();
    let (_, probe) = app.get("/api/v1/sync/pull?limit=1", &user.access).await;
    // `2.{epoch}.{seq}.{scope}`: the probe's epoch and scope, a position `n` changes back.
    let probe = probe["cursor"].as_str().unwrap();
    let (head, scope) = probe.rsplit_once('.').unwrap();
    let (epoch, _) = head.rsplit_once('.').unwrap();
    let cursor = format!("{epoch}.{}.{scope}", latest - n);
    let mut answered = Vec::new();
    let mut parsed = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        let res = app
            .client
            .get(app.url(&format!("/api/v1/sync/pull?limit={n}&cursor={cursor}")))
            .bearer_auth(&user.access)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let body = res.bytes().await.unwrap();
        answered.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        let page: PullResponse = serde_json::from_slice(&body).unwrap();
        parsed.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(page.changes.len() as i64, n);
    }
    (median(answered), median(parsed))
}

fn median(mut times: Vec<f64>) -> f64 {
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    times[times.len() / 2]
}

/// Grows the database with issues elsewhere in the tree (another village), directly.
fn grow(app: &TestApp, place_id: &str, count: usize) {
    use closeout::db::models::IssueRow;
    use closeout::ids::{IssueId, OrgUnitId};
    let db = app.db();
    let mut conn = db.get().unwrap();
    let place = closeout::db::org_units::find(
        &mut conn,
        &OrgUnitId::from(uuid::Uuid::parse_str(place_id).unwrap()),
    )
    .unwrap()
    .unwrap();
    let now = Utc::now().naive_utc();
    for chunk in (0..count).collect::<Vec<_>>().chunks(10_000) {
        let rows: Vec<IssueRow> = chunk
            .iter()
            .map(|&n| IssueRow {
                id: IssueId::generate(),
                ledger_scope_id: place.id.clone(),
                ledger_no: format!("2025-{:07}", n + 1),
                title: format!("历史问题{n}"),
                description: String::new(),
                category: "other".into(),
                severity: "minor".into(),
                source: "grid_patrol".into(),
                place_id: place.id.clone(),
                place_path: place.path.clone(),
                lat: None,
                lon: None,
                accuracy_m: None,
                address: None,
                reporter_id: None,
                responsible_unit_id: None,
                responsible_unit_path: None,
                responsible_user_id: None,
                target: None,
                deadline: None,
                extension_deadline: None,
                extension_reason: None,
                escalation_level: 0,
                reopen_count: 0,
                state: "closed".into(),
                duplicate_of: None,
                version: 1,
                assigned_at: None,
                closed_at: Some(now.into()),
                created_at: now.into(),
                updated_at: now.into(),
                progress_on: None,
            })
            .collect();
        // Multi-row inserts, each issue with its change-feed entry, as a push writes them.
        write_transaction(&mut conn, |conn| {
            closeout::db::issues::insert_many(conn, &rows, &[])
        })
        .unwrap();
    }
}

/// An experiment, not a configuration: what checking the references of the rows a push writes
/// costs PostgreSQL (docs/benchmarks.md). The server never runs without the checks.
fn drop_reference_checks(app: &TestApp) {
    use diesel::RunQueryDsl;
    assert_eq!(
        closeout_tests::backend(),
        closeout_tests::Backend::Postgres,
        "the experiment is for PostgreSQL"
    );
    let mut conn = app.db().get().unwrap();
    for statement in [
        "DROP TRIGGER issues_references_inserted ON issues",
        "DROP TRIGGER issue_events_references_inserted ON issue_events",
        "DROP TRIGGER sync_mutations_references_inserted ON sync_mutations",
        "ALTER TABLE issues DROP CONSTRAINT issues_duplicate_of_fkey, \
             DROP CONSTRAINT issues_responsible_unit_id_fkey, \
             DROP CONSTRAINT issues_responsible_user_id_fkey",
    ] {
        diesel::sql_query(statement).execute(&mut *conn).unwrap();
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let pushed = args.first().copied().unwrap_or(20_000);
    let grown = args.get(1).copied().unwrap_or(1_000_000);
    let backend = closeout_tests::backend();
    let app = TestApp::spawn_with(|s| {
        s.http.workers = Some(2);
        s.ledger.escalation_interval_secs = 0;
    })
    .await;
    let c = app.cast().await;
    if std::env::var_os("CLOSEOUT_BENCH_WITHOUT_REFERENCE_CHECKS").is_some() {
        drop_reference_checks(&app);
        println!("EXPERIMENT: no reference checks on issues, issue_events and sync_mutations");
    }
    println!("sync benchmark: backend {backend:?}");

    // Baseline: 500 issues reported one by one over REST.
    let t = Instant::now();
    for i in 0..500 {
        app.report(&c.worker_a, &c.places.village_a, &format!("逐条{i}"))
            .await;
    }
    let rest_rate = 500.0 / t.elapsed().as_secs_f64();
    let secs = push_all(&app, &c.worker_a, &c.places.village_a, pushed, 1).await;
    let rate = pushed as f64 / secs;
    println!(
        "push: {pushed} create_issue mutations in batches of 500: {secs:.2} s = {rate:.0} mutations/s"
    );
    println!(
        "baseline: the same report over REST, one request each: {rest_rate:.0} issues/s ({:.1}x)",
        rate / rest_rate
    );

    let (small, small_parse) = pull_latest(&app, &c.supervisor, 10_000).await;
    let issues_small = 500 + pushed;
    println!(
        "pull 10,000 changes with {issues_small} issues in the database: answered in median {small:.1} ms (then parsed by the client in {small_parse:.1} ms)"
    );
    let t = Instant::now();
    grow(&app, &c.places.village_b, grown);
    println!(
        "(grew the database by {grown} issues in {:.0} s)",
        t.elapsed().as_secs_f64()
    );
    if backend == closeout_tests::Backend::Postgres {
        use diesel::RunQueryDsl;
        diesel::sql_query("ANALYZE")
            .execute(&mut *app.db().get().unwrap())
            .unwrap();
    }
    // New changes in A after the growth, so the newest 10,000 are A's again.
    push_all(&app, &c.worker_a, &c.places.village_a, 10_000, pushed + 1).await;
    let (big, big_parse) = pull_latest(&app, &c.supervisor, 10_000).await;
    println!(
        "pull 10,000 changes with {} issues in the database: answered in median {big:.1} ms (then parsed by the client in {big_parse:.1} ms)",
        issues_small + grown + 10_000
    );
    println!(
        "summary: push {rate:.0} mutations/s (target {}: {}); pull 10,000 {small:.1} ms (target < 200 ms: {}); grown/small {:.2}x (target <= 1.5x: {})",
        if backend == closeout_tests::Backend::Postgres {
            "10,000"
        } else {
            "20,000"
        },
        if rate
            >= if backend == closeout_tests::Backend::Postgres {
                10_000.0
            } else {
                20_000.0
            }
        {
            "met"
        } else {
            "NOT met"
        },
        if small < 200.0 { "met" } else { "NOT met" },
        big / small,
        if big / small <= 1.5 { "met" } else { "NOT met" }
    );
}
