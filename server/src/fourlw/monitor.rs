//! `mntr`: tab-separated `zk_<key>\t<value>` lines.
//!
//! ZooKeeper 3.8 prints `zk_version` and `zk_server_state` (plus
//! `zk_peer_state` in an ensemble), then every gauge of its metrics
//! registry, then a few hundred internal counters and summaries. We print
//! the first two parts: the gauges are what monitoring tools read (the
//! Prometheus exporters, Datadog's and Nagios' checks); the counters
//! describe ZooKeeper's request-processor pipeline, which this server does
//! not have. 3.8 has no `zk_followers`: a leader reports `zk_learners` and
//! `zk_synced_followers`.

use std::fmt::Write as _;

use super::java;
use super::view::{Mode, ServerView};

/// Which servers report a gauge.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Who {
    All,
    Quorum,
    Leader,
}

/// The gauges in the order ZooKeeper 3.8 prints them (its registry is a
/// hash map; the order was read off a 3.8.0 leader, and a standalone server
/// prints the same order without the ensemble keys).
const GAUGES: &[(&str, Who)] = &[
    ("ephemerals_count", Who::All),
    ("num_alive_connections", Who::All),
    ("avg_latency", Who::All),
    ("min_proposal_size", Who::Leader),
    ("outstanding_requests", Who::All),
    ("znode_count", Who::All),
    ("global_sessions", Who::All),
    ("non_mtls_remote_conn_count", Who::All),
    ("last_client_response_size", Who::All),
    ("packets_sent", Who::All),
    ("packets_received", Who::All),
    ("max_proposal_size", Who::Leader),
    ("max_client_response_size", Who::All),
    ("synced_followers", Who::Leader),
    ("connection_drop_probability", Who::All),
    ("watch_count", Who::All),
    ("synced_non_voting_followers", Who::Leader),
    ("synced_observers", Who::Leader),
    ("auth_failed_count", Who::All),
    ("min_latency", Who::All),
    ("max_file_descriptor_count", Who::All),
    ("approximate_data_size", Who::All),
    ("open_file_descriptor_count", Who::All),
    ("last_proposal_size", Who::Leader),
    ("pending_syncs", Who::Leader),
    ("leader_uptime", Who::Leader),
    ("local_sessions", Who::All),
    ("uptime", Who::All),
    ("max_latency", Who::All),
    ("outstanding_tls_handshake", Who::All),
    ("learners", Who::Leader),
    ("min_client_response_size", Who::All),
    ("non_mtls_local_conn_count", Who::All),
    ("quorum_size", Who::Quorum),
];

pub fn monitor(view: &ServerView) -> String {
    let mut out = String::new();
    line(&mut out, "version", &view.version);
    line(&mut out, "server_state", view.mode.as_str());
    if view.mode.in_quorum() {
        line(&mut out, "peer_state", &view.peer_state);
    }
    for (key, who) in GAUGES {
        let shown = match who {
            Who::All => true,
            Who::Quorum => view.mode.in_quorum(),
            Who::Leader => view.mode == Mode::Leader,
        };
        if shown {
            line(&mut out, key, &gauge(view, key));
        }
    }
    out
}

fn line(out: &mut String, key: &str, value: &str) {
    let _ = writeln!(out, "zk_{key}\t{value}");
}

fn gauge(v: &ServerView, key: &str) -> String {
    let watches =
        v.data_watches.values().map(|p| p.len() as u64).sum::<u64>() + v.child_watch_count;
    let ephemerals: usize = v.ephemerals.values().map(|p| p.len()).sum();
    match key {
        "ephemerals_count" => ephemerals.to_string(),
        "num_alive_connections" => v.connections.len().to_string(),
        "avg_latency" => java::double(java::avg_4dp(v.latency.total_ms, v.latency.count)),
        "min_latency" => v.latency.min().to_string(),
        "max_latency" => v.latency.max().to_string(),
        "outstanding_requests" => v.outstanding_requests.to_string(),
        "znode_count" => v.node_count.to_string(),
        "global_sessions" => v.session_count.to_string(),
        "packets_sent" => v.packets_sent.to_string(),
        "packets_received" => v.packets_received.to_string(),
        "last_client_response_size" => v.response_sizes.last.to_string(),
        "min_client_response_size" => v.response_sizes.min.to_string(),
        "max_client_response_size" => v.response_sizes.max.to_string(),
        // Never dropped on purpose: ZooKeeper's fault-injection knob.
        "connection_drop_probability" => java::double(0.0),
        "watch_count" => watches.to_string(),
        "auth_failed_count" => v.auth_failed_count.to_string(),
        "max_file_descriptor_count" => v.max_file_descriptors.to_string(),
        "open_file_descriptor_count" => v.open_file_descriptors.to_string(),
        "approximate_data_size" => v.approximate_data_size.to_string(),
        "uptime" => v.uptime_ms.to_string(),
        "min_proposal_size" => v.proposal_sizes.min.to_string(),
        "max_proposal_size" => v.proposal_sizes.max.to_string(),
        "last_proposal_size" => v.proposal_sizes.last.to_string(),
        "synced_followers" => v.synced_followers.to_string(),
        "synced_non_voting_followers" => v.synced_non_voting_followers.to_string(),
        "synced_observers" => v.synced_observers.to_string(),
        "pending_syncs" => v.pending_syncs.to_string(),
        "leader_uptime" => v.leader_uptime_ms.to_string(),
        "learners" => v.learners.to_string(),
        "quorum_size" => v.quorum_size.to_string(),
        // No TLS, no local sessions, no mTLS accounting: always zero.
        _ => "0".to_string(),
    }
}
