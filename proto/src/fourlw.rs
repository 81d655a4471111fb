//! Four-letter words: an admin command sent as the first 4 bytes of a
//! connection instead of a ConnectRequest. A ConnectRequest starts with its
//! length (44 or 45), so the two can never be confused.

macro_rules! words {
    ($($v:ident = $s:literal: $doc:literal,)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum FourLetterWord { $(#[doc = $doc] $v,)* }

        impl FourLetterWord {
            pub const ALL: &'static [FourLetterWord] = &[$(FourLetterWord::$v,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(FourLetterWord::$v => $s,)* }
            }

            pub fn from_bytes(b: [u8; 4]) -> Option<FourLetterWord> {
                match &b { $(x if x == $s.as_bytes() => Some(FourLetterWord::$v),)* _ => None }
            }
        }
    };
}

words! {
    Ruok = "ruok": "Are you OK? Answers `imok`.",
    Srvr = "srvr": "Server details: version, latency, mode, zxid.",
    Stat = "stat": "srvr plus the connected clients.",
    Mntr = "mntr": "Tab-separated metrics.",
    Conf = "conf": "The serving configuration.",
    Cons = "cons": "Connection and session details.",
    Crst = "crst": "Reset connection statistics.",
    Dump = "dump": "Sessions and ephemerals (leader only).",
    Envi = "envi": "Server environment.",
    Wchs = "wchs": "Watch summary.",
    Wchc = "wchc": "Watches by session.",
    Wchp = "wchp": "Watches by path.",
    Dirs = "dirs": "Snapshot and log sizes.",
    Isro = "isro": "Read-only mode? Answers `ro` or `rw`.",
    Srst = "srst": "Reset server statistics.",
    Gtmk = "gtmk": "Get the trace mask.",
    Stmk = "stmk": "Set the trace mask (followed by an 8-byte mask).",
    Hash = "hash": "Digest history.",
}

impl FourLetterWord {
    /// Recognises a four-letter word at the start of a connection's first bytes.
    pub fn detect(first: &[u8]) -> Option<FourLetterWord> {
        let b: [u8; 4] = first.get(..4)?.try_into().ok()?;
        Self::from_bytes(b)
    }

    /// Bytes that follow the word on the wire (stmk carries a trace mask).
    pub fn payload_len(self) -> usize {
        match self {
            FourLetterWord::Stmk => 8,
            _ => 0,
        }
    }
}

impl std::fmt::Display for FourLetterWord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_words_but_not_handshakes() {
        for w in FourLetterWord::ALL {
            assert_eq!(FourLetterWord::detect(w.as_str().as_bytes()), Some(*w));
        }
        assert_eq!(FourLetterWord::ALL.len(), 18);
        assert_eq!(FourLetterWord::detect(&[0, 0, 0, 45, 0]), None);
        assert_eq!(FourLetterWord::detect(b"ru"), None);
        assert_eq!(FourLetterWord::detect(b"RUOK"), None);
    }
}
