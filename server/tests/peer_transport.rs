//! The peer transport end to end: three Raft members in one process, each
//! with the real log store and state machine, talking over TCP on
//! 127.0.0.61-63. Also: refused hellos, garbage on the peer port, and
//! zkproto's generic summary of bodies made from openraft's own types.
//!
//! `ZKOPS_PEER_TEST_PORT=N` binds every member to port N (on its own
//! address) instead of an ephemeral port, so that a capture can filter on
//! it (scripts/capture-fixtures.sh does).

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use openraft::error::{Fatal, RaftError};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, VoteRequest, VoteResponse,
};
use openraft::{
    BasicNode, CommittedLeaderId, EntryPayload, LogId, Membership, ServerState, SnapshotMeta, Vote,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use zkproto::peer::{describe, encode_frame, Hello, Kind, Outcome};
use zkproto::{perms, CreateMode};
use zkserver::db::Db;
use zkserver::events::{EventLog, EventLogGuard, EventLogOptions};
use zkserver::raft::log_store::LogStore;
use zkserver::raft::network::Network;
use zkserver::raft::peer_frame::SnapshotChunkOut;
use zkserver::raft::peer_server;
use zkserver::raft::state_machine::StateMachine;
use zkserver::raft::{Batch, Cause, Entry, Raft, Txn};
use zkserver::tree::{Acl, CreateOp, Op, SetDataOp};
use zkserver::wal::WalOptions;

const CLUSTER: &str = "zkops-peer-test";
/// Every wait in this file; the whole scenario takes a few seconds.
const WAIT: Duration = Duration::from_secs(10);

struct Member {
    id: u64,
    addr: SocketAddr,
    raft: Raft,
    db: Arc<Db>,
    stop: watch::Sender<bool>,
    listener: JoinHandle<()>,
    _events: EventLogGuard,
    _dir: tempfile::TempDir,
}

fn ip(id: u64) -> IpAddr {
    IpAddr::from([127, 0, 0, 60 + id as u8])
}

async fn start(id: u64) -> (Member, tokio::net::TcpListener) {
    let port = std::env::var("ZKOPS_PEER_TEST_PORT")
        .ok()
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or(0);
    let listener = peer_server::bind(SocketAddr::new(ip(id), port))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (events, guard) = EventLog::open(EventLogOptions::new(
        dir.path().join("events"),
        id.to_string(),
    ))
    .unwrap();
    let db = Db::new(id, events, None);
    let (log, sm) = storage(dir.path(), db.clone());
    let cfg = openraft::Config {
        cluster_name: CLUSTER.into(),
        heartbeat_interval: 100,
        election_timeout_min: 500,
        election_timeout_max: 1000,
        ..Default::default()
    };
    let raft = Raft::new(
        id,
        Arc::new(cfg.validate().unwrap()),
        Network::new(CLUSTER, id),
        log,
        sm,
    )
    .await
    .unwrap();
    let (stop, _) = watch::channel(false);
    let member = Member {
        id,
        addr,
        raft,
        db,
        stop,
        listener: tokio::spawn(async {}),
        _events: guard,
        _dir: dir,
    };
    (member, listener)
}

fn storage(dir: &Path, db: Arc<Db>) -> (LogStore, StateMachine) {
    let (log, _) = LogStore::open(
        &dir.join("log"),
        WalOptions {
            fsync: false,
            ..WalOptions::default()
        },
    )
    .unwrap();
    let (sm, _) = StateMachine::open(db, &dir.join("snapshots"), 2).unwrap();
    (log, sm)
}

async fn cluster() -> Vec<Member> {
    let mut members = Vec::new();
    for id in 1..=3 {
        let (mut m, listener) = start(id).await;
        m.listener = tokio::spawn(peer_server::serve(
            listener,
            m.raft.clone(),
            CLUSTER.to_string(),
            id,
            m.stop.subscribe(),
        ));
        members.push(m);
    }
    members
}

/// The member that leads, once one (other than `not`) does.
async fn leader(members: &[&Member], not: Option<u64>) -> u64 {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        for m in members {
            let mm = m.raft.metrics().borrow().clone();
            if mm.state == ServerState::Leader && Some(m.id) != not {
                return m.id;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no leader within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn txn(op: Op) -> Txn {
    Txn {
        op,
        time_ms: 1_700_000_000_000,
        cause: Cause::Client,
        origin: None,
        caller: None,
    }
}

fn create(path: &str) -> Op {
    Op::Create(CreateOp {
        path: path.into(),
        data: b"v".to_vec(),
        null_data: false,
        acl: vec![Acl::world_anyone(perms::ALL)],
        mode: CreateMode::Persistent,
        session: 0,
        ttl_ms: -1,
    })
}

/// Writes through `leader` and waits until every member in `on` applied it.
async fn write_and_apply(leader: &Member, on: &[&Member], path: &str) {
    let resp = tokio::time::timeout(
        WAIT,
        leader
            .raft
            .client_write(Batch::new(vec![txn(create(path))])),
    )
    .await
    .expect("write timed out")
    .expect("write failed");
    let index = resp.log_id.index;
    for m in on {
        m.raft
            .wait(Some(WAIT))
            .metrics(
                |mm| mm.last_applied.map(|l| l.index) >= Some(index),
                "applied the write",
            )
            .await
            .unwrap_or_else(|e| panic!("member {} did not apply {path}: {e}", m.id));
        assert!(
            m.db.lock().rep.tree.exists(path).is_some(),
            "member {} lacks {path}",
            m.id
        );
    }
}

async fn stop(m: &Member) {
    m.raft.shutdown().await.unwrap();
    let _ = m.stop.send(true);
    let _ = tokio::time::timeout(WAIT, async {
        while !m.listener.is_finished() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

/// Reads one frame off a raw socket (or `None` at a close).
async fn raw_frame(s: &mut TcpStream) -> Option<(Kind, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some((h, body)) = zkproto::peer::split_frame(&buf).unwrap() {
            return Some((h.kind, body.to_vec()));
        }
        let n = tokio::time::timeout(WAIT, s.read(&mut chunk))
            .await
            .expect("read timed out")
            .unwrap_or(0);
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn hello(addr: SocketAddr, cluster: &str, to: u64) -> (TcpStream, Option<(Kind, Vec<u8>)>) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let h = Hello {
        cluster: cluster.into(),
        from: 9,
        to,
    };
    s.write_all(&encode_frame(Kind::Hello, 0, &h.encode()).unwrap())
        .await
        .unwrap();
    let answer = raw_frame(&mut s).await;
    (s, answer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_members_elect_replicate_and_fail_over() {
    tokio::time::timeout(Duration::from_secs(30), scenario())
        .await
        .expect("scenario over 30 s");
}

async fn scenario() {
    let members = cluster().await;
    let nodes: BTreeMap<u64, BasicNode> = members
        .iter()
        .map(|m| (m.id, BasicNode::new(m.addr.to_string())))
        .collect();
    members[0].raft.initialize(nodes).await.unwrap();
    let all: Vec<&Member> = members.iter().collect();

    let first = leader(&all, None).await;
    let lead = &members[first as usize - 1];
    write_and_apply(lead, &all, "/peer-a").await;

    stop(lead).await;
    let rest: Vec<&Member> = members.iter().filter(|m| m.id != first).collect();
    let second = leader(&rest, Some(first)).await;
    assert_ne!(second, first);
    let lead = &members[second as usize - 1];

    // A caller from another ensemble is told why and cut off.
    let (mut s, answer) = hello(lead.addr, "another-cluster", lead.id).await;
    let (kind, body) = answer.expect("an error frame");
    assert_eq!(kind, Kind::Error);
    let msg = zkproto::peer::error_msg(&body).unwrap();
    assert!(msg.contains("another-cluster"), "{msg}");
    assert!(raw_frame(&mut s).await.is_none(), "connection not closed");
    // So is one that dialled the wrong member.
    let (_, answer) = hello(lead.addr, CLUSTER, lead.id + 10).await;
    assert_eq!(answer.map(|a| a.0), Some(Kind::Error));

    // Garbage: an error frame or a close, and the listener serves on.
    for junk in [
        &b"GET / HTTP/1.0\r\n\r\n"[..],
        &[0xff; 64][..],
        &[0, 0, 0, 20][..],
    ] {
        let mut s = TcpStream::connect(lead.addr).await.unwrap();
        s.write_all(junk).await.unwrap();
        s.shutdown().await.unwrap();
        if let Some((kind, _)) = raw_frame(&mut s).await {
            assert_eq!(kind, Kind::Error);
        }
    }
    let (_, answer) = hello(lead.addr, CLUSTER, lead.id).await;
    assert_eq!(answer.map(|a| a.0), Some(Kind::HelloOk));

    write_and_apply(lead, &rest, "/peer-b").await;

    for m in &rest {
        stop(m).await;
    }
}

fn log_id(term: u64, index: u64) -> LogId<u64> {
    LogId::new(CommittedLeaderId::new(term, 1), index)
}

fn named<T: serde::Serialize>(v: &T) -> Vec<u8> {
    rmp_serde::to_vec_named(v).unwrap()
}

#[test]
fn openraft_bodies_are_summarized() {
    let vote = VoteRequest::new(Vote::new(7, 2), Some(log_id(6, 41)));
    let s = describe(Kind::VoteReq, &named(&vote)).unwrap();
    assert_eq!(
        (s.term, s.node, s.committed),
        (Some(7), Some(2), Some(false))
    );
    assert_eq!(s.last_log_id.map(|l| (l.index, l.term)), Some((41, 6)));

    let resp: Result<VoteResponse<u64>, RaftError<u64>> =
        Ok(VoteResponse::new(Vote::new(7, 2), None, true));
    let s = describe(Kind::VoteResp, &named(&resp)).unwrap();
    assert_eq!(
        (s.granted, s.term, s.last_log_id),
        (Some(true), Some(7), None)
    );

    let set = Op::SetData(SetDataOp {
        path: "/b".into(),
        data: vec![1, 2, 3],
        null_data: false,
        version: -1,
    });
    let entries: Vec<Entry> = vec![
        Entry {
            log_id: log_id(7, 42),
            payload: EntryPayload::Blank,
        },
        Entry {
            log_id: log_id(7, 43),
            payload: EntryPayload::Normal(Batch::new(vec![txn(create("/a")), txn(set)])),
        },
        Entry {
            log_id: log_id(7, 44),
            payload: EntryPayload::Normal(Batch::new(vec![txn(Op::CloseSession { session: 5 })])),
        },
        Entry {
            log_id: log_id(7, 45),
            payload: EntryPayload::Membership(Membership::new(
                vec![BTreeSet::from([1, 2, 3])],
                None,
            )),
        },
    ];
    let append = AppendEntriesRequest::<zkserver::raft::TypeConfig> {
        vote: Vote::new_committed(7, 1),
        prev_log_id: Some(log_id(6, 41)),
        entries,
        leader_commit: Some(log_id(6, 40)),
    };
    let s = describe(Kind::AppendReq, &named(&append)).unwrap();
    let e = s.entries.clone().unwrap();
    assert_eq!((e.first, e.last, e.count), (Some(42), Some(45), 4));
    assert_eq!((e.blank, e.normal, e.membership, e.writes), (1, 2, 1, 3));
    let ops: Vec<_> = e
        .ops
        .iter()
        .map(|w| (w.op.as_str(), w.path.as_deref()))
        .collect();
    assert_eq!(
        ops,
        [
            ("create", Some("/a")),
            ("set_data", Some("/b")),
            ("close_session", None)
        ]
    );
    assert_eq!(s.committed, Some(true));
    assert_eq!(
        s.to_string(),
        "append term 7 prev 41/6 entries 42..45 (4 entries, 3 writes: \
         create /a, set_data /b, close_session) commit 40"
    );

    let outcomes: [(AppendEntriesResponse<u64>, Outcome); 4] = [
        (AppendEntriesResponse::Success, Outcome::Success),
        (AppendEntriesResponse::Conflict, Outcome::Conflict),
        (
            AppendEntriesResponse::HigherVote(Vote::new(8, 3)),
            Outcome::HigherVote {
                term: Some(8),
                node: Some(3),
            },
        ),
        (
            AppendEntriesResponse::PartialSuccess(Some(log_id(7, 43))),
            Outcome::PartialSuccess {
                matching: describe_log_id(7, 43),
            },
        ),
    ];
    for (resp, want) in outcomes {
        let r: Result<_, RaftError<u64>> = Ok(resp);
        let s = describe(Kind::AppendResp, &named(&r)).unwrap();
        assert_eq!(s.outcome, Some(want));
    }
    let err: Result<AppendEntriesResponse<u64>, RaftError<u64>> =
        Err(RaftError::Fatal(Fatal::Stopped));
    let s = describe(Kind::AppendResp, &named(&err)).unwrap();
    assert_eq!(s.error.as_deref(), Some("Fatal(Stopped)"));

    let snap = InstallSnapshotRequest::<zkserver::raft::TypeConfig> {
        vote: Vote::new_committed(7, 1),
        meta: SnapshotMeta {
            last_log_id: Some(log_id(7, 100)),
            snapshot_id: "7-100".into(),
            ..Default::default()
        },
        offset: 4096,
        data: vec![9; 1000],
        done: false,
    };
    // As the transport sends it (the chunk as bin) and as serde would.
    for body in [named(&SnapshotChunkOut::from(&snap)), named(&snap)] {
        let s = describe(Kind::SnapshotReq, &body).unwrap();
        let m = s.snapshot.unwrap();
        assert_eq!(m.last_log_id, describe_log_id(7, 100));
        assert_eq!(
            (m.offset, m.bytes, m.done, m.snapshot_id.as_deref()),
            (Some(4096), Some(1000), Some(false), Some("7-100"))
        );
    }
}

fn describe_log_id(term: u64, index: u64) -> Option<zkproto::peer::LogIdSummary> {
    Some(zkproto::peer::LogIdSummary { index, term })
}
