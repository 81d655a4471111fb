//! Drawing: status and totals on top, the selected table in the middle, the
//! keys at the bottom. Everything degrades to fewer columns on narrow
//! terminals rather than failing.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, Cell, Clear, Paragraph, Row, Sparkline, Table, TableState, Tabs, Wrap,
};
use ratatui::Frame;

use crate::stats::{fmt_bytes, fmt_rate, fmt_us, LatencySummary, Row as StatsRow, SortKey};

use super::app::{is_other, App, ErrorRow, Tab};
use super::input::HELP;

/// Below this width the dimension tables drop bytes and the lesser percentiles.
const WIDE: u16 = 90;

const FOOTER_KEYS: &[(&str, &str)] = &[
    ("q", "quit"),
    ("Tab/1-5", "table"),
    ("s/S", "sort"),
    ("p", "pause"),
    ("/", "filter"),
    ("↑↓ PgUp/PgDn", "scroll"),
    ("r", "reset"),
    ("?", "help"),
];

pub fn draw(f: &mut Frame, app: &mut App) {
    let area = f.area();
    let (totals, capture, footer) = (totals_line(app), capture_line(app), footer(app));
    let [status_a, totals_a, capture_a, spark_a, tabs_a, table_a, footer_a] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(height(&totals, area.width)),
        Constraint::Length(height(&capture, area.width)),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(height(&footer, area.width)),
    ])
    .areas(area);
    f.render_widget(Paragraph::new(status_line(app)), status_a);
    f.render_widget(wrapped(totals), totals_a);
    f.render_widget(wrapped(capture), capture_a);
    draw_sparkline(f, app, spark_a);
    draw_tabs(f, app, tabs_a);
    draw_table(f, app, table_a);
    f.render_widget(wrapped(footer), footer_a);
    if app.help {
        draw_help(f, area);
    }
}

/// Narrow terminals get the header and footer on two lines rather than cut;
/// more would leave no room for the table.
fn height(line: &Line, width: u16) -> u16 {
    if line.width() <= usize::from(width) {
        1
    } else {
        2
    }
}

fn wrapped(line: Line<'static>) -> Paragraph<'static> {
    Paragraph::new(line).wrap(Wrap { trim: true })
}

fn status_line(app: &App) -> Line<'static> {
    let snap = &app.view.snapshot;
    // State first: on a narrow terminal it is what must not be cut off.
    let mut spans = vec![" zktraffic top ".bold().reversed(), " ".into()];
    match &app.view.capture.ended {
        Some(why) => spans.push(format!(" ENDED: {why} ").white().on_red()),
        None => spans.push(" LIVE ".black().on_green()),
    }
    if app.paused {
        spans.push(" ".into());
        spans.push(" PAUSED (capture continues) ".black().on_yellow());
    }
    spans.push(
        format!(
            "  {}  window {:.1}s  sort {}",
            app.source,
            snap.window_secs,
            app.sort.name()
        )
        .into(),
    );
    Line::from(spans)
}

fn totals_line(app: &App) -> Line<'static> {
    let t = &app.view.snapshot.totals;
    let r = &t.requests;
    let pct = if r.count > 0 {
        format!(" ({:.1}%)", 100.0 * r.errors as f64 / r.count as f64)
    } else {
        String::new()
    };
    let lat = |f: fn(&LatencySummary) -> u64| {
        r.latency
            .as_ref()
            .map_or_else(|| "-".into(), |l| fmt_us(f(l)))
    };
    let err_style = if r.errors > 0 {
        Style::new().fg(Color::Red)
    } else {
        Style::new()
    };
    Line::from(vec![
        kv("reqs", r.count.to_string()),
        kv("req/s", fmt_rate(r.rate)),
        Span::from("errors\u{a0}"),
        Span::styled(glue(&format!("{}{pct}", r.errors)), err_style),
        "  ".into(),
        kv("p50", lat(|l| l.p50_us)),
        kv("p99", lat(|l| l.p99_us)),
        kv("max", lat(|l| l.max_us)),
        kv(
            "conns",
            format!("{} ({} open)", t.connections, t.open_connections),
        ),
        kv(
            "sessions",
            format!(
                "{}{}",
                t.sessions,
                if t.sessions_saturated { "+" } else { "" }
            ),
        ),
        kv("watches", t.notifications.to_string()),
    ])
}

fn capture_line(app: &App) -> Line<'static> {
    let c = &app.view.capture.counters;
    let drops = match app.view.capture.kernel {
        Some(k) if k.if_dropped > 0 => format!("{} (+{} at interface)", k.dropped, k.if_dropped),
        Some(k) => k.dropped.to_string(),
        None => "-".into(),
    };
    let warn = |n: u64| {
        if n > 0 {
            Style::new().fg(Color::Yellow)
        } else {
            Style::new()
        }
    };
    let kernel_warn = app
        .view
        .capture
        .kernel
        .is_some_and(|k| k.dropped + k.if_dropped > 0);
    Line::from(vec![
        Span::from("capture: ").dim(),
        kv("packets", c.packets.to_string()),
        kv("frames", c.conversation.frames.to_string()),
        Span::from(glue("kernel drops ")),
        Span::styled(glue(&drops), warn(u64::from(kernel_warn))),
        "  ".into(),
        Span::from("gaps\u{a0}"),
        Span::styled(
            glue(&format!(
                "{} ({})",
                c.stream.gaps,
                fmt_bytes(c.stream.gap_bytes)
            )),
            warn(c.stream.gaps),
        ),
        "  ".into(),
        kv("decode errors", c.conversation.decode_errors.to_string()),
        kv("unpaired", c.conversation.unpaired_replies.to_string()),
    ])
}

fn kv(k: &str, v: String) -> Span<'static> {
    Span::from(glue(&format!("{k} {v}")) + "  ")
}

fn glue(s: &str) -> String {
    s.replace(' ', "\u{a0}")
}

fn draw_sparkline(f: &mut Frame, app: &App, area: Rect) {
    let h = &app.view.history;
    let right = match h.last() {
        Some(now) => format!(" last {now}/s  peak {}/s", h.iter().max().unwrap_or(&0)),
        None => String::new(),
    };
    let [label, bars, tail] = Layout::horizontal([
        Constraint::Length(7),
        Constraint::Min(0),
        Constraint::Length(right.chars().count() as u16),
    ])
    .areas(area);
    f.render_widget(Paragraph::new("req/s ".dim()), label);
    // Newest at the right edge, as much history as fits.
    let shown = &h[h.len().saturating_sub(bars.width as usize)..];
    f.render_widget(
        Sparkline::default()
            .data(shown)
            .style(Style::new().fg(Color::Cyan)),
        bars,
    );
    f.render_widget(Paragraph::new(right), tail);
}

fn draw_tabs(f: &mut Frame, app: &App, area: Rect) {
    let filter = match (&app.input, app.filter.is_empty()) {
        (None, true) => String::new(),
        _ => format!(" filter: {} ", app.filter),
    };
    let [tabs, right] = Layout::horizontal([
        Constraint::Min(0),
        Constraint::Length(filter.chars().count() as u16),
    ])
    .areas(area);
    let titles = Tab::ALL
        .iter()
        .enumerate()
        .map(|(i, t)| format!("{} {}", i + 1, t.title()));
    let selected = Tab::ALL.iter().position(|t| *t == app.tab);
    f.render_widget(
        Tabs::new(titles)
            .select(selected)
            .highlight_style(Style::new().reversed().bold()),
        tabs,
    );
    f.render_widget(Paragraph::new(filter.black().on_cyan()), right);
}

fn draw_table(f: &mut Frame, app: &mut App, area: Rect) {
    if area.height == 0 {
        return;
    }
    // The header takes a line; the rest scrolls.
    let page = usize::from(area.height - 1);
    app.page = page.max(1);
    if app.selected < app.offset {
        app.offset = app.selected;
    } else if page > 0 && app.selected >= app.offset + page {
        app.offset = app.selected + 1 - page;
    }
    let wide = area.width >= WIDE;
    let (header, widths, rows, total) = match app.tab {
        Tab::Errors => {
            let all = app.error_rows();
            let rows: Vec<Row> = window(&all, app.offset, page)
                .iter()
                .map(error_row)
                .collect();
            (error_header(), error_widths(&all), rows, all.len())
        }
        tab => {
            let all = app.rows();
            let rows: Vec<Row> = window(&all, app.offset, page)
                .iter()
                .map(|r| stats_row(r, wide))
                .collect();
            (
                stats_header(tab, app.sort, wide),
                stats_widths(wide),
                rows,
                all.len(),
            )
        }
    };
    if total == 0 {
        let msg = if app.filter.is_empty() {
            "no requests yet".to_string()
        } else {
            format!("no rows match filter {:?}", app.filter)
        };
        f.render_widget(Paragraph::new(msg.dim()), area);
        return;
    }
    let mut state = TableState::default().with_selected(Some(app.selected - app.offset));
    let table = Table::new(rows, widths)
        .header(header.style(Style::new().bold().reversed()))
        .row_highlight_style(Style::new().bg(Color::DarkGray).bold())
        .column_spacing(1);
    f.render_stateful_widget(table, area, &mut state);
}

fn window<T>(all: &[T], offset: usize, n: usize) -> &[T] {
    let start = offset.min(all.len());
    &all[start..(start + n).min(all.len())]
}

fn stats_header(tab: Tab, sort: SortKey, wide: bool) -> Row<'static> {
    let key = match tab {
        Tab::Ops => "OP",
        Tab::Paths => "PATH",
        Tab::Clients => "CLIENT",
        Tab::Sessions => "SESSION",
        Tab::Errors => "",
    };
    let cols: Vec<(&str, &[SortKey])> = if wide {
        vec![
            (key, &[SortKey::Key]),
            ("REQS", &[SortKey::Count]),
            ("REQ/S", &[SortKey::Rate]),
            ("IN", &[SortKey::BytesIn, SortKey::Bytes]),
            ("OUT", &[SortKey::BytesOut, SortKey::Bytes]),
            ("ERRS", &[SortKey::Errors]),
            ("P50", &[SortKey::P50]),
            ("P95", &[SortKey::P95]),
            ("P99", &[SortKey::P99]),
            ("MAX", &[SortKey::Max]),
        ]
    } else {
        vec![
            (key, &[SortKey::Key]),
            ("REQS", &[SortKey::Count]),
            ("REQ/S", &[SortKey::Rate]),
            ("ERRS", &[SortKey::Errors]),
            ("P99", &[SortKey::P99]),
        ]
    };
    Row::new(cols.into_iter().enumerate().map(|(i, (name, keys))| {
        let mark = if keys.contains(&sort) { "▼" } else { "" };
        let text = format!("{name}{mark}");
        if i == 0 {
            Cell::from(text)
        } else {
            Cell::from(Line::from(text).right_aligned())
        }
    }))
}

fn stats_widths(wide: bool) -> Vec<Constraint> {
    let n = if wide { 9 } else { 4 };
    std::iter::once(Constraint::Fill(1))
        .chain(std::iter::repeat_n(Constraint::Length(7), n))
        .collect()
}

fn stats_row(r: &StatsRow, wide: bool) -> Row<'static> {
    let lat = |f: fn(&LatencySummary) -> u64| {
        r.latency
            .as_ref()
            .map_or_else(|| "-".to_string(), |l| fmt_us(f(l)))
    };
    let num = |s: String| Cell::from(Line::from(s).right_aligned());
    let errs = if r.errors > 0 {
        Cell::from(Line::from(r.errors.to_string()).right_aligned().red())
    } else {
        num("0".into())
    };
    let mut cells = vec![
        Cell::from(r.key.clone()),
        num(r.count.to_string()),
        num(fmt_rate(r.rate)),
    ];
    if wide {
        cells.push(num(fmt_bytes(r.bytes_in)));
        cells.push(num(fmt_bytes(r.bytes_out)));
        cells.push(errs);
        cells.push(num(lat(|l| l.p50_us)));
        cells.push(num(lat(|l| l.p95_us)));
    } else {
        cells.push(errs);
    }
    cells.push(num(lat(|l| l.p99_us)));
    if wide {
        cells.push(num(lat(|l| l.max_us)));
    }
    let row = Row::new(cells);
    if is_other(r) {
        row.italic().dim()
    } else {
        row
    }
}

fn error_header() -> Row<'static> {
    Row::new([
        Cell::from("OP"),
        Cell::from("ERROR"),
        Cell::from(Line::from("COUNT").right_aligned()),
        Cell::from(Line::from("% OF OP").right_aligned()),
    ])
}

/// Op and code names are short; sized to fit them, the numbers stay next to them.
fn error_widths(rows: &[ErrorRow]) -> Vec<Constraint> {
    let widest = |f: fn(&ErrorRow) -> &str, min: usize| {
        let w = rows.iter().map(|r| f(r).chars().count()).max().unwrap_or(0);
        u16::try_from(w.max(min)).unwrap_or(u16::MAX)
    };
    vec![
        Constraint::Length(widest(|r| &r.op, 2)),
        Constraint::Length(widest(|r| &r.code, 5)),
        Constraint::Length(7),
        Constraint::Length(8),
        Constraint::Fill(1),
    ]
}

fn error_row(e: &ErrorRow) -> Row<'static> {
    let share = if e.op_count > 0 {
        format!("{:.1}%", 100.0 * e.count as f64 / e.op_count as f64)
    } else {
        "-".into()
    };
    Row::new([
        Cell::from(e.op.clone()),
        Cell::from(e.code.clone().red()),
        Cell::from(Line::from(e.count.to_string()).right_aligned()),
        Cell::from(Line::from(share).right_aligned()),
    ])
}

fn footer(app: &App) -> Line<'static> {
    if let Some(input) = &app.input {
        return Line::from(vec![
            "filter: ".bold(),
            Span::from(format!("{input}█")),
            "   Enter apply · Esc clear · /prefix for paths, text matches keys".dim(),
        ]);
    }
    let mut spans = Vec::new();
    for (k, what) in FOOTER_KEYS {
        spans.push(Span::styled(
            glue(k),
            Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
        ));
        spans.push(Span::from(glue(&format!(" {what}")) + "  "));
    }
    Line::from(spans)
}

fn draw_help(f: &mut Frame, area: Rect) {
    let lines: Vec<Line> = HELP
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!("{k:<20}"), Style::new().fg(Color::Cyan).bold()),
                Span::from(*what),
            ])
        })
        .collect();
    let w = (lines.iter().map(Line::width).max().unwrap_or(0) as u16 + 4).min(area.width);
    let h = (lines.len() as u16 + 2).min(area.height);
    let popup = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    f.render_widget(Clear, popup);
    f.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" keys (any key closes) ")),
        popup,
    );
}
