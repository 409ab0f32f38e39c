//! Benchmark: importing a 1,100-row handed-down list (the size in DOMAIN.md), every row assigned,
//! through the CLI's code path, beside the baseline of entering the same 1,100 issues one by one
//! through the HTTP API (report + assign) in the same run.
//!
//!     cargo bench -p closeout-tests --bench ledger_import [-- ROWS]
//!     CLOSEOUT_TEST_BACKEND=postgres cargo bench -p closeout-tests --bench ledger_import

#![allow(clippy::unwrap_used, clippy::expect_used)]

use closeout_tests::TestApp;
use serde_json::json;
use std::time::Instant;

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() {
    let rows: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1100);
    let app = TestApp::spawn_with(|s| s.ledger.escalation_interval_secs = 0).await;
    let c = app.cast().await;
    let due = (chrono::Utc::now() + chrono::Duration::days(30)).date_naive();
    let csv = closeout_tests::lists::assigned_list_csv(rows, &due.to_string());
    let path = app.env.data_dir.path().join("list.csv");
    std::fs::write(&path, csv).unwrap();

    let t = Instant::now();
    let out = app
        .env
        .cli(
            &[
                "issues",
                "import",
                path.to_str().unwrap(),
                "--as",
                "supervisor",
                "--quiet",
            ],
            "",
        )
        .unwrap();
    let import_s = t.elapsed().as_secs_f64();
    assert!(
        out.contains(&format!("{rows} issue(s) created, {rows} assigned")),
        "{out}"
    );

    let t = Instant::now();
    for i in 0..rows {
        let issue = app
            .report(&c.supervisor, &c.places.village_a, &format!("逐条{i}"))
            .await;
        let (status, _) = app
            .act(
                &c.supervisor,
                issue["id"].as_str().unwrap(),
                json!({"action": "assign", "responsible_unit_id": c.bureau, "responsible_user_id": c.responsible.id,
                       "target": "拆除到位", "deadline": due}),
            )
            .await;
        assert!(status.is_success());
    }
    let api_s = t.elapsed().as_secs_f64();
    println!(
        "ledger import benchmark: backend {:?}, {rows} rows, every row assigned",
        closeout_tests::backend()
    );
    println!(
        "import (one transaction, CLI path)   {import_s:>7.2} s  {:>8.0} rows/s",
        rows as f64 / import_s
    );
    println!(
        "baseline: HTTP report + assign each  {api_s:>7.2} s  {:>8.0} rows/s",
        rows as f64 / api_s
    );
    println!(
        "summary: {rows} rows imported in {import_s:.2} s, {:.1}x faster than entering them one by one",
        api_s / import_s
    );
}
