//! The device simulator as a command: starts a server on a fresh database (SQLite, or PostgreSQL
//! with CLOSEOUT_TEST_BACKEND=postgres) and runs N phones against it.
//!
//!     cargo run --release -p closeout-tests --bin simulator -- --devices 200 --mutations 50 [--seed N] [--no-restart]

#![allow(clippy::unwrap_used, clippy::expect_used)]

use closeout_tests::TestApp;
use closeout_tests::simulator::{self, Config};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::process::ExitCode {
    let mut config = Config {
        devices: 50,
        mutations_per_device: 50,
        seed: 20261121,
        restart: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .and_then(|v| v.parse::<u64>().ok())
                .expect("a number after the flag")
        };
        match arg.as_str() {
            "--devices" => config.devices = value() as usize,
            "--mutations" => config.mutations_per_device = value() as usize,
            "--seed" => config.seed = value(),
            "--no-restart" => config.restart = false,
            other => {
                eprintln!(
                    "unknown argument {other}; usage: simulator [--devices N] [--mutations N] [--seed N] [--no-restart]"
                );
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    let mut app = TestApp::spawn_with(|s| s.ledger.escalation_interval_secs = 0).await;
    println!(
        "backend {:?}, seed {}",
        closeout_tests::backend(),
        config.seed
    );
    let report = simulator::run(&mut app, &config).await;
    report.print();
    if report.passed() {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}
