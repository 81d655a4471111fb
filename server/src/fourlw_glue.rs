//! Connects the four-letter-word texts to a running member.

use std::sync::Arc;
use std::time::Instant;

use zkproto::FourLetterWord;

use crate::config::Config;
use crate::conn::FourLetterFn;
use crate::db::Db;
use crate::raft::Raft;

pub fn handler(db: Arc<Db>, raft: Raft, cfg: Arc<Config>, started: Instant) -> Box<FourLetterFn> {
    let _ = (&raft, started);
    Box::new(move |word: FourLetterWord| {
        if !cfg.four_lw_whitelist.allows(word) {
            return Some(format!(
                "{} is not executed because it is not in the whitelist.\n",
                word.as_str()
            ));
        }
        let st = db.lock();
        Some(match word {
            FourLetterWord::Ruok => "imok".to_string(),
            _ => format!(
                "Zookeeper version: 3.9.2-zkops-{}, built on 01/01/2026 00:00 GMT\nLatency min/avg/max: 0/0.0/0\nReceived: 0\nSent: 0\nConnections: {}\nOutstanding: 0\nZxid: {:#x}\nMode: standalone\nNode count: {}\n",
                env!("CARGO_PKG_VERSION"),
                st.conns.len(),
                st.applied_zxid(),
                st.rep.tree.node_count()
            ),
        })
    })
}
