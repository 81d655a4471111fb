use clap::Parser;

/// A replicated ZooKeeper-compatible coordination server whose every node writes JSON events stamped with the agreed zxid.
#[derive(Parser)]
#[command(name = "zkserver", version, after_help = zkserver::STATUS)]
struct Cli {}

fn main() -> anyhow::Result<()> {
    let _cli = Cli::parse();
    anyhow::bail!("zkserver is {}", zkserver::STATUS)
}
