//! A one-connection fake ZooKeeper server for unit tests: it completes the
//! handshake, then treats request `k` (from 1) as `answer(k)` says. Requests
//! keep arriving while it stalls.

use std::io::{Read, Write};
use std::time::Duration;

use zkproto::{write_frame, ConnectResponse, ErrorCode, Record, ReplyHeader};

pub enum Answer {
    /// Reply at once with this code (Ok carries a Stat, as exists does).
    Now(ErrorCode),
    /// Send what is already answered, sleep, then reply Ok.
    After(Duration),
    /// Never reply.
    Never,
}

/// Listens on a loopback port; returns its address.
pub fn server(answer: impl Fn(usize) -> Answer + Send + 'static) -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let Ok((mut s, _)) = l.accept() else { return };
        let _ = s.set_nodelay(true);
        let (mut buf, mut chunk) = (Vec::new(), vec![0u8; 65536]);
        let mut seen = 0usize;
        loop {
            let n = match s.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            buf.extend_from_slice(&chunk[..n]);
            let mut out = Vec::new();
            while let Ok(Some((frame, used))) =
                zkproto::split_frame(&buf, zkproto::DEFAULT_MAX_FRAME)
            {
                let xid = i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
                let err = match (seen, answer(seen)) {
                    (0, _) => None,
                    (_, Answer::Now(code)) => Some(code),
                    (_, Answer::After(stall)) => {
                        s.write_all(&out).unwrap();
                        out.clear();
                        std::thread::sleep(stall);
                        Some(ErrorCode::OK)
                    }
                    (_, Answer::Never) => {
                        seen += 1;
                        buf.drain(..used);
                        continue;
                    }
                };
                match err {
                    None => write_frame(&mut out, |w| {
                        ConnectResponse {
                            protocol_version: 0,
                            timeout_ms: 10_000,
                            session_id: 1,
                            passwd: Some(&[0; 16]),
                            read_only: Some(false),
                        }
                        .write(w)
                    }),
                    Some(err) => write_frame(&mut out, |w| {
                        ReplyHeader { xid, zxid: 1, err }.write(w);
                        if err.is_ok() {
                            w.extend_from_slice(&[0; 68]); // a Stat
                        }
                    }),
                }
                seen += 1;
                buf.drain(..used);
            }
            if s.write_all(&out).is_err() {
                return;
            }
        }
    });
    addr
}
