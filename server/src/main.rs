use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use zkproto::event::Level;
use zkserver::config::Config;
use zkserver::{Options, Server};

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A ZooKeeper-compatible coordination server whose every node writes JSON
/// events stamped with the agreed zxid.
///
/// With no arguments it runs standalone on 127.0.0.1:2181 with a fresh
/// temporary data directory (kept on exit).
#[derive(Parser)]
#[command(name = "zkserver", version)]
struct Cli {
    /// A ZooKeeper zoo.cfg, used as is.
    config: Option<PathBuf>,
    /// Listen here for clients (overrides clientPortAddress/clientPort).
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Data directory (overrides dataDir).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Also write every event to stdout, one JSON object per line.
    #[arg(long)]
    events_stdout: bool,
    /// How often the leader deletes empty containers and expired TTL nodes
    /// (ZooKeeper's znode.container.checkIntervalMs).
    #[arg(long, value_name = "MS", default_value_t = 60_000)]
    container_check_ms: u64,
    /// Lowest event level written: trace, debug, info, warn, error.
    #[arg(long, default_value = "info", value_parser = parse_level)]
    events_level: Level,
    /// Nice value of the consensus thread, which every write waits on.
    /// Raising it needs CAP_SYS_NICE or root; without, it stays at 0 (the
    /// `server.serving` event says which). 0 turns this off.
    #[arg(long, value_name = "N", default_value_t = zkserver::priority::RAFT_NICE,
          allow_negative_numbers = true,
          value_parser = clap::value_parser!(i32).range(-20..=19))]
    raft_nice: i32,
}

fn parse_level(s: &str) -> Result<Level, String> {
    serde_json::from_value(serde_json::Value::String(s.to_ascii_lowercase()))
        .map_err(|_| format!("unknown level {s:?}"))
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ZKSERVER_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut cfg = match &cli.config {
        Some(p) => {
            let (cfg, warnings) =
                Config::load(p).with_context(|| format!("loading {}", p.display()))?;
            for w in warnings {
                eprintln!(
                    "zkserver: {}: line {}: {}: {}",
                    p.display(),
                    w.line,
                    w.key,
                    w.message
                );
            }
            cfg
        }
        None => Config::standalone_default()?,
    };
    if let Some(d) = cli.data_dir {
        cfg.data_dir = d;
    }
    if let Some(a) = cli.listen {
        cfg.client_port_address = Some(a.ip());
        cfg.client_port = a.port();
    }
    let opts = Options {
        events_stdout: cli.events_stdout,
        events_level: cli.events_level,
        container_check: std::time::Duration::from_millis(cli.container_check_ms.max(10)),
        raft_nice: cli.raft_nice,
        ..Options::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let data_dir = cfg.data_dir.clone();
        let server = Server::builder(cfg)
            .options(opts)
            .start()
            .await
            .context("starting zkserver")?;
        eprintln!(
            "zkserver: serving on {} (member {}, data in {})",
            server.client_addr(),
            server.node_id(),
            data_dir.display()
        );
        wait_for_signal().await?;
        eprintln!("zkserver: shutting down");
        server.shutdown().await.context("shutting down")?;
        anyhow::Ok(())
    })
}

async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        _ = term.recv() => {}
        r = tokio::signal::ctrl_c() => r?,
    }
    Ok(())
}
