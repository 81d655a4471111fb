//! `--expiry`: how long a session really lives after its client vanishes.
//! On every server a session creates an ephemeral, pings (the server's last
//! sight of it), then drops its socket without closeSession, as a crashed or
//! partitioned client would. A client on the next server watches the
//! ephemeral; NodeDeleted there is the expiry as the rest of the ensemble
//! sees it. ZooKeeper expires sessions on tick boundaries and learns of a
//! follower's sessions at the leader's pings, so expect the negotiated
//! timeout plus up to about 1.5 ticks, plus a commit.

use std::time::{Duration, Instant};

use zkproto::{CreateMode, EventType};

use super::{sync_and_watch, Run};
use crate::client::Client;
use crate::error::Result;
use crate::results::ExpiryResult;

impl Run<'_> {
    pub(super) async fn expiry(&mut self) -> Result<()> {
        let t = self.cfg.op_timeout;
        let n = self.clients.len();
        let tick = crate::recommend::tick_ms(&self.out);
        // Silence from the victim is the point; we ping once, by hand.
        let opts = self.options(self.cfg.session_timeout_ms, false);
        let mut victims = Vec::with_capacity(n);
        for a in 0..n {
            let addr = self.addr(a);
            let node = format!("{}/exp{a}", self.root);
            let mut c = Client::connect(&addr, &opts).await?;
            c.create(&node, None, CreateMode::Ephemeral)
                .await?
                .into_ok()?;
            let b = (a + 1) % n;
            sync_and_watch(self.client(b)?, &node).await?;
            victims.push((a, b, node, c));
        }
        // All victims go silent together so the wait is paid once.
        let mut silent = Vec::with_capacity(n);
        let mut longest = Duration::ZERO;
        for (a, b, node, mut c) in victims {
            let last = c.ping().await?;
            let negotiated = c.handshake.timeout_ms;
            c.abort().await;
            longest = longest.max(Duration::from_millis(negotiated.max(0) as u64));
            silent.push((a, b, node, last.sent, negotiated));
        }
        let grace = Duration::from_millis(3 * tick.unwrap_or(2000)) + t;
        let deadline = Instant::now() + longest + grace;
        for (a, b, node, last, negotiated) in silent {
            let mut seen = None;
            while seen.is_none() {
                let left = deadline.saturating_duration_since(Instant::now());
                let Some(ev) = self.client(b)?.next_notification(left).await else {
                    break;
                };
                if ev.event_type == EventType::NODE_DELETED && ev.path == node {
                    seen = Some(ev.received.saturating_duration_since(last));
                }
            }
            if let Some(d) = seen {
                let op = format!("expiry seen on {}", self.addr(b));
                let smp = self.sample("expiry", a, &op, last, d);
                self.samples.push(smp);
            }
            self.out.servers[a].expiry = Some(ExpiryResult {
                observer: self.addr(b),
                negotiated_timeout_ms: negotiated,
                tick_ms: tick,
                expired_after_ms: seen.map(|d| d.as_millis() as u64),
            });
        }
        Ok(())
    }
}
