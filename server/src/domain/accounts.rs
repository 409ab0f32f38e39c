//! People and their roles: creating users, listing them within an admin's places, passwords.

use super::access::{self, Caller, Place, SYSTEM_PATH};
use super::places::OrgUnit;
use crate::auth::password::{self, MIN_PASSWORD_CHARS, PasswordPolicy};
use crate::db::models::{RoleAssignmentRow, UserRow};
use crate::db::{DbConnection, org_units, refresh_tokens, users, write_transaction};
use crate::error::{AppError, ErrorCode};
use crate::ids::{OrgUnitId, RoleAssignmentId, UserId};
use closeout_sync_protocol::Role;
use serde::{Deserialize, Serialize};

/// A role to grant: on a place, or (no place) on the whole system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleGrant {
    pub role: Role,
    pub org_unit_id: Option<OrgUnitId>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Login name; often the person's phone number.
    pub username: String,
    pub display_name: String,
    pub phone: Option<String>,
    pub password: String,
    #[serde(default)]
    pub roles: Vec<RoleGrant>,
}

/// A role as shown: the role and its place (None: the whole system).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RoleAssignment {
    pub role: Role,
    pub org_unit: Option<OrgUnit>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub phone: Option<String>,
    pub active: bool,
    pub roles: Vec<RoleAssignment>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

pub fn validate_username(username: &str) -> Result<(), AppError> {
    let ok = (3..=64).contains(&username.len())
        && username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'@' | b'+'));
    if ok {
        Ok(())
    } else {
        Err(AppError::invalid_field(
            "username",
            "must be 3–64 letters, digits or _ . - @ +",
            "须为 3–64 位字母、数字或 _ . - @ +",
        ))
    }
}

pub fn validate_password(password: &str) -> Result<(), AppError> {
    if password.chars().count() >= MIN_PASSWORD_CHARS {
        Ok(())
    } else {
        Err(AppError::invalid_field(
            "password",
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
            format!("至少 {MIN_PASSWORD_CHARS} 个字符"),
        ))
    }
}

/// Creates a user with roles. `actor` None is the operator at the console (CLI), trusted;
/// otherwise the actor must be an admin of every place granted (a system admin for system roles,
/// and for an account granted no role at all).
pub fn create_user(
    conn: &mut DbConnection,
    actor: Option<&Caller>,
    input: NewUser,
    policy: PasswordPolicy,
) -> Result<User, AppError> {
    validate_username(&input.username)?;
    validate_password(&input.password)?;
    let display_name = input.display_name.trim().to_owned();
    if !(1..=64).contains(&display_name.chars().count()) {
        return Err(AppError::invalid_field(
            "display_name",
            "must be 1–64 characters",
            "须为 1–64 个字符",
        ));
    }
    for (i, grant) in input.roles.iter().enumerate() {
        if input.roles[..i].contains(grant) {
            return Err(AppError::new(
                ErrorCode::DuplicateRoleAssignment,
                format!("role {} is listed twice for the same place", grant.role),
            ));
        }
    }
    // Hash before the transaction: it is the slow part and needs no lock.
    let password_hash = password::hash(&input.password, policy).map_err(AppError::internal)?;
    write_transaction(conn, |conn| {
        let now = super::now();
        let mut places = Vec::new();
        for grant in &input.roles {
            let place = match &grant.org_unit_id {
                Some(id) => Some(
                    org_units::find(conn, id)?.ok_or_else(|| AppError::not_found("org unit"))?,
                ),
                None => None,
            };
            places.push(place);
        }
        if let Some(actor) = actor {
            // One check over the whole set: with no roles granted, the account is the whole
            // system's, so only a system admin may create it.
            let scope: Vec<Option<Place<'_>>> = places
                .iter()
                .map(|p| p.as_ref().map(|row| Place { path: &row.path }))
                .collect();
            access::require_on_all(actor, Role::Admin, &scope, "org unit")?;
        }
        if users::find_by_username(conn, &input.username)?.is_some() {
            return Err(AppError::new(
                ErrorCode::UsernameTaken,
                format!("username {} is already taken", input.username),
            )
            .zh(format!("用户名 {} 已被占用", input.username)));
        }
        let user = UserRow {
            id: UserId::generate(),
            username: input.username.clone(),
            display_name: display_name.clone(),
            phone: input.phone.clone().filter(|p| !p.trim().is_empty()),
            password_hash: password_hash.clone(),
            active: true,
            created_at: now,
            updated_at: now,
        };
        users::insert(conn, &user)?;
        let mut roles = Vec::new();
        for (grant, place) in input.roles.iter().zip(places) {
            users::insert_assignment(
                conn,
                &RoleAssignmentRow {
                    id: RoleAssignmentId::generate(),
                    user_id: user.id.clone(),
                    role: grant.role.as_str().to_owned(),
                    org_unit_id: grant.org_unit_id.clone(),
                    created_at: now,
                },
            )?;
            roles.push(RoleAssignment {
                role: grant.role,
                org_unit: place.map(OrgUnit::try_from).transpose()?,
            });
        }
        Ok(to_user(user, roles))
    })
}

fn to_user(row: UserRow, roles: Vec<RoleAssignment>) -> User {
    User {
        id: row.id,
        username: row.username,
        display_name: row.display_name,
        phone: row.phone,
        active: row.active,
        roles,
        created_at: row.created_at.and_utc(),
    }
}

/// The roles a user holds, with their places, as grants for authorization and as views for `/me`.
pub fn roles_of(
    conn: &mut DbConnection,
    user: &UserId,
) -> Result<Vec<(access::Grant, RoleAssignment)>, AppError> {
    users::assignments_of(conn, user)?
        .into_iter()
        .map(|(assignment, place)| {
            let role: Role = assignment
                .role
                .parse()
                .map_err(|e| AppError::internal(anyhow::anyhow!("stored role assignment: {e}")))?;
            let grant = access::Grant {
                role,
                org_unit_id: assignment.org_unit_id.clone(),
                subtree_path: place
                    .as_ref()
                    .map_or_else(|| SYSTEM_PATH.to_owned(), |p| p.path.clone()),
            };
            let view = RoleAssignment {
                role,
                org_unit: place.map(OrgUnit::try_from).transpose()?,
            };
            Ok((grant, view))
        })
        .collect()
}

pub fn get(conn: &mut DbConnection, id: &UserId) -> Result<User, AppError> {
    let row = users::find(conn, id)?.ok_or_else(|| AppError::not_found("user"))?;
    let roles = roles_of(conn, id)?
        .into_iter()
        .map(|(_, view)| view)
        .collect();
    Ok(to_user(row, roles))
}

/// Users an admin may manage: all for a system admin, else those holding a role in the admin's
/// subtrees. Keyset-paginated by username.
pub fn list(
    conn: &mut DbConnection,
    caller: &Caller,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<User>, AppError> {
    let subtrees = access::require_any(caller, Role::Admin)?;
    let rows = if subtrees.iter().any(|p| p == SYSTEM_PATH) {
        users::list(conn, after, limit)?
    } else {
        users::list_in_subtrees(conn, &subtrees, after, limit)?
    };
    rows.into_iter()
        .map(|row| {
            let roles = roles_of(conn, &row.id)?
                .into_iter()
                .map(|(_, view)| view)
                .collect();
            Ok(to_user(row, roles))
        })
        .collect()
}

/// Sets a new password and ends every session of the user (their phones must log in again).
pub fn reset_password(
    conn: &mut DbConnection,
    username: &str,
    new_password: &str,
    policy: PasswordPolicy,
) -> Result<(), AppError> {
    validate_password(new_password)?;
    let hash = password::hash(new_password, policy).map_err(AppError::internal)?;
    write_transaction(conn, |conn| {
        let user =
            users::find_by_username(conn, username)?.ok_or_else(|| AppError::not_found("user"))?;
        let now = super::now();
        users::set_password(conn, &user.id, &hash, now)?;
        refresh_tokens::revoke_user(conn, &user.id, now, "password_reset")?;
        Ok(())
    })
}
