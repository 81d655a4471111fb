//! openraft's log storage over our write-ahead log.
//!
//! Entries live in memory (they are read back on every apply and every
//! replication) and on disk in the [`crate::wal::Wal`], which one thread
//! owns. That thread does group commit: it appends whatever is queued, makes
//! it durable with one sync, and only then tells openraft the entries are
//! flushed, so under load one fsync covers many writes. All log and vote IO
//! goes through the same queue, which keeps it in the order openraft issued it.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::path::Path;
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{ErrorSubject, ErrorVerb, RaftLogReader, Vote};
use tokio::sync::oneshot;

use super::{decode, encode, Entry, LogId, StorageError, TypeConfig};
use crate::wal::{Recovery, Wal, WalOptions};
use crate::{Error, Result};

const META_VOTE: &str = "vote";
const META_COMMITTED: &str = "committed";
const META_PURGED: &str = "purged";
/// How many queued appends one sync may cover; bounds the latency of the
/// first of them.
const MAX_GROUP: usize = 4096;
/// The committed mark is advisory (a stale one only lengthens replay after
/// a restart) yet saving it costs a rename and two syncs; saved after every
/// commit it tripled the syncs per group commit, so it is saved at most this
/// often.
const COMMITTED_EVERY: Duration = Duration::from_millis(500);

#[derive(Default)]
struct Cache {
    entries: BTreeMap<u64, Entry>,
    last_purged: Option<LogId>,
}

enum Io {
    Append {
        records: Vec<(u64, Vec<u8>)>,
        done: LogFlushed<TypeConfig>,
    },
    Truncate {
        from: u64,
        done: oneshot::Sender<io::Result<()>>,
    },
    Purge {
        upto: u64,
        meta: Vec<u8>,
    },
    Meta {
        name: &'static str,
        bytes: Vec<u8>,
        done: Option<oneshot::Sender<io::Result<()>>>,
    },
    /// The newest committed mark; saved later, see [`COMMITTED_EVERY`].
    Committed(Vec<u8>),
    /// Answers once everything queued before it is durable.
    Flush(oneshot::Sender<io::Result<()>>),
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
    io: std_mpsc::Sender<Io>,
    vote: Option<Vote<u64>>,
    committed: Option<LogId>,
}

#[derive(Clone)]
pub struct LogReader {
    cache: Arc<RwLock<Cache>>,
}

fn to_io(e: Error) -> io::Error {
    io::Error::other(e.to_string())
}

fn copy_err(e: &io::Error) -> io::Error {
    io::Error::new(e.kind(), e.to_string())
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
    /// Opens the log in `dir`, loading every retained entry into memory and
    /// starting the IO thread.
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
        let (tx, rx) = std_mpsc::channel();
        std::thread::Builder::new()
            .name("zk-wal".into())
            .spawn(move || io_thread(wal, rx))
            .map_err(|e| Error::io("starting the log thread", e))?;
        let opened = Opened {
            recovery,
            vote,
            committed,
            last_purged,
        };
        Ok((
            LogStore {
                cache: Arc::new(RwLock::new(cache)),
                io: tx,
                vote,
                committed,
            },
            opened,
        ))
    }

    fn send(&self, io: Io) -> io::Result<()> {
        self.io
            .send(io)
            .map_err(|_| io::Error::other("the log thread has stopped"))
    }

    async fn wait(
        &self,
        make: impl FnOnce(oneshot::Sender<io::Result<()>>) -> Io,
    ) -> io::Result<()> {
        let (tx, rx) = oneshot::channel();
        self.send(make(tx))?;
        rx.await
            .map_err(|_| io::Error::other("the log thread has stopped"))?
    }

    /// Returns once everything written so far is durable.
    pub async fn flush(&self) -> io::Result<()> {
        self.wait(Io::Flush).await
    }
}

/// Owns the WAL. Appends are grouped under one sync; anything else first
/// makes the group durable, so IO completes in the order it was queued.
fn io_thread(mut wal: Wal, rx: std_mpsc::Receiver<Io>) {
    let mut acks: Vec<LogFlushed<TypeConfig>> = Vec::new();
    let mut failed: Option<io::Error> = None;
    let sync_group =
        |wal: &mut Wal, acks: &mut Vec<LogFlushed<TypeConfig>>, failed: &mut Option<io::Error>| {
            if acks.is_empty() {
                return;
            }
            let r = match failed.as_ref() {
                Some(e) => Err(copy_err(e)),
                None => wal.sync().map_err(to_io),
            };
            if let Err(e) = &r {
                // A log that failed to sync cannot be trusted for later writes.
                *failed = Some(copy_err(e));
            }
            for a in acks.drain(..) {
                a.log_io_completed(r.as_ref().map(|_| ()).map_err(copy_err));
            }
        };
    let save_committed = |wal: &Wal, bytes: Vec<u8>| {
        if let Err(e) = wal.save_meta(META_COMMITTED, &bytes) {
            tracing::error!("saving {META_COMMITTED}: {e}");
        }
    };
    // Not yet saved; only ever saved after the appends queued before it are
    // durable, so it never names an entry the disk does not hold.
    let mut committed: Option<Vec<u8>> = None;
    let mut committed_saved = Instant::now();
    loop {
        let first = if committed.is_some() {
            match rx.recv_timeout(COMMITTED_EVERY.saturating_sub(committed_saved.elapsed())) {
                Ok(cmd) => Some(cmd),
                Err(std_mpsc::RecvTimeoutError::Timeout) => None,
                Err(std_mpsc::RecvTimeoutError::Disconnected) => break,
            }
        } else {
            match rx.recv() {
                Ok(cmd) => Some(cmd),
                Err(_) => break,
            }
        };
        let mut next = first;
        while let Some(cmd) = next.take() {
            match cmd {
                Io::Append { records, done } => {
                    if failed.is_none() {
                        for (index, bytes) in &records {
                            if let Err(e) = wal.append(*index, bytes) {
                                failed = Some(to_io(e));
                                break;
                            }
                        }
                    }
                    acks.push(done);
                    if acks.len() < MAX_GROUP {
                        next = rx.try_recv().ok();
                    }
                }
                Io::Truncate { from, done } => {
                    sync_group(&mut wal, &mut acks, &mut failed);
                    let _ = done.send(wal.truncate_from(from).map_err(to_io));
                }
                Io::Purge { upto, meta } => {
                    sync_group(&mut wal, &mut acks, &mut failed);
                    // The purge point is recorded first: a crash between the
                    // two leaves entries on disk that are skipped, never a gap.
                    let r = wal
                        .save_meta(META_PURGED, &meta)
                        .and_then(|()| wal.purge_upto(upto));
                    if let Err(e) = r {
                        tracing::error!("purging the log up to {upto}: {e}");
                    }
                }
                Io::Meta { name, bytes, done } => {
                    sync_group(&mut wal, &mut acks, &mut failed);
                    let r = wal.save_meta(name, &bytes).map_err(to_io);
                    match done {
                        Some(d) => {
                            let _ = d.send(r);
                        }
                        None => {
                            if let Err(e) = r {
                                tracing::error!("saving {name}: {e}");
                            }
                        }
                    }
                }
                Io::Committed(bytes) => {
                    committed = Some(bytes);
                    if acks.len() < MAX_GROUP {
                        next = rx.try_recv().ok();
                    }
                }
                Io::Flush(done) => {
                    sync_group(&mut wal, &mut acks, &mut failed);
                    let r = match &failed {
                        Some(e) => Err(copy_err(e)),
                        None => wal.sync().map_err(to_io),
                    };
                    let _ = done.send(r);
                }
            }
        }
        sync_group(&mut wal, &mut acks, &mut failed);
        if committed.is_some() && committed_saved.elapsed() >= COMMITTED_EVERY {
            if let Some(bytes) = committed.take() {
                save_committed(&wal, bytes);
            }
            committed_saved = Instant::now();
        }
    }
    let _ = wal.sync();
    if let Some(bytes) = committed.take() {
        save_committed(&wal, bytes);
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
        self.wait(|done| Io::Meta {
            name: META_VOTE,
            bytes,
            done: Some(done),
        })
        .await
        .map_err(|e| storage_err(ErrorSubject::Vote, ErrorVerb::Write, e))?;
        self.vote = Some(*vote);
        Ok(())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<u64>>, StorageError> {
        Ok(self.vote)
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        // Advisory (it only shortens replay after a restart), so not waited for.
        self.committed = committed;
        self.send(Io::Committed(encode(&committed)))
            .map_err(|e| storage_err(ErrorSubject::Store, ErrorVerb::Write, e))
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
        {
            let mut cache = self.cache.write().expect("log cache lock");
            for e in entries {
                records.push((e.log_id.index, encode(&e)));
                cache.entries.insert(e.log_id.index, e);
            }
        }
        self.send(Io::Append {
            records,
            done: callback,
        })
        .map_err(|e| storage_err(ErrorSubject::Logs, ErrorVerb::Write, e))
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        {
            let mut cache = self.cache.write().expect("log cache lock");
            cache.entries.split_off(&log_id.index);
        }
        let from = log_id.index;
        self.wait(|done| Io::Truncate { from, done })
            .await
            .map_err(|e| storage_err(ErrorSubject::Logs, ErrorVerb::Delete, e))
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        {
            let mut cache = self.cache.write().expect("log cache lock");
            let keep = cache.entries.split_off(&(log_id.index + 1));
            cache.entries = keep;
            cache.last_purged = Some(log_id);
        }
        self.send(Io::Purge {
            upto: log_id.index,
            meta: encode(&Some(log_id)),
        })
        .map_err(|e| storage_err(ErrorSubject::Logs, ErrorVerb::Delete, e))
    }
}
