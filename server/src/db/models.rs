//! Rows as stored. Domain code turns them into richer types (levels, roles) at its edge.

use super::schema::{org_units, refresh_tokens, role_assignments, users};
use crate::ids::{OrgUnitId, RefreshTokenId, RoleAssignmentId, TokenFamilyId, UserId};
use chrono::NaiveDateTime;
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
