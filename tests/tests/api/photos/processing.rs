//! What happens to the bytes: EXIF against exiftool, upright thumbnails, refusals, broken EXIF.

use super::*;

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

#[tokio::test]
async fn tus_js_client_uploads_every_sample_and_exif_matches_exiftool() {
    let app = TestApp::spawn().await;
    let files = sample_files();
    assert!(
        files.len() >= 30,
        "expected the sample photos, found {}",
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
                // Decoded by libheif: upright thumbnails (the picture is portrait, 2566×3313, as
                // exiftool says) and a perceptual hash.
                assert_eq!(meta["format"], "heif");
                assert!(!flags.contains(&"no_thumbnail"), "{flags:?}");
                assert_eq!(meta["thumbnails"], serde_json::json!([1280, 256]));
                assert_eq!(
                    (meta["width"].as_u64(), meta["height"].as_u64()),
                    (Some(2566), Some(3313))
                );
                assert!(
                    meta["phash"].as_str().is_some_and(|h| h.len() == 16),
                    "{meta}"
                );
                let sha = sha256_hex(&bytes);
                for (size, w) in [(256u32, 198u32), (1280, 991)] {
                    let (status, headers, jpeg) = app
                        .get_bytes(
                            &format!("/api/v1/photos/{sha}/thumbnail?size={size}"),
                            &app.admin.access,
                        )
                        .await;
                    assert_eq!(status, StatusCode::OK);
                    assert_eq!(headers["content-type"], "image/jpeg");
                    let thumb = decode(&jpeg);
                    assert_eq!((thumb.width(), thumb.height()), (w, size), "{size}");
                    // A photo, not a flat or black box.
                    let lum: Vec<f64> = thumb
                        .pixels()
                        .map(|p| f64::from(p[0]) + f64::from(p[1]) + f64::from(p[2]))
                        .collect();
                    let mean = lum.iter().sum::<f64>() / lum.len() as f64;
                    let var =
                        lum.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / lum.len() as f64;
                    assert!(
                        mean > 60.0 && var.sqrt() > 20.0,
                        "mean {mean}, sd {}",
                        var.sqrt()
                    );
                }
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
                "private, max-age=31536000, immutable"
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
