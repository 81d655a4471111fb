//! The statistics words: srvr, stat, cons and the two resets.

use std::fmt::Write as _;

use super::java;
use super::view::{ConnView, Mode, ServerView};

/// `srvr` (`clients == false`) and `stat` (`clients == true`).
pub fn server_stats(view: &ServerView, clients: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Zookeeper version: {}", view.version);
    if view.mode == Mode::ReadOnly {
        out.push_str("READ-ONLY mode; serving only read-only clients\n");
    }
    if clients {
        out.push_str("Clients:\n");
        for c in &view.connections {
            connection(&mut out, c, true);
            out.push('\n');
        }
        out.push('\n');
    }
    let lat = &view.latency;
    let _ = writeln!(
        out,
        "Latency min/avg/max: {}/{}/{}",
        lat.min(),
        java::double(java::avg_4dp(lat.total_ms, lat.count)),
        lat.max()
    );
    let _ = writeln!(out, "Received: {}", view.packets_received);
    let _ = writeln!(out, "Sent: {}", view.packets_sent);
    let _ = writeln!(out, "Connections: {}", view.connections.len());
    let _ = writeln!(out, "Outstanding: {}", view.outstanding_requests);
    let _ = writeln!(out, "Zxid: 0x{}", java::hex(view.last_zxid));
    let _ = writeln!(out, "Mode: {}", view.mode.as_str());
    let _ = writeln!(out, "Node count: {}", view.node_count);
    if view.mode == Mode::Leader {
        let p = &view.proposal_sizes;
        let _ = writeln!(
            out,
            "Proposal sizes last/min/max: {}/{}/{}",
            p.last, p.min, p.max
        );
    }
    out
}

/// `cons`: every connection in full, then an empty line.
pub fn connections(view: &ServerView) -> String {
    let mut out = String::new();
    for c in &view.connections {
        connection(&mut out, c, false);
        out.push('\n');
    }
    out.push('\n');
    out
}

/// One connection line, without its newline. `brief` is `stat`'s form;
/// `cons` adds the session figures once the connection has a session.
fn connection(out: &mut String, c: &ConnView, brief: bool) {
    let _ = write!(
        out,
        " {}[{:x}](queued={},recved={},sent={}",
        java::socket_addr(&c.remote),
        c.interest_ops,
        c.queued,
        c.received,
        c.sent
    );
    if let (false, Some(s)) = (brief, &c.session) {
        let _ = write!(
            out,
            ",sid=0x{},lop={},est={},to={}",
            java::hex(s.session_id),
            s.last_op,
            s.established_ms,
            s.timeout_ms
        );
        if s.last_cxid >= 0 {
            let _ = write!(out, ",lcxid=0x{}", java::hex(s.last_cxid));
        }
        // The per-connection average is integer division, unlike the
        // server's 4-decimal one.
        let avg = s.latency.total_ms.checked_div(s.latency.count).unwrap_or(0);
        let _ = write!(
            out,
            ",lzxid=0x{},lresp={},llat={},minlat={},avglat={},maxlat={}",
            java::hex(s.last_zxid),
            s.last_response_ms,
            s.last_latency_ms,
            s.latency.min(),
            avg,
            s.latency.max()
        );
    }
    out.push(')');
}

pub const SERVER_STATS_RESET: &str = "Server stats reset.\n";
pub const CONNECTION_STATS_RESET: &str = "Connection stats reset.\n";
