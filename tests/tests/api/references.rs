//! References between the ledger's rows hold inside the database, whatever writes them: a row
//! naming something that does not exist is refused with nothing of its statement written, and
//! what issues, their history and sync records point at can be neither deleted nor re-keyed.
//! SQLite does this with foreign keys; PostgreSQL with set-wise checks on the rows a push writes
//! in bulk (migration 000007) and foreign keys elsewhere. Both must refuse the same things.

use crate::sync::{create, mutation, push};
use closeout::db::models::{IssueEventRow, IssueRow, SyncMutationRow};
use closeout::db::schema::{devices, issue_categories, issues, org_units, users};
use closeout::db::{self, DbConnection, write_transaction};
use closeout::ids::{DeviceId, IssueEventId, IssueId, OrgUnitId, UserId};
use closeout_tests::{Cast, TestApp};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error};

fn refused_as_dangling<T: std::fmt::Debug>(result: QueryResult<T>, what: &str) {
    match result {
        Err(Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _)) => {}
        other => panic!("{what}: expected a foreign-key violation, got {other:?}"),
    }
}

fn issue_count(conn: &mut DbConnection) -> i64 {
    issues::table.count().get_result(conn).unwrap()
}

/// An issue reported from a phone (so its device has a sync record) in a new grid of village A (so
/// nothing but the issue refers to that place): its row and first event, as templates for rows
/// written directly.
async fn reported(app: &TestApp, c: &Cast) -> (IssueRow, IssueEventRow) {
    let grid = app
        .add_place(
            "130102-g-ref",
            "第三网格",
            "grid",
            Some(&c.places.village_a),
        )
        .await;
    let uuid = uuid::Uuid::now_v7();
    let body = create(&uuid.to_string(), &grid, "占道经营");
    let pushed = push(app, &c.worker_a, vec![mutation(1, body)]).await;
    assert_eq!(pushed["results"][0]["status"], "applied", "{pushed}");
    let id = IssueId::from(uuid);
    let mut conn = app.db().get().unwrap();
    let row = db::issues::find(&mut conn, &id).unwrap().unwrap();
    let event = db::issues::events_of(&mut conn, &id).unwrap().remove(0);
    (row, event)
}

/// A copy of `row` as a new issue with its own id and ledger number.
fn another(row: &IssueRow, n: usize) -> IssueRow {
    IssueRow {
        id: IssueId::generate(),
        ledger_no: format!("2099-{n:07}"),
        ..row.clone()
    }
}

#[tokio::test]
async fn a_batch_with_one_dangling_reference_is_refused_whole() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let (row, event) = reported(&app, &c).await;
    let db = app.db();
    let mut conn = db.get().unwrap();
    let before = issue_count(&mut conn);
    let nowhere = OrgUnitId::generate();
    let nobody = UserId::generate();

    // Each reference a new issue always carries, broken in the last row of a batch of three.
    type Break = fn(&mut IssueRow, &OrgUnitId, &UserId);
    let breaks: [(&str, Break); 4] = [
        ("place", |r, p, _| r.place_id = p.clone()),
        ("ledger scope", |r, p, _| r.ledger_scope_id = p.clone()),
        ("category", |r, _, _| r.category = "no_such_category".into()),
        ("reporter", |r, _, u| r.reporter_id = Some(u.clone())),
    ];
    for (what, break_it) in breaks {
        let mut rows: Vec<IssueRow> = (0..3).map(|n| another(&row, n)).collect();
        break_it(&mut rows[2], &nowhere, &nobody);
        let written =
            write_transaction(&mut conn, |conn| db::issues::insert_many(conn, &rows, &[]));
        refused_as_dangling(written, what);
        assert_eq!(
            issue_count(&mut conn),
            before,
            "{what}: nothing of the batch stays"
        );
    }

    // The same rows, unbroken, are accepted: the refusals above were about the references.
    let rows: Vec<IssueRow> = (0..3).map(|n| another(&row, n)).collect();
    write_transaction(&mut conn, |conn| db::issues::insert_many(conn, &rows, &[])).unwrap();
    assert_eq!(issue_count(&mut conn), before + 3);

    // A history event of an issue that does not exist, or by a user who does not.
    for (what, event) in [
        (
            "event's issue",
            IssueEventRow {
                id: IssueEventId::generate(),
                issue_id: IssueId::generate(),
                ..event.clone()
            },
        ),
        (
            "event's actor",
            IssueEventRow {
                id: IssueEventId::generate(),
                seq: 99,
                actor_id: Some(nobody.clone()),
                ..event.clone()
            },
        ),
    ] {
        refused_as_dangling(db::issues::insert_event(&mut conn, &event), what);
    }

    // A sync record of a device that was never registered.
    let record = SyncMutationRow {
        id: uuid::Uuid::now_v7().to_string(),
        device_id: DeviceId::generate(),
        seq: 1,
        kind: "create_issue".into(),
        status: "applied".into(),
        result: "{}".into(),
        device_time: row.created_at,
        received_at: row.created_at,
    };
    refused_as_dangling(
        db::sync::insert_mutations(&mut conn, &[record]),
        "mutation's device",
    );

    // An issue edited to point at a place that does not exist.
    refused_as_dangling(
        diesel::update(issues::table.find(&row.id))
            .set(issues::place_id.eq(&nowhere))
            .execute(&mut conn),
        "edited place",
    );
}

#[tokio::test]
async fn what_issues_and_sync_records_point_at_is_neither_deleted_nor_rekeyed() {
    let app = TestApp::spawn().await;
    let c = app.cast().await;
    let (row, _) = reported(&app, &c).await;
    let db = app.db();
    let mut conn = db.get().unwrap();
    let reporter = row.reporter_id.clone().unwrap();
    let device: String = devices::table
        .filter(devices::user_id.eq(&reporter))
        .select(devices::id)
        .first(&mut conn)
        .unwrap();
    let new_key = uuid::Uuid::now_v7().to_string();

    refused_as_dangling(
        diesel::delete(org_units::table.find(&row.place_id)).execute(&mut conn),
        "delete place",
    );
    refused_as_dangling(
        diesel::update(org_units::table.find(&row.place_id))
            .set(org_units::id.eq(&new_key))
            .execute(&mut conn),
        "re-key place",
    );
    refused_as_dangling(
        diesel::delete(users::table.find(&reporter)).execute(&mut conn),
        "delete reporter",
    );
    refused_as_dangling(
        diesel::update(users::table.find(&reporter))
            .set(users::id.eq(&new_key))
            .execute(&mut conn),
        "re-key reporter",
    );
    refused_as_dangling(
        diesel::delete(issue_categories::table.find(&row.category)).execute(&mut conn),
        "delete category",
    );
    refused_as_dangling(
        diesel::delete(issues::table.find(&row.id)).execute(&mut conn),
        "delete issue",
    );
    refused_as_dangling(
        diesel::delete(devices::table.find(&device)).execute(&mut conn),
        "delete device",
    );

    // Still all there, under the same keys.
    assert!(db::issues::find(&mut conn, &row.id).unwrap().is_some());
    assert!(
        db::org_units::find(&mut conn, &row.place_id)
            .unwrap()
            .is_some()
    );
    assert!(db::users::find(&mut conn, &reporter).unwrap().is_some());
}
