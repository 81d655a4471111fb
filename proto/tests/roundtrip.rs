//! Property tests: every record, every request opcode and every reply shape
//! re-encodes to the bytes it was decoded from, and arbitrary bytes never panic.

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use zkproto::*;

// Generated strings and buffers are leaked so the borrowed records can hold
// them for the whole test; a few kilobytes per case.
fn s() -> impl Strategy<Value = &'static str> {
    "\\PC{0,10}".prop_map(|x: String| &*Box::leak(x.into_boxed_str()))
}
fn so() -> impl Strategy<Value = Option<&'static str>> {
    option::of(s())
}
fn buf() -> impl Strategy<Value = Option<&'static [u8]>> {
    option::of(vec(any::<u8>(), 0..24).prop_map(|v| &*Box::leak(v.into_boxed_slice())))
}
fn strs() -> impl Strategy<Value = Vec<&'static str>> {
    vec(s(), 0..4)
}
fn stat() -> impl Strategy<Value = Stat> {
    (
        (any::<i64>(), any::<i64>(), any::<i64>(), any::<i64>()),
        (any::<i32>(), any::<i32>(), any::<i32>()),
        (any::<i64>(), any::<i32>(), any::<i32>(), any::<i64>()),
    )
        .prop_map(|((a, b, c, d), (e, f, g), (h, i, j, k))| Stat {
            czxid: a,
            mzxid: b,
            ctime: c,
            mtime: d,
            version: e,
            cversion: f,
            aversion: g,
            ephemeral_owner: h,
            data_length: i,
            num_children: j,
            pzxid: k,
        })
}
fn acls() -> impl Strategy<Value = Vec<Acl<'static>>> {
    vec(
        (any::<i32>(), s(), proptest::option::of(s())).prop_map(|(perms, scheme, id)| Acl {
            perms,
            id: Id { scheme, id },
        }),
        0..3,
    )
}
fn create() -> impl Strategy<Value = CreateRequest<'static>> {
    (s(), buf(), acls(), any::<i32>()).prop_map(|(path, data, acl, flags)| CreateRequest {
        path,
        data,
        acl,
        flags,
    })
}
fn pw() -> impl Strategy<Value = PathWatchRequest<'static>> {
    (s(), any::<bool>()).prop_map(|(path, watch)| PathWatchRequest { path, watch })
}
fn path() -> impl Strategy<Value = PathRequest<'static>> {
    s().prop_map(|path| PathRequest { path })
}
fn watches() -> impl Strategy<Value = WatchesRequest<'static>> {
    (s(), any::<i32>()).prop_map(|(path, watcher_type)| WatchesRequest { path, watcher_type })
}
fn create_ttl() -> impl Strategy<Value = CreateTtlRequest<'static>> {
    (create(), any::<i64>()).prop_map(|(c, ttl)| CreateTtlRequest {
        path: c.path,
        data: c.data,
        acl: c.acl,
        flags: c.flags,
        ttl,
    })
}

fn multi_op() -> impl Strategy<Value = Request<'static>> {
    prop_oneof![
        create().prop_map(Request::Create),
        create().prop_map(Request::Create2),
        create().prop_map(Request::CreateContainer),
        create_ttl().prop_map(Request::CreateTtl),
        (s(), any::<i32>())
            .prop_map(|(path, version)| Request::Delete(DeleteRequest { path, version })),
        (s(), buf(), any::<i32>()).prop_map(|(path, data, version)| Request::SetData(
            SetDataRequest {
                path,
                data,
                version
            }
        )),
        (s(), any::<i32>())
            .prop_map(|(path, version)| Request::Check(CheckVersionRequest { path, version })),
    ]
}
fn multi_read_op() -> impl Strategy<Value = Request<'static>> {
    prop_oneof![
        pw().prop_map(Request::GetData),
        pw().prop_map(Request::GetChildren)
    ]
}

fn request() -> impl Strategy<Value = Request<'static>> {
    use Request as Q;
    let unknown = (any::<i32>(), buf())
        .prop_filter("unknown opcodes only", |(op, _)| {
            OpCode::from_i32(*op).is_none()
        })
        .prop_map(|(opcode, b)| Q::Unknown {
            opcode,
            body: b.unwrap_or(&[]),
        });
    prop_oneof![
        multi_op(),
        pw().prop_map(Q::Exists),
        pw().prop_map(Q::GetData),
        pw().prop_map(Q::GetChildren),
        pw().prop_map(Q::GetChildren2),
        path().prop_map(Q::GetAcl),
        path().prop_map(Q::Sync),
        path().prop_map(Q::GetEphemerals),
        path().prop_map(Q::GetAllChildrenNumber),
        (s(), acls(), any::<i32>()).prop_map(|(path, acl, version)| Q::SetAcl(SetAclRequest {
            path,
            acl,
            version
        })),
        Just(Q::Ping),
        Just(Q::WhoAmI),
        Just(Q::CloseSession),
        vec(multi_op(), 0..4).prop_map(|ops| Q::Multi(MultiRequest { ops })),
        vec(multi_read_op(), 0..4).prop_map(|ops| Q::MultiRead(MultiRequest { ops })),
        (so(), so(), so(), any::<i64>()).prop_map(|(j, l, n, c)| Q::Reconfig(ReconfigRequest {
            joining_servers: j,
            leaving_servers: l,
            new_members: n,
            cur_config_id: c
        })),
        watches().prop_map(Q::CheckWatches),
        watches().prop_map(Q::RemoveWatches),
        s().prop_map(|path| Q::DeleteContainer { path }),
        (any::<i32>(), s(), buf()).prop_map(|(auth_type, scheme, auth)| Q::Auth(AuthPacket {
            auth_type,
            scheme,
            auth
        })),
        (any::<i64>(), strs(), strs(), strs()).prop_map(|(z, d, e, c)| Q::SetWatches(SetWatches {
            relative_zxid: z,
            data_watches: d,
            exist_watches: e,
            child_watches: c
        })),
        (any::<i64>(), strs(), strs(), strs(), strs(), strs()).prop_map(|(z, d, e, c, p, r)| {
            Q::SetWatches2(SetWatches2 {
                relative_zxid: z,
                data_watches: d,
                exist_watches: e,
                child_watches: c,
                persistent_watches: p,
                persistent_recursive_watches: r,
            })
        }),
        buf().prop_map(|token| Q::Sasl(SaslToken { token })),
        (s(), any::<i32>()).prop_map(|(path, mode)| Q::AddWatch(AddWatchRequest { path, mode })),
        any::<i32>().prop_map(|timeout| Q::CreateSession(CreateSessionRequest { timeout })),
        unknown,
    ]
}

fn op_result() -> impl Strategy<Value = OpResult<'static>> {
    prop_oneof![
        s().prop_map(|path| OpResult::Create(PathResponse { path })),
        (
            prop_oneof![
                Just(OpCode::Create2),
                Just(OpCode::CreateTtl),
                Just(OpCode::CreateContainer)
            ],
            s(),
            stat()
        )
            .prop_map(|(op, path, stat)| OpResult::Create2 {
                op,
                result: Create2Response { path, stat }
            }),
        Just(OpResult::Delete),
        Just(OpResult::Check),
        stat().prop_map(OpResult::SetData),
        (buf(), stat()).prop_map(|(data, stat)| OpResult::GetData(GetDataResponse { data, stat })),
        strs().prop_map(|children| OpResult::GetChildren(GetChildrenResponse { children })),
        any::<i32>().prop_map(OpResult::Error),
    ]
}

/// A successful reply body for `op`, as the server would send it.
fn response_for(op: OpCode) -> BoxedStrategy<Response<'static>> {
    use OpCode::*;
    use Response as P;
    match op {
        Create => s()
            .prop_map(|path| P::Create(PathResponse { path }))
            .boxed(),
        Create2 | CreateTtl | CreateContainer => (s(), stat())
            .prop_map(|(path, stat)| P::Create2(Create2Response { path, stat }))
            .boxed(),
        Exists | SetData | SetAcl => stat().prop_map(P::Stat).boxed(),
        GetData | Reconfig => (buf(), stat())
            .prop_map(|(data, stat)| P::GetData(GetDataResponse { data, stat }))
            .boxed(),
        GetAcl => (acls(), stat())
            .prop_map(|(acl, stat)| P::GetAcl(GetAclResponse { acl, stat }))
            .boxed(),
        GetChildren => strs()
            .prop_map(|children| P::GetChildren(GetChildrenResponse { children }))
            .boxed(),
        GetChildren2 => (strs(), stat())
            .prop_map(|(children, stat)| P::GetChildren2(GetChildren2Response { children, stat }))
            .boxed(),
        Sync => s().prop_map(|path| P::Sync(PathResponse { path })).boxed(),
        Multi | MultiRead => vec(op_result(), 0..4)
            .prop_map(|results| P::Multi(MultiResponse { results }))
            .boxed(),
        Sasl => buf().prop_map(|token| P::Sasl(SaslToken { token })).boxed(),
        GetEphemerals => strs()
            .prop_map(|children| P::GetEphemerals(GetChildrenResponse { children }))
            .boxed(),
        GetAllChildrenNumber => any::<i32>()
            .prop_map(|value| P::GetAllChildrenNumber(IntResponse { value }))
            .boxed(),
        AddWatch => any::<i32>()
            .prop_map(|value| P::AddWatch(IntResponse { value }))
            .boxed(),
        WhoAmI => vec((s(), s()), 0..3)
            .prop_map(|v| {
                P::WhoAmI(WhoAmIResponse {
                    client_info: v
                        .into_iter()
                        .map(|(auth_scheme, user)| ClientInfo { auth_scheme, user })
                        .collect(),
                })
            })
            .boxed(),
        Delete | Ping | Check | CheckWatches | RemoveWatches | DeleteContainer | Auth
        | SetWatches | SetWatches2 | CreateSession | CloseSession => Just(P::Empty).boxed(),
    }
}

fn op_and_response() -> impl Strategy<Value = (OpCode, Response<'static>)> {
    proptest::sample::select(OpCode::ALL)
        .prop_flat_map(|op| response_for(op).prop_map(move |r| (op, r)))
}

fn encode_request(xid: i32, request: &Request<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    RequestFrame {
        xid,
        request: request.clone(),
    }
    .write(&mut out);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_request_round_trips(xid in any::<i32>(), req in request()) {
        let bytes = encode_request(xid, &req);
        let back = RequestFrame::decode(&bytes).unwrap();
        prop_assert_eq!(back.xid, xid);
        prop_assert_eq!(&back.request, &req);
        let mut again = Vec::new();
        back.write(&mut again);
        prop_assert_eq!(again, bytes);
    }

    #[test]
    fn every_reply_round_trips(
        xid in any::<i32>().prop_filter("not a notification", |x| *x != xid::NOTIFICATION),
        zxid in any::<i64>(),
        (op, body) in op_and_response(),
    ) {
        let frame = ReplyFrame { header: ReplyHeader { xid, zxid, err: ErrorCode::OK }, body };
        let mut bytes = Vec::new();
        frame.write(&mut bytes);
        let back = ReplyFrame::decode(&bytes, Some(op)).unwrap();
        prop_assert_eq!(&back, &frame);
    }

    #[test]
    fn error_replies_have_no_body(xid in 1..i32::MAX, zxid in any::<i64>(), err in any::<i32>().prop_filter("nonzero", |e| *e != 0), op in proptest::sample::select(OpCode::ALL)) {
        let frame = ReplyFrame { header: ReplyHeader { xid, zxid, err: ErrorCode(err) }, body: Response::Empty };
        let mut bytes = Vec::new();
        frame.write(&mut bytes);
        prop_assert_eq!(bytes.len(), ReplyHeader::WIRE_LEN);
        prop_assert_eq!(ReplyFrame::decode(&bytes, Some(op)).unwrap(), frame);
    }

    #[test]
    fn notifications_and_unpaired_replies(zxid in any::<i64>(), t in any::<i32>(), st in any::<i32>(), p in s(), raw in vec(any::<u8>(), 1..40)) {
        let n = ReplyFrame {
            header: ReplyHeader { xid: xid::NOTIFICATION, zxid, err: ErrorCode::OK },
            body: Response::Notification(WatcherEvent { event_type: t, state: st, path: p }),
        };
        let mut bytes = Vec::new();
        n.write(&mut bytes);
        prop_assert_eq!(ReplyFrame::decode(&bytes, None).unwrap(), n);

        let u = ReplyFrame { header: ReplyHeader { xid: 5, zxid, err: ErrorCode::OK }, body: Response::Raw(&raw) };
        let mut bytes = Vec::new();
        u.write(&mut bytes);
        prop_assert_eq!(ReplyFrame::decode(&bytes, None).unwrap(), u);
    }

    #[test]
    fn connect_round_trips(pv in any::<i32>(), z in any::<i64>(), t in any::<i32>(), sid in any::<i64>(), pass in buf(), ro in option::of(any::<bool>())) {
        let req = ConnectRequest { protocol_version: pv, last_zxid_seen: z, timeout_ms: t, session_id: sid, passwd: pass, read_only: ro };
        let rb = req.to_vec();
        prop_assert_eq!(ConnectRequest::decode(&rb).unwrap(), req);
        let resp = ConnectResponse { protocol_version: pv, timeout_ms: t, session_id: sid, passwd: pass, read_only: ro };
        let pb = resp.to_vec();
        prop_assert_eq!(ConnectResponse::decode(&pb).unwrap(), resp);
    }

    #[test]
    fn headers_and_data_records_round_trip(st in stat(), a in acls(), xid in any::<i32>(), op in any::<i32>(), t in any::<i32>(), done in any::<bool>(), e in any::<i32>()) {
        prop_assert_eq!(Stat::decode(&st.to_vec()).unwrap(), st);
        prop_assert_eq!(st.to_vec().len(), Stat::WIRE_LEN);
        for acl in &a {
            let ab = acl.to_vec();
            prop_assert_eq!(&Acl::decode(&ab).unwrap(), acl);
        }
        let h = RequestHeader { xid, opcode: op };
        prop_assert_eq!(RequestHeader::decode(&h.to_vec()).unwrap(), h);
        let m = MultiHeader { op_type: t, done, err: e };
        prop_assert_eq!(MultiHeader::decode(&m.to_vec()).unwrap(), m);
    }

    #[test]
    fn frames_round_trip(bodies in vec(vec(any::<u8>(), 0..64), 0..6)) {
        let mut out = Vec::new();
        for b in &bodies {
            write_frame(&mut out, |w| w.extend_from_slice(b));
        }
        let got: Vec<&[u8]> = Frames::new(&out, DEFAULT_MAX_FRAME).map(|f| f.unwrap()).collect();
        prop_assert_eq!(got.len(), bodies.len());
        for (g, b) in got.iter().zip(&bodies) {
            prop_assert_eq!(*g, &b[..]);
        }
    }

    /// Arbitrary bytes: never a panic, and whatever decodes is canonical.
    #[test]
    fn arbitrary_bytes_are_canonical_or_rejected(bytes in vec(any::<u8>(), 0..96), op in proptest::sample::select(OpCode::ALL)) {
        if let Ok(f) = RequestFrame::decode(&bytes) {
            let mut again = Vec::new();
            f.write(&mut again);
            prop_assert_eq!(again, bytes.clone());
        }
        if let Ok(f) = ReplyFrame::decode(&bytes, Some(op)) {
            let mut again = Vec::new();
            f.write(&mut again);
            prop_assert_eq!(again, bytes.clone());
        }
        if let Ok(c) = ConnectRequest::decode(&bytes) {
            prop_assert_eq!(c.to_vec(), bytes);
        }
    }
}
