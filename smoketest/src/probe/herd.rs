//! `--herd K`: K clients connecting to one server at once, as after a
//! restart or a network blip, one server at a time; connect + handshake
//! latency and failures. ZooKeeper refuses a client IP more than
//! maxClientCnxns connections, and this host may run real clients too, so K
//! is capped well below that limit.

use std::time::Instant;

use super::Run;
use crate::client::Client;
use crate::discover::ServerInfo;
use crate::error::Result;
use crate::hist::Hist;
use crate::results::HerdResult;

/// Connections left to other clients on this host (and our own session).
pub const HERD_HEADROOM: usize = 10;
/// ZooKeeper's default maxClientCnxns, when `conf` cannot be read.
pub const DEFAULT_MAX_CLIENT_CNXNS: usize = 60;

/// The most connections the herd may open on this server (None: no
/// limit), and why.
pub fn herd_cap(info: &ServerInfo) -> (Option<usize>, String) {
    let conf = info
        .conf
        .as_ref()
        .and_then(|c| c.get("maxClientCnxns"))
        .and_then(|v| v.parse::<usize>().ok());
    match conf {
        Some(0) => (None, "maxClientCnxns=0 (no limit)".into()),
        Some(m) => (
            Some(m.saturating_sub(HERD_HEADROOM).max(1)),
            format!("maxClientCnxns={m} minus {HERD_HEADROOM} for other clients on this host"),
        ),
        None => (
            Some(DEFAULT_MAX_CLIENT_CNXNS - HERD_HEADROOM),
            format!(
                "maxClientCnxns unknown (conf not readable): default {DEFAULT_MAX_CLIENT_CNXNS} minus {HERD_HEADROOM}"
            ),
        ),
    }
}

impl Run<'_> {
    pub(super) async fn herd(&mut self) -> Result<()> {
        let k = self.cfg.herd.unwrap_or(0);
        let opts = self.options(self.cfg.session_timeout_ms, false);
        for i in 0..self.clients.len() {
            let addr = self.addr(i);
            let (cap, cap_reason) = herd_cap(&self.out.servers[i].info);
            let n = cap.map_or(k, |c| k.min(c));
            let tasks: Vec<_> = (0..n)
                .map(|_| {
                    let (addr, opts) = (addr.clone(), opts.clone());
                    tokio::spawn(async move {
                        let start = Instant::now();
                        let c = Client::connect(&addr, &opts).await;
                        (start, start.elapsed(), c)
                    })
                })
                .collect();
            let mut h = Hist::default();
            let mut res = HerdResult {
                requested: k,
                attempted: n,
                cap,
                cap_reason,
                ..Default::default()
            };
            let mut open = Vec::with_capacity(n);
            for task in tasks {
                match task.await {
                    Ok((start, d, Ok(c))) => {
                        h.record(d);
                        res.connected += 1;
                        let smp = self.sample("herd", i, "connect", start, d);
                        self.samples.push(smp);
                        open.push(c);
                    }
                    Ok((_, _, Err(e))) => {
                        res.failed += 1;
                        res.first_error.get_or_insert(e.to_string());
                    }
                    Err(e) => {
                        res.failed += 1;
                        res.first_error.get_or_insert(e.to_string());
                    }
                }
            }
            // Close them all before the next server so they neither count
            // against its limit nor linger as sessions to expire.
            let closes: Vec<_> = open.into_iter().map(|c| tokio::spawn(c.close())).collect();
            for c in closes {
                let _ = c.await;
            }
            res.connect = (!h.is_empty()).then(|| h.summary());
            self.out.servers[i].herd = Some(res);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_follows_max_client_cnxns() {
        let with = |v: Option<&str>| ServerInfo {
            conf: v.map(|v| [("maxClientCnxns".to_string(), v.to_string())].into()),
            ..Default::default()
        };
        assert_eq!(herd_cap(&with(None)).0, Some(50));
        assert_eq!(herd_cap(&with(Some("30"))).0, Some(20));
        assert_eq!(herd_cap(&with(Some("5"))).0, Some(1));
        assert_eq!(herd_cap(&with(Some("0"))).0, None);
    }
}
