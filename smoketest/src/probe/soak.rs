//! `--soak DURATION`: an idle session on every server, pinged once a second
//! as a client library would, for DURATION; ping RTT over time, lost pings,
//! disconnects and expiries. By default the sessions ask for the timeout
//! this run recommends, so the soak checks the recommendation holds on this
//! network.

use std::time::{Duration, Instant};

use super::Run;
use crate::client::{Client, ConnectOptions};
use crate::error::{Error, Result};
use crate::hist::Hist;
use crate::raw::Sample;
use crate::results::{SoakConfig, SoakPoint, SoakResult};

pub const PING_EVERY: Duration = Duration::from_secs(1);

impl Run<'_> {
    pub(super) async fn soak(&mut self) -> Result<()> {
        let duration = self.cfg.soak.unwrap_or_default();
        let (timeout, source) = match self.cfg.soak_session_timeout_ms {
            Some(v) => (v, "--soak-session-timeout"),
            None => match crate::recommend::client_session_timeout_ms(&self.out) {
                Some(v) => (v.min(i32::MAX as u64) as i32, "recommended"),
                None => (self.cfg.session_timeout_ms, "--session-timeout"),
            },
        };
        self.out.soak = Some(SoakConfig {
            duration_ms: duration.as_millis() as u64,
            ping_interval_ms: PING_EVERY.as_millis() as u64,
            requested_timeout_ms: timeout,
            timeout_source: source.into(),
        });
        // Our own once-a-second pings are the measurement.
        let opts = self.options(timeout, false);
        let t0 = self.t0;
        let tasks: Vec<_> = self
            .cfg
            .servers
            .addrs
            .iter()
            .map(|addr| {
                let (addr, opts) = (addr.clone(), opts.clone());
                tokio::spawn(soak_one(addr, opts, duration, t0))
            })
            .collect();
        for (i, task) in tasks.into_iter().enumerate() {
            let (res, samples) = task.await.map_err(|e| Error::Config(e.to_string()))?;
            self.out.servers[i].soak = Some(res);
            self.samples.extend(samples);
        }
        Ok(())
    }
}

async fn soak_one(
    addr: String,
    opts: ConnectOptions,
    duration: Duration,
    t0: Instant,
) -> (SoakResult, Vec<Sample>) {
    let mut res = SoakResult::default();
    let mut samples = Vec::new();
    let mut h = Hist::default();
    let mut client = match Client::connect(&addr, &opts).await {
        Ok(c) => c,
        Err(e) => {
            res.errors.push(e.to_string());
            return (res, samples);
        }
    };
    res.negotiated_timeout_ms = client.handshake.timeout_ms;
    let start = Instant::now();
    let end = start + duration;
    let mut ticks = tokio::time::interval(PING_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut alive = true;
    loop {
        let at = ticks.tick().await.into_std();
        if at >= end {
            break;
        }
        let at_ms = at.saturating_duration_since(start).as_millis() as u64;
        if !alive {
            match reconnect(&addr, &opts, &client, &mut res).await {
                Some(c) => {
                    client = c;
                    alive = true;
                }
                None => {
                    res.series.push(SoakPoint {
                        at_ms,
                        rtt_us: None,
                    });
                    continue;
                }
            }
        }
        // The op timeout bounds each ping: a ping unanswered by then is lost.
        match client.ping().await {
            Ok(r) => {
                res.pings += 1;
                h.record(r.rtt());
                res.series.push(SoakPoint {
                    at_ms,
                    rtt_us: Some(r.rtt().as_micros() as u64),
                });
                samples.push(Sample {
                    phase: "soak",
                    server: addr.clone(),
                    op: "ping".into(),
                    start_us: r.sent.saturating_duration_since(t0).as_micros() as u64,
                    latency_us: r.rtt().as_micros() as u64,
                });
            }
            Err(Error::Timeout { .. }) => {
                res.lost += 1;
                res.series.push(SoakPoint {
                    at_ms,
                    rtt_us: None,
                });
            }
            Err(e) => {
                res.disconnects += 1;
                res.errors.push(format!("at {at_ms}ms: {e}"));
                res.series.push(SoakPoint {
                    at_ms,
                    rtt_us: None,
                });
                alive = false;
            }
        }
    }
    let _ = client.close().await;
    res.ping = (!h.is_empty()).then(|| h.summary());
    (res, samples)
}

/// Resumes the session as a client library would; a server that says it
/// expired counts an expiry, and a new session carries on.
async fn reconnect(
    addr: &str,
    opts: &ConnectOptions,
    old: &Client,
    res: &mut SoakResult,
) -> Option<Client> {
    let resume = ConnectOptions {
        resume: Some((old.handshake.session_id, old.handshake.passwd.clone())),
        ..opts.clone()
    };
    match Client::connect(addr, &resume).await {
        Ok(c) => Some(c),
        Err(Error::SessionExpired { .. }) => {
            res.expiries += 1;
            match Client::connect(addr, opts).await {
                Ok(c) => Some(c),
                Err(e) => {
                    res.errors.push(e.to_string());
                    None
                }
            }
        }
        Err(e) => {
            res.errors.push(e.to_string());
            None
        }
    }
}
