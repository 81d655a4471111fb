//! The thread consensus runs on.
//!
//! Every write crosses openraft's core, the proposer and the state machine
//! worker several times between two log syncs. On the runtime that
//! also serves client connections those wake-ups queue behind whatever
//! connection tasks are ready, and that queueing, not work, was most of a
//! write's latency under load. Here they have a thread of their own: a
//! single-threaded runtime whose only tasks are Raft's and the proposer's.

use std::future::Future;
use std::thread::JoinHandle;

use tokio::runtime::Handle;
use tokio::sync::oneshot;

use crate::{Error, Result};

pub struct RaftRuntime {
    handle: Handle,
    /// The nice value asked for and whether the thread got it.
    priority: (i32, std::result::Result<(), String>),
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl RaftRuntime {
    /// Starts the thread at nice value `nice` if it may (see
    /// [`crate::priority`]); [`RaftRuntime::priority`] says how that went.
    pub fn start(nice: i32) -> Result<RaftRuntime> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            // Blocking-pool threads are started from the raft thread and
            // would inherit its priority, which is for it alone.
            .thread_name("zk-raft-blocking")
            .on_thread_start(crate::priority::reset_current_thread)
            .build()
            .map_err(|e| Error::io("building the raft runtime", e))?;
        let handle = rt.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let (set_tx, set_rx) = std::sync::mpsc::sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("zk-raft".into())
            .spawn(move || {
                let set = crate::priority::set_current_thread_nice(nice).map_err(|e| e.to_string());
                let _ = set_tx.send(set);
                // Runs every task spawned on `handle` until told to stop
                // (or until the owner is gone).
                rt.block_on(async {
                    let _ = stopped.await;
                });
            })
            .map_err(|e| Error::io("starting the raft thread", e))?;
        let set = set_rx
            .recv()
            .unwrap_or_else(|_| Err("the raft thread ended at once".into()));
        Ok(RaftRuntime {
            handle,
            priority: (nice, set),
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The nice value asked for, and why the thread does not have it if
    /// it does not.
    pub fn priority(&self) -> (i32, Option<&str>) {
        (
            self.priority.0,
            self.priority.1.as_ref().err().map(String::as_str),
        )
    }

    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Runs `fut` on the raft thread and waits for it: anything it spawns
    /// (openraft's core and workers) lives there too.
    pub async fn run<F>(&self, fut: F) -> Result<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle
            .spawn(fut)
            .await
            .map_err(|e| Error::Raft(format!("raft thread task: {e}")))
    }

    /// Ends the thread; tasks still on it are dropped. Call after Raft has
    /// shut down.
    pub fn stop(mut self) {
        self.stop_inner(true);
    }

    fn stop_inner(&mut self, join: bool) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            if join {
                let _ = t.join();
            }
        }
    }
}

impl Drop for RaftRuntime {
    fn drop(&mut self) {
        // Dropped from async code (a server dropped without shutdown):
        // joining here could block a runtime worker, so only signal.
        self.stop_inner(false);
    }
}
