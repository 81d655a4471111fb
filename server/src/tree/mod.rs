//! The replicated state machine's data model: ZooKeeper's DataTree.
//!
//! Every replica applies the same [`Op`]s with the same zxids and times in
//! the same order, so everything here is deterministic: nothing depends on a
//! hash map's order (see [`nodes`]), no clocks, no randomness, and requests are validated at apply time rather than
//! by the leader, so a rejected write is just as replicated as an accepted one
//! (and, as in ZooKeeper, still consumes its zxid).

mod apply;
pub mod node;
mod nodes;
pub mod op;
pub mod path;
pub mod quota;
mod snapshot;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use nodes::Nodes;

use serde::{Deserialize, Serialize};
use zkproto::{perms, Stat};

pub use node::{Acl, Children, Id, Node, NodeKind, CONTAINER_OWNER, MAX_TTL_MS};
pub use op::{
    Applied, Caller, CheckOp, CreateOp, DeleteOp, MultiOp, MultiOpResult, Op, SetAclOp, SetDataOp,
    Trigger,
};
pub use snapshot::SnapshotError;

/// ZooKeeper's system nodes; they exist from the start and cannot be deleted.
pub const ZOOKEEPER: &str = "/zookeeper";
pub const QUOTA: &str = "/zookeeper/quota";
pub const CONFIG: &str = "/zookeeper/config";

/// An open session as the state machine knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub timeout_ms: i32,
    #[serde(default, with = "serde_bytes")]
    pub passwd: Vec<u8>,
    /// Paths of the ephemeral nodes it owns.
    pub ephemerals: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataTree {
    /// Every node by full path; a node's `children` hold names only.
    nodes: Nodes,
    sessions: BTreeMap<i64, Session>,
    /// The zxid of the last applied entry (0 for a fresh tree).
    last_zxid: i64,
}

impl Default for DataTree {
    fn default() -> Self {
        DataTree::new()
    }
}

impl DataTree {
    /// ZooKeeper's initial tree: `/`, `/zookeeper`, `/zookeeper/quota` and
    /// `/zookeeper/config`, all with zeroed stats and empty data. ZooKeeper
    /// sets `/zookeeper/config`'s ACL to world:anyone:r through setACL with
    /// version -1, which leaves its aversion at -1; we reproduce that.
    pub fn new() -> DataTree {
        let open = || vec![Acl::world_anyone(perms::ALL)];
        let blank = |acl| Node::new(Vec::new(), acl, 0, 0, 0);
        let mut root = blank(open());
        root.children.insert("zookeeper".into());
        let mut zk = blank(open());
        zk.children.insert("quota".into());
        zk.children.insert("config".into());
        let mut config = blank(vec![Acl::world_anyone(perms::READ)]);
        config.aversion = -1;
        let nodes = Nodes::from_iter([
            ("/".to_owned(), root),
            (ZOOKEEPER.to_owned(), zk),
            (QUOTA.to_owned(), blank(open())),
            (CONFIG.to_owned(), config),
        ]);
        DataTree {
            nodes,
            sessions: BTreeMap::new(),
            last_zxid: 0,
        }
    }

    pub fn last_zxid(&self) -> i64 {
        self.last_zxid
    }

    /// Entries that change no node (a new leader's blank entry, a
    /// membership change) still consume a zxid.
    pub fn advance(&mut self, zxid: i64) {
        self.last_zxid = self.last_zxid.max(zxid);
    }

    pub fn node(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    /// getData: the node's data and stat.
    pub fn get(&self, path: &str) -> Option<(&[u8], Stat)> {
        self.nodes.get(path).map(|n| (n.data.as_slice(), n.stat()))
    }

    /// exists.
    pub fn exists(&self, path: &str) -> Option<Stat> {
        self.nodes.get(path).map(Node::stat)
    }

    /// getChildren: names, sorted (ZooKeeper leaves the order unspecified).
    pub fn children(&self, path: &str) -> Option<&Children> {
        self.nodes.get(path).map(|n| &n.children)
    }

    /// getACL.
    pub fn acl(&self, path: &str) -> Option<(&[Acl], Stat)> {
        self.nodes.get(path).map(|n| (n.acl.as_slice(), n.stat()))
    }

    /// getAllChildrenNumber: how many nodes lie below `path`.
    pub fn all_children_number(&self, path: &str) -> Option<usize> {
        self.nodes.get(path)?;
        if path == "/" {
            return Some(self.nodes.len() - 1);
        }
        let mut n = 0;
        self.walk_below(path, |_, _| n += 1);
        Some(n)
    }

    /// Calls `f` with every node strictly below `root` (which exists), by
    /// following children lists: the node table has no order to range over.
    pub fn walk_below(&self, root: &str, mut f: impl FnMut(&str, &Node)) {
        let mut stack = vec![root.to_owned()];
        while let Some(p) = stack.pop() {
            let Some(n) = self.nodes.get(&p) else {
                continue;
            };
            for c in &n.children {
                let child = path::join(&p, c);
                if let Some(cn) = self.nodes.get(&child) {
                    f(&child, cn);
                }
                stack.push(child);
            }
        }
    }

    /// getEphemerals: the session's ephemeral paths starting with `prefix`
    /// (a plain string prefix, as ZooKeeper; "/" or "" means all).
    pub fn ephemerals(&self, session: i64, prefix: &str) -> Vec<&str> {
        let Some(s) = self.sessions.get(&session) else {
            return Vec::new();
        };
        s.ephemerals
            .iter()
            .filter(|p| prefix.is_empty() || prefix == "/" || p.starts_with(prefix))
            .map(String::as_str)
            .collect()
    }

    pub fn session(&self, id: i64) -> Option<&Session> {
        self.sessions.get(&id)
    }

    /// Open sessions with their timeouts and ephemerals, by id.
    pub fn sessions(&self) -> impl Iterator<Item = (i64, &Session)> {
        self.sessions.iter().map(|(id, s)| (*id, s))
    }

    /// Every path, sorted.
    pub fn paths(&self) -> Vec<&str> {
        self.nodes.sorted_paths()
    }

    /// mntr's zk_approximate_data_size: paths plus data, in bytes.
    pub fn approximate_data_size(&self) -> u64 {
        self.nodes
            .iter()
            .map(|(p, n)| (p.len() + n.data.len()) as u64)
            .sum()
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Container paths.
    pub fn containers(&self) -> Vec<&str> {
        self.nodes_of(|k| k == NodeKind::Container)
    }

    /// TTL node paths.
    pub fn ttl_nodes(&self) -> Vec<&str> {
        self.nodes_of(|k| matches!(k, NodeKind::Ttl(_)))
    }

    fn nodes_of(&self, want: impl Fn(NodeKind) -> bool) -> Vec<&str> {
        self.nodes
            .special()
            .filter(|(_, n)| want(n.kind()))
            .map(|(p, _)| p)
            .collect()
    }

    /// What the leader's cleaner should delete (with [`Op::DeleteContainer`])
    /// at `now_ms`, by ZooKeeper's ContainerManager rules: a container once it
    /// has had children and has none, a TTL node once childless and unmodified
    /// for longer than its TTL. ZooKeeper's optional removal of never-used
    /// containers is not implemented.
    pub fn cleanup_candidates(&self, now_ms: i64) -> Vec<&str> {
        self.nodes
            .special()
            .filter(|(_, n)| {
                n.children.is_empty()
                    && match n.kind() {
                        NodeKind::Container => n.cversion > 0,
                        NodeKind::Ttl(ttl) => now_ms.saturating_sub(n.mtime) > ttl,
                        _ => false,
                    }
            })
            .map(|(p, _)| p)
            .collect()
    }

    /// Checks the structural invariants; used after restoring a snapshot and
    /// by tests. Returns the first violation found.
    pub fn check_invariants(&self) -> Result<(), String> {
        if !self.nodes.contains_key("/") {
            return Err("no root".into());
        }
        // In path order, so the violation reported is the same every time.
        for p in self.nodes.sorted_paths() {
            let n = &self.nodes[p];
            if p != "/" {
                let (parent, name) = path::split(p);
                match self.nodes.get(parent) {
                    Some(pn) if pn.children.contains(name) => {}
                    _ => return Err(format!("{p} not listed under its parent")),
                }
                if self.nodes[parent].pzxid < n.czxid {
                    return Err(format!("{parent} pzxid below child {p} czxid"));
                }
            }
            for c in &n.children {
                if !self.nodes.contains_key(&path::join(p, c)) {
                    return Err(format!("{p} lists missing child {c}"));
                }
            }
            if n.czxid > n.mzxid {
                return Err(format!("{p} czxid > mzxid"));
            }
            if let NodeKind::Ephemeral(s) = n.kind() {
                if !n.children.is_empty() {
                    return Err(format!("ephemeral {p} has children"));
                }
                if !self
                    .sessions
                    .get(&s)
                    .is_some_and(|s| s.ephemerals.contains(p))
                {
                    return Err(format!("ephemeral {p} not indexed under its owner"));
                }
            }
        }
        for (id, s) in &self.sessions {
            for p in &s.ephemerals {
                if self.nodes.get(p).map(Node::kind) != Some(NodeKind::Ephemeral(*id)) {
                    return Err(format!("session {id:#x} indexes {p}, not its ephemeral"));
                }
            }
        }
        Ok(())
    }
}
