//! The `closeout` binary: parse the command line, load settings, run.

use clap::Parser;
use closeout::cli::{Cli, Command, Console};
use closeout::{Settings, telemetry};
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: configuration: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    if !matches!(cli.command, Command::Serve) {
        // One-shot commands print their own report; keep the log to warnings.
        settings.log.filter = "warn".into();
    }
    // Held to the end of main: dropping it flushes the log lines still queued.
    let _log_guard = telemetry::init_logging(&settings.log);
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut output = std::io::stdout();
    let mut console = Console {
        input: &mut input,
        output: &mut output,
    };
    match closeout::cli::run(cli.command, settings, &mut console) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
