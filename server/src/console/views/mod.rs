//! One module per page group of the console.

pub mod dashboard;
pub mod import;
pub mod issue;
pub mod ledger;
pub mod login;
pub mod photos;
pub mod queue;
