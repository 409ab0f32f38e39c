//! Official documents (issue 15.9): the notice and the bulletin carry a 文号 per issuing office and
//! year (never the same twice, the same on every reprint), the issuing office and a dated 落款;
//! both come as DOCX an office can edit; equal places share a rank in a bulletin.

use chrono::{Datelike, Duration, NaiveTime};
use closeout::db::schema::issues;
use closeout_tests::{TestApp, TestUser};
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::io::Read;

fn today() -> chrono::NaiveDate {
    (chrono::Utc::now() + Duration::hours(8)).date_naive()
}

async fn get_bytes(app: &TestApp, path: &str, token: &str) -> (StatusCode, Vec<u8>, String) {
    let res = app
        .client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let ct = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, res.bytes().await.unwrap().to_vec(), ct)
}

/// `word/document.xml` of a DOCX, as text (the file must be a zip that holds it).
fn document_xml(bytes: &[u8]) -> String {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a DOCX is a zip");
    let mut xml = String::new();
    zip.by_name("word/document.xml")
        .expect("word/document.xml")
        .read_to_string(&mut xml)
        .unwrap();
    xml
}

async fn assigned(
    app: &TestApp,
    c: &closeout_tests::Cast,
    worker: &TestUser,
    place: &str,
    title: &str,
) -> Value {
    let issue = app.report(worker, place, title).await;
    let id = issue["id"].as_str().unwrap();
    let (status, res) = app
        .act(
            &c.supervisor,
            id,
            json!({"action": "assign", "responsible_unit_id": c.bureau,
            "responsible_user_id": c.responsible.id, "target": "清理到位",
            "deadline": today() + Duration::days(7)}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    issue
}

#[tokio::test]
async fn notices_are_numbered_per_office_and_year_and_open_as_docx() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let sup = c.supervisor.access.clone();
    let year = today().year();
    let first = assigned(&app, &c, &c.worker_a, &c.places.village_a, "河道垃圾").await;
    let second = assigned(&app, &c, &c.worker_b, &c.places.village_b, "违建棚屋").await;
    let last_year = assigned(&app, &c, &c.worker_a, &c.places.village_a, "柴草堆放").await;
    // Assigned on 20 December last year, 03:00 Beijing time (19:00 UTC the day before).
    let assigned_at = chrono::NaiveDate::from_ymd_opt(year - 1, 12, 19)
        .unwrap()
        .and_time(NaiveTime::from_hms_opt(19, 0, 0).unwrap());
    diesel::update(issues::table.find(last_year["id"].as_str().unwrap()))
        .set(issues::assigned_at.eq(Some(assigned_at)))
        .execute(&mut *app.db().get().unwrap())
        .unwrap();
    let notice = |issue: &Value, format: &str| {
        format!(
            "/api/v1/issues/{}/notice?format={format}",
            issue["id"].as_str().unwrap()
        )
    };

    let (status, bytes, ct) = get_bytes(&app, &notice(&first, "docx"), &sup).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        ct,
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    );
    let xml = document_xml(&bytes);
    assert!(xml.contains(&format!("〔{year}〕1号")), "文号: {xml}");
    assert!(xml.contains("长安区督查办"), "issuing office: {xml}");
    let signed = format!(
        "{}年{}月{}日",
        today().year(),
        today().month(),
        today().day()
    );
    assert!(xml.contains(&signed), "落款 dated {signed}: {xml}");
    assert!(
        xml.contains("整改通知书") && xml.contains("河道垃圾"),
        "{xml}"
    );
    assert!(
        xml.contains(first["ledger_no"].as_str().unwrap()),
        "rows: {xml}"
    );
    assert!(
        xml.contains("清理到位") && xml.contains("完成时限"),
        "{xml}"
    );

    // The next notice of the same office and year takes the next number; a reprint keeps its own.
    let (_, page, _) = get_bytes(&app, &notice(&second, "html"), &sup).await;
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains(&format!("〔{year}〕2号")), "{page}");
    assert!(
        page.contains("长安区督查办") && page.contains("盖章处"),
        "{page}"
    );
    let (_, page, _) = get_bytes(&app, &notice(&first, "html"), &sup).await;
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains(&format!("〔{year}〕1号")), "reprint: {page}");
    assert!(!page.contains(&format!("〔{year}〕3号")), "{page}");
    // A notice of last year's assignment is numbered in last year's sequence, dated its day.
    let (_, bytes, _) = get_bytes(&app, &notice(&last_year, "docx"), &sup).await;
    let xml = document_xml(&bytes);
    assert!(xml.contains(&format!("〔{}〕1号", year - 1)), "{xml}");
    assert!(xml.contains(&format!("{}年12月20日", year - 1)), "{xml}");
    // No number was taken twice.
    let numbers: Vec<(i32, i32)> = closeout::db::schema::official_documents::table
        .select((
            closeout::db::schema::official_documents::year,
            closeout::db::schema::official_documents::seq,
        ))
        .order_by((
            closeout::db::schema::official_documents::year,
            closeout::db::schema::official_documents::seq,
        ))
        .load(&mut *app.db().get().unwrap())
        .unwrap();
    assert_eq!(numbers, vec![(year - 1, 1), (year, 1), (year, 2)]);

    let (status, body) = app.get(&notice(&first, "pdf"), &sup).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], "invalid_query");
}

#[tokio::test]
async fn equal_places_share_a_rank_in_the_bulletin_and_its_docx() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let sup = c.supervisor.access.clone();
    // One open issue in each village: equal closure rate (none) and overdue (0).
    app.report(&c.worker_a, &c.places.village_a, "河道垃圾")
        .await;
    app.report(&c.worker_b, &c.places.village_b, "违建棚屋")
        .await;
    let range = format!(
        "parent={}&from={}&to={}",
        c.places.town,
        today() - Duration::days(6),
        today()
    );
    let (status, b) = app
        .get(
            &format!("/api/v1/reports/bulletin?format=json&{range}"),
            &sup,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{b}");
    let ranks: Vec<u64> = b["ranking"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rank"].as_u64().unwrap())
        .collect();
    assert_eq!(ranks, vec![1, 1], "{b}");

    let year = today().year();
    let path = format!("/api/v1/reports/bulletin?format=docx&{range}");
    let (status, bytes, _) = get_bytes(&app, &path, &sup).await;
    assert_eq!(status, StatusCode::OK);
    let xml = document_xml(&bytes);
    assert!(xml.contains(&format!("〔{year}〕1号")), "{xml}");
    assert!(xml.contains("建北街道督查办"), "{xml}");
    assert!(
        xml.contains("各地整改排名") && xml.contains("甲社区"),
        "{xml}"
    );
    // Printed again (HTML) the bulletin keeps its number.
    let (_, page, _) = get_bytes(&app, &path.replace("docx", "html"), &sup).await;
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains(&format!("〔{year}〕1号")), "{page}");
    assert_eq!(page.matches("<tr><td>1</td>").count(), 2, "{page}");
}

#[tokio::test]
async fn the_inspection_record_lists_team_items_results_photos_and_score_as_html_and_docx() {
    use super::inspections::{
        body, create_small_template, failed_with_photo, header, item, new_id, photo, record_ok,
    };
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let template = create_small_template(&app, "record_sheet").await;
    let id = new_id();
    record_ok(
        &app,
        &c.inspector,
        body(
            &id,
            header(&template, 1, &c.places.village_a, "unannounced"),
            vec![
                failed_with_photo("clean", json!(false), 7),
                item("tidy", 0, json!(15)),
                item("notes", 0, json!("道路两侧\n基本整洁")),
            ],
            None,
        ),
    )
    .await;
    let path = format!("/api/v1/inspections/{id}/record");
    let (status, page, ct) = get_bytes(&app, &path, &c.supervisor.access).await;
    assert_eq!(status, StatusCode::OK);
    assert!(ct.starts_with("text/html"), "{ct}");
    let page = String::from_utf8(page).unwrap();
    for expected in [
        "督查记录单",
        "测试督查表",
        "甲社区",
        "村东桥下",
        "环境整洁",
        "不合格",
        "现场发现问题",
        "道路两侧<br>\n基本整洁",
        &photo(7),
        "<td>15</td><td>20</td>",
        "签字",
    ] {
        assert!(page.contains(expected), "{expected} missing: {page}");
    }
    // 2026-11-20T01:00Z is 09:00 in Beijing.
    assert!(page.contains("2026-11-20 09:00"), "{page}");

    let (status, bytes, _) =
        get_bytes(&app, &format!("{path}?format=docx"), &c.supervisor.access).await;
    assert_eq!(status, StatusCode::OK);
    let xml = document_xml(&bytes);
    for expected in [
        "督查记录单",
        "测试督查表",
        "环境整洁",
        "不合格",
        "秩序评分",
        "1张",
        "得分率：37.5%",
        "签字",
    ] {
        assert!(xml.contains(expected), "{expected} missing: {xml}");
    }

    // Someone of another county: 404, as for the inspection itself.
    let other = app
        .add_place("130104000000", "桥西区", "county", Some(&c.places.city))
        .await;
    let stranger = app
        .user_with(
            "inspector-qx",
            &[(closeout_sync_protocol::Role::Inspector, Some(&other))],
        )
        .await;
    let (status, _) = app.get(&path, &stranger.access).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
