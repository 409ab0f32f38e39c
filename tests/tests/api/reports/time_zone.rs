//! Dates people read are days in the office's time zone (Asia/Shanghai by default), never UTC:
//! an issue reported at 04:00 Beijing time — 20:00 UTC the day before — is dated the Beijing day
//! on the notice, in the album and in CSV and XLSX exports; the XLSX caption names the days the
//! export actually covers; multi-line text keeps its line breaks on printed pages.

use super::fetch;
use calamine::{DataType, Reader, Xlsx};
use chrono::{Duration, NaiveDate, NaiveTime};
use closeout::db::schema::issues;
use closeout_tests::TestApp;
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn an_issue_reported_at_four_in_the_morning_in_beijing_carries_the_beijing_date() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    // Beijing day D; 04:00 on D in Beijing is 20:00 UTC on D − 1.
    let d = super::today() - Duration::days(3);
    let utc = (d - Duration::days(1)).and_time(NaiveTime::from_hms_opt(20, 0, 0).unwrap());
    let (status, issue) = app
        .post(
            "/api/v1/issues",
            &c.worker_a.access,
            json!({"title": "凌晨发现\n垃圾堆放", "description": "第一行：村口\r\n第二行：<桥下>",
                   "category": "three_piles", "source": "grid_patrol",
                   "place_id": c.places.village_a}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{issue}");
    let id = issue["id"].as_str().unwrap();
    let deadline = super::today() + Duration::days(10);
    let (status, res) = app
        .act(
            &c.supervisor,
            id,
            json!({"action": "assign", "responsible_unit_id": c.bureau,
            "responsible_user_id": c.responsible.id, "target": "清理到位\n建立长效机制",
            "deadline": deadline}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    diesel::update(issues::table.find(id))
        .set((
            issues::created_at.eq(utc),
            issues::assigned_at.eq(Some(utc + Duration::hours(1))),
        ))
        .execute(&mut *app.db().get().unwrap())
        .unwrap();
    app.forget_figures();
    let sup = &c.supervisor.access;
    let zh = |day: NaiveDate| day.format("%Y年%m月%d日").to_string();
    let iso = |day: NaiveDate| day.format("%Y-%m-%d").to_string();

    let (status, page, _) = fetch(&app, &format!("/api/v1/issues/{id}/notice"), sup).await;
    assert_eq!(status, StatusCode::OK);
    let page = String::from_utf8(page).unwrap();
    assert!(
        page.contains(&format!("<tr><th>发现日期</th><td>{}</td></tr>", zh(d))),
        "reported on the Beijing day {d}: {page}"
    );
    assert!(
        !page.contains(&zh(d - Duration::days(1))),
        "no UTC day: {page}"
    );
    assert!(
        page.contains("第一行：村口<br>\n第二行：&lt;桥下&gt;"),
        "{page}"
    );
    assert!(page.contains("凌晨发现<br>\n垃圾堆放"), "{page}");
    assert!(page.contains("清理到位<br>\n建立长效机制"), "{page}");

    let (status, page, _) = fetch(&app, &format!("/api/v1/reports/album?issue_id={id}"), sup).await;
    assert_eq!(status, StatusCode::OK);
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains(&format!("上报：{}", iso(d))), "{page}");

    let (status, bytes, _) = fetch(&app, "/api/v1/reports/ledger?format=csv", sup).await;
    assert_eq!(status, StatusCode::OK);
    let mut reader = csv::ReaderBuilder::new().from_reader(&bytes[3..]);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(&rows[0][16], iso(d), "上报日期: {:?}", rows[0]);
    assert_eq!(
        &rows[0][3], "第一行：村口\r\n第二行：<桥下>",
        "text kept as typed"
    );

    // An inclusive end written as the last second of D: D is covered and named in the caption.
    let range = format!(
        "created_from={}T00:00:00%2B08:00&created_to={}T23:59:59%2B08:00",
        iso(d),
        iso(d)
    );
    let (status, bytes, _) = fetch(
        &app,
        &format!("/api/v1/reports/ledger?format=xlsx&{range}"),
        sup,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let mut book = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    let sheet = book.worksheet_range("整改台账").unwrap();
    let caption = sheet.get_value((1, 0)).unwrap().as_string().unwrap();
    assert!(
        caption.contains(&format!("统计期间：{}至{}", zh(d), zh(d))),
        "{caption}"
    );
    assert!(caption.contains("共 1 条"), "{caption}");
    let reported = sheet.get_value((3, 16)).unwrap().as_date().unwrap();
    assert_eq!(reported, d, "上报日期 cell");
    // The same day as an exclusive end (midnight after D) names D as the last day too.
    let range = format!(
        "created_from={}T00:00:00%2B08:00&created_to={}T00:00:00%2B08:00",
        iso(d),
        iso(d + Duration::days(1))
    );
    let (_, bytes, _) = fetch(
        &app,
        &format!("/api/v1/reports/ledger?format=xlsx&{range}"),
        sup,
    )
    .await;
    let mut book = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    let sheet = book.worksheet_range("整改台账").unwrap();
    let caption = sheet.get_value((1, 0)).unwrap().as_string().unwrap();
    assert!(
        caption.contains(&format!("统计期间：{}至{}", zh(d), zh(d))),
        "{caption}"
    );
    assert!(caption.contains("共 1 条"), "{caption}");
}
