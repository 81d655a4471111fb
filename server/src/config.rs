//! `zoo.cfg`, read the way Apache ZooKeeper 3.8 reads it, so an existing
//! installation's file can be pointed at zkserver unchanged.
//!
//! ZooKeeper loads the file with `java.util.Properties` and then interprets
//! each key in `QuorumPeerConfig.parseProperties`; keys it does not know become
//! `zookeeper.<key>` system properties, which is how `4lw.commands.whitelist`,
//! `snapCount` and friends reach the code that reads them. We fold both
//! spellings (`snapCount` and `zookeeper.snapCount`) into one typed field.
//!
//! Differences from ZooKeeper, all deliberate:
//! - a key ZooKeeper would silently turn into a system property, but which
//!   neither ZooKeeper nor zkserver reads, produces a [`Warning`];
//! - `clientPort` defaults to 2181 (ZooKeeper opens no client port without it),
//!   and `clientPort=0` asks the OS for a free port;
//! - `initLimit`/`syncLimit` default to 10/5 instead of being required;
//! - server ids must be below 255: session ids carry the server id in their top
//!   byte and 0xff there marks a TTL node's `ephemeralOwner`;
//! - hierarchical quorums (`group.N`, `weight.N`) and multiple addresses per
//!   server are rejected rather than half-supported.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

use zkproto::FourLetterWord;

use crate::{Error, Result};

/// ZooKeeper's `DEFAULT_TICK_TIME`, used when `tickTime` is absent. (The
/// sample zoo.cfg sets 2000, so most installations run with that.)
pub const DEFAULT_TICK_TIME_MS: u32 = 3000;
pub const DEFAULT_CLIENT_PORT: u16 = 2181;
pub const DEFAULT_MAX_CLIENT_CNXNS: u32 = 60;
pub const DEFAULT_INIT_LIMIT: u32 = 10;
pub const DEFAULT_SYNC_LIMIT: u32 = 5;
/// `jute.maxbuffer`: the largest frame a peer may send, 1 MiB - 1.
pub const DEFAULT_JUTE_MAX_BUFFER: u32 = 0xfffff;
pub const DEFAULT_GLOBAL_OUTSTANDING_LIMIT: u32 = 1000;
/// ZooKeeper's default `fsync.warningthresholdms`.
const DEFAULT_FSYNC_WARNING_MS: u64 = 1000;
pub const DEFAULT_SNAP_COUNT: u32 = 100_000;
/// ZooKeeper raises `autopurge.snapRetainCount` to this: its purge tool
/// refuses to keep fewer snapshots.
pub const MIN_SNAP_RETAIN_COUNT: u32 = 3;
/// The only leader election ZooKeeper still ships (fast leader election).
pub const ELECTION_ALG: u32 = 3;
/// Server ids at or above this would put 0xff in a session id's top byte.
pub const MAX_SERVER_ID: u64 = 254;

/// A server's part in the ensemble.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Votes in elections and commits.
    Participant,
    /// Follows the leader without voting.
    Observer,
}

impl Role {
    fn parse(s: &str) -> Option<Role> {
        match s.trim().to_ascii_lowercase().as_str() {
            "participant" => Some(Role::Participant),
            "observer" => Some(Role::Observer),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Participant => "participant",
            Role::Observer => "observer",
        }
    }

    /// ZooKeeper's `LearnerType.ordinal()`, which `conf` prints as `peerType`.
    pub fn ordinal(self) -> u8 {
        match self {
            Role::Participant => 0,
            Role::Observer => 1,
        }
    }
}

/// One `server.N=host:quorumPort:electionPort[:role][;[clientAddr:]clientPort]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSpec {
    pub id: u64,
    /// As written (brackets of an IPv6 literal removed); resolved when used.
    pub host: String,
    pub quorum_port: u16,
    pub election_port: u16,
    pub role: Role,
    /// Where this server serves clients, when the line says so.
    pub client_addr: Option<SocketAddr>,
}

impl fmt::Display for ServerSpec {
    /// The value part of the line, in ZooKeeper's `QuorumServer.toString` form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}:{}",
            bracketed(&self.host),
            self.quorum_port,
            self.election_port,
            self.role.as_str()
        )?;
        if let Some(c) = self.client_addr {
            write!(f, ";{}:{}", bracketed(&c.ip().to_string()), c.port())?;
        }
        Ok(())
    }
}

/// Which four-letter words a client may send (`4lw.commands.whitelist`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FourLetterWhitelist {
    /// `*`
    All,
    /// Always includes `srvr`: ZooKeeper adds it unconditionally because
    /// zkServer.sh's status command depends on it.
    Only(BTreeSet<FourLetterWord>),
}

impl Default for FourLetterWhitelist {
    fn default() -> Self {
        FourLetterWhitelist::Only(BTreeSet::from([FourLetterWord::Srvr]))
    }
}

impl FourLetterWhitelist {
    pub fn allows(&self, word: FourLetterWord) -> bool {
        match self {
            FourLetterWhitelist::All => true,
            FourLetterWhitelist::Only(set) => set.contains(&word),
        }
    }

    /// Parses the comma-separated form; names zkserver does not know are
    /// returned so the caller can warn (ZooKeeper keeps them, to no effect).
    pub fn parse(value: &str) -> (FourLetterWhitelist, Vec<String>) {
        let mut words = BTreeSet::from([FourLetterWord::Srvr]);
        let mut unknown = Vec::new();
        for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if item == "*" {
                return (FourLetterWhitelist::All, unknown);
            }
            match FourLetterWord::ALL.iter().find(|w| w.as_str() == item) {
                Some(w) => {
                    words.insert(*w);
                }
                None => unknown.push(item.to_owned()),
            }
        }
        (FourLetterWhitelist::Only(words), unknown)
    }
}

/// Why a line was accepted but is worth telling the operator about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarningKind {
    /// Neither ZooKeeper nor zkserver reads this key.
    Unknown,
    /// A ZooKeeper setting zkserver accepts but does not act on.
    Ignored,
    /// The value was replaced, as ZooKeeper would replace it.
    Adjusted,
    /// The key appears more than once; the last value wins.
    Duplicate,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// 1-based line of the file (0 when not tied to a line).
    pub line: usize,
    pub key: String,
    pub kind: WarningKind,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "line {}: ", self.line)?;
        }
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// The effective server configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub tick_time_ms: u32,
    pub data_dir: PathBuf,
    /// Transaction log directory; `None` means `data_dir`
    /// (see [`Config::effective_data_log_dir`]).
    pub data_log_dir: Option<PathBuf>,
    /// 0 lets the OS choose.
    pub client_port: u16,
    /// `None` listens on every address (0.0.0.0), ZooKeeper's default.
    pub client_port_address: Option<IpAddr>,
    /// -1 leaves the backlog to the OS.
    pub client_port_listen_backlog: i32,
    /// Per client IP; 0 means unlimited.
    pub max_client_cnxns: u32,
    pub min_session_timeout_ms: i32,
    pub max_session_timeout_ms: i32,
    pub init_limit: u32,
    pub sync_limit: u32,
    /// Sorted by id.
    pub servers: Vec<ServerSpec>,
    /// From `dataDir/myid`; set by [`Config::load`] or [`Config::set_my_id`].
    pub my_id: Option<u64>,
    /// `peerType`; the servers list wins when they disagree.
    pub peer_type: Role,
    pub standalone_enabled: bool,
    pub reconfig_enabled: bool,
    /// The membership version (`version=`, hex), 0 for a static config.
    pub config_version: u64,
    /// `dynamicConfigFile`; [`Config::load`] reads the server lines from it.
    pub dynamic_config_file: Option<PathBuf>,
    pub four_lw_whitelist: FourLetterWhitelist,
    pub jute_max_buffer: u32,
    pub global_outstanding_limit: u32,
    pub snap_count: u32,
    pub autopurge_snap_retain_count: u32,
    /// Hours between purges; 0 disables.
    pub autopurge_purge_interval_hours: u32,
    /// `DigestAuthenticationProvider.superDigest`: `super:<base64 sha1>`.
    pub super_digest: Option<String>,
    /// `skipACL=yes` turns every ACL check off.
    pub skip_acl: bool,
    /// `enforceQuota`: quota overruns fail with QuotaExceeded instead of a log line.
    pub enforce_quota: bool,
    /// `extendedTypesEnabled`: TTL nodes are refused (Unimplemented) without it.
    pub extended_types_enabled: bool,
    /// `forceSync=no` acknowledges writes before the log reaches the disk
    /// (a crash of the machine, not just of the process, can lose them).
    pub force_sync: bool,
    /// `fsync.warningthresholdms`: a log sync slower than this is reported.
    pub fsync_warning_threshold_ms: u64,
    /// `metricsProvider.*` with the prefix removed (`className`, `httpPort`, ...).
    pub metrics_provider: BTreeMap<String, String>,
    /// Every key as written, with its (trimmed) value; the last one wins.
    pub raw: BTreeMap<String, String>,
    /// Whether `clientPort`/`clientPortAddress` were written, which decides if
    /// a client address on this server's `server.N` line conflicts with them.
    client_addr_given: bool,
}

impl Config {
    /// Parses zoo.cfg text without touching the filesystem. Relative
    /// `dataDir`/`dataLogDir`/`dynamicConfigFile` are joined to `base_dir`
    /// when given (ZooKeeper leaves them relative to its working directory).
    /// `my_id` stays `None`: see [`Config::load`] and [`Config::set_my_id`].
    pub fn parse(text: &str, base_dir: Option<&Path>) -> Result<(Config, Vec<Warning>)> {
        let mut b = Builder::default();
        for entry in last_value_wins(properties(text)?, &mut b.warnings) {
            b.raw.insert(entry.key.clone(), entry.value.clone());
            b.apply(&entry)?;
        }
        b.finish(base_dir)
    }

    /// Reads a zoo.cfg file, the dynamic config file it names (if any) and
    /// `dataDir/myid`. Relative paths inside stay relative to the working
    /// directory, as in ZooKeeper.
    pub fn load(path: impl AsRef<Path>) -> Result<(Config, Vec<Warning>)> {
        let path = path.as_ref();
        let text = read_text(path)?;
        let (mut config, mut warnings) = Config::parse(&text, None)?;
        if let Some(dynamic) = config.dynamic_config_file.clone() {
            let text = read_text(&dynamic)?;
            warnings.extend(config.add_dynamic(&text)?);
        }
        let my_id_file = config.data_dir.join("myid");
        match read_my_id(&my_id_file)? {
            Some(id) => warnings.extend(config.set_my_id(id)?),
            None if config.is_distributed() => {
                return Err(Error::config(
                    my_id_file.display().to_string(),
                    "missing: server.N lines make this an ensemble member, and the file must hold this server's id",
                ));
            }
            None => {}
        }
        Ok((config, warnings))
    }

    /// Zero-configuration standalone server: 127.0.0.1:2181 and a fresh
    /// directory under the system temp dir. The directory is kept on exit so
    /// the data can be inspected; removing it is the caller's business.
    pub fn standalone_default() -> Result<Config> {
        let data_dir = fresh_temp_dir()?;
        let (mut config, _) = Builder::default().with_data_dir(&data_dir)?;
        config.client_port_address = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
        Ok(config)
    }

    /// Records this server's id (from `myid`) and applies what follows from
    /// it, as ZooKeeper's setupMyId/setupClientPort/setupPeerType do. An
    /// ensemble member must find its id among the `server.N` lines; a
    /// standalone server ignores the lines, as ZooKeeper does.
    pub fn set_my_id(&mut self, id: u64) -> Result<Vec<Warning>> {
        let mut warnings = Vec::new();
        let listed = self.servers.iter().find(|s| s.id == id).cloned();
        let Some(me) = listed.filter(|_| self.is_distributed()) else {
            if !self.is_distributed() {
                self.my_id = Some(id);
                return Ok(warnings);
            }
            let listed: Vec<String> = self.servers.iter().map(|s| s.id.to_string()).collect();
            return Err(Error::config(
                "myid",
                format!(
                    "server id {id} is not among the server.N lines (listed: {})",
                    listed.join(", ")
                ),
            ));
        };
        if let Some(addr) = me.client_addr {
            let wildcard = !matches!(self.client_port_address, Some(ip) if !ip.is_unspecified());
            let conflicts = self.client_addr_given
                && if wildcard {
                    self.client_port != addr.port()
                } else {
                    self.client_listen_addr() != addr
                };
            if conflicts {
                return Err(Error::config(
                    format!("server.{id}"),
                    format!(
                        "client address {addr} differs from clientPortAddress/clientPort {}",
                        self.client_listen_addr()
                    ),
                ));
            }
            self.client_port = addr.port();
            self.client_port_address = Some(addr.ip());
        }
        if me.role != self.peer_type {
            if self.raw.contains_key("peerType") {
                warnings.push(Warning {
                    line: 0,
                    key: "peerType".into(),
                    kind: WarningKind::Adjusted,
                    message: format!(
                        "{} disagrees with server.{id} ({}); the servers list wins",
                        self.peer_type.as_str(),
                        me.role.as_str()
                    ),
                });
            }
            self.peer_type = me.role;
        }
        self.my_id = Some(id);
        Ok(warnings)
    }

    /// True when this server is one of several voters (ZooKeeper's
    /// `isDistributed`): a lone `server.N` line still runs standalone unless
    /// `standaloneEnabled=false`.
    pub fn is_distributed(&self) -> bool {
        !self.servers.is_empty() && (!self.standalone_enabled || self.participants() > 1)
    }

    fn participants(&self) -> usize {
        self.servers
            .iter()
            .filter(|s| s.role == Role::Participant)
            .count()
    }

    /// This server's own line, once `my_id` is known.
    pub fn me(&self) -> Option<&ServerSpec> {
        let id = self.my_id?;
        self.servers.iter().find(|s| s.id == id)
    }

    pub fn effective_data_log_dir(&self) -> &Path {
        self.data_log_dir.as_deref().unwrap_or(&self.data_dir)
    }

    /// The address the client listener binds.
    pub fn client_listen_addr(&self) -> SocketAddr {
        let ip = self
            .client_port_address
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        SocketAddr::new(ip, self.client_port)
    }

    pub fn session_timeout_bounds(&self) -> (i32, i32) {
        (self.min_session_timeout_ms, self.max_session_timeout_ms)
    }

    /// The timeout a ConnectRequest gets: its request clamped into the bounds.
    pub fn negotiate_timeout(&self, requested_ms: i32) -> i32 {
        let (min, max) = self.session_timeout_bounds();
        requested_ms.clamp(min, max)
    }

    /// Where snapshots live: `<dataDir>/snapshots`.
    pub fn snapshot_dir(&self) -> PathBuf {
        self.data_dir.join("snapshots")
    }

    /// Where the Raft log lives: `<dataLogDir or dataDir>/raft`.
    pub fn log_dir(&self) -> PathBuf {
        self.effective_data_log_dir().join("raft")
    }

    /// Bytes under the snapshot and log directories, measured now (as
    /// ZooKeeper measures for `conf`, `dirs` and `mntr`).
    pub fn dir_sizes(&self) -> (u64, u64) {
        (dir_size(&self.snapshot_dir()), dir_size(&self.log_dir()))
    }

    /// What the `conf` four-letter word shows, with ZooKeeper 3.8's keys:
    /// `ZooKeeperServer.dumpConf`, plus the quorum keys and membership of
    /// `QuorumZooKeeperServer.dumpConf` for an ensemble member. The
    /// directories are zkserver's real ones (where ZooKeeper shows its
    /// `version-2` folders).
    pub fn conf_view(&self) -> crate::fourlw::ConfView {
        let distributed = self.is_distributed();
        let me = self.me();
        let quorum = distributed.then(|| crate::fourlw::QuorumConf {
            init_limit: self.init_limit,
            sync_limit: self.sync_limit,
            election_alg: ELECTION_ALG,
            election_port: me.map_or(0, |s| s.election_port),
            quorum_port: me.map_or(0, |s| s.quorum_port),
            peer_type: u32::from(self.peer_type.ordinal()),
            members: self.servers.iter().map(|s| (s.id, s.to_string())).collect(),
            config_version: self.config_version as i64,
        });
        crate::fourlw::ConfView {
            client_port: self.client_port,
            // zkserver serves no TLS port; ZooKeeper prints -1 for "none".
            secure_client_port: -1,
            data_dir: absolute(&self.snapshot_dir()).display().to_string(),
            data_log_dir: absolute(&self.log_dir()).display().to_string(),
            tick_time: self.tick_time_ms,
            max_client_cnxns: self.max_client_cnxns,
            min_session_timeout: self.min_session_timeout_ms,
            max_session_timeout: self.max_session_timeout_ms,
            client_port_listen_backlog: self.client_port_listen_backlog,
            server_id: if distributed {
                self.my_id.unwrap_or(0) as i64
            } else {
                0
            },
            quorum,
        }
    }

    /// Takes `server.N` and `version` lines from a dynamic config file.
    fn add_dynamic(&mut self, text: &str) -> Result<Vec<Warning>> {
        let mut b = Builder::default();
        for entry in last_value_wins(properties(text)?, &mut b.warnings) {
            if entry.key.starts_with("server.") || entry.key == "version" {
                b.apply(&entry)?;
            } else {
                return Err(Error::config(
                    entry.key,
                    format!(
                        "not allowed in the dynamic config file (line {})",
                        entry.line
                    ),
                ));
            }
        }
        if let Some(v) = b.config_version {
            self.config_version = v;
        }
        self.servers = b.servers.into_values().collect();
        check_membership(self)?;
        Ok(b.warnings)
    }
}

/// Reads `myid`: `None` when absent, an error naming the file when unusable.
fn read_my_id(path: &Path) -> Result<Option<u64>> {
    let text = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
    };
    let text = String::from_utf8_lossy(&text);
    let first = text.lines().next().unwrap_or("").trim();
    first.parse::<u64>().map(Some).map_err(|_| {
        Error::config(
            path.display().to_string(),
            format!("expected this server's id (an integer) on the first line, got {first:?}"),
        )
    })
}

fn read_text(path: &Path) -> Result<String> {
    let bytes =
        std::fs::read(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    String::from_utf8(bytes)
        .map_err(|_| Error::config(path.display().to_string(), "not UTF-8 text"))
}

fn fresh_temp_dir() -> Result<PathBuf> {
    let base = std::env::temp_dir();
    let pid = std::process::id();
    let mut last = None;
    // A collision needs the same pid and the same 32 random bits; a few
    // attempts are plenty.
    for _ in 0..8 {
        let dir = base.join(format!("zkserver-{pid}-{:08x}", rand::random::<u32>()));
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(Error::io(format!("creating {}", dir.display()), e)),
        }
    }
    let e = last.unwrap_or_else(|| std::io::Error::from(std::io::ErrorKind::AlreadyExists));
    Err(Error::io(
        format!("creating a directory in {}", base.display()),
        e,
    ))
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Total size of the files under `path` (0 if it does not exist). Bounded in
/// depth so a symlink loop cannot hang a `conf` request.
fn dir_size(path: &Path) -> u64 {
    fn walk(path: &Path, depth: u32) -> u64 {
        let Ok(meta) = std::fs::metadata(path) else {
            return 0;
        };
        if !meta.is_dir() {
            return meta.len();
        }
        if depth == 0 {
            return 0;
        }
        let Ok(entries) = std::fs::read_dir(path) else {
            return 0;
        };
        entries
            .filter_map(|e| e.ok())
            .map(|e| walk(&e.path(), depth - 1))
            .sum()
    }
    walk(path, 16)
}

fn bracketed(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

// ---- java.util.Properties ----

/// One `key=value` of the file, escapes resolved and both sides trimmed the
/// way ZooKeeper trims them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    line: usize,
    key: String,
    value: String,
}

fn is_prop_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\x0c')
}

/// Java's `String.trim()`: everything up to and including U+0020.
fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

/// Splits text into entries as `Properties.load` does: `#`/`!` comment
/// lines, a trailing odd backslash joins the next line, and the key ends at the
/// first unescaped `=`, `:` or whitespace.
fn properties(text: &str) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((index, natural)) = lines.next() {
        let start = natural.trim_start_matches(is_prop_space);
        if start.is_empty() || start.starts_with('#') || start.starts_with('!') {
            continue;
        }
        let mut logical = start.to_owned();
        while ends_in_escape(&logical) {
            logical.pop();
            match lines.next() {
                Some((_, next)) => logical.push_str(next.trim_start_matches(is_prop_space)),
                None => break,
            }
        }
        let line = index + 1;
        let (key, value) = split_key_value(&logical);
        out.push(Entry {
            line,
            key: java_trim(&unescape(key, line)?).to_owned(),
            value: java_trim(&unescape(value, line)?).to_owned(),
        });
    }
    Ok(out)
}

fn ends_in_escape(s: &str) -> bool {
    s.chars().rev().take_while(|&c| c == '\\').count() % 2 == 1
}

fn split_key_value(line: &str) -> (&str, &str) {
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '=' || c == ':' || is_prop_space(c) {
            let rest = line[i + c.len_utf8()..].trim_start_matches(is_prop_space);
            let rest = if is_prop_space(c) {
                rest.strip_prefix(['=', ':'])
                    .map_or(rest, |r| r.trim_start_matches(is_prop_space))
            } else {
                rest
            };
            return (&line[..i], rest);
        }
    }
    (line, "")
}

fn unescape(s: &str, line: usize) -> Result<String> {
    let malformed = || {
        Error::config(
            format!("line {line}"),
            format!("malformed \\uXXXX escape in {s:?}"),
        )
    };
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\x0c'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let unit = u16::from_str_radix(&hex, 16).map_err(|_| malformed())?;
                let c = if (0xd800..0xdc00).contains(&unit) {
                    // A high surrogate must be followed by its low half.
                    let rest = chars.as_str();
                    let low = rest
                        .strip_prefix("\\u")
                        .and_then(|r| r.get(..4))
                        .and_then(|h| u16::from_str_radix(h, 16).ok())
                        .ok_or_else(malformed)?;
                    chars = rest[6..].chars();
                    char::decode_utf16([unit, low])
                        .next()
                        .and_then(|r| r.ok())
                        .ok_or_else(malformed)?
                } else {
                    char::from_u32(u32::from(unit)).ok_or_else(malformed)?
                };
                out.push(c);
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    Ok(out)
}

/// Properties keeps the last value of a repeated key.
fn last_value_wins(entries: Vec<Entry>, warnings: &mut Vec<Warning>) -> Vec<Entry> {
    let mut last: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, e) in entries.iter().enumerate() {
        if let Some(prev) = last.insert(&e.key, i) {
            warnings.push(Warning {
                line: e.line,
                key: e.key.clone(),
                kind: WarningKind::Duplicate,
                message: format!(
                    "also set on line {}; this later value wins",
                    entries[prev].line
                ),
            });
        }
    }
    let keep: BTreeSet<usize> = last.into_values().collect();
    entries
        .into_iter()
        .enumerate()
        .filter(|(i, _)| keep.contains(i))
        .map(|(_, e)| e)
        .collect()
}

// ---- interpretation ----

/// Keys ZooKeeper reads (as zoo.cfg keys or `zookeeper.*` system properties)
/// that zkserver accepts without acting on them.
const IGNORED_KEYS: &[&str] = &[
    "localSessionsEnabled",
    "localSessionsUpgradingEnabled",
    "secureClientPort",
    "secureClientPortAddress",
    "observerMasterPort",
    "connectToLearnerMasterLimit",
    "quorumListenOnAllIPs",
    "syncEnabled",
    "sslQuorum",
    "portUnification",
    "sslQuorumReloadCertFiles",
    "quorum.cnxn.threads.size",
    "oraclePath",
    "multiAddress.enabled",
    "multiAddress.reachabilityCheckTimeoutMs",
    "multiAddress.reachabilityCheckEnabled",
    "preAllocSize",
    "txnLogSizeLimitInKb",
    "snapSizeLimitInKb",
    "leaderServes",
    "cnxTimeout",
    "electionPortBindRetry",
    "commitLogCount",
    "digest.enabled",
    "sessionRequireClientSASLAuth",
    "enforce.auth.enabled",
    "enforce.auth.schemes",
    "maxCnxns",
    "serverCnxnFactory",
    "watchManagerName",
    "readonlymode.enabled",
    "audit.enable",
    "flushDelay",
    "maxWriteQueuePollTime",
    "maxBatchSize",
    "requestThrottleLimit",
    "requestThrottleStallTime",
    "requestThrottleDropStale",
    "enableEagerACLCheck",
    "superUser",
    "X509AuthenticationProvider.superUser",
    "DigestAuthenticationProvider.enabled",
    "jute.maxbuffer.extrasize",
];

/// Prefixes of ZooKeeper key families zkserver accepts without acting on them.
const IGNORED_PREFIXES: &[&str] = &[
    "admin.",
    "ssl.",
    "quorum.auth.",
    "jvm.pause.",
    "authProvider.",
    "netty.",
    "nio.",
    "kerberos.",
    "learner.",
    "leader.",
];

/// Keys ZooKeeper reads as `zookeeper.<key>` system properties; zoo.cfg may
/// spell them either way.
const SYSTEM_PROPERTY_KEYS: &[&str] = &[
    "4lw.commands.whitelist",
    "jute.maxbuffer",
    "globalOutstandingLimit",
    "snapCount",
    "DigestAuthenticationProvider.superDigest",
    "DigestAuthenticationProvider.digestAlg",
    "skipACL",
    "enforceQuota",
    "extendedTypesEnabled",
    "forceSync",
    "fsync.warningthresholdms",
];

fn is_ignored(name: &str) -> bool {
    IGNORED_KEYS.contains(&name) || IGNORED_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// The name a key is interpreted under: `zookeeper.` dropped when the rest is
/// a key we know.
fn canonical_key(key: &str) -> &str {
    match key.strip_prefix("zookeeper.") {
        Some(rest) if SYSTEM_PROPERTY_KEYS.contains(&rest) || is_ignored(rest) => rest,
        _ => key,
    }
}

#[derive(Default)]
struct Builder {
    warnings: Vec<Warning>,
    raw: BTreeMap<String, String>,
    tick_time_ms: Option<u32>,
    data_dir: Option<PathBuf>,
    data_log_dir: Option<PathBuf>,
    client_port: Option<u16>,
    client_port_address: Option<IpAddr>,
    client_port_listen_backlog: Option<i32>,
    max_client_cnxns: Option<u32>,
    min_session_timeout_ms: Option<i32>,
    max_session_timeout_ms: Option<i32>,
    init_limit: Option<u32>,
    sync_limit: Option<u32>,
    servers: BTreeMap<u64, ServerSpec>,
    peer_type: Option<Role>,
    standalone_enabled: Option<bool>,
    reconfig_enabled: Option<bool>,
    config_version: Option<u64>,
    dynamic_config_file: Option<PathBuf>,
    four_lw_whitelist: Option<FourLetterWhitelist>,
    jute_max_buffer: Option<u32>,
    global_outstanding_limit: Option<u32>,
    snap_count: Option<u32>,
    autopurge_snap_retain_count: Option<u32>,
    autopurge_purge_interval_hours: Option<u32>,
    super_digest: Option<String>,
    skip_acl: Option<bool>,
    enforce_quota: Option<bool>,
    extended_types_enabled: Option<bool>,
    force_sync: Option<bool>,
    fsync_warning_threshold_ms: Option<u64>,
    metrics_provider: BTreeMap<String, String>,
}

/// A bad value: `<key>: expected <what>, got "<value>" (line N)`.
fn bad(e: &Entry, what: &str) -> Error {
    Error::config(
        e.key.clone(),
        format!("expected {what}, got {:?} (line {})", e.value, e.line),
    )
}

fn positive(e: &Entry) -> Result<u32> {
    match e.value.parse::<u32>() {
        Ok(n) if n > 0 && n <= i32::MAX as u32 => Ok(n),
        _ => Err(bad(e, "a positive integer")),
    }
}

fn non_negative(e: &Entry) -> Result<u32> {
    match e.value.parse::<u32>() {
        Ok(n) if n <= i32::MAX as u32 => Ok(n),
        _ => Err(bad(e, "a non-negative integer")),
    }
}

fn int(e: &Entry) -> Result<i32> {
    e.value.parse::<i32>().map_err(|_| bad(e, "an integer"))
}

/// ZooKeeper's parseBoolean: `true`/`false` in any case, nothing else.
fn boolean(e: &Entry) -> Result<bool> {
    if e.value.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if e.value.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(bad(e, "true or false"))
    }
}

/// Resolves an address the way `InetAddress.getByName` would, literal first.
fn resolve_ip(host: &str) -> Option<IpAddr> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Some(ip);
    }
    (host, 0)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .map(|a| a.ip())
}

/// ZooKeeper's ConfigUtils.getHostAndPort: `[v6]:a:b` or `host:a:b`, with
/// trailing empty fields dropped as Java's `split` drops them.
fn host_and_ports(s: &str) -> Option<Vec<&str>> {
    let mut parts: Vec<&str> = match s.strip_prefix('[') {
        Some(rest) => {
            let (host, after) = rest.split_once(']')?;
            let ports = after.strip_prefix(':')?;
            if ports.is_empty() {
                return None;
            }
            std::iter::once(host).chain(ports.split(':')).collect()
        }
        None => s.split(':').collect(),
    };
    while parts.len() > 1 && parts.last() == Some(&"") {
        parts.pop();
    }
    Some(parts)
}

const SERVER_FORM: &str =
    "host:quorumPort:electionPort[:participant|observer][;[clientAddress:]clientPort]";

fn server_spec(e: &Entry, id_text: &str) -> Result<ServerSpec> {
    let id = id_text
        .parse::<u64>()
        .map_err(|_| bad(e, "server.N with N a non-negative integer"))?;
    if id > MAX_SERVER_ID {
        return Err(Error::config(
            e.key.clone(),
            format!(
                "server ids must be at most {MAX_SERVER_ID}: the id is the top byte of session ids, and 0xff there marks a TTL node (line {})",
                e.line
            ),
        ));
    }
    let wrong = |why: &str| {
        Error::config(
            e.key.clone(),
            format!(
                "expected {SERVER_FORM}, got {:?}: {why} (line {})",
                e.value, e.line
            ),
        )
    };
    let mut halves = e.value.split(';');
    let server = halves.next().unwrap_or("");
    let client = halves.next();
    if halves.next().is_some() {
        return Err(wrong("more than one ';'"));
    }
    if server.contains('|') {
        return Err(wrong("multiple addresses per server are not supported"));
    }
    let parts = host_and_ports(server).ok_or_else(|| wrong("bad [host] brackets"))?;
    if !(3..=4).contains(&parts.len()) {
        return Err(wrong("needs a host and two ports"));
    }
    let host = parts[0].trim();
    if host.is_empty() {
        return Err(wrong("empty host"));
    }
    let port = |s: &str, what: &str| match s.trim().parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(wrong(&format!("{what} {s:?} is not a port"))),
    };
    let quorum_port = port(parts[1], "quorum port")?;
    let election_port = port(parts[2], "election port")?;
    if quorum_port == election_port {
        return Err(wrong("the quorum and election ports must differ"));
    }
    let role = match parts.get(3) {
        Some(r) => Role::parse(r).ok_or_else(|| wrong(&format!("unknown role {r:?}")))?,
        None => Role::Participant,
    };
    let client_addr = match client {
        None => None,
        Some(c) => {
            let cparts = host_and_ports(c.trim()).ok_or_else(|| wrong("bad client address"))?;
            let (chost, cport) = match cparts.as_slice() {
                [p] => ("0.0.0.0", *p),
                [h, p] => (*h, *p),
                _ => return Err(wrong("bad client address")),
            };
            let cport = match cport.trim().parse::<u16>() {
                Ok(p) => p,
                Err(_) => return Err(wrong(&format!("client port {cport:?} is not a port"))),
            };
            let ip = resolve_ip(chost.trim())
                .ok_or_else(|| wrong(&format!("cannot resolve client address {chost:?}")))?;
            Some(SocketAddr::new(ip, cport))
        }
    };
    Ok(ServerSpec {
        id,
        host: host.to_owned(),
        quorum_port,
        election_port,
        role,
        client_addr,
    })
}

impl Builder {
    fn note(&mut self, e: &Entry, kind: WarningKind, message: impl Into<String>) {
        self.warnings.push(Warning {
            line: e.line,
            key: e.key.clone(),
            kind,
            message: message.into(),
        });
    }

    fn apply(&mut self, e: &Entry) -> Result<()> {
        let name = canonical_key(&e.key);
        match name {
            "tickTime" => self.tick_time_ms = Some(positive(e)?),
            "dataDir" | "dataLogDir" | "dynamicConfigFile" => {
                if e.value.is_empty() {
                    return Err(bad(e, "a directory path"));
                }
                let p = Some(PathBuf::from(&e.value));
                match name {
                    "dataDir" => self.data_dir = p,
                    "dataLogDir" => self.data_log_dir = p,
                    _ => self.dynamic_config_file = p,
                }
            }
            "clientPort" => {
                self.client_port = Some(e.value.parse().map_err(|_| bad(e, "a port number"))?);
            }
            "clientPortAddress" => {
                let ip = resolve_ip(&e.value).ok_or_else(|| bad(e, "an IP address"))?;
                self.client_port_address = Some(ip);
            }
            "clientPortListenBacklog" => self.client_port_listen_backlog = Some(int(e)?),
            "maxClientCnxns" => self.max_client_cnxns = Some(non_negative(e)?),
            "minSessionTimeout" | "maxSessionTimeout" => {
                // -1 is ZooKeeper's "derive from tickTime".
                let v = match e.value.parse::<i32>() {
                    Ok(-1) => None,
                    Ok(n) if n > 0 => Some(n),
                    _ => return Err(bad(e, "a positive number of milliseconds or -1")),
                };
                if name == "minSessionTimeout" {
                    self.min_session_timeout_ms = v;
                } else {
                    self.max_session_timeout_ms = v;
                }
            }
            "initLimit" => self.init_limit = Some(positive(e)?),
            "syncLimit" => self.sync_limit = Some(positive(e)?),
            "electionAlg" => {
                if e.value.parse::<u32>() != Ok(ELECTION_ALG) {
                    return Err(bad(e, "3 (the only election algorithm)"));
                }
            }
            "peerType" => {
                self.peer_type =
                    Some(Role::parse(&e.value).ok_or_else(|| bad(e, "participant or observer"))?);
            }
            "standaloneEnabled" => self.standalone_enabled = Some(boolean(e)?),
            "reconfigEnabled" => self.reconfig_enabled = Some(boolean(e)?),
            "version" => {
                let v = u64::from_str_radix(&e.value, 16)
                    .map_err(|_| bad(e, "a hexadecimal version"))?;
                self.config_version = Some(v);
            }
            "autopurge.snapRetainCount" => {
                let n = int(e)?;
                let n = if n < MIN_SNAP_RETAIN_COUNT as i32 {
                    self.note(
                        e,
                        WarningKind::Adjusted,
                        format!("{n} is below the minimum; using {MIN_SNAP_RETAIN_COUNT}"),
                    );
                    MIN_SNAP_RETAIN_COUNT
                } else {
                    n as u32
                };
                self.autopurge_snap_retain_count = Some(n);
            }
            "autopurge.purgeInterval" => {
                // ZooKeeper treats any value <= 0 as "never purge".
                self.autopurge_purge_interval_hours = Some(int(e)?.max(0) as u32);
            }
            "4lw.commands.whitelist" => {
                let (list, unknown) = FourLetterWhitelist::parse(&e.value);
                if !unknown.is_empty() {
                    self.note(
                        e,
                        WarningKind::Ignored,
                        format!(
                            "not four-letter words zkserver knows: {}",
                            unknown.join(", ")
                        ),
                    );
                }
                self.four_lw_whitelist = Some(list);
            }
            "jute.maxbuffer" => self.jute_max_buffer = Some(positive(e)?),
            "globalOutstandingLimit" => self.global_outstanding_limit = Some(positive(e)?),
            "snapCount" => {
                let n = int(e)?;
                // SyncRequestProcessor rolls a random offset in [0, snapCount/2).
                let n = if n < 2 {
                    self.note(e, WarningKind::Adjusted, format!("{n} is below 2; using 2"));
                    2
                } else {
                    n as u32
                };
                self.snap_count = Some(n);
            }
            "DigestAuthenticationProvider.superDigest" => {
                if !e.value.contains(':') {
                    return Err(bad(e, "super:<base64 of sha1(super:password)>"));
                }
                self.super_digest = Some(e.value.clone());
            }
            "DigestAuthenticationProvider.digestAlg" => {
                if !e.value.eq_ignore_ascii_case("SHA1") && !e.value.eq_ignore_ascii_case("SHA-1") {
                    return Err(bad(e, "SHA1 (the only digest zkserver implements)"));
                }
            }
            "skipACL" => {
                // ZooKeeper compares against "yes"; anything else leaves ACLs on.
                self.skip_acl = Some(e.value == "yes");
                if e.value != "yes" && e.value != "no" {
                    self.note(
                        e,
                        WarningKind::Adjusted,
                        "only \"yes\" skips ACL checks; treating it as \"no\"",
                    );
                }
            }
            "enforceQuota" => self.enforce_quota = Some(boolean(e)?),
            "extendedTypesEnabled" => self.extended_types_enabled = Some(boolean(e)?),
            "forceSync" => {
                // ZooKeeper syncs unless the value is exactly "no".
                self.force_sync = Some(e.value != "no");
                if e.value != "yes" && e.value != "no" {
                    self.note(
                        e,
                        WarningKind::Adjusted,
                        "only \"no\" turns syncing off; treating it as \"yes\"",
                    );
                }
            }
            "fsync.warningthresholdms" => {
                // 0 reports every sync, which is how to watch the disk.
                self.fsync_warning_threshold_ms = Some(u64::from(non_negative(e)?));
            }
            "metricsProvider.className" => {
                self.metrics_provider
                    .insert("className".into(), e.value.clone());
                self.note(
                    e,
                    WarningKind::Ignored,
                    "kept, but zkserver starts no metrics provider; use mntr",
                );
            }
            _ if name.starts_with("metricsProvider.") => {
                self.metrics_provider
                    .insert(name["metricsProvider.".len()..].to_owned(), e.value.clone());
            }
            "admin.enableServer" => {
                boolean(e)?;
                self.note(e, WarningKind::Ignored, "zkserver has no AdminServer; the four-letter words on the client port serve the same commands");
            }
            _ if name.starts_with("server.") => {
                let spec = server_spec(e, &name["server.".len()..])?;
                if let Some(prev) = self.servers.get(&spec.id) {
                    return Err(Error::config(
                        e.key.clone(),
                        format!(
                            "server id {} is listed twice ({} and {}) (line {})",
                            spec.id, prev.host, spec.host, e.line
                        ),
                    ));
                }
                self.servers.insert(spec.id, spec);
            }
            _ if name.starts_with("group.") || name.starts_with("weight.") => {
                return Err(Error::config(
                    e.key.clone(),
                    format!("hierarchical quorums are not supported (line {})", e.line),
                ));
            }
            _ if is_ignored(name) => {
                self.note(
                    e,
                    WarningKind::Ignored,
                    "a ZooKeeper setting zkserver accepts but does not use",
                );
            }
            _ => self.note(e, WarningKind::Unknown, "unknown key; ignored"),
        }
        Ok(())
    }

    /// The defaults-only config, for when no file is involved.
    fn with_data_dir(self, data_dir: &Path) -> Result<(Config, Vec<Warning>)> {
        let mut b = self;
        b.data_dir = Some(data_dir.to_path_buf());
        b.finish(None)
    }

    fn finish(self, base_dir: Option<&Path>) -> Result<(Config, Vec<Warning>)> {
        let rebase = |p: PathBuf| match base_dir {
            Some(base) if p.is_relative() => base.join(p),
            _ => p,
        };
        let data_dir = self.data_dir.map(rebase).ok_or_else(|| {
            Error::config(
                "dataDir",
                "is required (the directory for snapshots and myid)",
            )
        })?;
        if self.client_port_address.is_some() && self.client_port.is_none() {
            return Err(Error::config(
                "clientPortAddress",
                "is set but clientPort is not",
            ));
        }
        let tick = self.tick_time_ms.unwrap_or(DEFAULT_TICK_TIME_MS);
        let ticks = |n: i64| {
            i32::try_from(i64::from(tick) * n).map_err(|_| {
                Error::config(
                    "tickTime",
                    format!("{tick} is too large: {n} ticks must fit a 32-bit session timeout"),
                )
            })
        };
        let min = match self.min_session_timeout_ms {
            Some(v) => v,
            None => ticks(2)?,
        };
        let max = match self.max_session_timeout_ms {
            Some(v) => v,
            None => ticks(20)?,
        };
        if min > max {
            return Err(Error::config(
                "minSessionTimeout",
                format!("{min} must not be larger than maxSessionTimeout ({max})"),
            ));
        }
        let config = Config {
            tick_time_ms: tick,
            data_dir,
            data_log_dir: self.data_log_dir.map(rebase),
            client_port: self.client_port.unwrap_or(DEFAULT_CLIENT_PORT),
            client_port_address: self.client_port_address,
            client_port_listen_backlog: self.client_port_listen_backlog.unwrap_or(-1),
            max_client_cnxns: self.max_client_cnxns.unwrap_or(DEFAULT_MAX_CLIENT_CNXNS),
            min_session_timeout_ms: min,
            max_session_timeout_ms: max,
            init_limit: self.init_limit.unwrap_or(DEFAULT_INIT_LIMIT),
            sync_limit: self.sync_limit.unwrap_or(DEFAULT_SYNC_LIMIT),
            servers: self.servers.into_values().collect(),
            my_id: None,
            peer_type: self.peer_type.unwrap_or(Role::Participant),
            standalone_enabled: self.standalone_enabled.unwrap_or(true),
            reconfig_enabled: self.reconfig_enabled.unwrap_or(false),
            config_version: self.config_version.unwrap_or(0),
            dynamic_config_file: self.dynamic_config_file.map(rebase),
            four_lw_whitelist: self.four_lw_whitelist.unwrap_or_default(),
            jute_max_buffer: self.jute_max_buffer.unwrap_or(DEFAULT_JUTE_MAX_BUFFER),
            global_outstanding_limit: self
                .global_outstanding_limit
                .unwrap_or(DEFAULT_GLOBAL_OUTSTANDING_LIMIT),
            snap_count: self.snap_count.unwrap_or(DEFAULT_SNAP_COUNT),
            autopurge_snap_retain_count: self
                .autopurge_snap_retain_count
                .unwrap_or(MIN_SNAP_RETAIN_COUNT),
            autopurge_purge_interval_hours: self.autopurge_purge_interval_hours.unwrap_or(0),
            super_digest: self.super_digest,
            skip_acl: self.skip_acl.unwrap_or(false),
            enforce_quota: self.enforce_quota.unwrap_or(false),
            extended_types_enabled: self.extended_types_enabled.unwrap_or(false),
            force_sync: self.force_sync.unwrap_or(true),
            fsync_warning_threshold_ms: self
                .fsync_warning_threshold_ms
                .unwrap_or(DEFAULT_FSYNC_WARNING_MS),
            metrics_provider: self.metrics_provider,
            raw: self.raw,
            client_addr_given: self.client_port.is_some(),
        };
        if config.dynamic_config_file.is_some() {
            if let Some(s) = config.servers.first() {
                return Err(Error::config(
                    format!("server.{}", s.id),
                    "must be in the dynamic config file when dynamicConfigFile is set",
                ));
            }
        } else {
            check_membership(&config)?;
        }
        Ok((config, self.warnings))
    }
}

/// ZooKeeper's parseDynamicConfig checks on the set of servers.
fn check_membership(c: &Config) -> Result<()> {
    let participants = c.participants();
    let observers = c.servers.len() - participants;
    if participants == 0 && !c.standalone_enabled {
        return Err(Error::config(
            "standaloneEnabled",
            "is false, so at least one participant server.N line is required",
        ));
    }
    if observers > 0 && (participants == 0 || (participants == 1 && c.standalone_enabled)) {
        return Err(Error::config(
            "server.N",
            "observers need a quorum of participants to follow",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> (Config, Vec<Warning>) {
        match Config::parse(text, Some(Path::new("/base"))) {
            Ok(r) => r,
            Err(e) => panic!("{text:?} should parse: {e}"),
        }
    }

    fn parse_err(text: &str) -> String {
        match Config::parse(text, Some(Path::new("/base"))) {
            Ok(_) => panic!("{text:?} should be rejected"),
            Err(e) => e.to_string(),
        }
    }

    /// The keys of the `key=value` lines of a rendering, in order.
    /// The `conf` answer for `c`, through the four-letter-word renderer.
    fn render(c: &Config) -> String {
        let (data_dir_size, log_dir_size) = c.dir_sizes();
        let view = crate::fourlw::ServerView {
            conf: c.conf_view(),
            data_dir_size,
            log_dir_size,
            serving: true,
            ..Default::default()
        };
        crate::fourlw::answer(zkproto::FourLetterWord::Conf, &view).unwrap()
    }

    fn keys(rendered: &str) -> Vec<&str> {
        rendered
            .lines()
            .filter_map(|l| l.split_once('=').map(|(k, _)| k))
            .filter(|k| !k.starts_with("server."))
            .collect()
    }

    #[test]
    fn debian_zoo_cfg_as_shipped() {
        let path = Path::new("/etc/zookeeper/conf/zoo.cfg");
        let Ok(text) = std::fs::read_to_string(path) else {
            println!("note: {} is absent; skipping", path.display());
            return;
        };
        let (c, warnings) = Config::parse(&text, None).expect("Debian's zoo.cfg parses");
        // What the file says, read independently of our parser.
        let mut expected = BTreeMap::new();
        for l in text.lines().map(str::trim) {
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let (k, v) = l.split_once('=').expect("sample lines are key=value");
            expected.insert(k.trim().to_owned(), v.trim().to_owned());
        }
        assert_eq!(c.raw, expected);
        let num = |k: &str| expected.get(k).map(|v| v.parse::<u32>().unwrap());
        assert_eq!(
            Some(c.tick_time_ms),
            num("tickTime").or(Some(DEFAULT_TICK_TIME_MS))
        );
        assert_eq!(
            Some(c.init_limit),
            num("initLimit").or(Some(DEFAULT_INIT_LIMIT))
        );
        assert_eq!(
            Some(c.sync_limit),
            num("syncLimit").or(Some(DEFAULT_SYNC_LIMIT))
        );
        assert_eq!(
            Some(u32::from(c.client_port)),
            num("clientPort").or(Some(u32::from(DEFAULT_CLIENT_PORT)))
        );
        assert_eq!(c.data_dir, PathBuf::from(&expected["dataDir"]));
        assert_eq!(c.effective_data_log_dir(), c.data_dir.as_path());
        assert_eq!(c.min_session_timeout_ms, 2 * c.tick_time_ms as i32);
        assert_eq!(c.max_session_timeout_ms, 20 * c.tick_time_ms as i32);
        assert!(c.servers.is_empty() && !c.is_distributed());
        assert_eq!(c.four_lw_whitelist, FourLetterWhitelist::default());
        assert!(warnings.is_empty(), "{warnings:?}");

        // load() on a copy whose dataDir is redirected to a fresh directory.
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("zoo.cfg");
        let redirected = format!("{text}\ndataDir={}\n", dir.path().display());
        std::fs::write(&cfg, redirected).unwrap();
        let (loaded, warnings) = Config::load(&cfg).unwrap();
        assert_eq!(loaded.data_dir, dir.path());
        assert_eq!(loaded.my_id, None);
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].kind, WarningKind::Duplicate);
        assert_eq!(warnings[0].key, "dataDir");
    }

    const ENSEMBLE: &str = "\
tickTime=2000
dataDir=data
dataLogDir=/var/log/zk
initLimit=5
syncLimit=2
server.1=zk1.example:2888:3888
server.2=zk2.example:2888:3888:participant;127.0.0.1:2182
server.3 = [::1]:2889:3889 ;2183
server.9=zk9.example:2890:3890:observer;0.0.0.0:2189
";

    #[test]
    fn ensemble_lines_roles_and_client_ports() {
        let (mut c, warnings) = parse_ok(ENSEMBLE);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(c.data_dir, Path::new("/base/data"));
        assert_eq!(c.effective_data_log_dir(), Path::new("/var/log/zk"));
        let ids: Vec<u64> = c.servers.iter().map(|s| s.id).collect();
        assert_eq!(ids, [1, 2, 3, 9]);
        let s1 = &c.servers[0];
        assert_eq!(
            (
                s1.host.as_str(),
                s1.quorum_port,
                s1.election_port,
                s1.role,
                s1.client_addr
            ),
            ("zk1.example", 2888, 3888, Role::Participant, None)
        );
        assert_eq!(
            c.servers[1].client_addr,
            Some("127.0.0.1:2182".parse().unwrap())
        );
        assert_eq!(c.servers[2].host, "::1");
        assert_eq!(
            c.servers[2].client_addr,
            Some("0.0.0.0:2183".parse().unwrap())
        );
        assert_eq!(c.servers[3].role, Role::Observer);
        assert!(c.is_distributed());

        c.set_my_id(2).unwrap();
        assert_eq!(c.client_listen_addr(), "127.0.0.1:2182".parse().unwrap());
        assert_eq!(c.me().map(|s| s.quorum_port), Some(2888));

        let rendered = render(&c);
        assert_eq!(
            keys(&rendered),
            [
                "clientPort",
                "secureClientPort",
                "dataDir",
                "dataDirSize",
                "dataLogDir",
                "dataLogSize",
                "tickTime",
                "maxClientCnxns",
                "minSessionTimeout",
                "maxSessionTimeout",
                "clientPortListenBacklog",
                "serverId",
                "initLimit",
                "syncLimit",
                "electionAlg",
                "electionPort",
                "quorumPort",
                "peerType",
                "version",
            ]
        );
        assert!(rendered.contains("\nserverId=2\n"));
        assert!(rendered.starts_with("clientPort=2182\n"));
        assert!(rendered.contains("\ndataLogDir=/var/log/zk/raft\n"));
        assert!(rendered.contains("\npeerType=0\nmembership: \n"));
        assert!(rendered.ends_with(
            "server.1=zk1.example:2888:3888:participant\n\
             server.2=zk2.example:2888:3888:participant;127.0.0.1:2182\n\
             server.3=[::1]:2889:3889:participant;0.0.0.0:2183\n\
             server.9=zk9.example:2890:3890:observer;0.0.0.0:2189\n\
             version=0"
        ));

        // The observer takes its role from the servers list.
        let (mut o, _) = parse_ok(&format!("{ENSEMBLE}peerType=participant\n"));
        let warnings = o.set_my_id(9).unwrap();
        assert_eq!(o.peer_type, Role::Observer);
        assert_eq!(warnings[0].kind, WarningKind::Adjusted);
        assert!(render(&o).contains("\npeerType=1\n"));

        // An id that is not listed cannot join.
        let (mut c, _) = parse_ok(ENSEMBLE);
        let e = c.set_my_id(4).unwrap_err().to_string();
        assert!(e.contains("server id 4 is not among"), "{e}");
    }

    #[test]
    fn client_port_conflicting_with_server_line() {
        let (mut c, _) = parse_ok(&format!("{ENSEMBLE}clientPort=2181\n"));
        let e = c.set_my_id(2).unwrap_err().to_string();
        assert!(
            e.contains("server.2") && e.contains("127.0.0.1:2182"),
            "{e}"
        );
        // Same port on the wildcard address is consistent.
        let (mut c, _) = parse_ok(&format!("{ENSEMBLE}clientPort=2183\n"));
        c.set_my_id(3).unwrap();
        assert_eq!(c.client_port, 2183);
    }

    #[test]
    fn myid_file_in_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let cfg = dir.path().join("zoo.cfg");
        let text = ENSEMBLE.replace("dataDir=data", &format!("dataDir={}", data.display()));
        std::fs::write(&cfg, &text).unwrap();
        let myid = data.join("myid");

        let e = Config::load(&cfg).unwrap_err().to_string();
        assert!(
            e.contains(&myid.display().to_string()) && e.contains("missing"),
            "{e}"
        );

        std::fs::write(&myid, "abc\n").unwrap();
        let e = Config::load(&cfg).unwrap_err().to_string();
        assert!(
            e.contains(&myid.display().to_string()) && e.contains("\"abc\""),
            "{e}"
        );

        std::fs::write(&myid, "7\n").unwrap();
        let e = Config::load(&cfg).unwrap_err().to_string();
        assert!(e.contains("server id 7 is not among"), "{e}");

        std::fs::write(&myid, "3\n").unwrap();
        let (c, _) = Config::load(&cfg).unwrap();
        assert_eq!(c.my_id, Some(3));
        assert_eq!(c.client_listen_addr(), "0.0.0.0:2183".parse().unwrap());

        // Standalone: myid is optional, read when present.
        std::fs::write(&cfg, format!("dataDir={}\n", data.display())).unwrap();
        let (c, _) = Config::load(&cfg).unwrap();
        assert_eq!(c.my_id, Some(3));
        std::fs::remove_file(&myid).unwrap();
        let (c, _) = Config::load(&cfg).unwrap();
        assert_eq!(c.my_id, None);
        assert!(render(&c).ends_with("\nserverId=0\n"));
    }

    #[test]
    fn dynamic_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let dynamic = dir.path().join("zoo.cfg.dynamic.100000000");
        std::fs::write(
            &dynamic,
            "server.1=a:2888:3888:participant;2181\nserver.2=b:2888:3888\nserver.3=c:2888:3888\nversion=100000000\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("myid"), "1").unwrap();
        let cfg = dir.path().join("zoo.cfg");
        std::fs::write(
            &cfg,
            format!(
                "dataDir={}\ndynamicConfigFile={}\nreconfigEnabled=true\n",
                dir.path().display(),
                dynamic.display()
            ),
        )
        .unwrap();
        let (c, _) = Config::load(&cfg).unwrap();
        assert_eq!(c.servers.len(), 3);
        assert_eq!(c.config_version, 0x1_0000_0000);
        assert!(c.reconfig_enabled);
        assert!(render(&c).ends_with("\nversion=100000000"));

        let e = parse_err(&format!("{ENSEMBLE}dynamicConfigFile=/x\n"));
        assert!(e.contains("must be in the dynamic config file"), "{e}");
    }

    #[test]
    fn bad_values_name_key_and_value() {
        let cases: &[(&str, &str)] = &[
            (
                "tickTime=abc",
                "tickTime: expected a positive integer, got \"abc\"",
            ),
            (
                "tickTime=0",
                "tickTime: expected a positive integer, got \"0\"",
            ),
            (
                "initLimit=-3",
                "initLimit: expected a positive integer, got \"-3\"",
            ),
            (
                "syncLimit=x",
                "syncLimit: expected a positive integer, got \"x\"",
            ),
            (
                "clientPort=70000",
                "clientPort: expected a port number, got \"70000\"",
            ),
            (
                "clientPortAddress=no such host.invalid\nclientPort=1",
                "clientPortAddress: expected an IP address",
            ),
            (
                "maxClientCnxns=-1",
                "maxClientCnxns: expected a non-negative integer, got \"-1\"",
            ),
            (
                "minSessionTimeout=0",
                "minSessionTimeout: expected a positive number of milliseconds or -1, got \"0\"",
            ),
            (
                "maxSessionTimeout=ten",
                "maxSessionTimeout: expected a positive number of milliseconds or -1, got \"ten\"",
            ),
            (
                "electionAlg=1",
                "electionAlg: expected 3 (the only election algorithm), got \"1\"",
            ),
            (
                "peerType=leader",
                "peerType: expected participant or observer, got \"leader\"",
            ),
            (
                "standaloneEnabled=yes",
                "standaloneEnabled: expected true or false, got \"yes\"",
            ),
            (
                "reconfigEnabled=1",
                "reconfigEnabled: expected true or false, got \"1\"",
            ),
            (
                "admin.enableServer=maybe",
                "admin.enableServer: expected true or false, got \"maybe\"",
            ),
            (
                "jute.maxbuffer=1M",
                "jute.maxbuffer: expected a positive integer, got \"1M\"",
            ),
            (
                "zookeeper.jute.maxbuffer=0",
                "zookeeper.jute.maxbuffer: expected a positive integer, got \"0\"",
            ),
            (
                "globalOutstandingLimit=none",
                "globalOutstandingLimit: expected a positive integer, got \"none\"",
            ),
            (
                "snapCount=1e5",
                "snapCount: expected an integer, got \"1e5\"",
            ),
            (
                "autopurge.snapRetainCount=three",
                "autopurge.snapRetainCount: expected an integer, got \"three\"",
            ),
            (
                "autopurge.purgeInterval=1h",
                "autopurge.purgeInterval: expected an integer, got \"1h\"",
            ),
            (
                "version=xyz",
                "version: expected a hexadecimal version, got \"xyz\"",
            ),
            (
                "dataLogDir=",
                "dataLogDir: expected a directory path, got \"\"",
            ),
            (
                "enforceQuota=on",
                "enforceQuota: expected true or false, got \"on\"",
            ),
            (
                "DigestAuthenticationProvider.superDigest=nocolon",
                "DigestAuthenticationProvider.superDigest: expected super:",
            ),
            (
                "DigestAuthenticationProvider.digestAlg=SHA-256",
                "digestAlg: expected SHA1",
            ),
            (
                "server.x=a:1:2",
                "server.x: expected server.N with N a non-negative integer",
            ),
            (
                "server.255=a:1:2",
                "server.255: server ids must be at most 254",
            ),
            (
                "server.1=a:1",
                "server.1: expected host:quorumPort:electionPort",
            ),
            (
                "server.1=a:1:1",
                "the quorum and election ports must differ",
            ),
            ("server.1=a:1:2:leader", "unknown role \"leader\""),
            ("server.1=a:1:2;3;4", "more than one ';'"),
            (
                "server.1=a:1:2|b:1:2",
                "multiple addresses per server are not supported",
            ),
            ("server.1=a:x:2", "quorum port \"x\" is not a port"),
            ("server.1=a:1:2;b:c", "client port \"c\" is not a port"),
            (
                "group.1=1:2:3",
                "group.1: hierarchical quorums are not supported",
            ),
            ("key=\\u12G4", "malformed \\uXXXX escape"),
        ];
        for (line, want) in cases {
            let e = parse_err(&format!("dataDir=/d\n{line}\n"));
            assert!(e.starts_with("config: ") && e.contains(want), "{line}: {e}");
        }
        // The line number is reported too.
        assert!(parse_err("dataDir=/d\n\n# c\ntickTime=abc\n").ends_with("(line 4)"));
    }

    #[test]
    fn validation_across_keys() {
        let e = parse_err("tickTime=2000\n");
        assert!(e.contains("dataDir: is required"), "{e}");
        let e = parse_err("dataDir=/d\nminSessionTimeout=5000\nmaxSessionTimeout=4000\n");
        assert!(
            e.contains("minSessionTimeout: 5000 must not be larger than maxSessionTimeout (4000)"),
            "{e}"
        );
        // The derived maximum counts too: 20 ticks of 100 ms.
        let e = parse_err("dataDir=/d\ntickTime=100\nminSessionTimeout=5000\n");
        assert!(e.contains("larger than maxSessionTimeout (2000)"), "{e}");
        let e = parse_err("dataDir=/d\nserver.1=a:1:2\nserver.01=b:1:2\n");
        assert!(e.contains("server id 1 is listed twice"), "{e}");
        let e = parse_err("dataDir=/d\nclientPortAddress=127.0.0.1\n");
        assert!(
            e.contains("clientPortAddress: is set but clientPort is not"),
            "{e}"
        );
        let e = parse_err("dataDir=/d\nserver.1=a:1:2:observer\n");
        assert!(e.contains("observers need a quorum"), "{e}");
        let e = parse_err("dataDir=/d\nserver.1=a:1:2\nserver.2=b:1:2:observer\n");
        assert!(e.contains("observers need a quorum"), "{e}");
        let e = parse_err("dataDir=/d\nstandaloneEnabled=false\n");
        assert!(e.contains("standaloneEnabled: is false"), "{e}");
        let e = parse_err("dataDir=/d\ntickTime=2000000000\n");
        assert!(e.contains("tickTime: 2000000000 is too large"), "{e}");

        // One participant with standaloneEnabled runs standalone (no myid needed)...
        let (c, _) = parse_ok("dataDir=/d\nserver.1=a:1:2\n");
        assert!(!c.is_distributed());
        // ...unless standalone mode is switched off.
        let (c, _) = parse_ok("dataDir=/d\nserver.1=a:1:2\nstandaloneEnabled=false\n");
        assert!(c.is_distributed());
    }

    #[test]
    fn unknown_and_ignored_keys_warn() {
        let (c, w) = parse_ok(
            "dataDir=/d\nfrobnicate=1\n\nadmin.enableServer=false\nadmin.serverPort=8080\n\
             zookeeper.snapCount=5000\nmetricsProvider.httpPort=7000\n\
             metricsProvider.className=org.x.Prom\nsecureClientPort=2281\nzookeeper.frob=2\n",
        );
        let got: Vec<(usize, &str, WarningKind)> =
            w.iter().map(|w| (w.line, w.key.as_str(), w.kind)).collect();
        assert_eq!(
            got,
            [
                (2, "frobnicate", WarningKind::Unknown),
                (4, "admin.enableServer", WarningKind::Ignored),
                (5, "admin.serverPort", WarningKind::Ignored),
                (8, "metricsProvider.className", WarningKind::Ignored),
                (9, "secureClientPort", WarningKind::Ignored),
                (10, "zookeeper.frob", WarningKind::Unknown),
            ]
        );
        assert!(w[0]
            .to_string()
            .starts_with("line 2: frobnicate: unknown key"));
        assert!(w[1].message.contains("AdminServer"));
        assert_eq!(c.snap_count, 5000);
        assert_eq!(c.metrics_provider["httpPort"], "7000");
        assert_eq!(c.metrics_provider["className"], "org.x.Prom");
        assert_eq!(c.raw["frobnicate"], "1");
        assert_eq!(c.raw["zookeeper.snapCount"], "5000");
    }

    #[test]
    fn force_sync_and_the_slow_sync_threshold() {
        let (c, w) = parse_ok("dataDir=/d\n");
        assert!(c.force_sync && w.is_empty());
        assert_eq!(c.fsync_warning_threshold_ms, 1000);
        let (c, w) = parse_ok("dataDir=/d\nforceSync=no\nzookeeper.fsync.warningthresholdms=0\n");
        assert!(!c.force_sync && w.is_empty(), "{w:?}");
        assert_eq!(c.fsync_warning_threshold_ms, 0);
        // As in ZooKeeper, only "no" turns syncing off.
        let (c, w) = parse_ok("dataDir=/d\nforceSync=off\n");
        assert!(c.force_sync);
        assert_eq!(w[0].kind, WarningKind::Adjusted);
        let e = Config::parse("dataDir=/d\nfsync.warningthresholdms=soon\n", None)
            .expect_err("not a number");
        assert!(e.to_string().contains("fsync.warningthresholdms"), "{e}");
    }

    #[test]
    fn adjusted_values_follow_zookeeper() {
        let (c, w) = parse_ok(
            "dataDir=/d\nautopurge.snapRetainCount=1\nautopurge.purgeInterval=-4\nsnapCount=1\nskipACL=sure\n",
        );
        assert_eq!(c.autopurge_snap_retain_count, MIN_SNAP_RETAIN_COUNT);
        assert_eq!(c.autopurge_purge_interval_hours, 0);
        assert_eq!(c.snap_count, 2);
        assert!(!c.skip_acl);
        let kinds: Vec<WarningKind> = w.iter().map(|w| w.kind).collect();
        assert_eq!(kinds, [WarningKind::Adjusted; 3]);
        assert_eq!(w[0].line, 2);

        let (c, w) = parse_ok(
            "dataDir=/d\nskipACL=yes\nenforceQuota=TRUE\nzookeeper.extendedTypesEnabled=true\n\
             jute.maxbuffer=4194304\nglobalOutstandingLimit=7\nmaxClientCnxns=0\n\
             DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=\n",
        );
        assert!(w.is_empty(), "{w:?}");
        assert!(c.skip_acl && c.enforce_quota && c.extended_types_enabled);
        assert_eq!(c.jute_max_buffer, 4_194_304);
        assert_eq!(c.global_outstanding_limit, 7);
        assert_eq!(c.max_client_cnxns, 0);
        assert_eq!(
            c.super_digest.as_deref(),
            Some("super:D/InIHSb7yEEbrWz8b9l71RjZJU=")
        );

        let (c, _) = parse_ok("dataDir=/d\n");
        assert_eq!(c.jute_max_buffer, 1_048_575);
        assert_eq!(c.global_outstanding_limit, 1000);
        assert_eq!(c.snap_count, 100_000);
        assert_eq!(c.max_client_cnxns, 60);
        assert_eq!(c.tick_time_ms, 3000);
        assert_eq!(c.client_listen_addr(), "0.0.0.0:2181".parse().unwrap());
        assert!(c.standalone_enabled && !c.reconfig_enabled);
    }

    #[test]
    fn whitelist_forms() {
        let wl = |v: &str| parse_ok(&format!("dataDir=/d\n4lw.commands.whitelist={v}\n"));
        let only = |words: &[FourLetterWord]| {
            FourLetterWhitelist::Only(words.iter().copied().collect::<BTreeSet<_>>())
        };
        use FourLetterWord::*;
        assert_eq!(parse_ok("dataDir=/d").0.four_lw_whitelist, only(&[Srvr]));
        assert_eq!(wl("*").0.four_lw_whitelist, FourLetterWhitelist::All);
        assert_eq!(wl("ruok, *").0.four_lw_whitelist, FourLetterWhitelist::All);
        assert_eq!(
            wl(" stat ,ruok,, conf ").0.four_lw_whitelist,
            only(&[Stat, Ruok, Conf, Srvr])
        );
        assert_eq!(wl("").0.four_lw_whitelist, only(&[Srvr]));
        assert_eq!(wl(" , ").0.four_lw_whitelist, only(&[Srvr]));
        let (c, w) = wl("mntr,RUOK,xyzw");
        assert_eq!(c.four_lw_whitelist, only(&[Mntr, Srvr]));
        assert!(w[0].message.contains("RUOK, xyzw"), "{w:?}");
        let (c, _) = parse_ok("dataDir=/d\nzookeeper.4lw.commands.whitelist=dump\n");
        assert!(c.four_lw_whitelist.allows(Dump));
        assert!(c.four_lw_whitelist.allows(Srvr));
        assert!(!c.four_lw_whitelist.allows(Ruok));
        assert!(FourLetterWhitelist::All.allows(Stmk));
    }

    #[test]
    fn properties_syntax() {
        let text = "  # comment\n! also a comment\n\
                    tickTime: 2500   \n\
                    initLimit 7\n\
                    syncLimit   =   3\n\
                    dataDir=/a/b\\\n    /c\n\
                    dataLogDir=/x\\u0041y\\ z\n\
                    \tclientPort=2190\r\n\
                    metricsProvider.a\\=b=v\n\
                    metricsProvider.empty\n";
        let (c, w) = parse_ok(text);
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(c.tick_time_ms, 2500);
        assert_eq!(c.init_limit, 7);
        assert_eq!(c.sync_limit, 3);
        assert_eq!(c.data_dir, Path::new("/a/b/c"));
        assert_eq!(c.data_log_dir.as_deref(), Some(Path::new("/xAy z")));
        assert_eq!(c.client_port, 2190);
        assert_eq!(c.metrics_provider["a=b"], "v");
        assert_eq!(c.metrics_provider["empty"], "");
        assert_eq!(c.raw["tickTime"], "2500");
    }

    #[test]
    fn session_timeouts() {
        let (c, _) = parse_ok("dataDir=/d\ntickTime=2000\n");
        assert_eq!(c.session_timeout_bounds(), (4000, 40000));
        assert_eq!(c.negotiate_timeout(1), 4000);
        assert_eq!(c.negotiate_timeout(-5), 4000);
        assert_eq!(c.negotiate_timeout(30000), 30000);
        assert_eq!(c.negotiate_timeout(i32::MAX), 40000);
        let (c, _) = parse_ok("dataDir=/d\nminSessionTimeout=-1\nmaxSessionTimeout=9000\n");
        assert_eq!(c.session_timeout_bounds(), (6000, 9000));
    }

    #[test]
    fn conf_rendering_measures_directories() {
        let dir = tempfile::tempdir().unwrap();
        let snaps = dir.path().join("snapshots");
        std::fs::create_dir_all(snaps.join("sub")).unwrap();
        std::fs::write(snaps.join("snapshot.1"), [0u8; 1000]).unwrap();
        std::fs::write(snaps.join("sub").join("f"), [0u8; 24]).unwrap();
        let logs = tempfile::tempdir().unwrap();
        let text = format!(
            "dataDir={}\ndataLogDir={}\nclientPort=2999\nclientPortListenBacklog=50\nmaxClientCnxns=9\n",
            dir.path().display(),
            logs.path().display()
        );
        let (c, _) = parse_ok(&text);
        let rendered = render(&c);
        let expected = format!(
            "clientPort=2999\nsecureClientPort=-1\ndataDir={}\ndataDirSize=1024\n\
             dataLogDir={}\ndataLogSize=0\ntickTime=3000\nmaxClientCnxns=9\n\
             minSessionTimeout=6000\nmaxSessionTimeout=60000\nclientPortListenBacklog=50\nserverId=0\n",
            snaps.display(),
            logs.path().join("raft").display()
        );
        assert_eq!(rendered, expected);
    }

    #[test]
    fn standalone_default_uses_a_fresh_directory() {
        let a = Config::standalone_default().unwrap();
        let b = Config::standalone_default().unwrap();
        for c in [&a, &b] {
            assert!(c.data_dir.is_dir());
            assert!(c.data_dir.starts_with(std::env::temp_dir()));
            assert_eq!(std::fs::read_dir(&c.data_dir).unwrap().count(), 0);
            assert_eq!(c.client_listen_addr(), "127.0.0.1:2181".parse().unwrap());
            assert!(!c.is_distributed());
        }
        assert_ne!(a.data_dir, b.data_dir);
        std::fs::remove_dir(&a.data_dir).unwrap();
        std::fs::remove_dir(&b.data_dir).unwrap();
    }
}
