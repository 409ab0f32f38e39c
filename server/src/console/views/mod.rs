//! One module per page group of the console.

pub mod admin_places;
pub mod admin_users;
pub mod dashboard;
pub mod documents;
pub mod facts;
pub mod import;
pub mod inspections;
pub mod issue;
pub mod ledger;
pub mod login;
pub mod photos;
pub mod queue;
pub mod rankings;
pub mod sheet;
pub mod sync;
