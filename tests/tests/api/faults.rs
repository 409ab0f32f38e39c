//! Storage faults get honest answers: a write lock held by another process, a database that
//! stops answering. Every 503 carries `Retry-After`.

use closeout_tests::{Backend, TestApp, assert_problem, backend};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A long import or a VACUUM in another process holds SQLite's write lock: writes answer 503
/// `database_unavailable` with `Retry-After` once busy_timeout has passed, nothing is written,
/// and the same request succeeds when the lock is gone.
#[tokio::test]
async fn sqlite_write_lock_held_by_another_process_answers_503_with_retry_after() {
    if backend() != Backend::Sqlite {
        eprintln!("skipped: the write lock held by another process is SQLite's file lock");
        return;
    }
    let app = TestApp::spawn_with(|s| s.database.busy_timeout_ms = 300).await;
    let path = app.env.data_dir.path().join("closeout.db");
    let mut other = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
    other.batch_execute("BEGIN IMMEDIATE").unwrap();

    let category =
        json!({"code": "noise_at_night", "name_zh": "夜间噪音", "name_en": "Noise at night"});
    let res = app
        .client
        .post(app.url("/api/v1/issue-categories"))
        .bearer_auth(&app.admin.access)
        .json(&category)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let retry_after = res.headers().get("retry-after").cloned();
    let body: serde_json::Value = res.json().await.unwrap();
    assert_problem(status, &body, 503, "database_unavailable");
    assert!(retry_after.is_some(), "503 without Retry-After");

    other.batch_execute("ROLLBACK").unwrap();
    let (status, body) = app
        .post("/api/v1/issue-categories", &app.admin.access, category)
        .await;
    assert!(status.is_success(), "{status} {body}");
}

/// Forwards TCP to PostgreSQL on its own threads (the server's pool connects from blocking
/// code) until cut: cutting it is a database outage.
struct Cut {
    port: u16,
    cut: Arc<AtomicBool>,
    streams: Arc<Mutex<Vec<std::net::TcpStream>>>,
}

impl Cut {
    fn to(target: String) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(AtomicBool::new(false));
        let streams = Arc::new(Mutex::new(Vec::new()));
        let (flag, open) = (cut.clone(), streams.clone());
        std::thread::spawn(move || {
            for inbound in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    return; // the listener closes: new connections are refused
                }
                let Ok(inbound) = inbound else { continue };
                let Ok(outbound) = std::net::TcpStream::connect(&target) else {
                    continue;
                };
                let pairs = [
                    (inbound.try_clone().unwrap(), outbound.try_clone().unwrap()),
                    (outbound.try_clone().unwrap(), inbound.try_clone().unwrap()),
                ];
                open.lock().unwrap().extend([inbound, outbound]);
                for (mut from, mut to) in pairs {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        Self { port, cut, streams }
    }

    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for s in self.streams.lock().unwrap().drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port)); // wakes accept
    }
}

/// During a PostgreSQL outage readiness answers within about a second (not the pool's 5 s
/// acquire timeout), 503 `database_unavailable` with `Retry-After`.
#[tokio::test]
async fn readiness_answers_within_a_second_during_a_postgres_outage() {
    if backend() != Backend::Postgres {
        eprintln!("skipped: an outage of the database server is PostgreSQL's (SQLite is a file)");
        return;
    }
    let env_url = std::env::var("CLOSEOUT_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let host_port = env_url
        .split('@')
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .to_owned();
    let proxy = Cut::to(host_port.clone());
    let port = proxy.port;
    let app = TestApp::spawn_with(move |s| {
        use secrecy::ExposeSecret;
        let url = s.database_url.as_ref().unwrap().expose_secret().to_owned();
        let url = url.replacen(&host_port, &format!("127.0.0.1:{port}"), 1);
        s.database_url = Some(url.into());
    })
    .await;
    let res = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), 200);

    proxy.cut();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let res = app.client.get(app.url("/readyz")).send().await.unwrap();
    let took = started.elapsed();
    let status = res.status();
    let retry_after = res.headers().get("retry-after").cloned();
    let body: serde_json::Value = res.json().await.unwrap();
    assert_problem(status, &body, 503, "database_unavailable");
    assert!(retry_after.is_some(), "503 without Retry-After");
    assert!(
        took < Duration::from_millis(2_000),
        "readiness took {took:?}"
    );
}
