//! The calling side of Raft RPCs between members: one lazily opened TCP
//! connection per target, speaking the frames of [`zkproto::peer`]. A
//! standalone server is a one-member group and never sends one.
//!
//! openraft drives each target's client from one task, one RPC at a time,
//! so a connection carries no concurrent calls: a response must carry the
//! rpc id just sent, and anything else means the stream is not to be
//! trusted. Any failure drops the connection; the next call reconnects.

use std::sync::Arc;
use std::time::Duration;

use openraft::error::{
    InstallSnapshotError, NetworkError, PayloadTooLarge, RPCError, RaftError, RemoteError, Timeout,
    Unreachable,
};
use openraft::network::{RPCOption, RPCTypes, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::BasicNode;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::net::TcpStream;
use zkproto::peer::{Hello, Kind, HEADER_LEN, MAX_FRAME};

use super::peer_frame::{read_frame, write_frame, SnapshotChunkOut};
use super::TypeConfig;
use crate::Error;

/// A HelloOk or Error answer to a Hello is small.
pub(crate) const HELLO_MAX_BODY: usize = 4096;

/// Creates the per-target clients openraft asks for.
#[derive(Debug, Clone)]
pub struct Network {
    cluster: Arc<str>,
    node: u64,
}

impl Network {
    /// `cluster` must match the listeners' (see [`super::peer_server::serve`]);
    /// `node` is this member's id, sent in every Hello.
    pub fn new(cluster: impl Into<String>, node: u64) -> Network {
        Network {
            cluster: cluster.into().into(),
            node,
        }
    }
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Peer;

    async fn new_client(&mut self, target: u64, node: &BasicNode) -> Peer {
        Peer {
            target,
            node: node.clone(),
            cluster: self.cluster.clone(),
            me: self.node,
            conn: None,
            next_rpc: 0,
        }
    }
}

/// The client of one target member.
pub struct Peer {
    target: u64,
    node: BasicNode,
    cluster: Arc<str>,
    me: u64,
    conn: Option<TcpStream>,
    next_rpc: u64,
}

/// Why an exchange failed, which decides what openraft is told.
enum Failure {
    /// No session could be set up: openraft backs off.
    Unreachable(Error),
    /// The session broke mid-call: openraft may retry at once.
    Broken(Error),
}

type RpcResult<T, E = openraft::error::Infallible> =
    Result<T, RPCError<u64, BasicNode, RaftError<u64, E>>>;

impl Peer {
    /// Opens the connection and has the Hello accepted.
    async fn connect(&mut self) -> Result<&mut TcpStream, Error> {
        if self.conn.is_none() {
            let addr = &self.node.addr;
            let mut s = TcpStream::connect(addr).await.map_err(|e| {
                Error::io(format!("connecting to member {} at {addr}", self.target), e)
            })?;
            // Raft RPCs are small request/response pairs: never wait for Nagle.
            s.set_nodelay(true)
                .map_err(|e| Error::io("setting TCP_NODELAY", e))?;
            let hello = Hello {
                cluster: self.cluster.to_string(),
                from: self.me,
                to: self.target,
            };
            write_frame(&mut s, Kind::Hello, 0, &hello.encode(), addr).await?;
            match read_frame(&mut s, HELLO_MAX_BODY, addr).await? {
                Some((h, _)) if h.kind == Kind::HelloOk => {}
                Some((h, body)) if h.kind == Kind::Error => {
                    let msg = zkproto::peer::error_msg(&body).unwrap_or_else(|e| e.to_string());
                    return Err(Error::peer(addr, format!("refused our hello: {msg}")));
                }
                Some((h, _)) => {
                    return Err(Error::peer(addr, format!("answered hello with {}", h.kind)))
                }
                None => return Err(Error::peer(addr, "closed before answering hello")),
            }
            self.conn = Some(s);
        }
        // Set just above; the Option only records whether a session is open.
        self.conn
            .as_mut()
            .ok_or_else(|| Error::peer(&self.node.addr, "no connection"))
    }

    /// Sends one request frame and returns the matching response's body.
    async fn exchange(&mut self, kind: Kind, body: &[u8]) -> Result<Vec<u8>, Failure> {
        self.next_rpc += 1;
        let id = self.next_rpc;
        let addr = self.node.addr.clone();
        let s = self.connect().await.map_err(Failure::Unreachable)?;
        write_frame(s, kind, id, body, &addr)
            .await
            .map_err(Failure::Broken)?;
        let (h, resp) = read_frame(s, MAX_FRAME, &addr)
            .await
            .map_err(Failure::Broken)?
            .ok_or_else(|| Failure::Broken(Error::peer(&addr, "closed the connection")))?;
        if h.kind == Kind::Error {
            let msg = zkproto::peer::error_msg(&resp).unwrap_or_else(|e| e.to_string());
            return Err(Failure::Broken(Error::peer(&addr, msg)));
        }
        if Some(h.kind) != kind.response() || h.rpc_id != id {
            return Err(Failure::Broken(Error::peer(
                &addr,
                format!("answered {kind} #{id} with {} #{}", h.kind, h.rpc_id),
            )));
        }
        Ok(resp)
    }

    /// One RPC: `Req` out, openraft's `Result<Resp, RaftError<E>>` back.
    async fn call<Req, Resp, E>(
        &mut self,
        kind: Kind,
        action: RPCTypes,
        req: &Req,
        entries: Option<u64>,
        option: &RPCOption,
    ) -> RpcResult<Resp, E>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let body = rmp_serde::to_vec_named(req).map_err(|e| {
            RPCError::Network(NetworkError::new(&Error::peer(
                &self.node.addr,
                format!("encoding {kind}: {e}"),
            )))
        })?;
        if body.len() + HEADER_LEN > MAX_FRAME {
            // openraft resends fewer entries when told how many fit.
            if let Some(n) = entries {
                return Err(RPCError::PayloadTooLarge(
                    PayloadTooLarge::new_entries_hint((n / 2).max(1)),
                ));
            }
        }
        let ttl = option.hard_ttl();
        let resp = match tokio::time::timeout(ttl, self.exchange(kind, &body)).await {
            Ok(Ok(resp)) => resp,
            Ok(Err(Failure::Unreachable(e))) => {
                self.conn = None;
                return Err(RPCError::Unreachable(Unreachable::new(&e)));
            }
            Ok(Err(Failure::Broken(e))) => {
                self.conn = None;
                return Err(RPCError::Network(NetworkError::new(&e)));
            }
            Err(_) => {
                // The response may still come: the stream is out of step.
                self.conn = None;
                return Err(RPCError::Timeout(self.timeout(action, ttl)));
            }
        };
        match rmp_serde::from_slice::<Result<Resp, RaftError<u64, E>>>(&resp) {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => Err(RPCError::RemoteError(RemoteError::new_with_node(
                self.target,
                self.node.clone(),
                e,
            ))),
            Err(e) => {
                self.conn = None;
                Err(RPCError::Network(NetworkError::new(&Error::peer(
                    &self.node.addr,
                    format!("undecodable {kind} response: {e}"),
                ))))
            }
        }
    }

    fn timeout(&self, action: RPCTypes, ttl: Duration) -> Timeout<u64> {
        Timeout {
            action,
            id: self.me,
            target: self.target,
            timeout: ttl,
        }
    }
}

impl RaftNetwork<TypeConfig> for Peer {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse<u64>> {
        let n = rpc.entries.len() as u64;
        self.call(
            Kind::AppendReq,
            RPCTypes::AppendEntries,
            &rpc,
            Some(n),
            &option,
        )
        .await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<InstallSnapshotResponse<u64>, InstallSnapshotError> {
        self.call(
            Kind::SnapshotReq,
            RPCTypes::InstallSnapshot,
            &SnapshotChunkOut::from(&rpc),
            None,
            &option,
        )
        .await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<u64>,
        option: RPCOption,
    ) -> RpcResult<VoteResponse<u64>> {
        self.call(Kind::VoteReq, RPCTypes::Vote, &rpc, None, &option)
            .await
    }
}
