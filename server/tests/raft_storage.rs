//! openraft's own conformance suite for log storage and state machines, run
//! against zkserver's WAL-backed log store and ZooKeeper state machine on
//! real files.

use std::path::Path;

use openraft::testing::{StoreBuilder, Suite};
use zkserver::db::Db;
use zkserver::events::{EventLog, EventLogOptions};
use zkserver::raft::log_store::LogStore;
use zkserver::raft::state_machine::StateMachine;
use zkserver::raft::{StorageError, TypeConfig};
use zkserver::wal::WalOptions;

struct Builder;

/// Keeps the temp dir and the event log alive for one suite case.
struct Keep(
    #[allow(dead_code)] tempfile::TempDir,
    #[allow(dead_code)] zkserver::events::EventLogGuard,
);

fn build(dir: &Path) -> (LogStore, StateMachine, zkserver::events::EventLogGuard) {
    let (events, guard) = EventLog::open(EventLogOptions::new(dir.join("events"), "1")).unwrap();
    let db = Db::new(1, events, None);
    let (log, _) = LogStore::open(
        &dir.join("raft"),
        WalOptions {
            fsync: false,
            ..WalOptions::default()
        },
    )
    .unwrap();
    let (sm, _) = StateMachine::open(db, &dir.join("snapshots"), 2).unwrap();
    (log, sm, guard)
}

impl StoreBuilder<TypeConfig, LogStore, StateMachine, Keep> for Builder {
    async fn build(&self) -> Result<(Keep, LogStore, StateMachine), StorageError> {
        let dir = tempfile::tempdir().unwrap();
        let (log, sm, guard) = build(dir.path());
        Ok((Keep(dir, guard), log, sm))
    }
}

#[test]
fn openraft_storage_suite() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("openraft::testing=info")
        .with_test_writer()
        .try_init();
    Suite::test_all(Builder).unwrap();
}
