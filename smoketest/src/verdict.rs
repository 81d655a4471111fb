//! PASS/WARN/FAIL per check, user thresholds (`--fail-on write.p99>50ms`) and
//! the exit code: 0 pass, 1 a threshold failed, 2 the ensemble is broken,
//! 3 usage (decided by the binary).

use serde::{Deserialize, Serialize};

use crate::hist::Summary;
use crate::results::RunResult;

pub const EXIT_PASS: i32 = 0;
pub const EXIT_THRESHOLD: i32 = 1;
pub const EXIT_BROKEN: i32 = 2;
pub const EXIT_USAGE: i32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Status {
    #[serde(rename = "PASS")]
    Pass,
    #[serde(rename = "WARN")]
    Warn,
    #[serde(rename = "FAIL")]
    Fail,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub status: Status,
    pub detail: String,
}

/// `metric.stat OP value`, e.g. `write.p99>50ms`, `read.p50>=2ms`.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub metric: String,
    pub stat: String,
    pub at_least: bool,
    pub limit_us: u64,
    pub text: String,
}

pub fn parse_threshold(s: &str) -> Result<Threshold, String> {
    let (lhs, rhs, at_least) = if let Some((l, r)) = s.split_once(">=") {
        (l, r, true)
    } else if let Some((l, r)) = s.split_once('>') {
        (l, r, false)
    } else {
        return Err(format!(
            "{s:?}: expected METRIC.STAT>VALUE, e.g. write.p99>50ms"
        ));
    };
    let (metric, stat) = lhs
        .trim()
        .split_once('.')
        .ok_or_else(|| format!("{s:?}: expected METRIC.STAT, e.g. write.p99"))?;
    const METRICS: [&str; 12] = [
        "read",
        "sync",
        "write",
        "create",
        "delete",
        "watch",
        "visibility",
        "handshake",
        "ephemeral",
        "herd",
        "soak",
        "expiry",
    ];
    if !METRICS.contains(&metric) {
        return Err(format!(
            "{s:?}: unknown metric {metric:?} (one of {})",
            METRICS.join(", ")
        ));
    }
    if !["p50", "p90", "p99", "p999", "max"].contains(&stat) {
        return Err(format!(
            "{s:?}: unknown statistic {stat:?} (p50, p90, p99, p999, max)"
        ));
    }
    let rhs = rhs.trim();
    let (num, mult) = if let Some(v) = rhs.strip_suffix("us") {
        (v, 1.0)
    } else if let Some(v) = rhs.strip_suffix("ms") {
        (v, 1000.0)
    } else if let Some(v) = rhs.strip_suffix('s') {
        (v, 1_000_000.0)
    } else {
        return Err(format!("{s:?}: the value needs a unit: us, ms or s"));
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("{s:?}: bad number {num:?}"))?;
    Ok(Threshold {
        metric: metric.into(),
        stat: stat.into(),
        at_least,
        limit_us: (v * mult) as u64,
        text: s.to_string(),
    })
}

fn stat(s: &Summary, name: &str) -> u64 {
    match name {
        "p50" => s.p50_us,
        "p90" => s.p90_us,
        "p99" => s.p99_us,
        "p999" => s.p999_us,
        _ => s.max_us,
    }
}

/// The worst value of a metric over every server (or matrix cell).
pub fn worst(r: &RunResult, metric: &str, st: &str) -> Option<u64> {
    let per_server = |f: &dyn Fn(&crate::results::ServerResult) -> Option<&Summary>| {
        r.servers
            .iter()
            .filter_map(|s| f(s).map(|x| stat(x, st)))
            .max()
    };
    match metric {
        "read" => per_server(&|s| s.read.as_ref()),
        "sync" => per_server(&|s| s.sync.as_ref()),
        "write" => per_server(&|s| s.write.as_ref()),
        "create" => per_server(&|s| s.create.as_ref()),
        "delete" => per_server(&|s| s.delete.as_ref()),
        "watch" => r
            .watch_matrix
            .iter()
            .flatten()
            .flatten()
            .map(|x| stat(x, st))
            .max(),
        "visibility" => r.visibility_lag.iter().flatten().map(|x| stat(x, st)).max(),
        "handshake" => r
            .servers
            .iter()
            .filter_map(|s| Some(s.session.as_ref()?.handshake_us))
            .max(),
        "ephemeral" => r
            .ephemeral_cleanup
            .iter()
            .filter_map(|e| e.latency_us)
            .max(),
        "herd" => per_server(&|s| s.herd.as_ref()?.connect.as_ref()),
        "soak" => per_server(&|s| s.soak.as_ref()?.ping.as_ref()),
        "expiry" => r
            .servers
            .iter()
            .filter_map(|s| Some(s.expiry.as_ref()?.expired_after_ms? * 1000))
            .max(),
        _ => None,
    }
}

/// How many epochs the servers report, and the counter spread within the newest.
pub fn zxid_spread(r: &RunResult) -> Option<(usize, u64)> {
    let zxids: Vec<i64> = r.servers.iter().filter_map(|s| s.info.zxid).collect();
    if zxids.len() < 2 {
        return None;
    }
    let epochs: std::collections::BTreeSet<i64> = zxids.iter().map(|z| z >> 32).collect();
    let newest = *epochs.iter().next_back()?;
    let counters: Vec<i64> = zxids
        .iter()
        .filter(|z| *z >> 32 == newest)
        .map(|z| z & 0xffff_ffff)
        .collect();
    let spread = counters.iter().max()? - counters.iter().min()?;
    Some((epochs.len(), spread as u64))
}

/// Slack beyond ZooKeeper's own rounding before a late expiry is flagged.
pub const EXPIRY_SLACK_MS: u64 = 1000;

/// Herd, expiry and soak findings; true when one means the ensemble is
/// broken for clients (a session expired or outlived its timeout by far).
fn extra_checks(r: &RunResult, checks: &mut Vec<Check>) -> bool {
    let mut broken = false;
    for s in &r.servers {
        let addr = &s.info.addr;
        if let Some(h) = &s.herd {
            checks.push(Check {
                name: format!("herd {addr}"),
                status: if h.failed == 0 {
                    Status::Pass
                } else {
                    Status::Warn
                },
                detail: format!(
                    "{}/{} connected{}",
                    h.connected,
                    h.attempted,
                    h.first_error
                        .as_ref()
                        .map(|e| format!(", first failure: {e}"))
                        .unwrap_or_default()
                ),
            });
        }
        if let Some(e) = &s.expiry {
            let neg = e.negotiated_timeout_ms.max(0) as u64;
            let late = neg + 2 * e.tick_ms.unwrap_or(2000) + EXPIRY_SLACK_MS;
            let (status, detail) = match e.expired_after_ms {
                None => (Status::Fail, format!("session never expired (negotiated {neg}ms)")),
                Some(a) if a < neg => (
                    Status::Warn,
                    format!("expired after {a}ms, before the negotiated {neg}ms"),
                ),
                Some(a) if a > late => (
                    Status::Fail,
                    format!("expired after {a}ms, beyond negotiated {neg}ms + 2 ticks + {EXPIRY_SLACK_MS}ms"),
                ),
                Some(a) => (Status::Pass, format!("expired after {a}ms (negotiated {neg}ms)")),
            };
            broken |= status == Status::Fail;
            checks.push(Check {
                name: format!("expiry {addr}"),
                status,
                detail,
            });
        }
        if let Some(k) = &s.soak {
            let status = if k.expiries > 0 || k.pings == 0 {
                Status::Fail
            } else if k.disconnects > 0 || k.lost > 0 {
                Status::Warn
            } else {
                Status::Pass
            };
            broken |= status == Status::Fail;
            checks.push(Check {
                name: format!("soak {addr}"),
                status,
                detail: format!(
                    "{} pings, {} lost, {} disconnects, {} expiries{}",
                    k.pings,
                    k.lost,
                    k.disconnects,
                    k.expiries,
                    k.errors
                        .first()
                        .map(|e| format!("; {e}"))
                        .unwrap_or_default()
                ),
            });
        }
    }
    broken
}

pub fn judge(r: &RunResult, thresholds: &[Threshold]) -> (Vec<Check>, Status, i32) {
    let mut checks = Vec::new();
    let mut broken = false;
    for p in &r.phases {
        let status = if p.ok { Status::Pass } else { Status::Fail };
        broken |= !p.ok;
        checks.push(Check {
            name: format!("phase {}", p.name),
            status,
            detail: p
                .error
                .clone()
                .unwrap_or_else(|| format!("{}ms", p.elapsed_ms)),
        });
    }
    if let Some(w) = &r.watch_check {
        let ok = w.received == w.expected && w.in_order;
        broken |= !ok;
        checks.push(Check {
            name: "watch delivery".into(),
            status: if ok { Status::Pass } else { Status::Fail },
            detail: format!(
                "{}/{} notifications, {}",
                w.received,
                w.expected,
                match (w.zxid_in_notifications, w.in_order) {
                    (false, _) =>
                        "order not checkable (the server puts no zxid in notifications: pre-3.9)",
                    (true, true) => "in zxid order",
                    (true, false) => "OUT OF ORDER",
                }
            ),
        });
    }
    broken |= extra_checks(r, &mut checks);
    if let Some((epochs, spread)) = zxid_spread(r) {
        checks.push(Check {
            name: "zxid spread".into(),
            status: if epochs == 1 && spread > 1000 {
                Status::Warn
            } else {
                Status::Pass
            },
            detail: if epochs == 1 {
                format!(
                    "{spread} transactions between the most and least advanced server at discovery"
                )
            } else {
                // Right after an election followers report the old epoch's zxid.
                format!("servers report {epochs} different epochs (normal right after an election)")
            },
        });
    }
    for rec in &r.recommendations {
        if rec.ok == Some(false) {
            checks.push(Check {
                name: format!("recommendation {}", rec.setting),
                status: Status::Warn,
                detail: format!(
                    "current {} vs recommended {}",
                    rec.current.clone().unwrap_or_default(),
                    rec.recommended
                ),
            });
        }
    }
    let mut threshold_failed = false;
    for t in thresholds {
        let (status, detail) = match worst(r, &t.metric, &t.stat) {
            None => (Status::Fail, "not measured".to_string()),
            Some(v) => {
                let bad = if t.at_least {
                    v >= t.limit_us
                } else {
                    v > t.limit_us
                };
                (
                    if bad { Status::Fail } else { Status::Pass },
                    format!("measured {}", crate::hist::ms(v)),
                )
            }
        };
        threshold_failed |= status == Status::Fail;
        checks.push(Check {
            name: format!("--fail-on {}", t.text),
            status,
            detail,
        });
    }
    let worst_status = checks
        .iter()
        .map(|c| c.status)
        .max()
        .unwrap_or(Status::Pass);
    let code = if broken {
        EXIT_BROKEN
    } else if threshold_failed {
        EXIT_THRESHOLD
    } else {
        EXIT_PASS
    };
    (checks, worst_status, code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds() {
        let t = parse_threshold("write.p99>50ms").unwrap();
        assert_eq!(
            (t.metric.as_str(), t.stat.as_str(), t.limit_us, t.at_least),
            ("write", "p99", 50_000, false)
        );
        assert_eq!(
            parse_threshold("read.max>=1.5s").unwrap().limit_us,
            1_500_000
        );
        assert!(parse_threshold("write.p99>50").is_err());
        assert!(parse_threshold("bogus.p99>5ms").is_err());
        assert!(parse_threshold("write.p42>5ms").is_err());
        assert!(parse_threshold("write").is_err());
    }
}
