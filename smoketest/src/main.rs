use clap::Parser;

/// Latency probe for ZooKeeper ensembles that recommends timeouts.
#[derive(Parser)]
#[command(name = "zksmoketest", version, after_help = zksmoketest::STATUS)]
struct Cli {}

fn main() -> anyhow::Result<()> {
    let _cli = Cli::parse();
    anyhow::bail!("zksmoketest is {}", zksmoketest::STATUS)
}
