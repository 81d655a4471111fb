//! The snapshot the server fills in for one four-letter word. Plain data:
//! the renderers never reach into the server, so each word's text is a pure
//! function of this struct.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

/// The serving role, as `srvr`'s `Mode:` line and `mntr`'s
/// `zk_server_state` name it (`zkServer.sh status` greps that line).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    #[default]
    Standalone,
    Leader,
    Follower,
    Observer,
    /// Partitioned from the quorum, serving reads only.
    ReadOnly,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Standalone => "standalone",
            Mode::Leader => "leader",
            Mode::Follower => "follower",
            Mode::Observer => "observer",
            Mode::ReadOnly => "read-only",
        }
    }

    /// Leader and learners are ensemble members: `conf` gets the quorum
    /// section, `mntr` gets `zk_peer_state` and `zk_quorum_size`, and `dump`
    /// lists global sessions the learner way.
    pub fn in_quorum(self) -> bool {
        matches!(self, Mode::Leader | Mode::Follower | Mode::Observer)
    }
}

/// Latency samples in milliseconds, kept as ZooKeeper keeps them: a count,
/// a sum, and extremes that mean nothing while `count` is 0 (then every
/// figure prints as 0).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Latency {
    pub count: u64,
    pub total_ms: u64,
    pub min_ms: u64,
    pub max_ms: u64,
}

impl Latency {
    pub fn record(&mut self, ms: u64) {
        if self.count == 0 {
            self.min_ms = ms;
            self.max_ms = ms;
        } else {
            self.min_ms = self.min_ms.min(ms);
            self.max_ms = self.max_ms.max(ms);
        }
        self.count += 1;
        self.total_ms = self.total_ms.saturating_add(ms);
    }

    pub fn min(&self) -> u64 {
        if self.count == 0 {
            0
        } else {
            self.min_ms
        }
    }

    pub fn max(&self) -> u64 {
        if self.count == 0 {
            0
        } else {
            self.max_ms
        }
    }
}

/// Sizes in bytes of the last, smallest and largest of some buffers
/// (responses, or a leader's proposals); -1 until the first one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferSizes {
    pub last: i64,
    pub min: i64,
    pub max: i64,
}

impl Default for BufferSizes {
    fn default() -> Self {
        BufferSizes {
            last: -1,
            min: -1,
            max: -1,
        }
    }
}

/// One client connection, as `stat` and `cons` list it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnView {
    pub remote: SocketAddr,
    /// The NIO interest set ZooKeeper prints in brackets: 1 while reading,
    /// 0 for a connection that is only being answered (a four-letter word).
    pub interest_ops: u32,
    pub queued: u64,
    pub received: u64,
    pub sent: u64,
    /// None until the handshake has made a session (ZooKeeper's session id 0).
    pub session: Option<SessionConnView>,
}

/// The per-session figures `cons` adds for an established connection.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionConnView {
    pub session_id: i64,
    /// ZooKeeper's four-letter name of the last operation (see
    /// [`super::last_op_name`]); "NA" after a stats reset.
    pub last_op: String,
    /// Wall-clock epoch ms when the connection was made.
    pub established_ms: i64,
    pub timeout_ms: i32,
    /// Negative after a stats reset: then `lcxid` is left out.
    pub last_cxid: i64,
    /// -1 after a stats reset (printed as 0xffffffffffffffff, like ZooKeeper).
    pub last_zxid: i64,
    /// Monotonic ms of the last response (ZooKeeper prints its
    /// `Time.currentElapsedTime()`); 0 after a reset.
    pub last_response_ms: i64,
    pub last_latency_ms: u64,
    pub latency: Latency,
}

/// One expiry bucket of `dump`: everything in it expires at `expire_at_ms`
/// (wall-clock epoch ms) unless touched first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiryBucket<T> {
    pub expire_at_ms: i64,
    pub members: Vec<T>,
}

/// `dump`'s session section. The session owner (standalone or leader) lists
/// its expiry buckets; a learner lists global sessions with their timeouts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionsView {
    Buckets(Vec<ExpiryBucket<i64>>),
    /// Session id to negotiated timeout in ms.
    Global(BTreeMap<i64, u32>),
}

impl Default for SessionsView {
    fn default() -> Self {
        SessionsView::Buckets(Vec::new())
    }
}

/// What `conf` prints. Paths are printed as given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfView {
    pub client_port: u16,
    /// -1 when no TLS port is configured.
    pub secure_client_port: i32,
    pub data_dir: String,
    pub data_log_dir: String,
    pub tick_time: u32,
    pub max_client_cnxns: u32,
    pub min_session_timeout: i32,
    pub max_session_timeout: i32,
    /// -1 for the OS default backlog.
    pub client_port_listen_backlog: i32,
    pub server_id: i64,
    /// Present for ensemble members only.
    pub quorum: Option<QuorumConf>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct QuorumConf {
    pub init_limit: u32,
    pub sync_limit: u32,
    /// ZooKeeper's only remaining algorithm is 3 (fast leader election).
    pub election_alg: u32,
    pub election_port: u16,
    pub quorum_port: u16,
    /// 0 participant, 1 observer (LearnerType's ordinal).
    pub peer_type: u32,
    /// `server.N=` values, e.g. `127.0.0.11:2888:3888:participant`; a
    /// `;addr:port` suffix only for client addresses given dynamically.
    pub members: BTreeMap<u64, String>,
    pub config_version: i64,
}

/// Everything the four-letter words print, as of one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerView {
    /// ZooKeeper's full version line, see [`super::full_version`].
    pub version: String,
    /// False while there is no serving state machine (e.g. during an
    /// election): most words then answer ZooKeeper's "not serving" line.
    pub serving: bool,
    pub mode: Mode,
    /// `mntr`'s `zk_peer_state` for ensemble members, e.g. "leading - broadcast".
    pub peer_state: String,
    pub latency: Latency,
    pub packets_received: u64,
    pub packets_sent: u64,
    pub outstanding_requests: u64,
    pub last_zxid: i64,
    pub node_count: u64,
    pub connections: Vec<ConnView>,
    /// The leader's proposal sizes, printed by `srvr` and `mntr`.
    pub proposal_sizes: BufferSizes,
    pub response_sizes: BufferSizes,
    /// Data and exist watches (ZooKeeper's `wch*` words do not show child
    /// watches): session id to watched paths.
    pub data_watches: BTreeMap<i64, BTreeSet<String>>,
    /// Child watches, counted only by `mntr`'s `zk_watch_count`.
    pub child_watch_count: u64,
    pub ephemerals: BTreeMap<i64, BTreeSet<String>>,
    pub sessions: SessionsView,
    pub session_count: u64,
    /// `dump`'s connection buckets: (remote address, session id or 0).
    pub connection_buckets: Vec<ExpiryBucket<(SocketAddr, i64)>>,
    pub approximate_data_size: u64,
    pub open_file_descriptors: u64,
    pub max_file_descriptors: u64,
    pub auth_failed_count: u64,
    pub uptime_ms: u64,
    /// Leader only: learners connected, those synced, syncs in flight.
    pub learners: u64,
    pub synced_followers: u64,
    pub synced_non_voting_followers: u64,
    pub synced_observers: u64,
    pub pending_syncs: u64,
    pub leader_uptime_ms: u64,
    pub quorum_size: u64,
    pub data_dir_size: u64,
    pub log_dir_size: u64,
    pub conf: ConfView,
    /// `envi` entries after `zookeeper.version`, in order; ZooKeeper's keys
    /// are in [`super::ENVI_KEYS`].
    pub env: Vec<(String, String)>,
}
