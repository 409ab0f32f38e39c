//! Pull cursors that cannot be continued: another feed epoch (a restore), a position beyond the
//! feed, a cursor from before epochs — each answered `reset: true`, never a silent empty page —
//! and bad cursors and limits, answered 400 on pull and on every list.

use super::*;
use closeout_tests::assert_problem;

/// The cursor's parts: `2.{epoch}.{seq}.{scope}`.
fn parts(cursor: &str) -> (String, i64, String) {
    let p: Vec<&str> = cursor.split('.').collect();
    assert_eq!((p.len(), p[0]), (4, "2"), "{cursor}");
    (p[1].to_owned(), p[2].parse().unwrap(), p[3].to_owned())
}

async fn pull_once(app: &TestApp, user: &TestUser, cursor: &str) -> Value {
    let (status, page) = app
        .get(&format!("/api/v1/sync/pull?cursor={cursor}"), &user.access)
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page
}

#[tokio::test]
async fn a_cursor_ahead_of_the_feed_or_from_another_epoch_starts_the_phone_over() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    app.report(&c.worker_a, &c.places.village_a, "一").await;
    let (seen, cursor, reset) = pull_all(&app, &c.worker_a, None).await;
    assert_eq!((seen.len(), reset), (1, false));
    let (epoch, seq, scope) = parts(&cursor);

    // Up to date: nothing new, no reset.
    let page = pull_once(&app, &c.worker_a, &cursor).await;
    assert_eq!(
        (page["changes"].clone(), page["reset"].clone()),
        (json!([]), json!(false))
    );

    // A position the feed never reached (the database was restored from an older backup): the
    // phone is told to start over and gets everything, including what came after the restore.
    app.report(&c.worker_a, &c.places.village_a, "二").await;
    let ahead = format!("2.{epoch}.{}.{scope}", seq + 50);
    let page = pull_once(&app, &c.worker_a, &ahead).await;
    assert_eq!(page["reset"], true, "{page}");
    let (seen, _, reset) = pull_all(&app, &c.worker_a, Some(ahead)).await;
    assert_eq!((seen.len(), reset), (2, true));

    // A restore renews the epoch: every cursor handed out before is reset, even one whose
    // position the restored feed has reached again.
    let renewed = closeout::db::changes::renew_epoch(&mut app.db().get().unwrap()).unwrap();
    assert_ne!(renewed, epoch);
    let page = pull_once(&app, &c.worker_a, &cursor).await;
    assert_eq!(page["reset"], true, "{page}");
    let (fresh, _, _) = parts(page["cursor"].as_str().unwrap());
    assert_eq!(fresh, renewed);

    // A cursor of the format before epochs cannot be placed: reset.
    let page = pull_once(&app, &c.worker_a, &format!("1.{seq}.{scope}")).await;
    assert_eq!(page["reset"], true, "{page}");
    // The reset cursor itself continues normally.
    let (_, next, reset) = pull_all(&app, &c.worker_a, None).await;
    assert!(!reset);
    let page = pull_once(&app, &c.worker_a, &next).await;
    assert_eq!(page["reset"], false, "{page}");
}

#[tokio::test]
async fn bad_cursors_and_limits_out_of_range_are_refused_not_clamped() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    app.report(&c.worker_a, &c.places.village_a, "一").await;
    let (_, cursor, _) = pull_all(&app, &c.worker_a, None).await;
    let (epoch, seq, scope) = parts(&cursor);
    for bad in [
        "nonsense".to_owned(),
        format!("2.{epoch}.-1.{scope}"),
        format!("2.{epoch}.+{seq}.{scope}"),
        format!("2.{epoch}.99999999999999999999.{scope}"),
        format!("2.not-hex.{seq}.{scope}"),
        format!("2.{epoch}.{seq}"),
        format!("1.-3.{scope}"),
    ] {
        let (status, problem) = app
            .get(
                &format!("/api/v1/sync/pull?cursor={bad}"),
                &c.worker_a.access,
            )
            .await;
        assert_problem(status, &problem, 400, "invalid_query");
        assert!(
            problem["detail"].as_str().unwrap().contains("cursor"),
            "{problem}"
        );
    }
    let sup = &c.supervisor.access;
    let admin = &app.admin.access;
    for (path, token, max) in [
        ("/api/v1/sync/pull", sup, 10_000),
        ("/api/v1/issues", sup, 200),
        ("/api/v1/inspections", sup, 200),
        ("/api/v1/org-units", sup, 5_000),
        ("/api/v1/users", admin, 500),
        ("/api/v1/sync/conflicts", sup, 1_000),
    ] {
        for limit in [-1, 0, max + 1, 100_000_000] {
            let (status, problem) = app.get(&format!("{path}?limit={limit}"), token).await;
            assert_problem(status, &problem, 400, "invalid_query");
            let detail = problem["detail"].as_str().unwrap();
            assert!(detail.contains(&format!("1 to {max}")), "{path}: {detail}");
        }
        let (status, body) = app.get(&format!("{path}?limit={max}"), token).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
}
