//! Timeout recommendations from the measurements. Each carries its rule and
//! the inputs that produced it, so an operator can check the arithmetic.
//! The rules and why are in docs/timeouts.md.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::results::RunResult;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Recommendation {
    pub setting: String,
    /// The recommended minimum (or the advice, for non-numeric settings).
    pub recommended: String,
    /// The current value, when `conf` could be read or it could be inferred.
    pub current: Option<String>,
    /// Does the current value already satisfy the rule?
    pub ok: Option<bool>,
    pub rule: String,
    pub inputs: BTreeMap<String, String>,
}

fn ceil_to(v: u64, step: u64) -> u64 {
    v.div_ceil(step) * step
}

fn ms(us: u64) -> String {
    format!("{:.2}ms", us as f64 / 1000.0)
}

/// The server whose client round trip is far from the others': its index,
/// its read p50 and the median of all read p50s (µs).
pub fn far_member(r: &RunResult) -> Option<(usize, u64, u64)> {
    let p50s: Vec<(usize, u64)> = r
        .servers
        .iter()
        .enumerate()
        .filter_map(|(i, s)| Some((i, s.read.as_ref()?.p50_us)))
        .collect();
    if p50s.len() < 3 {
        return None;
    }
    let mut sorted: Vec<u64> = p50s.iter().map(|(_, v)| *v).collect();
    sorted.sort_unstable();
    let median = sorted[sorted.len() / 2];
    p50s.into_iter()
        .filter(|(_, v)| *v > 3 * median + 2_000)
        .max_by_key(|(_, v)| *v)
        .map(|(i, v)| (i, v, median))
}

fn conf_u64(r: &RunResult, key: &str) -> Option<u64> {
    r.servers
        .iter()
        .find_map(|s| s.info.conf.as_ref())
        .and_then(|c| c.get(key))
        .and_then(|v| v.parse::<u64>().ok())
}

/// tickTime: from `conf`, else half the smallest session timeout granted
/// (the default minSessionTimeout is 2 ticks).
pub fn tick_ms(r: &RunResult) -> Option<u64> {
    let min_timeout = r
        .servers
        .iter()
        .filter_map(|s| s.session.as_ref()?.min_session_timeout_ms)
        .min();
    conf_u64(r, "tickTime").or_else(|| min_timeout.map(|m| (m / 2).max(1) as u64))
}

/// The recommended client session timeout, ms, when there is one.
pub fn client_session_timeout_ms(r: &RunResult) -> Option<u64> {
    recommend(r)
        .into_iter()
        .find(|x| x.setting == CLIENT_SESSION_TIMEOUT)?
        .recommended
        .strip_suffix("ms")?
        .parse()
        .ok()
}

pub const CLIENT_SESSION_TIMEOUT: &str = "client session timeout";

pub fn recommend(r: &RunResult) -> Vec<Recommendation> {
    let mut out = Vec::new();
    let leader = r.servers.iter().position(|s| s.info.is_leader());
    let conf_u64 = |k: &str| conf_u64(r, k);
    let tick_ms = tick_ms(r);

    // Followers pay an extra round trip to the leader on sync: the difference
    // from their plain read RTT estimates the inter-server RTT.
    let inter_p99 = r
        .servers
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != leader)
        .filter_map(|(_, s)| {
            Some(
                s.sync
                    .as_ref()?
                    .p99_us
                    .saturating_sub(s.read.as_ref()?.p50_us),
            )
        })
        .max();
    let write_p99 = r
        .servers
        .iter()
        .filter_map(|s| Some(s.write.as_ref()?.p99_us))
        .max();
    let read_p999 = r
        .servers
        .iter()
        .filter_map(|s| Some(s.read.as_ref()?.p999_us))
        .max();
    let handshake_max = r
        .servers
        .iter()
        .filter_map(|s| Some(s.session.as_ref()?.handshake_us))
        .max();
    // With --herd, a reconnect is measured as after a blip: many at once.
    let herd_p99 = r
        .servers
        .iter()
        .filter_map(|s| Some(s.herd.as_ref()?.connect.as_ref()?.p99_us))
        .max();

    let rec_tick = inter_p99.map(|p| ceil_to((2 * p).div_ceil(1000), 100).max(2000));
    if let Some(t) = rec_tick {
        out.push(Recommendation {
            setting: "tickTime".into(),
            recommended: format!("{t}ms"),
            current: tick_ms.map(|v| format!("{v}ms")),
            ok: tick_ms.map(|c| c >= t),
            rule: "tickTime >= 2 x p99 inter-server RTT (never below the 2000ms default)".into(),
            inputs: [(
                "inter_server_rtt_p99".to_string(),
                ms(inter_p99.unwrap_or(0)),
            )]
            .into(),
        });
    }
    let tick_for_limits = tick_ms.or(rec_tick).unwrap_or(2000);
    if let Some(w) = write_p99 {
        let sync_limit = ((10 * w).div_ceil(1000)).div_ceil(tick_for_limits).max(2);
        out.push(Recommendation {
            setting: "syncLimit".into(),
            recommended: sync_limit.to_string(),
            current: conf_u64("syncLimit").map(|v| v.to_string()),
            ok: conf_u64("syncLimit").map(|c| c >= sync_limit),
            rule: "syncLimit x tickTime >= 10 x p99 write acknowledgement".into(),
            inputs: [
                ("write_p99".to_string(), ms(w)),
                ("tickTime".to_string(), format!("{tick_for_limits}ms")),
            ]
            .into(),
        });
        let init_limit = (2 * sync_limit).max(10);
        out.push(Recommendation {
            setting: "initLimit".into(),
            recommended: init_limit.to_string(),
            current: conf_u64("initLimit").map(|v| v.to_string()),
            ok: conf_u64("initLimit").map(|c| c >= init_limit),
            rule:
                "initLimit >= 2 x syncLimit and >= 10 (a follower's initial sync moves a snapshot)"
                    .into(),
            inputs: [("syncLimit".to_string(), sync_limit.to_string())].into(),
        });
    }
    if let (Some(h), Some(p)) = (handshake_max, read_p999) {
        let reconnect = h.max(herd_p99.unwrap_or(0));
        let need_ms = [2 * tick_for_limits * 1000, 3 * reconnect, 3 * p]
            .into_iter()
            .max()
            .unwrap_or(0)
            .div_ceil(1000);
        let rec = ceil_to(need_ms, 1000);
        let negotiated = r
            .servers
            .iter()
            .filter_map(|s| Some(s.session.as_ref()?.negotiated_timeout_ms))
            .min();
        let max_allowed = r
            .servers
            .iter()
            .filter_map(|s| s.session.as_ref()?.max_session_timeout_ms)
            .min();
        let mut inputs: BTreeMap<String, String> = [
            (
                "2 x tickTime".to_string(),
                format!("{}ms", 2 * tick_for_limits),
            ),
            ("3 x max handshake".to_string(), ms(3 * h)),
            ("3 x p99.9 read RTT".to_string(), ms(3 * p)),
        ]
        .into();
        if let Some(m) = max_allowed {
            inputs.insert("maxSessionTimeout".into(), format!("{m}ms"));
        }
        if let Some(hp) = herd_p99 {
            inputs.insert("3 x p99 herd connect".into(), ms(3 * hp));
        }
        out.push(Recommendation {
            setting: CLIENT_SESSION_TIMEOUT.into(),
            recommended: format!("{rec}ms"),
            current: negotiated.map(|v| format!("{v}ms (negotiated)")),
            ok: negotiated.map(|n| n as u64 >= rec),
            rule: "session timeout >= max(2 x tickTime, 3 x p99 reconnect, 3 x p99.9 ping RTT), within the server's [min, max]".into(),
            inputs,
        });
        if let Some(m) = max_allowed {
            if (m as u64) < rec {
                out.push(Recommendation {
                    setting: "maxSessionTimeout".into(),
                    recommended: format!("{rec}ms"),
                    current: Some(format!("{m}ms")),
                    ok: Some(false),
                    rule: "the server must allow the recommended client session timeout".into(),
                    inputs: BTreeMap::new(),
                });
            }
        }
    }
    if let Some((i, p50, median)) = far_member(r) {
        let addr = r.servers[i].info.addr.clone();
        let voter = r.servers[i].info.mode.as_deref() != Some("observer");
        out.push(Recommendation {
            setting: format!("membership of {addr}"),
            recommended: if voter { "make it an observer (peerType=observer), or move it nearer the others".into() } else { "already an observer".into() },
            current: r.servers[i].info.mode.clone(),
            ok: Some(!voter),
            rule: "a voter far from the rest slows every write's quorum; read p50 > 3 x median + 2ms marks it far".into(),
            inputs: [("read_p50".to_string(), ms(p50)), ("median_read_p50".to_string(), ms(median))].into(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hist::Hist;
    use crate::results::{HerdResult, ServerResult, SessionResult};
    use std::time::Duration;

    fn summary(d: Duration) -> crate::hist::Summary {
        let mut h = Hist::default();
        h.record(d);
        h.summary()
    }

    #[test]
    fn a_slow_herd_raises_the_session_timeout() {
        let server = ServerResult {
            session: Some(SessionResult {
                handshake_us: 1_000,
                min_session_timeout_ms: Some(4_000),
                ..Default::default()
            }),
            read: Some(summary(Duration::from_millis(1))),
            ..Default::default()
        };
        let mut r = RunResult {
            servers: vec![server],
            ..Default::default()
        };
        assert_eq!(tick_ms(&r), Some(2_000));
        assert_eq!(client_session_timeout_ms(&r), Some(4_000));
        r.servers[0].herd = Some(HerdResult {
            connect: Some(summary(Duration::from_millis(2_900))),
            ..Default::default()
        });
        // 3 × 2.9 s, rounded up to a second.
        assert_eq!(client_session_timeout_ms(&r), Some(9_000));
    }
}
