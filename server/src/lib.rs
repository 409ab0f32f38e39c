//! Closeout: the server that inspectors' and grid workers' phones sync with and that supervision
//! offices work in. Layers: `api` (HTTP) → `domain` (rules) → `db` (storage). See docs/architecture.md.

pub mod api;
pub mod auth;
pub mod cli;
pub mod cli_aliases;
pub mod cli_backup;
pub mod cli_export;
pub mod cli_import;
pub mod cli_org;
pub mod cli_users;
pub mod console;
pub mod db;
pub mod domain;
pub mod error;
pub mod ids;
pub mod media;
pub mod reports;
pub mod settings;
pub mod startup;
pub mod storage;
pub mod telemetry;
pub mod zone;

pub use error::{AppError, ErrorCode};
pub use settings::Settings;
pub use startup::Application;
