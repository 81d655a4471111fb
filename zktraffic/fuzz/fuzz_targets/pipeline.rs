//! Reassembly and decoding under arbitrary segments: the input is a list of
//! (direction, connection, flags, sequence offset, payload) records turned into
//! raw IPv4/TCP packets for client, election and ZAB ports alike. Oracle: no
//! panic, no allocation beyond -malloc_limit_mb, bounded buffering.
#![no_main]

use std::time::Duration;

use etherparse::PacketBuilder;
use libfuzzer_sys::fuzz_target;
use zktraffic::link::linktype;
use zktraffic::pipeline::{Options, Pipeline};
use zktraffic::source::PacketRef;

fuzz_target!(|data: &[u8]| {
    let opts = Options { max_reorder_bytes: 4096, max_flows: 8, ..Options::default() };
    let mut p = Pipeline::new(opts);
    let mut out = Vec::new();
    let mut seqs = [[1000u32; 2]; 4];
    let mut rest = data;
    let mut n = 0u64;
    while rest.len() >= 4 {
        let (hdr, tail) = rest.split_at(4);
        let len = (hdr[3] as usize).min(tail.len());
        let (payload, tail) = tail.split_at(len);
        rest = tail;
        let from_client = hdr[0] & 1 == 1;
        let conn = ((hdr[0] >> 1) & 3) as usize;
        let server_port = [2181u16, 2181, 3888, 2888][conn];
        let client_port = 40000 + conn as u16;
        let dir = usize::from(!from_client);
        // Mostly in order; sometimes jump back or ahead to exercise reordering.
        let delta = i32::from(hdr[2] as i8) * if hdr[1] & 0x40 != 0 { 37 } else { 0 };
        let seq = seqs[conn][dir].wrapping_add(delta as u32);
        seqs[conn][dir] = seqs[conn][dir].wrapping_add(payload.len() as u32);
        let (src, dst) = if from_client { (client_port, server_port) } else { (server_port, client_port) };
        let mut b = PacketBuilder::ipv4([127, 0, 0, 1], [127, 0, 0, 2], 64).tcp(src, dst, seq, 1024);
        if hdr[1] & 1 != 0 {
            b = b.syn();
        }
        if hdr[1] & 2 != 0 {
            b = b.fin();
        }
        if hdr[1] & 4 != 0 {
            b = b.rst();
        }
        let mut pkt = Vec::new();
        if b.write(&mut pkt, payload).is_err() {
            continue;
        }
        // Sometimes pretend the snaplen cut the packet.
        let orig = pkt.len() as u32;
        if hdr[1] & 8 != 0 && pkt.len() > 44 {
            pkt.truncate(44);
        }
        n += 1;
        p.packet(PacketRef { ts: Duration::from_millis(n), linktype: linktype::RAW, data: &pkt, orig_len: orig }, &mut out);
        out.clear();
    }
    p.finish(&mut out);
});
