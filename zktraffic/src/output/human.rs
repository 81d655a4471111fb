//! One line per event, tcpdump style:
//! `12:00:01.123456 127.0.0.1:50312 0x1000abc  getData /foo watch → 5B v=1  Ok 0.41ms`

use std::fmt::Write;
use std::time::Duration;

use crate::model::*;

const RESET: &str = "\x1b[0m";
const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const BLUE: &str = "\x1b[34m";
const MAGENTA: &str = "\x1b[35m";
const DIM: &str = "\x1b[2m";

/// Latencies above this are highlighted.
const SLOW: Duration = Duration::from_millis(100);

pub struct Human {
    pub color: bool,
}

fn clock(ts: Timestamp) -> String {
    let secs = ts.as_secs() % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{:06}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60,
        ts.subsec_micros()
    )
}

fn sid(s: Option<i64>) -> String {
    match s {
        Some(s) => format!("{s:#x}"),
        None => "-".to_string(),
    }
}

pub fn latency(d: Duration) -> String {
    let us = d.as_micros();
    if us < 1000 {
        format!("{us}µs")
    } else if us < 1_000_000 {
        format!("{:.2}ms", us as f64 / 1000.0)
    } else {
        format!("{:.3}s", d.as_secs_f64())
    }
}

impl Human {
    fn paint(&self, color: &str, text: &str) -> String {
        if self.color {
            format!("{color}{text}{RESET}")
        } else {
            text.to_string()
        }
    }

    pub fn line(&self, e: &Event) -> String {
        let mut s = clock(e.ts());
        s.push(' ');
        match e {
            Event::Exchange(x) => {
                let _ = write!(s, "{} {} ", x.conn.client, sid(x.session));
                s.push_str(&self.paint(BLUE, &x.op_name()));
                if let Some(p) = &x.path {
                    let _ = write!(s, " {p}");
                }
                if !x.detail.is_empty() {
                    let _ = write!(s, " {}", x.detail);
                }
                match (x.err, x.reply_ts) {
                    (Some(err), _) if err.is_ok() => {
                        let _ = write!(s, "  {}", self.paint(GREEN, "Ok"));
                    }
                    (Some(err), _) => {
                        let _ = write!(s, "  {}", self.paint(RED, &err.to_string()));
                    }
                    (None, None) => {
                        let _ = write!(s, "  {}", self.paint(YELLOW, "(no reply)"));
                    }
                    (None, Some(_)) => {}
                }
                match x.latency() {
                    Some(l) => {
                        let text = latency(l);
                        let _ = write!(
                            s,
                            " {}",
                            if l >= SLOW {
                                self.paint(YELLOW, &text)
                            } else {
                                text
                            }
                        );
                    }
                    None if x.request_ts.is_none() => {
                        let _ = write!(s, " {}", self.paint(DIM, "(request not seen)"));
                    }
                    None => {}
                }
            }
            Event::Connect(c) => {
                let _ = write!(
                    s,
                    "{} {} {} timeout={}ms lastZxid={:#x}{}",
                    c.conn.client,
                    sid((c.session != 0).then_some(c.session)),
                    self.paint(
                        MAGENTA,
                        if c.session == 0 {
                            "CONNECT"
                        } else {
                            "RECONNECT"
                        }
                    ),
                    c.timeout_ms,
                    c.last_zxid_seen,
                    match c.read_only {
                        Some(true) => " readOnly",
                        Some(false) => "",
                        None => " (pre-3.4 handshake)",
                    }
                );
            }
            Event::Connected(c) => {
                let verb = if c.timeout_ms == 0 {
                    self.paint(RED, "EXPIRED")
                } else {
                    self.paint(MAGENTA, "CONNECTED")
                };
                let _ = write!(
                    s,
                    "{} {} {verb} timeout={}ms",
                    c.conn.client,
                    sid(Some(c.session)),
                    c.timeout_ms
                );
                if let Some(prev) = c.previous_session {
                    let _ = write!(s, " (was {prev:#x})");
                }
                if let Some(l) = c.latency {
                    let _ = write!(s, " {}", latency(l));
                }
            }
            Event::Notification(n) => {
                let _ = write!(
                    s,
                    "{} {} {} {} {}",
                    n.conn.client,
                    sid(n.session),
                    self.paint(MAGENTA, "WATCH"),
                    n.event_type,
                    n.path
                );
                if n.zxid >= 0 {
                    let _ = write!(s, " zxid={:#x}", n.zxid);
                }
            }
            Event::FourLetter(f) => {
                let first = f.answer.lines().next().unwrap_or("");
                let _ = write!(
                    s,
                    "{} - {} {} → {} ({}B)",
                    f.conn.client,
                    self.paint(MAGENTA, "4LW"),
                    f.word,
                    first,
                    f.answer.len()
                );
            }
            Event::Closed(c) => {
                let reason = match c.reason {
                    CloseReason::Fin => "fin",
                    CloseReason::Reset => "reset",
                    CloseReason::Evicted => "evicted",
                    CloseReason::EndOfCapture => "end of capture",
                };
                let _ = write!(
                    s,
                    "{} {} {} {reason}",
                    c.conn.client,
                    sid(c.session),
                    self.paint(DIM, "CLOSED")
                );
                if c.unanswered > 0 {
                    let _ = write!(s, ", {} unanswered", c.unanswered);
                }
            }
            Event::Anomaly(a) => {
                let _ = write!(s, "{} - {} {}", a.conn.client, self.paint(RED, "!"), a.what);
            }
            Event::Quorum(q) => {
                let (from, to) = if q.from_client_side {
                    (q.conn.client, q.conn.server)
                } else {
                    (q.conn.server, q.conn.client)
                };
                let proto = match q.message.protocol {
                    crate::quorum::QuorumProtocol::Zab => "ZAB",
                    crate::quorum::QuorumProtocol::Election => "FLE",
                    crate::quorum::QuorumProtocol::ZkPeer => "PEER",
                };
                let _ = write!(
                    s,
                    "{from} > {to} {} {}",
                    self.paint(MAGENTA, proto),
                    q.message.summary
                );
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkproto::{ErrorCode, OpCode};

    fn conn() -> ConnId {
        ConnId {
            client: "127.0.0.1:50000".parse().unwrap(),
            server: "127.0.0.1:2181".parse().unwrap(),
        }
    }

    #[test]
    fn exchange_line() {
        let x = Exchange {
            conn: conn(),
            session: Some(0x1000abc),
            xid: 5,
            op: Some(OpCode::GetData),
            opcode: 4,
            path: Some("/foo".into()),
            request_ts: Some(Duration::from_micros(3_600_000_000 + 1)),
            reply_ts: Some(Duration::from_micros(3_600_000_000 + 413)),
            err: Some(ErrorCode::NO_NODE),
            zxid: Some(7),
            request_bytes: 20,
            reply_bytes: 16,
            detail: "watch".into(),
        };
        let h = Human { color: false };
        assert_eq!(
            h.line(&Event::Exchange(x.clone())),
            "01:00:00.000413 127.0.0.1:50000 0x1000abc getData /foo watch  NoNode 412µs"
        );
        let colored = Human { color: true }.line(&Event::Exchange(x));
        assert!(colored.contains("\x1b[31mNoNode"), "{colored}");
    }
}
