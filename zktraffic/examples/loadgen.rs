//! Load generator for the zktraffic benchmark: many client connections
//! speaking the real ZooKeeper protocol to a real server, pipelined, so that
//! a capture of it looks like a busy production server's traffic.
//!
//! ```text
//! cargo run --release -p zktraffic --example loadgen -- \
//!     --server 127.0.0.1:2181 --conns 64 --window 32 --ops 1000000 --duration 120
//! ```
//!
//! Every connection does the handshake, creates its own node under the
//! prefix, pipelines (at most `--window` outstanding) a mix of create,
//! setData, getData, exists, getChildren (watched) and delete on children of
//! that node with `--value-size`-byte values, and ends with closeSession.
//! The mix follows each connection's own model of which children exist, so
//! nearly every request succeeds, as in a healthy application.
//!
//! Bounded by `--ops` (spread over the connections), `--duration` (seconds
//! of load, after the handshakes) and `--stop-file` (stop once it exists);
//! every socket read times out after `--io-timeout` seconds. All connections
//! are open at the same time: the handshakes of all of them complete before
//! the first request, and the sessions close after the last reply.
//!
//! Prints one summary line with ops/s on stdout; exits 1 if any connection
//! failed.

use std::collections::{BTreeMap, VecDeque};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use zkproto::{
    perms, xid, Acl, ConnectRequest, ConnectResponse, CreateRequest, DeleteRequest, Frames, OpCode,
    PathWatchRequest, Record, ReplyFrame, Request, RequestFrame, SetDataRequest, DEFAULT_MAX_FRAME,
};

const USAGE: &str = "usage: loadgen [--server ADDR:PORT] [--conns N] [--window W] [--ops TOTAL]
               [--duration SECS] [--threads T] [--value-size BYTES] [--children K]
               [--prefix /PATH] [--stop-file PATH] [--io-timeout SECS]";

#[derive(Debug, Clone)]
struct Config {
    server: SocketAddr,
    conns: usize,
    window: usize,
    ops: u64,
    duration: Duration,
    threads: usize,
    value_size: usize,
    children: usize,
    prefix: String,
    stop_file: Option<PathBuf>,
    io_timeout: Duration,
}

fn parse_args() -> Result<Config, String> {
    let mut c = Config {
        server: "127.0.0.1:2181".parse().expect("literal address"),
        conns: 16,
        window: 16,
        ops: 100_000,
        duration: Duration::from_secs(60),
        threads: 2,
        value_size: 100,
        children: 16,
        // Unique per run, so a reused data directory cannot make creates fail.
        prefix: format!(
            "/zkbench-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        ),
        stop_file: None,
        io_timeout: Duration::from_secs(30),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {value}: {e}");
        match flag.as_str() {
            "--server" => c.server = value.parse().map_err(|e| bad(&e))?,
            "--conns" => c.conns = value.parse().map_err(|e| bad(&e))?,
            "--window" => c.window = value.parse().map_err(|e| bad(&e))?,
            "--ops" => c.ops = value.parse().map_err(|e| bad(&e))?,
            "--duration" => {
                c.duration = Duration::from_secs_f64(value.parse().map_err(|e| bad(&e))?)
            }
            "--threads" => c.threads = value.parse().map_err(|e| bad(&e))?,
            "--value-size" => c.value_size = value.parse().map_err(|e| bad(&e))?,
            "--children" => c.children = value.parse().map_err(|e| bad(&e))?,
            "--prefix" => c.prefix = value,
            "--stop-file" => c.stop_file = Some(value.into()),
            "--io-timeout" => {
                c.io_timeout = Duration::from_secs_f64(value.parse().map_err(|e| bad(&e))?)
            }
            _ => return Err(format!("unknown argument {flag}\n{USAGE}")),
        }
    }
    if c.conns == 0 || c.window == 0 || c.threads == 0 || c.children == 0 {
        return Err("--conns, --window, --threads and --children must be at least 1".into());
    }
    if !c.prefix.starts_with('/') || c.prefix.len() < 2 || c.prefix.ends_with('/') {
        return Err(format!("--prefix {:?} is not a znode path", c.prefix));
    }
    c.threads = c.threads.min(c.conns);
    Ok(c)
}

/// The operations of the mix, for the per-op counts.
const KINDS: [OpCode; 6] = [
    OpCode::Create,
    OpCode::SetData,
    OpCode::GetData,
    OpCode::Exists,
    OpCode::GetChildren,
    OpCode::Delete,
];

#[derive(Debug, Default)]
struct Tally {
    ops: [u64; KINDS.len()],
    /// Error replies by code: expected to stay empty.
    errors: BTreeMap<i32, u64>,
    notifications: u64,
    failed: Vec<String>,
}

impl Tally {
    fn add(&mut self, o: Tally) {
        for (a, b) in self.ops.iter_mut().zip(o.ops) {
            *a += b;
        }
        for (k, v) in o.errors {
            *self.errors.entry(k).or_default() += v;
        }
        self.notifications += o.notifications;
        self.failed.extend(o.failed);
    }

    fn total(&self) -> u64 {
        self.ops.iter().sum()
    }
}

/// A small deterministic generator: the load is the same from run to run.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

struct Conn {
    sock: TcpStream,
    base: String,
    base_created: bool,
    /// Which children exist, as this connection's own requests left them;
    /// exact because a server executes one session's requests in order.
    exists: Vec<bool>,
    last_xid: i32,
    outstanding: VecDeque<(i32, OpCode)>,
    rbuf: Vec<u8>,
    wbuf: Vec<u8>,
    ops_left: u64,
    rng: XorShift,
    /// The closeSession reply arrived.
    closed: bool,
}

fn invalid(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

impl Conn {
    /// Connects and sends the handshake; the answer is read by [`Conn::handshake_reply`],
    /// so that many handshakes can be in flight at once.
    fn open(cfg: &Config, id: usize, ops: u64) -> io::Result<Conn> {
        let sock = connect_retrying(cfg.server, cfg.io_timeout)?;
        // As ZooKeeper's own clients do: each request goes out at once.
        sock.set_nodelay(true)?;
        sock.set_read_timeout(Some(cfg.io_timeout))?;
        sock.set_write_timeout(Some(cfg.io_timeout))?;
        let mut c = Conn {
            sock,
            base: format!("{}/c{id}", cfg.prefix),
            base_created: false,
            exists: vec![false; cfg.children],
            last_xid: 0,
            outstanding: VecDeque::new(),
            rbuf: Vec::with_capacity(4096),
            wbuf: Vec::with_capacity(256 + cfg.value_size),
            ops_left: ops,
            rng: XorShift(
                0x9E37_79B9_7F4A_7C15 ^ (id as u64 + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9),
            ),
            closed: false,
        };
        let passwd = [0u8; 16];
        let req = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            timeout_ms: 30_000,
            session_id: 0,
            passwd: Some(&passwd),
            read_only: Some(false),
        };
        c.wbuf.clear();
        zkproto::write_frame(&mut c.wbuf, |w| req.write(w));
        c.sock.write_all(&c.wbuf)?;
        Ok(c)
    }

    fn handshake_reply(&mut self, scratch: &mut [u8]) -> io::Result<()> {
        loop {
            if let Some((body, used)) =
                zkproto::split_frame(&self.rbuf, DEFAULT_MAX_FRAME).map_err(invalid)?
            {
                let r = ConnectResponse::decode(body).map_err(invalid)?;
                if r.timeout_ms <= 0 {
                    return Err(invalid("the server refused the session"));
                }
                self.rbuf.drain(..used);
                return Ok(());
            }
            self.fill(scratch)?;
        }
    }

    /// One read: whatever the socket has (blocking until something).
    fn fill(&mut self, scratch: &mut [u8]) -> io::Result<()> {
        let n = self.sock.read(scratch)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            ));
        }
        self.rbuf.extend_from_slice(&scratch[..n]);
        Ok(())
    }

    fn send(&mut self, op: OpCode, request: Request<'_>) -> io::Result<()> {
        self.last_xid += 1;
        let frame = RequestFrame {
            xid: self.last_xid,
            request,
        };
        self.wbuf.clear();
        zkproto::write_frame(&mut self.wbuf, |w| frame.write(w));
        self.sock.write_all(&self.wbuf)?;
        self.outstanding.push_back((self.last_xid, op));
        Ok(())
    }

    /// Sends the next request of the mix.
    fn send_op(&mut self, value: &[u8], acl: &[Acl<'static>], tally: &mut Tally) -> io::Result<()> {
        self.ops_left -= 1;
        let (op, path) = if !self.base_created {
            self.base_created = true;
            (OpCode::Create, self.base.clone())
        } else {
            let r = self.rng.next();
            let k = (r % self.exists.len() as u64) as usize;
            let child = format!("{}/n{k}", self.base);
            // Steady state: ~91% of the children exist, and the mix comes out
            // at about 8% creates, 8% deletes, 17% setData, 36% getData, 18%
            // exists and 9% getChildren.
            if !self.exists[k] {
                self.exists[k] = true;
                (OpCode::Create, child)
            } else {
                match (r >> 32) % 10 {
                    0..=3 => (OpCode::GetData, child),
                    4 | 5 => (OpCode::Exists, child),
                    6 => (OpCode::GetChildren, self.base.clone()),
                    7 | 8 => (OpCode::SetData, child),
                    _ => {
                        self.exists[k] = false;
                        (OpCode::Delete, child)
                    }
                }
            }
        };
        let path = path.as_str();
        let request = match op {
            OpCode::Create => Request::Create(CreateRequest {
                path,
                data: Some(value),
                acl: acl.to_vec(),
                flags: 0,
            }),
            OpCode::GetData => Request::GetData(PathWatchRequest { path, watch: false }),
            OpCode::Exists => Request::Exists(PathWatchRequest { path, watch: false }),
            // Watched, as membership lists are: creates and deletes then
            // bring notifications.
            OpCode::GetChildren => Request::GetChildren(PathWatchRequest { path, watch: true }),
            OpCode::SetData => Request::SetData(SetDataRequest {
                path,
                data: Some(value),
                version: -1,
            }),
            _ => Request::Delete(DeleteRequest { path, version: -1 }),
        };
        if let Some(i) = KINDS.iter().position(|k| *k == op) {
            tally.ops[i] += 1;
        }
        self.send(op, request)
    }

    /// Reads once and takes every complete reply.
    fn replies(&mut self, scratch: &mut [u8], tally: &mut Tally) -> io::Result<()> {
        self.fill(scratch)?;
        let buf = std::mem::take(&mut self.rbuf);
        let mut frames = Frames::new(&buf, DEFAULT_MAX_FRAME);
        for body in frames.by_ref() {
            let h = ReplyFrame::peek_header(body.map_err(invalid)?).map_err(invalid)?;
            if h.xid == xid::NOTIFICATION {
                tally.notifications += 1;
                continue;
            }
            let Some((x, op)) = self.outstanding.pop_front() else {
                return Err(invalid(format!("reply xid {} to no request", h.xid)));
            };
            if x != h.xid {
                return Err(invalid(format!("reply xid {} but expected {x}", h.xid)));
            }
            if !h.err.is_ok() {
                *tally.errors.entry(h.err.0).or_default() += 1;
            }
            if op == OpCode::CloseSession {
                self.closed = true;
            }
        }
        let used = frames.consumed();
        self.rbuf = buf;
        self.rbuf.drain(..used);
        Ok(())
    }
}

fn connect_retrying(addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    // A burst of thousands of connects can overflow the listen backlog;
    // the kernel retries SYNs itself, this covers outright refusals.
    let mut delay = Duration::from_millis(50);
    let mut tries = 0;
    loop {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => return Ok(s),
            Err(e) if tries < 5 && e.kind() != io::ErrorKind::AddrNotAvailable => {
                tries += 1;
                std::thread::sleep(delay);
                delay *= 2;
            }
            Err(e) => return Err(e),
        }
    }
}

fn stop_requested(cfg: &Config, deadline: Instant) -> bool {
    Instant::now() >= deadline || cfg.stop_file.as_ref().is_some_and(|p| p.exists())
}

/// One thread's share of the connections, through the three phases; the
/// barriers line the phases up across threads so that ops/s is measured
/// over the load alone, and so every connection is open at once.
fn worker(cfg: &Config, ids: &[(usize, u64)], barrier: &Barrier) -> Tally {
    let mut tally = Tally::default();
    let mut scratch = vec![0u8; 64 * 1024];
    let value = vec![b'v'; cfg.value_size];
    let acl = [Acl::world_anyone(perms::ALL)];
    let mut conns = Vec::with_capacity(ids.len());
    for &(id, ops) in ids {
        match Conn::open(cfg, id, ops) {
            Ok(c) => conns.push(c),
            Err(e) => tally.failed.push(format!("connect #{id}: {e}")),
        }
    }
    conns.retain_mut(|c| match c.handshake_reply(&mut scratch) {
        Ok(()) => true,
        Err(e) => {
            tally.failed.push(format!("handshake {}: {e}", c.base));
            false
        }
    });
    barrier.wait();

    let deadline = Instant::now() + cfg.duration;
    let mut last_check = Instant::now();
    let mut stopping = false;
    loop {
        // Checking the stop file costs a syscall; a few times a second is enough.
        if !stopping && last_check.elapsed() >= Duration::from_millis(50) {
            last_check = Instant::now();
            stopping = stop_requested(cfg, deadline);
        }
        let mut busy = false;
        conns.retain_mut(|c| {
            while !stopping && c.ops_left > 0 && c.outstanding.len() < cfg.window {
                if let Err(e) = c.send_op(&value, &acl, &mut tally) {
                    tally.failed.push(format!("send {}: {e}", c.base));
                    return false;
                }
            }
            busy |= !c.outstanding.is_empty();
            true
        });
        if !busy {
            break;
        }
        conns.retain_mut(|c| {
            if c.outstanding.is_empty() {
                return true;
            }
            match c.replies(&mut scratch, &mut tally) {
                Ok(()) => true,
                Err(e) => {
                    tally.failed.push(format!("reply {}: {e}", c.base));
                    false
                }
            }
        });
    }
    barrier.wait();

    // Close every session, as a well-behaved client does, so the server
    // does not keep them until they expire.
    conns.retain_mut(
        |c| match c.send(OpCode::CloseSession, Request::CloseSession) {
            Ok(()) => true,
            Err(e) => {
                tally.failed.push(format!("close {}: {e}", c.base));
                false
            }
        },
    );
    for c in &mut conns {
        while !c.closed {
            if let Err(e) = c.replies(&mut scratch, &mut tally) {
                tally.failed.push(format!("close {}: {e}", c.base));
                break;
            }
        }
    }
    tally
}

/// Creates the prefix node the connections' own nodes go under.
fn setup(cfg: &Config) -> io::Result<()> {
    let mut scratch = vec![0u8; 64 * 1024];
    let mut c = Conn::open(cfg, 0, 0)?;
    c.handshake_reply(&mut scratch)?;
    let mut tally = Tally::default();
    let acl = vec![Acl::world_anyone(perms::ALL)];
    c.send(
        OpCode::Create,
        Request::Create(CreateRequest {
            path: &cfg.prefix,
            data: None,
            acl,
            flags: 0,
        }),
    )?;
    c.send(OpCode::CloseSession, Request::CloseSession)?;
    while !c.closed {
        c.replies(&mut scratch, &mut tally)?;
    }
    match tally.errors.keys().next() {
        None => Ok(()),
        Some(&code) => Err(invalid(format!(
            "creating {} failed: {}",
            cfg.prefix,
            zkproto::ErrorCode(code)
        ))),
    }
}

fn main() {
    let cfg = match parse_args() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("loadgen: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = setup(&cfg) {
        eprintln!("loadgen: setup against {}: {e}", cfg.server);
        std::process::exit(1);
    }
    // Connection i goes to thread i % threads and gets an equal share of the ops.
    let per = cfg.ops / cfg.conns as u64;
    let extra = (cfg.ops % cfg.conns as u64) as usize;
    let mut shares: Vec<Vec<(usize, u64)>> = vec![Vec::new(); cfg.threads];
    for id in 0..cfg.conns {
        shares[id % cfg.threads].push((id, per + u64::from(id < extra)));
    }
    let barrier = Barrier::new(cfg.threads + 1);
    let started = Instant::now();
    let (tally, handshakes, load) = std::thread::scope(|s| {
        let handles: Vec<_> = shares
            .iter()
            .map(|ids| {
                let (cfg, barrier) = (&cfg, &barrier);
                std::thread::Builder::new()
                    .stack_size(256 * 1024)
                    .spawn_scoped(s, move || worker(cfg, ids, barrier))
                    .expect("spawning a worker thread")
            })
            .collect();
        barrier.wait();
        let load_start = Instant::now();
        let handshakes = load_start - started;
        barrier.wait();
        let load = load_start.elapsed();
        let mut tally = Tally::default();
        for h in handles {
            tally.add(h.join().expect("worker panicked"));
        }
        (tally, handshakes, load)
    });
    let total = tally.total();
    let mix: Vec<String> = KINDS
        .iter()
        .zip(tally.ops)
        .map(|(k, n)| format!("{} {}", k.name(), n))
        .collect();
    let errors: Vec<String> = tally
        .errors
        .iter()
        .map(|(code, n)| format!("{} {n}", zkproto::ErrorCode(*code)))
        .collect();
    println!(
        "loadgen: {} connections ({} threads, window {}), {} ops in {:.2} s = {:.0} ops/s \
         [{}]; error replies {}; notifications {}; handshakes {:.2} s; failed connections {}",
        cfg.conns,
        cfg.threads,
        cfg.window,
        total,
        load.as_secs_f64(),
        total as f64 / load.as_secs_f64().max(1e-9),
        mix.join(", "),
        if errors.is_empty() {
            "0".to_string()
        } else {
            errors.join(", ")
        },
        tally.notifications,
        handshakes.as_secs_f64(),
        tally.failed.len(),
    );
    if !tally.failed.is_empty() {
        for f in tally.failed.iter().take(5) {
            eprintln!("loadgen: {f}");
        }
        std::process::exit(1);
    }
}
