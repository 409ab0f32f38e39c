//! Exported cells cannot become formulas: text a phone typed that starts with `=`, `+`, `-`, `@`,
//! a tab or a carriage return reaches the office's spreadsheet with a leading `'` (OWASP's advice
//! against CSV injection), in CSV and in XLSX alike.

use super::fetch;
use calamine::{DataType, Reader, Xlsx};
use closeout_tests::TestApp;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_grid_workers_formula_title_is_exported_as_text() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let title = "=HYPERLINK(\"http://evil.example/\",\"点此查看\")";
    let description = "+cmd|' /C calc'!A0";
    let (status, issue) = app
        .post(
            "/api/v1/issues",
            &c.worker_a.access,
            json!({"title": title, "description": description, "category": "three_piles",
                   "source": "grid_patrol", "place_id": c.places.village_a,
                   "location": {"lat": 38.05, "lon": 114.52, "accuracy_m": 8.0, "address": "@村委会"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{issue}");
    app.report(&c.worker_a, &c.places.village_a, "-3 处垃圾")
        .await;
    app.report(&c.worker_a, &c.places.village_a, "村口垃圾")
        .await;
    let sup = &c.supervisor.access;

    let (status, bytes, _) = fetch(&app, "/api/v1/reports/ledger?format=csv", sup).await;
    assert_eq!(status, StatusCode::OK);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(&bytes[3..]);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let row = rows.iter().find(|r| r[2].contains("HYPERLINK")).unwrap();
    assert_eq!(&row[2], format!("'{title}"));
    assert_eq!(&row[3], format!("'{description}"));
    assert_eq!(&row[6], "'@村委会");
    let titles: Vec<&str> = rows.iter().map(|r| &r[2]).collect();
    assert!(titles.contains(&"'-3 处垃圾"), "{titles:?}");
    assert!(
        titles.contains(&"村口垃圾"),
        "plain text untouched: {titles:?}"
    );

    let (status, bytes, _) = fetch(&app, "/api/v1/reports/ledger?format=xlsx", sup).await;
    assert_eq!(status, StatusCode::OK);
    let mut book = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    let sheet = book.worksheet_range("整改台账").unwrap();
    let cells: Vec<String> = (3..=sheet.end().unwrap().0)
        .map(|r| sheet.get_value((r, 2)).unwrap().as_string().unwrap())
        .collect();
    assert!(cells.contains(&format!("'{title}")), "{cells:?}");
    assert!(cells.contains(&"'-3 处垃圾".to_owned()), "{cells:?}");
    assert!(cells.contains(&"村口垃圾".to_owned()), "{cells:?}");
    let formulas = (3..=sheet.end().unwrap().0).count();
    assert_eq!(formulas, 3);
    let formula_cells = book.worksheet_formula("整改台账").unwrap();
    assert!(
        formula_cells.used_cells().all(|(_, _, f)| f.is_empty()),
        "no formula anywhere in the sheet"
    );
}
