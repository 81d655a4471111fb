//! kazoo, the Python client, against an embedded zkserver: each scenario
//! script (tests/py/) asserts what the client sees, and the test then checks
//! the server's event log for the same facts.

mod common;

use std::time::Duration;

use common::{hex_id, kazoo, of_session, Embedded};
use zkproto::event::Event;

const LIMIT: Duration = Duration::from_secs(40);

fn str_of<'a>(facts: &'a serde_json::Value, key: &str) -> &'a str {
    facts[key]
        .as_str()
        .unwrap_or_else(|| panic!("fact {key} missing in {facts}"))
}

fn strings(facts: &serde_json::Value, key: &str) -> Vec<String> {
    let mut v: Vec<String> = facts[key]
        .as_array()
        .unwrap_or_else(|| panic!("fact {key} missing in {facts}"))
        .iter()
        .map(|p| p.as_str().unwrap_or_default().to_string())
        .collect();
    v.sort();
    v
}

fn sorted(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v
}

fn txn<'a>(evs: &'a [Event], op: &'a str, path: &'a str) -> impl Iterator<Item = &'a Event> + 'a {
    evs.iter().filter(move |e| {
        e.kind == "txn.applied" && e.op.as_deref() == Some(op) && e.path.as_deref() == Some(path)
    })
}

#[test]
fn crud_stats_and_sequential_nodes() {
    let srv = Embedded::start("");
    let facts = kazoo("crud.py", &srv.hostport(), &[], LIMIT);
    let session = hex_id(str_of(&facts, "session"));
    let evs = srv.finish();

    // Every sequential node the client got back is the path its create
    // event names, and the events say Ok.
    for p in strings(&facts, "sequential") {
        let e: Vec<&Event> = txn(&evs, "create", &p).collect();
        assert_eq!(e.len(), 1, "one create event for {p}: {e:#?}");
        assert_eq!(e[0].result.as_deref(), Some("Ok"));
        assert_eq!(e[0].session.map(|s| s.0), Some(session));
    }
    // The refused writes are there too, with ZooKeeper's result names.
    let results: Vec<&str> = of_session(&evs, "txn.applied", session)
        .filter_map(|e| e.result.as_deref())
        .collect();
    for want in ["NodeExists", "NoNode", "BadVersion", "NotEmpty"] {
        assert!(
            results.contains(&want),
            "no txn.applied with {want}: {results:?}"
        );
    }
    // The client's first create made /crud at the zxid its stat showed.
    let first = txn(&evs, "create", "/crud")
        .find(|e| e.result.as_deref() == Some("Ok"))
        .expect("create /crud event");
    assert_eq!(Some(first.stamp.zxid().0), facts["created_zxid"].as_i64());
    // Each write is answered with a reply event for the same zxid.
    let replies = of_session(&evs, "reply", session).count();
    let writes = of_session(&evs, "txn.applied", session).count();
    let close = of_session(&evs, "session.closed", session).count();
    assert_eq!(close, 1);
    assert_eq!(replies, writes + close, "one reply per applied write");
}

#[test]
fn ephemerals_go_with_a_closed_session() {
    let srv = Embedded::start("");
    let facts = kazoo("ephemeral.py", &srv.hostport(), &[], LIMIT);
    let owner = hex_id(str_of(&facts, "owner"));
    let paths = strings(&facts, "paths");
    let evs = srv.finish();

    let closed: Vec<&Event> = of_session(&evs, "session.closed", owner).collect();
    assert_eq!(closed.len(), 1, "{closed:#?}");
    assert_eq!(
        sorted(&closed[0].paths),
        paths,
        "the close lists its ephemerals"
    );
    assert!(of_session(&evs, "session.expired", owner).next().is_none());
    // Nothing else deleted them.
    for p in &paths {
        assert_eq!(
            txn(&evs, "delete", p).count(),
            0,
            "{p} deleted apart from the close"
        );
    }
    let zxid = closed[0].stamp.zxid();
    let fired: Vec<&Event> = evs
        .iter()
        .filter(|e| e.kind == "watch.fired" && e.stamp.zxid() == zxid)
        .collect();
    assert!(
        fired
            .iter()
            .any(|e| e.path.as_deref() == Some("/eph/a") && e.op.as_deref() == Some("NodeDeleted")),
        "the observer's exists watch fired by the close: {fired:#?}"
    );
    assert!(fired.iter().any(
        |e| e.path.as_deref() == Some("/eph") && e.op.as_deref() == Some("NodeChildrenChanged")
    ));
}

#[test]
fn a_silent_session_expires_with_its_ephemerals_in_one_txn() {
    let srv = Embedded::start("minSessionTimeout=4000\nmaxSessionTimeout=8000");
    let facts = kazoo("expiry.py", &srv.hostport(), &[], LIMIT);
    let owner = hex_id(str_of(&facts, "owner"));
    let paths = strings(&facts, "paths");
    let evs = srv.finish();

    let connected: Vec<&Event> = of_session(&evs, "session.connected", owner).collect();
    assert_eq!(connected.len(), 1);
    let detail = connected[0].detail.as_ref().expect("detail");
    assert_eq!(
        detail["timeout_ms"], 4000,
        "1000 ms asked, raised to the minimum"
    );

    let expired: Vec<&Event> = of_session(&evs, "session.expired", owner).collect();
    assert_eq!(expired.len(), 1, "{expired:#?}");
    assert_eq!(
        sorted(&expired[0].paths),
        paths,
        "one txn removes every ephemeral"
    );
    assert_eq!(expired[0].op.as_deref(), Some("closeSession"));
    assert!(of_session(&evs, "session.closed", owner).next().is_none());
    for p in &paths {
        assert_eq!(txn(&evs, "delete", p).count(), 0);
    }
    let zxid = expired[0].stamp.zxid();
    let fired = evs
        .iter()
        .filter(|e| {
            e.kind == "watch.fired"
                && e.stamp.zxid() == zxid
                && e.op.as_deref() == Some("NodeDeleted")
        })
        .count();
    assert_eq!(
        fired,
        paths.len(),
        "one NodeDeleted per ephemeral, all at the expiry's zxid"
    );
    // The stale id+password came back later and was refused.
    let rejected: Vec<&Event> = of_session(&evs, "session.rejected", owner).collect();
    assert_eq!(rejected.len(), 1, "{rejected:#?}");
    assert!(rejected[0].seq > expired[0].seq);
}

#[test]
fn one_shot_persistent_and_recursive_watches() {
    let srv = Embedded::start("");
    kazoo("watches.py", &srv.hostport(), &[], LIMIT);
    let evs = srv.finish();
    let fired = |path: &str, op: &str| {
        evs.iter()
            .filter(|e| {
                e.kind == "watch.fired"
                    && e.path.as_deref() == Some(path)
                    && e.op.as_deref() == Some(op)
            })
            .count()
    };
    // One-shot data watch (1) + persistent (3 sets + the last one).
    assert_eq!(fired("/w/d", "NodeDataChanged"), 1 + 4);
    assert_eq!(fired("/w/new", "NodeCreated"), 1);
    assert_eq!(fired("/w/r", "NodeCreated"), 1, "recursive watch on /w");
    assert_eq!(
        fired("/w/d/kid/grand", "NodeDeleted"),
        1,
        "recursive watch on /w"
    );
    // The grandchild's creation fired nothing: no watch covered it then.
    assert_eq!(fired("/w/d/kid/grand", "NodeCreated"), 0);
}

#[test]
fn multi_commits_all_or_nothing() {
    let srv = Embedded::start("");
    let facts = kazoo("multi.py", &srv.hostport(), &[], LIMIT);
    let session = hex_id(str_of(&facts, "session"));
    let evs = srv.finish();

    let multis: Vec<&Event> = of_session(&evs, "txn.applied", session)
        .filter(|e| e.op.as_deref() == Some("multi"))
        .collect();
    assert_eq!(multis.len(), 3, "{multis:#?}");
    assert_eq!(multis[0].result.as_deref(), Some("Ok"));
    assert_eq!(multis[0].paths, ["/m/a", "/m/b", "/m/x", "/m/x"]);
    assert_eq!(multis[1].result.as_deref(), Some("BadVersion"));
    assert_eq!(
        multis[1].detail.as_ref().map(|d| d["failed_op"].clone()),
        Some(2.into())
    );
    assert_eq!(multis[2].result.as_deref(), Some("NodeExists"));
    assert_eq!(
        multis[2].detail.as_ref().map(|d| d["failed_op"].clone()),
        Some(0.into())
    );
    // A failed multi still takes a zxid (as in ZooKeeper), and fires nothing.
    for m in &multis[1..] {
        let z = m.stamp.zxid();
        assert!(!evs
            .iter()
            .any(|e| e.kind == "watch.fired" && e.stamp.zxid() == z));
    }
}

#[test]
fn digest_acls_refuse_strangers() {
    let srv = Embedded::start("");
    let facts = kazoo("acl.py", &srv.hostport(), &[], LIMIT);
    let anon = hex_id(str_of(&facts, "anon"));
    let evs = srv.finish();

    // Refused reads, and writes refused before the log (a bad ACL list),
    // are local `request` events; writes refused by the ACLs of the tree are
    // judged when applied, as ZooKeeper's error txns, so they are agreed
    // `txn.applied` events with the session that asked.
    let count = |kind: &str, op: &str, result: &str| {
        of_session(&evs, kind, anon)
            .filter(|e| e.op.as_deref() == Some(op) && e.result.as_deref() == Some(result))
            .count()
    };
    assert!(count("request", "getData", "NoAuth") >= 1);
    assert_eq!(count("request", "getACL", "NoAuth"), 1);
    assert_eq!(count("request", "create", "InvalidACL"), 1);
    assert!(
        count("txn.applied", "setData", "NoAuth") >= 2,
        "/private and /ro"
    );
    assert_eq!(count("txn.applied", "create", "NoAuth"), 1);
    assert_eq!(count("txn.applied", "delete", "NoAuth"), 1);
    assert_eq!(count("txn.applied", "multi", "NoAuth"), 1);
    // A refused create changed nothing: no node was created there.
    assert!(!evs.iter().any(|e| e.kind == "txn.applied"
        && e.path.as_deref() == Some("/nobody")
        && e.result.as_deref() == Some("Ok")));
    assert!(evs.iter().any(|e| e.kind == "request"
        && e.op.as_deref() == Some("auth")
        && e.result.as_deref() == Some("AuthFailed")));
}

/// kazoo sends `Id("auth", "")` with a null id string; ZooKeeper accepts
/// that (the id of the auth scheme is ignored).
#[test]
fn auth_scheme_acl_with_an_empty_id() {
    let srv = Embedded::start("");
    kazoo("acl.py", &srv.hostport(), &["null-auth-id"], LIMIT);
}

#[test]
fn reconnect_keeps_the_session_and_set_watches_rearms() {
    let srv = Embedded::start("");
    let facts = kazoo("reconnect.py", &srv.hostport(), &[], LIMIT);
    let session = hex_id(str_of(&facts, "session"));
    let evs = srv.finish();

    let news: Vec<bool> = of_session(&evs, "session.connected", session)
        .map(|e| {
            e.detail
                .as_ref()
                .and_then(|d| d["new"].as_bool())
                .unwrap_or(true)
        })
        .collect();
    assert_eq!(news.first(), Some(&true));
    assert!(
        news[1..].iter().any(|n| !n),
        "a reconnect with the old session: {news:?}"
    );
    assert!(of_session(&evs, "conn.closed", session).count() >= 2);
    assert!(of_session(&evs, "session.expired", session)
        .next()
        .is_none());
    let closed: Vec<&Event> = of_session(&evs, "session.closed", session).collect();
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0].paths, [str_of(&facts, "ephemeral")]);
}
