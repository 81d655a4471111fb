//! Shared by zkserver's integration tests: a server embedded in its own
//! runtime or run as the real binary, each in a fresh temporary data
//! directory on 127.0.0.1 with an OS-chosen port; the event log read back;
//! and the external clients (kazoo, Debian's cli_mt, the Java CLI) run with
//! a time limit.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use zkproto::event::{Event, Level};
use zkserver::config::Config;
use zkserver::{Options, Server};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The venv scripts/setup-deps.sh creates (or `ZKOPS_VENV`).
pub fn python() -> PathBuf {
    std::env::var_os("ZKOPS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".venv"))
        .join("bin/python")
}

pub fn py_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/py")
        .join(name)
}

/// Debian's C client shell (zookeeper-bin).
pub const CLI_MT: &str = "/usr/lib/zookeeper/bin/cli_mt";

/// zoo.cfg for a test: loopback, OS-chosen port, a short tick so the lone
/// Raft member elects itself quickly; `extra` lines are appended (later
/// keys win).
pub fn zoo_cfg(data_dir: &Path, extra: &str) -> String {
    format!(
        "tickTime=500\ndataDir={}\nclientPort=0\nclientPortAddress=127.0.0.1\n{extra}\n",
        data_dir.display()
    )
}

/// A server running inside the test process, on a runtime of its own so
/// that tests may block (on a child process, a std socket) freely.
pub struct Embedded {
    rt: Option<tokio::runtime::Runtime>,
    server: Option<Server>,
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
}

impl Embedded {
    /// Starts on a fresh data directory; events down to `debug` level.
    pub fn start(extra_cfg: &str) -> Embedded {
        let dir = tempfile::tempdir().expect("tempdir");
        Embedded::start_in(dir, extra_cfg)
    }

    pub fn start_in(dir: tempfile::TempDir, extra_cfg: &str) -> Embedded {
        let data = dir.path().join("data");
        let (cfg, _warnings) =
            Config::parse(&zoo_cfg(&data, extra_cfg), None).expect("test zoo.cfg parses");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let opts = Options {
            events_level: Level::Debug,
            // Nothing here survives a crash; the durability test uses the
            // binary, which syncs.
            fsync: false,
            ..Options::default()
        };
        let server = rt
            .block_on(async {
                tokio::time::timeout(
                    Duration::from_secs(30),
                    Server::builder(cfg).options(opts).start(),
                )
                .await
            })
            .expect("server started within 30 s")
            .expect("server starts");
        let addr = server.client_addr();
        Embedded {
            rt: Some(rt),
            server: Some(server),
            addr,
            dir,
        }
    }

    pub fn hostport(&self) -> String {
        self.addr.to_string()
    }

    pub fn events_dir(&self) -> PathBuf {
        self.dir.path().join("data/events")
    }

    pub fn server(&self) -> &Server {
        self.server.as_ref().expect("server running")
    }

    /// Runs a future on the server's runtime.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.as_ref().expect("runtime").block_on(f)
    }

    pub fn events(&self) -> Vec<Event> {
        events_in(&self.events_dir())
    }

    /// Waits (bounded) for an event matching `pred`.
    pub fn wait_event(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&Event) -> bool,
    ) -> Event {
        wait_event_in(&self.events_dir(), what, timeout, pred)
    }

    /// Shuts down cleanly (every event flushed) and returns the data
    /// directory.
    pub fn stop(mut self) -> tempfile::TempDir {
        self.shutdown();
        let dir = tempfile::tempdir().expect("tempdir");
        std::mem::replace(&mut self.dir, dir)
    }

    /// Shuts down cleanly and returns every event the server wrote.
    pub fn finish(self) -> Vec<Event> {
        let dir = self.stop();
        events_in(&dir.path().join("data/events"))
    }

    fn shutdown(&mut self) {
        if let (Some(rt), Some(server)) = (self.rt.take(), self.server.take()) {
            let r = rt.block_on(async {
                tokio::time::timeout(Duration::from_secs(15), server.shutdown()).await
            });
            rt.shutdown_timeout(Duration::from_secs(2));
            match r {
                Ok(Ok(())) => {}
                Ok(Err(e)) => panic!("shutdown failed: {e}"),
                Err(_) => panic!("shutdown took over 15 s"),
            }
        }
    }
}

impl Drop for Embedded {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // Keep the directory for a look, and do not panic twice.
            let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("tempdir"));
            eprintln!("test failed; server data kept in {}", dir.keep().display());
            if let Some(rt) = self.rt.take() {
                rt.shutdown_timeout(Duration::from_secs(1));
            }
            return;
        }
        self.shutdown();
    }
}

/// Every event in an events directory (none if it does not exist yet).
pub fn events_in(dir: &Path) -> Vec<Event> {
    if !dir.exists() {
        return Vec::new();
    }
    zkserver::events::read_events(dir).expect("every event line parses")
}

pub fn wait_event_in(
    dir: &Path,
    what: &str,
    timeout: Duration,
    pred: impl Fn(&Event) -> bool,
) -> Event {
    let deadline = Instant::now() + timeout;
    loop {
        let evs = events_in(dir);
        if let Some(e) = evs.iter().find(|e| pred(e)) {
            return e.clone();
        }
        if Instant::now() > deadline {
            let kinds: Vec<String> = evs
                .iter()
                .rev()
                .take(40)
                .map(|e| format!("{} {:?} {:?}", e.kind, e.path, e.msg))
                .collect();
            panic!("no {what} event within {timeout:?}; last events (newest first): {kinds:#?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The real binary in its own process, for what only a process can show
/// (kill -9).
pub struct Proc {
    pub child: Child,
    pub addr: SocketAddr,
    pub data: PathBuf,
    stderr: Arc<Mutex<String>>,
}

impl Proc {
    /// Starts `zkserver <dir>/zoo.cfg` on `data` and waits (bounded) for it
    /// to print its address.
    pub fn start(cfg_dir: &Path, data: &Path, extra_cfg: &str) -> Proc {
        Proc::start_with_fd_limit(cfg_dir, data, extra_cfg, None)
    }

    /// [`Proc::start`] with the process's open-file limit set to `nofile`.
    pub fn start_with_fd_limit(
        cfg_dir: &Path,
        data: &Path,
        extra_cfg: &str,
        nofile: Option<u32>,
    ) -> Proc {
        let cfg = cfg_dir.join("zoo.cfg");
        std::fs::write(&cfg, zoo_cfg(data, extra_cfg)).expect("writing zoo.cfg");
        let limit = nofile.map_or_else(|| "unlimited".to_string(), |n| n.to_string());
        let shell = if nofile.is_some() {
            r#"ulimit -n "$1" && shift && exec "$@""#
        } else {
            r#"shift && exec "$@""#
        };
        let mut child = Command::new("sh")
            .args(["-c", shell, "zkserver", &limit])
            .arg(env!("CARGO_BIN_EXE_zkserver"))
            .arg(&cfg)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning zkserver");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let pipe = child.stderr.take().expect("stderr piped");
        let sink = stderr.clone();
        std::thread::spawn(move || {
            // Ends when the process closes its stderr.
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("serving on ").nth(1) {
                    let addr = rest.split_whitespace().next().unwrap_or("").to_string();
                    let _ = tx.send(addr);
                }
                let mut s = sink.lock().unwrap_or_else(|p| p.into_inner());
                s.push_str(&line);
                s.push('\n');
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(a) => a.parse().expect("printed address parses"),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                let s = stderr.lock().unwrap_or_else(|p| p.into_inner()).clone();
                panic!("zkserver did not report serving within 30 s; stderr:\n{s}");
            }
        };
        Proc {
            child,
            addr,
            data: data.to_path_buf(),
            stderr,
        }
    }

    pub fn events_dir(&self) -> PathBuf {
        self.data.join("events")
    }

    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// SIGKILL: no flush, no goodbye.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait (bounded) for a clean exit.
    pub fn terminate(mut self) -> ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                return st;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("zkserver ignored SIGTERM for 15 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a command to completion, killing it after `limit`.
pub fn run_bounded(cmd: Command, limit: Duration) -> Output {
    run_with_input(cmd, None, limit)
}

/// [`run_bounded`], writing `input` to the command's stdin first.
pub fn run_with_input(mut cmd: Command, input: Option<&str>, limit: Duration) -> Output {
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawning {shown}: {e}"));
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        let text = text.to_string();
        // A thread of its own: a child that does not read must not block us.
        std::thread::spawn(move || {
            use std::io::Write;
            let _ = stdin.write_all(text.as_bytes());
        });
    }
    let mut out_pipe = child.stdout.take().expect("stdout piped");
    let mut err_pipe = child.stderr.take().expect("stderr piped");
    let out_t = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out_pipe.read_to_end(&mut b);
        b
    });
    let err_t = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err_pipe.read_to_end(&mut b);
        b
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(st) = child.try_wait().expect("waiting for the child") {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let out = out_t.join().unwrap_or_default();
            let err = err_t.join().unwrap_or_default();
            panic!(
                "{shown} ran past {limit:?}\nstdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(&err)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out_t.join().unwrap_or_default(),
        stderr: err_t.join().unwrap_or_default(),
    }
}

pub fn text(o: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs `tests/py/<script>` with the venv's python against `hostport`;
/// the script checks what it can see and prints one JSON object of facts
/// for the test to check against the event log. Panics if it fails.
pub fn kazoo(script: &str, hostport: &str, args: &[&str], limit: Duration) -> serde_json::Value {
    let py = python();
    assert!(
        py.exists(),
        "{} is missing: run scripts/setup-deps.sh (or set ZKOPS_VENV)",
        py.display()
    );
    let mut cmd = Command::new(py);
    cmd.arg(py_script(script)).arg(hostport).args(args);
    let out = run_bounded(cmd, limit);
    assert!(
        out.status.success(),
        "{script} failed ({}):\n{}",
        out.status,
        text(&out)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| {
            panic!("{script} printed no JSON facts:\n{}", text(&out));
        });
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{script}: bad JSON {last:?}: {e}"))
}

/// `scripts/zk.sh classpath`: the Debian ZooKeeper jars.
pub fn java_classpath() -> String {
    let mut cmd = Command::new(repo().join("scripts/zk.sh"));
    cmd.arg("classpath");
    let out = run_bounded(cmd, Duration::from_secs(10));
    assert!(
        out.status.success(),
        "zk.sh classpath failed:\n{}",
        text(&out)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Parses a `0x…` session id as the event log and the clients print it.
pub fn hex_id(s: &str) -> i64 {
    let t = s.trim().trim_start_matches("0x");
    u64::from_str_radix(t, 16).unwrap_or_else(|e| panic!("bad hex id {s:?}: {e}")) as i64
}

/// Events of `kind` about session `id`.
pub fn of_session<'a>(
    evs: &'a [Event],
    kind: &'a str,
    id: i64,
) -> impl Iterator<Item = &'a Event> + 'a {
    evs.iter()
        .filter(move |e| e.kind == kind && e.session.map(|s| s.0) == Some(id))
}

/// A minimal client written from the wire format, for tests that must
/// send what no real client would (and so must not share zkproto's code).
pub mod raw {
    use std::io::{Read, Write};
    use std::net::{IpAddr, SocketAddr, TcpStream};
    use std::time::Duration;

    pub const GET_DATA: i32 = 4;
    pub const CREATE: i32 = 1;
    pub const EXISTS: i32 = 3;

    pub fn frame(body: &[u8]) -> Vec<u8> {
        let mut f = (body.len() as i32).to_be_bytes().to_vec();
        f.extend_from_slice(body);
        f
    }

    pub fn string(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&(s.len() as i32).to_be_bytes());
        out.extend_from_slice(s.as_bytes());
    }

    /// A ConnectRequest for a new session.
    pub fn connect_frame(timeout_ms: i32) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&0i32.to_be_bytes()); // protocol version
        b.extend_from_slice(&0i64.to_be_bytes()); // last zxid seen
        b.extend_from_slice(&timeout_ms.to_be_bytes());
        b.extend_from_slice(&0i64.to_be_bytes()); // session id
        b.extend_from_slice(&16i32.to_be_bytes());
        b.extend_from_slice(&[0; 16]); // password
        b.push(0); // read-only
        frame(&b)
    }

    pub fn request(xid: i32, opcode: i32, body: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&xid.to_be_bytes());
        b.extend_from_slice(&opcode.to_be_bytes());
        b.extend_from_slice(body);
        frame(&b)
    }

    /// getData or exists of `path`, no watch.
    pub fn path_request(xid: i32, opcode: i32, path: &str) -> Vec<u8> {
        watch_request(xid, opcode, path, false)
    }

    /// getData or exists of `path`, leaving a watch if asked.
    pub fn watch_request(xid: i32, opcode: i32, path: &str, watch: bool) -> Vec<u8> {
        let mut b = Vec::new();
        string(&mut b, path);
        b.push(u8::from(watch));
        request(xid, opcode, &b)
    }

    /// create `path` with `data`, open ACL, persistent.
    pub fn create_request(xid: i32, path: &str, data: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        string(&mut b, path);
        b.extend_from_slice(&(data.len() as i32).to_be_bytes());
        b.extend_from_slice(data);
        b.extend_from_slice(&1i32.to_be_bytes());
        b.extend_from_slice(&31i32.to_be_bytes());
        string(&mut b, "world");
        string(&mut b, "anyone");
        b.extend_from_slice(&0i32.to_be_bytes());
        request(xid, CREATE, &b)
    }

    /// Reads one frame body; None at EOF (or on a reset).
    pub fn read_frame(s: &mut TcpStream) -> Option<Vec<u8>> {
        let mut len = [0u8; 4];
        s.read_exact(&mut len).ok()?;
        let n = i32::from_be_bytes(len);
        assert!((0..=16 << 20).contains(&n), "server sent frame length {n}");
        let mut body = vec![0; n as usize];
        s.read_exact(&mut body).ok()?;
        Some(body)
    }

    /// (xid, zxid, err) of a reply body.
    pub fn header(body: &[u8]) -> (i32, i64, i32) {
        assert!(body.len() >= 16, "short reply: {body:?}");
        let xid = i32::from_be_bytes(body[0..4].try_into().expect("4 bytes"));
        let zxid = i64::from_be_bytes(body[4..12].try_into().expect("8 bytes"));
        let err = i32::from_be_bytes(body[12..16].try_into().expect("4 bytes"));
        (xid, zxid, err)
    }

    /// Whether the server closed the connection within `limit` (bytes
    /// still arriving are read and dropped).
    pub fn closed_within(s: &mut TcpStream, limit: Duration) -> bool {
        let deadline = std::time::Instant::now() + limit;
        let mut buf = [0u8; 65536];
        while std::time::Instant::now() < deadline {
            let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
            match s.read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => return true,
            }
        }
        false
    }

    /// A TCP connection from `source` (any 127.x address) to `addr`.
    pub fn dial_from(source: Option<IpAddr>, addr: SocketAddr) -> TcpStream {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let s = rt.block_on(async {
            let sock = tokio::net::TcpSocket::new_v4().expect("socket");
            if let Some(ip) = source {
                sock.bind(SocketAddr::new(ip, 0)).expect("bind source");
            }
            tokio::time::timeout(Duration::from_secs(5), sock.connect(addr))
                .await
                .expect("connected within 5 s")
                .expect("connect")
        });
        let s = s.into_std().expect("std stream");
        s.set_nonblocking(false).expect("blocking");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        s
    }

    /// A connection with a fresh session, handshake done.
    pub fn session(source: Option<IpAddr>, addr: SocketAddr) -> TcpStream {
        session_with_id(source, addr).0
    }

    /// [`session`], and the session id the server gave.
    pub fn session_with_id(source: Option<IpAddr>, addr: SocketAddr) -> (TcpStream, i64) {
        let mut s = dial_from(source, addr);
        s.write_all(&connect_frame(10_000)).expect("send connect");
        let resp = read_frame(&mut s).expect("ConnectResponse");
        assert!(resp.len() >= 16, "short ConnectResponse");
        let timeout = i32::from_be_bytes(resp[4..8].try_into().expect("4 bytes"));
        assert!(timeout > 0, "session refused");
        let id = i64::from_be_bytes(resp[8..16].try_into().expect("8 bytes"));
        (s, id)
    }

    /// A well-behaved client from `source`: new session, `exists /`
    /// answered Ok. Panics if the server does not serve it.
    pub fn assert_serves(source: Option<IpAddr>, addr: SocketAddr) {
        let mut s = session(source, addr);
        s.write_all(&path_request(1, EXISTS, "/"))
            .expect("send exists");
        let body = read_frame(&mut s).expect("exists reply");
        assert_eq!(header(&body).0, 1);
        assert_eq!(header(&body).2, 0, "exists / failed");
    }
}
