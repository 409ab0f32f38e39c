//! Bulletins against hand-computed figures: this period, the previous one, rankings, praise and
//! reprimand; the printable page escapes user text; village B's worker sees only village B.

use super::{fetch, fixture, today};
use closeout_tests::assert_problem;
use serde_json::json;

#[tokio::test]
async fn reports_bulletin_ranks_praises_reprimands_and_compares_with_the_previous_period() {
    let f = fixture().await;
    let sup = f.c.supervisor.access.clone();
    let range = format!("from={}&to={}", f.d0, today());
    let (status, b) = f
        .app
        .get(
            &format!(
                "/api/v1/reports/bulletin?format=json&parent={}&{range}",
                f.c.places.town
            ),
            &sup,
        )
        .await;
    assert_eq!(status, 200, "{b}");
    assert_eq!(b["title"], "建北街道督查整改月通报");
    // The previous 21 days: a_old_closed (found, closed on time after 5 days) and a_old_open.
    assert_eq!(b["previous"]["found"], 2);
    assert_eq!(b["previous"]["closed"], 1);
    assert_eq!(b["previous"]["open"], 1);
    assert_eq!(b["previous"]["closure_rate"], 50.0);
    assert_eq!(
        b["change"],
        json!({"found": 3, "closed": 1, "open": 3, "overdue": 1, "closure_rate": -16.7})
    );
    assert_eq!(
        (b["backlog_start"].as_u64(), b["backlog_end"].as_u64()),
        (Some(1), Some(4))
    );
    let ranking: Vec<(u64, &str)> = b["ranking"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["rank"].as_u64().unwrap(), r["name"].as_str().unwrap()))
        .collect();
    assert_eq!(ranking, vec![(1, "乙社区"), (2, "甲社区")]);
    assert_eq!(b["praised"], json!([]));
    assert_eq!(b["reprimanded"][0]["name"], "甲社区");
    assert_eq!(
        b["reprimanded"][0]["reasons"],
        json!(["1件问题已升级至通报及以上", "1件问题逾期超过7天"])
    );
    assert_eq!(b["overdue"][0]["ledger_no"], f.a[1]["ledger_no"]);

    // One level down: the village's own issues closed on time are praised, the grid reprimanded.
    let (_, v) = f
        .app
        .get(
            &format!(
                "/api/v1/reports/bulletin?format=json&parent={}&{range}",
                f.c.places.village_a
            ),
            &sup,
        )
        .await;
    assert_eq!(v["praised"][0]["name"], "甲社区(本级)");
    assert_eq!(
        v["praised"][0]["reasons"],
        json!(["本期销号1件，全部按期完成，无逾期问题"])
    );
    assert_eq!(v["reprimanded"][0]["name"], "甲社区第一网格");

    // The printable page: Chinese, escaped.
    let (status, bytes, ct) = fetch(
        &f.app,
        &format!(
            "/api/v1/reports/bulletin?parent={}&{range}",
            f.c.places.town
        ),
        &sup,
    )
    .await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("text/html"), "{ct}");
    let html = String::from_utf8(bytes).unwrap();
    assert!(html.contains("<h1>建北街道督查整改月通报</h1>"));
    assert!(html.contains("本期（"));
    assert!(html.contains("共发现问题5件，销号2件"), "{html}");
    assert!(html.contains("完成率下降16.7个百分点"));
    assert!(html.contains("违建棚屋, &quot;东侧&quot;"));
    assert!(!html.contains("\"东侧\""), "user text is escaped");
    let weekly = f
        .app
        .get("/api/v1/reports/bulletin?format=json&period=2026-W47", &sup)
        .await
        .1;
    assert_eq!(weekly["title"], "建北街道督查整改周通报");
    assert_eq!(weekly["previous_period"]["label"], "2026年第46周");
}

#[tokio::test]
async fn reports_bulletin_of_a_village_b_worker_covers_only_village_b() {
    let f = fixture().await;
    let worker_b = f.c.worker_b.access.clone();
    let range = format!("from={}&to={}", f.d0, today());
    for parent in [&f.c.places.town, &f.c.places.village_a] {
        let (status, body) = f
            .app
            .get(
                &format!("/api/v1/reports/bulletin?parent={parent}&{range}"),
                &worker_b,
            )
            .await;
        assert_problem(status, &body, 404, "not_found");
    }
    let (status, bytes, _) = fetch(
        &f.app,
        &format!("/api/v1/reports/bulletin?{range}"),
        &worker_b,
    )
    .await;
    assert_eq!(status, 200);
    let html = String::from_utf8(bytes).unwrap();
    assert!(html.contains("乙社区督查整改月通报"));
    assert!(!html.contains("甲社区"));
    for no in f.a_numbers() {
        assert!(!html.contains(&no));
    }
    let (status, body) = f
        .app
        .get("/api/v1/reports/bulletin?format=pdf", &worker_b)
        .await;
    assert_problem(status, &body, 400, "invalid_query");
}

/// The bulletin reads the issues once for both of its periods: each period's figures must be what
/// `/reports/stats` of that period alone says, place by place and category by category.
#[tokio::test]
async fn reports_bulletin_periods_match_the_statistics_of_each_period_alone() {
    let f = fixture().await;
    let sup = f.c.supervisor.access.clone();
    let town = &f.c.places.town;
    for range in [
        format!("from={}&to={}", f.d0, today()),
        format!("from={}&to={}", f.day(3), f.day(9)),
    ] {
        let (status, b) = f
            .app
            .get(
                &format!("/api/v1/reports/bulletin?format=json&parent={town}&{range}"),
                &sup,
            )
            .await;
        assert_eq!(status, 200, "{b}");
        for (key, period) in [("totals", "period"), ("previous", "previous_period")] {
            let (from, to) = (&b[period]["from"], &b[period]["to"]);
            let (status, s) = f
                .app
                .get(
                    &format!(
                        "/api/v1/reports/stats?parent={town}&from={}&to={}",
                        from.as_str().unwrap(),
                        to.as_str().unwrap()
                    ),
                    &sup,
                )
                .await;
            assert_eq!(status, 200, "{s}");
            assert_eq!(b[key], s["totals"], "{key} of {range}");
            if key == "totals" {
                assert_eq!(b["categories"], s["categories"], "{range}");
                assert_eq!(b["overdue"], s["overdue"], "{range}");
                let places = s["places"].as_array().unwrap();
                let ranking = b["ranking"].as_array().unwrap();
                let active = places
                    .iter()
                    .filter(|p| {
                        p["found"].as_u64().unwrap()
                            + p["closed"].as_u64().unwrap()
                            + p["open"].as_u64().unwrap()
                            > 0
                    })
                    .count();
                assert_eq!(ranking.len(), active, "{range}");
                for r in ranking {
                    let p = places.iter().find(|p| p["id"] == r["id"]).unwrap();
                    for k in [
                        "found",
                        "closed",
                        "open",
                        "overdue",
                        "closure_rate",
                        "on_time_rate",
                        "reopened",
                    ] {
                        assert_eq!(r[k], p[k], "{k} of {} in {range}", r["name"]);
                    }
                }
            } else {
                let last = s["backlog"]
                    .as_array()
                    .unwrap()
                    .last()
                    .map(|p| p["open"].clone());
                assert_eq!(Some(b["backlog_start"].clone()), last, "{range}");
            }
        }
    }
}
