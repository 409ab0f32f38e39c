//! The place tree: importing it from the CSV files offices keep, all rows or none.

use closeout_tests::TestApp;
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::HashMap;

async fn tree(app: &TestApp) -> HashMap<String, (String, String, Option<String>)> {
    let (status, list) = app.get("/api/v1/org-units", &app.admin.access).await;
    assert_eq!(status, StatusCode::OK);
    let units = list.as_array().unwrap();
    let code_of: HashMap<&str, &str> = units
        .iter()
        .map(|u| (u["id"].as_str().unwrap(), u["code"].as_str().unwrap_or("")))
        .collect();
    units
        .iter()
        .map(|u| {
            let parent = u["parent_id"].as_str().map(|p| code_of[p].to_owned());
            let code = u["code"].as_str().unwrap().to_owned();
            (
                code,
                (
                    u["name"].as_str().unwrap().to_owned(),
                    u["level"].as_str().unwrap().to_owned(),
                    parent,
                ),
            )
        })
        .collect()
}

fn write(dir: &std::path::Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_string_lossy().into_owned()
}

#[tokio::test]
async fn an_office_csv_with_chinese_headers_imports_in_any_order_and_again_harmlessly() {
    let app = TestApp::spawn().await;
    // Children before parents, levels left to the division codes, grids with an explicit parent.
    let csv = "\u{feff}区划代码,名称,层级,上级代码\n\
        130102001001,甲社区,,\n\
        130102001001-01,甲社区第一网格,网格,130102001001\n\
        130102001000,建北街道,,\n\
        130102001002,乙社区,社区,\n\
        130102000000,长安区,,\n";
    let file = write(app.env.data_dir.path(), "places.csv", csv.as_bytes());
    let out = app.env.cli(&["org", "import", &file], "").unwrap();
    assert!(
        out.contains("5 place(s) created, 0 already present"),
        "{out}"
    );

    let t = tree(&app).await;
    assert_eq!(t.len(), 5);
    assert_eq!(t["130102000000"], ("长安区".into(), "county".into(), None));
    assert_eq!(t["130102001000"].2.as_deref(), Some("130102000000"));
    assert_eq!(
        t["130102001001"],
        (
            "甲社区".into(),
            "village".into(),
            Some("130102001000".into())
        )
    );
    assert_eq!(t["130102001002"].1, "village");
    assert_eq!(
        t["130102001001-01"],
        (
            "甲社区第一网格".into(),
            "grid".into(),
            Some("130102001001".into())
        )
    );

    // Again, plus one new village: only the new one is created.
    let csv2 = format!("{csv}130102001003,丙村,,\n");
    let file2 = write(app.env.data_dir.path(), "places2.csv", csv2.as_bytes());
    let out = app.env.cli(&["org", "import", &file2], "").unwrap();
    assert!(
        out.contains("1 place(s) created, 5 already present"),
        "{out}"
    );
    assert_eq!(
        tree(&app).await["130102001003"].2.as_deref(),
        Some("130102001000")
    );
}

#[tokio::test]
async fn a_file_with_bad_rows_is_refused_whole_with_every_row_named() {
    let app = TestApp::spawn().await;
    let csv = "code,name,level,parent_code\n\
        130102001000,建北街道,township,\n\
        130102001001,甲社区,village,\n\
        13010200,短代码,,\n\
        130102001002,,village,\n\
        130102001001,重复,village,\n\
        G-9,孤网格,grid,NOPE\n\
        130102001004,村下乡,township,130102001001\n";
    let file = write(app.env.data_dir.path(), "bad.csv", csv.as_bytes());
    let err = app.env.cli(&["org", "import", &file], "").unwrap_err();
    for row in ["row 4:", "row 5:", "row 6:", "row 7:", "row 8:"] {
        assert!(err.contains(row), "{row} missing from:\n{err}");
    }
    assert!(
        !err.contains("row 2:") && !err.contains("row 3:"),
        "good rows are not blamed:\n{err}"
    );
    assert!(err.contains("nothing was written"), "{err}");
    // Not even the good rows were written.
    let (_, list) = app.get("/api/v1/org-units", &app.admin.access).await;
    assert_eq!(list, Value::Array(vec![]));
}

#[tokio::test]
async fn a_gbk_file_saved_by_excel_imports() {
    let app = TestApp::spawn().await;
    let (bytes, _, _) =
        encoding_rs::GBK.encode("代码,名称\n130102001000,建北街道\n130102001001,甲社区\n");
    let file = write(app.env.data_dir.path(), "gbk.csv", &bytes);
    let out = app.env.cli(&["org", "import", &file], "").unwrap();
    assert!(out.contains("2 place(s) created"), "{out}");
    assert_eq!(tree(&app).await["130102001001"].0, "甲社区");
}
