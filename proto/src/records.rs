//! The jute records of `zookeeper.jute` that the client protocol carries.
//!
//! Field orders follow Apache ZooKeeper's `zookeeper.jute`; the code is ours.

use crate::codes::ErrorCode;
use crate::error::Result;
use crate::jute::{JuteWrite, Reader, Record};

/// The Rust type of a jute field kind.
macro_rules! jute_ty {
    (i32) => { i32 };
    (i64) => { i64 };
    (bool) => { bool };
    (buffer) => { Option<&'a [u8]> };
    (ustring) => { &'a str };
    (ustring_opt) => { Option<&'a str> };
    (strings) => { Vec<&'a str> };
    (acls) => { Vec<Acl<'a>> };
    (stat) => { Stat };
    (id) => { Id<'a> };
    (client_infos) => { Vec<ClientInfo<'a>> };
}

macro_rules! jute_read {
    ($r:ident, i32, $w:expr) => {
        $r.i32($w)?
    };
    ($r:ident, i64, $w:expr) => {
        $r.i64($w)?
    };
    ($r:ident, bool, $w:expr) => {
        $r.bool($w)?
    };
    ($r:ident, buffer, $w:expr) => {
        $r.buffer($w)?
    };
    ($r:ident, ustring, $w:expr) => {
        $r.ustring($w)?
    };
    ($r:ident, ustring_opt, $w:expr) => {
        $r.ustring_opt($w)?
    };
    ($r:ident, strings, $w:expr) => {
        $r.strings($w)?
    };
    ($r:ident, acls, $w:expr) => {
        $r.vec($w, 12, Acl::read)?
    };
    ($r:ident, stat, $w:expr) => {
        Stat::read($r)?
    };
    ($r:ident, id, $w:expr) => {
        Id::read($r)?
    };
    ($r:ident, client_infos, $w:expr) => {
        $r.vec($w, 8, ClientInfo::read)?
    };
}

macro_rules! jute_write {
    ($o:ident, i32, $v:expr) => {
        $o.put_i32($v)
    };
    ($o:ident, i64, $v:expr) => {
        $o.put_i64($v)
    };
    ($o:ident, bool, $v:expr) => {
        $o.put_bool($v)
    };
    ($o:ident, buffer, $v:expr) => {
        $o.put_buffer($v)
    };
    ($o:ident, ustring, $v:expr) => {
        $o.put_ustring($v)
    };
    ($o:ident, ustring_opt, $v:expr) => {
        $o.put_ustring_opt($v)
    };
    ($o:ident, strings, $v:expr) => {
        $o.put_strings(&$v)
    };
    ($o:ident, acls, $v:expr) => {{
        $o.put_len($v.len());
        for a in &$v {
            a.write($o);
        }
    }};
    ($o:ident, stat, $v:expr) => {
        $v.write($o)
    };
    ($o:ident, id, $v:expr) => {
        $v.write($o)
    };
    ($o:ident, client_infos, $v:expr) => {{
        $o.put_len($v.len());
        for c in &$v {
            c.write($o);
        }
    }};
}

/// Declares a record and its codec from one field list, so field order is
/// written once and read and write cannot disagree.
macro_rules! record {
    ($(#[$m:meta])* $name:ident<'a> { $($field:ident : $kind:ident),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name<'a> { $(pub $field: jute_ty!($kind),)* }

        impl<'a> Record<'a> for $name<'a> {
            fn read(r: &mut Reader<'a>) -> Result<Self> {
                Ok($name { $($field: jute_read!(r, $kind, concat!(stringify!($name), ".", stringify!($field))),)* })
            }
            fn write(&self, w: &mut Vec<u8>) {
                $(jute_write!(w, $kind, self.$field);)*
            }
        }
    };
    ($(#[$m:meta])* $name:ident { $($field:ident : $kind:ident),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
        pub struct $name { $(pub $field: jute_ty!($kind),)* }

        impl<'a> Record<'a> for $name {
            fn read(r: &mut Reader<'a>) -> Result<Self> {
                Ok($name { $($field: jute_read!(r, $kind, concat!(stringify!($name), ".", stringify!($field))),)* })
            }
            fn write(&self, w: &mut Vec<u8>) {
                $(jute_write!(w, $kind, self.$field);)*
            }
        }
    };
}

// ---- data ----

record!(
    /// An identity: `(scheme, id)`, e.g. `("digest", "user:hash")`.
    Id<'a> { scheme: ustring, id: ustring_opt }
);
record!(Acl<'a> { perms: i32, id: id });
record!(
    /// A znode's metadata; always 68 bytes on the wire.
    Stat {
        czxid: i64,
        mzxid: i64,
        ctime: i64,
        mtime: i64,
        version: i32,
        cversion: i32,
        aversion: i32,
        ephemeral_owner: i64,
        data_length: i32,
        num_children: i32,
        pzxid: i64,
    }
);
record!(
    /// One entry of a whoAmI reply.
    ClientInfo<'a> { auth_scheme: ustring, user: ustring }
);

impl Stat {
    pub const WIRE_LEN: usize = 68;
}

impl Acl<'static> {
    /// `world:anyone` with the given permissions (OPEN_ACL_UNSAFE for `perms::ALL`).
    pub fn world_anyone(perms: i32) -> Acl<'static> {
        Acl {
            perms,
            id: Id {
                scheme: "world",
                id: Some("anyone"),
            },
        }
    }
}

// ---- headers ----

record!(RequestHeader {
    xid: i32,
    opcode: i32
});
record!(MultiHeader {
    op_type: i32,
    done: bool,
    err: i32
});

/// The header of every server message but ConnectResponse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyHeader {
    pub xid: i32,
    pub zxid: i64,
    pub err: ErrorCode,
}

impl ReplyHeader {
    pub const WIRE_LEN: usize = 16;
}

impl<'a> Record<'a> for ReplyHeader {
    fn read(r: &mut Reader<'a>) -> Result<Self> {
        Ok(ReplyHeader {
            xid: r.i32("ReplyHeader.xid")?,
            zxid: r.i64("ReplyHeader.zxid")?,
            err: ErrorCode(r.i32("ReplyHeader.err")?),
        })
    }
    fn write(&self, w: &mut Vec<u8>) {
        w.put_i32(self.xid);
        w.put_i64(self.zxid);
        w.put_i32(self.err.0);
    }
}

// ---- request bodies ----

record!(AuthPacket<'a> { auth_type: i32, scheme: ustring, auth: buffer });
record!(SetWatches<'a> {
    relative_zxid: i64,
    data_watches: strings,
    exist_watches: strings,
    child_watches: strings,
});
record!(SetWatches2<'a> {
    relative_zxid: i64,
    data_watches: strings,
    exist_watches: strings,
    child_watches: strings,
    persistent_watches: strings,
    persistent_recursive_watches: strings,
});
record!(
    /// create, create2 and createContainer.
    CreateRequest<'a> { path: ustring, data: buffer, acl: acls, flags: i32 }
);
record!(CreateTtlRequest<'a> { path: ustring, data: buffer, acl: acls, flags: i32, ttl: i64 });
record!(DeleteRequest<'a> { path: ustring, version: i32 });
record!(
    /// exists, getData, getChildren and getChildren2 share this shape.
    PathWatchRequest<'a> { path: ustring, watch: bool }
);
record!(SetDataRequest<'a> { path: ustring, data: buffer, version: i32 });
record!(
    /// getACL, sync, getAllChildrenNumber and getEphemerals (prefix) share this shape.
    PathRequest<'a> { path: ustring }
);
record!(SetAclRequest<'a> { path: ustring, acl: acls, version: i32 });
record!(CheckVersionRequest<'a> { path: ustring, version: i32 });
record!(ReconfigRequest<'a> {
    joining_servers: ustring_opt,
    leaving_servers: ustring_opt,
    new_members: ustring_opt,
    cur_config_id: i64,
});
record!(
    /// checkWatches and removeWatches.
    WatchesRequest<'a> { path: ustring, watcher_type: i32 }
);
record!(AddWatchRequest<'a> { path: ustring, mode: i32 });
record!(
    /// A SASL token, in either direction.
    SaslToken<'a> { token: buffer }
);
record!(
    /// The server-internal body of createSession (CreateSessionTxn).
    CreateSessionRequest { timeout: i32 }
);

// ---- response bodies ----

record!(WatcherEvent<'a> { event_type: i32, state: i32, path: ustring });
record!(
    /// create, and sync's reply (SyncResponse has the same shape).
    PathResponse<'a> { path: ustring }
);
record!(Create2Response<'a> { path: ustring, stat: stat });
record!(GetDataResponse<'a> { data: buffer, stat: stat });
record!(GetChildrenResponse<'a> { children: strings });
record!(GetChildren2Response<'a> { children: strings, stat: stat });
record!(GetAclResponse<'a> { acl: acls, stat: stat });
record!(
    /// A bare int: addWatch's reply body, and an error result inside a multi.
    IntResponse { value: i32 }
);
record!(WhoAmIResponse<'a> { client_info: client_infos });
