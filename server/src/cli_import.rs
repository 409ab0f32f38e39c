//! `closeout issues import | imports | undo-import`: handed-down lists (交办清单) from the command
//! line, as a named user, through the same domain functions as `POST /api/v1/issues/import`,
//! `/import/preview`, `GET /issues/imports` and `/imports/{id}/undo`.

use crate::cli::Console;
use crate::domain::issues::import_plan::{self, ImportFile, ImportPlan, PlanAction};
use crate::domain::issues::import_record;
use crate::domain::sessions;
use crate::settings::Settings;
use crate::startup::open_database;
use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ImportArgs {
    pub file: PathBuf,
    /// The user the import is recorded as (a supervisor or admin of the places in the list).
    #[arg(long = "as", value_name = "USERNAME")]
    pub as_user: String,
    /// The list's name (first half of each row's key, list + 序号); default: the title line
    /// above the header, else the file name.
    #[arg(long)]
    pub list: Option<String>,
    /// Show what would be created, updated or skipped and every problem; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// No progress bar (for scripts).
    #[arg(long)]
    pub quiet: bool,
}

pub fn import_issues(
    args: &ImportArgs,
    settings: &Settings,
    console: &mut Console<'_>,
) -> anyhow::Result<()> {
    let file = &args.file;
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let db = open_database(settings)?;
    let mut conn = db.get()?;
    let caller = sessions::caller_by_username(&mut conn, &args.as_user)?;
    let name = file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let import_file = ImportFile {
        bytes: &bytes,
        file_name: &name,
        list: args.list.as_deref(),
    };
    let clock = settings.clock();
    if args.dry_run {
        return match import_plan::preview(&mut conn, &caller, &import_file, clock) {
            Ok(plan) => print_plan(&plan, console),
            Err(e) => {
                print_rejection(&e, console)?;
                anyhow::bail!("the file cannot be imported")
            }
        };
    }
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} rows {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let result = import_plan::import(
        &mut conn,
        &caller,
        &import_file,
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
                "imported {name}: {} issue(s) created, {} assigned, {} updated, {} skipped, ledger numbers {} to {} (batch {})",
                r.created,
                r.assigned,
                r.updated,
                r.skipped,
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

fn print_plan(plan: &ImportPlan, console: &mut Console<'_>) -> anyhow::Result<()> {
    let out = &mut console.output;
    writeln!(
        out,
        "dry run of {} (list {}, sha256 {}): {} row(s); would create {} ({} assigned), update {}, skip {}; {} problem(s); nothing was written",
        plan.file_name,
        plan.list,
        plan.file_sha256,
        plan.rows,
        plan.create,
        plan.assign,
        plan.update,
        plan.skip,
        plan.errors.len()
    )?;
    if let Some(earlier) = &plan.already_imported {
        writeln!(
            out,
            "this file was imported on {} by {} (import {}): importing it again is refused",
            earlier.imported_at, earlier.imported_by_name, earlier.id
        )?;
    }
    for item in &plan.items {
        let action = match item.action {
            PlanAction::Create => "create",
            PlanAction::Update => "update",
            PlanAction::Skip => "skip",
        };
        writeln!(
            out,
            "  row {} [{}] {action}: {} @ {}{}{}",
            item.row,
            item.key.as_deref().unwrap_or("-"),
            item.title,
            item.place_name,
            item.assign_unit
                .as_deref()
                .map(|u| format!(" -> {u}"))
                .unwrap_or_default(),
            item.note
                .as_deref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default(),
        )?;
    }
    for e in &plan.errors {
        writeln!(out, "  row {}: {} / {}", e.row, e.reason, e.reason_zh)?;
    }
    Ok(())
}

pub fn list_imports(
    as_user: &str,
    settings: &Settings,
    console: &mut Console<'_>,
) -> anyhow::Result<()> {
    let db = open_database(settings)?;
    let mut conn = db.get()?;
    let caller = sessions::caller_by_username(&mut conn, as_user)?;
    let list = import_record::list(&mut conn, &caller).map_err(|e| anyhow::anyhow!(e.detail))?;
    for i in list {
        writeln!(
            console.output,
            "{}  {}  {}  {} by {}: {} row(s), {} created, {} updated, {} skipped{}",
            i.id,
            i.list,
            i.file_name,
            i.imported_at,
            i.imported_by_name,
            i.rows,
            i.created,
            i.updated,
            i.skipped,
            i.undone_at
                .map(|t| format!(", undone {t}"))
                .unwrap_or_default()
        )?;
    }
    Ok(())
}

pub fn undo_import(
    id: &str,
    as_user: &str,
    settings: &Settings,
    console: &mut Console<'_>,
) -> anyhow::Result<()> {
    let db = open_database(settings)?;
    let mut conn = db.get()?;
    let caller = sessions::caller_by_username(&mut conn, as_user)?;
    let clock = settings.clock();
    match import_record::undo(&mut conn, &caller, id, clock) {
        Ok(s) => {
            writeln!(
                console.output,
                "import {} undone: {} issue(s) removed",
                s.id, s.created
            )?;
            Ok(())
        }
        Err(e) => {
            print_rejection(&e, console)?;
            anyhow::bail!("undo refused; nothing was changed")
        }
    }
}

/// Prints a refused import: the summary, then each bad row in English and Chinese.
pub(crate) fn print_rejection(
    e: &crate::error::AppError,
    console: &mut Console<'_>,
) -> anyhow::Result<()> {
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
