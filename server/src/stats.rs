//! Server-wide counters for `srvr`, `stat`, `mntr` and `srst`.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

#[derive(Debug)]
pub struct Stats {
    pub packets_received: AtomicU64,
    pub packets_sent: AtomicU64,
    pub outstanding: AtomicI64,
    latency_count: AtomicU64,
    latency_sum_us: AtomicU64,
    latency_min_us: AtomicU64,
    latency_max_us: AtomicU64,
    pub connections_refused: AtomicU64,
    pub throttled: AtomicU64,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            packets_received: AtomicU64::new(0),
            packets_sent: AtomicU64::new(0),
            outstanding: AtomicI64::new(0),
            latency_count: AtomicU64::new(0),
            latency_sum_us: AtomicU64::new(0),
            latency_min_us: AtomicU64::new(u64::MAX),
            latency_max_us: AtomicU64::new(0),
            connections_refused: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
        }
    }
}

/// min/avg/max request latency in ms, as `srvr` prints it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    pub min_ms: f64,
    pub avg_ms: f64,
    pub max_ms: f64,
    pub count: u64,
}

impl Stats {
    pub fn record_latency(&self, us: u64) {
        self.latency_count.fetch_add(1, Relaxed);
        self.latency_sum_us.fetch_add(us, Relaxed);
        self.latency_min_us.fetch_min(us, Relaxed);
        self.latency_max_us.fetch_max(us, Relaxed);
    }

    pub fn latency(&self) -> Latency {
        let count = self.latency_count.load(Relaxed);
        if count == 0 {
            return Latency {
                min_ms: 0.0,
                avg_ms: 0.0,
                max_ms: 0.0,
                count,
            };
        }
        Latency {
            min_ms: self.latency_min_us.load(Relaxed) as f64 / 1000.0,
            avg_ms: self.latency_sum_us.load(Relaxed) as f64 / count as f64 / 1000.0,
            max_ms: self.latency_max_us.load(Relaxed) as f64 / 1000.0,
            count,
        }
    }

    /// `srst`: zero the counters (outstanding is a gauge and stays).
    pub fn reset(&self) {
        self.packets_received.store(0, Relaxed);
        self.packets_sent.store(0, Relaxed);
        self.latency_count.store(0, Relaxed);
        self.latency_sum_us.store(0, Relaxed);
        self.latency_min_us.store(u64::MAX, Relaxed);
        self.latency_max_us.store(0, Relaxed);
        self.connections_refused.store(0, Relaxed);
        self.throttled.store(0, Relaxed);
    }
}
