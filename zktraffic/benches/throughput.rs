//! Decode throughput of zktraffic on a large capture of real ZooKeeper load,
//! against simply reading the same file with libpcap in the same run, and
//! peak memory on a capture with 10,000 connections.
//!
//! ```text
//! scripts/bench-zktraffic.sh          # makes the captures, then runs this
//! cargo bench -p zktraffic --bench throughput -- [LOAD.pcap] [--10k 10K.pcap]
//!     [--port P] [--runs N]
//! ```
//!
//! cargo runs benches from the package directory: give capture paths
//! absolute (or relative to `zktraffic/`).
//! Defaults: `target/bench/load.pcap` and `target/bench/10k.pcap` (or
//! `ZKTRAFFIC_BENCH_PCAP`, `ZKTRAFFIC_BENCH_10K`); the client port is the one
//! the capture's SYNs go to (or `--port` / `ZKTRAFFIC_BENCH_PORT`); best of
//! 5 runs (`--runs` / `ZKTRAFFIC_BENCH_RUNS`). Without the captures it says
//! how to make them and exits 0, so a plain `cargo bench` still passes.
//!
//! Target: ratio = zktraffic throughput / libpcap read throughput >= 0.5,
//! i.e. decoding costs no more than reading (stats mode: decoding alone; line
//! detail adds describing each request in words). Set
//! `ZKTRAFFIC_BENCH_STRICT=1` to exit 1 when stats mode misses it.

use std::collections::HashMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use zktraffic::link;
use zktraffic::pipeline::{Counters, Options, Pipeline};
use zktraffic::source::{FileSource, Next, PacketSource};

const TARGET_RATIO: f64 = 0.5;
const CHILD_FLAG: &str = "--peak-rss-child";

fn default_capture(name: &str) -> PathBuf {
    // `cargo bench` runs this from the package directory, not the workspace.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/bench")
        .join(name)
}

struct Args {
    load: PathBuf,
    tenk: PathBuf,
    port: Option<u16>,
    runs: usize,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let env_path = |k: &str| std::env::var_os(k).map(PathBuf::from);
    let mut a = Args {
        load: env_path("ZKTRAFFIC_BENCH_PCAP").unwrap_or_else(|| default_capture("load.pcap")),
        tenk: env_path("ZKTRAFFIC_BENCH_10K").unwrap_or_else(|| default_capture("10k.pcap")),
        port: None,
        runs: 5,
    };
    if let Ok(p) = std::env::var("ZKTRAFFIC_BENCH_PORT") {
        a.port = Some(
            p.parse()
                .map_err(|e| format!("ZKTRAFFIC_BENCH_PORT {p}: {e}"))?,
        );
    }
    if let Ok(r) = std::env::var("ZKTRAFFIC_BENCH_RUNS") {
        a.runs = r
            .parse()
            .map_err(|e| format!("ZKTRAFFIC_BENCH_RUNS {r}: {e}"))?;
    }
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |flag: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match arg.as_str() {
            "--10k" => a.tenk = value("--10k")?.into(),
            "--port" => {
                let v = value("--port")?;
                a.port = Some(v.parse().map_err(|e| format!("--port {v}: {e}"))?);
            }
            "--runs" => {
                let v = value("--runs")?;
                a.runs = v.parse().map_err(|e| format!("--runs {v}: {e}"))?;
            }
            s if s.starts_with('-') => return Err(format!("unknown argument {s}")),
            s => a.load = s.into(),
        }
    }
    a.runs = a.runs.max(1);
    Ok(a)
}

/// One pass over a capture.
#[derive(Debug, Clone, Copy, Default)]
struct Pass {
    packets: u64,
    /// Captured bytes (record data), the same for every reader of the file.
    bytes: u64,
    time: Duration,
}

impl Pass {
    fn pps(&self) -> f64 {
        self.packets as f64 / self.time.as_secs_f64()
    }
    fn mbps(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.time.as_secs_f64()
    }
    fn line(&self) -> String {
        format!(
            "{} packets, {:.1} MB in {:.3} s = {:.0} packets/s, {:.1} MB/s",
            self.packets,
            self.bytes as f64 / 1e6,
            self.time.as_secs_f64(),
            self.pps(),
            self.mbps()
        )
    }
}

/// The anchor: every packet read through libpcap, every byte looked at once
/// (so the reader cannot skip the data a decoder has to look at).
fn libpcap_read(path: &Path) -> Pass {
    let mut cap = pcap::Capture::from_file(path)
        .unwrap_or_else(|e| panic!("libpcap cannot open {}: {e}", path.display()));
    let mut pass = Pass::default();
    let mut sum = 0u64;
    let t = Instant::now();
    loop {
        match cap.next_packet() {
            Ok(p) => {
                pass.packets += 1;
                pass.bytes += p.data.len() as u64;
                sum = p
                    .data
                    .iter()
                    .fold(sum, |s, b| s.wrapping_add(u64::from(*b)));
            }
            Err(pcap::Error::NoMorePackets) => break,
            Err(e) => panic!("libpcap read of {} failed: {e}", path.display()),
        }
    }
    pass.time = t.elapsed();
    black_box(sum);
    pass
}

fn options(port: u16, detail: bool) -> Options {
    Options {
        client_ports: vec![port],
        detail,
        ..Options::default()
    }
}

/// zktraffic over the file: its own reader, link parsing, reassembly and
/// protocol decoding; events are counted and dropped (no output formatting).
fn zktraffic_decode(path: &Path, opts: &Options) -> (Pass, Counters) {
    let mut src = FileSource::open(&path.to_string_lossy())
        .unwrap_or_else(|e| panic!("zktraffic cannot open {}: {e}", path.display()));
    let mut p = Pipeline::new(opts.clone());
    let mut events = Vec::new();
    let mut pass = Pass::default();
    let t = Instant::now();
    loop {
        match src.next_packet() {
            Ok(Next::Packet(pkt)) => {
                pass.packets += 1;
                pass.bytes += pkt.data.len() as u64;
                p.packet(pkt, &mut events);
                events.clear();
            }
            Ok(Next::Idle) => {}
            Ok(Next::End) => break,
            Err(e) => panic!("reading {}: {e}", path.display()),
        }
    }
    p.finish(&mut events);
    events.clear();
    pass.time = t.elapsed();
    (pass, p.counters())
}

/// The port most SYNs in the first packets go to: the server's.
fn detect_port(path: &Path) -> Option<u16> {
    let mut src = FileSource::open(&path.to_string_lossy()).ok()?;
    let mut seen: HashMap<u16, u32> = HashMap::new();
    for _ in 0..200_000 {
        match src.next_packet() {
            Ok(Next::Packet(p)) => {
                if let Ok(s) = link::parse(p.linktype, p.data, p.orig_len) {
                    if s.syn && !s.ack {
                        *seen.entry(s.dst.port()).or_default() += 1;
                    }
                }
            }
            Ok(Next::Idle) => {}
            _ => break,
        }
    }
    seen.into_iter().max_by_key(|(_, n)| *n).map(|(p, _)| p)
}

fn vm_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// In a fresh process (so the high-water mark is the analysis's own): stream
/// the capture through the pipeline, as `zktraffic -r` does, and report the
/// peak RSS and the most connections tracked at once.
fn peak_rss_child(path: &str, port: u16, detail: bool) {
    let start_kib = vm_kib("VmHWM:").unwrap_or(0);
    let mut src = FileSource::open(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut p = Pipeline::new(options(port, detail));
    let mut events = Vec::new();
    let mut peak_flows = 0;
    loop {
        match src.next_packet() {
            Ok(Next::Packet(pkt)) => {
                p.packet(pkt, &mut events);
                events.clear();
                peak_flows = peak_flows.max(p.flows());
            }
            Ok(Next::Idle) => {}
            Ok(Next::End) => break,
            Err(e) => panic!("reading {path}: {e}"),
        }
    }
    p.finish(&mut events);
    let c = p.counters();
    println!(
        "packets={} peak_flows={} flows_opened={} frames={} start_kib={} peak_kib={}",
        c.packets,
        peak_flows,
        c.flows_opened,
        c.conversation.frames,
        start_kib,
        vm_kib("VmHWM:").unwrap_or(0)
    );
}

fn peak_rss(path: &Path, port: u16, detail: bool) -> Result<HashMap<String, u64>, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new(exe)
        .arg(CHILD_FLAG)
        .arg(path)
        .arg(port.to_string())
        .arg(if detail { "detail" } else { "stats" })
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "child failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .split_whitespace()
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect())
}

fn ratio_line(ratio: f64) -> String {
    format!(
        "ratio {ratio:.2} ({} target >= {TARGET_RATIO})",
        if ratio >= TARGET_RATIO {
            "meets"
        } else {
            "BELOW"
        }
    )
}

fn main() {
    // cargo passes --bench to harness = false benches; it means nothing here.
    let argv: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if argv.first().map(String::as_str) == Some(CHILD_FLAG) {
        let [_, path, port, mode] = argv.as_slice() else {
            panic!("usage: {CHILD_FLAG} PATH PORT stats|detail");
        };
        peak_rss_child(path, port.parse().expect("port"), mode == "detail");
        return;
    }
    let args = parse_args(&argv).unwrap_or_else(|e| {
        eprintln!("throughput: {e}");
        std::process::exit(2);
    });
    if !args.load.exists() {
        println!(
            "throughput: no capture at {}; generate it (and 10k.pcap) with scripts/bench-zktraffic.sh, \
             or pass a capture path. Skipping.",
            args.load.display()
        );
        return;
    }
    let port = args
        .port
        .or_else(|| detect_port(&args.load))
        .unwrap_or(2181);
    let file_mb = std::fs::metadata(&args.load)
        .map(|m| m.len() as f64 / 1e6)
        .unwrap_or(0.0);
    println!(
        "throughput: {} ({file_mb:.1} MB file), client port {port}, best of {} runs",
        args.load.display(),
        args.runs
    );

    // Warm the page cache so the first measured pass does not pay for the disk.
    libpcap_read(&args.load);
    let (off_opts, on_opts) = (options(port, false), options(port, true));
    let mut best: [Option<Pass>; 3] = [None; 3];
    let mut counters = None;
    // Interleaved rounds: load from other processes affects all three alike.
    for _ in 0..args.runs {
        let runs = [
            libpcap_read(&args.load),
            {
                let (p, c) = zktraffic_decode(&args.load, &off_opts);
                counters = Some(c);
                p
            },
            zktraffic_decode(&args.load, &on_opts).0,
        ];
        for (b, r) in best.iter_mut().zip(runs) {
            if b.is_none_or(|b| r.time < b.time) {
                *b = Some(r);
            }
        }
    }
    let [anchor, off, on] = best.map(|b| b.expect("at least one run"));
    let c = counters.expect("at least one run");
    println!("libpcap read (anchor):          {}", anchor.line());
    let below = off.pps() / anchor.pps() < TARGET_RATIO;
    for (name, pass) in [
        ("zktraffic decode, stats mode:  ", off),
        ("zktraffic decode, line detail: ", on),
    ] {
        let ratio = pass.pps() / anchor.pps();
        println!("{name} {}; {}", pass.line(), ratio_line(ratio));
    }
    println!("decoded: {}", zktraffic::run::summary(&c, None));

    if args.tenk.exists() {
        let port = args
            .port
            .or_else(|| detect_port(&args.tenk))
            .unwrap_or(port);
        for (mode, detail) in [("stats mode", false), ("line detail", true)] {
            match peak_rss(&args.tenk, port, detail) {
                Ok(m) => {
                    let g = |k: &str| m.get(k).copied().unwrap_or(0);
                    println!(
                        "peak memory, {mode}: {}: {} packets, {} connections, peak tracked flows {}, \
                         peak RSS {:.1} MiB (process start {:.1} MiB)",
                        args.tenk.display(),
                        g("packets"),
                        g("flows_opened"),
                        g("peak_flows"),
                        g("peak_kib") as f64 / 1024.0,
                        g("start_kib") as f64 / 1024.0,
                    );
                }
                Err(e) => println!("peak memory, {mode}: {e}"),
            }
        }
    } else {
        println!(
            "peak memory: no capture at {} (scripts/bench-zktraffic.sh makes it); skipped",
            args.tenk.display()
        );
    }
    if below && std::env::var_os("ZKTRAFFIC_BENCH_STRICT").is_some_and(|v| v == "1") {
        std::process::exit(1);
    }
}
