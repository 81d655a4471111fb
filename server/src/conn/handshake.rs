//! The ConnectRequest: a new session goes through the log before it is
//! answered; a reconnect is checked against the replicated session table.
//! Frames pipelined behind the connect wait in the input buffer until the
//! session exists, then run in order.

use std::sync::atomic::Ordering;
use std::time::Instant;

use zkproto::event::{Level, SessionId};
use zkproto::{ConnectRequest, ErrorCode, OpCode, Record};

use super::{reply, Conn, Session};
use crate::db::ConnMsg;
use crate::session::new_password;
use crate::tree::Op;

/// A connect waiting for its createSession to be applied.
pub struct Pending {
    pub cxid: i32,
    session: i64,
    timeout_ms: i32,
    passwd: Vec<u8>,
    started: Instant,
}

impl Conn {
    pub(super) fn on_connect(&mut self, frame: &[u8]) {
        let req = match ConnectRequest::read(&mut zkproto::Reader::new(frame)) {
            Ok(r) => r,
            Err(e) => {
                self.bad_input(&format!("bad ConnectRequest: {e}"));
                return;
            }
        };
        let applied = self.applied_zxid();
        if req.last_zxid_seen > applied {
            // The client has seen a newer state than ours: it must try a
            // member that has caught up.
            let msg = format!(
                "client has seen zxid {:#x}, this member only {applied:#x}",
                req.last_zxid_seen
            );
            self.sh.db.emit_local("session.refused", Level::Warn, |ev| {
                ev.client = Some(self.addr.to_string());
                ev.session = Some(SessionId(req.session_id));
                ev.msg = Some(msg.clone());
            });
            self.close(msg);
            return;
        }
        let l = &self.sh.limits;
        let timeout_ms = req
            .timeout_ms
            .clamp(l.min_session_timeout_ms, l.max_session_timeout_ms);
        if req.session_id == 0 {
            self.new_session(timeout_ms);
        } else {
            self.reconnect(&req, timeout_ms);
        }
    }

    fn new_session(&mut self, timeout_ms: i32) {
        let session = self
            .sh
            .ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .allocate();
        let passwd = new_password();
        // cxid 0 marks the createSession; a client's own xids start at 1.
        let cxid = 0;
        let op = Op::CreateSession {
            session,
            timeout_ms,
            passwd: passwd.clone(),
        };
        let txn = self.client_txn(op, session, cxid, OpCode::CreateSession, None);
        self.to_submit.push((txn, cxid));
        self.connecting = Some(Pending {
            cxid,
            session,
            timeout_ms,
            passwd,
            started: Instant::now(),
        });
    }

    /// The createSession was applied here.
    pub(super) fn connected(&mut self, p: Pending, code: ErrorCode) {
        if !code.is_ok() {
            self.close(format!("createSession failed: {code}"));
            return;
        }
        let bytes = reply::connect(p.timeout_ms, p.session, &p.passwd);
        self.bind(p.session, p.timeout_ms);
        self.send(&bytes);
        self.sh
            .db
            .emit_local("session.connected", Level::Info, |ev| {
                ev.client = Some(self.addr.to_string());
                ev.session = Some(SessionId(p.session));
                ev.latency_us = Some(p.started.elapsed().as_micros() as u64);
                ev.detail = Some(serde_json::json!({ "timeout_ms": p.timeout_ms, "new": true }));
            });
        // Frames that arrived behind the connect run now.
        if let Err(e) = self.on_input() {
            self.close(format!("i/o error: {e}"));
        }
    }

    fn bind(&mut self, session: i64, timeout_ms: i32) {
        self.session = Some(Session { id: session });
        self.stats.timeout_ms.store(timeout_ms, Ordering::Relaxed);
        let mut st = self.sh.db.lock();
        // One live connection per session on this member: an older one is
        // stale (its client moved on), as ZooKeeper closes it.
        let stale: Vec<u64> = st
            .conns
            .iter()
            .filter(|(id, c)| **id != self.id && c.session == session)
            .map(|(id, _)| *id)
            .collect();
        for id in stale {
            if let Some(c) = st.conns.get(&id) {
                let _ = c.tx.send(ConnMsg::SessionClosed { expired: false });
            }
        }
        if let Some(c) = st.conns.get_mut(&self.id) {
            c.session = session;
        }
        self.sh.db.sessions().touch(session, Instant::now());
    }

    fn reconnect(&mut self, req: &ConnectRequest<'_>, timeout_ms: i32) {
        let known = {
            let st = self.sh.db.lock();
            st.rep
                .tree
                .session(req.session_id)
                .map(|s| s.passwd == req.passwd.unwrap_or_default())
        };
        match known {
            Some(true) => {
                let bytes =
                    reply::connect(timeout_ms, req.session_id, req.passwd.unwrap_or_default());
                self.bind(req.session_id, timeout_ms);
                self.send(&bytes);
                self.sh
                    .db
                    .emit_local("session.connected", Level::Info, |ev| {
                        ev.client = Some(self.addr.to_string());
                        ev.session = Some(SessionId(req.session_id));
                        ev.detail =
                            Some(serde_json::json!({ "timeout_ms": timeout_ms, "new": false }));
                    });
            }
            other => {
                let why = if other.is_none() {
                    "session expired or unknown"
                } else {
                    "wrong session password"
                };
                self.send(&reply::session_expired());
                self.sh
                    .db
                    .stats
                    .connections_refused
                    .fetch_add(1, Ordering::Relaxed);
                self.sh
                    .db
                    .emit_local("session.rejected", Level::Info, |ev| {
                        ev.client = Some(self.addr.to_string());
                        ev.session = Some(SessionId(req.session_id));
                        ev.msg = Some(why.into());
                    });
                self.close(why);
            }
        }
    }
}
