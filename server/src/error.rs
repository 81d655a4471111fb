//! The crate's one error type.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A bad configuration value; `key` names the zoo.cfg key or flag.
    #[error("config: {key}: {msg}")]
    Config { key: String, msg: String },

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },

    /// On-disk state that cannot be trusted (a bad CRC in the middle of a
    /// log, a snapshot that does not decode).
    #[error("{path}: corrupt: {msg}")]
    Corrupt { path: PathBuf, msg: String },

    /// A write-ahead log call that breaks the log's rules (an append that
    /// leaves a gap, a read of an index the log does not hold) or that comes
    /// after a write failure left the log in an unknown state.
    #[error("wal: {0}")]
    Wal(String),

    #[error(transparent)]
    Snapshot(#[from] crate::tree::SnapshotError),

    /// Consensus failed in a way the server cannot recover from.
    #[error("raft: {0}")]
    Raft(String),

    /// A member spoke the peer protocol wrongly, or refused us (wrong
    /// cluster, wrong member id); `peer` is its address.
    #[error("peer {peer}: {msg}")]
    Peer { peer: String, msg: String },

    #[error("server is shutting down")]
    ShuttingDown,
}

impl Error {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    pub fn peer(peer: impl std::fmt::Display, msg: impl Into<String>) -> Error {
        Error::Peer {
            peer: peer.to_string(),
            msg: msg.into(),
        }
    }

    pub fn config(key: impl Into<String>, msg: impl Into<String>) -> Error {
        Error::Config {
            key: key.into(),
            msg: msg.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
