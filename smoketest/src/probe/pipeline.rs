//! `--pipeline D`: throughput per server with D requests in flight on one
//! session, for setData and getData. Kept apart from the latency phases:
//! with D in flight each reply also waits behind the others, so these
//! latencies measure queueing and only go to `--raw` (phase `pipeline`).

use std::collections::VecDeque;
use std::time::Instant;

use super::openloop::Op;
use super::Run;
use crate::error::Result;
use crate::results::PipelineResult;

/// Requests per op kind and server: enough windows for a stable rate, and
/// still a bounded run.
pub fn pipeline_ops(ops: usize, depth: usize) -> usize {
    ops.max(20 * depth).min(20_000)
}

impl Run<'_> {
    pub(super) async fn pipeline(&mut self) -> Result<()> {
        let depth = self.cfg.pipeline.unwrap_or(1).max(1);
        let n = pipeline_ops(self.cfg.ops, depth);
        let value = vec![b'z'; self.cfg.value_size];
        for i in 0..self.clients.len() {
            // The write phase created it; setData on it does not disturb others.
            let own = format!("{}/s{i}", self.root);
            let write = self
                .window(i, depth, n, Op::SetData(own.clone(), value.clone()))
                .await?;
            let read = self.window(i, depth, n, Op::GetData(own)).await?;
            let closed = self.out.servers[i]
                .write
                .as_ref()
                .filter(|w| w.mean_us > 0.0)
                .map(|w| 1e6 / w.mean_us);
            self.out.servers[i].pipelined_ops_per_sec = Some(write);
            self.out.servers[i].pipeline = Some(PipelineResult {
                depth,
                ops: n,
                write_ops_per_sec: write,
                read_ops_per_sec: read,
                closed_loop_write_ops_per_sec: closed,
            });
        }
        Ok(())
    }

    /// Keeps `depth` requests in flight until `n` are answered; ops/s.
    async fn window(&mut self, i: usize, depth: usize, n: usize, op: Op) -> Result<f64> {
        let t = self.cfg.op_timeout;
        let name = op.name();
        let req = op.request();
        let handle = self.client(i)?.handle();
        let mut inflight = VecDeque::with_capacity(depth);
        let mut times = Vec::with_capacity(n);
        let start = Instant::now();
        let mut last = start;
        let mut sent = 0;
        while sent < depth.min(n) {
            inflight.push_back(handle.send(&req).await?);
            sent += 1;
        }
        // One session's replies come in request order, so the oldest
        // request is always the next to be answered.
        while let Some(p) = inflight.pop_front() {
            let r = p.within(t).await?.into_ok()?;
            if sent < n {
                inflight.push_back(handle.send(&req).await?);
                sent += 1;
            }
            last = r.received;
            times.push((r.sent, r.rtt()));
        }
        for (at, d) in times {
            let smp = self.sample("pipeline", i, name, at, d);
            self.samples.push(smp);
        }
        let secs = last.saturating_duration_since(start).as_secs_f64();
        Ok(if secs > 0.0 { n as f64 / secs } else { 0.0 })
    }
}
