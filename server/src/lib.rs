//! A replicated ZooKeeper-compatible coordination server whose every node writes JSON events stamped with the agreed zxid.

pub mod error;
pub mod tree;

pub use error::{Error, Result};

/// What this tool will do, shown by `--help` until it is built.
pub const STATUS: &str = "not built yet: tracked in issue #3";
