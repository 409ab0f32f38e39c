//! Queries on `place_changes`: what happened to places after they were made (renamed, retired).

use super::connection::DbConnection;
use super::schema::place_changes;
use crate::ids::{OrgUnitId, UserId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = place_changes)]
pub struct PlaceChangeRow {
    pub id: String,
    pub org_unit_id: OrgUnitId,
    /// `rename`, `retire`, `move`, `merge` (on the merged place) or `absorb` (on the survivor).
    pub kind: String,
    /// JSON: `{from, to}` for a rename or a move (names, parent ids), `{reason, merged_into?}` for
    /// a retirement, `{into, …counts}` / `{from}` for a merge.
    pub data: String,
    pub actor_id: Option<UserId>,
    pub created_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, row: &PlaceChangeRow) -> QueryResult<()> {
    diesel::insert_into(place_changes::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// The first of `places` that has been retired, if any.
pub fn retired_among(
    conn: &mut DbConnection,
    places: &[OrgUnitId],
) -> QueryResult<Option<OrgUnitId>> {
    place_changes::table
        .filter(place_changes::org_unit_id.eq_any(places))
        .filter(place_changes::kind.eq("retire"))
        .select(place_changes::org_unit_id)
        .first(conn)
        .optional()
}

/// A place's changes, oldest first.
pub fn of_place(conn: &mut DbConnection, place: &OrgUnitId) -> QueryResult<Vec<PlaceChangeRow>> {
    place_changes::table
        .filter(place_changes::org_unit_id.eq(place))
        .select(PlaceChangeRow::as_select())
        .order((place_changes::created_at, place_changes::id))
        .load(conn)
}

/// The `retire` entries of any of `places` (one query for a list of places).
pub fn retirements_among(
    conn: &mut DbConnection,
    places: &[OrgUnitId],
) -> QueryResult<Vec<PlaceChangeRow>> {
    place_changes::table
        .filter(place_changes::org_unit_id.eq_any(places))
        .filter(place_changes::kind.eq("retire"))
        .select(PlaceChangeRow::as_select())
        .load(conn)
}
