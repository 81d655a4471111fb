//! The durable write-ahead log under the Raft layer.
//!
//! Plain synchronous `std::fs` code: the caller runs it on a thread of its
//! own and does group commit, many `append`s, one `sync`, then acknowledges
//! them all.
//!
//! What `dir` holds:
//! - `log-<first index, 20 digits>.wal`: segments, runs of consecutive
//!   records (format in `record.rs`);
//! - `wal-purged.state`: the purge point, everything at or below it is gone;
//! - `<name>.meta`: the caller's metadata blobs (format in `meta.rs`).
//!
//! Crash safety rests on three orderings:
//! - a segment is written out, fsynced, and its directory entry fsynced
//!   before the next segment is created, so only the last segment can end in
//!   a torn write and no segment can vanish from the middle;
//! - `truncate_from` removes segments last-first and fsyncs the directory
//!   before shortening the segment that keeps a prefix, and `purge_upto`
//!   persists the purge point before removing segments first-first, so a
//!   crash part-way leaves a run with no holes;
//! - a file is never reused: a removed segment's name is recreated as a new
//!   file, so stale bytes cannot reappear behind a truncation.
//!
//! The last segment is written into space allocated ahead of it
//! (`WalOptions::prealloc_bytes`), so most fdatasyncs neither grow the file
//! nor allocate blocks, and its end on disk is zeros that recovery treats as
//! a clean end; sealing cuts a segment back to its records first. Under
//! load, segments start as zero-filled spare files made in the background
//! (`spare.rs`), into which an fdatasync has no extents to convert.

mod meta;
mod record;
mod recover;
mod segment;
mod spare;
#[cfg(test)]
mod tests;

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use rustix::fs::FallocateFlags;
use rustix::io::Errno;

use record::Decoded;
use segment::Segment;
use spare::Spare;

use crate::{Error, Result};

const PURGE_FILE: &str = "wal-purged.state";
const META_SUFFIX: &str = ".meta";
const MAX_META_NAME: usize = 64;
/// Appended records are handed to the OS (not synced) once this many bytes
/// wait, so a huge batch does not sit in memory until `sync`.
const WRITE_BUFFER: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalOptions {
    /// A segment is closed once the next record would take it past this
    /// size; a single larger record still gets a segment of its own.
    pub segment_bytes: u64,
    /// Off only for tests and benchmarks: skips every fsync, so nothing is
    /// durable against a power cut (still safe against a process crash).
    pub fsync: bool,
    /// The last segment's file grows by at least this much at a time
    /// (`fallocate`), as ZooKeeper pads its log files: an fdatasync into
    /// space already allocated does not wait for block allocation and a
    /// size change to be journaled. 0 grows it write by write.
    pub prealloc_bytes: u64,
    /// Segments of at least [`MIN_SPARE_BYTES`] start as zero-filled files
    /// prepared in the background once the log is busy (syncs into written
    /// blocks are cheaper). Needs `fsync` (without it there is nothing to
    /// gain) and a filesystem that can preallocate.
    pub spare_segments: bool,
}

/// Smaller segments are not worth a spare (and tests use tiny ones).
pub const MIN_SPARE_BYTES: u64 = 1 << 20;
/// A spare is prepared once the last segment holds this much (or half of
/// `segment_bytes`): a lightly used log never writes one.
const SPARE_AFTER: u64 = 1 << 20;

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions {
            segment_bytes: 64 << 20,
            fsync: true,
            prealloc_bytes: 4 << 20,
            spare_segments: true,
        }
    }
}

/// What `Wal::open` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    pub first_index: Option<u64>,
    pub last_index: Option<u64>,
    /// The cut-short or damaged end of the last segment, which open removed.
    pub torn_tail: Option<TornTail>,
    /// Segment files left after recovery.
    pub segments: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    pub segment: PathBuf,
    /// Where the dropped bytes began.
    pub offset: u64,
    pub dropped_bytes: u64,
    pub reason: String,
}

/// Whether a failed `fallocate` means the filesystem cannot preallocate at
/// all (some network and FUSE filesystems, old kernels), so the log goes on
/// without it, rather than that this call failed (a full disk, an I/O
/// error), which must fail the write it was for.
fn cannot_preallocate(e: Errno) -> bool {
    e == Errno::OPNOTSUPP || e == Errno::NOTSUP || e == Errno::NOSYS
}

/// The writer of the last segment.
struct Active {
    file: File,
    /// Encoded records not yet handed to the OS.
    pending: Vec<u8>,
    /// Bytes of records in the file itself: the next write goes here.
    written: u64,
    /// The file's length: `written` plus preallocated space, which reads as
    /// zeros.
    allocated: u64,
    /// Whether bytes were written since the last fdatasync.
    unsynced: bool,
    /// The file began as a zero-filled spare.
    zeroed: bool,
}

impl Active {
    /// The writer of a segment found at open or left by a truncation: its
    /// records end at `seg.len`, anything after that is preallocated zeros.
    fn open(seg: &Segment) -> Result<Active> {
        let file = OpenOptions::new()
            .write(true)
            .open(&seg.path)
            .map_err(io_err("open", &seg.path))?;
        let allocated = file.metadata().map_err(io_err("stat", &seg.path))?.len();
        Ok(Active {
            file,
            pending: Vec::new(),
            written: seg.len,
            allocated,
            unsynced: false,
            // Unknown: its tail may be fallocated only.
            zeroed: false,
        })
    }

    /// Hands the buffered records to the OS.
    fn write_out(&mut self, path: &Path, space: &mut Space) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let end = self.written + self.pending.len() as u64;
        if end > self.allocated {
            self.preallocate(end, space, path)?;
        }
        // Positional, not O_APPEND: the file's end is past the records.
        self.file
            .write_all_at(&self.pending, self.written)
            .map_err(io_err("write", path))?;
        self.written = end;
        self.allocated = self.allocated.max(end);
        self.pending.clear();
        self.unsynced = true;
        Ok(())
    }

    /// Extends the file to at least `end` bytes, by `chunk` at a time.
    /// Failing here fails the write, as a full disk would have anyway, and
    /// nothing written before is touched.
    fn preallocate(&mut self, end: u64, space: &mut Space, path: &Path) -> Result<()> {
        if space.chunk == 0 {
            return Ok(());
        }
        let needed = end - self.allocated;
        let mut len = needed.max(space.chunk);
        let allocate =
            |len| rustix::fs::fallocate(&self.file, FallocateFlags::empty(), self.allocated, len);
        let mut r = allocate(len);
        // Running ahead, and a spare, are optimizations: a disk with room
        // for the records themselves must still take them.
        if r == Err(Errno::NOSPC) && len > needed {
            len = needed;
            r = allocate(len);
        }
        if r == Err(Errno::NOSPC) && space.spare.as_mut().is_some_and(Spare::discard) {
            r = allocate(len);
        }
        match r {
            Ok(()) => {
                self.allocated += len;
                Ok(())
            }
            Err(e) if cannot_preallocate(e) => {
                tracing::warn!(
                    "{}: the filesystem cannot preallocate ({e}); WAL segments grow write by write",
                    path.display()
                );
                space.chunk = 0;
                space.spare = None;
                Ok(())
            }
            Err(e) => Err(Error::io(
                format!("preallocate {}", path.display()),
                e.into(),
            )),
        }
    }

    fn sync(&mut self, path: &Path, fsync: bool, space: &mut Space) -> Result<()> {
        self.write_out(path, space)?;
        if self.unsynced && fsync {
            self.file.sync_data().map_err(io_err("fdatasync", path))?;
        }
        self.unsynced = false;
        Ok(())
    }

    /// The last sync of a segment before the next one is created. Its
    /// preallocated tail is cut first, so that a closed segment holds
    /// exactly its records; a full fsync then makes the new length durable
    /// too (an fdatasync need not, for a shrink), once per segment.
    fn seal(&mut self, path: &Path, fsync: bool, space: &mut Space) -> Result<()> {
        self.write_out(path, space)?;
        if self.allocated == self.written {
            return self.sync(path, fsync, space);
        }
        self.file
            .set_len(self.written)
            .map_err(io_err("truncate", path))?;
        self.allocated = self.written;
        if fsync {
            self.file.sync_all().map_err(io_err("fsync", path))?;
        }
        self.unsynced = false;
        Ok(())
    }
}

/// Room ahead of the last segment's records, shared by every segment of the
/// log so that a filesystem found unable to preallocate is not asked again.
struct Space {
    /// How far ahead the last segment is allocated: `opts.prealloc_bytes`,
    /// or 0 once the filesystem has refused.
    chunk: u64,
    /// Present when the options ask for spares and segments are big enough.
    spare: Option<Spare>,
}

pub struct Wal {
    dir: PathBuf,
    opts: WalOptions,
    /// In index order, each holding at least one record above the purge
    /// point; empty exactly when the log is.
    segments: Vec<Segment>,
    /// Present exactly when `segments` is not empty; writes its last one.
    active: Option<Active>,
    space: Space,
    purged: Option<u64>,
    /// A segment was created since the directory was last fsynced.
    dir_dirty: bool,
    /// A read handle kept between reads, keyed by the segment's first index.
    reader: Option<(u64, File)>,
    /// Set by a failed write: what is on disk is then unknown, so every
    /// later call fails until the log is reopened and recovered.
    failed: Option<String>,
}

impl fmt::Debug for Wal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wal")
            .field("dir", &self.dir)
            .field("first_index", &self.first_index())
            .field("last_index", &self.last_index())
            .field("purged", &self.purged)
            .field("segments", &self.segments.len())
            .field("failed", &self.failed)
            .finish()
    }
}

fn io_err(what: &str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let context = format!("{what} {}", path.display());
    move |e| Error::io(context, e)
}

fn remove_file(path: &Path) -> Result<()> {
    fs::remove_file(path).map_err(io_err("remove", path))
}

fn load_purge_point(dir: &Path) -> Result<Option<u64>> {
    let path = dir.join(PURGE_FILE);
    let Some(bytes) = meta::read(&path)? else {
        return Ok(None);
    };
    let word: [u8; 8] = bytes.as_slice().try_into().map_err(|_| Error::Corrupt {
        path,
        msg: format!("purge point holds {} bytes, not 8", bytes.len()),
    })?;
    Ok(Some(u64::from_le_bytes(word)))
}

fn meta_file_name(name: &str) -> Result<String> {
    let ok = !name.is_empty()
        && name.len() <= MAX_META_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !ok {
        return Err(Error::Wal(format!(
            "meta name {name:?} must be 1 to {MAX_META_NAME} characters of [A-Za-z0-9_-]"
        )));
    }
    Ok(format!("{name}{META_SUFFIX}"))
}

/// Reads bytes `[start, end)` of a segment, reusing the cached handle when it
/// is for the same segment.
fn read_span(
    reader: &mut Option<(u64, File)>,
    seg: &Segment,
    start: u64,
    end: u64,
) -> Result<Vec<u8>> {
    let file = match reader.take() {
        Some((first, file)) if first == seg.first => &mut reader.insert((first, file)).1,
        _ => {
            let file = File::open(&seg.path).map_err(io_err("open", &seg.path))?;
            &mut reader.insert((seg.first, file)).1
        }
    };
    let len = usize::try_from(end - start)
        .map_err(|_| Error::Wal(format!("a {}-byte read does not fit memory", end - start)))?;
    let mut buf = vec![0u8; len];
    file.seek(SeekFrom::Start(start))
        .and_then(|_| file.read_exact(&mut buf))
        .map_err(io_err("read", &seg.path))?;
    Ok(buf)
}

impl Wal {
    /// Opens or creates the log in `dir`. A torn or damaged record at the
    /// very end of the last segment (a crash mid-write) is cut away and
    /// reported; damage anywhere else is `Error::Corrupt` naming file and
    /// offset.
    pub fn open(dir: &Path, opts: WalOptions) -> Result<(Wal, Recovery)> {
        fs::create_dir_all(dir).map_err(io_err("create", dir))?;
        let purged = load_purge_point(dir)?;
        let (segments, torn_tail) = recover::recover(dir, purged, opts.fsync)?;
        let active = segments.last().map(Active::open).transpose()?;
        let spare = (opts.spare_segments
            && opts.fsync
            && opts.prealloc_bytes > 0
            && opts.segment_bytes >= MIN_SPARE_BYTES)
            .then(|| Spare::new(dir));
        if spare.is_none() {
            // A spare left by a run that made them (a crash, or a close with
            // one ready): nothing else would ever remove it.
            let _ = fs::remove_file(dir.join(spare::SPARE_FILE));
        }
        let wal = Wal {
            dir: dir.to_path_buf(),
            space: Space {
                chunk: opts.prealloc_bytes,
                spare,
            },
            opts,
            segments,
            active,
            purged,
            dir_dirty: false,
            reader: None,
            failed: None,
        };
        let recovery = Recovery {
            first_index: wal.first_index(),
            last_index: wal.last_index(),
            torn_tail,
            segments: wal.segments.len(),
        };
        Ok((wal, recovery))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Everything at or below this index has been purged.
    pub fn purged(&self) -> Option<u64> {
        self.purged
    }

    pub fn first_index(&self) -> Option<u64> {
        let first = self.segments.first()?.first;
        Some(match self.purged {
            Some(p) => first.max(p.saturating_add(1)),
            None => first,
        })
    }

    pub fn last_index(&self) -> Option<u64> {
        self.segments.last()?.last()
    }

    /// Buffered append of the record for `index`, which must follow the last
    /// one, or, on an empty log, lie above the purge point. Not durable until
    /// `sync`.
    pub fn append(&mut self, index: u64, payload: &[u8]) -> Result<()> {
        self.guard(|wal| wal.append_inner(index, payload))
    }

    /// Makes every appended record durable: write, fdatasync, and fsync the
    /// directory if a segment was created since it last was.
    pub fn sync(&mut self) -> Result<()> {
        self.guard(|wal| {
            if let (Some(active), Some(seg)) = (wal.active.as_mut(), wal.segments.last()) {
                active.sync(&seg.path, wal.opts.fsync, &mut wal.space)?;
            }
            wal.sync_dir_if_dirty()
        })
    }

    /// Records `from..=to` in order. Every index must be in the log; an empty
    /// range (`from > to`) reads nothing.
    pub fn read(&mut self, from: u64, to: u64) -> Result<Vec<(u64, Vec<u8>)>> {
        self.usable()?;
        if from > to {
            return Ok(Vec::new());
        }
        let (Some(first), Some(last)) = (self.first_index(), self.last_index()) else {
            return Err(Error::Wal(format!(
                "read of [{from}, {to}]: the log is empty"
            )));
        };
        if from < first || to > last {
            return Err(Error::Wal(format!(
                "read of [{from}, {to}] reaches outside the log [{first}, {last}]"
            )));
        }
        // The reader goes through the file, so buffered records must be in it.
        self.guard(|wal| match (wal.active.as_mut(), wal.segments.last()) {
            (Some(active), Some(seg)) => active.write_out(&seg.path, &mut wal.space),
            _ => Ok(()),
        })?;

        let mut out = Vec::with_capacity((to - from + 1).min(1 << 16) as usize);
        let mut k = self.segment_of(from);
        let mut next = from;
        // Each pass reads one segment's share of the range.
        loop {
            let seg = &self.segments[k];
            let run_end = seg.last().map_or(to, |l| l.min(to));
            let start = seg.offset_of(next);
            let buf = read_span(&mut self.reader, seg, start, seg.end_of(run_end))?;
            let mut at = 0usize;
            for index in next..=run_end {
                match record::decode(&buf, at) {
                    Decoded::Record {
                        index: found,
                        payload,
                        end,
                    } if found == index => {
                        out.push((index, payload.to_vec()));
                        at = end;
                    }
                    other => {
                        return Err(Error::Corrupt {
                            path: seg.path.clone(),
                            msg: format!(
                                "offset {}: reading record {index}: {}",
                                start + at as u64,
                                other.damage()
                            ),
                        });
                    }
                }
            }
            if run_end == to {
                return Ok(out);
            }
            next = run_end + 1;
            k += 1;
        }
    }

    /// Removes record `from` and every later one, durably (Raft's conflict
    /// truncation). Records before `from` that were appended but not synced
    /// stay pending.
    pub fn truncate_from(&mut self, from: u64) -> Result<()> {
        self.guard(|wal| wal.truncate_inner(from))
    }

    /// Drops every record up to and including `upto` (compaction after a
    /// snapshot). The purge point is persisted first, then whole segments
    /// below it are deleted; a segment straddling it stays, its early records
    /// hidden.
    pub fn purge_upto(&mut self, upto: u64) -> Result<()> {
        self.guard(|wal| wal.purge_inner(upto))
    }

    /// Atomically replaces the named blob (1 to 64 characters of
    /// `[A-Za-z0-9_-]`).
    pub fn save_meta(&self, name: &str, bytes: &[u8]) -> Result<()> {
        meta::write(&self.dir, &meta_file_name(name)?, bytes, self.opts.fsync)
    }

    /// The named blob, `None` if it was never saved, `Error::Corrupt` if its
    /// checksum fails.
    pub fn load_meta(&self, name: &str) -> Result<Option<Vec<u8>>> {
        meta::read(&self.dir.join(meta_file_name(name)?))
    }

    fn usable(&self) -> Result<()> {
        match &self.failed {
            Some(why) => Err(Error::Wal(format!(
                "unusable after an earlier write failure ({why}); reopen to recover"
            ))),
            None => Ok(()),
        }
    }

    /// Runs a mutation, and after an I/O failure refuses everything else:
    /// the in-memory index may no longer match the files.
    fn guard<T>(&mut self, op: impl FnOnce(&mut Wal) -> Result<T>) -> Result<T> {
        self.usable()?;
        let result = op(self);
        if let Err(e @ Error::Io { .. }) = &result {
            self.failed = Some(e.to_string());
        }
        result
    }

    /// Position in `segments` of the segment that holds `index`, which must
    /// be in the log.
    fn segment_of(&self, index: u64) -> usize {
        self.segments
            .partition_point(|s| s.first <= index)
            .saturating_sub(1)
    }

    fn sync_dir_if_dirty(&mut self) -> Result<()> {
        if self.dir_dirty && self.opts.fsync {
            meta::sync_dir(&self.dir)?;
        }
        self.dir_dirty = false;
        Ok(())
    }

    fn append_inner(&mut self, index: u64, payload: &[u8]) -> Result<()> {
        match self.last_index() {
            Some(last) if last.checked_add(1) != Some(index) => {
                return Err(Error::Wal(format!(
                    "append of record {index} after record {last}: indexes must be consecutive"
                )));
            }
            None if self.purged.is_some_and(|p| index <= p) => {
                // An empty log starts wherever its owner says: openraft may
                // restart a log below its last purge point (its state machine
                // was ahead). The purge point moves back first, so a reopen
                // cannot hide the record behind it.
                self.move_purge_point_back(index.checked_sub(1))?;
            }
            _ => {}
        }
        let size = record::encoded_len(record::payload_len(index, payload)? as usize);
        let roll = match self.segments.last() {
            None => true,
            Some(seg) => seg.len + size > self.opts.segment_bytes || self.spare_waits(size),
        };
        if roll {
            self.seal()?;
            self.start_segment(index, size)?;
        }
        let (Some(active), Some(seg)) = (self.active.as_mut(), self.segments.last_mut()) else {
            unreachable!("a segment was just ensured");
        };
        record::encode(index, payload, &mut active.pending)?;
        seg.offsets.push(seg.len);
        seg.len += size;
        if active.pending.len() >= WRITE_BUFFER {
            active.write_out(&seg.path, &mut self.space)?;
        }
        if seg.len >= SPARE_AFTER.min(self.opts.segment_bytes / 2) {
            if let Some(spare) = &mut self.space.spare {
                spare.request(self.opts.segment_bytes);
            }
        }
        Ok(())
    }

    /// A spare is ready while the last segment is not one: moving to it
    /// now, rather than once this segment is full, makes every sync cheaper
    /// from here on at the cost of one early seal.
    fn spare_waits(&self, size: u64) -> bool {
        let not_zeroed = self.active.as_ref().is_some_and(|a| !a.zeroed);
        let ready = self.space.spare.as_ref().is_some_and(Spare::is_ready);
        not_zeroed && ready && size <= self.opts.segment_bytes
    }

    /// Renames the ready spare into place as `seg`'s file, if there is one
    /// big enough: its length, else `None`.
    fn take_spare(&mut self, seg: &Segment, size: u64) -> Option<(File, u64)> {
        let (spare, len) = self.space.spare.as_mut()?.take(size)?;
        if seg.path.exists() {
            let _ = fs::remove_file(&spare);
            return None;
        }
        let file = fs::rename(&spare, &seg.path)
            .and_then(|()| OpenOptions::new().write(true).open(&seg.path));
        match file {
            Ok(f) => Some((f, len)),
            Err(e) => {
                tracing::warn!("using the spare WAL segment: {e}");
                let _ = fs::remove_file(&spare);
                None
            }
        }
    }

    /// Makes the last segment and its directory entry durable before another
    /// is created, so that a crash can only tear the newest segment.
    fn seal(&mut self) -> Result<()> {
        if let (Some(active), Some(seg)) = (self.active.as_mut(), self.segments.last()) {
            active.seal(&seg.path, self.opts.fsync, &mut self.space)?;
        }
        self.sync_dir_if_dirty()
    }

    /// Starts the segment whose first record, of `size` bytes, is `first`.
    fn start_segment(&mut self, first: u64, size: u64) -> Result<()> {
        let seg = Segment::new(&self.dir, first);
        let (file, allocated, zeroed) = match self.take_spare(&seg, size) {
            Some((file, len)) => (file, len, true),
            None => {
                let file = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&seg.path)
                    .map_err(io_err("create", &seg.path))?;
                (file, 0, false)
            }
        };
        self.segments.push(seg);
        self.active = Some(Active {
            file,
            pending: Vec::new(),
            written: 0,
            allocated,
            unsynced: false,
            zeroed,
        });
        self.dir_dirty = true;
        Ok(())
    }

    /// Deletes `segments[keep..]`, last first, and makes that durable.
    fn remove_segments_from(&mut self, keep: usize) -> Result<()> {
        if keep >= self.segments.len() {
            return Ok(());
        }
        self.active = None;
        while self.segments.len() > keep {
            if let Some(seg) = self.segments.pop() {
                remove_file(&seg.path)?;
            }
        }
        self.dir_dirty = true;
        self.sync_dir_if_dirty()
    }

    fn truncate_inner(&mut self, from: u64) -> Result<()> {
        let (Some(first), Some(last)) = (self.first_index(), self.last_index()) else {
            return Ok(());
        };
        if from > last {
            return Ok(());
        }
        self.reader = None;
        if from <= first {
            return self.remove_segments_from(0);
        }
        let k = self.segment_of(from);
        if self.segments[k].first == from {
            // k > 0 here, since from is above the first live index.
            self.remove_segments_from(k)?;
        } else {
            self.remove_segments_from(k + 1)?;
        }
        if self.active.is_none() {
            self.active = self.segments.last().map(Active::open).transpose()?;
        }
        let (Some(active), Some(seg)) = (self.active.as_mut(), self.segments.last_mut()) else {
            unreachable!("records below `from` remain");
        };
        if !seg.holds(from) {
            return Ok(());
        }
        let cut = seg.offset_of(from);
        if cut >= active.written {
            active.pending.truncate((cut - active.written) as usize);
        } else {
            active.pending.clear();
            active
                .file
                .set_len(cut)
                .map_err(io_err("truncate", &seg.path))?;
            if self.opts.fsync {
                active.file.sync_all().map_err(io_err("fsync", &seg.path))?;
            }
            // The preallocated space went too; the next write allocates
            // again from here.
            active.written = cut;
            active.allocated = cut;
            active.zeroed = false;
        }
        seg.offsets.truncate((from - seg.first) as usize);
        seg.len = cut;
        Ok(())
    }

    fn move_purge_point_back(&mut self, to: Option<u64>) -> Result<()> {
        match to {
            Some(p) => meta::write(&self.dir, PURGE_FILE, &p.to_le_bytes(), self.opts.fsync)?,
            None => match fs::remove_file(self.dir.join(PURGE_FILE)) {
                Ok(()) => {
                    self.dir_dirty = true;
                    self.sync_dir_if_dirty()?;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(format!("remove {PURGE_FILE}"), e)),
            },
        }
        self.purged = to;
        Ok(())
    }

    fn purge_inner(&mut self, upto: u64) -> Result<()> {
        if self.purged.is_some_and(|p| upto <= p) {
            return Ok(());
        }
        meta::write(&self.dir, PURGE_FILE, &upto.to_le_bytes(), self.opts.fsync)?;
        self.purged = Some(upto);
        self.reader = None;
        let dead = self
            .segments
            .iter()
            .take_while(|s| s.last().is_some_and(|l| l <= upto))
            .count();
        if dead == 0 {
            return Ok(());
        }
        if dead == self.segments.len() {
            self.active = None;
        }
        for seg in self.segments.drain(..dead) {
            remove_file(&seg.path)?;
        }
        self.dir_dirty = true;
        self.sync_dir_if_dirty()
    }
}
