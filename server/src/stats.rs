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

/// One connection's counters for `cons`; written by its task, read by the
/// four-letter words.
#[derive(Debug)]
pub struct ConnStats {
    pub received: AtomicU64,
    pub sent: AtomicU64,
    pub queued: AtomicU64,
    /// The last request's opcode (`i32::MIN` before the first).
    pub last_op: std::sync::atomic::AtomicI32,
    pub last_cxid: AtomicI64,
    pub last_zxid: AtomicI64,
    pub last_response_ms: AtomicI64,
    pub last_latency_ms: AtomicU64,
    pub established_ms: AtomicI64,
    pub timeout_ms: std::sync::atomic::AtomicI32,
    latency_count: AtomicU64,
    latency_total_ms: AtomicU64,
    latency_min_ms: AtomicU64,
    latency_max_ms: AtomicU64,
}

impl Default for ConnStats {
    fn default() -> Self {
        ConnStats {
            received: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            queued: AtomicU64::new(0),
            last_op: std::sync::atomic::AtomicI32::new(i32::MIN),
            last_cxid: AtomicI64::new(-1),
            last_zxid: AtomicI64::new(-1),
            last_response_ms: AtomicI64::new(0),
            last_latency_ms: AtomicU64::new(0),
            established_ms: AtomicI64::new(0),
            timeout_ms: std::sync::atomic::AtomicI32::new(0),
            latency_count: AtomicU64::new(0),
            latency_total_ms: AtomicU64::new(0),
            latency_min_ms: AtomicU64::new(u64::MAX),
            latency_max_ms: AtomicU64::new(0),
        }
    }
}

impl ConnStats {
    pub fn record_response(&self, op: i32, cxid: i32, zxid: i64, now_ms: i64, latency_ms: u64) {
        self.last_op.store(op, Relaxed);
        if cxid >= 0 {
            self.last_cxid.store(cxid as i64, Relaxed);
        }
        self.last_zxid.store(zxid, Relaxed);
        self.last_response_ms.store(now_ms, Relaxed);
        self.last_latency_ms.store(latency_ms, Relaxed);
        self.latency_count.fetch_add(1, Relaxed);
        self.latency_total_ms.fetch_add(latency_ms, Relaxed);
        self.latency_min_ms.fetch_min(latency_ms, Relaxed);
        self.latency_max_ms.fetch_max(latency_ms, Relaxed);
    }

    /// (count, total, min, max) in ms.
    pub fn latency(&self) -> (u64, u64, u64, u64) {
        let count = self.latency_count.load(Relaxed);
        let min = self.latency_min_ms.load(Relaxed);
        (
            count,
            self.latency_total_ms.load(Relaxed),
            if count == 0 { 0 } else { min },
            self.latency_max_ms.load(Relaxed),
        )
    }

    /// `crst`.
    pub fn reset(&self) {
        self.received.store(0, Relaxed);
        self.sent.store(0, Relaxed);
        self.last_op.store(i32::MIN, Relaxed);
        self.last_cxid.store(-1, Relaxed);
        self.last_zxid.store(-1, Relaxed);
        self.last_response_ms.store(0, Relaxed);
        self.last_latency_ms.store(0, Relaxed);
        self.latency_count.store(0, Relaxed);
        self.latency_total_ms.store(0, Relaxed);
        self.latency_min_ms.store(u64::MAX, Relaxed);
        self.latency_max_ms.store(0, Relaxed);
    }
}
