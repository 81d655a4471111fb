//! What applying one committed entry does on this member, beyond the tree:
//! the zxid it gets, the watches it fires, the reply it routes to the
//! connection that proposed it, session bookkeeping, and its events.

use std::time::Instant;

use openraft::{EntryPayload, StoredMembership};
use serde_json::json;
use zkproto::event::{Event, Level, SessionId};
use zkproto::{perms, EventType, OpCode};

use super::{ConnMsg, Db, State};
use crate::raft::{Cause, Entry, Txn, TxnResult};
use crate::tree::{Applied, MultiOp, Op};

/// At most this many sessions are listed in one watch event's detail.
const LISTED_SESSIONS: usize = 32;

impl Db {
    /// Applies one committed entry. Called by the state machine, in log
    /// order, with the lock held across a whole batch.
    pub fn apply_entry(&self, st: &mut State, entry: &Entry) -> TxnResult {
        st.rep.last_applied = Some(entry.log_id);
        let replay = self.is_replay(entry.log_id.index);
        let term = entry.log_id.leader_id.term;
        match &entry.payload {
            EntryPayload::Blank => {
                let zxid = st.rep.clock.next(term);
                st.rep.tree.advance(zxid);
                if !replay {
                    self.on_new_epoch(st);
                }
                let mut ev = self.txn_event(zxid, "raft.epoch", Level::Info);
                self.raft_fields(&mut ev, entry);
                ev.msg = Some(format!("epoch {} begins", st.rep.clock.epoch));
                self.emit_unless_replay(ev, replay);
                TxnResult { zxid, code: 0 }
            }
            EntryPayload::Membership(m) => {
                let zxid = st.rep.clock.next(term);
                st.rep.tree.advance(zxid);
                st.rep.membership = StoredMembership::new(Some(entry.log_id), m.clone());
                let mut ev = self.txn_event(zxid, "raft.membership", Level::Info);
                self.raft_fields(&mut ev, entry);
                ev.detail = Some(json!({ "membership": m.to_string() }));
                self.emit_unless_replay(ev, replay);
                TxnResult { zxid, code: 0 }
            }
            EntryPayload::Normal(batch) => {
                // An empty batch is never proposed; it consumes no zxid.
                let mut last = TxnResult {
                    zxid: st.rep.clock.current(),
                    code: 0,
                };
                for txn in batch.0.iter() {
                    self.count_applied();
                    let zxid = st.rep.clock.next(term);
                    let applied =
                        st.rep
                            .tree
                            .apply_as(zxid, txn.time_ms, &txn.op, txn.caller.as_ref());
                    last = TxnResult {
                        zxid,
                        code: applied.code.0,
                    };
                    self.txn_effects(st, entry, txn, zxid, applied, replay);
                }
                last
            }
        }
    }

    /// A new leader's first entry: if that leader is us, every session in
    /// the tree gets a full timeout from now.
    fn on_new_epoch(&self, st: &mut State) {
        let now = Instant::now();
        let sessions: Vec<(i64, i32)> = st
            .rep
            .tree
            .sessions()
            .map(|(id, s)| (id, s.timeout_ms))
            .collect();
        let mut tracker = self.sessions();
        for (id, t) in sessions {
            if !tracker.touch(id, now) {
                tracker.add(id, t, now);
            }
        }
    }

    fn emit_unless_replay(&self, mut ev: Event, replay: bool) {
        if replay {
            ev.kind = format!("{}.replayed", ev.kind);
            ev.level = Level::Debug;
        }
        self.events.emit(ev);
    }

    fn raft_fields(&self, ev: &mut Event, entry: &Entry) {
        ev.term = Some(entry.log_id.leader_id.term);
        ev.leader = Some(entry.log_id.leader_id.node_id);
        ev.log_index = Some(entry.log_id.index);
    }

    fn txn_effects(
        &self,
        st: &mut State,
        entry: &Entry,
        txn: &Txn,
        zxid: i64,
        applied: Applied,
        replay: bool,
    ) {
        let now = Instant::now();
        // Session bookkeeping first: a reply must not race the tracker.
        match &txn.op {
            Op::CreateSession {
                session,
                timeout_ms,
                ..
            } => self.sessions().add(*session, *timeout_ms, now),
            Op::CloseSession { session } => {
                self.sessions().remove(*session);
                let expired = txn.cause == Cause::SessionExpired;
                // The connection that asked is closed by its reply, sent
                // below; told first, it could close before answering.
                let asker = txn.origin.filter(|o| o.node == self.node).map(|o| o.conn);
                for (id, c) in st.conns.iter() {
                    if c.session == *session && Some(*id) != asker {
                        let _ = c.tx.send(ConnMsg::SessionClosed { expired });
                    }
                }
            }
            _ => {}
        }

        let mut ev = self.txn_event(zxid, txn_kind(txn), Level::Info);
        self.raft_fields(&mut ev, entry);
        ev.txn_time = Some(txn.time_ms);
        ev.op = Some(op_name(txn).to_string());
        ev.path = op_path(&txn.op).map(str::to_string);
        ev.result = Some(applied.code.to_string());
        if let Some(o) = &txn.origin {
            ev.session = Some(SessionId(o.session));
            ev.xid = Some(o.cxid);
        }
        match &txn.op {
            Op::CreateSession { session, .. } | Op::CloseSession { session } => {
                ev.session = Some(SessionId(*session));
            }
            _ => {}
        }
        if let Some(p) = &applied.path {
            ev.path = Some(p.clone());
        }
        if let Some((i, code)) = applied.multi_failure() {
            ev.result = Some(zkproto::ErrorCode(code).to_string());
            ev.detail = Some(json!({ "failed_op": i }));
        }
        if let Op::Multi(ops) = &txn.op {
            ev.paths = ops.iter().map(|o| multi_path(o).to_string()).collect();
        }
        if !applied.deleted_ephemerals.is_empty() {
            ev.paths = applied.deleted_ephemerals.clone();
        }
        self.emit_unless_replay(ev, replay);

        self.fire_watches(st, &applied, zxid, replay);

        if let Some(o) = txn.origin.filter(|o| o.node == self.node) {
            if let Some(c) = st.conns.get(&o.conn) {
                let _ = c.tx.send(ConnMsg::Applied {
                    cxid: o.cxid,
                    zxid,
                    applied,
                });
            }
        }
    }

    fn fire_watches(&self, st: &mut State, applied: &Applied, zxid: i64, replay: bool) {
        let State {
            rep,
            watches,
            conns,
            ..
        } = st;
        for t in &applied.triggers {
            let tree = &rep.tree;
            let super_digest = self.super_digest.as_deref();
            let mut can_read = |conn: u64, path: &str| {
                let Some(c) = conns.get(&conn) else {
                    return false;
                };
                // A deleted node's ACL is gone with it; its parent's decides.
                let node = tree
                    .node(path)
                    .or_else(|| tree.node(crate::tree::path::split(path).0));
                match node {
                    Some(n) => crate::acl::check(&n.acl, perms::READ, &c.auth, super_digest),
                    None => true,
                }
            };
            let fired = watches.trigger(&t.path, t.event, &mut can_read);
            if fired.is_empty() {
                continue;
            }
            let mut sessions = Vec::new();
            for conn in &fired {
                if let Some(c) = conns.get(conn) {
                    let _ = c.tx.send(ConnMsg::Notify {
                        event: t.event,
                        path: t.path.clone(),
                        zxid,
                    });
                    if sessions.len() < LISTED_SESSIONS {
                        sessions.push(format!("{:#x}", c.session));
                    }
                }
            }
            let mut ev = self.txn_event(zxid, "watch.fired", Level::Info);
            ev.path = Some(t.path.clone());
            ev.op = Some(event_name(t.event).to_string());
            ev.detail = Some(json!({ "connections": fired.len(), "sessions": sessions }));
            self.emit_unless_replay(ev, replay);
        }
    }
}

fn txn_kind(txn: &Txn) -> &'static str {
    match (&txn.op, txn.cause) {
        (Op::CreateSession { .. }, _) => "session.created",
        (Op::CloseSession { .. }, Cause::SessionExpired) => "session.expired",
        (Op::CloseSession { .. }, _) => "session.closed",
        (Op::DeleteContainer { .. }, _) => "txn.cleaner",
        _ => "txn.applied",
    }
}

/// The client's opcode name when a client asked, else the op's own.
fn op_name(txn: &Txn) -> &'static str {
    if let Some(op) = txn.origin.and_then(|o| OpCode::from_i32(o.opcode)) {
        return op.name();
    }
    match &txn.op {
        Op::Create(_) => "create",
        Op::Delete(_) => "delete",
        Op::SetData(_) => "setData",
        Op::SetAcl(_) => "setACL",
        Op::Check(_) => "check",
        Op::Multi(_) => "multi",
        Op::CreateSession { .. } => "createSession",
        Op::CloseSession { .. } => "closeSession",
        Op::DeleteContainer { .. } => "deleteContainer",
    }
}

fn op_path(op: &Op) -> Option<&str> {
    match op {
        Op::Create(c) => Some(&c.path),
        Op::Delete(d) => Some(&d.path),
        Op::SetData(s) => Some(&s.path),
        Op::SetAcl(s) => Some(&s.path),
        Op::Check(c) => Some(&c.path),
        Op::DeleteContainer { path } => Some(path),
        _ => None,
    }
}

fn multi_path(op: &MultiOp) -> &str {
    match op {
        MultiOp::Create(c) => &c.path,
        MultiOp::Delete(d) => &d.path,
        MultiOp::SetData(s) => &s.path,
        MultiOp::Check(c) => &c.path,
    }
}

fn event_name(e: EventType) -> &'static str {
    e.name().unwrap_or("unknown")
}
