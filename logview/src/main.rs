use clap::Parser;

/// Terminal UI merging several zkops nodes' event logs into one causal timeline.
#[derive(Parser)]
#[command(name = "zklogview", version, after_help = zklogview::STATUS)]
struct Cli {}

fn main() -> anyhow::Result<()> {
    let _cli = Cli::parse();
    anyhow::bail!("zklogview is {}", zklogview::STATUS)
}
