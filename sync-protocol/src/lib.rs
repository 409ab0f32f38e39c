//! Closeout's shared vocabulary: the types and rules that the server and every phone client agree
//! on. Pure: no I/O, no clocks read, no randomness — a phone app can embed it unchanged.

pub mod client;
pub mod evidence;
pub mod geo;
pub mod inspection;
pub mod issue;
pub mod lifecycle;
pub mod light;
pub mod roles;
pub mod sync;

pub use issue::{IssueSource, Severity};
pub use lifecycle::{ActionKind, IssueState};
pub use light::{Light, LightPolicy};
pub use roles::Role;
