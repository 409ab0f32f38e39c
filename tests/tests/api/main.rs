//! Black-box tests over HTTP. One binary; run once on SQLite and once on PostgreSQL
//! (`CLOSEOUT_TEST_BACKEND=postgres`) by `scripts/test`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod accounts;
mod auth;
mod backup;
mod category_aliases;
mod cli;
mod compression;
mod console;
mod console_admin_forms;
mod console_client;
mod console_lights;
mod console_office;
mod documents;
mod errors;
mod faults;
mod history;
mod import;
mod import_county;
mod import_record;
mod inspections;
mod issues;
mod ledger;
mod lights;
mod ops;
mod paging;
mod photos;
mod place_changes;
mod place_moves;
mod places;
mod references;
mod replicas;
mod reports;
mod role_matrix;
mod simulator;
mod sorting;
mod startup;
mod sync;
