//! The tus protocol as clients meet it: resume after a kill, protocol errors, expiry, busy uploads.

use super::*;

#[tokio::test]
async fn an_upload_killed_halfway_resumes_from_its_offset() {
    let app = TestApp::spawn().await;
    let file = samples().join("HMD_Nokia_8.3_5G.jpg");
    let bytes = std::fs::read(&file).unwrap();
    let total = bytes.len() as u64;
    let chunk = (256 * 1024).to_string();
    let path = file.display().to_string();

    // First attempt: killed (SIGKILL) once more than half has been accepted.
    let mut child = tus_js_client(&app, &app.admin.access, &["--chunk", &chunk, &path])
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let seen = tokio::task::spawn_blocking(move || {
        let mut seen = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let event: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
            let halfway =
                event["event"] == "chunk" && event["accepted"].as_u64().unwrap_or(0) * 2 > total;
            let failed = event["event"] == "error";
            seen.push(event);
            if halfway || failed {
                break;
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        seen
    })
    .await
    .unwrap();
    let last = seen.last().expect("the client printed events");
    assert_eq!(
        last["event"], "chunk",
        "killed halfway, not finished or failed: {seen:#?}"
    );
    let url = last["url"].as_str().unwrap().to_owned();
    let accepted = last["accepted"].as_u64().unwrap();
    assert!(accepted < total);

    // The server kept what it had: HEAD tells the offset (at least what the client saw accepted).
    let upload_path = url
        .strip_prefix(&app.base)
        .map_or(url.clone(), str::to_owned);
    let head = app
        .tus(Method::HEAD, &upload_path, &app.admin.access, &[], None)
        .await;
    assert_eq!(head.status, StatusCode::OK);
    let offset: u64 = head.header("Upload-Offset").unwrap().parse().unwrap();
    assert!(
        offset >= accepted && offset < total,
        "offset {offset}, accepted {accepted}"
    );
    assert_eq!(
        head.header("Upload-Length"),
        Some(total.to_string().as_str())
    );

    // Second attempt: the same client resumes from the URL, without re-sending the start.
    let (ok, events) = run_tus_js_client(
        &app,
        &app.admin.access,
        &["--chunk", &chunk, "--resume", &url, &path],
    )
    .await;
    assert!(ok, "{events:#?}");
    let requests: Vec<&Value> = events.iter().filter(|e| e["event"] == "request").collect();
    assert_eq!(requests[0]["method"], "HEAD", "{requests:?}");
    assert!(
        requests.iter().all(|r| r["method"] != "POST"),
        "{requests:?}"
    );
    let first_patch = requests.iter().find(|r| r["method"] == "PATCH").unwrap();
    let resumed_at: u64 = first_patch["offset"].as_str().unwrap().parse().unwrap();
    assert!(
        resumed_at >= offset && resumed_at > 0,
        "resumed at {resumed_at}"
    );
    let done = successes(&events);
    assert_eq!(done[0]["photo"], sha256_hex(&bytes).as_str());

    // The stored bytes are exactly the file.
    let (status, _, stored) = app
        .get_bytes(
            &format!("/api/v1/photos/{}", sha256_hex(&bytes)),
            &app.admin.access,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stored, bytes);
}

#[tokio::test]
async fn tus_protocol_errors_answer_with_stable_codes() {
    let app = TestApp::spawn_with(|s| {
        s.photos.max_bytes = 4 * 1024 * 1024;
        s.photos.user_quota_bytes = 6 * 1024 * 1024;
    })
    .await;
    let token = app.admin.access.clone();

    // Discovery, without a token.
    let res = app
        .client
        .request(Method::OPTIONS, app.url("/api/v1/uploads"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let h = res.headers();
    assert_eq!(h["tus-version"], "1.0.0");
    assert_eq!(h["tus-max-size"], (4 * 1024 * 1024).to_string().as_str());
    assert_eq!(h["tus-checksum-algorithm"], "sha1,md5,sha256");
    let ext = h["tus-extension"].to_str().unwrap();
    for e in [
        "creation",
        "creation-with-upload",
        "termination",
        "checksum",
    ] {
        assert!(ext.split(',').any(|x| x == e), "{ext}");
    }
    assert!(
        h["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .contains("Upload-Offset")
    );

    // No token: 401. Wrong tus version: 412.
    let res = app
        .client
        .post(app.url("/api/v1/uploads"))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", "10")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = app
        .client
        .post(app.url("/api/v1/uploads"))
        .bearer_auth(&token)
        .header("Tus-Resumable", "0.2.2")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 412);
    assert_eq!(res.headers()["tus-version"], "1.0.0");

    let jpeg = std::fs::read(samples().join("jolla.jpg")).unwrap();
    let len = jpeg.len().to_string();
    let meta = metadata_for(
        &jpeg,
        &[
            ("owner_kind", "issue"),
            ("owner_id", "0193a0b2-7c4d-7000-8000-000000000001"),
        ],
    );

    // Too large for Tus-Max-Size; too much in unfinished uploads; bad metadata.
    let res = app
        .tus(
            Method::POST,
            "/api/v1/uploads",
            &token,
            &[
                ("Upload-Length", (5 * 1024 * 1024).to_string()),
                ("Upload-Metadata", meta.clone()),
            ],
            None,
        )
        .await;
    assert_problem(res.status, &res.body, 413, "photo_too_large");
    let res = app
        .tus(
            Method::POST,
            "/api/v1/uploads",
            &token,
            &[
                ("Upload-Length", len.clone()),
                (
                    "Upload-Metadata",
                    metadata_for(&jpeg, &[("purpose", "selfie")]),
                ),
            ],
            None,
        )
        .await;
    assert_problem(res.status, &res.body, 422, "invalid_field");

    let create = |length: String| {
        let meta = meta.clone();
        let token = token.clone();
        let app = &app;
        async move {
            app.tus(
                Method::POST,
                "/api/v1/uploads",
                &token,
                &[("Upload-Length", length), ("Upload-Metadata", meta)],
                None,
            )
            .await
        }
    };
    let res = create(len.clone()).await;
    assert_eq!(res.status, StatusCode::CREATED, "{:?}", res.body);
    assert_eq!(res.header("Upload-Offset"), Some("0"));
    let location = res.header("Location").unwrap().to_owned();
    let filler = create((4 * 1024 * 1024).to_string()).await;
    assert_eq!(filler.status, StatusCode::CREATED);
    let res = create((4 * 1024 * 1024).to_string()).await;
    assert_problem(res.status, &res.body, 413, "upload_quota_exceeded");
    // Terminating frees the quota; the upload is gone.
    let filler_at = filler.header("Location").unwrap().to_owned();
    let res = app.tus(Method::DELETE, &filler_at, &token, &[], None).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    let res = app.tus(Method::HEAD, &filler_at, &token, &[], None).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);

    // Another person cannot see the upload.
    let other = app.user_with("zhao", &[]).await;
    let res = app
        .tus(Method::HEAD, &location, &other.access, &[], None)
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);

    let first = jpeg[..300_000].to_vec();
    let checksum = |b: &[u8]| {
        format!(
            "sha256 {}",
            closeout_tests::photos::b64_bytes(&hmac_sha256::Hash::hash(b))
        )
    };
    // Wrong offset: 409 with the right one.
    let res = app
        .tus(
            Method::PATCH,
            &location,
            &token,
            &[("Upload-Offset", "5".into())],
            Some(first.clone()),
        )
        .await;
    assert_problem(res.status, &res.body, 409, "upload_offset_mismatch");
    assert_eq!(res.body["offset"], 0);
    // Checksum mismatch: 460, nothing kept.
    let res = app
        .tus(
            Method::PATCH,
            &location,
            &token,
            &[
                ("Upload-Offset", "0".into()),
                ("Upload-Checksum", checksum(b"something else")),
            ],
            Some(first.clone()),
        )
        .await;
    assert_problem(res.status, &res.body, 460, "checksum_mismatch");
    let res = app.tus(Method::HEAD, &location, &token, &[], None).await;
    assert_eq!(res.header("Upload-Offset"), Some("0"));
    let res = app
        .tus(
            Method::PATCH,
            &location,
            &token,
            &[
                ("Upload-Offset", "0".into()),
                ("Upload-Checksum", "crc32 AAAA".into()),
            ],
            Some(first.clone()),
        )
        .await;
    assert_problem(res.status, &res.body, 400, "checksum_algorithm_unsupported");
    // Right checksum: kept.
    let res = app
        .tus(
            Method::PATCH,
            &location,
            &token,
            &[
                ("Upload-Offset", "0".into()),
                ("Upload-Checksum", checksum(&first)),
            ],
            Some(first.clone()),
        )
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{:?}", res.body);
    assert_eq!(res.header("Upload-Offset"), Some("300000"));
    // Past the declared length: 413, offset unchanged.
    let mut too_much = jpeg[300_000..].to_vec();
    too_much.extend_from_slice(b"extra");
    let res = app
        .tus(
            Method::PATCH,
            &location,
            &token,
            &[("Upload-Offset", "300000".into())],
            Some(too_much),
        )
        .await;
    assert_problem(res.status, &res.body, 413, "upload_length_exceeded");
    // The rest completes the photo.
    let res = app
        .tus(
            Method::PATCH,
            &location,
            &token,
            &[("Upload-Offset", "300000".into())],
            Some(jpeg[300_000..].to_vec()),
        )
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{:?}", res.body);
    assert_eq!(
        res.header("Closeout-Photo"),
        Some(sha256_hex(&jpeg).as_str())
    );
    // Retrying the last chunk of a finished upload says it is finished.
    let res = app
        .tus(
            Method::PATCH,
            &location,
            &token,
            &[("Upload-Offset", len.clone())],
            Some(Vec::new()),
        )
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    let (_, meta) = app
        .get(
            &format!("/api/v1/photos/{}/meta", sha256_hex(&jpeg)),
            &token,
        )
        .await;
    assert_eq!(meta["attachments"][0]["owner_kind"], "issue");
    assert_eq!(
        meta["attachments"][0]["owner_id"],
        "0193a0b2-7c4d-7000-8000-000000000001"
    );
}

#[tokio::test]
async fn abandoned_uploads_expire_with_their_partial_bytes() {
    let app = TestApp::spawn_with(|s| s.photos.upload_expiry_secs = 1).await;
    let token = app.admin.access.clone();
    let jpeg = std::fs::read(samples().join("Nikon_D70.jpg")).unwrap();
    let res = app
        .tus(
            Method::POST,
            "/api/v1/uploads",
            &token,
            &[
                ("Upload-Length", jpeg.len().to_string()),
                ("Upload-Metadata", metadata_for(&jpeg, &[])),
            ],
            Some(jpeg[..1000].to_vec()),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED);
    assert_eq!(res.header("Upload-Offset"), Some("1000"));
    let location = res.header("Location").unwrap().to_owned();
    let staging = app.env.data_dir.path().join("uploads");
    assert_eq!(files_under(&staging).len(), 1);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;

    let db = app.db();
    let removed =
        closeout::domain::uploads::cleanup_expired(&mut db.get().unwrap(), &staging).unwrap();
    assert_eq!(removed, 1);
    assert!(files_under(&staging).is_empty());
    // A second replica running the same clean-up finds nothing to do.
    assert_eq!(
        closeout::domain::uploads::cleanup_expired(&mut db.get().unwrap(), &staging).unwrap(),
        0
    );
    let res = app.tus(Method::HEAD, &location, &token, &[], None).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_periodic_clean_up_started_with_the_server_deletes_abandoned_uploads() {
    let app = TestApp::spawn_with(|s| {
        s.photos.upload_expiry_secs = 1;
        s.photos.cleanup_interval_secs = 1;
    })
    .await;
    let token = app.admin.access.clone();
    let jpeg = std::fs::read(samples().join("Nikon_D70.jpg")).unwrap();
    let res = app
        .tus(
            Method::POST,
            "/api/v1/uploads",
            &token,
            &[
                ("Upload-Length", jpeg.len().to_string()),
                ("Upload-Metadata", metadata_for(&jpeg, &[])),
            ],
            Some(jpeg[..1000].to_vec()),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED);
    let staging = app.env.data_dir.path().join("uploads");
    assert_eq!(files_under(&staging).len(), 1);
    for _ in 0..50 {
        if files_under(&staging).is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        files_under(&staging).is_empty(),
        "the clean-up task did not run"
    );
    let location = res.header("Location").unwrap().to_owned();
    let res = app.tus(Method::HEAD, &location, &token, &[], None).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_second_writer_on_a_busy_upload_gets_423() {
    use tokio::io::AsyncWriteExt;
    let app = TestApp::spawn().await;
    let token = app.admin.access.clone();
    let jpeg = std::fs::read(samples().join("jolla.jpg")).unwrap();
    let res = app
        .tus(
            Method::POST,
            "/api/v1/uploads",
            &token,
            &[
                ("Upload-Length", jpeg.len().to_string()),
                ("Upload-Metadata", metadata_for(&jpeg, &[])),
            ],
            None,
        )
        .await;
    let location = res.header("Location").unwrap().to_owned();

    // A slow client: headers and the first bytes of its PATCH, then nothing for a while.
    let port = app.base.rsplit(':').next().unwrap().to_owned();
    let mut slow = tokio::net::TcpStream::connect(format!("127.0.0.1:{port}"))
        .await
        .unwrap();
    let head = format!(
        "PATCH {location} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Tus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n\
         Content-Type: application/offset+octet-stream\r\nContent-Length: {}\r\n\r\n",
        jpeg.len()
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    slow.write_all(&jpeg[..10_000]).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;

    let res = app
        .tus(
            Method::PATCH,
            &location,
            &token,
            &[("Upload-Offset", "0".into())],
            Some(jpeg[..1000].to_vec()),
        )
        .await;
    assert_problem(res.status, &res.body, 423, "upload_busy");

    // The slow client vanishes: what it sent is kept, and the upload resumes from there.
    drop(slow);
    let mut offset = None;
    for _ in 0..50 {
        let res = app.tus(Method::HEAD, &location, &token, &[], None).await;
        let o: usize = res.header("Upload-Offset").unwrap().parse().unwrap();
        if o > 0 {
            offset = Some(o);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let offset = offset.expect("the bytes that arrived were kept");
    assert_eq!(offset, 10_000);
    let res = app
        .tus(
            Method::PATCH,
            &location,
            &token,
            &[("Upload-Offset", offset.to_string())],
            Some(jpeg[offset..].to_vec()),
        )
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{:?}", res.body);
    assert_eq!(
        res.header("Closeout-Photo"),
        Some(sha256_hex(&jpeg).as_str())
    );
}
