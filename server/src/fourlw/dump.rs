//! The session and watch words: dump, wchs, wchc, wchp.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::SocketAddr;

use super::java;
use super::view::{ExpiryBucket, ServerView, SessionsView};

/// `dump`: sessions, ephemerals, then connections.
pub fn dump(view: &ServerView) -> String {
    let mut out = String::from("SessionTracker dump:\n");
    match &view.sessions {
        SessionsView::Buckets(buckets) => {
            out.push_str("Session ");
            expiry_buckets(&mut out, buckets, |id| format!("0x{}", java::hex(*id)));
        }
        SessionsView::Global(sessions) => {
            let _ = writeln!(out, "Global Sessions({}):", sessions.len());
            for (id, timeout) in sessions {
                let _ = writeln!(out, "0x{}\t{timeout}ms", java::hex(*id));
            }
        }
    }
    out.push_str("ephemeral nodes dump:\n");
    let _ = writeln!(out, "Sessions with Ephemerals ({}):", view.ephemerals.len());
    for (id, paths) in &view.ephemerals {
        let _ = writeln!(out, "0x{}:", java::hex(*id));
        for p in paths {
            let _ = writeln!(out, "\t{p}");
        }
    }
    out.push_str("Connections dump:\n");
    out.push_str("Connections ");
    expiry_buckets(
        &mut out,
        &view.connection_buckets,
        |(addr, id): &(SocketAddr, i64)| {
            format!(
                "ip: {} sessionId: 0x{}",
                java::socket_addr(addr),
                java::hex(*id)
            )
        },
    );
    out
}

/// ZooKeeper's `ExpiryQueue.dump`: "Sets (buckets)/(members):", then each
/// bucket, earliest first.
fn expiry_buckets<T>(out: &mut String, buckets: &[ExpiryBucket<T>], name: impl Fn(&T) -> String) {
    let members: usize = buckets.iter().map(|b| b.members.len()).sum();
    let _ = writeln!(out, "Sets ({})/({members}):", buckets.len());
    let mut order: Vec<&ExpiryBucket<T>> = buckets.iter().collect();
    order.sort_by_key(|b| b.expire_at_ms);
    for b in order {
        let _ = writeln!(
            out,
            "{} expire at {}:",
            b.members.len(),
            java::date_utc(b.expire_at_ms)
        );
        for m in &b.members {
            let _ = writeln!(out, "\t{}", name(m));
        }
    }
}

/// `wchs`: how many sessions watch how many paths. Like ZooKeeper it counts
/// data watches only.
pub fn watch_summary(view: &ServerView) -> String {
    let paths: BTreeSet<&String> = view.data_watches.values().flatten().collect();
    let total: usize = view.data_watches.values().map(BTreeSet::len).sum();
    format!(
        "{} connections watching {} paths\nTotal watches:{total}\n",
        view.data_watches.len(),
        paths.len()
    )
}

/// `wchc`: each session with its watched paths.
pub fn watches_by_session(view: &ServerView) -> String {
    let mut out = String::new();
    for (id, paths) in &view.data_watches {
        let _ = writeln!(out, "0x{}", java::hex(*id));
        for p in paths {
            let _ = writeln!(out, "\t{p}");
        }
    }
    out.push('\n');
    out
}

/// `wchp`: each watched path with its sessions.
pub fn watches_by_path(view: &ServerView) -> String {
    let mut by_path: BTreeMap<&String, Vec<i64>> = BTreeMap::new();
    for (id, paths) in &view.data_watches {
        for p in paths {
            by_path.entry(p).or_default().push(*id);
        }
    }
    let mut out = String::new();
    for (path, ids) in by_path {
        let _ = writeln!(out, "{path}");
        for id in ids {
            let _ = writeln!(out, "\t0x{}", java::hex(id));
        }
    }
    out.push('\n');
    out
}
