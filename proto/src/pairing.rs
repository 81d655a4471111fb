//! Pairing replies with requests. A reply names only its xid, and its body can
//! be decoded only with the request's opcode, so both the server (to check
//! order) and the sniffer (to decode and time replies) track what is pending.

use std::collections::{HashMap, VecDeque};

use crate::opcode::{xid, OpCode};

/// What is outstanding on one connection: xid → (opcode, caller's data, e.g.
/// the time the request was seen). Bounded so a peer that never answers
/// cannot grow it without limit.
#[derive(Debug, Clone)]
pub struct XidPairer<T> {
    // A queue per xid: reserved xids (ping, auth, setWatches) repeat, and a
    // broken client may reuse an ordinary one.
    pending: HashMap<i32, VecDeque<(OpCode, T)>>,
    len: usize,
    max: usize,
    evicted: u64,
}

/// The outcome of looking a reply up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Paired<T> {
    /// The reply answers this request.
    Request(OpCode, T),
    /// xid -1: a watch notification, not a reply to anything.
    Notification,
    /// A reserved xid with no recorded request; its opcode is implied.
    Implied(OpCode),
    /// No request with this xid was seen (e.g. the capture began later).
    Unknown,
}

impl<T> Paired<T> {
    pub fn opcode(&self) -> Option<OpCode> {
        match self {
            Paired::Request(op, _) | Paired::Implied(op) => Some(*op),
            _ => None,
        }
    }
}

impl<T> Default for XidPairer<T> {
    fn default() -> Self {
        Self::new(4096)
    }
}

impl<T> XidPairer<T> {
    /// `max` bounds the outstanding requests kept; when full, new requests are
    /// not recorded and counted in [`XidPairer::evicted`].
    pub fn new(max: usize) -> Self {
        XidPairer {
            pending: HashMap::new(),
            len: 0,
            max,
            evicted: 0,
        }
    }

    /// Records a request. Returns false when the table was full.
    pub fn request(&mut self, xid: i32, op: OpCode, data: T) -> bool {
        if self.len >= self.max {
            self.evicted += 1;
            return false;
        }
        self.pending.entry(xid).or_default().push_back((op, data));
        self.len += 1;
        true
    }

    /// Looks up (and removes) the request a reply with `xid` answers.
    pub fn reply(&mut self, reply_xid: i32) -> Paired<T> {
        if reply_xid == xid::NOTIFICATION {
            return Paired::Notification;
        }
        if let Some(q) = self.pending.get_mut(&reply_xid) {
            if let Some((op, data)) = q.pop_front() {
                if q.is_empty() {
                    self.pending.remove(&reply_xid);
                }
                self.len -= 1;
                return Paired::Request(op, data);
            }
        }
        match xid::implied_opcode(reply_xid) {
            Some(op) => Paired::Implied(op),
            None => Paired::Unknown,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Requests not recorded because the table was full.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Drains what never got an answer (connection closed).
    pub fn drain(&mut self) -> impl Iterator<Item = (i32, OpCode, T)> + '_ {
        self.len = 0;
        self.pending
            .drain()
            .flat_map(|(x, q)| q.into_iter().map(move |(op, d)| (x, op, d)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_by_xid_and_recognises_reserved_xids() {
        let mut p = XidPairer::new(10);
        p.request(1, OpCode::GetData, "a");
        p.request(2, OpCode::Create, "b");
        p.request(xid::PING, OpCode::Ping, "p");
        assert_eq!(p.reply(2), Paired::Request(OpCode::Create, "b"));
        assert_eq!(p.reply(-1), Paired::Notification);
        assert_eq!(p.reply(xid::PING), Paired::Request(OpCode::Ping, "p"));
        assert_eq!(p.reply(xid::PING), Paired::Implied(OpCode::Ping));
        assert_eq!(p.reply(7), Paired::Unknown);
        assert_eq!(p.len(), 1);
        assert_eq!(p.reply(1).opcode(), Some(OpCode::GetData));
        assert!(p.is_empty());
    }

    #[test]
    fn bounded() {
        let mut p = XidPairer::new(2);
        assert!(p.request(1, OpCode::Exists, ()));
        assert!(p.request(2, OpCode::Exists, ()));
        assert!(!p.request(3, OpCode::Exists, ()));
        assert_eq!(p.evicted(), 1);
        assert_eq!(p.drain().count(), 2);
        assert!(p.is_empty());
    }
}
