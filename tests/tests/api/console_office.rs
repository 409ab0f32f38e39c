//! The console pages of issue 17's second half, over HTTP on both databases: 冲突与积压, 督查
//! (list, detail with photos, rankings, missed schedules), the printable documents under the
//! session cookie, and 人员与区划 (admins only). For each: the right rows, a village user's 404
//! for another village's data, forms refused without their CSRF token.

use super::console::Console;
use super::inspections::{
    body, create_small_template, failed_with_photo, header, item, monday, new_id, photo, record_ok,
    today,
};
use super::sync::{create, mutation, push, statuses};
use closeout_sync_protocol::Role;
use closeout_tests::TestApp;
use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use serde_json::json;

async fn text(res: reqwest::Response) -> String {
    res.text().await.unwrap()
}

#[tokio::test]
async fn the_sync_page_resolves_a_conflict_and_releases_a_backlog_with_csrf() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let id = new_id();
    push(
        &app,
        &c.worker_a,
        vec![mutation(1, create(&id, &c.places.village_a, "原标题"))],
    )
    .await;
    push(&app, &c.supervisor, vec![mutation(1, json!({"type": "update_issue", "issue_id": id, "base_version": 1, "fields": {"title": "督查办改的标题"}}))]).await;
    let worker = push(&app, &c.worker_a, vec![mutation(2, json!({"type": "update_issue", "issue_id": id, "base_version": 1, "fields": {"title": "<b>网格员</b>改的标题"}}))]).await;
    assert_eq!(statuses(&worker), ["conflict"]);
    let conflict = worker["results"][0]["conflict_ids"][0]
        .as_str()
        .unwrap()
        .to_owned();
    // Village B's phone skips number 1: number 2 is held.
    let held = push(
        &app,
        &c.worker_b,
        vec![mutation(2, create(&new_id(), &c.places.village_b, "二"))],
    )
    .await;
    assert_eq!(statuses(&held), ["held"]);
    let (_, devices) = app
        .get(
            &format!("/api/v1/devices?user_id={}", c.worker_b.id),
            &c.supervisor.access,
        )
        .await;
    let device = devices[0]["id"].as_str().unwrap().to_owned();

    let sup = Console::login(&app, &c.supervisor).await;
    let home = text(sup.get("/console/").await).await;
    for tile in ["tile-conflicts", "tile-backlogs"] {
        let at = home.find(tile).unwrap_or_else(|| panic!("{tile}: {home}"));
        let own = home[at..].split("</a>").next().unwrap();
        assert!(own.contains("<span class=\"n\">1</span>"), "{tile}: {own}");
    }
    let page = sup.get("/console/sync").await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = text(page).await;
    assert!(page.contains(&format!("conflict-{conflict}")), "{page}");
    assert!(
        page.contains("&#60;b&#62;网格员&#60;/b&#62;改的标题"),
        "escaped: {page}"
    );
    assert!(!page.contains("<b>网格员"));
    assert!(page.contains(&format!("device-{device}")), "{page}");
    assert!(page.contains("冲突与积压") && page.contains("href=\"/console/sync\""));

    // Without the token: refused, nothing changes.
    let resolve = format!("/console/sync/conflicts/{conflict}/resolve");
    let res = sup.post(&resolve, &[("resolution", "take_incoming")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let release = format!("/console/sync/devices/{device}/release");
    let res = sup.post(&release, &[]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let (_, open) = app
        .get("/api/v1/sync/conflicts", &c.supervisor.access)
        .await;
    assert_eq!(open.as_array().unwrap().len(), 1);

    // A village A worker: no conflicts (a supervisor's), no devices to release, and B's device
    // is not theirs to release (the API's 404).
    let a = Console::login(&app, &c.worker_a).await;
    let page = text(a.get("/console/sync").await).await;
    assert!(
        page.contains("需要督查办角色") && !page.contains(&device),
        "{page}"
    );
    let res = a.post(&release, &[("csrf", &a.csrf)]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(text(res).await.contains("未找到"));

    // With the token: the phone's title is taken, the backlog released.
    let res = sup
        .post(
            &resolve,
            &[
                ("resolution", "take_incoming"),
                ("comment", "以现场为准"),
                ("csrf", &sup.csrf),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, issue) = app
        .get(&format!("/api/v1/issues/{id}"), &c.supervisor.access)
        .await;
    assert_eq!(issue["title"], "<b>网格员</b>改的标题");
    let res = sup.post(&release, &[("csrf", &sup.csrf)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, devices) = app
        .get(
            &format!("/api/v1/devices?user_id={}", c.worker_b.id),
            &c.supervisor.access,
        )
        .await;
    assert_eq!(devices[0]["held"], json!([]));
    assert_eq!(devices[0]["acknowledged_seq"], 2);
    let page = text(sup.get("/console/sync").await).await;
    assert!(
        page.contains("no-conflicts") && page.contains("no-backlogs"),
        "{page}"
    );
    // The settled conflict is listed apart: what was decided, by whom, with the comment.
    let at = page
        .find(&format!("resolved-{conflict}"))
        .unwrap_or_else(|| panic!("the settled conflict is listed: {page}"));
    let row = page[at..].split("</tr>").next().unwrap();
    assert!(
        row.contains("采用手机端的值")
            && row.contains("以现场为准")
            && row.contains("<td>supervisor</td>"),
        "{row}"
    );
    // Resolving again: the domain's 409, as a page.
    let res = sup
        .post(
            &resolve,
            &[("resolution", "keep_server"), ("csrf", &sup.csrf)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn inspection_pages_show_items_photos_rankings_missed_schedules_and_the_record() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let template = create_small_template(&app, "console_pages").await;
    let id = new_id();
    record_ok(
        &app,
        &c.inspector,
        body(
            &id,
            header(&template, 1, &c.places.village_a, "unannounced"),
            vec![
                failed_with_photo("clean", json!(false), 7),
                item("tidy", 0, json!(15)),
            ],
            None,
        ),
    )
    .await;
    let start = monday(2);
    let (status, schedule) = app
        .post(
            "/api/v1/inspection-schedules",
            &c.supervisor.access,
            json!({"place_id": c.places.village_b, "template_id": template, "cadence": "weekly",
                   "team": [c.inspector.id], "starts_on": start}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{schedule}");

    let sup = Console::login(&app, &c.supervisor).await;
    let list = text(sup.get("/console/inspections").await).await;
    assert!(
        list.contains(&format!("inspection-{id}"))
            && list.contains("村东桥下")
            && list.contains("暗访"),
        "{list}"
    );
    let detail = sup.get(&format!("/console/inspections/{id}")).await;
    assert_eq!(detail.status(), StatusCode::OK);
    let detail = text(detail).await;
    for expected in [
        "测试督查表",
        "现场发现问题",
        "不合格",
        &format!("/console/photos/{}/thumbnail?size=320", photo(7)),
        &format!("/console/inspections/{id}/record"),
    ] {
        assert!(detail.contains(expected), "{expected} missing: {detail}");
    }

    // The record under the session cookie: its photos as signed links an <img> can load.
    let record = sup.get(&format!("/console/inspections/{id}/record")).await;
    assert_eq!(record.status(), StatusCode::OK);
    let record = text(record).await;
    assert!(record.contains("督查记录单"), "{record}");
    assert!(
        record.contains(&format!("/api/v1/photos/{}/thumbnail?size=", photo(7)))
            && record.contains("&amp;"),
        "a signed link: {record}"
    );
    let docx = sup
        .get(&format!("/console/inspections/{id}/record?format=docx"))
        .await;
    assert_eq!(docx.status(), StatusCode::OK);
    assert!(
        docx.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .contains("wordprocessingml")
    );

    // Village B's worker sees neither the inspection nor its record.
    let b = Console::login(&app, &c.worker_b).await;
    assert!(
        !text(b.get("/console/inspections").await)
            .await
            .contains(&id)
    );
    for path in [
        format!("/console/inspections/{id}"),
        format!("/console/inspections/{id}/record"),
    ] {
        let res = b.get(&path).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(text(res).await.contains("未找到"));
    }

    let from = start.to_string();
    let to = today().to_string();
    let rankings = sup
        .get(&format!("/console/rankings?from={from}&to={to}"))
        .await;
    assert_eq!(rankings.status(), StatusCode::OK);
    let rankings = text(rankings).await;
    assert!(
        rankings.contains("督查排名") && rankings.contains("甲社区") && rankings.contains("乙社区"),
        "{rankings}"
    );
    let missed = text(
        sup.get(&format!("/console/schedules/missed?from={from}&to={to}"))
            .await,
    )
    .await;
    assert!(
        missed.contains("乙社区") && missed.contains("每周督查"),
        "{missed}"
    );
    assert!(missed.contains(&format!("<td>{from} 至")), "{missed}");
    let bad = sup.get("/console/rankings?period=someday").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(text(bad).await.contains("invalid_query"));
}

#[tokio::test]
async fn documents_open_under_the_session_and_stay_in_the_callers_places() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let issue = app
        .report(&c.worker_a, &c.places.village_a, "沟渠淤塞")
        .await;
    let id = issue["id"].as_str().unwrap().to_owned();
    let deadline = (chrono::Utc::now() + chrono::Duration::days(7)).date_naive();
    let (status, body) = app.act(&c.supervisor, &id, json!({"action": "assign", "responsible_unit_id": c.bureau, "responsible_user_id": c.responsible.id, "target": "清淤", "deadline": deadline})).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let sup = Console::login(&app, &c.supervisor).await;
    let index = text(sup.get("/console/documents").await).await;
    assert!(index.contains("/console/documents/bulletin") && index.contains("图册"));
    let issue_page = text(sup.get(&format!("/console/issues/{id}")).await).await;
    assert!(issue_page.contains(&format!("/console/issues/{id}/notice")));
    assert!(issue_page.contains(&format!("/console/documents/album?issue_id={id}")));
    let notice = sup.get(&format!("/console/issues/{id}/notice")).await;
    assert_eq!(notice.status(), StatusCode::OK);
    assert!(text(notice).await.contains("整改通知书"));
    let docx = sup
        .get(&format!("/console/issues/{id}/notice?format=docx"))
        .await;
    assert_eq!(docx.status(), StatusCode::OK);
    let album = sup
        .get(&format!("/console/documents/album?issue_id={id}"))
        .await;
    assert_eq!(album.status(), StatusCode::OK);
    assert!(text(album).await.contains("整改前后对比图册"));
    let bulletin = sup.get("/console/documents/bulletin").await;
    assert_eq!(bulletin.status(), StatusCode::OK);
    assert!(text(bulletin).await.contains("通报"));
    let bad = sup.get("/console/documents/bulletin?format=pdf").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    let b = Console::login(&app, &c.worker_b).await;
    for path in [
        format!("/console/issues/{id}/notice"),
        format!("/console/documents/album?issue_id={id}"),
    ] {
        let res = b.get(&path).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(!text(res).await.contains("沟渠淤塞"));
    }
}

#[tokio::test]
async fn people_and_places_are_for_admins_of_their_places_only() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    // A grid worker: no link, and the pages and forms refused.
    let worker = Console::login(&app, &c.worker_a).await;
    assert!(
        !text(worker.get("/console/").await)
            .await
            .contains("nav-admin")
    );
    for path in ["/console/admin/users", "/console/admin/places"] {
        let res = worker.get(path).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
        assert!(text(res).await.contains("无权操作"));
    }
    let res = worker
        .post(
            &format!("/console/admin/places/{}/rename", c.places.village_a),
            &[("name", "改名"), ("csrf", &worker.csrf)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let admin = Console::login(&app, &app.admin).await;
    let page = text(admin.get("/console/admin/users").await).await;
    assert!(
        page.contains("nav-admin") && page.contains("user-worker-a"),
        "{page}"
    );
    // Creating without the token: refused, no account.
    let new = [
        ("username", "wang-wu"),
        ("display_name", "<i>王五</i>"),
        ("password", "a-long-enough-password"),
        ("role", "grid_worker"),
        ("org_unit_id", c.places.village_b.as_str()),
    ];
    let res = admin.post("/console/admin/users", &new).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(
        !text(admin.get("/console/admin/users").await)
            .await
            .contains("wang-wu")
    );
    let mut with = new.to_vec();
    with.push(("csrf", &admin.csrf));
    let res = admin.post("/console/admin/users", &with).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = text(admin.get("/console/admin/users?done=created").await).await;
    assert!(
        page.contains("user-wang-wu") && page.contains("账号已创建"),
        "{page}"
    );
    assert!(page.contains("&#60;i&#62;王五&#60;/i&#62;") && !page.contains("<i>王五"));
    let (_, users) = app.get("/api/v1/users?limit=500", &app.admin.access).await;
    let wang = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "wang-wu")
        .unwrap()
        .clone();
    let wang_id = wang["id"].as_str().unwrap().to_owned();
    assert_eq!(wang["roles"][0]["role"], "grid_worker");
    // A bad password is the domain's 422 page, not a 500.
    let res = admin
        .post(
            &format!("/console/admin/users/{wang_id}/password"),
            &[("password", "x"), ("csrf", &admin.csrf)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = admin
        .post(
            &format!("/console/admin/users/{wang_id}/password"),
            &[("password", "another-long-password"), ("csrf", &admin.csrf)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    app.login("wang-wu", "another-long-password", "phone-ww")
        .await;
    // Grant, revoke, disable.
    let roles = format!("/console/admin/users/{wang_id}/roles");
    let res = admin
        .post(
            &roles,
            &[
                ("op", "grant"),
                ("role", "inspector"),
                ("org_unit_id", &c.places.town),
                ("csrf", &admin.csrf),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = admin
        .post(
            &roles,
            &[
                ("op", "revoke"),
                ("role", "grid_worker"),
                ("org_unit_id", &c.places.village_b),
                ("csrf", &admin.csrf),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = admin
        .post(
            &format!("/console/admin/users/{wang_id}/active"),
            &[("active", "false"), ("csrf", &admin.csrf)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, users) = app.get("/api/v1/users?limit=500", &app.admin.access).await;
    let wang = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "wang-wu")
        .unwrap()
        .clone();
    assert_eq!(wang["active"], false);
    assert_eq!(wang["roles"].as_array().unwrap().len(), 1);
    assert_eq!(wang["roles"][0]["role"], "inspector");

    // Places: an admin of village A sees and changes only village A.
    let village_admin = app
        .user_with("admin-a", &[(Role::Admin, Some(&c.places.village_a))])
        .await;
    let va = Console::login(&app, &village_admin).await;
    let page = text(va.get("/console/admin/places").await).await;
    assert!(
        page.contains("甲社区") && !page.contains("乙社区"),
        "{page}"
    );
    let res = va
        .post(
            &format!("/console/admin/places/{}/rename", c.places.village_b),
            &[("name", "被改名"), ("csrf", &va.csrf)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let rename = format!("/console/admin/places/{}/rename", c.places.village_b);
    let res = admin.post(&rename, &[("name", "乙社区（新）")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = admin
        .post(&rename, &[("name", "乙社区（新）"), ("csrf", &admin.csrf)])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, place) = app
        .get(
            &format!("/api/v1/org-units/{}", c.places.village_b),
            &app.admin.access,
        )
        .await;
    assert_eq!(place["name"], "乙社区（新）");
    let res = admin
        .post(
            &format!("/console/admin/places/{}/retire", c.places.village_b),
            &[("reason", "撤村并居"), ("csrf", &admin.csrf)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (status, _) = app
        .post(
            "/api/v1/issues",
            &c.worker_b.access,
            json!({"title": "撤销后", "category": "road", "source": "grid_patrol", "place_id": c.places.village_b}),
        )
        .await;
    assert!(
        status.is_client_error(),
        "a retired place takes no new issue: {status}"
    );
}

/// In Chromium: the inspection's photo loads on its page and on its record (a signed link), the
/// sync page settles a conflict by its button, and the admin pages render; screenshots of each.
#[tokio::test]
async fn inspections_sync_and_admin_pages_in_a_real_browser() {
    use closeout_tests::browser::Browser;
    use closeout_tests::photos::{metadata_for, samples, sha256_hex};
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let template = create_small_template(&app, "console_browser").await;
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
                json!({"key": "clean", "base_rev": 0, "result": {"value": false, "note": "桥下有垃圾", "photos": [sha]}}),
                item("tidy", 0, json!(12)),
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
    let issue = new_id();
    push(
        &app,
        &c.worker_a,
        vec![mutation(1, create(&issue, &c.places.village_a, "原标题"))],
    )
    .await;
    push(&app, &c.supervisor, vec![mutation(1, json!({"type": "update_issue", "issue_id": issue, "base_version": 1, "fields": {"title": "督查办改的标题"}}))]).await;
    let worker = push(&app, &c.worker_a, vec![mutation(2, json!({"type": "update_issue", "issue_id": issue, "base_version": 1, "fields": {"title": "网格员改的标题"}}))]).await;
    let conflict = worker["results"][0]["conflict_ids"][0]
        .as_str()
        .unwrap()
        .to_owned();

    let b = Browser::launch().await;
    super::console::browser_login(&b, &app, &c.supervisor).await;
    b.goto(&app.url("/console/inspections")).await;
    b.find("#inspections").await;
    b.screenshot("inspections").await;
    b.click(&format!("#inspection-{id} a")).await;
    b.find("#items").await;
    b.wait_for("const i = document.querySelector('.item-photos img'); return !!i && i.complete && i.naturalWidth > 0")
        .await;
    b.screenshot("inspection").await;
    b.click("#record-link").await;
    b.wait_for(
        "const i = document.querySelector('img'); return !!i && i.complete && i.naturalWidth > 0",
    )
    .await;
    b.screenshot("inspection-record").await;
    b.goto(&app.url("/console/rankings")).await;
    b.find("#rankings").await;
    b.screenshot("rankings").await;
    b.goto(&app.url("/console/sync")).await;
    b.find(&format!("#conflict-{conflict}")).await;
    b.screenshot("sync").await;
    b.click(&format!("#conflict-{conflict} button[value=keep_server]"))
        .await;
    b.find("#no-conflicts").await;
    let (_, open) = app
        .get("/api/v1/sync/conflicts", &c.supervisor.access)
        .await;
    assert_eq!(open, json!([]));

    let admin = Browser::launch().await;
    super::console::browser_login(&admin, &app, &app.admin).await;
    admin.goto(&app.url("/console/admin/users")).await;
    admin.find("#user-worker-a").await;
    admin.screenshot("admin-users").await;
    admin.goto(&app.url("/console/admin/places")).await;
    admin.find("#places").await;
    admin.screenshot("admin-places").await;
}
