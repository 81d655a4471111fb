//! The servers' own protocols: leader election (FLE, port 3888) and ZAB
//! (port 2888). Interface fixed here; decoders in submodules:
//! [`fle`] (election connection header and notifications), [`zab`]
//! (QuorumPackets and streamed snapshots) and [`txn`] (transactions inside
//! proposals, and the client requests learners forward).
//!
//! Every decoder works on one direction's reassembled byte stream, keeps at
//! most one partial message buffered (bounded: 512 KiB + header for
//! election, 2 MiB + slack for ZAB), and on bytes it cannot decode skips
//! forward one byte at a time until a fully plausible message starts,
//! counting what it skipped. It never panics on any input.

mod fle;
mod txn;
mod zab;

/// Which quorum protocol a connection speaks (chosen by port).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuorumProtocol {
    Election,
    Zab,
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
    Election(fle::Election),
    Zab(zab::Zab),
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
    pub fn new(protocol: QuorumProtocol) -> Self {
        let inner = match protocol {
            QuorumProtocol::Election => Inner::Election(fle::Election::new()),
            QuorumProtocol::Zab => Inner::Zab(zab::Zab::new()),
        };
        QuorumDecoder {
            protocol,
            inner,
            pending: [Vec::new(), Vec::new()],
        }
    }

    pub fn protocol(&self) -> QuorumProtocol {
        self.protocol
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
            Inner::Election(e) => e,
            Inner::Zab(z) => z,
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
            Inner::Election(e) => e.gap(from_client_side),
            Inner::Zab(z) => z.gap(from_client_side),
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
