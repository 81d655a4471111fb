//! Server → client messages after the handshake: a ReplyHeader, then a body
//! whose record depends on the opcode of the request being answered (which the
//! reply does not carry: see [`crate::pairing`]).

use crate::error::Result;
use crate::jute::{Reader, Record};
use crate::multi::MultiResponse;
use crate::opcode::{xid, OpCode};
use crate::records::*;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response<'a> {
    /// No body: errors, and delete, check, ping, auth, setWatches(2),
    /// closeSession, checkWatches, removeWatches, deleteContainer.
    Empty,
    Create(PathResponse<'a>),
    /// create2, createTTL, createContainer.
    Create2(Create2Response<'a>),
    /// exists, setData, setACL.
    Stat(Stat),
    /// getData, and reconfig (the new configuration).
    GetData(GetDataResponse<'a>),
    GetAcl(GetAclResponse<'a>),
    GetChildren(GetChildrenResponse<'a>),
    GetChildren2(GetChildren2Response<'a>),
    Sync(PathResponse<'a>),
    /// multi and multiRead.
    Multi(MultiResponse<'a>),
    Sasl(SaslToken<'a>),
    GetEphemerals(GetChildrenResponse<'a>),
    GetAllChildrenNumber(IntResponse),
    /// addWatch answers with a bare int 0.
    AddWatch(IntResponse),
    WhoAmI(WhoAmIResponse<'a>),
    /// A watch notification (xid -1).
    Notification(WatcherEvent<'a>),
    /// A body we cannot interpret because the request's opcode is unknown
    /// (an unpaired reply, or an opcode newer than this crate).
    Raw(&'a [u8]),
}

impl<'a> Response<'a> {
    /// Reads the body of a successful reply to `op`.
    pub fn read(op: OpCode, r: &mut Reader<'a>) -> Result<Response<'a>> {
        use OpCode::*;
        use Response as P;
        Ok(match op {
            Create => P::Create(PathResponse::read(r)?),
            Create2 | CreateTtl | CreateContainer => P::Create2(Create2Response::read(r)?),
            Exists | SetData | SetAcl => P::Stat(Stat::read(r)?),
            GetData | Reconfig => P::GetData(GetDataResponse::read(r)?),
            GetAcl => P::GetAcl(GetAclResponse::read(r)?),
            GetChildren => P::GetChildren(GetChildrenResponse::read(r)?),
            GetChildren2 => P::GetChildren2(GetChildren2Response::read(r)?),
            Sync => P::Sync(PathResponse::read(r)?),
            Multi | MultiRead => P::Multi(MultiResponse::read(r)?),
            Sasl => P::Sasl(SaslToken::read(r)?),
            GetEphemerals => P::GetEphemerals(GetChildrenResponse::read(r)?),
            GetAllChildrenNumber => P::GetAllChildrenNumber(IntResponse::read(r)?),
            AddWatch => P::AddWatch(IntResponse::read(r)?),
            WhoAmI => P::WhoAmI(WhoAmIResponse::read(r)?),
            Delete | Ping | Check | CheckWatches | RemoveWatches | DeleteContainer | Auth
            | SetWatches | SetWatches2 | CreateSession | CloseSession => P::Empty,
        })
    }

    pub fn write(&self, w: &mut Vec<u8>) {
        use Response as P;
        match self {
            P::Empty => {}
            P::Create(x) | P::Sync(x) => x.write(w),
            P::Create2(x) => x.write(w),
            P::Stat(x) => x.write(w),
            P::GetData(x) => x.write(w),
            P::GetAcl(x) => x.write(w),
            P::GetChildren(x) | P::GetEphemerals(x) => x.write(w),
            P::GetChildren2(x) => x.write(w),
            P::Multi(x) => x.write(w),
            P::Sasl(x) => x.write(w),
            P::GetAllChildrenNumber(x) | P::AddWatch(x) => x.write(w),
            P::WhoAmI(x) => x.write(w),
            P::Notification(x) => x.write(w),
            P::Raw(b) => w.extend_from_slice(b),
        }
    }
}

/// A whole reply frame body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyFrame<'a> {
    pub header: ReplyHeader,
    pub body: Response<'a>,
}

impl<'a> ReplyFrame<'a> {
    /// Reads only the header, e.g. to look the xid up before decoding the body.
    pub fn peek_header(frame: &[u8]) -> Result<ReplyHeader> {
        ReplyHeader::read(&mut Reader::new(frame))
    }

    /// Decodes a reply frame. `op` is the opcode of the request it answers
    /// (from [`crate::pairing::XidPairer`]); notifications and the reserved
    /// xids are recognised without it. A body follows only when err is 0.
    pub fn decode(frame: &'a [u8], op: Option<OpCode>) -> Result<ReplyFrame<'a>> {
        let mut r = Reader::new(frame);
        let header = ReplyHeader::read(&mut r)?;
        let body = if header.xid == xid::NOTIFICATION {
            Response::Notification(WatcherEvent::read(&mut r)?)
        } else if !header.err.is_ok() {
            Response::Empty
        } else {
            match op.or_else(|| xid::implied_opcode(header.xid)) {
                Some(op) => Response::read(op, &mut r)?,
                None if r.is_empty() => Response::Empty,
                None => Response::Raw(r.take_rest()),
            }
        };
        r.finish("reply body")?;
        Ok(ReplyFrame { header, body })
    }

    pub fn write(&self, w: &mut Vec<u8>) {
        self.header.write(w);
        self.body.write(w);
    }
}
