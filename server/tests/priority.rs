//! Thread priorities of the real binary: the consensus thread runs raised
//! when the process may raise it (as root here), no other thread inherits
//! that, and the `server.serving` event says what the thread got.

mod common;

use std::time::Duration;

use common::{wait_event_in, Proc};

/// (name, nice) of every thread of `pid`.
fn threads(pid: u32) -> Vec<(String, i32)> {
    let mut out = Vec::new();
    for t in std::fs::read_dir(format!("/proc/{pid}/task")).expect("the task list") {
        let t = t.expect("a task").path();
        let (Ok(comm), Ok(stat)) = (
            std::fs::read_to_string(t.join("comm")),
            std::fs::read_to_string(t.join("stat")),
        ) else {
            continue; // the thread ended meanwhile
        };
        // The name in parentheses may hold spaces; the fields after it don't.
        let after = &stat[stat.rfind(')').expect("stat has the name") + 2..];
        // Field 19 of stat is the nice value; `after` starts at field 3.
        let nice = after
            .split_whitespace()
            .nth(16)
            .and_then(|n| n.parse().ok())
            .expect("nice field parses");
        out.push((comm.trim().to_string(), nice));
    }
    out
}

#[test]
fn only_the_raft_thread_runs_raised_and_the_start_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let p = Proc::start(dir.path(), &data, "");
    let serving = wait_event_in(
        &data.join("events"),
        "server.serving",
        Duration::from_secs(10),
        |e| e.kind == "server.serving",
    );
    let detail = serving.detail.expect("server.serving has a detail");
    let refused = detail["raft_thread_nice_refused"]
        .as_str()
        .map(str::to_string);
    let reported = detail["raft_thread_nice"].as_i64().expect("a nice value");

    let all = threads(p.child.id());
    let raft: Vec<i32> = all
        .iter()
        .filter(|(n, _)| n == "zk-raft")
        .map(|(_, nice)| *nice)
        .collect();
    assert_eq!(raft.len(), 1, "one consensus thread: {all:?}");
    let expected = if refused.is_some() {
        0
    } else {
        zkserver::priority::RAFT_NICE
    };
    assert_eq!(raft[0], expected, "refused: {refused:?}; threads: {all:?}");
    assert_eq!(reported, i64::from(expected), "the event tells the truth");
    let raised: Vec<_> = all
        .iter()
        .filter(|(n, nice)| n != "zk-raft" && *nice < 0)
        .collect();
    assert!(
        raised.is_empty(),
        "threads that inherited the raise: {raised:?}"
    );
    if effective_root() {
        assert!(refused.is_none(), "root may raise a priority: {refused:?}");
    }
}

fn effective_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|e| e == "0"))
        })
        .unwrap_or(false)
}
