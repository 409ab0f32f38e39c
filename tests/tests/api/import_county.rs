//! A list as a county writes it: a merged title row, villages by name in 所属村（社区）, no title
//! column, categories in the county's own words.

use crate::import::{all_issues, in_days, upload};
use closeout_tests::{TestApp, assert_problem};
use reqwest::StatusCode;
use rust_xlsxwriter::{Format, FormatAlign, Workbook};

const HEADER: [&str; 8] = [
    "序号",
    "所属村（社区）",
    "问题类别",
    "问题描述",
    "责任单位",
    "责任人",
    "整改措施",
    "整改时限",
];

fn county_list(rows: &[[&str; 7]]) -> Vec<u8> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let title = Format::new().set_bold().set_align(FormatAlign::Center);
    ws.merge_range(
        0,
        0,
        0,
        7,
        "建北街道人居环境整治问题交办清单（第5批）",
        &title,
    )
    .unwrap();
    for (c, h) in HEADER.iter().enumerate() {
        ws.write_string(1, c as u16, *h).unwrap();
    }
    for (i, row) in rows.iter().enumerate() {
        let r = 2 + i as u32;
        ws.write_number(r, 0, (i + 1) as f64).unwrap();
        for (c, v) in row.iter().enumerate() {
            if !v.is_empty() {
                ws.write_string(r, (c + 1) as u16, *v).unwrap();
            }
        }
    }
    wb.save_to_buffer().unwrap()
}

#[tokio::test]
async fn a_county_list_with_village_names_and_its_own_category_words_imports() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let due = in_days(10).to_string();
    let bytes = county_list(&[
        [
            "甲社区",
            "污水直排",
            "村西头生活污水直排入沟渠，气味明显。",
            "",
            "",
            "",
            "",
        ],
        [
            "乙社区",
            "乱贴乱画",
            "主街两侧墙面小广告较多",
            "长安区住建局",
            "bureau-li",
            "清除小广告",
            &due,
        ],
        ["甲社区", "柴草堆", "村口柴草堆占道", "", "", "", ""],
        ["乙社区", "垃圾堆放", "垃圾堆放未及时清运", "", "", "", ""],
    ]);
    let (status, report) = upload(&app, &c.supervisor.access, bytes, "第5批.xlsx").await;
    assert_eq!(status, StatusCode::CREATED, "{report}");
    assert_eq!(
        (report["created"].as_u64(), report["assigned"].as_u64()),
        (Some(4), Some(1))
    );
    let issues = all_issues(&app, &c).await;
    let sewage = issues
        .iter()
        .find(|i| i["category"] == "ditch_sewage")
        .unwrap();
    assert_eq!(sewage["title"], "村西头生活污水直排入沟渠");
    assert_eq!(sewage["place_id"], c.places.village_a.as_str());
    let ads = issues
        .iter()
        .find(|i| i["category"] == "graffiti_ads")
        .unwrap();
    assert_eq!(ads["state"], "assigned");
    assert_eq!(ads["place_id"], c.places.village_b.as_str());
    assert_eq!(
        issues
            .iter()
            .filter(|i| i["category"] == "three_piles")
            .count(),
        2
    );
}

#[tokio::test]
async fn what_still_does_not_match_is_named_row_by_row_and_nothing_is_imported() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let bytes = county_list(&[
        ["甲社区", "污水直排", "生活污水直排", "", "", "", ""],
        ["丙村", "污水直排", "不在辖区的村", "", "", "", ""],
        ["甲社区", "外星人入侵", "类别不认识", "", "", "", ""],
        ["", "柴草堆", "没有村名", "", "", "", ""],
    ]);
    let (status, problem) = upload(&app, &c.supervisor.access, bytes, "第5批.xlsx").await;
    assert_problem(status, &problem, 422, "import_rejected");
    let rows: Vec<u64> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["row"].as_u64().unwrap())
        .collect();
    assert_eq!(rows, vec![4, 5, 6], "{problem}");
    assert!(
        problem["errors"][0]["reason_zh"]
            .as_str()
            .unwrap()
            .contains("丙村")
    );
    assert!(all_issues(&app, &c).await.is_empty());
}
