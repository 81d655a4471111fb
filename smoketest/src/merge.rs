//! `zksmoketest merge a.json b.json …`: one view of runs taken from several
//! datacenters against the same ensemble. Servers are matched by address;
//! latencies merge through their HDR histograms, so the merged percentiles
//! are those of all samples together (averaging percentiles would not be).
//! The result has the run schema, so it can be charted, judged, and merged
//! again.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use crate::error::{Error, Result};
use crate::hist::{merge_all, ms, Summary};
use crate::results::*;

/// One run to merge, with the name it gets in the matrix.
#[derive(Debug, Clone)]
pub struct Input {
    pub name: String,
    pub file: String,
    pub run: RunResult,
}

/// Reads a `--json` file; its name is its `dc` label, else all its labels,
/// else the file name.
pub fn load(path: &Path) -> Result<Input> {
    let bad = |why: String| Error::Input {
        path: path.display().to_string(),
        why,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let run: RunResult = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    if run.schema_version == 0 || run.schema_version > SCHEMA_VERSION {
        return Err(bad(format!(
            "schema version {} (this zksmoketest reads 1..={SCHEMA_VERSION})",
            run.schema_version
        )));
    }
    let name = match run.labels.get("dc") {
        Some(dc) => format!("dc={dc}"),
        None if !run.labels.is_empty() => run
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" "),
        None => path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    Ok(Input {
        name,
        file: path.display().to_string(),
        run,
    })
}

/// Every server address, in order of first appearance.
fn addresses(inputs: &[Input]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in inputs.iter().flat_map(|i| &i.run.servers) {
        if !out.contains(&s.info.addr) {
            out.push(s.info.addr.clone());
        }
    }
    out
}

fn merged_summary<'a>(parts: impl Iterator<Item = Option<&'a Summary>>) -> Option<Summary> {
    let parts: Vec<&Summary> = parts.flatten().collect();
    if parts.is_empty() {
        None
    } else {
        merge_all(parts)
    }
}

fn merge_server(addr: &str, parts: &[(&str, &ServerResult)]) -> ServerResult {
    let first = parts[0].1;
    let sum =
        |f: fn(&ServerResult) -> Option<&Summary>| merged_summary(parts.iter().map(|p| f(p.1)));
    let sessions: Vec<&SessionResult> = parts.iter().filter_map(|p| p.1.session.as_ref()).collect();
    // The worst of each: recommendations must hold from every datacenter.
    let session = (!sessions.is_empty()).then(|| SessionResult {
        session_id: String::new(),
        tcp_connect_us: sessions.iter().map(|s| s.tcp_connect_us).max().unwrap_or(0),
        handshake_us: sessions.iter().map(|s| s.handshake_us).max().unwrap_or(0),
        requested_timeout_ms: sessions[0].requested_timeout_ms,
        negotiated_timeout_ms: sessions
            .iter()
            .map(|s| s.negotiated_timeout_ms)
            .min()
            .unwrap_or(0),
        min_session_timeout_ms: sessions
            .iter()
            .filter_map(|s| s.min_session_timeout_ms)
            .min(),
        max_session_timeout_ms: sessions
            .iter()
            .filter_map(|s| s.max_session_timeout_ms)
            .min(),
    });
    let pipeline = parts
        .iter()
        .filter_map(|p| p.1.pipeline.clone())
        .min_by(|a, b| a.write_ops_per_sec.total_cmp(&b.write_ops_per_sec));
    let herds: Vec<&HerdResult> = parts.iter().filter_map(|p| p.1.herd.as_ref()).collect();
    let herd = (!herds.is_empty()).then(|| HerdResult {
        requested: herds.iter().map(|h| h.requested).sum(),
        attempted: herds.iter().map(|h| h.attempted).sum(),
        cap: herds.iter().filter_map(|h| h.cap).min(),
        cap_reason: herds[0].cap_reason.clone(),
        connected: herds.iter().map(|h| h.connected).sum(),
        failed: herds.iter().map(|h| h.failed).sum(),
        connect: merged_summary(herds.iter().map(|h| h.connect.as_ref())),
        first_error: herds.iter().find_map(|h| h.first_error.clone()),
    });
    let soaks: Vec<&SoakResult> = parts.iter().filter_map(|p| p.1.soak.as_ref()).collect();
    let soak = (!soaks.is_empty()).then(|| {
        let mut series: Vec<SoakPoint> = soaks.iter().flat_map(|s| s.series.clone()).collect();
        series.sort_by_key(|p| p.at_ms);
        SoakResult {
            negotiated_timeout_ms: soaks
                .iter()
                .map(|s| s.negotiated_timeout_ms)
                .min()
                .unwrap_or(0),
            pings: soaks.iter().map(|s| s.pings).sum(),
            lost: soaks.iter().map(|s| s.lost).sum(),
            disconnects: soaks.iter().map(|s| s.disconnects).sum(),
            expiries: soaks.iter().map(|s| s.expiries).sum(),
            ping: merged_summary(soaks.iter().map(|s| s.ping.as_ref())),
            series,
            errors: soaks.iter().flat_map(|s| s.errors.clone()).collect(),
        }
    });
    let expiry = parts
        .iter()
        .filter_map(|p| p.1.expiry.clone())
        .max_by_key(|e| e.expired_after_ms.unwrap_or(u64::MAX));
    // zxids sampled at different moments by different runs do not compare.
    let info = crate::discover::ServerInfo {
        zxid: None,
        ..first.info.clone()
    };
    ServerResult {
        info,
        session,
        read: sum(|s| s.read.as_ref()),
        sync: sum(|s| s.sync.as_ref()),
        write: sum(|s| s.write.as_ref()),
        create: sum(|s| s.create.as_ref()),
        delete: sum(|s| s.delete.as_ref()),
        pipelined_ops_per_sec: pipeline.as_ref().map(|p| p.write_ops_per_sec),
        pipeline,
        open_loop: parts.iter().find_map(|p| p.1.open_loop.clone()),
        herd,
        soak,
        expiry,
        errors: parts
            .iter()
            .flat_map(|(name, s)| s.errors.iter().map(move |e| format!("{name}: {e}")))
            .collect(),
    }
    .with_addr(addr)
}

impl ServerResult {
    fn with_addr(mut self, addr: &str) -> Self {
        self.info.addr = addr.to_string();
        self
    }
}

/// Combines the runs; recommendations, checks and verdict are left for the
/// caller to compute over the result.
pub fn merge(inputs: &[Input]) -> RunResult {
    let addrs = addresses(inputs);
    let idx = |a: &str| addrs.iter().position(|x| x == a).unwrap_or(0);
    let servers = addrs
        .iter()
        .map(|a| {
            let parts: Vec<(&str, &ServerResult)> = inputs
                .iter()
                .flat_map(|i| {
                    i.run
                        .servers
                        .iter()
                        .filter(|s| &s.info.addr == a)
                        .map(|s| (i.name.as_str(), s))
                })
                .collect();
            merge_server(a, &parts)
        })
        .collect();
    let n = addrs.len();
    let mut cells: Vec<Vec<Vec<&Summary>>> = vec![vec![Vec::new(); n]; n];
    let mut lag: Vec<Vec<&Summary>> = vec![Vec::new(); n];
    let mut out = RunResult {
        schema_version: SCHEMA_VERSION,
        tool: format!("zksmoketest {} merge", env!("CARGO_PKG_VERSION")),
        servers,
        ..Default::default()
    };
    let mut check: Option<WatchCheck> = None;
    let mut labels: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for i in inputs {
        let r = &i.run;
        let map: Vec<usize> = r.servers.iter().map(|s| idx(&s.info.addr)).collect();
        for (w, row) in r.watch_matrix.iter().enumerate() {
            for (j, cell) in row.iter().enumerate() {
                if let (Some(c), Some(&mw), Some(&mj)) = (cell, map.get(w), map.get(j)) {
                    cells[mw][mj].push(c);
                }
            }
        }
        for (j, l) in r.visibility_lag.iter().enumerate() {
            if let (Some(l), Some(&mj)) = (l, map.get(j)) {
                lag[mj].push(l);
            }
        }
        for e in &r.ephemeral_cleanup {
            if let (Some(&c), Some(&o)) = (map.get(e.closer), map.get(e.observer)) {
                out.ephemeral_cleanup.push(EphemeralCleanup {
                    closer: c,
                    observer: o,
                    latency_us: e.latency_us,
                });
            }
        }
        if let Some(w) = &r.watch_check {
            let c = check.get_or_insert(WatchCheck {
                in_order: true,
                zxid_in_notifications: true,
                ..Default::default()
            });
            c.writes += w.writes;
            c.expected += w.expected;
            c.received += w.received;
            c.in_order &= w.in_order;
            c.zxid_in_notifications &= w.zxid_in_notifications;
        }
        for p in &r.phases {
            out.phases.push(PhaseResult {
                name: format!("{} {}", i.name, p.name),
                ..p.clone()
            });
        }
        for (k, v) in &r.labels {
            let vs = labels.entry(k.clone()).or_default();
            if !vs.contains(v) {
                vs.push(v.clone());
            }
        }
        out.soak = out.soak.take().or_else(|| r.soak.clone());
        out.merged_from.push(MergeSource {
            file: i.file.clone(),
            labels: r.labels.clone(),
            started: r.started.clone(),
            verdict: r.verdict.clone(),
        });
    }
    if cells.iter().flatten().any(|c| !c.is_empty()) {
        out.watch_matrix = cells
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .map(|c| merged_summary(c.into_iter().map(Some)))
                    .collect()
            })
            .collect();
    }
    if lag.iter().any(|l| !l.is_empty()) {
        out.visibility_lag = lag
            .into_iter()
            .map(|l| merged_summary(l.into_iter().map(Some)))
            .collect();
    }
    out.watch_check = check;
    out.labels = labels.into_iter().map(|(k, v)| (k, v.join("+"))).collect();
    out.started = inputs
        .iter()
        .map(|i| i.run.started.clone())
        .min()
        .unwrap_or_default();
    let rates: Vec<Option<f64>> = inputs.iter().map(|i| i.run.open_loop_rate).collect();
    out.open_loop_rate = rates
        .first()
        .copied()
        .flatten()
        .filter(|r| rates.iter().all(|x| *x == Some(*r)));
    out
}

/// The run's charts over the merged results, plus `latency-read-by-dc.svg`:
/// a read CDF line per datacenter and server, to see who is far from whom.
pub fn write_charts(
    inputs: &[Input],
    merged: &RunResult,
    dir: &Path,
) -> Result<Vec<std::path::PathBuf>> {
    let mut written = crate::plot::write_charts(merged, dir)?;
    let lines: Vec<crate::plot::Line> = inputs
        .iter()
        .flat_map(|i| {
            i.run.servers.iter().filter_map(|s| {
                let r = s.read.as_ref()?;
                Some((
                    format!("{} → {}", i.name, crate::plot::legend(&s.info.addr, r)),
                    r.to_hist()?,
                ))
            })
        })
        .collect();
    if !lines.is_empty() {
        let name = "latency-read-by-dc.svg".to_string();
        let svg = crate::plot::cdf_svg(&name, "read latency CDF by datacenter and server", &lines)?;
        written.extend(crate::plot::write_all(dir, vec![(name, svg)])?);
    }
    Ok(written)
}

fn cell(s: &ServerResult) -> String {
    let p = |x: &Option<Summary>, f: fn(&Summary) -> u64| {
        x.as_ref().map(|s| ms(f(s))).unwrap_or_else(|| "-".into())
    };
    if s.read.is_none() && s.write.is_none() {
        return "-".into();
    }
    format!(
        "{} / {} / {}",
        p(&s.read, |x| x.p50_us),
        p(&s.read, |x| x.p99_us),
        p(&s.write, |x| x.p99_us)
    )
}

/// The datacenter × server matrix: read p50 / read p99 / write p99, a row
/// per input and one for all of them merged.
pub fn render_matrix(inputs: &[Input], merged: &RunResult) -> String {
    let mut o = String::new();
    let w = inputs
        .iter()
        .map(|i| i.name.len())
        .chain([12])
        .max()
        .unwrap_or(12);
    let cols: Vec<&str> = merged
        .servers
        .iter()
        .map(|s| s.info.addr.as_str())
        .collect();
    let cw = cols.iter().map(|c| c.len()).chain([26]).max().unwrap_or(26);
    let _ = writeln!(
        o,
        "datacenter × server: read p50 / read p99 / write p99 ({} runs)",
        inputs.len()
    );
    let _ = write!(o, "{:<w$}", "");
    for c in &cols {
        let _ = write!(o, "  {c:>cw$}");
    }
    let _ = writeln!(o);
    let row = |o: &mut String, name: &str, servers: &[ServerResult]| {
        let _ = write!(o, "{name:<w$}");
        for c in &cols {
            let text = servers
                .iter()
                .find(|s| s.info.addr == *c)
                .map(cell)
                .unwrap_or_else(|| "-".into());
            let _ = write!(o, "  {text:>cw$}");
        }
        let _ = writeln!(o);
    };
    for i in inputs {
        row(&mut o, &i.name, &i.run.servers);
    }
    row(&mut o, "all (merged)", &merged.servers);
    let counts: Vec<String> = merged
        .servers
        .iter()
        .map(|s| {
            format!(
                "{} {} reads, {} writes",
                s.info.addr,
                s.read.as_ref().map_or(0, |x| x.count),
                s.write.as_ref().map_or(0, |x| x.count)
            )
        })
        .collect();
    let _ = writeln!(o, "samples merged: {}", counts.join("; "));
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hist::Hist;
    use std::time::Duration;

    fn run(dc: &str, addrs: &[&str], read_ms: u64) -> Input {
        let servers = addrs
            .iter()
            .map(|a| {
                let mut h = Hist::default();
                for k in 0..100 {
                    h.record(Duration::from_micros(read_ms * 1000 + k));
                }
                ServerResult {
                    info: crate::discover::ServerInfo {
                        addr: a.to_string(),
                        ..Default::default()
                    },
                    read: Some(h.summary()),
                    ..Default::default()
                }
            })
            .collect();
        let n = addrs.len();
        let mut h = Hist::default();
        h.record(Duration::from_millis(read_ms));
        Input {
            name: format!("dc={dc}"),
            file: format!("{dc}.json"),
            run: RunResult {
                schema_version: 1,
                labels: [("dc".to_string(), dc.to_string())].into(),
                servers,
                watch_matrix: vec![vec![Some(h.summary()); n]; n],
                ..Default::default()
            },
        }
    }

    #[test]
    fn merges_by_address_through_histograms() {
        let a = run("east", &["s1:1", "s2:1"], 1);
        let b = run("west", &["s2:1", "s3:1"], 40);
        let m = merge(&[a, b]);
        let addrs: Vec<&str> = m.servers.iter().map(|s| s.info.addr.as_str()).collect();
        assert_eq!(addrs, ["s1:1", "s2:1", "s3:1"]);
        let s2 = m.servers[1].read.as_ref().unwrap();
        assert_eq!(s2.count, 200);
        // Half the samples near 1 ms, half near 40 ms.
        assert!((1_000..1_200).contains(&s2.p50_us), "{}", s2.p50_us);
        assert!((40_000..40_200).contains(&s2.p99_us), "{}", s2.p99_us);
        assert_eq!(m.servers[0].read.as_ref().unwrap().count, 100);
        // s2 watched s2 in both runs: two samples; s1 → s3 in neither.
        assert_eq!(m.watch_matrix[1][1].as_ref().unwrap().count, 2);
        assert!(m.watch_matrix[0][2].is_none());
        assert_eq!(m.labels["dc"], "east+west");
        assert_eq!(m.merged_from.len(), 2);
    }
}
