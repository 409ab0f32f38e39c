//! `sort=` of the issue list (issue 17: sortable ledger columns): every order pages through rows
//! that tie on every sort column and rows without a deadline exactly once and in order; a cursor
//! of one order is refused under another; exports and the console ledger follow the order.

use crate::console::Console;
use crate::paging::{assert_exactly_once, csv_numbers, import};
use crate::reports::fetch;
use closeout_tests::{TestApp, assert_problem};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Every item of `path` in `sort`, page by page.
async fn walk_sorted(app: &TestApp, token: &str, sort: &str, limit: usize) -> Vec<Value> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("/api/v1/issues?sort={sort}&limit={limit}");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let (status, page) = app.get(&url, token).await;
        assert_eq!(status, StatusCode::OK, "{url}: {page}");
        seen.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return seen,
        }
        assert!(seen.len() <= 10_000, "{url}: paging does not end");
    }
}

fn key(v: &Value, field: &str) -> String {
    v[field].as_str().unwrap_or("").to_owned()
}

#[tokio::test]
async fn every_sort_pages_through_ties_and_missing_deadlines_once_and_in_order() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    // 300 issues in one transaction: the same created_at and the same deadline.
    import(&app, 300);
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    let mut soon = String::new();
    for (i, days) in [Some(2), Some(60), None, None].into_iter().enumerate() {
        let issue = app
            .report(&c.worker_a, &c.places.village_a, &format!("排序{i}"))
            .await;
        let id = issue["id"].as_str().unwrap().to_owned();
        if let Some(days) = days {
            let (status, body) = app.act(&c.supervisor, &id, json!({"action": "assign", "responsible_unit_id": c.bureau, "responsible_user_id": c.responsible.id, "target": "整改", "deadline": today + chrono::Duration::days(days)})).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        if days == Some(2) {
            soon = key(&issue, "ledger_no");
        }
    }
    let sup = &c.supervisor.access;
    for sort in ["-created_at", "created_at", "deadline", "-deadline"] {
        let items = walk_sorted(&app, sup, sort, 37).await;
        let ids: Vec<String> = items.iter().map(|i| key(i, "id")).collect();
        assert_exactly_once(&ids, 304, sort);
        for pair in items.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            let ok = match sort {
                "-created_at" => key(a, "created_at") >= key(b, "created_at"),
                "created_at" => key(a, "created_at") <= key(b, "created_at"),
                _ => {
                    let (da, db) = (key(a, "deadline"), key(b, "deadline"));
                    // Undated last in both directions.
                    if da.is_empty() || db.is_empty() {
                        !da.is_empty() || db.is_empty()
                    } else if sort == "deadline" {
                        da <= db
                    } else {
                        da >= db
                    }
                }
            };
            assert!(ok, "{sort}: {a} before {b}");
        }
        if sort == "deadline" {
            assert_eq!(key(&items[0], "ledger_no"), soon);
            assert!(key(&items[303], "deadline").is_empty());
        }
    }
    // A cursor is for its own order only.
    let (_, page) = app.get("/api/v1/issues?sort=deadline&limit=5", sup).await;
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    for other in ["-deadline", "created_at", "-created_at"] {
        let (status, problem) = app
            .get(
                &format!("/api/v1/issues?sort={other}&limit=5&cursor={cursor}"),
                sup,
            )
            .await;
        assert_problem(status, &problem, 400, "invalid_query");
    }
    let (status, problem) = app.get("/api/v1/issues?sort=title", sup).await;
    assert_problem(status, &problem, 400, "invalid_query");

    // The export follows the order it is given.
    let (status, bytes, _) =
        fetch(&app, "/api/v1/reports/ledger?format=csv&sort=deadline", sup).await;
    assert_eq!(status, StatusCode::OK);
    let numbers = csv_numbers(&bytes);
    assert_exactly_once(&numbers, 304, "CSV by deadline");
    assert_eq!(numbers[0], soon);

    // The console ledger: the 时限 header sorts, the arrow shows it, "more" keeps the order.
    let console = Console::login(&app, &c.supervisor).await;
    let page = console
        .get("/console/issues?sort=deadline")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"sort-deadline\" class=\"on\""), "{page}");
    assert!(
        page.contains("时限↑") && page.contains("sort=-deadline"),
        "{page}"
    );
    let first = page.find("排序0").unwrap();
    assert!(
        page.find("交办问题").is_none_or(|p| p > first),
        "the soonest deadline first"
    );
    assert!(page.contains("cursor=da."), "more keeps the sort: {page}");
    assert!(page.contains("name=\"sort\" value=\"deadline\""));
    let bad = console.get("/console/issues?sort=title").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}
