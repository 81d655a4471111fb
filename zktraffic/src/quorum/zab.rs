//! ZAB: Leader ⇄ Learner traffic on the quorum port (2888).
//!
//! Both directions carry jute `QuorumPacket`s back to back with no framing:
//! `int type, long zxid, buffer data, vector<Id> authinfo` (per Apache
//! ZooKeeper's `zookeeper.jute`, `Leader.java`, `Learner.java`,
//! `LearnerHandler.java`). The learner opens the connection.
//!
//! After a SNAP packet the leader streams the raw database instead of packets:
//! `int sessionCount, {long id, int timeout}*`, the ACL cache
//! (`int count, {long index, vector<ACL>}*`), the nodes
//! (`ustring path, buffer data, long acl, StatPersisted`)* up to the path
//! `"/"`, then the string `"BenWasHere"`. That is parsed element by element
//! (counted, not kept) and reported as one `snapshot` message.

use serde_json::{json, Map, Value};

use super::txn::{config_version, decode_request, decode_txn, id_json};
use super::{hex, Parsed, QuorumMessage, QuorumProtocol};

/// The largest packet (or snapshot element) buffered: jute.maxbuffer
/// (1 MiB) worth of data plus generous room for headers.
pub(crate) const MAX_PACKET: usize = 2 * 1024 * 1024;
const MAX_AUTH_IDS: i32 = 256;
const MAX_ID_LEN: usize = 64 * 1024;
const MAX_PATH_LEN: usize = 64 * 1024;
const MAX_SNAP_COUNT: i32 = 50_000_000;
const MAX_ACLS_PER_ENTRY: i32 = 65_536;
/// `StatPersisted`: 6 longs and 3 ints.
const STAT_PERSISTED_LEN: usize = 60;
/// The end-of-snapshot signature as jute writes it (length-prefixed).
const SIGNATURE: &[u8; 14] = b"\x00\x00\x00\x0aBenWasHere";
/// How many ping sessions a summary lists.
const SUMMARY_SESSIONS: usize = 4;

pub(crate) const REQUEST: i32 = 1;
pub(crate) const PROPOSAL: i32 = 2;
pub(crate) const ACK: i32 = 3;
pub(crate) const COMMIT: i32 = 4;
pub(crate) const PING: i32 = 5;
pub(crate) const REVALIDATE: i32 = 6;
pub(crate) const SYNC: i32 = 7;
pub(crate) const INFORM: i32 = 8;
pub(crate) const COMMITANDACTIVATE: i32 = 9;
pub(crate) const NEWLEADER: i32 = 10;
pub(crate) const FOLLOWERINFO: i32 = 11;
pub(crate) const UPTODATE: i32 = 12;
pub(crate) const DIFF: i32 = 13;
pub(crate) const TRUNC: i32 = 14;
pub(crate) const SNAP: i32 = 15;
pub(crate) const OBSERVERINFO: i32 = 16;
pub(crate) const LEADERINFO: i32 = 17;
pub(crate) const ACKEPOCH: i32 = 18;
pub(crate) const INFORMANDACTIVATE: i32 = 19;

/// ZooKeeper's name for a packet type and our `kind` for it.
pub(crate) fn packet_type(t: i32) -> Option<(&'static str, &'static str)> {
    Some(match t {
        REQUEST => ("REQUEST", "request"),
        PROPOSAL => ("PROPOSAL", "proposal"),
        ACK => ("ACK", "ack"),
        COMMIT => ("COMMIT", "commit"),
        PING => ("PING", "ping"),
        REVALIDATE => ("REVALIDATE", "revalidate"),
        SYNC => ("SYNC", "sync"),
        INFORM => ("INFORM", "inform"),
        COMMITANDACTIVATE => ("COMMITANDACTIVATE", "commit_and_activate"),
        NEWLEADER => ("NEWLEADER", "new_leader"),
        FOLLOWERINFO => ("FOLLOWERINFO", "follower_info"),
        UPTODATE => ("UPTODATE", "up_to_date"),
        DIFF => ("DIFF", "diff"),
        TRUNC => ("TRUNC", "trunc"),
        SNAP => ("SNAP", "snap"),
        OBSERVERINFO => ("OBSERVERINFO", "observer_info"),
        LEADERINFO => ("LEADERINFO", "leader_info"),
        ACKEPOCH => ("ACKEPOCH", "ack_epoch"),
        INFORMANDACTIVATE => ("INFORMANDACTIVATE", "inform_and_activate"),
        _ => return None,
    })
}

/// Cursor over possibly incomplete input: `More` = the element is not all
/// there yet, `Bad` = these bytes cannot be what was expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum E {
    More,
    Bad,
}

struct Cur<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cur<'a> {
    fn new(b: &'a [u8]) -> Self {
        Cur { b, pos: 0 }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], E> {
        if self.b.len() - self.pos < n {
            return Err(E::More);
        }
        let s = &self.b[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn i32(&mut self) -> Result<i32, E> {
        let s = self.take(4)?;
        Ok(i32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }

    fn i64(&mut self) -> Result<i64, E> {
        let s = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(i64::from_be_bytes(a))
    }

    /// A jute buffer of at most `max` bytes; -1 is null.
    fn buffer(&mut self, max: usize) -> Result<Option<&'a [u8]>, E> {
        let len = self.i32()?;
        if len == -1 {
            return Ok(None);
        }
        if len < 0 || len as usize > max {
            return Err(E::Bad);
        }
        self.take(len as usize).map(Some)
    }

    /// A non-null UTF-8 jute string of at most `max` bytes.
    fn string(&mut self, max: usize) -> Result<&'a str, E> {
        let b = self.buffer(max)?.ok_or(E::Bad)?;
        std::str::from_utf8(b).map_err(|_| E::Bad)
    }
}

/// What a decode attempt at one offset found.
enum Step {
    /// `used` bytes consumed, maybe with messages to report.
    Done(Vec<QuorumMessage>, usize),
    NeedMore,
    Invalid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    SessionCount,
    Sessions(u32),
    AclCount,
    Acls(u32),
    Nodes,
    Signature,
}

/// A snapshot being streamed after SNAP.
#[derive(Debug, Clone)]
struct Snapshot {
    zxid: i64,
    stage: Stage,
    sessions: u64,
    acl_entries: u64,
    nodes: u64,
    data_bytes: u64,
    bytes: u64,
}

impl Snapshot {
    fn new(zxid: i64) -> Self {
        Snapshot {
            zxid,
            stage: Stage::SessionCount,
            sessions: 0,
            acl_entries: 0,
            nodes: 0,
            data_bytes: 0,
            bytes: 0,
        }
    }

    fn message(&self, complete: bool) -> QuorumMessage {
        let fields = json!({
            "type": "SNAPSHOT",
            "zxid": hex(self.zxid),
            "complete": complete,
            "sessions": self.sessions,
            "acl_entries": self.acl_entries,
            "nodes": self.nodes,
            "data_bytes": self.data_bytes,
            "bytes": self.bytes,
        });
        let summary = if complete {
            format!(
                "SNAPSHOT zxid={} sessions={} acl_entries={} nodes={} bytes={}",
                hex(self.zxid),
                self.sessions,
                self.acl_entries,
                self.nodes,
                self.bytes
            )
        } else {
            format!(
                "SNAPSHOT zxid={} incomplete (resynced after {} nodes, {} bytes parsed)",
                hex(self.zxid),
                self.nodes,
                self.bytes
            )
        };
        QuorumMessage {
            protocol: QuorumProtocol::Zab,
            kind: "snapshot".into(),
            zxid: Some(self.zxid),
            summary,
            fields,
        }
    }

    /// Parses the next element of the snapshot at the start of `b`.
    fn step(&mut self, b: &[u8]) -> Step {
        let mut c = Cur::new(b);
        let r = self.element(&mut c);
        match r {
            Ok(done) => {
                self.bytes += c.pos as u64;
                let msgs = if done {
                    vec![self.message(true)]
                } else {
                    Vec::new()
                };
                Step::Done(msgs, c.pos)
            }
            Err(E::More) => Step::NeedMore,
            Err(E::Bad) => Step::Invalid,
        }
    }

    /// One element; `Ok(true)` when the snapshot is complete. State changes
    /// only once the whole element is there.
    fn element(&mut self, c: &mut Cur<'_>) -> Result<bool, E> {
        match self.stage {
            Stage::SessionCount => {
                let n = c.i32()?;
                if !(0..=MAX_SNAP_COUNT).contains(&n) {
                    return Err(E::Bad);
                }
                self.stage = if n == 0 {
                    Stage::AclCount
                } else {
                    Stage::Sessions(n as u32)
                };
            }
            Stage::Sessions(left) => {
                // All the complete (id, timeout) pairs that are here.
                let avail = ((c.b.len() - c.pos) / 12).min(left as usize);
                if avail == 0 {
                    return Err(E::More);
                }
                c.take(avail * 12)?;
                self.sessions += avail as u64;
                let left = left - avail as u32;
                self.stage = if left == 0 {
                    Stage::AclCount
                } else {
                    Stage::Sessions(left)
                };
            }
            Stage::AclCount => {
                let n = c.i32()?;
                if !(0..=MAX_SNAP_COUNT).contains(&n) {
                    return Err(E::Bad);
                }
                self.stage = if n == 0 {
                    Stage::Nodes
                } else {
                    Stage::Acls(n as u32)
                };
            }
            Stage::Acls(left) => {
                let _index = c.i64()?;
                let n = c.i32()?;
                if !(-1..=MAX_ACLS_PER_ENTRY).contains(&n) {
                    return Err(E::Bad);
                }
                for _ in 0..n.max(0) {
                    let _perms = c.i32()?;
                    c.string(MAX_ID_LEN)?;
                    c.string(MAX_ID_LEN)?;
                }
                self.acl_entries += 1;
                self.stage = if left == 1 {
                    Stage::Nodes
                } else {
                    Stage::Acls(left - 1)
                };
            }
            Stage::Nodes => {
                let path = c.string(MAX_PATH_LEN)?;
                if path == "/" {
                    self.stage = Stage::Signature;
                    return Ok(false);
                }
                // The root is written as "", every other node as an absolute path.
                if !(path.is_empty() || path.starts_with('/')) {
                    return Err(E::Bad);
                }
                let data = c.buffer(MAX_PACKET)?;
                let _acl = c.i64()?;
                c.take(STAT_PERSISTED_LEN)?;
                self.nodes += 1;
                self.data_bytes += data.map_or(0, |d| d.len() as u64);
            }
            Stage::Signature => {
                let sig = c.take(SIGNATURE.len())?;
                if sig != SIGNATURE {
                    return Err(E::Bad);
                }
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// One direction of a ZAB connection.
#[derive(Debug, Default)]
struct Dir {
    /// Looking for a packet boundary after garbage or a gap.
    resync: bool,
    /// While resyncing behind an incomplete candidate: how far past it the
    /// look-ahead has already found nothing.
    lookahead: usize,
    snapshot: Option<Snapshot>,
}

#[derive(Debug, Default)]
pub(crate) struct Zab {
    dirs: [Dir; 2],
}

impl Zab {
    pub(crate) fn new() -> Self {
        Zab::default()
    }

    pub(crate) fn gap(&mut self, client: bool) {
        let dir = &mut self.dirs[usize::from(!client)];
        dir.resync = true;
        dir.lookahead = 0;
    }

    pub(crate) fn parse(
        &mut self,
        client: bool,
        input: &[u8],
        out: &mut Vec<QuorumMessage>,
    ) -> Parsed {
        let dir = &mut self.dirs[usize::from(!client)];
        let mut pos = 0;
        let mut skipped = 0u64;
        while pos < input.len() {
            let rest = &input[pos..];
            let step = if dir.resync {
                resync_step(dir, rest)
            } else if let Some(snap) = dir.snapshot.as_mut() {
                snap.step(rest)
            } else {
                packet_step(rest, false)
            };
            let mut skip = 0;
            match step {
                Step::Done(msgs, used) => {
                    for m in msgs {
                        if m.kind == "snapshot" {
                            dir.snapshot = None;
                        } else if m.kind == "snap" {
                            dir.snapshot = Some(Snapshot::new(m.zxid.unwrap_or(-1)));
                        }
                        out.push(m);
                    }
                    pos += used;
                    dir.resync = false;
                    dir.lookahead = 0;
                }
                Step::NeedMore if dir.resync => {
                    // A plausible but incomplete candidate: if a complete,
                    // valid packet starts behind it, the candidate was noise.
                    match look_ahead(dir, rest) {
                        Some(q) => skip = q,
                        None if rest.len() <= MAX_PACKET + 64 * 1024 => break,
                        None => skip = 1,
                    }
                }
                Step::NeedMore if rest.len() <= MAX_PACKET + 64 * 1024 => break,
                Step::NeedMore | Step::Invalid => skip = 1,
            }
            if skip > 0 {
                pos += skip;
                skipped += skip as u64;
                dir.resync = true;
                dir.lookahead = 0;
                if let Some(s) = dir.snapshot.as_mut() {
                    s.bytes += skip as u64;
                }
            }
        }
        Parsed {
            consumed: pos,
            skipped,
        }
    }
}

/// What a resync probe found at one offset.
enum Probe {
    /// The end-of-snapshot signature (only looked for during a snapshot).
    Signature,
    Packet(QuorumMessage, usize),
    NeedMore,
    Invalid,
}

/// After garbage or a gap, only the snapshot signature (if a snapshot was
/// being streamed) or a packet that passes every plausibility check counts.
fn probe(in_snapshot: bool, b: &[u8]) -> Probe {
    if in_snapshot {
        if b.len() < SIGNATURE.len() && SIGNATURE.starts_with(b) {
            return Probe::NeedMore;
        }
        if b.starts_with(SIGNATURE) {
            return Probe::Signature;
        }
    }
    match packet_step(b, true) {
        Step::Done(mut msgs, used) => match msgs.pop() {
            Some(m) => Probe::Packet(m, used),
            None => Probe::Invalid,
        },
        Step::NeedMore => Probe::NeedMore,
        Step::Invalid => Probe::Invalid,
    }
}

fn resync_step(dir: &mut Dir, b: &[u8]) -> Step {
    match probe(dir.snapshot.is_some(), b) {
        Probe::Signature => match dir.snapshot.as_mut() {
            Some(snap) => {
                snap.bytes += SIGNATURE.len() as u64;
                Step::Done(vec![snap.message(false)], SIGNATURE.len())
            }
            None => Step::Invalid,
        },
        Probe::Packet(m, used) => {
            let mut msgs = Vec::with_capacity(2);
            if let Some(snap) = dir.snapshot.as_ref() {
                // The snapshot's end was lost; packets have resumed.
                msgs.push(snap.message(false));
            }
            msgs.push(m);
            Step::Done(msgs, used)
        }
        Probe::NeedMore => Step::NeedMore,
        Probe::Invalid => Step::Invalid,
    }
}

/// The first offset after the start of `b` where a complete, fully
/// plausible packet (or the snapshot signature) is already buffered.
/// Offsets known to hold none are not scanned again on the next call.
fn look_ahead(dir: &mut Dir, b: &[u8]) -> Option<usize> {
    let in_snapshot = dir.snapshot.is_some();
    let mut resume = None;
    for q in dir.lookahead.max(1)..b.len() {
        match probe(in_snapshot, &b[q..]) {
            Probe::Signature | Probe::Packet(..) => return Some(q),
            Probe::NeedMore => {
                resume.get_or_insert(q);
            }
            Probe::Invalid => {}
        }
    }
    dir.lookahead = resume.unwrap_or(b.len());
    None
}

struct Packet<'a> {
    ptype: i32,
    zxid: i64,
    data: Option<&'a [u8]>,
    auth: Vec<(&'a str, &'a str)>,
}

fn read_packet<'a>(c: &mut Cur<'a>, strict: bool) -> Result<Packet<'a>, E> {
    let ptype = c.i32()?;
    if packet_type(ptype).is_none() {
        return Err(E::Bad);
    }
    let zxid = c.i64()?;
    if strict && zxid < -1 {
        return Err(E::Bad);
    }
    let data = c.buffer(MAX_PACKET)?;
    let n = c.i32()?;
    let max_ids = if !strict {
        MAX_AUTH_IDS
    } else if ptype == REQUEST {
        16
    } else {
        // Only forwarded requests carry auth info.
        -1
    };
    if n < -1 || n > max_ids {
        return Err(E::Bad);
    }
    let mut auth = Vec::new();
    for _ in 0..n.max(0) {
        let scheme = c.string(MAX_ID_LEN)?;
        let id = c.string(MAX_ID_LEN)?;
        auth.push((scheme, id));
    }
    Ok(Packet {
        ptype,
        zxid,
        data,
        auth,
    })
}

fn packet_step(b: &[u8], strict: bool) -> Step {
    let mut c = Cur::new(b);
    match read_packet(&mut c, strict) {
        Ok(p) => match describe(&p, strict) {
            Some(m) => Step::Done(vec![m], c.pos),
            None => Step::Invalid,
        },
        Err(E::More) => Step::NeedMore,
        Err(E::Bad) => Step::Invalid,
    }
}

fn be_i32(b: &[u8]) -> i32 {
    i32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn be_i64(b: &[u8]) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    i64::from_be_bytes(a)
}

/// Does the zxid field mean anything for this packet type?
fn has_zxid(t: i32) -> bool {
    !matches!(t, REQUEST | REVALIDATE | UPTODATE | SYNC)
}

/// Decodes the data of a packet into summary details and fields; `Err` if
/// the data is not what this packet type carries.
fn describe_data(p: &Packet<'_>, f: &mut Map<String, Value>) -> Result<String, String> {
    let data = p.data.unwrap_or_default();
    let epoch = p.zxid >> 32;
    match p.ptype {
        PROPOSAL | INFORM => {
            let t = decode_txn(data)?;
            f.insert("txn".into(), t.fields);
            Ok(t.summary)
        }
        INFORMANDACTIVATE => {
            if data.len() < 8 {
                return Err("INFORMANDACTIVATE: no leader id".into());
            }
            let leader = be_i64(data);
            let t = decode_txn(&data[8..])?;
            f.insert("suggested_leader".into(), json!(leader));
            f.insert("txn".into(), t.fields);
            Ok(format!("suggested_leader={leader} {}", t.summary))
        }
        COMMITANDACTIVATE => {
            if data.len() != 8 {
                return Err(format!("COMMITANDACTIVATE: {} data bytes", data.len()));
            }
            let leader = be_i64(data);
            f.insert("suggested_leader".into(), json!(leader));
            Ok(format!("suggested_leader={leader}"))
        }
        REQUEST => {
            let r = decode_request(data)?;
            if let Value::Object(m) = r.fields {
                f.extend(m);
            }
            Ok(r.summary)
        }
        PING => {
            if !data.chunks_exact(12).remainder().is_empty() {
                return Err(format!(
                    "PING: {} data bytes is not a session list",
                    data.len()
                ));
            }
            if p.data.is_none() {
                return Ok(String::new());
            }
            let sessions: Vec<(i64, i32)> = data
                .chunks_exact(12)
                .map(|s| (be_i64(s), be_i32(&s[8..])))
                .collect();
            f.insert(
                "sessions".into(),
                Value::Array(
                    sessions
                        .iter()
                        .map(|(id, to)| json!({ "session": hex(*id), "timeout_ms": to }))
                        .collect(),
                ),
            );
            let mut s = format!("sessions={}", sessions.len());
            for (i, (id, to)) in sessions.iter().take(SUMMARY_SESSIONS).enumerate() {
                s.push_str(if i == 0 { ": " } else { ", " });
                s.push_str(&format!("{}/{to}ms", hex(*id)));
            }
            if sessions.len() > SUMMARY_SESSIONS {
                s.push_str(&format!(", …+{}", sessions.len() - SUMMARY_SESSIONS));
            }
            Ok(s)
        }
        REVALIDATE => match data.len() {
            12 => {
                let (id, to) = (be_i64(data), be_i32(&data[8..]));
                f.insert("session".into(), json!(hex(id)));
                f.insert("timeout_ms".into(), json!(to));
                Ok(format!("session={} timeout={to}ms", hex(id)))
            }
            9 if data[8] <= 1 => {
                let (id, valid) = (be_i64(data), data[8] == 1);
                f.insert("session".into(), json!(hex(id)));
                f.insert("valid".into(), json!(valid));
                Ok(format!("session={} valid={valid}", hex(id)))
            }
            n => Err(format!("REVALIDATE: {n} data bytes")),
        },
        FOLLOWERINFO | OBSERVERINFO => {
            // LearnerInfo: serverid, then (newer) protocolVersion, configVersion.
            f.insert("accepted_epoch".into(), json!(epoch));
            let mut s = String::new();
            if p.data.is_none() {
                return Ok(s);
            }
            if !matches!(data.len(), 8 | 12 | 20) {
                return Err(format!("LearnerInfo: {} bytes", data.len()));
            }
            let sid = be_i64(data);
            f.insert("sid".into(), json!(sid));
            s.push_str(&format!("sid={sid} accepted_epoch={epoch}"));
            if data.len() >= 12 {
                let pv = be_i32(&data[8..]);
                f.insert("protocol_version".into(), json!(pv));
                s.push_str(&format!(" protocol=0x{pv:x}"));
            }
            if data.len() >= 20 {
                let cv = be_i64(&data[12..]);
                f.insert("config_version".into(), json!(hex(cv)));
                s.push_str(&format!(" config_version={}", hex(cv)));
            }
            Ok(s)
        }
        LEADERINFO => {
            if data.len() != 4 {
                return Err(format!("LEADERINFO: {} data bytes", data.len()));
            }
            let pv = be_i32(data);
            f.insert("new_epoch".into(), json!(epoch));
            f.insert("protocol_version".into(), json!(pv));
            Ok(format!("new_epoch={epoch} protocol=0x{pv:x}"))
        }
        ACKEPOCH => {
            if data.len() != 4 {
                return Err(format!("ACKEPOCH: {} data bytes", data.len()));
            }
            let e = be_i32(data);
            f.insert("current_epoch".into(), json!(e));
            Ok(if e == -1 {
                "current_epoch=-1 (already acked)".to_string()
            } else {
                format!("current_epoch={e}")
            })
        }
        NEWLEADER => {
            f.insert("new_epoch".into(), json!(epoch));
            let mut s = format!("new_epoch={epoch}");
            if let Some(d) = p.data {
                // The leader's quorum configuration, as text.
                let cfg = std::str::from_utf8(d).map_err(|_| "NEWLEADER: config is not UTF-8")?;
                if let Some(v) = config_version(cfg) {
                    f.insert("config_version".into(), json!(hex(v)));
                    s.push_str(&format!(" config_version={}", hex(v)));
                }
                f.insert("config".into(), json!(cfg));
            }
            Ok(s)
        }
        _ => {
            // ACK, COMMIT, UPTODATE, DIFF, TRUNC, SNAP, SYNC carry no data.
            if data.is_empty() {
                Ok(String::new())
            } else {
                Err(format!("{} unexpected data bytes", data.len()))
            }
        }
    }
}

/// Turns a structurally valid packet into a message; `None` if `strict` and
/// its data does not decode.
fn describe(p: &Packet<'_>, strict: bool) -> Option<QuorumMessage> {
    let (name, kind) = packet_type(p.ptype)?;
    let mut f = Map::new();
    f.insert("type".into(), json!(name));
    f.insert("type_code".into(), json!(p.ptype));
    f.insert("zxid".into(), json!(hex(p.zxid)));
    f.insert(
        "data_len".into(),
        p.data.map_or(Value::Null, |d| json!(d.len())),
    );
    if !p.auth.is_empty() {
        let ids: Vec<Value> = p.auth.iter().map(|(s, i)| id_json(s, i)).collect();
        f.insert("authinfo".into(), Value::Array(ids));
    }
    let mut summary = String::from(name);
    if has_zxid(p.ptype) {
        summary.push_str(&format!(" zxid={}", hex(p.zxid)));
    }
    match describe_data(p, &mut f) {
        Ok(d) => {
            if !d.is_empty() {
                summary.push(' ');
                summary.push_str(&d);
            }
        }
        Err(e) => {
            if strict {
                return None;
            }
            summary.push_str(&format!(
                " [undecodable data: {} bytes]",
                p.data.map_or(0, <[u8]>::len)
            ));
            f.insert("data_error".into(), json!(e));
        }
    }
    // The txn's own zxid is what a proposal is about.
    let zxid = if has_zxid(p.ptype) {
        Some(p.zxid)
    } else {
        None
    };
    Some(QuorumMessage {
        protocol: QuorumProtocol::Zab,
        kind: kind.into(),
        zxid,
        summary,
        fields: Value::Object(f),
    })
}

#[cfg(test)]
pub(crate) mod build {
    //! Encoders for hand-built ZAB streams.
    use zkproto::JuteWrite;

    pub fn packet(w: &mut Vec<u8>, t: i32, zxid: i64, data: Option<&[u8]>, auth: &[(&str, &str)]) {
        w.put_i32(t);
        w.put_i64(zxid);
        w.put_buffer(data);
        if auth.is_empty() {
            w.put_i32(-1);
        } else {
            w.put_i32(auth.len() as i32);
            for (s, i) in auth {
                w.put_ustring(s);
                w.put_ustring(i);
            }
        }
    }

    /// A snapshot body: `sessions` sessions, one ACL entry, the given paths
    /// (the first should be "" for the root), terminator and signature.
    pub fn snapshot(w: &mut Vec<u8>, sessions: usize, paths: &[&str], data: &[u8]) {
        w.put_i32(sessions as i32);
        for i in 0..sessions {
            w.put_i64(0x1000 + i as i64);
            w.put_i32(30000);
        }
        w.put_i32(1);
        w.put_i64(1);
        w.put_i32(1);
        w.put_i32(31);
        w.put_ustring("world");
        w.put_ustring("anyone");
        for p in paths {
            w.put_ustring(p);
            w.put_buffer(Some(data));
            w.put_i64(1);
            w.extend_from_slice(&[0u8; super::STAT_PERSISTED_LEN]);
        }
        w.put_ustring("/");
        w.put_ustring("BenWasHere");
    }
}

#[cfg(test)]
mod tests {
    use super::build::*;
    use super::*;
    use crate::quorum::txn::build as tb;

    use crate::quorum::feed_chunks as run;

    fn proposal_data() -> Vec<u8> {
        let mut d = Vec::new();
        tb::header(&mut d, 0x1_0000_0abc, 3, 0x1_0000_0005, 0, 1);
        tb::create_txn(&mut d, "/foo", b"x", false, 0);
        tb::digest(&mut d);
        d
    }

    #[test]
    fn proposal_summary() {
        let mut w = Vec::new();
        packet(&mut w, PROPOSAL, 0x1_0000_0005, Some(&proposal_data()), &[]);
        let (m, skipped) = run(&mut Zab::new(), false, &[&w]);
        assert_eq!(skipped, 0);
        assert_eq!(m.len(), 1);
        assert_eq!(
            m[0].summary,
            "PROPOSAL zxid=0x100000005 session=0x100000abc cxid=3 create /foo"
        );
        assert_eq!(m[0].kind, "proposal");
        assert_eq!(m[0].zxid, Some(0x1_0000_0005));
        assert_eq!(m[0].fields["txn"]["path"], "/foo");
    }

    #[test]
    fn snapshot_is_parsed_and_packets_resume() {
        let mut w = Vec::new();
        packet(&mut w, SNAP, 0x200, None, &[]);
        snapshot(&mut w, 2, &["", "/zookeeper", "/a"], b"data");
        packet(&mut w, NEWLEADER, 0x1_0000_0000, Some(b"version=0"), &[]);
        let (m, skipped) = run(&mut Zab::new(), false, &[&w]);
        assert_eq!(skipped, 0);
        let kinds: Vec<&str> = m.iter().map(|m| m.kind.as_str()).collect();
        assert_eq!(kinds, ["snap", "snapshot", "new_leader"]);
        assert_eq!(m[1].fields["nodes"], 3);
        assert_eq!(m[1].fields["sessions"], 2);
        assert_eq!(m[1].fields["complete"], true);
        assert_eq!(m[1].fields["data_bytes"], 12);
    }

    #[test]
    fn corrupt_snapshot_resyncs_on_signature() {
        let mut w = Vec::new();
        packet(&mut w, SNAP, 0x200, None, &[]);
        let start = w.len();
        snapshot(&mut w, 1, &["", "/a"], b"");
        // Break the ACL count.
        w[start + 16..start + 20].copy_from_slice(&(-5i32).to_be_bytes());
        let snap_len = w.len() - start;
        packet(&mut w, UPTODATE, -1, None, &[]);
        let (m, skipped) = run(&mut Zab::new(), false, &[&w]);
        let kinds: Vec<&str> = m.iter().map(|m| m.kind.as_str()).collect();
        assert_eq!(kinds, ["snap", "snapshot", "up_to_date"]);
        assert_eq!(m[1].fields["complete"], false);
        // Sessions (16 bytes) parsed; the rest up to the signature skipped.
        assert_eq!(skipped, (snap_len - 16 - SIGNATURE.len()) as u64);
    }

    #[test]
    fn unknown_type_is_garbage() {
        let mut w = Vec::new();
        packet(&mut w, 99, 1, None, &[]);
        let bad = w.len();
        packet(&mut w, ACK, 7, None, &[]);
        let (m, skipped) = run(&mut Zab::new(), true, &[&w]);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].summary, "ACK zxid=0x7");
        assert_eq!(skipped, bad as u64);
    }

    #[test]
    fn undecodable_data_in_sync_is_reported_not_skipped() {
        let mut w = Vec::new();
        packet(&mut w, PROPOSAL, 5, Some(b"nonsense"), &[]);
        let (m, skipped) = run(&mut Zab::new(), false, &[&w]);
        assert_eq!(skipped, 0);
        assert!(m[0].fields.get("data_error").is_some());
        assert!(m[0].summary.contains("undecodable"), "{}", m[0].summary);
    }
}
