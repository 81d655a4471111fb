//! The one error type of the zktraffic library.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot open capture file {path}: {source}")]
    OpenFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a pcap or pcapng file: {msg}")]
    NotACapture { path: String, msg: String },
    #[error("{path}: capture is truncated or corrupt after {packets} packets: {msg}")]
    Truncated {
        path: String,
        packets: u64,
        msg: String,
    },
    #[error("unsupported link type {0} (supported: Ethernet, Linux cooked SLL/SLL2, BSD loopback, raw IP)")]
    LinkType(i32),
    #[error("live capture on {iface}: {msg}")]
    Live { iface: String, msg: String },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

pub type Result<T> = std::result::Result<T, Error>;
