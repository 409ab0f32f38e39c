//! `closeout backup` / `closeout restore` (issue 16.11): a SQLite backup taken while phones write
//! restores, the server starts on it and serves, and a phone's old cursor is answered
//! `reset: true`. PostgreSQL: backup is refused with the pg_dump route, and
//! `restore --renew-epoch-only` (after pg_restore) resets phones the same way.

use closeout_tests::protocol::Role;
use closeout_tests::{Backend, TestApp, backend};
use reqwest::StatusCode;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

fn run_cli(settings: closeout::Settings, args: &[&str]) -> Result<String, String> {
    use clap::Parser;
    let mut argv = vec!["closeout"];
    argv.extend_from_slice(args);
    let cli = closeout::cli::Cli::try_parse_from(argv).map_err(|e| e.to_string())?;
    let mut input = std::io::Cursor::new(Vec::new());
    let mut output = Vec::new();
    let mut console = closeout::cli::Console {
        input: &mut input,
        output: &mut output,
    };
    closeout::cli::run(cli.command, settings, &mut console).map_err(|e| format!("{e:#}"))?;
    Ok(String::from_utf8(output).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_write_load_restores_serves_and_resets_phones() {
    let mut app = TestApp::spawn().await;
    let places = app.places().await;
    let worker = app
        .user_with(
            "backup-worker",
            &[(Role::GridWorker, Some(&places.village_a))],
        )
        .await;
    let first = app.report(&worker, &places.village_a, "恢复前的问题").await;
    let (status, page) = app.get("/api/v1/sync/pull", &worker.access).await;
    assert_eq!(status, StatusCode::OK);
    let old_cursor = page["cursor"].as_str().unwrap().to_owned();

    let dest = app.env.data_dir.path().join("backup.db");
    let dest_str = dest.to_str().unwrap().to_owned();
    if backend() == Backend::Postgres {
        let err = run_cli(app.env.settings.clone(), &["backup", &dest_str]).unwrap_err();
        assert!(
            err.contains("pg_dump") && err.contains("docs/operations.md"),
            "{err}"
        );
        // After pg_restore: only the epoch.
        app.restart_after(|env| {
            let said = env.cli(&["restore", "--renew-epoch-only"], "").unwrap();
            assert!(said.contains("epoch"), "{said}");
        })
        .await;
    } else {
        // Phones keep reporting while the backup runs.
        let stop = Arc::new(AtomicBool::new(false));
        let written = Arc::new(AtomicUsize::new(0));
        let load = {
            let (stop, written) = (stop.clone(), written.clone());
            let (client, url, token, place) = (
                app.client.clone(),
                app.url("/api/v1/issues"),
                worker.access.clone(),
                places.village_a.clone(),
            );
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let res = client
                        .post(&url)
                        .bearer_auth(&token)
                        .json(&json!({"title": "备份期间上报", "description": "现场发现",
                                      "category": "three_piles", "source": "grid_patrol",
                                      "place_id": place,
                                      "location": {"lat": 38.05, "lon": 114.52}}))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(res.status(), StatusCode::CREATED, "{:?}", res.text().await);
                    written.fetch_add(1, Ordering::SeqCst);
                }
            })
        };
        while written.load(Ordering::SeqCst) < 20 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let before = written.load(Ordering::SeqCst);
        let settings = app.env.settings.clone();
        let said = tokio::task::spawn_blocking(move || run_cli(settings, &["backup", &dest_str]))
            .await
            .unwrap()
            .unwrap();
        let during = written.load(Ordering::SeqCst);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        stop.store(true, Ordering::SeqCst);
        load.await.unwrap();
        let after = written.load(Ordering::SeqCst);
        assert!(said.starts_with("backed up to"), "{said}");
        assert!(
            after > during + 1,
            "writes went on after the backup ({during} → {after})"
        );

        // A second backup to the same file is refused (never overwritten).
        let settings = app.env.settings.clone();
        let dest_str = dest.to_str().unwrap().to_owned();
        let err = run_cli(settings, &["backup", &dest_str]).unwrap_err();
        assert!(err.contains("exists"), "{err}");

        app.restart_after(|env| {
            // The stopped server's last connections close as its tasks wind down; until then
            // restore refuses ("stop the server before restoring").
            let mut tries = 0;
            let said = loop {
                match env.cli(&["restore", dest.to_str().unwrap()], "") {
                    Err(e) if e.contains("stop the server") && tries < 100 => {
                        tries += 1;
                        std::thread::sleep(std::time::Duration::from_millis(100));
                    }
                    other => break other.unwrap(),
                }
            };
            assert!(
                said.contains("restored") && said.contains("epoch"),
                "{said}"
            );
        })
        .await;
        // The restored database holds what was written before the backup began, and not what
        // came after it ended.
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let reported = {
            use diesel::RunQueryDsl;
            let db = app.db();
            let c: Count =
                diesel::sql_query("SELECT COUNT(*) AS n FROM issues WHERE title = '备份期间上报'")
                    .get_result(&mut *db.get().unwrap())
                    .unwrap();
            usize::try_from(c.n).unwrap()
        };
        assert!(
            (before..=during).contains(&reported),
            "restored {reported} of the load's reports; {before} were in before the backup \
             began, {during} when it ended, {after} in all"
        );
    }

    // The server serves on the restored database.
    let (status, issue) = app
        .get(
            &format!("/api/v1/issues/{}", first["id"].as_str().unwrap()),
            &worker.access,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{issue}");
    // The phone's cursor into the old feed: start again from the beginning.
    let (status, page) = app
        .get(
            &format!("/api/v1/sync/pull?cursor={old_cursor}"),
            &worker.access,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["reset"], true, "{page}");
    // Its fresh cursor does not reset again.
    let cursor = page["cursor"].as_str().unwrap();
    let (_, page) = app
        .get(
            &format!("/api/v1/sync/pull?cursor={cursor}"),
            &worker.access,
        )
        .await;
    assert_eq!(page["reset"], false, "{page}");
}

/// A create mutation at `seq`, as a phone writes it (docs/sync-protocol.md).
fn create_at(seq: u64, place: &str) -> serde_json::Value {
    json!({"id": uuid::Uuid::now_v7(), "seq": seq, "device_time": chrono::Utc::now(),
           "body": {"type": "create_issue", "issue_id": uuid::Uuid::now_v7(),
                    "title": format!("第{seq}条"), "category": "three_piles",
                    "severity": "minor", "source": "grid_patrol", "place_id": place}})
}

async fn push(app: &TestApp, token: &str, mutations: Vec<serde_json::Value>) -> serde_json::Value {
    let (status, body) = app
        .post(
            "/api/v1/sync/push",
            token,
            json!({"protocol": 1, "sent_at": chrono::Utc::now(), "mutations": mutations}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// A phone that pushed after the backup has let those mutations go (they were acknowledged); the
/// restored database never saw them. Its next push must not wait forever behind that gap: the
/// numbers before it are recorded as skipped, and one of them arriving late is still applied. A
/// gap with no restore in between is still held.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restore_a_phones_next_push_is_not_held_behind_what_the_backup_missed() {
    let mut app = TestApp::spawn().await;
    let places = app.places().await;
    let worker = app
        .user_with(
            "restore-phone",
            &[(Role::GridWorker, Some(&places.village_a))],
        )
        .await;
    let place = places.village_a.as_str();
    let r = push(
        &app,
        &worker.access,
        vec![create_at(1, place), create_at(2, place)],
    )
    .await;
    assert_eq!(r["acknowledged_seq"], 2, "{r}");

    let dest = app.env.data_dir.path().join("before-3.db");
    if backend() == Backend::Sqlite {
        let said = run_cli(
            app.env.settings.clone(),
            &["backup", dest.to_str().unwrap()],
        )
        .unwrap();
        assert!(said.starts_with("backed up to"), "{said}");
    } else {
        // The route docs/operations.md gives: a custom-format pg_dump.
        pg_tool(
            "pg_dump",
            &["-Fc", "-f", dest.to_str().unwrap(), &pg_url(&app)],
        );
    }
    // Pushed and acknowledged after the backup: the phone deletes them from its queue.
    let late = create_at(3, place);
    let r = push(
        &app,
        &worker.access,
        vec![late.clone(), create_at(4, place)],
    )
    .await;
    assert_eq!(r["acknowledged_seq"], 4, "{r}");

    app.restart_after(|env| {
        if backend() == Backend::Sqlite {
            let mut tries = 0;
            let said = loop {
                match env.cli(&["restore", dest.to_str().unwrap()], "") {
                    Err(e) if e.contains("stop the server") && tries < 100 => {
                        tries += 1;
                        std::thread::sleep(std::time::Duration::from_millis(100));
                    }
                    other => break other.unwrap(),
                }
            };
            assert!(said.contains("restored"), "{said}");
        } else {
            // pg_restore of the dump over the database (the servers stopped), then the epoch.
            let url = env.pg.as_ref().unwrap().url.clone();
            pg_tool(
                "pg_restore",
                &[
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "-d",
                    &url,
                    dest.to_str().unwrap(),
                ],
            );
            env.cli(&["restore", "--renew-epoch-only"], "").unwrap();
        }
    })
    .await;

    // The phone goes on with 5: applied, not held behind 3 and 4.
    let r = push(&app, &worker.access, vec![create_at(5, place)]).await;
    assert_eq!(r["results"][0]["status"], "applied", "{r}");
    assert_eq!(r["acknowledged_seq"], 5, "{r}");
    let (status, devices) = app.get("/api/v1/devices", &worker.access).await;
    assert_eq!(status, StatusCode::OK, "{devices}");
    assert_eq!(devices[0]["held"], json!([]), "{devices}");
    // A phone that did keep 3 and sends it late: applied (its issue is not in the restored
    // database), progress unchanged.
    let r = push(&app, &worker.access, vec![late]).await;
    assert_eq!(r["results"][0]["status"], "applied", "{r}");
    assert_eq!(r["acknowledged_seq"], 5, "{r}");

    // Without a restore in between, a gap is held as always.
    let r = push(&app, &worker.access, vec![create_at(7, place)]).await;
    assert_eq!(r["results"][0]["status"], "held", "{r}");
    assert_eq!(r["acknowledged_seq"], 5, "{r}");
}

fn pg_url(app: &TestApp) -> String {
    app.env.pg.as_ref().unwrap().url.clone()
}

/// Runs a PostgreSQL client tool (pg_dump, pg_restore): the newest installed, as scripts/test
/// picks the server's binaries (a client older than the server refuses to dump it).
fn pg_tool(tool: &str, args: &[&str]) {
    let newest = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version: u32 = e.file_name().to_str()?.parse().ok()?;
            let path = e.path().join("bin").join(tool);
            path.exists().then_some((version, path))
        })
        .max_by_key(|(version, _)| *version)
        .map(|(_, path)| path);
    let program = newest.unwrap_or_else(|| tool.into());
    let out = std::process::Command::new(&program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
    assert!(
        out.status.success(),
        "{tool} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
