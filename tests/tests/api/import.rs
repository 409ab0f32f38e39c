//! Handed-down lists (交办清单) from Excel and CSV, and the rectification notice.

use closeout_tests::{Cast, TestApp, assert_problem};
use reqwest::StatusCode;
use rust_xlsxwriter::{Format, Workbook};
use serde_json::Value;

pub(crate) fn in_days(days: i64) -> chrono::NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(8) + chrono::Duration::days(days)).date_naive()
}

const HEADER: [&str; 10] = [
    "序号",
    "问题标题",
    "问题描述",
    "问题类别",
    "区划代码",
    "责任单位",
    "责任人",
    "整改目标",
    "完成时限",
    "严重程度",
];

/// A list as an office makes it: a title line, an empty line, then the header and rows. Codes are
/// typed as numbers and deadlines as date cells, as Excel users do.
pub(crate) fn workbook(rows: &[[&str; 9]]) -> Vec<u8> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    ws.write_string(0, 0, "长安区2026年第3批交办问题清单")
        .unwrap();
    for (c, h) in HEADER.iter().enumerate() {
        ws.write_string(2, c as u16, *h).unwrap();
    }
    for (i, row) in rows.iter().enumerate() {
        let r = 3 + i as u32;
        ws.write_number(r, 0, (i + 1) as f64).unwrap();
        for (c, value) in row.iter().enumerate() {
            let col = (c + 1) as u16;
            if value.is_empty() {
                continue;
            }
            if let Ok(n) = value.parse::<f64>() {
                ws.write_number(r, col, n).unwrap();
            } else if let Ok(day) = chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d") {
                ws.write_datetime_with_format(r, col, day, &date).unwrap();
            } else {
                ws.write_string(r, col, *value).unwrap();
            }
        }
    }
    wb.save_to_buffer().unwrap()
}

pub(crate) async fn upload(
    app: &TestApp,
    token: &str,
    bytes: Vec<u8>,
    name: &str,
) -> (StatusCode, Value) {
    let res = app
        .client
        .post(app.url(&format!("/api/v1/issues/import?file_name={name}")))
        .bearer_auth(token)
        .header(
            "content-type",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

pub(crate) async fn all_issues(app: &TestApp, c: &Cast) -> Vec<Value> {
    let (_, page) = app
        .get("/api/v1/issues?limit=200", &c.supervisor.access)
        .await;
    page["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn an_excel_list_imports_with_assignments_by_unit_and_person_names() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let due = in_days(20).to_string();
    let bytes = workbook(&[
        [
            "村口垃圾堆放",
            "村口东侧",
            "三堆",
            "130102001001",
            "长安区住建局",
            "bureau-li",
            "清理到位",
            &due,
            "较重",
        ],
        [
            "占道经营",
            "",
            "street_occupation",
            "130102001002",
            "",
            "",
            "",
            "",
            "",
        ],
    ]);
    let (status, report) = upload(&app, &c.supervisor.access, bytes, "第3批.xlsx").await;
    assert_eq!(status, StatusCode::CREATED, "{report}");
    assert_eq!(
        (report["created"].as_u64(), report["assigned"].as_u64()),
        (Some(2), Some(1))
    );
    let issues = all_issues(&app, &c).await;
    let assigned = issues
        .iter()
        .find(|i| i["title"] == "村口垃圾堆放")
        .unwrap();
    assert_eq!(assigned["state"], "assigned");
    assert_eq!(assigned["category"], "three_piles");
    assert_eq!(assigned["severity"], "moderate");
    assert_eq!(assigned["source"], "handed_down");
    assert_eq!(assigned["deadline"], due);
    assert_eq!(assigned["responsible_user_id"], c.responsible.id.as_str());
    let other = issues.iter().find(|i| i["title"] == "占道经营").unwrap();
    assert_eq!(other["state"], "reported");
    // The history says where it came from, and who handed it down.
    let (_, detail) = app
        .get(
            &format!("/api/v1/issues/{}", assigned["id"].as_str().unwrap()),
            &c.supervisor.access,
        )
        .await;
    assert_eq!(detail["history"][0]["action"], "import");
    assert_eq!(detail["history"][0]["data"]["import"]["file"], "第3批.xlsx");
    assert_eq!(detail["history"][0]["data"]["import"]["row"], 4);
    assert_eq!(detail["history"][1]["action"], "assign");
    assert_eq!(detail["history"][1]["actor_id"], c.supervisor.id.as_str());
}

#[tokio::test]
async fn a_list_with_bad_rows_is_refused_whole_with_every_row_named() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let due = in_days(20).to_string();
    let past = in_days(-2).to_string();
    let bytes = workbook(&[
        ["好的一行", "", "三堆", "130102001001", "", "", "", "", ""],
        ["未知区划", "", "三堆", "999999999999", "", "", "", "", ""],
        ["未知类别", "", "外星人", "130102001001", "", "", "", "", ""],
        [
            "交办不全",
            "",
            "三堆",
            "130102001001",
            "长安区住建局",
            "",
            "",
            &due,
            "",
        ],
        [
            "不是责任人",
            "",
            "三堆",
            "130102001001",
            "长安区住建局",
            "worker-a",
            "x",
            &due,
            "",
        ],
        [
            "时限已过",
            "",
            "三堆",
            "130102001001",
            "长安区住建局",
            "bureau-li",
            "x",
            &past,
            "",
        ],
        ["", "", "三堆", "130102001001", "", "", "", "", ""],
        ["不在辖区", "", "三堆", "130102000000", "", "", "", "", ""],
    ]);
    let (status, problem) = upload(&app, &c.supervisor.access, bytes, "bad.xlsx").await;
    assert_problem(status, &problem, 422, "import_rejected");
    let rows: Vec<u64> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["row"].as_u64().unwrap())
        .collect();
    assert_eq!(rows, vec![5, 6, 7, 8, 9, 10, 11]);
    for e in problem["errors"].as_array().unwrap() {
        assert!(
            !e["reason"].as_str().unwrap().is_empty()
                && !e["reason_zh"].as_str().unwrap().is_empty()
        );
    }
    assert!(
        all_issues(&app, &c).await.is_empty(),
        "nothing half-imported"
    );
    // A file that is no list at all.
    let (status, problem) = upload(
        &app,
        &c.supervisor.access,
        b"just,some\ncsv,text\n".to_vec(),
        "x.csv",
    )
    .await;
    assert_problem(status, &problem, 422, "import_rejected");
    // Field roles may not import.
    let (status, problem) = upload(&app, &c.worker_a.access, workbook(&[]), "x.xlsx").await;
    assert_problem(status, &problem, 403, "forbidden");
}

#[tokio::test]
async fn the_cli_imports_a_gbk_csv_of_1100_rows_all_assigned() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let due = in_days(30).format("%Y年%m月%d日").to_string();
    let csv = closeout_tests::lists::assigned_list_csv(1100, &due);
    let (bytes, _, _) = encoding_rs::GBK.encode(&csv);
    let path = app.env.data_dir.path().join("清单.csv");
    std::fs::write(&path, &bytes).unwrap();
    let out = app
        .env
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
    assert!(
        out.contains("1100 issue(s) created, 1100 assigned"),
        "{out}"
    );
    let year = in_days(0).format("%Y").to_string();
    assert!(
        out.contains(&format!("ledger numbers {year}-0000001 to {year}-0001100")),
        "{out}"
    );
    let (_, page) = app
        .get(
            "/api/v1/issues?state=assigned&limit=200",
            &c.responsible.access,
        )
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 200);
}

#[tokio::test]
async fn the_rectification_notice_prints_what_the_unit_must_do() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let id = app
        .report(
            &c.worker_a,
            &c.places.grid_a1,
            "<script>alert(1)</script>柴草乱堆",
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/issues/{id}/notice");
    let (status, problem) = app.get(&path, &c.supervisor.access).await;
    assert_problem(status, &problem, 409, "not_assigned");
    let due = in_days(9);
    let (status, _) = app
        .act(
            &c.supervisor,
            &id,
            serde_json::json!({"action": "assign", "responsible_unit_id": c.bureau, "responsible_user_id": c.responsible.id,
                               "target": "清理柴草，恢复整洁", "deadline": due}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let res = app
        .client
        .get(app.url(&path))
        .bearer_auth(&c.responsible.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = res.text().await.unwrap();
    for expected in [
        "整改通知书",
        "长安区住建局",
        "bureau-li",
        "清理柴草，恢复整洁",
        &due.format("%Y年%m月%d日").to_string(),
        "甲社区",
        "长安区督查办",
        "三堆",
    ] {
        assert!(html.contains(expected), "{expected} missing");
    }
    assert!(
        html.contains("&lt;script&gt;") && !html.contains("<script>alert"),
        "user text is escaped"
    );
    let (status, problem) = app.get(&path, &c.worker_b.access).await;
    assert_problem(status, &problem, 404, "not_found");
}
