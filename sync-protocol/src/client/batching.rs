//! Adaptive batch size for pushes on weak links (docs/sync-protocol.md, "Batch sizes on 2G/3G").
//! A batch is all-or-nothing on the wire; one that never fits through the link makes no progress
//! however often it is resent. The rule: halve after a failed attempt (down to 1), double after
//! [`GROW_AFTER`] successes in a row (up to [`MAX_BATCH`]). Re-splitting is safe because the
//! server judges every mutation by its own `id` and `seq`: the same mutations may be resent in any
//! grouping, never renumbered.

use serde::{Deserialize, Serialize};

/// The server's maximum mutations per push.
pub const MAX_BATCH: usize = 1000;
/// Successful pushes in a row before the batch doubles.
pub const GROW_AFTER: u32 = 3;
/// Where a phone on 2G/3G starts (about 50 KiB of issue reports).
pub const WEAK_LINK_START: usize = 100;
/// Where a phone on Wi-Fi or 4G starts.
pub const GOOD_LINK_START: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchSizer {
    size: usize,
    successes: u32,
}

impl Default for BatchSizer {
    fn default() -> Self {
        Self::starting_at(WEAK_LINK_START)
    }
}

impl BatchSizer {
    pub fn starting_at(size: usize) -> Self {
        Self {
            size: size.clamp(1, MAX_BATCH),
            successes: 0,
        }
    }

    /// How many mutations the next push should carry.
    pub fn size(&self) -> usize {
        self.size
    }

    /// A push got its answer.
    pub fn succeeded(&mut self) {
        self.successes += 1;
        if self.successes >= GROW_AFTER {
            self.size = (self.size * 2).min(MAX_BATCH);
            self.successes = 0;
        }
    }

    /// A push got no answer (timeout, dropped link, 5xx, 413).
    pub fn failed(&mut self) {
        self.size = (self.size / 2).max(1);
        self.successes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_on_failure_and_doubles_after_three_successes() {
        let mut b = BatchSizer::starting_at(100);
        b.failed();
        b.failed();
        assert_eq!(b.size(), 25);
        b.succeeded();
        b.succeeded();
        assert_eq!(b.size(), 25);
        b.succeeded();
        assert_eq!(b.size(), 50);
        for _ in 0..10 {
            b.failed();
        }
        assert_eq!(b.size(), 1);
        for _ in 0..60 {
            b.succeeded();
        }
        assert_eq!(b.size(), MAX_BATCH);
        assert_eq!(BatchSizer::starting_at(0).size(), 1);
    }
}
