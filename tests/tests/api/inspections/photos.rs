//! An inspection's photos are readable by whoever may see the inspection, and by nobody else.

use super::*;
use closeout_tests::photos::{metadata_for, samples, sha256_hex};

#[tokio::test]
async fn inspection_photos_follow_the_inspections_place() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let template = create_small_template(&app, "small").await;
    let bytes = std::fs::read(samples().join("gps/DSCN0010.jpg")).unwrap();
    let sha = sha256_hex(&bytes);
    let id = new_id();
    record_ok(
        &app,
        &c.inspector,
        body(
            &id,
            header(&template, 1, &c.places.village_a, "scheduled"),
            vec![
                json!({"key": "clean", "base_rev": 0, "result": {"value": false, "photos": [sha]}}),
            ],
            None,
        ),
    )
    .await;
    let res = app
        .upload_bytes(
            &c.inspector.access,
            &bytes,
            &metadata_for(
                &bytes,
                &[
                    ("purpose", "inspection"),
                    ("owner_kind", "inspection"),
                    ("owner_id", &id),
                ],
            ),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{:?}", res.body);
    let path = format!("/api/v1/photos/{sha}/meta");
    // Village A's grid worker sees the inspection, so its photo; village B's sees neither.
    let (status, meta) = app.get(&path, &c.worker_a.access).await;
    assert_eq!(status, StatusCode::OK, "{meta}");
    let (status, _) = app.get(&path, &c.worker_b.access).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
