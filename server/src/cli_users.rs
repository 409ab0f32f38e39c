//! `closeout user disable|enable|grant|revoke|move`: an account's life after it is created, for
//! the operator at the console (trusted, like `user add`). The rules are those of the API
//! (`domain::account_lifecycle`).

use crate::cli::Console;
use crate::db::{DbConnection, org_units, users};
use crate::domain::account_lifecycle::{self, RoleMove};
use crate::domain::accounts::{RoleGrant, User};
use crate::ids::{OrgUnitId, UserId};
use crate::settings::Settings;
use crate::startup::open_database;
use anyhow::Context;
use clap::Subcommand;
use closeout_sync_protocol::Role;

#[derive(Debug, Subcommand)]
pub enum LifecycleCommand {
    /// Disable an account: no login (`account_disabled`), every session ended at once.
    Disable { username: String },
    /// Enable a disabled account.
    Enable { username: String },
    /// Grant ROLE or ROLE@PLACE_CODE (without @: the whole system).
    Grant {
        username: String,
        #[arg(value_name = "ROLE[@PLACE_CODE]")]
        role: String,
    },
    /// Revoke ROLE or ROLE@PLACE_CODE.
    Revoke {
        username: String,
        #[arg(value_name = "ROLE[@PLACE_CODE]")]
        role: String,
    },
    /// Move a role from one place to another: `move NAME grid_worker@FROM_CODE TO_CODE`.
    Move {
        username: String,
        #[arg(value_name = "ROLE@FROM_CODE")]
        from: String,
        #[arg(value_name = "TO_CODE")]
        to: String,
    },
}

/// `ROLE` or `ROLE@PLACE_CODE` as a grant.
pub fn parse_grant(conn: &mut DbConnection, spec: &str) -> anyhow::Result<RoleGrant> {
    let (role, place) = match spec.split_once('@') {
        Some((role, code)) => (role, Some(code)),
        None => (spec, None),
    };
    let role: Role = role.parse()?;
    let org_unit_id = place.map(|code| place_id(conn, code)).transpose()?;
    Ok(RoleGrant { role, org_unit_id })
}

fn place_id(conn: &mut DbConnection, code: &str) -> anyhow::Result<OrgUnitId> {
    Ok(org_units::find_by_code(conn, code)?
        .with_context(|| format!("no place with code {code}"))?
        .id)
}

fn user_id(conn: &mut DbConnection, username: &str) -> anyhow::Result<UserId> {
    Ok(users::find_by_username(conn, username)?
        .with_context(|| format!("no user {username}"))?
        .id)
}

pub fn run(
    command: LifecycleCommand,
    settings: &Settings,
    console: &mut Console<'_>,
) -> anyhow::Result<()> {
    let db = open_database(settings)?;
    let mut conn = db.get()?;
    let conn = &mut *conn;
    let (user, what) = match command {
        LifecycleCommand::Disable { username } => {
            let id = user_id(conn, &username)?;
            let user = account_lifecycle::set_active(conn, None, &id, false)?;
            (user, "disabled; all its sessions are ended")
        }
        LifecycleCommand::Enable { username } => {
            let id = user_id(conn, &username)?;
            (
                account_lifecycle::set_active(conn, None, &id, true)?,
                "enabled",
            )
        }
        LifecycleCommand::Grant { username, role } => {
            let id = user_id(conn, &username)?;
            let grant = parse_grant(conn, &role)?;
            (account_lifecycle::grant(conn, None, &id, grant)?, "granted")
        }
        LifecycleCommand::Revoke { username, role } => {
            let id = user_id(conn, &username)?;
            let grant = parse_grant(conn, &role)?;
            (
                account_lifecycle::revoke(conn, None, &id, grant)?,
                "revoked",
            )
        }
        LifecycleCommand::Move { username, from, to } => {
            let id = user_id(conn, &username)?;
            let from = parse_grant(conn, &from)?;
            let change = RoleMove {
                role: from.role,
                from_org_unit_id: from.org_unit_id,
                to_org_unit_id: Some(place_id(conn, &to)?),
            };
            (
                account_lifecycle::move_role(conn, None, &id, change)?,
                "moved",
            )
        }
    };
    print_user(&user, what, console)
}

fn print_user(user: &User, what: &str, console: &mut Console<'_>) -> anyhow::Result<()> {
    writeln!(console.output, "{}: {what}", user.username)?;
    let state = if user.active { "active" } else { "disabled" };
    writeln!(console.output, "  account {state}")?;
    for r in &user.roles {
        let place = r
            .org_unit
            .as_ref()
            .map_or("the whole system".to_owned(), |p| {
                format!("{} {}", p.code.as_deref().unwrap_or(""), p.name)
            });
        writeln!(console.output, "  role {} on {}", r.role, place)?;
    }
    Ok(())
}
