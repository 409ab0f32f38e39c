//! Imports are recorded: the same file is not imported twice, a corrected re-send updates or
//! skips rows by their key (list + 序号), a dry run writes nothing, and an untouched import can be
//! undone.

use crate::import::{all_issues, in_days, upload, workbook};
use closeout_sync_protocol::Role;
use closeout_tests::{TestApp, assert_problem};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn preview(app: &TestApp, token: &str, bytes: Vec<u8>, name: &str) -> (StatusCode, Value) {
    let res = app
        .client
        .post(app.url(&format!("/api/v1/issues/import/preview?file_name={name}")))
        .bearer_auth(token)
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn two_rows() -> Vec<u8> {
    workbook(&[
        [
            "村口垃圾堆放",
            "村口东侧",
            "三堆",
            "130102001001",
            "",
            "",
            "",
            "",
            "",
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
    ])
}

#[tokio::test]
async fn the_same_file_twice_is_refused_naming_the_first_import() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    // One file, sent twice (a workbook made again would carry another timestamp and hash).
    let file = two_rows();
    let (status, first) = upload(&app, &c.supervisor.access, file.clone(), "第3批.xlsx").await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, problem) =
        upload(&app, &c.supervisor.access, file.clone(), "第3批-副本.xlsx").await;
    assert_problem(status, &problem, 409, "import_already_done");
    assert_eq!(problem["import"]["id"], first["batch_id"]);
    assert_eq!(problem["import"]["file_name"], "第3批.xlsx");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains(first["batch_id"].as_str().unwrap())
    );
    assert_eq!(all_issues(&app, &c).await.len(), 2, "nothing created twice");
    // The import is on record: who, when, which file, how many rows, what it made.
    let (status, list) = app
        .get("/api/v1/issues/imports", &c.supervisor.access)
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], first["batch_id"]);
    assert_eq!(list[0]["list"], "长安区2026年第3批交办问题清单");
    assert_eq!(list[0]["imported_by"], c.supervisor.id.as_str());
    assert_eq!(
        (list[0]["rows"].as_i64(), list[0]["created"].as_i64()),
        (Some(2), Some(2))
    );
    assert_eq!(list[0]["file_sha256"].as_str().unwrap().len(), 64);
    // The dry run says so too, and still shows the rows.
    let (status, plan) = preview(&app, &c.supervisor.access, file.clone(), "x.xlsx").await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    assert_eq!(plan["already_imported"]["id"], first["batch_id"]);
}

#[tokio::test]
async fn a_corrected_resend_updates_or_skips_rows_by_key_and_never_duplicates() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let (status, _) = upload(&app, &c.supervisor.access, two_rows(), "第3批.xlsx").await;
    assert_eq!(status, StatusCode::CREATED);
    let issues = all_issues(&app, &c).await;
    let moved = issues.iter().find(|i| i["title"] == "占道经营").unwrap();
    let moved_id = moved["id"].as_str().unwrap().to_owned();
    // The office works on row 2's issue before the county re-sends the list.
    let (status, body) = app
        .act(
            &c.supervisor,
            &moved_id,
            json!({"action": "comment", "comment": "已电话督促"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let due = in_days(15).to_string();
    let corrected = workbook(&[
        [
            "村口垃圾堆放（更正）",
            "村口东侧",
            "三堆",
            "130102001001",
            "",
            "",
            "",
            "",
            "较重",
        ],
        [
            "占道经营（更正）",
            "",
            "street_occupation",
            "130102001002",
            "",
            "",
            "",
            "",
            "",
        ],
        [
            "新增：柴草乱堆",
            "",
            "三堆",
            "130102001002",
            "长安区住建局",
            "bureau-li",
            "清理",
            &due,
            "",
        ],
    ]);
    // The dry run shows the fate of every row and writes nothing.
    let (status, plan) = preview(&app, &c.supervisor.access, corrected.clone(), "更正.xlsx").await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    let actions: Vec<&str> = plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["update", "skip", "create"], "{plan}");
    assert_eq!(
        (plan["create"].as_u64(), plan["assign"].as_u64()),
        (Some(1), Some(1))
    );
    assert!(plan["errors"].as_array().unwrap().is_empty());
    assert!(plan["already_imported"].is_null());
    assert_eq!(
        all_issues(&app, &c).await.len(),
        2,
        "the dry run wrote nothing"
    );

    let (status, report) = upload(&app, &c.supervisor.access, corrected, "更正.xlsx").await;
    assert_eq!(status, StatusCode::CREATED, "{report}");
    assert_eq!(
        (
            report["created"].as_u64(),
            report["updated"].as_u64(),
            report["skipped"].as_u64()
        ),
        (Some(1), Some(1), Some(1)),
        "{report}"
    );
    let issues = all_issues(&app, &c).await;
    assert_eq!(issues.len(), 3, "never duplicated");
    let updated = issues
        .iter()
        .find(|i| i["title"] == "村口垃圾堆放（更正）")
        .unwrap();
    assert_eq!(updated["severity"], "moderate");
    assert!(
        issues.iter().any(|i| i["title"] == "占道经营"),
        "a moved issue is left alone"
    );
    let (_, detail) = app
        .get(
            &format!("/api/v1/issues/{}", updated["id"].as_str().unwrap()),
            &c.supervisor.access,
        )
        .await;
    let last = detail["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["action"], "update");
    assert_eq!(last["data"]["import"]["key"], "1");

    // A bad row in a re-send still refuses the whole file.
    let bad = workbook(&[
        [
            "村口垃圾堆放（再更正）",
            "",
            "三堆",
            "130102001001",
            "",
            "",
            "",
            "",
            "",
        ],
        ["未知区划", "", "三堆", "999999999999", "", "", "", "", ""],
    ]);
    let (status, problem) = upload(&app, &c.supervisor.access, bad, "再更正.xlsx").await;
    assert_problem(status, &problem, 422, "import_rejected");
    assert_eq!(problem["errors"][0]["row"], 5);
    assert!(
        all_issues(&app, &c)
            .await
            .iter()
            .any(|i| i["title"] == "村口垃圾堆放（更正）")
    );
}

#[tokio::test]
async fn an_untouched_import_can_be_undone_and_a_moved_one_cannot() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let other = app
        .user_with("sup-b", &[(Role::Supervisor, Some(&c.places.village_b))])
        .await;
    let (_, first) = upload(&app, &c.supervisor.access, two_rows(), "第3批.xlsx").await;
    let id = first["batch_id"].as_str().unwrap().to_owned();
    let ids: Vec<String> = all_issues(&app, &c)
        .await
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    let undo = format!("/api/v1/issues/imports/{id}/undo");
    // Denied: a field role, and a supervisor of only one of the list's villages.
    let (status, problem) = app.post(&undo, &c.worker_a.access, json!({})).await;
    assert_problem(status, &problem, 403, "forbidden");
    let (status, problem) = app.post(&undo, &other.access, json!({})).await;
    assert_problem(status, &problem, 404, "not_found");
    let (status, problem) = app.get("/api/v1/issues/imports", &c.worker_a.access).await;
    assert_problem(status, &problem, 403, "forbidden");
    let (_, seen) = app.get("/api/v1/issues/imports", &other.access).await;
    assert_eq!(seen.as_array().unwrap().len(), 0);
    let (status, problem) = preview(&app, &c.worker_a.access, two_rows(), "x.xlsx").await;
    assert_problem(status, &problem, 403, "forbidden");

    let (status, undone) = app.post(&undo, &c.supervisor.access, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{undone}");
    assert!(undone["undone_at"].is_string());
    // Nothing is deleted from the ledger: each issue is rejected, its history saying why.
    for issue in &ids {
        let (_, detail) = app
            .get(&format!("/api/v1/issues/{issue}"), &c.supervisor.access)
            .await;
        assert_eq!(detail["state"], "rejected");
        let last = detail["history"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        assert_eq!(last["action"], "reject");
        assert!(
            last["data"].to_string().contains(&id) || last["comment"].to_string().contains(&id),
            "{last}"
        );
    }
    let (status, problem) = app.post(&undo, &c.supervisor.access, json!({})).await;
    assert_problem(status, &problem, 409, "import_not_undoable");

    // Undone, the same file may be imported again; once an issue moves, undo is refused.
    let (status, again) = upload(&app, &c.supervisor.access, two_rows(), "第3批.xlsx").await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    let issue = all_issues(&app, &c).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = app
        .act(
            &c.supervisor,
            &issue,
            json!({"action": "comment", "comment": "已核实"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let undo = format!(
        "/api/v1/issues/imports/{}/undo",
        again["batch_id"].as_str().unwrap()
    );
    let (status, problem) = app.post(&undo, &c.supervisor.access, json!({})).await;
    assert_problem(status, &problem, 409, "import_not_undoable");
    assert_eq!(problem["moved"].as_array().unwrap().len(), 1);
    let open = all_issues(&app, &c)
        .await
        .iter()
        .filter(|i| i["state"] == "reported")
        .count();
    assert_eq!(open, 2, "nothing half-undone");
}

#[tokio::test]
async fn the_cli_dry_run_shows_the_plan_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let path = app.env.data_dir.path().join("第3批.xlsx");
    std::fs::write(&path, two_rows()).unwrap();
    let file = path.to_str().unwrap();
    let out = app
        .env
        .cli(
            &["issues", "import", file, "--as", "supervisor", "--dry-run"],
            "",
        )
        .unwrap();
    assert!(
        out.contains("would create 2 (0 assigned), update 0, skip 0; 0 problem(s)"),
        "{out}"
    );
    assert!(
        out.contains("row 4 [1] create: 村口垃圾堆放 @ 甲社区"),
        "{out}"
    );
    assert!(all_issues(&app, &c).await.is_empty());
    let out = app
        .env
        .cli(
            &["issues", "import", file, "--as", "supervisor", "--quiet"],
            "",
        )
        .unwrap();
    assert!(out.contains("2 issue(s) created"), "{out}");
    let err = app
        .env
        .cli(
            &["issues", "import", file, "--as", "supervisor", "--quiet"],
            "",
        )
        .unwrap_err();
    assert!(err.contains("was imported on"), "{err}");
    let out = app
        .env
        .cli(&["issues", "imports", "--as", "supervisor"], "")
        .unwrap();
    assert!(
        out.contains("第3批.xlsx") && out.contains("2 created"),
        "{out}"
    );
    assert_eq!(all_issues(&app, &c).await.len(), 2);
}
