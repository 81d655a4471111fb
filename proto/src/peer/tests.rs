use proptest::prelude::*;
use rmpv::Value;

use super::*;

fn map(fields: Vec<(&str, Value)>) -> Value {
    Value::Map(fields.into_iter().map(|(k, v)| (k.into(), v)).collect())
}

fn enc(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    rmpv::encode::write_value(&mut out, v).unwrap();
    out
}

fn leader(term: u64, node: u64) -> Value {
    map(vec![("term", term.into()), ("node_id", node.into())])
}

fn vote(term: u64, node: u64, committed: bool) -> Value {
    map(vec![
        ("leader_id", leader(term, node)),
        ("committed", committed.into()),
    ])
}

fn log_id(term: u64, index: u64) -> Value {
    map(vec![
        ("leader_id", leader(term, 1)),
        ("index", index.into()),
    ])
}

fn txn(op: &str, path: Option<&str>) -> Value {
    let content = match path {
        Some(p) => map(vec![("path", p.into()), ("version", (-1).into())]),
        None => map(vec![("session", 7.into())]),
    };
    map(vec![
        ("op", map(vec![(op, content)])),
        ("time_ms", 1.into()),
        ("cause", "client".into()),
        ("origin", Value::Nil),
    ])
}

fn entry(index: u64, payload: Value) -> Value {
    map(vec![("log_id", log_id(3, index)), ("payload", payload)])
}

#[test]
fn peer_header_layout() {
    let h = Header::new(Kind::AppendReq, 0x0102030405060708, 5)
        .encode()
        .unwrap();
    assert_eq!(
        h,
        [0, 0, 0, 19, b'z', b'k', b'R', b'1', 5, 0, 1, 2, 3, 4, 5, 6, 7, 8]
    );
}

#[test]
fn peer_header_errors() {
    let good = Header::new(Kind::VoteReq, 1, 0).encode().unwrap();
    let mut bad = good;
    bad[5] = b'X';
    assert!(matches!(
        Header::decode(&bad),
        Err(ProtoError::BadPeerMagic(_))
    ));
    let mut bad = good;
    bad[8] = 10;
    assert_eq!(Header::decode(&bad), Err(ProtoError::UnknownPeerKind(10)));
    let mut bad = good;
    bad[8] = 0;
    assert_eq!(Header::decode(&bad), Err(ProtoError::UnknownPeerKind(0)));
    let mut bad = good;
    bad[..4].copy_from_slice(&(MAX_FRAME as u32 + 1).to_be_bytes());
    assert!(matches!(
        Header::decode(&bad),
        Err(ProtoError::PeerFrameTooLarge { .. })
    ));
    let mut bad = good;
    bad[..4].copy_from_slice(&13u32.to_be_bytes());
    assert!(matches!(
        Header::decode(&bad),
        Err(ProtoError::BadLength { .. })
    ));
    let mut bad = good;
    bad[9] = 1;
    assert!(matches!(
        Header::decode(&bad),
        Err(ProtoError::BadValue { .. })
    ));
    assert!(matches!(
        Header::decode(&good[..17]),
        Err(ProtoError::Truncated { .. })
    ));
    assert!(Header::new(Kind::AppendReq, 1, MAX_FRAME).encode().is_err());
}

#[test]
fn peer_split_rejects_a_zab_stream_before_the_header_is_whole() {
    // A ZAB QuorumPacket starts with a length and a 4-byte type (e.g. 2 = ACK).
    let zab = [0, 0, 0, 40, 0, 0, 0, 3];
    assert!(matches!(
        split_frame(&zab[..6]),
        Err(ProtoError::BadPeerMagic(_))
    ));
    assert_eq!(split_frame(&[0, 0, 0, 14, b'z', b'k']), Ok(None));
}

#[test]
fn peer_splitter_at_every_offset() {
    let mut stream = Vec::new();
    let bodies: Vec<Vec<u8>> = vec![
        Hello {
            cluster: "c".into(),
            from: 1,
            to: 2,
        }
        .encode(),
        vec![],
        vec![0xc0; 300],
    ];
    for (i, b) in bodies.iter().enumerate() {
        stream.extend(encode_frame(Kind::ALL[i], i as u64 + 10, b).unwrap());
    }
    for cut in 0..=stream.len() {
        let mut s = FrameSplitter::new();
        let mut got = Vec::new();
        for part in [&stream[..cut], &stream[cut..]] {
            s.push(part);
            while let Some(f) = s.next_frame().unwrap() {
                got.push(f);
            }
        }
        assert_eq!(got.len(), 3, "cut at {cut}");
        for (i, f) in got.iter().enumerate() {
            assert_eq!(f.header.kind, Kind::ALL[i]);
            assert_eq!(f.header.rpc_id, i as u64 + 10);
            assert_eq!(f.body, bodies[i]);
        }
        assert_eq!(s.buffered(), 0);
    }
}

#[test]
fn peer_hello_and_error_bodies_round_trip() {
    let h = Hello {
        cluster: "zkops".into(),
        from: 3,
        to: 1,
    };
    assert_eq!(Hello::decode(&h.encode()), Ok(h.clone()));
    let s = describe(Kind::Hello, &h.encode()).unwrap();
    assert_eq!(s.to_string(), "hello cluster zkops 3->1");
    assert_eq!(
        error_msg(&error_body("wrong cluster")).unwrap(),
        "wrong cluster"
    );
    let s = describe(Kind::Error, &error_body("wrong cluster")).unwrap();
    assert_eq!(s.error.as_deref(), Some("wrong cluster"));
    assert!(Hello::decode(&enc(&map(vec![("cluster", 1.into())]))).is_err());
}

#[test]
fn peer_describe_vote() {
    let req = map(vec![
        ("vote", vote(4, 2, false)),
        ("last_log_id", log_id(3, 41)),
    ]);
    let s = describe(Kind::VoteReq, &enc(&req)).unwrap();
    assert_eq!(
        (s.term, s.node, s.committed),
        (Some(4), Some(2), Some(false))
    );
    assert_eq!(s.to_string(), "vote term 4 candidate 2 last 41/3");

    let resp = map(vec![(
        "Ok",
        map(vec![
            ("vote", vote(4, 2, false)),
            ("vote_granted", true.into()),
            ("last_log_id", Value::Nil),
        ]),
    )]);
    let s = describe(Kind::VoteResp, &enc(&resp)).unwrap();
    assert_eq!(s.granted, Some(true));
    assert_eq!(s.last_log_id, None);
    assert_eq!(s.to_string(), "vote_resp granted term 4 voted 2 last -");
}

#[test]
fn peer_describe_append() {
    let entries = Value::Array(vec![
        entry(42, "Blank".into()),
        entry(
            43,
            map(vec![(
                "Normal",
                Value::Array(vec![
                    txn("create", Some("/a")),
                    txn("set_data", Some("/a")),
                    txn("create_session", None),
                ]),
            )]),
        ),
        entry(
            44,
            map(vec![(
                "Normal",
                Value::Array(vec![txn("delete", Some("/a"))]),
            )]),
        ),
        entry(45, map(vec![("Membership", map(vec![]))])),
    ]);
    let req = map(vec![
        ("vote", vote(3, 1, true)),
        ("prev_log_id", log_id(3, 41)),
        ("entries", entries),
        ("leader_commit", log_id(3, 41)),
    ]);
    let s = describe(Kind::AppendReq, &enc(&req)).unwrap();
    let e = s.entries.clone().unwrap();
    assert_eq!((e.first, e.last, e.count), (Some(42), Some(45), 4));
    assert_eq!((e.blank, e.normal, e.membership, e.writes), (1, 2, 1, 4));
    let ops: Vec<_> = e
        .ops
        .iter()
        .map(|w| (w.op.as_str(), w.path.as_deref()))
        .collect();
    assert_eq!(
        ops,
        [
            ("create", Some("/a")),
            ("set_data", Some("/a")),
            ("create_session", None),
            ("delete", Some("/a"))
        ]
    );
    assert_eq!(
        s.to_string(),
        "append term 3 prev 41/3 entries 42..45 (4 entries, 4 writes: \
         create /a, set_data /a, create_session, …) commit 41"
    );

    let heartbeat = map(vec![
        ("vote", vote(3, 1, true)),
        ("prev_log_id", Value::Nil),
        ("entries", Value::Array(vec![])),
        ("leader_commit", Value::Nil),
    ]);
    let s = describe(Kind::AppendReq, &enc(&heartbeat)).unwrap();
    assert_eq!(s.to_string(), "append term 3 prev - heartbeat commit -");
}

#[test]
fn peer_describe_append_responses() {
    let ok = |v: Value| enc(&map(vec![("Ok", v)]));
    let line = |b: &[u8]| describe(Kind::AppendResp, b).unwrap().to_string();
    assert_eq!(line(&ok("Success".into())), "append_resp success");
    assert_eq!(line(&ok("Conflict".into())), "append_resp conflict");
    assert_eq!(
        line(&ok(map(vec![("HigherVote", vote(5, 3, false))]))),
        "append_resp higher vote term 5 by 3"
    );
    assert_eq!(
        line(&ok(map(vec![("PartialSuccess", log_id(2, 9))]))),
        "append_resp partial up to 9/2"
    );
    let err = enc(&map(vec![("Err", map(vec![("Fatal", "Stopped".into())]))]));
    assert_eq!(line(&err), "append_resp error: Fatal(Stopped)");
    assert!(describe(Kind::AppendResp, &ok(7.into())).is_err());
}

#[test]
fn peer_describe_snapshot() {
    let meta = map(vec![
        ("last_log_id", log_id(3, 100)),
        ("last_membership", map(vec![])),
        ("snapshot_id", "3-100-7".into()),
    ]);
    let req = map(vec![
        ("vote", vote(3, 1, true)),
        ("meta", meta),
        ("offset", 0.into()),
        ("data", Value::Binary(vec![1; 10])),
        ("done", true.into()),
    ]);
    let s = describe(Kind::SnapshotReq, &enc(&req)).unwrap();
    let snap = s.snapshot.clone().unwrap();
    assert_eq!(snap.snapshot_id.as_deref(), Some("3-100-7"));
    assert_eq!(
        s.to_string(),
        "snapshot term 3 last 100/3 offset 0 (10 bytes) done"
    );
}

#[test]
fn peer_describe_rejects_bad_bodies() {
    assert!(describe(Kind::VoteReq, &[0xc1]).is_err());
    let mut trailing = enc(&map(vec![]));
    trailing.push(0);
    assert!(matches!(
        describe(Kind::VoteReq, &trailing),
        Err(ProtoError::TrailingBytes { .. })
    ));
    // Nesting past the depth limit is an error, not a stack overflow.
    let deep = vec![0x91; 100_000];
    assert!(describe(Kind::AppendReq, &deep).is_err());
    // A claimed huge array with nothing behind it.
    assert!(describe(Kind::AppendReq, &[0xdd, 0xff, 0xff, 0xff, 0xff]).is_err());
}

proptest! {
    #[test]
    fn peer_header_round_trip(kind in 1u8..=9, rpc_id: u64, body_len in 0usize..=MAX_FRAME - 14) {
        let kind = Kind::from_u8(kind).unwrap();
        let h = Header::new(kind, rpc_id, body_len);
        prop_assert_eq!(Header::decode(&h.encode().unwrap()), Ok(h));
    }

    #[test]
    fn peer_header_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
        let _ = Header::decode(&bytes);
        let _ = split_frame(&bytes);
    }

    #[test]
    fn peer_describe_never_panics(kind in 1u8..=9, body in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = describe(Kind::from_u8(kind).unwrap(), &body);
    }
}
