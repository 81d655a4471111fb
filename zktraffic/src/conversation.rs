//! One client connection's ZooKeeper protocol, both directions: four-letter
//! words, the handshake, requests paired with replies, notifications, and
//! recovery of frame boundaries after a gap or a mid-stream start.

use std::collections::VecDeque;

use zkproto::frame::split_frame;
use zkproto::{
    xid, ConnectRequest, ConnectResponse, ErrorCode, EventType, FourLetterWord, KeeperState,
    OpCode, Paired, Record, ReplyFrame, ReplyHeader, RequestFrame, Response, XidPairer,
};

use crate::describe;
use crate::model::*;
use crate::reassembly::Chunk;

/// Most of a four-letter word's answer kept for display.
const MAX_4LW_ANSWER: usize = 64 * 1024;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ConversationCounters {
    pub frames: u64,
    pub decode_errors: u64,
    /// Bytes thrown away while looking for a frame boundary.
    pub resync_skipped: u64,
    pub unpaired_replies: u64,
    pub pairing_overflow: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Nothing from the client yet.
    Start,
    FourLetter,
    /// ConnectRequest seen, ConnectResponse not yet.
    Handshake,
    Established,
}

#[derive(Debug)]
struct Side {
    buf: Vec<u8>,
    /// Is `buf[0]` a frame boundary?
    synced: bool,
}

#[derive(Debug)]
struct Pending {
    ts: Timestamp,
    op: Option<OpCode>,
    opcode: i32,
    path: Option<String>,
    bytes: u32,
    detail: String,
}

#[derive(Debug)]
pub struct Conversation {
    conn: ConnId,
    max_frame: usize,
    detail: bool,
    phase: Phase,
    client: Side,
    server: Side,
    session: Option<i64>,
    connect: Option<(Timestamp, i64)>,
    pairer: Outstanding,
    fourlw: Option<(FourLetterWord, Timestamp, Vec<u8>)>,
    pub counters: ConversationCounters,
}

impl Conversation {
    /// `detail`: describe arguments and results (costs a little per frame).
    pub fn new(conn: ConnId, max_frame: usize, detail: bool) -> Conversation {
        Conversation {
            conn,
            max_frame,
            detail,
            phase: Phase::Start,
            client: Side {
                buf: Vec::new(),
                synced: true,
            },
            server: Side {
                buf: Vec::new(),
                synced: true,
            },
            session: None,
            connect: None,
            pairer: Outstanding::new(10_000),
            fourlw: None,
            counters: ConversationCounters::default(),
        }
    }

    /// The capture joined this connection after it began (no SYN seen):
    /// neither stream is known to start at a frame boundary.
    pub fn joined_mid_stream(&mut self) {
        self.phase = Phase::Established;
        self.client.synced = false;
        self.server.synced = false;
    }

    pub fn session(&self) -> Option<i64> {
        self.session
    }

    /// Bytes buffered waiting for the rest of a frame.
    pub fn buffered(&self) -> usize {
        self.client.buf.len() + self.server.buf.len()
    }

    pub fn feed(
        &mut self,
        from_client: bool,
        ts: Timestamp,
        chunk: Chunk<'_>,
        out: &mut Vec<Event>,
    ) {
        match chunk {
            Chunk::Gap(n) => {
                let side = if from_client {
                    &mut self.client
                } else {
                    &mut self.server
                };
                side.buf.clear();
                side.synced = false;
                if self.phase == Phase::Start && from_client {
                    // We will never see this connection's first bytes.
                    self.phase = Phase::Established;
                }
                out.push(Event::Anomaly(AnomalySeen {
                    conn: self.conn,
                    ts,
                    what: format!(
                        "{} bytes lost from the {}; looking for the next frame",
                        n,
                        if from_client { "client" } else { "server" }
                    ),
                }));
            }
            Chunk::Data(d) => {
                if from_client {
                    self.client_bytes(ts, &d, out);
                } else {
                    self.server_bytes(ts, &d, out);
                }
            }
        }
    }

    fn client_bytes(&mut self, ts: Timestamp, data: &[u8], out: &mut Vec<Event>) {
        if self.phase == Phase::FourLetter {
            return; // e.g. stmk's mask; nothing else is expected
        }
        let mut side = std::mem::replace(
            &mut self.client,
            Side {
                buf: Vec::new(),
                synced: true,
            },
        );
        if side.buf.is_empty() && !(self.phase == Phase::Start && side.synced) {
            self.frames_in_place(true, ts, data, &mut side, out);
            self.client = side;
            return;
        }
        side.buf.extend_from_slice(data);
        if self.phase == Phase::Start && side.synced {
            if side.buf.len() < 4 {
                self.client = side;
                return;
            }
            if let Some(w) = FourLetterWord::detect(&side.buf) {
                self.phase = Phase::FourLetter;
                self.fourlw = Some((w, ts, Vec::new()));
                side.buf.clear();
                self.client = side;
                return;
            }
        }
        let consumed = self.frames(true, ts, &side.buf, &mut side.synced, out);
        side.buf.drain(..consumed);
        self.client = side;
    }

    fn server_bytes(&mut self, ts: Timestamp, data: &[u8], out: &mut Vec<Event>) {
        if self.phase == Phase::FourLetter {
            if let Some((_, _, answer)) = &mut self.fourlw {
                let room = MAX_4LW_ANSWER.saturating_sub(answer.len());
                answer.extend_from_slice(&data[..data.len().min(room)]);
            }
            return;
        }
        let mut side = std::mem::replace(
            &mut self.server,
            Side {
                buf: Vec::new(),
                synced: true,
            },
        );
        if side.buf.is_empty() {
            self.frames_in_place(false, ts, data, &mut side, out);
        } else {
            side.buf.extend_from_slice(data);
            let consumed = self.frames(false, ts, &side.buf, &mut side.synced, out);
            side.buf.drain(..consumed);
        }
        self.server = side;
    }

    /// With nothing held back, frames are decoded straight from the segment
    /// and only an incomplete tail is copied: most segments hold whole frames,
    /// and copying every byte through the buffer was 7% of decode time.
    fn frames_in_place(
        &mut self,
        from_client: bool,
        ts: Timestamp,
        data: &[u8],
        side: &mut Side,
        out: &mut Vec<Event>,
    ) {
        let consumed = self.frames(from_client, ts, data, &mut side.synced, out);
        side.buf.extend_from_slice(&data[consumed..]);
    }

    /// Decodes the complete frames at the start of `buf`; returns how many
    /// bytes were used (or skipped).
    fn frames(
        &mut self,
        from_client: bool,
        ts: Timestamp,
        buf: &[u8],
        synced: &mut bool,
        out: &mut Vec<Event>,
    ) -> usize {
        let mut pos = 0;
        loop {
            if !*synced {
                match self.resync(from_client, &buf[pos..]) {
                    Resync::Found(skip) => {
                        self.counters.resync_skipped += skip as u64;
                        pos += skip;
                        *synced = true;
                    }
                    Resync::NeedMore(skip) => {
                        self.counters.resync_skipped += skip as u64;
                        return pos + skip;
                    }
                }
            }
            match split_frame(&buf[pos..], self.max_frame) {
                Ok(Some((frame, used))) => {
                    self.counters.frames += 1;
                    if from_client {
                        self.client_frame(ts, frame, used as u32, out);
                    } else {
                        self.server_frame(ts, frame, used as u32, out);
                    }
                    pos += used;
                }
                Ok(None) => return pos,
                Err(e) => {
                    self.counters.decode_errors += 1;
                    out.push(self.anomaly(
                        ts,
                        format!(
                            "{}: {e}; looking for the next frame",
                            side_name(from_client)
                        ),
                    ));
                    *synced = false;
                    pos += 1;
                }
            }
        }
    }

    fn client_frame(&mut self, ts: Timestamp, frame: &[u8], bytes: u32, out: &mut Vec<Event>) {
        if self.phase == Phase::Start {
            if let Ok(c) = ConnectRequest::decode(frame) {
                self.phase = Phase::Handshake;
                self.connect = Some((ts, c.session_id));
                out.push(Event::Connect(ConnectRequestSeen {
                    conn: self.conn,
                    ts,
                    session: c.session_id,
                    timeout_ms: c.timeout_ms,
                    last_zxid_seen: c.last_zxid_seen,
                    read_only: c.read_only,
                }));
                return;
            }
            // The capture began after the handshake.
            self.phase = Phase::Established;
        }
        match RequestFrame::decode(frame) {
            Ok(f) => {
                let op = f.request.op();
                let p = Pending {
                    ts,
                    op,
                    opcode: f.request.opcode(),
                    path: f.request.path().map(str::to_string),
                    bytes,
                    detail: if self.detail {
                        describe::request(&f.request)
                    } else {
                        String::new()
                    },
                };
                // Pairing falls back to the implied opcode for reserved xids.
                let key_op = op.unwrap_or(OpCode::Ping);
                if op.is_none() {
                    // Unknown opcode: its reply cannot be decoded; show it now.
                    out.push(Event::Exchange(self.exchange(p, f.xid, None, None, 0)));
                    return;
                }
                if !self.pairer.request(f.xid, key_op, p) {
                    self.counters.pairing_overflow += 1;
                }
            }
            Err(e) => {
                self.counters.decode_errors += 1;
                out.push(self.anomaly(
                    ts,
                    format!("undecodable request ({} bytes): {e}", frame.len()),
                ));
            }
        }
    }

    fn server_frame(&mut self, ts: Timestamp, frame: &[u8], bytes: u32, out: &mut Vec<Event>) {
        if self.phase == Phase::Handshake {
            if let Ok(r) = ConnectResponse::decode(frame) {
                self.phase = Phase::Established;
                let requested = self.connect.map(|(_, s)| s).filter(|s| *s != 0);
                let previous = requested.or(self.session).filter(|s| *s != r.session_id);
                self.session = Some(r.session_id);
                out.push(Event::Connected(ConnectReplySeen {
                    conn: self.conn,
                    ts,
                    session: r.session_id,
                    timeout_ms: r.timeout_ms,
                    read_only: r.read_only,
                    latency: self.connect.map(|(t, _)| ts.saturating_sub(t)),
                    previous_session: previous,
                }));
                return;
            }
            self.phase = Phase::Established;
        }
        let header = match ReplyFrame::peek_header(frame) {
            Ok(h) => h,
            Err(e) => {
                self.counters.decode_errors += 1;
                out.push(self.anomaly(ts, format!("undecodable reply: {e}")));
                return;
            }
        };
        let paired = self.pairer.reply(header.xid);
        let op = paired.opcode();
        let decoded = ReplyFrame::decode(frame, op);
        let reply = match decoded {
            Ok(r) => r,
            Err(e) => {
                self.counters.decode_errors += 1;
                out.push(self.anomaly(
                    ts,
                    format!(
                        "undecodable reply to {}: {e}",
                        op.map(|o| o.name()).unwrap_or("?")
                    ),
                ));
                return;
            }
        };
        if let Response::Notification(n) = &reply.body {
            out.push(Event::Notification(NotificationSeen {
                conn: self.conn,
                ts,
                session: self.session,
                zxid: header.zxid,
                event_type: EventType(n.event_type),
                state: KeeperState(n.state),
                path: n.path.to_string(),
            }));
            return;
        }
        let result = if self.detail && header.err.is_ok() {
            describe::response(&reply.body)
        } else {
            String::new()
        };
        let mut e = match paired {
            Paired::Request(_, p) => self.exchange(p, header.xid, Some(ts), Some(&header), bytes),
            // A ping, auth or setWatches reply whose request was not seen.
            Paired::Implied(op) => {
                let mut e = self.exchange_reply_only(&header, ts, bytes);
                e.op = Some(op);
                e.opcode = op.code();
                e
            }
            Paired::Unknown | Paired::Notification => {
                self.counters.unpaired_replies += 1;
                self.exchange_reply_only(&header, ts, bytes)
            }
        };
        if !result.is_empty() {
            // One allocation rather than one per piece.
            e.detail.reserve(" → ".len() + result.len());
            if !e.detail.is_empty() {
                e.detail.push(' ');
            }
            e.detail.push_str("→ ");
            e.detail.push_str(&result);
        }
        out.push(Event::Exchange(e));
    }

    fn exchange(
        &self,
        p: Pending,
        xid: i32,
        reply_ts: Option<Timestamp>,
        h: Option<&ReplyHeader>,
        reply_bytes: u32,
    ) -> Exchange {
        Exchange {
            conn: self.conn,
            session: self.session,
            xid,
            op: p.op,
            opcode: p.opcode,
            path: p.path,
            request_ts: Some(p.ts),
            reply_ts,
            err: h.map(|h| h.err),
            zxid: h.map(|h| h.zxid),
            request_bytes: p.bytes,
            reply_bytes,
            detail: p.detail,
        }
    }

    fn exchange_reply_only(&self, h: &ReplyHeader, ts: Timestamp, bytes: u32) -> Exchange {
        Exchange {
            conn: self.conn,
            session: self.session,
            xid: h.xid,
            op: None,
            opcode: 0,
            path: None,
            request_ts: None,
            reply_ts: Some(ts),
            err: Some(h.err),
            zxid: Some(h.zxid),
            request_bytes: 0,
            reply_bytes: bytes,
            detail: String::new(),
        }
    }

    fn anomaly(&self, ts: Timestamp, what: String) -> Event {
        Event::Anomaly(AnomalySeen {
            conn: self.conn,
            ts,
            what,
        })
    }

    /// The connection ended: report a four-letter word, unanswered requests
    /// and the close itself.
    pub fn close(&mut self, ts: Timestamp, reason: CloseReason, out: &mut Vec<Event>) {
        if let Some((word, wts, answer)) = self.fourlw.take() {
            out.push(Event::FourLetter(FourLetterSeen {
                conn: self.conn,
                ts: wts,
                word,
                answer: String::from_utf8_lossy(&answer).into_owned(),
            }));
        }
        let mut unanswered: Vec<(i32, Pending)> = self.pairer.drain().collect();
        // (time, xid): reproducible output whatever the table's order.
        unanswered.sort_by_key(|(x, p)| (p.ts, *x));
        let count = unanswered.len() as u32;
        for (x, p) in unanswered {
            out.push(Event::Exchange(self.exchange(p, x, None, None, 0)));
        }
        if self.phase != Phase::FourLetter {
            out.push(Event::Closed(ClosedSeen {
                conn: self.conn,
                ts,
                session: self.session,
                reason,
                unanswered: count,
            }));
        }
    }

    /// Finds the next frame boundary in `buf` by validating candidate headers.
    fn resync(&self, from_client: bool, buf: &[u8]) -> Resync {
        let plausible_len = |i: usize| -> Option<usize> {
            let b = buf.get(i..i + 4)?;
            let len = i32::from_be_bytes([b[0], b[1], b[2], b[3]]);
            (len >= if from_client { 8 } else { 16 } && (len as usize) <= self.max_frame)
                .then_some(len as usize)
        };
        let mut i = 0;
        while i + 4 <= buf.len() {
            if let Some(len) = plausible_len(i) {
                let header_ok = if from_client {
                    buf.get(i + 4..i + 12).is_some_and(|h| {
                        let x = i32::from_be_bytes([h[0], h[1], h[2], h[3]]);
                        let op = i32::from_be_bytes([h[4], h[5], h[6], h[7]]);
                        OpCode::from_i32(op).is_some()
                            && (x >= 0 || matches!(x, xid::PING | xid::AUTH | xid::SET_WATCHES))
                    })
                } else {
                    buf.get(i + 4..i + 20).is_some_and(|h| {
                        let x = i32::from_be_bytes([h[0], h[1], h[2], h[3]]);
                        let err = i32::from_be_bytes([h[12], h[13], h[14], h[15]]);
                        ErrorCode(err).name().is_some() && x >= xid::SET_WATCHES
                    })
                };
                let have_header = buf.len() >= i + if from_client { 12 } else { 20 };
                if !have_header {
                    return Resync::NeedMore(i);
                }
                if header_ok {
                    let end = i + 4 + len;
                    if end > buf.len() {
                        return Resync::NeedMore(i);
                    }
                    let frame = &buf[i + 4..end];
                    // A reply body needs its request's opcode; the header was checked.
                    let body_ok = !from_client || RequestFrame::decode(frame).is_ok();
                    // The byte after the frame must start another plausible one.
                    let next_ok = end + 4 > buf.len() || plausible_len(end).is_some();
                    if body_ok && next_ok {
                        return Resync::Found(i);
                    }
                }
            }
            i += 1;
        }
        Resync::NeedMore(buf.len().saturating_sub(3))
    }
}

/// Requests waiting for their replies, paired exactly as one [`XidPairer`]
/// would (first in, first out per xid), but faster: a server answers a
/// session's requests in order, so nearly every reply is for the oldest
/// request, and requests with increasing xids wait in a queue checked
/// without hashing or allocating. Everything else (reserved xids, repeated
/// or decreasing xids, and requests skipped over by a later reply) goes to
/// the table. A table entry whose xid the queue could also hold was always
/// seen before everything in the queue, so the table is asked first.
#[derive(Debug)]
struct Outstanding {
    /// Strictly increasing non-negative xids.
    queue: VecDeque<(i32, OpCode, Pending)>,
    table: XidPairer<Pending>,
    max: usize,
}

impl Outstanding {
    fn new(max: usize) -> Outstanding {
        Outstanding {
            queue: VecDeque::new(),
            table: XidPairer::new(max),
            max,
        }
    }

    /// Records a request; false when `max` are already outstanding.
    fn request(&mut self, x: i32, op: OpCode, p: Pending) -> bool {
        if self.queue.len() + self.table.len() >= self.max {
            return false;
        }
        if x < 0 {
            // Reserved xids never share an xid with the queue: order between
            // the two does not matter.
            return self.table.request(x, op, p);
        }
        if self.queue.back().is_none_or(|(b, _, _)| x > *b) {
            self.queue.push_back((x, op, p));
            return true;
        }
        // An xid the queue may hold: the queue's older requests move to the
        // table first, so the table stays older than the queue.
        self.spill(self.queue.len());
        self.table.request(x, op, p)
    }

    /// Moves the queue's `n` oldest requests to the table.
    fn spill(&mut self, n: usize) {
        for (x, op, p) in self.queue.drain(..n) {
            // Cannot fail: the table's bound is the total's.
            self.table.request(x, op, p);
        }
    }

    fn reply(&mut self, x: i32) -> Paired<Pending> {
        if let Some((front, _, _)) = self.queue.front() {
            if *front == x && self.table.is_empty() {
                let (_, op, p) = self.queue.pop_front().expect("front exists");
                return Paired::Request(op, p);
            }
        }
        let from_table = self.table.reply(x);
        if matches!(from_table, Paired::Request(..)) || x < 0 {
            return from_table;
        }
        match self.queue.binary_search_by_key(&x, |(q, _, _)| *q) {
            Ok(i) => {
                // The requests before it stay outstanding, as in the table;
                // moving them keeps the queue's front the next reply's.
                self.spill(i);
                let (_, op, p) = self.queue.pop_front().expect("found above");
                Paired::Request(op, p)
            }
            Err(_) => from_table,
        }
    }

    fn drain(&mut self) -> impl Iterator<Item = (i32, Pending)> + '_ {
        self.table
            .drain()
            .map(|(x, _, p)| (x, p))
            .chain(self.queue.drain(..).map(|(x, _, p)| (x, p)))
    }
}

enum Resync {
    /// A frame starts this many bytes in.
    Found(usize),
    /// Skip this many bytes and wait for more data.
    NeedMore(usize),
}

fn side_name(from_client: bool) -> &'static str {
    if from_client {
        "client"
    } else {
        "server"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(n: u64) -> Pending {
        Pending {
            ts: Timestamp::from_nanos(n),
            op: None,
            opcode: 0,
            path: None,
            bytes: 0,
            detail: String::new(),
        }
    }

    fn key(p: &Paired<Pending>) -> (u8, Option<OpCode>, Option<Timestamp>) {
        match p {
            Paired::Request(op, d) => (0, Some(*op), Some(d.ts)),
            Paired::Notification => (1, None, None),
            Paired::Implied(op) => (2, Some(*op), None),
            Paired::Unknown => (3, None, None),
        }
    }

    /// The queue in front of the table must pair exactly as the table alone:
    /// in order, out of order, with repeated, decreasing and reserved xids,
    /// and at the bound.
    #[test]
    fn outstanding_pairs_as_the_plain_table_does() {
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let ops = [OpCode::GetData, OpCode::Create, OpCode::Exists];
        for round in 0..300 {
            let max = [3, 8, 64][round % 3];
            let mut fast = Outstanding::new(max);
            let mut plain: XidPairer<Pending> = XidPairer::new(max);
            let mut xid = 0i32;
            for step in 0..400u64 {
                let r = next();
                if r % 2 == 0 {
                    // Mostly increasing xids, sometimes repeated, decreasing or reserved.
                    let x = match (r >> 8) % 10 {
                        0 => xid::PING,
                        1 => xid::SET_WATCHES,
                        2 => xid - ((r >> 16) % 4) as i32,
                        _ => {
                            xid += 1 + ((r >> 16) % 2) as i32;
                            xid
                        }
                    };
                    let op = ops[((r >> 24) % 3) as usize];
                    assert_eq!(
                        fast.request(x, op, pending(step)),
                        plain.request(x, op, pending(step)),
                        "round {round} step {step}: request {x}"
                    );
                } else {
                    // Mostly the oldest, sometimes any recent xid or a notification.
                    let x = match (r >> 8) % 8 {
                        0 => xid::NOTIFICATION,
                        1 => xid::PING,
                        2 | 3 => xid - ((r >> 16) % 6) as i32,
                        _ => fast
                            .queue
                            .front()
                            .map(|q| q.0)
                            .unwrap_or(xid - ((r >> 16) % 3) as i32),
                    };
                    assert_eq!(
                        key(&fast.reply(x)),
                        key(&plain.reply(x)),
                        "round {round} step {step}: reply {x}"
                    );
                }
                assert_eq!(fast.queue.len() + fast.table.len(), plain.len());
            }
            let mut a: Vec<(i32, Timestamp)> = fast.drain().map(|(x, p)| (x, p.ts)).collect();
            let mut b: Vec<(i32, Timestamp)> = plain.drain().map(|(x, _, p)| (x, p.ts)).collect();
            a.sort();
            b.sort();
            assert_eq!(a, b, "round {round}: what stays unanswered");
        }
    }
}
