//! ZooKeeper's quotas: limits live in `/zookeeper/quota/<path>/zookeeper_limits`
//! (`count=..,bytes=..[,countHardLimit=..,byteHardLimit=..]`), usage in the
//! sibling `zookeeper_stats` node, which the tree keeps current. Hard limits
//! are enforced when the writing request asks for it (zoo.cfg `enforceQuota`,
//! carried in the entry so every member judges alike); soft limits are only
//! reported by the stats.

use super::{path, DataTree, QUOTA};

pub const LIMITS: &str = "zookeeper_limits";
pub const STATS: &str = "zookeeper_stats";

/// One `k=v,k=v` quota record; -1 means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Track {
    pub count: i64,
    pub bytes: i64,
    pub count_hard: i64,
    pub bytes_hard: i64,
}

impl Track {
    pub fn parse(data: &[u8]) -> Track {
        let mut t = Track {
            count: -1,
            bytes: -1,
            count_hard: -1,
            bytes_hard: -1,
        };
        // ZooKeeper 3.8's zkCli writes hard limits as
        // "count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=2": pairs split
        // on ',' or ';', and a stray '=' after a value.
        for kv in String::from_utf8_lossy(data).split([',', ';']) {
            let mut parts = kv.split('=').filter(|s| !s.is_empty());
            let (Some(k), Some(v)) = (parts.next(), parts.next()) else {
                continue;
            };
            let Ok(v) = v.trim().parse::<i64>() else {
                continue;
            };
            match k.trim() {
                "count" => t.count = v,
                "bytes" => t.bytes = v,
                "countHardLimit" => t.count_hard = v,
                "byteHardLimit" => t.bytes_hard = v,
                _ => {}
            }
        }
        t
    }
}

/// Where a path's quota records live.
pub fn quota_path(root: &str, leaf: &str) -> String {
    format!("{QUOTA}{root}/{leaf}")
}

impl DataTree {
    fn quotas_exist(&self) -> bool {
        self.nodes
            .get(QUOTA)
            .is_some_and(|n| !n.children.is_empty())
    }

    /// The deepest ancestor-or-self of `p` that has a limits node.
    pub fn quota_root(&self, p: &str) -> Option<String> {
        if !self.quotas_exist() || p.starts_with(QUOTA) {
            return None;
        }
        let mut cur = p;
        while cur != "/" {
            if self.nodes.contains_key(&quota_path(cur, LIMITS)) {
                return Some(cur.to_owned());
            }
            cur = path::split(cur).0;
        }
        None
    }

    /// (nodes, data bytes) in the subtree at `root`, itself included.
    pub fn usage(&self, root: &str) -> (i64, i64) {
        let Some(n) = self.nodes.get(root) else {
            return (0, 0);
        };
        let (mut count, mut bytes) = (1, n.data.len() as i64);
        self.walk_below(root, |_, n| {
            count += 1;
            bytes += n.data.len() as i64;
        });
        (count, bytes)
    }

    /// Whether adding `count` nodes and `bytes` bytes under `p` would pass a
    /// hard limit.
    pub fn exceeds_quota(&self, p: &str, count: i64, bytes: i64) -> bool {
        let Some(root) = self.quota_root(p) else {
            return false;
        };
        let Some(limits) = self.nodes.get(&quota_path(&root, LIMITS)) else {
            return false;
        };
        let t = Track::parse(&limits.data);
        let (c, b) = self.usage(&root);
        (t.count_hard > -1 && count > 0 && c + count > t.count_hard)
            || (t.bytes_hard > -1 && bytes > 0 && b + bytes > t.bytes_hard)
    }

    /// Rewrites the stats node of every quota root that `touched` paths fall
    /// under (or that they are the quota records of).
    pub fn refresh_quota_stats<'a>(&mut self, touched: impl Iterator<Item = &'a str>) {
        if !self.quotas_exist() {
            return;
        }
        let mut roots: Vec<String> = Vec::new();
        for p in touched {
            let root = if p.starts_with(QUOTA) {
                // A limits or stats node itself: the path it is about.
                let (parent, leaf) = path::split(p);
                (leaf == LIMITS || leaf == STATS)
                    .then(|| parent[QUOTA.len()..].to_owned())
                    .filter(|r| !r.is_empty())
            } else {
                self.quota_root(p)
            };
            if let Some(r) = root {
                if !roots.contains(&r) {
                    roots.push(r);
                }
            }
        }
        for root in roots {
            let stats = quota_path(&root, STATS);
            if !self.nodes.contains_key(&stats) {
                continue;
            }
            let (c, b) = self.usage(&root);
            if let Some(n) = self.nodes.get_mut(&stats) {
                // Kept in place like ZooKeeper's updateCountBytes: no version
                // or mzxid change, so clients' versioned writes still work.
                n.data = format!("count={c},bytes={b}").into_bytes();
            }
        }
    }
}
