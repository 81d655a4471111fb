//! The one error type of this crate.

/// Everything that can go wrong while decoding ZooKeeper wire data.
///
/// `what` names the field or record being read so that an operator looking at a
/// sniffer or server log can tell which part of a frame was bad.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtoError {
    #[error("truncated {what}: needs {need} bytes but only {have} remain")]
    Truncated {
        what: &'static str,
        need: usize,
        have: usize,
    },
    #[error("frame length {len} exceeds the maximum of {max} bytes (jute.maxbuffer)")]
    FrameTooLarge { len: usize, max: usize },
    #[error("negative frame length {0}")]
    NegativeFrameLength(i32),
    #[error("{what}: invalid length {len}")]
    BadLength { what: &'static str, len: i32 },
    #[error("{what}: null where a value is required")]
    UnexpectedNull { what: &'static str },
    #[error("{what}: boolean byte must be 0 or 1, got {byte:#04x}")]
    BadBool { what: &'static str, byte: u8 },
    #[error("{what} is not valid UTF-8")]
    BadUtf8 { what: &'static str },
    #[error("{count} unexpected trailing bytes after {what}")]
    TrailingBytes { what: &'static str, count: usize },
    #[error("unknown opcode {0}")]
    UnknownOpcode(i32),
    #[error("opcode {opcode} is not allowed inside {context}")]
    OpNotAllowed { opcode: i32, context: &'static str },
    #[error("{what}: unexpected value {value}")]
    BadValue { what: &'static str, value: i64 },
    /// A zkserver peer frame whose bytes 4..8 are not `zkR1`.
    #[error("peer frame: bad magic {0:02x?} (expected \"zkR1\")")]
    BadPeerMagic([u8; 4]),
    #[error("peer frame: unknown kind {0}")]
    UnknownPeerKind(u8),
    #[error("peer frame length {len} exceeds the maximum of {max} bytes")]
    PeerFrameTooLarge { len: usize, max: usize },
    /// A peer frame body that is not the MessagePack the kind calls for.
    #[error("peer {kind} body: {msg}")]
    BadPeerBody { kind: &'static str, msg: String },
    /// An event log line that is not a valid event (see `event`).
    #[error("line {line}: {msg}")]
    BadEventLine { line: u64, msg: String },
}

pub type Result<T> = std::result::Result<T, ProtoError>;
