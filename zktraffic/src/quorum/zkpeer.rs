//! zkserver's peer protocol (Raft RPCs) on the quorum port: frames of
//! [`zkproto::peer`], told apart from ZAB by their magic (see
//! [`super::QuorumDecoder`]). The connecting member sends Hello, then
//! requests; the listening one answers.
//!
//! The Hello names the two members, so every later line says who sent it
//! (`1->2`). Bodies are summarized by [`zkproto::peer::describe`]; one
//! larger than it describes is reported from its header and passed over
//! without being buffered.

use serde_json::{json, Value};
use zkproto::peer::{describe, split_frame, Header, Kind, DESCRIBE_MAX_BODY, HEADER_LEN, MAGIC};

use super::{Parsed, QuorumMessage, QuorumProtocol};

#[derive(Debug, Default)]
pub(crate) struct ZkPeer {
    /// (caller, target) from the connection's Hello.
    members: Option<(u64, u64)>,
    /// [connecting side, listening side].
    dirs: [Dir; 2],
}

#[derive(Debug, Default)]
struct Dir {
    /// Body bytes of an oversized frame still to pass over.
    passing: usize,
    /// After a gap: the stream may resume mid-frame.
    resync: bool,
}

impl ZkPeer {
    pub(crate) fn new() -> Self {
        ZkPeer::default()
    }

    pub(crate) fn gap(&mut self, client: bool) {
        let dir = &mut self.dirs[usize::from(!client)];
        dir.passing = 0;
        dir.resync = true;
    }

    pub(crate) fn parse(
        &mut self,
        client: bool,
        input: &[u8],
        out: &mut Vec<QuorumMessage>,
    ) -> Parsed {
        let mut pos = 0;
        let mut skipped = 0u64;
        while pos < input.len() {
            let rest = &input[pos..];
            let dir = &mut self.dirs[usize::from(!client)];
            if dir.passing > 0 {
                let n = dir.passing.min(rest.len());
                dir.passing -= n;
                pos += n;
                continue;
            }
            match split_frame(rest) {
                Ok(Some((h, body))) => {
                    dir.resync = false;
                    out.push(self.message(client, h, Some(body)));
                    pos += h.frame_len();
                }
                Ok(None) => {
                    let Ok(h) = Header::decode(rest) else {
                        break; // not even a whole header yet
                    };
                    if h.body_len <= DESCRIBE_MAX_BODY {
                        break; // wait for the body
                    }
                    dir.resync = false;
                    dir.passing = h.body_len;
                    out.push(self.message(client, h, None));
                    pos += HEADER_LEN;
                }
                Err(_) => {
                    let skip = to_next_magic(rest);
                    pos += skip;
                    skipped += skip as u64;
                }
            }
        }
        Parsed {
            consumed: pos,
            skipped,
        }
    }

    fn message(&mut self, client: bool, h: Header, body: Option<&[u8]>) -> QuorumMessage {
        let summary = body.map(|b| describe(h.kind, b));
        if let Some(Ok(s)) = &summary {
            if let (Kind::Hello, Some(from), Some(to)) = (h.kind, s.from, s.to) {
                self.members = Some((from, to));
            }
        }
        let (from, to) = match self.members {
            Some((caller, target)) if client => (Some(caller), Some(target)),
            Some((caller, target)) => (Some(target), Some(caller)),
            None => (None, None),
        };
        let who = match (from, to) {
            (Some(a), Some(b)) => format!("{a}->{b}"),
            _ => "?->?".into(),
        };
        let mut fields = json!({
            "rpc_id": h.rpc_id,
            "from_member": from,
            "to_member": to,
            "body_bytes": h.body_len,
        });
        let line = match summary {
            Some(Ok(s)) => {
                if let (Value::Object(f), Ok(Value::Object(extra))) =
                    (&mut fields, serde_json::to_value(&s))
                {
                    f.extend(extra);
                }
                format!("{who} {s}")
            }
            Some(Err(e)) => {
                fields["kind"] = json!(h.kind.name());
                fields["error"] = json!(e.to_string());
                format!("{who} {} #{}: undecodable body: {e}", h.kind, h.rpc_id)
            }
            None => {
                fields["kind"] = json!(h.kind.name());
                format!(
                    "{who} {} #{} ({} bytes, not decoded)",
                    h.kind, h.rpc_id, h.body_len
                )
            }
        };
        QuorumMessage {
            protocol: QuorumProtocol::ZkPeer,
            kind: h.kind.name().into(),
            zxid: None,
            summary: line,
            fields,
        }
    }
}

/// Bytes to skip from a bad frame start to the next place a frame could
/// start (4 bytes before a magic), keeping a tail that may hold a magic's
/// beginning.
fn to_next_magic(b: &[u8]) -> usize {
    match b
        .get(5..)
        .and_then(|tail| tail.windows(MAGIC.len()).position(|w| w == MAGIC))
    {
        Some(i) => i + 1,
        None => b.len().saturating_sub(HEADER_LEN - 1).max(1),
    }
}

/// Does a whole valid peer header start anywhere in `b`? How a connection
/// joined mid-stream is recognised.
pub(crate) fn has_header(b: &[u8]) -> bool {
    b.windows(MAGIC.len())
        .enumerate()
        .any(|(i, w)| w == MAGIC && i >= 4 && Header::decode(&b[i - 4..]).is_ok())
}

#[cfg(test)]
mod tests {
    use rmpv::Value;
    use zkproto::peer::{encode_frame, error_body, Hello};

    use super::super::{QuorumDecoder, QuorumMessage, QuorumProtocol};
    use super::*;

    fn map(fields: Vec<(&str, Value)>) -> Value {
        Value::Map(fields.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    fn enc(v: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        rmpv::encode::write_value(&mut out, v).unwrap();
        out
    }

    fn vote(term: u64, node: u64) -> Value {
        map(vec![
            (
                "leader_id",
                map(vec![("term", term.into()), ("node_id", node.into())]),
            ),
            ("committed", true.into()),
        ])
    }

    fn log_id(term: u64, index: u64) -> Value {
        map(vec![
            (
                "leader_id",
                map(vec![("term", term.into()), ("node_id", 1.into())]),
            ),
            ("index", index.into()),
        ])
    }

    fn create(path: &str) -> Value {
        map(vec![(
            "op",
            map(vec![("create", map(vec![("path", path.into())]))]),
        )])
    }

    /// Hello, a vote, an append of two entries with three writes; and
    /// what the listening side answers.
    fn streams() -> (Vec<u8>, Vec<u8>) {
        let mut client = Vec::new();
        let hello = Hello {
            cluster: "zkops".into(),
            from: 1,
            to: 2,
        };
        client.extend(encode_frame(Kind::Hello, 0, &hello.encode()).unwrap());
        let vote_req = map(vec![("vote", vote(3, 1)), ("last_log_id", log_id(2, 41))]);
        client.extend(encode_frame(Kind::VoteReq, 1, &enc(&vote_req)).unwrap());
        let entries = Value::Array(vec![
            map(vec![
                ("log_id", log_id(3, 42)),
                (
                    "payload",
                    map(vec![(
                        "Normal",
                        Value::Array(vec![create("/a"), create("/b")]),
                    )]),
                ),
            ]),
            map(vec![
                ("log_id", log_id(3, 43)),
                (
                    "payload",
                    map(vec![("Normal", Value::Array(vec![create("/c")]))]),
                ),
            ]),
        ]);
        let append = map(vec![
            ("vote", vote(3, 1)),
            ("prev_log_id", log_id(2, 41)),
            ("entries", entries),
            ("leader_commit", log_id(2, 41)),
        ]);
        client.extend(encode_frame(Kind::AppendReq, 2, &enc(&append)).unwrap());

        let mut server = Vec::new();
        server.extend(encode_frame(Kind::HelloOk, 0, &[]).unwrap());
        let granted = map(vec![(
            "Ok",
            map(vec![
                ("vote", vote(3, 1)),
                ("vote_granted", true.into()),
                ("last_log_id", log_id(2, 41)),
            ]),
        )]);
        server.extend(encode_frame(Kind::VoteResp, 1, &enc(&granted)).unwrap());
        let ok = map(vec![("Ok", "Success".into())]);
        server.extend(encode_frame(Kind::AppendResp, 2, &enc(&ok)).unwrap());
        (client, server)
    }

    fn summaries(m: &[QuorumMessage]) -> Vec<String> {
        m.iter().map(|m| m.summary.clone()).collect()
    }

    #[test]
    fn zkpeer_stream_is_told_from_zab_and_decoded() {
        let (client, server) = streams();
        let mut d = QuorumDecoder::new(QuorumProtocol::Zab);
        let mut out = Vec::new();
        assert_eq!(d.feed(true, &client, &mut out), 0);
        assert_eq!(d.feed(false, &server, &mut out), 0);
        assert_eq!(d.protocol(), QuorumProtocol::ZkPeer);
        assert!(out.iter().all(|m| m.protocol == QuorumProtocol::ZkPeer));
        assert_eq!(
            summaries(&out),
            [
                "1->2 hello cluster zkops 1->2",
                "1->2 vote term 3 candidate 1 last 41/2",
                "1->2 append term 3 prev 41/2 entries 42..43 (2 entries, 3 writes: \
                 create /a, create /b, create /c) commit 41",
                "2->1 hello_ok",
                "2->1 vote_resp granted term 3 voted 1 last 41/2",
                "2->1 append_resp success",
            ]
        );
        let append = &out[2];
        assert_eq!(append.kind, "append");
        assert_eq!(append.fields["rpc_id"], 2);
        assert_eq!(append.fields["from_member"], 1);
        assert_eq!(append.fields["entries"]["writes"], 3);
        assert_eq!(append.fields["entries"]["ops"][2]["path"], "/c");
    }

    #[test]
    fn zkpeer_frames_split_at_every_offset() {
        let (client, _) = streams();
        let mut whole = QuorumDecoder::new(QuorumProtocol::Zab);
        let mut want = Vec::new();
        whole.feed(true, &client, &mut want);
        assert_eq!(want.len(), 3);
        for cut in 0..=client.len() {
            for cut2 in [cut, (cut + 7).min(client.len())] {
                let mut d = QuorumDecoder::new(QuorumProtocol::Zab);
                let mut got = Vec::new();
                let mut skipped = 0;
                for part in [&client[..cut], &client[cut..cut2], &client[cut2..]] {
                    skipped += d.feed(true, part, &mut got);
                }
                assert_eq!(skipped, 0, "cut {cut}/{cut2}");
                assert_eq!(got, want, "cut {cut}/{cut2}");
                assert_eq!(d.buffered(), (0, 0));
            }
        }
    }

    #[test]
    fn zkpeer_joined_mid_stream_resyncs_on_the_magic() {
        let (client, _) = streams();
        for start in [1, 10, 30] {
            let mut d = QuorumDecoder::new(QuorumProtocol::Zab);
            d.reset(true);
            d.reset(false);
            let mut out = Vec::new();
            let skipped = d.feed(true, &client[start..], &mut out);
            assert_eq!(d.protocol(), QuorumProtocol::ZkPeer);
            // The Hello is lost: members unknown, the rest decodes.
            let kinds: Vec<_> = out.iter().map(|m| m.kind.as_str()).collect();
            assert_eq!(kinds, ["vote", "append"], "start {start}");
            assert!(out[0].summary.starts_with("?->? vote term 3"));
            assert!(skipped > 0);
        }
    }

    #[test]
    fn zkpeer_garbage_and_errors_never_panic() {
        let mut d = QuorumDecoder::new(QuorumProtocol::ZkPeer);
        let mut out = Vec::new();
        let mut junk = vec![0, 0, 0, 14];
        junk.extend_from_slice(&MAGIC);
        junk.extend_from_slice(&[42; 40]);
        assert!(d.feed(true, &junk, &mut out) > 0);
        let bad_body = encode_frame(Kind::VoteReq, 5, &[0xc1, 0xc1]).unwrap();
        let err = encode_frame(Kind::Error, 5, &error_body("wrong cluster")).unwrap();
        d.feed(true, &bad_body, &mut out);
        d.feed(false, &err, &mut out);
        let lines = summaries(&out);
        assert!(lines[0].contains("vote #5: undecodable body"), "{lines:?}");
        assert_eq!(lines[1], "?->? error error: wrong cluster");
    }

    #[test]
    fn zkpeer_oversized_body_is_passed_over_unbuffered() {
        let mut d = QuorumDecoder::new(QuorumProtocol::ZkPeer);
        let mut out = Vec::new();
        let body_len = DESCRIBE_MAX_BODY + 1;
        let h = Header::new(Kind::SnapshotReq, 9, body_len)
            .encode()
            .unwrap();
        d.feed(true, &h, &mut out);
        let chunk = vec![0u8; 1 << 20];
        let mut left = body_len;
        while left > 0 {
            let n = left.min(chunk.len());
            assert_eq!(d.feed(true, &chunk[..n], &mut out), 0);
            assert_eq!(d.buffered(), (0, 0));
            left -= n;
        }
        let next = encode_frame(Kind::HelloOk, 0, &[]).unwrap();
        d.feed(true, &next, &mut out);
        assert_eq!(out.len(), 2);
        assert!(out[0].summary.contains("not decoded"), "{}", out[0].summary);
        assert_eq!(out[1].kind, "hello_ok");
    }
}
