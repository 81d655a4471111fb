//! A znode as the state machine owns it, and ZooKeeper's encoding of node
//! kinds into `ephemeralOwner`.

use serde::ser::SerializeTuple;
use serde::{Deserialize, Serialize, Serializer};
use zkproto::Stat;

/// An owned identity, `(scheme, id)`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Id {
    pub scheme: String,
    pub id: String,
}

/// An owned ACL entry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Acl {
    pub perms: i32,
    pub id: Id,
}

impl Acl {
    pub fn new(perms: i32, scheme: &str, id: &str) -> Acl {
        Acl {
            perms,
            id: Id {
                scheme: scheme.to_owned(),
                id: id.to_owned(),
            },
        }
    }

    /// `world:anyone` with `perms` (OPEN_ACL_UNSAFE for `perms::ALL`).
    pub fn world_anyone(perms: i32) -> Acl {
        Acl::new(perms, "world", "anyone")
    }

    pub fn to_proto(&self) -> zkproto::Acl<'_> {
        zkproto::Acl {
            perms: self.perms,
            id: zkproto::Id {
                scheme: &self.id.scheme,
                id: Some(&self.id.id),
            },
        }
    }
}

impl From<&zkproto::Acl<'_>> for Acl {
    fn from(a: &zkproto::Acl<'_>) -> Acl {
        // A null id (kazoo sends one for the `auth` scheme) reads as empty,
        // as the scheme providers treat it.
        Acl::new(a.perms, a.id.scheme, a.id.id.unwrap_or(""))
    }
}

/// `ephemeralOwner` of a container (ZooKeeper's EphemeralType.CONTAINER).
pub const CONTAINER_OWNER: i64 = i64::MIN;
/// High byte that marks an extended `ephemeralOwner`; with the next two bytes
/// zero (extended type 0) the low 40 bits are a TTL in ms.
const EXTENDED_MASK: u64 = 0xff00_0000_0000_0000;
const EXTENDED_TYPE_MASK: u64 = 0x00ff_ff00_0000_0000;
/// Largest TTL ZooKeeper can encode: 40 bits of milliseconds.
pub const MAX_TTL_MS: i64 = 0x0000_00ff_ffff_ffff;

/// What `ephemeralOwner` says a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Persistent,
    /// Owned by this session; deleted when it closes.
    Ephemeral(i64),
    Container,
    /// Deleted by the leader's cleaner once childless and unmodified this long.
    Ttl(i64),
}

impl NodeKind {
    pub fn from_owner(owner: i64) -> NodeKind {
        let u = owner as u64;
        if owner == 0 {
            NodeKind::Persistent
        } else if owner == CONTAINER_OWNER {
            NodeKind::Container
        } else if u & EXTENDED_MASK == EXTENDED_MASK && u & EXTENDED_TYPE_MASK == 0 {
            NodeKind::Ttl(owner & MAX_TTL_MS)
        } else {
            // ZooKeeper's server ids stop at 0xfe, so session ids never carry
            // the 0xff high byte and cannot be mistaken for a TTL.
            NodeKind::Ephemeral(owner)
        }
    }

    pub fn owner(self) -> i64 {
        match self {
            NodeKind::Persistent => 0,
            NodeKind::Ephemeral(s) => s,
            NodeKind::Container => CONTAINER_OWNER,
            NodeKind::Ttl(ms) => (EXTENDED_MASK as i64) | ms,
        }
    }
}

/// A node's child names, sorted.
pub type Children = imbl::OrdSet<String>;

/// One znode. Stat fields are kept as ZooKeeper's StatPersisted; dataLength
/// and numChildren are derived when a [`Stat`] is built.
///
/// Written positionally (see the `Serialize` impl); read from either that
/// sequence or the map of field names older snapshots hold. A field added
/// later goes last, with a serde default, so older sequences still read.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Node {
    /// As a byte string, see [`super::CreateOp::data`].
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
    /// The client wrote a null buffer (not an empty one); getData returns
    /// null again, as ZooKeeper does.
    #[serde(default)]
    pub null_data: bool,
    pub acl: Vec<Acl>,
    pub czxid: i64,
    pub mzxid: i64,
    pub ctime: i64,
    pub mtime: i64,
    pub version: i32,
    pub cversion: i32,
    pub aversion: i32,
    pub ephemeral_owner: i64,
    pub pzxid: i64,
    /// Persistent, like the node table: a snapshot shares a parent's
    /// children with the live tree, and the first create under it afterwards
    /// copies a few B-tree nodes, not a list of thousands of names.
    pub children: Children,
}

/// Snapshots hold every node, and with field names every node carried its
/// thirteen names too: encoding half a million nodes took most of a second
/// of a core, every snapCount writes. A sequence in declaration order is
/// what the derived `Deserialize` reads as well.
impl Serialize for Node {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Acls<'a>(&'a [Acl]);
        impl Serialize for Acls<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq(
                    self.0
                        .iter()
                        .map(|a| (a.perms, (a.id.scheme.as_str(), a.id.id.as_str()))),
                )
            }
        }
        let mut t = s.serialize_tuple(13)?;
        t.serialize_element(serde_bytes::Bytes::new(&self.data))?;
        t.serialize_element(&self.null_data)?;
        t.serialize_element(&Acls(&self.acl))?;
        t.serialize_element(&self.czxid)?;
        t.serialize_element(&self.mzxid)?;
        t.serialize_element(&self.ctime)?;
        t.serialize_element(&self.mtime)?;
        t.serialize_element(&self.version)?;
        t.serialize_element(&self.cversion)?;
        t.serialize_element(&self.aversion)?;
        t.serialize_element(&self.ephemeral_owner)?;
        t.serialize_element(&self.pzxid)?;
        t.serialize_element(&self.children)?;
        t.end()
    }
}

impl Node {
    /// A node created at `zxid`/`time_ms`: pzxid starts at czxid, versions at 0.
    pub fn new(data: Vec<u8>, acl: Vec<Acl>, owner: i64, zxid: i64, time_ms: i64) -> Node {
        Node {
            data,
            null_data: false,
            acl,
            czxid: zxid,
            mzxid: zxid,
            ctime: time_ms,
            mtime: time_ms,
            version: 0,
            cversion: 0,
            aversion: 0,
            ephemeral_owner: owner,
            pzxid: zxid,
            children: Children::new(),
        }
    }

    pub fn kind(&self) -> NodeKind {
        NodeKind::from_owner(self.ephemeral_owner)
    }

    pub fn stat(&self) -> Stat {
        Stat {
            czxid: self.czxid,
            mzxid: self.mzxid,
            ctime: self.ctime,
            mtime: self.mtime,
            version: self.version,
            aversion: self.aversion,
            // Clients see the owning session of a true ephemeral only: the
            // container and TTL markers read as 0, as ZooKeeper reports them.
            ephemeral_owner: match self.kind() {
                NodeKind::Ephemeral(s) => s,
                _ => 0,
            },
            data_length: saturating_i32(self.data.len()),
            num_children: saturating_i32(self.children.len()),
            // Stored: creates under this node. Shown: creates plus deletes,
            // i.e. 2 x creates - children still present (ZooKeeper's v3
            // cversion; a fresh /zookeeper shows -2).
            cversion: self
                .cversion
                .wrapping_mul(2)
                .wrapping_sub(saturating_i32(self.children.len())),
            pzxid: self.pzxid,
        }
    }
}

fn saturating_i32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_encoding_round_trips() {
        assert_eq!(NodeKind::Container.owner() as u64, 0x8000_0000_0000_0000);
        assert_eq!(NodeKind::Ttl(1000).owner() as u64, 0xff00_0000_0000_03e8);
        for k in [
            NodeKind::Persistent,
            NodeKind::Ephemeral(0x1234),
            NodeKind::Ephemeral(-5),
            NodeKind::Container,
            NodeKind::Ttl(1),
            NodeKind::Ttl(MAX_TTL_MS),
        ] {
            assert_eq!(NodeKind::from_owner(k.owner()), k);
        }
    }
}
