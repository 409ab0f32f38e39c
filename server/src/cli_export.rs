//! `closeout export ledger`: the ledger export of `GET /api/v1/reports/ledger` written to a file
//! from the command line, as a named user (so it is scoped exactly as that user's download), with
//! a progress bar. Filters are given as the API's query parameters and parsed by the same parser.

use crate::api::issues::ListIssues;
use crate::db::org_units;
use crate::domain::reports::ledger::{self as ledger_data, Office};
use crate::domain::sessions;
use crate::reports::ledger::{self, Format};
use crate::settings::Settings;
use crate::startup::open_database;
use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ExportLedger {
    /// The user the export is made as: it holds what that user may see, no more.
    #[arg(long = "as", value_name = "USERNAME")]
    pub as_user: String,
    /// xlsx, csv or geojson.
    #[arg(long, default_value = "xlsx")]
    pub format: String,
    /// The file to write (written beside as FILE.part, renamed when complete).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
    /// Only this place's subtree, by code (e.g. 130102001001) or id.
    #[arg(long, value_name = "CODE")]
    pub place: Option<String>,
    /// A filter of GET /api/v1/issues, repeatable: --filter state=assigned,rectifying
    /// --filter overdue=true --filter created_from=2026-11-01T00:00:00+08:00
    #[arg(long = "filter", value_name = "NAME=VALUE")]
    pub filters: Vec<String>,
    /// No progress bar (for scripts).
    #[arg(long)]
    pub quiet: bool,
}

/// Percent-encodes a query value (everything but unreserved characters).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn export_ledger(
    args: ExportLedger,
    settings: &Settings,
    output: &mut dyn Write,
) -> anyhow::Result<()> {
    let format = Format::parse(&args.format).map_err(|e| anyhow::anyhow!(e.detail))?;
    let db = open_database(settings)?;
    let mut conn = db.get()?;
    let caller = sessions::caller_by_username(&mut conn, &args.as_user)
        .map_err(|e| anyhow::anyhow!("--as {}: {}", args.as_user, e.detail))?;
    let mut pairs = Vec::new();
    for filter in &args.filters {
        let (name, value) = filter
            .split_once('=')
            .with_context(|| format!("--filter {filter}: expected NAME=VALUE"))?;
        pairs.push(format!("{}={}", encode(name), encode(value)));
    }
    if let Some(place) = &args.place {
        let id = match uuid::Uuid::parse_str(place) {
            Ok(id) => id.to_string(),
            Err(_) => org_units::find_by_code(&mut conn, place)?
                .with_context(|| format!("--place: no place with code {place}"))?
                .id
                .to_string(),
        };
        pairs.push(format!("place_id={id}"));
    }
    let filters = actix_web::web::Query::<ListIssues>::from_query(&pairs.join("&"))
        .map_err(|e| anyhow::anyhow!("--filter: {e}"))?
        .into_inner();
    anyhow::ensure!(
        filters.cursor.is_none() && filters.limit.is_none(),
        "--filter: cursor and limit do not apply to an export (it holds every matching issue)"
    );
    let request = filters
        .into_request()
        .map_err(|e| anyhow::anyhow!("--filter: {}", e.detail))?;
    let office = Office::new(settings.clock());
    let meta = ledger_data::prepare(&mut conn, &caller, &request, office)
        .map_err(|e| anyhow::anyhow!(e.detail))?;

    let part = args
        .output
        .with_extension(format!("{}.part", format.extension()));
    let file =
        std::fs::File::create(&part).with_context(|| format!("creating {}", part.display()))?;
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(u64::try_from(meta.total).unwrap_or(0))
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} issues {elapsed} (eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let result = ledger::export(
        &mut conn,
        &caller,
        &request,
        office,
        &meta,
        format,
        std::io::BufWriter::with_capacity(256 * 1024, file),
        &mut |done| bar.set_position(done),
    );
    bar.finish_and_clear();
    let written = match result {
        Ok(w) => w,
        Err(e) => {
            let _ = std::fs::remove_file(&part);
            anyhow::bail!("export failed, nothing written: {}", e.detail);
        }
    };
    std::fs::rename(&part, &args.output)
        .with_context(|| format!("renaming {} to {}", part.display(), args.output.display()))?;
    write!(
        output,
        "exported {} issue(s) of {} ({}) to {}",
        written.rows,
        meta.scope,
        meta.period,
        args.output.display()
    )?;
    if written.without_location > 0 {
        write!(
            output,
            "; {} without a location left out",
            written.without_location
        )?;
    }
    writeln!(output)?;
    Ok(())
}
