//! Offline sync: devices, pushing mutations (exactly-once, in device order, conflicts kept),
//! pulling the change feed (scoped, with tombstones), and resolving conflicts. The wire format and
//! merge rule are `closeout_sync_protocol::sync`; docs/sync-protocol.md is the contract.

mod apply;
mod bulk;
pub mod conflicts;
pub mod decode;
pub mod devices;
pub mod pull;
pub mod push;
pub mod waiting;

/// The result of a mutation with only its id, sequence number and status set.
pub(crate) use apply::result;
