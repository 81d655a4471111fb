//! The servers' own protocols: leader election (FLE, port 3888) and ZAB
//! (port 2888), or on that same port zkserver's peer protocol (Raft RPCs).
//! Interface fixed here; decoders in submodules: [`fle`] (election
//! connection header and notifications), [`zab`] (QuorumPackets and
//! streamed snapshots), [`txn`] (transactions inside proposals, and the
//! client requests learners forward) and [`zkpeer`] (zkserver's frames).
//!
//! A quorum-port connection is ZAB or zkserver's by its first bytes: a
//! peer frame has `zkR1` at offset 4, where a ZAB packet has its type (a
//! small int). A connection joined mid-stream is zkserver's if a whole
//! valid peer header shows up in its first bytes, ZAB otherwise.
//!
//! Every decoder works on one direction's reassembled byte stream, keeps at
//! most one partial message buffered (bounded: 512 KiB + header for
//! election, 2 MiB + slack for ZAB), and on bytes it cannot decode skips
//! forward one byte at a time until a fully plausible message starts,
//! counting what it skipped. It never panics on any input.

mod fle;
mod txn;
mod zab;
mod zkpeer;

/// Which quorum protocol a connection speaks (chosen by port).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuorumProtocol {
    Election,
    Zab,
    /// zkserver's Raft RPCs (see `zkproto::peer`).
    ZkPeer,
}

/// One decoded quorum message.
#[derive(Debug, Clone, PartialEq)]
pub struct QuorumMessage {
    pub protocol: QuorumProtocol,
    /// Short kind, e.g. `notification`, `proposal`, `ack`, `commit`, `ping`.
    pub kind: String,
    pub zxid: Option<i64>,
    /// One human-readable line.
    pub summary: String,
    /// Structured fields for `--json`.
    pub fields: serde_json::Value,
}

/// What one parse pass over a direction's buffered bytes did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Parsed {
    /// Bytes used (decoded or skipped) from the start of the input; the rest
    /// is an incomplete message to keep.
    pub consumed: usize,
    /// Of those, bytes skipped as undecodable.
    pub skipped: u64,
}

/// One direction-aware parser (election or ZAB): decodes what it can from
/// the front of `input` and says how much it used.
pub(crate) trait StreamParser {
    fn parse(&mut self, client: bool, input: &[u8], out: &mut Vec<QuorumMessage>) -> Parsed;
}

impl StreamParser for fle::Election {
    fn parse(&mut self, client: bool, input: &[u8], out: &mut Vec<QuorumMessage>) -> Parsed {
        fle::Election::parse(self, client, input, out)
    }
}

impl StreamParser for zkpeer::ZkPeer {
    fn parse(&mut self, client: bool, input: &[u8], out: &mut Vec<QuorumMessage>) -> Parsed {
        zkpeer::ZkPeer::parse(self, client, input, out)
    }
}

impl StreamParser for zab::Zab {
    fn parse(&mut self, client: bool, input: &[u8], out: &mut Vec<QuorumMessage>) -> Parsed {
        zab::Zab::parse(self, client, input, out)
    }
}

/// Feeds `chunks` one after another, keeping the undecoded tail as
/// `QuorumDecoder::feed` does: (messages, bytes skipped).
#[cfg(test)]
pub(crate) fn feed_chunks<P: StreamParser>(
    p: &mut P,
    client: bool,
    chunks: &[&[u8]],
) -> (Vec<QuorumMessage>, u64) {
    let mut out = Vec::new();
    let mut buf = Vec::new();
    let mut skipped = 0;
    for c in chunks {
        buf.extend_from_slice(c);
        let r = p.parse(client, &buf, &mut out);
        skipped += r.skipped;
        buf.drain(..r.consumed);
    }
    (out, skipped)
}

#[derive(Debug)]
enum Inner {
    /// A quorum-port connection before its first bytes tell which protocol.
    Undecided {
        mid_stream: bool,
    },
    Election(fle::Election),
    Zab(zab::Zab),
    ZkPeer(zkpeer::ZkPeer),
}

/// Bytes of a connection joined mid-stream looked through for a peer
/// header before it is taken for ZAB: several peer frames' worth.
const MID_STREAM_PROBE: usize = 1024;

enum Choice {
    Wait,
    Zab,
    ZkPeer,
}

fn choose(b: &[u8], mid_stream: bool) -> Choice {
    if mid_stream {
        if zkpeer::has_header(b) {
            Choice::ZkPeer
        } else if b.len() >= MID_STREAM_PROBE {
            Choice::Zab
        } else {
            Choice::Wait
        }
    } else {
        match b.get(4..8) {
            None => Choice::Wait,
            Some(m) if m == zkproto::peer::MAGIC => Choice::ZkPeer,
            Some(_) => Choice::Zab,
        }
    }
}

/// Decodes one connection's byte streams (both directions), buffering
/// partial messages between calls.
#[derive(Debug)]
pub struct QuorumDecoder {
    protocol: QuorumProtocol,
    inner: Inner,
    /// Undecoded tails: [from the client side, from the server side].
    pending: [Vec<u8>; 2],
}

impl QuorumDecoder {
    /// `Zab` means the quorum port: ZAB or zkserver's peer protocol, as
    /// the first bytes tell.
    pub fn new(protocol: QuorumProtocol) -> Self {
        let inner = match protocol {
            QuorumProtocol::Election => Inner::Election(fle::Election::new()),
            QuorumProtocol::Zab => Inner::Undecided { mid_stream: false },
            QuorumProtocol::ZkPeer => Inner::ZkPeer(zkpeer::ZkPeer::new()),
        };
        QuorumDecoder {
            protocol,
            inner,
            pending: [Vec::new(), Vec::new()],
        }
    }

    /// What the connection speaks (`Zab` also while not yet known).
    pub fn protocol(&self) -> QuorumProtocol {
        self.protocol
    }

    /// Buffers a quorum-port connection's first bytes until they tell its
    /// protocol, then decodes what both sides buffered.
    fn decide(
        &mut self,
        from_client_side: bool,
        data: &[u8],
        mid_stream: bool,
        out: &mut Vec<QuorumMessage>,
    ) -> u64 {
        self.pending[usize::from(!from_client_side)].extend_from_slice(data);
        let choice = choose(&self.pending[usize::from(!from_client_side)], mid_stream);
        self.inner = match choice {
            Choice::Wait => return 0,
            Choice::Zab => {
                let mut z = zab::Zab::new();
                if mid_stream {
                    z.gap(true);
                    z.gap(false);
                }
                Inner::Zab(z)
            }
            Choice::ZkPeer => {
                self.protocol = QuorumProtocol::ZkPeer;
                let mut p = zkpeer::ZkPeer::new();
                if mid_stream {
                    p.gap(true);
                    p.gap(false);
                }
                Inner::ZkPeer(p)
            }
        };
        let mut skipped = 0;
        for client in [true, false] {
            let buffered = std::mem::take(&mut self.pending[usize::from(!client)]);
            if !buffered.is_empty() {
                skipped += self.feed(client, &buffered, out);
            }
        }
        skipped
    }

    /// Feeds contiguous bytes sent by one side (`from_client_side`: by the
    /// side that opened the connection) and appends what decodes to `out`.
    /// Returns the number of bytes that could not be decoded and were skipped.
    pub fn feed(
        &mut self,
        from_client_side: bool,
        data: &[u8],
        out: &mut Vec<QuorumMessage>,
    ) -> u64 {
        let pending = &mut self.pending[usize::from(!from_client_side)];
        let parser: &mut dyn StreamParser = match &mut self.inner {
            Inner::Undecided { mid_stream } => {
                let mid_stream = *mid_stream;
                return self.decide(from_client_side, data, mid_stream, out);
            }
            Inner::Election(e) => e,
            Inner::Zab(z) => z,
            Inner::ZkPeer(p) => p,
        };
        let first_new = out.len();
        let mut parse =
            |input: &[u8], out: &mut Vec<QuorumMessage>| parser.parse(from_client_side, input, out);
        let skipped = if pending.is_empty() {
            // Common case: decode straight from the caller's bytes.
            let p = parse(data, out);
            pending.extend_from_slice(&data[p.consumed..]);
            p.skipped
        } else {
            pending.extend_from_slice(data);
            let p = parse(pending, out);
            pending.drain(..p.consumed);
            if pending.capacity() > 4 * pending.len().max(64 * 1024) {
                pending.shrink_to_fit();
            }
            p.skipped
        };
        for m in &mut out[first_new..] {
            one_line(&mut m.summary);
        }
        skipped
    }

    /// The stream of one side had a gap (lost packets): drop partial state.
    pub fn reset(&mut self, from_client_side: bool) {
        let pending = &mut self.pending[usize::from(!from_client_side)];
        pending.clear();
        pending.shrink_to_fit();
        match &mut self.inner {
            Inner::Undecided { mid_stream } => *mid_stream = true,
            Inner::Election(e) => e.gap(from_client_side),
            Inner::Zab(z) => z.gap(from_client_side),
            Inner::ZkPeer(p) => p.gap(from_client_side),
        }
    }

    /// Bytes held back as an incomplete message, per side (client, server).
    pub fn buffered(&self) -> (usize, usize) {
        (self.pending[0].len(), self.pending[1].len())
    }
}

/// Paths and addresses come off the wire: escape control characters so a
/// summary stays one line.
fn one_line(s: &mut String) {
    let breaks = |c: char| c.is_control() || c == '\u{2028}' || c == '\u{2029}';
    if s.chars().any(breaks) {
        *s = s
            .chars()
            .map(|c| {
                if breaks(c) {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect();
    }
}

/// Zxids and session ids as ZooKeeper prints them: `0x` + hex of the 64 bits.
pub(crate) fn hex(v: i64) -> String {
    format!("0x{v:x}")
}

#[cfg(test)]
mod tests;
