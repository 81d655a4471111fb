//! Fills a [`ServerView`] from the running member for the four-letter words,
//! and applies their side effects (`srst`, `crst`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

use zkproto::{FourLetterWord, OpCode};

use crate::config::Config;
use crate::conn::FourLetterFn;
use crate::db::Db;
use crate::fourlw::{
    self, ConnView, ExpiryBucket, Latency, Mode, ServerView, SessionConnView, SessionsView,
};
use crate::raft::Raft;

/// The ZooKeeper release whose behaviour zkserver follows; kazoo and
/// others read the leading digits of `zookeeper.version`.
pub const ZK_COMPAT_VERSION: &str = "3.9.2";

pub fn handler(db: Arc<Db>, raft: Raft, cfg: Arc<Config>, started: Instant) -> Box<FourLetterFn> {
    Box::new(move |word: FourLetterWord| {
        let allowed = cfg.four_lw_whitelist.allows(word);
        if allowed {
            match word {
                FourLetterWord::Srst => db.stats.reset(),
                FourLetterWord::Crst => {
                    for c in db.lock().conns.values() {
                        c.stats.reset();
                    }
                }
                _ => {}
            }
        }
        // A refused word costs nothing: its answer needs no view.
        let view = if allowed {
            view(&db, &raft, &cfg, started, word)
        } else {
            ServerView::default()
        };
        fourlw::respond(word, &cfg.four_lw_whitelist, &view)
    })
}

fn mode(raft: &Raft, cfg: &Config, node: u64) -> Mode {
    if cfg.servers.len() <= 1 {
        return Mode::Standalone;
    }
    if raft.metrics().borrow().current_leader == Some(node) {
        Mode::Leader
    } else {
        Mode::Follower
    }
}

fn open_fds() -> u64 {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count() as u64)
        .unwrap_or(0)
}

fn max_fds() -> u64 {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn env() -> Vec<(String, String)> {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    vec![
        ("host.name".into(), host),
        (
            "java.version".into(),
            format!("zkserver {}", env!("CARGO_PKG_VERSION")),
        ),
        ("java.vendor".into(), "zkops".into()),
        ("java.home".into(), exe.clone()),
        ("java.class.path".into(), exe),
        ("java.library.path".into(), String::new()),
        (
            "java.io.tmpdir".into(),
            std::env::temp_dir().display().to_string(),
        ),
        ("java.compiler".into(), "<NA>".into()),
        ("os.name".into(), std::env::consts::OS.into()),
        ("os.arch".into(), std::env::consts::ARCH.into()),
        (
            "os.version".into(),
            std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|s| s.trim().to_string())
                .unwrap_or_default(),
        ),
        ("user.name".into(), var("USER")),
        ("user.home".into(), var("HOME")),
        (
            "user.dir".into(),
            std::env::current_dir()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        ),
    ]
}

fn view(db: &Db, raft: &Raft, cfg: &Config, started: Instant, word: FourLetterWord) -> ServerView {
    let node = db.node;
    let lat = db.stats.latency();
    let mut v = ServerView {
        version: fourlw::full_version(
            ZK_COMPAT_VERSION,
            &format!("zkops-{}", env!("CARGO_PKG_VERSION")),
            "01/01/2026 00:00 GMT",
        ),
        serving: true,
        mode: mode(raft, cfg, node),
        latency: Latency {
            count: lat.count,
            total_ms: (lat.avg_ms * lat.count as f64) as u64,
            min_ms: lat.min_ms as u64,
            max_ms: lat.max_ms as u64,
        },
        packets_received: db.stats.packets_received.load(Relaxed),
        packets_sent: db.stats.packets_sent.load(Relaxed),
        outstanding_requests: db.stats.outstanding.load(Relaxed).max(0) as u64,
        open_file_descriptors: open_fds(),
        max_file_descriptors: max_fds(),
        uptime_ms: started.elapsed().as_millis() as u64,
        conf: cfg.conf_view(),
        quorum_size: cfg.servers.len().max(1) as u64,
        ..ServerView::default()
    };
    if matches!(
        word,
        FourLetterWord::Conf | FourLetterWord::Dirs | FourLetterWord::Mntr
    ) {
        (v.data_dir_size, v.log_dir_size) = cfg.dir_sizes();
    }
    if word == FourLetterWord::Envi {
        v.env = env();
    }
    let st = db.lock();
    v.last_zxid = st.applied_zxid();
    v.node_count = st.rep.tree.node_count() as u64;
    v.approximate_data_size = st.rep.tree.approximate_data_size();
    v.session_count = st.rep.tree.sessions().count() as u64;
    let now_ms = crate::conn::now_ms();
    let mut sessions_by_conn = BTreeMap::new();
    for (id, c) in &st.conns {
        sessions_by_conn.insert(*id, c.session);
        let s = &c.stats;
        let (count, total, min, max) = s.latency();
        v.connections.push(ConnView {
            remote: c.addr,
            interest_ops: 1,
            queued: s.queued.load(Relaxed),
            received: s.received.load(Relaxed),
            sent: s.sent.load(Relaxed),
            session: (c.session != 0).then(|| SessionConnView {
                session_id: c.session,
                last_op: OpCode::from_i32(s.last_op.load(Relaxed))
                    .map(fourlw::last_op_name)
                    .unwrap_or("NA")
                    .to_string(),
                established_ms: s.established_ms.load(Relaxed),
                timeout_ms: s.timeout_ms.load(Relaxed),
                last_cxid: s.last_cxid.load(Relaxed),
                last_zxid: s.last_zxid.load(Relaxed),
                last_response_ms: s.last_response_ms.load(Relaxed),
                last_latency_ms: s.last_latency_ms.load(Relaxed),
                latency: Latency {
                    count,
                    total_ms: total,
                    min_ms: min,
                    max_ms: max,
                },
            }),
        });
    }
    v.connections.sort_by_key(|c| c.remote);
    let mut data_watches: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
    for (conn, paths) in st.watches.by_conn() {
        let session = sessions_by_conn.get(&conn).copied().unwrap_or(0);
        data_watches.entry(session).or_default().extend(paths);
    }
    v.data_watches = data_watches;
    v.child_watch_count = st
        .watches
        .count()
        .saturating_sub(st.watches.summary().watches) as u64;
    for (id, s) in st.rep.tree.sessions() {
        if !s.ephemerals.is_empty() {
            v.ephemerals
                .insert(id, s.ephemerals.iter().cloned().collect());
        }
    }
    let mut buckets: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for (id, s) in st.rep.tree.sessions() {
        // Expiry in tickTime buckets, as ZooKeeper's dump groups them.
        let tick = cfg.tick_time_ms.max(1) as i64;
        let at = (now_ms + s.timeout_ms as i64) / tick * tick + tick;
        buckets.entry(at).or_default().push(id);
    }
    v.sessions = SessionsView::Buckets(
        buckets
            .into_iter()
            .map(|(expire_at_ms, members)| ExpiryBucket {
                expire_at_ms,
                members,
            })
            .collect(),
    );
    v
}
