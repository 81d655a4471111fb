//! What the analyzer sees, independent of how it is printed or aggregated:
//! every output (lines, JSON, stats, top, Prometheus, plots) consumes these.

use std::net::SocketAddr;
use std::time::Duration;

use zkproto::{ErrorCode, OpCode};

/// Capture time: since the Unix epoch, as the capture recorded it.
pub type Timestamp = Duration;

/// One TCP connection, named by its two ends. The client is the side that is
/// not on a server port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId {
    pub client: SocketAddr,
    pub server: SocketAddr,
}

impl std::fmt::Display for ConnId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} > {}", self.client, self.server)
    }
}

/// A request and its reply, or whichever half was seen.
#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    pub conn: ConnId,
    /// The session the connection carries, when its handshake was seen.
    pub session: Option<i64>,
    pub xid: i32,
    /// `None` for an opcode this version does not know (`opcode` has the value)
    /// or for a reply whose request was not seen.
    pub op: Option<OpCode>,
    pub opcode: i32,
    pub path: Option<String>,
    /// When the request was seen; `None` for an unpaired reply.
    pub request_ts: Option<Timestamp>,
    /// When the reply was seen; `None` for a request never answered.
    pub reply_ts: Option<Timestamp>,
    pub err: Option<ErrorCode>,
    /// The zxid in the reply header: the server's last zxid when it answered.
    pub zxid: Option<i64>,
    /// Frame sizes including the 4-byte length prefix.
    pub request_bytes: u32,
    pub reply_bytes: u32,
    /// Arguments and result in a few words, secrets masked (empty unless the
    /// decoder was asked for details).
    pub detail: String,
}

impl Exchange {
    pub fn latency(&self) -> Option<Duration> {
        Some(self.reply_ts?.saturating_sub(self.request_ts?))
    }

    /// The time to show the exchange at: the reply's, else the request's.
    pub fn ts(&self) -> Timestamp {
        self.reply_ts.or(self.request_ts).unwrap_or_default()
    }

    pub fn op_name(&self) -> String {
        match self.op {
            Some(op) => op.name().to_string(),
            None if self.request_ts.is_none() => "?".to_string(),
            None => format!("op{}", self.opcode),
        }
    }
}

/// The client's half of a handshake.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectRequestSeen {
    pub conn: ConnId,
    pub ts: Timestamp,
    /// 0 for a new session; the old id on a reconnect.
    pub session: i64,
    pub timeout_ms: i32,
    pub last_zxid_seen: i64,
    pub read_only: Option<bool>,
}

/// The server's answer to a handshake.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectReplySeen {
    pub conn: ConnId,
    pub ts: Timestamp,
    pub session: i64,
    /// 0 means the server declared the session expired.
    pub timeout_ms: i32,
    pub read_only: Option<bool>,
    /// Time from ConnectRequest to ConnectResponse, when both were seen.
    pub latency: Option<Duration>,
    /// The session this connection carried before (a reconnect that moved it
    /// here, or a new session replacing an expired one).
    pub previous_session: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NotificationSeen {
    pub conn: ConnId,
    pub ts: Timestamp,
    pub session: Option<i64>,
    /// The zxid that triggered it (3.9 servers; -1 from older ones).
    pub zxid: i64,
    pub event_type: zkproto::EventType,
    pub state: zkproto::KeeperState,
    pub path: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FourLetterSeen {
    pub conn: ConnId,
    pub ts: Timestamp,
    pub word: zkproto::FourLetterWord,
    /// The answer, when the connection's server side was captured.
    pub answer: String,
}

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    Fin,
    Reset,
    /// Idle too long, or evicted to stay within memory bounds.
    Evicted,
    /// The capture ended with the connection still open.
    EndOfCapture,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClosedSeen {
    pub conn: ConnId,
    pub ts: Timestamp,
    pub session: Option<i64>,
    pub reason: CloseReason,
    /// Requests that never got a reply.
    pub unanswered: u32,
}

/// Something the decoder could not make sense of; counted and reported, never fatal.
#[derive(Debug, Clone, PartialEq)]
pub struct AnomalySeen {
    pub conn: ConnId,
    pub ts: Timestamp,
    pub what: String,
}

/// A decoded message of the servers' own protocols (election, ZAB).
#[derive(Debug, Clone, PartialEq)]
pub struct QuorumSeen {
    pub conn: ConnId,
    pub ts: Timestamp,
    /// Which side sent it: true when it went from `conn.client` to `conn.server`.
    pub from_client_side: bool,
    pub message: crate::quorum::QuorumMessage,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Connect(ConnectRequestSeen),
    Connected(ConnectReplySeen),
    Exchange(Exchange),
    Notification(NotificationSeen),
    FourLetter(FourLetterSeen),
    Closed(ClosedSeen),
    Anomaly(AnomalySeen),
    Quorum(QuorumSeen),
}

impl Event {
    pub fn ts(&self) -> Timestamp {
        match self {
            Event::Connect(e) => e.ts,
            Event::Connected(e) => e.ts,
            Event::Exchange(e) => e.ts(),
            Event::Notification(e) => e.ts,
            Event::FourLetter(e) => e.ts,
            Event::Closed(e) => e.ts,
            Event::Anomaly(e) => e.ts,
            Event::Quorum(e) => e.ts,
        }
    }

    pub fn conn(&self) -> ConnId {
        match self {
            Event::Connect(e) => e.conn,
            Event::Connected(e) => e.conn,
            Event::Exchange(e) => e.conn,
            Event::Notification(e) => e.conn,
            Event::FourLetter(e) => e.conn,
            Event::Closed(e) => e.conn,
            Event::Anomaly(e) => e.conn,
            Event::Quorum(e) => e.conn,
        }
    }
}
