//! The change feed phones pull from. Every write to a synced entity appends an entry in the same
//! transaction; the sequence comes from one counter row whose lock is held until commit, so entries
//! become visible in sequence order and a pull cursor never passes over a slower transaction.

use super::connection::{DbBackend, DbConnection};
use super::issues::subtree_bounds;
use super::models::{ChangeRow, FeedEntry, IssueRow};
use super::schema::{change_counter, change_feed, feed_epoch};
use diesel::prelude::*;

/// Appends an entry for an issue written in this transaction. `previous_unit_path`: the unit it
/// was assigned to before, when that changed (its people must be told it left them).
pub fn record_issue(
    conn: &mut DbConnection,
    issue: &IssueRow,
    previous_unit_path: Option<&str>,
) -> QueryResult<i64> {
    let seq = reserve(conn, 1)?;
    let previous =
        previous_unit_path.filter(|p| Some(*p) != issue.responsible_unit_path.as_deref());
    diesel::insert_into(change_feed::table)
        .values(&issue_change(issue, seq, previous))
        .execute(conn)?;
    Ok(seq)
}

/// The feed entry of an issue written as change `seq`.
fn issue_change(issue: &IssueRow, seq: i64, previous_unit_path: Option<&str>) -> ChangeRow {
    ChangeRow {
        seq,
        entity: "issue".into(),
        entity_id: issue.id.to_string(),
        place_path: issue.place_path.clone(),
        unit_path: issue.responsible_unit_path.clone(),
        previous_unit_path: previous_unit_path.map(str::to_owned),
        changed_at: issue.updated_at,
    }
}

/// Takes `count` sequence numbers and returns the last (the first is `last - count + 1`). The
/// counter row stays locked until the transaction ends.
pub fn reserve(conn: &mut DbConnection, count: i64) -> QueryResult<i64> {
    diesel::update(change_counter::table.find(1))
        .set(change_counter::value.eq(change_counter::value + count))
        .returning(change_counter::value)
        .get_result(conn)
}

/// Takes the counter row's lock (PostgreSQL) without changing it: the first lock of every write
/// transaction (`write_transaction`), held until it ends.
pub fn lock_feed(conn: &mut DbConnection) -> QueryResult<()> {
    diesel::sql_query("SELECT value FROM change_counter WHERE id = 1 FOR UPDATE")
        .execute(conn)
        .map(|_| ())
}

/// Appends entries for issues inserted in this transaction (new: no unit they left), in order.
pub fn record_new_issues(conn: &mut DbConnection, issues: &[IssueRow]) -> QueryResult<()> {
    if issues.is_empty() {
        return Ok(());
    }
    let last = reserve(conn, issues.len() as i64)?;
    let first = last - issues.len() as i64 + 1;
    let rows: Vec<ChangeRow> = issues
        .iter()
        .zip(first..)
        .map(|(issue, seq)| issue_change(issue, seq, None))
        .collect();
    super::insert_rows!(conn, change_feed::table, rows)?;
    Ok(())
}

/// Entries after `after` for places in `places` or units in `units` (including the unit an issue
/// left), in sequence order.
pub fn page(
    conn: &mut DbConnection,
    after: i64,
    places: &[String],
    units: &[String],
    limit: i64,
) -> QueryResult<Vec<FeedEntry>> {
    if places.is_empty() && units.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = change_feed::table
        .select(FeedEntry::as_select())
        .into_boxed::<DbBackend>()
        .filter(change_feed::seq.ne(change_feed::seq));
    for prefix in places {
        let (lo, hi) = subtree_bounds(prefix);
        q = q.or_filter(
            change_feed::place_path
                .ge(lo)
                .and(change_feed::place_path.lt(hi)),
        );
    }
    for prefix in units {
        let (lo, hi) = subtree_bounds(prefix);
        q = q
            .or_filter(
                change_feed::unit_path
                    .ge(lo.clone())
                    .and(change_feed::unit_path.lt(hi.clone())),
            )
            .or_filter(
                change_feed::previous_unit_path
                    .ge(lo)
                    .and(change_feed::previous_unit_path.lt(hi)),
            );
    }
    q.filter(change_feed::seq.gt(after))
        .order(change_feed::seq)
        .limit(limit)
        .load(conn)
}

/// The newest sequence number (a cursor for "everything so far").
pub fn latest(conn: &mut DbConnection) -> QueryResult<i64> {
    change_counter::table
        .find(1)
        .select(change_counter::value)
        .first(conn)
}

/// Appends an entry for an entity other than an issue (an inspection) written in this
/// transaction: seen by whoever sees `place_path`.
pub fn record(
    conn: &mut DbConnection,
    entity: &str,
    entity_id: &str,
    place_path: &str,
    changed_at: chrono::NaiveDateTime,
) -> QueryResult<i64> {
    let seq: i64 = diesel::update(change_counter::table.find(1))
        .set(change_counter::value.eq(change_counter::value + 1))
        .returning(change_counter::value)
        .get_result(conn)?;
    diesel::insert_into(change_feed::table)
        .values(&ChangeRow {
            seq,
            entity: entity.into(),
            entity_id: entity_id.into(),
            place_path: place_path.into(),
            unit_path: None,
            previous_unit_path: None,
            changed_at: changed_at.into(),
        })
        .execute(conn)?;
    Ok(seq)
}

/// The feed's epoch: a random id made with the database. Every pull cursor carries it, so a cursor
/// from another database — or from this one before a restore — is recognised and reset.
pub fn epoch(conn: &mut DbConnection) -> QueryResult<String> {
    feed_epoch::table
        .find(1)
        .select(feed_epoch::epoch)
        .first(conn)
}

/// Makes the feed's epoch anew and returns it: every pull cursor handed out before gets
/// `reset: true` on its next pull. A restore must call this on the restored database — a backup
/// carries the epoch of the database it was copied from, whose later cursors the phones still
/// hold, while the restored feed starts again from an older, lower position.
pub fn renew_epoch(conn: &mut DbConnection) -> QueryResult<String> {
    let epoch = uuid::Uuid::new_v4().simple().to_string();
    diesel::update(feed_epoch::table.find(1))
        .set(feed_epoch::epoch.eq(&epoch))
        .execute(conn)?;
    Ok(epoch)
}
