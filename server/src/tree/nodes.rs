//! The tree's node table: every node by full path, plus the index of
//! containers and TTL nodes the leader's cleaner scans.
//!
//! A hash map, because every request looks a path up and a search tree
//! compared long shared path prefixes at every level (a tenth of a loaded
//! server's time). A persistent one (a hash array mapped trie), because a
//! snapshot clones the tree under the lock every request waits on: a plain
//! map of half a million nodes took 190 ms to clone, this one takes none,
//! and a node is copied only when it changes while a snapshot still holds it.
//!
//! Nothing may depend on the map's order: whatever a replica derives from
//! iteration (snapshots, the cleaner's candidates) goes through sorted
//! paths, so equal trees still give equal bytes and equal txns.

use std::ops::Deref;

use imbl::shared_ptr::DefaultSharedPtr;
use imbl::{GenericHashMap, OrdSet};
use serde::{Deserialize, Serialize, Serializer};

use super::node::{Node, NodeKind};

type Map = GenericHashMap<String, Node, foldhash::fast::RandomState, DefaultSharedPtr>;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(from = "Map")]
pub struct Nodes {
    map: Map,
    /// Containers and TTL nodes: a node's kind is fixed at its creation, so
    /// insert and remove keep this exact.
    special: OrdSet<String>,
}

fn is_special(n: &Node) -> bool {
    matches!(n.kind(), NodeKind::Container | NodeKind::Ttl(_))
}

impl From<Map> for Nodes {
    fn from(map: Map) -> Nodes {
        let special = map
            .iter()
            .filter(|(_, n)| is_special(n))
            .map(|(p, _)| p.clone())
            .collect();
        Nodes { map, special }
    }
}

impl FromIterator<(String, Node)> for Nodes {
    fn from_iter<I: IntoIterator<Item = (String, Node)>>(iter: I) -> Nodes {
        Nodes::from(iter.into_iter().collect::<Map>())
    }
}

impl PartialEq for Nodes {
    fn eq(&self, other: &Nodes) -> bool {
        self.map == other.map
    }
}

impl Eq for Nodes {}

/// Reads go straight to the map; writes go through [`Nodes::insert`] and
/// [`Nodes::remove`] so the index stays right.
impl Deref for Nodes {
    type Target = Map;

    fn deref(&self) -> &Map {
        &self.map
    }
}

impl Nodes {
    pub fn get_mut(&mut self, path: &str) -> Option<&mut Node> {
        // Copies the node first if a snapshot still shares it.
        self.map.get_mut(path)
    }

    /// A multi's rollback can put back a node of another kind under a path,
    /// so the index follows the node now stored, whatever was there.
    pub fn insert(&mut self, path: String, node: Node) -> Option<Node> {
        if is_special(&node) {
            self.special.insert(path.clone());
        } else if !self.special.is_empty() {
            self.special.remove(&path);
        }
        self.map.insert(path, node)
    }

    pub fn remove(&mut self, path: &str) -> Option<Node> {
        let old = self.map.remove(path);
        if old.as_ref().is_some_and(is_special) {
            self.special.remove(path);
        }
        old
    }

    /// Containers and TTL nodes, sorted by path.
    pub fn special(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.special
            .iter()
            .filter_map(|p| self.map.get(p).map(|n| (p.as_str(), n)))
    }

    /// Every path, sorted.
    pub fn sorted_paths(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.map.keys().map(String::as_str).collect();
        v.sort_unstable();
        v
    }
}

/// As a map in path order: equal trees serialize to equal bytes.
impl Serialize for Nodes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut entries: Vec<(&String, &Node)> = self.map.iter().collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        s.collect_map(entries)
    }
}
