//! Group commit above Raft: one task hands writes to openraft, gathering
//! those that arrive while earlier ones are being synced into one entry.
//!
//! openraft 0.9 appends every proposal separately and waits for its sync
//! before it looks at the next one, so proposing each write on its own caps
//! a member at one write per fsync however many clients wait. Here at most
//! [`IN_FLIGHT`] batches are with Raft and not yet durable; everything
//! proposed meanwhile queues and goes out as the next entry. A batch stops
//! counting once the log has synced it ([`Durable`]), not once it is
//! applied: the core is free for the next append from that moment, so the
//! next sync overlaps the apply and the replies. Writes keep the order they
//! were proposed in: one task sends, and Raft keeps its input order.

use std::sync::Arc;

use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;

use super::log_store::Durable;
use super::{Batch, Raft, Txn};
use crate::tree::{MultiOp, Op};

/// Batches with Raft and not yet durable at once. The core appends one at a
/// time anyway; measured with 32 clients, two did no better and four worse
/// (smaller entries, more syncs).
const IN_FLIGHT: usize = 1;
/// Writes per entry at most.
const MAX_TXNS: usize = 1000;
/// Payload bytes per entry at most (the first write always fits).
const MAX_BYTES: usize = 4 << 20;

/// Called with the reason when a write could not be proposed or Raft gave
/// up on it (no leader, shutting down); a write that applies is answered
/// through the apply path instead.
pub type OnFail = Box<dyn FnOnce(String) + Send>;

struct Proposal {
    txn: Txn,
    on_fail: Option<OnFail>,
}

/// Queues writes for the proposer task; clone it freely.
#[derive(Clone)]
pub struct Proposer {
    tx: mpsc::UnboundedSender<Proposal>,
}

impl Proposer {
    /// Starts the task on `rt` (Raft's runtime, next to the core it feeds);
    /// it ends when every [`Proposer`] is dropped.
    pub fn start(
        raft: Raft,
        durable: Arc<Durable>,
        rt: &tokio::runtime::Handle,
    ) -> (Proposer, JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Proposer { tx }, rt.spawn(run(raft, durable, rx)))
    }

    /// Queues `txn`; never waits.
    pub fn propose(&self, txn: Txn, on_fail: Option<OnFail>) {
        if let Err(mpsc::error::SendError(p)) = self.tx.send(Proposal { txn, on_fail }) {
            if let Some(f) = p.on_fail {
                f("the proposer has stopped".into());
            }
        }
    }
}

/// What a write adds to an entry, roughly: its node data dominates.
fn weight(op: &Op) -> usize {
    let data = |d: &Vec<u8>| d.len() + 64;
    match op {
        Op::Create(c) => data(&c.data),
        Op::SetData(s) => data(&s.data),
        Op::Multi(ops) => ops
            .iter()
            .map(|o| match o {
                MultiOp::Create(c) => data(&c.data),
                MultiOp::SetData(s) => data(&s.data),
                _ => 64,
            })
            .sum(),
        _ => 64,
    }
}

fn fail_all(fails: Vec<OnFail>, reason: &str) {
    for f in fails {
        f(reason.to_string());
    }
}

async fn run(raft: Raft, durable: Arc<Durable>, mut rx: mpsc::UnboundedReceiver<Proposal>) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut held: Option<Proposal> = None;
    loop {
        // Wait for a slot first: writes arriving meanwhile join this batch.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let first = match held.take() {
            Some(p) => p,
            None => match rx.recv().await {
                Some(p) => p,
                None => return,
            },
        };
        let mut bytes = weight(&first.txn.op);
        let mut txns = vec![first.txn];
        let mut fails: Vec<OnFail> = first.on_fail.into_iter().collect();
        while txns.len() < MAX_TXNS {
            let Ok(p) = rx.try_recv() else { break };
            let w = weight(&p.txn.op);
            if bytes + w > MAX_BYTES {
                held = Some(p);
                break;
            }
            bytes += w;
            txns.push(p.txn);
            fails.extend(p.on_fail);
        }
        // Every batch before this one is durable or failed (that is what
        // freed the slot), so this one is the next client entry to sync.
        let synced = durable.count() + 1;
        match raft.client_write_ff(Batch::new(txns)).await {
            Err(e) => {
                drop(slot);
                fail_all(fails, &e.to_string());
            }
            Ok(answer) => {
                let durable = durable.clone();
                tokio::spawn(async move {
                    let mut slot = Some(slot);
                    let reached = durable.reach(synced);
                    tokio::pin!(answer, reached);
                    let answered = loop {
                        tokio::select! {
                            a = &mut answer => break a,
                            () = &mut reached, if slot.is_some() => {
                                slot = None;
                            }
                        }
                    };
                    drop(slot);
                    let reason = match answered {
                        Err(_) => Some("raft dropped the request".to_string()),
                        Ok(Err(e)) => Some(e.to_string()),
                        Ok(Ok(_)) => None,
                    };
                    if let Some(r) = reason {
                        fail_all(fails, &r);
                    }
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use zkproto::{perms, Acl, CreateMode, CreateRequest, Request, Response};
    use zksmoketest::client::{Client, ConnectOptions};

    use crate::config::Config;
    use crate::Server;

    const WRITES: usize = 200;

    async fn start(dir: &std::path::Path) -> Server {
        let mut cfg = Config::standalone_default().expect("default config");
        cfg.data_dir = dir.to_path_buf();
        cfg.client_port = 0;
        Server::builder(cfg).start().await.expect("server starts")
    }

    async fn children(c: &mut Client, path: &str) -> Vec<String> {
        let r = c
            .get_children(path)
            .await
            .expect("getChildren")
            .into_ok()
            .expect("ok");
        match r.body().expect("decodes") {
            Response::GetChildren(g) => g.children.iter().map(|s| s.to_string()).collect(),
            other => panic!("unexpected reply {other:?}"),
        }
    }

    /// Writes pipelined on one session share log entries, keep their order
    /// (rising zxids in reply order), and replay from the log after a
    /// restart.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pipelined_writes_share_entries_in_order_and_replay() {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = start(dir.path()).await;
        let addr = server.client_addr().to_string();
        let opts = ConnectOptions {
            op_timeout: Duration::from_secs(20),
            ..ConnectOptions::default()
        };
        let mut c = Client::connect(&addr, &opts).await.expect("connect");
        c.create("/p", None, CreateMode::Persistent)
            .await
            .expect("create")
            .into_ok()
            .expect("ok");
        let before = server.raft().metrics().borrow().last_log_index.unwrap_or(0);

        let h = c.handle();
        let paths: Vec<String> = (0..WRITES).map(|i| format!("/p/n{i:03}")).collect();
        let mut pending = Vec::with_capacity(WRITES);
        for p in &paths {
            let req = Request::Create(CreateRequest {
                path: p,
                data: Some(b"x"),
                acl: vec![Acl::world_anyone(perms::ALL)],
                flags: CreateMode::Persistent.flags(),
            });
            pending.push(h.send(&req).await.expect("send"));
        }
        let mut last_zxid = 0;
        for p in pending {
            let r = p
                .within(Duration::from_secs(20))
                .await
                .expect("reply")
                .into_ok()
                .expect("ok");
            assert!(r.header.zxid > last_zxid, "zxids rise in reply order");
            last_zxid = r.header.zxid;
        }
        let after = server.raft().metrics().borrow().last_log_index.unwrap_or(0);
        let entries = after.saturating_sub(before) as usize;
        assert!(
            entries * 2 <= WRITES,
            "{WRITES} pipelined writes took {entries} log entries: not batched"
        );
        assert_eq!(children(&mut c, "/p").await.len(), WRITES);
        let _ = c.close().await;
        server.shutdown().await.expect("shutdown");

        let server = start(dir.path()).await;
        let mut c = Client::connect(&server.client_addr().to_string(), &opts)
            .await
            .expect("reconnect");
        let mut got = children(&mut c, "/p").await;
        got.sort();
        let want: Vec<String> = (0..WRITES).map(|i| format!("n{i:03}")).collect();
        assert_eq!(got, want, "every batched write replays");
        let _ = c.close().await;
        server.shutdown().await.expect("shutdown");
    }
}
