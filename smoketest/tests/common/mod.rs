//! Shared by the integration tests: a real ZooKeeper ensemble that stops
//! itself, and a delaying TCP proxy standing in for a WAN link.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub struct Ensemble(pub PathBuf);

impl Drop for Ensemble {
    fn drop(&mut self) {
        let _ = Command::new(repo().join("scripts/zk.sh"))
            .arg("stop")
            .arg(&self.0)
            .output();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Ensemble {
    /// `zk.sh ensemble DIR 3` on `first_addr`.. with the given ports and
    /// extra zoo.cfg settings; panics if it does not come up.
    pub fn start(name: &str, first_addr: &str, ports: [u16; 3], extra: &[&str]) -> Ensemble {
        let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let st = Command::new(repo().join("scripts/zk.sh"))
            .arg("ensemble")
            .arg(&dir)
            .args([
                "3",
                "--client-port",
                &ports[0].to_string(),
                "--first-addr",
                first_addr,
            ])
            .args([
                "--quorum-port",
                &ports[1].to_string(),
                "--election-port",
                &ports[2].to_string(),
            ])
            .args(extra)
            .status()
            .unwrap();
        assert!(st.success(), "starting the ensemble failed");
        Ensemble(dir)
    }

    pub fn dir(&self) -> &Path {
        &self.0
    }
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Forwards to `target`, delaying every chunk by `delay` in each direction
/// (with ±`jitter`), preserving order, as a WAN link would. Plain threads and
/// `thread::sleep` (sub-millisecond on Linux): a coarse timer would add its
/// own latency to what the probe must measure.
pub fn delaying_proxy(target: String, delay: Duration, jitter: Duration) -> std::net::SocketAddr {
    delaying_proxy_on("127.0.0.1", target, delay, jitter)
}

/// [`delaying_proxy`] listening on `ip` (an ephemeral port), for tests that
/// keep to their own loopback addresses.
pub fn delaying_proxy_on(
    ip: &str,
    target: String,
    delay: Duration,
    jitter: Duration,
) -> std::net::SocketAddr {
    let l = std::net::TcpListener::bind((ip, 0)).unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut seed = 0x9e37_79b9_u64;
        for client in l.incoming() {
            let Ok(client) = client else { return };
            let Ok(server) = std::net::TcpStream::connect(&target) else {
                continue;
            };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            pipe(
                client.try_clone().unwrap(),
                server.try_clone().unwrap(),
                delay,
                jitter,
                seed,
            );
            pipe(server, client, delay, jitter, seed ^ 0xabcdef);
        }
    });
    addr
}

fn pipe(
    mut from: std::net::TcpStream,
    mut to: std::net::TcpStream,
    delay: Duration,
    jitter: Duration,
    mut seed: u64,
) {
    use std::io::{Read, Write};
    let (tx, rx) = std::sync::mpsc::channel::<(Instant, Vec<u8>)>();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 65536];
        let mut last = Instant::now();
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let j = if jitter.is_zero() {
                0
            } else {
                (seed >> 33) % (2 * jitter.as_micros() as u64 + 1)
            };
            let d = delay + Duration::from_micros(j) - jitter;
            // Never reorder: a chunk leaves no earlier than the one before it.
            let due = (Instant::now() + d).max(last);
            last = due;
            if tx.send((due, buf[..n].to_vec())).is_err() {
                return;
            }
        }
    });
    std::thread::spawn(move || {
        for (due, bytes) in rx {
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            if to.write_all(&bytes).is_err() {
                return;
            }
        }
        let _ = to.shutdown(std::net::Shutdown::Write);
    });
}
