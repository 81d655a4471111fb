//! Passive ZooKeeper traffic analyzer for live interfaces and pcap files.
//!
//! Status: scaffolding only. The implementation lands with issue #4; until
//! then the binary prints its help and refuses to run.

/// What this tool will do, shown by `--help` until it is built.
pub const STATUS: &str = "not built yet: tracked in issue #4";
