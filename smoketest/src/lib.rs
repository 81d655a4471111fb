//! zksmoketest: a latency probe for ZooKeeper ensembles. Runs bounded phases
//! against every server ([`probe`]), turns the measurements into timeout
//! recommendations ([`recommend`]) and a verdict ([`verdict`]), and reports
//! them ([`report`], `--json`, every sample with [`raw`], charts with
//! [`plot`]). [`merge`] combines runs from several datacenters.

pub mod client;
pub mod discover;
pub mod error;
pub mod hist;
pub mod merge;
pub mod plot;
pub mod probe;
pub mod raw;
pub mod recommend;
pub mod report;
pub mod results;
pub mod verdict;

pub use error::{Error, Result};
