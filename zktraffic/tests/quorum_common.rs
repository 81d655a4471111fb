//! Checks shared by `quorum_streams.rs` and `quorum_capture.rs`: what the
//! quorum decoders must find in the golden capture
//! (`fixtures/quorum.pcap`), against `fixtures/quorum-expected.json`, which
//! `scripts/capture-quorum.sh` wrote from the workload and the servers'
//! answers, not from any decoder.
//!
//! Included by both with `#[path]`; compiled on its own it has no tests.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::Value;
use zktraffic::quorum::{QuorumMessage, QuorumProtocol};

pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn expected() -> Value {
    let raw = std::fs::read(fixtures().join("quorum-expected.json")).expect("quorum-expected.json");
    serde_json::from_slice(&raw).expect("quorum-expected.json is JSON")
}

/// One decoded message and where it was seen.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Sent by the side that opened the connection.
    pub client_side: bool,
    /// The sid of the node listening on the connection's server address
    /// (127.0.0.(10+sid) in the capture).
    pub server_sid: Option<i64>,
    pub msg: QuorumMessage,
}

impl Seen {
    /// The sending node's sid, when known: a learner's from its FOLLOWERINFO
    /// is not tracked here, so only election messages and server-side ones.
    pub fn election_sender(&self) -> Option<i64> {
        if self.client_side {
            self.msg.fields.get("sender_sid").and_then(Value::as_i64)
        } else {
            self.server_sid
        }
    }
}

/// The sid of a node from its address, per the expectations' address map.
pub fn sid_of_ip(ip: &str) -> Option<i64> {
    expected()["addresses"]
        .as_object()?
        .iter()
        .find(|(_, a)| a.as_str() == Some(ip))
        .and_then(|(sid, _)| sid.parse().ok())
}

fn hex(v: i64) -> String {
    format!("0x{v:x}")
}

fn set(v: &Value) -> BTreeSet<i64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_i64().expect("int"))
        .collect()
}

fn kind<'a>(seen: &'a [Seen], k: &'a str) -> impl Iterator<Item = &'a Seen> + 'a {
    seen.iter().filter(move |s| s.msg.kind == k)
}

pub fn check_all(seen: &[Seen], skipped: u64) {
    let exp = expected();
    assert_eq!(
        skipped, 0,
        "bytes skipped as undecodable in a clean capture"
    );
    for s in seen {
        assert!(!s.msg.summary.contains('\n'), "{}", s.msg.summary);
        assert!(
            s.msg.fields.get("data_error").is_none(),
            "{}: {}",
            s.msg.summary,
            s.msg.fields
        );
    }
    check_election(seen, &exp);
    check_zab(seen, &exp);
}

fn check_election(seen: &[Seen], exp: &Value) {
    let fle: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.msg.protocol == QuorumProtocol::Election)
        .collect();
    let sids = set(&exp["sids"]);
    let first = exp["first_leader"].as_i64().unwrap();
    let new = exp["new_leader"].as_i64().unwrap();
    assert_eq!(exp["killed_leader"].as_i64(), Some(first));

    // Every node opened election connections, announcing itself.
    let connect_sids: BTreeSet<i64> = fle
        .iter()
        .filter(|s| s.msg.kind == "connect")
        .map(|s| s.msg.fields["sid"].as_i64().unwrap())
        .collect();
    assert_eq!(connect_sids, sids, "sids in connection headers");
    for s in fle.iter().filter(|s| s.msg.kind == "connect") {
        let addr = s.msg.fields["addresses"][0].as_str().unwrap();
        let sid = s.msg.fields["sid"].as_i64().unwrap();
        assert!(
            addr.starts_with(&format!(
                "{}:",
                exp["addresses"][sid.to_string()].as_str().unwrap()
            )),
            "sid {sid} announced {addr}"
        );
    }

    let notes: Vec<&&Seen> = fle
        .iter()
        .filter(|s| s.msg.kind == "notification")
        .collect();
    assert!(notes.len() >= 6, "{} notifications", notes.len());
    // At least one election round in which every node voted.
    let looking: BTreeSet<i64> = notes
        .iter()
        .filter(|s| s.msg.fields["state"] == "LOOKING")
        .filter_map(|s| s.election_sender())
        .collect();
    assert_eq!(looking, sids, "nodes seen LOOKING");
    // First everyone settles on the first leader; after it was killed the
    // survivors vote for the new one in a later election epoch.
    let epochs_for = |leader: i64| -> Vec<i64> {
        notes
            .iter()
            .filter(|s| s.msg.fields["leader"].as_i64() == Some(leader))
            .map(|s| s.msg.fields["election_epoch"].as_i64().unwrap())
            .collect()
    };
    let first_epochs = epochs_for(first);
    let new_epochs = epochs_for(new);
    assert!(!first_epochs.is_empty() && !new_epochs.is_empty());
    assert!(
        new_epochs.iter().max() > first_epochs.iter().min(),
        "re-election epoch: first {first_epochs:?} new {new_epochs:?}"
    );
    // The killed leader sent nothing in the re-election epoch.
    let reelection = *new_epochs.iter().max().unwrap();
    assert!(notes
        .iter()
        .filter(|s| s.election_sender() == Some(first))
        .all(|s| s.msg.fields["election_epoch"].as_i64().unwrap() < reelection));
    for s in &notes {
        assert!(s.msg.zxid.is_some());
        assert!(
            s.msg.fields["version"].as_i64() == Some(2),
            "{}",
            s.msg.summary
        );
        assert!(s.msg.fields["config"]
            .as_str()
            .unwrap()
            .contains("server.1="));
    }
}

fn check_zab(seen: &[Seen], exp: &Value) {
    let zab: Vec<Seen> = seen
        .iter()
        .filter(|s| s.msg.protocol == QuorumProtocol::Zab)
        .cloned()
        .collect();
    let w = &exp["workload"];
    let first = exp["first_leader"].as_i64().unwrap();
    let new = exp["new_leader"].as_i64().unwrap();

    // Learners introduce themselves to each leader; leaders answer with a
    // new epoch, sync, NEWLEADER and UPTODATE.
    let fi: Vec<(i64, Option<i64>)> = kind(&zab, "follower_info")
        .map(|s| (s.msg.fields["sid"].as_i64().unwrap(), s.server_sid))
        .collect();
    assert!(kind(&zab, "follower_info").all(|s| s.client_side));
    let by_leader = |leader: i64| -> BTreeSet<i64> {
        fi.iter()
            .filter(|(_, srv)| *srv == Some(leader))
            .map(|(sid, _)| *sid)
            .collect()
    };
    let all_fi: BTreeSet<i64> = fi.iter().map(|(sid, _)| *sid).collect();
    let mut want_fi = set(&exp["follower_infos"]["first_epoch"]);
    want_fi.extend(set(&exp["follower_infos"]["second_epoch"]));
    assert_eq!(all_fi, want_fi, "FOLLOWERINFO sids");
    if fi.iter().all(|(_, srv)| srv.is_some()) {
        assert_eq!(by_leader(first), set(&exp["follower_infos"]["first_epoch"]));
        assert_eq!(by_leader(new), set(&exp["follower_infos"]["second_epoch"]));
    }
    let min_syncs = exp["min_syncs"].as_u64().unwrap() as usize;
    assert!(fi.len() >= min_syncs);
    let epochs: BTreeSet<i64> = kind(&zab, "leader_info")
        .map(|s| s.msg.fields["new_epoch"].as_i64().unwrap())
        .collect();
    assert_eq!(epochs.len(), 2, "two leadership epochs: {epochs:?}");
    assert!(kind(&zab, "ack_epoch").count() >= min_syncs);
    let syncs = zab
        .iter()
        .filter(|s| matches!(s.msg.kind.as_str(), "diff" | "trunc" | "snap"))
        .count();
    assert!(syncs >= min_syncs, "{syncs} syncs");
    assert!(kind(&zab, "new_leader").count() >= min_syncs);
    assert!(kind(&zab, "up_to_date").count() >= min_syncs);
    let snaps = kind(&zab, "snap").count();
    assert!(
        snaps as u64 >= exp["min_snaps"].as_u64().unwrap(),
        "{snaps} SNAPs"
    );
    // Every SNAP's streamed database was parsed to its signature.
    let snapshots: Vec<&Seen> = kind(&zab, "snapshot").collect();
    assert_eq!(snapshots.len(), snaps);
    assert!(snapshots.iter().all(|s| s.msg.fields["complete"] == true));
    let forced = set(&exp["force_snapshot_sync_sids"]);
    if forced.contains(&new) {
        // The new leader's snapshot holds the workload's final tree.
        let want = w["tree_nodes_at_end"].as_u64().unwrap();
        assert!(
            snapshots
                .iter()
                .any(|s| s.msg.fields["nodes"].as_u64() == Some(want)),
            "no snapshot of {want} nodes: {:?}",
            snapshots.iter().map(|s| &s.msg.summary).collect::<Vec<_>>()
        );
    }

    // Every write of the workload was proposed once (per follower) and
    // committed; distinct zxids by txn type match the workload exactly.
    let mut by_type: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
    let mut proposals: BTreeMap<i64, &Seen> = BTreeMap::new();
    for s in kind(&zab, "proposal") {
        assert!(!s.client_side, "proposals come from the leader");
        let z = s.msg.zxid.unwrap();
        assert_eq!(s.msg.fields["txn"]["zxid"].as_str(), Some(hex(z).as_str()));
        let mut t = s.msg.fields["txn"]["type"].as_str().unwrap().to_string();
        if t == "create2" {
            t = "create".into();
        }
        by_type.entry(t).or_default().insert(z);
        proposals.insert(z, s);
        assert!(s
            .msg
            .summary
            .starts_with(&format!("PROPOSAL zxid={} session=0x", hex(z))));
    }
    let got: BTreeMap<String, u64> = by_type
        .iter()
        .map(|(k, v)| (k.clone(), v.len() as u64))
        .collect();
    let want: BTreeMap<String, u64> = w["txn_types"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect();
    assert_eq!(got, want, "distinct proposals by txn type");
    assert_eq!(proposals.len() as u64, w["client_txns"].as_u64().unwrap());
    let commits: BTreeSet<i64> = kind(&zab, "commit").map(|s| s.msg.zxid.unwrap()).collect();
    let acks: BTreeSet<i64> = kind(&zab, "ack").map(|s| s.msg.zxid.unwrap()).collect();
    for z in proposals.keys() {
        assert!(commits.contains(z), "no COMMIT for {}", hex(*z));
        assert!(acks.contains(z), "no ACK for {}", hex(*z));
    }
    // Session ids in createSession txns are the ones kazoo got.
    let sessions: BTreeSet<String> = proposals
        .values()
        .filter(|s| s.msg.fields["txn"]["type"] == "createSession")
        .map(|s| s.msg.fields["txn"]["session"].as_str().unwrap().to_string())
        .collect();
    let want_sessions: BTreeSet<String> = w["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(sessions, want_sessions);
    // Paths the workload created, directly or inside its multi.
    let mut created: BTreeSet<String> = BTreeSet::new();
    for s in proposals.values() {
        let t = &s.msg.fields["txn"];
        if t["type"] == "create" {
            created.insert(t["path"].as_str().unwrap().to_string());
        }
        if let Some(ops) = t["ops"].as_array() {
            for op in ops.iter().filter(|o| o["type"] == "create") {
                created.insert(op["path"].as_str().unwrap().to_string());
            }
        }
    }
    let want_paths: BTreeSet<String> = w["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(created, want_paths);
    // The follower the client used forwarded every write as a REQUEST.
    let requests: Vec<&Seen> = kind(&zab, "request").collect();
    assert!(requests.iter().all(|s| s.client_side));
    assert!(requests.len() as u64 >= w["client_txns"].as_u64().unwrap());
    // A learner's ping reply reported the workload's first session.
    let session_a = w["session_a"].as_str().unwrap();
    assert!(
        kind(&zab, "ping").any(|s| s.client_side
            && s.msg.fields["sessions"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x["session"] == session_a))),
        "no learner PING reports {session_a}"
    );
}
