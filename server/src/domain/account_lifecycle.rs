//! An account's life after it is created: disabling and enabling it, granting, revoking and moving
//! its roles, and an administrator setting a new password.
//!
//! `actor` None is the operator at the console (CLI), trusted; otherwise the actor must be an
//! admin of every place where the account holds a role (a system admin for an account with no
//! role or with a system-wide role), and of every place a role is granted on, revoked from or
//! moved to. An account outside the actor's places answers 404, as if it did not exist.
//!
//! Disabling ends every session of the account at once: its refresh tokens are revoked, which
//! also ends their access tokens (`sessions::authenticate` checks the session and the account on
//! every request). A role change changes what the account's phones may pull: their next pull with
//! an old cursor answers `reset: true` (docs/sync-protocol.md), because the cursor carries a
//! fingerprint of the roles.

use super::access::{self, Caller, Place};
use super::accounts::{self, RoleGrant, User, validate_password};
use crate::auth::password::{self, PasswordPolicy};
use crate::db::models::{OrgUnitRow, RoleAssignmentRow, UserRow};
use crate::db::{DbConnection, org_units, refresh_tokens, users, write_transaction};
use crate::error::{AppError, ErrorCode};
use crate::ids::{OrgUnitId, RoleAssignmentId, UserId};
use closeout_sync_protocol::Role;
use serde::Deserialize;

/// `POST /users/{id}/roles/move`: the role held on `from_org_unit_id` is held on
/// `to_org_unit_id` instead (None: the whole system).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleMove {
    pub role: Role,
    pub from_org_unit_id: Option<OrgUnitId>,
    pub to_org_unit_id: Option<OrgUnitId>,
}

/// `POST /users/{id}/password`: the new password, set by an administrator.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPassword {
    pub password: String,
}

/// The account, if the actor may manage it: an admin of every place it holds a role on.
fn managed(
    conn: &mut DbConnection,
    actor: Option<&Caller>,
    user: &UserId,
) -> Result<UserRow, AppError> {
    let row = users::find(conn, user)?.ok_or_else(|| AppError::not_found("user"))?;
    if let Some(actor) = actor {
        let places: Vec<Option<OrgUnitRow>> = users::assignments_of(conn, user)?
            .into_iter()
            .map(|(_, place)| place)
            .collect();
        let scope: Vec<Option<Place<'_>>> = places
            .iter()
            .map(|p| p.as_ref().map(|row| Place { path: &row.path }))
            .collect();
        access::require_on_all(actor, Role::Admin, &scope, "user")?;
    }
    Ok(row)
}

/// The place of a grant, checked: the actor must be its admin (a system admin for None).
fn grant_place(
    conn: &mut DbConnection,
    actor: Option<&Caller>,
    place: Option<&OrgUnitId>,
) -> Result<(), AppError> {
    let row = match place {
        Some(id) => {
            Some(org_units::find(conn, id)?.ok_or_else(|| AppError::not_found("org unit"))?)
        }
        None => None,
    };
    if let Some(actor) = actor {
        let scope = [row.as_ref().map(|r| Place { path: &r.path })];
        access::require_on_all(actor, Role::Admin, &scope, "org unit")?;
    }
    Ok(())
}

fn refuse_self(
    actor: Option<&Caller>,
    user: &UserId,
    what: &str,
    zh: &str,
) -> Result<(), AppError> {
    match actor {
        Some(a) if &a.user_id == user => Err(AppError::new(
            ErrorCode::Conflict,
            format!("you cannot {what} your own account; ask another administrator"),
        )
        .zh(format!("不能{zh}自己的账号，请由其他管理员操作"))),
        _ => Ok(()),
    }
}

/// Disables (`active` false) or enables an account. Disabling revokes every session and device
/// refresh chain at once; the account's name stays on everything it did.
pub fn set_active(
    conn: &mut DbConnection,
    actor: Option<&Caller>,
    user: &UserId,
    active: bool,
) -> Result<User, AppError> {
    if !active {
        refuse_self(actor, user, "disable", "停用")?;
    }
    write_transaction(conn, |conn| -> Result<(), AppError> {
        let row = managed(conn, actor, user)?;
        let now = super::now();
        users::set_active(conn, &row.id, active, now)?;
        if !active {
            refresh_tokens::revoke_user(conn, &row.id, now, "account_disabled")?;
            crate::db::console_sessions::end_user(conn, &row.id, now, "account_disabled")?;
        }
        Ok(())
    })?;
    accounts::get(conn, user)
}

/// Grants a role on a place (None: the whole system).
pub fn grant(
    conn: &mut DbConnection,
    actor: Option<&Caller>,
    user: &UserId,
    grant: RoleGrant,
) -> Result<User, AppError> {
    write_transaction(conn, |conn| {
        let row = managed(conn, actor, user)?;
        grant_place(conn, actor, grant.org_unit_id.as_ref())?;
        insert_unless_held(conn, &row.id, &grant)
    })?;
    accounts::get(conn, user)
}

fn insert_unless_held(
    conn: &mut DbConnection,
    user: &UserId,
    grant: &RoleGrant,
) -> Result<(), AppError> {
    let held = users::assignments_of(conn, user)?
        .into_iter()
        .any(|(a, _)| {
            a.role == grant.role.as_str() && a.org_unit_id.as_ref() == grant.org_unit_id.as_ref()
        });
    if held {
        return Err(AppError::new(
            ErrorCode::DuplicateRoleAssignment,
            format!("the account already holds {} there", grant.role),
        ));
    }
    users::insert_assignment(
        conn,
        &RoleAssignmentRow {
            id: RoleAssignmentId::generate(),
            user_id: user.clone(),
            role: grant.role.as_str().to_owned(),
            org_unit_id: grant.org_unit_id.clone(),
            created_at: super::now(),
        },
    )?;
    Ok(())
}

/// Revokes a role held on a place. Only the admin of that place is needed: an account that also
/// holds roles elsewhere keeps them.
pub fn revoke(
    conn: &mut DbConnection,
    actor: Option<&Caller>,
    user: &UserId,
    grant: RoleGrant,
) -> Result<User, AppError> {
    write_transaction(conn, |conn| {
        users::find(conn, user)?.ok_or_else(|| AppError::not_found("user"))?;
        grant_place(conn, actor, grant.org_unit_id.as_ref())?;
        delete_held(conn, user, grant.role, grant.org_unit_id.as_ref())
    })?;
    accounts::get(conn, user)
}

fn delete_held(
    conn: &mut DbConnection,
    user: &UserId,
    role: Role,
    place: Option<&OrgUnitId>,
) -> Result<(), AppError> {
    if users::delete_assignment(conn, user, role.as_str(), place)? == 0 {
        return Err(AppError::new(
            ErrorCode::NotFound,
            format!("the account does not hold {role} there"),
        )
        .zh(format!("该账号在此没有“{}”角色", role.name_zh())));
    }
    Ok(())
}

/// Moves a role from one place to another (a grid worker transferred to the next village), in one
/// transaction: the actor must be an admin of both places.
pub fn move_role(
    conn: &mut DbConnection,
    actor: Option<&Caller>,
    user: &UserId,
    change: RoleMove,
) -> Result<User, AppError> {
    write_transaction(conn, |conn| {
        users::find(conn, user)?.ok_or_else(|| AppError::not_found("user"))?;
        grant_place(conn, actor, change.from_org_unit_id.as_ref())?;
        grant_place(conn, actor, change.to_org_unit_id.as_ref())?;
        delete_held(conn, user, change.role, change.from_org_unit_id.as_ref())?;
        let to = RoleGrant {
            role: change.role,
            org_unit_id: change.to_org_unit_id.clone(),
        };
        insert_unless_held(conn, user, &to)
    })?;
    accounts::get(conn, user)
}

/// Sets a new password chosen by an administrator and ends every session of the account.
pub fn set_password(
    conn: &mut DbConnection,
    actor: Option<&Caller>,
    user: &UserId,
    new_password: &str,
    policy: PasswordPolicy,
) -> Result<(), AppError> {
    validate_password(new_password)?;
    // Checked before hashing, so a refused caller costs no hash.
    managed(conn, actor, user)?;
    let hash = password::hash(new_password, policy).map_err(AppError::internal)?;
    write_transaction(conn, |conn| {
        let row = managed(conn, actor, user)?;
        let now = super::now();
        users::set_password(conn, &row.id, &hash, now)?;
        refresh_tokens::revoke_user(conn, &row.id, now, "password_reset")?;
        crate::db::console_sessions::end_user(conn, &row.id, now, "password_reset")?;
        Ok(())
    })
}

/// Accounts with no role at all (created and not yet placed, or every role revoked): they belong
/// to no place, so only a system admin lists them.
pub fn list_without_roles(
    conn: &mut DbConnection,
    actor: Option<&Caller>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<User>, AppError> {
    if let Some(actor) = actor {
        access::require_system(actor, Role::Admin)?;
    }
    users::list_without_roles(conn, after, limit)?
        .into_iter()
        .map(|row| accounts::get(conn, &row.id))
        .collect()
}
