//! Benchmark: exporting the ledger of 100,000 issues as XLSX, CSV and GeoJSON — time and peak
//! memory — beside a baseline measured in the same run: paging through the same issues with the
//! list query and writing nothing. Each measurement runs in a fresh child process (this program
//! re-run with `CLOSEOUT_BENCH_CHILD=mode`), which exports exactly as `closeout export ledger`
//! does and reports its own peak RSS (VmHWM from /proc/self/status). The streamed HTTP download
//! is timed too. SQLite by default; `CLOSEOUT_TEST_BACKEND=postgres` for PostgreSQL.
//!
//!     cargo bench -p closeout-tests --bench reports_export [-- ISSUES]
//!
//! Targets (issue 6): XLSX of 100,000 issues < 5 s, peak RSS < 200 MB.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{Duration, Utc};
use closeout::db::models::{IssueEventRow, IssueRow};
use closeout::db::{DbConnection, issues, write_transaction};
use closeout::ids::{IssueEventId, IssueId, OrgUnitId, UserId};
use closeout_sync_protocol::Role;
use closeout_tests::TestApp;
use secrecy::SecretString;
use std::time::Instant;

const STATES: [&str; 5] = ["reported", "assigned", "rectifying", "submitted", "closed"];
const CATEGORIES: [&str; 6] = [
    "three_piles",
    "illegal_structure",
    "straw_burning",
    "street_occupation",
    "road",
    "other",
];

struct Place {
    id: String,
    path: String,
}

struct Unit {
    id: String,
    path: String,
    person: String,
}

fn uuid_of<T: From<uuid::Uuid>>(s: &str) -> T {
    T::from(uuid::Uuid::parse_str(s).unwrap())
}

fn seed(conn: &mut DbConnection, villages: &[Place], unit: &Unit, scope: &str, count: usize) {
    let now = Utc::now().naive_utc();
    let today = now.date();
    for chunk in (0..count).collect::<Vec<_>>().chunks(5000) {
        write_transaction(conn, |conn| -> Result<(), diesel::result::Error> {
            for &n in chunk {
                let v = &villages[n % villages.len()];
                let state = STATES[n % STATES.len()];
                let assigned = state != "reported";
                let created = now - Duration::seconds((n as i64 * 317) % (365 * 86400));
                let id = IssueId::generate();
                let row = IssueRow {
                    id: id.clone(),
                    ledger_scope_id: uuid_of(scope),
                    ledger_no: format!("2026-{:07}", n + 1),
                    title: format!("问题{n} 村口垃圾堆放，影响通行"),
                    description: "群众反映村口长期堆放生活垃圾和建筑垃圾，现场核实属实".into(),
                    category: CATEGORIES[n % CATEGORIES.len()].into(),
                    severity: "minor".into(),
                    source: "grid_patrol".into(),
                    place_id: uuid_of(&v.id),
                    place_path: v.path.clone(),
                    // One in ten without a location (GeoJSON leaves them out).
                    lat: (n % 10 != 0).then_some(38.0 + (n % 1000) as f64 / 10_000.0),
                    lon: (n % 10 != 0).then_some(114.5 + (n % 997) as f64 / 10_000.0),
                    accuracy_m: Some(10.0),
                    address: Some(format!("{}号", n % 500)),
                    reporter_id: None,
                    responsible_unit_id: assigned.then(|| uuid_of(&unit.id)),
                    responsible_unit_path: assigned.then(|| unit.path.clone()),
                    responsible_user_id: assigned.then(|| uuid_of::<UserId>(&unit.person)),
                    target: assigned.then(|| "清理到位，建立长效保洁机制".into()),
                    deadline: assigned.then(|| today + Duration::days((n % 61) as i64 - 30)),
                    extension_deadline: None,
                    extension_reason: None,
                    escalation_level: (n % 3) as i32,
                    reopen_count: (n % 17 == 0) as i32,
                    state: state.into(),
                    duplicate_of: None,
                    version: 1,
                    assigned_at: assigned.then_some(created.into()),
                    closed_at: (state == "closed").then_some((created + Duration::days(3)).into()),
                    created_at: created.into(),
                    updated_at: created.into(),
                    progress_on: None,
                };
                issues::insert(conn, &row)?;
                issues::insert_event(
                    conn,
                    &IssueEventRow {
                        id: IssueEventId::generate(),
                        issue_id: id,
                        seq: 1,
                        action: "report".into(),
                        from_state: None,
                        to_state: state.into(),
                        actor_id: None,
                        actor_role: "grid_worker".into(),
                        device_time: None,
                        server_time: created.into(),
                        lat: None,
                        lon: None,
                        accuracy_m: None,
                        comment: None,
                        photos: "[]".into(),
                        data: "{}".into(),
                    },
                )?;
            }
            Ok(())
        })
        .unwrap();
    }
}

/// Peak resident set size of this process so far, in MB.
fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

/// The child: one measurement in a fresh process, printed as `seconds rows peak_mb`.
fn child(mode: &str) {
    let data_dir = std::env::var("CLOSEOUT_BENCH_DATA_DIR").unwrap();
    let mut settings = closeout::Settings {
        data_dir: data_dir.clone().into(),
        database_url: std::env::var("CLOSEOUT_BENCH_DB_URL")
            .ok()
            .map(SecretString::from),
        ..closeout::Settings::default()
    };
    settings.database.pool_size = 2;
    let t = Instant::now();
    let rows = if mode == "list" {
        use closeout::domain::issues::{Clock, queries};
        let db = closeout::startup::open_database(&settings).unwrap();
        let mut conn = db.get().unwrap();
        let caller =
            closeout::domain::sessions::caller_by_username(&mut conn, "supervisor").unwrap();
        let mut req = queries::ListRequest {
            limit: 1000,
            ..Default::default()
        };
        let mut rows = 0;
        loop {
            let page = queries::list(&mut conn, &caller, req.clone(), Clock::system(8)).unwrap();
            rows += page.items.len();
            match page.next_cursor {
                Some(c) => req.cursor = Some(c),
                None => break,
            }
        }
        rows
    } else {
        use clap::Parser;
        let out = format!("{data_dir}/export.{mode}");
        let cli = closeout::cli::Cli::try_parse_from([
            "closeout",
            "export",
            "ledger",
            "--as",
            "supervisor",
            "--quiet",
            "--format",
            mode,
            "-o",
            &out,
        ])
        .unwrap();
        let mut printed = Vec::new();
        let mut input = std::io::empty();
        let mut input = std::io::BufReader::new(&mut input);
        closeout::cli::run(
            cli.command,
            settings,
            &mut closeout::cli::Console {
                input: &mut input,
                output: &mut printed,
            },
        )
        .unwrap();
        let printed = String::from_utf8(printed).unwrap();
        printed
            .split_whitespace()
            .nth(1)
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    println!("{} {} {}", t.elapsed().as_secs_f64(), rows, peak_rss_mb());
}

fn run_child(mode: &str, data_dir: &str, db_url: Option<&str>) -> (f64, usize, f64) {
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.env("CLOSEOUT_BENCH_CHILD", mode)
        .env("CLOSEOUT_BENCH_DATA_DIR", data_dir);
    if let Some(url) = db_url {
        cmd.env("CLOSEOUT_BENCH_DB_URL", url);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{mode}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut parts = text.split_whitespace();
    let secs = parts.next().unwrap().parse().unwrap();
    let rows = parts.next().unwrap().parse().unwrap();
    let mb = parts.next().unwrap().parse().unwrap();
    (secs, rows, mb)
}

fn main() {
    if let Ok(mode) = std::env::var("CLOSEOUT_BENCH_CHILD") {
        child(&mode);
        return;
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(parent());
}

async fn parent() {
    let total = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000usize);
    let backend = closeout_tests::backend();
    let app = TestApp::spawn_with(|s| {
        s.http.workers = Some(2);
        s.ledger.escalation_interval_secs = 0;
    })
    .await;
    let places = app.places().await;
    let mut ids = vec![places.village_a.clone(), places.village_b.clone()];
    for i in 3..=37 {
        ids.push(
            app.add_place(
                &format!("1301020010{i:02}"),
                &format!("{i}村"),
                "village",
                Some(&places.town),
            )
            .await,
        );
    }
    let bureau = app
        .add_place(
            "130102-zjj",
            "长安区住建局",
            "department",
            Some(&places.county),
        )
        .await;
    let path_of = |id: &str| {
        closeout::db::org_units::find(&mut app.db().get().unwrap(), &uuid_of::<OrgUnitId>(id))
            .unwrap()
            .unwrap()
            .path
    };
    let villages: Vec<Place> = ids
        .iter()
        .map(|id| Place {
            id: id.clone(),
            path: path_of(id),
        })
        .collect();
    let person = app
        .user_with("bureau-li", &[(Role::Responsible, Some(&bureau))])
        .await;
    let unit = Unit {
        path: path_of(&bureau),
        id: bureau,
        person: person.id,
    };
    let supervisor = app
        .user_with("supervisor", &[(Role::Supervisor, Some(&places.town))])
        .await;
    let t = Instant::now();
    seed(
        &mut app.db().get().unwrap(),
        &villages,
        &unit,
        &places.county,
        total,
    );
    if backend == closeout_tests::Backend::Postgres {
        use diesel::RunQueryDsl;
        diesel::sql_query("ANALYZE issues")
            .execute(&mut *app.db().get().unwrap())
            .unwrap();
    }
    println!(
        "reports export benchmark: backend {backend:?}, {total} issues (seeded in {:.1} s)",
        t.elapsed().as_secs_f64()
    );
    let data_dir = app.env.data_dir.path().to_str().unwrap().to_owned();
    let db_url = app.env.pg.as_ref().map(|p| p.url.clone());

    println!(
        "{:<44} {:>8} {:>9} {:>12} {:>10}",
        "in a fresh process", "rows", "time", "peak RSS", "file"
    );
    let (base_s, base_rows, base_mb) = run_child("list", &data_dir, db_url.as_deref());
    println!(
        "{:<44} {base_rows:>8} {base_s:>7.2} s {base_mb:>9.1} MB {:>10}",
        "baseline: page through the list, write nothing", "-"
    );
    let mut xlsx = (0.0, 0.0);
    for mode in ["xlsx", "csv", "geojson"] {
        let (s, rows, mb) = run_child(mode, &data_dir, db_url.as_deref());
        let size = std::fs::metadata(format!("{data_dir}/export.{mode}"))
            .unwrap()
            .len();
        println!(
            "{:<44} {rows:>8} {s:>7.2} s {mb:>9.1} MB {:>7.1} MB   ({:.2}x baseline time)",
            format!("closeout export ledger --format {mode}"),
            size as f64 / 1e6,
            s / base_s
        );
        if mode == "xlsx" {
            xlsx = (s, mb);
        }
    }
    println!(
        "{:<44} {:>8} {:>9} {:>12}",
        "over HTTP (streamed; server in this process)", "", "time", "bytes"
    );
    for mode in ["xlsx", "csv", "geojson"] {
        let t = Instant::now();
        let mut res = app
            .client
            .get(app.url(&format!("/api/v1/reports/ledger?format={mode}")))
            .bearer_auth(&supervisor.access)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success());
        let first = t.elapsed().as_secs_f64();
        let mut bytes = 0usize;
        while let Some(chunk) = res.chunk().await.unwrap() {
            bytes += chunk.len();
        }
        println!(
            "{:<44} {:>8} {:>7.2} s {:>9.1} MB   (headers after {first:.2} s)",
            format!("GET /api/v1/reports/ledger?format={mode}"),
            "",
            t.elapsed().as_secs_f64(),
            bytes as f64 / 1e6
        );
    }
    println!(
        "summary: XLSX of {total} issues {:.2} s (target < 5 s: {}), peak RSS {:.1} MB (target < 200 MB: {}); baseline list walk {:.2} s, {:.1} MB",
        xlsx.0,
        if xlsx.0 < 5.0 { "met" } else { "NOT met" },
        xlsx.1,
        if xlsx.1 < 200.0 { "met" } else { "NOT met" },
        base_s,
        base_mb
    );
}
