//! Random op sequences: structural invariants hold after every entry, failed
//! writes change nothing, snapshots round-trip, and replicas agree.

use proptest::prelude::*;
use zkproto::{perms, CreateMode, EventType, Stat};
use zkserver::tree::{
    Acl, Applied, CheckOp, CreateOp, DataTree, DeleteOp, MultiOp, NodeKind, Op, SetAclOp, SetDataOp,
};

const PATHS: &[&str] = &[
    "/a",
    "/b",
    "/a/x",
    "/a/y",
    "/b/x",
    "/a/x/z",
    "/a/",
    "/",
    "/zookeeper",
    "bad",
];
const SESSIONS: &[i64] = &[1, 2, 3];

fn path() -> impl Strategy<Value = String> {
    prop::sample::select(PATHS).prop_map(str::to_owned)
}

fn version() -> impl Strategy<Value = i32> {
    -1..3i32
}

fn create() -> impl Strategy<Value = CreateOp> {
    (
        path(),
        prop::collection::vec(any::<u8>(), 0..3),
        prop::sample::select(CreateMode::ALL.to_vec()),
        prop::sample::select(SESSIONS),
        prop_oneof![Just(-1i64), Just(0), Just(100)],
        prop::bool::weighted(0.95),
    )
        .prop_map(|(path, data, mode, session, ttl, good_acl)| CreateOp {
            path,
            data,
            null_data: false,
            acl: if good_acl {
                vec![Acl::world_anyone(perms::ALL)]
            } else {
                vec![]
            },
            mode,
            session,
            // Mostly valid: a TTL for TTL modes, none otherwise.
            ttl_ms: if ttl == 0 {
                0
            } else if mode.is_ttl() {
                ttl.abs()
            } else {
                -1
            },
        })
}

fn multi_op() -> impl Strategy<Value = MultiOp> {
    prop_oneof![
        3 => create().prop_map(MultiOp::Create),
        2 => (path(), version()).prop_map(|(path, version)| MultiOp::Delete(DeleteOp { path, version })),
        2 => (path(), version()).prop_map(|(path, version)| MultiOp::SetData(SetDataOp { path, data: vec![1], null_data: false, version })),
        1 => (path(), version()).prop_map(|(path, version)| MultiOp::Check(CheckOp { path, version })),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => create().prop_map(Op::Create),
        3 => (path(), version()).prop_map(|(path, version)| Op::Delete(DeleteOp { path, version })),
        3 => (path(), version(), prop::collection::vec(any::<u8>(), 0..3))
            .prop_map(|(path, version, data)| Op::SetData(SetDataOp { path, data, null_data: false, version })),
        1 => (path(), version()).prop_map(|(path, version)| Op::SetAcl(SetAclOp {
            path, acl: vec![Acl::world_anyone(perms::READ)], version,
        })),
        1 => (path(), version()).prop_map(|(path, version)| Op::Check(CheckOp { path, version })),
        3 => prop::collection::vec(multi_op(), 0..5).prop_map(Op::Multi),
        2 => prop::sample::select(SESSIONS).prop_map(|session| Op::CreateSession { session, timeout_ms: 5000 , passwd: vec![]}),
        1 => prop::sample::select(SESSIONS).prop_map(|session| Op::CloseSession { session }),
        1 => path().prop_map(|path| Op::DeleteContainer { path }),
    ]
}

/// The invariants, checked through the public read API only.
fn check(t: &DataTree) {
    t.check_invariants().unwrap();
    for p in t.paths() {
        let n = t.node(p).unwrap();
        let s = t.exists(p).unwrap();
        assert_eq!(s.num_children as usize, n.children.len(), "{p}");
        assert_eq!(s.data_length as usize, n.data.len(), "{p}");
        assert!(s.czxid <= s.mzxid, "{p}");
        for c in &n.children {
            let child = if p == "/" {
                format!("/{c}")
            } else {
                format!("{p}/{c}")
            };
            let cs = t.exists(&child).expect("listed child exists");
            assert!(s.pzxid >= cs.czxid, "{p} pzxid below {child} czxid");
        }
        if let NodeKind::Ephemeral(owner) = n.kind() {
            assert!(
                t.ephemerals(owner, "/").contains(&p),
                "{p} not under {owner}"
            );
        }
    }
    for (id, s) in t.sessions() {
        for p in &s.ephemerals {
            assert_eq!(t.exists(p).map(|s| s.ephemeral_owner), Some(id));
        }
    }
}

/// Everything but the last applied zxid.
fn content(t: &DataTree) -> Vec<(String, Vec<u8>, Stat, Vec<Acl>)> {
    t.paths()
        .into_iter()
        .map(|p| {
            let n = t.node(p).unwrap();
            (p.to_owned(), n.data.clone(), n.stat(), n.acl.clone())
        })
        .collect()
}

fn failed(op: &Op, a: &Applied) -> bool {
    !a.code.is_ok() || a.multi_failure().is_some() || matches!(op, Op::Check(_))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn invariants_snapshots_and_replicas(ops in prop::collection::vec(op(), 1..60)) {
        let mut t = DataTree::new();
        let mut replica = DataTree::new();
        for (i, op) in ops.iter().enumerate() {
            let zxid = i as i64 + 1;
            let time = 1_000 + 10 * i as i64;
            let before = content(&t);
            let sessions_before: Vec<_> = t.sessions().map(|(id, s)| (id, s.clone())).collect();
            let a = t.apply(zxid, time, op);
            let b = replica.apply(zxid, time, op);
            prop_assert_eq!(&a, &b);
            prop_assert_eq!(t.last_zxid(), zxid);
            check(&t);
            if failed(op, &a) {
                prop_assert!(a.triggers.is_empty());
                prop_assert_eq!(&content(&t), &before);
                let sessions_after: Vec<_> = t.sessions().map(|(id, s)| (id, s.clone())).collect();
                prop_assert_eq!(sessions_after, sessions_before);
            }
            for trig in &a.triggers {
                let exists = t.exists(&trig.path).is_some();
                // A node created then deleted in one multi is gone at the end.
                if trig.event == EventType::NODE_CHILDREN_CHANGED {
                    prop_assert!(exists || matches!(op, Op::Multi(_)));
                }
            }
        }
        prop_assert_eq!(&t, &replica);
        let bytes = t.snapshot();
        prop_assert_eq!(&bytes, &replica.snapshot());
        let restored = DataTree::restore(&bytes).unwrap();
        prop_assert_eq!(&restored, &t);
        // A restored tree keeps behaving the same.
        let mut restored = restored;
        let next = ops.len() as i64 + 1;
        for op in ops.iter().take(10) {
            prop_assert_eq!(t.apply(next, 0, op), restored.apply(next, 0, op));
        }
        prop_assert_eq!(t, restored);
    }
}
