//! Leader election (FastLeaderElection over QuorumCnxManager, port 3888).
//!
//! Wire format (per Apache ZooKeeper's QuorumCnxManager / FastLeaderElection):
//! - The side that opens the connection first sends an initiation header:
//!   `long protocolVersion` (-65536 = v1, -65535 = v2), `long sid`,
//!   `int length` (1..=2048) and that many bytes of `host:port` (v2:
//!   `host:port|host:port…`). Servers before 3.5 sent only `long sid` (≥ 0).
//! - Then both sides send `int length` (1..=512 KiB) + message. A message is a
//!   notification: `int state, long leader, long zxid, long electionEpoch`,
//!   then (36+ bytes) `long peerEpoch`, (40+) `int version`, and for
//!   version > 1 `int configLength` + that many bytes of configuration text.

use serde_json::{json, Map, Value};

use super::txn::config_version;
use super::{hex, Parsed, QuorumMessage, QuorumProtocol};

/// QuorumCnxManager.PACKETMAXSIZE.
pub(crate) const MAX_MESSAGE: usize = 512 * 1024;
/// QuorumCnxManager.maxBuffer: the longest address list in the header.
const MAX_ADDRESS: usize = 2048;
const PROTOCOL_V1: i64 = -65536;
const PROTOCOL_V2: i64 = -65535;
/// The shortest notification ZooKeeper accepts (pre-3.4 layout).
const MIN_NOTIFICATION: usize = 28;

const STATES: [&str; 4] = ["LOOKING", "FOLLOWING", "LEADING", "OBSERVING"];

/// What a decode attempt at one offset found.
enum Step {
    Done(QuorumMessage, usize),
    NeedMore,
    Invalid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Header {
    /// Nothing seen yet from the initiating side: a header may come.
    Pending,
    /// Header seen, or the stream is known not to start with one.
    Done,
}

#[derive(Debug)]
pub(crate) struct Election {
    header: Header,
    /// The initiator's server id, from its header.
    client_sid: Option<i64>,
    /// Per direction (0 = from the initiator): looking for a message
    /// boundary after garbage or a gap; only fully plausible messages count.
    resync: [bool; 2],
    /// Per direction, while resyncing behind an incomplete candidate: how far
    /// past it the look-ahead has already found nothing.
    lookahead: [usize; 2],
}

fn be_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn be_i64(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}

impl Election {
    pub(crate) fn new() -> Self {
        Election {
            header: Header::Pending,
            client_sid: None,
            resync: [false; 2],
            lookahead: [0; 2],
        }
    }

    pub(crate) fn gap(&mut self, client: bool) {
        if client {
            // Whatever the header said is still true; if it was not seen
            // yet, the stream no longer starts at the beginning.
            self.header = Header::Done;
        }
        self.resync[usize::from(!client)] = true;
        self.lookahead[usize::from(!client)] = 0;
    }

    pub(crate) fn parse(
        &mut self,
        client: bool,
        input: &[u8],
        out: &mut Vec<QuorumMessage>,
    ) -> Parsed {
        let dir = usize::from(!client);
        let mut pos = 0;
        let mut skipped = 0u64;
        while pos < input.len() {
            let rest = &input[pos..];
            let step = if client && self.header == Header::Pending {
                self.header_step(rest)
            } else {
                self.message_step(client, rest, self.resync[dir])
            };
            match step {
                Step::Done(m, used) => {
                    out.push(m);
                    pos += used;
                    self.resync[dir] = false;
                    self.lookahead[dir] = 0;
                }
                Step::NeedMore if self.resync[dir] => {
                    // A plausible but incomplete candidate: if a complete,
                    // valid message starts behind it, the candidate was noise.
                    match self.look_ahead(client, rest) {
                        Some(q) => {
                            pos += q;
                            skipped += q as u64;
                            self.lookahead[dir] = 0;
                        }
                        None if rest.len() <= MAX_MESSAGE + 4 => break,
                        None => {
                            pos += 1;
                            skipped += 1;
                            self.lookahead[dir] = 0;
                        }
                    }
                }
                Step::NeedMore if rest.len() <= MAX_MESSAGE + 4 => break,
                Step::NeedMore | Step::Invalid => {
                    if client && self.header == Header::Pending {
                        // Not a header after all: look for messages.
                        self.header = Header::Done;
                    }
                    pos += 1;
                    skipped += 1;
                    self.resync[dir] = true;
                    self.lookahead[dir] = 0;
                }
            }
        }
        Parsed {
            consumed: pos,
            skipped,
        }
    }

    /// The first offset after the start of `b` where a complete, fully
    /// plausible message is already buffered. Offsets known to hold none are
    /// not scanned again on the next call.
    fn look_ahead(&mut self, client: bool, b: &[u8]) -> Option<usize> {
        let dir = usize::from(!client);
        let mut resume = None;
        for q in self.lookahead[dir].max(1)..b.len() {
            match self.message_step(client, &b[q..], true) {
                Step::Done(..) => return Some(q),
                Step::NeedMore => {
                    resume.get_or_insert(q);
                }
                Step::Invalid => {}
            }
        }
        self.lookahead[dir] = resume.unwrap_or(b.len());
        None
    }

    fn header_step(&mut self, b: &[u8]) -> Step {
        if b.len() < 4 {
            return Step::NeedMore;
        }
        let hi = be_i32(b, 0);
        if hi != 0 && hi != -1 {
            // A length prefix: the capture began after the header.
            self.header = Header::Done;
            return self.message_step(true, b, false);
        }
        if b.len() < 8 {
            return Step::NeedMore;
        }
        let first = be_i64(b, 0);
        if first >= 0 {
            // Pre-3.5 servers send just their sid.
            self.header = Header::Done;
            self.client_sid = Some(first);
            let fields = json!({ "protocol": "v0", "sid": first });
            return Step::Done(
                QuorumMessage {
                    protocol: QuorumProtocol::Election,
                    kind: "connect".into(),
                    zxid: None,
                    summary: format!("connect from sid={first} (protocol v0)"),
                    fields,
                },
                8,
            );
        }
        let proto = match first {
            PROTOCOL_V1 => "v1",
            PROTOCOL_V2 => "v2",
            _ => return Step::Invalid,
        };
        if b.len() < 20 {
            return Step::NeedMore;
        }
        let sid = be_i64(b, 8);
        let len = be_i32(b, 16);
        if len <= 0 || len as usize > MAX_ADDRESS || sid < 0 {
            return Step::Invalid;
        }
        let len = len as usize;
        if b.len() < 20 + len {
            return Step::NeedMore;
        }
        let Ok(addrs) = std::str::from_utf8(&b[20..20 + len]) else {
            return Step::Invalid;
        };
        self.header = Header::Done;
        self.client_sid = Some(sid);
        let list: Vec<&str> = addrs.split('|').collect();
        let fields = json!({
            "protocol": proto,
            "protocol_version": first,
            "sid": sid,
            "addresses": list,
        });
        Step::Done(
            QuorumMessage {
                protocol: QuorumProtocol::Election,
                kind: "connect".into(),
                zxid: None,
                summary: format!("connect from sid={sid} addr={addrs} (protocol {proto})"),
                fields,
            },
            20 + len,
        )
    }

    fn message_step(&self, client: bool, b: &[u8], strict: bool) -> Step {
        if b.len() < 4 {
            return Step::NeedMore;
        }
        let len = be_i32(b, 0);
        if len <= 0 || len as usize > MAX_MESSAGE {
            return Step::Invalid;
        }
        let len = len as usize;
        if strict && !plausible_length(b, len) {
            return Step::Invalid;
        }
        if strict && b.len() >= 8 && !(0..=3).contains(&be_i32(b, 4)) {
            return Step::Invalid;
        }
        if b.len() < 4 + len {
            return Step::NeedMore;
        }
        let (sender, receiver) = if client {
            (self.client_sid, None)
        } else {
            (None, self.client_sid)
        };
        match decode_notification(&b[4..4 + len], strict, sender, receiver) {
            Some(m) => Step::Done(m, 4 + len),
            None => Step::Invalid,
        }
    }
}

/// While resyncing, only the lengths ZooKeeper produces are believed, and a
/// config length must be consistent with the message length.
fn plausible_length(b: &[u8], len: usize) -> bool {
    match len {
        28 | 36 | 40 => true,
        l if l >= 44 => {
            // state + version visible before the whole message arrived?
            if b.len() >= 48 {
                let version = be_i32(b, 4 + 36);
                let cfg = be_i32(b, 4 + 40);
                version > 1 && cfg >= 0 && cfg as usize == l - 44
            } else {
                true
            }
        }
        _ => false,
    }
}

/// Decodes one notification body; `None` if it is not one.
pub(crate) fn decode_notification(
    b: &[u8],
    strict: bool,
    sender: Option<i64>,
    receiver: Option<i64>,
) -> Option<QuorumMessage> {
    if b.len() < MIN_NOTIFICATION {
        return None;
    }
    let state = be_i32(b, 0);
    let state_name = *STATES.get(usize::try_from(state).ok()?)?;
    let leader = be_i64(b, 4);
    let zxid = be_i64(b, 12);
    let election_epoch = be_i64(b, 20);
    let peer_epoch = if b.len() >= 36 {
        Some(be_i64(b, 28))
    } else {
        None
    };
    let version = if b.len() >= 40 {
        Some(be_i32(b, 36))
    } else {
        None
    };
    let mut config = None;
    let mut trailing = 0;
    let mut used = b.len().min(40);
    if b.len() == 28 || b.len() == 36 || b.len() == 40 {
        // Fixed layouts.
    } else if b.len() < 40 {
        if strict {
            return None;
        }
        trailing = b.len() - used;
    } else if version.unwrap_or(0) > 1 {
        if b.len() < 44 {
            return None;
        }
        let cfg_len = be_i32(b, 40);
        if cfg_len < 0 || cfg_len as usize > b.len() - 44 {
            return None;
        }
        let cfg_len = cfg_len as usize;
        if strict && cfg_len != b.len() - 44 {
            return None;
        }
        config = Some(String::from_utf8_lossy(&b[44..44 + cfg_len]).into_owned());
        used = 44 + cfg_len;
        trailing = b.len() - used;
    } else {
        if strict {
            return None;
        }
        trailing = b.len() - used;
    }
    if strict && (leader < -1 || election_epoch < 0) {
        return None;
    }

    let mut f = Map::new();
    f.insert("state".into(), json!(state_name));
    f.insert("leader".into(), json!(leader));
    f.insert("zxid".into(), json!(hex(zxid)));
    f.insert("election_epoch".into(), json!(election_epoch));
    if let Some(p) = peer_epoch {
        f.insert("peer_epoch".into(), json!(p));
    }
    if let Some(v) = version {
        f.insert("version".into(), json!(v));
    }
    if let Some(s) = sender {
        f.insert("sender_sid".into(), json!(s));
    }
    if let Some(r) = receiver {
        f.insert("receiver_sid".into(), json!(r));
    }
    let mut summary = String::from("notification");
    if let Some(s) = sender {
        summary.push_str(&format!(" from sid={s}"));
    } else if let Some(r) = receiver {
        summary.push_str(&format!(" to sid={r}"));
    }
    summary.push_str(&format!(
        ": {state_name} leader={leader} zxid={} election_epoch={election_epoch}",
        hex(zxid)
    ));
    if let Some(p) = peer_epoch {
        summary.push_str(&format!(" peer_epoch={p}"));
    }
    if let Some(v) = version {
        summary.push_str(&format!(" version={v}"));
    }
    if let Some(cfg) = config {
        if let Some(cv) = config_version(&cfg) {
            f.insert("config_version".into(), json!(hex(cv)));
            summary.push_str(&format!(" config_version={}", hex(cv)));
        }
        f.insert("config".into(), json!(cfg));
    }
    if trailing > 0 {
        f.insert("trailing_bytes".into(), json!(trailing));
    }
    Some(QuorumMessage {
        protocol: QuorumProtocol::Election,
        kind: "notification".into(),
        zxid: Some(zxid),
        summary,
        fields: Value::Object(f),
    })
}

#[cfg(test)]
pub(crate) mod build {
    //! Encoders for hand-built election streams.
    use zkproto::JuteWrite;

    pub fn header_v1(w: &mut Vec<u8>, sid: i64, addr: &str) {
        w.put_i64(super::PROTOCOL_V1);
        w.put_i64(sid);
        w.put_ustring(addr);
    }

    #[allow(clippy::too_many_arguments)]
    pub fn notification(
        w: &mut Vec<u8>,
        state: i32,
        leader: i64,
        zxid: i64,
        epoch: i64,
        peer_epoch: i64,
        config: Option<&str>,
    ) {
        let mut b = Vec::new();
        b.put_i32(state);
        b.put_i64(leader);
        b.put_i64(zxid);
        b.put_i64(epoch);
        b.put_i64(peer_epoch);
        match config {
            Some(c) => {
                b.put_i32(2);
                b.put_ustring(c);
            }
            None => b.put_i32(1),
        }
        w.put_buffer(Some(&b));
    }
}

#[cfg(test)]
mod tests {
    use super::build::*;
    use super::*;
    use zkproto::JuteWrite;

    const CFG: &str = "server.1=127.0.0.11:2888:3888:participant\nversion=100000000";

    use crate::quorum::feed_chunks as run;

    #[test]
    fn header_then_notifications() {
        let mut w = Vec::new();
        header_v1(&mut w, 3, "127.0.0.13:3888");
        notification(&mut w, 0, 3, 0x1_0000_0002, 2, 1, Some(CFG));
        notification(&mut w, 2, 3, 0x1_0000_0002, 2, 1, None);
        let mut e = Election::new();
        let (m, skipped) = run(&mut e, true, &[&w]);
        assert_eq!(skipped, 0);
        assert_eq!(m.len(), 3);
        assert_eq!(m[0].kind, "connect");
        assert_eq!(
            m[0].summary,
            "connect from sid=3 addr=127.0.0.13:3888 (protocol v1)"
        );
        assert_eq!(
            m[1].summary,
            "notification from sid=3: LOOKING leader=3 zxid=0x100000002 election_epoch=2 \
             peer_epoch=1 version=2 config_version=0x100000000"
        );
        assert_eq!(m[1].fields["config"], CFG);
        assert_eq!(m[2].fields["state"], "LEADING");
        assert_eq!(m[2].zxid, Some(0x1_0000_0002));
        // The other direction names the receiver.
        let mut w2 = Vec::new();
        notification(&mut w2, 1, 3, 0, 2, 1, None);
        let (m, _) = run(&mut e, false, &[&w2]);
        assert!(
            m[0].summary.starts_with("notification to sid=3: FOLLOWING"),
            "{}",
            m[0].summary
        );
    }

    #[test]
    fn old_layouts_and_old_header() {
        let mut w = Vec::new();
        w.put_i64(2); // pre-3.5 header: bare sid
        let mut b = Vec::new();
        b.put_i32(0);
        b.put_i64(2);
        b.put_i64(5);
        b.put_i64(1);
        w.put_buffer(Some(&b)); // 28 bytes
        b.put_i64(0);
        w.put_buffer(Some(&b)); // 36 bytes
        let mut e = Election::new();
        let (m, skipped) = run(&mut e, true, &[&w]);
        assert_eq!(skipped, 0);
        assert_eq!(m.len(), 3);
        assert_eq!(m[0].fields["protocol"], "v0");
        assert!(m[1].fields.get("peer_epoch").is_none());
        assert_eq!(m[2].fields["peer_epoch"], 0);
    }

    #[test]
    fn capture_starting_after_the_header() {
        let mut w = Vec::new();
        notification(&mut w, 0, 1, 0, 1, 0, None);
        let mut e = Election::new();
        let (m, skipped) = run(&mut e, true, &[&w]);
        assert_eq!((m.len(), skipped), (1, 0));
        assert_eq!(m[0].kind, "notification");
    }

    #[test]
    fn bad_state_is_garbage() {
        let mut w = Vec::new();
        notification(&mut w, 9, 1, 0, 1, 0, None);
        let good = w.len();
        notification(&mut w, 0, 1, 0, 1, 0, None);
        let mut e = Election::new();
        let (m, skipped) = run(&mut e, false, &[&w]);
        assert_eq!(m.len(), 1);
        assert_eq!(skipped, good as u64);
    }
}
