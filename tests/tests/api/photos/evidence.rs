//! Evidence checks: each flag raised by a real photo for the reason it names, and nothing shown
//! to people who may not see the issue.

use super::*;
use serde_json::json;

fn file(rel: &str) -> Vec<u8> {
    std::fs::read(samples().join(rel)).unwrap()
}

async fn upload_for(app: &TestApp, token: &str, bytes: &[u8], purpose: &str, issue: &str) {
    let res = app
        .upload_bytes(
            token,
            bytes,
            &metadata_for(
                bytes,
                &[
                    ("purpose", purpose),
                    ("owner_kind", "issue"),
                    ("owner_id", issue),
                ],
            ),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{:?}", res.body);
}

fn codes(check: &Value) -> Vec<String> {
    check["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn each_check_flags_the_photo_it_is_about() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let near = file("gps/DSCN0010.jpg"); // at the issue
    let far = file("gps/DSCN0029.jpg"); // about 400 m away
    let gallery = file("invalid/image00971.jpg"); // no EXIF at all, a capture time in XMP
    let (near_sha, far_sha, gallery_sha) =
        (sha256_hex(&near), sha256_hex(&far), sha256_hex(&gallery));
    let pending = format!("{:064x}", 7);
    // Reported where DSCN0010 was taken, with two before-photos, one never uploaded.
    let (status, issue) = app
        .post(
            "/api/v1/issues",
            &c.worker_a.access,
            json!({"title": "河道垃圾", "category": "river_reservoir", "source": "grid_patrol", "place_id": c.places.village_a,
                   "location": {"lat": 43.4674483333333, "lon": 11.8851266666639}, "device_time": chrono::Utc::now(),
                   "photos": [near_sha, pending]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{issue}");
    let id = issue["id"].as_str().unwrap().to_owned();
    upload_for(&app, &c.worker_a.access, &near, "before", &id).await;
    // The far photo was also used on another issue.
    let other = app
        .report(&c.worker_a, &c.places.village_a, "另一个问题")
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    upload_for(&app, &c.worker_a.access, &far, "before", &other).await;
    let deadline = (chrono::Utc::now() + chrono::Duration::days(5)).date_naive();
    app.act(&c.supervisor, &id, json!({"action": "assign", "responsible_unit_id": c.bureau, "responsible_user_id": c.responsible.id, "target": "清理", "deadline": deadline})).await;
    app.act(&c.responsible, &id, json!({"action": "acknowledge"}))
        .await;
    for bytes in [&far, &gallery, &near] {
        upload_for(&app, &c.responsible.access, bytes, "after", &id).await;
    }
    let (status, _) = app
        .act(&c.responsible, &id, json!({"action": "submit", "photos": [far_sha, gallery_sha, near_sha], "device_time": chrono::Utc::now()}))
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, evidence) = app
        .get(
            &format!("/api/v1/issues/{id}/evidence"),
            &c.supervisor.access,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{evidence}");
    let photos = evidence["photos"].as_array().unwrap();
    let find = |sha: &str, role: &str| {
        photos
            .iter()
            .find(|p| p["sha256"] == sha && p["role"] == role)
            .unwrap()
            .clone()
    };
    let before_near = find(&near_sha, "before");
    assert_eq!(
        codes(&before_near),
        [
            "taken_before_report",
            "clock_mismatch",
            "before_equals_after"
        ],
        "{before_near}"
    );
    assert!(
        before_near["flags"][0]["figures"]["hours_before"]
            .as_f64()
            .unwrap()
            > 24.0 * 365.0 * 10.0
    );
    assert_eq!(codes(&find(&pending, "before")), ["pending"]);
    assert_eq!(find(&pending, "before")["arrived"], false);
    let after_far = find(&far_sha, "after");
    let far_codes = codes(&after_far);
    for expected in [
        "far_from_issue",
        "taken_before_assignment",
        "clock_mismatch",
        "reused",
    ] {
        assert!(
            far_codes.contains(&expected.to_owned()),
            "{expected} missing: {after_far}"
        );
    }
    let distance = after_far["flags"][0]["figures"]["distance_m"]
        .as_f64()
        .unwrap();
    assert!((350.0..500.0).contains(&distance), "{distance}");
    assert_eq!(
        after_far["flags"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == "reused")
            .unwrap()["figures"]["issues"],
        json!([other])
    );
    // No EXIF, but its XMP packet says when it was taken (2010): the time checks judge it.
    assert_eq!(
        codes(&find(&gallery_sha, "after")),
        ["no_exif", "taken_before_assignment", "clock_mismatch"]
    );
    assert!(codes(&find(&near_sha, "after")).contains(&"before_equals_after".to_owned()));
    assert!(
        !codes(&find(&near_sha, "after")).contains(&"far_from_issue".to_owned()),
        "DSCN0010 is where the issue is"
    );
    assert_eq!(evidence["flag_counts"]["pending"], 1);

    // The before/after album shows the flags under each photo.
    let res = app
        .client
        .get(app.url(&format!("/api/v1/reports/album?issue_id={id}")))
        .bearer_auth(&c.supervisor.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    for text in [
        "拍摄位置与问题位置相距过远",
        "整改后照片拍摄于交办之前",
        "照片无 EXIF 信息（可能从相册选取）",
        "照片尚未上传到服务器",
    ] {
        assert!(html.contains(text), "{text} missing from the album");
    }

    // Seen only by those who see the issue.
    let (status, body) = app
        .get(&format!("/api/v1/issues/{id}/evidence"), &c.worker_b.access)
        .await;
    assert_problem(status, &body, 404, "not_found");
}

#[tokio::test]
async fn a_photo_cannot_be_attached_to_an_issue_the_uploader_may_not_see() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let issue = app
        .report(&c.worker_a, &c.places.village_a, "村A问题")
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let bytes = closeout_tests::photos::fresh_jpeg();
    // Village B's worker names village A's issue: refused as if it did not exist, nothing stored,
    // and so no reuse flag can be planted on A's issue.
    let metadata = metadata_for(
        &bytes,
        &[
            ("purpose", "before"),
            ("owner_kind", "issue"),
            ("owner_id", &issue),
        ],
    );
    let res = app
        .upload_bytes(&c.worker_b.access, &bytes, &metadata)
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND, "{:?}", res.body);
    assert_eq!(res.body["code"], "not_found");
    let (status, _) = app
        .get(
            &format!("/api/v1/photos/{}/meta", sha256_hex(&bytes)),
            &c.worker_b.access,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // An issue the server does not know yet (still in the phone's outbox) is fine.
    let unknown = uuid::Uuid::now_v7().to_string();
    let metadata = metadata_for(
        &bytes,
        &[
            ("purpose", "before"),
            ("owner_kind", "issue"),
            ("owner_id", &unknown),
        ],
    );
    let res = app
        .upload_bytes(&c.worker_b.access, &bytes, &metadata)
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{:?}", res.body);
    // And the issue's own reporter attaches to it as before.
    app.upload_for(
        &c.worker_a.access,
        &closeout_tests::photos::fresh_jpeg(),
        "before",
        &issue,
    )
    .await;
}

#[tokio::test]
async fn capture_time_falls_back_to_xmp_and_an_after_photo_without_one_is_flagged() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    // EXIF-less files whose XMP packet carries xmp:CreateDate (exiftool reads the same).
    for (rel, taken, offset) in [
        (
            "invalid/image00971.jpg",
            "2010-04-13T09:37:22",
            json!("+02:00"),
        ),
        (
            "invalid/image01980.jpg",
            "2011-09-23T11:42:46",
            json!("+00:00"),
        ),
    ] {
        let sha = app.upload_photo(&c.worker_a.access, &file(rel)).await;
        let (status, meta) = app
            .get(&format!("/api/v1/photos/{sha}/meta"), &c.worker_a.access)
            .await;
        assert_eq!(status, StatusCode::OK, "{meta}");
        assert_eq!(meta["taken_at"], taken, "{rel}: {meta}");
        assert_eq!(meta["taken_at_offset"], offset, "{rel}: {meta}");
    }
    // An after-photo with no capture time anywhere gets its own flag; a before-photo does not.
    let issue = app
        .report(&c.worker_a, &c.places.village_a, "无拍摄时间")
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let deadline = (chrono::Utc::now() + chrono::Duration::days(5)).date_naive();
    app.act(&c.supervisor, &issue, json!({"action": "assign", "responsible_unit_id": c.bureau, "responsible_user_id": c.responsible.id, "target": "清理", "deadline": deadline})).await;
    app.act(&c.responsible, &issue, json!({"action": "acknowledge"}))
        .await;
    let after = app
        .fresh_photo(&c.responsible.access, "after", &issue)
        .await;
    let (status, body) = app
        .act(
            &c.responsible,
            &issue,
            json!({"action": "submit", "photos": [after]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, evidence) = app
        .get(
            &format!("/api/v1/issues/{issue}/evidence"),
            &c.supervisor.access,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{evidence}");
    let check = evidence["photos"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["sha256"] == after.as_str())
        .unwrap()
        .clone();
    assert_eq!(codes(&check), ["no_exif", "no_capture_time"], "{check}");
    assert_eq!(evidence["flag_counts"]["no_capture_time"], 1);
}
