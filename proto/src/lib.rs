//! zkproto: the ZooKeeper client wire format (jute) and the zkops event schema.
//!
//! Layers, bottom up:
//! - [`frame`]: 4-byte length prefixes, with a maximum checked before allocating.
//! - [`jute`]: primitives and the [`Record`] trait; decoding borrows from the frame.
//! - [`records`]: the records of `zookeeper.jute` the client protocol uses.
//! - [`connect`], [`request`], [`response`], [`multi`]: whole messages.
//! - [`pairing`]: matching replies to requests by xid, needed to decode replies.
//! - [`fourlw`]: four-letter-word admin commands.
//! - [`event`]: the JSON event every zkops tool writes or reads.
//! - [`peer`]: zkserver's own member-to-member protocol (Raft RPCs), not ZooKeeper's.
//!
//! Decoding is canonical: anything that decodes re-encodes to the same bytes.

pub mod codes;
pub mod connect;
pub mod error;
pub mod event;
pub mod fourlw;
pub mod frame;
pub mod jute;
pub mod multi;
pub mod opcode;
pub mod pairing;
pub mod peer;
pub mod records;
pub mod request;
pub mod response;

pub use codes::{perms, AddWatchMode, CreateMode, ErrorCode, EventType, KeeperState, WatcherType};
pub use connect::{ConnectRequest, ConnectResponse};
pub use error::{ProtoError, Result};
pub use fourlw::FourLetterWord;
pub use frame::{split_frame, write_frame, Frames, DEFAULT_MAX_FRAME};
pub use jute::{JuteWrite, Reader, Record};
pub use multi::{MultiRequest, MultiResponse, OpResult};
pub use opcode::{xid, OpCode};
pub use pairing::{Paired, XidPairer};
pub use records::*;
pub use request::{Request, RequestFrame};
pub use response::{ReplyFrame, Response};
