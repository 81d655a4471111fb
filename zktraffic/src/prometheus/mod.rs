//! Prometheus exporter: [`Metrics`] aggregates events into counters, gauges
//! and histograms; [`Exporter`] serves them at `GET /metrics` from a plain
//! std thread, in the text format 0.0.4 (text.rs says why not OpenMetrics).
//!
//! Every label's values are bounded: ops, error names, event types and
//! four-letter words are fixed sets (unknown wire values become `unknown`),
//! and clients and paths are exported only for the current top N.

mod http;
mod text;
mod topn;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use crate::model::{CloseReason, ConnId, Event, Exchange, Timestamp};
use crate::pipeline::Counters;
use crate::quorum::QuorumProtocol;
use crate::source::KernelStats;
use crate::stats::truncate_path;

pub use http::Exporter;
use text::Expo;
use topn::TopN;
pub use topn::OTHER;

/// Upper bounds of the latency buckets: the `le` label and the bound in ns
/// (compared in integers, so a 1 ms latency lands in `le="0.001"` exactly).
const LATENCY_BUCKETS: [(&str, u64); 16] = [
    ("0.0001", 100_000),
    ("0.00025", 250_000),
    ("0.0005", 500_000),
    ("0.001", 1_000_000),
    ("0.0025", 2_500_000),
    ("0.005", 5_000_000),
    ("0.01", 10_000_000),
    ("0.025", 25_000_000),
    ("0.05", 50_000_000),
    ("0.1", 100_000_000),
    ("0.25", 250_000_000),
    ("0.5", 500_000_000),
    ("1", 1_000_000_000),
    ("2.5", 2_500_000_000),
    ("5", 5_000_000_000),
    ("10", 10_000_000_000),
];

/// Quorum message kinds come from the decoder; cap them in case one day it
/// passes through something wire-controlled.
const MAX_QUORUM_KINDS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsConfig {
    /// Clients and paths exported with their own label value.
    pub top_n: usize,
    /// Path components kept for the path ranking (`Some(2)`: `/a/b/c` → `/a/b`).
    pub path_depth: Option<usize>,
    /// Rank clients by `ip:port` rather than by IP.
    pub client_with_port: bool,
    /// Keys remembered for ranking, per dimension; the least busy half is
    /// forgotten when full, so a newly busy key can still rise.
    pub max_keys: usize,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            top_n: 10,
            path_depth: None,
            client_with_port: false,
            max_keys: 10_000,
        }
    }
}

#[derive(Debug, Clone, Default)]
struct OpMetrics {
    requests: u64,
    request_bytes: u64,
    response_bytes: u64,
    unanswered: u64,
    errors: BTreeMap<&'static str, u64>,
    /// Non-cumulative per bucket; the last slot is above the largest bound.
    buckets: [u64; LATENCY_BUCKETS.len() + 1],
    latency_count: u64,
    latency_sum_ns: u128,
}

/// Everything the exporter shows. Share it as `Arc<Mutex<Metrics>>` between
/// the capture loop (which calls [`Metrics::observe`]) and the [`Exporter`].
#[derive(Debug, Clone)]
pub struct Metrics {
    cfg: MetricsConfig,
    ops: BTreeMap<&'static str, OpMetrics>,
    notifications: BTreeMap<&'static str, u64>,
    four_letter_words: BTreeMap<&'static str, u64>,
    quorum: BTreeMap<(&'static str, String), u64>,
    anomalies: u64,
    handshakes: u64,
    expired_handshakes: u64,
    connections: u64,
    closed: BTreeMap<&'static str, u64>,
    /// Open client connections and the session each carries.
    open: HashMap<ConnId, Option<i64>>,
    clients: TopN,
    paths: TopN,
    last_event: Option<Timestamp>,
    capture: Option<Counters>,
    kernel: Option<KernelStats>,
}

fn op_label(x: &Exchange) -> &'static str {
    match x.op {
        Some(op) => op.name(),
        None if x.request_ts.is_none() => "unpaired",
        // An opcode off the wire that this version does not know: not a label value of its own.
        None => "unknown",
    }
}

fn reason_label(r: CloseReason) -> &'static str {
    match r {
        CloseReason::Fin => "fin",
        CloseReason::Reset => "reset",
        CloseReason::Evicted => "evicted",
        CloseReason::EndOfCapture => "end_of_capture",
    }
}

impl Metrics {
    pub fn new(cfg: MetricsConfig) -> Metrics {
        Metrics {
            clients: TopN::new(cfg.top_n, cfg.max_keys),
            paths: TopN::new(cfg.top_n, cfg.max_keys),
            cfg,
            ops: BTreeMap::new(),
            notifications: BTreeMap::new(),
            four_letter_words: BTreeMap::new(),
            quorum: BTreeMap::new(),
            anomalies: 0,
            handshakes: 0,
            expired_handshakes: 0,
            connections: 0,
            closed: BTreeMap::new(),
            open: HashMap::new(),
            last_event: None,
            capture: None,
            kernel: None,
        }
    }

    /// Shareable with an [`Exporter`].
    pub fn shared(cfg: MetricsConfig) -> Arc<Mutex<Metrics>> {
        Arc::new(Mutex::new(Metrics::new(cfg)))
    }

    /// The capture's own counters (cumulative, as [`crate::pipeline::Pipeline::counters`]
    /// returns them) and, for live captures, the kernel's drop counters.
    pub fn set_capture_counters(&mut self, counters: &Counters, kernel: Option<KernelStats>) {
        self.capture = Some(*counters);
        if kernel.is_some() {
            self.kernel = kernel;
        }
    }

    fn see_conn(&mut self, conn: ConnId, session: Option<i64>) {
        let slot = self.open.entry(conn).or_insert_with(|| {
            self.connections += 1;
            None
        });
        if session.is_some_and(|s| s != 0) {
            *slot = session;
        }
    }

    pub fn observe(&mut self, event: &Event) {
        let ts = event.ts();
        self.last_event = Some(self.last_event.map_or(ts, |t| t.max(ts)));
        match event {
            Event::Exchange(x) => {
                self.see_conn(x.conn, x.session);
                self.exchange(x);
            }
            Event::Connect(c) => self.see_conn(c.conn, Some(c.session)),
            Event::Connected(c) => {
                self.see_conn(c.conn, Some(c.session));
                self.handshakes += 1;
                if c.timeout_ms == 0 {
                    self.expired_handshakes += 1;
                }
            }
            Event::Notification(n) => {
                self.see_conn(n.conn, n.session);
                *self
                    .notifications
                    .entry(n.event_type.name().unwrap_or("unknown"))
                    .or_default() += 1;
            }
            Event::FourLetter(f) => {
                self.see_conn(f.conn, None);
                *self.four_letter_words.entry(f.word.as_str()).or_default() += 1;
            }
            Event::Closed(c) => {
                if self.open.remove(&c.conn).is_none() {
                    self.connections += 1;
                }
                *self.closed.entry(reason_label(c.reason)).or_default() += 1;
            }
            Event::Anomaly(_) => self.anomalies += 1,
            Event::Quorum(q) => {
                let protocol = match q.message.protocol {
                    QuorumProtocol::Election => "election",
                    QuorumProtocol::Zab => "zab",
                    QuorumProtocol::ZkPeer => "peer",
                };
                let mut key = (protocol, q.message.kind.clone());
                if !self.quorum.contains_key(&key) && self.quorum.len() >= MAX_QUORUM_KINDS {
                    key.1 = OTHER.to_string();
                }
                *self.quorum.entry(key).or_default() += 1;
            }
        }
    }

    fn exchange(&mut self, x: &Exchange) {
        let m = self.ops.entry(op_label(x)).or_default();
        m.requests += 1;
        m.request_bytes += u64::from(x.request_bytes);
        m.response_bytes += u64::from(x.reply_bytes);
        if x.request_ts.is_some() && x.reply_ts.is_none() {
            m.unanswered += 1;
        }
        if let Some(code) = x.err.filter(|c| !c.is_ok()) {
            *m.errors
                .entry(code.name().unwrap_or("unknown"))
                .or_default() += 1;
        }
        if let Some(lat) = x.latency() {
            let ns = u64::try_from(lat.as_nanos()).unwrap_or(u64::MAX);
            let slot = LATENCY_BUCKETS
                .iter()
                .position(|(_, le)| ns <= *le)
                .unwrap_or(LATENCY_BUCKETS.len());
            m.buckets[slot] += 1;
            m.latency_count += 1;
            m.latency_sum_ns += u128::from(ns);
        }
        // Every idle client pings; ranking them would only show who is connected longest.
        if x.op == Some(zkproto::OpCode::Ping) {
            return;
        }
        let client = if self.cfg.client_with_port {
            x.conn.client.to_string()
        } else {
            x.conn.client.ip().to_string()
        };
        self.clients.add(&client);
        if let Some(p) = &x.path {
            let key = match self.cfg.path_depth {
                Some(d) => truncate_path(p, d),
                None => p,
            };
            self.paths.add(key);
        }
    }

    /// The text exposition (format 0.0.4).
    pub fn encode(&self) -> String {
        let mut e = Expo::default();
        let ops = &self.ops;
        type PerOp = (&'static str, &'static str, fn(&OpMetrics) -> u64);
        let per_op: [PerOp; 4] = [
            (
                "zktraffic_requests_total",
                "Client requests seen, by op (unpaired: replies whose request was not captured).",
                |m| m.requests,
            ),
            (
                "zktraffic_unanswered_requests_total",
                "Requests whose reply was never seen.",
                |m| m.unanswered,
            ),
            (
                "zktraffic_request_bytes_total",
                "Request frame bytes, client to server, by op.",
                |m| m.request_bytes,
            ),
            (
                "zktraffic_response_bytes_total",
                "Reply frame bytes, server to client, by op.",
                |m| m.response_bytes,
            ),
        ];
        for (name, help, value) in per_op {
            e.by(
                name,
                "counter",
                help,
                "op",
                ops.iter().map(|(op, m)| (*op, value(m))),
            );
        }
        let name = "zktraffic_request_errors_total";
        e.head(
            name,
            "counter",
            "Replies with a non-zero error code, by op and error.",
        );
        for (op, m) in ops {
            for (err, n) in &m.errors {
                e.sample(name, &[("op", op), ("error", err)], n);
            }
        }
        let name = "zktraffic_request_latency_seconds";
        e.head(
            name,
            "histogram",
            "Request to reply, in capture time, by op.",
        );
        for (op, m) in ops {
            let mut cumulative = 0;
            for ((le, _), n) in LATENCY_BUCKETS.iter().zip(&m.buckets) {
                cumulative += n;
                e.sample(
                    &format!("{name}_bucket"),
                    &[("op", op), ("le", le)],
                    cumulative,
                );
            }
            e.sample(
                &format!("{name}_bucket"),
                &[("op", op), ("le", "+Inf")],
                m.latency_count,
            );
            e.sample(
                &format!("{name}_sum"),
                &[("op", op)],
                m.latency_sum_ns as f64 / 1e9,
            );
            e.sample(&format!("{name}_count"), &[("op", op)], m.latency_count);
        }

        e.by(
            "zktraffic_notifications_total",
            "counter",
            "Watch notifications, by event type.",
            "type",
            self.notifications.iter().map(|(k, v)| (*k, v)),
        );
        e.single(
            "zktraffic_connections_total",
            "counter",
            "Client connections seen.",
            self.connections,
        );
        e.by(
            "zktraffic_connections_closed_total",
            "counter",
            "Client connections ended, by how.",
            "reason",
            self.closed.iter().map(|(k, v)| (*k, v)),
        );
        e.single(
            "zktraffic_open_connections",
            "gauge",
            "Client connections open now.",
            self.open.len(),
        );
        let mut sessions: Vec<i64> = self.open.values().flatten().copied().collect();
        sessions.sort_unstable();
        sessions.dedup();
        e.single(
            "zktraffic_active_sessions",
            "gauge",
            "Distinct sessions on the open connections (where the handshake was seen).",
            sessions.len(),
        );
        e.single(
            "zktraffic_handshakes_total",
            "counter",
            "Session handshakes answered by a server.",
            self.handshakes,
        );
        e.single(
            "zktraffic_expired_session_handshakes_total",
            "counter",
            "Handshakes a server answered with session expired.",
            self.expired_handshakes,
        );
        e.by(
            "zktraffic_four_letter_words_total",
            "counter",
            "Admin commands (four-letter words), by word.",
            "word",
            self.four_letter_words.iter().map(|(k, v)| (*k, v)),
        );
        let name = "zktraffic_quorum_messages_total";
        e.head(
            name,
            "counter",
            "Server-to-server messages, by protocol and kind.",
        );
        for ((protocol, kind), n) in &self.quorum {
            e.sample(name, &[("protocol", protocol), ("kind", kind)], n);
        }
        e.single(
            "zktraffic_anomalies_total",
            "counter",
            "Traffic the decoder could not make sense of.",
            self.anomalies,
        );

        let top_help = |what: &str| {
            format!(
                "Requests (pings excluded) of the current top {} {what}; the rest, and any counted \
                 before a key entered the top, are under \"other\".",
                self.cfg.top_n
            )
        };
        e.by(
            "zktraffic_client_requests_total",
            "counter",
            &top_help("clients"),
            "client",
            self.clients.series(),
        );
        e.by(
            "zktraffic_path_requests_total",
            "counter",
            &top_help("paths"),
            "path",
            self.paths.series(),
        );

        if let Some(t) = self.last_event {
            e.single(
                "zktraffic_last_event_timestamp_seconds",
                "gauge",
                "Capture time of the latest event.",
                t.as_secs_f64(),
            );
        }
        if let Some(c) = &self.capture {
            capture_counters(&mut e, c);
        }
        if let Some(k) = &self.kernel {
            let kernel = [
                (
                    "received_packets",
                    "Packets the kernel passed to the capture.",
                    k.received,
                ),
                (
                    "dropped_packets",
                    "Packets the kernel dropped: the capture did not keep up.",
                    k.dropped,
                ),
                (
                    "interface_dropped_packets",
                    "Packets the interface or driver dropped.",
                    k.if_dropped,
                ),
            ];
            for (name, help, v) in kernel {
                e.single(
                    &format!("zktraffic_kernel_{name}_total"),
                    "counter",
                    help,
                    v,
                );
            }
        }
        e.finish()
    }
}

fn capture_counters(e: &mut Expo, c: &Counters) {
    let plain = [
        (
            "zktraffic_capture_packets_total",
            "Packets read from the capture.",
            c.packets,
        ),
        (
            "zktraffic_capture_bytes_total",
            "Bytes on the wire of the packets read.",
            c.bytes,
        ),
        (
            "zktraffic_capture_tcp_segments_total",
            "TCP segments parsed.",
            c.tcp_segments,
        ),
        (
            "zktraffic_capture_snaplen_cut_packets_total",
            "Packets the snaplen cut short.",
            c.snaplen_cut,
        ),
        (
            "zktraffic_flows_opened_total",
            "TCP connections tracked.",
            c.flows_opened,
        ),
        (
            "zktraffic_flows_evicted_total",
            "Connections forgotten (idle or over the flow limit).",
            c.flows_evicted,
        ),
        (
            "zktraffic_stream_out_of_order_segments_total",
            "Segments that arrived out of order.",
            c.stream.out_of_order_segments,
        ),
        (
            "zktraffic_stream_duplicate_bytes_total",
            "Bytes seen again (retransmissions).",
            c.stream.duplicate_bytes,
        ),
        (
            "zktraffic_stream_gaps_total",
            "Holes in a stream (lost packets).",
            c.stream.gaps,
        ),
        (
            "zktraffic_stream_gap_bytes_total",
            "Bytes missing in those holes.",
            c.stream.gap_bytes,
        ),
        (
            "zktraffic_decoder_frames_total",
            "Client protocol frames decoded.",
            c.conversation.frames,
        ),
        (
            "zktraffic_decoder_errors_total",
            "Frames that failed to decode.",
            c.conversation.decode_errors,
        ),
        (
            "zktraffic_decoder_resync_bytes_total",
            "Bytes skipped looking for a frame boundary.",
            c.conversation.resync_skipped,
        ),
        (
            "zktraffic_decoder_unpaired_replies_total",
            "Replies whose request was not seen.",
            c.conversation.unpaired_replies,
        ),
        (
            "zktraffic_decoder_pairing_overflow_total",
            "Requests forgotten because too many were outstanding.",
            c.conversation.pairing_overflow,
        ),
        (
            "zktraffic_quorum_skipped_bytes_total",
            "Server-to-server bytes that did not decode.",
            c.quorum_skipped,
        ),
        ("zktraffic_events_total", "Events produced.", c.events),
    ];
    let skipped = [
        ("not_tcp", c.not_tcp),
        ("malformed", c.malformed),
        ("fragment", c.fragments),
        ("unsupported_link", c.unsupported_link),
        ("other_port", c.other_ports),
    ];
    for (name, help, v) in plain {
        e.single(name, "counter", help, v);
    }
    e.by(
        "zktraffic_capture_skipped_packets_total",
        "counter",
        "Packets not analyzed, by why.",
        "reason",
        skipped,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ClosedSeen, ConnectReplySeen, NotificationSeen};
    use crate::stats::test_events::*;
    use std::io::Write;
    use std::time::Duration;
    use zkproto::{ErrorCode, OpCode};

    /// `name{labels}` → value, labels as printed.
    pub(super) fn parse(text: &str) -> BTreeMap<String, f64> {
        let mut m = BTreeMap::new();
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let (series, value) = line
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("bad line {line:?}"));
            let v = value
                .parse::<f64>()
                .unwrap_or_else(|_| panic!("bad value in {line:?}"));
            assert!(
                m.insert(series.to_string(), v).is_none(),
                "duplicate series {series}"
            );
        }
        m
    }

    pub(super) fn get(m: &BTreeMap<String, f64>, series: &str) -> f64 {
        *m.get(series)
            .unwrap_or_else(|| panic!("no {series} in {m:#?}"))
    }

    /// getData ×3 at 50 µs, 1 ms, 3 ms; a failed create; a 20 s setData; an unanswered exists.
    fn sample_metrics() -> Metrics {
        let mut m = Metrics::new(MetricsConfig {
            top_n: 2,
            ..Default::default()
        });
        for lat in [Duration::from_micros(50), ms(1), ms(3)] {
            m.observe(&ev(exchange(
                "10.0.0.2:5000",
                OpCode::GetData,
                Some("/a/b"),
                ms(0),
                lat,
            )));
        }
        let mut x = exchange("10.0.0.3:5000", OpCode::Create, Some("/a/c"), ms(10), ms(2));
        x.err = Some(ErrorCode::NODE_EXISTS);
        x.request_bytes = 60;
        x.reply_bytes = 16;
        m.observe(&ev(x));
        m.observe(&ev(exchange(
            "10.0.0.3:5000",
            OpCode::SetData,
            Some("/a/c"),
            ms(20),
            Duration::from_secs(20),
        )));
        let mut x = exchange("10.0.0.4:5000", OpCode::Exists, Some("/z"), ms(30), ms(1));
        x.reply_ts = None;
        x.reply_bytes = 0;
        m.observe(&ev(x));
        m.observe(&ev(exchange(
            "10.0.0.4:5000",
            OpCode::Ping,
            None,
            ms(40),
            ms(1),
        )));
        m.observe(&Event::Notification(NotificationSeen {
            conn: conn("10.0.0.2:5000"),
            ts: ms(50),
            session: Some(0x100),
            zxid: -1,
            event_type: zkproto::EventType::NODE_DATA_CHANGED,
            state: zkproto::KeeperState::SYNC_CONNECTED,
            path: "/a/b".into(),
        }));
        m.observe(&Event::Connected(ConnectReplySeen {
            conn: conn("10.0.0.5:5000"),
            ts: ms(60),
            session: 0x200,
            timeout_ms: 30_000,
            read_only: Some(false),
            latency: None,
            previous_session: None,
        }));
        m.observe(&Event::Closed(ClosedSeen {
            conn: conn("10.0.0.4:5000"),
            ts: ms(70),
            session: Some(0x100),
            reason: CloseReason::Reset,
            unanswered: 1,
        }));
        m
    }

    #[test]
    fn exact_values() {
        let m = parse(&sample_metrics().encode());
        assert_eq!(get(&m, r#"zktraffic_requests_total{op="getData"}"#), 3.0);
        assert_eq!(get(&m, r#"zktraffic_requests_total{op="ping"}"#), 1.0);
        assert_eq!(
            get(
                &m,
                r#"zktraffic_request_errors_total{op="create",error="NodeExists"}"#
            ),
            1.0
        );
        assert!(!m
            .keys()
            .any(|k| k.starts_with("zktraffic_request_errors_total{op=\"getData\"")));
        assert_eq!(
            get(&m, r#"zktraffic_unanswered_requests_total{op="exists"}"#),
            1.0
        );
        assert_eq!(
            get(&m, r#"zktraffic_request_bytes_total{op="getData"}"#),
            300.0
        );
        assert_eq!(
            get(&m, r#"zktraffic_response_bytes_total{op="create"}"#),
            16.0
        );
        let b = |le: &str| {
            get(
                &m,
                &format!(r#"zktraffic_request_latency_seconds_bucket{{op="getData",le="{le}"}}"#),
            )
        };
        assert_eq!(b("0.0001"), 1.0);
        assert_eq!(b("0.0005"), 1.0);
        assert_eq!(b("0.001"), 2.0, "1 ms is within le=0.001");
        assert_eq!(b("0.0025"), 2.0);
        assert_eq!(b("0.005"), 3.0);
        assert_eq!(b("+Inf"), 3.0);
        assert_eq!(
            get(
                &m,
                r#"zktraffic_request_latency_seconds_count{op="getData"}"#
            ),
            3.0
        );
        assert!(
            (get(&m, r#"zktraffic_request_latency_seconds_sum{op="getData"}"#) - 0.00405).abs()
                < 1e-12
        );
        // 20 s is above every bound: only +Inf has it.
        assert_eq!(
            get(
                &m,
                r#"zktraffic_request_latency_seconds_bucket{op="setData",le="10"}"#
            ),
            0.0
        );
        assert_eq!(
            get(
                &m,
                r#"zktraffic_request_latency_seconds_bucket{op="setData",le="+Inf"}"#
            ),
            1.0
        );
        assert_eq!(
            get(
                &m,
                r#"zktraffic_request_latency_seconds_count{op="exists"}"#
            ),
            0.0
        );
        assert_eq!(
            get(
                &m,
                r#"zktraffic_notifications_total{type="NodeDataChanged"}"#
            ),
            1.0
        );
        assert_eq!(get(&m, "zktraffic_connections_total"), 4.0);
        assert_eq!(
            get(&m, r#"zktraffic_connections_closed_total{reason="reset"}"#),
            1.0
        );
        assert_eq!(get(&m, "zktraffic_open_connections"), 3.0);
        // 0x100 on two connections, 0x200 on a third.
        assert_eq!(get(&m, "zktraffic_active_sessions"), 2.0);
        assert_eq!(get(&m, "zktraffic_handshakes_total"), 1.0);
        assert!((get(&m, "zktraffic_last_event_timestamp_seconds") - 20.02).abs() < 1e-9);
        // Top 2 clients: .2 (3 requests) and .3 (2); .4's exists goes to other, its ping nowhere.
        assert_eq!(
            get(&m, r#"zktraffic_client_requests_total{client="10.0.0.2"}"#),
            3.0
        );
        assert_eq!(
            get(&m, r#"zktraffic_client_requests_total{client="10.0.0.3"}"#),
            2.0
        );
        assert_eq!(
            get(&m, r#"zktraffic_client_requests_total{client="other"}"#),
            1.0
        );
        assert_eq!(
            get(&m, r#"zktraffic_path_requests_total{path="/a/b"}"#),
            3.0
        );
        assert_eq!(
            get(&m, r#"zktraffic_path_requests_total{path="/a/c"}"#),
            2.0
        );
        assert_eq!(
            get(&m, r#"zktraffic_path_requests_total{path="other"}"#),
            1.0
        );
        // No capture counters until they are set.
        assert!(!m.contains_key("zktraffic_capture_packets_total"));
    }

    #[test]
    fn capture_and_kernel_counters() {
        let mut metrics = Metrics::new(MetricsConfig::default());
        let mut c = Counters {
            packets: 10,
            not_tcp: 2,
            ..Default::default()
        };
        c.stream.gaps = 3;
        c.conversation.resync_skipped = 44;
        c.conversation.decode_errors = 5;
        metrics.set_capture_counters(
            &c,
            Some(KernelStats {
                received: 11,
                dropped: 1,
                if_dropped: 0,
            }),
        );
        c.packets = 12;
        metrics.set_capture_counters(&c, None);
        let m = parse(&metrics.encode());
        assert_eq!(get(&m, "zktraffic_capture_packets_total"), 12.0);
        assert_eq!(
            get(
                &m,
                r#"zktraffic_capture_skipped_packets_total{reason="not_tcp"}"#
            ),
            2.0
        );
        assert_eq!(get(&m, "zktraffic_stream_gaps_total"), 3.0);
        assert_eq!(get(&m, "zktraffic_decoder_resync_bytes_total"), 44.0);
        assert_eq!(get(&m, "zktraffic_decoder_errors_total"), 5.0);
        // Kept from the earlier call.
        assert_eq!(get(&m, "zktraffic_kernel_dropped_packets_total"), 1.0);
    }

    /// Lints the exposition with Prometheus's own checker when it is installed
    /// (Debian: `apt-get install prometheus`).
    #[test]
    fn promtool_accepts_the_exposition() {
        let promtool = std::env::var_os("PATH")
            .into_iter()
            .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .map(|d| d.join("promtool"))
            .find(|p| p.is_file());
        let Some(promtool) = promtool else {
            eprintln!(
                "promtool not found; skipping the exposition lint (apt-get install prometheus)"
            );
            return;
        };
        let mut metrics = sample_metrics();
        let mut c = Counters {
            packets: 1,
            ..Default::default()
        };
        c.stream.gaps = 1;
        metrics.set_capture_counters(
            &c,
            Some(KernelStats {
                received: 1,
                dropped: 0,
                if_dropped: 0,
            }),
        );
        metrics.observe(&Event::Anomaly(crate::model::AnomalySeen {
            conn: conn("10.0.0.2:1"),
            ts: ms(1),
            what: "x".into(),
        }));
        let text = metrics.encode();
        let mut child = std::process::Command::new(promtool)
            .args(["check", "metrics"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "promtool: {}{}\n{text}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
