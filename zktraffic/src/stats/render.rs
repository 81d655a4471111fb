//! Text tables of a [`Snapshot`], as `zktraffic stats` prints them.

use std::fmt::Write as _;

use super::{Dim, LatencySummary, Row, Snapshot};

/// Microseconds for people: `850us`, `2.00ms`, `12.3ms`, `1.25s`.
pub fn fmt_us(us: u64) -> String {
    fn scaled(v: f64, unit: &str) -> String {
        if v < 10.0 {
            format!("{v:.2}{unit}")
        } else if v < 100.0 {
            format!("{v:.1}{unit}")
        } else {
            format!("{v:.0}{unit}")
        }
    }
    if us < 1_000 {
        format!("{us}us")
    } else if us < 1_000_000 {
        scaled(us as f64 / 1e3, "ms")
    } else {
        scaled(us as f64 / 1e6, "s")
    }
}

/// Byte counts for people: exact below 10,000, then K/M/G (powers of 1024).
pub fn fmt_bytes(b: u64) -> String {
    if b < 10_000 {
        return format!("{b}B");
    }
    let mut v = b as f64;
    for unit in ["K", "M", "G", "T"] {
        v /= 1024.0;
        if v < 1024.0 || unit == "T" {
            return if v < 100.0 {
                format!("{v:.1}{unit}")
            } else {
                format!("{v:.0}{unit}")
            };
        }
    }
    unreachable!("the loop returns at T")
}

pub fn fmt_rate(r: Option<f64>) -> String {
    match r {
        None => "-".to_string(),
        Some(r) if r < 10.0 => format!("{r:.2}"),
        Some(r) if r < 1000.0 => format!("{r:.1}"),
        Some(r) => format!("{r:.0}"),
    }
}

fn fmt_counts(v: &[(String, u64)]) -> String {
    v.iter()
        .map(|(k, n)| format!("{k}:{n}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Cells of one table row, in [`HEADER`] order.
fn cells(r: &Row) -> Vec<String> {
    let lat = |f: fn(&LatencySummary) -> u64| {
        r.latency
            .as_ref()
            .map_or_else(|| "-".to_string(), |l| fmt_us(f(l)))
    };
    vec![
        r.key.clone(),
        r.count.to_string(),
        fmt_rate(r.rate),
        fmt_bytes(r.bytes_in),
        fmt_bytes(r.bytes_out),
        r.errors.to_string(),
        lat(|l| l.p50_us),
        lat(|l| l.p95_us),
        lat(|l| l.p99_us),
        lat(|l| l.max_us),
        fmt_counts(&r.errors_by_code),
    ]
}

const HEADER: [&str; 11] = [
    "", "REQS", "REQ/S", "IN", "OUT", "ERRS", "P50", "P95", "P99", "MAX", "ERRORS",
];

/// Aligned text: the key column left-aligned, numbers right-aligned, the
/// free-form error list last so its width does not matter.
fn render_table(out: &mut String, key_title: &str, rows: &[Vec<String>]) {
    let mut header: Vec<String> = HEADER.iter().map(|s| s.to_string()).collect();
    header[0] = key_title.to_ascii_uppercase();
    let all: Vec<&Vec<String>> = std::iter::once(&header).chain(rows).collect();
    let last = HEADER.len() - 1;
    let widths: Vec<usize> = (0..last)
        .map(|i| all.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    for r in all {
        let mut line = String::new();
        for (i, w) in widths.iter().enumerate() {
            if i == 0 {
                let _ = write!(line, "{:<w$}", r[i]);
            } else {
                let _ = write!(line, "  {:>w$}", r[i]);
            }
        }
        let _ = write!(line, "  {}", r[last]);
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

/// What `zktraffic stats` prints: a summary line, then one table per dimension in `dims`.
pub fn render_text(snap: &Snapshot, dims: &[Dim]) -> String {
    let t = &snap.totals;
    let r = &t.requests;
    let mut out = String::new();
    let _ = write!(
        out,
        "window {:.3}s: {} requests ({}/s), {} errors, {} in, {} out, {} notifications, {} connections, {} sessions{}",
        snap.window_secs,
        r.count,
        fmt_rate(r.rate),
        r.errors,
        fmt_bytes(r.bytes_in),
        fmt_bytes(r.bytes_out),
        t.notifications,
        t.connections,
        t.sessions,
        if t.sessions_saturated { "+" } else { "" },
    );
    if let Some(l) = &r.latency {
        let _ = write!(
            out,
            "; latency p50 {} p99 {} max {}",
            fmt_us(l.p50_us),
            fmt_us(l.p99_us),
            fmt_us(l.max_us)
        );
    }
    out.push('\n');
    let extras = [
        ("unanswered", r.unanswered),
        ("unpaired replies", t.unpaired_replies),
        ("pings", t.pings),
        ("handshakes", t.handshakes),
        ("expired-session handshakes", t.expired_handshakes),
        ("four-letter words", t.four_letter_words),
        ("quorum messages", t.quorum_messages),
        ("anomalies", t.anomalies),
    ];
    let extras: Vec<String> = extras
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("{n} {k}"))
        .collect();
    if !extras.is_empty() {
        let _ = writeln!(out, "also: {}", extras.join(", "));
    }
    if !t.notifications_by_type.is_empty() {
        let _ = writeln!(
            out,
            "notifications: {}",
            fmt_counts(&t.notifications_by_type)
        );
    }
    if !t.peer_rpcs_by_kind.is_empty() {
        let _ = writeln!(out, "peer RPCs: {}", fmt_counts(&t.peer_rpcs_by_kind));
    }
    for dim in dims {
        let Some(table) = snap.table(*dim) else {
            continue;
        };
        let _ = writeln!(
            out,
            "\nby {} ({} keys, sorted by {})",
            dim.name(),
            table.keys,
            snap.sort
        );
        let mut rows: Vec<Vec<String>> = table.rows.iter().map(cells).collect();
        if let Some(o) = &table.other {
            rows.push(cells(o));
        }
        render_table(&mut out, dim.name(), &rows);
        if table.hidden > 0 {
            let _ = writeln!(out, "... {} more", table.hidden);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::test_events::*;
    use crate::stats::tests::getdata_1_2_3;
    use crate::stats::SortKey;
    use zkproto::{ErrorCode, OpCode};

    #[test]
    fn rendering_is_aligned() {
        let mut s = getdata_1_2_3();
        let mut x = exchange(
            "10.0.0.9:1",
            OpCode::SetData,
            Some("/zookeeper/quota"),
            ms(0),
            ms(150),
        );
        x.err = Some(ErrorCode::BAD_VERSION);
        s.observe(&ev(x));
        let text = render_text(&s.snapshot(SortKey::Count, 10), &[Dim::Op, Dim::Path]);
        assert!(text.starts_with("window "), "{text}");
        let lines: Vec<&str> = text.lines().collect();
        let header = lines
            .iter()
            .position(|l| l.starts_with("OP "))
            .expect(&text);
        let rows = &lines[header..header + 3];
        assert!(rows[1].starts_with("getData "), "{text}");
        assert!(
            rows[1].contains("2.00ms") && rows[1].contains("3.00ms"),
            "{text}"
        );
        assert!(
            rows[2].starts_with("setData ") && rows[2].ends_with("BadVersion:1"),
            "{text}"
        );
        // Right-aligned numeric columns end at the same offset.
        let end_of = |l: &str, cell: &str| l.rfind(cell).unwrap() + cell.len();
        assert_eq!(end_of(rows[0], "REQS"), rows[1].find(" 3 ").unwrap() + 2);
        assert_eq!(end_of(rows[0], "MAX"), end_of(rows[2], "150ms"));
        assert!(
            text.contains("\nby path (2 keys, sorted by count)\n"),
            "{text}"
        );
    }

    #[test]
    fn formatting() {
        assert_eq!(fmt_us(850), "850us");
        assert_eq!(fmt_us(2_000), "2.00ms");
        assert_eq!(fmt_us(12_345), "12.3ms");
        assert_eq!(fmt_us(150_000), "150ms");
        assert_eq!(fmt_us(1_250_000), "1.25s");
        assert_eq!(fmt_bytes(9_999), "9999B");
        assert_eq!(fmt_bytes(10_240), "10.0K");
        assert_eq!(fmt_bytes(3 * 1024 * 1024), "3.0M");
    }
}
