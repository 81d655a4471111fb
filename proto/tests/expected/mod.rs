//! What the golden captures must decode to, from fixtures/expected.json
//! (written from what each workload did). Shared by zkproto's frame-level test
//! and zktraffic's capture-level test, which include this file by path.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

/// What a decoder saw in one capture. Optional parts are checked when given.
#[derive(Debug, Default)]
pub struct Observed {
    /// Requests by opcode, excluding pings and handshakes.
    pub requests: BTreeMap<i32, u64>,
    /// Replies by non-zero error code, excluding notifications.
    pub errors: BTreeMap<i32, u64>,
    pub notifications: u64,
    pub pings: u64,
    pub connects: u64,
    pub fourlw: Vec<String>,
    pub connect_request_lengths: Option<Vec<usize>>,
    pub connect_response_lengths: Option<Vec<usize>>,
    /// Per multi: sub-op opcodes, and per-op result (opcode or error code).
    pub multis: Option<Vec<(Vec<i32>, Vec<i32>)>>,
}

pub fn load(fixtures: &Path) -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(fixtures.join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn counts(v: Option<&Value>) -> BTreeMap<i32, u64> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.parse().unwrap(), v.as_u64().unwrap()))
                .collect()
        })
        .unwrap_or_default()
}

/// Exact counts for the keys listed exactly, lower bounds for `min_` keys
/// (which are then left out of the exact comparison).
fn check_counts(name: &str, exp: &Value, key: &str, got: &BTreeMap<i32, u64>) {
    let lower = counts(exp.get(format!("min_{key}").as_str()));
    if let Some(v) = exp.get(key) {
        let exact: BTreeMap<i32, u64> = got
            .iter()
            .filter(|(k, _)| !lower.contains_key(k))
            .map(|(k, v)| (*k, *v))
            .collect();
        assert_eq!(exact, counts(Some(v)), "{name}: {key}");
    }
    for (k, min) in lower {
        let have = got.get(&k).copied().unwrap_or(0);
        assert!(have >= min, "{name}: min_{key} {k}: {have} < {min}");
    }
}

pub fn check(name: &str, exp: &Value, o: &Observed) {
    check_counts(name, exp, "requests_by_opcode", &o.requests);
    check_counts(name, exp, "errors", &o.errors);
    if let Some(n) = exp.get("notifications").and_then(Value::as_u64) {
        assert_eq!(o.notifications, n, "{name}: notifications");
    }
    if let Some(n) = exp.get("min_notifications").and_then(Value::as_u64) {
        assert!(
            o.notifications >= n,
            "{name}: notifications {} < {n}",
            o.notifications
        );
    }
    if let Some(n) = exp.get("min_pings").and_then(Value::as_u64) {
        assert!(o.pings >= n, "{name}: pings {} < {n}", o.pings);
    }
    if let Some(n) = exp.get("connect_requests").and_then(Value::as_u64) {
        assert_eq!(o.connects, n, "{name}: connects");
    }
    let lens = |key: &str, got: &Option<Vec<usize>>| {
        if let (Some(v), Some(got)) = (exp.get(key), got) {
            let mut want: Vec<usize> = serde_json::from_value(v.clone()).unwrap();
            let mut got = got.clone();
            want.sort();
            got.sort();
            assert_eq!(got, want, "{name}: {key}");
        }
    };
    lens("connect_request_lengths", &o.connect_request_lengths);
    lens("connect_response_lengths", &o.connect_response_lengths);
    if let (Some(v), Some(got)) = (exp.get("multi"), &o.multis) {
        let want: Vec<(Vec<i32>, Vec<i32>)> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    serde_json::from_value(m["ops"].clone()).unwrap(),
                    serde_json::from_value(m["results"].clone()).unwrap(),
                )
            })
            .collect();
        assert_eq!(got, &want, "{name}: multi");
    }
    if let Some(v) = exp.get("fourlw") {
        let want: Vec<String> = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(o.fourlw, want, "{name}: four-letter words");
    }
}
