//! The configuration words: conf, envi, dirs.

use std::fmt::Write as _;

use super::java;
use super::view::ServerView;

/// `conf`. An ensemble member's answer ends with its membership, whose last
/// line (`version=`) has no newline, as in ZooKeeper.
pub fn conf(view: &ServerView) -> String {
    let c = &view.conf;
    let mut out = String::new();
    let _ = writeln!(out, "clientPort={}", c.client_port);
    let _ = writeln!(out, "secureClientPort={}", c.secure_client_port);
    let _ = writeln!(out, "dataDir={}", c.data_dir);
    let _ = writeln!(out, "dataDirSize={}", view.data_dir_size);
    let _ = writeln!(out, "dataLogDir={}", c.data_log_dir);
    let _ = writeln!(out, "dataLogSize={}", view.log_dir_size);
    let _ = writeln!(out, "tickTime={}", c.tick_time);
    let _ = writeln!(out, "maxClientCnxns={}", c.max_client_cnxns);
    let _ = writeln!(out, "minSessionTimeout={}", c.min_session_timeout);
    let _ = writeln!(out, "maxSessionTimeout={}", c.max_session_timeout);
    let _ = writeln!(
        out,
        "clientPortListenBacklog={}",
        c.client_port_listen_backlog
    );
    let _ = writeln!(out, "serverId={}", c.server_id);
    if let Some(q) = &c.quorum {
        let _ = writeln!(out, "initLimit={}", q.init_limit);
        let _ = writeln!(out, "syncLimit={}", q.sync_limit);
        let _ = writeln!(out, "electionAlg={}", q.election_alg);
        let _ = writeln!(out, "electionPort={}", q.election_port);
        let _ = writeln!(out, "quorumPort={}", q.quorum_port);
        let _ = writeln!(out, "peerType={}", q.peer_type);
        out.push_str("membership: \n");
        for (id, member) in &q.members {
            let _ = writeln!(out, "server.{id}={member}");
        }
        let _ = write!(out, "version={}", java::hex(q.config_version));
    }
    out
}

/// The keys ZooKeeper's `envi` prints after `zookeeper.version`, in its
/// order. The server fills [`ServerView::env`] with what it has of these
/// (it has no JVM: `java.*` can name the server binary instead).
pub const ENVI_KEYS: &[&str] = &[
    "host.name",
    "java.version",
    "java.vendor",
    "java.home",
    "java.class.path",
    "java.library.path",
    "java.io.tmpdir",
    "java.compiler",
    "os.name",
    "os.arch",
    "os.version",
    "user.name",
    "user.home",
    "user.dir",
    "os.memory.free",
    "os.memory.max",
    "os.memory.total",
];

/// `envi`. It comes first because kazoo's `server_version()` reads the
/// digits at the start of `zookeeper.version`.
pub fn environment(view: &ServerView) -> String {
    let mut out = String::from("Environment:\n");
    let _ = writeln!(out, "zookeeper.version={}", view.version);
    for (k, v) in &view.env {
        let _ = writeln!(out, "{k}={v}");
    }
    out
}

/// `dirs`: bytes under the snapshot and transaction-log directories.
pub fn dirs(view: &ServerView) -> String {
    format!(
        "datadir_size: {}\nlogdir_size: {}\n",
        view.data_dir_size, view.log_dir_size
    )
}
