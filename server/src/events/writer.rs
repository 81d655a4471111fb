//! The writer thread: numbers events, batches them to the sink, and turns
//! failures into counted losses instead of blocking or crashing.
//!
//! A seq is given when an event is accepted into the batch. A batch the sink
//! refuses keeps its seqs and is offered again on every tick, while events
//! arriving meanwhile are dropped *before* numbering; so a loss never leaves
//! a gap, and the `events.lost` line written as soon as the sink works again
//! sits where the dropped events would have been. Drops on a full queue are
//! reported when the queue drains, at a flush, or at the next tick, whichever
//! comes first.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use zkproto::event::{Event, Level, Stamp, Zxid};

use super::recover::Note;
use super::sink::{Line, Sink};

/// A batch is written early once it holds this much, which also bounds what
/// sits in memory besides the queue.
const BATCH_BYTES: usize = 256 * 1024;
/// When the queue runs dry right after events came in, the writer naps this
/// long before blocking: a blocked writer is woken for every single event,
/// a futex call in the emitting thread (often while it holds the member's
/// lock), which cost zkserver about a tenth of its CPU under load.
const LINGER: Duration = Duration::from_millis(2);

pub(super) enum Msg {
    /// Boxed so a queue slot costs a pointer, not a whole event.
    Event(Box<Event>),
    /// Write everything received so far and answer how it went.
    Flush(SyncSender<io::Result<()>>),
    Shutdown,
}

/// Shared between the handles and the writer, read by `mntr`.
#[derive(Debug, Default)]
pub(super) struct Counters {
    pub written: AtomicU64,
    pub lost: AtomicU64,
    pub queued: AtomicU64,
    /// Events dropped on a full queue and not yet reported by `events.lost`.
    pub unreported_queue_full: AtomicU64,
}

pub(super) struct Writer {
    pub node: String,
    pub counters: Arc<Counters>,
    pub primary: Box<dyn Sink>,
    /// A best-effort copy (stdout). Its errors are ignored: a closed pipe or
    /// a slow terminal must not cost the files any events.
    pub mirror: Option<Box<dyn Sink>>,
    pub flush_every: Duration,
    pub next_seq: u64,
    pending: Vec<Line>,
    pending_bytes: usize,
    /// The primary refused the batch; events are dropped until it takes it.
    failing: bool,
    last_error: Option<String>,
    unreported_write_failed: u64,
    /// The highest `applied_zxid` seen, stamped on the writer's own events
    /// (it knows no better, and these are local events).
    applied: Zxid,
}

impl Writer {
    pub fn new(
        node: String,
        counters: Arc<Counters>,
        primary: Box<dyn Sink>,
        mirror: Option<Box<dyn Sink>>,
        flush_every: Duration,
        next_seq: u64,
    ) -> Writer {
        Writer {
            node,
            counters,
            primary,
            mirror,
            flush_every,
            next_seq,
            pending: Vec::new(),
            pending_bytes: 0,
            failing: false,
            last_error: None,
            unreported_write_failed: 0,
            applied: Zxid(0),
        }
    }

    /// Runs until `Shutdown` or until every sender is gone, then writes what
    /// is left; the result is that last write's.
    pub fn run(mut self, rx: Receiver<Msg>, notes: Vec<Note>) -> io::Result<()> {
        for note in notes {
            self.push_own("events.corrupt", note.msg, note.detail);
        }
        let mut next_tick = Instant::now() + self.flush_every;
        let mut took_since_nap = false;
        // Each pass takes one message or one tick; it ends with the senders.
        loop {
            let msg = match rx.try_recv() {
                Ok(msg) => msg,
                Err(TryRecvError::Disconnected) => break,
                Err(TryRecvError::Empty) if took_since_nap => {
                    took_since_nap = false;
                    std::thread::sleep(
                        LINGER.min(next_tick.saturating_duration_since(Instant::now())),
                    );
                    continue;
                }
                Err(TryRecvError::Empty) => {
                    // Drained: report drops now rather than at the next tick.
                    self.report_losses();
                    let wait = next_tick.saturating_duration_since(Instant::now());
                    match rx.recv_timeout(wait) {
                        Ok(msg) => msg,
                        Err(RecvTimeoutError::Timeout) => {
                            let _ = self.tick();
                            next_tick = Instant::now() + self.flush_every;
                            continue;
                        }
                        Err(RecvTimeoutError::Disconnected) => break,
                    }
                }
            };
            match msg {
                Msg::Event(ev) => {
                    took_since_nap = true;
                    self.counters.queued.fetch_sub(1, Ordering::Relaxed);
                    self.accept(*ev);
                    if self.pending_bytes >= BATCH_BYTES {
                        let _ = self.flush_pending();
                    }
                }
                Msg::Flush(reply) => {
                    // The asker may have given up waiting; nothing to do then.
                    let _ = reply.send(self.tick());
                }
                Msg::Shutdown => break,
            }
            // Under steady load the queue never drains, so ticks come here.
            if Instant::now() >= next_tick {
                let _ = self.tick();
                next_tick = Instant::now() + self.flush_every;
            }
        }
        self.finish()
    }

    fn accept(&mut self, mut ev: Event) {
        if self.failing {
            self.counters.lost.fetch_add(1, Ordering::Relaxed);
            self.unreported_write_failed += 1;
            return;
        }
        if let Stamp::AppliedZxid(z) = ev.stamp {
            self.applied = self.applied.max(z);
        }
        if ev.node != self.node {
            ev.node.clone_from(&self.node);
        }
        ev.seq = self.next_seq;
        self.next_seq += 1;
        let mut text = ev.to_line();
        text.push('\n');
        self.pending_bytes += text.len();
        self.pending.push(Line { seq: ev.seq, text });
    }

    /// An event of the log's own, numbered like any other.
    fn push_own(&mut self, kind: &str, msg: String, detail: Value) {
        let mut ev = Event::new(
            self.node.clone(),
            0,
            kind,
            Level::Warn,
            Stamp::AppliedZxid(self.applied),
        );
        ev.msg = Some(msg);
        ev.detail = Some(detail);
        self.accept(ev);
    }

    /// Queues one `events.lost` line for everything dropped since the last
    /// one; returns whether it did. Waits while the sink is failing, since
    /// the line could not be written either.
    fn report_losses(&mut self) -> bool {
        if self.failing {
            return false;
        }
        let queue_full = self
            .counters
            .unreported_queue_full
            .swap(0, Ordering::Relaxed);
        let write_failed = std::mem::take(&mut self.unreported_write_failed);
        let lost = queue_full + write_failed;
        if lost == 0 {
            return false;
        }
        let write_error = self.last_error.take();
        let error = match (queue_full > 0, write_error.filter(|_| write_failed > 0)) {
            (true, Some(e)) => format!("queue full; {e}"),
            (false, Some(e)) => e,
            _ => "queue full".to_string(),
        };
        let detail = json!({
            "lost": lost,
            "error": error,
            "queue_full": queue_full,
            "write_failed": write_failed,
        });
        self.push_own(
            "events.lost",
            format!("{lost} events lost: {error}"),
            detail,
        );
        true
    }

    /// Writes the batch, then reports any losses (written at once, so the
    /// report precedes every later event).
    fn tick(&mut self) -> io::Result<()> {
        self.flush_pending()?;
        if self.report_losses() {
            self.flush_pending()?;
        }
        Ok(())
    }

    fn flush_pending(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let result = self.primary.write_lines(&self.pending);
        let accepted = match &result {
            Ok(()) => self.pending.len(),
            Err(e) => e.written.min(self.pending.len()),
        };
        if let Some(mirror) = self.mirror.as_mut() {
            let _ = mirror.write_lines(&self.pending[..accepted]);
        }
        self.counters
            .written
            .fetch_add(accepted as u64, Ordering::Relaxed);
        for line in self.pending.drain(..accepted) {
            self.pending_bytes -= line.text.len();
        }
        match result {
            Ok(()) => {
                self.failing = false;
                Ok(())
            }
            Err(e) => {
                self.failing = true;
                self.last_error = Some(e.error.to_string());
                Err(e.error)
            }
        }
    }

    /// The last write at shutdown. What still cannot be written is lost and
    /// counted; a restart numbers on from the last line on disk, so its seqs
    /// are given again rather than left as a gap.
    fn finish(mut self) -> io::Result<()> {
        if let Err(e) = self.tick() {
            self.counters
                .lost
                .fetch_add(self.pending.len() as u64, Ordering::Relaxed);
            return Err(e);
        }
        if let Some(mirror) = self.mirror.as_mut() {
            let _ = mirror.sync();
        }
        self.primary.sync()
    }
}
