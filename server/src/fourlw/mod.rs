//! The text of ZooKeeper's four-letter words, as ZooKeeper 3.8 writes it.
//!
//! Operators' scripts and tools parse these answers (`zkServer.sh status`
//! greps `Mode:` from `srvr`, kazoo's `server_version()` reads `envi`,
//! exporters split `mntr` on tabs), so the layout follows ZooKeeper's byte
//! for byte: the tests compare against answers captured from a real 3.8.0
//! server (server/tests/fixtures/fourlw/).
//!
//! Everything here is a pure function of a [`ServerView`] the server fills
//! in; resets (`srst`, `crst`) only produce ZooKeeper's acknowledgement, the
//! server does the resetting. The connection handling is the server's too:
//! ZooKeeper writes the answer and closes. Four bytes that are not a known
//! word are never answered: ZooKeeper reads them as a request length far
//! above `jute.maxbuffer` and closes the connection without a byte.

mod config;
mod dump;
mod java;
mod monitor;
mod stats;
mod view;

pub use config::ENVI_KEYS;
pub use view::{
    BufferSizes, ConfView, ConnView, ExpiryBucket, Latency, Mode, QuorumConf, ServerView,
    SessionConnView, SessionsView,
};
use zkproto::{FourLetterWord, OpCode};

/// ZooKeeper's answer to most words while it has no serving state machine.
pub const NOT_SERVING: &str = "This ZooKeeper instance is not currently serving requests\n";

/// ZooKeeper's answer to a known word that the whitelist does not enable.
pub fn not_whitelisted(word: FourLetterWord) -> String {
    format!("{word} is not executed because it is not in the whitelist.\n")
}

/// A version line in ZooKeeper's `3.8.0-<commit>, built on <date>` shape,
/// which `srvr`, `envi` and `mntr` print. Clients parse the leading digits
/// (`zk_version` like `3.8.0`), so those must be a ZooKeeper version.
pub fn full_version(zk_version: &str, build: &str, built_on: &str) -> String {
    format!("{zk_version}-{build}, built on {built_on}")
}

/// What the server sends for `word`: the whitelist answer, the word's text,
/// or None when ZooKeeper's answer is to close without a byte. The
/// whitelist is zoo.cfg's `4lw.commands.whitelist` (its default enables
/// `srvr` only, and `srvr` always).
pub fn respond(
    word: FourLetterWord,
    whitelist: &crate::config::FourLetterWhitelist,
    view: &ServerView,
) -> Option<String> {
    if whitelist.allows(word) {
        answer(word, view)
    } else {
        Some(not_whitelisted(word))
    }
}

/// The text of an enabled word. None for the words this server does not
/// implement (`gtmk`, `stmk`, `hash`): the connection is closed unanswered.
pub fn answer(word: FourLetterWord, view: &ServerView) -> Option<String> {
    use FourLetterWord as W;
    let text = match word {
        // Both answer even without a serving state machine.
        W::Ruok => "imok".to_owned(),
        W::Envi => config::environment(view),
        W::Isro if !view.serving => "null".to_owned(),
        W::Isro if view.mode == Mode::ReadOnly => "ro".to_owned(),
        W::Isro => "rw".to_owned(),
        W::Gtmk | W::Stmk | W::Hash => return None,
        _ if !view.serving => NOT_SERVING.to_owned(),
        W::Srvr => stats::server_stats(view, false),
        W::Stat => stats::server_stats(view, true),
        W::Cons => stats::connections(view),
        W::Srst => stats::SERVER_STATS_RESET.to_owned(),
        W::Crst => stats::CONNECTION_STATS_RESET.to_owned(),
        W::Conf => config::conf(view),
        W::Dirs => config::dirs(view),
        W::Mntr => monitor::monitor(view),
        W::Dump => dump::dump(view),
        W::Wchs => dump::watch_summary(view),
        W::Wchc => dump::watches_by_session(view),
        W::Wchp => dump::watches_by_path(view),
    };
    Some(text)
}

/// ZooKeeper's name for a connection's last operation in `cons` (`lop=`).
/// Operations ZooKeeper does not track there (auth, sasl) give "NA".
pub fn last_op_name(op: OpCode) -> &'static str {
    use OpCode as O;
    match op {
        O::Ping => "PING",
        O::CreateSession => "SESS",
        O::Multi => "MULT",
        O::MultiRead => "MLTR",
        O::Create | O::Create2 | O::CreateTtl | O::CreateContainer => "CREA",
        O::Delete | O::DeleteContainer => "DELE",
        O::SetData => "SETD",
        O::Reconfig => "RECO",
        O::SetAcl => "SETA",
        O::CloseSession => "CLOS",
        O::Sync => "SYNC",
        O::Check => "CHEC",
        O::Exists => "EXIS",
        O::GetData => "GETD",
        O::SetWatches => "SETW",
        O::SetWatches2 => "STW2",
        O::AddWatch => "ADDW",
        O::GetAcl => "GETA",
        O::GetChildren | O::GetChildren2 => "GETC",
        O::GetAllChildrenNumber => "GETACN",
        O::CheckWatches => "CHKW",
        O::RemoveWatches => "REMW",
        O::WhoAmI => "HOMI",
        O::GetEphemerals => "GETE",
        O::Auth | O::Sasl => "NA",
    }
}
