//! One log record as stored in a segment file.
//!
//! ```text
//! 0..4    payload length, u32 LE
//! 4..12   index, u64 LE
//! 12..16  CRC-32 of the payload, LE
//! 16..20  CRC-32 of bytes 0..16, LE
//! 20..    payload
//! ```
//!
//! The header carries its own checksum so that a damaged length is seen as
//! damage instead of being believed: a single flipped bit in a trusted length
//! could make a record in the middle of a file seem to run past its end, pass
//! for a torn write, and silently take every later record with it.

use crate::{Error, Result};

pub(super) const HEADER_LEN: usize = 20;

/// The payload length as stored, or an error if it does not fit the field.
pub(super) fn payload_len(index: u64, payload: &[u8]) -> Result<u32> {
    u32::try_from(payload.len()).map_err(|_| {
        Error::Wal(format!(
            "record {index}: a payload of {} bytes does not fit a record",
            payload.len()
        ))
    })
}

/// Appends the encoding of one record to `out`, or leaves `out` alone and
/// fails if the payload is too long.
pub(super) fn encode(index: u64, payload: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let len = payload_len(index, payload)?;
    let start = out.len();
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&index.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    let header_crc = crc32fast::hash(&out[start..start + 16]);
    out.extend_from_slice(&header_crc.to_le_bytes());
    out.extend_from_slice(payload);
    Ok(())
}

/// Bytes a record with this payload takes on disk.
pub(super) fn encoded_len(payload_len: usize) -> u64 {
    (HEADER_LEN + payload_len) as u64
}

struct Header {
    len: u32,
    index: u64,
    payload_crc: u32,
}

fn le_u32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[..4]);
    u32::from_le_bytes(a)
}

fn le_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

/// The header at the start of `buf`, if there is a whole one and its
/// checksum holds.
fn header(buf: &[u8]) -> Option<Header> {
    if buf.len() < HEADER_LEN || crc32fast::hash(&buf[..16]) != le_u32(&buf[16..20]) {
        return None;
    }
    Some(Header {
        len: le_u32(&buf[0..4]),
        index: le_u64(&buf[4..12]),
        payload_crc: le_u32(&buf[12..16]),
    })
}

/// What sits at one offset of a segment.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Decoded<'a> {
    Record {
        index: u64,
        payload: &'a [u8],
        end: usize,
    },
    /// Fewer bytes than a header remain.
    ShortHeader,
    BadHeader,
    /// The header is sound but the payload it announces runs past the end.
    ShortPayload {
        index: u64,
    },
    BadPayload {
        index: u64,
        end: usize,
    },
}

impl Decoded<'_> {
    /// Why this is not a record, for error messages and the torn-tail report.
    pub(super) fn damage(&self) -> String {
        match self {
            Decoded::Record { index, .. } => format!("record {index} is sound"),
            Decoded::ShortHeader => "record header cut short by the end of the file".into(),
            Decoded::BadHeader => "record header checksum mismatch".into(),
            Decoded::ShortPayload { index } => {
                format!("record {index} payload cut short by the end of the file")
            }
            Decoded::BadPayload { index, .. } => {
                format!("record {index} payload checksum mismatch")
            }
        }
    }
}

pub(super) fn decode(buf: &[u8], at: usize) -> Decoded<'_> {
    let rest = buf.get(at..).unwrap_or_default();
    if rest.len() < HEADER_LEN {
        return Decoded::ShortHeader;
    }
    let Some(h) = header(rest) else {
        return Decoded::BadHeader;
    };
    let body = &rest[HEADER_LEN..];
    let len = h.len as usize;
    if body.len() < len {
        return Decoded::ShortPayload { index: h.index };
    }
    let payload = &body[..len];
    let end = at + HEADER_LEN + len;
    if crc32fast::hash(payload) != h.payload_crc {
        return Decoded::BadPayload {
            index: h.index,
            end,
        };
    }
    Decoded::Record {
        index: h.index,
        payload,
        end,
    }
}

/// The first offset at or after `from` holding a sound header that could
/// belong to this log: its index is `expected` or a little above (no more
/// than the remaining bytes could hold) and its payload fits the buffer.
///
/// Damage with such a header after it is corruption in the middle of the
/// log; damage with nothing after it is what a crash mid-write leaves. The
/// index window keeps random bytes in a torn tail from passing for a record
/// (a bare header checksum would match somewhere in every few GiB of noise).
pub(super) fn next_plausible_header(buf: &[u8], from: usize, expected: u64) -> Option<usize> {
    let last_start = buf.len().checked_sub(HEADER_LEN)?;
    (from..=last_start).find(|&at| {
        let rest = &buf[at..];
        let index = le_u64(&rest[4..12]);
        let room = (rest.len() / HEADER_LEN) as u64;
        let len = le_u32(&rest[0..4]) as usize;
        index.wrapping_sub(expected) <= room
            && len <= rest.len() - HEADER_LEN
            && header(rest).is_some()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_each_kind_of_damage() {
        let mut buf = Vec::new();
        encode(7, b"hello", &mut buf).expect("encode");
        let n = buf.len();
        assert_eq!(n as u64, encoded_len(5));
        assert_eq!(
            decode(&buf, 0),
            Decoded::Record {
                index: 7,
                payload: b"hello",
                end: n
            }
        );
        assert_eq!(decode(&buf[..HEADER_LEN - 1], 0), Decoded::ShortHeader);
        assert_eq!(decode(&buf[..n - 1], 0), Decoded::ShortPayload { index: 7 });
        let mut bad = buf.clone();
        bad[n - 1] ^= 1;
        assert_eq!(decode(&bad, 0), Decoded::BadPayload { index: 7, end: n });
        for i in 0..HEADER_LEN {
            let mut bad = buf.clone();
            bad[i] ^= 0x10;
            assert_eq!(decode(&bad, 0), Decoded::BadHeader, "byte {i}");
        }
    }

    #[test]
    fn resync_finds_the_next_record_but_not_noise() {
        let mut buf = Vec::new();
        encode(1, b"aaaa", &mut buf).expect("encode");
        let second = buf.len();
        encode(2, b"bbbb", &mut buf).expect("encode");
        assert_eq!(next_plausible_header(&buf, 1, 1), Some(second));
        assert_eq!(next_plausible_header(&buf, 1, 3), None);
        assert_eq!(next_plausible_header(&buf, second + 1, 1), None);
        assert_eq!(next_plausible_header(&[0u8; 4096], 0, 1), None);
    }
}
