//! What reports are made of: the ledger's rows with the names people read, statistics per place
//! and category over a period, bulletins, before/after albums. Data only, scoped to the caller
//! exactly like the issue list; rendering is `crate::reports`.

pub mod album;
pub mod bulletin;
pub mod ledger;
pub mod names;
pub mod period;
pub mod rankings;
pub mod stats;
mod tally;
