//! Builds synthetic captures from real ones: the same conversation, cut into
//! segments differently (split, coalesced, reordered, duplicated, cut short).

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use etherparse::{NetSlice, PacketBuilder, SlicedPacket, TransportSlice};
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapReader, PcapWriter};
use pcap_file::DataLink;

pub fn proto_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../proto/tests/fixtures")
}

/// The port the golden captures' ZooKeeper listened on.
pub const GOLDEN_PORT: u16 = 21810;

/// One TCP payload in capture order.
#[derive(Debug, Clone)]
pub struct Seg {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub flags: Flags,
    pub payload: Vec<u8>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Flags {
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub rst: bool,
}

/// The TCP segments of a capture, in order (loopback captures are in order).
pub fn segments(path: &Path) -> Vec<Seg> {
    let mut r = PcapReader::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut out = Vec::new();
    while let Some(p) = r.next_packet() {
        let p = p.unwrap();
        let s = SlicedPacket::from_ethernet(&p.data).unwrap();
        let (Some(NetSlice::Ipv4(ip)), Some(TransportSlice::Tcp(t))) = (&s.net, &s.transport)
        else {
            continue;
        };
        out.push(Seg {
            src: SocketAddr::new(ip.header().source_addr().into(), t.source_port()),
            dst: SocketAddr::new(ip.header().destination_addr().into(), t.destination_port()),
            flags: Flags {
                syn: t.syn(),
                ack: t.ack(),
                fin: t.fin(),
                rst: t.rst(),
            },
            payload: t.payload().to_vec(),
        });
    }
    out
}

/// Writes segments as a pcap, numbering sequence numbers per direction from
/// the payload lengths (so reordering segments keeps their true positions).
/// `order` lists indices into `segs` (repeats = duplicates), `cut` optionally
/// shortens one written packet's captured length (snaplen).
pub fn write_pcap(path: &Path, segs: &[Seg], order: &[usize], cut: Option<(usize, usize)>) {
    // Sequence number of each segment = ISN + bytes before it in its direction.
    let mut seqs = vec![0u32; segs.len()];
    let mut next: std::collections::HashMap<(SocketAddr, SocketAddr), u32> = Default::default();
    for (i, s) in segs.iter().enumerate() {
        let n = next.entry((s.src, s.dst)).or_insert(1000);
        seqs[i] = *n;
        *n = n
            .wrapping_add(s.payload.len() as u32 + u32::from(s.flags.syn) + u32::from(s.flags.fin));
    }
    let header = PcapHeader {
        datalink: DataLink::ETHERNET,
        snaplen: 262_144,
        ..Default::default()
    };
    let mut w = PcapWriter::with_header(std::fs::File::create(path).unwrap(), header).unwrap();
    for (n, &i) in order.iter().enumerate() {
        let s = &segs[i];
        let (SocketAddr::V4(a), SocketAddr::V4(b)) = (s.src, s.dst) else {
            panic!("v4 only")
        };
        let mut tcp = PacketBuilder::ethernet2([0; 6], [0; 6])
            .ipv4(a.ip().octets(), b.ip().octets(), 64)
            .tcp(a.port(), b.port(), seqs[i], 65535);
        if s.flags.syn {
            tcp = tcp.syn();
        }
        if s.flags.ack {
            tcp = tcp.ack(1);
        }
        if s.flags.fin {
            tcp = tcp.fin();
        }
        if s.flags.rst {
            tcp = tcp.rst();
        }
        let mut frame = Vec::new();
        tcp.write(&mut frame, &s.payload).unwrap();
        let orig = frame.len() as u32;
        if let Some((at, keep)) = cut {
            if at == n {
                frame.truncate(keep);
            }
        }
        let ts = Duration::from_micros(1_700_000_000_000_000 + n as u64 * 100);
        w.write_packet(&PcapPacket::new(ts, orig, &frame)).unwrap();
    }
}

/// Splits segment `i`'s payload at `at` into two segments.
pub fn split(segs: &[Seg], i: usize, at: usize) -> Vec<Seg> {
    let mut out = segs.to_vec();
    let mut second = out[i].clone();
    second.payload = out[i].payload.split_off(at);
    second.flags.syn = false;
    out[i].flags.fin = false;
    out.insert(i + 1, second);
    out
}

/// Merges every run of consecutive same-direction data segments into one.
pub fn coalesce(segs: &[Seg]) -> Vec<Seg> {
    let mut out: Vec<Seg> = Vec::new();
    for s in segs {
        if let Some(last) = out.last_mut() {
            let plain = |f: &Flags| !f.syn && !f.fin && !f.rst;
            if last.src == s.src
                && last.dst == s.dst
                && plain(&last.flags)
                && plain(&s.flags)
                && !s.payload.is_empty()
                && !last.payload.is_empty()
            {
                last.payload.extend_from_slice(&s.payload);
                continue;
            }
        }
        out.push(s.clone());
    }
    out
}

pub fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zktraffic-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}
