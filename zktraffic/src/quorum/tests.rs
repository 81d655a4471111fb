//! Stream-level tests of [`QuorumDecoder`] on hand-built byte streams.

use super::fle::build as fb;
use super::txn::build as tb;
use super::zab::build as zb;
use super::zab::*;
use super::*;
use zkproto::JuteWrite;

fn feed_all(d: &mut QuorumDecoder, client: bool, chunks: &[&[u8]]) -> (Vec<QuorumMessage>, u64) {
    let mut out = Vec::new();
    let skipped = chunks.iter().map(|c| d.feed(client, c, &mut out)).sum();
    (out, skipped)
}

fn txn(ttype: i32, zxid: i64, body: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut d = Vec::new();
    tb::header(&mut d, 0x1_0000_0abc, 7, zxid, 1_700_000_000_000, ttype);
    body(&mut d);
    tb::digest(&mut d);
    d
}

/// One packet of every type, as each side would send it, with the summary
/// each must produce. `true` = sent by the learner (the connecting side).
fn every_zab_packet() -> Vec<(bool, Vec<u8>, &'static str)> {
    let mut v = Vec::new();
    let mut add = |client: bool,
                   t: i32,
                   zxid: i64,
                   data: Option<Vec<u8>>,
                   auth: &[(&str, &str)],
                   want: &'static str| {
        let mut w = Vec::new();
        zb::packet(&mut w, t, zxid, data.as_deref(), auth);
        v.push((client, w, want));
    };
    let mut li = Vec::new();
    li.put_i64(2);
    li.put_i32(0x10000);
    li.put_i64(0x1_0000_0000);
    add(
        true,
        FOLLOWERINFO,
        0x1_0000_0000,
        Some(li.clone()),
        &[],
        "FOLLOWERINFO zxid=0x100000000 sid=2 accepted_epoch=1 protocol=0x10000 config_version=0x100000000",
    );
    add(
        true,
        OBSERVERINFO,
        0,
        Some(li[..8].to_vec()),
        &[],
        "OBSERVERINFO zxid=0x0 sid=2 accepted_epoch=0",
    );
    add(
        false,
        LEADERINFO,
        0x2_0000_0000,
        Some(0x10000i32.to_be_bytes().to_vec()),
        &[],
        "LEADERINFO zxid=0x200000000 new_epoch=2 protocol=0x10000",
    );
    add(
        true,
        ACKEPOCH,
        0x1_0000_0005,
        Some(1i32.to_be_bytes().to_vec()),
        &[],
        "ACKEPOCH zxid=0x100000005 current_epoch=1",
    );
    add(
        false,
        DIFF,
        0x1_0000_0005,
        None,
        &[],
        "DIFF zxid=0x100000005",
    );
    add(
        false,
        TRUNC,
        0x1_0000_0004,
        None,
        &[],
        "TRUNC zxid=0x100000004",
    );
    add(
        false,
        NEWLEADER,
        0x2_0000_0000,
        Some(b"server.1=127.0.0.11:2888:3888:participant\nversion=100000000".to_vec()),
        &[],
        "NEWLEADER zxid=0x200000000 new_epoch=2 config_version=0x100000000",
    );
    add(true, ACK, 0x2_0000_0000, None, &[], "ACK zxid=0x200000000");
    add(false, UPTODATE, -1, None, &[], "UPTODATE");
    add(
        false,
        PROPOSAL,
        0x2_0000_0001,
        Some(txn(1, 0x2_0000_0001, |w| {
            tb::create_txn(w, "/foo", b"v", false, 1)
        })),
        &[],
        "PROPOSAL zxid=0x200000001 session=0x100000abc cxid=7 create /foo",
    );
    add(
        false,
        COMMIT,
        0x2_0000_0001,
        None,
        &[],
        "COMMIT zxid=0x200000001",
    );
    add(
        false,
        PING,
        0x2_0000_0001,
        None,
        &[],
        "PING zxid=0x200000001",
    );
    let mut pings = Vec::new();
    for (id, to) in [(0x1_0000_0abci64, 30000i32), (0x1_0000_0abd, 4000)] {
        pings.put_i64(id);
        pings.put_i32(to);
    }
    add(
        true,
        PING,
        0x2_0000_0001,
        Some(pings),
        &[],
        "PING zxid=0x200000001 sessions=2: 0x100000abc/30000ms, 0x100000abd/4000ms",
    );
    let mut req = Vec::new();
    req.put_i64(0x1_0000_0abc);
    req.put_i32(9);
    req.put_i32(5);
    req.put_ustring("/foo");
    req.put_buffer(Some(b"new"));
    req.put_i32(-1);
    add(
        true,
        REQUEST,
        -1,
        Some(req),
        &[("ip", "127.0.0.1"), ("digest", "bob:hash")],
        "REQUEST session=0x100000abc cxid=9 setData /foo",
    );
    let mut rv = Vec::new();
    rv.put_i64(0x1_0000_0abc);
    rv.put_i32(30000);
    add(
        true,
        REVALIDATE,
        -1,
        Some(rv),
        &[],
        "REVALIDATE session=0x100000abc timeout=30000ms",
    );
    let mut rv = Vec::new();
    rv.put_i64(0x1_0000_0abc);
    rv.put_bool(true);
    add(
        false,
        REVALIDATE,
        -1,
        Some(rv),
        &[],
        "REVALIDATE session=0x100000abc valid=true",
    );
    add(false, SYNC, 0, None, &[], "SYNC");
    add(
        false,
        INFORM,
        0x2_0000_0002,
        Some(txn(2, 0x2_0000_0002, |w| w.put_ustring("/gone"))),
        &[],
        "INFORM zxid=0x200000002 session=0x100000abc cxid=7 delete /gone",
    );
    add(
        false,
        COMMITANDACTIVATE,
        0x2_0000_0003,
        Some(3i64.to_be_bytes().to_vec()),
        &[],
        "COMMITANDACTIVATE zxid=0x200000003 suggested_leader=3",
    );
    let mut ia = 3i64.to_be_bytes().to_vec();
    ia.extend(txn(16, 0x2_0000_0003, |w| {
        tb::set_data_txn(w, "/zookeeper/config", b"version=200000003", -1)
    }));
    add(
        false,
        INFORMANDACTIVATE,
        0x2_0000_0003,
        Some(ia),
        &[],
        "INFORMANDACTIVATE zxid=0x200000003 suggested_leader=3 session=0x100000abc cxid=7 \
         reconfig /zookeeper/config version=-1",
    );
    add(
        false,
        SNAP,
        0x2_0000_0003,
        None,
        &[],
        "SNAP zxid=0x200000003",
    );
    v
}

#[test]
fn every_zab_packet_type_decodes() {
    let all = every_zab_packet();
    let types: std::collections::BTreeSet<i32> = all
        .iter()
        .map(|(_, w, _)| i32::from_be_bytes([w[0], w[1], w[2], w[3]]))
        .collect();
    assert_eq!(types.len(), 19, "one packet of each of the 19 types");
    for (client, w, want) in &all {
        let mut d = QuorumDecoder::new(QuorumProtocol::Zab);
        let (m, skipped) = feed_all(&mut d, *client, &[w]);
        assert_eq!(skipped, 0, "{want}");
        assert_eq!(m.len(), 1, "{want}");
        assert_eq!(m[0].summary, *want);
        assert!(
            m[0].fields.get("data_error").is_none(),
            "{want}: {}",
            m[0].fields
        );
        assert_eq!(m[0].protocol, QuorumProtocol::Zab);
        assert!(!m[0].summary.contains('\n'));
    }
}

#[test]
fn request_auth_info_is_masked() {
    let all = every_zab_packet();
    let (_, w, _) = all
        .iter()
        .find(|(_, _, s)| s.starts_with("REQUEST"))
        .unwrap();
    let mut d = QuorumDecoder::new(QuorumProtocol::Zab);
    let (m, _) = feed_all(&mut d, true, &[w]);
    assert_eq!(m[0].fields["authinfo"][1]["id"], "bob:***");
    assert_eq!(m[0].fields["op"], "setData");
    assert_eq!(m[0].fields["path"], "/foo");
}

/// Every packet, plus a SNAP followed by a snapshot body, as one stream per
/// direction.
fn zab_streams() -> (Vec<u8>, Vec<u8>, usize, usize) {
    let mut c = Vec::new();
    let mut s = Vec::new();
    let (mut nc, mut ns) = (0, 0);
    for (client, w, _) in every_zab_packet() {
        if client {
            c.extend(w);
            nc += 1;
        } else {
            s.extend(w);
            ns += 1;
        }
    }
    // The SNAP is last on the server side: its snapshot follows, then more.
    zb::snapshot(
        &mut s,
        3,
        &["", "/zookeeper", "/zookeeper/quota", "/a"],
        b"xy",
    );
    ns += 1;
    zb::packet(&mut s, UPTODATE, -1, None, &[]);
    ns += 1;
    (c, s, nc, ns)
}

#[test]
fn many_messages_in_one_call() {
    let (c, s, nc, ns) = zab_streams();
    let mut d = QuorumDecoder::new(QuorumProtocol::Zab);
    let (mc, sk1) = feed_all(&mut d, true, &[&c]);
    let (ms, sk2) = feed_all(&mut d, false, &[&s]);
    assert_eq!((sk1, sk2), (0, 0));
    assert_eq!((mc.len(), ms.len()), (nc, ns));
    let snap = &ms[ms.len() - 2];
    assert_eq!(snap.kind, "snapshot");
    assert_eq!(snap.fields["nodes"], 4);
    assert_eq!(snap.fields["sessions"], 3);
    assert_eq!(snap.fields["acl_entries"], 1);
    assert_eq!(ms[ms.len() - 1].kind, "up_to_date");
    assert_eq!(d.buffered(), (0, 0));
}

#[test]
fn split_at_every_offset() {
    let (c, s, _, _) = zab_streams();
    let mut whole = QuorumDecoder::new(QuorumProtocol::Zab);
    let (want_c, _) = feed_all(&mut whole, true, &[&c]);
    let (want_s, _) = feed_all(&mut whole, false, &[&s]);
    for (client, stream, want) in [(true, &c, &want_c), (false, &s, &want_s)] {
        for at in 0..=stream.len() {
            let mut d = QuorumDecoder::new(QuorumProtocol::Zab);
            let (m, skipped) = feed_all(&mut d, client, &[&stream[..at], &stream[at..]]);
            assert_eq!(skipped, 0, "split at {at}");
            assert_eq!(&m, want, "split at {at}");
        }
    }
}

#[test]
fn byte_at_a_time() {
    let (_, s, _, ns) = zab_streams();
    let mut d = QuorumDecoder::new(QuorumProtocol::Zab);
    let chunks: Vec<&[u8]> = s.chunks(1).collect();
    let (m, skipped) = feed_all(&mut d, false, &chunks);
    assert_eq!((m.len(), skipped), (ns, 0));
}

#[test]
fn zab_garbage_is_skipped_and_counted() {
    let mut a = Vec::new();
    zb::packet(&mut a, COMMIT, 0x1_0000_0001, None, &[]);
    let garbage = b"\xde\xad\xbe\xef this is not a quorum packet \xff\xfe";
    let mut b = Vec::new();
    zb::packet(
        &mut b,
        PROPOSAL,
        0x1_0000_0002,
        Some(&txn(5, 0x1_0000_0002, |w| {
            tb::set_data_txn(w, "/x", b"1", 0)
        })),
        &[],
    );
    zb::packet(&mut b, COMMIT, 0x1_0000_0002, None, &[]);
    let mut stream = a.clone();
    stream.extend_from_slice(garbage);
    stream.extend_from_slice(&b);
    for at in [0, 5, a.len() + 3, stream.len() - 3] {
        let mut d = QuorumDecoder::new(QuorumProtocol::Zab);
        let (m, skipped) = feed_all(&mut d, false, &[&stream[..at], &stream[at..]]);
        assert_eq!(skipped, garbage.len() as u64, "split at {at}");
        let kinds: Vec<&str> = m.iter().map(|m| m.kind.as_str()).collect();
        assert_eq!(kinds, ["commit", "proposal", "commit"]);
    }
}

#[test]
fn zab_garbage_with_plausible_header_resyncs() {
    // A fake header announcing a huge (but allowed) data length, inside
    // garbage: it must not swallow the packets that follow forever.
    let mut stream = vec![0, 0, 0, 2]; // PROPOSAL
    stream.extend_from_slice(&0x1_0000_0001i64.to_be_bytes());
    stream.extend_from_slice(&1_000_000i32.to_be_bytes());
    stream.extend_from_slice(&[0x55; 64]);
    let garbage = stream.len();
    let mut good = Vec::new();
    for z in 0..2000 {
        zb::packet(&mut good, ACK, z, None, &[]);
    }
    let mut d = QuorumDecoder::new(QuorumProtocol::Zab);
    let mut out = Vec::new();
    let mut skipped = d.feed(true, &stream, &mut out);
    // Until a million bytes arrive the fake packet looks merely incomplete.
    for chunk in good.chunks(1000) {
        skipped += d.feed(true, chunk, &mut out);
    }
    let filler = vec![0x77u8; 1_000_100];
    skipped += d.feed(true, &filler, &mut out);
    // Once enough bytes are there the fake one fails and the ACKs decode.
    assert!(out.len() >= 2000, "{}", out.len());
    assert!(out[..2000].iter().all(|m| m.kind == "ack"));
    assert!(skipped >= garbage as u64);
    let (c, _) = d.buffered();
    assert!(c <= MAX_PACKET + 64 * 1024);
}

#[test]
fn reset_drops_partial_and_resyncs() {
    let mut a = Vec::new();
    zb::packet(
        &mut a,
        PROPOSAL,
        0x1_0000_0002,
        Some(&txn(5, 0x1_0000_0002, |w| {
            tb::set_data_txn(w, "/x", b"1", 0)
        })),
        &[],
    );
    let mut b = Vec::new();
    zb::packet(&mut b, COMMIT, 0x1_0000_0002, None, &[]);
    let mut d = QuorumDecoder::new(QuorumProtocol::Zab);
    let mut out = Vec::new();
    d.feed(false, &a[..10], &mut out);
    d.reset(false);
    assert_eq!(d.buffered(), (0, 0));
    // After the gap the stream resumes mid-packet: the tail is skipped.
    let tail = &a[20..];
    let mut s = tail.to_vec();
    s.extend_from_slice(&b);
    let skipped = d.feed(false, &s, &mut out);
    assert_eq!(skipped, tail.len() as u64);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].kind, "commit");
}

#[test]
fn gap_inside_a_snapshot() {
    let mut s = Vec::new();
    zb::packet(&mut s, SNAP, 0x100, None, &[]);
    let body_start = s.len();
    zb::snapshot(&mut s, 1, &["", "/a", "/b"], b"data");
    zb::packet(&mut s, NEWLEADER, 0x1_0000_0000, None, &[]);
    let mut d = QuorumDecoder::new(QuorumProtocol::Zab);
    let mut out = Vec::new();
    d.feed(false, &s[..body_start + 30], &mut out);
    d.reset(false);
    let resume = body_start + 40;
    let skipped = d.feed(false, &s[resume..], &mut out);
    let kinds: Vec<&str> = out.iter().map(|m| m.kind.as_str()).collect();
    assert_eq!(kinds, ["snap", "snapshot", "new_leader"]);
    assert_eq!(out[1].fields["complete"], false);
    let newleader_len = 4 + 8 + 4 + 4;
    assert_eq!(skipped, (s.len() - resume - 14 - newleader_len) as u64);
}

// ---------------------------------------------------------------- election

const CFG: &str = "server.1=127.0.0.11:2888:3888:participant\n\
                   server.2=127.0.0.12:2888:3888:participant\nversion=0";

fn election_streams() -> (Vec<u8>, Vec<u8>) {
    let mut c = Vec::new();
    fb::header_v1(&mut c, 3, "127.0.0.13:3888");
    fb::notification(&mut c, 0, 3, 0, 1, 0, Some(CFG));
    fb::notification(&mut c, 0, 3, 0x1_0000_0002, 2, 1, Some(CFG));
    fb::notification(&mut c, 2, 3, 0x1_0000_0002, 2, 1, None);
    let mut s = Vec::new();
    fb::notification(&mut s, 0, 2, 0, 1, 0, Some(CFG));
    fb::notification(&mut s, 1, 3, 0x1_0000_0002, 2, 1, Some(CFG));
    fb::notification(&mut s, 3, 3, 0x1_0000_0002, 2, 1, Some(CFG));
    (c, s)
}

#[test]
fn election_split_at_every_offset() {
    let (c, s) = election_streams();
    let mut whole = QuorumDecoder::new(QuorumProtocol::Election);
    let (want_c, k1) = feed_all(&mut whole, true, &[&c]);
    let (want_s, k2) = feed_all(&mut whole, false, &[&s]);
    assert_eq!((k1, k2), (0, 0));
    assert_eq!((want_c.len(), want_s.len()), (4, 3));
    assert_eq!(want_c[0].fields["sid"], 3);
    assert_eq!(want_s[1].fields["state"], "FOLLOWING");
    assert_eq!(want_s[2].fields["state"], "OBSERVING");
    assert_eq!(want_s[0].fields["receiver_sid"], 3);
    assert_eq!(want_s[0].fields["config_version"], "0x0");
    for (client, stream, want) in [(true, &c, &want_c), (false, &s, &want_s)] {
        for at in 0..=stream.len() {
            let mut d = QuorumDecoder::new(QuorumProtocol::Election);
            if !client {
                // The receiver learns the initiator's sid from its header.
                feed_all(&mut d, true, &[&c]);
            }
            let (m, skipped) = feed_all(&mut d, client, &[&stream[..at], &stream[at..]]);
            assert_eq!(skipped, 0, "split at {at}");
            assert_eq!(&m, want, "split at {at}");
        }
    }
}

#[test]
fn election_garbage_is_skipped_and_counted() {
    let (c, _) = election_streams();
    let garbage = b"\x00\x00\x00\x05hello\x00\x00\x01";
    let header_len = 8 + 8 + 4 + "127.0.0.13:3888".len();
    let mut stream = c[..header_len].to_vec();
    stream.extend_from_slice(garbage);
    stream.extend_from_slice(&c[header_len..]);
    for at in 0..=stream.len() {
        let mut d = QuorumDecoder::new(QuorumProtocol::Election);
        let (m, skipped) = feed_all(&mut d, true, &[&stream[..at], &stream[at..]]);
        assert_eq!(skipped, garbage.len() as u64, "split at {at}");
        assert_eq!(m.len(), 4, "split at {at}");
    }
}

#[test]
fn election_bad_header_then_messages() {
    // A protocol version ZooKeeper does not know: not a header.
    let mut s = Vec::new();
    s.extend_from_slice(&(-70000i64).to_be_bytes());
    fb::notification(&mut s, 0, 1, 0, 1, 0, None);
    let mut d = QuorumDecoder::new(QuorumProtocol::Election);
    let (m, skipped) = feed_all(&mut d, true, &[&s]);
    assert_eq!(skipped, 8);
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].kind, "notification");
}

#[test]
fn election_oversized_length_is_skipped() {
    let mut s = Vec::new();
    s.extend_from_slice(&(600 * 1024i32).to_be_bytes());
    fb::notification(&mut s, 0, 1, 0, 1, 0, None);
    let mut d = QuorumDecoder::new(QuorumProtocol::Election);
    let (m, skipped) = feed_all(&mut d, false, &[&s]);
    assert_eq!((m.len(), skipped), (1, 4));
}

// ---------------------------------------------------------------- robustness

/// A small deterministic generator, so the test needs no extra crates.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn random_and_mutated_input_never_panics() {
    let (zc, zs, _, _) = zab_streams();
    let (ec, es) = election_streams();
    let mut rng = Lcg(42);
    for round in 0..300 {
        for (proto, base) in [
            (QuorumProtocol::Zab, &zc),
            (QuorumProtocol::Zab, &zs),
            (QuorumProtocol::Election, &ec),
            (QuorumProtocol::Election, &es),
        ] {
            let mut s = base.clone();
            if round % 3 == 0 {
                for b in s.iter_mut() {
                    *b = rng.next() as u8;
                }
            } else {
                for _ in 0..(1 + rng.next() % 8) {
                    let i = (rng.next() as usize) % s.len();
                    s[i] = rng.next() as u8;
                }
            }
            let mut d = QuorumDecoder::new(proto);
            let mut out = Vec::new();
            let mut at = 0;
            let mut total = 0;
            while at < s.len() {
                let n = 1 + (rng.next() as usize) % 97;
                let end = (at + n).min(s.len());
                let client = round % 2 == 0;
                total += d.feed(client, &s[at..end], &mut out);
                if rng.next() % 50 == 1 {
                    d.reset(client);
                }
                at = end;
            }
            assert!(total <= s.len() as u64);
            for m in &out {
                assert!(!m.summary.contains('\n'), "{}", m.summary);
            }
        }
    }
}

#[test]
fn hostile_paths_keep_summaries_on_one_line() {
    let mut w = Vec::new();
    zb::packet(
        &mut w,
        PROPOSAL,
        0x1_0000_0002,
        Some(&txn(2, 0x1_0000_0002, |w| w.put_ustring("/a\nb\u{2028}c"))),
        &[],
    );
    let mut d = QuorumDecoder::new(QuorumProtocol::Zab);
    let (m, _) = feed_all(&mut d, false, &[&w]);
    assert_eq!(
        m[0].summary,
        "PROPOSAL zxid=0x100000002 session=0x100000abc cxid=7 delete /a\\nb\\u{2028}c"
    );
    // The structured field keeps the real path.
    assert_eq!(m[0].fields["txn"]["path"], "/a\nb\u{2028}c");
}
