//! Length-prefixed framing: every message on a client connection is a 4-byte
//! big-endian length followed by that many bytes.

use crate::error::{ProtoError, Result};

/// ZooKeeper's default `jute.maxbuffer`.
pub const DEFAULT_MAX_FRAME: usize = 1_048_575;

/// Validates a length prefix before anything is allocated for the frame.
pub fn frame_len(prefix: [u8; 4], max: usize) -> Result<usize> {
    let len = i32::from_be_bytes(prefix);
    if len < 0 {
        return Err(ProtoError::NegativeFrameLength(len));
    }
    let len = len as usize;
    if len > max {
        return Err(ProtoError::FrameTooLarge { len, max });
    }
    Ok(len)
}

/// Splits the first complete frame off `buf`: `Ok(Some((body, consumed)))`,
/// or `Ok(None)` when more bytes are needed.
pub fn split_frame(buf: &[u8], max: usize) -> Result<Option<(&[u8], usize)>> {
    let Some(prefix) = buf.get(..4) else {
        return Ok(None);
    };
    let len = frame_len([prefix[0], prefix[1], prefix[2], prefix[3]], max)?;
    Ok(buf.get(4..4 + len).map(|body| (body, 4 + len)))
}

/// Iterates over the complete frames at the start of a buffer; `consumed()`
/// tells how much of it they used, so a stream decoder can keep the rest.
#[derive(Debug, Clone)]
pub struct Frames<'a> {
    buf: &'a [u8],
    pos: usize,
    max: usize,
    failed: bool,
}

impl<'a> Frames<'a> {
    pub fn new(buf: &'a [u8], max: usize) -> Self {
        Frames {
            buf,
            pos: 0,
            max,
            failed: false,
        }
    }

    pub fn consumed(&self) -> usize {
        self.pos
    }
}

impl<'a> Iterator for Frames<'a> {
    type Item = Result<&'a [u8]>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match split_frame(&self.buf[self.pos..], self.max) {
            Ok(Some((body, used))) => {
                self.pos += used;
                Some(Ok(body))
            }
            Ok(None) => None,
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// Appends one frame to `out`: reserves the prefix, lets `body` write, then
/// patches the length in. `out` is meant to be reused across frames.
pub fn write_frame(out: &mut Vec<u8>, body: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    body(out);
    let len = i32::try_from(out.len() - start - 4).expect("frame larger than i32::MAX");
    out[start..start + 4].copy_from_slice(&len.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversized_and_negative_lengths() {
        assert_eq!(
            split_frame(&[0x00, 0x10, 0x00, 0x00], DEFAULT_MAX_FRAME),
            Err(ProtoError::FrameTooLarge {
                len: 0x100000,
                max: DEFAULT_MAX_FRAME
            })
        );
        assert_eq!(
            split_frame(&[0xff, 0xff, 0xff, 0xfe], DEFAULT_MAX_FRAME),
            Err(ProtoError::NegativeFrameLength(-2))
        );
    }

    #[test]
    fn frames_iterate_and_leave_the_partial_tail() {
        let mut buf = Vec::new();
        write_frame(&mut buf, |w| w.extend_from_slice(b"abc"));
        write_frame(&mut buf, |w| w.extend_from_slice(b""));
        buf.extend_from_slice(&[0, 0, 0, 9, 1]);
        let mut it = Frames::new(&buf, 100);
        assert_eq!(it.next(), Some(Ok(&b"abc"[..])));
        assert_eq!(it.next(), Some(Ok(&b""[..])));
        assert_eq!(it.next(), None);
        assert_eq!(it.consumed(), 11);
    }
}
