//! The run loop's consumers, composable: line output, periodic stats tables,
//! the Prometheus exporter's metrics and the plot collector.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{human::Human, json::Json, Filter};
use crate::model::{Event, Timestamp};
use crate::pipeline::Counters;
use crate::plot::PlotCollector;
use crate::prometheus::Metrics;
use crate::run::Sink;
use crate::source::KernelStats;
use crate::stats::{render_text, Dim, SortKey, Stats};

/// One line per event to a writer: human or JSON.
pub struct Lines<W: Write> {
    pub out: W,
    pub filter: Filter,
    pub human: Human,
    pub json: Option<Json>,
}

impl<W: Write> Sink for Lines<W> {
    fn event(&mut self, e: &Event) -> std::io::Result<()> {
        if !self.filter.wants(e) {
            return Ok(());
        }
        let line = match &mut self.json {
            Some(j) => j.line(e),
            None => self.human.line(e),
        };
        writeln!(self.out, "{line}")
    }
    fn tick(&mut self, _: Timestamp, _: &Counters, _: Option<KernelStats>) -> std::io::Result<()> {
        // Live output should not sit in the buffer while traffic is quiet.
        self.out.flush()
    }
    fn finish(&mut self, _: &Counters, _: Option<KernelStats>) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// Aggregate tables, printed every `interval` of capture time and at the end.
pub struct StatsTables<W: Write> {
    pub out: W,
    pub stats: Stats,
    pub dims: Vec<Dim>,
    pub sort: SortKey,
    pub top: usize,
    pub interval: Option<Duration>,
    window_start: Option<Timestamp>,
}

impl<W: Write> StatsTables<W> {
    pub fn new(
        out: W,
        stats: Stats,
        dims: Vec<Dim>,
        sort: SortKey,
        top: usize,
        interval: Option<Duration>,
    ) -> Self {
        StatsTables {
            out,
            stats,
            dims,
            sort,
            top,
            interval,
            window_start: None,
        }
    }

    fn print(&mut self) -> std::io::Result<()> {
        let snap = self.stats.snapshot(self.sort, self.top);
        writeln!(self.out, "{}", render_text(&snap, &self.dims))?;
        self.out.flush()
    }
}

impl<W: Write> Sink for StatsTables<W> {
    fn event(&mut self, e: &Event) -> std::io::Result<()> {
        let ts = e.ts();
        if let Some(iv) = self.interval {
            let start = *self.window_start.get_or_insert(ts);
            if ts.saturating_sub(start) >= iv {
                self.print()?;
                self.stats.reset();
                self.window_start = Some(ts);
            }
        }
        self.stats.observe(e);
        Ok(())
    }
    fn finish(&mut self, _: &Counters, _: Option<KernelStats>) -> std::io::Result<()> {
        self.print()
    }
}

/// Feeds the exporter's metrics (served by [`crate::prometheus::Exporter`]).
pub struct MetricsFeed {
    pub metrics: Arc<Mutex<Metrics>>,
}

impl MetricsFeed {
    fn with(&self, f: impl FnOnce(&mut Metrics)) {
        // A panic elsewhere must not stop the capture: use the data anyway.
        let mut m = self.metrics.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut m);
    }
}

impl Sink for MetricsFeed {
    fn event(&mut self, e: &Event) -> std::io::Result<()> {
        self.with(|m| m.observe(e));
        Ok(())
    }
    fn tick(&mut self, _: Timestamp, c: &Counters, k: Option<KernelStats>) -> std::io::Result<()> {
        self.with(|m| m.set_capture_counters(c, k));
        Ok(())
    }
    fn finish(&mut self, c: &Counters, k: Option<KernelStats>) -> std::io::Result<()> {
        self.with(|m| m.set_capture_counters(c, k));
        Ok(())
    }
}

/// Collects chart data; writes the SVGs at the end.
pub struct Plots {
    pub collector: PlotCollector,
    pub dir: PathBuf,
    pub written: Vec<PathBuf>,
}

impl Sink for Plots {
    fn event(&mut self, e: &Event) -> std::io::Result<()> {
        self.collector.observe(e);
        Ok(())
    }
    fn finish(&mut self, _: &Counters, _: Option<KernelStats>) -> std::io::Result<()> {
        self.written = self
            .collector
            .write(&self.dir)
            .map_err(std::io::Error::other)?;
        Ok(())
    }
}

/// Several sinks in turn; the first error stops the run.
pub struct Tee<'a>(pub Vec<&'a mut dyn Sink>);

impl Sink for Tee<'_> {
    fn event(&mut self, e: &Event) -> std::io::Result<()> {
        self.0.iter_mut().try_for_each(|s| s.event(e))
    }
    fn tick(
        &mut self,
        now: Timestamp,
        c: &Counters,
        k: Option<KernelStats>,
    ) -> std::io::Result<()> {
        self.0.iter_mut().try_for_each(|s| s.tick(now, c, k))
    }
    fn finish(&mut self, c: &Counters, k: Option<KernelStats>) -> std::io::Result<()> {
        self.0.iter_mut().try_for_each(|s| s.finish(c, k))
    }
}
