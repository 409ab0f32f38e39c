//! Reports over a fixed ledger whose figures are computed by hand below: exports (XLSX, CSV,
//! GeoJSON, the CLI), statistics, bulletins and albums, and what a grid worker of village B may
//! not see in any of them.

mod album;
mod bulletin;
mod exports;
mod figures;
mod injection;
mod stats;
mod time_zone;
mod unit_scope;

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use closeout::db::schema::issues;
use closeout_tests::{Cast, TestApp, TestUser};
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

pub fn photo(n: u8) -> String {
    format!("{n:064x}")
}

/// Today in the office's time zone (UTC+8), as the server computes it.
pub fn today() -> NaiveDate {
    (chrono::Utc::now() + Duration::hours(8)).date_naive()
}

/// 10:00 office time on `day`, as stored (UTC).
pub fn at(day: NaiveDate) -> NaiveDateTime {
    day.and_time(NaiveTime::MIN) + Duration::hours(2)
}

/// The fixed ledger. Day k is `d0 + k`; the statistics period is `d0 ..= today` (`d0` = today − 20).
///
/// | name | place | category | created | deadline | closed | state now |
/// |---|---|---|---|---|---|---|
/// | a_on_time | village A | three_piles | day 1 | day 6 | day 5 | closed (on time, 4 days) |
/// | a_overdue | grid A1 | illegal_structure | day 2 | day 8 | – | assigned, level 2 通报 |
/// | a_reopened | village A | three_piles | day 3 | today+5 | (reopened today) | assigned, reopened once |
/// | a_old_closed | village A | three_piles | day −10 | day −4 | day −5 | closed before the period |
/// | a_old_open | village A | three_piles | day −10 | – | – | reported |
/// | b_late | village B | street_occupation | day 4 | day 6 | day 9 | closed (late, 5 days) |
/// | b_unlocated | village B | three_piles | day 10 | – | – | reported, no location |
/// | b_rejected | village B | three_piles | day 5 | – | – | rejected (never counts) |
pub struct Fixture {
    pub app: TestApp,
    pub c: Cast,
    pub d0: NaiveDate,
    pub a: Vec<Value>,
    pub b: Vec<Value>,
    /// After-photos by number: 1 a_on_time, 2 a_reopened, 3 b_late, 4 a_old_closed.
    after: std::collections::BTreeMap<u8, String>,
}

impl Fixture {
    pub fn day(&self, k: i64) -> NaiveDate {
        self.d0 + Duration::days(k)
    }

    pub fn after(&self, n: u8) -> &str {
        &self.after[&n]
    }

    /// Ledger numbers of village A's issues (none may ever reach worker B).
    pub fn a_numbers(&self) -> Vec<String> {
        self.a
            .iter()
            .map(|i| i["ledger_no"].as_str().unwrap().to_owned())
            .collect()
    }
}

async fn report(
    app: &TestApp,
    user: &TestUser,
    place: &str,
    title: &str,
    category: &str,
    located: bool,
) -> Value {
    let mut body = json!({"title": title, "description": "现场发现", "category": category,
        "source": "grid_patrol", "place_id": place, "photos": [photo(100)]});
    if located {
        body["location"] =
            json!({"lat": 38.05, "lon": 114.52, "accuracy_m": 8.0, "address": "建北街道1号"});
    }
    let (status, body) = app.post("/api/v1/issues", &user.access, body).await;
    assert_eq!(status, StatusCode::CREATED, "report: {body}");
    body
}

async fn act(app: &TestApp, user: &TestUser, id: &Value, body: Value) {
    let (status, res) = app
        .act(user, id["id"].as_str().unwrap(), body.clone())
        .await;
    assert_eq!(status, StatusCode::OK, "{body} → {res}");
}

async fn assign(f: &TestApp, c: &Cast, id: &Value) {
    let deadline = today() + Duration::days(10);
    act(f, &c.supervisor, id, json!({"action": "assign", "responsible_unit_id": c.bureau,
        "responsible_user_id": c.responsible.id, "target": "清理到位，建立长效机制", "deadline": deadline}))
    .await;
}

/// Assigns, rectifies with a fresh after-photo (uploaded first, as a phone does) and closes out;
/// returns the after-photo's SHA-256.
async fn close(app: &TestApp, c: &Cast, id: &Value) -> String {
    assign(app, c, id).await;
    act(app, &c.responsible, id, json!({"action": "acknowledge"})).await;
    let after = app
        .fresh_photo(&c.responsible.access, "after", id["id"].as_str().unwrap())
        .await;
    act(
        app,
        &c.responsible,
        id,
        json!({"action": "submit", "photos": [after], "comment": "已整改"}),
    )
    .await;
    act(app, &c.supervisor, id, json!({"action": "approve"})).await;
    after
}

/// Sets the dates the API cannot (time passing is simulated in the database).
fn set(
    app: &TestApp,
    id: &Value,
    created: NaiveDate,
    deadline: Option<NaiveDate>,
    closed: Option<NaiveDate>,
) {
    let id = id["id"].as_str().unwrap();
    let mut conn = app.db().get().unwrap();
    diesel::update(issues::table.find(id))
        .set((
            issues::created_at.eq(at(created)),
            issues::deadline.eq(deadline),
            issues::closed_at.eq(closed.map(at)),
        ))
        .execute(&mut *conn)
        .unwrap();
    app.forget_figures();
}

pub async fn fixture() -> Fixture {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let p = c.places.clone();
    let d0 = today() - Duration::days(20);
    let d = |k: i64| d0 + Duration::days(k);
    let mut after = std::collections::BTreeMap::new();

    let a_on_time = report(
        &app,
        &c.worker_a,
        &p.village_a,
        "河道垃圾",
        "three_piles",
        true,
    )
    .await;
    after.insert(1, close(&app, &c, &a_on_time).await);
    set(&app, &a_on_time, d(1), Some(d(6)), Some(d(5)));

    // A title with a comma and quotes: CSV must quote it (RFC 4180).
    let a_overdue = report(
        &app,
        &c.worker_a,
        &p.grid_a1,
        "违建棚屋, \"东侧\"",
        "illegal_structure",
        true,
    )
    .await;
    assign(&app, &c, &a_overdue).await;
    set(&app, &a_overdue, d(2), Some(d(8)), None);
    diesel::update(issues::table.find(a_overdue["id"].as_str().unwrap()))
        .set(issues::escalation_level.eq(2))
        .execute(&mut *app.db().get().unwrap())
        .unwrap();
    app.forget_figures();

    let a_reopened = report(
        &app,
        &c.worker_a,
        &p.village_a,
        "柴草堆放",
        "three_piles",
        true,
    )
    .await;
    after.insert(2, close(&app, &c, &a_reopened).await);
    act(
        &app,
        &c.supervisor,
        &a_reopened,
        json!({"action": "reopen", "reason": "回头看发现反弹"}),
    )
    .await;
    set(
        &app,
        &a_reopened,
        d(3),
        Some(today() + Duration::days(5)),
        None,
    );

    let a_old_closed = report(
        &app,
        &c.worker_a,
        &p.village_a,
        "旧账已销号",
        "three_piles",
        true,
    )
    .await;
    after.insert(4, close(&app, &c, &a_old_closed).await);
    set(&app, &a_old_closed, d(-10), Some(d(-4)), Some(d(-5)));

    let a_old_open = report(
        &app,
        &c.worker_a,
        &p.village_a,
        "旧账未整改",
        "three_piles",
        true,
    )
    .await;
    set(&app, &a_old_open, d(-10), None, None);

    let b_late = report(
        &app,
        &c.worker_b,
        &p.village_b,
        "占道经营",
        "street_occupation",
        true,
    )
    .await;
    after.insert(3, close(&app, &c, &b_late).await);
    set(&app, &b_late, d(4), Some(d(6)), Some(d(9)));

    let b_unlocated = report(
        &app,
        &c.worker_b,
        &p.village_b,
        "无定位问题",
        "three_piles",
        false,
    )
    .await;
    set(&app, &b_unlocated, d(10), None, None);

    let b_rejected = report(&app, &c.worker_b, &p.village_b, "误报", "three_piles", true).await;
    act(
        &app,
        &c.supervisor,
        &b_rejected,
        json!({"action": "reject", "reason": "不属实"}),
    )
    .await;
    set(&app, &b_rejected, d(5), None, None);

    Fixture {
        app,
        c,
        d0,
        a: vec![a_on_time, a_overdue, a_reopened, a_old_closed, a_old_open],
        b: vec![b_late, b_unlocated, b_rejected],
        after,
    }
}

/// GET with a bearer token; status and raw body.
pub async fn fetch(app: &TestApp, path: &str, token: &str) -> (StatusCode, Vec<u8>, String) {
    let res = app
        .client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let content_type = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, res.bytes().await.unwrap().to_vec(), content_type)
}
