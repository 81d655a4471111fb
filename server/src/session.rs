//! Session liveness as the leader sees it: when each session was last
//! heard from. Only the leader acts on it (by proposing closeSession); the
//! tree is where sessions really live, so a new leader rebuilds this from
//! the tree and gives every session a full timeout.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use rand::RngCore;
use sha1::{Digest, Sha1};

#[derive(Debug, Default)]
pub struct SessionTracker {
    deadlines: HashMap<i64, (Instant, Duration)>,
    /// Expiries proposed and not yet applied: not proposed twice.
    closing: HashSet<i64>,
}

impl SessionTracker {
    pub fn add(&mut self, id: i64, timeout_ms: i32, now: Instant) {
        let t = Duration::from_millis(timeout_ms.max(0) as u64);
        self.deadlines.insert(id, (now + t, t));
        self.closing.remove(&id);
    }

    /// Any packet from the session's client pushes its deadline out.
    pub fn touch(&mut self, id: i64, now: Instant) -> bool {
        match self.deadlines.get_mut(&id) {
            Some((deadline, t)) => {
                *deadline = now + *t;
                true
            }
            None => false,
        }
    }

    pub fn remove(&mut self, id: i64) {
        self.deadlines.remove(&id);
        self.closing.remove(&id);
    }

    pub fn contains(&self, id: i64) -> bool {
        self.deadlines.contains_key(&id)
    }

    /// Sessions past their deadline that nobody is closing yet; they are
    /// marked as closing.
    pub fn take_expired(&mut self, now: Instant) -> Vec<i64> {
        let mut out: Vec<i64> = self
            .deadlines
            .iter()
            .filter(|(id, (d, _))| *d <= now && !self.closing.contains(id))
            .map(|(id, _)| *id)
            .collect();
        out.sort_unstable();
        self.closing.extend(out.iter().copied());
        out
    }

    /// A proposal that failed (lost leadership): try again later.
    pub fn unmark(&mut self, id: i64) {
        self.closing.remove(&id);
    }

    pub fn len(&self) -> usize {
        self.deadlines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.deadlines.is_empty()
    }
}

/// Session ids: the member id in the top byte (kept below 0x80 so ids stay
/// non-negative), then milliseconds and a counter, as ZooKeeper lays them out.
#[derive(Debug)]
pub struct SessionIds {
    next: i64,
}

impl SessionIds {
    pub fn new(member: u64, now_ms: i64) -> SessionIds {
        let top = ((member & 0x7f) as i64) << 56;
        let low = (now_ms << 24) as u64 >> 8;
        SessionIds {
            next: top | (low as i64 & 0x00ff_ffff_ffff_ffff),
        }
    }

    pub fn allocate(&mut self) -> i64 {
        self.next += 1;
        self.next
    }
}

/// A fresh 16-byte session password.
pub fn new_password() -> Vec<u8> {
    let mut p = vec![0u8; 16];
    rand::thread_rng().fill_bytes(&mut p);
    // Mixed through sha1 so a weak generator does not show through.
    Sha1::digest(&p)[..16].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_positive_unique_and_carry_the_member() {
        let mut g = SessionIds::new(3, 1_790_000_000_000);
        let a = g.allocate();
        let b = g.allocate();
        assert!(a > 0 && b == a + 1);
        assert_eq!(a >> 56, 3);
        let mut g = SessionIds::new(255, i64::MAX);
        assert!(g.allocate() > 0);
    }

    #[test]
    fn expiry_fires_once_and_touch_defers_it() {
        let t0 = Instant::now();
        let mut s = SessionTracker::default();
        s.add(1, 100, t0);
        s.add(2, 100, t0);
        assert!(s.take_expired(t0 + Duration::from_millis(50)).is_empty());
        assert!(s.touch(2, t0 + Duration::from_millis(60)));
        assert_eq!(s.take_expired(t0 + Duration::from_millis(120)), vec![1]);
        assert!(s.take_expired(t0 + Duration::from_millis(130)).is_empty());
        assert_eq!(s.take_expired(t0 + Duration::from_millis(170)), vec![2]);
        s.unmark(2);
        assert_eq!(s.take_expired(t0 + Duration::from_millis(171)), vec![2]);
        s.remove(1);
        assert!(!s.contains(1) && s.contains(2));
    }
}
