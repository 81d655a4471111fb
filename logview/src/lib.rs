//! Terminal UI merging several zkops nodes' event logs into one causal timeline.
//!
//! Status: scaffolding only. The implementation lands in a later issue; until
//! then the binary prints its help and refuses to run.

/// What this tool will do, shown by `--help` until it is built.
pub const STATUS: &str = "not built yet: planned in a later issue";
