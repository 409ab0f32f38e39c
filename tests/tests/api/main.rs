//! Black-box tests over HTTP. One binary; run once on SQLite and once on PostgreSQL
//! (`CLOSEOUT_TEST_BACKEND=postgres`) by `scripts/test`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod auth;
mod cli;
mod console;
mod errors;
mod import;
mod inspections;
mod issues;
mod ledger;
mod ops;
mod photos;
mod places;
mod references;
mod reports;
mod simulator;
mod startup;
mod sync;
