use clap::Parser;

/// Passive ZooKeeper traffic analyzer for live interfaces and pcap files.
#[derive(Parser)]
#[command(name = "zktraffic", version, after_help = zktraffic::STATUS)]
struct Cli {}

fn main() -> anyhow::Result<()> {
    let _cli = Cli::parse();
    anyhow::bail!("zktraffic is {}", zktraffic::STATUS)
}
