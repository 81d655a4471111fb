//! zkserver's peer protocol: Raft RPCs between the members of an ensemble,
//! over one TCP connection per (caller, target) pair on the quorum port.
//!
//! Every frame is
//!
//! ```text
//! u32 BE length of the rest | b"zkR1" | u8 kind | u8 flags (0) | u64 BE rpc id | body
//! ```
//!
//! so the length counts the 14 header bytes after it plus the body, and is
//! at most [`MAX_FRAME`]. The connecting side sends [`Kind::Hello`] first
//! (body: `{cluster, from, to}`); the listener answers [`Kind::HelloOk`] or
//! [`Kind::Error`] and closes. Then the connecting side sends one request
//! at a time and the listener answers each with the matching response
//! kind and the request's rpc id. Bodies are MessagePack maps with field
//! names: openraft's own request types (an InstallSnapshot chunk's `data`
//! as bin), and for responses openraft's `Result<Response, RaftError>`
//! (`{"Ok": ..}` or `{"Err": ..}`), so a remote error reaches the caller as
//! the error it was.
//!
//! This crate knows the format, not openraft: [`describe`] reads a body
//! generically (as a MessagePack value tree) for sniffers and logs.
//! See `docs/peer-protocol.md`.

mod summary;
#[cfg(test)]
mod tests;

pub use summary::{
    describe, EntriesSummary, LogIdSummary, Outcome, PeerSummary, SnapshotSummary, WriteSummary,
    DESCRIBE_MAX_BODY,
};

use crate::error::{ProtoError, Result};

/// The four bytes after the length in every frame; a ZAB stream never has
/// them there, which is how a sniffer tells the protocols apart.
pub const MAGIC: [u8; 4] = *b"zkR1";

/// Length prefix, magic, kind, flags, rpc id.
pub const HEADER_LEN: usize = 18;

/// The part of the header the length prefix counts.
const HEADER_AFTER_LEN: usize = HEADER_LEN - 4;

/// openraft's default `snapshot_max_chunk_size`: one InstallSnapshot body
/// carries at most this much snapshot data.
pub const SNAPSHOT_CHUNK: usize = 3 * 1024 * 1024;

/// The largest length prefix accepted: room for an AppendEntries of a full
/// `max_payload_entries` batch, or one snapshot chunk and its metadata.
pub const MAX_FRAME: usize = 64 * 1024 * 1024 + SNAPSHOT_CHUNK;

/// What a frame is. Responses have the request's kind + 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Hello = 1,
    HelloOk = 2,
    VoteReq = 3,
    VoteResp = 4,
    AppendReq = 5,
    AppendResp = 6,
    SnapshotReq = 7,
    SnapshotResp = 8,
    Error = 9,
}

impl Kind {
    pub const ALL: [Kind; 9] = [
        Kind::Hello,
        Kind::HelloOk,
        Kind::VoteReq,
        Kind::VoteResp,
        Kind::AppendReq,
        Kind::AppendResp,
        Kind::SnapshotReq,
        Kind::SnapshotResp,
        Kind::Error,
    ];

    pub fn from_u8(b: u8) -> Option<Kind> {
        Kind::ALL.get(usize::from(b).checked_sub(1)?).copied()
    }

    /// Short lowercase name, used in sniffer lines and event kinds.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Hello => "hello",
            Kind::HelloOk => "hello_ok",
            Kind::VoteReq => "vote",
            Kind::VoteResp => "vote_resp",
            Kind::AppendReq => "append",
            Kind::AppendResp => "append_resp",
            Kind::SnapshotReq => "snapshot",
            Kind::SnapshotResp => "snapshot_resp",
            Kind::Error => "error",
        }
    }

    /// The kind that answers this request kind.
    pub fn response(self) -> Option<Kind> {
        match self {
            Kind::Hello => Some(Kind::HelloOk),
            Kind::VoteReq => Some(Kind::VoteResp),
            Kind::AppendReq => Some(Kind::AppendResp),
            Kind::SnapshotReq => Some(Kind::SnapshotResp),
            _ => None,
        }
    }

    /// Sent by the listening side.
    pub fn is_response(self) -> bool {
        matches!(
            self,
            Kind::HelloOk | Kind::VoteResp | Kind::AppendResp | Kind::SnapshotResp | Kind::Error
        )
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A decoded frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub kind: Kind,
    /// Reserved; always 0 in this version.
    pub flags: u8,
    pub rpc_id: u64,
    /// Bytes of body after the header.
    pub body_len: usize,
}

impl Header {
    pub fn new(kind: Kind, rpc_id: u64, body_len: usize) -> Header {
        Header {
            kind,
            flags: 0,
            rpc_id,
            body_len,
        }
    }

    /// Bytes of the whole frame, header included.
    pub fn frame_len(&self) -> usize {
        HEADER_LEN + self.body_len
    }

    pub fn encode(&self) -> Result<[u8; HEADER_LEN]> {
        let len = HEADER_AFTER_LEN + self.body_len;
        if len > MAX_FRAME {
            return Err(ProtoError::PeerFrameTooLarge {
                len,
                max: MAX_FRAME,
            });
        }
        let mut h = [0u8; HEADER_LEN];
        // MAX_FRAME fits in a u32, so this cannot truncate.
        h[..4].copy_from_slice(&(len as u32).to_be_bytes());
        h[4..8].copy_from_slice(&MAGIC);
        h[8] = self.kind as u8;
        h[9] = self.flags;
        h[10..].copy_from_slice(&self.rpc_id.to_be_bytes());
        Ok(h)
    }

    /// Decodes the first [`HEADER_LEN`] bytes of `buf`. Checks everything a
    /// header can be wrong about before anything is allocated for the body.
    pub fn decode(buf: &[u8]) -> Result<Header> {
        let Some(h) = buf.get(..HEADER_LEN) else {
            return Err(ProtoError::Truncated {
                what: "peer frame header",
                need: HEADER_LEN,
                have: buf.len(),
            });
        };
        let mut len4 = [0u8; 4];
        len4.copy_from_slice(&h[..4]);
        let len = u32::from_be_bytes(len4) as usize;
        let mut magic = [0u8; 4];
        magic.copy_from_slice(&h[4..8]);
        if magic != MAGIC {
            return Err(ProtoError::BadPeerMagic(magic));
        }
        if len > MAX_FRAME {
            return Err(ProtoError::PeerFrameTooLarge {
                len,
                max: MAX_FRAME,
            });
        }
        if len < HEADER_AFTER_LEN {
            return Err(ProtoError::BadLength {
                what: "peer frame",
                len: len as i32,
            });
        }
        let kind = Kind::from_u8(h[8]).ok_or(ProtoError::UnknownPeerKind(h[8]))?;
        if h[9] != 0 {
            return Err(ProtoError::BadValue {
                what: "peer frame flags",
                value: i64::from(h[9]),
            });
        }
        let mut id = [0u8; 8];
        id.copy_from_slice(&h[10..]);
        Ok(Header {
            kind,
            flags: 0,
            rpc_id: u64::from_be_bytes(id),
            body_len: len - HEADER_AFTER_LEN,
        })
    }
}

/// One whole frame: header and body.
pub fn encode_frame(kind: Kind, rpc_id: u64, body: &[u8]) -> Result<Vec<u8>> {
    let h = Header::new(kind, rpc_id, body.len()).encode()?;
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(&h);
    out.extend_from_slice(body);
    Ok(out)
}

/// Splits the first complete frame off `buf`: `Ok(Some((header, body)))`
/// (the frame used `header.frame_len()` bytes), `Ok(None)` when more bytes
/// are needed, or the header's error. Errors are reported as soon as the
/// header is complete, without waiting for the body.
pub fn split_frame(buf: &[u8]) -> Result<Option<(Header, &[u8])>> {
    if buf.len() < HEADER_LEN {
        // A wrong magic is known before the whole header is there.
        if let Some(m) = buf.get(4..buf.len().min(8)) {
            if !MAGIC.starts_with(m) {
                let mut magic = [0u8; 4];
                magic[..m.len()].copy_from_slice(m);
                return Err(ProtoError::BadPeerMagic(magic));
            }
        }
        return Ok(None);
    }
    let h = Header::decode(buf)?;
    Ok(buf.get(HEADER_LEN..h.frame_len()).map(|body| (h, body)))
}

/// An owned frame, as [`FrameSplitter`] yields them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub header: Header,
    pub body: Vec<u8>,
}

/// Cuts a byte stream arriving in arbitrary pieces into frames. After an
/// error the stream is not resynchronised: the caller closes it.
#[derive(Debug, Default)]
pub struct FrameSplitter {
    buf: Vec<u8>,
    failed: bool,
}

impl FrameSplitter {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, bytes: &[u8]) {
        if !self.failed {
            self.buf.extend_from_slice(bytes);
        }
    }

    /// The next complete frame, `Ok(None)` if more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Frame>> {
        if self.failed {
            return Err(ProtoError::BadValue {
                what: "peer stream after an error",
                value: 0,
            });
        }
        match split_frame(&self.buf) {
            Ok(Some((header, body))) => {
                let body = body.to_vec();
                self.buf.drain(..header.frame_len());
                Ok(Some(Frame { header, body }))
            }
            Ok(None) => Ok(None),
            Err(e) => {
                self.failed = true;
                self.buf = Vec::new();
                Err(e)
            }
        }
    }

    /// Bytes held that do not yet make a frame.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }
}

/// The first frame's body: who is calling whom, in which ensemble.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    pub cluster: String,
    pub from: u64,
    pub to: u64,
}

impl Hello {
    pub fn encode(&self) -> Vec<u8> {
        let v = rmpv::Value::Map(vec![
            ("cluster".into(), self.cluster.as_str().into()),
            ("from".into(), self.from.into()),
            ("to".into(), self.to.into()),
        ]);
        let mut out = Vec::new();
        // Writing to a Vec cannot fail.
        let _ = rmpv::encode::write_value(&mut out, &v);
        out
    }

    pub fn decode(body: &[u8]) -> Result<Hello> {
        let v = summary::read_body(body)?;
        let bad = |field: &'static str| ProtoError::BadPeerBody {
            kind: "hello",
            msg: format!("missing or mistyped {field}"),
        };
        Ok(Hello {
            cluster: summary::field(&v, "cluster")
                .and_then(|c| c.as_str())
                .ok_or_else(|| bad("cluster"))?
                .to_string(),
            from: summary::field(&v, "from")
                .and_then(|c| c.as_u64())
                .ok_or_else(|| bad("from"))?,
            to: summary::field(&v, "to")
                .and_then(|c| c.as_u64())
                .ok_or_else(|| bad("to"))?,
        })
    }
}

/// An [`Kind::Error`] frame's body: `{msg}`.
pub fn error_body(msg: &str) -> Vec<u8> {
    let v = rmpv::Value::Map(vec![("msg".into(), msg.into())]);
    let mut out = Vec::new();
    let _ = rmpv::encode::write_value(&mut out, &v);
    out
}

/// The message of an [`Kind::Error`] frame's body.
pub fn error_msg(body: &[u8]) -> Result<String> {
    let v = summary::read_body(body)?;
    summary::field(&v, "msg")
        .and_then(|m| m.as_str())
        .map(str::to_string)
        .ok_or_else(|| ProtoError::BadPeerBody {
            kind: "error",
            msg: "missing msg".into(),
        })
}
