//! What a run measured: the `--json` schema (versioned), also the input of
//! the report, the recommendations, the verdict, the charts and `merge`.
//! Everything deserialises too, with defaults for fields a file lacks, so
//! `merge` reads files from older versions of the same schema.

use serde::{Deserialize, Serialize};

use crate::discover::ServerInfo;
use crate::hist::Summary;

/// Bumped on incompatible change of the JSON (additions are compatible).
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RunResult {
    pub schema_version: u32,
    pub tool: String,
    pub labels: std::collections::BTreeMap<String, String>,
    pub started: String,
    pub run_root: String,
    /// `--rate`: reads and writes were measured open-loop at this many
    /// ops/s per server, from each request's intended send time.
    pub open_loop_rate: Option<f64>,
    pub servers: Vec<ServerResult>,
    /// `[writer][watcher]`: write sent → notification received.
    pub watch_matrix: Vec<Vec<Option<Summary>>>,
    pub watch_check: Option<WatchCheck>,
    /// Per follower: write via the leader → visible there without sync.
    pub visibility_lag: Vec<Option<Summary>>,
    /// Per observer server: session closed on `closer` → NodeDeleted seen.
    pub ephemeral_cleanup: Vec<EphemeralCleanup>,
    /// `--soak`: how the idle sessions were set up (results per server).
    pub soak: Option<SoakConfig>,
    /// Set by `merge`: the runs combined into this one.
    pub merged_from: Vec<MergeSource>,
    pub phases: Vec<PhaseResult>,
    pub recommendations: Vec<crate::recommend::Recommendation>,
    pub checks: Vec<crate::verdict::Check>,
    pub verdict: String,
    pub exit_code: i32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerResult {
    pub info: ServerInfo,
    pub session: Option<SessionResult>,
    pub read: Option<Summary>,
    pub sync: Option<Summary>,
    pub write: Option<Summary>,
    pub create: Option<Summary>,
    pub delete: Option<Summary>,
    /// `--pipeline`: setData ops/s with D requests in flight (see `pipeline`).
    pub pipelined_ops_per_sec: Option<f64>,
    pub pipeline: Option<PipelineResult>,
    pub open_loop: Option<OpenLoopResult>,
    pub herd: Option<HerdResult>,
    pub soak: Option<SoakResult>,
    pub expiry: Option<ExpiryResult>,
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionResult {
    pub session_id: String,
    pub tcp_connect_us: u64,
    pub handshake_us: u64,
    pub requested_timeout_ms: i32,
    pub negotiated_timeout_ms: i32,
    /// Inferred from a tiny and a huge requested timeout.
    pub min_session_timeout_ms: Option<i32>,
    pub max_session_timeout_ms: Option<i32>,
}

/// Throughput with `depth` requests in flight; a separate measurement from
/// the latency phases, whose closed loops keep one request in flight.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PipelineResult {
    pub depth: usize,
    /// Requests per op kind.
    pub ops: usize,
    pub write_ops_per_sec: f64,
    pub read_ops_per_sec: f64,
    /// One in flight: 1 / mean setData latency of the write phase.
    pub closed_loop_write_ops_per_sec: Option<f64>,
}

/// How well the client kept to the `--rate` schedule.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct OpenLoopResult {
    pub rate: f64,
    pub read_achieved_rate: f64,
    pub write_achieved_rate: f64,
    /// How late the client itself sent, behind the schedule (included in the
    /// latencies, as the server would see it); large values mean the
    /// measuring machine, not ZooKeeper, was slow.
    pub send_lag_p99_us: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct HerdResult {
    /// `--herd K` as asked and as run (capped below maxClientCnxns).
    pub requested: usize,
    pub attempted: usize,
    /// None: the server sets no limit.
    pub cap: Option<usize>,
    pub cap_reason: String,
    pub connected: usize,
    pub failed: usize,
    /// TCP connect + handshake of each successful connection.
    pub connect: Option<Summary>,
    pub first_error: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SoakConfig {
    pub duration_ms: u64,
    pub ping_interval_ms: u64,
    pub requested_timeout_ms: i32,
    /// `recommended` (this run's recommendation), `--soak-session-timeout`
    /// or `--session-timeout` (nothing to recommend from).
    pub timeout_source: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SoakResult {
    pub negotiated_timeout_ms: i32,
    pub pings: u64,
    /// Pings without a reply within the op timeout.
    pub lost: u64,
    /// Connections lost (the session was then resumed on the same server).
    pub disconnects: u64,
    /// Sessions the server declared expired.
    pub expiries: u64,
    pub ping: Option<Summary>,
    pub series: Vec<SoakPoint>,
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SoakPoint {
    /// Since the soak started.
    pub at_ms: u64,
    /// None: the ping failed.
    pub rtt_us: Option<u64>,
}

/// A session whose socket was dropped without closeSession, on this server.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ExpiryResult {
    /// The server whose client saw the ephemeral go.
    pub observer: String,
    pub negotiated_timeout_ms: i32,
    pub tick_ms: Option<u64>,
    /// Last request on the session → NodeDeleted seen on the observer.
    pub expired_after_ms: Option<u64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct WatchCheck {
    pub writes: u64,
    /// Notifications expected (writes × watchers) and received.
    pub expected: u64,
    pub received: u64,
    /// Every watcher saw the writes in zxid order.
    pub in_order: bool,
    /// The notifications carried the triggering zxid (3.9+ servers).
    pub zxid_in_notifications: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EphemeralCleanup {
    pub closer: usize,
    pub observer: usize,
    pub latency_us: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PhaseResult {
    pub name: String,
    pub ok: bool,
    pub elapsed_ms: u64,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MergeSource {
    pub file: String,
    pub labels: std::collections::BTreeMap<String, String>,
    pub started: String,
    pub verdict: String,
}
