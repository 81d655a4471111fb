//! The terminal report: ensemble line, per-server table, watch matrix, the
//! opt-in phases, recommendations, checks and the verdict.

use std::fmt::Write;

use crate::hist::{ms, Summary};
use crate::results::RunResult;
use crate::verdict::Status;

fn p(s: &Option<Summary>, f: fn(&Summary) -> u64) -> String {
    s.as_ref().map(|s| ms(f(s))).unwrap_or_else(|| "-".into())
}

pub fn render(r: &RunResult) -> String {
    let mut o = String::new();
    let leader = r
        .servers
        .iter()
        .find(|s| s.info.is_leader())
        .map(|s| s.info.addr.clone())
        .unwrap_or_else(|| "none".into());
    let versions: std::collections::BTreeSet<String> = r
        .servers
        .iter()
        .filter_map(|s| s.info.version.clone())
        .collect();
    let spread = match crate::verdict::zxid_spread(r) {
        Some((1, n)) => n.to_string(),
        Some((e, n)) => format!("{n} ({e} epochs)"),
        None => "-".into(),
    };
    let _ = writeln!(
        o,
        "ensemble: {} servers, leader {leader}, version {}, zxid spread {spread}{}",
        r.servers.len(),
        versions.into_iter().collect::<Vec<_>>().join(" / "),
        if r.labels.is_empty() {
            String::new()
        } else {
            format!(
                ", {}",
                r.labels
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        }
    );
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "{:<22} {:<10} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "SERVER",
        "MODE",
        "TCP",
        "SESSION",
        "TIMEOUT",
        "READ p50",
        "READ p99",
        "SYNC p50",
        "SYNC p99",
        "WRITE p50",
        "WRITE p99"
    );
    for s in &r.servers {
        let sess = s.session.as_ref();
        let _ = writeln!(
            o,
            "{:<22} {:<10} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            s.info.addr,
            s.info.mode.clone().unwrap_or_else(|| "down".into()),
            s.info.tcp_connect_us.map(ms).unwrap_or_else(|| "-".into()),
            sess.map(|x| ms(x.handshake_us))
                .unwrap_or_else(|| "-".into()),
            sess.map(|x| format!("{}ms", x.negotiated_timeout_ms))
                .unwrap_or_else(|| "-".into()),
            p(&s.read, |x| x.p50_us),
            p(&s.read, |x| x.p99_us),
            p(&s.sync, |x| x.p50_us),
            p(&s.sync, |x| x.p99_us),
            p(&s.write, |x| x.p50_us),
            p(&s.write, |x| x.p99_us),
        );
    }
    if !r.watch_matrix.is_empty() {
        let _ = writeln!(
            o,
            "\nwatch fan-out, write on row → notification on column (p50 / p99):"
        );
        let _ = write!(o, "{:<22}", "");
        for s in &r.servers {
            let _ = write!(o, " {:>20}", s.info.addr);
        }
        let _ = writeln!(o);
        for (w, row) in r.watch_matrix.iter().enumerate() {
            let _ = write!(o, "{:<22}", r.servers[w].info.addr);
            for cell in row {
                let text = cell
                    .as_ref()
                    .map(|c| format!("{} / {}", ms(c.p50_us), ms(c.p99_us)))
                    .unwrap_or_else(|| "-".into());
                let _ = write!(o, " {text:>20}");
            }
            let _ = writeln!(o);
        }
    }
    if r.visibility_lag.iter().any(Option::is_some) {
        let _ = writeln!(
            o,
            "\nvisibility lag, write on the leader → visible without sync:"
        );
        for (i, lag) in r.visibility_lag.iter().enumerate() {
            if let Some(l) = lag {
                let _ = writeln!(
                    o,
                    "  {:<22} p50 {} p99 {}",
                    r.servers[i].info.addr,
                    ms(l.p50_us),
                    ms(l.p99_us)
                );
            }
        }
    }
    if !r.ephemeral_cleanup.is_empty() {
        let max = r
            .ephemeral_cleanup
            .iter()
            .filter_map(|e| e.latency_us)
            .max()
            .unwrap_or(0);
        let _ = writeln!(
            o,
            "\nephemeral cleanup: session closed → NodeDeleted elsewhere, worst {}",
            ms(max)
        );
    }
    render_extras(&mut o, r);
    render_recommendations(&mut o, &r.recommendations);
    render_checks(&mut o, r);
    o
}

fn rate(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}/s")
    } else {
        format!("{v:.1}/s")
    }
}

/// Pipeline, open loop, herd, expiry and soak, where they ran.
fn render_extras(o: &mut String, r: &RunResult) {
    if let Some(p) = r.servers.iter().find_map(|s| s.pipeline.as_ref()) {
        let _ = writeln!(
            o,
            "\npipeline, {} requests in flight, {} per op (throughput, not latency):",
            p.depth, p.ops
        );
        for s in &r.servers {
            if let Some(p) = &s.pipeline {
                let closed = p
                    .closed_loop_write_ops_per_sec
                    .map(|c| {
                        format!(
                            ", closed loop setData {} (x{:.1})",
                            rate(c),
                            p.write_ops_per_sec / c
                        )
                    })
                    .unwrap_or_default();
                let _ = writeln!(
                    o,
                    "  {:<22} setData {}  getData {}{closed}",
                    s.info.addr,
                    rate(p.write_ops_per_sec),
                    rate(p.read_ops_per_sec)
                );
            }
        }
    }
    if let Some(rt) = r.open_loop_rate {
        let _ = writeln!(
            o,
            "\nopen loop: reads and writes due at {} per server, latency counted from when due:",
            rate(rt)
        );
        for s in &r.servers {
            if let Some(ol) = &s.open_loop {
                let _ = writeln!(
                    o,
                    "  {:<22} sent reads at {}, writes at {}; client send lag p99 {}",
                    s.info.addr,
                    rate(ol.read_achieved_rate),
                    rate(ol.write_achieved_rate),
                    ms(ol.send_lag_p99_us)
                );
            }
        }
    }
    if let Some(h) = r.servers.iter().find_map(|s| s.herd.as_ref()) {
        let _ = writeln!(
            o,
            "\nconnect herd, {} at once per server ({} asked; cap {}: {}):",
            h.attempted,
            h.requested,
            h.cap.map_or("none".to_string(), |c| c.to_string()),
            h.cap_reason
        );
        for s in &r.servers {
            if let Some(h) = &s.herd {
                let _ = writeln!(
                    o,
                    "  {:<22} {}/{} connected, connect+handshake p50 {} p99 {}{}",
                    s.info.addr,
                    h.connected,
                    h.attempted,
                    p(&h.connect, |x| x.p50_us),
                    p(&h.connect, |x| x.p99_us),
                    h.first_error
                        .as_ref()
                        .map(|e| format!("; first failure: {e}"))
                        .unwrap_or_default()
                );
            }
        }
    }
    if r.servers.iter().any(|s| s.expiry.is_some()) {
        let _ = writeln!(
            o,
            "\nexpiry, socket dropped without closeSession → ephemeral gone on another server:"
        );
        for s in &r.servers {
            if let Some(e) = &s.expiry {
                let after = match e.expired_after_ms {
                    Some(a) => format!(
                        "expired after {a}ms ({:+}ms",
                        a as i64 - e.negotiated_timeout_ms as i64
                    ),
                    None => "NOT EXPIRED in time (".to_string(),
                };
                let _ = writeln!(
                    o,
                    "  {:<22} negotiated {}ms, {after}; tickTime {}), seen on {}",
                    s.info.addr,
                    e.negotiated_timeout_ms,
                    e.tick_ms.map_or("?".into(), |t| format!("{t}ms")),
                    e.observer
                );
            }
        }
    }
    if let Some(c) = &r.soak {
        let _ = writeln!(
            o,
            "\nsoak {}s, a ping every {}ms, session timeout {}ms ({}):",
            c.duration_ms / 1000,
            c.ping_interval_ms,
            c.requested_timeout_ms,
            c.timeout_source
        );
        for s in &r.servers {
            if let Some(k) = &s.soak {
                let _ = writeln!(
                    o,
                    "  {:<22} {} pings, RTT p50 {} p99 {} max {}; {} lost, {} disconnects, {} expiries (negotiated {}ms)",
                    s.info.addr,
                    k.pings,
                    p(&k.ping, |x| x.p50_us),
                    p(&k.ping, |x| x.p99_us),
                    p(&k.ping, |x| x.max_us),
                    k.lost,
                    k.disconnects,
                    k.expiries,
                    k.negotiated_timeout_ms
                );
            }
        }
    }
}

pub fn render_recommendations(o: &mut String, recs: &[crate::recommend::Recommendation]) {
    if !recs.is_empty() {
        let _ = writeln!(o, "\nrecommendations:");
        for rec in recs {
            let mark = match rec.ok {
                Some(true) => "ok ",
                Some(false) => "!! ",
                None => "   ",
            };
            let _ = writeln!(
                o,
                "  {mark}{:<24} >= {:<12} (current: {})",
                rec.setting,
                rec.recommended,
                rec.current.clone().unwrap_or_else(|| "unknown".into())
            );
            let inputs = rec
                .inputs
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(
                o,
                "      rule: {}{}",
                rec.rule,
                if inputs.is_empty() {
                    String::new()
                } else {
                    format!("; inputs: {inputs}")
                }
            );
        }
    }
}

pub fn render_checks(o: &mut String, r: &RunResult) {
    let _ = writeln!(o, "\nchecks:");
    for c in &r.checks {
        let tag = match c.status {
            Status::Pass => "PASS",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        };
        let _ = writeln!(o, "  {tag}  {:<32} {}", c.name, c.detail);
    }
    let _ = writeln!(o, "\nverdict: {} (exit {})", r.verdict, r.exit_code);
}
