//! A small asynchronous ZooKeeper client on zkproto, made for measuring: every
//! reply carries when its request was sent and when the reply arrived, pings
//! are explicit, and the socket can be dropped silently to test expiry.
//!
//! One task owns the socket (as mini-redis does): callers send encoded
//! requests over a channel and get the reply frame back on a oneshot. A
//! [`Handle`] (cloneable, usable from a plain thread) sends without waiting,
//! so many requests can be in flight on one session.
//!
//! Every [`Client`] request is bounded by [`ConnectOptions::op_timeout`]; the
//! typed helpers ([`Client::exists`], [`Client::create`], …) return the raw
//! [`Reply`], and [`Reply::into_ok`] turns a non-Ok one into an error naming
//! the op and path.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use zkproto::{
    perms, write_frame, xid, Acl, AddWatchMode, AddWatchRequest, ConnectRequest, ConnectResponse,
    CreateMode, CreateRequest, DeleteRequest, ErrorCode, EventType, OpCode, PathRequest,
    PathWatchRequest, Record, ReplyFrame, ReplyHeader, Request, RequestFrame, Response,
    SetDataRequest, WatcherEvent,
};

use crate::error::{Error, Result};

#[cfg(test)]
pub(crate) mod fake;

/// A reply and its timing. The frame is kept whole; the body is decoded on
/// demand because it borrows from it. The request it answers is kept too
/// (encoded, as sent), so an error can name its path.
#[derive(Debug)]
pub struct Reply {
    pub header: ReplyHeader,
    pub op: OpCode,
    frame: Vec<u8>,
    addr: Arc<str>,
    request: Vec<u8>,
    pub sent: Instant,
    pub received: Instant,
}

impl Reply {
    pub fn rtt(&self) -> Duration {
        self.received.saturating_duration_since(self.sent)
    }

    pub fn err(&self) -> ErrorCode {
        self.header.err
    }

    pub fn body(&self) -> zkproto::Result<Response<'_>> {
        ReplyFrame::decode(&self.frame, Some(self.op)).map(|f| f.body)
    }

    /// The server that answered.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The path of the request this answers, if it has one.
    pub fn path(&self) -> Option<&str> {
        let body = self.request.get(4..)?;
        RequestFrame::decode(body).ok()?.request.path()
    }

    /// The reply if its error code is Ok; otherwise [`Error::Keeper`] naming
    /// the server, op and path.
    pub fn into_ok(self) -> Result<Reply> {
        if self.err().is_ok() {
            Ok(self)
        } else {
            Err(Error::Keeper {
                addr: self.addr.to_string(),
                op: self.op.name().to_string(),
                path: self.path().unwrap_or("").to_string(),
                code: self.err(),
            })
        }
    }
}

/// `f`, or [`Error::Timeout`] (`addr`: no answer to `what` within `after`).
pub async fn within<T>(
    after: Duration,
    what: &str,
    addr: &str,
    f: impl Future<Output = Result<T>>,
) -> Result<T> {
    tokio::time::timeout(after, f)
        .await
        .map_err(|_| Error::Timeout {
            addr: addr.into(),
            what: what.into(),
            after,
        })?
}

#[derive(Debug, Clone)]
pub struct Notification {
    pub event_type: EventType,
    pub path: String,
    /// The zxid of the transaction that fired it (3.9 servers; -1 before).
    pub zxid: i64,
    pub received: Instant,
}

#[derive(Debug, Clone)]
pub struct Handshake {
    pub session_id: i64,
    pub passwd: Vec<u8>,
    /// The timeout the server granted.
    pub timeout_ms: i32,
    pub read_only: Option<bool>,
    /// When the TCP connect began.
    pub started: Instant,
    pub tcp_connect: Duration,
    /// ConnectRequest sent → ConnectResponse received.
    pub handshake: Duration,
}

#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub timeout_ms: i32,
    pub connect_timeout: Duration,
    /// Bound on each request's reply ([`Client::call`] and all built on it).
    pub op_timeout: Duration,
    /// Resume this session (id, password) instead of creating one.
    pub resume: Option<(i64, Vec<u8>)>,
    /// Send pings on our own when idle for a third of the session timeout.
    pub auto_ping: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            timeout_ms: 10_000,
            connect_timeout: Duration::from_secs(5),
            op_timeout: Duration::from_secs(5),
            resume: None,
            auto_ping: true,
        }
    }
}

enum Command {
    Call {
        op: OpCode,
        bytes: Vec<u8>,
        xid: i32,
        reply: oneshot::Sender<Result<Reply>>,
    },
    /// Drop the socket without closing the session.
    Abort,
}

pub struct Client {
    handle: Handle,
    notifications: mpsc::UnboundedReceiver<Notification>,
    op_timeout: Duration,
    pub handshake: Handshake,
}

/// Sends requests on a client's session without waiting for replies. Clones
/// share the session; ZooKeeper answers one session's requests in order.
#[derive(Clone)]
pub struct Handle {
    addr: Arc<str>,
    tx: mpsc::Sender<Command>,
    next_xid: Arc<AtomicI32>,
}

/// A reply still to come; await it (unbounded) or bound the wait with
/// [`Pending::within`].
pub struct Pending {
    rx: oneshot::Receiver<Result<Reply>>,
    addr: Arc<str>,
    op: OpCode,
}

impl Pending {
    /// The reply, or [`Error::Timeout`] naming the op if it takes longer
    /// than `after` from now.
    pub async fn within(self, after: Duration) -> Result<Reply> {
        let addr = self.addr.clone();
        within(after, self.op.name(), &addr, self).await
    }
}

impl Future for Pending {
    type Output = Result<Reply>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let addr = self.addr.clone();
        Pin::new(&mut self.rx).poll(cx).map(|r| {
            r.unwrap_or_else(|_| {
                Err(Error::Closed {
                    addr: addr.to_string(),
                    pending: 0,
                })
            })
        })
    }
}

impl Handle {
    pub fn addr(&self) -> &str {
        &self.addr
    }

    fn closed(&self) -> Error {
        Error::Closed {
            addr: self.addr.to_string(),
            pending: 0,
        }
    }

    fn command(&self, req: &Request<'_>) -> (Command, Pending) {
        let op = req.op().expect("known opcodes only");
        let x = if op == OpCode::Ping {
            xid::PING
        } else {
            // Positive and wrapping: negative xids are reserved.
            self.next_xid
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |x| {
                    Some(x.wrapping_add(1).max(1))
                })
                .unwrap_or(1)
        };
        let mut bytes = Vec::new();
        write_frame(&mut bytes, |w| {
            RequestFrame {
                xid: x,
                request: req.clone(),
            }
            .write(w)
        });
        let (reply, rx) = oneshot::channel();
        let pending = Pending {
            rx,
            addr: self.addr.clone(),
            op,
        };
        (
            Command::Call {
                op,
                bytes,
                xid: x,
                reply,
            },
            pending,
        )
    }

    /// Queues a request; the returned [`Pending`] resolves to its reply.
    pub async fn send(&self, req: &Request<'_>) -> Result<Pending> {
        let (cmd, pending) = self.command(req);
        self.tx.send(cmd).await.map_err(|_| self.closed())?;
        Ok(pending)
    }

    /// [`Handle::send`] for a plain thread (panics inside an async context).
    pub fn send_blocking(&self, req: &Request<'_>) -> Result<Pending> {
        let (cmd, pending) = self.command(req);
        self.tx.blocking_send(cmd).map_err(|_| self.closed())?;
        Ok(pending)
    }
}

fn io(addr: &str) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        addr: addr.to_string(),
        source,
    }
}

impl Client {
    pub async fn connect(addr: &str, opts: &ConnectOptions) -> Result<Client> {
        let t0 = Instant::now();
        let mut sock = within(opts.connect_timeout, "TCP connect", addr, async {
            TcpStream::connect(addr).await.map_err(io(addr))
        })
        .await?;
        sock.set_nodelay(true).map_err(io(addr))?;
        let tcp_connect = t0.elapsed();
        let (session, passwd) = opts.resume.clone().unwrap_or((0, vec![0; 16]));
        let req = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            timeout_ms: opts.timeout_ms,
            session_id: session,
            passwd: Some(&passwd),
            read_only: Some(false),
        };
        let mut out = Vec::new();
        write_frame(&mut out, |w| req.write(w));
        let t1 = Instant::now();
        sock.write_all(&out).await.map_err(io(addr))?;
        let mut buf = Vec::with_capacity(4096);
        let frame = within(
            opts.connect_timeout,
            "the handshake",
            addr,
            read_frame(&mut sock, &mut buf, addr),
        )
        .await?;
        let handshake_time = t1.elapsed();
        let resp = ConnectResponse::decode(&frame).map_err(|source| Error::Proto {
            addr: addr.into(),
            source,
        })?;
        if resp.timeout_ms <= 0 {
            return Err(Error::SessionExpired { addr: addr.into() });
        }
        let handshake = Handshake {
            session_id: resp.session_id,
            passwd: resp.passwd.unwrap_or_default().to_vec(),
            timeout_ms: resp.timeout_ms,
            read_only: resp.read_only,
            started: t0,
            tcp_connect,
            handshake: handshake_time,
        };
        let (tx, rx) = mpsc::channel(1024);
        let (ntx, nrx) = mpsc::unbounded_channel();
        let ping_every = opts
            .auto_ping
            .then(|| Duration::from_millis((resp.timeout_ms / 3).max(100) as u64));
        let addr: Arc<str> = addr.into();
        tokio::spawn(connection(sock, buf, rx, ntx, addr.clone(), ping_every));
        Ok(Client {
            handle: Handle {
                addr,
                tx,
                next_xid: Arc::new(AtomicI32::new(1)),
            },
            notifications: nrx,
            op_timeout: opts.op_timeout,
            handshake,
        })
    }

    pub fn addr(&self) -> &str {
        self.handle.addr()
    }

    /// A handle for pipelining requests on this session.
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    pub fn session_id(&self) -> i64 {
        self.handshake.session_id
    }

    /// Sends a request and waits for its reply (any error code is a reply),
    /// at most the op timeout: then [`Error::Timeout`] naming the op.
    pub async fn call(&mut self, req: &Request<'_>) -> Result<Reply> {
        let what = req.op().map(|o| o.name()).unwrap_or("?");
        let handle = &self.handle;
        within(self.op_timeout, what, handle.addr(), async {
            handle.send(req).await?.await
        })
        .await
    }

    /// Like [`Client::call`] but a non-Ok reply is an error naming op and path.
    pub async fn ok(&mut self, req: &Request<'_>) -> Result<Reply> {
        self.call(req).await?.into_ok()
    }

    pub async fn ping(&mut self) -> Result<Reply> {
        self.call(&Request::Ping).await
    }

    pub async fn exists(&mut self, path: &str, watch: bool) -> Result<Reply> {
        self.call(&Request::Exists(PathWatchRequest { path, watch }))
            .await
    }

    pub async fn sync(&mut self, path: &str) -> Result<Reply> {
        self.call(&Request::Sync(PathRequest { path })).await
    }

    pub async fn get_data(&mut self, path: &str, watch: bool) -> Result<Reply> {
        self.call(&Request::GetData(PathWatchRequest { path, watch }))
            .await
    }

    /// The children of `path`, without a watch.
    pub async fn get_children(&mut self, path: &str) -> Result<Reply> {
        self.call(&Request::GetChildren(PathWatchRequest {
            path,
            watch: false,
        }))
        .await
    }

    /// Creates `path` open to anyone (world:anyone, all permissions).
    pub async fn create(
        &mut self,
        path: &str,
        data: Option<&[u8]>,
        mode: CreateMode,
    ) -> Result<Reply> {
        self.call(&Request::Create(CreateRequest {
            path,
            data,
            acl: vec![Acl::world_anyone(perms::ALL)],
            flags: mode.flags(),
        }))
        .await
    }

    /// Sets `path`'s data if its version is `version` (-1: any).
    pub async fn set_data(&mut self, path: &str, data: &[u8], version: i32) -> Result<Reply> {
        self.call(&Request::SetData(SetDataRequest {
            path,
            data: Some(data),
            version,
        }))
        .await
    }

    /// Deletes `path` if its version is `version` (-1: any).
    pub async fn delete(&mut self, path: &str, version: i32) -> Result<Reply> {
        self.call(&Request::Delete(DeleteRequest { path, version }))
            .await
    }

    /// A watch that stays (3.6+); an older server answers with an error code.
    pub async fn add_watch(&mut self, path: &str, mode: AddWatchMode) -> Result<Reply> {
        self.call(&Request::AddWatch(AddWatchRequest { path, mode: mode.0 }))
            .await
    }

    /// The next watch notification, if one arrives within `wait`.
    pub async fn next_notification(&mut self, wait: Duration) -> Option<Notification> {
        tokio::time::timeout(wait, self.notifications.recv())
            .await
            .ok()
            .flatten()
    }

    /// Closes the session (closeSession) and the connection.
    pub async fn close(mut self) -> Result<()> {
        self.call(&Request::CloseSession).await.map(|_| ())
    }

    /// Drops the connection without closing the session, as a crashed or
    /// partitioned client would: the server must expire it.
    pub async fn abort(self) {
        let _ = self.handle.tx.send(Command::Abort).await;
    }
}

async fn read_frame(sock: &mut TcpStream, buf: &mut Vec<u8>, addr: &str) -> Result<Vec<u8>> {
    loop {
        if let Some((frame, used)) =
            zkproto::split_frame(buf, zkproto::DEFAULT_MAX_FRAME).map_err(|source| {
                Error::Proto {
                    addr: addr.into(),
                    source,
                }
            })?
        {
            let f = frame.to_vec();
            buf.drain(..used);
            return Ok(f);
        }
        let n = sock.read_buf(buf).await.map_err(io(addr))?;
        if n == 0 {
            return Err(Error::Closed {
                addr: addr.into(),
                pending: 0,
            });
        }
    }
}

struct Waiting {
    op: OpCode,
    request: Vec<u8>,
    sent: Instant,
    reply: oneshot::Sender<Result<Reply>>,
}

/// The task that owns the socket.
async fn connection(
    mut sock: TcpStream,
    mut buf: Vec<u8>,
    mut rx: mpsc::Receiver<Command>,
    notify: mpsc::UnboundedSender<Notification>,
    addr: Arc<str>,
    ping_every: Option<Duration>,
) {
    let mut pending: HashMap<i32, Waiting> = HashMap::new();
    // Ping replies come back in order; `None` marks one we sent on our own.
    let mut pings: VecDeque<Option<Waiting>> = VecDeque::new();
    let mut last_send = Instant::now();
    let mut ticker = tokio::time::interval(ping_every.unwrap_or(Duration::from_secs(3600)));
    let fail = |pending: &mut HashMap<i32, Waiting>,
                pings: &mut VecDeque<Option<Waiting>>,
                e: &dyn Fn(usize) -> Error| {
        let n = pending.len() + pings.len();
        for (_, w) in pending.drain() {
            let _ = w.reply.send(Err(e(n)));
        }
        for w in pings.drain(..).flatten() {
            let _ = w.reply.send(Err(e(n)));
        }
    };
    loop {
        tokio::select! {
            cmd = rx.recv() => {
                // Pipelined requests queue up while we write: send what is
                // queued in one write, or the client would be the bottleneck.
                let mut batch = Vec::new();
                let mut abort = false;
                let mut next = cmd;
                loop {
                    match next {
                        Some(Command::Call { op, bytes, xid: x, reply }) => batch.push((op, bytes, x, reply)),
                        Some(Command::Abort) | None => { abort = true; break; }
                    }
                    if batch.len() >= 256 { break; }
                    match rx.try_recv() {
                        Ok(c) => next = Some(c),
                        Err(_) => break,
                    }
                }
                if !batch.is_empty() {
                    let bytes: Vec<u8> = batch.iter().flat_map(|b| b.1.iter().copied()).collect();
                    let sent = Instant::now();
                    if let Err(e) = sock.write_all(&bytes).await {
                        let kind = e.kind();
                        for (_, _, _, reply) in batch {
                            let _ = reply.send(Err(Error::Io { addr: addr.to_string(), source: std::io::Error::from(kind) }));
                        }
                        continue;
                    }
                    last_send = sent;
                    for (op, request, x, reply) in batch {
                        let w = Waiting { op, request, sent, reply };
                        if x == xid::PING { pings.push_back(Some(w)) } else { pending.insert(x, w); }
                    }
                }
                if abort { return; }
            },
            _ = ticker.tick(), if ping_every.is_some() => {
                if last_send.elapsed() >= ping_every.unwrap_or_default() {
                    let mut bytes = Vec::new();
                    write_frame(&mut bytes, |w| RequestFrame { xid: xid::PING, request: Request::Ping }.write(w));
                    if sock.write_all(&bytes).await.is_err() {
                        fail(&mut pending, &mut pings, &|n| Error::Closed { addr: addr.to_string(), pending: n });
                        return;
                    }
                    last_send = Instant::now();
                    pings.push_back(None);
                }
            }
            r = sock.read_buf(&mut buf) => {
                let received = Instant::now();
                match r {
                    Ok(0) | Err(_) => {
                        fail(&mut pending, &mut pings, &|n| Error::Closed { addr: addr.to_string(), pending: n });
                        return;
                    }
                    Ok(_) => {}
                }
                loop {
                    let (frame, used) = match zkproto::split_frame(&buf, zkproto::DEFAULT_MAX_FRAME) {
                        Ok(Some((f, used))) => (f.to_vec(), used),
                        Ok(None) => break,
                        Err(source) => {
                            let e = Error::Proto { addr: addr.to_string(), source };
                            let msg = e.to_string();
                            fail(&mut pending, &mut pings, &|_| Error::Config(msg.clone()));
                            return;
                        }
                    };
                    buf.drain(..used);
                    let Ok(header) = ReplyFrame::peek_header(&frame) else { continue };
                    match header.xid {
                        xid::NOTIFICATION => {
                            if let Ok(ev) = ReplyFrame::decode(&frame, None) {
                                if let Response::Notification(WatcherEvent { event_type, path, .. }) = ev.body {
                                    let _ = notify.send(Notification { event_type: EventType(event_type), path: path.to_string(), zxid: header.zxid, received });
                                }
                            }
                        }
                        xid::PING => {
                            if let Some(Some(w)) = pings.pop_front() {
                                let _ = w.reply.send(Ok(Reply { header, op: w.op, frame, addr: addr.clone(), request: w.request, sent: w.sent, received }));
                            }
                        }
                        x => {
                            if let Some(w) = pending.remove(&x) {
                                let _ = w.reply.send(Ok(Reply { header, op: w.op, frame, addr: addr.clone(), request: w.request, sent: w.sent, received }));
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::{server, Answer};
    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn into_ok_names_server_op_and_path() {
        let addr = server(|k| {
            Answer::Now(if k == 1 {
                ErrorCode::OK
            } else {
                ErrorCode::NO_NODE
            })
        });
        rt().block_on(async {
            let mut c = Client::connect(&addr, &ConnectOptions::default())
                .await
                .unwrap();
            let r = c.exists("/a", false).await.unwrap();
            assert_eq!((r.addr(), r.path()), (addr.as_str(), Some("/a")));
            assert!(r.into_ok().is_ok());
            let r = c.delete("/a/b", -1).await.unwrap();
            assert_eq!(r.err(), ErrorCode::NO_NODE);
            let e = r.into_ok().unwrap_err().to_string();
            assert_eq!(e, format!("{addr}: delete /a/b: NoNode"));
            let e = c.ok(&Request::Ping).await.unwrap_err().to_string();
            assert_eq!(e, format!("{addr}: ping : NoNode"));
        });
    }

    #[test]
    fn op_timeout_bounds_each_request() {
        let addr = server(|k| {
            if k == 1 {
                Answer::Never
            } else {
                Answer::Now(ErrorCode::OK)
            }
        });
        rt().block_on(async {
            let opts = ConnectOptions {
                op_timeout: Duration::from_millis(100),
                ..Default::default()
            };
            let mut c = Client::connect(&addr, &opts).await.unwrap();
            let e = c.sync("/").await.unwrap_err().to_string();
            assert_eq!(e, format!("{addr}: no answer to sync within 100ms"));
            // The session goes on; a late reply would just be dropped.
            assert!(c.exists("/", false).await.unwrap().into_ok().is_ok());
            let p = c.handle().send(&Request::Ping).await.unwrap();
            assert!(p.within(Duration::from_secs(1)).await.is_ok());
        });
    }
}
