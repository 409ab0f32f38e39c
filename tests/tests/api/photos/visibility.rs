//! Who sees a photo follows the issues that name it: a photo uploaded without an owner and then
//! named by two reports is seen by those who see the issues and flagged reused; `/meta` lists
//! only the uploads the caller may see.

use super::*;
use closeout_tests::photos::fresh_jpeg;
use serde_json::json;

async fn report_naming(
    app: &TestApp,
    user: &closeout_tests::TestUser,
    place: &str,
    sha: &str,
) -> String {
    let (status, issue) = app
        .post(
            "/api/v1/issues",
            &user.access,
            json!({"title": "占道经营", "category": "three_piles", "source": "grid_patrol",
                   "place_id": place, "photos": [sha]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{issue}");
    issue["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_photo_uploaded_without_owner_and_named_by_two_reports_is_reused_and_readable() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let bytes = fresh_jpeg();
    // Uploaded with no owner (metadata without owner_kind/owner_id), then named by two reports.
    let sha = app.upload_photo(&c.worker_a.access, &bytes).await;
    let first = report_naming(&app, &c.worker_a, &c.places.village_a, &sha).await;
    let second = report_naming(&app, &c.worker_a, &c.places.village_a, &sha).await;

    // The supervisor, who sees the issues, opens the before-photo.
    for path in [
        format!("/api/v1/photos/{sha}/meta"),
        format!("/api/v1/photos/{sha}/thumbnail"),
        format!("/api/v1/photos/{sha}"),
    ] {
        let (status, _, body) = app.get_bytes(&path, &c.supervisor.access).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{path}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    // Each issue's evidence flags the photo as reused on the other.
    for (id, other) in [(&first, &second), (&second, &first)] {
        let (status, evidence) = app
            .get(
                &format!("/api/v1/issues/{id}/evidence"),
                &c.supervisor.access,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{evidence}");
        let reused = evidence["photos"][0]["flags"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == "reused")
            .unwrap_or_else(|| panic!("not flagged reused: {evidence}"))
            .clone();
        assert_eq!(reused["figures"]["issues"], json!([other]));
    }
    // Village B's worker sees neither issue, nor the photo.
    let (status, body) = app
        .get(&format!("/api/v1/photos/{sha}/meta"), &c.worker_b.access)
        .await;
    assert_problem(status, &body, 404, "not_found");
}

#[tokio::test]
async fn meta_lists_only_the_uploads_the_caller_may_see() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let bytes = fresh_jpeg();
    let sha = sha256_hex(&bytes);
    let in_a = app
        .report(&c.worker_a, &c.places.village_a, "村A问题")
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let in_b = app
        .report(&c.worker_b, &c.places.village_b, "村B问题")
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (user, issue, name) in [
        (&c.worker_a, &in_a, "村A.jpg"),
        (&c.worker_b, &in_b, "村B.jpg"),
    ] {
        let metadata = metadata_for(
            &bytes,
            &[
                ("purpose", "before"),
                ("owner_kind", "issue"),
                ("owner_id", issue),
                ("filename", name),
            ],
        );
        let res = app.upload_bytes(&user.access, &bytes, &metadata).await;
        assert_eq!(res.status, StatusCode::CREATED, "{:?}", res.body);
    }
    for (user, own_issue, other_issue, other_user, other_name) in [
        (&c.worker_a, &in_a, &in_b, &c.worker_b, "村B.jpg"),
        (&c.worker_b, &in_b, &in_a, &c.worker_a, "村A.jpg"),
    ] {
        let (status, meta) = app
            .get(&format!("/api/v1/photos/{sha}/meta"), &user.access)
            .await;
        assert_eq!(status, StatusCode::OK, "{meta}");
        let attachments = meta["attachments"].as_array().unwrap();
        assert_eq!(attachments.len(), 1, "{meta}");
        assert_eq!(attachments[0]["owner_id"], own_issue.as_str());
        let text = meta.to_string();
        for leak in [other_issue.as_str(), other_user.id.as_str(), other_name] {
            assert!(!text.contains(leak), "{leak} leaked: {meta}");
        }
        assert_ne!(meta["uploaded_by"], other_user.id.as_str(), "{meta}");
    }
    // The supervisor of the town sees both villages' uploads.
    let (status, meta) = app
        .get(&format!("/api/v1/photos/{sha}/meta"), &c.supervisor.access)
        .await;
    assert_eq!(status, StatusCode::OK, "{meta}");
    assert_eq!(meta["attachments"].as_array().unwrap().len(), 2, "{meta}");
}
