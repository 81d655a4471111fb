//! The listening side of Raft RPCs between members: accepts connections on
//! the quorum port, checks each one's Hello, then answers its requests by
//! calling the local [`Raft`] (frames of [`zkproto::peer`]).
//!
//! openraft's answer is sent whole, `Ok` or `Err`, so that a caller sees a
//! remote `RaftError` as the error it was. A connection that breaks the
//! protocol gets an Error frame and is closed; it never affects the others.

use std::net::SocketAddr;
use std::time::Duration;

use openraft::raft::{AppendEntriesRequest, VoteRequest};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use zkproto::peer::{Hello, Kind, MAX_FRAME};

use super::network::HELLO_MAX_BODY;
use super::peer_frame::{read_frame, write_frame, SnapshotChunkIn};
use super::{Raft, TypeConfig};
use crate::{Error, Result};

/// A connection must say who it is this soon after it opens.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(5);

/// Binds the peer listener; the error names the address.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| Error::io(format!("binding the peer port {addr}"), e))
}

/// Serves peers on `listener` until `shutdown` turns true (or its sender
/// is dropped); then closes every connection it accepted.
pub async fn serve(
    listener: TcpListener,
    raft: Raft,
    cluster: String,
    node_id: u64,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut conns = JoinSet::new();
    loop {
        if *shutdown.borrow() {
            break;
        }
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let raft = raft.clone();
                    let cluster = cluster.clone();
                    conns.spawn(async move {
                        if let Err(e) = connection(stream, peer, raft, &cluster, node_id).await {
                            tracing::debug!(%peer, "peer connection ended: {e}");
                        }
                    });
                }
                Err(e) => {
                    // Out of descriptors and the like: wait rather than spin.
                    tracing::warn!("accepting a peer connection: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            changed = shutdown.changed() => if changed.is_err() { break },
        }
    }
    conns.shutdown().await;
}

async fn connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    raft: Raft,
    cluster: &str,
    me: u64,
) -> Result<()> {
    stream
        .set_nodelay(true)
        .map_err(|e| Error::io("setting TCP_NODELAY", e))?;
    let first = tokio::time::timeout(
        HELLO_TIMEOUT,
        read_frame(&mut stream, HELLO_MAX_BODY, &peer),
    )
    .await
    .map_err(|_| Error::peer(peer, "no hello in time"))?;
    let (h, body) = match first {
        Ok(Some(f)) => f,
        Ok(None) => return Ok(()),
        Err(e) => return refuse(&mut stream, peer, 0, e.to_string()).await,
    };
    if h.kind != Kind::Hello {
        return refuse(
            &mut stream,
            peer,
            h.rpc_id,
            format!("expected hello, got {}", h.kind),
        )
        .await;
    }
    let hello = match Hello::decode(&body) {
        Ok(hello) => hello,
        Err(e) => return refuse(&mut stream, peer, h.rpc_id, e.to_string()).await,
    };
    if hello.cluster != cluster {
        let msg = format!(
            "cluster {:?} is not this member's {cluster:?}",
            hello.cluster
        );
        return refuse(&mut stream, peer, h.rpc_id, msg).await;
    }
    if hello.to != me {
        let msg = format!("hello for member {} reached member {me}", hello.to);
        return refuse(&mut stream, peer, h.rpc_id, msg).await;
    }
    write_frame(&mut stream, Kind::HelloOk, h.rpc_id, &[], &peer).await?;

    loop {
        let (h, body) = match read_frame(&mut stream, MAX_FRAME, &peer).await {
            Ok(Some(f)) => f,
            Ok(None) => return Ok(()),
            Err(e @ Error::Peer { .. }) => {
                return refuse(&mut stream, peer, 0, e.to_string()).await
            }
            Err(e) => return Err(e),
        };
        let answer = match h.kind {
            Kind::VoteReq => answer(&body, |r: VoteRequest<u64>| raft.vote(r)).await,
            Kind::AppendReq => {
                answer(&body, |r: AppendEntriesRequest<TypeConfig>| {
                    raft.append_entries(r)
                })
                .await
            }
            Kind::SnapshotReq => {
                answer(&body, |r: SnapshotChunkIn| raft.install_snapshot(r.into())).await
            }
            other => Err(format!("{other} is not a request")),
        };
        match answer {
            Ok(resp) => {
                // A request kind always has a response kind.
                let kind = h.kind.response().unwrap_or(Kind::Error);
                write_frame(&mut stream, kind, h.rpc_id, &resp, &peer).await?;
            }
            Err(msg) => return refuse(&mut stream, peer, h.rpc_id, msg).await,
        }
    }
}

/// Decodes a request, has Raft answer it, encodes the whole `Result`.
/// `Err`: the request did not decode.
async fn answer<Req, Resp, E, Fut>(
    body: &[u8],
    call: impl FnOnce(Req) -> Fut,
) -> std::result::Result<Vec<u8>, String>
where
    Req: DeserializeOwned,
    Resp: Serialize,
    E: Serialize,
    Fut: std::future::Future<Output = std::result::Result<Resp, E>>,
{
    let req: Req = rmp_serde::from_slice(body).map_err(|e| format!("undecodable request: {e}"))?;
    let result = call(req).await;
    rmp_serde::to_vec_named(&result).map_err(|e| format!("encoding the response: {e}"))
}

/// Tells the peer why, then ends the connection with that reason.
async fn refuse(stream: &mut TcpStream, peer: SocketAddr, rpc_id: u64, msg: String) -> Result<()> {
    tracing::warn!(%peer, "refusing peer connection: {msg}");
    let body = zkproto::peer::error_body(&msg);
    // The peer may already be gone; the reason is logged either way.
    let _ = write_frame(stream, Kind::Error, rpc_id, &body, &peer).await;
    Err(Error::peer(peer, msg))
}
