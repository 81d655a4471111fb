//! `--rate R`: reads and writes issued on a fixed schedule, R per second per
//! server, whatever the replies do, and each latency measured from when its
//! request was *due*. A closed loop waits for a slow reply before sending
//! the next request, so a stall is recorded once instead of in every request
//! it delayed (coordinated omission); on a schedule it is recorded in all.
//!
//! The schedule is kept by a plain thread: tokio's timer rounds sleeps up to
//! whole milliseconds, which on a LAN would be larger than what is measured.
//! The thread only sends; the replies are timed by the connection task.

use std::time::{Duration, Instant};

use zkproto::{PathWatchRequest, Request, SetDataRequest};

use super::Run;
use crate::client::within;
use crate::error::{Error, Result};
use crate::hist::Hist;
use crate::results::OpenLoopResult;

/// The longest one open-loop loop may run, per server and op, whatever
/// `--ops` says: the count is cut to R × this.
pub const MAX_OPEN_LOOP: Duration = Duration::from_secs(10);

/// A request the pacing thread can own.
#[derive(Debug, Clone)]
pub enum Op {
    Exists(String),
    GetData(String),
    SetData(String, Vec<u8>),
}

impl Op {
    pub fn request(&self) -> Request<'_> {
        match self {
            Op::Exists(p) => Request::Exists(PathWatchRequest {
                path: p,
                watch: false,
            }),
            Op::GetData(p) => Request::GetData(PathWatchRequest {
                path: p,
                watch: false,
            }),
            Op::SetData(p, v) => Request::SetData(SetDataRequest {
                path: p,
                data: Some(v),
                version: -1,
            }),
        }
    }

    pub fn name(&self) -> &'static str {
        self.request().op().map(|o| o.name()).unwrap_or("?")
    }
}

/// Requests a loop sends at `rate` (warm-up included) within the time cap.
pub fn scheduled(ops: usize, warmup: usize, rate: f64) -> usize {
    let cap = (rate * MAX_OPEN_LOOP.as_secs_f64()).floor().max(1.0) as usize;
    warmup + ops.min(cap).max(1)
}

impl Run<'_> {
    pub(super) async fn open_loop(
        &mut self,
        phase: &'static str,
        i: usize,
        op: Op,
    ) -> Result<Hist> {
        let rate = self.cfg.rate.unwrap_or(100.0);
        let t = self.cfg.op_timeout;
        let addr = self.addr(i);
        let warmup = self.cfg.warmup;
        let total = scheduled(self.cfg.ops, warmup, rate);
        let handle = self.client(i)?.handle();
        let name = op.name();
        // Leave the thread a moment to start before the first request is due.
        let start = Instant::now() + Duration::from_millis(2);
        let due = move |k: usize| start + Duration::from_secs_f64(k as f64 / rate);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let pacer = std::thread::spawn(move || {
            let req = op.request();
            for k in 0..total {
                let at = due(k);
                let now = Instant::now();
                if at > now {
                    std::thread::sleep(at - now);
                }
                let lag = at.elapsed();
                // The receiver is gone when the loop gave up: stop sending.
                if tx.send((k, lag, handle.send_blocking(&req))).is_err() {
                    return;
                }
            }
        });
        let deadline = due(total) + t;
        let mut h = Hist::default();
        let mut lag = Hist::default();
        let mut times = Vec::with_capacity(total);
        let mut sends = (None, None);
        for _ in 0..total {
            let left = deadline.saturating_duration_since(Instant::now());
            let (k, late, pending) = within(left, name, &addr, async {
                rx.recv().await.ok_or(Error::Closed {
                    addr: addr.clone(),
                    pending: 0,
                })
            })
            .await?;
            let left = deadline.saturating_duration_since(Instant::now()).max(t);
            let r = pending?.within(left).await?.into_ok()?;
            sends.0 = sends.0.or(Some(r.sent));
            sends.1 = Some(r.sent);
            if k >= warmup {
                let d = r.received.saturating_duration_since(due(k));
                h.record(d);
                lag.record(late);
                times.push((due(k), d));
            }
        }
        let _ = pacer.join();
        for (at, d) in times {
            let smp = self.sample(phase, i, name, at, d);
            self.samples.push(smp);
        }
        let achieved = match sends {
            (Some(a), Some(b)) if b > a => (total - 1) as f64 / (b - a).as_secs_f64(),
            _ => 0.0,
        };
        let ol = self.out.servers[i]
            .open_loop
            .get_or_insert_with(|| OpenLoopResult {
                rate,
                ..Default::default()
            });
        if phase == "write" {
            ol.write_achieved_rate = achieved;
        } else {
            ol.read_achieved_rate = achieved;
        }
        ol.send_lag_p99_us = ol.send_lag_p99_us.max(lag.p(0.99));
        Ok(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::fake::{server, Answer};
    use crate::client::{Client, ConnectOptions};
    use crate::results::{RunResult, ServerResult};
    use zkproto::ErrorCode;

    /// A one-connection server answering every request at once, except that
    /// it stalls for `stall` before answering request `stall_at`, as a GC
    /// pause would; requests keep arriving meanwhile.
    fn stalling_server(stall_at: usize, stall: Duration) -> String {
        server(move |k| {
            if k == stall_at {
                Answer::After(stall)
            } else {
                Answer::Now(ErrorCode::OK)
            }
        })
    }

    /// The same 200 ms stall, measured both ways.
    #[test]
    fn open_loop_counts_a_stall_in_every_request_it_delays() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let stall = Duration::from_millis(200);
        let measure = |open: bool| {
            let addr = stalling_server(50, stall);
            let cfg = crate::probe::Config {
                servers: crate::discover::Servers {
                    addrs: vec![addr.clone()],
                    chroot: None,
                },
                ops: 300,
                warmup: 0,
                rate: open.then_some(1000.0),
                ..Default::default()
            };
            rt.block_on(async {
                let c = Client::connect(&addr, &ConnectOptions::default())
                    .await
                    .unwrap();
                let mut run = Run {
                    cfg: &cfg,
                    root: "/t".into(),
                    clients: vec![Some(c)],
                    out: RunResult {
                        servers: vec![ServerResult::default()],
                        ..Default::default()
                    },
                    t0: Instant::now(),
                    samples: Vec::new(),
                };
                let h = run
                    .latency_loop("read", 0, Op::Exists("/t".into()))
                    .await
                    .unwrap();
                assert_eq!(h.len(), 300);
                assert_eq!(run.samples.len(), 300);
                (h.p(0.5), h.p(0.9), h.summary().max_us)
            })
        };
        // Closed loop: one request waited 200 ms, the rest look fine.
        let (p50, p90, max) = measure(false);
        assert!(
            p90 < 20_000 && max >= 190_000,
            "closed p50 {p50} p90 {p90} max {max}"
        );
        // Open loop at 1/ms: the ~200 requests due during the stall all
        // waited, from 200 ms down to 0: p50 about 50 ms, p90 about 170 ms.
        let (p50, p90, max) = measure(true);
        assert!(
            (30_000..=90_000).contains(&p50) && (140_000..=210_000).contains(&p90),
            "open p50 {p50} p90 {p90} max {max}"
        );
    }

    #[test]
    fn schedule_is_bounded_in_time() {
        assert_eq!(scheduled(200, 20, 1000.0), 220);
        // 10 s at 5/s is 50 requests, not 200.
        assert_eq!(scheduled(200, 20, 5.0), 70);
        assert_eq!(scheduled(0, 0, 0.01), 1);
    }
}
