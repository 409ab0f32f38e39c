//! Ten phones pushing at once (issue 13, defects 2 and 3): mixed batches — creates, edits of
//! shared issues, comments — from parallel tasks on a multi-threaded runtime, to one server and to
//! two servers on one database. No 5xx, no rejection at all (so no `concurrent_update`, no
//! `internal`), no write race left to a phone (the retry counter stays 0 on both servers: with one
//! lock order there is no deadlock to retry), edits of different fields of one issue all land, and
//! two edits of the same field give exactly one `applied` and one `conflict`.

use super::*;
use closeout_tests::protocol::Role;
use std::time::Instant;

const PHONES: usize = 10;
const BATCHES: usize = 3;
const CREATES_PER_BATCH: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_phones_pushing_at_once_to_one_server() {
    phones_pushing_at_once(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_phones_pushing_at_once_to_two_servers_on_one_database() {
    phones_pushing_at_once(true).await;
}

async fn phones_pushing_at_once(two_servers: bool) {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let replica = two_servers.then(|| app.replica());
    let mut bases = vec![app.base.clone()];
    if let Some(r) = &replica {
        bases.push(r.base.clone());
    }
    let village = c.places.village_a.clone();
    // Pairs: a grid worker of the village and a supervisor of its town.
    let mut phones = Vec::new();
    for p in 0..PHONES {
        let role = if p % 2 == 0 {
            (Role::GridWorker, Some(village.as_str()))
        } else {
            (Role::Supervisor, Some(c.places.town.as_str()))
        };
        phones.push(app.user_with(&format!("phone-{p}"), &[role]).await);
    }
    // Each pair shares one issue (the grid worker's report) whose different fields they edit,
    // and one whose severity they both set, to different values.
    let mut different = Vec::new();
    let mut same = Vec::new();
    for k in 0..PHONES / 2 {
        let reporter = &phones[2 * k];
        let d = app.report(reporter, &village, &format!("共享{k}")).await;
        let s = app.report(reporter, &village, &format!("同项{k}")).await;
        different.push(d["id"].as_str().unwrap().to_owned());
        same.push(s["id"].as_str().unwrap().to_owned());
    }
    let client = reqwest::Client::new();
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(PHONES));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (p, phone) in phones.iter().enumerate() {
        let base = bases[p % bases.len()].clone();
        let token = phone.access.clone();
        let (client, barrier, village) = (client.clone(), barrier.clone(), village.clone());
        let (d, s) = (different[p / 2].clone(), same[p / 2].clone());
        tasks.push(tokio::spawn(async move {
            let mut seq = 0u64;
            let mut answers = Vec::new();
            barrier.wait().await;
            for b in 0..BATCHES {
                let mut batch = Vec::new();
                let mut next = |body: Value| {
                    seq += 1;
                    mutation(seq, body)
                };
                let mine: Vec<String> = (0..CREATES_PER_BATCH)
                    .map(|_| uuid::Uuid::now_v7().to_string())
                    .collect();
                for (i, id) in mine.iter().enumerate() {
                    batch.push(next(create(id, &village, &format!("手机{p}批{b}号{i}"))));
                }
                if b == 0 {
                    let field = if p % 2 == 0 { "title" } else { "description" };
                    batch.push(next(
                        json!({"type": "update_issue", "issue_id": d, "base_version": 1,
                        "fields": {field: format!("{field}-{p}")}}),
                    ));
                    let severity = if p % 2 == 0 { "serious" } else { "critical" };
                    batch.push(next(
                        json!({"type": "update_issue", "issue_id": s, "base_version": 1,
                        "fields": {"severity": severity}}),
                    ));
                }
                batch.push(next(
                    json!({"type": "update_issue", "issue_id": mine[0], "base_version": 1,
                    "fields": {"description": format!("补充{p}-{b}")}}),
                ));
                for issue in [&d, &s, &mine[1]] {
                    batch.push(next(json!({"type": "transition", "issue_id": issue,
                        "request": {"action": "comment", "comment": format!("手机{p}第{b}批")}})));
                }
                let res = client
                    .post(format!("{base}/api/v1/sync/push"))
                    .bearer_auth(&token)
                    .json(
                        &json!({"protocol": 1, "sent_at": chrono::Utc::now(), "mutations": batch}),
                    )
                    .send()
                    .await
                    .unwrap();
                let status = res.status();
                let body: Value = res.json().await.unwrap_or(Value::Null);
                answers.push((status, batch.len(), body));
            }
            answers
        }));
    }
    let mut mutations = 0;
    let mut same_field: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (p, task) in tasks.into_iter().enumerate() {
        for (b, (status, sent, body)) in task.await.unwrap().into_iter().enumerate() {
            assert_eq!(status, StatusCode::OK, "phone {p} batch {b}: {body}");
            let results = body["results"].as_array().unwrap();
            assert_eq!(results.len(), sent);
            mutations += sent;
            for r in results {
                assert!(
                    matches!(r["status"].as_str(), Some("applied" | "conflict")),
                    "phone {p} batch {b}: {r}"
                );
            }
            if b == 0 {
                let severity = &results[CREATES_PER_BATCH + 1];
                same_field
                    .entry(same[p / 2].clone())
                    .or_default()
                    .push(severity["status"].as_str().unwrap().to_owned());
                assert_eq!(
                    results[CREATES_PER_BATCH]["status"], "applied",
                    "different fields: {body}"
                );
            }
        }
    }
    let wall = started.elapsed();
    for (issue, mut outcomes) in same_field {
        outcomes.sort();
        assert_eq!(outcomes, ["applied", "conflict"], "same field of {issue}");
    }
    for (k, id) in different.iter().enumerate() {
        let (_, issue) = app
            .get(&format!("/api/v1/issues/{id}"), &c.supervisor.access)
            .await;
        let issue = if issue["issue"].is_object() {
            &issue["issue"]
        } else {
            &issue
        };
        assert_eq!(issue["title"], format!("title-{}", 2 * k), "{issue}");
        assert_eq!(
            issue["description"],
            format!("description-{}", 2 * k + 1),
            "{issue}"
        );
    }
    let (_, conflicts) = app
        .get("/api/v1/sync/conflicts", &c.supervisor.access)
        .await;
    assert_eq!(
        conflicts.as_array().unwrap().len(),
        PHONES / 2,
        "{conflicts}"
    );
    let mut retries = 0;
    for base in &bases {
        let text = client
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        retries += text
            .lines()
            .find(|l| l.starts_with("closeout_sync_push_retries_total "))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0) as u64;
    }
    // The figures docs/benchmarks.md quotes.
    println!(
        "concurrency: {PHONES} phones, {} server(s), {mutations} mutations in {:.2} s, {retries} retries",
        bases.len(),
        wall.as_secs_f64()
    );
    assert_eq!(
        retries, 0,
        "write races left to retry: the lock order is not one order"
    );
}
