//! Exact ZooKeeper stat values and result codes after short sequences.

use zkproto::{perms, CreateMode, ErrorCode, EventType, Stat};

use super::*;

const S1: i64 = 0x100;
const S2: i64 = 0x200;

fn create_op(path: &str, mode: CreateMode) -> CreateOp {
    CreateOp {
        path: path.into(),
        data: b"d".to_vec(),
        null_data: false,
        acl: vec![Acl::world_anyone(perms::ALL)],
        mode,
        session: S1,
        ttl_ms: -1,
    }
}

fn create(path: &str) -> Op {
    Op::Create(create_op(path, CreateMode::Persistent))
}

fn create_mode(path: &str, mode: CreateMode) -> Op {
    Op::Create(create_op(path, mode))
}

fn delete(path: &str, version: i32) -> Op {
    Op::Delete(DeleteOp {
        path: path.into(),
        version,
    })
}

fn set_data(path: &str, data: &[u8], version: i32) -> Op {
    Op::SetData(SetDataOp {
        path: path.into(),
        data: data.to_vec(),
        null_data: false,
        version,
    })
}

fn trig(path: &str, event: EventType) -> Trigger {
    Trigger {
        path: path.into(),
        event,
    }
}

/// Applies `ops` at zxids 1, 2, ... and times 1000, 2000, ...
fn run(tree: &mut DataTree, first_zxid: i64, ops: &[Op]) -> Vec<Applied> {
    ops.iter()
        .enumerate()
        .map(|(i, op)| {
            let z = first_zxid + i as i64;
            tree.apply(z, z * 1000, op)
        })
        .collect()
}

#[test]
fn initial_tree() {
    let t = DataTree::new();
    assert_eq!(
        t.paths(),
        ["/", "/zookeeper", "/zookeeper/config", "/zookeeper/quota"]
    );
    // No creates yet, so the shown cversion is 0 x 2 - children: a fresh
    // ZooKeeper shows -1 on "/" and -2 on /zookeeper.
    let root = t.exists("/").unwrap();
    assert_eq!(
        root,
        Stat {
            num_children: 1,
            cversion: -1,
            ..Stat::default()
        }
    );
    assert_eq!(t.exists(ZOOKEEPER).unwrap().num_children, 2);
    assert_eq!(t.exists(ZOOKEEPER).unwrap().cversion, -2);
    assert_eq!(t.exists(QUOTA).unwrap(), Stat::default());
    let (data, stat) = t.get(CONFIG).unwrap();
    assert!(data.is_empty());
    assert_eq!(
        stat,
        Stat {
            aversion: -1,
            ..Stat::default()
        }
    );
    assert_eq!(t.acl(CONFIG).unwrap().0, [Acl::world_anyone(perms::READ)]);
    assert_eq!(t.acl("/").unwrap().0, [Acl::world_anyone(perms::ALL)]);
    assert_eq!(t.all_children_number("/"), Some(3));
    t.check_invariants().unwrap();
}

#[test]
fn create_parent_and_child_stats() {
    let mut t = DataTree::new();
    let r = run(&mut t, 5, &[create("/a"), create("/a/b")]);
    assert_eq!(r[0].code, ErrorCode::OK);
    assert_eq!(r[0].path.as_deref(), Some("/a"));
    assert_eq!(
        r[0].triggers,
        [
            trig("/a", EventType::NODE_CREATED),
            trig("/", EventType::NODE_CHILDREN_CHANGED)
        ]
    );
    let a = t.exists("/a").unwrap();
    assert_eq!(
        a,
        Stat {
            czxid: 5,
            mzxid: 5,
            ctime: 5000,
            mtime: 5000,
            version: 0,
            cversion: 1,
            aversion: 0,
            ephemeral_owner: 0,
            data_length: 1,
            num_children: 1,
            pzxid: 6,
        }
    );
    let b = t.exists("/a/b").unwrap();
    assert_eq!(
        b,
        Stat {
            czxid: 6,
            mzxid: 6,
            ctime: 6000,
            mtime: 6000,
            data_length: 1,
            pzxid: 6,
            ..Stat::default()
        }
    );
    assert_eq!(r[1].stat, Some(b));
    let root = t.exists("/").unwrap();
    // One create under "/" (stored 1), two children: shown 1 x 2 - 2.
    assert_eq!((root.cversion, root.pzxid, root.num_children), (0, 5, 2));
    assert_eq!(t.all_children_number("/a"), Some(1));
    assert_eq!(t.all_children_number("/"), Some(5));
    assert_eq!(t.last_zxid(), 6);
}

#[test]
fn create_errors() {
    let mut t = DataTree::new();
    run(&mut t, 1, &[create("/a")]);
    let before = t.clone();
    let codes: Vec<ErrorCode> = run(
        &mut t,
        2,
        &[
            create("/a"),
            create("/x/y"),
            create("/"),
            create("a"),
            create("/a/"),
            Op::Create(CreateOp {
                acl: vec![],
                ..create_op("/b", CreateMode::Persistent)
            }),
            Op::Create(CreateOp {
                acl: vec![Acl::new(perms::ALL, "world", "someone")],
                ..create_op("/b", CreateMode::Persistent)
            }),
            // ZooKeeper's order: the ACL list is checked before the parent
            // is looked up and before the full path is validated.
            Op::Create(CreateOp {
                acl: vec![],
                ..create_op("/x/", CreateMode::Persistent)
            }),
            Op::Create(CreateOp {
                acl: vec![],
                ..create_op("/x/y", CreateMode::Persistent)
            }),
        ],
    )
    .into_iter()
    .map(|a| a.code)
    .collect();
    assert_eq!(
        codes,
        [
            ErrorCode::NODE_EXISTS,
            ErrorCode::NO_NODE,
            ErrorCode::NODE_EXISTS,
            ErrorCode::BAD_ARGUMENTS,
            ErrorCode::BAD_ARGUMENTS,
            ErrorCode::INVALID_ACL,
            ErrorCode::INVALID_ACL,
            ErrorCode::INVALID_ACL,
            ErrorCode::INVALID_ACL,
        ]
    );
    // Failures consume zxids but change nothing else.
    assert_eq!(t.last_zxid(), 10);
    t.last_zxid = before.last_zxid;
    assert_eq!(t, before);
}

#[test]
fn sequential_numbering_follows_parent_cversion() {
    let mut t = DataTree::new();
    let seq = CreateMode::PersistentSequential;
    let r = run(
        &mut t,
        1,
        &[
            create("/q"),
            create_mode("/q/n-", seq),
            create_mode("/q/n-", seq),
            create("/q/plain"),
            create_mode("/q/", seq),
            delete("/q/plain", -1),
            create_mode("/q/n-", seq),
        ],
    );
    let paths: Vec<_> = r
        .iter()
        .map(|a| a.path.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        paths,
        [
            "/q",
            "/q/n-0000000000",
            "/q/n-0000000001",
            "/q/plain",
            "/q/0000000003",
            "",
            "/q/n-0000000004",
        ]
    );
    let q = t.exists("/q").unwrap();
    assert_eq!((q.cversion, q.pzxid, q.num_children), (6, 7, 4));
    // At the root, too: "/zookeeper" was there from the start (cversion 0),
    // so after creating "/q" the root's cversion is 1.
    let r = t.apply(8, 0, &create_mode("/", seq));
    assert_eq!(r.path.as_deref(), Some("/0000000001"));
}

#[test]
fn sequential_name_formats_negative_cversion_like_java() {
    let mut t = DataTree::new();
    run(&mut t, 1, &[create("/q")]);
    t.nodes.get_mut("/q").unwrap().cversion = -3;
    let r = t.apply(2, 0, &create_mode("/q/n", CreateMode::PersistentSequential));
    assert_eq!(r.path.as_deref(), Some("/q/n-000000003"));
}

#[test]
fn set_data_and_versions() {
    let mut t = DataTree::new();
    let r = run(
        &mut t,
        1,
        &[
            create("/a"),
            set_data("/a", b"hello", 0),
            set_data("/a", b"x", 0),
            set_data("/a", b"again", -1),
            set_data("/nope", b"", -1),
        ],
    );
    assert_eq!(r[1].code, ErrorCode::OK);
    assert_eq!(r[1].triggers, [trig("/a", EventType::NODE_DATA_CHANGED)]);
    assert_eq!(r[2].code, ErrorCode::BAD_VERSION);
    assert!(r[2].triggers.is_empty());
    assert_eq!(r[4].code, ErrorCode::NO_NODE);
    let s = r[3].stat.unwrap();
    assert_eq!(
        (
            s.czxid,
            s.mzxid,
            s.ctime,
            s.mtime,
            s.version,
            s.data_length,
            s.pzxid
        ),
        (1, 4, 1000, 4000, 2, 5, 1)
    );
    assert_eq!(t.get("/a").unwrap(), (&b"again"[..], s));
    assert_eq!(
        t.apply(
            6,
            0,
            &Op::Check(CheckOp {
                path: "/a".into(),
                version: 2
            })
        )
        .code,
        ErrorCode::OK
    );
    assert_eq!(
        t.apply(
            7,
            0,
            &Op::Check(CheckOp {
                path: "/a".into(),
                version: 1
            })
        )
        .code,
        ErrorCode::BAD_VERSION
    );
}

#[test]
fn set_acl_bumps_aversion_only() {
    let mut t = DataTree::new();
    run(&mut t, 1, &[create("/a")]);
    let acl = vec![Acl::new(perms::READ, "digest", "u:h")];
    let op = |version, acl: &Vec<Acl>| {
        Op::SetAcl(SetAclOp {
            path: "/a".into(),
            acl: acl.clone(),
            version,
        })
    };
    let r = t.apply(2, 2000, &op(0, &acl));
    assert_eq!(r.code, ErrorCode::OK);
    assert!(r.triggers.is_empty());
    let s = r.stat.unwrap();
    assert_eq!((s.aversion, s.version, s.mzxid, s.mtime), (1, 0, 1, 1000));
    assert_eq!(t.acl("/a").unwrap().0, acl.as_slice());
    assert_eq!(t.apply(3, 0, &op(0, &acl)).code, ErrorCode::BAD_VERSION);
    assert_eq!(t.apply(4, 0, &op(-1, &vec![])).code, ErrorCode::INVALID_ACL);
    let auth = vec![Acl::new(perms::ALL, "auth", "")];
    assert_eq!(t.apply(5, 0, &op(-1, &auth)).code, ErrorCode::INVALID_ACL);
}

#[test]
fn delete_rules() {
    let mut t = DataTree::new();
    run(&mut t, 1, &[create("/a"), create("/a/b")]);
    let r = run(
        &mut t,
        3,
        &[
            delete("/a", -1),
            delete("/a/b", 5),
            delete("/a/c", -1),
            delete("/", -1),
            delete("/zookeeper", -1),
            delete(QUOTA, -1),
            delete(CONFIG, -1),
            delete("/a/", -1),
            delete("/a/b", 0),
        ],
    );
    let codes: Vec<_> = r.iter().map(|a| a.code).collect();
    assert_eq!(
        codes,
        [
            ErrorCode::NOT_EMPTY,
            ErrorCode::BAD_VERSION,
            ErrorCode::NO_NODE,
            ErrorCode::BAD_ARGUMENTS,
            ErrorCode::BAD_ARGUMENTS,
            ErrorCode::BAD_ARGUMENTS,
            ErrorCode::BAD_ARGUMENTS,
            ErrorCode::BAD_ARGUMENTS,
            ErrorCode::OK,
        ]
    );
    assert_eq!(
        r[8].triggers,
        [
            trig("/a/b", EventType::NODE_DELETED),
            trig("/a", EventType::NODE_CHILDREN_CHANGED)
        ]
    );
    let a = t.exists("/a").unwrap();
    assert_eq!((a.cversion, a.pzxid, a.num_children), (2, 11, 0));
    assert_eq!(t.apply(12, 0, &delete("/a", 0)).code, ErrorCode::OK);
    assert_eq!(t.exists("/a"), None);
    assert_eq!(t.exists("/").unwrap().num_children, 1);
    t.check_invariants().unwrap();
}

#[test]
fn ephemerals_and_close_session() {
    let mut t = DataTree::new();
    let eph = |p: &str, s: i64| {
        Op::Create(CreateOp {
            session: s,
            ..create_op(p, CreateMode::Ephemeral)
        })
    };
    let r = run(
        &mut t,
        1,
        &[
            eph("/e", S1), // no such session yet
            Op::CreateSession {
                session: S1,
                timeout_ms: 30000,
                passwd: vec![],
            },
            Op::CreateSession {
                session: S2,
                timeout_ms: 10000,
                passwd: vec![],
            },
            create("/app"),
            eph("/app/e1", S1),
            eph("/app/e2", S1),
            eph("/app/f", S2),
            eph("/app/e1/child", S1),
            Op::Create(CreateOp {
                session: S1,
                ..create_op("/app/s-", CreateMode::EphemeralSequential)
            }),
        ],
    );
    assert_eq!(r[0].code, ErrorCode::SESSION_EXPIRED);
    // Session id 0 cannot own an ephemeral, even if such a session was opened.
    let mut t0 = DataTree::new();
    let open0 = Op::CreateSession {
        session: 0,
        timeout_ms: 1,
        passwd: vec![],
    };
    let r0 = run(&mut t0, 1, &[open0, eph("/z", 0)]);
    assert_eq!(r0[1].code, ErrorCode::BAD_ARGUMENTS);
    assert_eq!(r[7].code, ErrorCode::NO_CHILDREN_FOR_EPHEMERALS);
    assert_eq!(r[8].path.as_deref(), Some("/app/s-0000000003"));
    assert_eq!(t.exists("/app/e1").unwrap().ephemeral_owner, S1);
    assert_eq!(
        t.ephemerals(S1, "/"),
        ["/app/e1", "/app/e2", "/app/s-0000000003"]
    );
    assert_eq!(t.ephemerals(S1, "/app/e"), ["/app/e1", "/app/e2"]);
    assert_eq!(t.session(S2).unwrap().timeout_ms, 10000);

    let closed = t.apply(10, 10_000, &Op::CloseSession { session: S1 });
    assert_eq!(closed.code, ErrorCode::OK);
    assert_eq!(
        closed.deleted_ephemerals,
        ["/app/e1", "/app/e2", "/app/s-0000000003"]
    );
    let mut want = Vec::new();
    for p in &closed.deleted_ephemerals {
        want.push(trig(p, EventType::NODE_DELETED));
        want.push(trig("/app", EventType::NODE_CHILDREN_CHANGED));
    }
    assert_eq!(closed.triggers, want);
    assert_eq!(t.children("/app").unwrap().len(), 1);
    let app = t.exists("/app").unwrap();
    assert_eq!((app.cversion, app.pzxid), (7, 10));
    assert!(t.session(S1).is_none());
    assert!(t.ephemerals(S1, "/").is_empty());
    assert_eq!(t.sessions().map(|(id, _)| id).collect::<Vec<_>>(), [S2]);
    // Closing again is harmless.
    let again = t.apply(11, 0, &Op::CloseSession { session: S1 });
    assert_eq!(again.code, ErrorCode::OK);
    assert!(again.deleted_ephemerals.is_empty() && again.triggers.is_empty());
    // An explicit delete also drops the index entry.
    assert_eq!(t.apply(12, 0, &delete("/app/f", -1)).code, ErrorCode::OK);
    assert!(t.session(S2).unwrap().ephemerals.is_empty());
    t.check_invariants().unwrap();
}

#[test]
fn containers_and_ttl() {
    let mut t = DataTree::new();
    let ttl = |p: &str, mode, ttl_ms| {
        Op::Create(CreateOp {
            ttl_ms,
            ..create_op(p, mode)
        })
    };
    let r = run(
        &mut t,
        1,
        &[
            create_mode("/c", CreateMode::Container),
            ttl("/t", CreateMode::PersistentWithTtl, 5000),
            ttl("/t0", CreateMode::PersistentWithTtl, 0),
            ttl("/tbig", CreateMode::PersistentWithTtl, MAX_TTL_MS + 1),
            ttl("/p", CreateMode::Persistent, 5000),
            ttl("/ts", CreateMode::PersistentSequentialWithTtl, MAX_TTL_MS),
            create("/c/child"),
            create("/t/child"),
        ],
    );
    let codes: Vec<_> = r.iter().map(|a| a.code).collect();
    use ErrorCode as E;
    assert_eq!(
        codes,
        [
            E::OK,
            E::OK,
            E::BAD_ARGUMENTS,
            E::BAD_ARGUMENTS,
            E::BAD_ARGUMENTS,
            E::OK,
            E::OK,
            E::OK
        ]
    );
    // Stored with ZooKeeper's markers, shown to clients as 0.
    assert_eq!(
        t.node("/c").unwrap().ephemeral_owner as u64,
        0x8000_0000_0000_0000
    );
    assert_eq!(
        t.node("/t").unwrap().ephemeral_owner as u64,
        0xff00_0000_0000_1388
    );
    assert_eq!(t.exists("/c").unwrap().ephemeral_owner, 0);
    assert_eq!(t.exists("/t").unwrap().ephemeral_owner, 0);
    assert_eq!(r[5].path.as_deref(), Some("/ts0000000002"));
    assert_eq!(t.containers(), ["/c"]);
    assert_eq!(t.ttl_nodes(), ["/t", "/ts0000000002"]);
    // Both still have children.
    assert!(t
        .cleanup_candidates(i64::MAX / 2)
        .iter()
        .all(|p| *p == "/ts0000000002"));
    let del = |p: &str| Op::DeleteContainer { path: p.into() };
    assert_eq!(t.apply(9, 9000, &del("/c")).code, ErrorCode::NOT_EMPTY);
    run(
        &mut t,
        10,
        &[delete("/c/child", -1), delete("/t/child", -1)],
    );
    // /t was last modified at 2000 (its mtime; children do not change it).
    assert_eq!(t.cleanup_candidates(7000), ["/c"]);
    assert_eq!(t.cleanup_candidates(7001), ["/c", "/t"]);
    assert_eq!(t.apply(12, 0, &del("/p")).code, ErrorCode::NO_NODE);
    run(&mut t, 13, &[create("/p")]);
    assert_eq!(t.apply(14, 0, &del("/p")).code, ErrorCode::BAD_ARGUMENTS);
    let r = t.apply(15, 0, &del("/c"));
    assert_eq!(r.code, ErrorCode::OK);
    assert_eq!(r.triggers[0], trig("/c", EventType::NODE_DELETED));
    // A fresh container that never had children is not a candidate.
    run(&mut t, 16, &[create_mode("/c2", CreateMode::Container)]);
    assert!(!t.cleanup_candidates(i64::MAX / 2).contains(&"/c2"));
}

#[test]
fn multi_success_fires_all_triggers() {
    let mut t = DataTree::new();
    run(&mut t, 1, &[create("/a")]);
    let ops = vec![
        MultiOp::Create(create_op("/a/s-", CreateMode::PersistentSequential)),
        MultiOp::Create(create_op("/a/s-", CreateMode::PersistentSequential)),
        MultiOp::SetData(SetDataOp {
            path: "/a".into(),
            data: b"v".to_vec(),
            null_data: false,
            version: 0,
        }),
        MultiOp::Check(CheckOp {
            path: "/a".into(),
            version: 1,
        }),
        MultiOp::Delete(DeleteOp {
            path: "/a/s-0000000000".into(),
            version: 0,
        }),
    ];
    let r = t.apply(2, 2000, &Op::Multi(ops));
    assert_eq!(r.code, ErrorCode::OK);
    assert_eq!(r.multi_failure(), None);
    let results = r.multi.clone().unwrap();
    let s1 = t.exists("/a/s-0000000001").unwrap();
    assert_eq!(
        results[1],
        MultiOpResult::Create {
            path: "/a/s-0000000001".into(),
            stat: s1
        }
    );
    assert!(matches!(results[2], MultiOpResult::SetData(s) if s.version == 1 && s.mzxid == 2));
    assert_eq!(results[3], MultiOpResult::Check);
    assert_eq!(results[4], MultiOpResult::Delete);
    use EventType as E;
    assert_eq!(
        r.triggers,
        [
            trig("/a/s-0000000000", E::NODE_CREATED),
            trig("/a", E::NODE_CHILDREN_CHANGED),
            trig("/a/s-0000000001", E::NODE_CREATED),
            trig("/a", E::NODE_CHILDREN_CHANGED),
            trig("/a", E::NODE_DATA_CHANGED),
            trig("/a/s-0000000000", E::NODE_DELETED),
            trig("/a", E::NODE_CHILDREN_CHANGED),
        ]
    );
    let a = t.exists("/a").unwrap();
    assert_eq!(
        (a.cversion, a.pzxid, a.num_children, a.version),
        (3, 2, 1, 1)
    );
    // Wire form.
    let proto = results[1].to_proto(zkproto::OpCode::Create);
    assert!(matches!(proto, zkproto::OpResult::Create(p) if p.path == "/a/s-0000000001"));
}

#[test]
fn multi_failure_changes_nothing() {
    let mut t = DataTree::new();
    run(
        &mut t,
        1,
        &[
            Op::CreateSession {
                session: S1,
                timeout_ms: 1,
                passwd: vec![],
            },
            create("/a"),
            create_mode("/a/e", CreateMode::Ephemeral),
        ],
    );
    let before = t.clone();
    let ops = vec![
        MultiOp::Create(create_op("/a/new", CreateMode::Persistent)),
        MultiOp::Create(create_op("/a/eph", CreateMode::Ephemeral)),
        MultiOp::Delete(DeleteOp {
            path: "/a/e".into(),
            version: -1,
        }),
        MultiOp::SetData(SetDataOp {
            path: "/a".into(),
            data: vec![],
            null_data: false,
            version: 7,
        }),
        MultiOp::Check(CheckOp {
            path: "/a".into(),
            version: 0,
        }),
    ];
    let r = t.apply(4, 4000, &Op::Multi(ops));
    assert_eq!(r.code, ErrorCode::OK);
    assert_eq!(
        r.multi.clone().unwrap(),
        [0, 0, 0, -103, -2].map(MultiOpResult::Error)
    );
    assert_eq!(r.multi_failure(), Some((3, -103)));
    assert!(r.triggers.is_empty());
    assert_eq!(t.last_zxid(), 4);
    t.last_zxid = before.last_zxid;
    assert_eq!(t, before);
    // The sequence counter was not consumed either.
    let r = t.apply(5, 0, &create_mode("/a/s", CreateMode::PersistentSequential));
    assert_eq!(r.path.as_deref(), Some("/a/s0000000001"));
    // First op failing.
    let r = t.apply(
        6,
        0,
        &Op::Multi(vec![
            MultiOp::Check(CheckOp {
                path: "/zz".into(),
                version: -1,
            }),
            MultiOp::Check(CheckOp {
                path: "/a".into(),
                version: -1,
            }),
        ]),
    );
    assert_eq!(r.multi.unwrap(), [-101, -2].map(MultiOpResult::Error));
    // Empty multi.
    let r = t.apply(7, 0, &Op::Multi(vec![]));
    assert_eq!((r.code, r.multi), (ErrorCode::OK, Some(vec![])));
}

#[test]
fn snapshot_round_trip() {
    let mut t = DataTree::new();
    run(
        &mut t,
        1,
        &[
            Op::CreateSession {
                session: S1,
                timeout_ms: 1,
                passwd: vec![],
            },
            create("/a"),
            create_mode("/a/e", CreateMode::Ephemeral),
            create_mode("/c", CreateMode::Container),
            set_data("/a", &[0, 255, 7], -1),
        ],
    );
    let bytes = t.snapshot();
    let back = DataTree::restore(&bytes).unwrap();
    assert_eq!(back, t);
    assert_eq!(back.snapshot(), bytes);
    // A snapshot that breaks the ephemeral index is refused.
    let mut broken = t.clone();
    broken.sessions.clear();
    assert!(matches!(
        DataTree::restore(&broken.snapshot()),
        Err(SnapshotError::Inconsistent(_))
    ));
    assert!(matches!(
        DataTree::restore(b"{"),
        Err(SnapshotError::Decode(_))
    ));
}

#[test]
fn ops_serialize_for_the_log() {
    let op = Op::Multi(vec![MultiOp::Create(create_op(
        "/a",
        CreateMode::EphemeralSequential,
    ))]);
    let json = serde_json::to_string(&op).unwrap();
    assert_eq!(serde_json::from_str::<Op>(&json).unwrap(), op);
}

#[test]
fn acls_are_checked_at_apply_in_zookeepers_order() {
    let alice = Id {
        scheme: "digest".into(),
        id: crate::acl::digest("alice", "pw"),
    };
    let mut t = DataTree::new();
    let mut locked = create_op("/locked", CreateMode::Persistent);
    locked.acl = vec![
        Acl {
            perms: perms::ALL,
            id: alice.clone(),
        },
        Acl::world_anyone(perms::READ),
    ];
    assert!(t.apply(1, 1, &Op::Create(locked)).code.is_ok());
    let nobody = Caller::default();
    let owner = Caller {
        ids: vec![alice],
        ..Caller::default()
    };
    let root = Caller {
        superuser: true,
        ..Caller::default()
    };
    let code = |t: &mut DataTree, z, op: &Op, c: &Caller| t.apply_as(z, z, op, Some(c)).code;
    // CREATE on the parent is what counts for a create.
    assert_eq!(
        code(&mut t, 2, &create("/locked/x"), &nobody),
        ErrorCode::NO_AUTH
    );
    // A missing parent is reported before the ACL, an existing node after it.
    assert_eq!(
        code(&mut t, 3, &create("/nope/x"), &nobody),
        ErrorCode::NO_NODE
    );
    assert_eq!(code(&mut t, 4, &create("/locked/x"), &owner), ErrorCode::OK);
    assert_eq!(
        code(&mut t, 5, &create("/locked/x"), &nobody),
        ErrorCode::NO_AUTH
    );
    assert_eq!(
        code(&mut t, 6, &create("/locked/x"), &owner),
        ErrorCode::NODE_EXISTS
    );
    // WRITE on the node for setData, before the version check; READ for check.
    let set = set_data("/locked", b"v", 99);
    assert_eq!(code(&mut t, 7, &set, &nobody), ErrorCode::NO_AUTH);
    assert_eq!(code(&mut t, 8, &set, &owner), ErrorCode::BAD_VERSION);
    let check = Op::Check(CheckOp {
        path: "/locked".into(),
        version: 0,
    });
    assert_eq!(code(&mut t, 9, &check, &nobody), ErrorCode::OK);
    // DELETE on the parent: "/" is open, "/locked/x" is not.
    assert_eq!(
        code(&mut t, 10, &delete("/locked/x", -1), &nobody),
        ErrorCode::NO_AUTH
    );
    assert_eq!(
        code(&mut t, 11, &delete("/locked/x", -1), &root),
        ErrorCode::OK
    );
    // ADMIN for setACL.
    let set_acl = Op::SetAcl(SetAclOp {
        path: "/locked".into(),
        acl: vec![Acl::world_anyone(perms::ALL)],
        version: -1,
    });
    assert_eq!(code(&mut t, 12, &set_acl, &nobody), ErrorCode::NO_AUTH);
    assert_eq!(code(&mut t, 13, &set_acl, &owner), ErrorCode::OK);
    // A failed op inside a multi rolls the whole multi back.
    let mut t2 = t.clone();
    let mut locked2 = create_op("/l2", CreateMode::Persistent);
    locked2.acl = vec![Acl::world_anyone(perms::READ)];
    assert!(t2.apply(20, 20, &Op::Create(locked2)).code.is_ok());
    let multi = Op::Multi(vec![
        MultiOp::Create(create_op("/ok", CreateMode::Persistent)),
        MultiOp::Create(create_op("/l2/no", CreateMode::Persistent)),
    ]);
    let a = t2.apply_as(21, 21, &multi, Some(&nobody));
    assert_eq!(a.multi_failure(), Some((1, ErrorCode::NO_AUTH.0)));
    assert!(t2.node("/ok").is_none());
}

#[test]
fn quota_stats_follow_the_subtree_and_hard_limits_refuse_writes() {
    let mut t = DataTree::new();
    let mk = |p: &str, data: &[u8]| {
        Op::Create(CreateOp {
            data: data.to_vec(),
            ..create_op(p, CreateMode::Persistent)
        })
    };
    // What ZooKeeper 3.8's zkCli `setquota -N 3 -B 10 /app` writes, byte for
    // byte (its separators are odd, and parsed as ZooKeeper parses them).
    let limits = b"count=-1,bytes=-1=;byteHardLimit=10;countHardLimit=3";
    let r = run(
        &mut t,
        1,
        &[
            mk("/app", b"ab"),
            mk("/zookeeper/quota/app", b""),
            mk("/zookeeper/quota/app/zookeeper_limits", limits),
            mk("/zookeeper/quota/app/zookeeper_stats", b"count=0,bytes=0"),
        ],
    );
    assert!(r.iter().all(|a| a.code.is_ok()));
    let stats = |t: &DataTree| {
        String::from_utf8(
            t.node("/zookeeper/quota/app/zookeeper_stats")
                .unwrap()
                .data
                .clone(),
        )
        .unwrap()
    };
    // Creating the stats node computed the usage already there.
    assert_eq!(stats(&t), "count=1,bytes=2");
    let enforcing = Caller {
        enforce_quota: true,
        ..Caller::default()
    };
    let mut z = 10;
    let mut apply = |t: &mut DataTree, op: Op, c: Option<&Caller>| {
        z += 1;
        t.apply_as(z, z, &op, c).code
    };
    assert_eq!(
        apply(&mut t, mk("/app/a", b"1234"), Some(&enforcing)),
        ErrorCode::OK
    );
    assert_eq!(stats(&t), "count=2,bytes=6");
    // Bytes: 6 + 5 > 10.
    assert_eq!(
        apply(&mut t, mk("/app/b", b"12345"), Some(&enforcing)),
        ErrorCode::QUOTA_EXCEEDED
    );
    assert_eq!(
        apply(&mut t, mk("/app/b", b"1"), Some(&enforcing)),
        ErrorCode::OK
    );
    // Count: 3 nodes already.
    assert_eq!(
        apply(&mut t, mk("/app/c", b""), Some(&enforcing)),
        ErrorCode::QUOTA_EXCEEDED
    );
    // Growing data is checked, shrinking is not.
    assert_eq!(
        apply(
            &mut t,
            set_data("/app/a", b"12345678", -1),
            Some(&enforcing)
        ),
        ErrorCode::QUOTA_EXCEEDED
    );
    assert_eq!(
        apply(&mut t, set_data("/app/a", b"1", -1), Some(&enforcing)),
        ErrorCode::OK
    );
    assert_eq!(stats(&t), "count=3,bytes=4");
    // Without enforcement the limit is only reported.
    assert_eq!(
        apply(&mut t, mk("/app/c", b"123456789"), None),
        ErrorCode::OK
    );
    assert_eq!(stats(&t), "count=4,bytes=13");
    assert_eq!(apply(&mut t, delete("/app/c", -1), None), ErrorCode::OK);
    assert_eq!(stats(&t), "count=3,bytes=4");
    // A path outside the quota, and one sharing a name prefix, are free.
    assert_eq!(
        apply(&mut t, mk("/apple", b"0123456789abc"), Some(&enforcing)),
        ErrorCode::OK
    );
    assert_eq!(stats(&t), "count=3,bytes=4");
}

/// The node table is a hash map: snapshots must not follow its order.
/// Trees with the same content built in different orders serialize to the
/// same bytes, and a restored tree to the bytes it came from.
#[test]
fn snapshots_do_not_depend_on_insertion_order() {
    let names: Vec<String> = (0..200).map(|i| format!("/n{i:03}")).collect();
    let mut a = DataTree::new();
    let mut b = DataTree::new();
    let ops_a: Vec<Op> = names.iter().map(|p| create(p)).collect();
    let ops_b: Vec<Op> = names.iter().rev().map(|p| create(p)).collect();
    run(&mut a, 1, &ops_a);
    run(&mut b, 1, &ops_b);
    // Same zxids and times per position differ by path; only compare paths
    // and data, then the bytes of equal trees.
    assert_eq!(a.paths(), b.paths());
    let bytes = a.snapshot();
    let back = DataTree::restore(&bytes).unwrap();
    assert_eq!(back.snapshot(), bytes);
    assert_eq!(back, a);
    let mut again = DataTree::new();
    run(&mut again, 1, &ops_a);
    assert_eq!(again.snapshot(), bytes);
}

/// The cleaner's index of containers and TTL nodes survives a snapshot and
/// follows a multi that is rolled back.
#[test]
fn container_index_survives_restore_and_rollback() {
    let mut t = DataTree::new();
    run(&mut t, 1, &[create_mode("/c", CreateMode::Container)]);
    let restored = DataTree::restore(&t.snapshot()).unwrap();
    assert_eq!(restored.containers(), ["/c"]);

    // Creates /c2 (a container), then fails: /c2 must not stay indexed.
    let multi = Op::Multi(vec![
        MultiOp::Create(create_op("/c2", CreateMode::Container)),
        MultiOp::Delete(DeleteOp {
            path: "/missing".into(),
            version: -1,
        }),
    ]);
    assert!(t.apply(2, 2000, &multi).multi_failure().is_some());
    assert!(t.node("/c2").is_none());
    assert_eq!(t.containers(), ["/c"]);
    // And the other way: a deleted container put back by a rollback.
    let multi = Op::Multi(vec![
        MultiOp::Delete(DeleteOp {
            path: "/c".into(),
            version: -1,
        }),
        MultiOp::Delete(DeleteOp {
            path: "/missing".into(),
            version: -1,
        }),
    ]);
    assert!(t.apply(3, 3000, &multi).multi_failure().is_some());
    assert_eq!(t.containers(), ["/c"]);
    t.check_invariants().unwrap();
}

#[test]
fn all_children_number_and_quota_usage_walk_the_subtree() {
    let mut t = DataTree::new();
    run(
        &mut t,
        1,
        &[
            create("/a"),
            create("/a/b"),
            create("/a/b/c"),
            create("/ab"),
            create("/a/d"),
        ],
    );
    // "/ab" shares the prefix "/a" but is not below it.
    assert_eq!(t.all_children_number("/a"), Some(3));
    assert_eq!(t.all_children_number("/ab"), Some(0));
    assert_eq!(t.all_children_number("/nope"), None);
    assert_eq!(t.usage("/a"), (4, 4));
}

/// Nodes are written as sequences; a snapshot written with field names
/// (as before) still reads, in both snapshot encodings.
#[test]
fn nodes_read_from_sequences_and_from_named_maps() {
    let mut t = DataTree::new();
    run(&mut t, 1, &[create("/a"), set_data("/a", b"\x00\xffv", 0)]);
    let node = t.node("/a").unwrap().clone();

    let packed = rmp_serde::to_vec_named(&node).unwrap();
    assert_eq!(packed[0], 0x9d, "a 13-element array, not a map");
    let back: Node = rmp_serde::from_slice(&packed).unwrap();
    assert_eq!(back, node);

    let named = serde_json::json!({
        "data": node.data,
        "acl": [{"perms": 31, "id": {"scheme": "world", "id": "anyone"}}],
        "czxid": node.czxid, "mzxid": node.mzxid, "ctime": node.ctime,
        "mtime": node.mtime, "version": node.version, "cversion": node.cversion,
        "aversion": node.aversion, "ephemeral_owner": node.ephemeral_owner,
        "pzxid": node.pzxid, "children": [],
    });
    let from_json: Node = serde_json::from_value(named.clone()).unwrap();
    assert_eq!(from_json, node);
    let from_msgpack: Node =
        rmp_serde::from_slice(&rmp_serde::to_vec_named(&named).unwrap()).unwrap();
    assert_eq!(from_msgpack, node);
}
