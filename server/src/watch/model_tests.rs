//! The manager against a naive model: a flat list of (connection, path,
//! kind) scanned in full for every question, over random sequences of adds,
//! triggers, removals, checks and closes.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use zkproto::{EventType, WatcherType};

use super::{ConnId, WatchKind, WatchManager, WatchSummary};

const PATHS: [&str; 8] = ["/", "/a", "/ab", "/a/b", "/a/b/c", "/ab/c", "/b", "/a/bc"];

#[derive(Debug, Clone)]
enum Step {
    Add(ConnId, usize, WatchKind),
    Trigger(usize, EventType),
    Remove(ConnId, usize, WatcherType),
    Has(ConnId, usize, WatcherType),
    Close(ConnId),
}

#[derive(Default)]
struct Model {
    watches: Vec<(ConnId, String, WatchKind)>,
}

/// ZooKeeper keeps getData and exists watches in one slot.
fn slot(kind: WatchKind) -> WatchKind {
    match kind {
        WatchKind::Exist => WatchKind::Data,
        k => k,
    }
}

fn is_under(path: &str, ancestor: &str) -> bool {
    if ancestor == "/" {
        return path != "/";
    }
    path.strip_prefix(ancestor)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// Straight from the rules: which watch hears which trigger.
fn hears(kind: WatchKind, watched: &str, path: &str, event: EventType) -> bool {
    let data_event = [
        EventType::NODE_CREATED,
        EventType::NODE_DATA_CHANGED,
        EventType::NODE_DELETED,
    ]
    .contains(&event);
    let exact = watched == path;
    match kind {
        WatchKind::Data | WatchKind::Exist => exact && data_event,
        WatchKind::Child => {
            exact && (event == EventType::NODE_DELETED || event == EventType::NODE_CHILDREN_CHANGED)
        }
        WatchKind::Persistent => exact && (data_event || event == EventType::NODE_CHILDREN_CHANGED),
        WatchKind::PersistentRecursive => (exact || is_under(path, watched)) && data_event,
    }
}

fn selects(t: WatcherType, kind: WatchKind) -> bool {
    match t {
        WatcherType::CHILDREN => kind == WatchKind::Child,
        WatcherType::DATA => kind == WatchKind::Data,
        WatcherType::ANY => true,
        WatcherType::PERSISTENT => kind == WatchKind::Persistent,
        WatcherType::PERSISTENT_RECURSIVE => kind == WatchKind::PersistentRecursive,
        _ => false,
    }
}

fn in_data_table(kind: WatchKind) -> bool {
    kind != WatchKind::Child
}

fn in_child_table(kind: WatchKind) -> bool {
    matches!(kind, WatchKind::Child | WatchKind::Persistent)
}

impl Model {
    fn add(&mut self, conn: ConnId, path: &str, kind: WatchKind) -> bool {
        let w = (conn, path.to_owned(), slot(kind));
        if self.watches.contains(&w) {
            return false;
        }
        self.watches.push(w);
        true
    }

    fn trigger(
        &mut self,
        path: &str,
        event: EventType,
        can_read: impl Fn(ConnId, &str) -> bool,
    ) -> Vec<ConnId> {
        let fired: BTreeSet<ConnId> = self
            .watches
            .iter()
            .filter(|(_, watched, kind)| hears(*kind, watched, path, event))
            .map(|(conn, _, _)| *conn)
            .collect();
        self.watches.retain(|(_, watched, kind)| {
            let one_shot = matches!(kind, WatchKind::Data | WatchKind::Child);
            !(one_shot && hears(*kind, watched, path, event))
        });
        fired.into_iter().filter(|&c| can_read(c, path)).collect()
    }

    fn remove(&mut self, conn: ConnId, path: &str, t: WatcherType) -> bool {
        let before = self.watches.len();
        self.watches
            .retain(|(c, p, kind)| !(*c == conn && p == path && selects(t, *kind)));
        self.watches.len() != before
    }

    fn has(&self, conn: ConnId, path: &str, t: WatcherType) -> bool {
        self.watches
            .iter()
            .any(|(c, p, kind)| *c == conn && p == path && selects(t, *kind))
    }

    fn pairs(&self, table: fn(WatchKind) -> bool) -> BTreeSet<(ConnId, &str)> {
        self.watches
            .iter()
            .filter(|(_, _, kind)| table(*kind))
            .map(|(c, p, _)| (*c, p.as_str()))
            .collect()
    }

    fn count(&self) -> usize {
        self.pairs(in_data_table).len() + self.pairs(in_child_table).len()
    }

    fn paths_count(&self) -> usize {
        let paths: BTreeSet<&str> = self.watches.iter().map(|(_, p, _)| p.as_str()).collect();
        paths.len()
    }

    fn by_conn(&self) -> BTreeMap<ConnId, Vec<String>> {
        let mut out: BTreeMap<ConnId, Vec<String>> = BTreeMap::new();
        for (c, p) in self.pairs(in_data_table) {
            out.entry(c).or_default().push(p.to_owned());
        }
        out
    }

    fn by_path(&self) -> BTreeMap<String, Vec<ConnId>> {
        let mut out: BTreeMap<String, Vec<ConnId>> = BTreeMap::new();
        for (c, p) in self.pairs(in_data_table) {
            out.entry(p.to_owned()).or_default().push(c);
        }
        for conns in out.values_mut() {
            conns.sort_unstable();
        }
        out
    }

    fn summary(&self) -> WatchSummary {
        let pairs = self.pairs(in_data_table);
        WatchSummary {
            connections: pairs.iter().map(|(c, _)| c).collect::<BTreeSet<_>>().len(),
            paths: pairs.iter().map(|(_, p)| p).collect::<BTreeSet<_>>().len(),
            watches: pairs.len(),
        }
    }
}

fn kind() -> impl Strategy<Value = WatchKind> {
    prop_oneof![
        Just(WatchKind::Data),
        Just(WatchKind::Exist),
        Just(WatchKind::Child),
        Just(WatchKind::Persistent),
        Just(WatchKind::PersistentRecursive),
    ]
}

fn event() -> impl Strategy<Value = EventType> {
    prop_oneof![
        4 => (1..=4i32).prop_map(EventType),
        1 => prop_oneof![Just(EventType::NONE), Just(EventType(6))],
    ]
}

fn watcher_type() -> impl Strategy<Value = WatcherType> {
    prop_oneof![
        8 => (1..=5i32).prop_map(WatcherType),
        1 => prop_oneof![Just(WatcherType(0)), Just(WatcherType(6))],
    ]
}

fn step() -> impl Strategy<Value = Step> {
    let conn = 1..=3u64;
    let path = 0..PATHS.len();
    prop_oneof![
        6 => (conn.clone(), path.clone(), kind()).prop_map(|(c, p, k)| Step::Add(c, p, k)),
        4 => (path.clone(), event()).prop_map(|(p, e)| Step::Trigger(p, e)),
        2 => (conn.clone(), path.clone(), watcher_type()).prop_map(|(c, p, t)| Step::Remove(c, p, t)),
        1 => (conn.clone(), path, watcher_type()).prop_map(|(c, p, t)| Step::Has(c, p, t)),
        1 => conn.prop_map(Step::Close),
    ]
}

proptest! {
    #[test]
    fn manager_matches_the_naive_model(
        steps in prop::collection::vec(step(), 1..80),
        denied in prop::collection::btree_set((1..=3u64, 0..PATHS.len()), 0..6),
    ) {
        let can_read = |conn: ConnId, path: &str| {
            !denied.iter().any(|&(c, p)| c == conn && PATHS[p] == path)
        };
        let mut m = WatchManager::new();
        let mut model = Model::default();
        for (i, step) in steps.iter().enumerate() {
            match *step {
                Step::Add(c, p, k) => {
                    prop_assert_eq!(m.add(c, PATHS[p], k), model.add(c, PATHS[p], k), "step {}", i);
                }
                Step::Trigger(p, e) => {
                    let got = m.trigger(PATHS[p], e, can_read);
                    let want = model.trigger(PATHS[p], e, can_read);
                    prop_assert_eq!(got, want, "step {}", i);
                }
                Step::Remove(c, p, t) => {
                    prop_assert_eq!(m.remove(c, PATHS[p], t), model.remove(c, PATHS[p], t), "step {}", i);
                }
                Step::Has(c, p, t) => {
                    prop_assert_eq!(m.has(c, PATHS[p], t), model.has(c, PATHS[p], t), "step {}", i);
                }
                Step::Close(c) => {
                    m.remove_conn(c);
                    model.watches.retain(|(conn, _, _)| *conn != c);
                }
            }
            if let Err(e) = m.check_invariants() {
                return Err(TestCaseError::fail(format!("step {i}: {e}")));
            }
            prop_assert_eq!(m.count(), model.count(), "step {}", i);
            prop_assert_eq!(m.paths_count(), model.paths_count(), "step {}", i);
            prop_assert_eq!(m.summary(), model.summary(), "step {}", i);
        }
        prop_assert_eq!(m.by_conn(), model.by_conn());
        prop_assert_eq!(m.by_path(), model.by_path());
    }
}
