//! Command-line arguments, and how they become pipeline options and limits.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::pipeline::Options;
use crate::run::Limits;
use crate::stats::{Dim, SortKey};

/// Passive ZooKeeper traffic analyzer: decodes client requests, replies,
/// watches, four-letter words and the servers' election and ZAB traffic,
/// from a live interface or a pcap/pcapng file.
#[derive(Parser, Debug)]
#[command(name = "zktraffic", version, after_help = EXAMPLES)]
pub struct Cli {
    #[command(flatten)]
    pub input: Input,
    #[command(flatten)]
    pub lines: LineOutput,
    #[command(subcommand)]
    pub mode: Option<Mode>,
}

const EXAMPLES: &str = "Examples:
  zktraffic -i lo                      live, one line per request/reply
  zktraffic -r zk.pcap --json          JSON lines (zkops event schema)
  zktraffic -i eth0 stats --interval 10 --by path --depth 2
  zktraffic -i any --prometheus 127.0.0.1:9141 stats
  zktraffic -i eth0 top --depth 2      live full-screen view (? for keys)
Live capture needs root or CAP_NET_RAW and CAP_NET_ADMIN.";

#[derive(Args, Debug, Clone)]
pub struct Input {
    /// Capture live from this interface (e.g. lo, any, eth0).
    #[arg(short = 'i', long, conflicts_with = "read", global = true)]
    pub iface: Option<String>,
    /// Read a pcap or pcapng file; '-' reads standard input.
    #[arg(short = 'r', long, global = true)]
    pub read: Option<String>,
    /// ZooKeeper client ports (repeat or comma-separate).
    #[arg(
        short = 'p',
        long = "port",
        value_delimiter = ',',
        default_value = "2181",
        global = true
    )]
    pub ports: Vec<u16>,
    /// ZAB (leader/follower) ports to decode.
    #[arg(
        long = "zab-port",
        value_delimiter = ',',
        default_value = "2888",
        global = true
    )]
    pub zab_ports: Vec<u16>,
    /// Leader-election ports to decode.
    #[arg(
        long = "election-port",
        value_delimiter = ',',
        default_value = "3888",
        global = true
    )]
    pub election_ports: Vec<u16>,
    /// Ignore the servers' own election and ZAB traffic.
    #[arg(long, global = true)]
    pub no_quorum: bool,
    /// Extra BPF filter, and-ed with the ports (live capture).
    #[arg(short = 'f', long, global = true)]
    pub filter: Option<String>,
    /// Kernel capture buffer, MiB (live capture).
    #[arg(long, default_value_t = 64, global = true)]
    pub buffer_mib: i32,
    /// Stop after this many packets.
    #[arg(short = 'c', long, global = true)]
    pub count: Option<u64>,
    /// Stop after this long (e.g. 30s, 5m): wall time live, capture time for files.
    #[arg(long, value_parser = parse_duration, global = true)]
    pub duration: Option<Duration>,
    /// Decode only this fraction of connections (0 < f <= 1), chosen per connection.
    #[arg(long, default_value_t = 1.0, value_parser = parse_fraction, global = true)]
    pub sample: f64,
    /// Keep CPU use under this percentage of one core (the kernel buffer absorbs bursts; drops are reported).
    #[arg(long, global = true)]
    pub max_cpu: Option<f64>,
    /// Largest frame accepted, bytes (ZooKeeper's jute.maxbuffer).
    #[arg(long, default_value_t = zkproto::DEFAULT_MAX_FRAME, global = true)]
    pub max_frame: usize,
    /// Serve Prometheus metrics while capturing: a port (bound on 127.0.0.1)
    /// or an address (e.g. 0.0.0.0:9141 to expose it).
    #[arg(long, global = true, value_parser = parse_listen)]
    pub prometheus: Option<SocketAddr>,
    /// Write charts (SVG) to this directory at the end.
    #[arg(long, global = true)]
    pub plot: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct LineOutput {
    /// One JSON object per event (zkops event schema, docs/events.md).
    #[arg(long)]
    pub json: bool,
    /// Also show requests that got no reply and replies whose request was not seen.
    #[arg(long)]
    pub unpaired: bool,
    /// Also show pings.
    #[arg(long)]
    pub include_pings: bool,
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// `node` field of JSON lines.
    #[arg(long, default_value = "zktraffic")]
    pub node: String,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand, Debug, Clone)]
pub enum Mode {
    /// Aggregates per op, path, client and session: rates, bytes, errors, latency percentiles.
    Stats(StatsArgs),
    /// Live full-screen view of the same aggregates, like top: sort, filter, pause.
    Top(TopArgs),
}

#[derive(Args, Debug, Clone)]
pub struct StatsArgs {
    /// Print every N seconds of capture time (e.g. 10s) instead of only at the end.
    #[arg(long, value_parser = parse_duration)]
    pub interval: Option<Duration>,
    /// Tables to print: op, path, client, session.
    #[arg(long, value_delimiter = ',', default_value = "op,path,client")]
    pub by: Vec<Dim>,
    /// Aggregate paths to this many components (e.g. 2: /a/b/c → /a/b).
    #[arg(long)]
    pub depth: Option<usize>,
    /// Key clients by ip:port instead of ip.
    #[arg(long)]
    pub client_port: bool,
    /// Rows per table (0 = all).
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Order rows by: count, rate, errors, p50, p95, p99, max, bytes, bytes-in, bytes-out, key.
    #[arg(long, default_value = "count")]
    pub sort: SortKey,
    /// Count pings too.
    #[arg(long)]
    pub include_pings: bool,
}

#[derive(Args, Debug, Clone)]
pub struct TopArgs {
    /// Aggregate paths to this many components (e.g. 2: /a/b/c → /a/b).
    #[arg(long)]
    pub depth: Option<usize>,
    /// Key clients by ip:port instead of ip.
    #[arg(long)]
    pub client_port: bool,
    /// Initial order (s/S cycle): count, rate, errors, p50, p95, p99, max, bytes, bytes-in, bytes-out, key.
    #[arg(long, default_value = "count")]
    pub sort: SortKey,
    /// Redraw this often (e.g. 500ms, 2s).
    #[arg(long, value_parser = parse_duration, default_value = "1s")]
    pub refresh: Duration,
    /// Count pings too.
    #[arg(long)]
    pub include_pings: bool,
}

/// `500ms`, `30s`, `5m`, `1h`, or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("not a duration: {s:?} (try 30s, 5m, 500ms)"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => {
            return Err(format!(
                "unknown unit {unit:?} in {s:?} (use ms, s, m or h)"
            ))
        }
    };
    if !(secs.is_finite() && secs > 0.0) {
        return Err(format!("duration must be positive: {s:?}"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// A bare port means loopback: metrics are not exposed unless asked for.
pub fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = s.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    s.parse()
        .map_err(|_| format!("not a port or ip:port: {s:?}"))
}

fn parse_fraction(s: &str) -> Result<f64, String> {
    let f: f64 = s.parse().map_err(|_| format!("not a number: {s:?}"))?;
    if f > 0.0 && f <= 1.0 {
        Ok(f)
    } else {
        Err(format!("sample must be in (0, 1], got {f}"))
    }
}

impl Input {
    pub fn options(&self, detail: bool) -> Options {
        Options {
            client_ports: self.ports.clone(),
            zab_ports: if self.no_quorum {
                vec![]
            } else {
                self.zab_ports.clone()
            },
            election_ports: if self.no_quorum {
                vec![]
            } else {
                self.election_ports.clone()
            },
            max_frame: self.max_frame,
            detail,
            sample: self.sample,
            ..Options::default()
        }
    }

    pub fn limits(&self) -> Limits {
        Limits {
            count: self.count,
            duration: self.duration,
            live: self.iface.is_some(),
            max_cpu: self.max_cpu,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_bind_loopback_unless_told() {
        assert_eq!(parse_listen("9141").unwrap().to_string(), "127.0.0.1:9141");
        assert_eq!(
            parse_listen("0.0.0.0:9141").unwrap().to_string(),
            "0.0.0.0:9141"
        );
        assert!(parse_listen("localhost").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("3").unwrap(), Duration::from_secs(3));
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("5 parsecs").is_err());
    }

    #[test]
    fn parses_a_typical_command_line() {
        let cli = Cli::try_parse_from([
            "zktraffic",
            "-r",
            "x.pcap",
            "-p",
            "2181,2182",
            "--json",
            "stats",
            "--by",
            "op,path",
            "--depth",
            "2",
        ])
        .unwrap();
        assert_eq!(cli.input.ports, vec![2181, 2182]);
        assert!(cli.lines.json);
        let Some(Mode::Stats(s)) = cli.mode else {
            panic!()
        };
        assert_eq!(s.by, vec![Dim::Op, Dim::Path]);
        assert_eq!(s.depth, Some(2));
        assert!(Cli::try_parse_from(["zktraffic", "-r", "x", "-i", "lo"]).is_err());
        assert!(Cli::try_parse_from(["zktraffic", "--sample", "0"]).is_err());
    }
}
