//! Rebuilding the in-memory index from the segment files at open, and
//! telling a crash's torn tail from corruption.

use std::fs::{self, OpenOptions};
use std::path::Path;

use super::segment::{self, Damage, Segment};
use super::{io_err, meta, remove_file, TornTail};
use crate::{Error, Result};

/// First indexes of the segment files in `dir`, ascending.
fn list_segments(dir: &Path) -> Result<Vec<u64>> {
    let mut firsts = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err("list", dir))? {
        let entry = entry.map_err(io_err("list", dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(first) = segment::parse_name(dir, name) {
            firsts.push(first?);
        }
    }
    firsts.sort_unstable();
    Ok(firsts)
}

/// Damage is a torn tail only in the last segment, and only with no sound
/// record after it, or with a whole never-written page (4096 aligned bytes
/// of zeros) between it and that record; anything else is corruption.
///
/// The exception is for preallocation: the end of the last segment is
/// allocated zeros, and until an fdatasync the kernel may write its dirty
/// pages back in any order, so a crash can keep a later page of records
/// and lose an earlier one, which then reads as zeros. Those records were
/// never synced, so never acknowledged, and dropping them loses nothing.
/// Damage of any other shape (a flipped or stale byte) followed by a sound
/// record is not what a crash leaves, and stops the start instead of
/// silently cutting the log.
fn check_torn(path: &Path, damage: &Damage, is_last: bool) -> Result<()> {
    let why_not_torn = match (damage.sound_record_after, damage.zero_page) {
        (Some(_), Some(_)) if is_last => return Ok(()),
        (Some(at), _) => format!("a sound record follows at offset {at}"),
        (None, _) if !is_last => "later segments follow".to_string(),
        (None, _) => return Ok(()),
    };
    Err(Error::Corrupt {
        path: path.to_path_buf(),
        msg: format!(
            "offset {}: {}, and {why_not_torn}",
            damage.offset, damage.reason
        ),
    })
}

fn cut_torn_tail(seg: &Segment, damage: Damage, fsync: bool) -> Result<TornTail> {
    let path = &seg.path;
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(io_err("open", path))?;
    let file_len = file.metadata().map_err(io_err("stat", path))?.len();
    file.set_len(seg.len).map_err(io_err("truncate", path))?;
    if fsync {
        file.sync_all().map_err(io_err("fsync", path))?;
    }
    let reason = match (damage.zero_page, damage.sound_record_after) {
        (Some(page), Some(at)) => format!(
            "{}; never-written page at {page} before offset {at}",
            damage.reason
        ),
        _ => damage.reason,
    };
    Ok(TornTail {
        segment: path.clone(),
        offset: damage.offset,
        dropped_bytes: file_len.saturating_sub(damage.offset),
        reason,
    })
}

/// Scans every segment in `dir` and returns them in order, each holding at
/// least one record above the purge point. Files change only once the whole
/// log has been found sound, apart from segments wholly below the purge point,
/// which are gone either way.
pub(super) fn recover(
    dir: &Path,
    purged: Option<u64>,
    fsync: bool,
) -> Result<(Vec<Segment>, Option<TornTail>)> {
    let mut firsts = list_segments(dir)?;
    let mut removed = false;

    // A crash inside purge_upto can leave segments wholly at or below the
    // purge point; the next segment's name bounds each one's last index, so
    // they go without being read.
    if let Some(p) = purged {
        while firsts.len() >= 2 && firsts[1] - 1 <= p {
            remove_file(&dir.join(segment::file_name(firsts[0])))?;
            firsts.remove(0);
            removed = true;
        }
    }

    let mut segments: Vec<Segment> = Vec::with_capacity(firsts.len());
    let mut tail_damage = None;
    for (i, &first) in firsts.iter().enumerate() {
        let path = dir.join(segment::file_name(first));
        let (seg, damage) = segment::scan(&path, first)?;
        let is_last = i + 1 == firsts.len();
        if let Some(d) = &damage {
            check_torn(&path, d, is_last)?;
        }
        if let Some(prev) = segments.last() {
            if prev.last().and_then(|l| l.checked_add(1)) != Some(first) {
                return Err(Error::Corrupt {
                    path,
                    msg: format!(
                        "starts at index {first} but the segment before it ends at {:?}",
                        prev.last()
                    ),
                });
            }
        }
        if seg.offsets.is_empty() && !is_last {
            return Err(Error::Corrupt {
                path,
                msg: "holds no records but later segments follow".into(),
            });
        }
        tail_damage = damage;
        segments.push(seg);
    }

    let torn_tail = match (tail_damage, segments.last()) {
        (Some(damage), Some(seg)) => Some(cut_torn_tail(seg, damage, fsync)?),
        _ => None,
    };

    // A last segment with no records (created just before a crash, or
    // emptied by the torn-tail cut) or none above the purge point holds
    // nothing live; the next append starts a segment of its own.
    let dead_tail = segments.last().is_some_and(|s| match s.last() {
        None => true,
        Some(last) => purged.is_some_and(|p| last <= p),
    });
    if dead_tail {
        if let Some(seg) = segments.pop() {
            remove_file(&seg.path)?;
            removed = true;
        }
    }
    if removed && fsync {
        meta::sync_dir(dir)?;
    }
    Ok((segments, torn_tail))
}
