//! The opt-in phases and outputs against a real 3-node ZooKeeper 3.8
//! ensemble on 127.0.0.31-33 (maxClientCnxns=30), one ensemble for all:
//!
//! - run A (dc=east): --pipeline, --herd, --expiry, --raw, --out;
//! - run B (dc=west), one member behind a 20 ms ± 5 ms each-way proxy:
//!   open-loop --rate and a --soak with this run's recommended session
//!   timeout, which must keep every session alive;
//! - `merge` of A and B.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use common::{delaying_proxy, text, Ensemble};
use serde_json::Value;

const PORT: u16 = 25181;
const TICK_MS: u64 = 2000;
const MAX_CLIENT_CNXNS: u64 = 30;

fn addrs() -> Vec<String> {
    (1..=3).map(|i| format!("127.0.0.3{i}:{PORT}")).collect()
}

fn bin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zksmoketest"))
        .args(args)
        .output()
        .unwrap()
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn u(v: &Value) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("not an unsigned number: {v}"))
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// CSV rows (header checked) as (phase, server, op, start_us, latency_us).
fn csv(path: &Path) -> Vec<(String, String, String, u64, u64)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("phase,server,op,start_us,latency_us"));
    lines
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            assert_eq!(c.len(), 5, "{l}");
            (
                c[0].to_string(),
                c[1].to_string(),
                c[2].to_string(),
                c[3].parse().unwrap(),
                c[4].parse().unwrap(),
            )
        })
        .collect()
}

fn count(v: &Value) -> u64 {
    if v.is_null() {
        0
    } else {
        u(&v["count"])
    }
}

/// Rows per phase the JSON says there must be: the histograms' counts.
fn expected_rows(v: &Value) -> BTreeMap<String, u64> {
    let servers = v["servers"].as_array().unwrap();
    let sum = |f: &dyn Fn(&Value) -> u64| servers.iter().map(f).sum::<u64>();
    let mut m = BTreeMap::new();
    m.insert("sessions".into(), servers.len() as u64);
    m.insert("read".into(), sum(&|s| count(&s["read"])));
    m.insert("sync".into(), sum(&|s| count(&s["sync"])));
    m.insert(
        "write".into(),
        sum(&|s| count(&s["write"]) + count(&s["create"]) + count(&s["delete"])),
    );
    let watch = v["watch_matrix"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap())
        .map(count)
        .sum();
    m.insert("watch".into(), watch);
    let vis = v["visibility_lag"]
        .as_array()
        .unwrap()
        .iter()
        .map(count)
        .sum();
    m.insert("visibility".into(), vis);
    m.insert(
        "ephemeral".into(),
        v["ephemeral_cleanup"].as_array().unwrap().len() as u64,
    );
    let opt = |key: &str, f: &dyn Fn(&Value) -> u64| {
        let n = sum(&|s| if s[key].is_null() { 0 } else { f(&s[key]) });
        (n > 0).then_some(n)
    };
    let extra = [
        ("pipeline", opt("pipeline", &|p| 2 * u(&p["ops"]))),
        ("herd", opt("herd", &|h| count(&h["connect"]))),
        ("soak", opt("soak", &|k| count(&k["ping"]))),
        (
            "expiry",
            opt("expiry", &|e| u64::from(!e["expired_after_ms"].is_null())),
        ),
    ];
    for (k, n) in extra {
        if let Some(n) = n {
            m.insert(k.into(), n);
        }
    }
    m
}

fn assert_rows_match(path: &Path, v: &Value) {
    let rows = csv(path);
    let mut got: BTreeMap<String, u64> = BTreeMap::new();
    for r in &rows {
        *got.entry(r.0.clone()).or_default() += 1;
    }
    assert_eq!(
        got,
        expected_rows(v),
        "rows per phase in {}",
        path.display()
    );
    // Per server too, for the reads.
    for s in v["servers"].as_array().unwrap() {
        let addr = s["info"]["addr"].as_str().unwrap();
        let n = rows.iter().filter(|r| r.0 == "read" && r.1 == addr).count() as u64;
        assert_eq!(n, count(&s["read"]), "read rows of {addr}");
    }
}

fn assert_charts(dir: &Path, names: &[&str], servers: &[String]) {
    for name in names {
        let p = dir.join(name);
        let svg = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(svg.starts_with("<svg"), "{name} is not SVG");
        for s in servers {
            assert!(svg.contains(s.as_str()), "{name} does not mention {s}");
        }
    }
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "zksmoketest-features-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn opt_in_phases_outputs_and_merge() {
    let _ens = Ensemble::start(
        "zksmoketest-features",
        "127.0.0.31",
        [PORT, 25888, 25999],
        &[&format!("maxClientCnxns={MAX_CLIENT_CNXNS}")],
    );
    let work = scratch("work");
    let servers = addrs();

    // Run A: pipeline, herd, expiry, raw samples, charts.
    let (a_json, a_csv, a_out) = (work.join("a.json"), work.join("a.csv"), work.join("a-out"));
    let out = bin(&[
        "--servers",
        &servers.join(","),
        "--quiet",
        "--ops",
        "60",
        "--session-timeout",
        "4000",
        "--pipeline",
        "16",
        "--herd",
        "25",
        "--expiry",
        "--label",
        "dc=east",
        "--json",
        a_json.to_str().unwrap(),
        "--raw",
        a_csv.to_str().unwrap(),
        "--out",
        a_out.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let a = json(&a_json);
    assert_eq!(a["verdict"], "PASS", "{}", text(&out));
    for s in a["servers"].as_array().unwrap() {
        let addr = &s["info"]["addr"];
        // Pipelining beats one-at-a-time writes (the log's group commit).
        let p = &s["pipeline"];
        assert_eq!(u(&p["depth"]), 16);
        let closed = 1e6 / f(&s["write"]["mean_us"]);
        assert!(
            (f(&p["closed_loop_write_ops_per_sec"]) - closed).abs() < 1e-6 * closed,
            "{p}"
        );
        assert!(
            f(&p["write_ops_per_sec"]) > closed,
            "{addr}: pipelined {} <= closed loop {closed}",
            p["write_ops_per_sec"]
        );
        assert_eq!(f(&s["pipelined_ops_per_sec"]), f(&p["write_ops_per_sec"]));
        // 25 asked, capped at maxClientCnxns - 10.
        let h = &s["herd"];
        let cap = MAX_CLIENT_CNXNS - 10;
        assert_eq!(
            (u(&h["requested"]), u(&h["attempted"]), u(&h["cap"])),
            (25, cap, cap),
            "{h}"
        );
        assert_eq!((u(&h["connected"]), u(&h["failed"])), (cap, 0), "{h}");
        assert_eq!(u(&h["connect"]["count"]), cap);
        assert!(
            h["cap_reason"]
                .as_str()
                .unwrap()
                .contains("maxClientCnxns=30"),
            "{h}"
        );
        // Real expiry: no earlier than the timeout, within 2 ticks after it.
        let e = &s["expiry"];
        assert_eq!(u(&e["negotiated_timeout_ms"]), 4000);
        assert_eq!(u(&e["tick_ms"]), TICK_MS);
        let after = u(&e["expired_after_ms"]);
        assert!(
            (4000..=4000 + 2 * TICK_MS + 500).contains(&after),
            "{addr}: expired after {after}ms"
        );
        assert_ne!(&e["observer"], addr);
    }
    assert_rows_match(&a_csv, &a);
    let rows_a = csv(&a_csv);
    assert_eq!(
        rows_a.iter().filter(|r| r.0 == "pipeline").count(),
        3 * 2 * 320
    );
    assert_charts(
        &a_out,
        &[
            "latency-read.svg",
            "latency-sync.svg",
            "latency-write.svg",
            "latency-create.svg",
            "latency-delete.svg",
            "latency-herd.svg",
            "watch-matrix.svg",
        ],
        &servers,
    );
    assert!(!a_out.join("soak-ping.svg").exists());

    // Run B: member 3 behind a 20 ms ± 5 ms link; open loop; soak with the
    // session timeout this run recommends.
    let proxy = delaying_proxy(
        servers[2].clone(),
        Duration::from_millis(20),
        Duration::from_millis(5),
    )
    .to_string();
    let b_servers = vec![servers[0].clone(), servers[1].clone(), proxy.clone()];
    let (b_json, b_csv, b_out) = (work.join("b.json"), work.join("b.csv"), work.join("b-out"));
    let out = bin(&[
        "--servers",
        &b_servers.join(","),
        "--quiet",
        "--ops",
        "60",
        "--rate",
        "200",
        "--soak",
        "8s",
        "--label",
        "dc=west",
        "--json",
        b_json.to_str().unwrap(),
        "--raw",
        b_csv.to_str().unwrap(),
        "--out",
        b_out.to_str().unwrap(),
    ]);
    let b = json(&b_json);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let rec: u64 = b["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["setting"] == "client session timeout")
        .and_then(|r| r["recommended"].as_str()?.strip_suffix("ms")?.parse().ok())
        .expect("a session timeout recommendation");
    assert_eq!(b["soak"]["timeout_source"], "recommended");
    assert_eq!(u(&b["soak"]["requested_timeout_ms"]), rec);
    for (i, s) in b["servers"].as_array().unwrap().iter().enumerate() {
        let k = &s["soak"];
        assert_eq!(
            (u(&k["disconnects"]), u(&k["expiries"]), u(&k["lost"])),
            (0, 0, 0),
            "{}: {k}\n{}",
            b_servers[i],
            text(&out)
        );
        assert!((7..=8).contains(&u(&k["pings"])), "{k}");
        assert_eq!(u(&k["negotiated_timeout_ms"]), rec);
        let p50 = u(&k["ping"]["p50_us"]);
        if i == 2 {
            assert!(
                (37_000..=46_000).contains(&p50),
                "far soak ping p50 {p50}us, expected ~40ms"
            );
        } else {
            assert!(p50 < 5_000, "{}: soak ping p50 {p50}us", b_servers[i]);
        }
        // Open loop: the schedule was kept, latencies count from it.
        let ol = &s["open_loop"];
        assert_eq!(f(&ol["rate"]), 200.0);
        for k in ["read_achieved_rate", "write_achieved_rate"] {
            assert!((180.0..=220.0).contains(&f(&ol[k])), "{k}: {ol}");
        }
        assert_eq!(count(&s["read"]), 60);
    }
    assert_eq!(f(&b["open_loop_rate"]), 200.0);
    let far_read = u(&b["servers"][2]["read"]["p50_us"]);
    assert!(
        (38_000..=48_000).contains(&far_read),
        "far open-loop read p50 {far_read}us"
    );
    assert_rows_match(&b_csv, &b);
    for addr in &b_servers {
        let starts: Vec<u64> = csv(&b_csv)
            .into_iter()
            .filter(|r| r.0 == "read" && &r.1 == addr)
            .map(|r| r.3)
            .collect();
        assert!(
            starts
                .windows(2)
                .all(|w| (4_999..=5_001).contains(&(w[1] - w[0]))),
            "{addr}: reads not due every 5 ms: {starts:?}"
        );
    }
    assert_charts(&b_out, &["soak-ping.svg", "latency-read.svg"], &b_servers);

    // Merge A and B: lossless by histogram, a dc × server matrix.
    let m_out = work.join("merged");
    let out = bin(&[
        "merge",
        a_json.to_str().unwrap(),
        b_json.to_str().unwrap(),
        "--out",
        m_out.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for s in [
        "dc=east",
        "dc=west",
        "all (merged)",
        "client session timeout",
    ] {
        assert!(stdout.contains(s), "merge output lacks {s}:\n{stdout}");
    }
    let m = json(&m_out.join("merged.json"));
    assert_eq!(m["labels"]["dc"], "east+west");
    assert_eq!(m["merged_from"].as_array().unwrap().len(), 2);
    let msrv = m["servers"].as_array().unwrap();
    // 127.0.0.31-33 from A, 31-32 from B, the proxy from B only.
    assert_eq!(msrv.len(), 4);
    for (i, addr) in servers.iter().enumerate() {
        let ms = &msrv[i];
        assert_eq!(ms["info"]["addr"], addr.as_str());
        let sa = &a["servers"][i];
        let sb = b["servers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["info"]["addr"] == addr.as_str());
        for op in ["read", "write", "sync"] {
            let nb = sb.map_or(0, |s| count(&s[op]));
            assert_eq!(count(&ms[op]), count(&sa[op]) + nb, "{addr} {op}");
        }
        // Percentiles of the merged histogram, not of the percentiles.
        let mut h = summary(&sa["read"]).to_hist().unwrap();
        if let Some(sb) = sb {
            h.merge(&summary(&sb["read"]).to_hist().unwrap());
            let (pa, pb) = (u(&sa["read"]["p50_us"]), u(&sb["read"]["p50_us"]));
            let pm = u(&ms["read"]["p50_us"]);
            assert!(pa.min(pb) <= pm && pm <= pa.max(pb), "{pa} {pb} {pm}");
        }
        let mh = h.summary();
        assert_eq!(
            (
                u(&ms["read"]["p50_us"]),
                u(&ms["read"]["p99_us"]),
                u(&ms["read"]["max_us"])
            ),
            (mh.p50_us, mh.p99_us, mh.max_us)
        );
    }
    assert_eq!(msrv[3]["info"]["addr"], proxy.as_str());
    assert_eq!(count(&msrv[3]["read"]), count(&b["servers"][2]["read"]));
    assert_eq!(
        u(&m["watch_check"]["received"]),
        u(&a["watch_check"]["received"]) + u(&b["watch_check"]["received"])
    );
    assert!(m["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["setting"].as_str().unwrap().contains(&proxy)));
    let mut all = servers.clone();
    all.push(proxy);
    assert_charts(&m_out, &["latency-read.svg", "watch-matrix.svg"], &all);
    assert_charts(&m_out, &["soak-ping.svg"], &b_servers);
    assert_charts(
        &m_out,
        &["latency-read-by-dc.svg"],
        &["dc=east".into(), "dc=west".into()],
    );
    let _ = std::fs::remove_dir_all(&work);
}

fn summary(v: &Value) -> zksmoketest::hist::Summary {
    serde_json::from_value(v.clone()).unwrap()
}

#[test]
fn new_arguments_are_checked() {
    let usage = |args: &[&str], says: &str| {
        let o = bin(args);
        assert_eq!(o.status.code(), Some(3), "{args:?}: {}", text(&o));
        assert!(text(&o).contains(says), "{args:?}: {}", text(&o));
    };
    usage(&["--servers", "h:1", "--herd", "0"], "--herd");
    usage(&["--servers", "h:1", "--pipeline", "5000"], "--pipeline");
    usage(&["--servers", "h:1", "--rate", "0"], "ops/s");
    usage(&["--servers", "h:1", "--soak", "3 fortnights"], "duration");
    usage(
        &["--servers", "h:1", "--soak-session-timeout", "4000"],
        "--soak",
    );
    usage(&["merge"], "FILES");
    usage(&["merge", "/nonexistent/a.json"], "/nonexistent/a.json");
    usage(&["--servers", "h:1", "merge", "a.json"], "merge");
    let dir = scratch("args");
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"schema_version": 99}"#).unwrap();
    usage(&["merge", bad.to_str().unwrap()], "schema version 99");
    let _ = std::fs::remove_dir_all(&dir);
}
