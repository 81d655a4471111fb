use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use zksmoketest::discover::{parse_servers, servers_from_config};
use zksmoketest::probe::{self, Config, Progress};
use zksmoketest::verdict::{self, parse_threshold, Status, EXIT_USAGE};
use zksmoketest::{recommend, report};

/// Latency probe for a ZooKeeper ensemble: sessions, reads, syncs, writes,
/// watch fan-out, visibility lag and ephemeral cleanup on every server, then
/// timeout recommendations and a PASS/WARN/FAIL verdict.
///
/// Exit codes: 0 pass, 1 a --fail-on threshold failed, 2 the ensemble is
/// broken (no single leader, a server down, a phase failed), 3 usage.
#[derive(Parser, Debug)]
#[command(name = "zksmoketest", version)]
struct Cli {
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
    let servers = match (&cli.servers, &cli.config) {
        (Some(s), _) => parse_servers(s),
        (None, Some(p)) => std::fs::read_to_string(p)
            .map_err(|e| zksmoketest::Error::Config(format!("{}: {e}", p.display())))
            .and_then(|t| servers_from_config(&t)),
        (None, None) => unreachable!("clap requires one"),
    };
    let servers = match servers {
        Ok(s) => s,
        Err(e) => {
            eprintln!("zksmoketest: {e}");
            std::process::exit(EXIT_USAGE);
        }
    };
    let cfg = Config {
        servers,
        session_timeout_ms: cli.session_timeout,
        ops: cli.ops,
        warmup: cli.warmup,
        rounds: cli.rounds.max(1),
        op_timeout: Duration::from_millis(cli.op_timeout_ms),
        labels: cli.labels.iter().cloned().collect::<BTreeMap<_, _>>(),
        ..Config::default()
    };
    let bar = (!cli.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(|| {
        let b = ProgressBar::new(10);
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
    let mut result = rt.block_on(probe::run(&cfg, &progress));
    if let Some(b) = &progress.0 {
        b.finish_and_clear();
    }
    result.recommendations = recommend::recommend(&result);
    let (checks, status, code) = verdict::judge(&result, &cli.fail_on);
    result.checks = checks;
    result.verdict = match status {
        Status::Pass => "PASS",
        Status::Warn => "WARN",
        Status::Fail => "FAIL",
    }
    .to_string();
    result.exit_code = code;
    print!("{}", report::render(&result));
    if let Some(path) = &cli.json {
        let text = serde_json::to_string_pretty(&result).expect("results serialise");
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("zksmoketest: writing {}: {e}", path.display());
            std::process::exit(EXIT_USAGE);
        }
    }
    std::process::exit(code);
}
