//! Applying one entry. Checks run in ZooKeeper's order (PrepRequestProcessor)
//! so that a request with several faults reports the same code.

use zkproto::{perms, CreateMode, ErrorCode, EventType, Stat};

use super::node::{Acl, Node, NodeKind, MAX_TTL_MS};
use super::op::{
    Applied, Caller, CheckOp, CreateOp, DeleteOp, MultiOp, MultiOpResult, Op, SetAclOp, SetDataOp,
    Trigger,
};
use super::{path, DataTree, Session, CONFIG, QUOTA, ZOOKEEPER};

type Result<T> = std::result::Result<T, ErrorCode>;

/// How to take back one change of a multi that later fails.
enum Undo {
    /// The node's previous value (`None`: it did not exist).
    Node(String, Option<Node>),
    EphemeralAdded(i64, String),
    EphemeralRemoved(i64, String),
}

/// One entry being applied: the tree plus what the entry did so far.
struct Writer<'a> {
    tree: &'a mut DataTree,
    zxid: i64,
    time_ms: i64,
    /// Kept only inside a multi; a single op validates before it mutates.
    undo: Option<Vec<Undo>>,
    triggers: Vec<Trigger>,
    /// `None`: the system itself (session expiry, the cleaner): no checks.
    caller: Option<&'a Caller>,
}

impl DataTree {
    /// Applies one replicated write at `zxid`, with `time_ms` the leader's
    /// clock when it proposed the entry. Never fails: a rejected request is a
    /// result like any other, and the zxid is consumed either way.
    pub fn apply(&mut self, zxid: i64, time_ms: i64, op: &Op) -> Applied {
        self.apply_as(zxid, time_ms, op, None)
    }

    /// [`DataTree::apply`] on behalf of `caller`, whose ids must satisfy
    /// the ACLs involved (checked where ZooKeeper checks them, so a request
    /// with several faults reports the same code).
    pub fn apply_as(
        &mut self,
        zxid: i64,
        time_ms: i64,
        op: &Op,
        caller: Option<&Caller>,
    ) -> Applied {
        self.last_zxid = zxid;
        let mut w = Writer {
            tree: self,
            zxid,
            time_ms,
            undo: None,
            triggers: Vec::new(),
            caller,
        };
        let mut applied = match op {
            Op::Create(c) => w.create(c).map(|(path, stat)| Applied {
                path: Some(path),
                stat: Some(stat),
                ..Applied::ok()
            }),
            Op::Delete(d) => w.delete(d).map(|()| Applied::ok()),
            Op::SetData(s) => w.set_data(s).map(stat_reply),
            Op::SetAcl(s) => w.set_acl(s).map(stat_reply),
            Op::Check(c) => w.check(c).map(|()| Applied::ok()),
            Op::Multi(ops) => Ok(w.multi(ops)),
            Op::CreateSession {
                session,
                timeout_ms,
                passwd,
            } => {
                w.create_session(*session, *timeout_ms, passwd);
                Ok(Applied::ok())
            }
            Op::CloseSession { session } => Ok(Applied {
                deleted_ephemerals: w.close_session(*session),
                ..Applied::ok()
            }),
            Op::DeleteContainer { path } => w.delete_container(path).map(|()| Applied::ok()),
        }
        .unwrap_or_else(Applied::err);
        if applied.code.is_ok() {
            applied.triggers = w.triggers;
            let touched: Vec<String> = applied
                .triggers
                .iter()
                .filter(|t| t.event != EventType::NODE_CHILDREN_CHANGED)
                .map(|t| t.path.clone())
                .chain(applied.deleted_ephemerals.iter().cloned())
                .collect();
            self.refresh_quota_stats(touched.iter().map(String::as_str));
        }
        applied
    }
}

fn stat_reply(stat: Stat) -> Applied {
    Applied {
        stat: Some(stat),
        ..Applied::ok()
    }
}

/// An expected version of -1 matches any.
fn check_version(expected: i32, actual: i32) -> Result<()> {
    if expected == -1 || expected == actual {
        Ok(())
    } else {
        Err(ErrorCode::BAD_VERSION)
    }
}

/// What of ZooKeeper's fixupACL can be checked without the requester's auth:
/// the `auth` scheme must already have been expanded by the server into the
/// session's ids before the entry was proposed.
fn check_acl(acl: &[Acl]) -> Result<()> {
    let bad = |a: &Acl| match a.id.scheme.as_str() {
        "world" => a.id.id != "anyone",
        "auth" => true,
        _ => false,
    };
    if acl.is_empty() || acl.iter().any(bad) {
        Err(ErrorCode::INVALID_ACL)
    } else {
        Ok(())
    }
}

/// The `ephemeralOwner` a create will store. ZooKeeper's rule: a TTL mode needs
/// 0 < ttl <= 2^40-1, any other mode a negative ttl (requests without one
/// carry -1).
fn owner_for(op: &CreateOp) -> Result<i64> {
    if op.mode.is_ttl() {
        if op.ttl_ms <= 0 || op.ttl_ms > MAX_TTL_MS {
            return Err(ErrorCode::BAD_ARGUMENTS);
        }
        return Ok(NodeKind::Ttl(op.ttl_ms).owner());
    }
    if op.ttl_ms >= 0 {
        return Err(ErrorCode::BAD_ARGUMENTS);
    }
    Ok(match op.mode {
        CreateMode::Container => NodeKind::Container.owner(),
        m if m.is_ephemeral() => op.session,
        _ => 0,
    })
}

fn is_system(p: &str) -> bool {
    matches!(p, "/" | ZOOKEEPER | QUOTA | CONFIG)
}

impl Writer<'_> {
    fn node(&self, p: &str) -> Result<&Node> {
        self.tree.nodes.get(p).ok_or(ErrorCode::NO_NODE)
    }

    fn enforce_quota(&self) -> bool {
        self.caller.is_some_and(|c| c.enforce_quota)
    }

    /// The caller may do `perm` on `node`.
    fn allowed(&self, node: &Node, perm: i32) -> Result<()> {
        let Some(c) = self.caller else {
            return Ok(());
        };
        if crate::acl::check_ids(&node.acl, perm, &c.ids, c.superuser) {
            Ok(())
        } else {
            Err(ErrorCode::NO_AUTH)
        }
    }

    /// Records `p`'s current value before it changes, inside a multi.
    fn save(&mut self, p: &str) {
        if let Some(undo) = &mut self.undo {
            undo.push(Undo::Node(p.to_owned(), self.tree.nodes.get(p).cloned()));
        }
    }

    fn fire(&mut self, p: &str, event: EventType) {
        self.triggers.push(Trigger {
            path: p.to_owned(),
            event,
        });
    }

    fn create(&mut self, op: &CreateOp) -> Result<(String, Stat)> {
        let sequential = op.mode.is_sequential();
        // ZooKeeper's order: only a missing slash or a NUL fails before the
        // parent is looked up; the full path is validated after, so "/a//b"
        // is NoNode (parent "/a/" does not exist), not BadArguments.
        let Some(last_slash) = op.path.rfind('/') else {
            return Err(ErrorCode::BAD_ARGUMENTS);
        };
        if op.path.contains('\0') {
            return Err(ErrorCode::BAD_ARGUMENTS);
        }
        let owner = owner_for(op)?;
        if op.mode.is_ephemeral() {
            // 0 and the container/TTL markers would not read back as an owner.
            if NodeKind::from_owner(op.session) != NodeKind::Ephemeral(op.session) {
                return Err(ErrorCode::BAD_ARGUMENTS);
            }
            // An ephemeral of a session that is gone would never be cleaned up.
            if !self.tree.sessions.contains_key(&op.session) {
                return Err(ErrorCode::SESSION_EXPIRED);
            }
        }
        check_acl(&op.acl)?;
        let parent_path = if last_slash == 0 {
            "/"
        } else {
            &op.path[..last_slash]
        };
        let parent = self.node(parent_path)?;
        self.allowed(parent, perms::CREATE)?;
        let full = if sequential {
            format!("{}{:010}", op.path, parent.cversion)
        } else {
            op.path.clone()
        };
        if !path::is_valid(&full, false) {
            return Err(ErrorCode::BAD_ARGUMENTS);
        }
        if self.tree.nodes.contains_key(&full) {
            return Err(ErrorCode::NODE_EXISTS);
        }
        if matches!(parent.kind(), NodeKind::Ephemeral(_)) {
            return Err(ErrorCode::NO_CHILDREN_FOR_EPHEMERALS);
        }
        if self.enforce_quota() && self.tree.exceeds_quota(&full, 1, op.data.len() as i64) {
            return Err(ErrorCode::QUOTA_EXCEEDED);
        }

        let parent_path = parent_path.to_owned();
        let name = path::split(&full).1.to_owned();
        self.save(&parent_path);
        self.save(&full);
        let parent = self.tree.nodes.get_mut(&parent_path).expect("checked");
        parent.children.insert(name);
        parent.cversion = parent.cversion.wrapping_add(1);
        parent.pzxid = self.zxid;
        let mut node = Node::new(
            op.data.clone(),
            op.acl.clone(),
            owner,
            self.zxid,
            self.time_ms,
        );
        node.null_data = op.null_data;
        let stat = node.stat();
        self.tree.nodes.insert(full.clone(), node);
        if let NodeKind::Ephemeral(s) = NodeKind::from_owner(owner) {
            self.index_ephemeral(s, &full);
        }
        self.fire(&full, EventType::NODE_CREATED);
        self.fire(&parent_path, EventType::NODE_CHILDREN_CHANGED);
        Ok((full, stat))
    }

    fn index_ephemeral(&mut self, session: i64, p: &str) {
        let s = self.tree.sessions.get_mut(&session).expect("checked open");
        if s.ephemerals.insert(p.to_owned()) {
            if let Some(undo) = &mut self.undo {
                undo.push(Undo::EphemeralAdded(session, p.to_owned()));
            }
        }
    }

    fn delete(&mut self, op: &DeleteOp) -> Result<()> {
        if !path::is_valid(&op.path, false) || is_system(&op.path) {
            return Err(ErrorCode::BAD_ARGUMENTS);
        }
        let (parent_path, _) = path::split(&op.path);
        self.allowed(self.node(parent_path)?, perms::DELETE)?;
        let node = self.node(&op.path)?;
        check_version(op.version, node.version)?;
        if !node.children.is_empty() {
            return Err(ErrorCode::NOT_EMPTY);
        }
        self.remove(&op.path);
        Ok(())
    }

    fn delete_container(&mut self, p: &str) -> Result<()> {
        if !path::is_valid(p, false) || is_system(p) {
            return Err(ErrorCode::BAD_ARGUMENTS);
        }
        let node = self.node(p)?;
        if !matches!(node.kind(), NodeKind::Container | NodeKind::Ttl(_)) {
            return Err(ErrorCode::BAD_ARGUMENTS);
        }
        if !node.children.is_empty() {
            return Err(ErrorCode::NOT_EMPTY);
        }
        self.remove(p);
        Ok(())
    }

    /// Removes a childless node. The parent's stored cversion counts creates
    /// only (sequence numbers come from it); the cversion clients see is
    /// derived from it and the child count, see [`Node::stat`].
    fn remove(&mut self, p: &str) {
        let (parent_path, name) = path::split(p);
        let parent_path = parent_path.to_owned();
        self.save(&parent_path);
        self.save(p);
        let node = self.tree.nodes.remove(p).expect("checked");
        let parent = self
            .tree
            .nodes
            .get_mut(&parent_path)
            .expect("tree is closed");
        parent.children.remove(name);
        parent.pzxid = parent.pzxid.max(self.zxid);
        if let NodeKind::Ephemeral(s) = node.kind() {
            let removed = self
                .tree
                .sessions
                .get_mut(&s)
                .is_some_and(|sess| sess.ephemerals.remove(p));
            if removed {
                if let Some(undo) = &mut self.undo {
                    undo.push(Undo::EphemeralRemoved(s, p.to_owned()));
                }
            }
        }
        self.fire(p, EventType::NODE_DELETED);
        self.fire(&parent_path, EventType::NODE_CHILDREN_CHANGED);
    }

    fn set_data(&mut self, op: &SetDataOp) -> Result<Stat> {
        if !path::is_valid(&op.path, false) {
            return Err(ErrorCode::BAD_ARGUMENTS);
        }
        let node = self.node(&op.path)?;
        self.allowed(node, perms::WRITE)?;
        check_version(op.version, node.version)?;
        if self.enforce_quota() {
            let grows = op.data.len() as i64 - node.data.len() as i64;
            if self.tree.exceeds_quota(&op.path, 0, grows) {
                return Err(ErrorCode::QUOTA_EXCEEDED);
            }
        }
        self.save(&op.path);
        let node = self.tree.nodes.get_mut(&op.path).expect("checked");
        node.data.clone_from(&op.data);
        node.null_data = op.null_data;
        node.version = node.version.wrapping_add(1);
        node.mzxid = self.zxid;
        node.mtime = self.time_ms;
        let stat = node.stat();
        self.fire(&op.path, EventType::NODE_DATA_CHANGED);
        Ok(stat)
    }

    fn set_acl(&mut self, op: &SetAclOp) -> Result<Stat> {
        if !path::is_valid(&op.path, false) {
            return Err(ErrorCode::BAD_ARGUMENTS);
        }
        check_acl(&op.acl)?;
        let node = self.node(&op.path)?;
        self.allowed(node, perms::ADMIN)?;
        check_version(op.version, node.aversion)?;
        self.save(&op.path);
        let node = self.tree.nodes.get_mut(&op.path).expect("checked");
        node.acl.clone_from(&op.acl);
        node.aversion = node.aversion.wrapping_add(1);
        // ZooKeeper fires no watch for an ACL change.
        Ok(node.stat())
    }

    fn check(&mut self, op: &CheckOp) -> Result<()> {
        if !path::is_valid(&op.path, false) {
            return Err(ErrorCode::BAD_ARGUMENTS);
        }
        let node = self.node(&op.path)?;
        self.allowed(node, perms::READ)?;
        check_version(op.version, node.version)
    }

    /// All or nothing: on the first failure every change is undone and the
    /// results take ZooKeeper's failure encoding.
    fn multi(&mut self, ops: &[MultiOp]) -> Applied {
        self.undo = Some(Vec::new());
        let mut results = Vec::with_capacity(ops.len());
        for (i, op) in ops.iter().enumerate() {
            let r = match op {
                MultiOp::Create(c) => self
                    .create(c)
                    .map(|(path, stat)| MultiOpResult::Create { path, stat }),
                MultiOp::Delete(d) => self.delete(d).map(|()| MultiOpResult::Delete),
                MultiOp::SetData(s) => self.set_data(s).map(MultiOpResult::SetData),
                MultiOp::Check(c) => self.check(c).map(|()| MultiOpResult::Check),
            };
            match r {
                Ok(r) => results.push(r),
                Err(code) => {
                    self.rollback();
                    let failed = zkproto::MultiResponse::failed(ops.len(), i, code.0);
                    let results = failed.results.iter().map(|r| MultiOpResult::Error(r.err()));
                    return Applied {
                        multi: Some(results.collect()),
                        ..Applied::ok()
                    };
                }
            }
        }
        self.undo = None;
        Applied {
            multi: Some(results),
            ..Applied::ok()
        }
    }

    fn rollback(&mut self) {
        let undo = self.undo.take().unwrap_or_default();
        for u in undo.into_iter().rev() {
            match u {
                Undo::Node(p, Some(n)) => {
                    self.tree.nodes.insert(p, n);
                }
                Undo::Node(p, None) => {
                    self.tree.nodes.remove(&p);
                }
                Undo::EphemeralAdded(s, p) => {
                    if let Some(sess) = self.tree.sessions.get_mut(&s) {
                        sess.ephemerals.remove(&p);
                    }
                }
                Undo::EphemeralRemoved(s, p) => {
                    if let Some(sess) = self.tree.sessions.get_mut(&s) {
                        sess.ephemerals.insert(p);
                    }
                }
            }
        }
        self.triggers.clear();
    }

    /// Re-creating an open session only updates its timeout.
    fn create_session(&mut self, session: i64, timeout_ms: i32, passwd: &[u8]) {
        self.tree
            .sessions
            .entry(session)
            .and_modify(|s| s.timeout_ms = timeout_ms)
            .or_insert_with(|| Session {
                timeout_ms,
                passwd: passwd.to_vec(),
                ephemerals: Default::default(),
            });
    }

    /// Closing an unknown session is a no-op that succeeds: expiry and an
    /// explicit close may both reach the log.
    fn close_session(&mut self, session: i64) -> Vec<String> {
        let Some(s) = self.tree.sessions.get(&session) else {
            return Vec::new();
        };
        // Ephemerals have no children, so any order works; sorted keeps the
        // trigger order the same on every replica.
        let paths: Vec<String> = s.ephemerals.iter().cloned().collect();
        for p in &paths {
            self.remove(p);
        }
        self.tree.sessions.remove(&session);
        paths
    }
}
