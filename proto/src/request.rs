//! Client → server messages after the handshake: a RequestHeader and a body
//! whose record is chosen by the opcode.

use crate::error::{ProtoError, Result};
use crate::jute::{Reader, Record};
use crate::multi::MultiRequest;
use crate::opcode::OpCode;
use crate::records::*;

/// A request body, one variant per opcode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request<'a> {
    Create(CreateRequest<'a>),
    Delete(DeleteRequest<'a>),
    Exists(PathWatchRequest<'a>),
    GetData(PathWatchRequest<'a>),
    SetData(SetDataRequest<'a>),
    GetAcl(PathRequest<'a>),
    SetAcl(SetAclRequest<'a>),
    GetChildren(PathWatchRequest<'a>),
    Sync(PathRequest<'a>),
    Ping,
    GetChildren2(PathWatchRequest<'a>),
    Check(CheckVersionRequest<'a>),
    Multi(MultiRequest<'a>),
    Create2(CreateRequest<'a>),
    Reconfig(ReconfigRequest<'a>),
    CheckWatches(WatchesRequest<'a>),
    RemoveWatches(WatchesRequest<'a>),
    CreateContainer(CreateRequest<'a>),
    /// Server-internal: ZooKeeper's container reaper sends the bare path bytes,
    /// with no length prefix.
    DeleteContainer {
        path: &'a str,
    },
    CreateTtl(CreateTtlRequest<'a>),
    MultiRead(MultiRequest<'a>),
    Auth(AuthPacket<'a>),
    SetWatches(SetWatches<'a>),
    Sasl(SaslToken<'a>),
    /// The path is a prefix; empty means all of the session's ephemerals.
    GetEphemerals(PathRequest<'a>),
    GetAllChildrenNumber(PathRequest<'a>),
    SetWatches2(SetWatches2<'a>),
    AddWatch(AddWatchRequest<'a>),
    WhoAmI,
    CreateSession(CreateSessionRequest),
    CloseSession,
    /// An opcode this crate does not know, kept as is so it can be shown,
    /// answered with Unimplemented, or forwarded.
    Unknown {
        opcode: i32,
        body: &'a [u8],
    },
}

impl<'a> Request<'a> {
    /// Decodes a body for `opcode` (the raw wire value). The body must be
    /// consumed exactly.
    pub fn decode(opcode: i32, body: &'a [u8]) -> Result<Request<'a>> {
        let Some(op) = OpCode::from_i32(opcode) else {
            return Ok(Request::Unknown { opcode, body });
        };
        let mut r = Reader::new(body);
        let req = Self::read(op, &mut r)?;
        r.finish(op.name())?;
        Ok(req)
    }

    /// Reads the body of a known opcode from a reader positioned at it; used
    /// both for whole frames and for the ops inside a multi.
    pub fn read(op: OpCode, r: &mut Reader<'a>) -> Result<Request<'a>> {
        use Request as Q;
        Ok(match op {
            OpCode::Create => Q::Create(CreateRequest::read(r)?),
            OpCode::Delete => Q::Delete(DeleteRequest::read(r)?),
            OpCode::Exists => Q::Exists(PathWatchRequest::read(r)?),
            OpCode::GetData => Q::GetData(PathWatchRequest::read(r)?),
            OpCode::SetData => Q::SetData(SetDataRequest::read(r)?),
            OpCode::GetAcl => Q::GetAcl(PathRequest::read(r)?),
            OpCode::SetAcl => Q::SetAcl(SetAclRequest::read(r)?),
            OpCode::GetChildren => Q::GetChildren(PathWatchRequest::read(r)?),
            OpCode::Sync => Q::Sync(PathRequest::read(r)?),
            OpCode::Ping => Q::Ping,
            OpCode::GetChildren2 => Q::GetChildren2(PathWatchRequest::read(r)?),
            OpCode::Check => Q::Check(CheckVersionRequest::read(r)?),
            OpCode::Multi => Q::Multi(MultiRequest::read(r, false)?),
            OpCode::Create2 => Q::Create2(CreateRequest::read(r)?),
            OpCode::Reconfig => Q::Reconfig(ReconfigRequest::read(r)?),
            OpCode::CheckWatches => Q::CheckWatches(WatchesRequest::read(r)?),
            OpCode::RemoveWatches => Q::RemoveWatches(WatchesRequest::read(r)?),
            OpCode::CreateContainer => Q::CreateContainer(CreateRequest::read(r)?),
            OpCode::DeleteContainer => {
                let raw = r.take_rest();
                Q::DeleteContainer {
                    path: std::str::from_utf8(raw).map_err(|_| ProtoError::BadUtf8 {
                        what: "deleteContainer.path",
                    })?,
                }
            }
            OpCode::CreateTtl => Q::CreateTtl(CreateTtlRequest::read(r)?),
            OpCode::MultiRead => Q::MultiRead(MultiRequest::read(r, true)?),
            OpCode::Auth => Q::Auth(AuthPacket::read(r)?),
            OpCode::SetWatches => Q::SetWatches(SetWatches::read(r)?),
            OpCode::Sasl => Q::Sasl(SaslToken::read(r)?),
            OpCode::GetEphemerals => Q::GetEphemerals(PathRequest::read(r)?),
            OpCode::GetAllChildrenNumber => Q::GetAllChildrenNumber(PathRequest::read(r)?),
            OpCode::SetWatches2 => Q::SetWatches2(SetWatches2::read(r)?),
            OpCode::AddWatch => Q::AddWatch(AddWatchRequest::read(r)?),
            OpCode::WhoAmI => Q::WhoAmI,
            OpCode::CreateSession => Q::CreateSession(CreateSessionRequest::read(r)?),
            OpCode::CloseSession => Q::CloseSession,
        })
    }

    /// The wire opcode of this request.
    pub fn opcode(&self) -> i32 {
        match self.op() {
            Some(op) => op.code(),
            None => match self {
                Request::Unknown { opcode, .. } => *opcode,
                _ => unreachable!("only Unknown lacks an OpCode"),
            },
        }
    }

    /// The known opcode, `None` for [`Request::Unknown`].
    pub fn op(&self) -> Option<OpCode> {
        use Request as Q;
        Some(match self {
            Q::Create(_) => OpCode::Create,
            Q::Delete(_) => OpCode::Delete,
            Q::Exists(_) => OpCode::Exists,
            Q::GetData(_) => OpCode::GetData,
            Q::SetData(_) => OpCode::SetData,
            Q::GetAcl(_) => OpCode::GetAcl,
            Q::SetAcl(_) => OpCode::SetAcl,
            Q::GetChildren(_) => OpCode::GetChildren,
            Q::Sync(_) => OpCode::Sync,
            Q::Ping => OpCode::Ping,
            Q::GetChildren2(_) => OpCode::GetChildren2,
            Q::Check(_) => OpCode::Check,
            Q::Multi(_) => OpCode::Multi,
            Q::Create2(_) => OpCode::Create2,
            Q::Reconfig(_) => OpCode::Reconfig,
            Q::CheckWatches(_) => OpCode::CheckWatches,
            Q::RemoveWatches(_) => OpCode::RemoveWatches,
            Q::CreateContainer(_) => OpCode::CreateContainer,
            Q::DeleteContainer { .. } => OpCode::DeleteContainer,
            Q::CreateTtl(_) => OpCode::CreateTtl,
            Q::MultiRead(_) => OpCode::MultiRead,
            Q::Auth(_) => OpCode::Auth,
            Q::SetWatches(_) => OpCode::SetWatches,
            Q::Sasl(_) => OpCode::Sasl,
            Q::GetEphemerals(_) => OpCode::GetEphemerals,
            Q::GetAllChildrenNumber(_) => OpCode::GetAllChildrenNumber,
            Q::SetWatches2(_) => OpCode::SetWatches2,
            Q::AddWatch(_) => OpCode::AddWatch,
            Q::WhoAmI => OpCode::WhoAmI,
            Q::CreateSession(_) => OpCode::CreateSession,
            Q::CloseSession => OpCode::CloseSession,
            Q::Unknown { .. } => return None,
        })
    }

    /// Writes the body (no header).
    pub fn write(&self, w: &mut Vec<u8>) {
        use Request as Q;
        match self {
            Q::Create(x) | Q::Create2(x) | Q::CreateContainer(x) => x.write(w),
            Q::Delete(x) => x.write(w),
            Q::Exists(x) | Q::GetData(x) | Q::GetChildren(x) | Q::GetChildren2(x) => x.write(w),
            Q::SetData(x) => x.write(w),
            Q::GetAcl(x) | Q::Sync(x) | Q::GetEphemerals(x) | Q::GetAllChildrenNumber(x) => {
                x.write(w)
            }
            Q::SetAcl(x) => x.write(w),
            Q::Check(x) => x.write(w),
            Q::Multi(x) | Q::MultiRead(x) => x.write(w),
            Q::Reconfig(x) => x.write(w),
            Q::CheckWatches(x) | Q::RemoveWatches(x) => x.write(w),
            Q::DeleteContainer { path } => w.extend_from_slice(path.as_bytes()),
            Q::CreateTtl(x) => x.write(w),
            Q::Auth(x) => x.write(w),
            Q::SetWatches(x) => x.write(w),
            Q::Sasl(x) => x.write(w),
            Q::SetWatches2(x) => x.write(w),
            Q::AddWatch(x) => x.write(w),
            Q::CreateSession(x) => x.write(w),
            Q::Ping | Q::WhoAmI | Q::CloseSession => {}
            Q::Unknown { body, .. } => w.extend_from_slice(body),
        }
    }

    /// The znode path the request is about, for display and per-path stats.
    pub fn path(&self) -> Option<&'a str> {
        use Request as Q;
        match self {
            Q::Create(x) | Q::Create2(x) | Q::CreateContainer(x) => Some(x.path),
            Q::CreateTtl(x) => Some(x.path),
            Q::Delete(x) => Some(x.path),
            Q::Exists(x) | Q::GetData(x) | Q::GetChildren(x) | Q::GetChildren2(x) => Some(x.path),
            Q::SetData(x) => Some(x.path),
            Q::GetAcl(x) | Q::Sync(x) | Q::GetEphemerals(x) | Q::GetAllChildrenNumber(x) => {
                Some(x.path)
            }
            Q::SetAcl(x) => Some(x.path),
            Q::Check(x) => Some(x.path),
            Q::CheckWatches(x) | Q::RemoveWatches(x) => Some(x.path),
            Q::AddWatch(x) => Some(x.path),
            Q::DeleteContainer { path } => Some(path),
            _ => None,
        }
    }

    /// Does this request arm a one-shot watch?
    pub fn sets_watch(&self) -> bool {
        match self {
            Request::Exists(x)
            | Request::GetData(x)
            | Request::GetChildren(x)
            | Request::GetChildren2(x) => x.watch,
            _ => false,
        }
    }
}

/// A whole request frame body: header and request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestFrame<'a> {
    pub xid: i32,
    pub request: Request<'a>,
}

impl<'a> RequestFrame<'a> {
    /// Decodes a frame body (after the length prefix).
    pub fn decode(frame: &'a [u8]) -> Result<RequestFrame<'a>> {
        let mut r = Reader::new(frame);
        let header = RequestHeader::read(&mut r)?;
        let request = Request::decode(header.opcode, r.rest())?;
        Ok(RequestFrame {
            xid: header.xid,
            request,
        })
    }

    pub fn header(&self) -> RequestHeader {
        RequestHeader {
            xid: self.xid,
            opcode: self.request.opcode(),
        }
    }

    /// Writes header and body (no length prefix; see [`crate::frame::write_frame`]).
    pub fn write(&self, w: &mut Vec<u8>) {
        self.header().write(w);
        self.request.write(w);
    }
}
