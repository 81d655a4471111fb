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
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl RaftRuntime {
    pub fn start() -> Result<RaftRuntime> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::io("building the raft runtime", e))?;
        let handle = rt.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("zk-raft".into())
            .spawn(move || {
                // Runs every task spawned on `handle` until told to stop
                // (or until the owner is gone).
                rt.block_on(async {
                    let _ = stopped.await;
                });
            })
            .map_err(|e| Error::io("starting the raft thread", e))?;
        Ok(RaftRuntime {
            handle,
            stop: Some(stop),
            thread: Some(thread),
        })
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
