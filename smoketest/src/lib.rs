//! zksmoketest: a latency probe for ZooKeeper ensembles. Runs bounded phases
//! against every server ([`probe`]), turns the measurements into timeout
//! recommendations ([`recommend`]) and a verdict ([`verdict`]), and reports
//! them ([`report`], `--json`).

pub mod client;
pub mod discover;
pub mod error;
pub mod hist;
pub mod probe;
pub mod recommend;
pub mod report;
pub mod results;
pub mod verdict;

pub use error::{Error, Result};
