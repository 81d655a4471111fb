//! `zktraffic top`: a live full-screen view of the aggregates, like `top`.
//!
//! Two threads share one [`Stats`]: the capture feeds it event by event
//! through a [`Sink`], the UI snapshots it once per refresh and otherwise
//! only waits for keys. The capture runs on the calling thread and the UI on
//! a spawned one, because packet sources need not be `Send` (a file source
//! reads through a boxed reader) while the terminal is.

pub mod app;
pub mod input;
pub mod widgets;

#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crossterm::event::{self, Event as TermEvent};
use ratatui::DefaultTerminal;

use crate::cli::TopArgs;
use crate::error::{Error, Result};
use crate::model::{Event, Timestamp};
use crate::pipeline::{Counters, Pipeline};
use crate::run::{Limits, Outcome, Sink};
use crate::source::{KernelStats, PacketSource};
use crate::stats::{SortKey, Stats, StatsConfig};

use app::{App, CaptureStatus, Effect, View};

/// Seconds of request-rate history kept for the sparkline; wider than any
/// terminal is useless.
const HISTORY_SECS: usize = 512;
/// Longest the UI waits for a key before looking at the capture again, so
/// the end of a capture or an interrupt shows promptly.
const POLL: Duration = Duration::from_millis(100);

/// Requests per second of capture time, so a file replayed in an instant
/// shows the rates it was recorded at.
#[derive(Debug, Clone, Default)]
pub struct RateHistory {
    /// Counts per second, oldest first; the last is `last_sec`.
    counts: VecDeque<u64>,
    last_sec: Option<u64>,
}

impl RateHistory {
    pub fn record(&mut self, ts: Timestamp) {
        let s = ts.as_secs();
        self.advance_to(s);
        // Replies can be a little out of order across connections; a second
        // already scrolled out of the history is dropped.
        let back = self.last_sec.map_or(0, |last| last.saturating_sub(s));
        if let Some(i) = usize::try_from(back)
            .ok()
            .and_then(|b| self.counts.len().checked_sub(b + 1))
        {
            self.counts[i] += 1;
        }
    }

    /// Opens empty seconds up to `s`, so quiet periods show as zeros.
    pub fn advance_to(&mut self, s: u64) {
        match self.last_sec {
            Some(last) if s <= last => return,
            Some(last) => {
                let new = (s - last).min(HISTORY_SECS as u64);
                self.counts.extend(std::iter::repeat_n(0, new as usize));
            }
            None => self.counts.push_back(0),
        }
        self.last_sec = Some(s);
        while self.counts.len() > HISTORY_SECS {
            self.counts.pop_front();
        }
    }

    /// Whole seconds; the current one too once nothing more will come.
    pub fn seconds(&self, complete: bool) -> Vec<u64> {
        let n = self.counts.len() - usize::from(!complete && !self.counts.is_empty());
        self.counts.iter().take(n).copied().collect()
    }
}

/// What the capture thread publishes and the UI reads.
#[derive(Debug)]
pub struct Shared {
    pub stats: Stats,
    pub history: RateHistory,
    pub capture: CaptureStatus,
}

impl Shared {
    pub fn new(cfg: StatsConfig) -> Shared {
        Shared {
            stats: Stats::new(cfg),
            history: RateHistory::default(),
            capture: CaptureStatus::default(),
        }
    }

    pub fn observe(&mut self, e: &Event) {
        self.stats.observe(e);
        if let Event::Exchange(x) = e {
            // The same requests the totals count.
            if x.op != Some(zkproto::OpCode::Ping) || self.stats.config().include_pings {
                self.history.record(x.ts());
            }
        }
    }

    /// All rows of every table: the filter may pick any of them.
    pub fn view(&self, sort: SortKey) -> View {
        View {
            snapshot: self.stats.snapshot(sort, 0),
            capture: self.capture.clone(),
            history: self.history.seconds(self.capture.ended.is_some()),
        }
    }
}

fn lock(m: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    // A panicked peer leaves counts that are still worth showing.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The capture side: events and counters into [`Shared`].
pub struct Feed<'a> {
    pub shared: &'a Mutex<Shared>,
}

impl Sink for Feed<'_> {
    fn event(&mut self, e: &Event) -> std::io::Result<()> {
        lock(self.shared).observe(e);
        Ok(())
    }
    fn tick(
        &mut self,
        now: Timestamp,
        c: &Counters,
        k: Option<KernelStats>,
    ) -> std::io::Result<()> {
        let mut s = lock(self.shared);
        s.capture.counters = *c;
        s.capture.kernel = k;
        if !now.is_zero() {
            s.history.advance_to(now.as_secs());
        }
        Ok(())
    }
    fn finish(&mut self, c: &Counters, k: Option<KernelStats>) -> std::io::Result<()> {
        let mut s = lock(self.shared);
        s.capture.counters = *c;
        s.capture.kernel = k;
        Ok(())
    }
}

pub fn stats_config(args: &TopArgs) -> StatsConfig {
    StatsConfig {
        path_depth: args.depth,
        client_with_port: args.client_port,
        include_pings: args.include_pings,
        ..StatsConfig::default()
    }
}

/// Runs the capture into the view until it ends and the user quits, or the
/// user quits first. `extra` also gets every event (exporter, plots);
/// `label` names the source in the title.
pub fn run(
    args: &TopArgs,
    label: &str,
    source: &mut dyn PacketSource,
    pipeline: &mut Pipeline,
    extra: &mut dyn Sink,
    limits: &Limits,
    stop: &AtomicBool,
) -> Result<Outcome> {
    if !std::io::stdout().is_terminal() {
        return Err(Error::Io(std::io::Error::other(
            "top needs a terminal on standard output (use `stats` for text)",
        )));
    }
    let shared = Mutex::new(Shared::new(stats_config(args)));
    let mut app = App::new(label, args.sort, lock(&shared).view(args.sort));
    let mut terminal = ratatui::try_init().inspect_err(|_| ratatui::restore())?;
    let refresh = args.refresh;
    std::thread::scope(|scope| {
        let ui = scope.spawn(|| {
            // Whatever ends the UI, a quit or a panic, ends the capture and
            // gives the terminal back.
            let _guard = Restore { stop };
            ui_loop(&mut terminal, &mut app, &shared, stop, refresh)
        });
        let _stop_ui_on_panic = StopOnPanic { stop };
        let mut feed = Feed { shared: &shared };
        let outcome = crate::run::run(
            source,
            pipeline,
            &mut crate::output::sinks::Tee(vec![&mut feed, extra]),
            limits,
            stop,
        );
        lock(&shared).capture.ended = Some(match &outcome {
            Ok(o) if o.truncated.is_some() => "input truncated".to_string(),
            Ok(o) if limits.count.is_some_and(|n| o.counters.packets >= n) => {
                "packet limit reached".to_string()
            }
            // A live capture the UI did not stop ends only at --duration.
            Ok(_) if limits.live => "time limit reached".to_string(),
            Ok(_) => "end of input".to_string(),
            Err(e) => format!("capture failed: {e}"),
        });
        let ui = ui.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        let outcome = outcome?;
        ui?;
        Ok(outcome)
    })
}

struct Restore<'a> {
    stop: &'a AtomicBool,
}

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        ratatui::restore();
    }
}

/// The scope joins the UI before a capture panic propagates, and the UI only
/// leaves on a key or this flag.
struct StopOnPanic<'a> {
    stop: &'a AtomicBool,
}

impl Drop for StopOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.stop.store(true, Ordering::Relaxed);
        }
    }
}

fn ui_loop(
    terminal: &mut DefaultTerminal,
    app: &mut App,
    shared: &Mutex<Shared>,
    stop: &AtomicBool,
    refresh: Duration,
) -> Result<()> {
    let mut next_refresh = Instant::now();
    let mut shown_end = false;
    let mut dirty = true;
    loop {
        let ended = lock(shared).capture.ended.is_some();
        if Instant::now() >= next_refresh || (ended && !shown_end) {
            app.update(lock(shared).view(app.sort));
            shown_end = ended;
            next_refresh = Instant::now() + refresh;
            dirty = true;
        }
        if dirty {
            terminal.draw(|f| widgets::draw(f, app))?;
            dirty = false;
        }
        // Set by Ctrl-C's signal (when not in raw mode, e.g. `kill -INT`).
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        let wait = next_refresh
            .saturating_duration_since(Instant::now())
            .min(POLL);
        if !event::poll(wait)? {
            continue;
        }
        match event::read()? {
            TermEvent::Key(k) => {
                let Some(action) = input::map_key(k, app.context()) else {
                    continue;
                };
                match app.apply(action) {
                    Effect::Quit => return Ok(()),
                    Effect::Reset => {
                        let mut s = lock(shared);
                        s.stats.reset();
                        app.replace(s.view(app.sort));
                    }
                    Effect::None => {}
                }
                dirty = true;
            }
            TermEvent::Resize(..) => dirty = true,
            _ => {}
        }
    }
}
