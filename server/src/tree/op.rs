//! The replicated log entry (a client write as the leader received it) and
//! what applying it yields.

use serde::{Deserialize, Serialize};
use zkproto::opcode::OpCode;
use zkproto::{CreateMode, ErrorCode, EventType, OpResult, Stat};

use super::node::Acl;

/// A create. `session` is the requesting session; it becomes the owner of an
/// ephemeral node. `ttl_ms` is -1 unless `mode` is a TTL mode, as in
/// ZooKeeper's create requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateOp {
    pub path: String,
    /// As a byte string: an array of integers took a marker per byte to
    /// write and to read. Either form reads back.
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
    /// The request carried a null buffer rather than an empty one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub null_data: bool,
    pub acl: Vec<Acl>,
    pub mode: CreateMode,
    pub session: i64,
    pub ttl_ms: i64,
}

/// delete, setData, setACL and check carry an expected version; -1 matches any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteOp {
    pub path: String,
    pub version: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetDataOp {
    pub path: String,
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
    /// The request carried a null buffer rather than an empty one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub null_data: bool,
    pub version: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetAclOp {
    pub path: String,
    pub acl: Vec<Acl>,
    pub version: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckOp {
    pub path: String,
    pub version: i32,
}

/// The ops a multi may contain; the type keeps sessions and nested multis out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MultiOp {
    Create(CreateOp),
    Delete(DeleteOp),
    SetData(SetDataOp),
    Check(CheckOp),
}

/// One replicated write. The zxid and the leader's clock travel beside it
/// (see [`super::DataTree::apply`]) so that the entry itself is the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Create(CreateOp),
    Delete(DeleteOp),
    SetData(SetDataOp),
    SetAcl(SetAclOp),
    Check(CheckOp),
    Multi(Vec<MultiOp>),
    CreateSession {
        session: i64,
        timeout_ms: i32,
        /// Replicated so that any member can check a reconnect.
        #[serde(default, with = "serde_bytes")]
        passwd: Vec<u8>,
    },
    /// Deletes the session's ephemerals under the same zxid.
    CloseSession {
        session: i64,
    },
    /// The leader's container/TTL cleaner (ZooKeeper's deleteContainer): only
    /// a childless container or TTL node is deleted, whatever its version.
    DeleteContainer {
        path: String,
    },
}

/// Who asked for a write: the ids the connection had proven when it sent
/// it. ACLs are checked against these at apply time, so every member
/// reaches the same verdict whatever its own configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Caller {
    pub ids: Vec<super::node::Id>,
    /// Authenticated as the configured super user.
    pub superuser: bool,
    /// Hard quota limits apply to this write (zoo.cfg `enforceQuota` on the
    /// member that proposed it).
    #[serde(default)]
    pub enforce_quota: bool,
}

/// A watch trigger to deliver: `NodeCreated`/`NodeDataChanged`/`NodeDeleted`
/// on the node, `NodeChildrenChanged` on the parent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trigger {
    pub path: String,
    pub event: EventType,
}

/// One entry of a multi's result; owned so it can outlive the tree borrow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MultiOpResult {
    Create {
        path: String,
        stat: Stat,
    },
    Delete,
    SetData(Stat),
    Check,
    /// ZooKeeper's failure encoding: 0 before the failed op, its code, -2 after.
    Error(i32),
}

impl MultiOpResult {
    /// The wire form. `create_opcode` is the opcode the client used for a
    /// create (create answers with a path only, create2/TTL/container with a
    /// stat too); the tree does not know it.
    pub fn to_proto(&self, create_opcode: OpCode) -> OpResult<'_> {
        match self {
            MultiOpResult::Create { path, stat } => match create_opcode {
                OpCode::Create => OpResult::Create(zkproto::PathResponse { path }),
                op => OpResult::Create2 {
                    op,
                    result: zkproto::Create2Response { path, stat: *stat },
                },
            },
            MultiOpResult::Delete => OpResult::Delete,
            MultiOpResult::SetData(s) => OpResult::SetData(*s),
            MultiOpResult::Check => OpResult::Check,
            MultiOpResult::Error(e) => OpResult::Error(*e),
        }
    }
}

/// What applying one entry produced. Every field is a pure function of the
/// tree and the entry, so all replicas report the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// The reply header's error code. A multi reports `OK` here even when an
    /// op failed; the failure is in `multi`.
    pub code: ErrorCode,
    /// The created node's actual path (with the sequence suffix).
    pub path: Option<String>,
    /// The stat ZooKeeper replies with (create2, setData, setACL).
    pub stat: Option<Stat>,
    /// Per-op results of a multi.
    pub multi: Option<Vec<MultiOpResult>>,
    /// Watch triggers, in the order their changes happened; empty on failure.
    pub triggers: Vec<Trigger>,
    /// Paths closeSession deleted, sorted.
    pub deleted_ephemerals: Vec<String>,
}

impl Applied {
    pub fn err(code: ErrorCode) -> Applied {
        Applied {
            code,
            ..Applied::ok()
        }
    }

    pub fn ok() -> Applied {
        Applied {
            code: ErrorCode::OK,
            path: None,
            stat: None,
            multi: None,
            triggers: Vec::new(),
            deleted_ephemerals: Vec::new(),
        }
    }

    /// The failing op of a failed multi: (index, code).
    pub fn multi_failure(&self) -> Option<(usize, i32)> {
        self.multi
            .as_ref()?
            .iter()
            .enumerate()
            .find_map(|(i, r)| match r {
                MultiOpResult::Error(e) if *e != 0 && *e != -2 => Some((i, *e)),
                _ => None,
            })
    }
}
