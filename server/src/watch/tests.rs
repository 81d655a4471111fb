//! Each trigger against each kind, consumption, persistence, recursion,
//! per-connection dedup, READ filtering, removal, connection close and the
//! four-letter-word views.

use zkproto::{AddWatchMode, EventType, WatcherType};

use super::*;

const CREATED: EventType = EventType::NODE_CREATED;
const CHANGED: EventType = EventType::NODE_DATA_CHANGED;
const DELETED: EventType = EventType::NODE_DELETED;
const CHILDREN: EventType = EventType::NODE_CHILDREN_CHANGED;
const EVENTS: [EventType; 4] = [CREATED, CHANGED, DELETED, CHILDREN];

const KINDS: [WatchKind; 5] = [
    WatchKind::Data,
    WatchKind::Exist,
    WatchKind::Child,
    WatchKind::Persistent,
    WatchKind::PersistentRecursive,
];

const TYPES: [WatcherType; 5] = [
    WatcherType::CHILDREN,
    WatcherType::DATA,
    WatcherType::ANY,
    WatcherType::PERSISTENT,
    WatcherType::PERSISTENT_RECURSIVE,
];

fn fire(m: &mut WatchManager, path: &str, event: EventType) -> Vec<ConnId> {
    let fired = m.trigger(path, event, |_, _| true);
    m.check_invariants().unwrap();
    fired
}

fn add(m: &mut WatchManager, conn: ConnId, path: &str, kind: WatchKind) {
    m.add(conn, path, kind);
    m.check_invariants().unwrap();
}

/// `(kind, [created, changed, deleted, children-changed])` for a watch on
/// the trigger's own path, then for a watch on an ancestor of it.
const ON_PATH: [(WatchKind, [bool; 4]); 5] = [
    (WatchKind::Data, [true, true, true, false]),
    (WatchKind::Exist, [true, true, true, false]),
    (WatchKind::Child, [false, false, true, true]),
    (WatchKind::Persistent, [true, true, true, true]),
    (WatchKind::PersistentRecursive, [true, true, true, false]),
];
const ON_ANCESTOR: [(WatchKind, [bool; 4]); 5] = [
    (WatchKind::Data, [false; 4]),
    (WatchKind::Exist, [false; 4]),
    (WatchKind::Child, [false; 4]),
    (WatchKind::Persistent, [false; 4]),
    (WatchKind::PersistentRecursive, [true, true, true, false]),
];

#[test]
fn each_trigger_reaches_the_kinds_zookeeper_sends_it_to() {
    for (table, watched, triggered) in [(ON_PATH, "/a", "/a"), (ON_ANCESTOR, "/a", "/a/b/c")] {
        for (kind, want) in table {
            for (event, want) in EVENTS.into_iter().zip(want) {
                let mut m = WatchManager::new();
                add(&mut m, 7, watched, kind);
                let fired = fire(&mut m, triggered, event);
                let expect: Vec<ConnId> = if want { vec![7] } else { vec![] };
                assert_eq!(
                    fired, expect,
                    "{kind:?} on {watched}, {event} on {triggered}"
                );
            }
        }
    }
}

#[test]
fn one_shot_watches_are_consumed_by_what_fires_them_only() {
    for (kind, wtype, fires, spares) in [
        (WatchKind::Data, WatcherType::DATA, CHANGED, CHILDREN),
        (WatchKind::Exist, WatcherType::DATA, CREATED, CHILDREN),
        (WatchKind::Child, WatcherType::CHILDREN, CHILDREN, CHANGED),
    ] {
        let mut m = WatchManager::new();
        add(&mut m, 1, "/n", kind);
        assert!(fire(&mut m, "/n", spares).is_empty());
        assert!(m.has(1, "/n", wtype), "{kind:?} survives {spares}");
        assert_eq!(fire(&mut m, "/n", fires), [1]);
        assert!(!m.has(1, "/n", WatcherType::ANY), "{kind:?} consumed");
        assert!(fire(&mut m, "/n", fires).is_empty());
        assert_eq!((m.count(), m.paths_count()), (0, 0));
    }
}

#[test]
fn delete_consumes_data_and_child_watches_with_one_event() {
    let mut m = WatchManager::new();
    add(&mut m, 3, "/x", WatchKind::Data);
    add(&mut m, 3, "/x", WatchKind::Child);
    assert_eq!(fire(&mut m, "/x", DELETED), [3]);
    assert!(!m.has(3, "/x", WatcherType::ANY));
}

#[test]
fn persistent_watches_survive_firing_and_deletion() {
    let mut m = WatchManager::new();
    add(&mut m, 1, "/p", WatchKind::Persistent);
    add(&mut m, 2, "/r", WatchKind::PersistentRecursive);
    for round in 0..3 {
        for event in EVENTS {
            assert_eq!(fire(&mut m, "/p", event), [1], "round {round} {event}");
        }
        for event in [CREATED, CHANGED, DELETED] {
            assert_eq!(fire(&mut m, "/r/s", event), [2], "round {round} {event}");
        }
    }
    assert!(m.has(1, "/p", WatcherType::PERSISTENT));
    assert!(m.has(2, "/r", WatcherType::PERSISTENT_RECURSIVE));
}

#[test]
fn a_one_shot_beside_a_persistent_watch_goes_alone() {
    let mut m = WatchManager::new();
    add(&mut m, 1, "/p", WatchKind::Data);
    add(&mut m, 1, "/p", WatchKind::Persistent);
    assert_eq!(fire(&mut m, "/p", CHANGED), [1]);
    assert!(!m.has(1, "/p", WatcherType::DATA));
    assert!(m.has(1, "/p", WatcherType::PERSISTENT));
    assert_eq!(fire(&mut m, "/p", CHANGED), [1]);
}

#[test]
fn recursion_reaches_every_depth_but_not_siblings_sharing_a_prefix() {
    let mut m = WatchManager::new();
    add(&mut m, 1, "/a", WatchKind::PersistentRecursive);
    add(&mut m, 2, "/a/b/c", WatchKind::PersistentRecursive);
    assert_eq!(fire(&mut m, "/a/b/c/d/e/f/g", CHANGED), [1, 2]);
    assert_eq!(fire(&mut m, "/a/b", CREATED), [1]);
    assert_eq!(fire(&mut m, "/a", DELETED), [1]);
    for path in ["/ab", "/ab/c", "/b", "/", "/a/bc"] {
        let expect: &[ConnId] = if path == "/a/bc" { &[1] } else { &[] };
        assert_eq!(fire(&mut m, path, CHANGED), expect, "{path}");
    }
    assert!(fire(&mut m, "/a/b", CHILDREN).is_empty());
    assert!(fire(&mut m, "/a", CHILDREN).is_empty());

    add(&mut m, 3, "/", WatchKind::PersistentRecursive);
    assert_eq!(fire(&mut m, "/x/y", CREATED), [3]);
    assert_eq!(fire(&mut m, "/", CHANGED), [3]);
}

#[test]
fn one_event_per_connection_however_many_watches_match() {
    let mut m = WatchManager::new();
    for kind in KINDS {
        add(&mut m, 1, "/a/b", kind);
    }
    add(&mut m, 1, "/a", WatchKind::PersistentRecursive);
    add(&mut m, 1, "/", WatchKind::PersistentRecursive);
    add(&mut m, 2, "/a", WatchKind::PersistentRecursive);
    add(&mut m, 2, "/", WatchKind::PersistentRecursive);
    assert_eq!(fire(&mut m, "/a/b", CHANGED), [1, 2]);
    assert_eq!(fire(&mut m, "/a/b", DELETED), [1, 2]);
    assert_eq!(fire(&mut m, "/a/b", CHILDREN), [1]);
}

#[test]
fn events_without_read_are_dropped_but_still_consume() {
    let mut m = WatchManager::new();
    for conn in [1, 2, 3] {
        add(&mut m, conn, "/s", WatchKind::Data);
    }
    add(&mut m, 4, "/s", WatchKind::PersistentRecursive);
    let mut asked = Vec::new();
    let fired = m.trigger("/s", CHANGED, |conn, path| {
        asked.push((conn, path.to_owned()));
        conn != 2
    });
    assert_eq!(fired, [1, 3, 4]);
    asked.sort();
    let want: Vec<(ConnId, String)> = [1, 2, 3, 4].map(|c| (c, "/s".to_owned())).into();
    assert_eq!(asked, want);
    assert!(!m.has(2, "/s", WatcherType::DATA), "consumed though hidden");

    let hidden = m.trigger("/s/t", CREATED, |conn, path| !(conn == 4 && path == "/s/t"));
    assert!(hidden.is_empty());
    assert!(m.has(4, "/s", WatcherType::PERSISTENT_RECURSIVE));
    assert_eq!(fire(&mut m, "/s/u", CREATED), [4]);
    m.check_invariants().unwrap();
}

/// What `has` answers for [CHILDREN, DATA, ANY, PERSISTENT, RECURSIVE]
/// after removing each type from a connection holding every kind.
const AFTER_REMOVE: [(WatcherType, [bool; 5]); 5] = [
    (WatcherType::CHILDREN, [false, true, true, true, true]),
    (WatcherType::DATA, [true, false, true, true, true]),
    (WatcherType::ANY, [false, false, false, false, false]),
    (WatcherType::PERSISTENT, [true, true, true, false, true]),
    (
        WatcherType::PERSISTENT_RECURSIVE,
        [true, true, true, true, false],
    ),
];

#[test]
fn remove_and_has_with_each_watcher_type() {
    for (removed, want) in AFTER_REMOVE {
        let mut m = WatchManager::new();
        for kind in KINDS {
            add(&mut m, 1, "/p", kind);
        }
        add(&mut m, 2, "/p", WatchKind::Data);
        add(&mut m, 1, "/q", WatchKind::Child);
        assert!(TYPES.iter().all(|&t| m.has(1, "/p", t)));
        assert!(m.remove(1, "/p", removed), "{removed}");
        m.check_invariants().unwrap();
        let got = TYPES.map(|t| m.has(1, "/p", t));
        assert_eq!(got, want, "after removing {removed}");
        assert!(!m.remove(1, "/p", removed), "{removed} twice");
        assert!(m.has(2, "/p", WatcherType::DATA), "other connection kept");
        assert!(m.has(1, "/q", WatcherType::CHILDREN), "other path kept");
    }
}

#[test]
fn remove_and_has_find_nothing_that_is_not_there() {
    let mut m = WatchManager::new();
    for t in TYPES {
        assert!(!m.has(1, "/p", t));
        assert!(!m.remove(1, "/p", t));
    }
    add(&mut m, 1, "/p", WatchKind::Exist);
    assert!(!m.remove(1, "/p", WatcherType::CHILDREN));
    assert!(!m.remove(1, "/p", WatcherType(9)));
    assert!(!m.has(1, "/p", WatcherType(0)));
    assert!(m.remove(1, "/p", WatcherType::DATA), "Data covers exist");
    assert_eq!(m.count(), 0);
}

#[test]
fn removing_the_last_recursive_watch_stops_ancestor_matches() {
    let mut m = WatchManager::new();
    add(&mut m, 1, "/a", WatchKind::PersistentRecursive);
    add(&mut m, 1, "/a", WatchKind::Data);
    assert!(m.remove(1, "/a", WatcherType::PERSISTENT_RECURSIVE));
    m.check_invariants().unwrap();
    assert!(fire(&mut m, "/a/b", CHANGED).is_empty());
    assert_eq!(fire(&mut m, "/a", CHANGED), [1]);
}

#[test]
fn closing_a_connection_drops_only_its_watches() {
    let mut m = WatchManager::new();
    for kind in KINDS {
        add(&mut m, 1, "/a", kind);
        add(&mut m, 2, "/a", kind);
    }
    add(&mut m, 1, "/b", WatchKind::PersistentRecursive);
    add(&mut m, 1, "/c", WatchKind::Child);
    m.remove_conn(1);
    m.check_invariants().unwrap();
    assert!(!m.has(1, "/a", WatcherType::ANY));
    assert!(fire(&mut m, "/b/x", CHANGED).is_empty());
    assert!(fire(&mut m, "/c", CHILDREN).is_empty());
    assert_eq!(fire(&mut m, "/a", CHANGED), [2]);
    assert_eq!(m.paths_count(), 1);
    assert_eq!(m.by_conn().keys().copied().collect::<Vec<_>>(), [2]);
    m.remove_conn(1);
    m.remove_conn(42);
    m.check_invariants().unwrap();
}

#[test]
fn counts_and_dumps_follow_zookeepers_two_tables() {
    let mut m = WatchManager::new();
    assert!(m.add(1, "/a", WatchKind::Data));
    assert!(
        !m.add(1, "/a", WatchKind::Exist),
        "one slot for data and exist"
    );
    assert!(!m.add(1, "/a", WatchKind::Data));
    assert_eq!(m.count(), 1);
    assert!(m.add(1, "/a", WatchKind::Child));
    assert_eq!(m.count(), 2, "one entry in each table");
    add(&mut m, 2, "/b", WatchKind::Persistent);
    assert_eq!(m.count(), 4, "persistent sits in both tables");
    add(&mut m, 3, "/c", WatchKind::PersistentRecursive);
    assert_eq!(m.count(), 5, "recursive sits in the data table only");
    add(&mut m, 4, "/d", WatchKind::Child);
    assert_eq!(m.count(), 6);
    assert_eq!(m.paths_count(), 4);

    let conns = BTreeMap::from([
        (1, vec!["/a".to_owned()]),
        (2, vec!["/b".to_owned()]),
        (3, vec!["/c".to_owned()]),
    ]);
    assert_eq!(m.by_conn(), conns, "child-only connection 4 is not listed");
    let paths = BTreeMap::from([
        ("/a".to_owned(), vec![1]),
        ("/b".to_owned(), vec![2]),
        ("/c".to_owned(), vec![3]),
    ]);
    assert_eq!(m.by_path(), paths);
    let summary = m.summary();
    assert_eq!(
        summary,
        WatchSummary {
            connections: 3,
            paths: 3,
            watches: 3
        }
    );
    assert_eq!(
        summary.to_string(),
        "3 connections watching 3 paths\nTotal watches:3"
    );

    add(&mut m, 2, "/a", WatchKind::Exist);
    assert_eq!(m.by_path()["/a"], [1, 2]);
    assert_eq!(m.by_conn()[&2], ["/a", "/b"]);
    assert_eq!(m.summary().watches, 4);
    assert_eq!(m.count(), 7);
}

#[test]
fn events_the_tree_never_sends_fire_nothing() {
    let mut m = WatchManager::new();
    for kind in KINDS {
        add(&mut m, 1, "/a", kind);
    }
    add(&mut m, 1, "/", WatchKind::PersistentRecursive);
    let before = m.count();
    for event in [
        EventType::NONE,
        EventType::DATA_WATCH_REMOVED,
        EventType(99),
    ] {
        assert!(fire(&mut m, "/a", event).is_empty(), "{event}");
    }
    assert_eq!(m.count(), before);
}

#[test]
fn add_watch_modes_map_to_persistent_kinds() {
    assert_eq!(
        WatchKind::from_add_watch_mode(AddWatchMode::PERSISTENT),
        Some(WatchKind::Persistent)
    );
    assert_eq!(
        WatchKind::from_add_watch_mode(AddWatchMode::PERSISTENT_RECURSIVE),
        Some(WatchKind::PersistentRecursive)
    );
    assert_eq!(WatchKind::from_add_watch_mode(AddWatchMode(2)), None);
}

#[test]
fn ancestors_stop_at_the_root() {
    assert_eq!(ancestors("/a/b/c").collect::<Vec<_>>(), ["/a/b", "/a", "/"]);
    assert_eq!(ancestors("/a").collect::<Vec<_>>(), ["/"]);
    assert_eq!(ancestors("/").count(), 0);
}
