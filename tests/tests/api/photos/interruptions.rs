//! Uploads on real networks: a client that goes silent mid-body (no FIN, no RST), one that resets
//! its connection, checksums of every advertised algorithm (raw and through tuspy), and an empty
//! upload. Raw sockets, so nothing closes politely on the client's behalf.

use super::*;
use closeout_tests::photos::{b64_bytes, tools_dir};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A large sample photo (2.2 MB) for interrupted uploads.
fn big_photo() -> Vec<u8> {
    std::fs::read(samples().join("HMD_Nokia_8.3_5G.jpg")).unwrap()
}

async fn create(app: &TestApp, token: &str, bytes: &[u8]) -> String {
    let res = app
        .tus(
            Method::POST,
            "/api/v1/uploads",
            token,
            &[
                ("Upload-Length", bytes.len().to_string()),
                ("Upload-Metadata", metadata_for(bytes, &[])),
            ],
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{:?}", res.body);
    res.header("Location").unwrap().to_owned()
}

/// Opens a raw connection and sends a PATCH's head and the first `sent` bytes of `body` (the head
/// announces all of it), plus any `extra` header lines.
async fn partial_patch(
    app: &TestApp,
    location: &str,
    token: &str,
    body: &[u8],
    sent: usize,
    extra: &str,
) -> tokio::net::TcpStream {
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "PATCH {location} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Tus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n{extra}\
         Content-Type: application/offset+octet-stream\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(&body[..sent]).await.unwrap();
    conn.flush().await.unwrap();
    conn
}

/// Asks HEAD until the offset is `want` or `within` has passed; returns the last offset seen.
async fn offset_becomes(
    app: &TestApp,
    location: &str,
    token: &str,
    want: usize,
    within: Duration,
) -> usize {
    let until = std::time::Instant::now() + within;
    loop {
        let res = app.tus(Method::HEAD, location, token, &[], None).await;
        assert_eq!(res.status, StatusCode::OK, "{:?}", res.body);
        let offset: usize = res.header("Upload-Offset").unwrap().parse().unwrap();
        if offset == want || std::time::Instant::now() > until {
            return offset;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sends the rest from `offset`; asserts the upload becomes the photo.
async fn finish(app: &TestApp, location: &str, token: &str, bytes: &[u8], offset: usize) {
    let res = app
        .tus(
            Method::PATCH,
            location,
            token,
            &[("Upload-Offset", offset.to_string())],
            Some(bytes[offset..].to_vec()),
        )
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{:?}", res.body);
    assert_eq!(
        res.header("Closeout-Photo"),
        Some(sha256_hex(bytes).as_str())
    );
}

#[tokio::test]
async fn a_patch_that_goes_silent_ends_after_the_body_timeout_keeping_its_bytes() {
    let app = TestApp::spawn_with(|s| s.photos.upload_body_timeout_ms = 1000).await;
    let token = app.admin.access.clone();
    let photo = big_photo();
    let location = create(&app, &token, &photo).await;

    // 600 KB of a 2.2 MB PATCH, then nothing: no FIN, no RST (a phone that lost signal).
    let started = std::time::Instant::now();
    let mut silent = partial_patch(&app, &location, &token, &photo, 600_000, "").await;
    let offset = offset_becomes(&app, &location, &token, 600_000, Duration::from_secs(10)).await;
    assert_eq!(offset, 600_000, "the bytes that arrived were committed");
    assert!(started.elapsed() >= Duration::from_millis(900));

    // The server ended the request: it answered 408 upload_body_timeout on that connection.
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), silent.read(&mut answer))
        .await
        .expect("the server answers the silent request")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("upload_body_timeout"), "{answer}");

    // The lock is released: the upload resumes from there while the silent socket stays open.
    finish(&app, &location, &token, &photo, offset).await;
    drop(silent);
}

#[tokio::test]
async fn a_reset_connection_keeps_the_bytes_that_arrived() {
    let app = TestApp::spawn().await;
    let token = app.admin.access.clone();
    let photo = big_photo();
    let location = create(&app, &token, &photo).await;

    let conn = partial_patch(&app, &location, &token, &photo, 600_000, "").await;
    // Let the server read what was sent, then reset (SO_LINGER 0 → RST, not FIN).
    tokio::time::sleep(Duration::from_millis(500)).await;
    conn.set_zero_linger().unwrap();
    drop(conn);
    let offset = offset_becomes(&app, &location, &token, 600_000, Duration::from_secs(5)).await;
    assert_eq!(
        offset, 600_000,
        "the bytes that arrived before the reset were committed"
    );
    finish(&app, &location, &token, &photo, offset).await;
}

#[tokio::test]
async fn a_reset_request_with_a_checksum_keeps_nothing_and_frees_the_upload() {
    let app = TestApp::spawn().await;
    let token = app.admin.access.clone();
    let photo = big_photo();
    let location = create(&app, &token, &photo).await;

    // The checksum covers the whole body, so a part of it cannot be verified: none is kept.
    let sum = b64_bytes(&hmac_sha256::Hash::hash(&photo));
    let conn = partial_patch(
        &app,
        &location,
        &token,
        &photo,
        600_000,
        &format!("Upload-Checksum: sha256 {sum}\r\n"),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    conn.set_zero_linger().unwrap();
    drop(conn);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        offset_becomes(&app, &location, &token, 0, Duration::ZERO).await,
        0
    );
    // Not locked: the whole file goes through at once.
    finish(&app, &location, &token, &photo, 0).await;
}

#[tokio::test]
async fn checksums_in_sha1_md5_and_sha256_are_verified() {
    let app = TestApp::spawn().await;
    let token = app.admin.access.clone();
    let res = app
        .client
        .request(Method::OPTIONS, app.url("/api/v1/uploads"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["Tus-Checksum-Algorithm"].to_str().unwrap(),
        "sha1,md5,sha256"
    );

    let photo = std::fs::read(samples().join("jolla.jpg")).unwrap();
    let location = create(&app, &token, &photo).await;
    let parts: Vec<&[u8]> = photo.chunks(300_000).collect();
    assert_eq!(parts.len(), 3);
    let sums = [
        format!("sha1 {}", b64_bytes(&sha1_digest(parts[0]))),
        format!("md5 {}", b64_bytes(&md5_digest(parts[1]))),
        format!("sha256 {}", b64_bytes(&hmac_sha256::Hash::hash(parts[2]))),
    ];
    let mut offset = 0;
    for (part, sum) in parts.iter().zip(&sums) {
        // A wrong digest of the same algorithm: 460, nothing kept.
        let wrong = {
            let (algo, digest) = sum.split_once(' ').unwrap();
            let mut bytes =
                base64::Engine::decode(&base64::engine::general_purpose::STANDARD, digest).unwrap();
            bytes[0] ^= 1;
            format!("{algo} {}", b64_bytes(&bytes))
        };
        let res = app
            .tus(
                Method::PATCH,
                &location,
                &token,
                &[
                    ("Upload-Offset", offset.to_string()),
                    ("Upload-Checksum", wrong),
                ],
                Some(part.to_vec()),
            )
            .await;
        assert_problem(res.status, &res.body, 460, "checksum_mismatch");
        let res = app
            .tus(
                Method::PATCH,
                &location,
                &token,
                &[
                    ("Upload-Offset", offset.to_string()),
                    ("Upload-Checksum", sum.clone()),
                ],
                Some(part.to_vec()),
            )
            .await;
        assert_eq!(res.status, StatusCode::NO_CONTENT, "{sum}: {:?}", res.body);
        offset += part.len();
        assert_eq!(
            res.header("Upload-Offset"),
            Some(offset.to_string().as_str())
        );
    }
    assert_eq!(
        app.tus(Method::HEAD, &location, &token, &[], None)
            .await
            .header("Closeout-Photo"),
        Some(sha256_hex(&photo).as_str())
    );

    // An algorithm the server does not know, and a digest of the wrong length.
    let other = fresh_bytes();
    let location = create(&app, &token, &other).await;
    for (sum, status, code) in [
        ("crc32 AAAAAA==", 400, "checksum_algorithm_unsupported"),
        ("sha1 AAAAAA==", 400, "bad_request"),
    ] {
        let res = app
            .tus(
                Method::PATCH,
                &location,
                &token,
                &[
                    ("Upload-Offset", "0".to_owned()),
                    ("Upload-Checksum", sum.to_owned()),
                ],
                Some(other.clone()),
            )
            .await;
        assert_problem(res.status, &res.body, status, code);
    }
}

#[tokio::test]
async fn tuspy_uploads_with_checksums_on() {
    let app = TestApp::spawn().await;
    let token = app.admin.access.clone();
    let path = samples().join("jolla.jpg");
    let photo = std::fs::read(&path).unwrap();
    let python = tools_dir().join("python/bin/python");
    assert!(
        python.exists(),
        "tuspy is not installed at {}: run scripts/ensure-test-tools",
        python.display()
    );
    let script = closeout_tests::photos::repo_root().join("tests/tus/tuspy_client.py");
    // The chunk size docs/photos.md recommends for 2G/3G links.
    let chunk = closeout_tests::photos::WEAK_LINK_CHUNK.to_string();
    let out = tokio::process::Command::new(python)
        .arg(script)
        .arg(app.url("/api/v1/uploads"))
        .arg(&token)
        .arg(&path)
        .arg(&chunk)
        .arg(sha256_hex(&photo))
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "tuspy failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["offset"], photo.len());
    let location = line["url"].as_str().unwrap().replace(&app.base, "");
    let res = app.tus(Method::HEAD, &location, &token, &[], None).await;
    assert_eq!(
        res.header("Closeout-Photo"),
        Some(sha256_hex(&photo).as_str())
    );
}

#[tokio::test]
async fn an_empty_upload_is_refused_at_creation() {
    let app = TestApp::spawn().await;
    let token = app.admin.access.clone();
    let empty: &[u8] = &[];
    for body in [None, Some(Vec::new())] {
        let res = app
            .tus(
                Method::POST,
                "/api/v1/uploads",
                &token,
                &[
                    ("Upload-Length", "0".to_owned()),
                    ("Upload-Metadata", metadata_for(empty, &[])),
                ],
                body,
            )
            .await;
        assert_problem(res.status, &res.body, 400, "upload_empty");
        assert_eq!(res.header("Tus-Resumable"), Some("1.0.0"));
        assert!(res.header("Location").is_none());
    }
    let staging = app.env.data_dir.path().join("uploads");
    assert!(files_under(&staging).is_empty());
}

fn sha1_digest(bytes: &[u8]) -> Vec<u8> {
    use sha1::Digest;
    sha1::Sha1::digest(bytes).to_vec()
}

fn md5_digest(bytes: &[u8]) -> Vec<u8> {
    use md5::Digest;
    md5::Md5::digest(bytes).to_vec()
}

/// Bytes no other test sends.
fn fresh_bytes() -> Vec<u8> {
    closeout_tests::photos::fresh_jpeg()
}
