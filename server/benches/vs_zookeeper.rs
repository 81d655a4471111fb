//! zkserver against Apache ZooKeeper 3.8 standalone, in one run, under the
//! same closed-loop load.
//!
//! ```text
//! cargo bench -p zkserver --bench vs_zookeeper -- \
//!     [--clients N] [--seconds S] [--ops-per-client K] [--warmup S]
//!     [--mix create=25,set=25,get=25,exists=25] [--value-size B]
//!     [--rounds R] [--only zkserver|zookeeper] [--no-sync] [--keep] [--json PATH]
//!     [--zkserver-arg ARG]...
//! ```
//!
//! Each of N clients holds one session and runs a closed loop (one request
//! in flight) over the mix, on a subtree of its own, with B-byte values. A
//! phase ends when every client has done K measured ops or S seconds have
//! passed, whichever comes first; the warm-up before it is not measured.
//!
//! Both servers run one after the other on loopback, each with its data
//! directory under the same temporary directory in cargo's target dir, both
//! syncing their log before acknowledging a write (`forceSync=yes`, the
//! default of both; `--no-sync` sets `forceSync=no` on both). ZooKeeper is started with
//! `scripts/zk.sh standalone` and ZooKeeper-like JVM options (`-Xmx1g`, the
//! JVM's default collector and JIT; override with ZK_JVM_OPTS); zkserver is
//! the binary cargo built for this bench (`CARGO_BIN_EXE_zkserver`, the
//! bench profile: release plus debug info, so it can be profiled as is).
//! With R rounds the order alternates (ZooKeeper first in round 1) and the
//! rounds' histograms are merged per target.
//!
//! Prints a table per target and op type, the two ratios the issue asks for,
//! and writes everything as JSON (default: `<target dir>/bench-vs-zookeeper.json`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use hdrhistogram::Histogram;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use zkproto::CreateMode;
use zksmoketest::client::{Client, ConnectOptions};

fn main() -> anyhow::Result<()> {
    let opts = cli::parse(std::env::args().skip(1));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the load generator's runtime")?;
    let results = run_all(&rt, &opts)?;
    let json = report::print_and_json(&opts, &results);
    let path = opts
        .json
        .clone()
        .unwrap_or_else(|| target_dir().join("bench-vs-zookeeper.json"));
    std::fs::write(&path, serde_json::to_vec_pretty(&json)?)
        .with_context(|| format!("writing {}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(())
}

/// Cargo's target directory: the bench binary's zkserver lives in
/// `<target>/<profile>/zkserver`.
fn target_dir() -> PathBuf {
    let exe = Path::new(env!("CARGO_BIN_EXE_zkserver"));
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("target"))
}

fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn run_all(rt: &tokio::runtime::Runtime, opts: &cli::Opts) -> anyhow::Result<Vec<load::Outcome>> {
    let root = tempfile::Builder::new()
        .prefix("bench-vs-zookeeper-")
        .tempdir_in(target_dir())
        .context("creating the data directory root")?;
    println!(
        "data under {} (both targets, same filesystem); {} clients, {} s or {} ops per client, warm-up {} s, mix {}, {}-byte values",
        root.path().display(),
        opts.clients,
        opts.seconds,
        opts.ops_per_client,
        opts.warmup,
        opts.mix,
        opts.value_size
    );
    let mut merged: BTreeMap<targets::Kind, load::Outcome> = BTreeMap::new();
    for round in 0..opts.rounds {
        let mut order = vec![targets::Kind::ZooKeeper, targets::Kind::ZkServer];
        if round % 2 == 1 {
            order.reverse();
        }
        for kind in order {
            if opts.only().is_some_and(|o| o != kind) {
                continue;
            }
            let dir = root.path().join(format!("{}-{round}", kind.name()));
            let server = targets::Server::start(kind, &dir, !opts.no_sync, &opts.zkserver_args)?;
            println!(
                "round {}: {} on {} ...",
                round + 1,
                kind.name(),
                server.addr
            );
            let outcome = rt.block_on(load::run(kind, &server.addr, opts))?;
            println!(
                "  {:.0} ops/s, {} errors, {} writes measured",
                outcome.ops_per_sec(),
                outcome.errors,
                outcome.writes()
            );
            server.stop()?;
            match merged.get_mut(&kind) {
                Some(m) => m.merge(outcome),
                None => {
                    merged.insert(kind, outcome);
                }
            }
        }
    }
    if opts.keep {
        let kept = root.keep();
        println!(
            "kept the data (logs, zkserver's events) in {}",
            kept.display()
        );
    }
    Ok(merged.into_values().collect())
}

mod cli {
    use std::fmt;
    use std::path::PathBuf;

    use anyhow::{bail, Context};

    use crate::targets::Kind;

    /// Shares of each op type in the loop, in percent of the total weight.
    #[derive(Debug, Clone, Copy)]
    pub struct Mix {
        pub create: u32,
        pub set: u32,
        pub get: u32,
        pub exists: u32,
    }

    impl Mix {
        pub fn total(&self) -> u32 {
            self.create + self.set + self.get + self.exists
        }

        fn parse_arg(s: &str) -> Result<Mix, String> {
            Mix::parse(s).map_err(|e| e.to_string())
        }

        fn parse(s: &str) -> anyhow::Result<Mix> {
            let mut m = Mix {
                create: 0,
                set: 0,
                get: 0,
                exists: 0,
            };
            for part in s.split(',').filter(|p| !p.is_empty()) {
                let (k, v) = part
                    .split_once('=')
                    .with_context(|| format!("--mix: {part:?} is not op=weight"))?;
                let v: u32 = v
                    .parse()
                    .with_context(|| format!("--mix: bad weight {v:?}"))?;
                match k {
                    "create" => m.create = v,
                    "set" | "setData" => m.set = v,
                    "get" | "getData" => m.get = v,
                    "exists" => m.exists = v,
                    _ => bail!("--mix: unknown op {k:?} (create, set, get, exists)"),
                }
            }
            if m.total() == 0 {
                bail!("--mix: all weights are zero");
            }
            Ok(m)
        }
    }

    impl fmt::Display for Mix {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(
                f,
                "create={},set={},get={},exists={}",
                self.create, self.set, self.get, self.exists
            )
        }
    }

    /// The same closed-loop load against zkserver and Apache ZooKeeper 3.8
    /// standalone, in one run; prints ops/s, p50/p99/p999 and the ratios.
    #[derive(Debug, Clone, clap::Parser)]
    #[command(name = "vs_zookeeper", args_override_self = true)]
    pub struct Opts {
        /// Sessions, each one request at a time.
        #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..))]
        pub clients: u64,
        /// Measured seconds per target and round.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..))]
        pub seconds: u64,
        /// Measured operations per client at most.
        #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..))]
        pub ops_per_client: u64,
        /// Unmeasured seconds before each measurement.
        #[arg(long, default_value_t = 3)]
        pub warmup: u64,
        /// Weights of the operations.
        #[arg(long, default_value = "create=25,set=25,get=25,exists=25", value_parser = Mix::parse_arg)]
        pub mix: Mix,
        /// Bytes per value.
        #[arg(long, default_value_t = 100)]
        pub value_size: usize,
        /// Rounds, alternating which target goes first.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
        pub rounds: u64,
        /// Both servers acknowledge writes without syncing the log
        /// (`forceSync=no`): isolates CPU and hand-off costs from the disk.
        #[arg(long)]
        pub no_sync: bool,
        /// Keep the servers' data directories (zkserver's events, both logs).
        #[arg(long)]
        pub keep: bool,
        /// Measure one target only.
        #[arg(long, value_parser = ["zkserver", "zookeeper"])]
        pub only: Option<String>,
        /// Also write the numbers here (default: <target dir>/bench-vs-zookeeper.json).
        #[arg(long)]
        pub json: Option<PathBuf>,
        /// Passed to zkserver after its zoo.cfg (e.g. `--events-level warn`); repeatable.
        #[arg(long = "zkserver-arg", allow_hyphen_values = true)]
        pub zkserver_args: Vec<String>,
        /// cargo bench passes it to harness=false targets.
        #[arg(long, hide = true)]
        pub bench: bool,
    }

    impl Opts {
        pub fn only(&self) -> Option<Kind> {
            match self.only.as_deref() {
                Some("zkserver") => Some(Kind::ZkServer),
                Some("zookeeper") => Some(Kind::ZooKeeper),
                _ => None,
            }
        }
    }

    /// clap's usual behaviour: help exits 0, a bad argument exits 2 with why.
    pub fn parse(args: impl Iterator<Item = String>) -> Opts {
        use clap::Parser;
        Opts::parse_from(std::iter::once("vs_zookeeper".to_string()).chain(args))
    }
}

mod targets {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    pub enum Kind {
        ZooKeeper,
        ZkServer,
    }

    impl Kind {
        pub fn name(self) -> &'static str {
            match self {
                Kind::ZooKeeper => "zookeeper",
                Kind::ZkServer => "zkserver",
            }
        }
    }

    /// A server under test; stopped on [`Server::stop`] or, if the bench
    /// fails first, on drop.
    pub struct Server {
        pub addr: String,
        kind: Kind,
        dir: PathBuf,
        child: Option<Child>,
        stopped: bool,
    }

    fn free_port() -> anyhow::Result<u16> {
        let l = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
        Ok(l.local_addr()?.port())
    }

    /// The server's settings both targets share, as zoo.cfg lines.
    fn common_cfg(sync: bool) -> [&'static str; 2] {
        let force_sync = if sync {
            "forceSync=yes"
        } else {
            "forceSync=no"
        };
        ["maxClientCnxns=0", force_sync]
    }

    impl Server {
        pub fn start(
            kind: Kind,
            dir: &Path,
            sync: bool,
            extra_args: &[String],
        ) -> anyhow::Result<Server> {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            let port = free_port()?;
            let addr = format!("127.0.0.1:{port}");
            match kind {
                Kind::ZooKeeper => {
                    let mut cmd = Command::new(workspace_dir().join("scripts/zk.sh"));
                    cmd.arg("standalone")
                        .arg(dir)
                        .args(["--port", &port.to_string()])
                        .args(common_cfg(sync));
                    if std::env::var_os("ZK_JVM_OPTS").is_none() {
                        // zk.sh's defaults are sized for quick test starts
                        // (C1 only, serial GC); a benchmark wants the JVM
                        // ZooKeeper is normally run with.
                        cmd.env("ZK_JVM_OPTS", "-Xms512m -Xmx1g");
                    }
                    let mut s = Server {
                        addr,
                        kind,
                        dir: dir.to_path_buf(),
                        child: None,
                        stopped: false,
                    };
                    let out = cmd.output().context("running scripts/zk.sh standalone")?;
                    if !out.status.success() {
                        s.stopped = true;
                        let _ = zk_stop(dir);
                        bail!(
                            "scripts/zk.sh standalone failed: {}",
                            String::from_utf8_lossy(&out.stderr)
                        );
                    }
                    s.wait_ready()?;
                    Ok(s)
                }
                Kind::ZkServer => {
                    let cfg = dir.join("zoo.cfg");
                    let mut text = format!(
                        "tickTime=2000\ndataDir={}\nclientPortAddress=127.0.0.1\nclientPort={port}\n",
                        dir.join("data").display()
                    );
                    for l in common_cfg(sync) {
                        text.push_str(l);
                        text.push('\n');
                    }
                    std::fs::write(&cfg, text)
                        .with_context(|| format!("writing {}", cfg.display()))?;
                    let log = std::fs::File::create(dir.join("zkserver.log"))?;
                    let child = Command::new(env!("CARGO_BIN_EXE_zkserver"))
                        .arg(&cfg)
                        .args(extra_args)
                        .stdin(Stdio::null())
                        .stdout(log.try_clone()?)
                        .stderr(log)
                        .spawn()
                        .context("spawning zkserver")?;
                    let s = Server {
                        addr,
                        kind,
                        dir: dir.to_path_buf(),
                        child: Some(child),
                        stopped: false,
                    };
                    s.wait_ready()?;
                    Ok(s)
                }
            }
        }

        /// Bounded wait until the server answers a session handshake.
        fn wait_ready(&self) -> anyhow::Result<()> {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let opts = ConnectOptions {
                connect_timeout: Duration::from_secs(2),
                ..ConnectOptions::default()
            };
            let mut last = None;
            for _ in 0..150 {
                match rt.block_on(Client::connect(&self.addr, &opts)) {
                    Ok(c) => {
                        let _ = rt.block_on(c.close());
                        return Ok(());
                    }
                    Err(e) => last = Some(e),
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            bail!(
                "{} on {} did not accept a session within 30 s: {last:?} (see {})",
                self.kind.name(),
                self.addr,
                self.dir.display()
            )
        }

        pub fn stop(mut self) -> anyhow::Result<()> {
            self.stopped = true;
            self.stop_inner()
        }

        fn stop_inner(&mut self) -> anyhow::Result<()> {
            match self.kind {
                Kind::ZooKeeper => zk_stop(&self.dir),
                Kind::ZkServer => {
                    let Some(mut child) = self.child.take() else {
                        return Ok(());
                    };
                    // SIGTERM lets it flush its event log; bounded, then kill.
                    let _ = Command::new("kill")
                        .args(["-TERM", &child.id().to_string()])
                        .status();
                    for _ in 0..100 {
                        if child.try_wait()?.is_some() {
                            return Ok(());
                        }
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    child.kill().context("killing zkserver")?;
                    child.wait()?;
                    Ok(())
                }
            }
        }
    }

    impl Drop for Server {
        fn drop(&mut self) {
            if !self.stopped {
                if let Err(e) = self.stop_inner() {
                    eprintln!("stopping {}: {e:#}", self.kind.name());
                }
            }
        }
    }

    fn zk_stop(dir: &Path) -> anyhow::Result<()> {
        let st = Command::new(workspace_dir().join("scripts/zk.sh"))
            .arg("stop")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .context("running scripts/zk.sh stop")?;
        if !st.success() {
            bail!("scripts/zk.sh stop {} failed", dir.display());
        }
        Ok(())
    }
}

mod load {
    use super::*;
    use crate::cli::Opts;
    use crate::targets::Kind;

    pub const OPS: [&str; 4] = ["create", "setData", "getData", "exists"];

    fn new_hist() -> Histogram<u64> {
        // Microseconds, 1 µs to 60 s, 3 significant digits.
        Histogram::new_with_bounds(1, 60_000_000, 3).expect("constant bounds are valid")
    }

    /// One target's measured phase.
    pub struct Outcome {
        pub kind: Kind,
        pub clients: usize,
        /// Per op type, in [`OPS`] order.
        pub hists: Vec<Histogram<u64>>,
        pub all: Histogram<u64>,
        pub errors: u64,
        /// Summed over rounds: the measured phase's wall time.
        pub elapsed: Duration,
    }

    impl Outcome {
        pub fn ops(&self) -> u64 {
            self.all.len()
        }

        pub fn writes(&self) -> u64 {
            self.hists[0].len() + self.hists[1].len()
        }

        pub fn ops_per_sec(&self) -> f64 {
            self.ops() as f64 / self.elapsed.as_secs_f64().max(1e-9)
        }

        pub fn merge(&mut self, other: Outcome) {
            for (a, b) in self.hists.iter_mut().zip(&other.hists) {
                let _ = a.add(b);
            }
            let _ = self.all.add(&other.all);
            self.errors += other.errors;
            self.elapsed += other.elapsed;
        }
    }

    struct ClientResult {
        hists: Vec<Histogram<u64>>,
        errors: u64,
        first_error: Option<String>,
    }

    /// Runs the load: connect all, set up subtrees, warm up, measure.
    pub async fn run(kind: Kind, addr: &str, opts: &Opts) -> anyhow::Result<Outcome> {
        let copts = ConnectOptions {
            op_timeout: Duration::from_secs(30),
            ..ConnectOptions::default()
        };
        let root = "/zkbench";
        let mut admin = Client::connect(addr, &copts).await?;
        let value = vec![b'v'; opts.value_size];
        let r = admin
            .create(root, Some(&value), CreateMode::Persistent)
            .await?;
        if !r.err().is_ok() && r.err() != zkproto::ErrorCode::NODE_EXISTS {
            bail!("creating {root}: {}", r.err());
        }
        let mut clients = Vec::with_capacity(opts.clients as usize);
        for _ in 0..opts.clients {
            clients.push(Client::connect(addr, &copts).await?);
        }
        // Everyone starts together; the measured phase starts after the
        // warm-up and ends at the deadline or after K ops per client.
        let start = Instant::now() + Duration::from_millis(200);
        let measure_from = start + Duration::from_secs(opts.warmup);
        let deadline = measure_from + Duration::from_secs(opts.seconds);
        let mut tasks = Vec::with_capacity(opts.clients as usize);
        for (i, c) in clients.into_iter().enumerate() {
            let opts = opts.clone();
            let value = value.clone();
            tasks.push(tokio::spawn(async move {
                client_loop(
                    c,
                    i,
                    &format!("{root}/c{i}"),
                    &value,
                    &opts,
                    start,
                    measure_from,
                    deadline,
                )
                .await
            }));
        }
        let mut hists: Vec<Histogram<u64>> = OPS.iter().map(|_| new_hist()).collect();
        let mut errors = 0;
        let mut first_error = None;
        for t in tasks {
            let r = t.await.context("a client task panicked")??;
            for (a, b) in hists.iter_mut().zip(&r.hists) {
                a.add(b).context("merging histograms")?;
            }
            errors += r.errors;
            if first_error.is_none() {
                first_error = r.first_error;
            }
        }
        let elapsed = Instant::now()
            .min(deadline)
            .saturating_duration_since(measure_from);
        if let Some(e) = first_error {
            eprintln!("{}: {errors} ops failed; first: {e}", kind.name());
        }
        let mut all = new_hist();
        for h in &hists {
            all.add(h).context("merging histograms")?;
        }
        let _ = admin.close().await;
        Ok(Outcome {
            kind,
            clients: opts.clients as usize,
            hists,
            all,
            errors,
            elapsed,
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn client_loop(
        mut c: Client,
        i: usize,
        base: &str,
        value: &[u8],
        opts: &Opts,
        start: Instant,
        measure_from: Instant,
        deadline: Instant,
    ) -> anyhow::Result<ClientResult> {
        c.create(base, Some(value), CreateMode::Persistent)
            .await?
            .into_ok()?;
        // A few nodes so that the first reads and sets have targets.
        let mut nodes: u64 = 0;
        for _ in 0..8 {
            c.create(
                &format!("{base}/n{nodes}"),
                Some(value),
                CreateMode::Persistent,
            )
            .await?
            .into_ok()?;
            nodes += 1;
        }
        tokio::time::sleep_until(start.into()).await;
        let mut rng = StdRng::seed_from_u64(0x5eed ^ i as u64);
        let mut hists: Vec<Histogram<u64>> = OPS.iter().map(|_| new_hist()).collect();
        let mut res = ClientResult {
            hists: Vec::new(),
            errors: 0,
            first_error: None,
        };
        let total = opts.mix.total();
        let mut measured = 0u64;
        // Bounded by the deadline and by K measured ops.
        while measured < opts.ops_per_client {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            let pick = rng.gen_range(0..total);
            let m = &opts.mix;
            let target = format!("{base}/n{}", rng.gen_range(0..nodes));
            let (op, reply) = if pick < m.create {
                let path = format!("{base}/n{nodes}");
                let r = c.create(&path, Some(value), CreateMode::Persistent).await;
                if r.as_ref().is_ok_and(|r| r.err().is_ok()) {
                    nodes += 1;
                }
                (0, r)
            } else if pick < m.create + m.set {
                (1, c.set_data(&target, value, -1).await)
            } else if pick < m.create + m.set + m.get {
                (2, c.get_data(&target, false).await)
            } else {
                (3, c.exists(&target, false).await)
            };
            let sent_at = now;
            if sent_at < measure_from {
                continue;
            }
            measured += 1;
            match reply {
                Ok(r) if r.err().is_ok() => {
                    let us = r.rtt().as_micros().max(1) as u64;
                    let _ = hists[op].record(us.min(60_000_000));
                }
                Ok(r) => {
                    res.errors += 1;
                    if res.first_error.is_none() {
                        res.first_error = Some(format!("{} {:?}: {}", OPS[op], r.path(), r.err()));
                    }
                }
                Err(e) => {
                    res.errors += 1;
                    if res.first_error.is_none() {
                        res.first_error = Some(e.to_string());
                    }
                }
            }
        }
        let _ = c.close().await;
        res.hists = hists;
        Ok(res)
    }
}

mod report {
    use super::*;
    use crate::cli::Opts;
    use crate::load::{Outcome, OPS};
    use crate::targets::Kind;

    fn ms(h: &Histogram<u64>, q: f64) -> f64 {
        h.value_at_quantile(q) as f64 / 1000.0
    }

    fn row(target: &str, clients: usize, op: &str, h: &Histogram<u64>, secs: f64) -> Value {
        json!({
            "target": target,
            "clients": clients,
            "op": op,
            "ops": h.len(),
            "ops_per_sec": h.len() as f64 / secs.max(1e-9),
            "p50_ms": ms(h, 0.50),
            "p99_ms": ms(h, 0.99),
            "p999_ms": ms(h, 0.999),
            "max_ms": h.max() as f64 / 1000.0,
        })
    }

    pub fn print_and_json(opts: &Opts, results: &[Outcome]) -> Value {
        println!();
        println!(
            "{:<10} {:>7} {:<8} {:>9} {:>10} {:>9} {:>9} {:>9}",
            "target", "clients", "op", "ops", "ops/s", "p50 ms", "p99 ms", "p999 ms"
        );
        let mut rows = Vec::new();
        for o in results {
            let secs = o.elapsed.as_secs_f64();
            let named = OPS
                .iter()
                .zip(&o.hists)
                .chain(std::iter::once((&"all", &o.all)));
            for (op, h) in named {
                let r = row(o.kind.name(), o.clients, op, h, secs);
                println!(
                    "{:<10} {:>7} {:<8} {:>9} {:>10.0} {:>9.3} {:>9.3} {:>9.3}",
                    o.kind.name(),
                    o.clients,
                    op,
                    h.len(),
                    r["ops_per_sec"].as_f64().unwrap_or(0.0),
                    ms(h, 0.50),
                    ms(h, 0.99),
                    ms(h, 0.999)
                );
                rows.push(r);
            }
            if o.errors > 0 {
                println!(
                    "{:<10} {} failed ops (not in the latencies)",
                    o.kind.name(),
                    o.errors
                );
            }
        }
        let find = |k: Kind| results.iter().find(|o| o.kind == k);
        let mut ratios = json!(null);
        if let (Some(zs), Some(zk)) = (find(Kind::ZkServer), find(Kind::ZooKeeper)) {
            let tput = zs.ops_per_sec() / zk.ops_per_sec().max(1e-9);
            let p99 = ms(&zs.all, 0.99) / ms(&zk.all, 0.99).max(1e-9);
            println!();
            println!(
                "ratio throughput zkserver/zookeeper = {tput:.2} (target >= 2.0){}",
                if tput >= 2.0 { "" } else { "  MISSED" }
            );
            println!(
                "ratio p99 zkserver/zookeeper = {p99:.2} (target <= 0.5){}",
                if p99 <= 0.5 { "" } else { "  MISSED" }
            );
            ratios = json!({
                "throughput_zkserver_over_zookeeper": tput,
                "p99_zkserver_over_zookeeper": p99,
                "throughput_target_met": tput >= 2.0,
                "p99_target_met": p99 <= 0.5,
            });
        }
        json!({
            "config": {
                "clients": opts.clients,
                "seconds": opts.seconds,
                "ops_per_client": opts.ops_per_client,
                "warmup_seconds": opts.warmup,
                "mix": opts.mix.to_string(),
                "value_size": opts.value_size,
                "rounds": opts.rounds,
                "zkserver_args": opts.zkserver_args,
            },
            "results": rows,
            "errors": results.iter().map(|o| (o.kind.name(), o.errors)).collect::<BTreeMap<_, _>>(),
            "ratios": ratios,
        })
    }
}
