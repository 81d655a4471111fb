//! The quorum decoders on real traffic, without the capture pipeline: each
//! connection of `fixtures/quorum.pcap` as two byte streams
//! (`fixtures/quorum-streams/`, made by `scripts/capture-quorum.sh`), fed in
//! chunks of varying size.

#[path = "quorum_common.rs"]
mod common;

use common::{check_all, fixtures, sid_of_ip, Seen};
use serde_json::Value;
use zktraffic::quorum::{QuorumDecoder, QuorumProtocol};

/// A small deterministic generator for chunk sizes.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as usize
    }
}

/// Decodes every stream; `max_chunk` 0 = each stream in one call.
fn decode_streams(max_chunk: usize, seed: u64) -> (Vec<Seen>, u64) {
    let dir = fixtures().join("quorum-streams");
    let index: Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).expect("index.json"))
            .unwrap();
    let mut rng = Lcg(seed);
    let mut seen = Vec::new();
    let mut skipped = 0;
    let conns = index.as_array().unwrap();
    assert!(conns.len() >= 4, "{} connections", conns.len());
    for conn in conns {
        let proto = match conn["protocol"].as_str().unwrap() {
            "zab" => QuorumProtocol::Zab,
            "fle" => QuorumProtocol::Election,
            p => panic!("protocol {p}"),
        };
        let server_ip = conn["server"].as_str().unwrap().rsplit_once(':').unwrap().0;
        let server_sid = sid_of_ip(server_ip);
        assert!(server_sid.is_some(), "{server_ip}");
        let mut d = QuorumDecoder::new(proto);
        // The initiator's stream first: election messages name the peer the
        // initiator announced in its header.
        for (client, key) in [(true, "c2s"), (false, "s2c")] {
            let data = std::fs::read(dir.join(conn[key].as_str().unwrap())).unwrap();
            assert_eq!(
                data.len() as u64,
                conn[format!("{key}_len")].as_u64().unwrap()
            );
            let mut out = Vec::new();
            let mut at = 0;
            while at < data.len() {
                let n = if max_chunk == 0 {
                    data.len()
                } else {
                    1 + rng.next() % max_chunk
                };
                let end = (at + n).min(data.len());
                skipped += d.feed(client, &data[at..end], &mut out);
                at = end;
            }
            seen.extend(out.into_iter().map(|msg| Seen {
                client_side: client,
                server_sid,
                msg,
            }));
        }
        // A stream may end mid-packet only where a node was killed.
        let (c, s) = d.buffered();
        assert!(c < 64 && s < 64, "left over {c}/{s} bytes");
    }
    (seen, skipped)
}

#[test]
fn real_streams_whole() {
    let (seen, skipped) = decode_streams(0, 1);
    check_all(&seen, skipped);
}

#[test]
fn real_streams_in_small_chunks() {
    let (whole, _) = decode_streams(0, 1);
    for (max, seed) in [(1, 7), (7, 11), (300, 13), (5000, 17)] {
        let (seen, skipped) = decode_streams(max, seed);
        check_all(&seen, skipped);
        let a: Vec<_> = whole.iter().map(|s| &s.msg).collect();
        let b: Vec<_> = seen.iter().map(|s| &s.msg).collect();
        assert_eq!(a, b, "chunks of at most {max} bytes");
    }
}

#[test]
fn real_streams_sample_summaries() {
    let (seen, _) = decode_streams(0, 1);
    let proposal = seen
        .iter()
        .find(|s| s.msg.kind == "proposal" && s.msg.fields["txn"]["type"] == "create")
        .unwrap();
    let re = proposal.msg.summary.clone();
    assert!(
        re.starts_with("PROPOSAL zxid=0x1000000")
            && re.contains(" session=0x")
            && re.contains(" cxid=1 create /qcap"),
        "{re}"
    );
    let note = seen.iter().find(|s| s.msg.kind == "notification").unwrap();
    assert!(
        note.msg.summary.starts_with("notification "),
        "{}",
        note.msg.summary
    );
}
