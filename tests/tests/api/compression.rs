//! Weak links: the pull and the JSON lists are compressed when the phone asks
//! (`Accept-Encoding: gzip` or `br`), and sent as they are when it does not; photo bytes and tus
//! are never compressed. Raw requests: reqwest here has no decompression, so what is checked is
//! what went over the wire.

use crate::sync::{create, mutation, push};
use closeout_tests::photos::{fresh_jpeg, metadata_for};
use closeout_tests::{TestApp, TestUser};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::io::Read;

/// GET with an `Accept-Encoding`; returns (status, Content-Encoding, body bytes as sent).
async fn raw(
    app: &TestApp,
    path: &str,
    token: &str,
    accept: Option<&str>,
) -> (StatusCode, Option<String>, Vec<u8>) {
    let mut req = app.client.get(app.url(path)).bearer_auth(token);
    if let Some(a) = accept {
        req = req.header("Accept-Encoding", a);
    }
    let res = req.send().await.unwrap();
    let encoding = res
        .headers()
        .get("content-encoding")
        .map(|v| v.to_str().unwrap().to_owned());
    (res.status(), encoding, res.bytes().await.unwrap().to_vec())
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn unbrotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::Decompressor::new(bytes, 4096)
        .read_to_end(&mut out)
        .unwrap();
    out
}

async fn sixty_reports(app: &TestApp, worker: &TestUser, place: &str) {
    let mutations = (1..=60)
        .map(|i| {
            mutation(
                i,
                create(
                    &uuid::Uuid::now_v7().to_string(),
                    place,
                    &format!("村口垃圾堆放第{i}处，需清运"),
                ),
            )
        })
        .collect();
    push(app, worker, mutations).await;
}

#[tokio::test]
async fn pull_and_lists_are_compressed_when_asked_and_photos_never() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    sixty_reports(&app, &c.worker_a, &c.places.village_a).await;
    let token = &c.worker_a.access;

    for path in ["/api/v1/sync/pull", "/api/v1/issues?limit=200"] {
        let (status, encoding, plain) = raw(&app, path, token, None).await;
        assert_eq!(
            (status, encoding),
            (StatusCode::OK, None),
            "{path}: identity when not asked"
        );
        let plain: Value = serde_json::from_slice(&plain).unwrap();

        let (status, encoding, gz) = raw(&app, path, token, Some("gzip")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(encoding.as_deref(), Some("gzip"), "{path}");
        let unpacked = gunzip(&gz);
        let json: Value = serde_json::from_slice(&unpacked).unwrap();
        let key = if path.contains("pull") {
            "changes"
        } else {
            "items"
        };
        assert_eq!(json[key].as_array().unwrap().len(), 60, "{path}");
        assert_eq!(
            json[key].as_array().unwrap().len(),
            plain[key].as_array().unwrap().len()
        );
        assert!(
            gz.len() * 3 < unpacked.len(),
            "{path}: gzip {} of {} bytes",
            gz.len(),
            unpacked.len()
        );

        let (_, encoding, br) = raw(&app, path, token, Some("br")).await;
        assert_eq!(encoding.as_deref(), Some("br"), "{path}");
        let json: Value = serde_json::from_slice(&unbrotli(&br)).unwrap();
        assert_eq!(json[key].as_array().unwrap().len(), 60, "{path}");
    }

    // A photo's bytes are sent as stored, whatever the phone accepts; tus answers are untouched.
    let sha = app.upload_photo(token, &fresh_jpeg()).await;
    let (status, encoding, bytes) = raw(
        &app,
        &format!("/api/v1/photos/{sha}"),
        token,
        Some("gzip, br"),
    )
    .await;
    assert_eq!((status, encoding), (StatusCode::OK, None));
    assert_eq!(closeout_tests::photos::sha256_hex(&bytes), sha);
    let created = app
        .tus(
            Method::POST,
            "/api/v1/uploads",
            token,
            &[
                ("Upload-Length", "10".into()),
                ("Upload-Metadata", metadata_for(&[0; 10], &[])),
                ("Accept-Encoding", "gzip".into()),
            ],
            None,
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.header("content-encoding"), None);
}
