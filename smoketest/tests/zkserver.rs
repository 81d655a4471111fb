//! zksmoketest against zkserver, embedded in this test and serving
//! standalone on 127.0.0.53 (a one-member ensemble): a healthy run passes
//! every phase and leaves nothing behind; the same server behind a 20 ms
//! each-way delaying proxy on 127.0.0.54 is measured at the injected RTT.

mod common;

use std::process::{Command, Output};
use std::time::Duration;

use common::{delaying_proxy_on, text};
use zkproto::{ErrorCode, PathRequest, PathWatchRequest, Request};

const IP: &str = "127.0.0.53";
const PROXY_IP: &str = "127.0.0.54";
const PORT: u16 = 26181;
const TICK_MS: u64 = 2000;
const ROUNDS: u64 = 10;

/// zkserver in this process, stopped (cleanly) when dropped.
struct Embedded {
    rt: tokio::runtime::Runtime,
    server: Option<zkserver::Server>,
    _dir: tempfile::TempDir,
}

impl Embedded {
    fn start() -> Embedded {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "tickTime={TICK_MS}\ndataDir={}\nclientPort={PORT}\nclientPortAddress={IP}\n\
             4lw.commands.whitelist=*\n",
            dir.path().display()
        );
        let (cfg, warnings) = zkserver::config::Config::parse(&text, None).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let server = rt.block_on(zkserver::Server::builder(cfg).start()).unwrap();
        assert_eq!(server.client_addr().to_string(), addr());
        Embedded {
            rt,
            server: Some(server),
            _dir: dir,
        }
    }

    /// Whether a run left its root znode behind, asked after a sync.
    fn smoketest_root_exists(&self) -> bool {
        self.rt.block_on(async {
            let mut c = zksmoketest::client::Client::connect(&addr(), &Default::default())
                .await
                .unwrap();
            c.call(&Request::Sync(PathRequest { path: "/" }))
                .await
                .unwrap();
            let r = c
                .call(&Request::Exists(PathWatchRequest {
                    path: "/zksmoketest",
                    watch: false,
                }))
                .await
                .unwrap();
            c.close().await.unwrap();
            r.err() != ErrorCode::NO_NODE
        })
    }
}

impl Drop for Embedded {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            let _ = self.rt.block_on(s.shutdown());
        }
    }
}

fn addr() -> String {
    format!("{IP}:{PORT}")
}

/// Runs zksmoketest on `servers`, returning its output and --json results.
fn smoketest(servers: &str, tag: &str) -> (Output, serde_json::Value) {
    let json = std::env::temp_dir().join(format!(
        "zksmoketest-zkserver-{}-{tag}.json",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&json);
    let out = Command::new(env!("CARGO_BIN_EXE_zksmoketest"))
        .args(["--servers", servers, "--op-timeout-ms", "10000"])
        .args(["--quiet", "--ops", "60", "--rounds", &ROUNDS.to_string()])
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let v = std::fs::read_to_string(&json)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(serde_json::Value::Null);
    let _ = std::fs::remove_file(&json);
    (out, v)
}

/// Every phase ran and passed, the verdict is PASS, exit 0, every watch
/// notification arrived, and the run cleaned up after itself.
fn assert_healthy(zk: &Embedded, out: &Output, v: &serde_json::Value) {
    assert_eq!(out.status.code(), Some(0), "{}", text(out));
    assert_eq!(v["verdict"], "PASS", "{}", text(out));
    assert_eq!(v["schema_version"], 1);
    let phases = v["phases"].as_array().unwrap();
    assert!(
        phases.len() >= 10 && phases.iter().all(|p| p["ok"] == true),
        "{phases:?}"
    );
    let w = &v["watch_check"];
    assert_eq!(w["received"], w["expected"], "{w}");
    assert_eq!(w["expected"], ROUNDS, "one writer, one watcher: {w}");
    assert!(
        !zk.smoketest_root_exists(),
        "the run left /zksmoketest behind"
    );
}

#[test]
fn zksmoketest_against_zkserver() {
    let zk = Embedded::start();

    // 1. Direct: a healthy standalone member, seen as ZooKeeper sees itself.
    let (out, v) = smoketest(&addr(), "direct");
    assert_healthy(&zk, &out, &v);
    let servers = v["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 1);
    let info = &servers[0]["info"];
    assert_eq!(info["mode"], "standalone", "{info}");
    assert!(
        info["version"].as_str().unwrap_or("").starts_with("3.9."),
        "{info}"
    );
    // From `conf` and `isro`, which the recommendations build on.
    assert_eq!(info["conf"]["clientPort"], PORT.to_string(), "{info}");
    assert_eq!(info["conf"]["tickTime"], TICK_MS.to_string(), "{info}");
    assert_eq!(info["read_only"], false, "{info}");
    // 3.9 stamps notifications with the zxid, so their order is checked.
    assert_eq!(v["watch_check"]["zxid_in_notifications"], true);
    assert_eq!(v["watch_check"]["in_order"], true);
    let base = v["servers"][0]["read"]["p50_us"].as_u64().unwrap() as f64;

    // 2. Behind a 20 ms each-way link: the read p50 is the injected RTT.
    let delay = Duration::from_millis(20);
    let proxy = delaying_proxy_on(PROXY_IP, addr(), delay, Duration::ZERO);
    let (out, v) = smoketest(&proxy.to_string(), "proxied");
    assert_healthy(&zk, &out, &v);
    let p50 = v["servers"][0]["read"]["p50_us"].as_u64().unwrap() as f64;
    let injected = 2.0 * delay.as_micros() as f64;
    let measured = p50 - base;
    assert!(
        (measured - injected).abs() <= (0.05 * injected).max(500.0),
        "read p50 {p50}µs behind the proxy, {base}µs direct, injected {injected}µs\n{}",
        text(&out)
    );
}
