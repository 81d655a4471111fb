//! The kinds of watch a connection can hold, the bit set one (connection,
//! path) pair stores, and which bits each trigger and each `WatcherType`
//! reaches.
//!
//! ZooKeeper keeps two watch tables, one for data and one for children, each
//! mapping (path, connection) to a set of modes. Here one table holds a bit
//! set that covers both: a persistent watch always sits in both of
//! ZooKeeper's tables at once and is only ever added or removed from both
//! together, so one bit is enough for it.

use zkproto::{AddWatchMode, EventType, WatcherType};

/// A watch as a request sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WatchKind {
    /// One-shot, set by getData or by exists on an existing node.
    Data,
    /// One-shot, set by exists on a missing node. ZooKeeper stores it exactly
    /// like [`WatchKind::Data`]; so does this manager, which is why adding
    /// both on one path makes a single watch.
    Exist,
    /// One-shot, set by getChildren.
    Child,
    /// addWatch mode 0: data and child events on exactly this path, kept
    /// after firing.
    Persistent,
    /// addWatch mode 1: created/changed/deleted on this path and every
    /// descendant, kept after firing; never NodeChildrenChanged.
    PersistentRecursive,
}

impl WatchKind {
    /// The kind an addWatch request asks for; `None` for a mode ZooKeeper
    /// does not define (it rejects those).
    pub fn from_add_watch_mode(mode: AddWatchMode) -> Option<WatchKind> {
        match mode {
            AddWatchMode::PERSISTENT => Some(WatchKind::Persistent),
            AddWatchMode::PERSISTENT_RECURSIVE => Some(WatchKind::PersistentRecursive),
            _ => None,
        }
    }

    pub(super) fn bits(self) -> Bits {
        match self {
            WatchKind::Data | WatchKind::Exist => Bits::DATA,
            WatchKind::Child => Bits::CHILD,
            WatchKind::Persistent => Bits::PERSISTENT,
            WatchKind::PersistentRecursive => Bits::RECURSIVE,
        }
    }
}

/// The kinds one connection holds on one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Bits(u8);

impl Bits {
    pub const NONE: Bits = Bits(0);
    /// ZooKeeper's STANDARD mode in the data table (getData, exists).
    pub const DATA: Bits = Bits(1);
    /// ZooKeeper's STANDARD mode in the child table (getChildren).
    pub const CHILD: Bits = Bits(2);
    pub const PERSISTENT: Bits = Bits(4);
    pub const RECURSIVE: Bits = Bits(8);
    pub const ALL: Bits = Bits(15);

    /// The bits that put this pair in ZooKeeper's data table.
    const DATA_TABLE: Bits = Bits(1 | 4 | 8);
    /// The bits that put this pair in ZooKeeper's child table.
    const CHILD_TABLE: Bits = Bits(2 | 4);

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn intersects(self, other: Bits) -> bool {
        self.0 & other.0 != 0
    }

    pub fn with(self, other: Bits) -> Bits {
        Bits(self.0 | other.0)
    }

    pub fn without(self, other: Bits) -> Bits {
        Bits(self.0 & !other.0)
    }

    /// Whether ZooKeeper's data table has an entry for this pair: what the
    /// four-letter-word dumps show.
    pub fn in_data_table(self) -> bool {
        self.intersects(Bits::DATA_TABLE)
    }

    pub fn in_child_table(self) -> bool {
        self.intersects(Bits::CHILD_TABLE)
    }

    /// How many of ZooKeeper's two tables hold this pair; the sum over all
    /// pairs is `zk_watch_count`.
    pub fn table_entries(self) -> usize {
        usize::from(self.in_data_table()) + usize::from(self.in_child_table())
    }
}

/// What one trigger reaches.
#[derive(Debug, Clone, Copy)]
pub(super) struct Reach {
    /// Bits that fire on the trigger's own path.
    pub fires: Bits,
    /// The one-shot bits among them, removed by firing.
    pub consumes: Bits,
    /// Whether recursive watches on ancestors fire too.
    pub ancestors: bool,
}

impl Reach {
    /// ZooKeeper's DataTree sends created/changed to the data table, deleted
    /// to both tables and children-changed to the child table; recursive
    /// watches live only in the data table. `None` for event types the data
    /// tree never produces.
    pub fn of(event: EventType) -> Option<Reach> {
        let data = Bits::DATA.with(Bits::PERSISTENT).with(Bits::RECURSIVE);
        match event {
            EventType::NODE_CREATED | EventType::NODE_DATA_CHANGED => Some(Reach {
                fires: data,
                consumes: Bits::DATA,
                ancestors: true,
            }),
            EventType::NODE_DELETED => Some(Reach {
                fires: data.with(Bits::CHILD),
                consumes: Bits::DATA.with(Bits::CHILD),
                ancestors: true,
            }),
            EventType::NODE_CHILDREN_CHANGED => Some(Reach {
                fires: Bits::CHILD.with(Bits::PERSISTENT),
                consumes: Bits::CHILD,
                ancestors: false,
            }),
            _ => None,
        }
    }
}

/// The bits a checkWatches/removeWatches `watcherType` selects; none for a
/// value ZooKeeper does not define.
pub(super) fn selected(t: WatcherType) -> Bits {
    match t {
        WatcherType::CHILDREN => Bits::CHILD,
        WatcherType::DATA => Bits::DATA,
        WatcherType::ANY => Bits::ALL,
        WatcherType::PERSISTENT => Bits::PERSISTENT,
        WatcherType::PERSISTENT_RECURSIVE => Bits::RECURSIVE,
        _ => Bits::NONE,
    }
}
