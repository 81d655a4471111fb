//! One task per client connection: frames in, replies out in request order,
//! watch notifications as they fire.
//!
//! Reads are answered from this member's tree once every earlier request of
//! the connection has been answered (so a read sees the session's own
//! writes); writes are proposed to Raft in arrival order and answered when
//! this member applies them. Nothing here blocks on the socket: replies
//! queue in memory up to a bound, and a client that stops reading is
//! disconnected when it passes that bound.

mod handshake;
pub mod reads;
pub mod reply;
pub mod writes;

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;
use tokio::io::Interest;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use zkproto::event::{Level, SessionId};
use zkproto::{xid, ErrorCode, FourLetterWord, OpCode, Request, RequestFrame, Response};

use crate::db::{ConnId, ConnMsg, Db};
use crate::raft::proposer::Proposer;
use crate::raft::{Cause, Origin, Raft, Txn};
use crate::session::SessionIds;
use crate::tree::Caller;
use writes::Planned;

/// What a connection may do, from the configuration.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request frame (jute.maxbuffer plus ZooKeeper's slack).
    pub max_frame: usize,
    pub min_session_timeout_ms: i32,
    pub max_session_timeout_ms: i32,
    /// Requests in flight per connection before we stop reading from it.
    pub max_outstanding: usize,
    /// Reply bytes queued for a client that does not read before we drop it.
    pub max_queued_bytes: usize,
    /// How long a connection may stay without a session.
    pub handshake_timeout: Duration,
    /// zoo.cfg enforceQuota: hard quota limits refuse writes.
    pub enforce_quota: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame: 1_048_575,
            min_session_timeout_ms: 4000,
            max_session_timeout_ms: 40000,
            max_outstanding: 1000,
            max_queued_bytes: 64 << 20,
            handshake_timeout: Duration::from_secs(10),
            enforce_quota: false,
        }
    }
}

/// Answers a four-letter word; provided by the server, which knows the
/// whole member.
pub type FourLetterFn = dyn Fn(FourLetterWord) -> Option<String> + Send + Sync;

/// What every connection task shares.
pub struct Shared {
    pub db: Arc<Db>,
    pub raft: Raft,
    /// Every write goes to Raft through it, batched.
    pub proposer: Proposer,
    pub limits: Limits,
    pub ids: Mutex<SessionIds>,
    pub four_letter: Box<FourLetterFn>,
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// One reply slot, in request order.
enum Slot {
    Ready(Vec<u8>),
    /// A write, answered when this member applies it. `txn` is held back
    /// while a read before it is unanswered: that read must not see it.
    Write {
        cxid: i32,
        opcode: OpCode,
        multi_ops: Vec<OpCode>,
        started: Instant,
        txn: Option<Txn>,
    },
    /// A read waiting for the writes before it.
    Read {
        frame: Vec<u8>,
        started: Instant,
    },
}

#[derive(Debug, Clone, Copy)]
struct Session {
    id: i64,
}

struct Conn {
    sh: Arc<Shared>,
    id: ConnId,
    addr: SocketAddr,
    stream: TcpStream,
    rx: mpsc::UnboundedReceiver<ConnMsg>,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    queue: VecDeque<Slot>,
    session: Option<Session>,
    /// The connect is waiting for its createSession to apply.
    connecting: Option<handshake::Pending>,
    auth: crate::acl::AuthInfo,
    /// Set when the connection should end once `out` is written.
    closing: Option<String>,
    received: u64,
    sent: u64,
    /// Writes to hand to Raft, in arrival order, after this round of input.
    to_submit: Vec<(Txn, i32)>,
    stats: Arc<crate::stats::ConnStats>,
    /// The sender the state machine uses to reach us, for failures.
    self_tx: mpsc::UnboundedSender<ConnMsg>,
}

/// Serves one accepted connection until it closes.
pub async fn serve(
    sh: Arc<Shared>,
    stream: TcpStream,
    addr: SocketAddr,
    mut stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let (tx, rx) = mpsc::unbounded_channel();
    let stats = Arc::new(crate::stats::ConnStats::default());
    stats
        .established_ms
        .store(now_ms(), std::sync::atomic::Ordering::Relaxed);
    let id = sh.db.register_conn(addr, tx.clone(), stats.clone());
    sh.db.emit_local("conn.opened", Level::Debug, |ev| {
        ev.client = Some(addr.to_string());
    });
    let mut c = Conn {
        auth: crate::acl::AuthInfo::new(addr.ip()),
        sh: sh.clone(),
        id,
        addr,
        stream,
        rx,
        inbuf: Vec::with_capacity(4096),
        out: Vec::with_capacity(4096),
        queue: VecDeque::new(),
        session: None,
        connecting: None,
        closing: None,
        received: 0,
        sent: 0,
        to_submit: Vec::new(),
        self_tx: tx,
        stats,
    };
    let reason = match c.run(&mut stop).await {
        Ok(r) => r,
        Err(e) => format!("i/o error: {e}"),
    };
    let outstanding = c.queue.len() as i64;
    sh.db
        .stats
        .outstanding
        .fetch_sub(outstanding, std::sync::atomic::Ordering::Relaxed);
    sh.db.unregister_conn(id);
    let session = c.session.map(|s| s.id);
    sh.db.emit_local("conn.closed", Level::Info, |ev| {
        ev.client = Some(addr.to_string());
        ev.session = session.map(SessionId);
        ev.msg = Some(reason);
        ev.detail = Some(json!({ "received": c.received, "sent": c.sent }));
    });
}

impl Conn {
    async fn run(&mut self, stop: &mut watch::Receiver<bool>) -> io::Result<String> {
        let opened = Instant::now();
        loop {
            if !self.to_submit.is_empty() {
                let txns = std::mem::take(&mut self.to_submit);
                submit_all(&self.sh, &self.self_tx, txns);
            }
            if let Some(reason) = &self.closing {
                if self.out.is_empty() {
                    let reason = reason.clone();
                    self.linger().await;
                    return Ok(reason);
                }
            }
            self.stats.queued.store(
                self.queue.len() as u64,
                std::sync::atomic::Ordering::Relaxed,
            );
            if self.out.len() > self.sh.limits.max_queued_bytes {
                self.sh
                    .db
                    .emit_local("conn.slow_reader", Level::Warn, |ev| {
                        ev.client = Some(self.addr.to_string());
                        ev.session = self.session.map(|s| SessionId(s.id));
                        ev.detail = Some(json!({ "queued_bytes": self.out.len() }));
                    });
                return Ok("client does not read its replies".into());
            }
            let can_read = self.closing.is_none()
                && self.connecting.is_none()
                && self.queue.len() < self.sh.limits.max_outstanding;
            // Only a connection without a session yet times out here; once
            // it has one, the session's expiry closes it. (A disabled
            // branch's sleep is never polled, so never enters the timer.)
            let idle = opened + self.sh.limits.handshake_timeout;
            tokio::select! {
                r = self.stream.readable(), if can_read => {
                    r?;
                    match self.read_input() {
                        // Bytes of an unfinished frame say the client (or
                        // the network) broke off mid-request.
                        Ok(0) if !self.inbuf.is_empty() => {
                            return Ok(format!(
                                "client closed the connection mid-frame ({} bytes unread)",
                                self.inbuf.len()
                            ))
                        }
                        Ok(0) => return Ok("client closed the connection".into()),
                        Ok(_) => self.on_input()?,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(e) => return Err(e),
                    }
                }
                r = self.stream.writable(), if !self.out.is_empty() => {
                    r?;
                    match self.stream.try_write(&self.out) {
                        Ok(n) => { self.out.drain(..n); }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(e) => return Err(e),
                    }
                }
                m = self.rx.recv() => {
                    if let Some(m) = m {
                        self.on_msg(m);
                        while let Ok(m) = self.rx.try_recv() {
                            self.on_msg(m);
                        }
                        self.pump();
                    }
                }
                _ = tokio::time::sleep_until(idle.into()), if self.session.is_none() => {
                    return Ok("no session established in time".into());
                }
                _ = stop.changed() => {
                    self.flush_best_effort().await;
                    return Ok("server shutting down".into());
                }
            }
        }
    }

    /// Reads what the socket holds into `inbuf`.
    ///
    /// A read shorter than the room it had took everything there was, so
    /// the next one would only say WouldBlock: a syscall per request for
    /// nothing. The readiness is forgotten instead, from a snapshot taken
    /// before the read: bytes arriving after that snapshot bring a newer
    /// readiness, which the clearing leaves alone.
    fn read_input(&mut self) -> io::Result<usize> {
        let room = self.inbuf.capacity() - self.inbuf.len();
        let mut got = None;
        let _ = self.stream.try_io(Interest::READABLE, || {
            let r = self.stream.try_read_buf(&mut self.inbuf);
            let drained = matches!(r, Ok(n) if n > 0 && n < room);
            got = Some(r);
            if drained {
                Err(io::ErrorKind::WouldBlock.into())
            } else {
                Ok(())
            }
        });
        got.unwrap_or_else(|| Err(io::ErrorKind::WouldBlock.into()))
    }

    /// Closing on our side: send FIN, then read and discard what the client
    /// is still sending for a moment, so that it sees an orderly close (and
    /// reads our last reply) instead of a reset.
    async fn linger(&mut self) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let _ = self.stream.shutdown().await;
        let mut scratch = vec![0u8; 64 * 1024];
        let mut left: usize = 8 << 20;
        let _ = tokio::time::timeout(Duration::from_millis(500), async {
            while left > 0 {
                match self.stream.read(&mut scratch).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => left = left.saturating_sub(n),
                }
            }
        })
        .await;
    }

    /// On shutdown: give queued replies a moment to leave.
    async fn flush_best_effort(&mut self) {
        use tokio::io::AsyncWriteExt;
        let _ = tokio::time::timeout(Duration::from_millis(200), self.stream.write_all(&self.out))
            .await;
        self.out.clear();
    }

    fn close(&mut self, reason: impl Into<String>) {
        if self.closing.is_none() {
            self.closing = Some(reason.into());
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
        self.sent += 1;
        self.stats
            .sent
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.sh
            .db
            .stats
            .packets_sent
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Parses every complete frame in the input buffer.
    fn on_input(&mut self) -> io::Result<()> {
        if self.session.is_none() && self.connecting.is_none() && self.received == 0 {
            if let Some(word) = FourLetterWord::detect(&self.inbuf) {
                self.four_letter(word);
                return Ok(());
            }
        }
        let mut used = 0;
        loop {
            if self.closing.is_some() || self.connecting.is_some() {
                break;
            }
            if self.queue.len() >= self.sh.limits.max_outstanding {
                self.sh
                    .db
                    .stats
                    .throttled
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                break;
            }
            let frame = match zkproto::split_frame(&self.inbuf[used..], self.sh.limits.max_frame) {
                Ok(Some((f, n))) => {
                    let f = f.to_vec();
                    used += n;
                    f
                }
                Ok(None) => break,
                Err(e) => {
                    self.bad_input(&format!("bad frame: {e}"));
                    break;
                }
            };
            self.received += 1;
            self.stats
                .received
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.sh
                .db
                .stats
                .packets_received
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if self.session.is_none() {
                self.on_connect(&frame);
            } else {
                self.on_request(frame);
            }
        }
        self.inbuf.drain(..used);
        self.pump();
        Ok(())
    }

    fn bad_input(&mut self, what: &str) {
        self.sh.db.emit_local("conn.bad_input", Level::Warn, |ev| {
            ev.client = Some(self.addr.to_string());
            ev.session = self.session.map(|s| SessionId(s.id));
            ev.msg = Some(what.to_string());
        });
        self.close(what.to_string());
    }

    fn four_letter(&mut self, word: FourLetterWord) {
        let text = (self.sh.four_letter)(word);
        self.sh.db.emit_local("fourlw", Level::Info, |ev| {
            ev.client = Some(self.addr.to_string());
            ev.op = Some(word.as_str().to_string());
            ev.result = Some(if text.is_some() { "ok" } else { "refused" }.into());
        });
        if let Some(t) = text {
            self.out.extend_from_slice(t.as_bytes());
        }
        self.inbuf.clear();
        self.close(format!("four-letter word {}", word.as_str()));
    }

    fn touch(&self) {
        if let Some(s) = self.session {
            self.sh.db.sessions().touch(s.id, Instant::now());
        }
    }

    fn on_request(&mut self, frame: Vec<u8>) {
        self.touch();
        let started = Instant::now();
        let decoded = RequestFrame::decode(&frame);
        let rf = match decoded {
            Ok(rf) => rf,
            Err(e) => {
                let msg = format!("undecodable request: {e}");
                self.bad_input(&msg);
                return;
            }
        };
        let xid_ = rf.xid;
        let session = self.session.map(|s| s.id).unwrap_or(0);
        self.sh
            .db
            .stats
            .outstanding
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let req = &rf.request;
        match req {
            Request::Auth(a) => match self.auth.add_auth(a.scheme, a.auth.unwrap_or_default()) {
                Ok(()) => {
                    self.sh
                        .db
                        .lock()
                        .conns
                        .entry(self.id)
                        .and_modify(|c| c.auth = self.auth.clone());
                    self.answer_here(req, xid::AUTH, ErrorCode::OK, None, started);
                }
                Err(_) => {
                    self.answer_here(req, xid::AUTH, ErrorCode::AUTH_FAILED, None, started);
                    self.close("authentication failed");
                }
            },
            r if reads::is_read(r) => {
                if self.queue.is_empty() {
                    // Nothing before it: answer now, from this decoding.
                    self.drain_msgs();
                    self.read(r, xid_, started);
                } else {
                    self.queue.push_back(Slot::Read { frame, started });
                }
            }
            Request::Reconfig(_) => {
                self.answer_here(req, xid_, ErrorCode::RECONFIG_DISABLED, None, started)
            }
            Request::Sasl(_) => {
                self.answer_here(req, xid_, ErrorCode::UNIMPLEMENTED, None, started)
            }
            Request::Unknown { opcode, .. } => {
                let op = *opcode;
                self.answer_here(req, xid_, ErrorCode::UNIMPLEMENTED, None, started);
                self.close(format!("unknown opcode {op}"));
            }
            Request::CreateSession(_) | Request::DeleteContainer { .. } => {
                self.sh
                    .db
                    .stats
                    .outstanding
                    .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
                self.bad_input("a server-internal opcode from a client");
            }
            r => {
                let opcode = r.op().unwrap_or(OpCode::Create);
                match writes::plan(r, session, &self.auth) {
                    Planned::Op { op, multi_ops } => {
                        self.propose(op, xid_, opcode, multi_ops, started);
                    }
                    Planned::Rejected(code) => self.answer_here(req, xid_, code, None, started),
                    Planned::RejectedMulti(m) => {
                        let code = m
                            .failure()
                            .map(|(_, c)| ErrorCode(c))
                            .unwrap_or(ErrorCode::OK);
                        self.answer_here(req, xid_, code, Some(Response::Multi(m)), started);
                    }
                }
            }
        }
    }

    /// A request answered without the log or the tree: queued in order,
    /// counted, and logged as a `request` event.
    fn answer_here(
        &mut self,
        req: &Request<'_>,
        xid_: i32,
        code: ErrorCode,
        body: Option<Response<'_>>,
        started: Instant,
    ) {
        let zxid = self.applied_zxid();
        let bytes = match &body {
            Some(b) => reply::frame(xid_, zxid, ErrorCode::OK, b),
            None => reply::error(xid_, zxid, code),
        };
        self.queue.push_back(Slot::Ready(bytes));
        self.record(started, req.opcode(), xid_, zxid);
        self.event_request(req, xid_, code, started);
    }

    fn applied_zxid(&self) -> i64 {
        self.sh.db.lock().applied_zxid()
    }

    fn propose(
        &mut self,
        op: crate::tree::Op,
        cxid: i32,
        opcode: OpCode,
        multi_ops: Vec<OpCode>,
        started: Instant,
    ) {
        let session = self.session.map(|s| s.id).unwrap_or(0);
        let caller = Caller {
            ids: self.auth.ids().to_vec(),
            superuser: self.auth.is_super(self.sh.db.super_digest.as_deref()),
            enforce_quota: self.sh.limits.enforce_quota,
        };
        let txn = self.client_txn(op, session, cxid, opcode, Some(caller));
        self.queue.push_back(Slot::Write {
            cxid,
            opcode,
            multi_ops,
            started,
            txn: Some(txn),
        });
    }

    /// A client's write for Raft, tagged so that this member routes the
    /// reply back here when it applies the entry.
    fn client_txn(
        &self,
        op: crate::tree::Op,
        session: i64,
        cxid: i32,
        opcode: OpCode,
        caller: Option<Caller>,
    ) -> Txn {
        Txn {
            op,
            time_ms: now_ms(),
            cause: Cause::Client,
            origin: Some(Origin {
                node: self.sh.db.node,
                conn: self.id,
                session,
                cxid,
                opcode: opcode.code(),
            }),
            caller,
        }
    }

    fn on_msg(&mut self, m: ConnMsg) {
        match m {
            ConnMsg::Notify { event, path, zxid } => {
                let f = reply::notification(event.0, &path, zxid);
                self.send(&f);
            }
            ConnMsg::Applied {
                cxid,
                zxid,
                applied,
            } => {
                if let Some(p) = self.connecting.take() {
                    if p.cxid == cxid {
                        self.connected(p, applied.code);
                        return;
                    }
                    self.connecting = Some(p);
                }
                let Some(pos) = self
                    .queue
                    .iter()
                    .position(|s| matches!(s, Slot::Write { cxid: c, .. } if *c == cxid))
                else {
                    return;
                };
                if let Slot::Write {
                    opcode,
                    multi_ops,
                    started,
                    ..
                } = &self.queue[pos]
                {
                    let bytes = reply::applied(cxid, zxid, *opcode, multi_ops, &applied);
                    let code = applied
                        .multi_failure()
                        .map(|(_, c)| ErrorCode(c))
                        .unwrap_or(applied.code);
                    self.record(*started, opcode.code(), cxid, zxid);
                    self.event_write(*opcode, cxid, zxid, code, *started, applied.path.as_deref());
                    if *opcode == OpCode::CloseSession {
                        self.close("session closed by the client");
                    }
                    self.queue[pos] = Slot::Ready(bytes);
                }
            }
            ConnMsg::SessionClosed { expired } => {
                if self.closing.is_none() {
                    if expired {
                        self.close("session expired");
                    } else {
                        self.close("session closed");
                    }
                }
            }
            ConnMsg::Failed { cxid, reason } => {
                if let Some(p) = &self.connecting {
                    if p.cxid == cxid {
                        self.close(format!("cannot create the session: {reason}"));
                        return;
                    }
                }
                // Without a leader the client must go elsewhere, as
                // ZooKeeper drops connections of a member that lost quorum.
                self.close(format!("write not accepted: {reason}"));
            }
        }
    }

    fn record(&self, started: Instant, op: i32, cxid: i32, zxid: i64) {
        let us = started.elapsed().as_micros() as u64;
        self.sh.db.stats.record_latency(us);
        self.stats
            .record_response(op, cxid, zxid, now_ms(), us / 1000);
        self.sh
            .db
            .stats
            .outstanding
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Moves answered slots to the output, answering reads that reached the
    /// front.
    fn pump(&mut self) {
        loop {
            match self.queue.front() {
                Some(Slot::Ready(_)) => {
                    if let Some(Slot::Ready(b)) = self.queue.pop_front() {
                        self.send(&b);
                    }
                }
                Some(Slot::Read { .. }) => {
                    self.drain_msgs();
                    if let Some(Slot::Read { frame, started }) = self.queue.pop_front() {
                        if let Ok(rf) = RequestFrame::decode(&frame) {
                            self.read(&rf.request, rf.xid, started);
                        }
                    }
                }
                _ => break,
            }
        }
        // Writes go to Raft in arrival order, but none ahead of a read that
        // is still waiting: ZooKeeper answers a session's requests in
        // order, so a read sees exactly the writes sent before it.
        let Conn {
            queue, to_submit, ..
        } = self;
        for slot in queue.iter_mut() {
            match slot {
                Slot::Read { .. } => break,
                Slot::Write { txn, cxid, .. } => {
                    if let Some(t) = txn.take() {
                        to_submit.push((t, *cxid));
                    }
                }
                Slot::Ready(_) => {}
            }
        }
    }

    /// Takes what the state machine sent so far: notifications already
    /// fired must reach the client before data that shows their change.
    fn drain_msgs(&mut self) {
        while let Ok(m) = self.rx.try_recv() {
            self.on_msg(m);
        }
    }

    fn read(&mut self, req: &Request<'_>, xid_: i32, started: Instant) {
        let who = reads::Reader {
            conn: self.id,
            session: self.session.map(|s| s.id).unwrap_or(0),
            auth: &self.auth,
            super_digest: self.sh.db.super_digest.as_deref(),
        };
        let (notes, bytes) = {
            let mut st = self.sh.db.lock();
            let notes = reads::set_watches(&mut st, self.id, req);
            (notes, reads::answer(&mut st, &who, xid_, req))
        };
        for n in notes {
            self.send(&n);
        }
        let header = zkproto::ReplyFrame::peek_header(&bytes[4..]).ok();
        let code = header.map(|h| h.err).unwrap_or(ErrorCode::OK);
        self.send(&bytes);
        self.record(
            started,
            req.opcode(),
            xid_,
            header.map(|h| h.zxid).unwrap_or(0),
        );
        if !matches!(req, Request::Ping) {
            self.event_request(req, xid_, code, started);
        }
    }

    fn event_request(&self, req: &Request<'_>, xid_: i32, code: ErrorCode, started: Instant) {
        let level = if code.is_ok() {
            Level::Debug
        } else {
            Level::Info
        };
        self.sh.db.emit_local("request", level, |ev| {
            ev.client = Some(self.addr.to_string());
            ev.session = self.session.map(|s| SessionId(s.id));
            ev.xid = Some(xid_);
            ev.op = req.op().map(|o| o.name().to_string());
            ev.path = req.path().map(str::to_string);
            ev.result = Some(code.to_string());
            ev.latency_us = Some(started.elapsed().as_micros() as u64);
        });
    }

    fn event_write(
        &self,
        op: OpCode,
        cxid: i32,
        zxid: i64,
        code: ErrorCode,
        started: Instant,
        path: Option<&str>,
    ) {
        // txn.applied already records every write; the reply adds the
        // client's view (address, latency), worth a line by default only
        // when the write failed.
        let level = if code.is_ok() {
            Level::Debug
        } else {
            Level::Info
        };
        if !self.sh.db.events.enabled(level) {
            return;
        }
        let mut ev = self.sh.db.txn_event(zxid, "reply", level);
        ev.client = Some(self.addr.to_string());
        ev.session = self.session.map(|s| SessionId(s.id));
        ev.xid = Some(cxid);
        ev.op = Some(op.name().to_string());
        ev.path = path.map(str::to_string);
        ev.result = Some(code.to_string());
        ev.latency_us = Some(started.elapsed().as_micros() as u64);
        self.sh.db.events.emit(ev);
    }
}

/// Hands queued writes to the proposer, in order; the reply comes from the
/// apply path, so only a failure comes back here.
fn submit_all(sh: &Shared, tx: &mpsc::UnboundedSender<ConnMsg>, txns: Vec<(Txn, i32)>) {
    for (txn, cxid) in txns {
        let tx = tx.clone();
        sh.proposer.propose(
            txn,
            Some(Box::new(move |reason| {
                let _ = tx.send(ConnMsg::Failed { cxid, reason });
            })),
        );
    }
}
