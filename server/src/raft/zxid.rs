//! The zxid clock, part of the replicated state so that every member
//! derives the same zxid for the same entry.

use serde::{Deserialize, Serialize};

/// `epoch << 32 | counter`. The epoch moves when an entry comes from a new
/// Raft term (a new leader: its blank entry gets counter 0) or when the
/// counter would overflow; every applied entry consumes one zxid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ZxidClock {
    pub epoch: u32,
    pub counter: u32,
    /// The Raft term of the last entry stamped.
    pub term: u64,
}

impl ZxidClock {
    pub fn current(&self) -> i64 {
        ((self.epoch as i64) << 32) | self.counter as i64
    }

    /// Stamps the next entry, which was proposed in `term`.
    pub fn next(&mut self, term: u64) -> i64 {
        if term != self.term || self.counter == u32::MAX {
            self.term = term;
            self.epoch += 1;
            self.counter = 0;
        } else {
            self.counter += 1;
        }
        self.current()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_term_starts_an_epoch_at_counter_zero() {
        let mut c = ZxidClock::default();
        assert_eq!(c.next(1), 1 << 32);
        assert_eq!(c.next(1), (1 << 32) | 1);
        assert_eq!(c.next(3), 2 << 32);
        assert_eq!(c.next(3), (2 << 32) | 1);
    }

    #[test]
    fn counter_overflow_moves_the_epoch() {
        let mut c = ZxidClock {
            epoch: 5,
            counter: u32::MAX - 1,
            term: 9,
        };
        let a = c.next(9);
        let b = c.next(9);
        assert_eq!(a, (5 << 32) | (u32::MAX as i64));
        assert_eq!(b, 6 << 32);
        assert!(b > a);
    }
}
