//! Numeric constants of the protocol: error codes, watch event types and
//! states, create modes, permissions, watcher types and addWatch modes.
//!
//! Error codes, event types and states are newtypes over the wire integer rather
//! than closed enums: a sniffer must carry a value it does not know unchanged.

use serde::{Deserialize, Serialize};

macro_rules! named_i32 {
    ($(#[$m:meta])* $ty:ident { $($konst:ident = $val:literal => $name:literal,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $ty(pub i32);

        impl $ty {
            $(pub const $konst: $ty = $ty($val);)*
            pub const KNOWN: &'static [$ty] = &[$($ty($val),)*];

            /// The name ZooKeeper uses, or `None` for a value it does not define.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($val => Some($name),)*
                    _ => None,
                }
            }

            pub fn from_name(name: &str) -> Option<$ty> {
                match name {
                    $($name => Some($ty($val)),)*
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, "{}({})", stringify!($ty), self.0),
                }
            }
        }
    };
}

named_i32! {
    /// KeeperException codes as carried in `ReplyHeader.err`.
    ErrorCode {
        OK = 0 => "Ok",
        SYSTEM_ERROR = -1 => "SystemError",
        RUNTIME_INCONSISTENCY = -2 => "RuntimeInconsistency",
        DATA_INCONSISTENCY = -3 => "DataInconsistency",
        CONNECTION_LOSS = -4 => "ConnectionLoss",
        MARSHALLING_ERROR = -5 => "MarshallingError",
        UNIMPLEMENTED = -6 => "Unimplemented",
        OPERATION_TIMEOUT = -7 => "OperationTimeout",
        BAD_ARGUMENTS = -8 => "BadArguments",
        UNKNOWN_SESSION = -12 => "UnknownSession",
        NEW_CONFIG_NO_QUORUM = -13 => "NewConfigNoQuorum",
        RECONFIG_IN_PROGRESS = -14 => "ReconfigInProgress",
        API_ERROR = -100 => "APIError",
        NO_NODE = -101 => "NoNode",
        NO_AUTH = -102 => "NoAuth",
        BAD_VERSION = -103 => "BadVersion",
        NO_CHILDREN_FOR_EPHEMERALS = -108 => "NoChildrenForEphemerals",
        NODE_EXISTS = -110 => "NodeExists",
        NOT_EMPTY = -111 => "NotEmpty",
        SESSION_EXPIRED = -112 => "SessionExpired",
        INVALID_CALLBACK = -113 => "InvalidCallback",
        INVALID_ACL = -114 => "InvalidACL",
        AUTH_FAILED = -115 => "AuthFailed",
        SESSION_MOVED = -118 => "SessionMoved",
        NOT_READ_ONLY = -119 => "NotReadOnly",
        EPHEMERAL_ON_LOCAL_SESSION = -120 => "EphemeralOnLocalSession",
        NO_WATCHER = -121 => "NoWatcher",
        REQUEST_TIMEOUT = -122 => "RequestTimeout",
        RECONFIG_DISABLED = -123 => "ReconfigDisabled",
        SESSION_CLOSED_REQUIRE_SASL_AUTH = -124 => "SessionClosedRequireSaslAuth",
        QUOTA_EXCEEDED = -125 => "QuotaExceeded",
        THROTTLED_OP = -127 => "ThrottledOp",
    }
}

impl ErrorCode {
    pub fn is_ok(self) -> bool {
        self.0 == 0
    }
}

named_i32! {
    /// `WatcherEvent.type`.
    EventType {
        NONE = -1 => "None",
        NODE_CREATED = 1 => "NodeCreated",
        NODE_DELETED = 2 => "NodeDeleted",
        NODE_DATA_CHANGED = 3 => "NodeDataChanged",
        NODE_CHILDREN_CHANGED = 4 => "NodeChildrenChanged",
        DATA_WATCH_REMOVED = 5 => "DataWatchRemoved",
        CHILD_WATCH_REMOVED = 6 => "ChildWatchRemoved",
        PERSISTENT_WATCH_REMOVED = 7 => "PersistentWatchRemoved",
    }
}

named_i32! {
    /// `WatcherEvent.state`: the client's connection state.
    KeeperState {
        UNKNOWN = -1 => "Unknown",
        DISCONNECTED = 0 => "Disconnected",
        NO_SYNC_CONNECTED = 1 => "NoSyncConnected",
        SYNC_CONNECTED = 3 => "SyncConnected",
        AUTH_FAILED = 4 => "AuthFailed",
        CONNECTED_READ_ONLY = 5 => "ConnectedReadOnly",
        SASL_AUTHENTICATED = 6 => "SaslAuthenticated",
        CLOSED = 7 => "Closed",
        EXPIRED = -112 => "Expired",
    }
}

named_i32! {
    /// `watcherType` of checkWatches / removeWatches.
    WatcherType {
        CHILDREN = 1 => "Children",
        DATA = 2 => "Data",
        ANY = 3 => "Any",
        PERSISTENT = 4 => "Persistent",
        PERSISTENT_RECURSIVE = 5 => "PersistentRecursive",
    }
}

named_i32! {
    /// `mode` of addWatch.
    AddWatchMode {
        PERSISTENT = 0 => "persistent",
        PERSISTENT_RECURSIVE = 1 => "persistentRecursive",
    }
}

/// The `flags` of a create request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CreateMode {
    Persistent,
    Ephemeral,
    PersistentSequential,
    EphemeralSequential,
    Container,
    PersistentWithTtl,
    PersistentSequentialWithTtl,
}

impl CreateMode {
    pub const ALL: [CreateMode; 7] = [
        CreateMode::Persistent,
        CreateMode::Ephemeral,
        CreateMode::PersistentSequential,
        CreateMode::EphemeralSequential,
        CreateMode::Container,
        CreateMode::PersistentWithTtl,
        CreateMode::PersistentSequentialWithTtl,
    ];

    pub fn from_flags(flags: i32) -> Option<CreateMode> {
        usize::try_from(flags)
            .ok()
            .and_then(|i| Self::ALL.get(i).copied())
    }

    pub fn flags(self) -> i32 {
        self as i32
    }

    pub fn is_ephemeral(self) -> bool {
        matches!(
            self,
            CreateMode::Ephemeral | CreateMode::EphemeralSequential
        )
    }

    pub fn is_sequential(self) -> bool {
        matches!(
            self,
            CreateMode::PersistentSequential
                | CreateMode::EphemeralSequential
                | CreateMode::PersistentSequentialWithTtl
        )
    }

    pub fn is_container(self) -> bool {
        self == CreateMode::Container
    }

    pub fn is_ttl(self) -> bool {
        matches!(
            self,
            CreateMode::PersistentWithTtl | CreateMode::PersistentSequentialWithTtl
        )
    }
}

/// ACL permission bits.
pub mod perms {
    pub const READ: i32 = 1;
    pub const WRITE: i32 = 1 << 1;
    pub const CREATE: i32 = 1 << 2;
    pub const DELETE: i32 = 1 << 3;
    pub const ADMIN: i32 = 1 << 4;
    pub const ALL: i32 = READ | WRITE | CREATE | DELETE | ADMIN;

    /// "cdrwa"-style rendering, as zkCli prints ACLs.
    pub fn render(p: i32) -> String {
        [
            (CREATE, 'c'),
            (DELETE, 'd'),
            (READ, 'r'),
            (WRITE, 'w'),
            (ADMIN, 'a'),
        ]
        .iter()
        .filter(|(bit, _)| p & bit != 0)
        .map(|(_, c)| *c)
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_names() {
        assert_eq!(ErrorCode::NO_NODE.to_string(), "NoNode");
        assert_eq!(ErrorCode(-9).to_string(), "ErrorCode(-9)");
        assert_eq!(ErrorCode::from_name("QuotaExceeded"), Some(ErrorCode(-125)));
        assert_eq!(KeeperState::EXPIRED.0, -112);
    }

    #[test]
    fn create_modes() {
        for (i, m) in CreateMode::ALL.iter().enumerate() {
            assert_eq!(CreateMode::from_flags(i as i32), Some(*m));
            assert_eq!(m.flags(), i as i32);
        }
        assert_eq!(CreateMode::from_flags(7), None);
        assert_eq!(CreateMode::from_flags(-1), None);
        assert!(CreateMode::PersistentSequentialWithTtl.is_sequential());
        assert_eq!(perms::render(perms::ALL), "cdrwa");
    }
}
