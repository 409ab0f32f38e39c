//! The copy of the issues' figures each server keeps for statistics (db::issue_figures): brought
//! up to date from the change feed, and read whole after a restore or a place move. Each check
//! compares the copy with one read afresh from the database, so a write the copy misses fails.

use closeout::db::issue_figures::{FigureRow, FigureStore, Refresh};
use closeout::db::{DbConnection, changes};
use closeout_tests::TestApp;
use serde_json::json;

fn rows(store: &FigureStore, conn: &mut DbConnection) -> (Vec<FigureRow>, Refresh) {
    let (mut rows, refresh) = store.read(conn, |rows| rows.to_vec()).unwrap();
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    (rows, refresh)
}

/// The copy as a new store reads it now.
fn afresh(conn: &mut DbConnection) -> Vec<FigureRow> {
    let (rows, refresh) = rows(&FigureStore::new(), conn);
    assert_eq!(refresh, Refresh::ReadWhole);
    rows
}

fn find<'a>(rows: &'a [FigureRow], id: &str) -> &'a FigureRow {
    rows.iter().find(|r| r.id.as_str() == id).unwrap()
}

#[tokio::test]
async fn the_figure_store_follows_the_feed_and_reads_whole_after_a_restore_or_a_move() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let p = &c.places;
    let first = app.report(&c.worker_a, &p.village_a, "村口垃圾").await;
    let first = first["id"].as_str().unwrap().to_owned();
    let db = app.db();
    let mut conn = db.get().unwrap();
    let store = FigureStore::new();

    let (before, how) = rows(&store, &mut conn);
    assert_eq!(how, Refresh::ReadWhole);
    assert_eq!(before, afresh(&mut conn));
    let (again, how) = rows(&store, &mut conn);
    assert_eq!((how, &again), (Refresh::UpToDate, &before));

    // Writes through the API: an assignment (state, deadline, unit), a new report, a push of
    // two reports from a phone, a rejection.
    let deadline = (chrono::Utc::now() + chrono::Duration::days(9)).date_naive();
    let (status, body) = app
        .act(
            &c.supervisor,
            &first,
            json!({"action": "assign", "responsible_unit_id": c.bureau,
                   "responsible_user_id": c.responsible.id, "target": "清理", "deadline": deadline}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let second = app.report(&c.worker_b, &p.village_b, "占道经营").await;
    let second = second["id"].as_str().unwrap().to_owned();
    let third = app.report(&c.worker_a, &p.village_a, "重复上报").await;
    let third = third["id"].as_str().unwrap().to_owned();
    let (status, body) = app
        .act(
            &c.supervisor,
            &third,
            json!({"action": "reject", "reason": "重复上报"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let (after, how) = rows(&store, &mut conn);
    assert_eq!(how, Refresh::Reloaded(3), "three issues were written");
    assert_eq!(after, afresh(&mut conn));
    assert_eq!(&*find(&after, &first).state, "assigned");
    assert_eq!(find(&after, &first).deadline, Some(deadline));
    assert!(find(&after, &first).responsible_unit_path.is_some());
    assert_eq!(&*find(&after, &second).state, "reported");
    assert_eq!(&*find(&after, &third).state, "rejected");
    assert_ne!(after, before);

    // A restore renews the feed's epoch: the copy is read whole.
    changes::renew_epoch(&mut conn).unwrap();
    let (_, how) = rows(&store, &mut conn);
    assert_eq!(how, Refresh::ReadWhole);

    // A move rewrites unit paths without feed entries: read whole, and the paths are the new ones.
    let town2 = app
        .add_place("130102002", "二号镇", "township", Some(&p.county))
        .await;
    let (status, body) = app
        .post(
            &format!("/api/v1/org-units/{}/move", p.village_a),
            &app.admin.access,
            json!({"parent_id": town2, "reason": "区划调整"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (moved, how) = rows(&store, &mut conn);
    assert_eq!(how, Refresh::ReadWhole);
    assert_eq!(moved, afresh(&mut conn));
    assert!(find(&moved, &first).place_path.contains(&town2));
}
