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

/// The disk under the data directory fills up (a 16 MiB tmpfs, filled to the last byte): reads
/// still answer; user creation, login (it writes a session) and a photo upload answer 507
/// `disk_full` with `Retry-After`, and nothing is half-written — once space returns, the same
/// user is created afresh (201, not 409), logs in, and the upload goes through. On PostgreSQL the
/// database is on the server's own disk, so only the photo bytes (data directory) hit the fault.
#[tokio::test]
async fn disk_full_answers_507_writes_nothing_and_recovers_when_space_returns() {
    use closeout_tests::disk::SmallDisk;
    use closeout_tests::photos::{fresh_jpeg, metadata_for};
    let disk = match SmallDisk::mount(16) {
        Ok(disk) => disk,
        Err(reason) => {
            eprintln!("skipped: {reason}");
            return;
        }
    };
    let dir = disk.path().to_path_buf();
    let app = TestApp::spawn_with(move |s| s.data_dir = dir).await;
    let places = app.places().await;
    let photo = fresh_jpeg();
    let new_user = json!({"username": "wang", "display_name": "王督查", "password": "wang-password-1",
                          "roles": [{"role": "inspector", "org_unit_id": places.town}]});

    let filled = disk.fill();
    assert!(filled > 0, "nothing was written to fill the disk");
    let (status, body) = app.get("/api/v1/me", &app.admin.access).await;
    assert_eq!(status, 200, "a read on a full disk: {body}");

    if backend() == Backend::Sqlite {
        let res = app
            .client
            .post(app.url("/api/v1/users"))
            .bearer_auth(&app.admin.access)
            .json(&new_user)
            .send()
            .await
            .unwrap();
        let (status, retry) = (res.status(), res.headers().get("retry-after").cloned());
        let body: serde_json::Value = res.json().await.unwrap();
        assert_problem(status, &body, 507, "disk_full");
        assert!(retry.is_some(), "507 without Retry-After");

        let (status, body) = app
            .call(
                reqwest::Method::POST,
                "/api/v1/auth/login",
                None,
                Some(
                    json!({"username": "admin", "password": closeout_tests::ADMIN_PASSWORD,
                            "device_id": "second-laptop"}),
                ),
            )
            .await;
        assert_problem(status, &body, 507, "disk_full");
    }
    let res = app
        .upload_bytes(&app.admin.access, &photo, &metadata_for(&photo, &[]))
        .await;
    assert_problem(res.status, &res.body, 507, "disk_full");

    disk.free();
    let (status, body) = app.post("/api/v1/users", &app.admin.access, new_user).await;
    assert_eq!(status, 201, "after space returned: {body}");
    let wang = app.login("wang", "wang-password-1", "wang-phone").await;
    let (status, me) = app.get("/api/v1/me", &wang.access).await;
    assert_eq!(status, 200);
    assert_eq!(me["roles"].as_array().map(Vec::len), Some(1), "{me}");
    app.upload_photo(&app.admin.access, &photo).await;
}

/// `closeout serve` as an operator runs it, logging at debug to `stderr`, which is given `sink`.
/// Answers (the child, its base URL).
async fn serve_binary(
    env: &closeout_tests::TestEnv,
    sink: std::process::Stdio,
) -> (std::process::Child, String) {
    use secrecy::ExposeSecret;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = std::process::Command::new(closeout_tests::server_binary());
    // The test run's own CLOSEOUT_TEST_* variables would be unknown settings to the server.
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("CLOSEOUT_")) {
        cmd.env_remove(name);
    }
    cmd.arg("serve")
        .env_remove("RUST_LOG")
        .env("CLOSEOUT_LISTEN", format!("127.0.0.1:{port}"))
        .env("CLOSEOUT_DATA_DIR", env.data_dir.path())
        .env("CLOSEOUT_LOG__FILTER", "debug")
        .env("CLOSEOUT_LOG__FORMAT", "json")
        .env("CLOSEOUT_LOG__BUFFER_LINES", "50")
        .env("CLOSEOUT_HTTP__WORKERS", "1")
        .stdout(std::process::Stdio::null())
        .stderr(sink);
    if let Some(url) = &env.settings.database_url {
        cmd.env("CLOSEOUT_DATABASE_URL", url.expose_secret());
    }
    let mut child = cmd.spawn().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            return (child, base);
        }
        if let Some(status) = child.try_wait().unwrap() {
            let mut said = String::new();
            if let Some(mut err) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut err, &mut said);
            }
            panic!("closeout serve exited: {status}\n{said}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    panic!("closeout serve did not answer /healthz within 10 s");
}

/// Sends `n` requests, each within 5 s, and answers /metrics' `closeout_log_lines_dropped_total`
/// for `reason`.
async fn requests_answer_and_log_drops(base: &str, n: usize, reason: &str) -> u64 {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    for i in 0..n {
        let res = client
            .get(format!("{base}/api/v1/me"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("request {i} got no answer while the log is stuck: {e}"));
        assert_eq!(res.status(), 401, "request {i}");
    }
    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let prefix = format!("closeout_log_lines_dropped_total{{reason=\"{reason}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {prefix} in /metrics"))
        .trim()
        .parse()
        .unwrap()
}

/// Logging never takes a request down. The log goes to a pipe nobody reads (it fills, and a
/// blocking writer would stall every request that logs): 600 requests all answer, and the lines
/// that did not fit are dropped and counted. Then a log file on a full disk: every line is
/// refused by the disk, requests still answer, the refusals are counted.
#[tokio::test]
async fn a_blocked_or_full_log_sink_drops_counted_lines_and_requests_still_answer() {
    let env = closeout_tests::TestEnv::new();
    // A pipe whose read end is kept open and never read.
    let (mut child, base) = serve_binary(&env, std::process::Stdio::piped()).await;
    let unread = child.stderr.take();
    let dropped = requests_answer_and_log_drops(&base, 600, "queue_full").await;
    let _ = child.kill();
    let _ = child.wait();
    drop(unread);
    assert!(
        dropped > 0,
        "600 requests at debug into a full pipe dropped no line"
    );

    let disk = match closeout_tests::disk::SmallDisk::mount(1) {
        Ok(disk) => disk,
        Err(reason) => {
            eprintln!("log file on a full disk skipped: {reason}");
            return;
        }
    };
    let log = std::fs::File::create(disk.path().join("closeout.log")).unwrap();
    disk.fill();
    let (mut child, base) = serve_binary(&env, log.into()).await;
    let refused = requests_answer_and_log_drops(&base, 50, "write_failed").await;
    let _ = child.kill();
    let _ = child.wait();
    assert!(refused > 0, "no log line was refused by a full disk");
}
