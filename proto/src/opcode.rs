//! Request opcodes (ZooDefs.OpCode) and the special xids.

use serde::{Deserialize, Serialize};

macro_rules! opcodes {
    ($($variant:ident = $code:literal => $name:literal,)*) => {
        /// Every opcode of the client protocol, 3.4 through 3.9.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "camelCase")]
        pub enum OpCode {
            $($variant,)*
        }

        impl OpCode {
            pub const ALL: &'static [OpCode] = &[$(OpCode::$variant,)*];

            pub fn from_i32(code: i32) -> Option<OpCode> {
                match code {
                    $($code => Some(OpCode::$variant),)*
                    _ => None,
                }
            }

            pub fn code(self) -> i32 {
                match self {
                    $(OpCode::$variant => $code,)*
                }
            }

            /// ZooKeeper's own camelCase name, as operators know it from its logs.
            pub fn name(self) -> &'static str {
                match self {
                    $(OpCode::$variant => $name,)*
                }
            }

            pub fn from_name(name: &str) -> Option<OpCode> {
                match name {
                    $($name => Some(OpCode::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

opcodes! {
    Create = 1 => "create",
    Delete = 2 => "delete",
    Exists = 3 => "exists",
    GetData = 4 => "getData",
    SetData = 5 => "setData",
    GetAcl = 6 => "getACL",
    SetAcl = 7 => "setACL",
    GetChildren = 8 => "getChildren",
    Sync = 9 => "sync",
    Ping = 11 => "ping",
    GetChildren2 = 12 => "getChildren2",
    Check = 13 => "check",
    Multi = 14 => "multi",
    Create2 = 15 => "create2",
    Reconfig = 16 => "reconfig",
    CheckWatches = 17 => "checkWatches",
    RemoveWatches = 18 => "removeWatches",
    CreateContainer = 19 => "createContainer",
    DeleteContainer = 20 => "deleteContainer",
    CreateTtl = 21 => "createTTL",
    MultiRead = 22 => "multiRead",
    Auth = 100 => "auth",
    SetWatches = 101 => "setWatches",
    Sasl = 102 => "sasl",
    GetEphemerals = 103 => "getEphemerals",
    GetAllChildrenNumber = 104 => "getAllChildrenNumber",
    SetWatches2 = 105 => "setWatches2",
    AddWatch = 106 => "addWatch",
    WhoAmI = 107 => "whoAmI",
    CreateSession = -10 => "createSession",
    CloseSession = -11 => "closeSession",
}

impl OpCode {
    /// Does this request change the tree (and so consume a zxid)?
    pub fn is_write(self) -> bool {
        use OpCode::*;
        matches!(
            self,
            Create
                | Delete
                | SetData
                | SetAcl
                | Check
                | Multi
                | Create2
                | Reconfig
                | CreateContainer
                | DeleteContainer
                | CreateTtl
                | CreateSession
                | CloseSession
        )
    }
}

impl std::fmt::Display for OpCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// xids the protocol reserves for messages that are not ordinary requests.
pub mod xid {
    /// A watch notification from the server.
    pub const NOTIFICATION: i32 = -1;
    pub const PING: i32 = -2;
    pub const AUTH: i32 = -4;
    /// setWatches / setWatches2 sent on reconnect.
    pub const SET_WATCHES: i32 = -8;

    /// The opcode a reply with a reserved xid answers, when no request was seen
    /// (a capture that started mid-conversation, or a client that pipelines).
    pub fn implied_opcode(xid: i32) -> Option<super::OpCode> {
        match xid {
            PING => Some(super::OpCode::Ping),
            AUTH => Some(super::OpCode::Auth),
            SET_WATCHES => Some(super::OpCode::SetWatches),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for op in OpCode::ALL {
            assert!(seen.insert(op.code()), "duplicate code {}", op.code());
            assert_eq!(OpCode::from_i32(op.code()), Some(*op));
            assert_eq!(OpCode::from_name(op.name()), Some(*op));
        }
        assert_eq!(OpCode::ALL.len(), 31);
        assert_eq!(OpCode::from_i32(10), None);
    }
}
