//! Client write requests turned into replicated ops. What can be judged
//! from the request alone (create mode against opcode, the ACL list) is
//! judged here; everything that depends on the tree is judged at apply time,
//! identically on every member.

use zkproto::{CreateMode, CreateRequest, ErrorCode, MultiResponse, OpCode, Request};

use crate::acl::{self, AuthInfo};
use crate::tree::{CheckOp, CreateOp, DeleteOp, MultiOp, Op, SetAclOp, SetDataOp};

/// A write ready to propose, or the reply the client gets instead.
pub enum Planned {
    Op {
        op: Op,
        /// Opcodes inside a multi, to shape its reply.
        multi_ops: Vec<OpCode>,
    },
    /// Rejected before proposing; a multi carries ZooKeeper's full failure
    /// encoding.
    Rejected(ErrorCode),
    RejectedMulti(MultiResponse<'static>),
}

fn create(
    opcode: OpCode,
    c: &CreateRequest<'_>,
    ttl: i64,
    session: i64,
    auth: &AuthInfo,
) -> Result<CreateOp, ErrorCode> {
    // The flags decide the mode whatever the opcode, as in ZooKeeper; a TTL
    // where the mode takes none (or none where it needs one) is refused at
    // apply time.
    let _ = opcode;
    let mode = CreateMode::from_flags(c.flags).ok_or(ErrorCode::BAD_ARGUMENTS)?;
    let acl = acl::fixup(&c.acl, auth)?;
    Ok(CreateOp {
        path: c.path.to_owned(),
        data: c.data.unwrap_or_default().to_vec(),
        null_data: c.data.is_none(),
        acl,
        mode,
        session,
        ttl_ms: ttl,
    })
}

fn single(req: &Request<'_>, session: i64, auth: &AuthInfo) -> Result<Op, ErrorCode> {
    Ok(match req {
        Request::Create(c) => Op::Create(create(OpCode::Create, c, -1, session, auth)?),
        Request::Create2(c) => Op::Create(create(OpCode::Create2, c, -1, session, auth)?),
        Request::CreateContainer(c) => {
            Op::Create(create(OpCode::CreateContainer, c, -1, session, auth)?)
        }
        Request::CreateTtl(t) => {
            let c = CreateRequest {
                path: t.path,
                data: t.data,
                acl: t.acl.clone(),
                flags: t.flags,
            };
            Op::Create(create(OpCode::CreateTtl, &c, t.ttl, session, auth)?)
        }
        Request::Delete(d) => Op::Delete(DeleteOp {
            path: d.path.to_owned(),
            version: d.version,
        }),
        Request::SetData(s) => Op::SetData(SetDataOp {
            path: s.path.to_owned(),
            data: s.data.unwrap_or_default().to_vec(),
            null_data: s.data.is_none(),
            version: s.version,
        }),
        Request::SetAcl(s) => Op::SetAcl(SetAclOp {
            path: s.path.to_owned(),
            acl: acl::fixup(&s.acl, auth)?,
            version: s.version,
        }),
        Request::Check(c) => Op::Check(CheckOp {
            path: c.path.to_owned(),
            version: c.version,
        }),
        _ => return Err(ErrorCode::UNIMPLEMENTED),
    })
}

fn multi_op(op: Op) -> MultiOp {
    match op {
        Op::Create(c) => MultiOp::Create(c),
        Op::Delete(d) => MultiOp::Delete(d),
        Op::SetData(s) => MultiOp::SetData(s),
        Op::Check(c) => MultiOp::Check(c),
        // zkproto admits only the four above inside a multi.
        _ => unreachable!("multi admits create, delete, setData and check only"),
    }
}

/// Plans a write request from session `session`.
pub fn plan(req: &Request<'_>, session: i64, auth: &AuthInfo) -> Planned {
    match req {
        Request::Multi(m) => {
            let mut ops = Vec::with_capacity(m.ops.len());
            let mut codes = Vec::with_capacity(m.ops.len());
            for (i, r) in m.ops.iter().enumerate() {
                match single(r, session, auth) {
                    Ok(op) => {
                        ops.push(multi_op(op));
                        codes.push(r.op().unwrap_or(OpCode::Create));
                    }
                    Err(code) => {
                        return Planned::RejectedMulti(MultiResponse::failed(
                            m.ops.len(),
                            i,
                            code.0,
                        ))
                    }
                }
            }
            Planned::Op {
                op: Op::Multi(ops),
                multi_ops: codes,
            }
        }
        Request::CloseSession => Planned::Op {
            op: Op::CloseSession { session },
            multi_ops: Vec::new(),
        },
        r => match single(r, session, auth) {
            Ok(op) => Planned::Op {
                op,
                multi_ops: Vec::new(),
            },
            Err(code) => Planned::Rejected(code),
        },
    }
}
