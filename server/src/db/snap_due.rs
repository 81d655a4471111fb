//! When to ask Raft for a snapshot: every `snapCount` applied writes.
//!
//! Entries batch many writes, so Raft's own entry-count policy would
//! snapshot far too rarely; writes are counted here instead. openraft drops
//! a request that arrives while a snapshot is being built, and a big tree
//! built at a low priority on a busy member can take longer than
//! `snapCount` writes: so while a snapshot is overdue the request is
//! repeated every [`RETRY`] writes rather than made once and lost (which
//! stopped snapshots, and with them log compaction, for good).

use std::sync::atomic::{AtomicU64, Ordering};

/// Writes between two requests for an overdue snapshot.
pub const RETRY: u64 = 1000;

#[derive(Debug)]
pub struct SnapDue {
    since: AtomicU64,
    every: AtomicU64,
}

impl Default for SnapDue {
    fn default() -> Self {
        SnapDue {
            since: AtomicU64::new(0),
            every: AtomicU64::new(100_000),
        }
    }
}

impl SnapDue {
    pub fn set_every(&self, n: u64) {
        self.every.store(n.max(1), Ordering::Relaxed);
    }

    /// Counts one applied write; true when a snapshot should be asked for
    /// now.
    pub fn applied(&self) -> bool {
        let n = self.since.fetch_add(1, Ordering::Relaxed) + 1;
        let every = self.every.load(Ordering::Relaxed);
        n == every || (n > every && (n - every).is_multiple_of(RETRY))
    }

    /// A snapshot is being taken of everything applied so far.
    pub fn taken(&self) {
        self.since.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asks(d: &SnapDue, writes: u64) -> Vec<u64> {
        (1..=writes).filter(|_| d.applied()).collect::<Vec<_>>()
    }

    #[test]
    fn asks_at_the_count_then_again_while_overdue_and_restarts_when_taken() {
        let d = SnapDue::default();
        d.set_every(50);
        // The n-th write of this call that asked.
        assert_eq!(asks(&d, 49), Vec::<u64>::new());
        assert_eq!(asks(&d, 1), vec![1], "the 50th write asks");
        // No snapshot started (the request was dropped): ask again.
        assert_eq!(asks(&d, 2 * RETRY), vec![RETRY, 2 * RETRY]);
        d.taken();
        assert_eq!(asks(&d, 60), vec![50], "counting restarts at the snapshot");
    }

    #[test]
    fn a_count_below_one_is_one() {
        let d = SnapDue::default();
        d.set_every(0);
        assert_eq!(asks(&d, 2), vec![1]);
    }
}
