//! Printed pages show their photos (issue 14.14): the 整改通知书 and the before/after album embed
//! signed, short-lived photo links, because a browser fetches `<img>` without the bearer header.

use super::*;
use closeout_tests::Cast;
use closeout_tests::browser::Browser;
use serde_json::json;

/// An issue reported with a before-photo (the iPhone HEIC sample: its pictures are libheif's
/// thumbnails), assigned, and submitted with an after-photo.
async fn rectified(app: &TestApp, c: &Cast) -> (String, String, String) {
    let heic = std::fs::read(samples().join("IMG_5195.HEIC")).unwrap();
    let before = app.upload_photo(&c.worker_a.access, &heic).await;
    let (status, issue) = app
        .post(
            "/api/v1/issues",
            &c.worker_a.access,
            json!({"title": "柴草乱堆", "description": "现场发现", "category": "three_piles",
                   "source": "grid_patrol", "place_id": c.places.grid_a1, "photos": [before],
                   "location": {"lat": 38.05, "lon": 114.52, "accuracy_m": 8.0, "address": "建北街道1号"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{issue}");
    let id = issue["id"].as_str().unwrap().to_owned();
    let deadline = chrono::Utc::now().date_naive() + chrono::Duration::days(10);
    for (who, body) in [
        (
            &c.supervisor,
            json!({"action": "assign", "responsible_unit_id": c.bureau,
                   "responsible_user_id": c.responsible.id, "target": "清理到位", "deadline": deadline}),
        ),
        (&c.responsible, json!({"action": "acknowledge"})),
    ] {
        let (status, res) = app.act(who, &id, body).await;
        assert_eq!(status, StatusCode::OK, "{res}");
    }
    let after = app.fresh_photo(&c.responsible.access, "after", &id).await;
    let (status, res) = app
        .act(
            &c.responsible,
            &id,
            json!({"action": "submit", "photos": [after], "comment": "已整改"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    (id, before, after)
}

async fn page(app: &TestApp, path: &str, token: &str) -> String {
    let res = app
        .client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    res.text().await.unwrap()
}

/// The `src` of every `<img>` in a page, unescaped.
fn image_sources(html: &str) -> Vec<String> {
    html.split("<img src=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().replace("&amp;", "&"))
        .collect()
}

/// Fetches `path` with no credentials at all, as an `<img>` does.
async fn anonymous(app: &TestApp, path: &str) -> (StatusCode, Value) {
    let res = reqwest::get(app.url(path)).await.unwrap();
    let status = res.status();
    let body = res.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// Shows a page in Chromium the way a front end prints it: fetched with the bearer token, then
/// written into a document of the server's origin; every image is then fetched by the browser
/// itself, without the token or any cookie.
async fn show(b: &Browser, app: &TestApp, html: &str) {
    b.goto(&app.url("/healthz")).await;
    let script = format!(
        "document.open(); document.write({}); document.close(); return true;",
        serde_json::to_string(html).unwrap()
    );
    b.script(&script).await;
}

const ALL_IMAGES_SHOWN: &str = "return document.images.length > 0 && \
    Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)";

#[tokio::test]
async fn the_printed_notice_and_album_show_their_photos_in_a_browser() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let (id, before, after) = rectified(&app, &c).await;

    let notice = page(
        &app,
        &format!("/api/v1/issues/{id}/notice"),
        &c.responsible.access,
    )
    .await;
    let album = page(
        &app,
        &format!("/api/v1/reports/album?issue_id={id}"),
        &c.supervisor.access,
    )
    .await;
    let notice_src = image_sources(&notice);
    assert_eq!(notice_src.len(), 1, "{notice}");
    assert!(notice_src[0].starts_with(&format!(
        "/api/v1/photos/{before}/thumbnail?size=1280&expires="
    )));
    let album_src = image_sources(&album);
    assert_eq!(album_src.len(), 2, "{album}");
    assert!(album_src[1].starts_with(&format!("/api/v1/photos/{after}/thumbnail?size=1280&")));

    let b = Browser::launch().await;
    show(&b, &app, &notice).await;
    b.wait_for(ALL_IMAGES_SHOWN).await;
    assert_eq!(b.script("return document.images.length").await, 1);
    b.screenshot("notice-with-photo").await;
    show(&b, &app, &album).await;
    b.wait_for(ALL_IMAGES_SHOWN).await;
    assert_eq!(b.script("return document.images.length").await, 2);
    b.screenshot("album-with-photos").await;

    // The same page with one signature altered: the browser gets no picture for it.
    let tampered = album.replacen("&amp;sig=", "&amp;sig=00", 1);
    show(&b, &app, &tampered).await;
    b.wait_for("return Array.from(document.images).every(i => i.complete)")
        .await;
    let widths = b
        .script("return Array.from(document.images).map(i => i.naturalWidth)")
        .await;
    let widths: Vec<u64> = widths
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_u64().unwrap())
        .collect();
    assert_eq!(widths.len(), 2);
    assert_eq!(widths[0], 0, "the tampered link shows nothing");
    assert!(widths[1] > 0, "the untouched one still shows");
}

#[tokio::test]
async fn a_signed_link_opens_only_its_photo_and_size_until_it_expires() {
    let app = TestApp::spawn_with(|s| s.photos.signed_url_ttl_secs = 2).await;
    let c = app.cast().await;
    let (id, before, after) = rectified(&app, &c).await;
    let album = page(
        &app,
        &format!("/api/v1/reports/album?issue_id={id}"),
        &c.supervisor.access,
    )
    .await;
    let src = image_sources(&album);
    let (good, other) = (src[0].clone(), src[1].clone());

    // Without a link or a token, as before: 401.
    let (status, body) = anonymous(
        &app,
        &format!("/api/v1/photos/{before}/thumbnail?size=1280"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

    // The link opens its photo, with no token.
    let res = reqwest::get(app.url(&good)).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "image/jpeg");
    assert!(
        res.headers()["cache-control"]
            .to_str()
            .unwrap()
            .starts_with("private"),
    );

    // Altered: the signature, the size, the photo, the expiry; another photo's signature.
    let sig = good.split("&sig=").nth(1).unwrap().to_owned();
    let expires = good
        .split("expires=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    let flipped = format!(
        "{}{}",
        if sig.starts_with('0') { "1" } else { "0" },
        &sig[1..]
    );
    let later: i64 = expires.parse::<i64>().unwrap() + 1000;
    let other_sig = other.split("&sig=").nth(1).unwrap();
    for bad in [
        good.replace(&sig, &flipped),
        good.replace("size=1280", "size=256"),
        good.replace(&before, &after),
        good.replace(&format!("expires={expires}"), &format!("expires={later}")),
        good.replace(&sig, other_sig),
        format!("/api/v1/photos/{before}?expires={expires}&sig={sig}"),
        good.replace(&format!("expires={expires}&"), ""),
        good.replace(&sig, "not-hex"),
    ] {
        let (status, body) = anonymous(&app, &bad).await;
        assert_problem(status, &body, 403, "photo_link_invalid");
    }

    // Expired: the same link a little later.
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    let (status, body) = anonymous(&app, &good).await;
    assert_problem(status, &body, 403, "photo_link_expired");
    assert!(
        body["message_zh"].as_str().unwrap().contains("过期"),
        "{body}"
    );
}
