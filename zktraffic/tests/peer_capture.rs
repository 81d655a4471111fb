//! `zkserver-peers.pcap`: three zkserver members' Raft RPCs, captured by
//! scripts/capture-peers.sh while server/tests/peer_transport.rs ran. The
//! expectations follow from that test's workload (see the script), not
//! from decoding the capture: two elections, /peer-a written through the
//! first leader, /peer-b through the second after the first is shut down,
//! one Hello from another cluster, one for a member that is not there.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use zktraffic::model::Event;
use zktraffic::output::json::Json;
use zktraffic::pipeline::{analyze_file, Options};
use zktraffic::quorum::{QuorumMessage, QuorumProtocol};
use zktraffic::stats::{SortKey, Stats, StatsConfig};

fn fixture() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/zkserver-peers.pcap")
}

fn events() -> Vec<Event> {
    let a = analyze_file(&fixture(), &Options::default()).expect("the capture analyzes");
    assert!(a.truncated.is_none(), "{:?}", a.truncated);
    a.events
}

fn peer_messages(events: &[Event]) -> Vec<&QuorumMessage> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Quorum(q) if q.message.protocol == QuorumProtocol::ZkPeer => {
                assert_eq!(q.conn.server.port(), 2888);
                Some(&q.message)
            }
            _ => None,
        })
        .collect()
}

fn of_kind<'a>(m: &[&'a QuorumMessage], kind: &str) -> Vec<&'a QuorumMessage> {
    m.iter().filter(|m| m.kind == kind).copied().collect()
}

fn member(m: &QuorumMessage, field: &str) -> u64 {
    m.fields[field]
        .as_u64()
        .unwrap_or_else(|| panic!("no {field} in {}", m.summary))
}

#[test]
fn peer_capture_shows_two_elections() {
    let events = events();
    let msgs = peer_messages(&events);
    let votes = of_kind(&msgs, "vote");
    let mut candidates_by_term: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
    let mut asked_by_term: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
    for v in &votes {
        let term = v.fields["term"].as_u64().expect("a vote has a term");
        // The candidate asks for itself.
        assert_eq!(member(v, "node"), member(v, "from_member"));
        candidates_by_term
            .entry(term)
            .or_default()
            .insert(member(v, "node"));
        asked_by_term
            .entry(term)
            .or_default()
            .insert(member(v, "to_member"));
    }
    assert!(
        candidates_by_term.len() >= 2,
        "two elections: {candidates_by_term:?}"
    );
    // The first election asked both other members (all three were up).
    let (_, first_asked) = candidates_by_term
        .keys()
        .next()
        .and_then(|t| asked_by_term.get_key_value(t))
        .unwrap();
    assert_eq!(first_asked.len(), 2, "{asked_by_term:?}");
    // Every election that made a leader had a vote granted.
    let granted: BTreeSet<u64> = of_kind(&msgs, "vote_resp")
        .iter()
        .filter(|r| r.fields["granted"] == Value::Bool(true))
        .filter_map(|r| r.fields["term"].as_u64())
        .collect();
    assert!(granted.len() >= 2, "granted in terms {granted:?}");
}

#[test]
fn peer_capture_carries_exactly_the_two_writes() {
    let events = events();
    let msgs = peer_messages(&events);
    let mut writes = BTreeSet::new();
    // path -> (senders, receivers)
    let mut routes: BTreeMap<String, (BTreeSet<u64>, BTreeSet<u64>)> = BTreeMap::new();
    for a in of_kind(&msgs, "append") {
        let Some(ops) = a.fields["entries"]["ops"].as_array() else {
            continue; // a heartbeat
        };
        assert_eq!(a.fields["entries"]["ops_omitted"], 0);
        for op in ops {
            let (name, path) = (op["op"].as_str().unwrap(), op["path"].as_str().unwrap());
            writes.insert((name.to_string(), path.to_string()));
            let r = routes.entry(path.to_string()).or_default();
            r.0.insert(member(a, "from_member"));
            r.1.insert(member(a, "to_member"));
        }
    }
    let want: BTreeSet<_> = [("create", "/peer-a"), ("create", "/peer-b")]
        .iter()
        .map(|(o, p)| (o.to_string(), p.to_string()))
        .collect();
    assert_eq!(writes, want);

    // /peer-a: the first leader sent it to both others (a new leader may
    // send it again while it finds where the follower's log ends).
    let (a_from, a_to) = &routes["/peer-a"];
    let first = *a_from.iter().next().unwrap();
    assert!(a_to.len() == 2 && !a_to.contains(&first), "{routes:?}");
    // /peer-b: only the second leader, only to the member still up.
    let (b_from, b_to) = &routes["/peer-b"];
    assert_eq!(b_from.len(), 1, "{routes:?}");
    let second = *b_from.iter().next().unwrap();
    assert_ne!(second, first);
    let third: BTreeSet<u64> = [1, 2, 3]
        .into_iter()
        .filter(|m| *m != first && *m != second)
        .collect();
    assert_eq!(b_to, &third);
}

#[test]
fn peer_capture_refused_hellos_and_stats() {
    let events = events();
    let msgs = peer_messages(&events);
    assert!(
        msgs.iter().all(|m| !m.summary.contains("undecodable")),
        "every body decodes"
    );
    let errors = of_kind(&msgs, "error");
    let said = |s: &str| {
        errors
            .iter()
            .filter(|e| e.fields["error"].as_str().is_some_and(|m| m.contains(s)))
            .count()
    };
    assert_eq!(said("another-cluster"), 1);
    assert_eq!(said("hello for member 12"), 1);
    // Every Hello was answered; the two above were the refusals.
    let hellos = of_kind(&msgs, "hello").len();
    assert_eq!(of_kind(&msgs, "hello_ok").len(), hellos - 2);

    let mut stats = Stats::new(StatsConfig::default());
    for e in &events {
        stats.observe(e);
    }
    let by_kind: BTreeMap<String, u64> = stats
        .snapshot(SortKey::Count, 0)
        .totals
        .peer_rpcs_by_kind
        .into_iter()
        .collect();
    assert_eq!(by_kind["vote"], of_kind(&msgs, "vote").len() as u64);
    assert_eq!(by_kind["hello"], hellos as u64);
    assert_eq!(by_kind.values().sum::<u64>(), msgs.len() as u64);

    let mut json = Json::new("zktraffic");
    let kinds: BTreeSet<String> = events
        .iter()
        .filter(|e| matches!(e, Event::Quorum(_)))
        .map(|e| json.event(e).kind)
        .collect();
    for k in [
        "traffic.peer.vote",
        "traffic.peer.append",
        "traffic.peer.error",
    ] {
        assert!(kinds.contains(k), "{k} not in {kinds:?}");
    }
}
