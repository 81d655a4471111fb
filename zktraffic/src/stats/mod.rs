//! Aggregates over the event stream, what `zktraffic stats` prints: per op,
//! per path, per client and per session, with counts, rates, bytes, errors
//! and latency percentiles.
//!
//! Time is capture time throughout, so a pcap file read in a second reports
//! the rates it was captured at. Memory is bounded: each dimension keeps at
//! most `max_keys` distinct keys and folds the rest into an `(other)` row.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;
use zkproto::{ErrorCode, OpCode};

use crate::model::{ConnId, Event, Exchange, Timestamp};

mod render;
pub use render::{fmt_bytes, fmt_rate, fmt_us, render_text};

/// The row that absorbs keys beyond a dimension's cap.
pub const OTHER: &str = "(other)";
/// Path-dimension key of requests that carry no path (ping, multi, closeSession…).
pub const NO_PATH: &str = "(no path)";
/// Session-dimension key of connections whose handshake was not captured.
pub const NO_SESSION: &str = "(unknown)";

/// Latencies are clamped here: a request answered after an hour is a capture
/// artifact, and the cap bounds histogram memory.
const LATENCY_CAP_US: u64 = 3_600_000_000;
/// The op dimension has a few dozen keys, so it affords 3 significant digits;
/// the others may have thousands of keys each, where 2 digits (1%) keep a
/// histogram to a few KiB.
const OP_SIGFIG: u8 = 3;
const KEY_SIGFIG: u8 = 2;
/// Error codes come off the wire; a garbage stream must not grow a row unboundedly.
const MAX_ERROR_CODES_PER_ROW: usize = 16;
const MAX_NOTIFICATION_TYPES: usize = 16;
/// Distinct sessions remembered for the "sessions seen" total.
const MAX_SESSIONS_TRACKED: usize = 1_000_000;

/// A dimension requests are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dim {
    Op,
    Path,
    Client,
    Session,
}

impl Dim {
    pub const ALL: [Dim; 4] = [Dim::Op, Dim::Path, Dim::Client, Dim::Session];

    pub fn name(self) -> &'static str {
        match self {
            Dim::Op => "op",
            Dim::Path => "path",
            Dim::Client => "client",
            Dim::Session => "session",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl FromStr for Dim {
    type Err = String;
    fn from_str(s: &str) -> Result<Dim, String> {
        Dim::ALL
            .into_iter()
            .find(|d| d.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown dimension {s:?} (one of: op, path, client, session)"))
    }
}

/// What rows are ordered by, largest first (`Key`: alphabetically).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SortKey {
    #[default]
    Count,
    Rate,
    Errors,
    P50,
    P95,
    P99,
    Max,
    /// Bytes in both directions.
    Bytes,
    BytesIn,
    BytesOut,
    Key,
}

impl SortKey {
    pub const ALL: [SortKey; 11] = [
        SortKey::Count,
        SortKey::Rate,
        SortKey::Errors,
        SortKey::P50,
        SortKey::P95,
        SortKey::P99,
        SortKey::Max,
        SortKey::Bytes,
        SortKey::BytesIn,
        SortKey::BytesOut,
        SortKey::Key,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SortKey::Count => "count",
            SortKey::Rate => "rate",
            SortKey::Errors => "errors",
            SortKey::P50 => "p50",
            SortKey::P95 => "p95",
            SortKey::P99 => "p99",
            SortKey::Max => "max",
            SortKey::Bytes => "bytes",
            SortKey::BytesIn => "bytes-in",
            SortKey::BytesOut => "bytes-out",
            SortKey::Key => "key",
        }
    }
}

impl FromStr for SortKey {
    type Err = String;
    fn from_str(s: &str) -> Result<SortKey, String> {
        let norm = s.to_ascii_lowercase().replace('_', "-");
        SortKey::ALL
            .into_iter()
            .find(|k| k.name() == norm)
            .ok_or_else(|| {
                let names: Vec<&str> = SortKey::ALL.iter().map(|k| k.name()).collect();
                format!("unknown sort key {s:?} (one of: {})", names.join(", "))
            })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsConfig {
    /// Keep this many leading path components (`Some(2)`: `/a/b/c/d` → `/a/b`);
    /// `None` keeps whole paths.
    pub path_depth: Option<usize>,
    /// Key clients by `ip:port` (one row per connection) rather than by IP.
    pub client_with_port: bool,
    /// Distinct keys per dimension before the rest fold into [`OTHER`].
    pub max_keys: usize,
    /// Count pings as requests. Off by default: every idle client pings, which
    /// would drown the interesting traffic.
    pub include_pings: bool,
}

impl Default for StatsConfig {
    fn default() -> Self {
        StatsConfig {
            path_depth: None,
            client_with_port: false,
            max_keys: 10_000,
            include_pings: false,
        }
    }
}

/// `path` cut to its first `depth` components; a prefix of `path`, so no allocation.
pub fn truncate_path(path: &str, depth: usize) -> &str {
    let mut seen = 0;
    for (i, b) in path.bytes().enumerate() {
        if b == b'/' && i > 0 {
            seen += 1;
            if seen == depth {
                return &path[..i];
            }
        }
    }
    if depth == 0 && path.starts_with('/') {
        return "/";
    }
    path
}

/// Session ids the way ZooKeeper's logs print them.
pub fn session_key(session: i64) -> String {
    format!("0x{session:016x}")
}

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LatencySummary {
    /// Exchanges with both halves seen, the only ones with a latency.
    pub samples: u64,
    pub p50_us: u64,
    pub p95_us: u64,
    pub p99_us: u64,
    /// Exact, not bucketed.
    pub max_us: u64,
}

/// One key's aggregates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub key: String,
    pub count: u64,
    /// Requests per second of capture time; `None` while the window is empty.
    pub rate: Option<f64>,
    /// Client → server frame bytes.
    pub bytes_in: u64,
    /// Server → client frame bytes.
    pub bytes_out: u64,
    pub errors: u64,
    /// Error name and count, most frequent first.
    pub errors_by_code: Vec<(String, u64)>,
    /// Requests whose reply was never seen.
    pub unanswered: u64,
    pub latency: Option<LatencySummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Table {
    pub dim: Dim,
    /// Distinct keys tracked (not counting [`OTHER`]).
    pub keys: usize,
    /// The top rows in the requested order.
    pub rows: Vec<Row>,
    /// Tracked rows left out by `top`.
    pub hidden: usize,
    /// Requests of keys beyond `max_keys`, folded together.
    pub other: Option<Row>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Totals {
    /// All counted requests (pings only with `include_pings`), keyed `ALL`.
    pub requests: Row,
    /// Pings seen, counted or not.
    pub pings: u64,
    /// Replies whose request was not captured.
    pub unpaired_replies: u64,
    pub notifications: u64,
    pub notifications_by_type: Vec<(String, u64)>,
    /// Client connections open at some point in the window.
    pub connections: u64,
    /// Of which still open at its end.
    pub open_connections: u64,
    /// Distinct sessions seen in the window.
    pub sessions: u64,
    /// `sessions` stopped counting at its memory cap and is a lower bound.
    pub sessions_saturated: bool,
    /// Session handshakes answered by the server.
    pub handshakes: u64,
    /// Handshakes the server answered with "session expired".
    pub expired_handshakes: u64,
    pub four_letter_words: u64,
    pub anomalies: u64,
    pub quorum_messages: u64,
    /// zkserver peer-protocol frames (part of `quorum_messages`) per kind
    /// (`append`, `append_resp`, `vote`, ...), most frequent first.
    pub peer_rpcs_by_kind: Vec<(String, u64)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    /// Capture time of the window's start and end, seconds since the epoch.
    pub start_secs: Option<f64>,
    pub end_secs: Option<f64>,
    pub window_secs: f64,
    pub sort: String,
    pub totals: Totals,
    /// One per dimension, in [`Dim::ALL`] order.
    pub tables: Vec<Table>,
}

impl Snapshot {
    pub fn table(&self, dim: Dim) -> Option<&Table> {
        self.tables.iter().find(|t| t.dim == dim)
    }
}

#[derive(Debug, Clone)]
struct Acc {
    count: u64,
    bytes_in: u64,
    bytes_out: u64,
    errors: u64,
    by_code: BTreeMap<ErrorCode, u64>,
    /// Errors whose code did not fit in `by_code`.
    codes_other: u64,
    unanswered: u64,
    hist: Histogram<u64>,
    /// The histogram only knows buckets; the maximum is worth having exactly.
    max_us: u64,
}

impl Acc {
    fn new(sigfig: u8) -> Acc {
        Acc {
            count: 0,
            bytes_in: 0,
            bytes_out: 0,
            errors: 0,
            by_code: BTreeMap::new(),
            codes_other: 0,
            unanswered: 0,
            hist: Histogram::new(sigfig).expect("sigfig is a valid constant"),
            max_us: 0,
        }
    }

    fn add(&mut self, x: &Exchange) {
        self.count += 1;
        self.bytes_in += u64::from(x.request_bytes);
        self.bytes_out += u64::from(x.reply_bytes);
        if x.request_ts.is_some() && x.reply_ts.is_none() {
            self.unanswered += 1;
        }
        if let Some(code) = x.err.filter(|c| !c.is_ok()) {
            self.errors += 1;
            if let Some(n) = self.by_code.get_mut(&code) {
                *n += 1;
            } else if self.by_code.len() < MAX_ERROR_CODES_PER_ROW {
                self.by_code.insert(code, 1);
            } else {
                self.codes_other += 1;
            }
        }
        if let Some(lat) = x.latency() {
            let us = u64::try_from(lat.as_micros())
                .unwrap_or(u64::MAX)
                .min(LATENCY_CAP_US);
            self.hist
                .record(us)
                .expect("auto-resizing histogram takes any capped value");
            self.max_us = self.max_us.max(us);
        }
    }

    fn latency(&self) -> Option<LatencySummary> {
        if self.hist.is_empty() {
            return None;
        }
        // hdrhistogram answers with a bucket's highest equivalent value, which
        // can exceed the largest sample; the exact maximum bounds it.
        let q = |q: f64| self.hist.value_at_quantile(q).min(self.max_us);
        Some(LatencySummary {
            samples: self.hist.len(),
            p50_us: q(0.50),
            p95_us: q(0.95),
            p99_us: q(0.99),
            max_us: self.max_us,
        })
    }

    fn row(&self, key: &str, window: Option<Duration>) -> Row {
        let mut errors_by_code: Vec<(String, u64)> = self
            .by_code
            .iter()
            .map(|(c, n)| (c.to_string(), *n))
            .collect();
        if self.codes_other > 0 {
            errors_by_code.push((OTHER.to_string(), self.codes_other));
        }
        errors_by_code.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Row {
            key: key.to_string(),
            count: self.count,
            rate: window.map(|w| self.count as f64 / w.as_secs_f64()),
            bytes_in: self.bytes_in,
            bytes_out: self.bytes_out,
            errors: self.errors,
            errors_by_code,
            unanswered: self.unanswered,
            latency: self.latency(),
        }
    }
}

/// One dimension's rows.
#[derive(Debug, Clone)]
struct KeyTable {
    sigfig: u8,
    rows: HashMap<String, Acc>,
    other: Option<Acc>,
}

impl KeyTable {
    fn new(sigfig: u8) -> KeyTable {
        KeyTable {
            sigfig,
            rows: HashMap::new(),
            other: None,
        }
    }

    fn add(&mut self, key: &str, x: &Exchange, max_keys: usize) {
        if let Some(acc) = self.rows.get_mut(key) {
            acc.add(x);
        } else if self.rows.len() < max_keys {
            let mut acc = Acc::new(self.sigfig);
            acc.add(x);
            self.rows.insert(key.to_string(), acc);
        } else {
            self.other
                .get_or_insert_with(|| Acc::new(self.sigfig))
                .add(x);
        }
    }

    fn snapshot(&self, dim: Dim, window: Option<Duration>, sort: SortKey, top: usize) -> Table {
        let mut rows: Vec<Row> = self.rows.iter().map(|(k, a)| a.row(k, window)).collect();
        sort_rows(&mut rows, sort);
        let keys = rows.len();
        let shown = if top == 0 { keys } else { top.min(keys) };
        rows.truncate(shown);
        Table {
            dim,
            keys,
            rows,
            hidden: keys - shown,
            other: self.other.as_ref().map(|a| a.row(OTHER, window)),
        }
    }
}

/// Orders rows as `stats` prints them; also used by `top` to re-sort a
/// frozen snapshot, which holds references.
pub(crate) fn sort_rows<R: std::borrow::Borrow<Row>>(rows: &mut [R], sort: SortKey) {
    let lat = |r: &Row, f: fn(&LatencySummary) -> u64| r.latency.as_ref().map_or(0, f);
    let metric = |r: &Row| -> u64 {
        match sort {
            // The window is shared, so rate orders like count.
            SortKey::Count | SortKey::Rate | SortKey::Key => r.count,
            SortKey::Errors => r.errors,
            SortKey::P50 => lat(r, |l| l.p50_us),
            SortKey::P95 => lat(r, |l| l.p95_us),
            SortKey::P99 => lat(r, |l| l.p99_us),
            SortKey::Max => lat(r, |l| l.max_us),
            SortKey::Bytes => r.bytes_in + r.bytes_out,
            SortKey::BytesIn => r.bytes_in,
            SortKey::BytesOut => r.bytes_out,
        }
    };
    if sort == SortKey::Key {
        rows.sort_by(|a, b| a.borrow().key.cmp(&b.borrow().key));
    } else {
        // Ties by key, so equal inputs always print the same.
        rows.sort_by(|a, b| {
            let (a, b) = (a.borrow(), b.borrow());
            metric(b).cmp(&metric(a)).then_with(|| a.key.cmp(&b.key))
        });
    }
}

/// The aggregator. Feed it every event with [`Stats::observe`].
#[derive(Debug, Clone)]
pub struct Stats {
    cfg: StatsConfig,
    tables: [KeyTable; 4],
    total: Acc,
    /// Where the window starts: the first event, or the previous window's end.
    start: Option<Timestamp>,
    end: Option<Timestamp>,
    pings: u64,
    unpaired_replies: u64,
    notifications: u64,
    notifications_by_type: BTreeMap<zkproto::EventType, u64>,
    /// Client connections currently open, kept across [`Stats::reset`].
    open: HashSet<ConnId>,
    /// Connections closed in the window (opened in it or before).
    closed: u64,
    sessions: HashSet<i64>,
    sessions_saturated: bool,
    handshakes: u64,
    expired_handshakes: u64,
    four_letter_words: u64,
    anomalies: u64,
    quorum_messages: u64,
    /// Keyed by the decoder's kind names: a fixed set of nine.
    peer_rpcs_by_kind: BTreeMap<String, u64>,
}

impl Stats {
    pub fn new(cfg: StatsConfig) -> Stats {
        Stats {
            cfg,
            tables: [
                KeyTable::new(OP_SIGFIG),
                KeyTable::new(KEY_SIGFIG),
                KeyTable::new(KEY_SIGFIG),
                KeyTable::new(KEY_SIGFIG),
            ],
            total: Acc::new(OP_SIGFIG),
            start: None,
            end: None,
            pings: 0,
            unpaired_replies: 0,
            notifications: 0,
            notifications_by_type: BTreeMap::new(),
            open: HashSet::new(),
            closed: 0,
            sessions: HashSet::new(),
            sessions_saturated: false,
            handshakes: 0,
            expired_handshakes: 0,
            four_letter_words: 0,
            anomalies: 0,
            quorum_messages: 0,
            peer_rpcs_by_kind: BTreeMap::new(),
        }
    }

    pub fn config(&self) -> &StatsConfig {
        &self.cfg
    }

    /// Starts a new window (interval mode) where the last one ended, so
    /// consecutive windows tile capture time. Open connections carry over.
    pub fn reset(&mut self) {
        let mut next = Stats::new(self.cfg.clone());
        next.start = self.end.or(self.start);
        next.end = next.start;
        next.open = std::mem::take(&mut self.open);
        *self = next;
    }

    /// The window so far: from its start to the latest event.
    pub fn window(&self) -> Duration {
        match (self.start, self.end) {
            (Some(s), Some(e)) => e.saturating_sub(s),
            _ => Duration::ZERO,
        }
    }

    fn see_ts(&mut self, ts: Timestamp) {
        self.start = Some(self.start.map_or(ts, |s| s.min(ts)));
        self.end = Some(self.end.map_or(ts, |e| e.max(ts)));
    }

    fn see_conn(&mut self, conn: ConnId) {
        self.open.insert(conn);
    }

    fn see_session(&mut self, session: Option<i64>) {
        let Some(s) = session.filter(|s| *s != 0) else {
            return;
        };
        if self.sessions.len() < MAX_SESSIONS_TRACKED {
            self.sessions.insert(s);
        } else if !self.sessions.contains(&s) {
            self.sessions_saturated = true;
        }
    }

    pub fn observe(&mut self, event: &Event) {
        match event {
            Event::Exchange(x) => {
                for ts in [x.request_ts, x.reply_ts].into_iter().flatten() {
                    self.see_ts(ts);
                }
                self.see_conn(x.conn);
                self.see_session(x.session);
                self.exchange(x);
            }
            Event::Connect(c) => {
                self.see_ts(c.ts);
                self.see_conn(c.conn);
                self.see_session(Some(c.session));
            }
            Event::Connected(c) => {
                self.see_ts(c.ts);
                self.see_conn(c.conn);
                self.see_session(Some(c.session));
                self.handshakes += 1;
                if c.timeout_ms == 0 {
                    self.expired_handshakes += 1;
                }
            }
            Event::Notification(n) => {
                self.see_ts(n.ts);
                self.see_conn(n.conn);
                self.see_session(n.session);
                self.notifications += 1;
                let key = if self.notifications_by_type.len() < MAX_NOTIFICATION_TYPES
                    || self.notifications_by_type.contains_key(&n.event_type)
                {
                    n.event_type
                } else {
                    zkproto::EventType(i32::MIN)
                };
                *self.notifications_by_type.entry(key).or_default() += 1;
            }
            Event::FourLetter(f) => {
                self.see_ts(f.ts);
                self.see_conn(f.conn);
                self.four_letter_words += 1;
            }
            Event::Closed(c) => {
                self.see_ts(c.ts);
                self.see_session(c.session);
                self.open.remove(&c.conn);
                self.closed += 1;
            }
            Event::Anomaly(a) => {
                self.see_ts(a.ts);
                self.anomalies += 1;
            }
            Event::Quorum(q) => {
                self.see_ts(q.ts);
                self.quorum_messages += 1;
                if q.message.protocol == crate::quorum::QuorumProtocol::ZkPeer {
                    *self
                        .peer_rpcs_by_kind
                        .entry(q.message.kind.clone())
                        .or_default() += 1;
                }
            }
        }
    }

    fn exchange(&mut self, x: &Exchange) {
        if x.request_ts.is_none() {
            self.unpaired_replies += 1;
        }
        if x.op == Some(OpCode::Ping) {
            self.pings += 1;
            if !self.cfg.include_pings {
                return;
            }
        }
        let max = self.cfg.max_keys;
        self.total.add(x);
        self.tables[Dim::Op.index()].add(&x.op_name(), x, max);
        let path = match (&x.path, self.cfg.path_depth) {
            (Some(p), Some(d)) => truncate_path(p, d),
            (Some(p), None) => p.as_str(),
            (None, _) => NO_PATH,
        };
        self.tables[Dim::Path.index()].add(path, x, max);
        let client = if self.cfg.client_with_port {
            x.conn.client.to_string()
        } else {
            x.conn.client.ip().to_string()
        };
        self.tables[Dim::Client.index()].add(&client, x, max);
        let session = x
            .session
            .map_or_else(|| NO_SESSION.to_string(), session_key);
        self.tables[Dim::Session.index()].add(&session, x, max);
    }

    /// The window's aggregates: each dimension's `top` rows (0: all) by `sort`.
    pub fn snapshot(&self, sort: SortKey, top: usize) -> Snapshot {
        let window = self.window();
        let rate_window = (!window.is_zero()).then_some(window);
        let name = |c: zkproto::EventType| {
            if c.0 == i32::MIN {
                OTHER.to_string()
            } else {
                c.to_string()
            }
        };
        let mut notifications_by_type: Vec<(String, u64)> = self
            .notifications_by_type
            .iter()
            .map(|(t, n)| (name(*t), *n))
            .collect();
        notifications_by_type.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let mut peer_rpcs_by_kind: Vec<(String, u64)> = self
            .peer_rpcs_by_kind
            .iter()
            .map(|(k, n)| (k.clone(), *n))
            .collect();
        peer_rpcs_by_kind.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let totals = Totals {
            requests: self.total.row("ALL", rate_window),
            pings: self.pings,
            unpaired_replies: self.unpaired_replies,
            notifications: self.notifications,
            notifications_by_type,
            connections: self.closed + self.open.len() as u64,
            open_connections: self.open.len() as u64,
            sessions: self.sessions.len() as u64,
            sessions_saturated: self.sessions_saturated,
            handshakes: self.handshakes,
            expired_handshakes: self.expired_handshakes,
            four_letter_words: self.four_letter_words,
            anomalies: self.anomalies,
            quorum_messages: self.quorum_messages,
            peer_rpcs_by_kind,
        };
        Snapshot {
            start_secs: self.start.map(|t| t.as_secs_f64()),
            end_secs: self.end.map(|t| t.as_secs_f64()),
            window_secs: window.as_secs_f64(),
            sort: sort.name().to_string(),
            totals,
            tables: Dim::ALL
                .iter()
                .map(|d| self.tables[d.index()].snapshot(*d, rate_window, sort, top))
                .collect(),
        }
    }
}

/// Events built directly from the model, shared by this crate's aggregate tests.
#[cfg(test)]
pub(crate) mod test_events {
    use std::net::SocketAddr;
    use std::time::Duration;

    use zkproto::{ErrorCode, OpCode};

    use crate::model::{ConnId, Event, Exchange};

    pub fn conn(client: &str) -> ConnId {
        ConnId {
            client: client.parse::<SocketAddr>().unwrap(),
            server: "10.0.0.1:2181".parse().unwrap(),
        }
    }

    pub fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    /// A request at `at` answered `latency` later.
    pub fn exchange(
        client: &str,
        op: OpCode,
        path: Option<&str>,
        at: Duration,
        latency: Duration,
    ) -> Exchange {
        Exchange {
            conn: conn(client),
            session: Some(0x100),
            xid: 1,
            op: Some(op),
            opcode: op.code(),
            path: path.map(str::to_string),
            request_ts: Some(at),
            reply_ts: Some(at + latency),
            err: Some(ErrorCode::OK),
            zxid: Some(1),
            request_bytes: 100,
            reply_bytes: 200,
            detail: String::new(),
        }
    }

    pub fn ev(x: Exchange) -> Event {
        Event::Exchange(x)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::test_events::*;
    use super::*;
    use crate::model::{CloseReason, ClosedSeen, ConnectReplySeen, NotificationSeen};
    use proptest::prelude::*;

    fn stats() -> Stats {
        Stats::new(StatsConfig::default())
    }

    pub(super) fn getdata_1_2_3() -> Stats {
        let mut s = stats();
        let base = Duration::from_secs(1_700_000_000);
        for (i, lat) in [1, 2, 3].into_iter().enumerate() {
            s.observe(&ev(exchange(
                "10.0.0.2:5000",
                OpCode::GetData,
                Some("/a/b/c"),
                base + ms(i as u64 * 1000),
                ms(lat),
            )));
        }
        s
    }

    #[test]
    fn percentiles_counts_bytes_and_rate() {
        let snap = getdata_1_2_3().snapshot(SortKey::Count, 10);
        let op = snap.table(Dim::Op).unwrap();
        assert_eq!(op.rows.len(), 1);
        let r = &op.rows[0];
        assert_eq!(r.key, "getData");
        assert_eq!(r.count, 3);
        assert_eq!((r.bytes_in, r.bytes_out, r.errors), (300, 600, 0));
        assert_eq!(
            r.latency,
            Some(LatencySummary {
                samples: 3,
                p50_us: 2000,
                p95_us: 3000,
                p99_us: 3000,
                max_us: 3000
            })
        );
        // Window: first request (t=0) to the last reply (t=2.003 s).
        assert!(
            (snap.window_secs - 2.003).abs() < 1e-12,
            "{}",
            snap.window_secs
        );
        assert!((r.rate.unwrap() - 3.0 / 2.003).abs() < 1e-12);
        assert_eq!(snap.totals.requests.count, 3);
        assert_eq!(snap.totals.requests.latency.unwrap().p50_us, 2000);
        assert_eq!(snap.totals.connections, 1);
        assert_eq!(snap.totals.sessions, 1);
    }

    #[test]
    fn percentiles_nearest_rank_over_a_hundred() {
        let mut s = stats();
        // 1..=100 ms: p50 is the 50th sample, p95 the 95th, p99 the 99th.
        for i in 1..=100u64 {
            s.observe(&ev(exchange(
                "10.0.0.2:5000",
                OpCode::Exists,
                Some("/x"),
                ms(i * 10),
                ms(i),
            )));
        }
        let l = s.snapshot(SortKey::Count, 0).tables[0].rows[0]
            .latency
            .unwrap();
        // 3 significant digits: 50,000 us sits in a bucket 32 us wide.
        assert!((50_000..50_032).contains(&l.p50_us), "{l:?}");
        assert!((95_000..95_064).contains(&l.p95_us), "{l:?}");
        assert!((99_000..99_064).contains(&l.p99_us), "{l:?}");
        assert_eq!(l.max_us, 100_000);
        assert_eq!(l.samples, 100);
    }

    #[test]
    fn errors_by_code_and_unanswered() {
        let mut s = stats();
        let mut x = exchange("10.0.0.2:5000", OpCode::GetData, Some("/a"), ms(0), ms(1));
        x.err = Some(ErrorCode::NO_NODE);
        s.observe(&ev(x.clone()));
        s.observe(&ev(x.clone()));
        x.err = Some(ErrorCode::NO_AUTH);
        s.observe(&ev(x.clone()));
        x.err = None;
        x.reply_ts = None;
        x.reply_bytes = 0;
        s.observe(&ev(x));
        let snap = s.snapshot(SortKey::Errors, 0);
        let r = &snap.tables[0].rows[0];
        assert_eq!(r.count, 4);
        assert_eq!(r.errors, 3);
        assert_eq!(
            r.errors_by_code,
            vec![("NoNode".to_string(), 2), ("NoAuth".to_string(), 1)]
        );
        assert_eq!(r.unanswered, 1);
        assert_eq!(r.latency.unwrap().samples, 3);
    }

    #[test]
    fn path_depth_client_port_and_session_keys() {
        let mut s = Stats::new(StatsConfig {
            path_depth: Some(2),
            client_with_port: false,
            ..Default::default()
        });
        s.observe(&ev(exchange(
            "10.0.0.2:5000",
            OpCode::GetData,
            Some("/a/b/c/d"),
            ms(0),
            ms(1),
        )));
        s.observe(&ev(exchange(
            "10.0.0.2:5001",
            OpCode::GetData,
            Some("/a/b/x"),
            ms(0),
            ms(1),
        )));
        let mut x = exchange("10.0.0.3:5000", OpCode::Multi, None, ms(0), ms(1));
        x.session = None;
        s.observe(&ev(x));
        let snap = s.snapshot(SortKey::Count, 0);
        let keys = |d: Dim| -> Vec<(String, u64)> {
            snap.table(d)
                .unwrap()
                .rows
                .iter()
                .map(|r| (r.key.clone(), r.count))
                .collect()
        };
        assert_eq!(
            keys(Dim::Path),
            vec![("/a/b".into(), 2), (NO_PATH.into(), 1)]
        );
        assert_eq!(
            keys(Dim::Client),
            vec![("10.0.0.2".into(), 2), ("10.0.0.3".into(), 1)]
        );
        assert_eq!(
            keys(Dim::Session),
            vec![("0x0000000000000100".into(), 2), (NO_SESSION.into(), 1)]
        );
        assert_eq!(snap.totals.connections, 3);

        let mut s = Stats::new(StatsConfig {
            client_with_port: true,
            ..Default::default()
        });
        s.observe(&ev(exchange(
            "10.0.0.2:5000",
            OpCode::GetData,
            Some("/a/b/c/d"),
            ms(0),
            ms(1),
        )));
        s.observe(&ev(exchange(
            "[::1]:5001",
            OpCode::GetData,
            Some("/a/b/c/d"),
            ms(0),
            ms(1),
        )));
        let snap = s.snapshot(SortKey::Key, 0);
        let clients: Vec<&str> = snap
            .table(Dim::Client)
            .unwrap()
            .rows
            .iter()
            .map(|r| r.key.as_str())
            .collect();
        assert_eq!(clients, ["10.0.0.2:5000", "[::1]:5001"]);
        assert_eq!(snap.table(Dim::Path).unwrap().rows[0].key, "/a/b/c/d");
    }

    #[test]
    fn truncation() {
        assert_eq!(truncate_path("/a/b/c/d", 2), "/a/b");
        assert_eq!(truncate_path("/a/b/c/d", 1), "/a");
        assert_eq!(truncate_path("/a/b/c/d", 4), "/a/b/c/d");
        assert_eq!(truncate_path("/a/b/c/d", 9), "/a/b/c/d");
        assert_eq!(truncate_path("/a", 2), "/a");
        assert_eq!(truncate_path("/", 2), "/");
        assert_eq!(truncate_path("/a/b", 0), "/");
    }

    #[test]
    fn pings_excluded_unless_asked() {
        let ping = exchange("10.0.0.2:5000", OpCode::Ping, None, ms(0), ms(1));
        let mut s = stats();
        s.observe(&ev(ping.clone()));
        let snap = s.snapshot(SortKey::Count, 0);
        assert_eq!(snap.totals.requests.count, 0);
        assert_eq!(snap.totals.pings, 1);
        assert!(snap.tables.iter().all(|t| t.rows.is_empty()));
        // Pings still show that the connection was there.
        assert_eq!(snap.totals.connections, 1);

        let mut s = Stats::new(StatsConfig {
            include_pings: true,
            ..Default::default()
        });
        s.observe(&ev(ping));
        let snap = s.snapshot(SortKey::Count, 0);
        assert_eq!(snap.totals.requests.count, 1);
        assert_eq!(snap.tables[0].rows[0].key, "ping");
    }

    #[test]
    fn cap_folds_into_other() {
        let mut s = Stats::new(StatsConfig {
            max_keys: 2,
            ..Default::default()
        });
        for (i, client) in [
            "10.0.0.2:1",
            "10.0.0.3:1",
            "10.0.0.4:1",
            "10.0.0.5:1",
            "10.0.0.2:2",
        ]
        .iter()
        .enumerate()
        {
            s.observe(&ev(exchange(
                client,
                OpCode::GetData,
                Some(&format!("/p{i}")),
                ms(0),
                ms(1),
            )));
        }
        let snap = s.snapshot(SortKey::Count, 0);
        let c = snap.table(Dim::Client).unwrap();
        assert_eq!(c.keys, 2);
        assert_eq!(
            c.rows
                .iter()
                .map(|r| (r.key.as_str(), r.count))
                .collect::<Vec<_>>(),
            [("10.0.0.2", 2), ("10.0.0.3", 1)]
        );
        assert_eq!(c.other.as_ref().unwrap().count, 2);
        let p = snap.table(Dim::Path).unwrap();
        assert_eq!(p.other.as_ref().unwrap().count, 3);
        assert!(render_text(&snap, &[Dim::Client]).contains("(other)"));
    }

    #[test]
    fn sort_and_top() {
        let mut s = stats();
        for (op, n, lat) in [
            (OpCode::GetData, 5, 1),
            (OpCode::SetData, 2, 9),
            (OpCode::Create, 3, 4),
        ] {
            for i in 0..n {
                let mut x = exchange("10.0.0.2:1", op, Some("/a"), ms(i), ms(lat));
                if op == OpCode::Create {
                    x.err = Some(ErrorCode::NODE_EXISTS);
                }
                s.observe(&ev(x));
            }
        }
        let order = |sort: SortKey, top: usize| -> (Vec<String>, usize) {
            let snap = s.snapshot(sort, top);
            let t = snap.table(Dim::Op).unwrap();
            (t.rows.iter().map(|r| r.key.clone()).collect(), t.hidden)
        };
        assert_eq!(order(SortKey::Count, 0).0, ["getData", "create", "setData"]);
        assert_eq!(order(SortKey::P99, 0).0, ["setData", "create", "getData"]);
        assert_eq!(
            order(SortKey::Max, 2),
            (vec!["setData".to_string(), "create".to_string()], 1)
        );
        assert_eq!(order(SortKey::Errors, 1), (vec!["create".to_string()], 2));
        assert_eq!(order(SortKey::Key, 0).0, ["create", "getData", "setData"]);
        assert_eq!("p99".parse::<SortKey>(), Ok(SortKey::P99));
        assert!("nope".parse::<SortKey>().is_err());
    }

    #[test]
    fn reset_tiles_windows_and_keeps_open_connections() {
        let mut s = stats();
        s.observe(&ev(exchange(
            "10.0.0.2:1",
            OpCode::GetData,
            Some("/a"),
            ms(0),
            ms(1),
        )));
        s.observe(&ev(exchange(
            "10.0.0.2:1",
            OpCode::GetData,
            Some("/a"),
            ms(9_000),
            ms(1),
        )));
        assert_eq!(s.window(), ms(9_001));
        s.reset();
        assert_eq!(s.snapshot(SortKey::Count, 0).totals.requests.count, 0);
        s.observe(&ev(exchange(
            "10.0.0.3:1",
            OpCode::GetData,
            Some("/a"),
            ms(10_000),
            ms(1),
        )));
        // The new window starts where the last ended.
        assert_eq!(s.window(), ms(1_000));
        s.observe(&Event::Closed(ClosedSeen {
            conn: conn("10.0.0.2:1"),
            ts: ms(10_001),
            session: Some(0x100),
            reason: CloseReason::Fin,
            unanswered: 0,
        }));
        let t = s.snapshot(SortKey::Count, 0).totals;
        assert_eq!(
            (t.connections, t.open_connections, t.requests.count),
            (2, 1, 1)
        );
        assert_eq!(t.requests.rate, Some(1.0));
    }

    #[test]
    fn notifications_handshakes_and_empty_window() {
        let mut s = stats();
        let snap = s.snapshot(SortKey::Count, 0);
        assert_eq!(snap.totals.requests.rate, None);
        assert_eq!(snap.window_secs, 0.0);
        for t in [
            zkproto::EventType::NODE_DELETED,
            zkproto::EventType::NODE_DELETED,
            zkproto::EventType::NODE_CREATED,
        ] {
            s.observe(&Event::Notification(NotificationSeen {
                conn: conn("10.0.0.2:1"),
                ts: ms(5),
                session: Some(7),
                zxid: -1,
                event_type: t,
                state: zkproto::KeeperState::SYNC_CONNECTED,
                path: "/a".into(),
            }));
        }
        s.observe(&Event::Connected(ConnectReplySeen {
            conn: conn("10.0.0.4:1"),
            ts: ms(6),
            session: 9,
            timeout_ms: 0,
            read_only: None,
            latency: None,
            previous_session: None,
        }));
        let t = s.snapshot(SortKey::Count, 0).totals;
        assert_eq!(t.notifications, 3);
        assert_eq!(
            t.notifications_by_type,
            vec![
                ("NodeDeleted".to_string(), 2),
                ("NodeCreated".to_string(), 1)
            ]
        );
        assert_eq!(
            (
                t.handshakes,
                t.expired_handshakes,
                t.sessions,
                t.connections
            ),
            (1, 1, 2, 2)
        );
    }

    fn arb_exchange() -> impl Strategy<Value = Exchange> {
        (
            0u8..6,
            0usize..4,
            0u8..5,
            0u64..5_000,
            0u64..100_000,
            any::<bool>(),
        )
            .prop_map(|(client, op, path, at, lat, err)| {
                let ops = [
                    OpCode::GetData,
                    OpCode::Ping,
                    OpCode::Create,
                    OpCode::Exists,
                ];
                let p = format!("/r{}/s{}/t", path % 3, path);
                let mut x = exchange(
                    &format!("10.0.0.{client}:40{client}"),
                    ops[op],
                    Some(&p),
                    ms(at),
                    Duration::from_micros(lat),
                );
                if err {
                    x.err = Some(ErrorCode::NO_NODE);
                }
                x
            })
    }

    proptest! {
        #[test]
        fn every_dimension_adds_up_to_the_total(xs in prop::collection::vec(arb_exchange(), 0..60), max_keys in 1usize..5, depth in prop::option::of(0usize..4)) {
            let mut s = Stats::new(StatsConfig { max_keys, path_depth: depth, ..Default::default() });
            for x in &xs {
                s.observe(&ev(x.clone()));
            }
            let snap = s.snapshot(SortKey::Count, 0);
            let counted: Vec<&Exchange> = xs.iter().filter(|x| x.op != Some(OpCode::Ping)).collect();
            prop_assert_eq!(snap.totals.requests.count, counted.len() as u64);
            prop_assert_eq!(snap.totals.pings, (xs.len() - counted.len()) as u64);
            for t in &snap.tables {
                prop_assert!(t.keys <= max_keys);
                let sum = |f: fn(&Row) -> u64| t.rows.iter().chain(&t.other).map(f).sum::<u64>();
                prop_assert_eq!(sum(|r| r.count), counted.len() as u64);
                prop_assert_eq!(sum(|r| r.errors), counted.iter().filter(|x| x.err != Some(ErrorCode::OK)).count() as u64);
                prop_assert_eq!(sum(|r| r.bytes_in), 100 * counted.len() as u64);
                for r in t.rows.iter().chain(&t.other) {
                    let l = r.latency.unwrap();
                    prop_assert!(l.p50_us <= l.p95_us && l.p95_us <= l.p99_us && l.p99_us <= l.max_us);
                }
            }
            let max = counted.iter().map(|x| x.latency().unwrap().as_micros() as u64).max();
            prop_assert_eq!(snap.totals.requests.latency.map(|l| l.max_us), max);
        }

        #[test]
        fn truncated_paths_are_prefixes(path in "(/[a-c]{0,2}){0,6}", depth in 0usize..5) {
            let t = truncate_path(&path, depth);
            prop_assert!(path.starts_with(t) || (t == "/" && depth == 0));
            prop_assert_eq!(truncate_path(t, depth), t);
            if !path.is_empty() && depth > 0 {
                prop_assert!(t.matches('/').count() <= depth);
            }
        }
    }
}
