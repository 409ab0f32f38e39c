//! Several replicas as operators run them (issue 16.10): two `closeout serve` processes on one
//! database, one data directory and one S3 server (s3s-fs), behind a round-robin load balancer.
//! Phones alternate between the replicas for push, pull and uploads; one replica is killed
//! (SIGKILL) in the middle of a push and nothing is lost or doubled; the escalation scheduler,
//! running in both, records each step once. On both databases.

use closeout::db::schema::issues;
use closeout_tests::photos::{
    S3_ACCESS_KEY, S3_SECRET_KEY, S3Server, metadata_for, samples, sha256_hex,
};
use closeout_tests::replicas::{RoundRobin, ServerProcess};
use closeout_tests::{TestApp, TestUser};
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

fn s3_settings(s3: &S3Server) -> Vec<(&'static str, String)> {
    vec![
        ("CLOSEOUT_PHOTOS__STORAGE__BACKEND", "s3".into()),
        ("CLOSEOUT_PHOTOS__STORAGE__ENDPOINT", s3.endpoint.clone()),
        ("CLOSEOUT_PHOTOS__STORAGE__BUCKET", s3.bucket.clone()),
        ("CLOSEOUT_PHOTOS__STORAGE__REGION", "us-east-1".into()),
        (
            "CLOSEOUT_PHOTOS__STORAGE__ACCESS_KEY_ID",
            S3_ACCESS_KEY.into(),
        ),
        (
            "CLOSEOUT_PHOTOS__STORAGE__SECRET_ACCESS_KEY",
            S3_SECRET_KEY.into(),
        ),
        ("CLOSEOUT_PHOTOS__STORAGE__ALLOW_HTTP", "true".into()),
    ]
}

async fn app_on_s3(s3: &S3Server) -> TestApp {
    let (endpoint, bucket) = (s3.endpoint.clone(), s3.bucket.clone());
    TestApp::spawn_with(move |s| {
        s.photos.storage = closeout::settings::PhotoStorage::S3 {
            endpoint,
            bucket,
            region: "us-east-1".into(),
            access_key_id: secrecy::SecretString::from(S3_ACCESS_KEY),
            secret_access_key: secrecy::SecretString::from(S3_SECRET_KEY),
            allow_http: true,
            virtual_hosted_style: false,
        };
    })
    .await
}

/// A client that opens a new connection for every request, so the balancer alternates.
fn phone_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

fn create(seq: u64, id: &str, place: &str) -> Value {
    json!({"id": uuid::Uuid::now_v7(), "seq": seq, "device_time": "2026-11-20T08:00:00+08:00",
           "body": {"type": "create_issue", "issue_id": id, "title": format!("副本{seq}"),
                    "category": "three_piles", "severity": "minor", "source": "grid_patrol",
                    "place_id": place}})
}

fn push_body(mutations: &[Value]) -> Value {
    json!({"protocol": 1, "sent_at": chrono::Utc::now(), "mutations": mutations})
}

async fn push(client: &reqwest::Client, base: &str, user: &TestUser, batch: &[Value]) -> Value {
    let res = client
        .post(format!("{base}/api/v1/sync/push"))
        .bearer_auth(&user.access)
        .json(&push_body(batch))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

/// Every issue id a full pull (pages of 50, each page through the balancer) gives `user`.
async fn pull_ids(client: &reqwest::Client, base: &str, user: &TestUser) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{base}/api/v1/sync/pull?limit=50");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let res = client
            .get(url)
            .bearer_auth(&user.access)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let page: Value = res.json().await.unwrap();
        for change in page["changes"].as_array().unwrap() {
            if change["op"] == "upsert" {
                ids.insert(change["issue"]["id"].as_str().unwrap().to_owned());
            }
        }
        cursor = Some(page["cursor"].as_str().unwrap().to_owned());
        if !page["has_more"].as_bool().unwrap() {
            return ids;
        }
    }
}

#[tokio::test]
async fn phones_alternate_between_replicas_for_push_pull_and_uploads() {
    let s3 = S3Server::start().await;
    let app = app_on_s3(&s3).await;
    let c = app.cast().await;
    let a = ServerProcess::start(&app.env, &s3_settings(&s3)).await;
    let b = ServerProcess::start(&app.env, &s3_settings(&s3)).await;
    let lb = RoundRobin::start(vec![a.addr.clone(), b.addr.clone()]).await;
    let client = phone_client();

    // Ten batches of ten reports, each batch through whichever replica the balancer picks.
    let started = std::time::Instant::now();
    let mut made = BTreeSet::new();
    for batch in 0..10u64 {
        let mutations: Vec<Value> = (1..=10)
            .map(|k| {
                let id = uuid::Uuid::now_v7().to_string();
                made.insert(id.clone());
                create(batch * 10 + k, &id, &c.places.village_a)
            })
            .collect();
        let resp = push(&client, &lb.base, &c.worker_a, &mutations).await;
        for r in resp["results"].as_array().unwrap() {
            assert_eq!(r["status"], "applied", "{r}");
        }
    }
    let pushed_in = started.elapsed();
    // The supervisor's pull pages alternate replicas too, and see every report once.
    let started = std::time::Instant::now();
    let pulled = pull_ids(&client, &lb.base, &c.supervisor).await;
    let pulled_in = started.elapsed();
    assert!(
        made.is_subset(&pulled),
        "{} of 100 pulled",
        made.intersection(&pulled).count()
    );

    // A photo: created through one replica, the rest sent through the other.
    let photo = std::fs::read(samples().join("HMD_Nokia_8.3_5G.jpg")).unwrap();
    let half = photo.len() / 2;
    let res = client
        .post(format!("{}/api/v1/uploads", lb.base))
        .bearer_auth(&c.worker_a.access)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", photo.len().to_string())
        .header("Upload-Metadata", metadata_for(&photo, &[]))
        .header("Content-Type", "application/offset+octet-stream")
        .body(photo[..half].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = res.headers()["Location"].to_str().unwrap().to_owned();
    let head = client
        .head(format!("{}{location}", lb.base))
        .bearer_auth(&c.worker_a.access)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()["Upload-Offset"], half.to_string().as_str());
    let res = client
        .patch(format!("{}{location}", lb.base))
        .bearer_auth(&c.worker_a.access)
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", half.to_string())
        .body(photo[half..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let sha = sha256_hex(&photo);
    let meta = client
        .get(format!("{}/api/v1/photos/{sha}/meta", lb.base))
        .bearer_auth(&c.worker_a.access)
        .send()
        .await
        .unwrap();
    assert_eq!(meta.status(), StatusCode::OK);
    let meta: Value = meta.json().await.unwrap();
    assert_eq!(meta["bytes"], photo.len());
    assert!(
        !s3.object_files().is_empty(),
        "the photo is in the object store"
    );

    let served = lb.served();
    assert!(
        served.iter().all(|n| *n >= 5),
        "both replicas answered phones: {served:?}"
    );
    println!(
        "replicas: 10 pushes of 10 in {pushed_in:?}, full pull ({} issues, pages of 50) in {pulled_in:?}, \
         connections per replica {served:?}, peak RSS {} / {} KiB",
        pulled.len(),
        a.peak_rss_kib(),
        b.peak_rss_kib()
    );
    for r in [&a, &b] {
        let log = r.log_text();
        assert!(!log.contains("deadlock"), "{log}");
        assert!(!log.contains("\"level\":\"ERROR\""), "{log}");
    }
}

#[tokio::test]
async fn a_replica_killed_mid_push_loses_nothing_and_the_resend_goes_through_the_other() {
    let s3 = S3Server::start().await;
    let app = app_on_s3(&s3).await;
    let c = app.cast().await;
    let mut a = ServerProcess::start(&app.env, &s3_settings(&s3)).await;
    let b = ServerProcess::start(&app.env, &s3_settings(&s3)).await;
    let lb = RoundRobin::start(vec![a.addr.clone(), b.addr.clone()]).await;
    let client = phone_client();

    // A phone pushes six batches of 500 reports, one after another, to replica A, which is
    // killed once the first batch has committed: while it works on a later one.
    const BATCHES: usize = 6;
    let ids: Vec<String> = (0..BATCHES * 500)
        .map(|_| uuid::Uuid::now_v7().to_string())
        .collect();
    let batches: Vec<Vec<Value>> = ids
        .chunks(500)
        .enumerate()
        .map(|(b, chunk)| {
            chunk
                .iter()
                .enumerate()
                .map(|(k, id)| create((b * 500 + k) as u64 + 1, id, &c.places.village_a))
                .collect()
        })
        .collect();
    let sender = {
        let (client, base, token, batches) = (
            client.clone(),
            a.base.clone(),
            c.worker_a.access.clone(),
            batches.clone(),
        );
        tokio::spawn(async move {
            let mut answered = 0;
            for batch in &batches {
                match client
                    .post(format!("{base}/api/v1/sync/push"))
                    .bearer_auth(&token)
                    .json(&push_body(batch))
                    .send()
                    .await
                {
                    Ok(r) if r.status() == StatusCode::OK => answered += 1,
                    _ => break,
                }
            }
            answered
        })
    };
    let stored = |ids: &[String]| -> i64 {
        issues::table
            .filter(issues::id.eq_any(ids))
            .count()
            .get_result(&mut *app.db().get().unwrap())
            .unwrap()
    };
    let mut waited = 0;
    while stored(&ids[..500]) < 500 {
        assert!(waited < 600, "the first batch never committed");
        tokio::time::sleep(Duration::from_millis(10)).await;
        waited += 1;
    }
    tokio::time::sleep(Duration::from_millis(40)).await;
    a.kill();
    let answered = sender.await.unwrap();
    assert!(answered < BATCHES, "A was killed before the phone finished");
    let before_resend = stored(&ids);

    // The phone resends every batch it holds unanswered... and, to be sure, all of them; the
    // balancer skips the dead replica.
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for batch in &batches {
        let resp = push(&client, &lb.base, &c.worker_a, batch).await;
        for r in resp["results"].as_array().unwrap() {
            *counts
                .entry(r["status"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
    }
    assert_eq!(counts.values().sum::<usize>(), ids.len(), "{counts:?}");
    assert!(
        counts.keys().all(|s| s == "applied" || s == "duplicate"),
        "every mutation applied once, before or after the kill: {counts:?}"
    );
    assert_eq!(
        counts.get("duplicate").copied().unwrap_or(0) as i64,
        before_resend,
        "what committed before the kill is answered duplicate, nothing else: {counts:?}"
    );
    assert!(
        before_resend >= 500 && before_resend % 500 == 0,
        "whole batches only: {before_resend}"
    );
    // Exactly the issues sent, each once, whatever the kill interrupted.
    assert_eq!(stored(&ids), ids.len() as i64);
    let pulled = pull_ids(&client, &lb.base, &c.supervisor).await;
    assert!(ids.iter().all(|id| pulled.contains(id)));
    println!(
        "killed mid-push: {answered} of {BATCHES} batches answered by A, {before_resend} reports \
         committed before the kill; resend {counts:?}"
    );
}

#[tokio::test]
async fn the_escalation_scheduler_in_every_replica_records_each_step_once() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let mut overdue = Vec::new();
    let deadline = (chrono::Utc::now() + chrono::Duration::days(9)).date_naive();
    for k in 0..6 {
        let id = app
            .report(&c.worker_a, &c.places.village_a, &format!("逾期{k}"))
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (status, body) = app.act(&c.supervisor, &id, json!({"action": "assign", "responsible_unit_id": c.bureau, "responsible_user_id": c.responsible.id, "target": "整改", "deadline": deadline})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        overdue.push(id);
    }
    // Time passes: 8 days overdue reaches 通报 (level 2 of the default 1, 7, 15, 30).
    let late = (chrono::Utc::now() - chrono::Duration::days(8)).date_naive();
    diesel::update(issues::table.filter(issues::id.eq_any(&overdue)))
        .set(issues::deadline.eq(late))
        .execute(&mut *app.db().get().unwrap())
        .unwrap();
    let every_second = [("CLOSEOUT_LEDGER__ESCALATION_INTERVAL_SECS", "1".to_owned())];
    let replicas = [
        ServerProcess::start(&app.env, &every_second).await,
        ServerProcess::start(&app.env, &every_second).await,
        ServerProcess::start(&app.env, &every_second).await,
    ];
    let levels = || -> Vec<i32> {
        issues::table
            .filter(issues::id.eq_any(&overdue))
            .select(issues::escalation_level)
            .load(&mut *app.db().get().unwrap())
            .unwrap()
    };
    let mut waited = 0;
    while levels().iter().any(|l| *l < 2) {
        assert!(waited < 300, "not escalated within 30 s: {:?}", levels());
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    // Let all three run a few more passes over the same issues.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for id in &overdue {
        let (_, issue) = app
            .get(&format!("/api/v1/issues/{id}"), &c.supervisor.access)
            .await;
        let steps: Vec<i64> = issue["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "escalate")
            .map(|e| e["data"]["level"].as_i64().unwrap())
            .collect();
        assert_eq!(steps, [1, 2], "{id}: each step once, in order");
    }
    for r in &replicas {
        let log = r.log_text();
        assert!(!log.contains("deadlock"), "{log}");
    }
}
