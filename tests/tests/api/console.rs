//! The supervision office's web console (`/login`, `/console/*`): sessions, CSRF, headers and
//! place scoping over plain HTTP, and the office's main flows in a real headless Chromium.

use closeout::db::schema::{issues, users};
use closeout_tests::TestApp;
use closeout_tests::browser::{Browser, screenshot_dir};
use closeout_tests::photos::{fresh_jpeg, samples, sha256_hex};
use closeout_tests::{Cast, TestUser};
use diesel::prelude::*;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION};
use serde_json::Value;
use serde_json::json;

pub(crate) use super::console_client::Console;
use super::console_client::{cookie_of, encode, hidden_csrf};

async fn state_of(app: &TestApp, user: &TestUser, id: &str) -> Value {
    let (status, body) = app.get(&format!("/api/v1/issues/{id}"), &user.access).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

pub(crate) fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn login_sets_a_strict_http_only_session_cookie_and_logout_ends_the_session() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    // Not logged in: the login page, with the page to come back to.
    let anon = Console::client()
        .get(app.url("/console/issues"))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), StatusCode::SEE_OTHER);
    assert_eq!(anon.headers()[LOCATION], "/login?next=/console/issues");

    let page = Console::client()
        .get(app.url("/login"))
        .send()
        .await
        .unwrap();
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"));
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");

    let console = Console::login(&app, &c.supervisor).await;
    let res = console.get("/console/").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    let body = res.text().await.unwrap();
    assert!(body.contains("工作台") && body.contains("supervisor"));
    // htmx comes from this server under a hashed name, with integrity.
    let at = body.find("/console/assets/htmx-").unwrap();
    let src = &body[at..body[at..].find('"').unwrap() + at];
    assert!(body.contains("integrity=\"sha384-"));
    let js = console.get(src).await;
    assert_eq!(js.status(), StatusCode::OK);
    assert!(
        js.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );

    // The JSON API stays bearer-only: the console cookie opens nothing there.
    let api = console.get("/api/v1/me").await;
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);

    // Logout without the token is refused; with it the session row ends.
    let refused = console.post("/logout", &[]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.text().await.unwrap().contains("csrf_token_invalid"));
    let out = console.post("/logout", &[("csrf", &console.csrf)]).await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let (cleared, raw) = cookie_of(&out, "closeout_session").unwrap();
    assert!(cleared.is_empty() && raw.contains("Max-Age=0"), "{raw}");
    let after = console.get("/console/").await;
    assert_eq!(
        after.status(),
        StatusCode::SEE_OTHER,
        "the old cookie no longer works"
    );
}

#[tokio::test]
async fn the_session_cookie_is_http_only_and_strict_and_a_wrong_password_stays_on_the_form() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let http = Console::client();
    let page = http.get(app.url("/login")).send().await.unwrap();
    let (pre, _) = cookie_of(&page, "closeout_login_csrf").unwrap();
    let token = hidden_csrf(&page.text().await.unwrap());
    let post = |password: &'static str, csrf: String| {
        http.post(app.url("/login"))
            .header(COOKIE, format!("closeout_login_csrf={pre}"))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(encode(&[
                ("username", "supervisor"),
                ("password", password),
                ("csrf", &csrf),
            ]))
            .send()
    };
    let wrong = post("nope", token.clone()).await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(cookie_of(&wrong, "closeout_session").is_none());
    assert!(wrong.text().await.unwrap().contains("用户名或密码错误"));
    let forged = post("supervisor-password", "0".repeat(64)).await.unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN, "login CSRF");
    let ok = post("supervisor-password", token).await.unwrap();
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let (_, raw) = cookie_of(&ok, "closeout_session").unwrap();
    assert!(
        raw.contains("HttpOnly") && raw.contains("SameSite=Strict"),
        "{raw}"
    );
    assert!(!raw.contains("Secure"), "plain HTTP here: {raw}");
    let _ = c;
}

#[tokio::test]
async fn a_disabled_account_loses_its_console_session_at_once() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let console = Console::login(&app, &c.supervisor).await;
    let other = Console::login(&app, &c.supervisor).await;
    let admin = app.admin.access.clone();
    let (status, body) = app
        .post(
            &format!("/api/v1/users/{}/disable", c.supervisor.id),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let res = console.get("/console/issues").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(
        res.headers()[LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/login")
    );
    // Enabling the account again does not bring old sessions back.
    let (status, body) = app
        .post(
            &format!("/api/v1/users/{}/enable", c.supervisor.id),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(other.get("/console/").await.status(), StatusCode::SEE_OTHER);
    // A user row switched off directly is refused too (the Caller check, not only the rows).
    let again = Console::login(&app, &c.supervisor).await;
    diesel::update(users::table.find(&c.supervisor.id))
        .set(users::active.eq(false))
        .execute(&mut *app.db().get().unwrap())
        .unwrap();
    assert_eq!(again.get("/console/").await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn forms_without_the_csrf_token_change_nothing() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let id = id_of(
        &app.report(&c.worker_a, &c.places.village_a, "乱堆柴草")
            .await,
    );
    let console = Console::login(&app, &c.supervisor).await;
    let path = format!("/console/issues/{id}/act");
    let res = console
        .post(&path, &[("action", "comment"), ("comment", "无令牌")])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = console
        .post(
            &path,
            &[
                ("action", "comment"),
                ("comment", "错令牌"),
                ("csrf", &"f".repeat(64)),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        state_of(&app, &c.supervisor, &id).await["history"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let res = console
        .post(
            &path,
            &[
                ("action", "comment"),
                ("comment", "有令牌"),
                ("csrf", &console.csrf),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let history = state_of(&app, &c.supervisor, &id).await["history"].clone();
    assert_eq!(history.as_array().unwrap().len(), 2);
    assert_eq!(history[1]["comment"], "有令牌");
}

#[tokio::test]
async fn a_village_user_gets_a_404_page_for_another_villages_issue_and_titles_are_text() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let theirs = id_of(
        &app.report(
            &c.worker_b,
            &c.places.village_b,
            "<script>alert(1)</script>乙社区占道",
        )
        .await,
    );
    let mine = Console::login(&app, &c.worker_a).await;
    let res = mine.get(&format!("/console/issues/{theirs}")).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(
        res.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let body = res.text().await.unwrap();
    assert!(body.contains("未找到") && !body.contains("乙社区占道"));
    let photo = mine
        .get(&format!("/console/photos/{}", "a".repeat(64)))
        .await;
    assert_eq!(photo.status(), StatusCode::NOT_FOUND);

    let sup = Console::login(&app, &c.supervisor).await;
    let body = sup
        .get(&format!("/console/issues/{theirs}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(body.contains("&#60;script&#62;alert(1)&#60;/script&#62;乙社区占道"));
    assert!(!body.contains("<script>alert(1)"));
    let list = sup
        .get("/console/issues?q=%E4%B9%99%E7%A4%BE%E5%8C%BA")
        .await;
    let list = list.text().await.unwrap();
    assert!(list.contains("&#60;script&#62;") && !list.contains("<script>alert"));
}

// ---- In a real browser ----------------------------------------------------------------------

/// Reported with a before-photo where DSCN0010.jpg was taken, assigned, acknowledged, submitted
/// with `after` as its after-photo.
async fn submitted(app: &TestApp, c: &Cast, title: &str, after: Vec<u8>) -> String {
    let before = std::fs::read(samples().join("gps/DSCN0010.jpg")).unwrap();
    let (status, issue) = app
        .post(
            "/api/v1/issues",
            &c.worker_a.access,
            json!({"title": title, "category": "river_reservoir", "source": "grid_patrol", "place_id": c.places.village_a,
                   "location": {"lat": 43.4674483333333, "lon": 11.8851266666639}, "photos": [sha256_hex(&before)]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{issue}");
    let id = id_of(&issue);
    app.upload_for(&c.worker_a.access, &before, "before", &id)
        .await;
    let deadline = (chrono::Utc::now() + chrono::Duration::days(5)).date_naive();
    let (status, body) = app.act(&c.supervisor, &id, json!({"action": "assign", "responsible_unit_id": c.bureau, "responsible_user_id": c.responsible.id, "target": "清理", "deadline": deadline})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .act(&c.responsible, &id, json!({"action": "acknowledge"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let sha = app
        .upload_for(&c.responsible.access, &after, "after", &id)
        .await;
    let (status, body) = app
        .act(
            &c.responsible,
            &id,
            json!({"action": "submit", "photos": [sha]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    id
}

pub(crate) async fn browser_login(b: &Browser, app: &TestApp, user: &TestUser) {
    b.goto(&app.url("/login")).await;
    b.type_into("#username", &user.username).await;
    b.type_into("#password", &user.password).await;
    b.click("#login").await;
    b.wait_for("return location.pathname.startsWith('/console/')")
        .await;
}

#[tokio::test]
async fn the_office_closes_out_returns_and_imports_in_a_real_browser() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    // Over the blocking flags of an after-photo taken ~400 m away years before the assignment.
    let far = std::fs::read(samples().join("gps/DSCN0029.jpg")).unwrap();
    let late = submitted(&app, &c, "河道垃圾（超期）", far).await;
    diesel::update(issues::table.find(&late))
        .set(issues::deadline.eq((chrono::Utc::now() - chrono::Duration::days(4)).date_naive()))
        .execute(&mut *app.db().get().unwrap())
        .unwrap();
    let on_time = submitted(&app, &c, "沟渠清淤", fresh_jpeg()).await;
    let _script = app
        .report(
            &c.worker_a,
            &c.places.village_a,
            "<script>alert('x')</script>小广告",
        )
        .await;

    let b = Browser::launch().await;
    b.goto(&app.url("/login")).await;
    b.screenshot("login").await;
    browser_login(&b, &app, &c.supervisor).await;
    b.find(".tiles").await;
    b.screenshot("dashboard").await;

    // Find the overdue issue by filter.
    b.goto(&app.url("/console/issues")).await;
    b.click("#f-overdue").await;
    b.click("#f-apply").await;
    b.wait_for("return location.search.includes('overdue=true')")
        .await;
    let rows = b.text("#rows").await;
    assert!(
        rows.contains("河道垃圾（超期）") && !rows.contains("沟渠清淤"),
        "{rows}"
    );
    b.screenshot("ledger").await;

    // Open it: before and after photos side by side, loaded.
    b.click("a.issue-link").await;
    b.wait_for("return document.querySelectorAll('.photo img').length === 2 && [...document.querySelectorAll('.photo img')].every(i => i.complete && i.naturalWidth > 0)").await;
    let flags = b.text(".photos").await;
    assert!(
        flags.contains("整改前") && flags.contains("整改后"),
        "{flags}"
    );
    b.screenshot("issue").await;

    // Approve without a reason: refused, nothing changed.
    b.click("#approve").await;
    let refused = b.text("#action-error").await;
    assert!(refused.contains("evidence_flagged"), "{refused}");
    assert_eq!(
        state_of(&app, &c.supervisor, &late).await["state"],
        "submitted"
    );
    // With a reason: closed, the reason in the history.
    let reason = "已电话核实，现场已清理";
    b.type_into("#override-reason", reason).await;
    b.click("#approve").await;
    b.wait_for("return document.getElementById('issue-state').textContent.includes('销号')")
        .await;
    assert!(b.text("#history").await.contains(reason));
    let closed = state_of(&app, &c.supervisor, &late).await;
    assert_eq!(closed["state"], "closed");
    assert_eq!(
        closed["history"].as_array().unwrap().last().unwrap()["data"]["override_reason"],
        reason
    );

    // The acceptance queue opens the other submission; return it with a reason.
    b.goto(&app.url("/console/queue")).await;
    b.wait_for(&format!("return location.pathname.endsWith('{on_time}')"))
        .await;
    b.type_into("#return-reason", "照片未显示沟渠全貌").await;
    b.click("#return").await;
    b.find("#queue-empty").await;
    let returned = state_of(&app, &c.supervisor, &on_time).await;
    assert_eq!(returned["state"], "rectifying");
    assert_eq!(
        returned["history"].as_array().unwrap().last().unwrap()["data"]["reason"],
        "照片未显示沟渠全貌"
    );

    // A list with a bad row: every bad row named, nothing imported. Then a good one.
    let count = |app: &TestApp| {
        issues::table
            .count()
            .get_result::<i64>(&mut *app.db().get().unwrap())
            .unwrap()
    };
    let before = count(&app);
    let dir = app.env.data_dir.path();
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "问题标题,问题类别,区划代码\n路边垃圾,乱搭乱建,130102001001\n无主之地,乱搭乱建,999999999999\n").unwrap();
    b.goto(&app.url("/console/import")).await;
    b.type_into("#import-file", bad.to_str().unwrap()).await;
    b.click("#import-submit").await;
    let named = b.text("#bad-rows").await;
    assert!(named.contains('3'), "the bad row is named: {named}");
    assert_eq!(count(&app), before, "nothing imported");
    b.screenshot("import-rejected").await;
    let good = dir.join("good.csv");
    std::fs::write(
        &good,
        "问题标题,问题类别,区划代码\n路边垃圾,乱搭乱建,130102001001\n",
    )
    .unwrap();
    b.goto(&app.url("/console/import")).await;
    b.type_into("#import-file", good.to_str().unwrap()).await;
    b.click("#import-submit").await;
    // The dry run first: the row, its place resolved, nothing written yet; then confirm.
    assert_eq!(b.text("#preview-create").await, "1");
    assert!(b.text("#preview-items").await.contains("路边垃圾"));
    assert_eq!(count(&app), before, "a preview writes nothing");
    b.screenshot("import-preview").await;
    b.click("#import-confirm").await;
    assert_eq!(b.text("#import-created").await, "1");
    assert_eq!(count(&app), before + 1);

    // A hostile title is text: no script ran, no script element made.
    b.goto(&app.url("/console/issues?q=%E5%B0%8F%E5%B9%BF%E5%91%8A"))
        .await;
    let rows = b.text("#rows").await;
    assert!(rows.contains("<script>alert('x')</script>小广告"), "{rows}");
    assert_eq!(
        b.script("return document.querySelectorAll('main script').length")
            .await,
        0
    );

    // A form posted without its CSRF token is refused.
    b.goto(&app.url(&format!("/console/issues/{on_time}")))
        .await;
    b.script("document.querySelector('#form-comment input[name=csrf]').remove(); document.querySelector('#form-comment input[name=comment]').value='x'; document.getElementById('form-comment').submit(); return true").await;
    b.wait_for("return document.querySelector('.problem') !== null")
        .await;
    assert!(b.text(".problem").await.contains("403"));

    // A village user cannot reach another village's issue by URL.
    b.goto(&app.url("/console/")).await;
    b.click("#logout").await;
    b.find("#login").await;
    let village_b = id_of(
        &app.report(&c.worker_b, &c.places.village_b, "乙社区的问题")
            .await,
    );
    browser_login(&b, &app, &c.worker_a).await;
    b.goto(&app.url(&format!("/console/issues/{village_b}")))
        .await;
    assert!(b.text(".problem h1").await.contains("404"));
    assert!(screenshot_dir().join("issue.png").is_file());
}

#[tokio::test]
async fn the_console_fits_a_phone() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    submitted(&app, &c, "河道垃圾", fresh_jpeg()).await;
    let b = Browser::launch_sized(390, 844).await;
    browser_login(&b, &app, &c.supervisor).await;
    b.goto(&app.url("/console/issues")).await;
    b.find("#rows").await;
    let overflow = b
        .script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
        .await;
    assert_eq!(overflow, true, "no sideways scrolling on a phone");
    b.screenshot("ledger-phone").await;
    b.click("a.issue-link").await;
    b.find("#issue-title").await;
    b.screenshot("issue-phone").await;
}
