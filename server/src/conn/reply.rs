//! Reply frames: header plus body, length-prefixed, ready to write.

use zkproto::{
    write_frame, xid, Create2Response, ErrorCode, JuteWrite, MultiResponse, OpCode, PathResponse,
    Record, ReplyHeader, Response, WatcherEvent,
};

use crate::tree::{Applied, MultiOpResult};

/// A whole reply frame.
pub fn frame(xid: i32, zxid: i64, err: ErrorCode, body: &Response<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    write_frame(&mut out, |w| {
        ReplyHeader { xid, zxid, err }.write(w);
        if err.is_ok() {
            body.write(w);
        }
    });
    out
}

pub fn error(xid: i32, zxid: i64, err: ErrorCode) -> Vec<u8> {
    frame(xid, zxid, err, &Response::Empty)
}

/// KeeperState SyncConnected: the state every notification to a live
/// session carries.
const SYNC_CONNECTED: i32 = 3;

pub fn notification(event: i32, path: &str, zxid: i64) -> Vec<u8> {
    frame(
        xid::NOTIFICATION,
        zxid,
        ErrorCode::OK,
        &Response::Notification(WatcherEvent {
            event_type: event,
            state: SYNC_CONNECTED,
            path,
        }),
    )
}

/// The reply to a write this member applied. `opcode` is what the client
/// sent; `multi_ops` the opcodes inside a multi (a create answers with a
/// path, create2 and friends with a stat too).
pub fn applied(xid: i32, zxid: i64, opcode: OpCode, multi_ops: &[OpCode], a: &Applied) -> Vec<u8> {
    if !a.code.is_ok() {
        return error(xid, zxid, a.code);
    }
    let path = a.path.as_deref().unwrap_or("");
    let stat = a.stat.unwrap_or_default();
    match opcode {
        OpCode::Create => frame(xid, zxid, a.code, &Response::Create(PathResponse { path })),
        OpCode::Create2 | OpCode::CreateTtl | OpCode::CreateContainer => frame(
            xid,
            zxid,
            a.code,
            &Response::Create2(Create2Response { path, stat }),
        ),
        OpCode::SetData | OpCode::SetAcl => frame(xid, zxid, a.code, &Response::Stat(stat)),
        OpCode::Multi => {
            let results = a.multi.as_deref().unwrap_or(&[]);
            let results = results
                .iter()
                .enumerate()
                .map(|(i, r): (usize, &MultiOpResult)| {
                    r.to_proto(multi_ops.get(i).copied().unwrap_or(OpCode::Create))
                })
                .collect();
            frame(
                xid,
                zxid,
                a.code,
                &Response::Multi(MultiResponse { results }),
            )
        }
        _ => frame(xid, zxid, a.code, &Response::Empty),
    }
}

/// The ConnectResponse frame; ZooKeeper always appends the readOnly flag.
pub fn connect(timeout_ms: i32, session: i64, passwd: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(48);
    write_frame(&mut out, |w| {
        zkproto::ConnectResponse {
            protocol_version: 0,
            timeout_ms,
            session_id: session,
            passwd: Some(passwd),
            read_only: Some(false),
        }
        .write(w)
    });
    out
}

/// Expired or unknown session: timeout 0 and a zeroed password, after
/// which the server closes the connection.
pub fn session_expired() -> Vec<u8> {
    connect(0, 0, &[0u8; 16])
}

/// The addWatch reply body is a bare int.
pub fn int_body(v: i32) -> Vec<u8> {
    let mut b = Vec::with_capacity(4);
    b.put_i32(v);
    b
}
