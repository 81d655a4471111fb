//! The phases of a run, in order, each bounded in operations and time. The
//! opt-in phases live in submodules: `pipeline`, open-loop reads and writes
//! (`openloop`), `herd`, `expiry` and `soak`.

mod expiry;
mod herd;
mod openloop;
mod pipeline;
mod soak;

pub use herd::herd_cap;

use std::time::{Duration, Instant};

use zkproto::{AddWatchMode, CreateMode, ErrorCode, EventType, PathRequest, Request, Response};

use crate::client::{Client, ConnectOptions};
use crate::discover::{self, Servers};
use crate::error::{Error, Result};
use crate::hist::Hist;
use crate::raw::Sample;
use crate::results::*;

#[derive(Debug, Clone)]
pub struct Config {
    pub servers: Servers,
    pub session_timeout_ms: i32,
    /// Closed-loop samples per server for reads and writes (after warm-up).
    pub ops: usize,
    pub warmup: usize,
    /// Writes per writer in the watch fan-out and visibility phases.
    pub rounds: usize,
    /// Bound on any single request or wait.
    pub op_timeout: Duration,
    pub value_size: usize,
    pub labels: std::collections::BTreeMap<String, String>,
    /// `--pipeline D`: throughput with D requests in flight, after the writes.
    pub pipeline: Option<usize>,
    /// `--rate R`: open-loop reads and writes at R ops/s per server.
    pub rate: Option<f64>,
    /// `--herd K`: K concurrent connects per server (capped).
    pub herd: Option<usize>,
    /// `--expiry`: measure how long a silently dropped session lives.
    pub expiry: bool,
    /// `--soak DURATION`: idle sessions pinged every second.
    pub soak: Option<Duration>,
    /// Session timeout for the soak; default: this run's recommendation.
    pub soak_session_timeout_ms: Option<i32>,
}

impl Config {
    /// Phases a run goes through (for a progress bar).
    pub fn phase_count(&self) -> u64 {
        10 + [
            self.pipeline.is_some(),
            self.herd.is_some(),
            self.expiry,
            self.soak.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count() as u64
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            servers: Servers {
                addrs: vec!["127.0.0.1:2181".into()],
                chroot: None,
            },
            session_timeout_ms: 10_000,
            ops: 200,
            warmup: 20,
            rounds: 10,
            op_timeout: Duration::from_secs(5),
            value_size: 100,
            labels: Default::default(),
            pipeline: None,
            rate: None,
            herd: None,
            expiry: false,
            soak: None,
            soak_session_timeout_ms: None,
        }
    }
}

/// Reports progress: phase name and a short note.
pub trait Progress {
    fn phase(&self, name: &str);
}

impl Progress for () {
    fn phase(&self, _: &str) {}
}

struct Run<'a> {
    cfg: &'a Config,
    root: String,
    clients: Vec<Option<Client>>,
    out: RunResult,
    /// Sample offsets (`--raw`) count from here.
    t0: Instant,
    samples: Vec<Sample>,
}

impl Run<'_> {
    fn addr(&self, i: usize) -> String {
        self.cfg.servers.addrs[i].clone()
    }

    /// Options for a session of this run: `--op-timeout` bounds the connect
    /// and every request.
    fn options(&self, timeout_ms: i32, auto_ping: bool) -> ConnectOptions {
        ConnectOptions {
            timeout_ms,
            connect_timeout: self.cfg.op_timeout,
            op_timeout: self.cfg.op_timeout,
            resume: None,
            auto_ping,
        }
    }

    fn sample(
        &self,
        phase: &'static str,
        server: usize,
        op: &str,
        start: Instant,
        d: Duration,
    ) -> Sample {
        Sample {
            phase,
            server: self.cfg.servers.addrs[server].clone(),
            op: op.to_string(),
            start_us: start.saturating_duration_since(self.t0).as_micros() as u64,
            latency_us: d.as_micros() as u64,
        }
    }

    fn base(&self) -> String {
        self.cfg.servers.chroot.clone().unwrap_or_default()
    }

    async fn phase<F>(&mut self, name: &str, progress: &dyn Progress, f: F) -> bool
    where
        F: for<'r> FnOnce(
            &'r mut Self,
        )
            -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + 'r>>,
    {
        progress.phase(name);
        let t = Instant::now();
        let r = f(self).await;
        let ok = r.is_ok();
        self.out.phases.push(PhaseResult {
            name: name.to_string(),
            ok,
            elapsed_ms: t.elapsed().as_millis() as u64,
            error: r.err().map(|e| e.to_string()),
        });
        ok
    }

    fn client(&mut self, i: usize) -> Result<&mut Client> {
        let addr = self.cfg.servers.addrs[i].clone();
        self.clients[i]
            .as_mut()
            .ok_or(Error::Closed { addr, pending: 0 })
    }

    async fn discover(&mut self) -> Result<()> {
        let t = self.cfg.op_timeout;
        let handles: Vec<_> = self
            .cfg
            .servers
            .addrs
            .iter()
            .cloned()
            .map(|a| tokio::spawn(async move { discover::probe(&a, t).await }))
            .collect();
        for h in handles {
            let info = h.await.map_err(|e| Error::Config(e.to_string()))?;
            self.out.servers.push(ServerResult {
                info,
                ..Default::default()
            });
        }
        let down: Vec<String> = self
            .out
            .servers
            .iter()
            .filter(|s| {
                !s.info.reachable
                    || s.info.mode.is_none()
                    || s.info.mode.as_deref() == Some("not serving")
            })
            .map(|s| {
                format!(
                    "{} ({})",
                    s.info.addr,
                    s.info.error.clone().unwrap_or_default()
                )
            })
            .collect();
        let total = self.out.servers.len();
        if total > 1 && down.len() * 2 >= total {
            // A leader may still claim the role for syncLimit ticks after
            // losing its followers; a majority not serving is decisive.
            return Err(Error::Config(format!(
                "no quorum: {} of {total} servers not serving: {}",
                down.len(),
                down.join(", ")
            )));
        }
        let leaders = self
            .out
            .servers
            .iter()
            .filter(|s| s.info.is_leader())
            .count();
        if leaders != 1 {
            return Err(Error::Config(format!(
                "expected exactly one leader, found {leaders}{}",
                if down.is_empty() {
                    String::new()
                } else {
                    format!("; not serving: {}", down.join(", "))
                }
            )));
        }
        if !down.is_empty() {
            return Err(Error::Config(format!("not serving: {}", down.join(", "))));
        }
        Ok(())
    }

    async fn sessions(&mut self) -> Result<()> {
        let opts = self.options(self.cfg.session_timeout_ms, true);
        for (i, addr) in self.cfg.servers.addrs.clone().iter().enumerate() {
            let c = Client::connect(addr, &opts).await?;
            let h = c.handshake.clone();
            let mut s = SessionResult {
                session_id: format!("{:#x}", h.session_id),
                tcp_connect_us: h.tcp_connect.as_micros() as u64,
                handshake_us: h.handshake.as_micros() as u64,
                requested_timeout_ms: self.cfg.session_timeout_ms,
                negotiated_timeout_ms: h.timeout_ms,
                ..Default::default()
            };
            // The server clamps a requested timeout into [min, max]; ask for
            // the extremes to learn both (and from min, usually 2 × tickTime).
            for (ask, slot) in [(1, 0), (2_000_000_000, 1)] {
                let probe = ConnectOptions {
                    timeout_ms: ask,
                    auto_ping: false,
                    ..opts.clone()
                };
                if let Ok(p) = Client::connect(addr, &probe).await {
                    if slot == 0 {
                        s.min_session_timeout_ms = Some(p.handshake.timeout_ms);
                    } else {
                        s.max_session_timeout_ms = Some(p.handshake.timeout_ms);
                    }
                    let _ = p.close().await;
                }
            }
            self.out.servers[i].session = Some(s);
            let smp = self.sample(
                "sessions",
                i,
                "connect",
                c.handshake.started,
                h.tcp_connect + h.handshake,
            );
            self.samples.push(smp);
            self.clients[i] = Some(c);
        }
        Ok(())
    }

    async fn make_root(&mut self) -> Result<()> {
        let base = self.base();
        let root = self.root.clone();
        let c = self.client(0)?;
        if !base.is_empty() && c.exists(&base, false).await?.err() == ErrorCode::NO_NODE {
            return Err(Error::Config(format!("chroot {base} does not exist")));
        }
        let parent = format!("{base}/zksmoketest");
        let r = c.create(&parent, None, CreateMode::Persistent).await?;
        if r.err() != ErrorCode::NODE_EXISTS {
            r.into_ok()?;
        }
        c.create(&root, None, CreateMode::Persistent)
            .await?
            .into_ok()?;
        // Every later phase uses the root on every server; one that has not
        // applied the create yet would answer NoNode.
        for j in 1..self.clients.len() {
            self.client(j)?.sync(&root).await?.into_ok()?;
        }
        Ok(())
    }

    async fn closed_loop(
        &mut self,
        phase: &'static str,
        i: usize,
        n: usize,
        req: &Request<'_>,
    ) -> Result<Hist> {
        let warmup = self.cfg.warmup;
        let op = req.op().map(|o| o.name()).unwrap_or("?");
        let mut h = Hist::default();
        let mut times = Vec::with_capacity(n);
        let c = self.client(i)?;
        for k in 0..warmup + n {
            let r = c.ok(req).await?;
            if k >= warmup {
                h.record(r.rtt());
                times.push((r.sent, r.rtt()));
            }
        }
        for (sent, d) in times {
            let smp = self.sample(phase, i, op, sent, d);
            self.samples.push(smp);
        }
        Ok(h)
    }

    /// The read and write latency loop: closed, or open at `--rate`.
    async fn latency_loop(
        &mut self,
        phase: &'static str,
        i: usize,
        op: openloop::Op,
    ) -> Result<Hist> {
        if self.cfg.rate.is_some() {
            self.open_loop(phase, i, op).await
        } else {
            self.closed_loop(phase, i, self.cfg.ops, &op.request())
                .await
        }
    }

    async fn reads(&mut self) -> Result<()> {
        let root = self.root.clone();
        for i in 0..self.clients.len() {
            let h = self
                .latency_loop("read", i, openloop::Op::Exists(root.clone()))
                .await?;
            self.out.servers[i].read = Some(h.summary());
        }
        Ok(())
    }

    async fn syncs(&mut self) -> Result<()> {
        let root = self.root.clone();
        let n = (self.cfg.ops / 4).max(20);
        for i in 0..self.clients.len() {
            let h = self
                .closed_loop("sync", i, n, &Request::Sync(PathRequest { path: &root }))
                .await?;
            self.out.servers[i].sync = Some(h.summary());
        }
        Ok(())
    }

    async fn writes(&mut self) -> Result<()> {
        let value = vec![b'z'; self.cfg.value_size];
        for i in 0..self.clients.len() {
            let own = format!("{}/s{i}", self.root);
            self.client(i)?
                .create(&own, Some(&value), CreateMode::Persistent)
                .await?
                .into_ok()?;
            let h = self
                .latency_loop(
                    "write",
                    i,
                    openloop::Op::SetData(own.clone(), value.clone()),
                )
                .await?;
            self.out.servers[i].write = Some(h.summary());
            let (mut hc, mut hd) = (Hist::default(), Hist::default());
            let pairs = (self.cfg.ops / 4).max(10);
            let mut times = Vec::with_capacity(2 * pairs);
            let c = self.client(i)?;
            for k in 0..pairs {
                let p = format!("{own}-e{k}");
                let r = c
                    .create(&p, Some(&value), CreateMode::Ephemeral)
                    .await?
                    .into_ok()?;
                hc.record(r.rtt());
                times.push(("create", r.sent, r.rtt()));
                let r = c.delete(&p, -1).await?.into_ok()?;
                hd.record(r.rtt());
                times.push(("delete", r.sent, r.rtt()));
            }
            for (op, sent, d) in times {
                let smp = self.sample("write", i, op, sent, d);
                self.samples.push(smp);
            }
            self.out.servers[i].create = Some(hc.summary());
            self.out.servers[i].delete = Some(hd.summary());
        }
        Ok(())
    }

    async fn watches(&mut self) -> Result<()> {
        let t = self.cfg.op_timeout;
        let n = self.clients.len();
        let node = format!("{}/w", self.root);
        self.client(0)?
            .create(&node, None, CreateMode::Persistent)
            .await?
            .into_ok()?;
        // Persistent watches (3.6+) see every write; older servers fall back
        // to one-shot watches re-armed before each write.
        let mut persistent = true;
        for j in 0..n {
            // The create went through server 0; a server that has not applied
            // it yet would report it to a watch armed now as NodeCreated.
            let c = self.client(j)?;
            c.sync(&node).await?.into_ok()?;
            let r = c.add_watch(&node, AddWatchMode::PERSISTENT).await?;
            if !r.err().is_ok() {
                persistent = false;
            }
        }
        let mut matrix: Vec<Vec<Hist>> = (0..n)
            .map(|_| (0..n).map(|_| Hist::default()).collect())
            .collect();
        let mut check = WatchCheck {
            in_order: true,
            zxid_in_notifications: true,
            ..Default::default()
        };
        let mut last_zxid = vec![i64::MIN; n];
        for (w, row) in matrix.iter_mut().enumerate() {
            for round in 0..self.cfg.rounds {
                if !persistent {
                    for j in 0..n {
                        self.client(j)?.exists(&node, true).await?.into_ok()?;
                    }
                }
                let data = format!("{w}-{round}");
                let sent = Instant::now();
                self.client(w)?
                    .set_data(&node, data.as_bytes(), -1)
                    .await?
                    .into_ok()?;
                check.writes += 1;
                check.expected += n as u64;
                for j in 0..n {
                    let addr = self.cfg.servers.addrs[j].clone();
                    let c = self.client(j)?;
                    let Some(ev) = c.next_notification(t).await else {
                        return Err(Error::Timeout {
                            addr,
                            what: format!("watch notification for write {w}-{round}"),
                            after: t,
                        });
                    };
                    if ev.event_type != EventType::NODE_DATA_CHANGED || ev.path != node {
                        return Err(Error::Config(format!(
                            "{addr}: unexpected notification {} {}",
                            ev.event_type, ev.path
                        )));
                    }
                    check.received += 1;
                    if ev.zxid < 0 {
                        check.zxid_in_notifications = false;
                    } else if ev.zxid <= last_zxid[j] {
                        check.in_order = false;
                    }
                    last_zxid[j] = ev.zxid;
                    let d = ev.received.saturating_duration_since(sent);
                    row[j].record(d);
                    let op = format!("notify from {}", self.cfg.servers.addrs[w]);
                    let smp = self.sample("watch", j, &op, sent, d);
                    self.samples.push(smp);
                }
            }
        }
        self.out.watch_matrix = matrix
            .iter()
            .map(|row| {
                row.iter()
                    .map(|h| (!h.is_empty()).then(|| h.summary()))
                    .collect()
            })
            .collect();
        self.out.watch_check = Some(check);
        Ok(())
    }

    async fn visibility(&mut self) -> Result<()> {
        let t = self.cfg.op_timeout;
        let n = self.clients.len();
        let leader = self
            .out
            .servers
            .iter()
            .position(|s| s.info.is_leader())
            .unwrap_or(0);
        let node = format!("{}/v", self.root);
        self.client(leader)?
            .create(&node, None, CreateMode::Persistent)
            .await?
            .into_ok()?;
        let mut lag: Vec<Hist> = (0..n).map(|_| Hist::default()).collect();
        let mut times = Vec::new();
        for round in 0..self.cfg.rounds {
            let data = format!("v{round}");
            let sent = Instant::now();
            self.client(leader)?
                .set_data(&node, data.as_bytes(), -1)
                .await?
                .into_ok()?;
            for (j, slot) in lag.iter_mut().enumerate() {
                if j == leader {
                    continue;
                }
                let c = self.client(j)?;
                loop {
                    let r = c.get_data(&node, false).await?.into_ok()?;
                    if let Ok(Response::GetData(g)) = r.body() {
                        if g.data == Some(data.as_bytes()) {
                            let d = r.received.saturating_duration_since(sent);
                            slot.record(d);
                            times.push((j, sent, d));
                            break;
                        }
                    }
                    if sent.elapsed() > t {
                        return Err(Error::Timeout {
                            addr: c.addr().to_string(),
                            what: format!("write {data} to become visible"),
                            after: t,
                        });
                    }
                }
            }
        }
        for (j, sent, d) in times {
            let smp = self.sample("visibility", j, "getData", sent, d);
            self.samples.push(smp);
        }
        self.out.visibility_lag = lag
            .iter()
            .map(|h| (!h.is_empty()).then(|| h.summary()))
            .collect();
        Ok(())
    }

    async fn ephemerals(&mut self) -> Result<()> {
        let t = self.cfg.op_timeout;
        let n = self.clients.len();
        let opts = self.options(self.cfg.session_timeout_ms, true);
        for a in 0..n {
            let addr = self.cfg.servers.addrs[a].clone();
            let node = format!("{}/x{a}", self.root);
            let mut closer = Client::connect(&addr, &opts).await?;
            closer
                .create(&node, None, CreateMode::Ephemeral)
                .await?
                .into_ok()?;
            for b in (0..n).filter(|b| *b != a) {
                // The create went through server a; catch b up before arming.
                sync_and_watch(self.client(b)?, &node).await?;
            }
            let sent = Instant::now();
            closer.close().await?;
            for b in (0..n).filter(|b| *b != a) {
                let baddr = self.cfg.servers.addrs[b].clone();
                let ev = self.client(b)?.next_notification(t).await;
                let latency = ev
                    .filter(|e| e.event_type == EventType::NODE_DELETED && e.path == node)
                    .map(|e| e.received.saturating_duration_since(sent));
                if latency.is_none() {
                    return Err(Error::Timeout {
                        addr: baddr,
                        what: format!("NodeDeleted for {node}"),
                        after: t,
                    });
                }
                if let Some(d) = latency {
                    let op = format!("NodeDeleted after close on {addr}");
                    let smp = self.sample("ephemeral", b, &op, sent, d);
                    self.samples.push(smp);
                }
                self.out.ephemeral_cleanup.push(EphemeralCleanup {
                    closer: a,
                    observer: b,
                    latency_us: latency.map(|l| l.as_micros() as u64),
                });
            }
        }
        Ok(())
    }

    /// Deletes the run root and everything under it, then checks it is gone.
    async fn cleanup(&mut self) -> Result<()> {
        let Some(i) = self.clients.iter().position(Option::is_some) else {
            return Ok(());
        };
        let root = self.root.clone();
        let parent = format!("{}/zksmoketest", self.base());
        let c = self.client(i)?;
        // Children were created through every server: see them all.
        c.sync(&root).await?;
        let r = c.get_children(&root).await?;
        if r.err() == ErrorCode::NO_NODE {
            return Ok(());
        }
        let children: Vec<String> = match r.body() {
            Ok(Response::GetChildren(g)) => g.children.iter().map(|s| s.to_string()).collect(),
            _ => vec![],
        };
        for ch in children {
            let r = c.delete(&format!("{root}/{ch}"), -1).await?;
            if r.err() != ErrorCode::NO_NODE {
                r.into_ok()?;
            }
        }
        c.delete(&root, -1).await?.into_ok()?;
        // Tidy the shared parent if this was the last run using it.
        let _ = c.delete(&parent, -1).await;
        if c.exists(&root, false).await?.err() != ErrorCode::NO_NODE {
            return Err(Error::Config(format!("{root} still exists after cleanup")));
        }
        for c in self.clients.iter_mut() {
            if let Some(c) = c.take() {
                let _ = c.close().await;
            }
        }
        Ok(())
    }
}

/// Arms a one-shot watch on `path` through `c`. The node was created
/// through another server: sync first, or a server that has not applied
/// the create yet would report it to the watch as NodeCreated.
async fn sync_and_watch(c: &mut Client, path: &str) -> Result<()> {
    c.sync(path).await?.into_ok()?;
    c.exists(path, true).await?.into_ok()?;
    Ok(())
}

/// The unique root of one run: `/zksmoketest/<host>-<pid>-<random>`.
pub fn run_root(base: &str) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "host".into());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    format!(
        "{base}/zksmoketest/{host}-{}-{nanos:08x}",
        std::process::id()
    )
}

/// Runs every phase; a failed phase stops the ones that depend on it, and
/// cleanup always runs.
pub async fn run(cfg: &Config, progress: &dyn Progress) -> RunResult {
    run_with_samples(cfg, progress).await.0
}

/// [`run`], also returning every sample measured (for `--raw`).
pub async fn run_with_samples(cfg: &Config, progress: &dyn Progress) -> (RunResult, Vec<Sample>) {
    let base = cfg.servers.chroot.clone().unwrap_or_default();
    let mut r = Run {
        cfg,
        root: run_root(&base),
        t0: Instant::now(),
        samples: Vec::new(),
        clients: cfg.servers.addrs.iter().map(|_| None).collect(),
        out: RunResult {
            schema_version: SCHEMA_VERSION,
            tool: format!("zksmoketest {}", env!("CARGO_PKG_VERSION")),
            labels: cfg.labels.clone(),
            open_loop_rate: cfg.rate,
            started: zkproto::event::rfc3339_micros(std::time::SystemTime::now()),
            ..Default::default()
        },
    };
    r.out.run_root = r.root.clone();
    let ok = r
        .phase("discover", progress, |r| Box::pin(r.discover()))
        .await
        && r.phase("sessions", progress, |r| Box::pin(r.sessions()))
            .await
        && r.phase("root", progress, |r| Box::pin(r.make_root())).await;
    if ok {
        let _ = r.phase("read", progress, |r| Box::pin(r.reads())).await
            && r.phase("sync", progress, |r| Box::pin(r.syncs())).await
            && r.phase("write", progress, |r| Box::pin(r.writes())).await
            && (cfg.pipeline.is_none()
                || r.phase("pipeline", progress, |r| Box::pin(r.pipeline()))
                    .await)
            && r.phase("watch", progress, |r| Box::pin(r.watches())).await
            && r.phase("visibility", progress, |r| Box::pin(r.visibility()))
                .await
            && r.phase("ephemeral", progress, |r| Box::pin(r.ephemerals()))
                .await
            && (cfg.herd.is_none() || r.phase("herd", progress, |r| Box::pin(r.herd())).await)
            && (!cfg.expiry || r.phase("expiry", progress, |r| Box::pin(r.expiry())).await)
            && (cfg.soak.is_none() || r.phase("soak", progress, |r| Box::pin(r.soak())).await);
    }
    if r.out.phases.iter().any(|p| p.name == "root" && p.ok) {
        r.phase("cleanup", progress, |r| Box::pin(r.cleanup()))
            .await;
    }
    (r.out, r.samples)
}
