//! zktraffic: a passive ZooKeeper traffic analyzer.
//!
//! Pipeline: [`source`] (pcap/pcapng file or live interface) → [`link`]
//! (Ethernet, SLL, loopback, raw IP → TCP segment) → [`reassembly`] (per
//! direction, bounded) → [`conversation`] (ZooKeeper client protocol) or
//! [`quorum`] (election, ZAB) → [`model::Event`]s → [`output`] and aggregates.
//! [`pipeline`] ties the middle together; [`run`] drives it from a source.

pub mod cli;
pub mod conversation;
pub mod describe;
pub mod error;
pub mod link;
pub mod model;
pub mod output;
pub mod pipeline;
pub mod plot;
pub mod prometheus;
pub mod quorum;
pub mod reassembly;
pub mod run;
pub mod source;
pub mod stats;
pub mod top;

pub use error::{Error, Result};
