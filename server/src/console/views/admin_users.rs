//! 人员 (admin): the accounts of the admin's places (`accounts::list`, as `GET /api/v1/users`),
//! and the API's account operations as forms — create, disable/enable, grant/revoke a role,
//! reset a password — each calling the domain function its API route calls, with the same
//! rule (an admin of every place the account holds a role on). A caller who is no admin gets
//! the domain's own 403.

use crate::api::state::AppState;
use crate::console::errors::ConsoleError;
use crate::console::page::{Head, Nav, html, see_other};
use crate::console::session::ConsoleUser;
use crate::domain::account_lifecycle::RoleMove;
use crate::domain::accounts::{self, NewUser, RoleGrant, User};
use crate::domain::{account_lifecycle, places};
use crate::error::AppError;
use crate::ids::{OrgUnitId, UserId};
use actix_web::{HttpResponse, web};
use askama::Template;
use closeout_sync_protocol::Role;
use serde::Deserialize;

/// Accounts per page (keyset by username, as the API).
const PAGE: i64 = 100;

pub struct Account {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub phone: String,
    pub active: bool,
    /// (role wire name, place id or empty, shown as 「督查办@甲镇」).
    pub roles: Vec<(String, String, String)>,
}

fn account(u: User) -> Account {
    Account {
        id: u.id.to_string(),
        username: u.username,
        display_name: u.display_name,
        phone: u.phone.unwrap_or_default(),
        active: u.active,
        roles: u
            .roles
            .into_iter()
            .map(|r| {
                let (place_id, place) = r
                    .org_unit
                    .map_or((String::new(), "全系统".to_owned()), |p| {
                        (p.id.to_string(), p.name)
                    });
                (
                    r.role.as_str().to_owned(),
                    place_id,
                    format!("{}@{}", r.role.name_zh(), place),
                )
            })
            .collect(),
    }
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    head: Head,
    nav: Nav,
    accounts: Vec<Account>,
    /// (wire name, 中文名) of every role.
    roles: Vec<(&'static str, &'static str)>,
    /// (id, name) of the places the admin sees.
    places: Vec<(String, String)>,
    next: Option<String>,
    notice: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    after: Option<String>,
    done: Option<String>,
}

fn done_zh(done: &str) -> Option<String> {
    Some(
        match done {
            "created" => "账号已创建。",
            "disabled" => "账号已停用，其登录已全部失效。",
            "enabled" => "账号已启用。",
            "granted" => "角色已授予。",
            "revoked" => "角色已收回。",
            "moved" => "角色已调整到新的区划，该账号的手机将重新同步。",
            "password" => "密码已重置，该账号须重新登录。",
            _ => return None,
        }
        .to_owned(),
    )
}

/// `GET /console/admin/users`.
pub async fn page(
    state: web::Data<AppState>,
    user: ConsoleUser,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let q = q.into_inner();
    let caller = user.caller().clone();
    let after = q.after.filter(|a| !a.is_empty());
    let (list, places) = state
        .db
        .run(move |conn| {
            let list = accounts::list(conn, &caller, after.as_deref(), PAGE)?;
            let places = places::list(conn, &caller, None, None, 5_000)?;
            Ok::<_, AppError>((list, places))
        })
        .await?;
    let next = (list.len() as i64 == PAGE)
        .then(|| list.last().map(|u| u.username.clone()))
        .flatten()
        .map(|u| {
            format!(
                "/console/admin/users?after={}",
                super::inspections::encode(&u)
            )
        });
    html(&UsersPage {
        head: Head::new(),
        nav: Nav::of(&user, "admin"),
        accounts: list.into_iter().map(account).collect(),
        roles: Role::ALL
            .iter()
            .map(|r| (r.as_str(), r.name_zh()))
            .collect(),
        places: places
            .into_iter()
            .map(|p| (p.id.to_string(), p.name))
            .collect(),
        next,
        notice: q.done.as_deref().and_then(done_zh),
    })
}

fn user_id(s: &str) -> Result<UserId, AppError> {
    uuid::Uuid::parse_str(s)
        .map(UserId::from)
        .map_err(|_| AppError::not_found("user"))
}

/// A role and an optional place from a form (an empty place: the whole system).
fn grant_of(role: &str, place: Option<&str>) -> Result<RoleGrant, AppError> {
    let role: Role = role
        .parse()
        .map_err(|e: closeout_sync_protocol::roles::UnknownRole| {
            AppError::invalid_field("role", e, "未知角色")
        })?;
    let org_unit_id = place
        .filter(|p| !p.is_empty())
        .map(|p| {
            uuid::Uuid::parse_str(p).map(OrgUnitId::from).map_err(|_| {
                AppError::invalid_field("org_unit_id", "not a UUID", "区划 ID 无效（应为 UUID）")
            })
        })
        .transpose()?;
    Ok(RoleGrant { role, org_unit_id })
}

#[derive(Debug, Deserialize)]
pub struct CreateForm {
    csrf: Option<String>,
    username: String,
    display_name: String,
    phone: Option<String>,
    password: String,
    role: Option<String>,
    org_unit_id: Option<String>,
}

/// `POST /console/admin/users`: a new account, with one role if chosen.
pub async fn create(
    state: web::Data<AppState>,
    user: ConsoleUser,
    form: web::Form<CreateForm>,
) -> Result<HttpResponse, ConsoleError> {
    let f = form.into_inner();
    user.check_csrf(f.csrf.as_deref())?;
    let roles = match f.role.as_deref().filter(|r| !r.is_empty()) {
        Some(role) => vec![grant_of(role, f.org_unit_id.as_deref())?],
        None => Vec::new(),
    };
    let input = NewUser {
        username: f.username.trim().to_owned(),
        display_name: f.display_name,
        phone: f.phone.filter(|p| !p.trim().is_empty()),
        password: f.password,
        roles,
    };
    let policy = state.password_policy();
    let caller = user.caller().clone();
    state
        .db
        .run(move |conn| accounts::create_user(conn, Some(&caller), input, policy))
        .await?;
    Ok(see_other("/console/admin/users?done=created"))
}

#[derive(Debug, Deserialize)]
pub struct ActiveForm {
    csrf: Option<String>,
    active: bool,
}

/// `POST /console/admin/users/{id}/active`: disable (ends every session) or enable.
pub async fn set_active(
    state: web::Data<AppState>,
    user: ConsoleUser,
    id: web::Path<String>,
    form: web::Form<ActiveForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_csrf(form.csrf.as_deref())?;
    let id = user_id(&id)?;
    let active = form.active;
    let caller = user.caller().clone();
    state
        .db
        .run(move |conn| account_lifecycle::set_active(conn, Some(&caller), &id, active))
        .await?;
    Ok(see_other(if active {
        "/console/admin/users?done=enabled"
    } else {
        "/console/admin/users?done=disabled"
    }))
}

#[derive(Debug, Deserialize)]
pub struct RoleForm {
    csrf: Option<String>,
    /// `grant`, `revoke` or `move`.
    op: String,
    role: String,
    org_unit_id: Option<String>,
    /// `move`: the place the role goes to (empty: the whole system).
    to_org_unit_id: Option<String>,
}

enum RoleOp {
    Grant,
    Revoke,
    Move(Option<OrgUnitId>),
}

/// `POST /console/admin/users/{id}/roles`: grant or revoke one role on one place, or move it to
/// another place (`POST /api/v1/users/{id}/roles/move`: one change, so the phone resets once).
pub async fn roles(
    state: web::Data<AppState>,
    user: ConsoleUser,
    id: web::Path<String>,
    form: web::Form<RoleForm>,
) -> Result<HttpResponse, ConsoleError> {
    let f = form.into_inner();
    user.check_csrf(f.csrf.as_deref())?;
    let id = user_id(&id)?;
    let grant = grant_of(&f.role, f.org_unit_id.as_deref())?;
    let op = match f.op.as_str() {
        "grant" => RoleOp::Grant,
        "revoke" => RoleOp::Revoke,
        "move" => RoleOp::Move(
            grant_of(&f.role, f.to_org_unit_id.as_deref())
                .map_err(|_| {
                    AppError::invalid_field(
                        "to_org_unit_id",
                        "not a UUID",
                        "新区划 ID 无效（应为 UUID）",
                    )
                })?
                .org_unit_id,
        ),
        _ => {
            return Err(AppError::invalid_field(
                "op",
                "must be grant, revoke or move",
                "须为授予、收回或调整",
            )
            .into());
        }
    };
    let caller = user.caller().clone();
    let done = state
        .db
        .run(move |conn| match op {
            RoleOp::Revoke => {
                account_lifecycle::revoke(conn, Some(&caller), &id, grant).map(|_| "revoked")
            }
            RoleOp::Grant => {
                account_lifecycle::grant(conn, Some(&caller), &id, grant).map(|_| "granted")
            }
            RoleOp::Move(to) => account_lifecycle::move_role(
                conn,
                Some(&caller),
                &id,
                RoleMove {
                    role: grant.role,
                    from_org_unit_id: grant.org_unit_id,
                    to_org_unit_id: to,
                },
            )
            .map(|_| "moved"),
        })
        .await?;
    Ok(see_other(&format!("/console/admin/users?done={done}")))
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    csrf: Option<String>,
    password: String,
}

/// `POST /console/admin/users/{id}/password`: an administrator's reset; every session ends.
pub async fn password(
    state: web::Data<AppState>,
    user: ConsoleUser,
    id: web::Path<String>,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, ConsoleError> {
    let f = form.into_inner();
    user.check_csrf(f.csrf.as_deref())?;
    let id = user_id(&id)?;
    let policy = state.password_policy();
    let caller = user.caller().clone();
    state
        .db
        .run(move |conn| {
            account_lifecycle::set_password(conn, Some(&caller), &id, &f.password, policy)
        })
        .await?;
    Ok(see_other("/console/admin/users?done=password"))
}
