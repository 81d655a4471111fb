//! Segment files: their names and what a scan of one finds.

use std::path::{Path, PathBuf};

use super::record::{self, Decoded};
use crate::{Error, Result};

const PREFIX: &str = "log-";
const SUFFIX: &str = ".wal";
const DIGITS: usize = 20;
/// The unit in which the page cache writes a file back: a crash can leave
/// any subset of the pages written since the last fsync.
const PAGE: usize = 4096;

/// Names sort in index order because the number is zero-padded to the
/// width of `u64::MAX`.
pub(super) fn file_name(first: u64) -> String {
    format!("{PREFIX}{first:0DIGITS$}{SUFFIX}")
}

/// `None` for files that are not segments; an error for files that look
/// like segments but whose name does not say where they start, since
/// ignoring one could hide part of the log.
pub(super) fn parse_name(dir: &Path, name: &str) -> Option<Result<u64>> {
    let digits = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    let first = digits
        .parse::<u64>()
        .ok()
        .filter(|_| digits.len() == DIGITS && digits.bytes().all(|b| b.is_ascii_digit()));
    Some(first.ok_or_else(|| Error::Corrupt {
        path: dir.join(name),
        msg: "segment file name does not hold a 20-digit first index".into(),
    }))
}

/// Where every record of one segment file lies.
#[derive(Debug)]
pub(super) struct Segment {
    /// Index of the first record, from the file name.
    pub first: u64,
    pub path: PathBuf,
    /// `offsets[i]` is the byte offset of record `first + i`.
    pub offsets: Vec<u64>,
    /// Length in bytes, counting records still in the write buffer.
    pub len: u64,
}

impl Segment {
    pub fn new(dir: &Path, first: u64) -> Segment {
        Segment {
            first,
            path: dir.join(file_name(first)),
            offsets: Vec::new(),
            len: 0,
        }
    }

    pub fn last(&self) -> Option<u64> {
        let n = self.offsets.len() as u64;
        (n > 0).then(|| self.first + (n - 1))
    }

    pub fn holds(&self, index: u64) -> bool {
        index >= self.first && self.last().is_some_and(|last| index <= last)
    }

    /// Byte offset of a record the segment holds.
    pub fn offset_of(&self, index: u64) -> u64 {
        self.offsets[(index - self.first) as usize]
    }

    /// Byte offset just past a record the segment holds.
    pub fn end_of(&self, index: u64) -> u64 {
        let i = (index - self.first) as usize;
        self.offsets.get(i + 1).copied().unwrap_or(self.len)
    }
}

/// Unreadable bytes found by a scan, from `offset` to the end of the file.
#[derive(Debug)]
pub(super) struct Damage {
    pub offset: u64,
    pub reason: String,
    /// A sound record found after the damage: proof that this is not a torn
    /// tail, unless `zero_page` says otherwise.
    pub sound_record_after: Option<u64>,
    /// The first whole page of zeros between the damage and that record.
    pub zero_page: Option<u64>,
}

/// Offset of the first page-aligned, page-long run of zeros within
/// `buf[from..to]`.
fn first_zero_page(buf: &[u8], from: usize, to: usize) -> Option<usize> {
    let to = to.min(buf.len());
    (from.next_multiple_of(PAGE)..)
        .step_by(PAGE)
        .take_while(|&p| p + PAGE <= to)
        .find(|&p| buf[p..p + PAGE].iter().all(|&b| b == 0))
}

/// Reads a whole segment and indexes its records up to the first damage.
/// Records that decode but carry the wrong index are corruption outright:
/// a crash can cut a write short, not renumber it. Zeros from a record
/// boundary to the end of the file are no damage: that is space allocated
/// ahead of the records and not yet written. (A sealed segment was cut back
/// to its records; had zeros replaced some of them, the next segment would
/// not start where this one ends, and recovery says so.)
pub(super) fn scan(path: &Path, first: u64) -> Result<(Segment, Option<Damage>)> {
    let buf = std::fs::read(path).map_err(|e| Error::io(format!("read {}", path.display()), e))?;
    let corrupt = |msg: String| Error::Corrupt {
        path: path.to_path_buf(),
        msg,
    };
    let mut seg = Segment {
        first,
        path: path.to_path_buf(),
        offsets: Vec::new(),
        len: 0,
    };
    let mut at = 0usize;
    // Every pass consumes at least one header or leaves the loop.
    while at < buf.len() {
        let expected = first
            .checked_add(seg.offsets.len() as u64)
            .ok_or_else(|| corrupt(format!("offset {at}: data after record {}", u64::MAX)))?;
        let decoded = record::decode(&buf, at);
        match decoded {
            Decoded::Record { index, end, .. } if index == expected => {
                seg.offsets.push(at as u64);
                at = end;
            }
            Decoded::Record { index, .. } | Decoded::BadPayload { index, .. }
                if index != expected =>
            {
                return Err(corrupt(format!(
                    "offset {at}: record {index} where record {expected} belongs"
                )));
            }
            _ if buf[at..].iter().all(|&b| b == 0) => break,
            _ => {
                let resume = match decoded {
                    Decoded::BadPayload { end, .. } => Some(end),
                    Decoded::BadHeader => Some(at + 1),
                    // Nothing can follow a cut-short record.
                    _ => None,
                };
                let sound_record_after = resume
                    .and_then(|from| record::next_plausible_header(&buf, from, expected))
                    .map(|o| o as u64);
                let zero_page = sound_record_after
                    .and_then(|to| first_zero_page(&buf, at, to as usize))
                    .map(|p| p as u64);
                let damage = Damage {
                    offset: at as u64,
                    reason: decoded.damage(),
                    sound_record_after,
                    zero_page,
                };
                seg.len = at as u64;
                return Ok((seg, Some(damage)));
            }
        }
    }
    seg.len = at as u64;
    Ok((seg, None))
}
