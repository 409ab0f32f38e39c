//! The real tus-js-client, with the chunk size docs/photos.md recommends for 2G/3G, through a
//! proxy that stalls and resets connections mid-body; and an upload started through one replica
//! and resumed through another (one PostgreSQL or SQLite file, one S3 server).

use super::*;
use closeout_tests::photos::{WEAK_LINK_CHUNK, run_tus_js_client_at};
use closeout_tests::proxy::{Fault, FaultyProxy};
use std::sync::atomic::Ordering;
use std::time::Duration;

#[tokio::test]
async fn tus_js_client_survives_stalled_and_reset_connections_resending_at_most_a_chunk_each() {
    let app = TestApp::spawn_with(|s| s.photos.upload_body_timeout_ms = 1000).await;
    let token = app.admin.access.clone();
    let file = samples().join("HMD_Nokia_8.3_5G.jpg");
    let photo = std::fs::read(&file).unwrap();
    let upstream = app.base.trim_start_matches("http://").to_owned();
    // A reset mid-body; a stall (longer than the server's body timeout) that ends in a reset;
    // another reset. Positions count the bytes sent to the server, request heads included.
    let faults = vec![
        Fault::Reset { at: 600_000 },
        Fault::Stall {
            at: 1_300_000,
            for_: Duration::from_millis(2500),
        },
        Fault::Reset { at: 1_900_000 },
    ];
    let interruptions = faults.len() as u64;
    let proxy = FaultyProxy::start(upstream, faults).await;
    let chunk = WEAK_LINK_CHUNK.to_string();
    let (ok, events) = run_tus_js_client_at(
        &format!("{}/api/v1/uploads", proxy.base),
        &token,
        &["--chunk", &chunk, file.to_str().unwrap()],
    )
    .await;
    assert!(ok, "{events:?}");
    assert_eq!(
        proxy.faults_applied.load(Ordering::SeqCst),
        interruptions,
        "every fault hit the upload"
    );
    let done = successes(&events);
    assert_eq!(done.len(), 1, "{events:?}");
    assert_eq!(
        done[0]["photo"],
        sha256_hex(&photo),
        "the stored sha256 is the file's"
    );

    // Everything sent to the server: the file once, at most one chunk more per interruption,
    // and request heads (well under 2 KiB each).
    let requests = events.iter().filter(|e| e["event"] == "request").count() as u64;
    let patches = events
        .iter()
        .filter(|e| e["event"] == "request" && e["method"] == "PATCH")
        .count() as u64;
    // Resumes start at the committed offset, so the chunks after a cut are not aligned with the
    // first ones: more PATCHes than chunks shows the retries, not how many.
    let chunks = photo.len().div_ceil(WEAK_LINK_CHUNK) as u64;
    assert!(patches > chunks, "{patches} PATCHes for {chunks} chunks");
    let sent = proxy.upstream_bytes.load(Ordering::SeqCst);
    let bound = photo.len() as u64 + interruptions * WEAK_LINK_CHUNK as u64 + requests * 2048;
    assert!(
        sent <= bound,
        "{sent} bytes sent for a {} byte file over {requests} requests (bound {bound})",
        photo.len()
    );
    let (_, meta) = app
        .get(
            &format!("/api/v1/photos/{}/meta", sha256_hex(&photo)),
            &token,
        )
        .await;
    assert_eq!(meta["bytes"], photo.len(), "{meta}");
}

#[tokio::test]
async fn an_upload_started_through_one_replica_resumes_through_another() {
    let s3 = S3Server::start().await;
    let (endpoint, bucket) = (s3.endpoint.clone(), s3.bucket.clone());
    let app = TestApp::spawn_with(move |s| {
        s.photos.storage = PhotoStorage::S3 {
            endpoint,
            bucket,
            region: "us-east-1".into(),
            access_key_id: SecretString::from(S3_ACCESS_KEY),
            secret_access_key: SecretString::from(S3_SECRET_KEY),
            allow_http: true,
            virtual_hosted_style: false,
        };
    })
    .await;
    let other = app.replica();
    let token = app.admin.access.clone();
    let photo = std::fs::read(samples().join("HMD_Nokia_8.3_5G.jpg")).unwrap();
    let res = app
        .tus(
            Method::POST,
            "/api/v1/uploads",
            &token,
            &[
                ("Upload-Length", photo.len().to_string()),
                ("Upload-Metadata", metadata_for(&photo, &[])),
            ],
            Some(photo[..WEAK_LINK_CHUNK].to_vec()),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{:?}", res.body);
    let location = res.header("Location").unwrap().to_owned();

    // The phone's next request lands on the other replica: it knows the upload and its offset,
    // and takes the rest.
    let head = app
        .client
        .head(format!("{}{location}", other.base))
        .bearer_auth(&token)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(
        head.headers()["Upload-Offset"],
        WEAK_LINK_CHUNK.to_string().as_str()
    );
    let res = app
        .client
        .patch(format!("{}{location}", other.base))
        .bearer_auth(&token)
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", WEAK_LINK_CHUNK.to_string())
        .body(photo[WEAK_LINK_CHUNK..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let sha = sha256_hex(&photo);
    assert_eq!(res.headers()["Closeout-Photo"], sha.as_str());
    assert!(
        s3.object_files().iter().any(|f| f.ends_with(format!(
            "photos/{}/{}/{sha}",
            &sha[..2],
            &sha[2..4]
        ))),
        "the photo is in the shared S3 bucket"
    );
    // And the first replica serves it.
    let (status, _, bytes) = app
        .get_bytes(&format!("/api/v1/photos/{sha}"), &token)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, photo);
}
