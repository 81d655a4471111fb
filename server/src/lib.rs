//! A replicated ZooKeeper-compatible coordination server whose every node writes JSON events stamped with the agreed zxid.
//!
//! Status: only the replicated state machine's data model ([`tree`]) exists;
//! networking, sessions and consensus land with issue #3, so the binary still
//! prints its help and refuses to run.

pub mod tree;

/// What this tool will do, shown by `--help` until it is built.
pub const STATUS: &str = "not built yet: tracked in issue #3";
