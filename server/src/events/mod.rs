//! The node's structured event log: one `zkproto::event::Event` per line in
//! `<dataDir>/events/`, optionally copied to stdout. See `docs/events.md`,
//! "Files and rotation".
//!
//! [`EventLog::emit`] never waits for the disk: it hands the event to a
//! bounded queue read by one writer thread, which numbers events (`seq`),
//! batches them, and rotates files. When the queue is full or the disk
//! refuses writes, events are dropped and counted, never numbered, and an
//! `events.lost` line says how many once writing works again; so `seq` has
//! no gaps, and `events.lost` accounts for every event dropped while the node
//! ran.

mod files;
mod read;
mod recover;
mod sink;
#[cfg(test)]
mod tests;
mod writer;

use std::io;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use zkproto::event::{Event, Level, Stamp};

pub use files::{FileSink, CURRENT};
pub use read::read_events;
pub use recover::{Note, Resume};
pub use sink::{Line, Sink, SinkError, WriterSink};

use writer::{Counters, Msg, Writer};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventLogOptions {
    /// Usually `<dataDir>/events`; created if missing.
    pub dir: PathBuf,
    /// Written into every event's `node`.
    pub node: String,
    /// A file is rotated before a line would take it past this size.
    pub max_file_bytes: u64,
    /// Files kept, `events.log` included; older rotated files are deleted.
    pub keep_files: usize,
    /// Also copy every line to stdout.
    pub stdout: bool,
    /// How long an event may wait in memory before it is written.
    pub flush_every: Duration,
    /// Events below this level are dropped at `emit` (not counted as lost).
    pub min_level: Level,
    /// Events that may wait for the writer; beyond it `emit` drops.
    pub queue_capacity: usize,
}

impl EventLogOptions {
    pub fn new(dir: impl Into<PathBuf>, node: impl Into<String>) -> EventLogOptions {
        EventLogOptions {
            dir: dir.into(),
            node: node.into(),
            max_file_bytes: 64 * 1024 * 1024,
            keep_files: 10,
            stdout: false,
            flush_every: Duration::from_millis(100),
            min_level: Level::Info,
            queue_capacity: 64 * 1024,
        }
    }

    fn validate(&self) -> crate::Result<()> {
        let bad = |key: &str, msg: &str| Err(crate::Error::config(format!("events.{key}"), msg));
        if self.max_file_bytes == 0 {
            return bad("max_file_bytes", "must be at least 1");
        }
        if self.keep_files == 0 {
            return bad("keep_files", "must be at least 1 (the file being written)");
        }
        if self.flush_every.is_zero() {
            return bad("flush_every", "must be longer than zero");
        }
        if self.queue_capacity == 0 {
            return bad("queue_capacity", "must be at least 1");
        }
        Ok(())
    }
}

/// The counters `mntr` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EventLogStats {
    /// Lines the files accepted, the log's own included.
    pub written: u64,
    /// Events dropped: queue full, write failures, or after shutdown.
    pub lost: u64,
    /// Events waiting in the queue.
    pub queued: u64,
}

struct Shared {
    node: String,
    min_level: Level,
    counters: Arc<Counters>,
}

/// A handle for emitting events; clone it freely.
#[derive(Clone)]
pub struct EventLog {
    tx: SyncSender<Msg>,
    shared: Arc<Shared>,
}

/// Owns the writer thread. [`EventLogGuard::shutdown`] (or dropping it)
/// writes everything queued and joins the thread.
pub struct EventLogGuard {
    tx: SyncSender<Msg>,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl EventLog {
    /// Opens the files in `opts.dir`, resuming `seq` after the last readable
    /// line there, and starts the writer thread.
    pub fn open(opts: EventLogOptions) -> crate::Result<(EventLog, EventLogGuard)> {
        EventLog::open_with(opts, None, None)
    }

    /// Like [`EventLog::open`], with other sinks: `primary` replaces the
    /// files (numbering then starts at 0 and `opts.dir` is not touched), and
    /// `mirror` replaces stdout as the best-effort copy, used even when
    /// `opts.stdout` is false.
    pub fn open_with(
        opts: EventLogOptions,
        primary: Option<Box<dyn Sink>>,
        mirror: Option<Box<dyn Sink>>,
    ) -> crate::Result<(EventLog, EventLogGuard)> {
        opts.validate()?;
        let (primary, resume) = match primary {
            Some(sink) => (sink, Resume::default()),
            None => {
                let (files, resume) =
                    FileSink::open(&opts.dir, opts.max_file_bytes, opts.keep_files)?;
                (Box::new(files) as Box<dyn Sink>, resume)
            }
        };
        let mirror = mirror.or_else(|| {
            opts.stdout
                .then(|| Box::new(WriterSink::new(io::stdout())) as Box<dyn Sink>)
        });
        let counters = Arc::new(Counters::default());
        let writer = Writer::new(
            opts.node.clone(),
            counters.clone(),
            primary,
            mirror,
            opts.flush_every,
            resume.next_seq,
        );
        let (tx, rx) = mpsc::sync_channel(opts.queue_capacity);
        let notes = resume.notes;
        let thread = std::thread::Builder::new()
            .name("events".into())
            .spawn(move || writer.run(rx, notes))
            .map_err(|e| crate::Error::io("events: start writer thread", e))?;
        let log = EventLog {
            tx: tx.clone(),
            shared: Arc::new(Shared {
                node: opts.node,
                min_level: opts.min_level,
                counters,
            }),
        };
        let guard = EventLogGuard {
            tx,
            thread: Some(thread),
        };
        Ok((log, guard))
    }

    pub fn node(&self) -> &str {
        &self.shared.node
    }

    /// A new event from this node, ready to fill in and [`emit`](Self::emit).
    pub fn event(&self, kind: &str, level: Level, stamp: Stamp) -> Event {
        Event::new(self.shared.node.clone(), 0, kind, level, stamp)
    }

    /// Queues `ev` for writing; never waits. The writer sets `seq` and
    /// `node`; `ts` is kept as the caller made it.
    /// Whether an event at `level` would be written; lets a caller skip
    /// building one (strings, a lock) that `emit` would drop.
    pub fn enabled(&self, level: Level) -> bool {
        level >= self.shared.min_level
    }

    pub fn emit(&self, ev: Event) {
        if ev.level < self.shared.min_level {
            return;
        }
        let counters = &self.shared.counters;
        // Counted before sending so the writer's decrement cannot come first.
        counters.queued.fetch_add(1, Ordering::Relaxed);
        match self.tx.try_send(Msg::Event(Box::new(ev))) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                counters.queued.fetch_sub(1, Ordering::Relaxed);
                counters.lost.fetch_add(1, Ordering::Relaxed);
                counters
                    .unreported_queue_full
                    .fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Disconnected(_)) => {
                counters.queued.fetch_sub(1, Ordering::Relaxed);
                counters.lost.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Returns once every event emitted before it is written (or lost and
    /// reported); an error means the disk is refusing writes right now.
    /// Waits behind the queue, so not for connection tasks.
    pub fn flush(&self) -> crate::Result<()> {
        let (reply_tx, reply_rx) = mpsc::sync_channel(1);
        self.tx
            .send(Msg::Flush(reply_tx))
            .map_err(|_| crate::Error::ShuttingDown)?;
        match reply_rx.recv() {
            Ok(result) => result.map_err(|e| crate::Error::io("events: flush", e)),
            Err(_) => Err(crate::Error::ShuttingDown),
        }
    }

    pub fn written(&self) -> u64 {
        self.shared.counters.written.load(Ordering::Relaxed)
    }

    pub fn lost(&self) -> u64 {
        self.shared.counters.lost.load(Ordering::Relaxed)
    }

    pub fn queued(&self) -> u64 {
        self.shared.counters.queued.load(Ordering::Relaxed)
    }

    pub fn stats(&self) -> EventLogStats {
        EventLogStats {
            written: self.written(),
            lost: self.lost(),
            queued: self.queued(),
        }
    }
}

impl EventLogGuard {
    /// Writes everything emitted before this call, syncs, and stops the
    /// writer. Events emitted afterwards are counted as lost.
    pub fn shutdown(mut self) -> crate::Result<()> {
        self.stop()
    }

    fn stop(&mut self) -> crate::Result<()> {
        let Some(thread) = self.thread.take() else {
            return Ok(());
        };
        // A blocking send: it queues behind everything emitted so far, which
        // is exactly what must be written. If the thread is already gone,
        // joining says why.
        let _ = self.tx.send(Msg::Shutdown);
        match thread.join() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(crate::Error::io("events: final write", e)),
            Err(_) => Err(crate::Error::io(
                "events: writer thread",
                io::Error::other("panicked"),
            )),
        }
    }
}

impl Drop for EventLogGuard {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}
