//! The zkops structured event: one JSON object per line, written by every
//! zkserver node and by zktraffic, read by zklogview. Defined once, here.
//!
//! Ordering rule: an event stamped `zxid` is about an agreed transaction and
//! sorts identically on every node; an event stamped `applied_zxid` is local
//! (connect, ping, read, 4lw, error) and only says how far its node had
//! applied when it happened. Consumers must never interleave the two as if
//! both were agreed order. See `docs/events.md`.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Version of the event schema, bumped on incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// A ZooKeeper transaction id: `epoch << 32 | counter`. Serialised as ZooKeeper
/// prints it, `0x` + hex, and read back from hex or a plain number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Zxid(pub i64);

impl Zxid {
    pub fn new(epoch: u32, counter: u32) -> Zxid {
        Zxid(((epoch as i64) << 32) | counter as i64)
    }
    pub fn epoch(self) -> u32 {
        (self.0 as u64 >> 32) as u32
    }
    pub fn counter(self) -> u32 {
        self.0 as u32
    }
}

impl std::fmt::Display for Zxid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "0x{:x}", self.0)
    }
}

fn parse_hex_or_dec(s: &str) -> Option<i64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok().map(|v| v as i64),
        None => s.parse().ok(),
    }
}

/// Serialises an i64 id as `0x…` hex (zxids, session ids), as operators see them
/// in ZooKeeper's own output.
macro_rules! hex_id {
    ($t:ident) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                #[derive(Deserialize)]
                #[serde(untagged)]
                enum Repr {
                    S(String),
                    N(i64),
                }
                match Repr::deserialize(d)? {
                    Repr::N(n) => Ok($t(n)),
                    Repr::S(s) => parse_hex_or_dec(&s).map($t).ok_or_else(|| {
                        serde::de::Error::custom(format!(
                            "{}: not a hex or decimal id: {s:?}",
                            stringify!($t)
                        ))
                    }),
                }
            }
        }
    };
}
hex_id!(Zxid);

/// A client session id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct SessionId(pub i64);

impl std::fmt::Display for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "0x{:x}", self.0)
    }
}
hex_id!(SessionId);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// Which clock an event is placed on; exactly one per event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stamp {
    /// The event is about this agreed transaction.
    Zxid(Zxid),
    /// A local event; the node had applied up to this zxid.
    AppliedZxid(Zxid),
}

impl Stamp {
    pub fn zxid(self) -> Zxid {
        match self {
            Stamp::Zxid(z) | Stamp::AppliedZxid(z) => z,
        }
    }
    pub fn is_agreed(self) -> bool {
        matches!(self, Stamp::Zxid(_))
    }
}

/// One structured event. Kind-specific fields are optional and omitted when
/// absent; `detail` holds anything a kind needs beyond them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Wall time, RFC 3339 with microseconds, UTC. Informational only: order
    /// comes from the stamp and `seq`.
    pub ts: String,
    /// The node (server id, or a tool name for zktraffic) that wrote it.
    pub node: String,
    /// Node-local sequence number, starting at 0, with no gaps: a gap means
    /// lost lines.
    pub seq: u64,
    /// Dotted kind, e.g. `txn.committed`, `session.expired`, `request`.
    pub kind: String,
    pub level: Level,
    #[serde(flatten)]
    pub stamp: Stamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionId>,
    /// Client xid of a request, or the cxid of the txn it became.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xid: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Further paths (multi ops, ephemerals deleted by an expiry).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
    /// Result as ZooKeeper names it: `Ok`, `NoNode`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_us: Option<u64>,
    /// Client address `ip:port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// Transaction time (leader's clock at proposal), ms since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub txn_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_index: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
}

impl Event {
    /// A new event with only the common fields set.
    pub fn new(
        node: impl Into<String>,
        seq: u64,
        kind: impl Into<String>,
        level: Level,
        stamp: Stamp,
    ) -> Event {
        Event {
            ts: rfc3339_micros(SystemTime::now()),
            node: node.into(),
            seq,
            kind: kind.into(),
            level,
            stamp,
            session: None,
            xid: None,
            op: None,
            path: None,
            paths: Vec::new(),
            result: None,
            latency_us: None,
            client: None,
            txn_time: None,
            term: None,
            leader: None,
            log_index: None,
            msg: None,
            detail: None,
        }
    }

    /// One JSON line, without the newline.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("an Event always serialises")
    }

    /// Parses one line; `line_no` is carried into the error so a reader can
    /// report a corrupt line and go on with the next.
    pub fn from_line(line: &str, line_no: u64) -> Result<Event, crate::ProtoError> {
        serde_json::from_str(line).map_err(|e| crate::ProtoError::BadEventLine {
            line: line_no,
            msg: e.to_string(),
        })
    }
}

/// Formats a wall-clock time as RFC 3339 UTC with microseconds,
/// e.g. `2026-11-22T00:29:26.123456Z`.
pub fn rfc3339_micros(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, day) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_micros()
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day), Howard
/// Hinnant's algorithm; shared by every tool that prints dates without a
/// date library.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn time_format() {
        let t = UNIX_EPOCH + Duration::from_micros(1_795_307_366_123_456);
        assert_eq!(rfc3339_micros(t), "2026-11-22T00:29:26.123456Z");
        assert_eq!(rfc3339_micros(UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(&rfc3339_micros(leap)[..10], "2000-02-29");
    }

    #[test]
    fn exactly_one_stamp_key_and_hex_ids() {
        let mut e = Event::new(
            "1",
            0,
            "txn.committed",
            Level::Info,
            Stamp::Zxid(Zxid::new(1, 3)),
        );
        e.session = Some(SessionId(0x1000abc));
        e.op = Some("create".into());
        let line = e.to_line();
        assert!(line.contains(r#""zxid":"0x100000003""#), "{line}");
        assert!(line.contains(r#""session":"0x1000abc""#), "{line}");
        assert!(!line.contains("applied_zxid"), "{line}");
        assert_eq!(Event::from_line(&line, 1).unwrap(), e);

        let local = Event::new("1", 1, "request", Level::Debug, Stamp::AppliedZxid(Zxid(7)));
        let back = Event::from_line(&local.to_line(), 2).unwrap();
        assert!(!back.stamp.is_agreed());
    }

    #[test]
    fn corrupt_lines_name_their_line() {
        let err = Event::from_line("{\"ts\":", 42).unwrap_err();
        assert!(matches!(
            err,
            crate::ProtoError::BadEventLine { line: 42, .. }
        ));
        assert!(err.to_string().starts_with("line 42:"));
        // A line with neither stamp is refused, not silently placed.
        let no_stamp = r#"{"ts":"x","node":"1","seq":0,"kind":"k","level":"info"}"#;
        assert!(Event::from_line(no_stamp, 3).is_err());
    }
}
