//! The watch manager: which connection watches which path, and who is told
//! when the data tree reports a change. ZooKeeper 3.9 semantics.
//!
//! Pure bookkeeping: the server feeds it the tree's triggers in order and
//! delivers the events itself.
//!
//! Deliberate choices, each matching ZooKeeper 3.9.2+:
//! - One event per connection per trigger, however many of its watches
//!   match (ZooKeeper collects watchers into a set, and suppresses on the
//!   child table the watchers a delete already reached on the data table).
//! - A one-shot watch that matches is consumed even when `can_read` then
//!   drops the event: ZooKeeper removes it before its per-connection ACL
//!   check.
//! - `can_read` is applied to every kind, not only to recursive watches on
//!   descendants: since 3.9.2 ZooKeeper checks READ on the event's node for
//!   every delivered event. It only bites when a node's ACL changed after the
//!   watch was set, or for exists, which needs no permission.
//! - The four-letter-word views ([`WatchManager::by_conn`],
//!   [`WatchManager::by_path`], [`WatchManager::summary`]) show only what
//!   ZooKeeper's data table holds: getData/exists, persistent and recursive
//!   watches. A connection watching only children is invisible there, as it
//!   is in ZooKeeper's wchc/wchp/wchs. [`WatchManager::count`] counts both
//!   tables, as `zk_watch_count` does.

mod kind;
#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use zkproto::{EventType, WatcherType};

pub use kind::WatchKind;
use kind::{selected, Bits, Reach};

/// A client connection; watches belong to the connection, not the session.
pub type ConnId = u64;

#[derive(Debug, Default)]
pub struct WatchManager {
    /// Looked up on every trigger, so keyed by path.
    by_path: HashMap<String, HashMap<ConnId, Bits>>,
    /// Only for dropping a closed connection's watches.
    by_conn: HashMap<ConnId, HashSet<String>>,
    /// Sum of `Bits::table_entries` over all pairs.
    entries: usize,
    /// Pairs holding a recursive watch; while zero, triggers skip the
    /// ancestor walk.
    recursive: usize,
}

/// The numbers wchs prints, over ZooKeeper's data table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchSummary {
    pub connections: usize,
    pub paths: usize,
    pub watches: usize,
}

impl fmt::Display for WatchSummary {
    /// wchs's text, without the trailing newline ZooKeeper adds after it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} connections watching {} paths\nTotal watches:{}",
            self.connections, self.paths, self.watches
        )
    }
}

impl WatchManager {
    pub fn new() -> WatchManager {
        WatchManager::default()
    }

    /// Sets a watch; false if the connection already held that kind on that
    /// path (a Data and an Exist watch count as the same). setWatches on
    /// reconnect uses this too, after deciding what fires at once.
    pub fn add(&mut self, conn: ConnId, path: &str, kind: WatchKind) -> bool {
        let old = self.change(conn, path, |b| b.with(kind.bits()));
        !old.intersects(kind.bits())
    }

    /// Delivers one trigger of the data tree: `path` is the node for
    /// created/changed/deleted and the parent for children-changed. Returns
    /// the connections to send `event` on `path` to, ascending, each once;
    /// the matched one-shot watches are gone afterwards. Connections for
    /// which `can_read(conn, path)` is false are left out; the caller judges
    /// it against the ACL the node had at the change (for a delete, the
    /// deleted node's). Event types the tree never produces fire nothing.
    pub fn trigger(
        &mut self,
        path: &str,
        event: EventType,
        mut can_read: impl FnMut(ConnId, &str) -> bool,
    ) -> Vec<ConnId> {
        let Some(reach) = Reach::of(event) else {
            return Vec::new();
        };
        let mut fired: Vec<ConnId> = Vec::new();
        let mut consumed: Vec<ConnId> = Vec::new();
        if let Some(conns) = self.by_path.get(path) {
            for (&conn, &bits) in conns {
                if bits.intersects(reach.fires) {
                    fired.push(conn);
                    if bits.intersects(reach.consumes) {
                        consumed.push(conn);
                    }
                }
            }
        }
        for conn in consumed {
            self.change(conn, path, |b| b.without(reach.consumes));
        }
        if reach.ancestors && self.recursive > 0 {
            for ancestor in ancestors(path) {
                let Some(conns) = self.by_path.get(ancestor) else {
                    continue;
                };
                fired.extend(
                    conns
                        .iter()
                        .filter(|(_, bits)| bits.intersects(Bits::RECURSIVE))
                        .map(|(&conn, _)| conn),
                );
            }
        }
        fired.sort_unstable();
        fired.dedup();
        fired.retain(|&conn| can_read(conn, path));
        fired
    }

    /// removeWatches: drops the kinds `watcher_type` selects. False when the
    /// connection held none of them there, which the server answers with
    /// NoWatcher. An undefined `watcher_type` selects nothing; ZooKeeper
    /// answers those with MarshallingError before looking, so the server
    /// should check `WatcherType::KNOWN` first.
    pub fn remove(&mut self, conn: ConnId, path: &str, watcher_type: WatcherType) -> bool {
        let sel = selected(watcher_type);
        let old = self.change(conn, path, |b| b.without(sel));
        old.intersects(sel)
    }

    /// checkWatches: whether the connection holds any kind `watcher_type`
    /// selects on `path`.
    pub fn has(&self, conn: ConnId, path: &str, watcher_type: WatcherType) -> bool {
        self.bits(conn, path).intersects(selected(watcher_type))
    }

    /// Forgets a closed connection's watches.
    pub fn remove_conn(&mut self, conn: ConnId) {
        let Some(paths) = self.by_conn.remove(&conn) else {
            return;
        };
        for path in paths {
            let Some(conns) = self.by_path.get_mut(&path) else {
                continue;
            };
            let old = conns.remove(&conn).unwrap_or_default();
            if conns.is_empty() {
                self.by_path.remove(&path);
            }
            self.account(old, Bits::NONE);
        }
    }

    /// `zk_watch_count`: (path, connection) pairs in ZooKeeper's data table
    /// plus those in its child table, so a persistent watch counts twice.
    pub fn count(&self) -> usize {
        self.entries
    }

    /// Paths with any watch at all.
    pub fn paths_count(&self) -> usize {
        self.by_path.len()
    }

    /// wchc: each connection's watched paths, sorted; data table only (see
    /// the module notes).
    pub fn by_conn(&self) -> BTreeMap<ConnId, Vec<String>> {
        let mut out: BTreeMap<ConnId, Vec<String>> = BTreeMap::new();
        for (path, conns) in &self.by_path {
            for (&conn, bits) in conns {
                if bits.in_data_table() {
                    out.entry(conn).or_default().push(path.clone());
                }
            }
        }
        for paths in out.values_mut() {
            paths.sort_unstable();
        }
        out
    }

    /// wchp: each watched path's connections, ascending; data table only.
    pub fn by_path(&self) -> BTreeMap<String, Vec<ConnId>> {
        let mut out = BTreeMap::new();
        for (path, conns) in &self.by_path {
            let mut ids: Vec<ConnId> = conns
                .iter()
                .filter(|(_, bits)| bits.in_data_table())
                .map(|(&conn, _)| conn)
                .collect();
            if !ids.is_empty() {
                ids.sort_unstable();
                out.insert(path.clone(), ids);
            }
        }
        out
    }

    /// wchs: connections and paths in the data table, and its pairs.
    pub fn summary(&self) -> WatchSummary {
        let mut connections = HashSet::new();
        let mut paths = 0;
        let mut watches = 0;
        for conns in self.by_path.values() {
            let before = watches;
            for (&conn, bits) in conns {
                if bits.in_data_table() {
                    connections.insert(conn);
                    watches += 1;
                }
            }
            if watches > before {
                paths += 1;
            }
        }
        WatchSummary {
            connections: connections.len(),
            paths,
            watches,
        }
    }

    fn bits(&self, conn: ConnId, path: &str) -> Bits {
        self.by_path
            .get(path)
            .and_then(|conns| conns.get(&conn))
            .copied()
            .unwrap_or_default()
    }

    /// The one place a pair's bits change, so both indexes and the counters
    /// stay in step. Returns the old bits.
    fn change(&mut self, conn: ConnId, path: &str, f: impl FnOnce(Bits) -> Bits) -> Bits {
        let old = self.bits(conn, path);
        let new = f(old);
        if new == old {
            return old;
        }
        self.account(old, new);
        if new.is_empty() {
            if let Some(conns) = self.by_path.get_mut(path) {
                conns.remove(&conn);
                if conns.is_empty() {
                    self.by_path.remove(path);
                }
            }
            if let Some(paths) = self.by_conn.get_mut(&conn) {
                paths.remove(path);
                if paths.is_empty() {
                    self.by_conn.remove(&conn);
                }
            }
            return old;
        }
        match self.by_path.get_mut(path) {
            Some(conns) => {
                conns.insert(conn, new);
            }
            None => {
                self.by_path
                    .insert(path.to_owned(), HashMap::from([(conn, new)]));
            }
        }
        if old.is_empty() {
            self.by_conn
                .entry(conn)
                .or_default()
                .insert(path.to_owned());
        }
        old
    }

    fn account(&mut self, old: Bits, new: Bits) {
        self.entries = self.entries + new.table_entries() - old.table_entries();
        match (
            old.intersects(Bits::RECURSIVE),
            new.intersects(Bits::RECURSIVE),
        ) {
            (false, true) => self.recursive += 1,
            (true, false) => self.recursive -= 1,
            _ => {}
        }
    }

    /// Both indexes describe the same pairs, none empty, and the counters
    /// match them.
    #[cfg(test)]
    fn check_invariants(&self) -> Result<(), String> {
        let mut entries = 0;
        let mut recursive = 0;
        let mut pairs = 0;
        for (path, conns) in &self.by_path {
            if conns.is_empty() {
                return Err(format!("{path}: empty connection map"));
            }
            for (&conn, &bits) in conns {
                if bits.is_empty() {
                    return Err(format!("{path} {conn}: empty bits"));
                }
                if !self.by_conn.get(&conn).is_some_and(|p| p.contains(path)) {
                    return Err(format!("{path} {conn}: missing from by_conn"));
                }
                entries += bits.table_entries();
                recursive += usize::from(bits.intersects(Bits::RECURSIVE));
                pairs += 1;
            }
        }
        let conn_pairs: usize = self.by_conn.values().map(HashSet::len).sum();
        if conn_pairs != pairs || self.by_conn.values().any(HashSet::is_empty) {
            return Err(format!("by_conn holds {conn_pairs} pairs, by_path {pairs}"));
        }
        if (entries, recursive) != (self.entries, self.recursive) {
            return Err(format!(
                "counters ({}, {}) but table has ({entries}, {recursive})",
                self.entries, self.recursive
            ));
        }
        Ok(())
    }
}

/// The proper ancestors of a valid path, nearest first, ending at `/`.
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    let mut rest = path;
    std::iter::from_fn(move || {
        if rest == "/" {
            return None;
        }
        let slash = rest.rfind('/')?;
        rest = if slash == 0 { "/" } else { &rest[..slash] };
        Some(rest)
    })
}
