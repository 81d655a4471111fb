//! The state one member shares between its connections and its state
//! machine: the replicated part (tree, zxid clock, Raft bookkeeping) and the
//! local part (watches, connections, session deadlines), under one lock so
//! that a read and the watch it arms see the same applied prefix.

mod applied;
mod snap_due;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use openraft::{BasicNode, StoredMembership};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use zkproto::event::{Event, Level, Stamp, Zxid};
use zkproto::EventType;

use crate::acl::AuthInfo;
use crate::events::EventLog;
use crate::raft::zxid::ZxidClock;
use crate::raft::LogId;
use crate::session::SessionTracker;
use crate::stats::Stats;
use crate::tree::{Applied, DataTree};
use crate::watch::WatchManager;
use snap_due::SnapDue;

pub use crate::watch::ConnId;

/// What the state machine tells a connection task.
#[derive(Debug)]
pub enum ConnMsg {
    /// A watch fired; `zxid` is the write that fired it.
    Notify {
        event: EventType,
        path: String,
        zxid: i64,
    },
    /// This member applied a write the connection proposed.
    Applied {
        cxid: i32,
        zxid: i64,
        applied: Applied,
    },
    /// The connection's session was closed or expired through the log.
    SessionClosed { expired: bool },
    /// A write could not be proposed (no leader, shutting down).
    Failed { cxid: i32, reason: String },
}

/// Everything a snapshot holds; identical on every member at the same index.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Replicated {
    pub tree: DataTree,
    pub clock: ZxidClock,
    pub last_applied: Option<LogId>,
    pub membership: StoredMembership<u64, BasicNode>,
}

/// A live client connection as the rest of the member sees it.
#[derive(Debug)]
pub struct ConnEntry {
    pub tx: mpsc::UnboundedSender<ConnMsg>,
    pub addr: SocketAddr,
    pub session: i64,
    pub auth: AuthInfo,
    pub opened: Instant,
    pub stats: Arc<crate::stats::ConnStats>,
}

#[derive(Debug, Default)]
pub struct State {
    pub rep: Replicated,
    pub watches: WatchManager,
    pub conns: HashMap<ConnId, ConnEntry>,
}

impl State {
    /// The zxid a reply to a read carries: the last one applied here.
    pub fn applied_zxid(&self) -> i64 {
        self.rep.tree.last_zxid()
    }
}

pub struct Db {
    pub node: u64,
    node_name: String,
    state: Mutex<State>,
    /// Session deadlines, acted on only while this member leads. Apart from
    /// `state` because every request touches its session: behind the lock
    /// the apply holds for a whole batch, those touches stalled the
    /// connection threads. Taken after `state` when both are needed.
    sessions: Mutex<SessionTracker>,
    pub events: EventLog,
    pub stats: Stats,
    next_conn: AtomicU64,
    /// Log entries below this index were applied before a restart:
    /// replaying them is reported as such, not as new transactions.
    replay_below: AtomicU64,
    pub super_digest: Option<String>,
    /// Writes applied since the last snapshot against zoo.cfg's snapCount.
    snap_due: SnapDue,
    /// Signalled when a snapshot is due (see [`SnapDue`]); the server then
    /// asks Raft for one.
    pub snapshot_due: tokio::sync::Notify,
}

impl Db {
    pub fn new(node: u64, events: EventLog, super_digest: Option<String>) -> Arc<Db> {
        Arc::new(Db {
            node,
            node_name: node.to_string(),
            state: Mutex::new(State::default()),
            sessions: Mutex::default(),
            events,
            stats: Stats::default(),
            next_conn: AtomicU64::new(1),
            replay_below: AtomicU64::new(0),
            super_digest,
            snap_due: SnapDue::default(),
            snapshot_due: tokio::sync::Notify::new(),
        })
    }

    pub fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves state we cannot vouch for;
        // keep serving what is there rather than cascading panics.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The session deadlines (see the field for the lock order).
    pub fn sessions(&self) -> MutexGuard<'_, SessionTracker> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `committed`: the last index known committed before this start.
    pub fn set_replayed(&self, committed: Option<u64>) {
        let below = committed.map(|c| c + 1).unwrap_or(0);
        self.replay_below.store(below, Ordering::Relaxed);
    }

    pub fn set_snap_count(&self, n: u64) {
        self.snap_due.set_every(n);
    }

    /// One more write applied; signals `snapshot_due` when one is due.
    pub fn count_applied(&self) {
        if self.snap_due.applied() {
            self.snapshot_due.notify_one();
        }
    }

    /// A snapshot now holds everything applied so far.
    pub fn snapshot_taken(&self) {
        self.snap_due.taken();
    }

    pub fn is_replay(&self, index: u64) -> bool {
        index < self.replay_below.load(Ordering::Relaxed)
    }

    pub fn register_conn(
        &self,
        addr: SocketAddr,
        tx: mpsc::UnboundedSender<ConnMsg>,
        stats: Arc<crate::stats::ConnStats>,
    ) -> ConnId {
        let id = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let entry = ConnEntry {
            tx,
            addr,
            session: 0,
            auth: AuthInfo::new(addr.ip()),
            opened: Instant::now(),
            stats,
        };
        self.lock().conns.insert(id, entry);
        id
    }

    pub fn unregister_conn(&self, id: ConnId) {
        let mut st = self.lock();
        st.conns.remove(&id);
        st.watches.remove_conn(id);
    }

    /// A local event (not about an agreed txn), stamped with how far this
    /// member has applied.
    pub fn local_event(&self, st: &State, kind: &str, level: Level) -> Event {
        Event::new(
            self.node_name.as_str(),
            0,
            kind,
            level,
            Stamp::AppliedZxid(Zxid(st.applied_zxid())),
        )
    }

    /// An event about the agreed txn `zxid`.
    pub fn txn_event(&self, zxid: i64, kind: &str, level: Level) -> Event {
        Event::new(
            self.node_name.as_str(),
            0,
            kind,
            level,
            Stamp::Zxid(Zxid(zxid)),
        )
    }

    /// [`Db::local_event`] taking the lock itself.
    pub fn emit_local(&self, kind: &str, level: Level, fill: impl FnOnce(&mut Event)) {
        if !self.events.enabled(level) {
            return;
        }
        let mut ev = {
            let st = self.lock();
            self.local_event(&st, kind, level)
        };
        fill(&mut ev);
        self.events.emit(ev);
    }
}
