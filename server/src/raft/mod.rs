//! Consensus: openraft's storage-v2 traits implemented over our write-ahead
//! log ([`log_store`]) and the ZooKeeper state machine ([`state_machine`]).
//!
//! A standalone server is a one-member Raft group on exactly this code path.
//! Members talk over [`network`] (the calling side) and [`peer_server`]
//! (the listening side), in the frames of [`zkproto::peer`].

pub mod log_store;
pub mod network;
pub mod peer_frame;
pub mod peer_server;
pub mod proposer;
pub mod runtime;
pub mod state_machine;
pub mod zxid;

use std::fmt;
use std::io::Cursor;

use serde::{Deserialize, Serialize};

use crate::tree::{Caller, Op};

openraft::declare_raft_types!(
    /// The type parameters zkserver instantiates openraft with.
    pub TypeConfig:
        D = Batch,
        R = TxnResult,
        NodeId = u64,
        Node = openraft::BasicNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime,
);

pub type Raft = openraft::Raft<TypeConfig>;
pub type LogId = openraft::LogId<u64>;
pub type Entry = openraft::Entry<TypeConfig>;
pub type StorageError = openraft::StorageError<u64>;

/// Who asked for a write, so that the member it arrived at can route the
/// reply when it applies the entry (every member applies every entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    pub node: u64,
    /// The connection on that member; meaningless elsewhere.
    pub conn: u64,
    pub session: i64,
    pub cxid: i32,
    /// The client's opcode: the reply's shape depends on it (create vs create2).
    pub opcode: i32,
}

/// Why the write exists when no client asked for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    Client,
    /// The leader's session tracker saw no traffic within the timeout.
    SessionExpired,
    /// The leader's container and TTL cleaner.
    Cleaner,
}

/// One replicated log entry's payload: the write and its context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Txn {
    pub op: Op,
    /// The proposing leader's clock (ms since the epoch): ctime/mtime.
    pub time_ms: i64,
    pub cause: Cause,
    pub origin: Option<Origin>,
    /// The requesting connection's ids; `None` for the system's own writes.
    #[serde(default)]
    pub caller: Option<Caller>,
}

impl fmt::Display for Txn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.cause)?;
        if let Some(o) = &self.origin {
            write!(f, " session {:#x} cxid {}", o.session, o.cxid)?;
        }
        Ok(())
    }
}

/// One log entry's payload: writes proposed together, applied in order,
/// each with a zxid of its own. openraft 0.9 syncs the log once per
/// proposal and holds its core until the sync is done, so one write per
/// entry would mean one sync per write; [`proposer`] gathers the writes
/// that arrive meanwhile into the next entry (ZooKeeper's group commit).
///
/// Shared, not copied, when openraft clones an entry (it reads every entry
/// back from the log's memory to apply it, and again to replicate it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch(pub std::sync::Arc<[Txn]>);

impl Batch {
    pub fn new(txns: Vec<Txn>) -> Batch {
        Batch(txns.into())
    }
}

impl fmt::Display for Batch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} txns", self.0.len())?;
        if let Some(t) = self.0.first() {
            write!(f, " from {t}")?;
        }
        Ok(())
    }
}

/// What applying an entry returns to openraft's client_write caller (for a
/// batch: its last write).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TxnResult {
    pub zxid: i64,
    pub code: i32,
}

/// The log and snapshot encoding: MessagePack with field names, so that a
/// field added later (with a serde default) still reads old records.
pub(crate) fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    rmp_serde::to_vec_named(v).expect("log records always serialize")
}

/// [`encode`] straight into `w`, for bodies too big to build in memory.
pub(crate) fn encode_to<T: Serialize>(w: &mut dyn std::io::Write, v: &T) -> std::io::Result<()> {
    rmp_serde::encode::write_named(w, v).map_err(std::io::Error::other)
}

pub(crate) fn decode<T: for<'de> Deserialize<'de>>(
    b: &[u8],
) -> Result<T, rmp_serde::decode::Error> {
    rmp_serde::from_slice(b)
}

#[cfg(test)]
mod tests {
    use serde::Serialize;

    use super::*;
    use crate::tree::{Acl, CreateOp};

    /// A create as records written before data became a byte string held
    /// it: the same fields, data as an array of integers.
    #[derive(Serialize)]
    struct OldCreate {
        path: String,
        data: Vec<u8>,
        acl: Vec<Acl>,
        mode: zkproto::CreateMode,
        session: i64,
        ttl_ms: i64,
    }

    #[test]
    fn data_is_a_byte_string_and_old_integer_arrays_still_read() {
        let op = CreateOp {
            path: "/a".into(),
            data: vec![0, 1, 200, 255],
            null_data: false,
            acl: vec![Acl::world_anyone(zkproto::perms::ALL)],
            mode: zkproto::CreateMode::Persistent,
            session: 7,
            ttl_ms: -1,
        };
        let new = encode(&op);
        // bin8 marker, length 4, then the bytes themselves.
        let raw = [0xc4, 4, 0, 1, 200, 255];
        assert!(new.windows(raw.len()).any(|w| w == raw), "{new:?}");
        assert_eq!(decode::<CreateOp>(&new).unwrap(), op);

        let old = encode(&OldCreate {
            path: op.path.clone(),
            data: op.data.clone(),
            acl: op.acl.clone(),
            mode: op.mode,
            session: op.session,
            ttl_ms: op.ttl_ms,
        });
        assert!(!old.windows(raw.len()).any(|w| w == raw));
        assert_eq!(decode::<CreateOp>(&old).unwrap(), op);
    }
}
