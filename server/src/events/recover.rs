//! Picking up after a restart: where numbering resumes, and what had to be
//! skipped or cut to get there. Only the tail of the newest file is read, so
//! opening does not cost a scan of every event the node ever wrote.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use serde_json::{json, Value};
use zkproto::event::Event;

use super::files::{rotated_files, CURRENT};
use crate::{Error, Result};

/// Where a reopened log goes on.
#[derive(Debug, Default)]
pub struct Resume {
    /// The seq the next line gets: one past the last readable one.
    pub next_seq: u64,
    /// Repairs made on the way, each written as an `events.corrupt` warning
    /// before anything else.
    pub notes: Vec<Note>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    pub msg: String,
    pub detail: Value,
}

const CHUNK: u64 = 64 * 1024;

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn io_err(path: &Path, what: &str) -> impl FnOnce(io::Error) -> Error {
    let context = format!("events: {what} {}", path.display());
    move |e| Error::io(context, e)
}

/// Resumes from the newest file holding a readable line: `events.log`, else
/// the rotated files newest first.
pub(super) fn resume(dir: &Path) -> Result<Resume> {
    let mut notes = Vec::new();
    let mut newest_first = Vec::new();
    let current = dir.join(CURRENT);
    if current.exists() {
        notes.extend(cut_torn_tail(&current)?);
        newest_first.push(current);
    }
    let rotated = rotated_files(dir).map_err(io_err(dir, "list"))?;
    newest_first.extend(rotated.into_iter().rev().map(|(_, p)| p));
    for path in newest_first {
        let (last, skipped) = last_event(&path)?;
        notes.extend(skipped);
        if let Some(ev) = last {
            return Ok(Resume {
                next_seq: ev.seq.saturating_add(1),
                notes,
            });
        }
    }
    Ok(Resume { next_seq: 0, notes })
}

fn read_range(file: &mut File, start: u64, end: u64) -> io::Result<Vec<u8>> {
    let mut buf = vec![0; (end - start) as usize];
    file.seek(SeekFrom::Start(start))?;
    file.read_exact(&mut buf)?;
    Ok(buf)
}

/// The offset just past the file's last newline (0 if it has none).
fn complete_end(file: &mut File, len: u64) -> io::Result<u64> {
    let mut end = len;
    while end > 0 {
        let start = end.saturating_sub(CHUNK);
        let buf = read_range(file, start, end)?;
        if let Some(i) = buf.iter().rposition(|&b| b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

/// Cuts an unterminated last line (a write torn by a crash or a full disk):
/// appending after it would glue the next event onto the fragment and spoil
/// a good line.
fn cut_torn_tail(path: &Path) -> Result<Option<Note>> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(io_err(path, "open"))?;
    let len = file.metadata().map_err(io_err(path, "stat"))?.len();
    let end = complete_end(&mut file, len).map_err(io_err(path, "read"))?;
    if end == len {
        return Ok(None);
    }
    file.set_len(end).map_err(io_err(path, "truncate"))?;
    Ok(Some(Note {
        msg: "cut an unterminated last line left by an interrupted write".into(),
        detail: json!({
            "file": file_name(path),
            "action": "truncated",
            "offset": end,
            "bytes": len - end,
        }),
    }))
}

/// The last line of `path` that parses as an event, and a note if corrupt
/// lines after it had to be skipped. Reads growing windows from the end.
fn last_event(path: &Path) -> Result<(Option<Event>, Option<Note>)> {
    let mut file = File::open(path).map_err(io_err(path, "open"))?;
    let len = file.metadata().map_err(io_err(path, "stat"))?.len();
    let end = complete_end(&mut file, len).map_err(io_err(path, "read"))?;
    let mut window = CHUNK;
    loop {
        let start = end.saturating_sub(window);
        let buf = read_range(&mut file, start, end).map_err(io_err(path, "read"))?;
        // Unless the window reaches the file's start, its first line is cut.
        let body_start = match start {
            0 => 0,
            _ => buf
                .iter()
                .position(|&b| b == b'\n')
                .map_or(buf.len(), |i| i + 1),
        };
        let body = &buf[body_start..];
        let mut skipped = 0u64;
        let mut newest_bad: Option<(u64, String)> = None;
        let mut found = None;
        let mut hi = body.len();
        while hi > 0 {
            let line_end = hi - 1;
            let lo = body[..line_end]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
            match serde_json::from_slice::<Event>(&body[lo..line_end]) {
                Ok(ev) => {
                    found = Some(ev);
                    break;
                }
                Err(e) => {
                    skipped += 1;
                    let offset = start + (body_start + lo) as u64;
                    newest_bad.get_or_insert((offset, e.to_string()));
                }
            }
            hi = lo;
        }
        if found.is_some() || start == 0 {
            let note = newest_bad.map(|(offset, error)| Note {
                msg: "skipped corrupt lines to find the last seq".into(),
                detail: json!({
                    "file": file_name(path),
                    "action": "skipped",
                    "lines": skipped,
                    "offset": offset,
                    "error": error,
                }),
            });
            return Ok((found, note));
        }
        window = window.saturating_mul(4);
    }
}

/// The seq of the first readable line of `path`, which names it on rotation.
pub(super) fn first_seq(path: &Path) -> Result<Option<u64>> {
    let file = File::open(path).map_err(io_err(path, "open"))?;
    let mut reader = BufReader::new(file);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(io_err(path, "read"))?;
        if n == 0 || line.last() != Some(&b'\n') {
            return Ok(None);
        }
        if let Ok(ev) = serde_json::from_slice::<Event>(&line) {
            return Ok(Some(ev.seq));
        }
    }
}
