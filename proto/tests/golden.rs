//! Golden captures of real client traffic with Apache ZooKeeper 3.8 and with
//! zkserver (see fixtures/MANIFEST.md): every frame decodes, re-encodes to the
//! same bytes, and the decoded tallies match what the workload driver says it
//! did.

mod expected;
mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use zkproto::*;

/// The port the capture script runs ZooKeeper on (fixtures/MANIFEST.md).
const ZK_PORT: u16 = 21810;

#[derive(Debug, Default)]
struct Tally {
    requests: BTreeMap<i32, u64>,
    errors: BTreeMap<i32, u64>,
    notifications: u64,
    pings: u64,
    connect_request_lengths: Vec<usize>,
    connect_response_lengths: Vec<usize>,
    read_only_flags: Vec<Option<bool>>,
    /// Per multi / multiRead: sub-op opcodes, then per-op result (opcode on
    /// success, the error code of a `-1` result otherwise).
    multis: Vec<(Vec<i32>, Vec<i32>)>,
    fourlw: Vec<String>,
    frames: u64,
}

fn canonical_request(frame: &[u8]) -> RequestFrame<'_> {
    let req = RequestFrame::decode(frame).unwrap_or_else(|e| panic!("request {frame:02x?}: {e}"));
    let mut again = Vec::new();
    req.write(&mut again);
    assert_eq!(again, frame, "request re-encodes differently: {req:?}");
    req
}

fn canonical_reply(frame: &[u8], op: Option<OpCode>) -> ReplyFrame<'_> {
    let reply = ReplyFrame::decode(frame, op)
        .unwrap_or_else(|e| panic!("reply to {op:?} {frame:02x?}: {e}"));
    let mut again = Vec::new();
    reply.write(&mut again);
    assert_eq!(again, frame, "reply re-encodes differently: {reply:?}");
    reply
}

fn all_frames<'a>(stream: &'a [u8], what: &str) -> Vec<&'a [u8]> {
    let mut it = Frames::new(stream, DEFAULT_MAX_FRAME);
    let frames: Vec<&[u8]> = it.by_ref().map(|f| f.expect("frame length")).collect();
    assert_eq!(
        it.consumed(),
        stream.len(),
        "{what}: stream ends inside a frame"
    );
    frames
}

fn tally_session(t: &mut Tally, to_server: &[u8], to_client: &[u8]) {
    let requests = all_frames(to_server, "client stream");
    let replies = all_frames(to_client, "server stream");
    let Some((connect, requests)) = requests.split_first() else {
        return;
    };
    let c = ConnectRequest::decode(connect).expect("ConnectRequest");
    assert_eq!(c.to_vec(), *connect);
    t.connect_request_lengths.push(connect.len());
    t.read_only_flags.push(c.read_only);
    t.frames += 1;

    // Requests are recorded by xid first; the server answers them in order.
    let mut pairer: XidPairer<Option<Vec<i32>>> = XidPairer::new(100_000);
    for frame in requests {
        let f = canonical_request(frame);
        t.frames += 1;
        let op = f.request.op().expect("known opcode");
        let sub_ops = match &f.request {
            Request::Multi(m) | Request::MultiRead(m) => {
                Some(m.ops.iter().map(Request::opcode).collect())
            }
            _ => None,
        };
        if f.xid == xid::PING {
            assert_eq!(op, OpCode::Ping);
            t.pings += 1;
        } else {
            *t.requests.entry(op.code()).or_default() += 1;
        }
        pairer.request(f.xid, op, sub_ops);
    }

    let Some((connect_resp, replies)) = replies.split_first() else {
        return;
    };
    let r = ConnectResponse::decode(connect_resp).expect("ConnectResponse");
    assert_eq!(r.to_vec(), *connect_resp);
    t.connect_response_lengths.push(connect_resp.len());
    t.frames += 1;
    for frame in replies {
        let header = ReplyFrame::peek_header(frame).unwrap();
        let paired = pairer.reply(header.xid);
        assert!(
            !matches!(paired, Paired::Unknown),
            "reply xid {} answers no request",
            header.xid
        );
        let reply = canonical_reply(frame, paired.opcode());
        t.frames += 1;
        if header.xid == xid::NOTIFICATION {
            t.notifications += 1;
            continue;
        }
        if !header.err.is_ok() {
            *t.errors.entry(header.err.0).or_default() += 1;
        }
        if let (Paired::Request(_, Some(sub_ops)), Response::Multi(m)) = (paired, &reply.body) {
            let results = m
                .results
                .iter()
                .zip(&sub_ops)
                .map(|(res, op)| match res {
                    OpResult::Error(e) => *e,
                    _ => *op,
                })
                .collect();
            assert_eq!(m.results.len(), sub_ops.len(), "multi result count");
            t.multis.push((sub_ops, results));
        }
    }
}

fn tally_file(path: &Path) -> Tally {
    let mut t = Tally::default();
    for conv in support::conversations(path) {
        // The side that sent the SYN must be the client of the captured server.
        assert_eq!(
            conv.server.port(),
            ZK_PORT,
            "client {} to {}",
            conv.client,
            conv.server
        );
        if conv.to_server.is_empty() {
            continue; // refused or idle connection
        }
        if let Some(w) = FourLetterWord::detect(&conv.to_server) {
            assert_eq!(
                conv.to_server.len(),
                4 + w.payload_len(),
                "4lw {w} sent extra bytes"
            );
            assert!(!conv.to_client.is_empty(), "no answer to {w}");
            t.fourlw.push(w.to_string());
            continue;
        }
        tally_session(&mut t, &conv.to_server, &conv.to_client);
    }
    t
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn expected() -> serde_json::Map<String, Value> {
    expected::load(&fixtures())
}

fn check_file(name: &str, exp: &Value) {
    let t = tally_file(&fixtures().join(name));
    assert!(
        t.frames > 0 || !t.fourlw.is_empty(),
        "{name}: nothing decoded"
    );
    let observed = expected::Observed {
        requests: t.requests,
        errors: t.errors,
        notifications: t.notifications,
        pings: t.pings,
        connects: t.connect_request_lengths.len() as u64,
        fourlw: t.fourlw,
        connect_request_lengths: Some(t.connect_request_lengths),
        connect_response_lengths: Some(t.connect_response_lengths),
        multis: Some(t.multis),
    };
    expected::check(name, exp, &observed);
}

#[test]
fn every_capture_matches_its_workload() {
    let exp = expected();
    assert!(exp.len() >= 4, "expected.json lists {} captures", exp.len());
    for (name, e) in &exp {
        check_file(name, e);
    }
}

#[test]
fn every_checked_in_capture_is_described() {
    let exp = expected();
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".pcap") {
            assert!(
                exp.contains_key(&name),
                "{name} has no entry in expected.json"
            );
        }
    }
}

/// Both handshake forms reach the codec: the modern one with the readOnly
/// byte and the pre-3.4 one without.
#[test]
fn handshakes_with_and_without_read_only() {
    let mut flags = Vec::new();
    for name in expected().keys() {
        flags.extend(tally_file(&fixtures().join(name)).read_only_flags);
    }
    assert!(flags.contains(&None), "no handshake without readOnly");
    assert!(
        flags.iter().any(Option::is_some),
        "no handshake with readOnly"
    );
}

/// Damaging a real frame never panics: every truncation is an error or, for a
/// prefix that is itself a complete record, canonical.
#[test]
fn truncated_real_frames_are_errors() {
    let convs = support::conversations(&fixtures().join("noreadonly.pcap"));
    let conv = convs.iter().find(|c| !c.to_server.is_empty()).unwrap();
    let frames = all_frames(&conv.to_server, "client");
    for frame in &frames[1..] {
        for cut in 0..frame.len() {
            let part = &frame[..cut];
            if let Ok(f) = RequestFrame::decode(part) {
                let mut again = Vec::new();
                f.write(&mut again);
                assert_eq!(again, part);
            }
        }
    }
}
