//! Ledger exports: XLSX as offices keep it, CSV with BOM, GeoJSON points; scoped per caller.

use super::{fetch, fixture};
use calamine::{Data, DataType, Reader, Xlsx};
use closeout::reports::ledger::HEADERS;
use closeout_tests::assert_problem;
use reqwest::StatusCode;
use serde_json::Value;
use std::io::Cursor;

fn sheet(bytes: &[u8]) -> calamine::Range<Data> {
    let mut book = Xlsx::new(Cursor::new(bytes.to_vec())).unwrap();
    assert_eq!(book.sheet_names(), vec!["整改台账".to_owned()]);
    book.worksheet_range("整改台账").unwrap()
}

fn text(range: &calamine::Range<Data>, row: u32, col: u32) -> String {
    range
        .get_value((row, col))
        .map(|v| v.as_string().unwrap_or_default())
        .unwrap_or_default()
}

fn csv_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    assert!(
        bytes.starts_with("\u{feff}".as_bytes()),
        "CSV starts with a BOM"
    );
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(&bytes[3..]);
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

#[tokio::test]
async fn reports_ledger_exports_xlsx_csv_geojson_with_office_columns() {
    let f = fixture().await;
    let sup = f.c.supervisor.access.clone();
    let overdue_no = f.a[1]["ledger_no"].as_str().unwrap().to_owned();

    // XLSX: title, caption, headers, 8 issues, real dates.
    let (status, bytes, ct) = fetch(&f.app, "/api/v1/reports/ledger?format=xlsx", &sup).await;
    assert_eq!(status, StatusCode::OK);
    assert!(ct.starts_with("application/vnd.openxmlformats"), "{ct}");
    let range = sheet(&bytes);
    assert_eq!(text(&range, 0, 0), "建北街道整改台账");
    assert!(
        text(&range, 1, 0).contains("共 8 条"),
        "{}",
        text(&range, 1, 0)
    );
    let headers: Vec<String> = (0..HEADERS.len() as u32)
        .map(|c| text(&range, 2, c))
        .collect();
    assert_eq!(headers, HEADERS);
    assert_eq!(
        range.end().unwrap().0,
        2 + 8,
        "8 issue rows below the headers"
    );
    let row = (3..11)
        .find(|&r| text(&range, r, 1) == overdue_no)
        .expect("the overdue issue is in the sheet");
    assert_eq!(text(&range, row, 2), "违建棚屋, \"东侧\"");
    assert_eq!(text(&range, row, 4), "乱搭乱建");
    assert_eq!(text(&range, row, 5), "建北街道 甲社区 甲社区第一网格");
    assert_eq!(text(&range, row, 7), "长安区住建局");
    assert_eq!(text(&range, row, 8), "bureau-li");
    assert_eq!(text(&range, row, 11), "已交办");
    assert_eq!(text(&range, row, 12), "是");
    assert_eq!(range.get_value((row, 13)).unwrap().as_f64(), Some(12.0));
    assert_eq!(text(&range, row, 14), "通报");
    let deadline = range.get_value((row, 10)).unwrap();
    assert!(
        deadline.is_datetime(),
        "完成时限 is a date cell: {deadline:?}"
    );
    assert_eq!(deadline.as_date(), Some(f.day(8)));
    assert_eq!(
        range.get_value((row, 16)).unwrap().as_date(),
        Some(f.day(2))
    );
    assert!(
        range.get_value((row, 17)).is_none_or(|v| v.is_empty()),
        "not closed yet"
    );
    let on_time_no = f.a[0]["ledger_no"].as_str().unwrap();
    let closed_row = (3..11).find(|&r| text(&range, r, 1) == on_time_no).unwrap();
    assert_eq!(
        range.get_value((closed_row, 17)).unwrap().as_date(),
        Some(f.day(5))
    );
    assert_eq!(text(&range, closed_row, 11), "已销号");

    // CSV: BOM, RFC 4180 quoting that parses back, the same rows.
    let (status, bytes, ct) = fetch(&f.app, "/api/v1/reports/ledger?format=csv", &sup).await;
    assert_eq!(status, StatusCode::OK);
    assert!(ct.starts_with("text/csv"), "{ct}");
    assert!(String::from_utf8_lossy(&bytes).contains("\"违建棚屋, \"\"东侧\"\"\""));
    let rows = csv_rows(&bytes);
    assert_eq!(rows[0], HEADERS);
    assert_eq!(rows.len(), 9);
    let r = rows.iter().find(|r| r[1] == overdue_no).unwrap();
    assert_eq!(r[2], "违建棚屋, \"东侧\"");
    assert_eq!(
        (r[10].as_str(), r[12].as_str(), r[13].as_str()),
        (f.day(8).to_string().as_str(), "是", "12")
    );
    assert_eq!(
        rows.iter().map(|r| r[0].clone()).collect::<Vec<_>>()[1..],
        ["1", "2", "3", "4", "5", "6", "7", "8"]
    );

    // Filters are the list's: state and place.
    let (_, bytes, _) = fetch(
        &f.app,
        "/api/v1/reports/ledger?format=csv&state=closed",
        &sup,
    )
    .await;
    assert_eq!(csv_rows(&bytes).len(), 1 + 3);
    let (_, bytes, _) = fetch(
        &f.app,
        &format!(
            "/api/v1/reports/ledger?format=csv&overdue=true&place_id={}",
            f.c.places.village_a
        ),
        &sup,
    )
    .await;
    let rows = csv_rows(&bytes);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1][1], overdue_no);

    // GeoJSON: points [lon, lat]; the issue without a location is counted, not drawn.
    let (status, bytes, ct) = fetch(&f.app, "/api/v1/reports/ledger?format=geojson", &sup).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ct, "application/geo+json");
    let geo: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(geo["type"], "FeatureCollection");
    assert_eq!(geo["omitted_without_location"], 1);
    let features = geo["features"].as_array().unwrap();
    assert_eq!(features.len(), 7);
    let feature = features
        .iter()
        .find(|x| x["properties"]["ledger_no"] == overdue_no.as_str())
        .unwrap();
    assert_eq!(feature["geometry"]["type"], "Point");
    assert_eq!(
        feature["geometry"]["coordinates"],
        serde_json::json!([114.52, 38.05])
    );
    assert_eq!(feature["properties"]["state"], "assigned");
    assert_eq!(feature["properties"]["days_overdue"], 12);
    assert_eq!(feature["id"], f.a[1]["id"]);
}

#[tokio::test]
async fn reports_ledger_export_of_a_village_b_worker_holds_none_of_village_a() {
    let f = fixture().await;
    let worker_b = f.c.worker_b.access.clone();
    let a_numbers = f.a_numbers();
    for format in ["xlsx", "csv", "geojson"] {
        let (status, bytes, _) = fetch(
            &f.app,
            &format!("/api/v1/reports/ledger?format={format}"),
            &worker_b,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let all_text = match format {
            "xlsx" => {
                let range = sheet(&bytes);
                assert_eq!(text(&range, 0, 0), "乙社区整改台账");
                assert_eq!(range.end().unwrap().0, 2 + 3, "only B's 3 issues");
                range
                    .rows()
                    .flatten()
                    .filter_map(|c| c.as_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            }
            "csv" => {
                assert_eq!(csv_rows(&bytes).len(), 1 + 3);
                String::from_utf8(bytes).unwrap()
            }
            _ => {
                let geo: Value = serde_json::from_slice(&bytes).unwrap();
                assert_eq!(geo["features"].as_array().unwrap().len(), 2);
                String::from_utf8(bytes).unwrap()
            }
        };
        for no in &a_numbers {
            assert!(!all_text.contains(no.as_str()), "{format} leaks {no}");
        }
        if format != "geojson" {
            for issue in &f.b {
                let no = issue["ledger_no"].as_str().unwrap();
                assert!(all_text.contains(no), "{format} holds B's own {no}");
            }
        }
        assert!(!all_text.contains("甲社区"), "{format} names village A");
    }
    // Asking for village A is answered as if it did not exist.
    let (status, body) = f
        .app
        .get(
            &format!(
                "/api/v1/reports/ledger?format=csv&place_id={}",
                f.c.places.village_a
            ),
            &worker_b,
        )
        .await;
    assert_problem(status, &body, 404, "not_found");
}

#[tokio::test]
async fn reports_ledger_export_refuses_bad_parameters_with_400() {
    let f = fixture().await;
    let sup = f.c.supervisor.access.clone();
    for query in [
        "format=pdf",
        "format=csv&cursor=abc",
        "format=csv&limit=10",
        "format=csv&colour=red",
        "format=csv&state=done",
        "format=csv&created_from=yesterday",
    ] {
        let (status, body) = f
            .app
            .get(&format!("/api/v1/reports/ledger?{query}"), &sup)
            .await;
        assert_problem(status, &body, 400, "invalid_query");
    }
    let (status, _) = f
        .app
        .call(reqwest::Method::GET, "/api/v1/reports/ledger", None, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn reports_cli_exports_the_ledger_scoped_to_the_named_user() {
    let f = fixture().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("台账.csv");
    let out_s = out.to_str().unwrap();
    let printed = f
        .app
        .env
        .cli(
            &[
                "export", "ledger", "--as", "worker-b", "--format", "csv", "-o", out_s, "--quiet",
            ],
            "",
        )
        .unwrap();
    assert!(
        printed.contains("exported 3 issue(s) of 乙社区"),
        "{printed}"
    );
    let rows = csv_rows(&std::fs::read(&out).unwrap());
    assert_eq!(rows.len(), 1 + 3);
    assert!(rows.iter().all(|r| !r[5].contains("甲社区")));

    let xlsx = dir.path().join("a.xlsx");
    let printed = f
        .app
        .env
        .cli(
            &[
                "export",
                "ledger",
                "--as",
                "supervisor",
                "-o",
                xlsx.to_str().unwrap(),
                "--quiet",
                "--place",
                "130102001001",
                "--filter",
                "state=assigned,closed",
            ],
            "",
        )
        .unwrap();
    assert!(
        printed.contains("exported 4 issue(s) of 建北街道 甲社区"),
        "{printed}"
    );
    assert_eq!(
        sheet(&std::fs::read(&xlsx).unwrap()).end().unwrap().0,
        2 + 4
    );

    let geo = dir.path().join("a.geojson");
    let printed = f
        .app
        .env
        .cli(
            &[
                "export",
                "ledger",
                "--as",
                "worker-b",
                "--format",
                "geojson",
                "-o",
                geo.to_str().unwrap(),
                "--quiet",
            ],
            "",
        )
        .unwrap();
    assert!(
        printed.contains("1 without a location left out"),
        "{printed}"
    );

    // Village A is not worker B's to export; bad filters are refused; nothing is left behind.
    let denied = dir.path().join("denied.csv");
    for args in [
        vec!["--place", "130102001001"],
        vec!["--filter", "state=done"],
        vec!["--filter", "colour=red"],
        vec!["--filter", "limit=5"],
        vec!["--format", "pdf"],
    ] {
        let mut argv = vec![
            "export",
            "ledger",
            "--as",
            "worker-b",
            "--format",
            "csv",
            "-o",
            denied.to_str().unwrap(),
            "--quiet",
        ];
        argv.extend(args.iter().copied());
        let err = f.app.env.cli(&argv, "").unwrap_err();
        assert!(!err.is_empty());
        assert!(!denied.exists(), "{args:?} left a file");
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        3,
        "no .part files left"
    );
}
