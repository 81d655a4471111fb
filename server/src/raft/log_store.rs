//! openraft's log storage over our write-ahead log.
//!
//! Entries live in memory (they are read back on every apply and every
//! replication) and on disk in the [`crate::wal::Wal`], which the store owns
//! and writes inline: openraft's core waits for each append's sync before it
//! does anything else, and the core runs on a thread of its own
//! ([`super::runtime`]), so handing the sync to another thread only added two
//! wake-ups to every write. Group commit happens above, in the proposer,
//! which gathers the writes that arrive during one sync into the next entry.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{EntryPayload, ErrorSubject, ErrorVerb, RaftLogReader, Vote};
use tokio::sync::Notify;

use super::{decode, encode, Entry, LogId, StorageError, TypeConfig};
use crate::wal::{Recovery, Wal, WalOptions};
use crate::{Error, Result};

const META_VOTE: &str = "vote";
const META_COMMITTED: &str = "committed";
const META_PURGED: &str = "purged";
/// The committed mark is advisory (a stale one only lengthens replay after
/// a restart) yet saving it costs a rename and two syncs; saved after every
/// commit it tripled the syncs per write, so it is saved at most this often
/// (and when the store closes).
const COMMITTED_EVERY: Duration = Duration::from_millis(500);

#[derive(Default)]
struct Cache {
    entries: BTreeMap<u64, Entry>,
    last_purged: Option<LogId>,
}

/// How many client entries (normal payloads) this log has made durable
/// since it opened.
///
/// openraft's core is free for the next append the moment a sync completes,
/// long before the entry is applied and answered; the proposer watches this
/// count to hand over its next batch right then, so the next sync overlaps
/// the apply instead of following it.
#[derive(Debug, Default)]
pub struct Durable {
    entries: AtomicU64,
    notify: Notify,
}

impl Durable {
    pub fn count(&self) -> u64 {
        self.entries.load(Ordering::Acquire)
    }

    /// Returns once at least `n` client entries are durable.
    pub async fn reach(&self, n: u64) {
        loop {
            // Created before the check so a sync in between still wakes it.
            let notified = self.notify.notified();
            if self.count() >= n {
                return;
            }
            notified.await;
        }
    }

    fn add(&self, n: u64) {
        if n > 0 {
            self.entries.fetch_add(n, Ordering::Release);
            self.notify.notify_waiters();
        }
    }
}

/// What the store found on disk when it opened.
#[derive(Debug, Clone)]
pub struct Opened {
    pub recovery: Recovery,
    pub vote: Option<Vote<u64>>,
    pub committed: Option<LogId>,
    pub last_purged: Option<LogId>,
}

pub struct LogStore {
    cache: Arc<RwLock<Cache>>,
    wal: Wal,
    /// Set by the first failed write or sync: what is on disk is then
    /// unknown, so every later write fails too until a restart recovers.
    failed: Option<String>,
    durable: Arc<Durable>,
    vote: Option<Vote<u64>>,
    committed: Option<LogId>,
    /// The newest committed mark not yet saved, see [`COMMITTED_EVERY`].
    committed_unsaved: Option<Vec<u8>>,
    committed_saved: Instant,
    reports: Option<(Duration, Arc<dyn LogReports>)>,
}

/// What the log tells the operator about (the server makes events of it).
pub trait LogReports: Send + Sync {
    /// An append's write and sync took longer than the threshold
    /// (ZooKeeper's `fsync.warningthresholdms`): a slow disk is a classic
    /// cause of session expiry.
    fn slow_sync(&self, took: Duration);
    /// A write failed (a full disk, an I/O error); from now on every write
    /// fails until a restart. Told once.
    fn failed(&self, why: &str);
}

#[derive(Clone)]
pub struct LogReader {
    cache: Arc<RwLock<Cache>>,
}

fn to_io(e: Error) -> io::Error {
    io::Error::other(e.to_string())
}

fn storage_err(subject: ErrorSubject<u64>, verb: ErrorVerb, e: io::Error) -> StorageError {
    StorageError::from_io_error(subject, verb, e)
}

fn meta<T: for<'de> serde::Deserialize<'de>>(
    wal: &Wal,
    name: &str,
    dir: &Path,
) -> Result<Option<T>> {
    match wal.load_meta(name)? {
        None => Ok(None),
        Some(b) => decode(&b).map(Some).map_err(|e| Error::Corrupt {
            path: dir.join(name),
            msg: e.to_string(),
        }),
    }
}

impl LogStore {
    /// Opens the log in `dir`, loading every retained entry into memory.
    pub fn open(dir: &Path, opts: WalOptions) -> Result<(LogStore, Opened)> {
        let (mut wal, recovery) = Wal::open(dir, opts)?;
        let vote: Option<Vote<u64>> = meta(&wal, META_VOTE, dir)?;
        let committed: Option<LogId> = meta(&wal, META_COMMITTED, dir)?;
        let last_purged: Option<LogId> = meta(&wal, META_PURGED, dir)?;
        let mut cache = Cache {
            entries: BTreeMap::new(),
            last_purged,
        };
        if let (Some(first), Some(last)) = (wal.first_index(), wal.last_index()) {
            for (index, bytes) in wal.read(first, last)? {
                let e: Entry = decode(&bytes).map_err(|e| Error::Corrupt {
                    path: dir.to_path_buf(),
                    msg: format!("log entry {index}: {e}"),
                })?;
                cache.entries.insert(index, e);
            }
        }
        // A torn tail can take entries the saved committed mark covers;
        // Raft would then try to apply entries that no longer exist and
        // refuse to start. Only what is still here (or was purged into a
        // snapshot) can count as committed.
        let present = cache
            .entries
            .last_key_value()
            .map(|(_, e)| e.log_id)
            .or(last_purged);
        let committed = match (committed, present) {
            (Some(c), Some(p)) if c.index > p.index => Some(p),
            (Some(_), None) => None,
            (c, _) => c,
        };
        let opened = Opened {
            recovery,
            vote,
            committed,
            last_purged,
        };
        Ok((
            LogStore {
                cache: Arc::new(RwLock::new(cache)),
                wal,
                failed: None,
                durable: Arc::new(Durable::default()),
                vote,
                committed,
                committed_unsaved: None,
                committed_saved: Instant::now(),
                reports: None,
            },
            opened,
        ))
    }

    /// Reports slow syncs (over `slow_sync`) and the first failed write.
    pub fn report_to(&mut self, slow_sync: Duration, reports: Arc<dyn LogReports>) {
        self.reports = Some((slow_sync, reports));
    }

    /// The count of durable client entries, for the proposer.
    pub fn durable(&self) -> Arc<Durable> {
        self.durable.clone()
    }

    fn usable(&self) -> io::Result<()> {
        match &self.failed {
            Some(why) => Err(io::Error::other(format!(
                "the log failed earlier ({why}); restart to recover"
            ))),
            None => Ok(()),
        }
    }

    /// Runs one change to the log; a failure makes the log refuse every
    /// later change, since the disk may hold part of this one.
    fn change<T>(&mut self, f: impl FnOnce(&mut Wal) -> Result<T>) -> io::Result<T> {
        self.usable()?;
        f(&mut self.wal).map_err(|e| {
            let why = e.to_string();
            if let Some((_, r)) = &self.reports {
                r.failed(&why);
            }
            self.failed = Some(why);
            to_io(e)
        })
    }

    fn save_committed_now(&mut self) {
        if let Some(bytes) = self.committed_unsaved.take() {
            if let Err(e) = self.wal.save_meta(META_COMMITTED, &bytes) {
                tracing::error!("saving {META_COMMITTED}: {e}");
            }
            self.committed_saved = Instant::now();
        }
    }
}

impl Drop for LogStore {
    /// Raft drops its store when it shuts down: the last committed mark is
    /// saved so the next start replays less.
    fn drop(&mut self) {
        if self.failed.is_none() {
            self.save_committed_now();
        }
    }
}

fn range_of(cache: &Cache, range: impl RangeBounds<u64>) -> Vec<Entry> {
    let start = match range.start_bound() {
        Bound::Included(s) => Bound::Included(*s),
        Bound::Excluded(s) => Bound::Excluded(*s),
        Bound::Unbounded => Bound::Unbounded,
    };
    let end = match range.end_bound() {
        Bound::Included(s) => Bound::Included(*s),
        Bound::Excluded(s) => Bound::Excluded(*s),
        Bound::Unbounded => Bound::Unbounded,
    };
    cache
        .entries
        .range((start, end))
        .map(|(_, e)| e.clone())
        .collect()
}

impl RaftLogReader<TypeConfig> for LogReader {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        let cache = self.cache.read().expect("log cache lock");
        Ok(range_of(&cache, range))
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        self.get_log_reader().await.try_get_log_entries(range).await
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogReader;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let cache = self.cache.read().expect("log cache lock");
        let last = cache
            .entries
            .last_key_value()
            .map(|(_, e)| e.log_id)
            .or(cache.last_purged);
        Ok(LogState {
            last_purged_log_id: cache.last_purged,
            last_log_id: last,
        })
    }

    async fn get_log_reader(&mut self) -> LogReader {
        LogReader {
            cache: self.cache.clone(),
        }
    }

    async fn save_vote(&mut self, vote: &Vote<u64>) -> Result<(), StorageError> {
        let bytes = encode(vote);
        self.change(|wal| wal.save_meta(META_VOTE, &bytes))
            .map_err(|e| storage_err(ErrorSubject::Vote, ErrorVerb::Write, e))?;
        self.vote = Some(*vote);
        Ok(())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<u64>>, StorageError> {
        Ok(self.vote)
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        // Advisory (it only shortens replay after a restart): saved now and
        // then, never at the cost of a sync per write.
        self.committed = committed;
        self.committed_unsaved = Some(encode(&committed));
        if self.failed.is_none() && self.committed_saved.elapsed() >= COMMITTED_EVERY {
            self.save_committed_now();
        }
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        Ok(self.committed)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let mut records = Vec::new();
        let mut normal = 0;
        {
            let mut cache = self.cache.write().expect("log cache lock");
            for e in entries {
                normal += u64::from(matches!(e.payload, EntryPayload::Normal(_)));
                records.push((e.log_id.index, encode(&e)));
                cache.entries.insert(e.log_id.index, e);
            }
        }
        let started = Instant::now();
        let written = self.change(|wal| {
            for (index, bytes) in &records {
                wal.append(*index, bytes)?;
            }
            wal.sync()
        });
        if let Some((threshold, r)) = &self.reports {
            let took = started.elapsed();
            if took > *threshold {
                r.slow_sync(took);
            }
        }
        match written {
            Ok(()) => {
                self.durable.add(normal);
                callback.log_io_completed(Ok(()));
                Ok(())
            }
            Err(e) => {
                let err = storage_err(
                    ErrorSubject::Logs,
                    ErrorVerb::Write,
                    io::Error::new(e.kind(), e.to_string()),
                );
                callback.log_io_completed(Err(e));
                Err(err)
            }
        }
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        {
            let mut cache = self.cache.write().expect("log cache lock");
            cache.entries.split_off(&log_id.index);
        }
        let from = log_id.index;
        self.change(|wal| wal.truncate_from(from))
            .map_err(|e| storage_err(ErrorSubject::Logs, ErrorVerb::Delete, e))
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        {
            let mut cache = self.cache.write().expect("log cache lock");
            let keep = cache.entries.split_off(&(log_id.index + 1));
            cache.entries = keep;
            cache.last_purged = Some(log_id);
        }
        // The purge point is recorded first: a crash between the two leaves
        // entries on disk that are skipped, never a gap.
        let meta = encode(&Some(log_id));
        self.change(|wal| {
            wal.save_meta(META_PURGED, &meta)?;
            wal.purge_upto(log_id.index)
        })
        .map_err(|e| storage_err(ErrorSubject::Logs, ErrorVerb::Delete, e))
    }
}
