//! The on-disk layout: `events.log` is written, and rotated to
//! `events.log.<first seq>` when the next line would make it exceed the size
//! limit. The seq in the name is zero-padded to 20 digits (all of a u64) so
//! that a shell glob, `ls` and a plain string sort all list the files in seq
//! order.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::recover::{self, Resume};
use super::sink::{Line, Sink, SinkError};
use crate::{Error, Result};

/// The file being written.
pub const CURRENT: &str = "events.log";
const ROTATED_PREFIX: &str = "events.log.";

pub(super) fn rotated_name(first_seq: u64) -> String {
    format!("{ROTATED_PREFIX}{first_seq:020}")
}

/// The rotated files in `dir` with the seq their name carries, oldest first.
/// Anything else in the directory is left alone.
pub(super) fn rotated_files(dir: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(digits) = name.to_str().and_then(|n| n.strip_prefix(ROTATED_PREFIX)) else {
            continue;
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if let Ok(seq) = digits.parse::<u64>() {
            found.push((seq, entry.path()));
        }
    }
    found.sort();
    Ok(found)
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// The event files of one node: appends whole lines only, rotates by size and
/// keeps at most `keep_files` files (the current one included), so the
/// directory never holds much more than `keep_files * max_file_bytes`.
pub struct FileSink {
    dir: PathBuf,
    max_file_bytes: u64,
    keep_files: usize,
    /// `None` after a rotation could not create the new file; the next write
    /// tries again.
    file: Option<File>,
    /// Bytes of whole lines in the current file.
    len: u64,
    /// Seq of the current file's first line, which names it when rotated.
    first_seq: Option<u64>,
    /// A failed write may have left a fragment past `len` that could not be
    /// cut off yet.
    torn: bool,
}

impl FileSink {
    /// Opens (creating) `dir`, repairs a torn last line of `events.log`, and
    /// says where numbering resumes.
    pub fn open(dir: &Path, max_file_bytes: u64, keep_files: usize) -> Result<(FileSink, Resume)> {
        let ctx = |what: &str| format!("events: {what} {}", dir.display());
        fs::create_dir_all(dir).map_err(|e| Error::io(ctx("create"), e))?;
        let resume = recover::resume(dir)?;
        let path = dir.join(CURRENT);
        let file = open_append(&path).map_err(|e| Error::io(ctx("open in"), e))?;
        let len = file
            .metadata()
            .map_err(|e| Error::io(ctx("stat in"), e))?
            .len();
        let first_seq = if len > 0 {
            recover::first_seq(&path)?
        } else {
            None
        };
        let sink = FileSink {
            dir: dir.to_path_buf(),
            max_file_bytes,
            keep_files,
            file: Some(file),
            len,
            first_seq,
            torn: false,
        };
        // A lowered keep_files takes effect at once, not at the next rotation.
        sink.prune();
        Ok((sink, resume))
    }

    fn current(&self) -> PathBuf {
        self.dir.join(CURRENT)
    }

    /// Appends whole lines to the current file; on failure cuts the file back
    /// to where it was so no reader ever sees half a line.
    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.file.is_none() {
            let file = open_append(&self.current())?;
            self.len = file.metadata()?.len();
            self.torn = false;
            self.file = Some(file);
        }
        let Some(file) = self.file.as_mut() else {
            return Err(io::Error::other("event file not open"));
        };
        if self.torn {
            file.set_len(self.len)?;
            self.torn = false;
        }
        match file.write_all(bytes) {
            Ok(()) => {
                self.len += bytes.len() as u64;
                Ok(())
            }
            Err(e) => {
                // O_APPEND writes go to the end, so cutting the end is enough.
                self.torn = file.set_len(self.len).is_err();
                Err(e)
            }
        }
    }

    /// Renames the current file after its first seq and starts a new one.
    /// `next_seq` names a file none of whose lines could be parsed at open.
    fn rotate(&mut self, next_seq: u64) -> io::Result<()> {
        if let Some(file) = &self.file {
            file.sync_data()?;
        }
        let first = self.first_seq.unwrap_or(next_seq);
        // Names only collide if numbering restarted (no readable line was
        // left at open); never overwrite an older file then.
        let target = (0..1024u64)
            .map(|bump| self.dir.join(rotated_name(first.saturating_add(bump))))
            .find(|p| !p.exists())
            .ok_or_else(|| io::Error::other("no free name to rotate events.log to"))?;
        fs::rename(self.current(), &target)?;
        self.file = None;
        self.len = 0;
        self.first_seq = None;
        self.torn = false;
        // If this fails, `append` creates the file on the next attempt.
        self.file = open_append(&self.current()).ok();
        self.prune();
        Ok(())
    }

    /// Deletes the oldest rotated files beyond `keep_files`. A file that
    /// cannot be deleted costs disk, not events, so failures are left for the
    /// next rotation to retry.
    fn prune(&self) {
        let Ok(rotated) = rotated_files(&self.dir) else {
            return;
        };
        let keep_rotated = self.keep_files.saturating_sub(1);
        let excess = rotated.len().saturating_sub(keep_rotated);
        for (_, path) in &rotated[..excess] {
            let _ = fs::remove_file(path);
        }
    }
}

impl Sink for FileSink {
    fn write_lines(&mut self, lines: &[Line]) -> Result<(), SinkError> {
        let mut done = 0;
        let mut buf = Vec::new();
        while done < lines.len() {
            let fail = |error| SinkError {
                written: done,
                error,
            };
            let next = &lines[done];
            if self.len > 0 && self.len + next.text.len() as u64 > self.max_file_bytes {
                self.rotate(next.seq).map_err(fail)?;
            }
            // The lines that fit the current file; at least one, so a line
            // larger than a whole file still gets a file of its own.
            buf.clear();
            let mut end = done;
            while let Some(line) = lines.get(end) {
                let grown = self.len + (buf.len() + line.text.len()) as u64;
                if end > done && grown > self.max_file_bytes {
                    break;
                }
                buf.extend_from_slice(line.text.as_bytes());
                end += 1;
            }
            self.append(&buf).map_err(fail)?;
            self.first_seq.get_or_insert(next.seq);
            done = end;
        }
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        match &self.file {
            Some(file) => file.sync_data(),
            None => Ok(()),
        }
    }
}
