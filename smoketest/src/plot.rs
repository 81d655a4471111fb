//! `--out DIR`: SVG charts of a run (or of a merge), drawn with plotters
//! (SVG text needs no fonts on the machine that draws it).
//!
//! - `latency-<op>.svg`: the latency CDF of each measured op, a line per
//!   server, on a log axis so LAN and WAN members fit on one chart;
//! - `watch-matrix.svg`: the watch fan-out matrix as a heatmap of p99;
//! - `soak-ping.svg`: ping RTT over the soak, a line per server (`--soak`).

use std::path::{Path, PathBuf};

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::error::{Error, Result};
use crate::hist::{ms, Hist, Summary};
use crate::results::{RunResult, ServerResult};

type Getter = fn(&ServerResult) -> Option<&Summary>;

/// The per-server latencies that get a CDF chart: file stem and title.
const OPS: [(&str, &str, Getter); 7] = [
    ("read", "read (exists)", |s| s.read.as_ref()),
    ("sync", "sync", |s| s.sync.as_ref()),
    ("write", "write (setData)", |s| s.write.as_ref()),
    ("create", "create (ephemeral)", |s| s.create.as_ref()),
    ("delete", "delete", |s| s.delete.as_ref()),
    ("herd", "herd connect + handshake", |s| {
        s.herd.as_ref()?.connect.as_ref()
    }),
    ("soak", "soak ping", |s| s.soak.as_ref()?.ping.as_ref()),
];

/// One CDF line: its legend and histogram.
pub type Line = (String, Hist);

fn chart_err(chart: &str) -> impl Fn(String) -> Error + '_ {
    move |why| Error::Chart {
        chart: chart.to_string(),
        why,
    }
}

/// Writes every chart the results allow into `dir` (created if missing).
pub fn write_charts(r: &RunResult, dir: &Path) -> Result<Vec<PathBuf>> {
    let mut charts: Vec<(String, String)> = Vec::new();
    let mode = match r.open_loop_rate {
        Some(rate) => format!("open loop, {rate} ops/s per server"),
        None => "closed loop".to_string(),
    };
    for (stem, title, get) in OPS {
        let lines: Vec<Line> = r
            .servers
            .iter()
            .filter_map(|s| {
                let sum = get(s)?;
                Some((legend(&s.info.addr, sum), sum.to_hist()?))
            })
            .collect();
        if lines.is_empty() {
            continue;
        }
        let title = match stem {
            "read" | "write" => format!("{title} latency CDF, {mode}"),
            _ => format!("{title} latency CDF"),
        };
        let name = format!("latency-{stem}.svg");
        charts.push((name.clone(), cdf_svg(&name, &title, &lines)?));
    }
    if r.watch_matrix.iter().flatten().any(Option::is_some) {
        let name = "watch-matrix.svg".to_string();
        charts.push((name.clone(), heatmap_svg(&name, r)?));
    }
    if r.servers.iter().any(|s| s.soak.is_some()) {
        let name = "soak-ping.svg".to_string();
        charts.push((name.clone(), soak_svg(&name, r)?));
    }
    write_all(dir, charts)
}

/// Writes named SVG texts into `dir`.
pub fn write_all(dir: &Path, charts: Vec<(String, String)>) -> Result<Vec<PathBuf>> {
    let out = |source| Error::Output {
        path: dir.display().to_string(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(out)?;
    let mut written = Vec::new();
    for (name, svg) in charts {
        let path = dir.join(name);
        std::fs::write(&path, svg).map_err(|source| Error::Output {
            path: path.display().to_string(),
            source,
        })?;
        written.push(path);
    }
    Ok(written)
}

pub fn legend(addr: &str, s: &Summary) -> String {
    format!(
        "{addr}  p50 {} p99 {} (n={})",
        ms(s.p50_us),
        ms(s.p99_us),
        s.count
    )
}

/// A latency CDF, a line per entry, log-scaled latency axis.
pub fn cdf_svg(name: &str, title: &str, lines: &[Line]) -> Result<String> {
    let err = chart_err(name);
    let e = |x: &dyn std::fmt::Display| err(x.to_string());
    let curves: Vec<(String, Vec<(f64, f64)>)> = lines
        .iter()
        .map(|(label, h)| {
            // Steps: the fraction jumps at each recorded latency.
            let mut pts = Vec::new();
            let mut prev = 0.0;
            for (us, f) in h.cdf() {
                let x = us.max(1) as f64 / 1000.0;
                pts.push((x, prev));
                pts.push((x, f));
                prev = f;
            }
            (label.clone(), pts)
        })
        .collect();
    let xs = curves.iter().flat_map(|(_, p)| p.iter().map(|p| p.0));
    let lo = xs.clone().fold(f64::INFINITY, f64::min);
    let hi = xs.fold(0.0, f64::max);
    let (lo, hi) = if lo.is_finite() && hi > 0.0 {
        (lo * 0.8, hi * 1.25)
    } else {
        (0.001, 1.0)
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1000, 600)).into_drawing_area();
        root.fill(&WHITE).map_err(|x| e(&x))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22))
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d((lo..hi).log_scale(), 0.0..1.0)
            .map_err(|x| e(&x))?;
        chart
            .configure_mesh()
            .x_desc("latency, ms (log scale)")
            .y_desc("fraction of requests at or below")
            .x_labels(16)
            .x_label_formatter(&|v| {
                if *v >= 10.0 {
                    format!("{v:.0}")
                } else if *v >= 1.0 {
                    format!("{v:.1}")
                } else {
                    format!("{v:.2}")
                }
            })
            .draw()
            .map_err(|x| e(&x))?;
        for (i, (label, pts)) in curves.into_iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(pts, color.stroke_width(2)))
                .map_err(|x| e(&x))?
                .label(label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|x| e(&x))?;
        root.present().map_err(|x| e(&x))?;
    }
    Ok(svg)
}

/// Green at the fastest cell's value to red at 10× it: a log scale, so
/// cells that differ by noise look alike and a far member stands out.
fn heat(v: f64, min: f64) -> RGBColor {
    let f = if min > 0.0 {
        (v / min).log10().clamp(0.0, 1.0)
    } else {
        0.0
    };
    RGBColor((60.0 + 195.0 * f) as u8, (200.0 - 150.0 * f) as u8, 80)
}

fn heatmap_svg(name: &str, r: &RunResult) -> Result<String> {
    let err = chart_err(name);
    let e = |x: &dyn std::fmt::Display| err(x.to_string());
    let n = r.watch_matrix.len() as i32;
    let addr = |i: i32| {
        r.servers
            .get(i as usize)
            .map(|s| s.info.addr.clone())
            .unwrap_or_default()
    };
    let min = r
        .watch_matrix
        .iter()
        .flatten()
        .flatten()
        .map(|c| c.p99_us as f64)
        .fold(f64::INFINITY, f64::min);
    let side = (200 * n as u32).max(400);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (side + 220, side + 120)).into_drawing_area();
        root.fill(&WHITE).map_err(|x| e(&x))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "watch fan-out p50 / p99, write on row → notification on column (green: fastest p99, red: 10x)",
                ("sans-serif", 20),
            )
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(180)
            // An i32 range includes its end: 0..n-1 gives n segments.
            .build_cartesian_2d((0..n - 1).into_segmented(), (0..n - 1).into_segmented())
            .map_err(|x| e(&x))?;
        // Rows are drawn bottom-up; label them so writer 0 is on top.
        let col = |v: &SegmentValue<i32>| match v {
            SegmentValue::CenterOf(i) => addr(*i),
            _ => String::new(),
        };
        let row = |v: &SegmentValue<i32>| match v {
            SegmentValue::CenterOf(i) => addr(n - 1 - *i),
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(n as usize + 1)
            .y_labels(n as usize + 1)
            .x_label_formatter(&col)
            .y_label_formatter(&row)
            .x_desc("watcher")
            .y_desc("writer")
            .draw()
            .map_err(|x| e(&x))?;
        for (w, cells) in r.watch_matrix.iter().enumerate() {
            let y = n - 1 - w as i32;
            for (j, cell) in cells.iter().enumerate() {
                let x = j as i32;
                let (color, text) = match cell {
                    Some(c) => (
                        heat(c.p99_us as f64, min),
                        format!("{} / {}", ms(c.p50_us), ms(c.p99_us)),
                    ),
                    None => (RGBColor(220, 220, 220), "-".to_string()),
                };
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [
                            (SegmentValue::Exact(x), SegmentValue::Exact(y)),
                            (SegmentValue::Exact(x + 1), SegmentValue::Exact(y + 1)),
                        ],
                        color.filled(),
                    )))
                    .map_err(|x| e(&x))?;
                chart
                    .draw_series(std::iter::once(Text::new(
                        text,
                        (SegmentValue::CenterOf(x), SegmentValue::CenterOf(y)),
                        ("sans-serif", 16)
                            .into_font()
                            .color(&BLACK)
                            .pos(Pos::new(HPos::Center, VPos::Center)),
                    )))
                    .map_err(|x| e(&x))?;
            }
        }
        root.present().map_err(|x| e(&x))?;
    }
    Ok(svg)
}

/// Legend, (seconds, RTT ms) of answered pings, seconds of failed ones.
type SoakLine = (String, Vec<(f64, f64)>, Vec<f64>);

fn soak_svg(name: &str, r: &RunResult) -> Result<String> {
    let err = chart_err(name);
    let e = |x: &dyn std::fmt::Display| err(x.to_string());
    let lines: Vec<SoakLine> = r
        .servers
        .iter()
        .filter_map(|s| {
            let soak = s.soak.as_ref()?;
            let ok = soak
                .series
                .iter()
                .filter_map(|p| Some((p.at_ms as f64 / 1000.0, p.rtt_us? as f64 / 1000.0)))
                .collect();
            let failed = soak
                .series
                .iter()
                .filter(|p| p.rtt_us.is_none())
                .map(|p| p.at_ms as f64 / 1000.0)
                .collect();
            let label = format!(
                "{}  {} pings, {} lost, {} disconnects, {} expiries",
                s.info.addr, soak.pings, soak.lost, soak.disconnects, soak.expiries
            );
            Some((label, ok, failed))
        })
        .collect();
    let x_max = lines
        .iter()
        .flat_map(|l| l.1.iter().map(|p| p.0).chain(l.2.iter().copied()))
        .fold(1.0, f64::max)
        + 0.5;
    let y_max = lines
        .iter()
        .flat_map(|l| l.1.iter().map(|p| p.1))
        .fold(0.1, f64::max)
        * 1.2;
    let timeout = r
        .soak
        .as_ref()
        .map(|c| {
            format!(
                ", session timeout {}ms ({})",
                c.requested_timeout_ms, c.timeout_source
            )
        })
        .unwrap_or_default();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1000, 600)).into_drawing_area();
        root.fill(&WHITE).map_err(|x| e(&x))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("soak: ping RTT over time{timeout}"),
                ("sans-serif", 20),
            )
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..x_max, 0.0..y_max)
            .map_err(|x| e(&x))?;
        chart
            .configure_mesh()
            .x_desc("seconds into the soak")
            .y_desc("ping RTT, ms (failed pings: red crosses at the top)")
            .draw()
            .map_err(|x| e(&x))?;
        for (i, (label, ok, failed)) in lines.into_iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(ok.clone(), color.stroke_width(2)))
                .map_err(|x| e(&x))?
                .label(label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
            chart
                .draw_series(ok.into_iter().map(|p| Circle::new(p, 3, color.filled())))
                .map_err(|x| e(&x))?;
            chart
                .draw_series(
                    failed
                        .into_iter()
                        .map(|x| Cross::new((x, y_max * 0.97), 6, RED.stroke_width(2))),
                )
                .map_err(|x| e(&x))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|x| e(&x))?;
        root.present().map_err(|x| e(&x))?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn cdf_chart_names_every_line() {
        let mut a = Hist::default();
        let mut b = Hist::default();
        for k in 1..50u64 {
            a.record(Duration::from_micros(200 + k));
            b.record(Duration::from_millis(40 + k % 3));
        }
        let svg = cdf_svg(
            "t.svg",
            "read",
            &[("10.0.0.1:2181".into(), a), ("10.0.0.2:2181".into(), b)],
        )
        .unwrap();
        assert!(
            svg.starts_with("<svg")
                && svg.contains("10.0.0.1:2181")
                && svg.contains("10.0.0.2:2181")
        );
    }
}
