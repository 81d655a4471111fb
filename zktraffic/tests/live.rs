//! Live capture on `lo` (needs root, as the test command runs): Apache
//! ZooKeeper 3.8 standalone, a kazoo workload of known shape, and
//! `zktraffic -i lo --json` must report exactly that workload.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn python() -> PathBuf {
    std::env::var_os("ZKOPS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".venv"))
        .join("bin/python")
}

struct Zk(PathBuf);

impl Drop for Zk {
    fn drop(&mut self) {
        let _ = Command::new(repo().join("scripts/zk.sh"))
            .arg("stop")
            .arg(&self.0)
            .output();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const WORKLOAD: &str = r#"
import sys
from kazoo.client import KazooClient
zk = KazooClient(hosts=sys.argv[1], timeout=10)
zk.start()
for i in range(5):
    zk.create("/live/n%d" % i, b"x" * i, makepath=(i == 0))
for i in range(3):
    zk.get("/live/n%d" % i)
zk.set("/live/n0", b"changed")
zk.set("/live/n1", b"changed")
try:
    zk.get("/live/missing")
except Exception:
    pass
for i in range(5):
    zk.delete("/live/n%d" % i)
zk.delete("/live")
zk.stop()
zk.close()
"#;

#[test]
fn live_capture_on_loopback_reports_the_workload() {
    if std::env::var_os("ZKOPS_SKIP_LIVE").is_some() {
        eprintln!("ZKOPS_SKIP_LIVE set: skipping the live capture test");
        return;
    }
    let port = 22000 + (std::process::id() % 1000) as u16;
    let dir = std::env::temp_dir().join(format!("zktraffic-live-{port}"));
    let _ = std::fs::remove_dir_all(&dir);
    let st = Command::new(repo().join("scripts/zk.sh"))
        .args(["standalone"])
        .arg(&dir)
        .args(["--port", &port.to_string()])
        .status()
        .unwrap();
    assert!(st.success(), "starting Apache ZooKeeper failed");
    let _zk = Zk(dir.clone());
    check_workload(port);
}

/// The same capture with zkserver, embedded in this test process, serving
/// the workload.
#[test]
fn live_capture_of_zkserver_reports_the_workload() {
    if std::env::var_os("ZKOPS_SKIP_LIVE").is_some() {
        eprintln!("ZKOPS_SKIP_LIVE set: skipping the live capture test");
        return;
    }
    let port = 23000 + (std::process::id() % 1000) as u16;
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "tickTime=2000\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n",
        dir.path().display()
    );
    let (cfg, _) = zkserver::config::Config::parse(&text, None).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(zkserver::Server::builder(cfg).start()).unwrap();
    check_workload(port);
    rt.block_on(server.shutdown()).unwrap();
}

/// Sniffs `lo` while the kazoo workload runs against 127.0.0.1:`port`, and
/// checks zktraffic reported exactly that workload.
fn check_workload(port: u16) {
    let mut sniffer = Command::new(env!("CARGO_BIN_EXE_zktraffic"))
        .args([
            "-i",
            "lo",
            "-p",
            &port.to_string(),
            "--json",
            "--duration",
            "60s",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // libpcap is ready once the process is up and the filter compiled; a
    // short pause is enough and the workload is checked exactly anyway.
    std::thread::sleep(Duration::from_millis(1500));

    let out = Command::new(python())
        .args(["-c", WORKLOAD, &format!("127.0.0.1:{port}")])
        .output()
        .expect("run kazoo (scripts/setup-deps.sh makes the venv)");
    assert!(
        out.status.success(),
        "workload failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Let the last packets through, then stop the sniffer the way a user does.
    std::thread::sleep(Duration::from_millis(500));
    let st = Command::new("kill")
        .args(["-INT", &sniffer.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    // A sniffer that ignores the interrupt fails the test instead of hanging it.
    let pid = sniffer.id().to_string();
    let watchdog = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(20));
        let _ = Command::new("kill").args(["-KILL", &pid]).status();
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let stdout = sniffer.stdout.take().unwrap();
    let mut by_op: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut connects = 0;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        let e = zkproto::event::Event::from_line(&line, 0)
            .unwrap_or_else(|err| panic!("bad JSON line {line}: {err}"));
        match e.kind.as_str() {
            "traffic.request" if e.path.as_deref().is_some_and(|p| p.starts_with("/live")) => {
                *by_op
                    .entry((e.op.clone().unwrap(), e.result.clone().unwrap_or_default()))
                    .or_default() += 1;
                assert!(e.latency_us.is_some(), "{line}");
                assert!(e.session.is_some(), "{line}");
            }
            "traffic.connected" => connects += 1,
            _ => {}
        }
        assert!(Instant::now() < deadline, "sniffer did not stop");
    }
    let status = sniffer.wait().unwrap();
    assert!(Instant::now() < deadline, "sniffer did not stop on SIGINT");
    drop(watchdog);
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut sniffer.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "zktraffic failed: {stderr}");
    assert!(
        stderr.contains("kernel: received"),
        "no kernel counters in: {stderr}"
    );

    let get = |op: &str, res: &str| {
        by_op
            .get(&(op.to_string(), res.to_string()))
            .copied()
            .unwrap_or(0)
    };
    assert_eq!(connects, 1, "{by_op:?}");
    // makepath on the first create: kazoo creates /live first.
    assert_eq!(get("create", "Ok"), 6, "{by_op:?}");
    assert_eq!(get("getData", "Ok"), 3, "{by_op:?}");
    assert_eq!(get("getData", "NoNode"), 1, "{by_op:?}");
    assert_eq!(get("setData", "Ok"), 2, "{by_op:?}");
    assert_eq!(get("delete", "Ok"), 6, "{by_op:?}");
}

/// A quiet interface must not keep the sniffer from stopping on time.
#[test]
fn silent_live_capture_stops_at_its_duration() {
    if std::env::var_os("ZKOPS_SKIP_LIVE").is_some() {
        return;
    }
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_zktraffic"))
        .args(["-i", "lo", "-p", "1", "--duration", "1s"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let watchdog = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(15));
        let _ = Command::new("kill").args(["-KILL", &pid]).status();
    });
    let status = child.wait().unwrap();
    let took = started.elapsed();
    assert!(status.success(), "zktraffic failed");
    assert!(
        took < Duration::from_secs(5),
        "took {took:?} to honour --duration 1s"
    );
    assert!(took >= Duration::from_secs(1), "stopped early: {took:?}");
    drop(watchdog);
}
