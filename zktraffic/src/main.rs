use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Parser;
use zktraffic::cli::{Cli, Color, Mode};
use zktraffic::output::sinks::{Lines, MetricsFeed, Plots, StatsTables, Tee};
use zktraffic::output::{human::Human, json::Json, Filter};
use zktraffic::pipeline::Pipeline;
use zktraffic::plot::PlotCollector;
use zktraffic::prometheus::{Exporter, Metrics, MetricsConfig};
use zktraffic::run::{run, summary, Sink};
use zktraffic::source::{bpf_filter, FileSource, LiveOptions, LiveSource, PacketSource};
use zktraffic::stats::{Stats, StatsConfig};

fn open_source(cli: &Cli) -> anyhow::Result<Box<dyn PacketSource>> {
    Ok(match (&cli.input.iface, &cli.input.read) {
        (Some(iface), _) => {
            let opts = cli.input.options(false);
            Box::new(LiveSource::open(&LiveOptions {
                iface: iface.clone(),
                filter: bpf_filter(&opts.all_ports(), cli.input.filter.as_deref()),
                buffer_size: cli.input.buffer_mib.saturating_mul(1 << 20),
                timeout_ms: 200,
            })?)
        }
        (None, Some(path)) => Box::new(FileSource::open(path)?),
        (None, None) => bail!("nothing to read: give -i IFACE for a live capture or -r FILE for a capture file (see --help)"),
    })
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut source = open_source(&cli)?;
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        ctrlc::set_handler(move || stop.store(true, Ordering::Relaxed))
            .context("installing the Ctrl-C handler")?;
    }
    // Argument/result descriptions are only worth their cost for line output.
    let lines_wanted = cli.mode.is_none();
    let mut pipeline = Pipeline::new(cli.input.options(lines_wanted));

    // Locked only by the modes that print: `top` draws from another thread.
    let stdout = || std::io::BufWriter::new(std::io::stdout().lock());
    let mut main_sink: Option<Box<dyn Sink>> = match &cli.mode {
        None => {
            let color = match cli.lines.color {
                Color::Always => true,
                Color::Never => false,
                Color::Auto => {
                    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
                }
            };
            Some(Box::new(Lines {
                out: stdout(),
                filter: Filter {
                    unpaired: cli.lines.unpaired,
                    pings: cli.lines.include_pings,
                },
                human: Human { color },
                json: cli.lines.json.then(|| Json::new(cli.lines.node.clone())),
            }))
        }
        Some(Mode::Stats(a)) => {
            let stats = Stats::new(StatsConfig {
                path_depth: a.depth,
                client_with_port: a.client_port,
                include_pings: a.include_pings,
                ..StatsConfig::default()
            });
            Some(Box::new(StatsTables::new(
                stdout(),
                stats,
                a.by.clone(),
                a.sort,
                a.top,
                a.interval,
            )))
        }
        Some(Mode::Top(_)) => None,
    };
    let mut sinks: Vec<&mut dyn Sink> = Vec::new();
    if let Some(s) = main_sink.as_deref_mut() {
        sinks.push(s);
    }

    let mut exporter = None;
    let mut feed = None;
    if let Some(addr) = cli.input.prometheus {
        let metrics = Metrics::shared(MetricsConfig::default());
        let e = Exporter::start(addr, metrics.clone())
            .with_context(|| format!("serving metrics on {addr}"))?;
        eprintln!("zktraffic: metrics at http://{}/metrics", e.local_addr());
        exporter = Some(e);
        feed = Some(MetricsFeed { metrics });
    }
    if let Some(f) = feed.as_mut() {
        sinks.push(f);
    }
    let mut plots = cli.input.plot.as_ref().map(|dir| {
        std::fs::create_dir_all(dir).ok();
        Plots {
            collector: PlotCollector::new(false),
            dir: dir.clone(),
            written: Vec::new(),
        }
    });
    if let Some(p) = plots.as_mut() {
        sinks.push(p);
    }

    let outcome = match &cli.mode {
        Some(Mode::Top(a)) => {
            let label = match (&cli.input.iface, &cli.input.read) {
                (Some(i), _) => format!("-i {i}"),
                (None, r) => format!("-r {}", r.as_deref().unwrap_or("-")),
            };
            zktraffic::top::run(
                a,
                &label,
                source.as_mut(),
                &mut pipeline,
                &mut Tee(sinks),
                &cli.input.limits(),
                &stop,
            )?
        }
        _ => run(
            source.as_mut(),
            &mut pipeline,
            &mut Tee(sinks),
            &cli.input.limits(),
            &stop,
        )?,
    };
    eprintln!("{}", summary(&outcome.counters, outcome.kernel));
    if let Some(p) = &plots {
        for f in &p.written {
            eprintln!("zktraffic: wrote {}", f.display());
        }
    }
    if let Some(t) = outcome.truncated {
        eprintln!("zktraffic: warning: {t}; everything before it was decoded");
    }
    drop(exporter);
    Ok(())
}
