//! The capture loop: pulls packets from a source through the pipeline into
//! a sink until the input ends, a limit is reached or the user interrupts.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::error::Result;
use crate::model::{Event, Timestamp};
use crate::pipeline::{Counters, Pipeline};
use crate::source::{KernelStats, Next, PacketSource};

/// Where events go. Returning an error (e.g. a closed stdout pipe) stops the run.
pub trait Sink {
    fn event(&mut self, e: &Event) -> std::io::Result<()>;
    /// Called about once a second with the capture clock and counters.
    fn tick(
        &mut self,
        _now: Timestamp,
        _c: &Counters,
        _k: Option<KernelStats>,
    ) -> std::io::Result<()> {
        Ok(())
    }
    /// Called once at the end.
    fn finish(&mut self, _c: &Counters, _k: Option<KernelStats>) -> std::io::Result<()> {
        Ok(())
    }
}

#[derive(Debug, Clone, Default)]
pub struct Limits {
    /// Stop after this many packets.
    pub count: Option<u64>,
    /// Stop after this long: wall time for live captures, capture time for files.
    pub duration: Option<Duration>,
    pub live: bool,
    /// Keep this process's CPU use under this percentage of one core.
    pub max_cpu: Option<f64>,
}

#[derive(Debug)]
pub struct Outcome {
    pub counters: Counters,
    pub kernel: Option<KernelStats>,
    /// The input ended in a truncated or corrupt record.
    pub truncated: Option<String>,
    /// Stopped by the sink (e.g. stdout closed).
    pub sink_closed: bool,
}

pub fn run(
    source: &mut dyn PacketSource,
    pipeline: &mut Pipeline,
    sink: &mut dyn Sink,
    limits: &Limits,
    stop: &AtomicBool,
) -> Result<Outcome> {
    let started = Instant::now();
    let mut first_ts: Option<Timestamp> = None;
    let mut last_tick = Instant::now();
    let mut events = Vec::new();
    let mut packets = 0u64;
    let mut throttle = limits.max_cpu.map(CpuThrottle::new);
    let mut truncated = None;
    let mut sink_closed = false;
    'outer: loop {
        if stop.load(Ordering::Relaxed) || limits.count.is_some_and(|n| packets >= n) {
            break;
        }
        if limits.live && limits.duration.is_some_and(|d| started.elapsed() >= d) {
            break;
        }
        match source.next_packet() {
            Ok(Next::Packet(p)) => {
                if !limits.live {
                    let first = *first_ts.get_or_insert(p.ts);
                    if limits
                        .duration
                        .is_some_and(|d| p.ts.saturating_sub(first) >= d)
                    {
                        break;
                    }
                }
                packets += 1;
                pipeline.packet(p, &mut events);
            }
            Ok(Next::Idle) => {}
            Ok(Next::End) => break,
            Err(e) => {
                if limits.live {
                    return Err(e);
                }
                truncated = Some(e.to_string());
                break;
            }
        }
        for e in events.drain(..) {
            if sink.event(&e).is_err() {
                sink_closed = true;
                break 'outer;
            }
        }
        if last_tick.elapsed() >= Duration::from_secs(1) {
            last_tick = Instant::now();
            let k = source.kernel_stats();
            if sink
                .tick(pipeline_now(pipeline), &pipeline.counters(), k)
                .is_err()
            {
                sink_closed = true;
                break;
            }
            if let Some(t) = &mut throttle {
                t.pace();
            }
        }
    }
    events.clear();
    if !sink_closed {
        pipeline.finish(&mut events);
        for e in events.drain(..) {
            if sink.event(&e).is_err() {
                sink_closed = true;
                break;
            }
        }
    }
    let counters = pipeline.counters();
    let kernel = source.kernel_stats();
    if !sink_closed {
        let _ = sink.finish(&counters, kernel);
    }
    Ok(Outcome {
        counters,
        kernel,
        truncated,
        sink_closed,
    })
}

/// The one-line account of a run printed on stderr: everything counted,
/// nothing dropped silently.
pub fn summary(c: &Counters, k: Option<KernelStats>) -> String {
    let mut s = format!(
        "zktraffic: {} packets, {} connections, {} frames, {} events; gaps {} ({} B), out-of-order {}, \
         resync skipped {} B, decode errors {}, unpaired replies {}, malformed {}, snaplen-cut {}",
        c.packets,
        c.flows_opened,
        c.conversation.frames,
        c.events,
        c.stream.gaps,
        c.stream.gap_bytes,
        c.stream.out_of_order_segments,
        c.conversation.resync_skipped,
        c.conversation.decode_errors,
        c.conversation.unpaired_replies,
        c.malformed,
        c.snaplen_cut,
    );
    if c.sampled_out > 0 {
        s.push_str(&format!(", sampled out {} segments", c.sampled_out));
    }
    if let Some(k) = k {
        s.push_str(&format!(
            "; kernel: received {}, dropped {}, interface dropped {}",
            k.received, k.dropped, k.if_dropped
        ));
    }
    s
}

fn pipeline_now(p: &Pipeline) -> Timestamp {
    p.now()
}

/// Sleeps when the process used more CPU than allowed since the last check.
/// Reads /proc/self/stat, so it works on Linux only (elsewhere it is a no-op).
struct CpuThrottle {
    max_share: f64,
    last_cpu: Option<Duration>,
    last_wall: Instant,
}

impl CpuThrottle {
    fn new(percent: f64) -> CpuThrottle {
        CpuThrottle {
            max_share: (percent / 100.0).clamp(0.01, 64.0),
            last_cpu: cpu_time(),
            last_wall: Instant::now(),
        }
    }

    fn pace(&mut self) {
        let (Some(now_cpu), Some(last_cpu)) = (cpu_time(), self.last_cpu) else {
            return;
        };
        let wall = self.last_wall.elapsed().as_secs_f64();
        let used = now_cpu.saturating_sub(last_cpu).as_secs_f64();
        // Sleep long enough that used / (wall + sleep) = max_share.
        let sleep = used / self.max_share - wall;
        if sleep > 0.0 {
            std::thread::sleep(Duration::from_secs_f64(sleep.min(1.0)));
        }
        self.last_cpu = cpu_time();
        self.last_wall = Instant::now();
    }
}

fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux ABI we run on.
    Some(Duration::from_millis(ticks * 10))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_reads_proc() {
        if cfg!(target_os = "linux") {
            assert!(cpu_time().is_some());
        }
    }
}
