//! Reading and writing whole peer-protocol frames ([`zkproto::peer`]) on a
//! tokio stream, for both the calling and the listening side, and the one
//! body whose encoding is ours rather than openraft's serde derive.

use std::fmt::Display;

use openraft::raft::InstallSnapshotRequest;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use zkproto::peer::{Header, Kind, HEADER_LEN};

use super::TypeConfig;
use crate::{Error, Result};

/// Reads one frame whose body may be at most `max_body` bytes (checked
/// before the body is allocated). `Ok(None)`: the peer closed the stream
/// between frames.
pub(crate) async fn read_frame<R: AsyncRead + Unpin>(
    r: &mut R,
    max_body: usize,
    peer: &impl Display,
) -> Result<Option<(Header, Vec<u8>)>> {
    let mut h = [0u8; HEADER_LEN];
    // A close before the first byte is a clean end; inside a frame it is not.
    let n = r
        .read(&mut h)
        .await
        .map_err(|e| Error::io(format!("reading from peer {peer}"), e))?;
    if n == 0 {
        return Ok(None);
    }
    r.read_exact(&mut h[n..])
        .await
        .map_err(|e| Error::io(format!("reading from peer {peer}"), e))?;
    let header = Header::decode(&h).map_err(|e| Error::peer(peer, e.to_string()))?;
    if header.body_len > max_body {
        return Err(Error::peer(
            peer,
            format!(
                "{} frame of {} bytes where at most {max_body} are allowed",
                header.kind, header.body_len
            ),
        ));
    }
    let mut body = vec![0u8; header.body_len];
    r.read_exact(&mut body)
        .await
        .map_err(|e| Error::io(format!("reading from peer {peer}"), e))?;
    Ok(Some((header, body)))
}

/// Writes one frame with a single write (header and body together), so
/// that TCP_NODELAY does not send the header alone.
pub(crate) async fn write_frame<W: AsyncWrite + Unpin>(
    w: &mut W,
    kind: Kind,
    rpc_id: u64,
    body: &[u8],
    peer: &impl Display,
) -> Result<()> {
    let frame = zkproto::peer::encode_frame(kind, rpc_id, body)
        .map_err(|e| Error::peer(peer, e.to_string()))?;
    w.write_all(&frame)
        .await
        .map_err(|e| Error::io(format!("writing to peer {peer}"), e))
}

/// An InstallSnapshot request as sent: openraft's fields and names, but
/// the chunk as MessagePack bin rather than serde's default array of
/// integers (half the bytes, and one value instead of one per byte for
/// whoever decodes it generically).
#[derive(serde::Serialize)]
pub struct SnapshotChunkOut<'a> {
    pub vote: &'a openraft::Vote<u64>,
    pub meta: &'a openraft::SnapshotMeta<u64, openraft::BasicNode>,
    pub offset: u64,
    #[serde(with = "serde_bytes")]
    pub data: &'a [u8],
    pub done: bool,
}

impl<'a> From<&'a InstallSnapshotRequest<TypeConfig>> for SnapshotChunkOut<'a> {
    fn from(r: &'a InstallSnapshotRequest<TypeConfig>) -> Self {
        SnapshotChunkOut {
            vote: &r.vote,
            meta: &r.meta,
            offset: r.offset,
            data: &r.data,
            done: r.done,
        }
    }
}

/// [`SnapshotChunkOut`] as received.
#[derive(serde::Deserialize)]
pub struct SnapshotChunkIn {
    pub vote: openraft::Vote<u64>,
    pub meta: openraft::SnapshotMeta<u64, openraft::BasicNode>,
    pub offset: u64,
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
    pub done: bool,
}

impl From<SnapshotChunkIn> for InstallSnapshotRequest<TypeConfig> {
    fn from(c: SnapshotChunkIn) -> Self {
        InstallSnapshotRequest {
            vote: c.vote,
            meta: c.meta,
            offset: c.offset,
            data: c.data,
            done: c.done,
        }
    }
}
