//! What an operator wants from a peer frame's body, read without openraft's
//! types: the body is decoded as a MessagePack value tree and walked by the
//! field names openraft 0.9's serde derives use:
//!
//! - `Vote {leader_id: {term, node_id}, committed}`
//! - `LogId {leader_id: {term, node_id}, index}`, `None` as nil
//! - `VoteRequest {vote, last_log_id}`, `VoteResponse {vote, vote_granted, last_log_id}`
//! - `AppendEntriesRequest {vote, prev_log_id, entries, leader_commit}` with
//!   `Entry {log_id, payload}` and payload `"Blank"`, `{"Normal": batch}` or
//!   `{"Membership": ..}`; zkserver's batch is an array of
//!   `Txn {op: {<op name>: {path, ..}}, ..}`
//! - `AppendEntriesResponse`: `"Success"`, `"Conflict"`,
//!   `{"PartialSuccess": log_id}`, `{"HigherVote": vote}`
//! - `InstallSnapshotRequest {vote, meta: {last_log_id, snapshot_id, ..}, offset, data, done}`,
//!   `InstallSnapshotResponse {vote}`
//!
//! Responses are wrapped in `{"Ok": ..}` / `{"Err": ..}`. Fields that are
//! missing or of another type are left out of the summary rather than
//! failing it: a newer peer may add fields.

use std::fmt;

use rmpv::Value;
use serde::Serialize;

use super::{Hello, Kind};
use crate::error::{ProtoError, Result};

/// Bodies larger than this are not described: a value tree costs many
/// times its encoded size, and a sniffer must stay bounded.
pub const DESCRIBE_MAX_BODY: usize = 8 * 1024 * 1024;

/// Deep enough for openraft's nesting (about 12 levels) with room to spare.
const MAX_DEPTH: usize = 48;

/// Writes listed one by one in a summary; the rest are only counted.
const MAX_LISTED_WRITES: usize = 64;

/// Writes shown in the one-line rendering.
const LINE_WRITES: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LogIdSummary {
    pub index: u64,
    pub term: u64,
}

impl fmt::Display for LogIdSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.term)
    }
}

/// One write inside a normal entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WriteSummary {
    /// zkserver's op name: `create`, `delete`, `set_data`, `set_acl`,
    /// `check`, `multi`, `create_session`, `close_session`, `delete_container`.
    pub op: String,
    pub path: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct EntriesSummary {
    pub count: u64,
    /// Index of the first and last entry.
    pub first: Option<u64>,
    pub last: Option<u64>,
    pub blank: u64,
    pub membership: u64,
    pub normal: u64,
    /// Writes (txns) inside the normal entries.
    pub writes: u64,
    /// The first writes, in log order.
    pub ops: Vec<WriteSummary>,
    /// Writes counted but not listed in `ops`.
    pub ops_omitted: u64,
}

/// An AppendEntries response's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "result")]
pub enum Outcome {
    Success,
    /// Accepted up to `matching`.
    PartialSuccess {
        matching: Option<LogIdSummary>,
    },
    /// The follower's log does not hold `prev_log_id`.
    Conflict,
    /// The follower has seen a newer vote: the sender is no longer leader.
    HigherVote {
        term: Option<u64>,
        node: Option<u64>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotSummary {
    pub last_log_id: Option<LogIdSummary>,
    pub snapshot_id: Option<String>,
    pub offset: Option<u64>,
    /// Snapshot bytes in this chunk.
    pub bytes: Option<u64>,
    pub done: Option<bool>,
}

/// The operator's view of one frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerSummary {
    #[serde(serialize_with = "kind_name")]
    pub kind: Kind,
    /// The vote's term.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub term: Option<u64>,
    /// The vote's node: the candidate of a vote request, the leader of an
    /// append or snapshot, whom the responder has voted for in a response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<u64>,
    /// The vote is a leader's (granted by a quorum).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub committed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub granted: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_log_id: Option<LogIdSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prev_log_id: Option<LogIdSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entries: Option<EntriesSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leader_commit: Option<LogIdSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<SnapshotSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<u64>,
    /// An error frame's message, or a response's `Err` rendered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn kind_name<S: serde::Serializer>(k: &Kind, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(k.name())
}

impl PeerSummary {
    pub fn new(kind: Kind) -> PeerSummary {
        PeerSummary {
            kind,
            term: None,
            node: None,
            committed: None,
            granted: None,
            last_log_id: None,
            prev_log_id: None,
            entries: None,
            leader_commit: None,
            outcome: None,
            snapshot: None,
            cluster: None,
            from: None,
            to: None,
            error: None,
        }
    }
}

/// Decodes `body` as a `kind` frame's and summarizes it.
pub fn describe(kind: Kind, body: &[u8]) -> Result<PeerSummary> {
    let mut s = PeerSummary::new(kind);
    if kind == Kind::HelloOk && body.is_empty() {
        return Ok(s);
    }
    let v = read_body(body)?;
    let v = if kind.is_response() && kind != Kind::Error {
        match unwrap_result(&v) {
            Ok(ok) => ok,
            Err(err) => {
                s.error = Some(render(err));
                return Ok(s);
            }
        }
    } else {
        &v
    };
    if !v.is_map() && kind != Kind::AppendResp {
        return Err(ProtoError::BadPeerBody {
            kind: kind.name(),
            msg: format!("not a map: {}", render(v)),
        });
    }
    match kind {
        Kind::Hello => {
            let h = Hello::decode(body)?;
            s.cluster = Some(h.cluster);
            s.from = Some(h.from);
            s.to = Some(h.to);
        }
        Kind::HelloOk => {}
        Kind::Error => {
            s.error = Some(
                field(v, "msg")
                    .and_then(Value::as_str)
                    .map_or_else(|| render(v), str::to_string),
            );
        }
        Kind::VoteReq | Kind::VoteResp => {
            vote(&mut s, field(v, "vote"));
            s.granted = field(v, "vote_granted").and_then(Value::as_bool);
            s.last_log_id = field(v, "last_log_id").and_then(log_id);
        }
        Kind::AppendReq => {
            vote(&mut s, field(v, "vote"));
            s.prev_log_id = field(v, "prev_log_id").and_then(log_id);
            s.leader_commit = field(v, "leader_commit").and_then(log_id);
            s.entries = field(v, "entries")
                .and_then(Value::as_array)
                .map(|e| entries(e));
        }
        Kind::AppendResp => s.outcome = Some(outcome(&mut s, v)?),
        Kind::SnapshotReq => {
            vote(&mut s, field(v, "vote"));
            let meta = field(v, "meta");
            s.snapshot = Some(SnapshotSummary {
                last_log_id: meta.and_then(|m| field(m, "last_log_id")).and_then(log_id),
                snapshot_id: meta
                    .and_then(|m| field(m, "snapshot_id"))
                    .and_then(Value::as_str)
                    .map(str::to_string),
                offset: field(v, "offset").and_then(Value::as_u64),
                bytes: field(v, "data").and_then(byte_len),
                done: field(v, "done").and_then(Value::as_bool),
            });
        }
        Kind::SnapshotResp => vote(&mut s, field(v, "vote")),
    }
    Ok(s)
}

/// Decodes one whole MessagePack value that must fill `body`.
pub(crate) fn read_body(body: &[u8]) -> Result<Value> {
    if body.len() > DESCRIBE_MAX_BODY {
        return Err(ProtoError::BadPeerBody {
            kind: "any",
            msg: format!(
                "{} bytes, over the {DESCRIBE_MAX_BODY} described",
                body.len()
            ),
        });
    }
    let mut rd = body;
    let v = rmpv::decode::read_value_with_max_depth(&mut rd, MAX_DEPTH).map_err(|e| {
        ProtoError::BadPeerBody {
            kind: "any",
            msg: e.to_string(),
        }
    })?;
    if !rd.is_empty() {
        return Err(ProtoError::TrailingBytes {
            what: "peer frame body",
            count: rd.len(),
        });
    }
    Ok(v)
}

/// A map's field by name.
pub(crate) fn field<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v.as_map()?
        .iter()
        .find(|(k, _)| k.as_str() == Some(name))
        .map(|(_, v)| v)
}

/// An externally tagged enum value: `"Unit"` or `{"Variant": content}`.
fn variant(v: &Value) -> Option<(&str, Option<&Value>)> {
    if let Some(name) = v.as_str() {
        return Some((name, None));
    }
    match v.as_map()?.as_slice() {
        [(k, content)] => Some((k.as_str()?, Some(content))),
        _ => None,
    }
}

fn unwrap_result(v: &Value) -> std::result::Result<&Value, &Value> {
    match variant(v) {
        Some(("Ok", Some(ok))) => Ok(ok),
        Some(("Err", Some(err))) => Err(err),
        // Not wrapped: take the value as the response itself.
        _ => Ok(v),
    }
}

fn vote(s: &mut PeerSummary, v: Option<&Value>) {
    let Some(v) = v else { return };
    let leader = field(v, "leader_id");
    s.term = leader
        .and_then(|l| field(l, "term"))
        .and_then(Value::as_u64);
    s.node = leader
        .and_then(|l| field(l, "node_id"))
        .and_then(Value::as_u64);
    s.committed = field(v, "committed").and_then(Value::as_bool);
}

fn log_id(v: &Value) -> Option<LogIdSummary> {
    Some(LogIdSummary {
        index: field(v, "index")?.as_u64()?,
        term: field(field(v, "leader_id")?, "term")?.as_u64()?,
    })
}

fn byte_len(v: &Value) -> Option<u64> {
    match v {
        Value::Binary(b) => Some(b.len() as u64),
        // serde's default for Vec<u8> without serde_bytes: an array of ints.
        Value::Array(a) => Some(a.len() as u64),
        _ => None,
    }
}

fn entries(list: &[Value]) -> EntriesSummary {
    let mut e = EntriesSummary {
        count: list.len() as u64,
        ..EntriesSummary::default()
    };
    for entry in list {
        if let Some(index) = field(entry, "log_id")
            .and_then(|l| field(l, "index"))
            .and_then(Value::as_u64)
        {
            e.first.get_or_insert(index);
            e.last = Some(index);
        }
        match field(entry, "payload").and_then(variant) {
            Some(("Blank", _)) => e.blank += 1,
            Some(("Membership", _)) => e.membership += 1,
            Some(("Normal", Some(batch))) => {
                e.normal += 1;
                // zkserver's Batch is a newtype over Vec<Txn>: an array.
                for txn in batch.as_array().map(Vec::as_slice).unwrap_or_default() {
                    e.writes += 1;
                    if e.ops.len() < MAX_LISTED_WRITES {
                        e.ops.push(write(txn));
                    } else {
                        e.ops_omitted += 1;
                    }
                }
            }
            _ => {}
        }
    }
    e
}

fn write(txn: &Value) -> WriteSummary {
    match field(txn, "op").and_then(variant) {
        Some((op, content)) => WriteSummary {
            op: op.to_string(),
            path: content
                .and_then(|c| field(c, "path"))
                .and_then(Value::as_str)
                .map(str::to_string),
        },
        None => WriteSummary {
            op: "?".into(),
            path: None,
        },
    }
}

fn outcome(s: &mut PeerSummary, v: &Value) -> Result<Outcome> {
    let bad = || ProtoError::BadPeerBody {
        kind: "append_resp",
        msg: format!("not an AppendEntriesResponse: {}", render(v)),
    };
    Ok(match variant(v).ok_or_else(bad)? {
        ("Success", _) => Outcome::Success,
        ("Conflict", _) => Outcome::Conflict,
        ("PartialSuccess", matching) => Outcome::PartialSuccess {
            matching: matching.and_then(log_id),
        },
        ("HigherVote", higher) => {
            vote(s, higher);
            Outcome::HigherVote {
                term: s.term,
                node: s.node,
            }
        }
        _ => return Err(bad()),
    })
}

/// A compact rendering of an error value: `Fatal(Stopped)`, `{msg: ..}`.
fn render(v: &Value) -> String {
    let mut out = String::new();
    render_into(v, &mut out, 0);
    out
}

fn render_into(v: &Value, out: &mut String, depth: usize) {
    use std::fmt::Write;
    if depth > 8 || out.len() > 300 {
        out.push('…');
        return;
    }
    match v {
        Value::String(s) => out.push_str(s.as_str().unwrap_or("?")),
        Value::Map(m) => {
            if let Some((name, Some(content))) = variant(v) {
                out.push_str(name);
                out.push('(');
                render_into(content, out, depth + 1);
                out.push(')');
                return;
            }
            out.push('{');
            for (i, (k, val)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                render_into(k, out, depth + 1);
                out.push_str(": ");
                render_into(val, out, depth + 1);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, val) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                render_into(val, out, depth + 1);
            }
            out.push(']');
        }
        other => {
            let _ = write!(out, "{other}");
        }
    }
}

/// One line, without who sent it: `append term 3 prev 41/3 entries 42..44
/// (3 entries, 37 writes: create /a, …) commit 41`.
impl fmt::Display for PeerSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.name())?;
        if let Some(e) = &self.error {
            return write!(f, " error: {e}");
        }
        match self.kind {
            Kind::Hello => {
                if let Some(c) = &self.cluster {
                    write!(f, " cluster {c}")?;
                }
                if let (Some(a), Some(b)) = (self.from, self.to) {
                    write!(f, " {a}->{b}")?;
                }
                Ok(())
            }
            Kind::VoteReq => {
                term(f, self.term)?;
                if let Some(n) = self.node {
                    write!(f, " candidate {n}")?;
                }
                last(f, self.last_log_id)
            }
            Kind::VoteResp => {
                match self.granted {
                    Some(true) => f.write_str(" granted")?,
                    Some(false) => f.write_str(" refused")?,
                    None => {}
                }
                term(f, self.term)?;
                if let Some(n) = self.node {
                    write!(f, " voted {n}")?;
                }
                last(f, self.last_log_id)
            }
            Kind::AppendReq => {
                term(f, self.term)?;
                match self.prev_log_id {
                    Some(p) => write!(f, " prev {p}")?,
                    None => f.write_str(" prev -")?,
                }
                match &self.entries {
                    Some(e) if e.count > 0 => {
                        match (e.first, e.last) {
                            (Some(a), Some(b)) if a != b => write!(f, " entries {a}..{b}")?,
                            (Some(a), _) => write!(f, " entry {a}")?,
                            _ => {}
                        }
                        let s = |n: u64| if n == 1 { "" } else { "s" };
                        write!(
                            f,
                            " ({} entr{}, {} write{}",
                            e.count,
                            if e.count == 1 { "y" } else { "ies" },
                            e.writes,
                            s(e.writes)
                        )?;
                        for (i, w) in e.ops.iter().take(LINE_WRITES).enumerate() {
                            f.write_str(if i == 0 { ": " } else { ", " })?;
                            f.write_str(&w.op)?;
                            if let Some(p) = &w.path {
                                write!(f, " {p}")?;
                            }
                        }
                        if e.writes > LINE_WRITES as u64 {
                            f.write_str(", …")?;
                        }
                        f.write_str(")")?;
                    }
                    _ => f.write_str(" heartbeat")?,
                }
                match self.leader_commit {
                    Some(c) => write!(f, " commit {}", c.index),
                    None => f.write_str(" commit -"),
                }
            }
            Kind::AppendResp => match &self.outcome {
                Some(Outcome::Success) => f.write_str(" success"),
                Some(Outcome::Conflict) => f.write_str(" conflict"),
                Some(Outcome::PartialSuccess { matching }) => match matching {
                    Some(m) => write!(f, " partial up to {m}"),
                    None => f.write_str(" partial"),
                },
                Some(Outcome::HigherVote { term: t, node }) => {
                    f.write_str(" higher vote")?;
                    term(f, *t)?;
                    match node {
                        Some(n) => write!(f, " by {n}"),
                        None => Ok(()),
                    }
                }
                None => Ok(()),
            },
            Kind::SnapshotReq => {
                term(f, self.term)?;
                if let Some(s) = &self.snapshot {
                    last(f, s.last_log_id)?;
                    if let Some(o) = s.offset {
                        write!(f, " offset {o}")?;
                    }
                    if let Some(b) = s.bytes {
                        write!(f, " ({b} bytes)")?;
                    }
                    if s.done == Some(true) {
                        f.write_str(" done")?;
                    }
                }
                Ok(())
            }
            Kind::SnapshotResp => term(f, self.term),
            Kind::HelloOk | Kind::Error => Ok(()),
        }
    }
}

fn term(f: &mut fmt::Formatter<'_>, t: Option<u64>) -> fmt::Result {
    match t {
        Some(t) => write!(f, " term {t}"),
        None => Ok(()),
    }
}

fn last(f: &mut fmt::Formatter<'_>, l: Option<LogIdSummary>) -> fmt::Result {
    match l {
        Some(l) => write!(f, " last {l}"),
        None => f.write_str(" last -"),
    }
}
