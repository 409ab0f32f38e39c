//! The ledger as a whole: filtered lists and pages, deadlines and escalation, ledger numbers
//! across replicas, and a history nobody can rewrite.

use closeout::db::schema::{issue_events, issues};
use closeout::domain::issues::Clock;
use closeout::domain::issues::escalation::{self, EscalationPolicy};
use closeout_tests::{Cast, TestApp, assert_problem};
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::HashSet;

fn deadline(days: i64) -> chrono::NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(8) + chrono::Duration::days(days)).date_naive()
}

async fn assigned(app: &TestApp, c: &Cast, place: &str, title: &str, due_in: i64) -> String {
    let id = app.report(&c.worker_a, place, title).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = app
        .act(
            &c.supervisor,
            &id,
            json!({"action": "assign", "responsible_unit_id": c.bureau, "responsible_user_id": c.responsible.id,
                   "target": "整改到位", "deadline": deadline(due_in)}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    id
}

/// Moves an issue's deadline (the API only accepts future ones; time passing is simulated here).
fn set_deadline(app: &TestApp, id: &str, day: chrono::NaiveDate) {
    diesel::update(issues::table.find(id))
        .set(issues::deadline.eq(day))
        .execute(&mut *app.db().get().unwrap())
        .unwrap();
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn lists_filter_by_state_place_overdue_due_soon_text_and_unit() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let p = c.places.clone();
    let fresh = app.report(&c.worker_a, &p.grid_a1, "网格内小广告").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let late = assigned(&app, &c, &p.village_a, "河道垃圾", 10).await;
    set_deadline(&app, &late, deadline(-3));
    let soon = assigned(&app, &c, &p.village_a, "违建棚屋", 2).await;
    let later = assigned(&app, &c, &p.village_a, "旱厕改造", 20).await;
    // An issue in village B reported by the supervisor.
    let (status, b) = app
        .post("/api/v1/issues", &c.supervisor.access, json!({"title": "乙社区占道经营", "category": "street_occupation", "source": "inspection", "place_id": p.village_b}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let b = b["id"].as_str().unwrap().to_owned();

    let sup = c.supervisor.access.clone();
    let q = |query: &str| format!("/api/v1/issues?{query}");
    let set = |v: Vec<String>| v.into_iter().collect::<HashSet<_>>();
    let expect = |items: &[&String]| items.iter().map(|s| (*s).clone()).collect::<HashSet<_>>();

    let (_, all) = app.get(&q(""), &sup).await;
    assert_eq!(
        ids(&all),
        vec![
            b.clone(),
            later.clone(),
            soon.clone(),
            late.clone(),
            fresh.clone()
        ],
        "newest first"
    );
    let (_, r) = app.get(&q("state=reported"), &sup).await;
    assert_eq!(set(ids(&r)), expect(&[&fresh, &b]));
    let (_, r) = app
        .get(&q(&format!("place_id={}", p.village_b)), &sup)
        .await;
    assert_eq!(ids(&r), vec![b.clone()]);
    let (_, r) = app.get(&q(&format!("place_id={}", p.grid_a1)), &sup).await;
    assert_eq!(ids(&r), vec![fresh.clone()]);
    let (_, r) = app.get(&q("overdue=true"), &sup).await;
    assert_eq!(ids(&r), vec![late.clone()]);
    assert_eq!(r["items"][0]["overdue"], true);
    assert_eq!(r["items"][0]["days_overdue"], 3);
    let (_, r) = app.get(&q("due_within_days=5"), &sup).await;
    assert_eq!(ids(&r), vec![soon.clone()]);
    // The export's caption counts what its list holds, also for the filters whose total comes
    // from the grouped count of open issues (overdue, due soon, lights, open states).
    for filter in [
        "overdue=true",
        "due_within_days=5",
        "light=red",
        "light=yellow,green",
        "state=reported,assigned",
        "overdue=true&place_id=VA",
    ] {
        let filter = filter.replace("VA", &p.village_a);
        let (_, list) = app.get(&q(&filter), &sup).await;
        let res = app
            .client
            .get(app.url(&format!("/api/v1/reports/ledger?format=xlsx&{filter}")))
            .bearer_auth(&sup)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{filter}");
        let bytes = res.bytes().await.unwrap().to_vec();
        let mut book: calamine::Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
        let sheet = calamine::Reader::worksheet_range(&mut book, "整改台账").unwrap();
        let caption = sheet
            .get_value((1, 0))
            .and_then(calamine::DataType::as_string)
            .unwrap_or_default();
        let n = ids(&list).len();
        assert!(n > 0, "{filter} lists something");
        assert!(
            caption.contains(&format!("共 {n} 条")),
            "{filter}: {caption}"
        );
    }
    // Found by schemathesis: a horizon past the calendar's end was a 500.
    let (status, r) = app.get(&q("due_within_days=1222870712"), &sup).await;
    assert_problem(status, &r, 400, "invalid_query");
    let (_, r) = app.get(&q("q=%E6%B2%B3%E9%81%93"), &sup).await; // 河道
    assert_eq!(ids(&r), vec![late.clone()]);
    let (_, r) = app
        .get(&q("category=street_occupation&source=inspection"), &sup)
        .await;
    assert_eq!(ids(&r), vec![b.clone()]);
    let (_, r) = app
        .get(&q(&format!("responsible_unit_id={}", c.bureau)), &sup)
        .await;
    assert_eq!(set(ids(&r)), expect(&[&late, &soon, &later]));
    let ledger_no = all["items"][0]["ledger_no"].as_str().unwrap().to_owned();
    let (_, r) = app.get(&q(&format!("q={ledger_no}")), &sup).await;
    assert_eq!(ids(&r), vec![b.clone()]);

    // Scope: the grid worker of B sees only B; the bureau sees only what is assigned to it.
    let (_, r) = app.get(&q(""), &c.worker_b.access).await;
    assert_eq!(ids(&r), vec![b.clone()]);
    let (_, r) = app.get(&q(""), &c.responsible.access).await;
    assert_eq!(set(ids(&r)), expect(&[&late, &soon, &later]));
    let (status, problem) = app
        .get(&q(&format!("place_id={}", p.village_a)), &c.worker_b.access)
        .await;
    assert_problem(status, &problem, 404, "not_found");

    // Bad filters are 400s.
    for bad in [
        "state=lost",
        "overdue=maybe",
        "limit=x",
        "cursor=garbage",
        "created_from=yesterday",
        "colour=red",
    ] {
        let (status, problem) = app.get(&q(bad), &sup).await;
        assert_problem(status, &problem, 400, "invalid_query");
    }
}

#[tokio::test]
async fn keyset_pages_cover_everything_once() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let mut made = Vec::new();
    for i in 0..7 {
        made.push(
            app.report(&c.worker_a, &c.places.village_a, &format!("问题{i}"))
                .await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cur) => format!("/api/v1/issues?limit=3&cursor={cur}"),
            None => "/api/v1/issues?limit=3".into(),
        };
        let (status, page) = app.get(&path, &c.supervisor.access).await;
        assert_eq!(status, StatusCode::OK);
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    made.reverse();
    assert_eq!(seen, made);
}

#[test]
fn escalation_steps_up_the_ladder_once_even_with_two_schedulers_at_once() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (app, id) = rt.block_on(async {
        let app = TestApp::spawn_with(|s| s.ledger.escalation_interval_secs = 0).await;
        let c = app.cast().await;
        let id = assigned(&app, &c, &c.places.village_a, "污水横流", 5).await;
        (app, id)
    });
    // Eight days late: past 催办 (1 day) and 通报 (7 days), not yet 约谈 (15).
    set_deadline(&app, &id, deadline(-8));
    let policy = EscalationPolicy::new(vec![1, 7, 15, 30]).unwrap();
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let (db, policy) = (app.db(), policy.clone());
            std::thread::spawn(move || {
                escalation::run_once(&mut db.get().unwrap(), &policy, Clock::system(8)).unwrap()
            })
        })
        .collect();
    let steps: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(steps, 2, "two steps in all, whichever scheduler took them");
    assert_eq!(
        escalation::run_once(&mut app.db().get().unwrap(), &policy, Clock::system(8)).unwrap(),
        0
    );
    let events: Vec<(String, String)> = issue_events::table
        .filter(issue_events::issue_id.eq(&id))
        .filter(issue_events::action.eq("escalate"))
        .select((issue_events::actor_role, issue_events::data))
        .order(issue_events::seq)
        .load(&mut *app.db().get().unwrap())
        .unwrap();
    assert_eq!(events.len(), 2);
    assert!(
        events[0].1.contains("催办") && events[1].1.contains("通报"),
        "{events:?}"
    );
    assert_eq!(events[0].0, "system");
    // Twenty more days: 约谈.
    set_deadline(&app, &id, deadline(-20));
    assert_eq!(
        escalation::run_once(&mut app.db().get().unwrap(), &policy, Clock::system(8)).unwrap(),
        1
    );
    drop(rt);
}

#[tokio::test]
async fn the_scheduler_inside_the_server_escalates_overdue_issues() {
    let app = TestApp::spawn_with(|s| s.ledger.escalation_interval_secs = 1).await;
    let c = app.cast().await;
    let id = assigned(&app, &c, &c.places.village_a, "柴草堆占道", 5).await;
    set_deadline(&app, &id, deadline(-2));
    let mut level = json!(0);
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let (_, issue) = app
            .get(&format!("/api/v1/issues/{id}"), &c.supervisor.access)
            .await;
        level = issue["escalation_level"].clone();
        if level == 1 {
            let last = issue["history"].as_array().unwrap().last().unwrap().clone();
            assert_eq!(last["action"], "escalate");
            assert_eq!(last["data"]["name_zh"], "催办");
            assert_eq!(last["data"]["days_overdue"], 2);
            return;
        }
    }
    panic!("not escalated within 5 s (level {level})");
}

#[tokio::test]
async fn two_servers_on_one_database_hand_out_unique_gap_free_ledger_numbers() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let replica = app.replica();
    let mut requests = Vec::new();
    for i in 0..40 {
        let base = if i % 2 == 0 {
            app.base.clone()
        } else {
            replica.base.clone()
        };
        let client = app.client.clone();
        let token = c.worker_a.access.clone();
        let place = c.places.village_a.clone();
        requests.push(tokio::spawn(async move {
            let res = client
                .post(format!("{base}/api/v1/issues"))
                .bearer_auth(token)
                .json(&json!({"title": format!("并发{i}"), "category": "other", "source": "grid_patrol", "place_id": place}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::CREATED);
            res.json::<Value>().await.unwrap()["ledger_no"].as_str().unwrap().to_owned()
        }));
    }
    let mut numbers = Vec::new();
    for r in requests {
        numbers.push(r.await.unwrap());
    }
    let mut seqs: Vec<u32> = numbers
        .iter()
        .map(|n| n.split_once('-').unwrap().1.parse().unwrap())
        .collect();
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (1..=40).collect::<Vec<_>>(),
        "unique and gap-free: {numbers:?}"
    );
}

#[tokio::test]
async fn the_history_cannot_be_rewritten_even_from_inside_the_database() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let id = app
        .report(&c.worker_a, &c.places.village_a, "门前三包不落实")
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let db = app.db();
    let mut conn = db.get().unwrap();
    let update = diesel::update(issue_events::table.filter(issue_events::issue_id.eq(&id)))
        .set(issue_events::comment.eq("篡改"))
        .execute(&mut *conn);
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = diesel::delete(issue_events::table.filter(issue_events::issue_id.eq(&id)))
        .execute(&mut *conn);
    assert!(delete.unwrap_err().to_string().contains("append-only"));
    let (_, issue) = app
        .get(&format!("/api/v1/issues/{id}"), &c.supervisor.access)
        .await;
    assert!(issue["history"][0]["comment"].is_null());
}
