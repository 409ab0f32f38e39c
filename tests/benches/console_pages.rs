//! Benchmark: server time of each console page (`/console/*`, logged in by the session cookie)
//! with 100,000 issues in the database, beside `/healthz` (the HTTP floor), measured in this run.
//! SQLite by default; `CLOSEOUT_TEST_BACKEND=postgres` for PostgreSQL.
//!
//!     cargo bench -p closeout-tests --bench console_pages [-- ISSUES REQUESTS]
//!
//! Target (issue 17): every page answers in under 100 ms (p95) with 100,000 issues.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use closeout::ids::OrgUnitId;
use closeout_sync_protocol::Role;
use closeout_tests::TestApp;
use common::seed::{Place, seed};
use reqwest::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use std::time::Instant;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn cookie(res: &reqwest::Response, name: &str) -> String {
    res.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .unwrap()
}

/// Logs in through the login form; returns the `Cookie` header value.
async fn console_login(
    http: &reqwest::Client,
    app: &TestApp,
    user: &str,
    password: &str,
) -> String {
    let page = http.get(app.url("/login")).send().await.unwrap();
    let pre = cookie(&page, "closeout_login_csrf");
    let html = page.text().await.unwrap();
    let at = html.find("name=\"csrf\" value=\"").unwrap() + 19;
    let token = &html[at..at + 64];
    let res = http
        .post(app.url("/login"))
        .header(COOKIE, format!("closeout_login_csrf={pre}"))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("username={user}&password={password}&csrf={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    format!("closeout_session={}", cookie(&res, "closeout_session"))
}

async fn measure(
    http: &reqwest::Client,
    app: &TestApp,
    cookie: &str,
    path: &str,
    requests: usize,
) -> (f64, f64, f64) {
    let mut ms = Vec::with_capacity(requests);
    for i in 0..requests + 10 {
        let t = Instant::now();
        let res = http
            .get(app.url(path))
            .header(COOKIE, cookie)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        assert!(status == 200 || status == 303, "{path}: {status}");
        res.bytes().await.unwrap();
        if i >= 10 {
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
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
    let requests = args.get(1).copied().unwrap_or(100);
    let backend = closeout_tests::backend();
    let app = TestApp::spawn_with(|s| {
        s.http.workers = Some(2);
        s.ledger.escalation_interval_secs = 0;
    })
    .await;
    let places = app.places().await;
    let mut villages = vec![places.village_a.clone(), places.village_b.clone()];
    for i in 3..=37 {
        villages.push(
            app.add_place(
                &format!("1301020010{i:02}"),
                &format!("{i}村"),
                "village",
                Some(&places.town),
            )
            .await,
        );
    }
    let villages: Vec<Place> = villages
        .into_iter()
        .map(|id| {
            let row = closeout::db::org_units::find(
                &mut app.db().get().unwrap(),
                &OrgUnitId::from(uuid::Uuid::parse_str(&id).unwrap()),
            )
            .unwrap()
            .unwrap();
            Place { id, path: row.path }
        })
        .collect();
    app.user_with("supervisor", &[(Role::Supervisor, Some(&places.county))])
        .await;
    let t = Instant::now();
    seed(
        &mut app.db().get().unwrap(),
        &villages,
        &places.county,
        0,
        total,
    );
    if backend == closeout_tests::Backend::Postgres {
        use diesel::RunQueryDsl;
        diesel::sql_query("ANALYZE issues")
            .execute(&mut *app.db().get().unwrap())
            .unwrap();
    }
    println!(
        "console pages benchmark: backend {backend:?}, {total} issues (seeded in {:.1} s), {requests} sequential requests per page",
        t.elapsed().as_secs_f64()
    );
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cookie = console_login(&http, &app, "supervisor", "supervisor-password").await;
    let (_, page) = app
        .get("/api/v1/issues?limit=1&state=submitted", &app.admin.access)
        .await;
    let issue = page["items"][0]["id"].as_str().unwrap().to_owned();
    let floor = measure(&http, &app, &cookie, "/healthz", requests).await;
    println!(
        "{:<40} p50 {:>6.2} ms  p95 {:>6.2} ms  p99 {:>6.2} ms",
        "/healthz (HTTP floor)", floor.0, floor.1, floor.2
    );
    let pages = [
        ("工作台 dashboard", "/console/".to_owned()),
        ("整改台账 ledger, first page", "/console/issues".to_owned()),
        (
            "整改台账 ledger, overdue",
            "/console/issues?overdue=true".to_owned(),
        ),
        (
            "整改台账 ledger, text search",
            "/console/issues?q=%E5%9E%83%E5%9C%BE&category=road".to_owned(),
        ),
        ("问题详情 issue", format!("/console/issues/{issue}")),
        (
            "验收 queue (redirect to first)",
            "/console/queue".to_owned(),
        ),
        ("交办清单导入 import form", "/console/import".to_owned()),
    ];
    let mut worst: f64 = 0.0;
    for (name, path) in &pages {
        let r = measure(&http, &app, &cookie, path, requests).await;
        worst = worst.max(r.1);
        println!(
            "{name:<40} p50 {:>6.2} ms  p95 {:>6.2} ms  p99 {:>6.2} ms",
            r.0, r.1, r.2
        );
    }
    println!(
        "summary: worst page p95 with {total} issues {worst:.2} ms (target < 100 ms: {})",
        if worst < 100.0 { "met" } else { "NOT met" }
    );
}
