//! Golden captures of real Apache ZooKeeper 3.8 traffic (see
//! fixtures/MANIFEST.md): every frame decodes, re-encodes to the same bytes,
//! and the decoded tallies match what the workload driver says it did.

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
    let text = std::fs::read_to_string(fixtures().join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn counts(v: Option<&Value>) -> BTreeMap<i32, u64> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.parse().unwrap(), v.as_u64().unwrap()))
                .collect()
        })
        .unwrap_or_default()
}

fn check_file(name: &str, exp: &Value) {
    let t = tally_file(&fixtures().join(name));
    assert!(
        t.frames > 0 || !t.fourlw.is_empty(),
        "{name}: nothing decoded"
    );
    let exact = |key: &str, got: &BTreeMap<i32, u64>| {
        if let Some(v) = exp.get(key) {
            assert_eq!(got, &counts(Some(v)), "{name}: {key}");
        }
    };
    let at_least = |key: &str, got: &BTreeMap<i32, u64>| {
        for (k, min) in counts(exp.get(key)) {
            let have = got.get(&k).copied().unwrap_or(0);
            assert!(have >= min, "{name}: {key} {k}: {have} < {min}");
        }
    };
    // Opcodes only bounded from below are excluded from the exact comparison.
    let lower = counts(exp.get("min_requests_by_opcode"));
    let exact_requests: BTreeMap<i32, u64> = t
        .requests
        .iter()
        .filter(|(k, _)| !lower.contains_key(k))
        .map(|(k, v)| (*k, *v))
        .collect();
    exact("requests_by_opcode", &exact_requests);
    at_least("min_requests_by_opcode", &t.requests);
    let lower_err = counts(exp.get("min_errors"));
    let exact_errors: BTreeMap<i32, u64> = t
        .errors
        .iter()
        .filter(|(k, _)| !lower_err.contains_key(k))
        .map(|(k, v)| (*k, *v))
        .collect();
    exact("errors", &exact_errors);
    at_least("min_errors", &t.errors);
    if let Some(n) = exp.get("notifications").and_then(Value::as_u64) {
        assert_eq!(t.notifications, n, "{name}: notifications");
    }
    if let Some(n) = exp.get("min_notifications").and_then(Value::as_u64) {
        assert!(
            t.notifications >= n,
            "{name}: notifications {} < {n}",
            t.notifications
        );
    }
    if let Some(n) = exp.get("min_pings").and_then(Value::as_u64) {
        assert!(t.pings >= n, "{name}: pings {} < {n}", t.pings);
    }
    if let Some(n) = exp.get("connect_requests").and_then(Value::as_u64) {
        assert_eq!(
            t.connect_request_lengths.len() as u64,
            n,
            "{name}: connects"
        );
    }
    let lens = |key: &str, got: &Vec<usize>| {
        if let Some(v) = exp.get(key) {
            let mut want: Vec<usize> = serde_json::from_value(v.clone()).unwrap();
            let mut got = got.clone();
            want.sort();
            got.sort();
            assert_eq!(got, want, "{name}: {key}");
        }
    };
    lens("connect_request_lengths", &t.connect_request_lengths);
    lens("connect_response_lengths", &t.connect_response_lengths);
    if let Some(v) = exp.get("multi") {
        let want: Vec<(Vec<i32>, Vec<i32>)> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                let ops = serde_json::from_value(m["ops"].clone()).unwrap();
                let results = serde_json::from_value(m["results"].clone()).unwrap();
                (ops, results)
            })
            .collect();
        assert_eq!(t.multis, want, "{name}: multi");
    }
    if let Some(v) = exp.get("fourlw") {
        let want: Vec<String> = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(t.fourlw, want, "{name}: four-letter words");
    }
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
