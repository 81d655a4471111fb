//! The event log as a consumer relies on it: every line parses, `seq` has
//! no gaps (across a restart too), each kind carries the right stamp,
//! transactions appear in zxid order, a write can be found by
//! (session, xid), and a restart's replay repeats the same zxids.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};

use common::raw;
use common::Embedded;
use zkproto::event::{Event, Stamp};

/// Kinds about an agreed transaction: stamped `zxid`.
const AGREED: &[&str] = &[
    "raft.epoch",
    "raft.membership",
    "session.created",
    "session.closed",
    "session.expired",
    "txn.applied",
    "txn.cleaner",
    "watch.fired",
    "reply",
];

/// Kinds that happen on this node only: stamped `applied_zxid`.
const LOCAL: &[&str] = &[
    "server.starting",
    "server.serving",
    "server.stopping",
    "server.accept_failed",
    "session.connected",
    "session.rejected",
    "session.refused",
    "request",
    "conn.opened",
    "conn.closed",
    "conn.bad_input",
    "conn.slow_reader",
    "conn.refused",
    "fourlw",
    "snapshot.written",
    "snapshot.installed",
    "log.torn_tail",
    "log.slow_sync",
    "log.failed",
    "events.lost",
    "events.corrupt",
];

/// One per transaction: their zxids rise strictly in log order.
const ONE_PER_TXN: &[&str] = &[
    "raft.epoch",
    "raft.membership",
    "session.created",
    "session.closed",
    "session.expired",
    "txn.applied",
    "txn.cleaner",
];

const WRITES: i32 = 150;

/// Session A writes /ev/n1.. with xids 1..=WRITES, pipelined, and returns
/// the zxid each reply carried.
fn write_load(a: &mut std::net::TcpStream) -> BTreeMap<i32, i64> {
    a.write_all(&raw::create_request(WRITES + 1, "/ev", b""))
        .expect("send");
    let mut out = Vec::new();
    for xid in 1..=WRITES {
        out.extend(raw::create_request(xid, &format!("/ev/n{xid}"), b"v"));
    }
    a.write_all(&out).expect("send");
    let mut zxids = BTreeMap::new();
    let body = raw::read_frame(a).expect("reply");
    assert_eq!(raw::header(&body).2, 0, "create /ev");
    for _ in 1..=WRITES {
        let body = raw::read_frame(a).expect("reply");
        let (xid, zxid, err) = raw::header(&body);
        assert_eq!(err, 0, "create for xid {xid}");
        zxids.insert(xid, zxid);
    }
    zxids
}

#[test]
fn the_event_log_is_complete_ordered_and_searchable() {
    let srv = Embedded::start("snapCount=100\n4lw.commands.whitelist=*");
    let (mut a, session_a) = raw::session_with_id(None, srv.addr);
    let zxids = write_load(&mut a);
    // A refused write and a failed read, at known xids.
    a.write_all(&raw::create_request(1000, "/ev/n1", b""))
        .expect("send");
    let (_, dup_zxid, err) = raw::header(&raw::read_frame(&mut a).expect("reply"));
    assert_eq!(err, -110, "NodeExists");
    a.write_all(&raw::path_request(1001, raw::GET_DATA, "/ev/none"))
        .expect("send");
    assert_eq!(
        raw::header(&raw::read_frame(&mut a).expect("reply")).2,
        -101
    );
    // B watches, A fires it.
    let (mut b, _) = raw::session_with_id(None, srv.addr);
    b.write_all(&raw::watch_request(1, raw::EXISTS, "/ev/w", true))
        .expect("send");
    assert_eq!(
        raw::header(&raw::read_frame(&mut b).expect("reply")).2,
        -101
    );
    a.write_all(&raw::create_request(1002, "/ev/w", b""))
        .expect("send");
    let (_, w_zxid, _) = raw::header(&raw::read_frame(&mut a).expect("reply"));
    let note = raw::read_frame(&mut b).expect("notification");
    assert_eq!(raw::header(&note).0, -1);
    // A four-letter word.
    let mut f = raw::dial_from(None, srv.addr);
    f.write_all(b"srvr").expect("send");
    let mut answer = String::new();
    f.read_to_string(&mut answer).expect("srvr answer");
    assert!(
        answer.contains("Mode: standalone") || answer.contains("Mode:"),
        "{answer}"
    );
    drop((a, b));

    // Restart: the replay and the second run go to the same log.
    let dir = srv.stop();
    let srv = Embedded::start_in(dir, "snapCount=100");
    raw::assert_serves(None, srv.addr);
    let events_dir = srv.events_dir();
    let dir = srv.stop();
    let _keep = &dir;

    // Every line parses on its own (not only through zkserver's reader).
    let mut lines = 0;
    let mut names: Vec<_> = std::fs::read_dir(&events_dir)
        .expect("events dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    names.sort();
    for p in &names {
        let text = std::fs::read_to_string(p).expect("read events");
        for (i, l) in text.lines().enumerate() {
            Event::from_line(l, i as u64 + 1)
                .unwrap_or_else(|e| panic!("{}:{}: {e}: {l}", p.display(), i + 1));
            let v: serde_json::Value = serde_json::from_str(l).expect("JSON");
            let stamps = ["zxid", "applied_zxid"]
                .iter()
                .filter(|k| v.get(**k).is_some())
                .count();
            assert_eq!(stamps, 1, "exactly one stamp: {l}");
            lines += 1;
        }
    }
    let evs = common::events_in(&events_dir);
    assert_eq!(evs.len(), lines);

    // seq: 0, 1, 2, ... with no gap, across the restart.
    for (i, e) in evs.iter().enumerate() {
        assert_eq!(e.seq, i as u64, "seq gap before {e:?}");
    }

    // Stamps by kind; an unknown kind fails the test until listed here.
    for e in &evs {
        let base = e.kind.strip_suffix(".replayed").unwrap_or(&e.kind);
        match e.stamp {
            Stamp::Zxid(_) => assert!(AGREED.contains(&base), "{} stamped zxid", e.kind),
            Stamp::AppliedZxid(_) => {
                assert!(LOCAL.contains(&base), "{} stamped applied_zxid", e.kind)
            }
        }
    }

    // One-per-transaction kinds rise strictly, in seq order, across the
    // restart (replayed lines repeat old zxids and are checked below).
    let txns: Vec<&Event> = evs
        .iter()
        .filter(|e| ONE_PER_TXN.contains(&e.kind.as_str()))
        .collect();
    for w in txns.windows(2) {
        assert!(
            w[0].stamp.zxid().0 < w[1].stamp.zxid().0,
            "zxid order: {} {:?} then {} {:?}",
            w[0].kind,
            w[0].stamp,
            w[1].kind,
            w[1].stamp
        );
    }

    // Each write found by (session, xid), at the zxid its reply carried.
    let by_key: HashMap<(i64, i32), Vec<&Event>> = evs
        .iter()
        .filter(|e| !e.kind.ends_with(".replayed"))
        .filter_map(|e| Some(((e.session?.0, e.xid?), e)))
        .fold(HashMap::new(), |mut m, (k, e)| {
            m.entry(k).or_default().push(e);
            m
        });
    for (xid, zxid) in &zxids {
        let found = &by_key[&(session_a, *xid)];
        let applied: Vec<_> = found.iter().filter(|e| e.kind == "txn.applied").collect();
        assert_eq!(applied.len(), 1, "xid {xid}: {found:#?}");
        assert_eq!(applied[0].stamp.zxid().0, *zxid);
        assert_eq!(
            applied[0].path.as_deref(),
            Some(format!("/ev/n{xid}").as_str())
        );
        assert!(found
            .iter()
            .any(|e| e.kind == "reply" && e.stamp.zxid().0 == *zxid));
    }
    let dup = &by_key[&(session_a, 1000)];
    assert!(dup.iter().any(|e| e.kind == "txn.applied"
        && e.result.as_deref() == Some("NodeExists")
        && e.stamp.zxid().0 == dup_zxid));
    let read = &by_key[&(session_a, 1001)];
    assert!(read
        .iter()
        .any(|e| e.kind == "request" && e.result.as_deref() == Some("NoNode")));
    assert!(evs.iter().any(|e| e.kind == "watch.fired"
        && e.path.as_deref() == Some("/ev/w")
        && e.stamp.zxid().0 == w_zxid));
    assert!(evs
        .iter()
        .any(|e| e.kind == "fourlw" && e.op.as_deref() == Some("srvr")));
    assert!(
        evs.iter().any(|e| e.kind == "snapshot.written"),
        "snapCount=100 and 150+ writes"
    );

    // The restart replays what the snapshot does not hold, with the same
    // zxids and paths as the first time.
    let originals: HashMap<(String, i64), &Event> = evs
        .iter()
        .filter(|e| e.stamp.is_agreed() && !e.kind.ends_with(".replayed"))
        .map(|e| ((e.kind.clone(), e.stamp.zxid().0), e))
        .collect();
    let replayed: Vec<&Event> = evs
        .iter()
        .filter(|e| e.kind.ends_with(".replayed"))
        .collect();
    assert!(
        replayed.iter().any(|e| e.kind == "txn.applied.replayed"),
        "writes after the snapshot are replayed"
    );
    for r in &replayed {
        let kind = r.kind.trim_end_matches(".replayed").to_string();
        let o = originals
            .get(&(kind, r.stamp.zxid().0))
            .unwrap_or_else(|| panic!("replayed {r:?} has no original"));
        assert_eq!(
            (&o.path, &o.op, &o.result),
            (&r.path, &r.op, &r.result),
            "{r:?}"
        );
    }
}

/// `fsync.warningthresholdms` reaches the log: at 0 every append is over
/// it (the start's entries and a session's creation each get a warning
/// naming the time), at the default none of those are.
#[test]
fn slow_log_syncs_are_reported() {
    let slow_syncs = |cfg: &str| -> Vec<Event> {
        let srv = Embedded::start(cfg);
        raw::assert_serves(None, srv.addr);
        srv.finish()
            .into_iter()
            .filter(|e| e.kind == "log.slow_sync")
            .collect()
    };
    let every = slow_syncs("fsync.warningthresholdms=0");
    assert!(every.len() >= 2, "start and session creation: {every:?}");
    for e in &every {
        assert!(e.latency_us.is_some() && !e.stamp.is_agreed(), "{e:?}");
    }
    assert_eq!(
        slow_syncs("").len(),
        0,
        "nothing takes a second on loopback"
    );
}
