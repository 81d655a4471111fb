//! Packets in, events out: classifies TCP segments into connections by port,
//! reassembles each direction, hands the bytes to the connection's decoder,
//! and keeps memory bounded (flow count, reorder buffers, idle eviction).

use std::collections::HashMap;
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

    fn kind_of(&self, port: u16) -> Option<Kind> {
        if self.client_ports.contains(&port) {
            Some(Kind::Client)
        } else if self.zab_ports.contains(&port) {
            Some(Kind::Quorum(QuorumProtocol::Zab))
        } else if self.election_ports.contains(&port) {
            Some(Kind::Quorum(QuorumProtocol::Election))
        } else {
            None
        }
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
}

pub struct Pipeline {
    opts: Options,
    flows: HashMap<ConnId, Flow>,
    counters: Counters,
    // Finished flows' counters, folded in when they close.
    closed: (StreamCounters, ConversationCounters),
    now: Timestamp,
    last_sweep: Timestamp,
}

impl Pipeline {
    pub fn new(opts: Options) -> Pipeline {
        Pipeline {
            opts,
            flows: HashMap::new(),
            counters: Counters::default(),
            closed: Default::default(),
            now: Duration::ZERO,
            last_sweep: Duration::ZERO,
        }
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
        let (conn, from_client, kind) = if let Some(k) = self.opts.kind_of(seg.dst.port()) {
            (
                ConnId {
                    client: seg.src,
                    server: seg.dst,
                },
                true,
                k,
            )
        } else if let Some(k) = self.opts.kind_of(seg.src.port()) {
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
        // A new SYN on a known 4-tuple is a new connection reusing the ports.
        if seg.syn && !seg.ack && self.flows.contains_key(&conn) {
            self.close(conn, ts, CloseReason::Fin, out);
        }
        if !self.flows.contains_key(&conn) {
            if self.opts.sample < 1.0 && !sampled(&conn, self.opts.sample) {
                self.counters.sampled_out += 1;
                return;
            }
            if seg.rst || (!seg.syn && seg.wire_len == 0) {
                return; // bare ACKs/FINs/RSTs: the tail of a closed or untracked connection
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
                conn,
                Flow {
                    to_server: Stream::new(self.opts.max_reorder_bytes),
                    to_client: Stream::new(self.opts.max_reorder_bytes),
                    decoder,
                    last_seen: ts,
                    fin_client: false,
                    fin_server: false,
                },
            );
        }
        let flow = self.flows.get_mut(&conn).expect("inserted above");
        flow.last_seen = ts;
        // Chunks borrow the segment's payload; usually there is just one.
        let mut chunks = Vec::with_capacity(1);
        let stream = if from_client {
            &mut flow.to_server
        } else {
            &mut flow.to_client
        };
        stream.segment(seg.seq, seg.syn, seg.payload, seg.wire_len, &mut chunks);
        feed(
            flow,
            conn,
            from_client,
            ts,
            chunks.into_iter(),
            out,
            &mut self.counters,
        );
        if seg.fin {
            if from_client {
                flow.fin_client = true;
            } else {
                flow.fin_server = true;
            }
        }
        if seg.rst {
            self.close(conn, ts, CloseReason::Reset, out);
        } else if flow.fin_client && flow.fin_server {
            self.close(conn, ts, CloseReason::Fin, out);
        }
    }

    fn close(&mut self, conn: ConnId, ts: Timestamp, reason: CloseReason, out: &mut Vec<Event>) {
        let Some(mut flow) = self.flows.remove(&conn) else {
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
            .map(|(c, _)| *c)
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
            .map(|(c, _)| *c)
            .collect();
        for conn in idle {
            let ts = self.now;
            self.close(conn, ts, CloseReason::Evicted, out);
        }
    }

    /// End of input: every open connection is closed as such.
    pub fn finish(&mut self, out: &mut Vec<Event>) {
        let mut open: Vec<(ConnId, Timestamp)> =
            self.flows.iter().map(|(c, f)| (*c, f.last_seen)).collect();
        open.sort_by_key(|(c, t)| (*t, *c));
        for (conn, _) in open {
            let ts = self.now;
            self.close(conn, ts, CloseReason::EndOfCapture, out);
        }
    }
}

/// The same connection always gets the same answer, without keeping state.
fn sampled(conn: &ConnId, fraction: f64) -> bool {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    conn.hash(&mut h);
    (h.finish() as f64 / u64::MAX as f64) < fraction
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
    match &mut flow.decoder {
        Decoder::Client(conv) => {
            for c in chunks {
                conv.feed(from_client, ts, c, out);
            }
        }
        Decoder::Quorum(q) => {
            let mut msgs = Vec::new();
            for c in chunks {
                match c {
                    Chunk::Data(d) => counters.quorum_skipped += q.feed(from_client, &d, &mut msgs),
                    Chunk::Gap(_) => q.reset(from_client),
                }
            }
            out.extend(msgs.into_iter().map(|message| {
                Event::Quorum(QuorumSeen {
                    conn,
                    ts,
                    from_client_side: from_client,
                    message,
                })
            }));
        }
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
