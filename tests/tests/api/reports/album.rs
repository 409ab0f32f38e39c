//! Before/after albums: report photos beside the latest completion photos; scoped per caller.

use super::{fetch, fixture, photo};
use closeout_tests::assert_problem;

fn thumb(sha: &str) -> String {
    format!("/api/v1/photos/{sha}/thumbnail?size=1280")
}

#[tokio::test]
async fn reports_album_pairs_before_and_after_photos() {
    let f = fixture().await;
    let sup = f.c.supervisor.access.clone();
    let on_time = &f.a[0];
    let (status, bytes, ct) = fetch(
        &f.app,
        &format!(
            "/api/v1/reports/album?issue_id={}",
            on_time["id"].as_str().unwrap()
        ),
        &sup,
    )
    .await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("text/html"));
    let html = String::from_utf8(bytes).unwrap();
    let no = on_time["ledger_no"].as_str().unwrap();
    assert!(html.contains(&format!("整改前后对比图册（{no}）")));
    let before = html.find(&thumb(&photo(100))).expect("before photo");
    let after = html.find(&thumb(f.after(1))).expect("after photo");
    assert!(before < after, "before on the left, after on the right");
    assert!(html.contains(&format!("销号：{}", f.day(5))));
    assert!(html.contains("建北街道 甲社区"));

    // By filters: every closed issue, each with its own after-photo.
    let (_, bytes, _) = fetch(&f.app, "/api/v1/reports/album?state=closed", &sup).await;
    let html = String::from_utf8(bytes).unwrap();
    assert!(html.contains("共3条"), "a_on_time, a_old_closed, b_late");
    for n in [1, 3, 4] {
        assert!(html.contains(&thumb(f.after(n))), "after photo {n}");
    }
    // Escaped user text.
    let (_, bytes, _) = fetch(
        &f.app,
        &format!(
            "/api/v1/reports/album?issue_id={}",
            f.a[1]["id"].as_str().unwrap()
        ),
        &sup,
    )
    .await;
    let html = String::from_utf8(bytes).unwrap();
    assert!(html.contains("违建棚屋, &quot;东侧&quot;"));
    assert!(
        html.contains("（无照片）"),
        "not submitted yet: no after-photos"
    );
}

#[tokio::test]
async fn reports_album_of_a_village_b_worker_holds_none_of_village_a() {
    let f = fixture().await;
    let worker_b = f.c.worker_b.access.clone();
    let (status, body) = f
        .app
        .get(
            &format!(
                "/api/v1/reports/album?issue_id={}",
                f.a[0]["id"].as_str().unwrap()
            ),
            &worker_b,
        )
        .await;
    assert_problem(status, &body, 404, "not_found");
    let (status, bytes, _) = fetch(&f.app, "/api/v1/reports/album", &worker_b).await;
    assert_eq!(status, 200);
    let html = String::from_utf8(bytes).unwrap();
    assert!(html.contains("共3条"));
    assert!(html.contains(&thumb(f.after(3))), "B's own after-photo");
    for n in [1, 2, 4] {
        assert!(!html.contains(&thumb(f.after(n))), "A's photo {n}");
    }
    for no in f.a_numbers() {
        assert!(!html.contains(&no));
    }
    let (status, body) = f
        .app
        .get("/api/v1/reports/album?issue_id=nope", &worker_b)
        .await;
    assert_problem(status, &body, 400, "invalid_query");
}
