//! Black-box tests over HTTP. One binary; run once on SQLite and once on PostgreSQL
//! (`CLOSEOUT_TEST_BACKEND=postgres`) by `scripts/test`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod accounts;
mod auth;
mod cli;
mod compression;
mod console;
mod errors;
mod import;
mod inspections;
mod issues;
mod ledger;
mod ops;
mod paging;
mod photos;
mod places;
mod references;
mod reports;
mod role_matrix;
mod simulator;
mod startup;
mod sync;
