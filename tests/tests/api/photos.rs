//! Photos: tus uploads driven by the real tus-js-client (including a client killed halfway and
//! resumed), every shared sample photo checked against exiftool, refusals with stable codes,
//! dedup by content, read authorization, and the S3 backend against a real S3 server.

use closeout::settings::PhotoStorage;
use closeout_sync_protocol::Role;
use closeout_tests::photos::{
    S3_ACCESS_KEY, S3_SECRET_KEY, S3Server, files_under, metadata_for, run_tus_js_client, samples,
    sha256_hex, tus_js_client,
};
use closeout_tests::{TestApp, assert_problem};
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;

fn sample_files() -> Vec<PathBuf> {
    let root = samples();
    let mut files = Vec::new();
    for dir in ["", "gps", "orientation", "invalid"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap().flatten() {
            let p = e.path();
            let ext = p
                .extension()
                .map(|e| e.to_string_lossy().to_ascii_lowercase());
            if matches!(ext.as_deref(), Some("jpg" | "heic")) {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

fn successes(events: &[Value]) -> Vec<&Value> {
    events.iter().filter(|e| e["event"] == "success").collect()
}

#[tokio::test]
async fn tus_js_client_uploads_every_sample_and_exif_matches_exiftool() {
    let app = TestApp::spawn().await;
    let files = sample_files();
    assert!(
        files.len() >= 30,
        "expected the shared samples, found {}",
        files.len()
    );
    let args: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, events) = run_tus_js_client(&app, &app.admin.access, &args).await;
    assert!(ok, "tus-js-client failed: {events:#?}");
    assert_eq!(successes(&events).len(), files.len());

    let root = samples();
    let reference: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(root.join("exiftool.json")).unwrap())
            .unwrap();
    let mut checked = 0;
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let sha = sha256_hex(&bytes);
        let (status, meta) = app
            .get(&format!("/api/v1/photos/{sha}/meta"), &app.admin.access)
            .await;
        assert_eq!(status, StatusCode::OK, "{}: {meta}", file.display());
        let rel = file.strip_prefix(&root).unwrap().display().to_string();
        let flags: Vec<&str> = meta["flags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap())
            .collect();
        match rel.as_str() {
            "corrupted.jpg" => assert!(flags.contains(&"damaged"), "{rel}: {flags:?}"),
            "IMG_5195.HEIC" => {
                assert_eq!(meta["format"], "heif");
                assert!(flags.contains(&"no_thumbnail"), "{flags:?}");
            }
            r if r.starts_with("invalid/") => {
                // These files carry no EXIF segment at all (only an XMP packet): accepted, no_exif.
                assert!(flags.contains(&"no_exif"), "{rel}: {flags:?}");
                assert!(!flags.contains(&"damaged"), "{rel}: {flags:?}");
            }
            _ => assert!(!flags.contains(&"damaged"), "{rel}: {flags:?}"),
        }
        if rel != "IMG_5195.HEIC" {
            assert_eq!(meta["format"], "jpeg", "{rel}");
            assert_eq!(meta["content_type"], "image/jpeg", "{rel}");
            assert_eq!(meta["thumbnails"], serde_json::json!([1280, 256]), "{rel}");
        }
        assert_eq!(meta["bytes"], bytes.len(), "{rel}");
        assert_eq!(meta["attachments"][0]["purpose"], "after");
        assert_eq!(meta["attachments"][0]["uploaded_by"], app.admin.id.as_str());

        let Some(truth) = reference.iter().find(|r| r["SourceFile"] == rel.as_str()) else {
            continue;
        };
        checked += 1;
        if let Some(lat) = truth["GPSLatitude"].as_f64() {
            let lon = truth["GPSLongitude"].as_f64().unwrap();
            let gps = &meta["gps"];
            assert!(
                (gps["lat"].as_f64().unwrap() - lat).abs() < 1e-6,
                "{rel}: {gps} vs {lat}"
            );
            assert!(
                (gps["lon"].as_f64().unwrap() - lon).abs() < 1e-6,
                "{rel}: {gps} vs {lon}"
            );
            assert_eq!(gps["crs"], "wgs84");
            assert!(!flags.contains(&"no_gps"), "{rel}");
        } else {
            assert!(meta["gps"].is_null(), "{rel}: {}", meta["gps"]);
            assert!(flags.contains(&"no_gps"), "{rel}");
        }
        if let Some(alt) = truth["GPSAltitude"].as_f64() {
            assert!(
                (meta["gps"]["alt"].as_f64().unwrap() - alt).abs() < 1e-6,
                "{rel}"
            );
        }
        if let Some(t) = truth["DateTimeOriginal"].as_str() {
            // exiftool: "2008:10:22 16:28:39"; ours: ISO 8601 local time as written.
            let iso = t.replacen(':', "-", 2).replacen(' ', "T", 1);
            assert_eq!(meta["taken_at"], iso.as_str(), "{rel}");
        }
        if let Some(o) = truth["Orientation"].as_i64() {
            assert_eq!(meta["orientation"], o, "{rel}");
        }
        for (ours, theirs) in [("make", "Make"), ("model", "Model")] {
            if let Some(v) = truth[theirs].as_str() {
                assert_eq!(meta[ours], v.trim(), "{rel} {ours}");
            }
        }
        assert_eq!(meta["width"], truth["ImageWidth"], "{rel}");
        assert_eq!(meta["height"], truth["ImageHeight"], "{rel}");
    }
    assert_eq!(
        checked,
        reference.len(),
        "every exiftool entry was compared"
    );

    // A GPS photo in the Chinese map systems: Italy is outside China, so GCJ-02 = WGS-84.
    let bytes = std::fs::read(root.join("gps/DSCN0010.jpg")).unwrap();
    let (_, gcj) = app
        .get(
            &format!("/api/v1/photos/{}/meta?crs=gcj02", sha256_hex(&bytes)),
            &app.admin.access,
        )
        .await;
    assert_eq!(gcj["gps"]["crs"], "gcj02");
    assert!((gcj["gps"]["lat"].as_f64().unwrap() - 43.4674483333333).abs() < 1e-6);
}

fn decode(bytes: &[u8]) -> image::RgbImage {
    image::load_from_memory(bytes).unwrap().to_rgb8()
}

/// Mean absolute difference per channel, 0..255.
fn difference(a: &image::RgbImage, b: &image::RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let sum: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    sum as f64 / a.as_raw().len() as f64
}

#[tokio::test]
async fn thumbnails_of_all_eight_orientations_are_upright_and_served_immutable() {
    let app = TestApp::spawn().await;
    let dir = samples().join("orientation");
    for shape in ["landscape", "portrait"] {
        let mut upright: Option<(image::RgbImage, String)> = None;
        let mut others: Vec<image::RgbImage> = Vec::new();
        for n in 1..=8 {
            let bytes = std::fs::read(dir.join(format!("{shape}_{n}.jpg"))).unwrap();
            let sha = app.upload_photo(&app.admin.access, &bytes).await;
            let (status, headers, thumb) = app
                .get_bytes(
                    &format!("/api/v1/photos/{sha}/thumbnail?size=256"),
                    &app.admin.access,
                )
                .await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(headers["content-type"], "image/jpeg");
            assert_eq!(
                headers["cache-control"],
                "public, max-age=31536000, immutable"
            );
            let img = decode(&thumb);
            assert_eq!(img.width().max(img.height()), 256);
            let (_, meta) = app
                .get(&format!("/api/v1/photos/{sha}/meta"), &app.admin.access)
                .await;
            let phash = meta["phash"].as_str().unwrap().to_owned();
            match &upright {
                None => upright = Some((img, phash)),
                Some((reference, ref_hash)) => {
                    // The samples differ only in the digit drawn in the middle; compared small,
                    // the upright picture is close and any wrong orientation is far.
                    let d = difference(&small(reference), &small(&img));
                    let mirrored = image::imageops::flip_horizontal(reference);
                    let wrong = difference(&small(&mirrored), &small(&img));
                    let upside_down = image::imageops::flip_vertical(reference);
                    let wrong2 = difference(&small(&upside_down), &small(&img));
                    assert!(
                        d * 2.0 < wrong.min(wrong2),
                        "{shape}_{n}: {d:.1} from {shape}_1, but {wrong:.1} / {wrong2:.1} from its mirror images"
                    );
                    // 2..8 are the same picture once upright (1 differs slightly in its pixels).
                    others.push(img.clone());
                    let first = &others[0];
                    let d2 = difference(&small(first), &small(&img));
                    assert!(d2 < 4.0, "{shape}_{n} differs from {shape}_2 by {d2:.1}");
                    let bits = hamming(ref_hash, &phash);
                    assert!(bits <= 8, "{shape}_{n} phash {bits} bits away");
                }
            }
        }
    }

    // The original, with its ETag, and a conditional GET.
    let bytes = std::fs::read(dir.join("landscape_6.jpg")).unwrap();
    let sha = sha256_hex(&bytes);
    let (status, headers, body) = app
        .get_bytes(&format!("/api/v1/photos/{sha}"), &app.admin.access)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, bytes);
    assert_eq!(headers["etag"], format!("\"{sha}\"").as_str());
    let res = app
        .client
        .get(app.url(&format!("/api/v1/photos/{sha}")))
        .bearer_auth(&app.admin.access)
        .header("If-None-Match", format!("\"{sha}\""))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    let (status, body) = app
        .get(
            &format!("/api/v1/photos/{sha}/thumbnail?size=999"),
            &app.admin.access,
        )
        .await;
    assert_problem(status, &body, 400, "invalid_query");
}

fn small(img: &image::RgbImage) -> image::RgbImage {
    image::imageops::resize(img, 32, 32, image::imageops::FilterType::Triangle)
}

fn hamming(a: &str, b: &str) -> u32 {
    let x = u64::from_str_radix(a, 16).unwrap();
    let y = u64::from_str_radix(b, 16).unwrap();
    (x ^ y).count_ones()
}

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

/// A PNG whose header declares `w`×`h` pixels (IHDR only, with a valid CRC): a decompression bomb
/// to anything that believes the header before looking at the data.
fn png_header(w: u32, h: u32) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    png.extend_from_slice(&13u32.to_be_bytes());
    png.extend_from_slice(&ihdr);
    png.extend_from_slice(&crc32(&ihdr).to_be_bytes());
    // An IDAT of zlib-compressed zeros would follow; the server must refuse before needing it.
    png.extend_from_slice(&[0, 0, 0, 0]);
    png.extend_from_slice(b"IEND");
    png.extend_from_slice(&crc32(b"IEND").to_be_bytes());
    png
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for b in data {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[tokio::test]
async fn non_images_bombs_and_lies_are_refused_with_stable_codes_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let token = app.admin.access.clone();
    let blobs = app.env.data_dir.path().join("photos");

    let text = "这不是图片 — not an image at all\n"
        .repeat(100)
        .into_bytes();
    let res = app
        .upload_bytes(&token, &text, &metadata_for(&text, &[]))
        .await;
    assert_problem(res.status, &res.body, 415, "not_an_image");
    assert_eq!(res.header("Tus-Resumable"), Some("1.0.0"));

    let bomb = png_header(100_000, 100_000);
    let res = app
        .upload_bytes(&token, &bomb, &metadata_for(&bomb, &[]))
        .await;
    assert_problem(res.status, &res.body, 422, "image_too_large");
    assert_eq!(res.body["width"], 100_000);

    // A JPEG that is only a header: undecodable.
    let jpeg = std::fs::read(samples().join("Canon_40D.jpg")).unwrap();
    let stub = jpeg[..600].to_vec();
    let res = app
        .upload_bytes(&token, &stub, &metadata_for(&stub, &[]))
        .await;
    assert_problem(res.status, &res.body, 422, "image_undecodable");

    // Bytes that do not hash to the declared SHA-256.
    let lie = metadata_for(b"other bytes", &[]);
    let res = app.upload_bytes(&token, &jpeg, &lie).await;
    assert_problem(res.status, &res.body, 422, "sha256_mismatch");

    assert!(files_under(&blobs).is_empty(), "{:?}", files_under(&blobs));
    let staging = app.env.data_dir.path().join("uploads");
    assert!(
        files_under(&staging).is_empty(),
        "{:?}",
        files_under(&staging)
    );

    // Still serving, and a real photo still goes through.
    let (status, _) = app.get("/healthz", &token).await;
    assert_eq!(status, StatusCode::OK);
    app.upload_photo(&token, &jpeg).await;
}

#[tokio::test]
async fn broken_exif_is_accepted_and_flagged() {
    let app = TestApp::spawn().await;
    // A JPEG without EXIF, given an APP1 "Exif" segment whose IFD offset points far outside it.
    let clean = std::fs::read(samples().join("invalid/image01551.jpg")).unwrap();
    let mut app1 = b"Exif\0\0MM\0\x2a\xff\xff\xff\x00".to_vec();
    app1.extend_from_slice(&[0u8; 16]);
    let mut broken = clean[..2].to_vec();
    broken.extend_from_slice(&[0xFF, 0xE1]);
    broken.extend_from_slice(&u16::try_from(app1.len() + 2).unwrap().to_be_bytes());
    broken.extend_from_slice(&app1);
    broken.extend_from_slice(&clean[2..]);
    let sha = app.upload_photo(&app.admin.access, &broken).await;
    let (_, meta) = app
        .get(&format!("/api/v1/photos/{sha}/meta"), &app.admin.access)
        .await;
    let flags = meta["flags"].as_array().unwrap();
    assert!(flags.contains(&"exif_unreadable".into()), "{meta}");
    assert_eq!(meta["thumbnails"], serde_json::json!([1280, 256]));
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
    assert_eq!(h["tus-checksum-algorithm"], "sha256");
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
                ("Upload-Checksum", "md5 AAAA".into()),
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
    assert_eq!(uploaders, vec![app.admin.id.as_str(), worker.id.as_str()]);
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
