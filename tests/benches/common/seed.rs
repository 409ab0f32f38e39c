//! The ledger both list benchmarks seed: issues spread over villages, states and categories, with
//! deadlines from 30 days past to 30 days ahead, written straight into the database.

use chrono::{Duration, Utc};
use closeout::db::models::{IssueEventRow, IssueRow};
use closeout::db::{DbConnection, issues, write_transaction};
use closeout::ids::{IssueEventId, IssueId, OrgUnitId};

const STATES: [&str; 5] = ["reported", "assigned", "rectifying", "submitted", "closed"];
const CATEGORIES: [&str; 6] = [
    "three_piles",
    "illegal_structure",
    "straw_burning",
    "street_occupation",
    "road",
    "other",
];

pub struct Place {
    pub id: String,
    pub path: String,
}

pub fn seed(conn: &mut DbConnection, villages: &[Place], scope: &str, start: usize, count: usize) {
    let now = Utc::now().naive_utc();
    let today = now.date();
    for chunk in (start..start + count).collect::<Vec<_>>().chunks(5000) {
        write_transaction(conn, |conn| -> Result<(), diesel::result::Error> {
            for &n in chunk {
                let v = &villages[n % villages.len()];
                let state = STATES[n % STATES.len()];
                let created = now - Duration::seconds((n as i64 * 317) % (365 * 86400));
                let id = IssueId::generate();
                let row = IssueRow {
                    id: id.clone(),
                    ledger_scope_id: OrgUnitId::from(uuid::Uuid::parse_str(scope).unwrap()),
                    ledger_no: format!("2026-{:07}", n + 1),
                    title: format!("问题{n} 村口垃圾堆放"),
                    description: "群众反映，现场核实".into(),
                    category: CATEGORIES[n % CATEGORIES.len()].into(),
                    severity: "minor".into(),
                    source: "grid_patrol".into(),
                    place_id: OrgUnitId::from(uuid::Uuid::parse_str(&v.id).unwrap()),
                    place_path: v.path.clone(),
                    lat: Some(38.0),
                    lon: Some(114.5),
                    accuracy_m: Some(10.0),
                    address: None,
                    reporter_id: None,
                    responsible_unit_id: None,
                    responsible_unit_path: None,
                    responsible_user_id: None,
                    target: None,
                    deadline: (state != "reported")
                        .then(|| today + Duration::days((n % 61) as i64 - 30)),
                    extension_deadline: None,
                    extension_reason: None,
                    escalation_level: 0,
                    reopen_count: 0,
                    state: state.into(),
                    duplicate_of: None,
                    version: 1,
                    assigned_at: None,
                    closed_at: (state == "closed").then_some(created.into()),
                    created_at: created.into(),
                    updated_at: created.into(),
                    progress_on: None,
                };
                issues::insert(conn, &row)?;
                issues::insert_event(
                    conn,
                    &IssueEventRow {
                        id: IssueEventId::generate(),
                        issue_id: id,
                        seq: 1,
                        action: "report".into(),
                        from_state: None,
                        to_state: state.into(),
                        actor_id: None,
                        actor_role: "grid_worker".into(),
                        device_time: None,
                        server_time: created.into(),
                        lat: None,
                        lon: None,
                        accuracy_m: None,
                        comment: None,
                        photos: "[]".into(),
                        data: "{}".into(),
                    },
                )?;
            }
            Ok(())
        })
        .unwrap();
    }
}
