//! The golden quorum capture through the whole pipeline: pcap reading, TCP
//! reassembly, port-based protocol choice (2888 ZAB, 3888 election) and the
//! quorum decoders, checked against `fixtures/quorum-expected.json`.

#[path = "quorum_common.rs"]
mod common;

use common::{check_all, fixtures, sid_of_ip, Seen};
use zktraffic::model::Event;
use zktraffic::pipeline::{analyze_file, Options};

fn quorum_events() -> (Vec<Seen>, u64, Vec<Event>) {
    let analysis = analyze_file(&fixtures().join("quorum.pcap"), &Options::default())
        .expect("quorum.pcap analyzes");
    assert!(analysis.truncated.is_none(), "{:?}", analysis.truncated);
    let mut seen = Vec::new();
    for e in &analysis.events {
        if let Event::Quorum(q) = e {
            seen.push(Seen {
                client_side: q.from_client_side,
                server_sid: sid_of_ip(&q.conn.server.ip().to_string()),
                msg: q.message.clone(),
            });
        }
    }
    (seen, analysis.counters.quorum_skipped, analysis.events)
}

#[test]
fn capture_matches_the_workload() {
    let (seen, skipped, _) = quorum_events();
    check_all(&seen, skipped);
}

#[test]
fn capture_quorum_connections_are_on_quorum_ports() {
    let (_, _, events) = quorum_events();
    let mut n = 0;
    for e in &events {
        if let Event::Quorum(q) = e {
            n += 1;
            let port = q.conn.server.port();
            match q.message.protocol {
                zktraffic::quorum::QuorumProtocol::Zab => assert_eq!(port, 2888),
                zktraffic::quorum::QuorumProtocol::Election => assert_eq!(port, 3888),
                zktraffic::quorum::QuorumProtocol::ZkPeer => panic!("no zkserver in {port}"),
            }
            assert!(q.conn.server.ip().is_loopback() && q.conn.client.ip().is_loopback());
        }
    }
    assert!(n > 100, "{n} quorum events");
}
