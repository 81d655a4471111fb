//! Packets in, events out: classifies TCP segments into connections by port,
//! reassembles each direction, hands the bytes to the connection's decoder,
//! and keeps memory bounded (flow count, reorder buffers, idle eviction).

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::Path;
use std::time::Duration;

use crate::conversation::{Conversation, ConversationCounters};
use crate::error::Result;
use crate::link::{self, Skip, TcpSegment};
use crate::model::{CloseReason, ConnId, Event, QuorumSeen, Timestamp};
use crate::quorum::{QuorumDecoder, QuorumProtocol};
use crate::reassembly::{Chunk, Stream, StreamCounters};
use crate::source::{FileSource, Next, PacketRef, PacketSource};

#[derive(Debug, Clone)]
pub struct Options {
    /// Ports ZooKeeper clients connect to.
    pub client_ports: Vec<u16>,
    /// ZAB (leader/learner) ports.
    pub zab_ports: Vec<u16>,
    /// Leader-election ports.
    pub election_ports: Vec<u16>,
    pub max_frame: usize,
    /// Describe each request's arguments and result (for human output).
    pub detail: bool,
    pub max_flows: usize,
    /// Capture time after which a silent connection is forgotten.
    pub idle_timeout: Duration,
    /// Out-of-order bytes held per direction before giving up on a hole.
    pub max_reorder_bytes: usize,
    /// Fraction of connections decoded (1.0 = all); chosen per connection
    /// so each sampled one is decoded whole.
    pub sample: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            client_ports: vec![2181],
            zab_ports: vec![2888],
            election_ports: vec![3888],
            max_frame: zkproto::DEFAULT_MAX_FRAME,
            detail: true,
            max_flows: 100_000,
            idle_timeout: Duration::from_secs(600),
            max_reorder_bytes: 256 * 1024,
            sample: 1.0,
        }
    }
}

impl Options {
    pub fn all_ports(&self) -> Vec<u16> {
        let mut p: Vec<u16> = self
            .client_ports
            .iter()
            .chain(&self.zab_ports)
            .chain(&self.election_ports)
            .copied()
            .collect();
        p.sort_unstable();
        p.dedup();
        p
    }

    /// Each port's kind, client ports first, then ZAB, then election: a
    /// port listed twice counts as the first.
    fn port_kinds(&self) -> Vec<(u16, Kind)> {
        let mut kinds: Vec<(u16, Kind)> = Vec::new();
        let lists = [
            (&self.client_ports, Kind::Client),
            (&self.zab_ports, Kind::Quorum(QuorumProtocol::Zab)),
            (&self.election_ports, Kind::Quorum(QuorumProtocol::Election)),
        ];
        for (ports, kind) in lists {
            for &p in ports {
                if !kinds.iter().any(|(q, _)| *q == p) {
                    kinds.push((p, kind));
                }
            }
        }
        kinds
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Client,
    Quorum(QuorumProtocol),
}

/// Everything counted along the way; nothing is dropped silently.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    pub packets: u64,
    pub bytes: u64,
    pub tcp_segments: u64,
    pub not_tcp: u64,
    pub malformed: u64,
    pub fragments: u64,
    pub unsupported_link: u64,
    /// TCP on ports that are not ZooKeeper's.
    pub other_ports: u64,
    /// Segments of connections left out by sampling.
    pub sampled_out: u64,
    /// Packets the capture's snaplen cut short.
    pub snaplen_cut: u64,
    pub flows_opened: u64,
    pub flows_evicted: u64,
    pub stream: StreamCounters,
    pub conversation: ConversationCounters,
    pub quorum_skipped: u64,
    /// Events produced.
    pub events: u64,
}

fn add_stream(a: &mut StreamCounters, b: &StreamCounters) {
    a.out_of_order_segments += b.out_of_order_segments;
    a.duplicate_bytes += b.duplicate_bytes;
    a.gap_bytes += b.gap_bytes;
    a.gaps += b.gaps;
}

fn add_conv(a: &mut ConversationCounters, b: &ConversationCounters) {
    a.frames += b.frames;
    a.decode_errors += b.decode_errors;
    a.resync_skipped += b.resync_skipped;
    a.unpaired_replies += b.unpaired_replies;
    a.pairing_overflow += b.pairing_overflow;
}

enum Decoder {
    Client(Box<Conversation>),
    Quorum(QuorumDecoder),
}

struct Flow {
    to_server: Stream,
    to_client: Stream,
    decoder: Decoder,
    last_seen: Timestamp,
    fin_client: bool,
    fin_server: bool,
    /// Sequence number of the client's SYN: a SYN repeating it is a
    /// retransmission, not a new connection on reused ports.
    syn_seq: Option<u32>,
}

pub struct Pipeline {
    opts: Options,
    // What each server port carries, in one list: looked up twice a packet.
    port_kinds: Vec<(u16, Kind)>,
    flows: HashMap<FlowKey, Flow, FlowHash>,
    counters: Counters,
    // Finished flows' counters, folded in when they close.
    closed: (StreamCounters, ConversationCounters),
    now: Timestamp,
    last_sweep: Timestamp,
}

impl Pipeline {
    pub fn new(opts: Options) -> Pipeline {
        Pipeline {
            port_kinds: opts.port_kinds(),
            opts,
            flows: HashMap::with_hasher(FlowHash::new()),
            counters: Counters::default(),
            closed: Default::default(),
            now: Duration::ZERO,
            last_sweep: Duration::ZERO,
        }
    }

    fn kind_of(&self, port: u16) -> Option<Kind> {
        self.port_kinds
            .iter()
            .find(|(p, _)| *p == port)
            .map(|(_, k)| *k)
    }

    pub fn options(&self) -> &Options {
        &self.opts
    }

    /// The capture clock: the latest packet time seen.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Connections currently tracked.
    pub fn flows(&self) -> usize {
        self.flows.len()
    }

    /// Counters so far, including those of open connections.
    pub fn counters(&self) -> Counters {
        let mut c = self.counters;
        c.stream = self.closed.0;
        c.conversation = self.closed.1;
        for f in self.flows.values() {
            add_stream(&mut c.stream, &f.to_server.counters);
            add_stream(&mut c.stream, &f.to_client.counters);
            if let Decoder::Client(conv) = &f.decoder {
                add_conv(&mut c.conversation, &conv.counters);
            }
        }
        c
    }

    pub fn packet(&mut self, p: PacketRef<'_>, out: &mut Vec<Event>) {
        let before = out.len();
        self.counters.packets += 1;
        self.counters.bytes += u64::from(p.orig_len);
        self.now = self.now.max(p.ts);
        if (p.data.len() as u32) < p.orig_len {
            self.counters.snaplen_cut += 1;
        }
        match link::parse(p.linktype, p.data, p.orig_len) {
            Ok(seg) => {
                self.counters.tcp_segments += 1;
                self.segment(p.ts, &seg, out);
            }
            Err(Skip::NotTcp) => self.counters.not_tcp += 1,
            Err(Skip::Malformed) => self.counters.malformed += 1,
            Err(Skip::Fragment) => self.counters.fragments += 1,
            Err(Skip::UnsupportedLinkType) => self.counters.unsupported_link += 1,
        }
        if self.now.saturating_sub(self.last_sweep) >= Duration::from_secs(1) {
            self.sweep(out);
        }
        self.counters.events += (out.len() - before) as u64;
    }

    fn segment(&mut self, ts: Timestamp, seg: &TcpSegment<'_>, out: &mut Vec<Event>) {
        let (conn, from_client, kind) = if let Some(k) = self.kind_of(seg.dst.port()) {
            (
                ConnId {
                    client: seg.src,
                    server: seg.dst,
                },
                true,
                k,
            )
        } else if let Some(k) = self.kind_of(seg.src.port()) {
            (
                ConnId {
                    client: seg.dst,
                    server: seg.src,
                },
                false,
                k,
            )
        } else {
            self.counters.other_ports += 1;
            return;
        };
        let new_syn = seg.syn && !seg.ack;
        // The common case, a segment of a known connection, costs one lookup.
        if !new_syn {
            if let Some(flow) = self.flows.get_mut(&FlowKey::of(&conn)) {
                if let Some(reason) =
                    on_segment(flow, conn, from_client, ts, seg, out, &mut self.counters)
                {
                    self.close(conn, ts, reason, out);
                }
                return;
            }
        } else if let Some(flow) = self.flows.get_mut(&FlowKey::of(&conn)) {
            if flow.syn_seq == Some(seg.seq) {
                // A retransmitted SYN: the same connection.
                if let Some(reason) =
                    on_segment(flow, conn, from_client, ts, seg, out, &mut self.counters)
                {
                    self.close(conn, ts, reason, out);
                }
                return;
            }
            // A new SYN on a known 4-tuple is a new connection reusing the ports.
            self.close(conn, ts, CloseReason::Fin, out);
        }
        if !self.open(conn, kind, ts, seg, out) {
            return;
        }
        let flow = self
            .flows
            .get_mut(&FlowKey::of(&conn))
            .expect("opened above");
        if let Some(reason) = on_segment(flow, conn, from_client, ts, seg, out, &mut self.counters)
        {
            self.close(conn, ts, reason, out);
        }
    }

    /// Starts tracking a connection; false when it is not to be tracked.
    fn open(
        &mut self,
        conn: ConnId,
        kind: Kind,
        ts: Timestamp,
        seg: &TcpSegment<'_>,
        out: &mut Vec<Event>,
    ) -> bool {
        if self.opts.sample < 1.0 && !sampled(&conn, self.opts.sample) {
            self.counters.sampled_out += 1;
            return false;
        }
        if seg.rst || (!seg.syn && seg.wire_len == 0) {
            return false; // bare ACKs/FINs/RSTs: the tail of a closed or untracked connection
        }
        if self.flows.len() >= self.opts.max_flows {
            self.evict_oldest(out);
        }
        self.counters.flows_opened += 1;
        let mid_stream = !seg.syn;
        let decoder = match kind {
            Kind::Client => {
                let mut c = Conversation::new(conn, self.opts.max_frame, self.opts.detail);
                if mid_stream {
                    c.joined_mid_stream();
                }
                Decoder::Client(Box::new(c))
            }
            Kind::Quorum(p) => {
                let mut q = QuorumDecoder::new(p);
                if mid_stream {
                    q.reset(true);
                    q.reset(false);
                }
                Decoder::Quorum(q)
            }
        };
        self.flows.insert(
            FlowKey::of(&conn),
            Flow {
                to_server: Stream::new(self.opts.max_reorder_bytes),
                to_client: Stream::new(self.opts.max_reorder_bytes),
                decoder,
                last_seen: ts,
                fin_client: false,
                fin_server: false,
                syn_seq: (seg.syn && !seg.ack).then_some(seg.seq),
            },
        );
        true
    }

    fn close(&mut self, conn: ConnId, ts: Timestamp, reason: CloseReason, out: &mut Vec<Event>) {
        let Some(mut flow) = self.flows.remove(&FlowKey::of(&conn)) else {
            return;
        };
        let mut held = Vec::new();
        flow.to_server.flush(&mut held);
        feed(
            &mut flow,
            conn,
            true,
            ts,
            held.drain(..),
            out,
            &mut self.counters,
        );
        flow.to_client.flush(&mut held);
        feed(
            &mut flow,
            conn,
            false,
            ts,
            held.drain(..),
            out,
            &mut self.counters,
        );
        add_stream(&mut self.closed.0, &flow.to_server.counters);
        add_stream(&mut self.closed.0, &flow.to_client.counters);
        if let Decoder::Client(mut conv) = flow.decoder {
            conv.close(ts, reason, out);
            add_conv(&mut self.closed.1, &conv.counters);
        }
        if reason == CloseReason::Evicted {
            self.counters.flows_evicted += 1;
        }
    }

    fn evict_oldest(&mut self, out: &mut Vec<Event>) {
        if let Some(conn) = self
            .flows
            .iter()
            .min_by_key(|(_, f)| f.last_seen)
            .map(|(k, _)| k.conn())
        {
            let ts = self.now;
            self.close(conn, ts, CloseReason::Evicted, out);
        }
    }

    fn sweep(&mut self, out: &mut Vec<Event>) {
        self.last_sweep = self.now;
        let idle: Vec<ConnId> = self
            .flows
            .iter()
            .filter(|(_, f)| self.now.saturating_sub(f.last_seen) > self.opts.idle_timeout)
            .map(|(k, _)| k.conn())
            .collect();
        for conn in idle {
            let ts = self.now;
            self.close(conn, ts, CloseReason::Evicted, out);
        }
    }

    /// End of input: every open connection is closed as such.
    pub fn finish(&mut self, out: &mut Vec<Event>) {
        let mut open: Vec<(ConnId, Timestamp)> = self
            .flows
            .iter()
            .map(|(k, f)| (k.conn(), f.last_seen))
            .collect();
        open.sort_by_key(|(c, t)| (*t, *c));
        for (conn, _) in open {
            let ts = self.now;
            self.close(conn, ts, CloseReason::EndOfCapture, out);
        }
    }
}

/// The flow table's key: an IPv4 connection (nearly all) packed into two
/// words, which hash in two rounds and compare in two instructions; a
/// [`ConnId`] hashes field by field, in eight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FlowKey {
    V4(u64, u64),
    Other(ConnId),
}

impl FlowKey {
    fn of(c: &ConnId) -> FlowKey {
        let pack = |a: &SocketAddrV4| (u64::from(a.ip().to_bits()) << 16) | u64::from(a.port());
        match (c.client, c.server) {
            (SocketAddr::V4(a), SocketAddr::V4(b)) => FlowKey::V4(pack(&a), pack(&b)),
            _ => FlowKey::Other(*c),
        }
    }

    fn conn(&self) -> ConnId {
        let unpack = |w: u64| {
            SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from_bits((w >> 16) as u32),
                w as u16,
            ))
        };
        match *self {
            FlowKey::V4(a, b) => ConnId {
                client: unpack(a),
                server: unpack(b),
            },
            FlowKey::Other(c) => c,
        }
    }
}

impl Hash for FlowKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            FlowKey::V4(a, b) => {
                state.write_u64(*a);
                state.write_u64(*b);
            }
            FlowKey::Other(c) => c.hash(state),
        }
    }
}

/// The flow table's hash: a lookup a packet made the default SipHash a
/// twentieth of decode time. This multiply-fold (as in foldhash) costs a few
/// cycles a word, and stays keyed per process: the addresses and ports it
/// hashes are chosen by whoever sends packets.
#[derive(Clone)]
struct FlowHash {
    seed: u64,
    key: u64,
}

impl FlowHash {
    fn new() -> FlowHash {
        let r = std::collections::hash_map::RandomState::new();
        FlowHash {
            seed: r.hash_one(1u64),
            // Odd, so that the multiplication loses no bits.
            key: r.hash_one(2u64) | 1,
        }
    }
}

impl BuildHasher for FlowHash {
    type Hasher = FlowHasher;
    fn build_hasher(&self) -> FlowHasher {
        FlowHasher {
            h: self.seed,
            key: self.key,
        }
    }
}

struct FlowHasher {
    h: u64,
    key: u64,
}

impl FlowHasher {
    fn mix(&mut self, v: u64) {
        let p = u128::from(self.h ^ v) * u128::from(self.key);
        self.h = (p as u64) ^ ((p >> 64) as u64);
    }
}

impl Hasher for FlowHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            self.mix(u64::from_le_bytes(w));
        }
    }
    fn write_u8(&mut self, v: u8) {
        self.mix(u64::from(v));
    }
    fn write_u16(&mut self, v: u16) {
        self.mix(u64::from(v));
    }
    fn write_u32(&mut self, v: u32) {
        self.mix(u64::from(v));
    }
    fn write_u64(&mut self, v: u64) {
        self.mix(v);
    }
    fn write_usize(&mut self, v: usize) {
        self.mix(v as u64);
    }
    fn finish(&self) -> u64 {
        // One more round so the last word is spread over every bit.
        let p = u128::from(self.h) * u128::from(self.key ^ 0x9E37_79B9_7F4A_7C15);
        (p as u64) ^ ((p >> 64) as u64)
    }
}

/// The same connection always gets the same answer, without keeping state.
fn sampled(conn: &ConnId, fraction: f64) -> bool {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    conn.hash(&mut h);
    (h.finish() as f64 / u64::MAX as f64) < fraction
}

/// A segment of a tracked connection: reassembled, decoded; says whether
/// the connection ended with it.
fn on_segment(
    flow: &mut Flow,
    conn: ConnId,
    from_client: bool,
    ts: Timestamp,
    seg: &TcpSegment<'_>,
    out: &mut Vec<Event>,
    counters: &mut Counters,
) -> Option<CloseReason> {
    flow.last_seen = ts;
    let Flow {
        to_server,
        to_client,
        decoder,
        ..
    } = &mut *flow;
    let stream = if from_client { to_server } else { to_client };
    stream.segment_with(seg.seq, seg.syn, seg.payload, seg.wire_len, &mut |c| {
        feed_chunk(decoder, conn, from_client, ts, c, out, counters)
    });
    if seg.fin {
        if from_client {
            flow.fin_client = true;
        } else {
            flow.fin_server = true;
        }
    }
    if seg.rst {
        Some(CloseReason::Reset)
    } else if flow.fin_client && flow.fin_server {
        Some(CloseReason::Fin)
    } else {
        None
    }
}

fn feed<'a>(
    flow: &mut Flow,
    conn: ConnId,
    from_client: bool,
    ts: Timestamp,
    chunks: impl Iterator<Item = Chunk<'a>>,
    out: &mut Vec<Event>,
    counters: &mut Counters,
) {
    for c in chunks {
        feed_chunk(&mut flow.decoder, conn, from_client, ts, c, out, counters);
    }
}

fn feed_chunk(
    decoder: &mut Decoder,
    conn: ConnId,
    from_client: bool,
    ts: Timestamp,
    chunk: Chunk<'_>,
    out: &mut Vec<Event>,
    counters: &mut Counters,
) {
    match decoder {
        Decoder::Client(conv) => conv.feed(from_client, ts, chunk, out),
        Decoder::Quorum(q) => match chunk {
            Chunk::Data(d) => {
                let mut msgs = Vec::new();
                counters.quorum_skipped += q.feed(from_client, &d, &mut msgs);
                out.extend(msgs.into_iter().map(|message| {
                    Event::Quorum(QuorumSeen {
                        conn,
                        ts,
                        from_client_side: from_client,
                        message,
                    })
                }));
            }
            Chunk::Gap(_) => q.reset(from_client),
        },
    }
}

/// A whole capture file's events and counters.
#[derive(Debug)]
pub struct Analysis {
    pub events: Vec<Event>,
    pub counters: Counters,
    /// Set when the file ended in a truncated or corrupt record; everything
    /// before it is in `events`.
    pub truncated: Option<String>,
}

/// Reads a whole capture (for tests and small files; the CLI streams).
pub fn analyze_file(path: &Path, opts: &Options) -> Result<Analysis> {
    let mut src = FileSource::open(&path.to_string_lossy())?;
    let mut p = Pipeline::new(opts.clone());
    let mut events = Vec::new();
    let truncated = loop {
        match src.next_packet() {
            Ok(Next::Packet(pkt)) => p.packet(pkt, &mut events),
            Ok(Next::Idle) => {}
            Ok(Next::End) => break None,
            Err(e) => break Some(e.to_string()),
        }
    };
    p.finish(&mut events);
    Ok(Analysis {
        events,
        counters: p.counters(),
        truncated,
    })
}
