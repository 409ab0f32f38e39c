//! `closeout category-alias list | add | remove`: category aliases for the 交办清单 importer, for
//! the operator at the console (trusted); the rules are those of `/api/v1/category-aliases`.

use crate::cli::Console;
use crate::db::{DbConnection, org_units};
use crate::domain::category_aliases::{self, NewCategoryAlias};
use crate::ids::OrgUnitId;
use crate::settings::Settings;
use crate::startup::open_database;
use anyhow::Context;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum AliasCommand {
    /// List the shipped defaults and every county's aliases.
    List,
    /// Map a wording to a category code, for one county (--county CODE) or as a default.
    Add {
        alias: String,
        category: String,
        #[arg(long, value_name = "COUNTY_CODE")]
        county: Option<String>,
    },
    /// Remove a wording, of one county (--county CODE) or of the defaults.
    Remove {
        alias: String,
        #[arg(long, value_name = "COUNTY_CODE")]
        county: Option<String>,
    },
}

fn county(conn: &mut DbConnection, code: Option<&str>) -> anyhow::Result<Option<OrgUnitId>> {
    code.map(|c| {
        Ok(org_units::find_by_code(conn, c)?
            .with_context(|| format!("no place with code {c}"))?
            .id)
    })
    .transpose()
}

fn refused(e: crate::error::AppError) -> anyhow::Error {
    anyhow::anyhow!(
        "{}: {} / {}",
        e.code,
        e.detail,
        e.detail_zh.as_deref().unwrap_or(e.code.message_zh())
    )
}

pub fn run(
    command: AliasCommand,
    settings: &Settings,
    console: &mut Console<'_>,
) -> anyhow::Result<()> {
    let db = open_database(settings)?;
    let mut conn = db.get()?;
    match command {
        AliasCommand::List => {
            for (a, path) in crate::db::category_aliases::all(&mut conn)? {
                let scope = match (&a.county_id, path) {
                    (Some(id), Some(_)) => org_units::find(&mut conn, id)?.map_or_else(
                        || id.to_string(),
                        |p| format!("{} {}", p.code.unwrap_or_default(), p.name),
                    ),
                    _ => "(default)".to_owned(),
                };
                writeln!(
                    console.output,
                    "{}\t{}\t{}",
                    a.alias, a.category_code, scope
                )?;
            }
        }
        AliasCommand::Add {
            alias,
            category,
            county: code,
        } => {
            let county_id = county(&mut conn, code.as_deref())?;
            let input = NewCategoryAlias {
                alias,
                category,
                county_id,
            };
            let a = category_aliases::add(&mut conn, None, input).map_err(refused)?;
            writeln!(
                console.output,
                "{} now means {} ({})",
                a.alias,
                a.category,
                code.as_deref().unwrap_or("default")
            )?;
        }
        AliasCommand::Remove {
            alias,
            county: code,
        } => {
            let county_id = county(&mut conn, code.as_deref())?;
            let found = category_aliases::find_wording(&mut conn, county_id.as_ref(), &alias)
                .map_err(refused)?
                .with_context(|| format!("no alias {alias} there"))?;
            category_aliases::remove(&mut conn, None, &found.id).map_err(refused)?;
            writeln!(console.output, "{alias} removed")?;
        }
    }
    Ok(())
}
