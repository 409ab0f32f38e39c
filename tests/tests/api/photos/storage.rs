//! Where photos live and who may read them: dedup, ledger-scoped reads, the S3 backend.

use super::*;

#[tokio::test]
async fn the_same_bytes_uploaded_twice_are_stored_once() {
    let app = TestApp::spawn().await;
    let p = app.places().await;
    let worker = app
        .user_with("li-worker", &[(Role::GridWorker, Some(&p.grid_a1))])
        .await;
    let bytes = std::fs::read(samples().join("gps/DSCN0021.jpg")).unwrap();
    let sha = app.upload_photo(&app.admin.access, &bytes).await;
    let objects = files_under(&app.env.data_dir.path().join("photos"));
    assert_eq!(
        objects.len(),
        3,
        "one original and two thumbnails: {objects:?}"
    );
    let modified: Vec<_> = objects
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().modified().unwrap())
        .collect();

    assert_eq!(app.upload_photo(&worker.access, &bytes).await, sha);
    let again = files_under(&app.env.data_dir.path().join("photos"));
    assert_eq!(again, objects, "nothing new was written");
    let modified_again: Vec<_> = again
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().modified().unwrap())
        .collect();
    assert_eq!(modified, modified_again, "no object was rewritten");
    let (_, meta) = app
        .get(&format!("/api/v1/photos/{sha}/meta"), &worker.access)
        .await;
    let uploaders: Vec<&str> = meta["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["uploaded_by"].as_str().unwrap())
        .collect();
    // Only the worker's own upload: the admin's (made for no issue) is none of theirs to see.
    assert_eq!(uploaders, vec![worker.id.as_str()]);
    assert_eq!(meta["uploaded_by"], worker.id.as_str());
}

#[tokio::test]
async fn a_photo_is_readable_by_those_who_see_its_issue_and_404_to_everyone_else() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let stranger = app.user_with("zhou", &[]).await;
    let issue = app
        .report(&c.worker_a, &c.places.village_a, "村口垃圾")
        .await;
    let issue_id = issue["id"].as_str().unwrap().to_owned();
    let bytes = std::fs::read(samples().join("Canon_40D.jpg")).unwrap();
    // Uploaded by the grid worker as a before-photo of the issue in village A.
    let res = app
        .upload_bytes(
            &c.worker_a.access,
            &bytes,
            &metadata_for(
                &bytes,
                &[
                    ("purpose", "before"),
                    ("owner_kind", "issue"),
                    ("owner_id", &issue_id),
                ],
            ),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{:?}", res.body);
    let sha = sha256_hex(&bytes);
    // Uploaded with no owner by someone else: only they can read that copy's attachment.
    let unowned = std::fs::read(samples().join("Nikon_D70.jpg")).unwrap();
    let unowned_sha = app.upload_photo(&stranger.access, &unowned).await;

    for path in [
        format!("/api/v1/photos/{sha}"),
        format!("/api/v1/photos/{sha}/thumbnail?size=256"),
        format!("/api/v1/photos/{sha}/meta"),
    ] {
        for (who, token) in [
            ("uploader", &c.worker_a.access),
            ("town supervisor", &c.supervisor.access),
        ] {
            let (status, _, _) = app.get_bytes(&path, token).await;
            assert_eq!(status, StatusCode::OK, "{who}: {path}");
        }
        for token in [&stranger.access, &c.worker_b.access, &c.responsible.access] {
            let (status, body) = app.get(&path, token).await;
            assert_problem(status, &body, 404, "not_found");
        }
    }
    let (status, body) = app
        .get(
            &format!("/api/v1/photos/{unowned_sha}/meta"),
            &c.supervisor.access,
        )
        .await;
    assert_problem(status, &body, 404, "not_found");
    let (status, _, _) = app
        .get_bytes(
            &format!("/api/v1/photos/{unowned_sha}/meta"),
            &stranger.access,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let uploader = &c.worker_a;
    // Unknown and malformed hashes.
    let (status, body) = app
        .get(
            &format!("/api/v1/photos/{}", "0".repeat(64)),
            &uploader.access,
        )
        .await;
    assert_problem(status, &body, 404, "not_found");
    let (status, body) = app.get("/api/v1/photos/not-a-hash", &uploader.access).await;
    assert_problem(status, &body, 400, "invalid_id");
}

#[tokio::test]
async fn the_s3_backend_stores_dedups_and_serves_photos() {
    // Made first: seconds of CPU on the test's one thread would outlive the server's keep-alive
    // and hand reqwest a connection the server already closed.
    let big = tokio::task::spawn_blocking(|| noise_png(2100, 1400))
        .await
        .unwrap();
    assert!(big.len() > 8 * 1024 * 1024, "{}", big.len());
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
    // 2.2 MB: above a single part? No — but a multipart put is exercised with a larger file below.
    let photo = std::fs::read(samples().join("HMD_Nokia_8.3_5G.jpg")).unwrap();
    let sha = app.upload_photo(&app.admin.access, &photo).await;
    let objects = s3.object_files();
    assert!(
        objects
            .iter()
            .any(|f| f.ends_with(format!("photos/{}/{}/{sha}", &sha[..2], &sha[2..4]))),
        "{objects:?}"
    );
    let (status, headers, body) = app
        .get_bytes(&format!("/api/v1/photos/{sha}"), &app.admin.access)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "image/jpeg");
    assert_eq!(body, photo);
    let (status, _, thumb) = app
        .get_bytes(
            &format!("/api/v1/photos/{sha}/thumbnail?size=1280"),
            &app.admin.access,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(decode(&thumb).width(), 1280);

    // Dedup: the same bytes again write nothing.
    let before = s3.object_files();
    app.upload_photo(&app.admin.access, &photo).await;
    assert_eq!(s3.object_files(), before);

    // A photo larger than one part (8 MiB) goes up as a multipart upload: a PNG of noise.
    let sha = app.upload_in_chunks(&app.admin.access, &big, 4 << 20).await;
    let (status, _, body) = app
        .get_bytes(&format!("/api/v1/photos/{sha}"), &app.admin.access)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.len(), big.len());
    assert!(body == big);
}

/// An incompressible PNG (random pixels), about 3 bytes a pixel.
#[tokio::test]
async fn photos_and_thumbnails_are_cached_only_by_the_reader() {
    let app = TestApp::spawn().await;
    let token = app.admin.access.clone();
    let sha = app
        .upload_photo(&token, &closeout_tests::photos::fresh_jpeg())
        .await;
    for path in [
        format!("/api/v1/photos/{sha}"),
        format!("/api/v1/photos/{sha}/thumbnail?size=256"),
    ] {
        let (status, headers, _) = app.get_bytes(&path, &token).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let cache = headers["cache-control"].to_str().unwrap();
        assert!(cache.starts_with("private,"), "{path}: {cache}");
        assert!(!cache.contains("public"), "{path}: {cache}");
    }
}

fn noise_png(w: u32, h: u32) -> Vec<u8> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let img = image::RgbImage::from_fn(w, h, |_, _| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let b = state.to_le_bytes();
        image::Rgb([b[0], b[1], b[2]])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}
