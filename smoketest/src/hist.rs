//! Latency histograms in microseconds (HDR), and their JSON form: the
//! percentiles plus the whole histogram, serialised, so runs from several
//! datacenters can be merged without loss.

use std::time::Duration;

use base64::Engine;
use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone)]
pub struct Hist(Histogram<u64>);

impl Default for Hist {
    fn default() -> Self {
        // 1 µs .. 1 h at 3 significant figures.
        Hist(Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds"))
    }
}

impl Hist {
    pub fn record(&mut self, d: Duration) {
        self.0.saturating_record((d.as_micros() as u64).max(1));
    }

    pub fn len(&self) -> u64 {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn p(&self, q: f64) -> u64 {
        self.0.value_at_quantile(q)
    }

    pub fn merge(&mut self, other: &Hist) {
        let _ = self.0.add(&other.0);
    }

    pub fn mean_us(&self) -> f64 {
        self.0.mean()
    }

    /// The CDF as (latency µs, fraction at or below), one point per
    /// recorded bucket: enough for a chart, exact to the histogram's precision.
    pub fn cdf(&self) -> Vec<(u64, f64)> {
        let total = self.0.len().max(1) as f64;
        self.0
            .iter_recorded()
            .map(|v| {
                (
                    self.0.highest_equivalent(v.value_iterated_to()),
                    v.count_since_last_iteration() as f64,
                )
            })
            .scan(0.0, |seen, (us, n)| {
                *seen += n;
                Some((us, *seen / total))
            })
            .collect()
    }

    pub fn summary(&self) -> Summary {
        let mut buf = Vec::new();
        V2Serializer::new()
            .serialize(&self.0, &mut buf)
            .expect("serialising to memory");
        Summary {
            count: self.0.len(),
            min_us: self.0.min(),
            p50_us: self.p(0.50),
            p90_us: self.p(0.90),
            p99_us: self.p(0.99),
            p999_us: self.p(0.999),
            max_us: self.0.max(),
            mean_us: self.0.mean(),
            hdr: base64::engine::general_purpose::STANDARD.encode(buf),
        }
    }
}

/// A histogram as written to `--json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    pub count: u64,
    pub min_us: u64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub max_us: u64,
    pub mean_us: f64,
    /// HdrHistogram V2 serialisation, base64.
    pub hdr: String,
}

impl Summary {
    pub fn to_hist(&self) -> Option<Hist> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&self.hdr)
            .ok()?;
        Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .ok()
            .map(Hist)
    }
}

/// Merges summaries through their histograms (lossless, unlike averaging
/// percentiles); None when there is nothing, or a histogram does not decode.
pub fn merge_all<'a>(parts: impl IntoIterator<Item = &'a Summary>) -> Option<Summary> {
    let mut out: Option<Hist> = None;
    for s in parts {
        let h = s.to_hist()?;
        match &mut out {
            Some(o) => o.merge(&h),
            None => out = Some(h),
        }
    }
    out.map(|h| h.summary())
}

pub fn ms(us: u64) -> String {
    if us >= 10_000 {
        format!("{:.0}ms", us as f64 / 1000.0)
    } else {
        format!("{:.2}ms", us as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_round_trips_through_json_and_merges() {
        let mut h = Hist::default();
        for ms in 1..=100u64 {
            h.record(Duration::from_millis(ms));
        }
        let s = h.summary();
        assert_eq!(s.count, 100);
        assert!((49_900..=50_100).contains(&s.p50_us), "{}", s.p50_us);
        assert!((98_900..=99_100).contains(&s.p99_us), "{}", s.p99_us);
        let json = serde_json::to_string(&s).unwrap();
        let back: Summary = serde_json::from_str(&json).unwrap();
        let mut merged = back.to_hist().unwrap();
        merged.merge(&h);
        assert_eq!(merged.len(), 200);
        assert_eq!(merged.summary().max_us, s.max_us);
        let all = merge_all([&s, &s, &s]).unwrap();
        assert_eq!(all.count, 300);
        assert_eq!(all.p50_us, s.p50_us);
        let cdf = h.cdf();
        assert_eq!(cdf.len(), 100);
        assert!((cdf[49].1 - 0.5).abs() < 1e-9 && (cdf[99].1 - 1.0).abs() < 1e-9);
        assert!((49_900..=50_100).contains(&cdf[49].0), "{:?}", cdf[49]);
    }
}
