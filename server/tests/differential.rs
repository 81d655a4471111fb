//! The same kazoo/raw-protocol scenarios against Apache ZooKeeper 3.8 (which
//! `diff.py` starts) and an embedded zkserver; normalized replies, stats
//! relationships, error codes and watch events must be equal.
//!
//! Allowed difference: zkserver follows ZooKeeper 3.9, whose checkWatches and
//! removeWatches accept the persistent watcher types that 3.8 rejects with
//! MarshallingError.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use zkserver::config::Config;
use zkserver::{Options, Server};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn python() -> PathBuf {
    let venv = repo().join(".venv/bin/python");
    assert!(
        venv.exists(),
        "{} missing: run scripts/setup-deps.sh",
        venv.display()
    );
    venv
}

#[test]
fn scenarios_match_apache_zookeeper() {
    let dir = tempfile::tempdir().unwrap();
    let cfg_text = format!(
        "tickTime=2000\ndataDir={}\nclientPort=0\nclientPortAddress=127.0.0.43\n\
         4lw.commands.whitelist=*\nextendedTypesEnabled=true\n",
        dir.path().display()
    );
    let (cfg, _) = Config::parse(&cfg_text, None).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = rt
        .block_on(
            Server::builder(cfg)
                .options(Options {
                    // The reaping scenario waits at most 15 s; diff.py runs
                    // Apache with the same 1 s interval.
                    container_check: Duration::from_secs(1),
                    ..Options::default()
                })
                .start(),
        )
        .unwrap();
    let addr = server.client_addr();
    let keep = dir.path().join("diff");
    let out = Command::new(python())
        .arg(repo().join("server/tests/interop/diff.py"))
        .args(["--other", &addr.to_string(), "--keep"])
        .arg(&keep)
        .args(["--allow", "persistent_watch:checkWatches persistent (4)"])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    rt.block_on(server.shutdown()).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    // The run really compared something: every scenario was identical.
    assert!(
        text.contains("26 scenario(s) identical, 0 differ"),
        "{text}"
    );
}
