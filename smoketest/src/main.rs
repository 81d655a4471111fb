use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use zksmoketest::discover::{parse_servers, servers_from_config};
use zksmoketest::probe::{self, Config, Progress};
use zksmoketest::results::RunResult;
use zksmoketest::verdict::{self, parse_threshold, Status, EXIT_USAGE};
use zksmoketest::{merge, plot, raw, recommend, report};

/// Latency probe for a ZooKeeper ensemble: sessions, reads, syncs, writes,
/// watch fan-out, visibility lag and ephemeral cleanup on every server, then
/// timeout recommendations and a PASS/WARN/FAIL verdict.
///
/// Exit codes: 0 pass, 1 a --fail-on threshold failed, 2 the ensemble is
/// broken (no single leader, a server down, a phase failed), 3 usage.
#[derive(Parser, Debug)]
#[command(
    name = "zksmoketest",
    version,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Merge runs from several datacenters (their --json files, named by
    /// their dc label): a datacenter × server matrix and recommendations for
    /// the whole deployment, from the merged histograms.
    Merge(MergeArgs),
}

#[derive(Args, Debug)]
struct MergeArgs {
    /// Results written by --json.
    #[arg(required = true, num_args = 1..)]
    files: Vec<PathBuf>,
    /// Write merged.json and the charts here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// As for a run, judged over the merged results (repeatable).
    #[arg(long = "fail-on", value_parser = parse_threshold)]
    fail_on: Vec<verdict::Threshold>,
}

#[derive(Args, Debug)]
struct RunArgs {
    /// Servers as a connect string: host:port,host:port[/chroot].
    #[arg(long, conflicts_with = "config", required_unless_present = "config")]
    servers: Option<String>,
    /// Read the servers from a zoo.cfg (server.N lines and clientPort).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Session timeout to request, ms.
    #[arg(long, default_value_t = 10_000)]
    session_timeout: i32,
    /// Closed-loop samples per server for reads and writes (after warm-up).
    #[arg(long, default_value_t = 200)]
    ops: usize,
    /// Samples discarded before measuring.
    #[arg(long, default_value_t = 20)]
    warmup: usize,
    /// Writes per server in the watch fan-out and visibility phases.
    #[arg(long, default_value_t = 10)]
    rounds: usize,
    /// Bound on any single request or wait, ms.
    #[arg(long, default_value_t = 5000)]
    op_timeout_ms: u64,
    /// Fail (exit 1) when a measurement crosses a limit, e.g. write.p99>50ms (repeatable).
    #[arg(long = "fail-on", value_parser = parse_threshold)]
    fail_on: Vec<verdict::Threshold>,
    /// Label this run, e.g. dc=east (repeatable); kept in the JSON for merging.
    #[arg(long = "label", value_parser = parse_label)]
    labels: Vec<(String, String)>,
    /// Write the full results (schema version 1) as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// After the writes, measure throughput with D requests in flight per
    /// server (setData and getData), apart from the latencies.
    #[arg(long, value_name = "D", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pipeline: Option<u16>,
    /// Measure reads and writes open-loop: R requests/s per server on a
    /// fixed schedule, latency from when each was due (at most 10 s a loop).
    #[arg(long, value_name = "R", value_parser = parse_rate)]
    rate: Option<f64>,
    /// K concurrent connects per server (capped below maxClientCnxns).
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u16).range(1..=1000))]
    herd: Option<u16>,
    /// Measure how long a session lives after its socket is dropped silently.
    #[arg(long)]
    expiry: bool,
    /// Idle sessions on every server, a ping a second, for this long (e.g. 30s, 2m).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    soak: Option<Duration>,
    /// Session timeout for the soak, ms [default: this run's recommendation].
    #[arg(long, value_name = "MS", requires = "soak")]
    soak_session_timeout: Option<i32>,
    /// Write every sample as CSV: phase,server,op,start_us,latency_us.
    #[arg(long, value_name = "FILE.csv")]
    raw: Option<PathBuf>,
    /// Write SVG charts here: latency CDFs, watch heatmap, soak RTT.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if r > 0.0 && r <= 100_000.0 => Ok(r),
        _ => Err(format!("{s:?}: expected ops/s in (0, 100000]")),
    }
}

/// `30s`, `500ms`, `2m`, `1h`, or plain seconds; at most a day.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let (num, unit) = if let Some(v) = t.strip_suffix("ms") {
        (v, 0.001)
    } else if let Some(v) = t.strip_suffix('s') {
        (v, 1.0)
    } else if let Some(v) = t.strip_suffix('m') {
        (v, 60.0)
    } else if let Some(v) = t.strip_suffix('h') {
        (v, 3600.0)
    } else {
        (t, 1.0)
    };
    match num.trim().parse::<f64>() {
        Ok(v) if v > 0.0 && v * unit <= 86_400.0 => Ok(Duration::from_secs_f64(v * unit)),
        _ => Err(format!(
            "{s:?}: expected a duration up to a day, e.g. 30s, 2m"
        )),
    }
}

fn parse_label(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .ok_or_else(|| format!("{s:?}: expected key=value"))
}

struct Bar(Option<ProgressBar>);

impl Progress for Bar {
    fn phase(&self, name: &str) {
        if let Some(b) = &self.0 {
            b.inc(1);
            b.set_message(name.to_string());
        }
    }
}

fn main() {
    // clap exits with 2 on bad arguments; the documented usage code is 3.
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) if e.use_stderr() => {
            let _ = e.print();
            std::process::exit(EXIT_USAGE);
        }
        Err(e) => {
            let _ = e.print();
            std::process::exit(0);
        }
    };
    let code = match &cli.cmd {
        Some(Cmd::Merge(m)) => merge_main(m),
        None => run_main(&cli.run),
    };
    std::process::exit(code);
}

fn fail(what: impl std::fmt::Display) -> i32 {
    eprintln!("zksmoketest: {what}");
    EXIT_USAGE
}

/// Recommendations, checks and verdict over measured (or merged) results.
fn conclude(result: &mut RunResult, fail_on: &[verdict::Threshold]) {
    result.recommendations = recommend::recommend(result);
    let (checks, status, code) = verdict::judge(result, fail_on);
    result.checks = checks;
    result.verdict = match status {
        Status::Pass => "PASS",
        Status::Warn => "WARN",
        Status::Fail => "FAIL",
    }
    .to_string();
    result.exit_code = code;
}

fn write_json(path: &Path, result: &RunResult) -> Result<(), String> {
    let text = serde_json::to_string_pretty(result).expect("results serialise");
    std::fs::write(path, text).map_err(|e| format!("writing {}: {e}", path.display()))
}

fn run_main(cli: &RunArgs) -> i32 {
    let servers = match (&cli.servers, &cli.config) {
        (Some(s), _) => parse_servers(s),
        (None, Some(p)) => std::fs::read_to_string(p)
            .map_err(|e| zksmoketest::Error::Config(format!("{}: {e}", p.display())))
            .and_then(|t| servers_from_config(&t)),
        (None, None) => unreachable!("clap requires one"),
    };
    let servers = match servers {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let cfg = Config {
        servers,
        session_timeout_ms: cli.session_timeout,
        ops: cli.ops,
        warmup: cli.warmup,
        rounds: cli.rounds.max(1),
        op_timeout: Duration::from_millis(cli.op_timeout_ms),
        labels: cli.labels.iter().cloned().collect::<BTreeMap<_, _>>(),
        pipeline: cli.pipeline.map(usize::from),
        rate: cli.rate,
        herd: cli.herd.map(usize::from),
        expiry: cli.expiry,
        soak: cli.soak,
        soak_session_timeout_ms: cli.soak_session_timeout,
        ..Config::default()
    };
    let bar = (!cli.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(|| {
        let b = ProgressBar::new(cfg.phase_count());
        b.set_style(
            ProgressStyle::with_template("{spinner} [{pos}/{len}] {msg}").expect("valid template"),
        );
        b.enable_steady_tick(Duration::from_millis(120));
        b
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let progress = Bar(bar);
    let (mut result, samples) = rt.block_on(probe::run_with_samples(&cfg, &progress));
    if let Some(b) = &progress.0 {
        b.finish_and_clear();
    }
    conclude(&mut result, &cli.fail_on);
    print!("{}", report::render(&result));
    if let Some(path) = &cli.json {
        if let Err(e) = write_json(path, &result) {
            return fail(e);
        }
    }
    if let Some(path) = &cli.raw {
        if let Err(e) = raw::write_csv(path, &samples) {
            return fail(e);
        }
    }
    if let Some(dir) = &cli.out {
        if let Err(e) = plot::write_charts(&result, dir) {
            return fail(e);
        }
    }
    result.exit_code
}

fn merge_main(m: &MergeArgs) -> i32 {
    let mut inputs = Vec::with_capacity(m.files.len());
    for f in &m.files {
        match merge::load(f) {
            Ok(i) => inputs.push(i),
            Err(e) => return fail(e),
        }
    }
    let mut merged = merge::merge(&inputs);
    conclude(&mut merged, &m.fail_on);
    let mut text = merge::render_matrix(&inputs, &merged);
    report::render_recommendations(&mut text, &merged.recommendations);
    report::render_checks(&mut text, &merged);
    print!("{text}");
    if let Some(dir) = &m.out {
        if let Err(e) = std::fs::create_dir_all(dir) {
            return fail(format!("{}: {e}", dir.display()));
        }
        if let Err(e) = write_json(&dir.join("merged.json"), &merged) {
            return fail(e);
        }
        if let Err(e) = merge::write_charts(&inputs, &merged, dir) {
            return fail(e);
        }
    }
    merged.exit_code
}
