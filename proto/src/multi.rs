//! multi and multiRead: a sequence of (MultiHeader, body) pairs closed by the
//! terminator header `(-1, true, -1)`.
//!
//! Failure encoding (ZooKeeper's): the ReplyHeader says Ok; ops before the
//! failing one come back as type -1 with err 0, the failing op with its error
//! code, and the ops after it with -2 (RuntimeInconsistency).

use crate::error::{ProtoError, Result};
use crate::jute::{Reader, Record};
use crate::opcode::OpCode;
use crate::records::*;
use crate::request::Request;

const TERMINATOR: MultiHeader = MultiHeader {
    op_type: -1,
    done: true,
    err: -1,
};

/// The type a MultiHeader carries for a failed or skipped op.
pub const ERROR_RESULT_TYPE: i32 = -1;

fn write_terminator(w: &mut Vec<u8>) {
    TERMINATOR.write(w);
}

fn read_header(r: &mut Reader<'_>) -> Result<MultiHeader> {
    let h = MultiHeader::read(r)?;
    if h.done && h != TERMINATOR {
        return Err(ProtoError::BadValue {
            what: "MultiHeader terminator type/err",
            value: h.op_type as i64,
        });
    }
    Ok(h)
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MultiRequest<'a> {
    pub ops: Vec<Request<'a>>,
}

fn allowed_in(op: OpCode, read_only: bool) -> bool {
    use OpCode::*;
    if read_only {
        matches!(op, GetChildren | GetData)
    } else {
        matches!(
            op,
            Create | Create2 | CreateTtl | CreateContainer | Delete | SetData | Check
        )
    }
}

impl<'a> MultiRequest<'a> {
    /// `read_only` selects multiRead's op set (getChildren, getData) instead of
    /// multi's (create*, delete, setData, check).
    pub fn read(r: &mut Reader<'a>, read_only: bool) -> Result<MultiRequest<'a>> {
        let context = if read_only { "multiRead" } else { "multi" };
        let mut ops = Vec::new();
        loop {
            let h = read_header(r)?;
            if h.done {
                return Ok(MultiRequest { ops });
            }
            if h.err != -1 {
                return Err(ProtoError::BadValue {
                    what: "MultiHeader.err of a request op",
                    value: h.err as i64,
                });
            }
            let op = OpCode::from_i32(h.op_type)
                .filter(|op| allowed_in(*op, read_only))
                .ok_or(ProtoError::OpNotAllowed {
                    opcode: h.op_type,
                    context,
                })?;
            ops.push(Request::read(op, r)?);
        }
    }

    pub fn write(&self, w: &mut Vec<u8>) {
        for op in &self.ops {
            MultiHeader {
                op_type: op.opcode(),
                done: false,
                err: -1,
            }
            .write(w);
            op.write(w);
        }
        write_terminator(w);
    }
}

/// One entry of a multi / multiRead reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpResult<'a> {
    Create(PathResponse<'a>),
    /// create2, createTTL and createContainer report path and stat; `op` is the
    /// type the server put in the header.
    Create2 {
        op: OpCode,
        result: Create2Response<'a>,
    },
    Delete,
    SetData(Stat),
    Check,
    GetData(GetDataResponse<'a>),
    GetChildren(GetChildrenResponse<'a>),
    /// A failed op (its code), or one not run because another failed (0 for
    /// ops before the failure, -2 after it).
    Error(i32),
}

impl<'a> OpResult<'a> {
    fn header(&self) -> MultiHeader {
        let (op_type, err) = match self {
            OpResult::Create(_) => (OpCode::Create.code(), 0),
            OpResult::Create2 { op, .. } => (op.code(), 0),
            OpResult::Delete => (OpCode::Delete.code(), 0),
            OpResult::SetData(_) => (OpCode::SetData.code(), 0),
            OpResult::Check => (OpCode::Check.code(), 0),
            OpResult::GetData(_) => (OpCode::GetData.code(), 0),
            OpResult::GetChildren(_) => (OpCode::GetChildren.code(), 0),
            OpResult::Error(e) => (ERROR_RESULT_TYPE, *e),
        };
        MultiHeader {
            op_type,
            done: false,
            err,
        }
    }

    fn read(h: MultiHeader, r: &mut Reader<'a>) -> Result<OpResult<'a>> {
        let bad = |what| ProtoError::BadValue {
            what,
            value: h.err as i64,
        };
        if h.op_type == ERROR_RESULT_TYPE {
            let body = IntResponse::read(r)?.value;
            if body != h.err {
                return Err(bad("multi error result: header err differs from body"));
            }
            return Ok(OpResult::Error(body));
        }
        if h.err != 0 {
            return Err(bad("MultiHeader.err of a successful result"));
        }
        let op = OpCode::from_i32(h.op_type).ok_or(ProtoError::OpNotAllowed {
            opcode: h.op_type,
            context: "multi result",
        })?;
        Ok(match op {
            OpCode::Create => OpResult::Create(PathResponse::read(r)?),
            OpCode::Create2 | OpCode::CreateTtl | OpCode::CreateContainer => OpResult::Create2 {
                op,
                result: Create2Response::read(r)?,
            },
            OpCode::Delete => OpResult::Delete,
            OpCode::SetData => OpResult::SetData(Stat::read(r)?),
            OpCode::Check => OpResult::Check,
            OpCode::GetData => OpResult::GetData(GetDataResponse::read(r)?),
            OpCode::GetChildren => OpResult::GetChildren(GetChildrenResponse::read(r)?),
            _ => {
                return Err(ProtoError::OpNotAllowed {
                    opcode: h.op_type,
                    context: "multi result",
                })
            }
        })
    }

    fn write_body(&self, w: &mut Vec<u8>) {
        match self {
            OpResult::Create(x) => x.write(w),
            OpResult::Create2 { result, .. } => result.write(w),
            OpResult::Delete | OpResult::Check => {}
            OpResult::SetData(s) => s.write(w),
            OpResult::GetData(x) => x.write(w),
            OpResult::GetChildren(x) => x.write(w),
            OpResult::Error(e) => IntResponse { value: *e }.write(w),
        }
    }

    /// The error code of this entry (0 for a success).
    pub fn err(&self) -> i32 {
        match self {
            OpResult::Error(e) => *e,
            _ => 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MultiResponse<'a> {
    pub results: Vec<OpResult<'a>>,
}

impl<'a> MultiResponse<'a> {
    pub fn read(r: &mut Reader<'a>) -> Result<MultiResponse<'a>> {
        let mut results = Vec::new();
        loop {
            let h = read_header(r)?;
            if h.done {
                return Ok(MultiResponse { results });
            }
            results.push(OpResult::read(h, r)?);
        }
    }

    pub fn write(&self, w: &mut Vec<u8>) {
        for res in &self.results {
            res.header().write(w);
            res.write_body(w);
        }
        write_terminator(w);
    }

    /// The first real failure of a failed multi: (index, code). ZooKeeper marks
    /// the ops it did not run with 0 (before) and -2 (after) around it.
    pub fn failure(&self) -> Option<(usize, i32)> {
        self.results.iter().enumerate().find_map(|(i, r)| match r {
            OpResult::Error(e) if *e != 0 && *e != -2 => Some((i, *e)),
            _ => None,
        })
    }

    /// Builds ZooKeeper's reply for a multi whose op `index` failed with `code`.
    pub fn failed(op_count: usize, index: usize, code: i32) -> MultiResponse<'static> {
        let results = (0..op_count)
            .map(|i| {
                OpResult::Error(match i.cmp(&index) {
                    std::cmp::Ordering::Less => 0,
                    std::cmp::Ordering::Equal => code,
                    std::cmp::Ordering::Greater => -2,
                })
            })
            .collect();
        MultiResponse { results }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_encoding() {
        let m = MultiResponse::failed(3, 1, -103);
        assert_eq!(m.failure(), Some((1, -103)));
        let bytes = {
            let mut w = Vec::new();
            m.write(&mut w);
            w
        };
        // 3 × (9-byte header + 4-byte err) + 9-byte terminator
        assert_eq!(bytes.len(), 3 * 13 + 9);
        let back = MultiResponse::read(&mut Reader::new(&bytes)).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn read_ops_are_refused_in_a_write_multi() {
        let mut w = Vec::new();
        MultiHeader {
            op_type: OpCode::GetData.code(),
            done: false,
            err: -1,
        }
        .write(&mut w);
        let e = MultiRequest::read(&mut Reader::new(&w), false).unwrap_err();
        assert!(
            matches!(e, ProtoError::OpNotAllowed { opcode: 4, .. }),
            "{e}"
        );
    }
}
