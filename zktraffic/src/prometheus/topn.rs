//! Bounded-cardinality ranking for the client and path counters.

use std::collections::HashMap;

/// The label value of everything outside the top N.
pub const OTHER: &str = "other";

#[derive(Debug, Clone, Default)]
struct Ranked {
    total: u64,
    /// What its exported series shows: only requests counted while labeled,
    /// so neither it nor `other` ever goes down.
    exported: u64,
    labeled: bool,
}

/// Request counters for the N busiest keys of an unbounded set, plus `other`.
///
/// A key gets its own series when it enters the top N and loses it when it
/// drops out; requests are counted under whichever series the key had at the
/// time, so every exported series is a monotonic counter and their sum grows
/// exactly with the requests counted while they were exported.
#[derive(Debug, Clone)]
pub(super) struct TopN {
    n: usize,
    max_keys: usize,
    keys: HashMap<String, Ranked>,
    labeled: Vec<String>,
    other: u64,
}

impl TopN {
    pub(super) fn new(n: usize, max_keys: usize) -> TopN {
        TopN {
            n,
            max_keys: max_keys.max(1),
            keys: HashMap::new(),
            labeled: Vec::new(),
            other: 0,
        }
    }

    pub(super) fn add(&mut self, key: &str) {
        if !self.keys.contains_key(key)
            && self.keys.len() >= self.max_keys
            && !self.forget_least_busy()
        {
            self.other += 1;
            return;
        }
        let e = self.keys.entry(key.to_string()).or_default();
        e.total += 1;
        if e.labeled {
            e.exported += 1;
            return;
        }
        let total = e.total;
        if self.labeled.len() < self.n {
            self.promote(key);
            return;
        }
        let weakest = self
            .labeled
            .iter()
            .enumerate()
            .min_by_key(|(_, k)| self.keys[k.as_str()].total);
        let Some((slot, weakest_total)) = weakest.map(|(i, k)| (i, self.keys[k.as_str()].total))
        else {
            self.other += 1; // n == 0
            return;
        };
        // 10% hysteresis, so two keys of equal weight do not swap series on every request.
        if total.saturating_mul(10) > weakest_total.saturating_mul(11) {
            let old = self.labeled.swap_remove(slot);
            if let Some(o) = self.keys.get_mut(&old) {
                o.labeled = false;
            }
            self.promote(key);
        } else {
            self.other += 1;
        }
    }

    fn promote(&mut self, key: &str) {
        let e = self.keys.get_mut(key).expect("promoted keys are tracked");
        e.labeled = true;
        e.exported += 1;
        self.labeled.push(key.to_string());
    }

    /// Drops the less busy half of the unlabeled keys; false when none could go.
    fn forget_least_busy(&mut self) -> bool {
        let mut idle: Vec<(u64, String)> = self
            .keys
            .iter()
            .filter(|(_, e)| !e.labeled)
            .map(|(k, e)| (e.total, k.clone()))
            .collect();
        if idle.is_empty() {
            return false;
        }
        idle.sort_unstable();
        let drop = idle.len().div_ceil(2);
        for (_, k) in idle.into_iter().take(drop) {
            self.keys.remove(&k);
        }
        true
    }

    /// The exported series, by label value.
    pub(super) fn series(&self) -> Vec<(&str, u64)> {
        let mut v: Vec<(&str, u64)> = self
            .labeled
            .iter()
            .map(|k| (k.as_str(), self.keys[k.as_str()].exported))
            .collect();
        v.sort_unstable();
        v.push((OTHER, self.other));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_n_series_stay_monotonic() {
        let mut t = TopN::new(2, 100);
        for k in ["a"; 5].iter().chain(&["b"; 3]).chain(&["c"]) {
            t.add(k);
        }
        assert_eq!(t.series(), [("a", 5), ("b", 3), (OTHER, 1)]);
        // c needs more than 110% of b's 3 requests to take its place.
        t.add("c");
        t.add("c");
        assert_eq!(t.series(), [("a", 5), ("b", 3), (OTHER, 3)]);
        t.add("c");
        t.add("c");
        assert_eq!(t.series(), [("a", 5), ("c", 2), (OTHER, 3)]);
        // b comes back at 4 total: not above 110% of c's 5.
        t.add("b");
        assert_eq!(t.series(), [("a", 5), ("c", 2), (OTHER, 4)]);
    }

    #[test]
    fn top_n_forgets_idle_keys_to_stay_bounded() {
        let mut t = TopN::new(1, 4);
        for k in ["a", "a", "b", "c", "d", "e", "f", "g"] {
            t.add(k);
            assert!(t.keys.len() <= 4);
        }
        assert_eq!(t.series(), [("a", 2), (OTHER, 6)]);
        // A newcomer can still rise once it outweighs the top.
        for _ in 0..3 {
            t.add("h");
        }
        assert_eq!(t.series(), [("h", 1), (OTHER, 8)]);
    }
}
