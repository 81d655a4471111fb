//! Clients other than kazoo against an embedded zkserver: Debian's C client
//! shell `cli_mt` (batch mode), Apache's Java `ZooKeeperMain` reading
//! commands from stdin, and the Rust `zookeeper-client` crate.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{run_bounded, run_with_input, text, Embedded, CLI_MT};
use zookeeper_client as zkc;

/// One cli_mt batch command; returns everything it printed.
fn cli_mt(hostport: &str, cmd: &str) -> String {
    let mut c = Command::new(CLI_MT);
    c.args(["-h", hostport, "-c", cmd]);
    let out = run_bounded(c, Duration::from_secs(20));
    let t = text(&out);
    assert!(out.status.success(), "cli_mt {cmd:?} failed:\n{t}");
    t
}

#[test]
fn c_client_cli_mt_batch_commands() {
    assert!(
        std::path::Path::new(CLI_MT).exists(),
        "{CLI_MT} missing: run scripts/setup-deps.sh (zookeeper-bin)"
    );
    let srv = Embedded::start("");
    let hp = srv.hostport();

    let out = cli_mt(&hp, "create /cm");
    assert!(out.contains("[/cm]: rc = 0"), "{out}");
    let out = cli_mt(&hp, "create /cm");
    assert!(out.contains("rc = -110"), "NodeExists expected:\n{out}");
    let out = cli_mt(&hp, "set /cm hello");
    assert!(
        out.contains("/cm: rc = 0") && out.contains("version=1"),
        "{out}"
    );
    let out = cli_mt(&hp, "get /cm");
    assert!(
        out.contains("value_len = 5") && out.contains("\nhello\n"),
        "{out}"
    );
    let out = cli_mt(&hp, "create /cm/kid");
    assert!(out.contains("rc = 0"), "{out}");
    let out = cli_mt(&hp, "ls /");
    let listed: Vec<&str> = out.lines().map(str::trim).collect();
    assert!(
        listed.contains(&"cm") && listed.contains(&"zookeeper"),
        "{out}"
    );
    let out = cli_mt(&hp, "delete /cm");
    assert!(out.contains("rc = -111"), "NotEmpty expected:\n{out}");
    cli_mt(&hp, "delete /cm/kid");
    let out = cli_mt(&hp, "delete /cm");
    assert!(out.contains("/cm: rc = 0"), "{out}");
    let out = cli_mt(&hp, "get /cm");
    assert!(out.contains("rc = -101"), "NoNode expected:\n{out}");

    let evs = srv.finish();
    // The commands that write, each in a session of its own.
    let writes: Vec<_> = evs
        .iter()
        .filter(|e| {
            e.kind == "txn.applied" && e.path.as_deref().is_some_and(|p| p.starts_with("/cm"))
        })
        .map(|e| {
            (
                e.op.clone().unwrap_or_default(),
                e.result.clone().unwrap_or_default(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("create", "Ok"),
        ("create", "NodeExists"),
        ("setData", "Ok"),
        ("create", "Ok"),
        ("delete", "NotEmpty"),
        ("delete", "Ok"),
        ("delete", "Ok"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(writes, want);
    let sessions = evs.iter().filter(|e| e.kind == "session.created").count();
    assert_eq!(sessions, 10, "one session per cli_mt run");
}

#[test]
fn java_zookeeper_main_reads_commands_from_stdin() {
    let cp = common::java_classpath();
    let srv = Embedded::start("");
    let script = "\
create /j hello
create -e /j/eph e
create -s /j/seq- s
get /j
set /j world
get /j
stat /j
ls /j
getAllChildrenNumber /j
getEphemerals /j
create /j/eph again
delete /j/nope
ls /
quit
";
    let mut c = Command::new("java");
    c.args([
        "-Xms32m",
        "-Xmx256m",
        "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1",
    ])
    .arg("-Dorg.slf4j.simpleLogger.defaultLogLevel=warn")
    .arg("-Dzookeeper.jmx.log4j.disable=true")
    .args([
        "-cp",
        &cp,
        "org.apache.zookeeper.ZooKeeperMain",
        "-server",
        &srv.hostport(),
    ]);
    let out = run_with_input(c, Some(script), Duration::from_secs(45));
    let t = text(&out);
    assert!(out.status.success(), "ZooKeeperMain failed:\n{t}");
    let lines: Vec<&str> = t.lines().map(str::trim).collect();
    let has = |l: &str| lines.contains(&l);
    assert!(has("Created /j"), "{t}");
    assert!(has("Created /j/eph"), "{t}");
    assert!(has("Created /j/seq-0000000001"), "{t}");
    assert!(has("hello") && has("world"), "{t}");
    assert!(has("dataVersion = 1") && has("numChildren = 2"), "{t}");
    assert!(has("[eph, seq-0000000001]"), "{t}");
    assert!(has("2"), "getAllChildrenNumber:\n{t}");
    assert!(has("[/j/eph]"), "getEphemerals:\n{t}");
    assert!(has("Node already exists: /j/eph"), "{t}");
    assert!(has("Node does not exist: /j/nope"), "{t}");

    let evs = srv.finish();
    let closed: Vec<_> = evs.iter().filter(|e| e.kind == "session.closed").collect();
    assert_eq!(closed.len(), 1, "quit closes the session");
    assert_eq!(closed[0].paths, ["/j/eph"]);
    for op in ["getAllChildrenNumber", "getEphemerals"] {
        assert!(
            evs.iter()
                .any(|e| e.kind == "request" && e.op.as_deref() == Some(op)),
            "no request event for {op}"
        );
    }
}

#[test]
fn rust_zookeeper_client_crate() {
    let srv = Embedded::start("");
    let hp = srv.hostport();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let session = rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(30), crate_scenario(&hp))
            .await
            .expect("the crate scenario finished within 30 s")
    });
    let evs = srv.finish();
    let applied: Vec<_> = evs
        .iter()
        .filter(|e| e.kind == "txn.applied" && e.session.map(|s| s.0) == Some(session))
        .collect();
    let multi: Vec<_> = applied
        .iter()
        .filter(|e| e.op.as_deref() == Some("multi"))
        .collect();
    assert_eq!(multi.len(), 2);
    assert_eq!(multi[0].result.as_deref(), Some("Ok"));
    assert_eq!(multi[1].result.as_deref(), Some("BadVersion"));
    assert!(evs
        .iter()
        .any(|e| e.kind == "watch.fired" && e.path.as_deref() == Some("/rs/a/deep")));
}

async fn crate_scenario(hp: &str) -> i64 {
    let client = zkc::Client::connector()
        .with_session_timeout(Duration::from_secs(10))
        .connect(hp)
        .await
        .expect("connect");
    let session = client.session_id().0;
    let persistent = zkc::CreateMode::Persistent.with_acls(zkc::Acls::anyone_all());

    let (stat, _) = client
        .create("/rs", b"root", &persistent)
        .await
        .expect("create");
    assert_eq!(stat.version, 0);
    assert_eq!(stat.data_length, 4);
    let (data, got) = client.get_data("/rs").await.expect("get_data");
    assert_eq!(data, b"root");
    assert_eq!(got.czxid, stat.czxid);
    assert!(matches!(
        client.create("/rs", b"", &persistent).await,
        Err(zkc::Error::NodeExists)
    ));
    let seq_opts = zkc::CreateMode::EphemeralSequential.with_acls(zkc::Acls::anyone_all());
    let (_, seq) = client
        .create("/rs/e-", b"", &seq_opts)
        .await
        .expect("sequential");
    assert_eq!(seq.into_i64(), 0);

    // A one-shot data watch, fired by our own write.
    let (_, _, watcher) = client.get_and_watch_data("/rs").await.expect("watch");
    let st = client
        .set_data("/rs", b"new", Some(0))
        .await
        .expect("set_data");
    assert_eq!(st.version, 1);
    let ev = tokio::time::timeout(Duration::from_secs(5), watcher.changed())
        .await
        .expect("watch fired");
    assert_eq!(ev.event_type, zkc::EventType::NodeDataChanged);
    assert_eq!(ev.path, "/rs");

    // multi: success, then a failed check that applies nothing.
    let mut w = client.new_multi_writer();
    w.add_create("/rs/a", b"a", &persistent).expect("op");
    w.add_set_data("/rs", b"m", Some(1)).expect("op");
    w.add_check_version("/rs/a", 0).expect("op");
    let res = w.commit().await.expect("multi");
    assert_eq!(res.len(), 3);
    let mut w = client.new_multi_writer();
    w.add_create("/rs/b", b"", &persistent).expect("op");
    w.add_check_version("/rs", 99).expect("op");
    match w.commit().await {
        Err(zkc::MultiWriteError::OperationFailed {
            index: 1,
            source: zkc::Error::BadVersion,
        }) => {}
        other => panic!("expected BadVersion at 1, got {other:?}"),
    }
    assert!(client.check_stat("/rs/b").await.expect("exists").is_none());

    // A persistent recursive watch sees a deep create.
    let mut rec = client
        .watch("/rs/a", zkc::AddWatchMode::PersistentRecursive)
        .await
        .expect("addWatch");
    client
        .create("/rs/a/deep", b"", &persistent)
        .await
        .expect("create");
    let ev = tokio::time::timeout(Duration::from_secs(5), rec.changed())
        .await
        .expect("recursive watch fired");
    assert_eq!(ev.event_type, zkc::EventType::NodeCreated);
    assert_eq!(ev.path, "/rs/a/deep");

    let children = client.list_children("/rs").await.expect("children");
    assert_eq!(children.len(), 2, "{children:?}");
    session
}
