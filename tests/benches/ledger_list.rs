//! Benchmark: latency of `GET /api/v1/issues` (a page of 50) with 100,000 issues in the database,
//! against the same requests with 1,000 issues and against `/healthz` (the HTTP floor), all
//! measured in this run. SQLite by default; `CLOSEOUT_TEST_BACKEND=postgres` for PostgreSQL.
//!
//!     cargo bench -p closeout-tests --bench ledger_list [-- ISSUES REQUESTS]
//!
//! Target (issue 3): p99 < 20 ms on SQLite with 100,000 issues.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use closeout::ids::OrgUnitId;
use closeout_sync_protocol::Role;
use closeout_tests::TestApp;
use common::seed::{Place, seed};
use std::time::Instant;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

async fn measure(app: &TestApp, token: &str, path: &str, requests: usize) -> (f64, f64, f64) {
    for _ in 0..20 {
        app.get(path, token).await; // warm-up
    }
    let mut ms = Vec::with_capacity(requests);
    for _ in 0..requests {
        let t = Instant::now();
        let res = app
            .client
            .get(app.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{path}: {}", res.status());
        res.bytes().await.unwrap();
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (
        percentile(&ms, 0.5),
        percentile(&ms, 0.95),
        percentile(&ms, 0.99),
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let total = args.first().copied().unwrap_or(100_000);
    let requests = args.get(1).copied().unwrap_or(500);
    let backend = closeout_tests::backend();
    let app = TestApp::spawn_with(|s| {
        s.http.workers = Some(2);
        s.ledger.escalation_interval_secs = 0;
    })
    .await;
    let places = app.places().await;
    let mut villages = vec![
        Place {
            id: places.village_a.clone(),
            path: String::new(),
        },
        Place {
            id: places.village_b.clone(),
            path: String::new(),
        },
    ];
    for i in 3..=37 {
        let id = app
            .add_place(
                &format!("1301020010{i:02}"),
                &format!("{i}村"),
                "village",
                Some(&places.town),
            )
            .await;
        villages.push(Place {
            id,
            path: String::new(),
        });
    }
    let path_of = |id: &str| {
        let db = app.db();
        let row = closeout::db::org_units::find(
            &mut db.get().unwrap(),
            &OrgUnitId::from(uuid::Uuid::parse_str(id).unwrap()),
        )
        .unwrap()
        .unwrap();
        row.path
    };
    for v in &mut villages {
        v.path = path_of(&v.id);
    }
    let supervisor = app
        .user_with("supervisor", &[(Role::Supervisor, Some(&places.town))])
        .await;
    let worker = app
        .user_with("worker", &[(Role::GridWorker, Some(&places.village_a))])
        .await;

    let scenarios = [
        (
            "supervisor, first page",
            "/api/v1/issues?limit=50",
            &supervisor,
        ),
        (
            "supervisor, state=assigned,rectifying",
            "/api/v1/issues?limit=50&state=assigned,rectifying",
            &supervisor,
        ),
        (
            "supervisor, overdue=true",
            "/api/v1/issues?limit=50&overdue=true",
            &supervisor,
        ),
        (
            "supervisor, category + text",
            "/api/v1/issues?limit=50&category=road&q=%E5%9E%83%E5%9C%BE",
            &supervisor,
        ),
        (
            "grid worker of 1 of 37 villages",
            "/api/v1/issues?limit=50",
            &worker,
        ),
    ];

    println!(
        "ledger list benchmark: backend {backend:?}, {requests} sequential requests per scenario, page of 50"
    );
    let floor = measure(&app, &supervisor.access, "/healthz", requests).await;
    println!(
        "{:<42} p50 {:>6.2} ms  p95 {:>6.2} ms  p99 {:>6.2} ms",
        "/healthz (HTTP floor)", floor.0, floor.1, floor.2
    );
    let small = 1_000.min(total);
    let mut results = Vec::new();
    for (size, start) in [(small, 0), (total, small)] {
        let t = Instant::now();
        seed(
            &mut app.db().get().unwrap(),
            &villages,
            &places.county,
            start,
            size - start,
        );
        if backend == closeout_tests::Backend::Postgres {
            // What autovacuum does shortly after a bulk load in production: fresh planner statistics.
            use diesel::RunQueryDsl;
            diesel::sql_query("ANALYZE issues")
                .execute(&mut *app.db().get().unwrap())
                .unwrap();
        }
        println!(
            "-- {size} issues in the database (seeded {} more in {:.1} s)",
            size - start,
            t.elapsed().as_secs_f64()
        );
        for (name, path, user) in &scenarios {
            let r = measure(&app, &user.access, path, requests).await;
            println!(
                "{name:<42} p50 {:>6.2} ms  p95 {:>6.2} ms  p99 {:>6.2} ms",
                r.0, r.1, r.2
            );
            results.push((size, *name, r));
        }
        // Deep page: follow the cursor up to 20 pages in.
        let deep = (size / 50).saturating_sub(1).min(20);
        let mut path = "/api/v1/issues?limit=50".to_owned();
        for _ in 0..deep {
            let (_, page) = app.get(&path, &supervisor.access).await;
            path = format!(
                "/api/v1/issues?limit=50&cursor={}",
                page["next_cursor"].as_str().unwrap()
            );
        }
        let r = measure(&app, &supervisor.access, &path, requests).await;
        println!(
            "{:<42} p50 {:>6.2} ms  p95 {:>6.2} ms  p99 {:>6.2} ms",
            format!("supervisor, page {} (cursor)", deep + 1),
            r.0,
            r.1,
            r.2
        );
        results.push((size, "deep page", r));
    }
    let worst = results
        .iter()
        .filter(|(s, _, _)| *s == total)
        .map(|(_, _, r)| r.2)
        .fold(0.0, f64::max);
    let first_small = results
        .iter()
        .find(|(s, n, _)| *s == small && *n == "supervisor, first page")
        .unwrap()
        .2;
    let first_big = results
        .iter()
        .find(|(s, n, _)| *s == total && *n == "supervisor, first page")
        .unwrap()
        .2;
    println!(
        "summary: worst p99 with {total} issues {worst:.2} ms (target < 20 ms: {}); first page p99 {:.2} ms vs {:.2} ms with {small} ({:.2}x); HTTP floor p99 {:.2} ms",
        if worst < 20.0 { "met" } else { "NOT met" },
        first_big.2,
        first_small.2,
        first_big.2 / first_small.2,
        floor.2
    );
}
