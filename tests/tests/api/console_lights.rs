//! 亮灯 and 领导批示 in a real headless Chromium: the ledger's lights, an instruction added on the
//! issue page, and the printable 督办单 in the configured colour of the issue's light.

use super::console::{browser_login, id_of};
use closeout::db::schema::issues;
use closeout_tests::browser::Browser;
use closeout_tests::{Cast, TestApp};
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::json;

/// An issue assigned to the bureau, its deadline `due_in` days away (moved directly: the API only
/// takes future deadlines).
async fn assigned_due(app: &TestApp, c: &Cast, title: &str, due_in: i64) -> String {
    let id = id_of(&app.report(&c.worker_a, &c.places.village_a, title).await);
    let (status, body) = app
        .act(
            &c.supervisor,
            &id,
            json!({"action": "assign", "responsible_unit_id": c.bureau, "responsible_user_id": c.responsible.id,
                   "target": "整改到位", "deadline": (chrono::Utc::now() + chrono::Duration::days(30)).date_naive()}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let day = (chrono::Utc::now() + chrono::Duration::hours(8) + chrono::Duration::days(due_in))
        .date_naive();
    diesel::update(issues::table.find(&id))
        .set(issues::deadline.eq(day))
        .execute(&mut *app.db().get().unwrap())
        .unwrap();
    id
}

#[tokio::test]
async fn lights_instructions_and_the_supervision_sheet_in_a_real_browser() {
    let app = TestApp::spawn_with(|s| {
        s.lights.red_sheet.title = "红色督办通知".into();
        s.lights.red_sheet.colour = "#aa0011".into();
    })
    .await;
    let c = app.cast().await;
    let red = assigned_due(&app, &c, "占道经营（超期）", -2).await;
    assigned_due(&app, &c, "违建棚屋（将到期）", 1).await;
    assigned_due(&app, &c, "旱厕改造（正常）", 20).await;
    assigned_due(&app, &c, "河道垃圾（正常）", 25).await;

    let b = Browser::launch().await;
    browser_login(&b, &app, &c.supervisor).await;
    // The dashboard counts by light, each a link to its list.
    assert_eq!(b.text("#light-red .n").await, "1");
    assert_eq!(b.text("#light-yellow .n").await, "1");
    assert_eq!(b.text("#light-green .n").await, "2");
    b.screenshot("dashboard-lights").await;
    b.click("#light-red").await;
    b.wait_for("return location.search.includes('light=red')")
        .await;
    let rows = b.text("#rows").await;
    assert!(
        rows.contains("占道经营") && rows.contains("红灯") && !rows.contains("违建棚屋"),
        "{rows}"
    );
    b.screenshot("ledger-lights").await;

    // 领导批示: written on the issue page, shown above the history, sent with the issue.
    b.click("a.issue-link").await;
    assert!(b.text("#issue-light").await.contains("红灯"));
    let words = "请住建局本周内完成清理，并报送整改照片。";
    b.type_into("#instruct-text", words).await;
    b.click("#instruct").await;
    b.find("#instructions").await;
    assert!(b.text("#instructions").await.contains(words));
    let above = b
        .script("return !!(document.getElementById('instructions').compareDocumentPosition(document.getElementById('history')) & Node.DOCUMENT_POSITION_FOLLOWING)")
        .await;
    assert_eq!(above, true, "instructions come before the history");
    b.screenshot("issue-instructions").await;

    // Who answers for it and by when, on the page and on the sheet, each in its date format.
    let due =
        (chrono::Utc::now() + chrono::Duration::hours(8) - chrono::Duration::days(2)).date_naive();
    let page = b.text("body").await;
    for fact in [
        "责任单位",
        "整改目标",
        "整改到位",
        "完成时限",
        &due.to_string(),
    ] {
        assert!(page.contains(fact), "{fact} on the issue page: {page}");
    }

    // The 督办单 in the light's configured title and colour, with the instruction.
    b.click("#sheet-link").await;
    assert_eq!(b.text("#sheet-title").await, "红色督办通知");
    assert!(b.text("#sheet-light").await.contains("已超期 2 天"));
    assert!(b.text("#sheet-instructions").await.contains(words));
    let colour = b
        .script("return getComputedStyle(document.getElementById('sheet-title')).color")
        .await;
    assert_eq!(colour, "rgb(170, 0, 17)", "the configured red");
    let sheet = b.text("body").await;
    let due_zh = due.format("%Y年%m月%d日").to_string();
    for fact in ["责任单位", "整改到位", "完成时限", "督办等级", &due_zh] {
        assert!(sheet.contains(fact), "{fact} on the sheet: {sheet}");
    }
    b.screenshot("sheet-red").await;

    // Village B's worker cannot print village A's sheet, and is offered no instruction form.
    b.goto(&app.url("/console/")).await;
    b.click("#logout").await;
    b.find("#login").await;
    browser_login(&b, &app, &c.worker_b).await;
    b.goto(&app.url(&format!("/console/issues/{red}/sheet")))
        .await;
    assert!(b.text(".problem h1").await.contains("404"));
    b.goto(&app.url("/console/")).await;
    b.click("#logout").await;
    b.find("#login").await;
    browser_login(&b, &app, &c.worker_a).await;
    b.goto(&app.url(&format!("/console/issues/{red}"))).await;
    b.find("#issue-title").await;
    assert!(
        !b.exists("#form-instruct").await,
        "a grid worker does not instruct"
    );
}
