//! 亮灯 and 领导批示 over the API: the light of every open issue (field, filter, export column),
//! the progress clock the unit's steps start, and instructions reaching the unit's phone.

use closeout::db::schema::issues;
use closeout_tests::{Cast, TestApp, assert_problem};
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

fn day(offset: i64) -> chrono::NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(8) + chrono::Duration::days(offset)).date_naive()
}

async fn assigned(app: &TestApp, c: &Cast, title: &str) -> String {
    let id = app.report(&c.worker_a, &c.places.village_a, title).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = app
        .act(
            &c.supervisor,
            &id,
            json!({"action": "assign", "responsible_unit_id": c.bureau, "responsible_user_id": c.responsible.id,
                   "target": "整改到位", "deadline": day(30)}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    id
}

/// Sets what the light is computed from (the API only moves deadlines forward; time passing is
/// simulated here).
fn set(app: &TestApp, id: &str, deadline: Option<i64>, progress: Option<i64>) {
    diesel::update(issues::table.find(id))
        .set((
            issues::deadline.eq(deadline.map(day)),
            issues::progress_on.eq(progress.map(day)),
        ))
        .execute(&mut *app.db().get().unwrap())
        .unwrap();
}

fn lights(page: &Value) -> BTreeMap<String, Value> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["title"].as_str().unwrap().to_owned(), i["light"].clone()))
        .collect()
}

#[tokio::test]
async fn every_open_issue_has_a_light_and_the_filter_returns_what_the_rows_show() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let sup = c.supervisor.access.clone();
    assigned(&app, &c, "on-track").await;
    let near = assigned(&app, &c, "near").await;
    set(&app, &near, Some(2), None);
    let today = assigned(&app, &c, "due-today").await;
    set(&app, &today, Some(0), None);
    let red = assigned(&app, &c, "overdue").await;
    set(&app, &red, Some(-1), None);
    // Rectifying: acknowledging starts the progress clock today (green), then it is made 8 days
    // old (yellow: the default interval is 7 days).
    let late = assigned(&app, &c, "late-report").await;
    let (s, b) = app
        .act(&c.responsible, &late, json!({"action": "acknowledge"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["progress_on"], json!(day(0)));
    assert_eq!(b["light"], "green");
    set(&app, &late, Some(30), Some(-8));
    let in_time = assigned(&app, &c, "report-in-time").await;
    app.act(&c.responsible, &in_time, json!({"action": "acknowledge"}))
        .await;
    set(&app, &in_time, Some(30), Some(-7));
    // A progress report restarts the clock.
    let renewed = assigned(&app, &c, "renewed").await;
    app.act(&c.responsible, &renewed, json!({"action": "acknowledge"}))
        .await;
    set(&app, &renewed, Some(30), Some(-20));
    let (s, b) = app
        .act(
            &c.responsible,
            &renewed,
            json!({"action": "progress", "comment": "已清理一半", "stage": "follow_up"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let unassigned = app
        .report(&c.worker_a, &c.places.village_a, "no-deadline")
        .await;
    let closed_late = assigned(&app, &c, "rejected").await;
    let (s, b) = app
        .act(
            &c.supervisor,
            &closed_late,
            json!({"action": "reject", "reason": "不属实"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    set(&app, &closed_late, Some(-5), None);

    let (_, all) = app.get("/api/v1/issues?limit=200", &sup).await;
    let expected: BTreeMap<String, Value> = [
        ("on-track", json!("green")),
        ("near", json!("yellow")),
        ("due-today", json!("yellow")),
        ("overdue", json!("red")),
        ("late-report", json!("yellow")),
        ("report-in-time", json!("green")),
        ("renewed", json!("green")),
        ("no-deadline", json!("green")),
        ("rejected", Value::Null),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(lights(&all), expected);
    let by_title = |t: &str| {
        all["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["title"] == t)
            .unwrap()
            .clone()
    };
    assert_eq!(
        by_title("late-report")["light_cause"],
        json!({"cause": "progress_late", "days_since": 8})
    );
    assert_eq!(
        by_title("overdue")["light_cause"],
        json!({"cause": "overdue", "days_overdue": 1})
    );
    assert_eq!(
        by_title("due-today")["light_cause"],
        json!({"cause": "deadline_near", "days_left": 0})
    );
    assert_eq!(unassigned["light"], "green");

    // The filter (SQL) agrees with the field (the shared rule) for each colour and a pair.
    for filter in ["green", "yellow", "red", "red,yellow"] {
        let (s, page) = app
            .get(&format!("/api/v1/issues?limit=200&light={filter}"), &sup)
            .await;
        assert_eq!(s, StatusCode::OK, "{page}");
        let got: BTreeSet<String> = lights(&page).into_keys().collect();
        let want: BTreeSet<String> = expected
            .iter()
            .filter(|(_, l)| {
                l.as_str()
                    .is_some_and(|l| filter.split(',').any(|f| f == l))
            })
            .map(|(t, _)| t.clone())
            .collect();
        assert_eq!(got, want, "light={filter}");
    }
    let (s, b) = app.get("/api/v1/issues?light=blue", &sup).await;
    assert_problem(s, &b, 400, "invalid_query");
    // Scope still applies: village B's worker sees none of village A's lights.
    let (_, b) = app
        .get("/api/v1/issues?light=red", &c.worker_b.access)
        .await;
    assert_eq!(b["items"], json!([]));

    // The export carries the light as a column (CSV: the last one).
    let (s, bytes, _) =
        crate::reports::fetch(&app, "/api/v1/reports/ledger?format=csv&light=red", &sup).await;
    assert_eq!(s, StatusCode::OK);
    let text = String::from_utf8(bytes).unwrap();
    let mut lines = text.lines();
    assert!(lines.next().unwrap().ends_with(",亮灯"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 1, "{text}");
    assert!(rows[0].ends_with(",红灯"), "{text}");
}

#[tokio::test]
async fn the_office_sets_the_thresholds() {
    let app = TestApp::spawn_with(|s| {
        s.lights.warn_days = 10;
        s.lights.progress_interval_days = 0;
    })
    .await;
    let c = app.cast().await;
    let near = assigned(&app, &c, "nine-days").await;
    set(&app, &near, Some(9), None);
    let quiet = assigned(&app, &c, "quiet").await;
    app.act(&c.responsible, &quiet, json!({"action": "acknowledge"}))
        .await;
    set(&app, &quiet, Some(30), Some(-100));
    let (_, all) = app.get("/api/v1/issues", &c.supervisor.access).await;
    let l = lights(&all);
    assert_eq!(l["nine-days"], "yellow");
    assert_eq!(l["quiet"], "green", "no progress reports required");
}

#[tokio::test]
async fn an_instruction_is_shown_with_the_issue_and_reaches_the_units_phone() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let id = assigned(&app, &c, "instructed").await;
    let (_, before) = app.get("/api/v1/sync/pull", &c.responsible.access).await;
    let cursor = before["cursor"].as_str().unwrap().to_owned();

    // Only a supervisor instructs, and only with words.
    let (s, b) = app
        .act(
            &c.responsible,
            &id,
            json!({"action": "instruct", "comment": "自己批示"}),
        )
        .await;
    assert_problem(s, &b, 403, "forbidden");
    let (s, b) = app
        .act(&c.supervisor, &id, json!({"action": "instruct"}))
        .await;
    assert_problem(s, &b, 422, "invalid_field");
    let (s, b) = app
        .act(
            &c.supervisor,
            &id,
            json!({"action": "instruct", "comment": "请于本周内完成，并报送照片。"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["state"], "assigned", "an instruction changes no state");
    assert_eq!(b["instructions"][0]["text"], "请于本周内完成，并报送照片。");
    assert_eq!(b["instructions"][0]["author_id"], c.supervisor.id.as_str());
    assert!(
        b["instructions"][0]["author_name"]
            .as_str()
            .is_some_and(|n| !n.is_empty())
    );
    assert_eq!(
        b["history"].as_array().unwrap().last().unwrap()["action"],
        "instruct"
    );

    // The unit's phone gets it with the issue in its next pull.
    let (s, pulled) = app
        .get(
            &format!("/api/v1/sync/pull?cursor={cursor}"),
            &c.responsible.access,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{pulled}");
    let change = pulled["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|ch| ch["issue"]["id"] == id.as_str())
        .unwrap_or_else(|| panic!("issue not re-sent: {pulled}"));
    assert_eq!(
        change["issue"]["instructions"][0]["text"],
        "请于本周内完成，并报送照片。"
    );

    // A closed issue takes no more instructions.
    let (s, b) = app
        .act(
            &c.supervisor,
            &id,
            json!({"action": "reject", "reason": "重复上报"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = app
        .act(
            &c.supervisor,
            &id,
            json!({"action": "instruct", "comment": "再批示"}),
        )
        .await;
    assert_problem(s, &b, 409, "invalid_transition");
}
