//! The embeddable server: build from a [`Config`], start, read the bound
//! address, shut down. The binary and the tests use exactly this.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openraft::{BasicNode, SnapshotPolicy};
use serde_json::json;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use zkproto::event::Level;

use crate::config::Config;
use crate::conn::{self, Limits, Shared};
use crate::db::Db;
use crate::events::{EventLog, EventLogGuard, EventLogOptions};
use crate::raft::log_store::{LogReports, LogStore};
use crate::raft::network::Network;
use crate::raft::proposer::Proposer;
use crate::raft::runtime::RaftRuntime;
use crate::raft::state_machine::StateMachine;
use crate::raft::{Cause, Raft, Txn};
use crate::session::SessionIds;
use crate::tree::Op;
use crate::wal::WalOptions;
use crate::{fourlw_glue, Error, Result};

/// How [`Server::start`] runs a member, beyond zoo.cfg.
#[derive(Debug, Clone)]
pub struct Options {
    /// Also write every event line to stdout.
    pub events_stdout: bool,
    /// Lowest event level written.
    pub events_level: Level,
    /// How often the leader looks for empty containers and expired TTL nodes.
    pub container_check: Duration,
    /// Sync the log before acknowledging writes (never turn off outside tests).
    pub fsync: bool,
    /// Nice value of the consensus thread (see [`crate::priority`]); it
    /// keeps the default when raising is not permitted.
    pub raft_nice: i32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            events_stdout: false,
            events_level: Level::Info,
            container_check: Duration::from_secs(60),
            fsync: true,
            raft_nice: crate::priority::RAFT_NICE,
        }
    }
}

pub struct Builder {
    config: Config,
    options: Options,
}

impl Builder {
    pub fn options(mut self, o: Options) -> Builder {
        self.options = o;
        self
    }

    pub async fn start(self) -> Result<Server> {
        Server::start(self.config, self.options).await
    }
}

/// A running member.
pub struct Server {
    addr: SocketAddr,
    node: u64,
    raft: Raft,
    db: Arc<Db>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    /// Ends only when every connection has gone; stopped at shutdown.
    proposer_task: JoinHandle<()>,
    raft_rt: RaftRuntime,
    events_guard: Option<EventLogGuard>,
}

/// The log's reports as events.
struct LogEvents(Arc<Db>);

impl LogReports for LogEvents {
    fn slow_sync(&self, took: Duration) {
        self.0.emit_local("log.slow_sync", Level::Warn, |ev| {
            ev.latency_us = Some(took.as_micros() as u64);
            ev.msg = Some(format!(
                "writing and syncing the log took {} ms; every write waited",
                took.as_millis()
            ));
        });
    }

    fn failed(&self, why: &str) {
        self.0.emit_local("log.failed", Level::Error, |ev| {
            ev.msg = Some(format!(
                "the log cannot be written ({why}); writes fail until a restart"
            ));
        });
    }
}

fn dir(p: PathBuf) -> Result<PathBuf> {
    std::fs::create_dir_all(&p).map_err(|e| Error::io(format!("creating {}", p.display()), e))?;
    Ok(p)
}

impl Server {
    pub fn builder(config: Config) -> Builder {
        Builder {
            config,
            options: Options::default(),
        }
    }

    pub fn client_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn node_id(&self) -> u64 {
        self.node
    }

    pub fn db(&self) -> &Arc<Db> {
        &self.db
    }

    pub fn raft(&self) -> &Raft {
        &self.raft
    }

    async fn start(cfg: Config, opts: Options) -> Result<Server> {
        let node = cfg.my_id.unwrap_or(1);
        // Bind first: a port in use should fail before anything is touched.
        let listener = bind_clients(cfg.client_listen_addr(), cfg.client_port_listen_backlog)
            .map_err(|e| Error::io(format!("binding {}", cfg.client_listen_addr()), e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::io("reading the bound address", e))?;

        let data = dir(cfg.data_dir.clone())?;
        let log_dir = dir(cfg.log_dir())?;
        let snap_dir = dir(cfg.snapshot_dir())?;
        let mut eo = EventLogOptions::new(data.join("events"), node.to_string());
        eo.stdout = opts.events_stdout;
        eo.min_level = opts.events_level;
        let (events, guard) = EventLog::open(eo)?;
        let db = Db::new(node, events, cfg.super_digest.clone());
        db.set_snap_count(u64::from(cfg.snap_count));

        let (mut log_store, opened) = LogStore::open(
            &log_dir,
            WalOptions {
                fsync: opts.fsync && cfg.force_sync,
                ..WalOptions::default()
            },
        )?;
        log_store.report_to(
            Duration::from_millis(cfg.fsync_warning_threshold_ms),
            Arc::new(LogEvents(db.clone())),
        );
        if let Some(t) = &opened.recovery.torn_tail {
            db.emit_local("log.torn_tail", Level::Warn, |ev| {
                ev.msg = Some(format!(
                    "dropped {} bytes at {}:{}: {}",
                    t.dropped_bytes,
                    t.segment.display(),
                    t.offset,
                    t.reason
                ));
            });
        }
        let (sm, snap) = StateMachine::open(db.clone(), &snap_dir, 2)?;
        db.set_replayed(opened.committed.map(|c| c.index));
        db.emit_local("server.starting", Level::Info, |ev| {
            ev.detail = Some(json!({
                "data_dir": data.display().to_string(),
                "log_first": opened.recovery.first_index,
                "log_last": opened.recovery.last_index,
                "committed": opened.committed.map(|c| c.index),
                "snapshot": snap.map(|s| s.index),
                "version": env!("CARGO_PKG_VERSION"),
            }));
        });

        let tick = cfg.tick_time_ms.max(1) as u64;
        let rcfg = openraft::Config {
            cluster_name: "zkops".into(),
            heartbeat_interval: (tick / 4).max(20),
            election_timeout_min: tick,
            election_timeout_max: tick * 2,
            // Snapshots follow snapCount in writes, not log entries (an
            // entry batches many writes): see `snapshot_loop`.
            snapshot_policy: SnapshotPolicy::Never,
            max_in_snapshot_log_to_keep: 1000,
            max_payload_entries: 1000,
            ..Default::default()
        };
        let network = Network::new(rcfg.cluster_name.clone(), node);
        let rcfg = Arc::new(rcfg.validate().map_err(|e| Error::Raft(e.to_string()))?);
        let durable = log_store.durable();
        let raft_rt = RaftRuntime::start(opts.raft_nice)?;
        let raft = raft_rt
            .run(Raft::new(node, rcfg, network, log_store, sm))
            .await?
            .map_err(|e| Error::Raft(e.to_string()))?;

        if !raft
            .is_initialized()
            .await
            .map_err(|e| Error::Raft(e.to_string()))?
        {
            let members = BTreeMap::from([(
                node,
                BasicNode {
                    addr: addr.to_string(),
                },
            )]);
            raft.initialize(members)
                .await
                .map_err(|e| Error::Raft(e.to_string()))?;
        }
        // Serve once this member leads and has applied what it committed
        // before, so the first reads see every acknowledged write.
        let mut m = raft.metrics();
        let ready = tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                {
                    let mm = m.borrow();
                    let caught_up =
                        mm.last_applied.map(|l| l.index) >= opened.committed.map(|c| c.index);
                    if mm.current_leader == Some(node) && caught_up {
                        return;
                    }
                }
                if m.changed().await.is_err() {
                    return;
                }
            }
        })
        .await;
        if ready.is_err() {
            return Err(Error::Raft("no leader within 30 s".into()));
        }

        let limits = Limits {
            max_frame: cfg.jute_max_buffer as usize,
            min_session_timeout_ms: cfg.session_timeout_bounds().0,
            max_session_timeout_ms: cfg.session_timeout_bounds().1,
            max_outstanding: cfg.global_outstanding_limit.max(1) as usize,
            enforce_quota: cfg.enforce_quota,
            ..Limits::default()
        };
        let (stop, stop_rx) = watch::channel(false);
        let cfg = Arc::new(cfg);
        let started = Instant::now();
        let four_letter = fourlw_glue::handler(db.clone(), raft.clone(), cfg.clone(), started);
        let (proposer, proposer_task) = Proposer::start(raft.clone(), durable, raft_rt.handle());
        let shared = Arc::new(Shared {
            db: db.clone(),
            raft: raft.clone(),
            proposer,
            limits,
            ids: Mutex::new(SessionIds::new(node, conn::now_ms())),
            four_letter,
        });
        let tasks = vec![
            tokio::spawn(accept_loop(
                listener,
                shared.clone(),
                cfg.max_client_cnxns,
                stop_rx.clone(),
            )),
            tokio::spawn(expiry_loop(
                shared.clone(),
                Duration::from_millis((tick / 2).clamp(10, 500)),
                stop_rx.clone(),
            )),
            tokio::spawn(cleaner_loop(
                shared.clone(),
                opts.container_check,
                stop_rx.clone(),
            )),
            tokio::spawn(snapshot_loop(shared.clone(), stop_rx.clone())),
        ];
        let (nice, refused) = raft_rt.priority();
        db.emit_local("server.serving", Level::Info, |ev| {
            ev.client = Some(addr.to_string());
            ev.leader = Some(node);
            ev.detail = Some(json!({
                "raft_thread_nice": if refused.is_some() { 0 } else { nice },
                "raft_thread_nice_refused": refused,
            }));
        });
        // The start (and any log repair it reported) is on disk before
        // start() returns: a crash right after must not lose it.
        let events = db.events.clone();
        let _ = tokio::task::spawn_blocking(move || events.flush()).await;
        Ok(Server {
            addr,
            node,
            raft,
            db,
            stop,
            tasks,
            proposer_task,
            raft_rt,
            events_guard: Some(guard),
        })
    }

    /// Stops accepting, closes every connection (sessions stay: clients
    /// reconnect after a restart), stops Raft and flushes the event log.
    pub async fn shutdown(mut self) -> Result<()> {
        self.db.emit_local("server.stopping", Level::Info, |_| {});
        let _ = self.stop.send(true);
        for t in self.tasks.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
        // Connection tasks see the same signal; give them a moment.
        tokio::time::sleep(Duration::from_millis(50)).await;
        self.proposer_task.abort();
        self.raft
            .shutdown()
            .await
            .map_err(|e| Error::Raft(e.to_string()))?;
        let rt = self.raft_rt;
        // Joining a thread blocks; keep it off the caller's runtime workers.
        let _ = tokio::task::spawn_blocking(move || rt.stop()).await;
        if let Some(g) = self.events_guard.take() {
            g.shutdown()?;
        }
        Ok(())
    }
}

/// The client listener with `clientPortListenBacklog` pending connections
/// (-1: as many as the OS allows, net.core.somaxconn; tokio's own bind
/// would cap a connection burst at 128).
fn bind_clients(addr: SocketAddr, backlog: i32) -> std::io::Result<TcpListener> {
    let sock = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    sock.set_reuseaddr(true)?;
    sock.bind(addr)?;
    // The kernel caps the value at somaxconn.
    let backlog = u32::try_from(backlog)
        .ok()
        .filter(|b| *b > 0)
        .unwrap_or(i32::MAX as u32);
    sock.listen(backlog)
}

async fn accept_loop(
    listener: TcpListener,
    sh: Arc<Shared>,
    max_per_ip: u32,
    mut stop: watch::Receiver<bool>,
) {
    let per_ip: Arc<Mutex<HashMap<IpAddr, u32>>> = Arc::default();
    let mut fd_warned = false;
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.changed() => return,
        };
        let (stream, addr) = match accepted {
            Ok(x) => {
                fd_warned = false;
                x
            }
            Err(e) => {
                // Out of file descriptors (or another transient accept
                // failure): say so once, back off, keep serving.
                if !fd_warned {
                    sh.db
                        .emit_local("server.accept_failed", Level::Error, |ev| {
                            ev.msg = Some(e.to_string());
                        });
                    fd_warned = true;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let ip = addr.ip();
        {
            let mut m = per_ip.lock().unwrap_or_else(|p| p.into_inner());
            let n = m.entry(ip).or_default();
            if max_per_ip > 0 && *n >= max_per_ip {
                sh.db
                    .stats
                    .connections_refused
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                sh.db.emit_local("conn.refused", Level::Warn, |ev| {
                    ev.client = Some(addr.to_string());
                    ev.msg = Some(format!("too many connections from {ip} (max {max_per_ip})"));
                });
                drop(stream);
                continue;
            }
            *n += 1;
        }
        let sh = sh.clone();
        let per_ip = per_ip.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            conn::serve(sh, stream, addr, stop).await;
            let mut m = per_ip.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(n) = m.get_mut(&ip) {
                *n -= 1;
                if *n == 0 {
                    m.remove(&ip);
                }
            }
        });
    }
}

fn is_leader(sh: &Shared) -> bool {
    sh.raft.metrics().borrow().current_leader == Some(sh.db.node)
}

/// Every `every`, while this member leads, proposes the system writes that
/// `due` finds (with the time it looked); stops with the server.
async fn leader_duty(
    sh: Arc<Shared>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
    cause: Cause,
    mut due: impl FnMut(&Shared, i64) -> Vec<Op> + Send,
    failed: impl Fn(&Shared, &Op) + Clone + Send + Sync + 'static,
) {
    let mut t = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = t.tick() => {}
            _ = stop.changed() => return,
        }
        if !is_leader(&sh) {
            continue;
        }
        let now = conn::now_ms();
        for op in due(&sh, now) {
            let txn = Txn {
                op: op.clone(),
                time_ms: now,
                cause,
                origin: None,
                caller: None,
            };
            let (sh2, failed) = (sh.clone(), failed.clone());
            sh.proposer
                .propose(txn, Some(Box::new(move |_| failed(&sh2, &op))));
        }
    }
}

/// The leader closes sessions nobody has heard from within their timeout.
async fn expiry_loop(sh: Arc<Shared>, every: Duration, stop: watch::Receiver<bool>) {
    let due = |sh: &Shared, _now| {
        let expired = sh.db.sessions().take_expired(Instant::now());
        expired
            .into_iter()
            .map(|session| Op::CloseSession { session })
            .collect()
    };
    // Not proposed: try again on a later tick (or under the next leader).
    let failed = |sh: &Shared, op: &Op| {
        if let Op::CloseSession { session } = op {
            sh.db.sessions().unmark(*session);
        }
    };
    leader_duty(sh, every, stop, Cause::SessionExpired, due, failed).await
}

/// Asks Raft for a snapshot each time `snapCount` writes were applied
/// (every member snapshots on its own, as ZooKeeper's servers do).
async fn snapshot_loop(sh: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = sh.db.snapshot_due.notified() => {}
            _ = stop.changed() => return,
        }
        if let Err(e) = sh.raft.trigger().snapshot().await {
            tracing::error!("asking for a snapshot: {e}");
            return;
        }
    }
}

/// The leader deletes empty containers and expired TTL nodes.
async fn cleaner_loop(sh: Arc<Shared>, every: Duration, stop: watch::Receiver<bool>) {
    let due = |sh: &Shared, now: i64| {
        let st = sh.db.lock();
        st.rep
            .tree
            .cleanup_candidates(now)
            .into_iter()
            .map(|p| Op::DeleteContainer {
                path: p.to_string(),
            })
            .collect()
    };
    leader_duty(sh, every, stop, Cause::Cleaner, due, |_, _| {}).await
}
