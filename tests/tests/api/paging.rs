//! Keyset paging reaches every row exactly once, whatever the ties: issues written in one
//! transaction (an import, one push batch) share their timestamp to the nanosecond on SQLite, and
//! the issue list, the inspection list and every ledger export must still walk all of them.

use crate::inspections::{body, create_small_template, header, new_id, record_ok};
use crate::reports::fetch;
use crate::sync::{create, mutation, push};
use calamine::{DataType, Reader, Xlsx};
use closeout_tests::TestApp;
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::BTreeSet;

/// Imports `n` issues in one transaction (the CLI import of a 交办清单), half in each village.
pub fn import(app: &TestApp, n: usize) {
    let due = (chrono::Utc::now() + chrono::Duration::days(30))
        .format("%Y-%m-%d")
        .to_string();
    let csv = closeout_tests::lists::assigned_list_csv(n, &due);
    let path = app.env.data_dir.path().join(format!("清单{n}.csv"));
    std::fs::write(&path, csv).unwrap();
    app.env
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
}

/// Walks `path` (a list with `items` and `next_cursor`) page by page; returns every item's id in
/// the order met, duplicates included.
pub async fn walk(app: &TestApp, token: &str, path: &str, limit: usize) -> Vec<String> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}{sep}limit={limit}&cursor={c}"),
            None => format!("{path}{sep}limit={limit}"),
        };
        let (status, page) = app.get(&url, token).await;
        assert_eq!(status, StatusCode::OK, "{url}: {page}");
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= limit, "{url}: page over its limit");
        seen.extend(items.iter().map(|i| i["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return seen,
        }
        assert!(seen.len() <= 100_000, "{url}: paging does not end");
    }
}

#[track_caller]
pub fn assert_exactly_once(seen: &[String], expected: usize, what: &str) {
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "{what}: a row came twice");
    assert_eq!(seen.len(), expected, "{what}: rows reached");
}

/// Ledger numbers (column 2) of a CSV export, header and BOM dropped.
pub fn csv_numbers(bytes: &[u8]) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(&bytes[3..]);
    reader.records().map(|r| r.unwrap()[1].to_owned()).collect()
}

#[tokio::test]
async fn an_import_of_1100_issues_lists_and_exports_every_one() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    import(&app, 1100);
    let sup = &c.supervisor.access;
    for limit in [200, 64, 7] {
        let seen = walk(&app, sup, "/api/v1/issues", limit).await;
        assert_exactly_once(&seen, 1100, &format!("issue list, pages of {limit}"));
    }
    // The responsible unit sees the same 1,100 (all assigned to it).
    let seen = walk(
        &app,
        &c.responsible.access,
        "/api/v1/issues?state=assigned",
        200,
    )
    .await;
    assert_exactly_once(&seen, 1100, "the unit's list");

    let (status, bytes, _) = fetch(&app, "/api/v1/reports/ledger?format=csv", sup).await;
    assert_eq!(status, StatusCode::OK);
    assert_exactly_once(&csv_numbers(&bytes), 1100, "CSV ledger");

    let (status, bytes, _) = fetch(&app, "/api/v1/reports/ledger?format=xlsx", sup).await;
    assert_eq!(status, StatusCode::OK);
    let mut book = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    let sheet = book.worksheet_range("整改台账").unwrap();
    let caption = sheet
        .get_value((1, 0))
        .and_then(|v| v.as_string())
        .unwrap_or_default();
    assert!(caption.contains("共 1100 条"), "{caption}");
    let numbers: Vec<String> = (3..=sheet.end().unwrap().0)
        .map(|r| sheet.get_value((r, 1)).unwrap().as_string().unwrap())
        .collect();
    assert_exactly_once(&numbers, 1100, "XLSX ledger (caption count = rows)");

    let (status, bytes, _) = fetch(&app, "/api/v1/reports/ledger?format=geojson", sup).await;
    assert_eq!(status, StatusCode::OK);
    let geo: Value = serde_json::from_slice(&bytes).unwrap();
    let drawn = geo["features"].as_array().unwrap().len() as u64;
    assert_eq!(
        drawn + geo["omitted_without_location"].as_u64().unwrap(),
        1100,
        "GeoJSON: drawn + omitted"
    );
}

#[tokio::test]
async fn a_phones_120_offline_reports_in_one_push_all_list() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let mutations = (1..=120)
        .map(|i| {
            mutation(
                i,
                create(&new_id(), &c.places.village_a, &format!("离线上报{i}")),
            )
        })
        .collect();
    let resp = push(&app, &c.worker_a, mutations).await;
    assert!(
        resp["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "applied"),
        "{resp}"
    );
    for limit in [50, 13, 1] {
        let seen = walk(&app, &c.worker_a.access, "/api/v1/issues", limit).await;
        assert_exactly_once(&seen, 120, &format!("the worker's list, pages of {limit}"));
    }
}

#[tokio::test]
async fn inspections_started_at_the_same_instant_all_list() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let template = create_small_template(&app, "tie").await;
    for _ in 0..5 {
        let mut h = header(&template, 1, &c.places.village_a, "special");
        // The same instant to the nanosecond, as a phone's clock may give it.
        h["started_at"] = "2026-11-20T01:00:00.123456789Z".into();
        record_ok(&app, &c.inspector, body(&new_id(), h, vec![], None)).await;
    }
    for limit in [1, 2, 4] {
        let seen = walk(&app, &c.supervisor.access, "/api/v1/inspections", limit).await;
        assert_exactly_once(&seen, 5, &format!("inspections, pages of {limit}"));
    }
}

/// Property: whatever timestamps the rows have (many ties, every row equal, whole seconds beside
/// nanoseconds) and whatever the page size (1–200), the list reaches every row exactly once and
/// the CSV and GeoJSON exports hold exactly as many.
#[test]
fn any_ties_and_any_page_size_reach_every_row_once() {
    use closeout::db::schema::issues;
    use diesel::prelude::*;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    const ROWS: usize = 240;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (app, c) = rt.block_on(async {
        let app = TestApp::spawn().await;
        let c = app.cast().await;
        import(&app, ROWS);
        (app, c)
    });
    let ids: Vec<String> = {
        let mut conn = app.db().get().unwrap();
        issues::table
            .select(issues::id)
            .load::<closeout::ids::IssueId>(&mut conn)
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect()
    };
    assert_eq!(ids.len(), ROWS);
    let base = chrono::DateTime::from_timestamp(1_795_000_000, 0)
        .unwrap()
        .naive_utc();
    // A few instants, so rows tie: whole seconds, milli-, micro- and nanosecond fractions.
    let instants = proptest::collection::vec((0i64..3, 0u32..4), 1..5).prop_map(move |v| {
        v.into_iter()
            .map(|(s, f)| {
                let nanos = [0, 250_000_000, 123_456_000, 123_456_789][f as usize];
                base + chrono::Duration::seconds(s)
                    + chrono::Duration::nanoseconds(i64::from(nanos))
            })
            .collect::<Vec<_>>()
    });
    let strategy = (
        instants,
        proptest::collection::vec(0usize..8, ROWS),
        1usize..=200,
    );
    let mut runner = TestRunner::new(Config {
        cases: 12,
        ..Config::default()
    });
    runner
        .run(&strategy, |(instants, picks, limit)| {
            let mut conn = app.db().get().unwrap();
            for (id, pick) in ids.iter().zip(&picks) {
                let at = instants[pick % instants.len()];
                diesel::update(issues::table.filter(issues::id.eq(id)))
                    .set(issues::created_at.eq(at))
                    .execute(&mut conn)
                    .unwrap();
            }
            rt.block_on(async {
                let sup = &c.supervisor.access;
                let seen = walk(&app, sup, "/api/v1/issues", limit).await;
                assert_exactly_once(&seen, ROWS, &format!("list, pages of {limit}"));
                let (_, bytes, _) = fetch(&app, "/api/v1/reports/ledger?format=csv", sup).await;
                assert_exactly_once(&csv_numbers(&bytes), ROWS, "CSV export");
                let (_, bytes, _) = fetch(&app, "/api/v1/reports/ledger?format=geojson", sup).await;
                let geo: Value = serde_json::from_slice(&bytes).unwrap();
                assert_eq!(
                    geo["features"].as_array().unwrap().len() as u64
                        + geo["omitted_without_location"].as_u64().unwrap(),
                    ROWS as u64,
                    "GeoJSON export"
                );
            });
            Ok(())
        })
        .unwrap();
    rt.block_on(async move { drop(app) });
}

/// `GET /org-units` pages with `after` (the last place's id) and reaches every place once, with
/// many places sharing a depth and a name and some without a code (they sort last on both
/// backends).
#[tokio::test]
async fn places_page_with_after_and_every_place_comes_once() {
    let app = TestApp::spawn().await;
    let p = app.places().await;
    for i in 0..12 {
        let code = (i % 3 == 0).then(|| format!("1301020010019{i:02}"));
        let (status, body) = app
            .post(
                "/api/v1/org-units",
                &app.admin.access,
                serde_json::json!({"code": code, "name": if i % 2 == 0 { "第一网格" } else { "网格" },
                                   "level": "grid", "parent_id": p.village_a}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    for i in 0..5 {
        let (status, body) = app
            .post(
                "/api/v1/org-units",
                &app.admin.access,
                serde_json::json!({"name": format!("局{}", i % 2), "level": "department",
                                   "parent_id": p.county}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let ids = |page: &Value| -> Vec<String> {
        page.as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (status, whole) = app
        .get("/api/v1/org-units?limit=5000", &app.admin.access)
        .await;
    assert_eq!(status, StatusCode::OK);
    let whole = ids(&whole);
    assert!(whole.len() >= 25, "{}", whole.len());
    let mut paged: Vec<String> = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(a) => format!("/api/v1/org-units?limit=4&after={a}"),
            None => "/api/v1/org-units?limit=4".to_owned(),
        };
        let (status, page) = app.get(&path, &app.admin.access).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let page = ids(&page);
        paged.extend(page.iter().cloned());
        if page.len() < 4 {
            break;
        }
        after = page.last().cloned();
        assert!(paged.len() <= whole.len(), "pages go on past every place");
    }
    assert_eq!(
        paged, whole,
        "pages of 4 hold the list in its order, each place once"
    );
    let distinct: BTreeSet<&String> = paged.iter().collect();
    assert_eq!(distinct.len(), paged.len());

    // A village's worker pages through their own subtree; `after` naming a place they do not
    // see, or none, is a 400.
    let worker = app
        .user_with(
            "pager",
            &[(closeout_sync_protocol::Role::GridWorker, Some(&p.village_a))],
        )
        .await;
    let (_, first) = app.get("/api/v1/org-units?limit=5", &worker.access).await;
    let first = ids(&first);
    let (_, rest) = app
        .get(
            &format!("/api/v1/org-units?limit=5000&after={}", first[4]),
            &worker.access,
        )
        .await;
    let (_, all) = app
        .get("/api/v1/org-units?limit=5000", &worker.access)
        .await;
    assert_eq!([first, ids(&rest)].concat(), ids(&all));
    for bad in [p.village_b.clone(), uuid::Uuid::now_v7().to_string()] {
        let (status, problem) = app
            .get(&format!("/api/v1/org-units?after={bad}"), &worker.access)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
        assert_eq!(problem["code"], "invalid_query");
    }
}
