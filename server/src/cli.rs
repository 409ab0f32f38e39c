//! The `closeout` command line: serve, migrate, manage users, import the place tree.

use crate::api::state::password_policy;
use crate::db::org_units;
use crate::domain::accounts::{self, NewUser, RoleGrant};
use crate::domain::issues::Clock;
use crate::domain::issues::import as issues_import;
use crate::domain::{places_import, sessions};
use crate::settings::Settings;
use crate::startup::{Application, open_database};
use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use closeout_sync_protocol::Role;
use indicatif::{ProgressBar, ProgressStyle};
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
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// The rectification ledger (整改台账) as .xlsx, .csv or .geojson, scoped to a user.
    Ledger(crate::cli_export::ExportLedger),
}

#[derive(Debug, Subcommand)]
pub enum IssuesCommand {
    /// Import a handed-down list (交办清单) from .xlsx or .csv. All rows or none.
    Import {
        file: PathBuf,
        /// The user the import is recorded as (a supervisor or admin of the places in the list).
        #[arg(long = "as", value_name = "USERNAME")]
        as_user: String,
        /// No progress bar (for scripts).
        #[arg(long)]
        quiet: bool,
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
    Import { file: PathBuf },
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
        Command::Issues(IssuesCommand::Import {
            file,
            as_user,
            quiet,
        }) => {
            import_issues(&file, &as_user, quiet, &settings, console)?;
        }
        Command::Export(ExportCommand::Ledger(args)) => {
            crate::cli_export::export_ledger(args, &settings, console.output)?;
        }
        Command::Org(OrgCommand::Import { file }) => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let db = open_database(&settings)?;
            match places_import::import_csv(&mut *db.get()?, &bytes) {
                Ok(report) => writeln!(
                    console.output,
                    "imported {}: {} place(s) created, {} already present",
                    file.display(),
                    report.created,
                    report.already_present
                )?,
                Err(e) => {
                    print_rejection(&e, console)?;
                    anyhow::bail!("import rejected; nothing was written");
                }
            }
        }
    }
    Ok(())
}

fn import_issues(
    file: &std::path::Path,
    as_user: &str,
    quiet: bool,
    settings: &Settings,
    console: &mut Console<'_>,
) -> anyhow::Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let db = open_database(settings)?;
    let mut conn = db.get()?;
    let caller = sessions::caller_by_username(&mut conn, as_user)?;
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} rows {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let name = file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let clock = Clock::system(settings.ledger.utc_offset_hours);
    let result = issues_import::import(
        &mut conn,
        &caller,
        &bytes,
        &name,
        clock,
        &mut |done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        },
    );
    bar.finish_and_clear();
    match result {
        Ok(r) => {
            writeln!(
                console.output,
                "imported {name}: {} issue(s) created, {} assigned, ledger numbers {} to {} (batch {})",
                r.created,
                r.assigned,
                r.first_ledger_no.as_deref().unwrap_or("-"),
                r.last_ledger_no.as_deref().unwrap_or("-"),
                r.batch_id
            )?;
            Ok(())
        }
        Err(e) => {
            print_rejection(&e, console)?;
            anyhow::bail!("import rejected; nothing was written")
        }
    }
}

/// Prints a refused import: the summary, then each bad row in English and Chinese.
fn print_rejection(e: &crate::error::AppError, console: &mut Console<'_>) -> anyhow::Result<()> {
    writeln!(
        console.output,
        "{}\n{}",
        e.detail,
        e.detail_zh.as_deref().unwrap_or("")
    )?;
    if let Some(rows) = e
        .extra
        .as_ref()
        .and_then(|x| x.get("errors"))
        .and_then(|r| r.as_array())
    {
        for row in rows {
            writeln!(
                console.output,
                "  row {}: {} / {}",
                row["row"],
                row["reason"].as_str().unwrap_or(""),
                row["reason_zh"].as_str().unwrap_or("")
            )?;
        }
    }
    Ok(())
}

fn user_add(add: UserAdd, settings: &Settings, console: &mut Console<'_>) -> anyhow::Result<()> {
    let db = open_database(settings)?;
    let mut conn = db.get()?;
    let mut roles = Vec::new();
    for spec in &add.roles {
        let (role, place) = match spec.split_once('@') {
            Some((role, code)) => (role, Some(code)),
            None => (spec.as_str(), None),
        };
        let role: Role = role.parse()?;
        let org_unit_id = match place {
            Some(code) => Some(
                org_units::find_by_code(&mut conn, code)?
                    .with_context(|| format!("no place with code {code}"))?
                    .id,
            ),
            None => None,
        };
        roles.push(RoleGrant { role, org_unit_id });
    }
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
