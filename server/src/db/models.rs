//! Rows as stored. Domain code turns them into richer types (levels, roles) at its edge.

use super::schema::{
    change_feed, devices, issue_categories, issue_events, issues, org_units, refresh_tokens,
    role_assignments, sync_conflicts, sync_mutations, users,
};
use super::stamp::Stamp;
use crate::ids::{
    ConflictId, DeviceId, IssueEventId, IssueId, OrgUnitId, RefreshTokenId, RoleAssignmentId,
    TokenFamilyId, UserId,
};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = org_units)]
pub struct OrgUnitRow {
    pub id: OrgUnitId,
    pub code: Option<String>,
    pub name: String,
    pub level: String,
    pub parent_id: Option<OrgUnitId>,
    pub path: String,
    pub depth: i32,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub phone: Option<String>,
    pub password_hash: String,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = role_assignments)]
pub struct RoleAssignmentRow {
    pub id: RoleAssignmentId,
    pub user_id: UserId,
    pub role: String,
    pub org_unit_id: Option<OrgUnitId>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshTokenRow {
    pub id: RefreshTokenId,
    pub family_id: TokenFamilyId,
    pub user_id: UserId,
    pub device_id: String,
    pub token_hash: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub rotated_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    pub revoked_reason: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = issue_categories)]
pub struct CategoryRow {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub parent_code: Option<String>,
    pub sort_order: i32,
    pub active: bool,
}

/// An issue as stored. Mutable columns change only together with a new history event and a
/// version bump (see `db::issues::update_if_version`).
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = issues, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct IssueRow {
    pub id: IssueId,
    pub ledger_scope_id: OrgUnitId,
    pub ledger_no: String,
    pub title: String,
    pub description: String,
    pub category: String,
    pub severity: String,
    pub source: String,
    pub place_id: OrgUnitId,
    pub place_path: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub accuracy_m: Option<f64>,
    pub address: Option<String>,
    pub reporter_id: Option<UserId>,
    pub responsible_unit_id: Option<OrgUnitId>,
    pub responsible_unit_path: Option<String>,
    pub responsible_user_id: Option<UserId>,
    pub target: Option<String>,
    pub deadline: Option<NaiveDate>,
    pub extension_deadline: Option<NaiveDate>,
    pub extension_reason: Option<String>,
    pub escalation_level: i32,
    pub reopen_count: i32,
    pub state: String,
    pub duplicate_of: Option<IssueId>,
    pub version: i32,
    pub assigned_at: Option<Stamp>,
    pub closed_at: Option<Stamp>,
    pub created_at: Stamp,
    pub updated_at: Stamp,
    /// The office day the progress clock last started (签收, 续报, 退回): see the lights.
    pub progress_on: Option<NaiveDate>,
}

/// One step of an issue's history. Insert-only: the database refuses updates and deletes.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = issue_events, treat_none_as_default_value = false)]
pub struct IssueEventRow {
    pub id: IssueEventId,
    pub issue_id: IssueId,
    pub seq: i32,
    pub action: String,
    pub from_state: Option<String>,
    pub to_state: String,
    pub actor_id: Option<UserId>,
    pub actor_role: String,
    pub device_time: Option<Stamp>,
    pub server_time: Stamp,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub accuracy_m: Option<f64>,
    pub comment: Option<String>,
    pub photos: String,
    pub data: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = devices)]
pub struct DeviceRow {
    pub id: DeviceId,
    pub user_id: UserId,
    pub device_key: String,
    pub registered_at: NaiveDateTime,
    pub last_seen_at: Option<NaiveDateTime>,
    pub last_seq: i64,
    pub clock_skew_ms: Option<i64>,
    pub revoked_at: Option<NaiveDateTime>,
    /// When the database was restored from a backup, until the device's next push rebases it.
    pub restored_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sync_mutations, treat_none_as_default_value = false)]
pub struct SyncMutationRow {
    pub id: String,
    pub device_id: DeviceId,
    pub seq: i64,
    pub kind: String,
    pub status: String,
    pub result: String,
    pub device_time: Stamp,
    pub received_at: Stamp,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sync_conflicts)]
pub struct ConflictRow {
    pub id: ConflictId,
    pub issue_id: IssueId,
    pub place_path: String,
    pub mutation_id: String,
    pub device_id: DeviceId,
    pub user_id: UserId,
    pub kind: String,
    pub field: Option<String>,
    pub incoming: String,
    pub current_value: String,
    pub created_at: NaiveDateTime,
    pub resolved_at: Option<NaiveDateTime>,
    pub resolved_by: Option<UserId>,
    pub resolution: Option<String>,
    pub resolution_comment: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = change_feed, treat_none_as_default_value = false)]
pub struct ChangeRow {
    pub seq: i64,
    pub entity: String,
    pub entity_id: String,
    pub place_path: String,
    pub unit_path: Option<String>,
    pub previous_unit_path: Option<String>,
    pub changed_at: Stamp,
}

/// What a pull reads of a change-feed entry: which entity changed, and when in the feed. (The
/// paths only select entries; reading them back would be most of a page's bytes.)
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = change_feed)]
pub struct FeedEntry {
    pub seq: i64,
    pub entity: String,
    pub entity_id: String,
}

impl IssueEventRow {
    /// A step with a fresh id and nothing optional set (no device time, place, comment, photos or
    /// data); callers set what their step has with struct-update syntax.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        issue_id: &IssueId,
        seq: i32,
        action: &str,
        from_state: Option<&str>,
        to_state: &str,
        actor_id: Option<&UserId>,
        actor_role: &str,
        server_time: NaiveDateTime,
    ) -> Self {
        Self {
            id: IssueEventId::generate(),
            issue_id: issue_id.clone(),
            seq,
            action: action.to_owned(),
            from_state: from_state.map(str::to_owned),
            to_state: to_state.to_owned(),
            actor_id: actor_id.cloned(),
            actor_role: actor_role.to_owned(),
            device_time: None,
            server_time: server_time.into(),
            lat: None,
            lon: None,
            accuracy_m: None,
            comment: None,
            photos: "[]".to_owned(),
            data: "{}".to_owned(),
        }
    }
}
