//! Reads the checked-in captures into whole TCP conversations.
//!
//! Loopback captures arrive in order, so this is a deliberately small
//! reassembler: order by sequence number, drop bytes already seen. zktraffic
//! has the real one (out-of-order, mid-stream starts, bounded memory).

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use pcap_file::pcap::PcapReader;

#[derive(Default, Debug)]
pub struct Direction {
    isn: Option<u32>,
    segments: BTreeMap<u32, Vec<u8>>,
}

impl Direction {
    fn push(&mut self, seq: u32, syn: bool, payload: &[u8]) {
        if syn {
            self.isn = Some(seq.wrapping_add(1));
        }
        if payload.is_empty() {
            return;
        }
        let base = *self.isn.get_or_insert(seq);
        let off = seq.wrapping_sub(base);
        let e = self.segments.entry(off).or_default();
        if payload.len() > e.len() {
            *e = payload.to_vec();
        }
    }

    pub fn bytes(&self) -> Vec<u8> {
        let mut out: Vec<u8> = Vec::new();
        for (&off, seg) in &self.segments {
            let off = off as usize;
            assert!(off <= out.len(), "gap in capture at offset {off}");
            if off + seg.len() > out.len() {
                out.extend_from_slice(&seg[out.len() - off..]);
            }
        }
        out
    }
}

#[derive(Debug)]
pub struct Conversation {
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub to_server: Vec<u8>,
    pub to_client: Vec<u8>,
}

/// Every TCP connection in a pcap file, in order of first packet. The client
/// is the side that sent the SYN.
pub fn conversations(path: &Path) -> Vec<Conversation> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = PcapReader::new(file).expect("pcap header");
    let mut order: Vec<(SocketAddr, SocketAddr)> = Vec::new();
    let mut flows: BTreeMap<(SocketAddr, SocketAddr), Direction> = BTreeMap::new();
    let mut clients: Vec<SocketAddr> = Vec::new();
    while let Some(pkt) = reader.next_packet() {
        let pkt = pkt.expect("pcap record");
        assert_eq!(
            pkt.orig_len as usize,
            pkt.data.len(),
            "capture was cut by snaplen"
        );
        let sliced = SlicedPacket::from_ethernet(&pkt.data).expect("ethernet/IP/TCP");
        let (src_ip, dst_ip): (IpAddr, IpAddr) = match &sliced.net {
            Some(NetSlice::Ipv4(v4)) => (
                v4.header().source_addr().into(),
                v4.header().destination_addr().into(),
            ),
            Some(NetSlice::Ipv6(v6)) => (
                v6.header().source_addr().into(),
                v6.header().destination_addr().into(),
            ),
            _ => continue,
        };
        let Some(TransportSlice::Tcp(tcp)) = &sliced.transport else {
            continue;
        };
        let src = SocketAddr::new(src_ip, tcp.source_port());
        let dst = SocketAddr::new(dst_ip, tcp.destination_port());
        if tcp.syn() && !tcp.ack() {
            clients.push(src);
        }
        let key = (src, dst);
        if !flows.contains_key(&key) && !flows.contains_key(&(dst, src)) {
            order.push(key);
        }
        flows
            .entry(key)
            .or_default()
            .push(tcp.sequence_number(), tcp.syn(), tcp.payload());
    }
    order
        .into_iter()
        .map(|(a, b)| {
            let (client, server) = if clients.contains(&a) { (a, b) } else { (b, a) };
            let get = |k| flows.get(&k).map(Direction::bytes).unwrap_or_default();
            Conversation {
                client,
                server,
                to_server: get((client, server)),
                to_client: get((server, client)),
            }
        })
        .collect()
}
