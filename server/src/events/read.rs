//! Reading a node's event files back, oldest first.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use zkproto::event::Event;

use super::files::{rotated_files, CURRENT};
use crate::{Error, Result};

/// Every event in `dir`, in the order written (rotated files by their first
/// seq, then `events.log`). A line that is not an event is an error naming
/// its file and line number; an unterminated last line of `events.log` is
/// left out, as it is still being written (or was torn by a crash and is cut
/// when the node reopens the log).
pub fn read_events(dir: &Path) -> Result<Vec<Event>> {
    let listed =
        rotated_files(dir).map_err(|e| Error::io(format!("events: list {}", dir.display()), e))?;
    let mut files: Vec<(PathBuf, bool)> = listed.into_iter().map(|(_, p)| (p, false)).collect();
    let current = dir.join(CURRENT);
    if current.exists() {
        files.push((current, true));
    }
    let mut events = Vec::new();
    for (path, is_current) in files {
        read_file(&path, is_current, &mut events)?;
    }
    Ok(events)
}

fn read_file(path: &Path, is_current: bool, out: &mut Vec<Event>) -> Result<()> {
    let io_err = |e| Error::io(format!("events: read {}", path.display()), e);
    let corrupt = |msg: String| Error::Corrupt {
        path: path.to_path_buf(),
        msg,
    };
    let mut reader = BufReader::new(File::open(path).map_err(io_err)?);
    let mut buf = Vec::new();
    // Ends at the end of the file; the range only makes the bound explicit.
    for line_no in 1..=u64::MAX {
        buf.clear();
        if reader.read_until(b'\n', &mut buf).map_err(io_err)? == 0 {
            break;
        }
        let terminated = buf.last() == Some(&b'\n');
        if !terminated && is_current {
            break;
        }
        let text = std::str::from_utf8(&buf)
            .map_err(|e| corrupt(format!("line {line_no}: not UTF-8: {e}")))?;
        let event = Event::from_line(text.trim_end_matches('\n'), line_no)
            .map_err(|e| corrupt(e.to_string()))?;
        out.push(event);
    }
    Ok(())
}
