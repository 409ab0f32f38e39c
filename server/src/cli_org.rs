//! `closeout org import [--update [--yes]] | move | merge`: the place tree from the command line,
//! for the operator at the console (trusted), through the same domain functions as the API.

use crate::cli::Console;
use crate::db::org_units;
use crate::domain::place_moves::{self, MergePlace, MovePlace};
use crate::domain::places_import;
use crate::domain::places_update::{self, PlaceDiff};
use crate::ids::OrgUnitId;
use crate::settings::Settings;
use crate::startup::open_database;
use anyhow::Context;
use std::path::Path;

fn id_of(conn: &mut crate::db::DbConnection, code: &str) -> anyhow::Result<OrgUnitId> {
    Ok(org_units::find_by_code(conn, code)?
        .with_context(|| format!("no place with code {code}"))?
        .id)
}

/// A refused change: the stable code and both messages.
fn refused(e: crate::error::AppError) -> anyhow::Error {
    anyhow::anyhow!(
        "{}: {} / {}",
        e.code,
        e.detail,
        e.detail_zh.as_deref().unwrap_or(e.code.message_zh())
    )
}

pub fn import(
    file: &Path,
    update: bool,
    yes: bool,
    settings: &Settings,
    console: &mut Console<'_>,
) -> anyhow::Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let db = open_database(settings)?;
    let mut conn = db.get()?;
    let result = match (update, yes) {
        (false, _) => places_import::import_csv(&mut conn, &bytes).map(|report| {
            format!(
                "imported {}: {} place(s) created, {} already present",
                file.display(),
                report.created,
                report.already_present
            )
        }),
        (true, false) => places_update::plan(&mut conn, &bytes).map(|diff| {
            let mut out = format!(
                "differences between {} and the place tree (nothing was written; add --yes to apply):\n",
                file.display()
            );
            describe(&diff, &mut out);
            out
        }),
        (true, true) => places_update::apply(&mut conn, &bytes).map(|diff| {
            let mut out = format!("applied {}:\n", file.display());
            describe(&diff, &mut out);
            out
        }),
    };
    match result {
        Ok(text) => {
            write!(console.output, "{text}")?;
            Ok(())
        }
        Err(e) => {
            crate::cli_import::print_rejection(&e, console)?;
            anyhow::bail!("import rejected; nothing was written")
        }
    }
}

fn describe(diff: &PlaceDiff, out: &mut String) {
    use std::fmt::Write as _;
    for p in &diff.new {
        let _ = writeln!(out, "  new      {} {}", p.code, p.name);
    }
    for r in &diff.renamed {
        let _ = writeln!(out, "  rename   {} {} -> {}", r.code, r.from, r.to);
    }
    for m in &diff.moved {
        let from = m
            .from_parent
            .as_ref()
            .map_or("(root)".to_owned(), |p| format!("{} {}", p.code, p.name));
        let _ = writeln!(
            out,
            "  move     {} {}: under {from} -> under {} {}",
            m.code, m.name, m.to_parent.code, m.to_parent.name
        );
    }
    for p in &diff.missing {
        let _ = writeln!(
            out,
            "  missing  {} {} (not in the file; left as it is: `org retire` or `org merge` it)",
            p.code, p.name
        );
    }
    let _ = writeln!(
        out,
        "{} new, {} renamed, {} moved, {} missing, {} unchanged",
        diff.new.len(),
        diff.renamed.len(),
        diff.moved.len(),
        diff.missing.len(),
        diff.unchanged
    );
}

pub fn move_place(
    code: &str,
    parent_code: &str,
    reason: Option<String>,
    settings: &Settings,
    console: &mut Console<'_>,
) -> anyhow::Result<()> {
    let db = open_database(settings)?;
    let mut conn = db.get()?;
    let id = id_of(&mut conn, code)?;
    let parent_id = id_of(&mut conn, parent_code)?;
    let moved = place_moves::move_place(&mut conn, None, &id, MovePlace { parent_id, reason })
        .map_err(refused)?;
    writeln!(
        console.output,
        "{code} {} is now under {parent_code}: {} issue(s) recorded the move, {} account(s) will pull afresh",
        moved.place.name, moved.issues, moved.accounts_reset
    )?;
    Ok(())
}

pub fn merge(
    code: &str,
    into_code: &str,
    reason: Option<String>,
    settings: &Settings,
    console: &mut Console<'_>,
) -> anyhow::Result<()> {
    let db = open_database(settings)?;
    let mut conn = db.get()?;
    let id = id_of(&mut conn, code)?;
    let into = id_of(&mut conn, into_code)?;
    let m =
        place_moves::merge(&mut conn, None, &id, MergePlace { into, reason }).map_err(refused)?;
    writeln!(
        console.output,
        "{code} {} merged into {into_code} {}: {} issue(s), {} inspection(s), {} schedule(s), {} deduction(s), {} role grant(s), {} place(s) under it moved; {} account(s) will pull afresh; {code} is retired",
        m.merged.name,
        m.survivor.name,
        m.issues,
        m.inspections,
        m.schedules,
        m.deductions,
        m.role_grants,
        m.children,
        m.accounts_reset
    )?;
    Ok(())
}
