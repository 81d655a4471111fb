//! A replicated ZooKeeper-compatible coordination server whose every node writes JSON events stamped with the agreed zxid.

pub mod acl;
pub mod config;
pub mod conn;
pub mod db;
pub mod error;
pub mod events;
pub mod fourlw;
pub mod fourlw_glue;
pub mod priority;
pub mod raft;
pub mod server;
pub mod session;
pub mod stats;
pub mod tree;
pub mod wal;
pub mod watch;

pub use error::{Error, Result};
pub use server::{Options, Server};
