//! The one error type of the zksmoketest library.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{addr}: {source}")]
    Io {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{addr}: no answer to {what} within {after:?}")]
    Timeout {
        addr: String,
        what: String,
        after: Duration,
    },
    #[error("{addr}: protocol error: {source}")]
    Proto {
        addr: String,
        #[source]
        source: zkproto::ProtoError,
    },
    #[error("{addr}: the server says the session has expired")]
    SessionExpired { addr: String },
    #[error("{addr}: connection closed by the server{}", if .pending > &0 { format!(" with {} requests unanswered", .pending) } else { String::new() })]
    Closed { addr: String, pending: usize },
    #[error("{addr}: {op} {path}: {code}")]
    Keeper {
        addr: String,
        op: String,
        path: String,
        code: zkproto::ErrorCode,
    },
    #[error("bad server list {0:?}: {1}")]
    BadServers(String, String),
    #[error("{0}")]
    Config(String),
    #[error("{path}: {source}")]
    Output {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {why}")]
    Input { path: String, why: String },
    #[error("drawing {chart}: {why}")]
    Chart { chart: String, why: String },
}

pub type Result<T> = std::result::Result<T, Error>;
