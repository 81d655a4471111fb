//! zktraffic over the golden captures of real ZooKeeper 3.8 traffic (kazoo,
//! zkCli, the C client, a raw pre-3.4 handshake, four-letter words; kazoo and
//! zkCli also against zkserver), with the expected counts written from what
//! the workloads did (proto/tests/fixtures/expected.json), and over synthetic
//! re-cuts of them.

#[path = "../../proto/tests/expected/mod.rs"]
mod expected;
mod support;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use support::*;
use zktraffic::model::{CloseReason, Event};
use zktraffic::pipeline::{analyze_file, Analysis, Options};

fn opts() -> Options {
    Options {
        client_ports: vec![GOLDEN_PORT],
        ..Options::default()
    }
}

fn analyze(path: &Path) -> Analysis {
    let a = analyze_file(path, &opts()).unwrap();
    assert!(
        a.truncated.is_none(),
        "{}: {:?}",
        path.display(),
        a.truncated
    );
    a
}

fn expected() -> serde_json::Map<String, Value> {
    expected::load(&proto_fixtures())
}

#[derive(Debug, Default, PartialEq)]
struct Tally {
    requests: BTreeMap<i32, u64>,
    errors: BTreeMap<i32, u64>,
    notifications: u64,
    pings: u64,
    connects: u64,
    connected: u64,
    unpaired: u64,
    anomalies: u64,
    fourlw: Vec<String>,
}

fn tally(events: &[Event]) -> Tally {
    let mut t = Tally::default();
    for e in events {
        match e {
            Event::Exchange(x) => {
                if x.request_ts.is_none() || x.reply_ts.is_none() {
                    t.unpaired += 1;
                }
                if x.op == Some(zkproto::OpCode::Ping) {
                    t.pings += 1;
                    continue;
                }
                *t.requests.entry(x.opcode).or_default() += 1;
                if let Some(err) = x.err.filter(|e| !e.is_ok()) {
                    *t.errors.entry(err.0).or_default() += 1;
                }
            }
            Event::Notification(_) => t.notifications += 1,
            Event::Connect(_) => t.connects += 1,
            Event::Connected(_) => t.connected += 1,
            Event::FourLetter(f) => t.fourlw.push(f.word.to_string()),
            Event::Anomaly(_) => t.anomalies += 1,
            Event::Closed(_) | Event::Quorum(_) => {}
        }
    }
    t
}

#[test]
fn golden_captures_decode_to_what_the_workloads_did() {
    for (name, exp) in expected() {
        let a = analyze(&proto_fixtures().join(&name));
        let t = tally(&a.events);
        let c = a.counters;
        assert_eq!(c.conversation.decode_errors, 0, "{name}");
        assert_eq!(c.conversation.resync_skipped, 0, "{name}");
        assert_eq!(c.stream.gaps, 0, "{name}");
        assert_eq!(t.anomalies, 0, "{name}");
        assert_eq!(
            t.unpaired, 0,
            "{name}: every request answered, every reply paired"
        );

        assert_eq!(t.connects, t.connected, "{name}: every handshake answered");
        let observed = expected::Observed {
            requests: t.requests,
            errors: t.errors,
            notifications: t.notifications,
            pings: t.pings,
            connects: t.connects,
            fourlw: t.fourlw,
            ..Default::default()
        };
        expected::check(&name, &exp, &observed);
    }
}

#[test]
fn four_letter_answers_are_captured() {
    let a = analyze(&proto_fixtures().join("fourlw.pcap"));
    let answers: BTreeMap<String, String> = a
        .events
        .iter()
        .filter_map(|e| match e {
            Event::FourLetter(f) => Some((f.word.to_string(), f.answer.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        a.counters.flows_opened, 16,
        "one connection per word, nothing phantom"
    );
    assert_eq!(answers["ruok"], "imok");
    assert!(
        answers["srvr"].contains("Mode: standalone"),
        "{}",
        answers["srvr"]
    );
    assert!(answers["mntr"].contains("zk_version"), "mntr");
    assert_eq!(answers["isro"], "rw");
}

#[test]
fn sessions_are_tracked_and_latencies_measured() {
    let a = analyze(&proto_fixtures().join("kazoo.pcap"));
    let mut with_session = 0;
    for e in &a.events {
        if let Event::Exchange(x) = e {
            assert!(x.session.is_some(), "exchange without session: {x:?}");
            let lat = x.latency().unwrap();
            assert!(lat.as_secs() < 5, "implausible latency {lat:?}");
            with_session += 1;
        }
    }
    assert!(with_session > 40);
    // The auth with a bad scheme makes the server close that connection.
    assert!(a
        .events
        .iter()
        .any(|e| matches!(e, Event::Closed(c) if c.reason == CloseReason::Fin)));
}

/// The decoded (op, path, err) sequence of a capture, for comparing re-cuts.
fn signature(events: &[Event]) -> Vec<(i32, Option<String>, Option<i32>, i32)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Exchange(x) => Some((x.opcode, x.path.clone(), x.err.map(|e| e.0), x.xid)),
            Event::Notification(n) => Some((-1, Some(n.path.clone()), None, -1)),
            _ => None,
        })
        .collect()
}

#[test]
fn frames_split_at_every_byte_offset() {
    let segs = segments(&proto_fixtures().join("noreadonly.pcap"));
    let base = tmp("split-base.pcap");
    write_pcap(&base, &segs, &(0..segs.len()).collect::<Vec<_>>(), None);
    let want = signature(&analyze(&base).events);
    assert_eq!(want.len(), 3, "{want:?}");
    for i in 0..segs.len() {
        for at in 1..segs[i].payload.len() {
            let cut = split(&segs, i, at);
            let p = tmp("split.pcap");
            write_pcap(&p, &cut, &(0..cut.len()).collect::<Vec<_>>(), None);
            let a = analyze(&p);
            assert_eq!(signature(&a.events), want, "segment {i} split at {at}");
            assert_eq!(a.counters.conversation.decode_errors, 0);
        }
    }
}

#[test]
fn several_frames_per_segment_reordered_and_duplicated() {
    let segs = segments(&proto_fixtures().join("kazoo.pcap"));
    let base = tmp("kazoo-base.pcap");
    write_pcap(&base, &segs, &(0..segs.len()).collect::<Vec<_>>(), None);
    let want = signature(&analyze(&base).events);
    assert!(want.len() > 50);

    let merged = coalesce(&segs);
    assert!(merged.len() < segs.len());
    let p = tmp("kazoo-merged.pcap");
    write_pcap(&p, &merged, &(0..merged.len()).collect::<Vec<_>>(), None);
    assert_eq!(signature(&analyze(&p).events), want, "coalesced");

    // Swap each pair of adjacent same-direction data segments and send every
    // third one twice: reassembly must restore the original stream.
    let mut order: Vec<usize> = (0..segs.len()).collect();
    let mut i = 0;
    while i + 1 < order.len() {
        let (a, b) = (&segs[order[i]], &segs[order[i + 1]]);
        if a.src == b.src
            && !a.payload.is_empty()
            && !b.payload.is_empty()
            && !a.flags.fin
            && !b.flags.fin
        {
            order.swap(i, i + 1);
            i += 2;
        } else {
            i += 1;
        }
    }
    let order: Vec<usize> = order
        .iter()
        .enumerate()
        .flat_map(|(n, &k)| if n % 3 == 0 { vec![k, k] } else { vec![k] })
        .collect();
    let p = tmp("kazoo-reordered.pcap");
    write_pcap(&p, &segs, &order, None);
    let a = analyze(&p);
    let got = signature(&a.events);
    // A reply that arrives before its (reordered) request is unpaired, so
    // compare the requests' sequence, which reassembly must restore exactly.
    let reqs = |s: &[(i32, Option<String>, Option<i32>, i32)]| {
        let mut v: Vec<(i32, Option<String>, i32)> = s
            .iter()
            .filter(|x| x.0 != -1)
            .map(|x| (x.0, x.1.clone(), x.3))
            .collect();
        v.sort();
        v
    };
    assert!(a.counters.stream.duplicate_bytes > 0);
    assert!(a.counters.stream.out_of_order_segments > 0);
    assert_eq!(a.counters.stream.gaps, 0);
    assert_eq!(a.counters.conversation.decode_errors, 0);
    assert_eq!(reqs(&got).len(), reqs(&want).len());
}

#[test]
fn capture_starting_mid_stream_resyncs() {
    let segs = segments(&proto_fixtures().join("kazoo.pcap"));
    // Drop everything up to the middle of the first connection's 20th client
    // data segment, including its SYN and handshake.
    let first = &segs[0];
    let mut data_seen = 0;
    let mut start = 0;
    for (i, s) in segs.iter().enumerate() {
        if s.src == first.src && !s.payload.is_empty() {
            data_seen += 1;
            if data_seen == 20 {
                start = i;
                break;
            }
        }
    }
    let mut tail: Vec<Seg> = segs[start..].to_vec();
    let half = tail[0].payload.len() / 2;
    tail[0].payload.drain(..half.max(1));
    let p = tmp("midstream.pcap");
    write_pcap(&p, &tail, &(0..tail.len()).collect::<Vec<_>>(), None);
    let a = analyze(&p);
    let t = tally(&a.events);
    assert!(
        a.counters.conversation.resync_skipped > 0,
        "{:?}",
        a.counters
    );
    assert!(t.requests.values().sum::<u64>() > 20, "{t:?}");
}

#[test]
fn truncated_file_keeps_what_came_before() {
    let src = std::fs::read(proto_fixtures().join("kazoo.pcap")).unwrap();
    let whole = analyze(&proto_fixtures().join("kazoo.pcap"));
    for cut in [30, src.len() / 3, src.len() / 2, src.len() - 7] {
        let p = tmp("truncated.pcap");
        std::fs::write(&p, &src[..cut]).unwrap();
        let a = analyze_file(&p, &opts()).unwrap();
        assert!(a.truncated.is_some(), "cut at {cut} not reported");
        assert!(
            a.truncated.as_ref().unwrap().contains("truncated"),
            "{:?}",
            a.truncated
        );
        assert!(a.counters.packets < whole.counters.packets);
    }
    let p = tmp("empty.pcap");
    std::fs::write(&p, b"").unwrap();
    let e = analyze_file(&p, &opts()).unwrap_err();
    assert!(e.to_string().contains("not a pcap"), "{e}");
}

#[test]
fn snaplen_cut_packet_becomes_a_counted_gap() {
    let segs = segments(&proto_fixtures().join("kazoo.pcap"));
    let order: Vec<usize> = (0..segs.len()).collect();
    // Cut the 30th packet that carries data to 60 bytes (headers + a little).
    let victim = segs
        .iter()
        .enumerate()
        .filter(|(_, s)| s.payload.len() > 40)
        .nth(30)
        .unwrap()
        .0;
    let p = tmp("snaplen.pcap");
    write_pcap(&p, &segs, &order, Some((victim, 60)));
    let a = analyze(&p);
    assert_eq!(a.counters.snaplen_cut, 1);
    assert_eq!(a.counters.stream.gaps, 1);
    assert!(a.counters.stream.gap_bytes > 0);
    assert!(tally(&a.events).requests.values().sum::<u64>() > 40);
}

#[test]
fn garbage_on_the_port_is_counted_never_fatal() {
    let mut segs = segments(&proto_fixtures().join("noreadonly.pcap"));
    let client = segs[0].src;
    let server = segs[0].dst;
    let mut junk = Vec::new();
    let mut x: u32 = 12345;
    for _ in 0..5000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        junk.push((x >> 16) as u8);
    }
    let other = std::net::SocketAddr::new(client.ip(), client.port().wrapping_add(1));
    for chunk in junk.chunks(700) {
        segs.push(Seg {
            src: other,
            dst: server,
            flags: Default::default(),
            payload: chunk.to_vec(),
        });
        segs.push(Seg {
            src: server,
            dst: other,
            flags: Default::default(),
            payload: chunk.iter().rev().copied().collect(),
        });
    }
    let p = tmp("garbage.pcap");
    write_pcap(&p, &segs, &(0..segs.len()).collect::<Vec<_>>(), None);
    let a = analyze(&p);
    let t = tally(&a.events);
    // The real conversation is intact; the garbage is accounted for.
    assert_eq!(t.requests.get(&4), Some(&1));
    assert!(a.counters.conversation.resync_skipped + a.counters.conversation.decode_errors > 0);
}

#[test]
fn retransmitted_syn_is_the_same_connection() {
    let segs = segments(&proto_fixtures().join("noreadonly.pcap"));
    let syn = segs
        .iter()
        .position(|s| s.flags.syn && !s.flags.ack)
        .unwrap();
    let base = tmp("syn-once.pcap");
    write_pcap(&base, &segs, &(0..segs.len()).collect::<Vec<_>>(), None);
    let once = analyze(&base);
    // The same SYN again, after the handshake has started.
    let mut order: Vec<usize> = (0..segs.len()).collect();
    order.insert(syn + 2, syn);
    let p = tmp("syn-twice.pcap");
    write_pcap(&p, &segs, &order, None);
    let twice = analyze(&p);
    assert_eq!(twice.counters.flows_opened, once.counters.flows_opened);
    assert_eq!(signature(&twice.events), signature(&once.events));
}

/// The same packets as pcapng (default microsecond resolution, so raw
/// ticks must be rescaled) and through stdin decode to the same events.
#[test]
fn pcapng_and_stdin_read_the_same() {
    use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
    use pcap_file::pcapng::blocks::interface_description::{
        InterfaceDescriptionBlock, InterfaceDescriptionOption,
    };
    use pcap_file::pcapng::PcapNgWriter;

    let src = proto_fixtures().join("kazoo.pcap");
    let want = analyze(&src);
    let mut r = pcap_file::pcap::PcapReader::new(std::fs::File::open(&src).unwrap()).unwrap();
    let ng = tmp("kazoo.pcapng");
    let mut w = PcapNgWriter::new(std::fs::File::create(&ng).unwrap()).unwrap();
    w.write_pcapng_block(InterfaceDescriptionBlock {
        linktype: pcap_file::DataLink::ETHERNET,
        snaplen: 262_144,
        // No if_tsresol: the pcapng default, microseconds.
        options: Vec::<InterfaceDescriptionOption>::new(),
    })
    .unwrap();
    while let Some(p) = r.next_packet() {
        let p = p.unwrap();
        // pcap-file writes a Duration's nanoseconds as the raw tick count;
        // pass microseconds through it so the ticks are in the declared unit.
        w.write_pcapng_block(EnhancedPacketBlock {
            interface_id: 0,
            timestamp: std::time::Duration::from_nanos(p.timestamp.as_micros() as u64),
            original_len: p.orig_len,
            data: p.data.clone(),
            options: vec![],
        })
        .unwrap();
    }
    drop(w);
    let got = analyze(&ng);
    assert_eq!(signature(&got.events), signature(&want.events));
    assert_eq!(
        got.events.first().map(Event::ts),
        want.events.first().map(Event::ts),
        "timestamps rescaled by if_tsresol"
    );

    // `-r -`: the binary reading stdin prints the same JSON as reading the file.
    let bin = env!("CARGO_BIN_EXE_zktraffic");
    let from_file = std::process::Command::new(bin)
        .args(["-r"])
        .arg(&src)
        .args(["-p", "21810", "--json"])
        .output()
        .unwrap();
    let from_stdin = std::process::Command::new(bin)
        .args(["-r", "-", "-p", "21810", "--json"])
        .stdin(std::fs::File::open(&src).unwrap())
        .output()
        .unwrap();
    assert!(from_file.status.success() && from_stdin.status.success());
    assert!(from_file.stdout.len() > 1000);
    assert_eq!(from_file.stdout, from_stdin.stdout);
}
