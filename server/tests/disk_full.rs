//! The log's disk fills up: writes stop with a clear event, nothing that was
//! acknowledged is lost, and after space is freed a restart serves it all.
//! The log alone is on a small real tmpfs (`dataLogDir`), so the events
//! that report the failure have room. Needs root to mount; skipped otherwise.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::Embedded;
use zkproto::CreateMode;
use zksmoketest::client::{Client, ConnectOptions};

/// Writes at most this many 64 KiB values: about 6 MiB, past the mount.
const MAX_WRITES: usize = 100;
const VALUE: usize = 64 * 1024;

struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn mount_tmpfs(at: &Path, size: &str) -> bool {
    let out = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(at)
        .output();
    matches!(&out, Ok(o) if o.status.success())
}

/// Creates /full/nNNN until a write is refused or the connection drops;
/// returns the paths whose creates were acknowledged.
fn write_until_full(srv: &Embedded) -> (Vec<String>, bool) {
    let opts = ConnectOptions {
        op_timeout: Duration::from_secs(10),
        ..ConnectOptions::default()
    };
    srv.block_on(async {
        let mut c = Client::connect(&srv.hostport(), &opts)
            .await
            .expect("connect");
        let mut acked = Vec::new();
        let value = vec![7u8; VALUE];
        if !matches!(c.create("/full", None, CreateMode::Persistent).await, Ok(r) if r.header.err.is_ok()) {
            return (acked, true);
        }
        for i in 0..MAX_WRITES {
            let p = format!("/full/n{i:03}");
            match c.create(&p, Some(&value), CreateMode::Persistent).await {
                Ok(r) if r.header.err.is_ok() => acked.push(p),
                _ => return (acked, true),
            }
        }
        (acked, false)
    })
}

#[test]
fn a_full_log_disk_stops_writes_and_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mnt = dir.path().join("log-mnt");
    std::fs::create_dir(&mnt).expect("mount point");
    if !mount_tmpfs(&mnt, "3m") {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    }
    let _unmount = Unmount(mnt.clone());
    let cfg = format!("dataLogDir={}", mnt.display());

    let srv = Embedded::start_in(dir, &cfg);
    let (acked, refused) = write_until_full(&srv);
    assert!(
        refused,
        "{MAX_WRITES} writes of {VALUE} bytes fit a 3 MiB log disk"
    );
    assert!(!acked.is_empty(), "some writes fit before the disk filled");
    let failed = srv.wait_event("log.failed", Duration::from_secs(10), |e| {
        e.kind == "log.failed"
    });
    let msg = failed.msg.clone().unwrap_or_default();
    assert!(msg.to_lowercase().contains("space"), "{msg}");
    let dir = srv.stop();

    // Room again: the same data and log directories, a bigger disk.
    let grown = Command::new("mount")
        .args(["-o", "remount,size=64m"])
        .arg(&mnt)
        .status()
        .expect("remount");
    assert!(grown.success(), "tmpfs remount");
    let srv = Embedded::start_in(dir, &cfg);
    let missing: Vec<String> = srv.block_on(async {
        let mut c = Client::connect(&srv.hostport(), &ConnectOptions::default())
            .await
            .expect("connect after the restart");
        let mut missing = Vec::new();
        for p in &acked {
            match c.exists(p, false).await {
                Ok(r) if r.header.err.is_ok() => {}
                _ => missing.push(p.clone()),
            }
        }
        let _ = c.close().await;
        missing
    });
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
    // And it takes writes again.
    let again = srv.block_on(async {
        let mut c = Client::connect(&srv.hostport(), &ConnectOptions::default())
            .await
            .expect("connect");
        let r = c
            .create("/after", Some(&[1u8; VALUE]), CreateMode::Persistent)
            .await;
        let _ = c.close().await;
        r
    });
    assert!(
        matches!(&again, Ok(r) if r.header.err.is_ok()),
        "a write after the restart: {again:?}"
    );
    drop(srv);
}
