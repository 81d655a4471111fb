//! A replicated ZooKeeper-compatible coordination server whose every node writes JSON events stamped with the agreed zxid.
//!
//! Status: scaffolding only. The implementation lands with issue #3; until
//! then the binary prints its help and refuses to run.

/// What this tool will do, shown by `--help` until it is built.
pub const STATUS: &str = "not built yet: tracked in issue #3";
