//! Benchmark: what compression saves on a realistic pull page — 1,000 issues as grid workers
//! report them (Chinese titles and descriptions, categories, located points, addresses), pulled
//! with `Accept-Encoding` identity, gzip and br. Prints bytes on the wire, the ratio, and the
//! median time until the whole page has arrived over loopback (7 runs each).
//!
//!     cargo bench -p closeout-tests --bench pull_compression
//!     CLOSEOUT_TEST_BACKEND=postgres cargo bench -p closeout-tests --bench pull_compression
//!
//! The sizes and ratios do not depend on the build; `--profile dev` (the tests' warm build) gives
//! them quickly, with unoptimised times.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Utc;
use closeout_sync_protocol::Role;
use closeout_tests::TestApp;
use serde_json::{Value, json};
use std::time::Instant;

const ISSUES: usize = 1_000;

const WHAT: [&str; 6] = [
    "垃圾堆放",
    "柴草乱堆",
    "污水直排",
    "乱贴乱画",
    "占道经营",
    "违章搭建",
];
const WHERE: [&str; 5] = ["村口", "桥东侧", "小学门前", "集市东头", "河堤下"];
const CATEGORY: [&str; 3] = ["three_piles", "street_occupation", "illegal_structure"];

fn create(place: &str, i: usize) -> Value {
    let what = WHAT[i % WHAT.len()];
    let severity = ["minor", "moderate", "severe"][i % 3];
    let spot = WHERE[(i / 7) % WHERE.len()];
    json!({"type": "create_issue", "issue_id": uuid::Uuid::now_v7(),
           "title": format!("{spot}{what}"),
           "description": format!("巡查发现{spot}{what}，面积约{}平方米，已拍照留存，请尽快处理。", 3 + i % 40),
           "category": CATEGORY[i % CATEGORY.len()], "severity": severity,
           "source": "grid_patrol", "place_id": place,
           "location": {"lat": 38.04 + (i as f64) * 0.000_13, "lon": 114.51 + (i as f64) * 0.000_17,
                        "accuracy_m": 5.0 + (i % 10) as f64, "address": format!("建北街道{}号", 1 + i % 300)}})
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let app = TestApp::spawn().await;
    let places = app.places().await;
    let worker = app
        .user_with("worker", &[(Role::GridWorker, Some(&places.village_a))])
        .await;
    for start in (0..ISSUES).step_by(500) {
        let mutations: Vec<Value> = (start..(start + 500).min(ISSUES))
            .map(|i| {
                json!({"id": uuid::Uuid::now_v7(), "seq": i + 1, "device_time": Utc::now(),
                            "body": create(&places.village_a, i)})
            })
            .collect();
        let (status, body) = app
            .post(
                "/api/v1/sync/push",
                &worker.access,
                json!({"protocol": 1, "sent_at": Utc::now(), "mutations": mutations}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    println!(
        "pull of {ISSUES} issues in one page (limit={ISSUES}), {:?}:",
        closeout_tests::backend()
    );
    let mut identity = 0usize;
    for encoding in ["identity", "gzip", "br"] {
        let mut times = Vec::new();
        let mut size = 0;
        for _ in 0..7 {
            let t = Instant::now();
            let res = app
                .client
                .get(app.url(&format!("/api/v1/sync/pull?limit={ISSUES}")))
                .bearer_auth(&worker.access)
                .header("Accept-Encoding", encoding)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            let sent = res
                .headers()
                .get("content-encoding")
                .map(|v| v.to_str().unwrap().to_owned());
            assert_eq!(
                sent.as_deref(),
                (encoding != "identity").then_some(encoding)
            );
            size = res.bytes().await.unwrap().len();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        if encoding == "identity" {
            identity = size;
        }
        println!(
            "  {encoding:>8}: {size:>9} bytes, ratio {:.1}x, answered in median {:.1} ms",
            identity as f64 / size as f64,
            median(times)
        );
    }
}
