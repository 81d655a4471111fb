//! The tree's node table: every node by full path, plus the index of
//! containers and TTL nodes the leader's cleaner scans.
//!
//! A hash map, because every request looks a path up and a search tree
//! compared long shared path prefixes at every level (a tenth of a loaded
//! server's time). A persistent one (a hash array mapped trie), because a
//! snapshot clones the tree under the lock every request waits on: a plain
//! map of half a million nodes took 190 ms to clone, this one takes none.
//! Keys and nodes are shared pointers, so the trie copying a chunk of
//! entries after a snapshot copies pointers, not paths and data; a node
//! itself is copied only when it changes while a snapshot still holds it.
//!
//! Nothing may depend on the map's order: whatever a replica derives from
//! iteration (snapshots, the cleaner's candidates) goes through sorted
//! paths, so equal trees still give equal bytes and equal txns.

use std::collections::HashMap;
use std::sync::Arc;

use imbl::shared_ptr::DefaultSharedPtr;
use imbl::{GenericHashMap, OrdSet};
use serde::{Deserialize, Serialize, Serializer};

use super::node::{Node, NodeKind};

type Map = GenericHashMap<Arc<str>, Arc<Node>, foldhash::fast::RandomState, DefaultSharedPtr>;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(from = "HashMap<String, Node>")]
pub struct Nodes {
    map: Map,
    /// Containers and TTL nodes: a node's kind is fixed at its creation, so
    /// insert and remove keep this exact.
    special: OrdSet<Arc<str>>,
}

fn is_special(n: &Node) -> bool {
    matches!(n.kind(), NodeKind::Container | NodeKind::Ttl(_))
}

impl From<HashMap<String, Node>> for Nodes {
    fn from(map: HashMap<String, Node>) -> Nodes {
        map.into_iter().collect()
    }
}

impl FromIterator<(String, Node)> for Nodes {
    fn from_iter<I: IntoIterator<Item = (String, Node)>>(iter: I) -> Nodes {
        let mut nodes = Nodes::default();
        for (p, n) in iter {
            nodes.insert(p, n);
        }
        nodes
    }
}

impl PartialEq for Nodes {
    fn eq(&self, other: &Nodes) -> bool {
        self.map == other.map
    }
}

impl Eq for Nodes {}

impl std::ops::Index<&str> for Nodes {
    type Output = Node;

    fn index(&self, path: &str) -> &Node {
        self.get(path).expect("no node at that path")
    }
}

impl Nodes {
    pub fn get(&self, path: &str) -> Option<&Node> {
        self.map.get(path).map(|n| &**n)
    }

    pub fn contains_key(&self, path: &str) -> bool {
        self.map.contains_key(path)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// In no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.map.iter().map(|(p, n)| (&**p, &**n))
    }

    /// Copies the node first if a snapshot still shares it.
    pub fn get_mut(&mut self, path: &str) -> Option<&mut Node> {
        self.map.get_mut(path).map(Arc::make_mut)
    }

    /// A multi's rollback can put back a node of another kind under a path,
    /// so the index follows the node now stored, whatever was there.
    pub fn insert(&mut self, path: String, node: Node) -> Option<Node> {
        let path: Arc<str> = path.into();
        if is_special(&node) {
            self.special.insert(path.clone());
        } else if !self.special.is_empty() {
            self.special.remove(&path);
        }
        self.map.insert(path, Arc::new(node)).map(unshare)
    }

    pub fn remove(&mut self, path: &str) -> Option<Node> {
        let old = self.map.remove(path).map(unshare);
        if old.as_ref().is_some_and(is_special) {
            self.special.remove(path);
        }
        old
    }

    /// Containers and TTL nodes, sorted by path.
    pub fn special(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.special
            .iter()
            .filter_map(|p| self.get(p).map(|n| (&**p, n)))
    }

    /// Every path, sorted.
    pub fn sorted_paths(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.map.keys().map(|p| &**p).collect();
        v.sort_unstable();
        v
    }
}

fn unshare(n: Arc<Node>) -> Node {
    Arc::try_unwrap(n).unwrap_or_else(|shared| (*shared).clone())
}

/// As a map in path order: equal trees serialize to equal bytes.
impl Serialize for Nodes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut entries: Vec<(&str, &Node)> = self.iter().collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        s.collect_map(entries)
    }
}
