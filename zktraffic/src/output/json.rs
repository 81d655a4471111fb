//! `--json`: one object per line in the zkops event schema
//! (`zkproto::event`, docs/events.md), so zklogview can merge captures with
//! server logs. Only notifications carry an agreed `zxid` (the txn that fired
//! them); everything else is stamped `applied_zxid` with the last zxid the
//! server reported on any connection, since a sniffer sees no consensus.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::UNIX_EPOCH;

use serde_json::json;
use zkproto::event::{rfc3339_micros, Event as Line, Level, SessionId, Stamp, Zxid};

use crate::model::*;
use crate::quorum::QuorumProtocol;

pub struct Json {
    node: String,
    seq: u64,
    last_zxid: HashMap<SocketAddr, i64>,
}

impl Json {
    pub fn new(node: impl Into<String>) -> Json {
        Json {
            node: node.into(),
            seq: 0,
            last_zxid: HashMap::new(),
        }
    }

    fn applied(&self, server: SocketAddr) -> Stamp {
        Stamp::AppliedZxid(Zxid(self.last_zxid.get(&server).copied().unwrap_or(0)))
    }

    pub fn line(&mut self, e: &Event) -> String {
        self.event(e).to_line()
    }

    pub fn event(&mut self, e: &Event) -> Line {
        let conn = e.conn();
        // zkserver's peer RPCs get a kind each (`traffic.peer.append`, ...).
        let peer_kind;
        let (kind, level) = match e {
            Event::Exchange(_) => ("traffic.request", Level::Info),
            Event::Connect(_) => ("traffic.connect", Level::Info),
            Event::Connected(_) => ("traffic.connected", Level::Info),
            Event::Notification(_) => ("traffic.notification", Level::Info),
            Event::FourLetter(_) => ("traffic.4lw", Level::Info),
            Event::Closed(_) => ("traffic.close", Level::Info),
            Event::Anomaly(_) => ("traffic.anomaly", Level::Warn),
            Event::Quorum(q) => match q.message.protocol {
                QuorumProtocol::Zab => ("traffic.zab", Level::Debug),
                QuorumProtocol::Election => ("traffic.election", Level::Debug),
                QuorumProtocol::ZkPeer => {
                    peer_kind = format!("traffic.peer.{}", q.message.kind);
                    (peer_kind.as_str(), Level::Debug)
                }
            },
        };
        if let Event::Exchange(Exchange { zxid: Some(z), .. }) = e {
            if *z > 0 {
                let slot = self.last_zxid.entry(conn.server).or_insert(0);
                *slot = (*slot).max(*z);
            }
        }
        let stamp = match e {
            Event::Notification(n) if n.zxid >= 0 => Stamp::Zxid(Zxid(n.zxid)),
            Event::Quorum(q) => match q.message.zxid {
                Some(z) => Stamp::AppliedZxid(Zxid(z)),
                None => self.applied(conn.server),
            },
            _ => self.applied(conn.server),
        };
        let mut line = Line::new(self.node.clone(), self.seq, kind, level, stamp);
        self.seq += 1;
        line.ts = rfc3339_micros(UNIX_EPOCH + e.ts());
        line.client = Some(conn.client.to_string());
        let mut detail = serde_json::Map::new();
        detail.insert("server".into(), json!(conn.server.to_string()));
        match e {
            Event::Exchange(x) => {
                line.session = x.session.map(SessionId);
                line.xid = Some(x.xid);
                line.op = Some(x.op_name());
                line.path = x.path.clone();
                line.result = x.err.map(|e| e.to_string());
                line.latency_us = x.latency().map(|l| l.as_micros() as u64);
                if !x.detail.is_empty() {
                    line.msg = Some(x.detail.clone());
                }
                detail.insert("request_bytes".into(), json!(x.request_bytes));
                detail.insert("reply_bytes".into(), json!(x.reply_bytes));
                if let Some(z) = x.zxid {
                    detail.insert("reply_zxid".into(), json!(format!("{z:#x}")));
                }
                detail.insert("answered".into(), json!(x.reply_ts.is_some()));
                detail.insert("request_seen".into(), json!(x.request_ts.is_some()));
            }
            Event::Connect(c) => {
                line.session = (c.session != 0).then_some(SessionId(c.session));
                detail.insert("timeout_ms".into(), json!(c.timeout_ms));
                detail.insert(
                    "last_zxid_seen".into(),
                    json!(format!("{:#x}", c.last_zxid_seen)),
                );
                detail.insert("read_only".into(), json!(c.read_only));
            }
            Event::Connected(c) => {
                line.session = Some(SessionId(c.session));
                line.latency_us = c.latency.map(|l| l.as_micros() as u64);
                line.result = Some(
                    if c.timeout_ms == 0 {
                        "SessionExpired"
                    } else {
                        "Ok"
                    }
                    .into(),
                );
                detail.insert("timeout_ms".into(), json!(c.timeout_ms));
                detail.insert("read_only".into(), json!(c.read_only));
                if let Some(p) = c.previous_session {
                    detail.insert("previous_session".into(), json!(format!("{p:#x}")));
                }
            }
            Event::Notification(n) => {
                line.session = n.session.map(SessionId);
                line.path = Some(n.path.clone());
                detail.insert("event_type".into(), json!(n.event_type.to_string()));
                detail.insert("state".into(), json!(n.state.to_string()));
            }
            Event::FourLetter(f) => {
                line.op = Some(f.word.to_string());
                detail.insert("answer".into(), json!(f.answer));
            }
            Event::Closed(c) => {
                line.session = c.session.map(SessionId);
                line.msg = Some(format!("{:?}", c.reason).to_lowercase());
                detail.insert("unanswered".into(), json!(c.unanswered));
            }
            Event::Anomaly(a) => line.msg = Some(a.what.clone()),
            Event::Quorum(q) => {
                line.op = Some(q.message.kind.clone());
                line.msg = Some(q.message.summary.clone());
                detail.insert(
                    "from".into(),
                    json!(if q.from_client_side {
                        conn.client
                    } else {
                        conn.server
                    }
                    .to_string()),
                );
                detail.insert("fields".into(), q.message.fields.clone());
            }
        }
        line.detail = Some(serde_json::Value::Object(detail));
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use zkproto::{ErrorCode, EventType, KeeperState, OpCode};

    fn conn() -> ConnId {
        ConnId {
            client: "127.0.0.1:50000".parse().unwrap(),
            server: "127.0.0.1:2181".parse().unwrap(),
        }
    }

    #[test]
    fn lines_follow_the_event_schema() {
        let mut j = Json::new("zktraffic");
        let x = Event::Exchange(Exchange {
            conn: conn(),
            session: Some(0x10),
            xid: 3,
            op: Some(OpCode::SetData),
            opcode: 5,
            path: Some("/a".into()),
            request_ts: Some(Duration::from_secs(10)),
            reply_ts: Some(Duration::from_micros(10_000_250)),
            err: Some(ErrorCode::OK),
            zxid: Some(0x100000004),
            request_bytes: 30,
            reply_bytes: 84,
            detail: String::new(),
        });
        let line = j.line(&x);
        let back = zkproto::event::Event::from_line(&line, 1).unwrap();
        assert_eq!(back.kind, "traffic.request");
        assert_eq!(back.seq, 0);
        assert_eq!(back.latency_us, Some(250));
        assert_eq!(back.result.as_deref(), Some("Ok"));
        assert_eq!(back.stamp, Stamp::AppliedZxid(Zxid(0x100000004)));
        assert_eq!(back.ts, "1970-01-01T00:00:10.000250Z");

        let n = Event::Notification(NotificationSeen {
            conn: conn(),
            ts: Duration::from_secs(11),
            session: Some(0x10),
            zxid: 0x100000005,
            event_type: EventType::NODE_DATA_CHANGED,
            state: KeeperState::SYNC_CONNECTED,
            path: "/a".into(),
        });
        let back = zkproto::event::Event::from_line(&j.line(&n), 2).unwrap();
        assert_eq!(back.stamp, Stamp::Zxid(Zxid(0x100000005)));
        assert_eq!(back.seq, 1);
    }
}
