//! `--plot DIR`: SVG charts of a capture, drawn with plotters (SVG text needs
//! no fonts on the machine that draws it).
//!
//! - `requests_per_second.svg`: requests/s over capture time, a line per op;
//! - `latency_by_op.svg`: a latency histogram per op on 1-2-5 log buckets.
//!
//! Memory is bounded: the time axis keeps at most [`MAX_POINTS`] buckets and
//! widens them (1 s, 2 s, 4 s…) as a capture grows longer.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

use crate::model::{Event, Exchange};
use crate::Result;

/// Time buckets per line: plenty for a chart, and a day's capture at 1 s
/// buckets would be 86,400.
pub const MAX_POINTS: u64 = 4_000;
/// Lines on the rate chart and panels on the latency chart; the rest fold into "other".
const MAX_OPS: usize = 10;
const OTHER: &str = "other";

/// Lower edges of the latency buckets in µs: 1, 2, 5, 10, 20, 50… 5e9.
const LATENCY_EDGES: [u64; 30] = {
    let mut e = [0u64; 30];
    let mut i = 0;
    let mut decade = 1u64;
    while i < 30 {
        e[i] = decade;
        e[i + 1] = 2 * decade;
        e[i + 2] = 5 * decade;
        decade *= 10;
        i += 3;
    }
    e
};

fn latency_bucket(us: u64) -> usize {
    LATENCY_EDGES.iter().rposition(|e| *e <= us).unwrap_or(0)
}

fn edge_label(us: u64) -> String {
    if us < 1_000 {
        format!("{us}us")
    } else if us < 1_000_000 {
        format!("{}ms", us / 1_000)
    } else {
        format!("{}s", us / 1_000_000)
    }
}

#[derive(Debug, Clone, Default)]
struct OpPlot {
    count: u64,
    /// Requests per time bucket (bucket index = capture second / width).
    per_bucket: BTreeMap<u64, u64>,
    latency: [u64; LATENCY_EDGES.len()],
    /// Exact, since a linear y axis hides the few slowest requests.
    max_us: u64,
}

/// Collects what the charts need; feed it every event.
#[derive(Debug, Clone)]
pub struct PlotCollector {
    include_pings: bool,
    /// Seconds per time bucket, a power of two.
    width: u64,
    /// First and last capture second seen.
    span: Option<(u64, u64)>,
    ops: BTreeMap<String, OpPlot>,
}

impl Default for PlotCollector {
    fn default() -> Self {
        PlotCollector::new(false)
    }
}

/// One line of the rate chart: (seconds since the first bucket, requests/s).
pub type RateSeries = (String, Vec<(f64, f64)>);

impl PlotCollector {
    /// `include_pings`: plot pings like other requests (they are excluded by
    /// default, as in `stats`).
    pub fn new(include_pings: bool) -> PlotCollector {
        PlotCollector {
            include_pings,
            width: 1,
            span: None,
            ops: BTreeMap::new(),
        }
    }

    pub fn observe(&mut self, event: &Event) {
        if let Event::Exchange(x) = event {
            self.exchange(x);
        }
    }

    fn exchange(&mut self, x: &Exchange) {
        if x.op == Some(zkproto::OpCode::Ping) && !self.include_pings {
            return;
        }
        // A request counts when it was sent; an unpaired reply when it was answered.
        let Some(ts) = x.request_ts.or(x.reply_ts) else {
            return;
        };
        let sec = ts.as_secs();
        let (lo, hi) = self
            .span
            .map_or((sec, sec), |(lo, hi)| (lo.min(sec), hi.max(sec)));
        self.span = Some((lo, hi));
        while hi / self.width - lo / self.width >= MAX_POINTS {
            self.widen();
        }
        let op = self.ops.entry(x.op_name()).or_default();
        op.count += 1;
        *op.per_bucket.entry(sec / self.width).or_default() += 1;
        if let Some(lat) = x.latency() {
            let us = u64::try_from(lat.as_micros()).unwrap_or(u64::MAX);
            op.latency[latency_bucket(us)] += 1;
            op.max_us = op.max_us.max(us);
        }
    }

    /// Doubles the bucket width, merging pairs of buckets.
    fn widen(&mut self) {
        for op in self.ops.values_mut() {
            let mut merged = BTreeMap::new();
            for (b, n) in std::mem::take(&mut op.per_bucket) {
                *merged.entry(b / 2).or_default() += n;
            }
            op.per_bucket = merged;
        }
        self.width *= 2;
    }

    /// Seconds per point on the rate chart.
    pub fn bucket_width_secs(&self) -> u64 {
        self.width
    }

    /// Ops by request count, the tail folded into "other".
    fn ranked(&self) -> Vec<(String, OpPlot)> {
        let mut ops: Vec<(&String, &OpPlot)> = self.ops.iter().collect();
        ops.sort_by(|a, b| b.1.count.cmp(&a.1.count).then_with(|| a.0.cmp(b.0)));
        let mut out: Vec<(String, OpPlot)> = ops
            .iter()
            .take(MAX_OPS)
            .map(|(k, v)| ((*k).clone(), (*v).clone()))
            .collect();
        if ops.len() > MAX_OPS {
            let mut other = OpPlot::default();
            for (_, v) in &ops[MAX_OPS..] {
                other.count += v.count;
                for (b, n) in &v.per_bucket {
                    *other.per_bucket.entry(*b).or_default() += n;
                }
                for (o, n) in other.latency.iter_mut().zip(&v.latency) {
                    *o += n;
                }
                other.max_us = other.max_us.max(v.max_us);
            }
            out.push((OTHER.to_string(), other));
        }
        out
    }

    /// The rate chart's lines, busiest op first; buckets without requests are 0.
    pub fn rate_series(&self) -> Vec<RateSeries> {
        let Some((lo, hi)) = self.span else {
            return Vec::new();
        };
        let (first, last) = (lo / self.width, hi / self.width);
        let w = self.width as f64;
        self.ranked()
            .into_iter()
            .map(|(name, op)| {
                let points = (first..=last)
                    .map(|b| {
                        let n = op.per_bucket.get(&b).copied().unwrap_or(0);
                        ((b - first) as f64 * w, n as f64 / w)
                    })
                    .collect();
                (name, points)
            })
            .collect()
    }

    /// Per op (busiest first), request counts per latency bucket, keyed by the
    /// bucket's lower edge in µs; ops without latency samples are left out.
    pub fn latency_series(&self) -> Vec<(String, Vec<(u64, u64)>)> {
        self.latency_ops()
            .into_iter()
            .map(|(name, op)| {
                (
                    name,
                    LATENCY_EDGES.iter().copied().zip(op.latency).collect(),
                )
            })
            .collect()
    }

    fn latency_ops(&self) -> Vec<(String, OpPlot)> {
        self.ranked()
            .into_iter()
            .filter(|(_, op)| op.latency.iter().any(|n| *n > 0))
            .collect()
    }

    /// Writes the charts into `dir` (created if missing) and returns their
    /// paths; nothing when no request was seen.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        let mut written = Vec::new();
        if self.span.is_none() {
            return Ok(written);
        }
        std::fs::create_dir_all(dir)?;
        let charts: [(&str, Option<String>); 2] = [
            ("requests_per_second.svg", Some(self.rate_svg()?)),
            ("latency_by_op.svg", self.latency_svg()?),
        ];
        for (name, svg) in charts {
            if let Some(svg) = svg {
                let path = dir.join(name);
                std::fs::write(&path, svg)?;
                written.push(path);
            }
        }
        Ok(written)
    }

    fn rate_svg(&self) -> Result<String> {
        let series = self.rate_series();
        let x_max = series
            .first()
            .and_then(|(_, p)| p.last())
            .map_or(0.0, |p| p.0)
            .max(1.0);
        let y_max = series
            .iter()
            .flat_map(|(_, p)| p.iter().map(|p| p.1))
            .fold(1.0, f64::max)
            * 1.1;
        let start = self.span.map_or(0, |s| s.0 / self.width * self.width);
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (1200, 600)).into_drawing_area();
            root.fill(&WHITE).map_err(draw_err)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(
                    format!("requests/s by op, from {}", utc(start)),
                    ("sans-serif", 22),
                )
                .margin(15)
                .x_label_area_size(40)
                .y_label_area_size(60)
                .build_cartesian_2d(0.0..x_max, 0.0..y_max)
                .map_err(draw_err)?;
            let bucket = if self.width == 1 {
                "1 s buckets".to_string()
            } else {
                format!("{} s buckets", self.width)
            };
            chart
                .configure_mesh()
                .x_desc(format!("seconds of capture ({bucket})"))
                .y_desc("requests/s")
                .draw()
                .map_err(draw_err)?;
            for (i, (name, points)) in series.into_iter().enumerate() {
                let color = Palette99::pick(i).to_rgba();
                chart
                    .draw_series(LineSeries::new(points, color.stroke_width(2)))
                    .map_err(draw_err)?
                    .label(name)
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                    });
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()
                .map_err(draw_err)?;
            root.present().map_err(draw_err)?;
        }
        Ok(svg)
    }

    fn latency_svg(&self) -> Result<Option<String>> {
        let series = self.latency_series();
        let captions: Vec<String> = self
            .latency_ops()
            .iter()
            .map(|(name, op)| caption(name, op))
            .collect();
        if series.is_empty() {
            return Ok(None);
        }
        // One x range for every panel so they compare at a glance.
        let nonempty = |s: &[(u64, u64)]| {
            s.iter()
                .enumerate()
                .filter(|(_, b)| b.1 > 0)
                .map(|(i, _)| i)
                .collect::<Vec<_>>()
        };
        let lo = series
            .iter()
            .filter_map(|(_, s)| nonempty(s).first().copied())
            .min()
            .unwrap_or(0);
        let hi = series
            .iter()
            .filter_map(|(_, s)| nonempty(s).last().copied())
            .max()
            .unwrap_or(0);
        let (lo, hi) = (
            lo.saturating_sub(1) as u32,
            (hi + 1).min(LATENCY_EDGES.len() - 1) as u32,
        );
        let cols = series.len().min(3);
        let rows = series.len().div_ceil(cols);
        let mut svg = String::new();
        {
            let root =
                SVGBackend::with_string(&mut svg, (400 * cols as u32, 300 * rows as u32 + 40))
                    .into_drawing_area();
            root.fill(&WHITE).map_err(draw_err)?;
            let root = root
                .titled("latency by op (requests per bucket)", ("sans-serif", 22))
                .map_err(draw_err)?;
            let panels = root.split_evenly((rows, cols));
            for (i, (((_, buckets), caption), area)) in
                series.iter().zip(&captions).zip(&panels).enumerate()
            {
                let y_max = buckets.iter().map(|b| b.1).max().unwrap_or(1) * 23 / 20 + 1;
                let mut chart = ChartBuilder::on(area)
                    .caption(caption, ("sans-serif", 16))
                    .margin(8)
                    .x_label_area_size(30)
                    .y_label_area_size(45)
                    .build_cartesian_2d((lo..hi).into_segmented(), 0..y_max)
                    .map_err(draw_err)?;
                chart
                    .configure_mesh()
                    .disable_x_mesh()
                    .x_labels((hi - lo + 1) as usize)
                    // Every bucket would crowd the axis: label the decades only.
                    .x_label_formatter(&|v| match v {
                        SegmentValue::Exact(b) | SegmentValue::CenterOf(b) => LATENCY_EDGES
                            .get(*b as usize)
                            .filter(|e| {
                                e.to_string()
                                    .trim_start_matches('1')
                                    .bytes()
                                    .all(|d| d == b'0')
                            })
                            .map_or_else(String::new, |e| edge_label(*e)),
                        SegmentValue::Last => String::new(),
                    })
                    .x_desc("latency, lower edge of bucket")
                    .draw()
                    .map_err(draw_err)?;
                let color = Palette99::pick(i).to_rgba();
                chart
                    .draw_series(
                        Histogram::vertical(&chart)
                            .style(color.filled())
                            .margin(2)
                            .data((lo..=hi).map(|b| (b, buckets[b as usize].1))),
                    )
                    .map_err(draw_err)?;
            }
            root.present().map_err(draw_err)?;
        }
        Ok(Some(svg))
    }
}

/// `getData: n=3, p99 < 2ms, max 1.60ms`: the tail a linear y axis cannot show.
fn caption(name: &str, op: &OpPlot) -> String {
    let n: u64 = op.latency.iter().sum();
    let rank = (n * 99).div_ceil(100);
    let mut seen = 0;
    let slot = op.latency.iter().position(|c| {
        seen += c;
        seen >= rank
    });
    let p99 = match slot.and_then(|b| LATENCY_EDGES.get(b + 1)) {
        Some(upper) => format!("p99 < {}", edge_label(*upper)),
        None => format!(
            "p99 >= {}",
            edge_label(LATENCY_EDGES[LATENCY_EDGES.len() - 1])
        ),
    };
    format!(
        "{name}: n={n}, {p99}, max {}",
        crate::stats::fmt_us(op.max_us)
    )
}

/// Drawing into a String can only fail on a plotting bug; report it as I/O
/// rather than grow the error type for it.
fn draw_err<E: std::fmt::Display>(e: E) -> crate::Error {
    crate::Error::Io(std::io::Error::other(format!("drawing chart: {e}")))
}

/// `YYYY-MM-DD HH:MM:SS UTC` without a date library.
fn utc(secs: u64) -> String {
    let rem = secs % 86_400;
    let (y, m, d) = zkproto::event::civil_from_days((secs / 86_400) as i64);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::test_events::*;
    use std::time::Duration;
    use zkproto::OpCode;

    fn temp_dir(tag: &str) -> PathBuf {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        std::env::temp_dir().join(format!("zktraffic-{tag}-{}-{nanos}", std::process::id()))
    }

    /// Tags open and close in order (self-closing and `<?…?>`/`<!…>` aside).
    fn assert_well_nested(svg: &str) {
        let mut stack: Vec<String> = Vec::new();
        let mut rest = svg;
        while let Some(i) = rest.find('<') {
            let end = rest[i..].find('>').expect("unterminated tag") + i;
            let tag = &rest[i + 1..end];
            rest = &rest[end + 1..];
            if tag.starts_with('?') || tag.starts_with('!') || tag.ends_with('/') {
                continue;
            }
            let name: String = tag
                .trim_start_matches('/')
                .chars()
                .take_while(|c| !c.is_whitespace())
                .collect();
            if tag.starts_with('/') {
                assert_eq!(
                    stack.pop().as_deref(),
                    Some(name.as_str()),
                    "mismatched </{name}>"
                );
            } else {
                stack.push(name);
            }
        }
        assert!(stack.is_empty(), "unclosed {stack:?}");
    }

    fn at(sec: f64) -> Duration {
        Duration::from_secs(1_700_000_000) + Duration::from_secs_f64(sec)
    }

    fn sample() -> PlotCollector {
        let mut p = PlotCollector::default();
        for (sec, lat) in [(0.1, 50), (0.7, 1_500), (2.2, 1_600)] {
            p.observe(&ev(exchange(
                "10.0.0.2:1",
                OpCode::GetData,
                Some("/a"),
                at(sec),
                Duration::from_micros(lat),
            )));
        }
        p.observe(&ev(exchange(
            "10.0.0.2:1",
            OpCode::SetData,
            Some("/a"),
            at(1.5),
            ms(30),
        )));
        p.observe(&ev(exchange(
            "10.0.0.2:1",
            OpCode::Ping,
            None,
            at(1.0),
            ms(1),
        )));
        p
    }

    #[test]
    fn rate_series_has_a_point_per_second() {
        let s = sample().rate_series();
        assert_eq!(
            s,
            vec![
                (
                    "getData".to_string(),
                    vec![(0.0, 2.0), (1.0, 0.0), (2.0, 1.0)]
                ),
                (
                    "setData".to_string(),
                    vec![(0.0, 0.0), (1.0, 1.0), (2.0, 0.0)]
                ),
            ]
        );
    }

    #[test]
    fn latency_series_uses_1_2_5_buckets() {
        assert_eq!(latency_bucket(0), 0);
        assert_eq!(latency_bucket(1), 0);
        assert_eq!(latency_bucket(2), 1);
        assert_eq!(latency_bucket(4), 1);
        assert_eq!(latency_bucket(5), 2);
        assert_eq!(latency_bucket(1_999), 9);
        assert_eq!(latency_bucket(2_000), 10);
        assert_eq!(latency_bucket(u64::MAX), 29);
        let s = sample().latency_series();
        let nonzero: Vec<(&str, Vec<(u64, u64)>)> = s
            .iter()
            .map(|(k, v)| (k.as_str(), v.iter().copied().filter(|b| b.1 > 0).collect()))
            .collect();
        assert_eq!(
            nonzero,
            [
                ("getData", vec![(50, 1), (1_000, 2)]),
                ("setData", vec![(20_000, 1)])
            ]
        );
    }

    #[test]
    fn long_captures_widen_buckets() {
        let mut p = PlotCollector::default();
        for sec in [0.0, 5.0, 10_000.0] {
            p.observe(&ev(exchange(
                "10.0.0.2:1",
                OpCode::Exists,
                Some("/a"),
                at(sec),
                ms(1),
            )));
        }
        // 10,000 s in at most 4,000 points: 4 s buckets.
        assert_eq!(p.bucket_width_secs(), 4);
        let s = p.rate_series();
        let points = &s[0].1;
        assert!(points.len() as u64 <= MAX_POINTS);
        let nonzero: Vec<(f64, f64)> = points.iter().copied().filter(|p| p.1 > 0.0).collect();
        // 1,700,000,000 is a multiple of 4; 10,000 s later too.
        assert_eq!(nonzero, [(0.0, 0.25), (4.0, 0.25), (10_000.0, 0.25)]);
    }

    #[test]
    fn many_ops_fold_into_other() {
        let mut p = PlotCollector::default();
        for (i, op) in OpCode::ALL
            .iter()
            .filter(|o| **o != OpCode::Ping)
            .take(MAX_OPS + 2)
            .enumerate()
        {
            for _ in 0..=i {
                p.observe(&ev(exchange("10.0.0.2:1", *op, Some("/a"), at(0.0), ms(1))));
            }
        }
        let s = p.rate_series();
        assert_eq!(s.len(), MAX_OPS + 1);
        assert_eq!(s.last().unwrap(), &(OTHER.to_string(), vec![(0.0, 3.0)]));
    }

    #[test]
    fn writes_svg_charts() {
        let dir = temp_dir("plot");
        let files = sample().write(&dir).unwrap();
        assert_eq!(
            files,
            [
                dir.join("requests_per_second.svg"),
                dir.join("latency_by_op.svg")
            ]
        );

        let rate = std::fs::read_to_string(&files[0]).unwrap();
        assert!(rate.starts_with("<svg"), "{}", &rate[..100]);
        assert_well_nested(&rate);
        for text in [
            "getData",
            "setData",
            "requests/s by op, from 2023-11-14 22:13:20 UTC",
            "1 s buckets",
        ] {
            assert!(rate.contains(text), "no {text:?}");
        }
        // One 3-point line per op (legend swatches are 2-point lines).
        let lines = rate.matches("<polyline").count();
        let three_point = rate
            .split("<polyline")
            .skip(1)
            .filter(|el| {
                el.split("points=\"")
                    .nth(1)
                    .and_then(|p| p.split('"').next())
                    .map(|p| p.split_whitespace().count())
                    == Some(3)
            })
            .count();
        assert!(lines >= 2);
        assert_eq!(three_point, 2);

        let lat = std::fs::read_to_string(&files[1]).unwrap();
        assert_well_nested(&lat);
        assert!(
            lat.contains("getData: n=3, p99 &lt; 2ms, max 1.60ms"),
            "{lat}"
        );
        assert!(lat.contains("setData: n=1, p99 &lt; 50ms, max 30.0ms"));
        assert!(lat.contains("\n100us\n") && lat.contains("\n1ms\n") && lat.contains("\n10ms\n"));
        assert!(!lat.contains("\n20ms\n"), "only decades are labelled");
        // Bars: one filled rect per non-empty bucket at least.
        assert!(lat.matches("<rect").count() >= 3);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn nothing_to_plot_writes_nothing() {
        let dir = temp_dir("plot-empty");
        assert!(PlotCollector::default().write(&dir).unwrap().is_empty());
        assert!(!dir.exists());
    }

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_700_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
    }
}
