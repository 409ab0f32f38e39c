//! The `closeout` command line: serve, migrate, manage users, import the place tree.

use crate::api::state::password_policy;
use crate::db::org_units;
use crate::domain::accounts::{self, NewUser};
use crate::settings::Settings;
use crate::startup::{Application, open_database};
use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use rand::Rng;
use std::io::{BufRead, Write};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "closeout",
    version,
    about = "Closeout: field inspection and rectification with offline sync"
)]
pub struct Cli {
    /// Configuration file (default: ./closeout.toml if present). CLOSEOUT_* variables override it.
    #[arg(long, global = true, env = "CLOSEOUT_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (migrates the database first).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage the place tree.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Work with the rectification ledger.
    #[command(subcommand)]
    Issues(IssuesCommand),
    /// Export reports to files.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Category aliases for the 交办清单 importer (county wordings such as 污水直排).
    #[command(subcommand)]
    CategoryAlias(crate::cli_aliases::AliasCommand),
    /// SQLite: write an online, consistent copy of the database to DEST (a new file) while the
    /// server runs. PostgreSQL: refused; use pg_dump / PITR (docs/operations.md).
    Backup { dest: std::path::PathBuf },
    /// SQLite, server stopped: replace the database by SRC (a backup), then renew the change
    /// feed's epoch so phones pull afresh. PostgreSQL: after pg_restore, `--renew-epoch-only`.
    Restore {
        #[arg(required_unless_present = "renew_epoch_only")]
        src: Option<std::path::PathBuf>,
        /// Only renew the change feed's epoch (after restoring PostgreSQL with pg_restore).
        #[arg(long, conflicts_with = "src")]
        renew_epoch_only: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// The rectification ledger (整改台账) as .xlsx, .csv or .geojson, scoped to a user.
    Ledger(crate::cli_export::ExportLedger),
}

#[derive(Debug, Subcommand)]
pub enum IssuesCommand {
    /// Import a handed-down list (交办清单) from .xlsx or .csv. All rows or none.
    Import(crate::cli_import::ImportArgs),
    /// List the imports of handed-down lists a user may see.
    Imports {
        #[arg(long = "as", value_name = "USERNAME")]
        as_user: String,
    },
    /// Undo an import while none of its issues has moved.
    UndoImport {
        id: String,
        #[arg(long = "as", value_name = "USERNAME")]
        as_user: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. Without --password-stdin a password is generated and printed once.
    Add(UserAdd),
    /// List users with their roles.
    List {
        /// Only accounts that hold no role at all.
        #[arg(long)]
        without_roles: bool,
    },
    /// Set a new password (ends all the user's sessions).
    ResetPassword {
        username: String,
        /// Read the new password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    #[command(flatten)]
    Lifecycle(crate::cli_users::LifecycleCommand),
}

#[derive(Debug, Args)]
pub struct UserAdd {
    /// Login name (often a phone number).
    pub username: String,
    #[arg(long)]
    pub display_name: Option<String>,
    #[arg(long)]
    pub phone: Option<String>,
    /// ROLE or ROLE@PLACE_CODE, repeatable; without @ the role covers the whole system.
    /// Roles: grid_worker, inspector, responsible, supervisor, admin.
    #[arg(long = "role", value_name = "ROLE[@PLACE_CODE]")]
    pub roles: Vec<String>,
    /// Read the password from standard input instead of generating one.
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Import places from CSV (code, name, level, parent_code; Chinese headers accepted). All or nothing.
    /// With --update: compare the file with the tree and show renames, moves, new and missing
    /// places (nothing written); with --update --yes: apply them.
    Import {
        file: PathBuf,
        /// Compare with the tree and list the differences; write nothing without --yes.
        #[arg(long)]
        update: bool,
        /// With --update: apply the differences (one transaction).
        #[arg(long, requires = "update")]
        yes: bool,
    },
    /// Rename a place: `org rename CODE NEW_NAME`.
    Rename { code: String, name: String },
    /// Retire a place: it and its subtree take no new issues; its issues stay.
    Retire {
        code: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Move a place (and its subtree) under another parent: `org move CODE NEW_PARENT_CODE`.
    Move {
        code: String,
        parent_code: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Merge a place into another of the same level: `org merge CODE INTO_CODE`. Its issues, roles,
    /// schedules and children go to INTO_CODE; it is retired.
    Merge {
        code: String,
        into_code: String,
        #[arg(long)]
        reason: Option<String>,
    },
}

/// Where a command reads a password from and writes its report to (a terminal, or a test's buffers).
pub struct Console<'a> {
    pub input: &'a mut dyn BufRead,
    pub output: &'a mut dyn Write,
}

/// Runs any command; `serve` blocks until the server stops.
pub fn run(command: Command, settings: Settings, console: &mut Console<'_>) -> anyhow::Result<()> {
    match command {
        Command::Serve => {
            let app = Application::build(settings)?;
            actix_web::rt::System::new().block_on(app.run_until_stopped())?;
        }
        Command::Backup { dest } => {
            let said = crate::cli_backup::backup(&settings, &dest)?;
            writeln!(console.output, "{said}")?;
        }
        Command::Restore {
            src,
            renew_epoch_only,
        } => {
            let said = match src {
                Some(src) if !renew_epoch_only => crate::cli_backup::restore(&settings, &src)?,
                _ => format!(
                    "change feed epoch {}: phones will pull afresh",
                    crate::cli_backup::renew(&settings)?
                ),
            };
            writeln!(console.output, "{said}")?;
        }
        Command::Migrate => {
            open_database(&settings)?;
            writeln!(console.output, "database is up to date")?;
        }
        Command::User(UserCommand::Add(add)) => user_add(add, &settings, console)?,
        Command::User(UserCommand::List { without_roles }) => {
            user_list(without_roles, &settings, console)?
        }
        Command::User(UserCommand::Lifecycle(command)) => {
            crate::cli_users::run(command, &settings, console)?
        }
        Command::User(UserCommand::ResetPassword {
            username,
            password_stdin,
        }) => {
            let db = open_database(&settings)?;
            let (password, generated) = obtain_password(password_stdin, console)?;
            accounts::reset_password(
                &mut *db.get()?,
                &username,
                &password,
                password_policy(&settings),
            )?;
            writeln!(
                console.output,
                "password of {username} reset; all its sessions are ended"
            )?;
            if generated {
                writeln!(console.output, "new password (shown once): {password}")?;
            }
        }
        Command::Issues(IssuesCommand::Import(args)) => {
            crate::cli_import::import_issues(&args, &settings, console)?;
        }
        Command::Issues(IssuesCommand::Imports { as_user }) => {
            crate::cli_import::list_imports(&as_user, &settings, console)?;
        }
        Command::Issues(IssuesCommand::UndoImport { id, as_user }) => {
            crate::cli_import::undo_import(&id, &as_user, &settings, console)?;
        }
        Command::Export(ExportCommand::Ledger(args)) => {
            crate::cli_export::export_ledger(args, &settings, console.output)?;
        }
        Command::Org(OrgCommand::Rename { code, name }) => {
            let db = open_database(&settings)?;
            let mut conn = db.get()?;
            let id = org_units::find_by_code(&mut conn, &code)?
                .with_context(|| format!("no place with code {code}"))?
                .id;
            let input = crate::domain::place_changes::Rename { name };
            let unit = crate::domain::place_changes::rename(&mut conn, None, &id, input)?;
            writeln!(console.output, "{code} is now named {}", unit.name)?;
        }
        Command::Org(OrgCommand::Retire { code, reason }) => {
            let db = open_database(&settings)?;
            let mut conn = db.get()?;
            let id = org_units::find_by_code(&mut conn, &code)?
                .with_context(|| format!("no place with code {code}"))?
                .id;
            let input = crate::domain::place_changes::Retire { reason };
            let unit = crate::domain::place_changes::retire(&mut conn, None, &id, input)?;
            writeln!(
                console.output,
                "{code} {} is retired: it takes no new issues",
                unit.name
            )?;
        }
        Command::Org(OrgCommand::Import { file, update, yes }) => {
            crate::cli_org::import(&file, update, yes, &settings, console)?;
        }
        Command::Org(OrgCommand::Move {
            code,
            parent_code,
            reason,
        }) => crate::cli_org::move_place(&code, &parent_code, reason, &settings, console)?,
        Command::Org(OrgCommand::Merge {
            code,
            into_code,
            reason,
        }) => crate::cli_org::merge(&code, &into_code, reason, &settings, console)?,
        Command::CategoryAlias(command) => crate::cli_aliases::run(command, &settings, console)?,
    }
    Ok(())
}

fn user_add(add: UserAdd, settings: &Settings, console: &mut Console<'_>) -> anyhow::Result<()> {
    let db = open_database(settings)?;
    let mut conn = db.get()?;
    let roles = add
        .roles
        .iter()
        .map(|spec| crate::cli_users::parse_grant(&mut conn, spec))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (password, generated) = obtain_password(add.password_stdin, console)?;
    let input = NewUser {
        display_name: add.display_name.unwrap_or_else(|| add.username.clone()),
        username: add.username,
        phone: add.phone,
        password: password.clone(),
        roles,
    };
    let user = accounts::create_user(&mut conn, None, input, password_policy(settings))?;
    writeln!(
        console.output,
        "created user {} ({})",
        user.username, user.id
    )?;
    for r in &user.roles {
        let place = r
            .org_unit
            .as_ref()
            .map_or("the whole system".to_owned(), |p| {
                format!("{} {}", p.code.as_deref().unwrap_or(""), p.name)
            });
        writeln!(console.output, "  role {} on {}", r.role, place)?;
    }
    if generated {
        writeln!(console.output, "password (shown once): {password}")?;
    }
    Ok(())
}

fn user_list(
    without_roles: bool,
    settings: &Settings,
    console: &mut Console<'_>,
) -> anyhow::Result<()> {
    let db = open_database(settings)?;
    let mut conn = db.get()?;
    let mut after: Option<String> = None;
    loop {
        let page = if without_roles {
            crate::db::users::list_without_roles(&mut conn, after.as_deref(), 500)?
        } else {
            crate::db::users::list(&mut conn, after.as_deref(), 500)?
        };
        let Some(last) = page.last() else { break };
        after = Some(last.username.clone());
        for row in page {
            let user = accounts::get(&mut conn, &row.id)?;
            let roles: Vec<String> = user
                .roles
                .iter()
                .map(|r| match &r.org_unit {
                    Some(p) => format!("{}@{}", r.role, p.code.as_deref().unwrap_or(p.id.as_str())),
                    None => r.role.to_string(),
                })
                .collect();
            let state = if user.active { "" } else { " (disabled)" };
            writeln!(
                console.output,
                "{}\t{}\t{}{}",
                user.username,
                user.display_name,
                roles.join(","),
                state
            )?;
        }
    }
    Ok(())
}

/// The password from standard input (first line), or a generated one (then `true`).
fn obtain_password(from_stdin: bool, console: &mut Console<'_>) -> anyhow::Result<(String, bool)> {
    if from_stdin {
        let mut line = String::new();
        console.input.read_line(&mut line)?;
        let password = line.trim_end_matches(['\r', '\n']).to_owned();
        anyhow::ensure!(!password.is_empty(), "no password on standard input");
        return Ok((password, false));
    }
    // No 0/O/1/l/I: read aloud over the phone and typed on one.
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    let password = (0..16)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    Ok((password, true))
}
