//! What a run measured: the `--json` schema (versioned), also the input of
//! the report, the recommendations and the verdict.

use serde::{Deserialize, Serialize};

use crate::discover::ServerInfo;
use crate::hist::Summary;

/// Bumped on incompatible change of the JSON.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Default, Serialize)]
pub struct RunResult {
    pub schema_version: u32,
    pub tool: String,
    pub labels: std::collections::BTreeMap<String, String>,
    pub started: String,
    pub run_root: String,
    pub servers: Vec<ServerResult>,
    /// [writer][watcher]: write sent → notification received.
    pub watch_matrix: Vec<Vec<Option<Summary>>>,
    pub watch_check: Option<WatchCheck>,
    /// Per follower: write via the leader → visible there without sync.
    pub visibility_lag: Vec<Option<Summary>>,
    /// Per observer server: session closed on `closer` → NodeDeleted seen.
    pub ephemeral_cleanup: Vec<EphemeralCleanup>,
    pub phases: Vec<PhaseResult>,
    pub recommendations: Vec<crate::recommend::Recommendation>,
    pub checks: Vec<crate::verdict::Check>,
    pub verdict: String,
    pub exit_code: i32,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ServerResult {
    pub info: ServerInfo,
    pub session: Option<SessionResult>,
    pub read: Option<Summary>,
    pub sync: Option<Summary>,
    pub write: Option<Summary>,
    pub create: Option<Summary>,
    pub delete: Option<Summary>,
    pub pipelined_ops_per_sec: Option<f64>,
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
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

#[derive(Debug, Clone, Default, Serialize)]
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

#[derive(Debug, Clone, Default, Serialize)]
pub struct EphemeralCleanup {
    pub closer: usize,
    pub observer: usize,
    pub latency_us: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PhaseResult {
    pub name: String,
    pub ok: bool,
    pub elapsed_ms: u64,
    pub error: Option<String>,
}
