//! The rules: who may do what where, and what each operation does. Plain functions over a database
//! connection; no HTTP types, so the API, the CLI and background jobs share them.

pub mod access;
pub mod account_lifecycle;
pub mod accounts;
pub mod categories;
pub mod category_aliases;
pub mod console_sessions;
pub mod documents;
pub mod evidence;
pub mod inspections;
pub mod issues;
pub mod keyset;
pub mod photos;
pub mod place_changes;
pub mod place_moves;
pub mod places;
pub mod places_import;
pub mod places_update;
pub mod reports;
pub mod sessions;
pub mod sheet;
pub mod sync;
pub mod uploads;

/// The time as stored: UTC, without zone (both backends' TIMESTAMP).
pub fn now() -> chrono::NaiveDateTime {
    chrono::Utc::now().naive_utc()
}
