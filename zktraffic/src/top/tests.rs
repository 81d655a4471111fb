//! The view rendered into ratatui's in-memory backend, asserted on as text.

use std::sync::atomic::AtomicBool;
use std::sync::Mutex;
use std::time::Duration;

use clap::Parser;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use zkproto::{ErrorCode, OpCode};

use super::app::{App, Tab};
use super::input::Action;
use super::*;
use crate::cli::{Cli, Mode};
use crate::stats::test_events::{ev, exchange, ms};

const BASE: Duration = Duration::from_secs(1_700_000_000);

fn shared() -> Shared {
    Shared::new(StatsConfig::default())
}

/// getData ×5 at 1 ms (two NoNode), create ×3 at 4 ms (NodeExists),
/// setData ×2 at 9 ms: by count getData leads, by p99 setData does.
fn feed_ops(s: &mut Shared) {
    for (op, n, lat, path, client) in [
        (OpCode::GetData, 5, 1, "/app/config", "10.0.0.2:4000"),
        (OpCode::Create, 3, 4, "/app/locks/l1", "10.0.0.3:4000"),
        (OpCode::SetData, 2, 9, "/other/x", "10.0.0.4:4000"),
    ] {
        for i in 0..n {
            let mut x = exchange(client, op, Some(path), BASE + ms(i * 400), ms(lat));
            x.err = Some(match (op, i) {
                (OpCode::GetData, 0 | 1) => ErrorCode::NO_NODE,
                (OpCode::Create, 0) => ErrorCode::NODE_EXISTS,
                _ => ErrorCode::OK,
            });
            s.observe(&ev(x));
        }
    }
}

fn app_for(s: &Shared) -> App {
    App::new("-r test.pcap", SortKey::Count, s.view(SortKey::Count))
}

/// The screen as lines of text; non-breaking spaces read as spaces.
fn render(app: &mut App, w: u16, h: u16) -> Vec<String> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| widgets::draw(f, app)).unwrap();
    let buf = t.backend().buffer();
    (0..h)
        .map(|y| {
            (0..w)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
                .replace('\u{a0}', " ")
        })
        .collect()
}

/// Index of the first line containing `needle`.
fn line_of(screen: &[String], needle: &str) -> Option<usize> {
    screen.iter().position(|l| l.contains(needle))
}

fn table_keys(screen: &[String], header: &str) -> Vec<String> {
    let h = line_of(screen, header).expect("table header");
    screen[h + 1..]
        .iter()
        .map_while(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

#[test]
fn header_shows_totals_and_capture_counters() {
    let mut s = shared();
    feed_ops(&mut s);
    s.capture.counters.packets = 42;
    s.capture.counters.stream.gaps = 3;
    s.capture.kernel = Some(KernelStats {
        received: 50,
        dropped: 7,
        if_dropped: 0,
    });
    let screen = render(&mut app_for(&s), 120, 30);
    let text = screen.join("\n");
    assert!(screen[0].contains("zktraffic top"), "{text}");
    assert!(screen[0].contains("LIVE"), "{text}");
    for want in [
        "reqs 10",
        "errors 3 (30.0%)",
        "p99 9.00ms",
        "conns 3 (3 open)",
        "sessions 1",
        "packets 42",
        "kernel drops 7",
        "gaps 3",
        "req/s",
    ] {
        assert!(text.contains(want), "{want:?} missing in\n{text}");
    }
}

#[test]
fn rows_follow_the_sort_key() {
    let mut s = shared();
    feed_ops(&mut s);
    let mut app = app_for(&s);
    let screen = render(&mut app, 120, 30);
    assert_eq!(
        table_keys(&screen, "REQS▼"),
        ["getData", "create", "setData"],
        "{}",
        screen.join("\n")
    );
    // Count → rate → errors → p50 → p95 → p99.
    for _ in 0..5 {
        app.apply(Action::SortNext);
    }
    assert_eq!(app.sort, SortKey::P99);
    let screen = render(&mut app, 120, 30);
    assert!(screen[0].contains("sort p99"));
    assert_eq!(
        table_keys(&screen, "P99▼"),
        ["setData", "create", "getData"]
    );
    app.apply(Action::SortPrev);
    assert_eq!(app.sort, SortKey::P95);
}

#[test]
fn filter_hides_rows_but_not_totals() {
    let mut s = shared();
    feed_ops(&mut s);
    let mut app = app_for(&s);
    app.apply(Action::Tab(1));
    assert_eq!(
        table_keys(&render(&mut app, 120, 30), "PATH"),
        ["/app/config", "/app/locks/l1", "/other/x"]
    );
    app.apply(Action::EditFilter);
    for c in "/app".chars() {
        app.apply(Action::FilterChar(c));
    }
    let editing = render(&mut app, 120, 30);
    assert!(editing.iter().any(|l| l.contains("filter: /app")));
    app.apply(Action::ApplyFilter);
    let screen = render(&mut app, 120, 30);
    assert_eq!(
        table_keys(&screen, "PATH"),
        ["/app/config", "/app/locks/l1"]
    );
    assert!(screen.join("\n").contains("reqs 10"));
    // Editing starts from the applied filter.
    app.apply(Action::EditFilter);
    app.apply(Action::FilterBackspace);
    app.apply(Action::ApplyFilter);
    assert_eq!(app.filter, "/ap");
    // A path prefix stops at component boundaries: /ap is not /app.
    let text = render(&mut app, 120, 30).join("\n");
    assert!(text.contains("no rows match filter \"/ap\""), "{text}");
    // Clients filter by substring.
    app.apply(Action::Tab(2));
    app.apply(Action::ClearFilter);
    app.apply(Action::EditFilter);
    for c in ".3".chars() {
        app.apply(Action::FilterChar(c));
    }
    app.apply(Action::ApplyFilter);
    assert_eq!(
        table_keys(&render(&mut app, 120, 30), "CLIENT"),
        ["10.0.0.3"]
    );
    app.apply(Action::ClearFilter);
    assert_eq!(table_keys(&render(&mut app, 120, 30), "CLIENT").len(), 3);
}

#[test]
fn a_filter_matching_nothing_says_so() {
    let mut s = shared();
    feed_ops(&mut s);
    let mut app = app_for(&s);
    app.apply(Action::EditFilter);
    app.apply(Action::FilterChar('z'));
    app.apply(Action::ApplyFilter);
    let text = render(&mut app, 120, 30).join("\n");
    assert!(text.contains("no rows match filter \"z\""), "{text}");
}

#[test]
fn pause_freezes_the_display_while_counting_continues() {
    let mut s = shared();
    feed_ops(&mut s);
    let mut app = app_for(&s);
    app.apply(Action::TogglePause);
    for i in 0..5 {
        s.observe(&ev(exchange(
            "10.0.0.9:1",
            OpCode::Exists,
            Some("/new"),
            BASE + ms(3000 + i),
            ms(1),
        )));
    }
    app.update(s.view(app.sort));
    let text = render(&mut app, 120, 30).join("\n");
    assert!(text.contains("PAUSED"), "{text}");
    assert!(text.contains("reqs 10 "), "{text}");
    assert!(!text.contains("exists"), "{text}");
    // Sorting a frozen view re-sorts what was frozen.
    app.apply(Action::Tab(0));
    for _ in 0..5 {
        app.apply(Action::SortNext);
    }
    assert_eq!(
        table_keys(&render(&mut app, 120, 30), "P99▼"),
        ["setData", "create", "getData"]
    );
    app.apply(Action::TogglePause);
    app.update(s.view(app.sort));
    let text = render(&mut app, 120, 30).join("\n");
    assert!(text.contains("reqs 15 "), "{text}");
    assert!(text.contains("exists"), "{text}");
    assert!(!text.contains("PAUSED"), "{text}");
}

#[test]
fn paused_view_still_learns_that_the_capture_ended() {
    let mut s = shared();
    feed_ops(&mut s);
    let mut app = app_for(&s);
    app.apply(Action::TogglePause);
    s.capture.ended = Some("end of input".into());
    app.update(s.view(app.sort));
    let screen = render(&mut app, 120, 30);
    assert!(screen[0].contains("ENDED: end of input"), "{}", screen[0]);
    assert!(!screen[0].contains("LIVE"));
}

#[test]
fn footer_always_shows_the_keys() {
    let mut s = shared();
    feed_ops(&mut s);
    let mut app = app_for(&s);
    let screen = render(&mut app, 120, 30);
    let last = screen.last().unwrap();
    for want in [
        "q quit", "s/S sort", "p pause", "/ filter", "r reset", "? help",
    ] {
        assert!(last.contains(want), "{want:?} not in {last:?}");
    }
    // Narrow: two lines, still every key.
    let screen = render(&mut app, 60, 15);
    let footer = screen[13..].join(" ");
    for want in ["q quit", "Tab/1-5 table", "? help"] {
        assert!(footer.contains(want), "{want:?} not in {footer:?}");
    }
}

#[test]
fn errors_tab_lists_codes_by_op() {
    let mut s = shared();
    feed_ops(&mut s);
    let mut app = app_for(&s);
    app.apply(Action::Tab(4));
    assert_eq!(app.tab, Tab::Errors);
    let screen = render(&mut app, 120, 30);
    let h = line_of(&screen, "ERROR").unwrap();
    let first: Vec<&str> = screen[h + 1].split_whitespace().collect();
    assert_eq!(first, ["getData", "NoNode", "2", "40.0%"]);
    let second: Vec<&str> = screen[h + 2].split_whitespace().collect();
    assert_eq!(second, ["create", "NodeExists", "1", "33.3%"]);
}

#[test]
fn tabs_cycle_both_ways() {
    let mut app = app_for(&shared());
    app.apply(Action::PrevTab);
    assert_eq!(app.tab, Tab::Errors);
    app.apply(Action::NextTab);
    assert_eq!(app.tab, Tab::Ops);
    app.apply(Action::Tab(9));
    assert_eq!(app.tab, Tab::Ops);
    let text = render(&mut app, 120, 30).join("\n");
    assert!(text.contains("no requests yet"), "{text}");
}

#[test]
fn selection_scrolls_the_table() {
    let mut s = shared();
    for i in 0..40 {
        s.observe(&ev(exchange(
            "10.0.0.2:1",
            OpCode::GetData,
            Some(&format!("/p{i:02}")),
            BASE + ms(i),
            ms(1),
        )));
    }
    let mut app = app_for(&s);
    app.apply(Action::Tab(1));
    app.apply(Action::Home);
    let first = table_keys(&render(&mut app, 120, 20), "PATH");
    assert_eq!(first[0], "/p00");
    let page = app.page;
    app.apply(Action::PageDown);
    assert_eq!(app.selected, page);
    let screen = render(&mut app, 120, 20);
    assert!(table_keys(&screen, "PATH").contains(&format!("/p{page:02}")));
    assert_ne!(table_keys(&screen, "PATH")[0], "/p00");
    app.apply(Action::End);
    assert_eq!(app.selected, 39);
    assert!(table_keys(&render(&mut app, 120, 20), "PATH").contains(&"/p39".to_string()));
    app.apply(Action::Down);
    assert_eq!(app.selected, 39);
    app.apply(Action::Home);
    app.apply(Action::Up);
    assert_eq!(app.selected, 0);
}

#[test]
fn small_terminals_do_not_panic() {
    let mut s = shared();
    feed_ops(&mut s);
    s.capture.ended = Some("capture failed: a long reason that will not fit".into());
    let mut app = app_for(&s);
    for (w, h) in [(60, 15), (40, 8), (20, 4), (1, 1), (200, 3)] {
        for tab in 0..5 {
            app.apply(Action::Tab(tab));
            render(&mut app, w, h);
            app.help = true;
            render(&mut app, w, h);
            app.help = false;
        }
    }
    app.apply(Action::Tab(0));
    let screen = render(&mut app, 60, 15);
    // Narrow tables keep the key, the counts and p99.
    assert!(line_of(&screen, "P99").is_some(), "{}", screen.join("\n"));
    assert!(line_of(&screen, "getData").is_some());
}

#[test]
fn help_overlay_lists_the_bindings() {
    let mut app = app_for(&shared());
    app.apply(Action::ToggleHelp);
    let text = render(&mut app, 120, 30).join("\n");
    assert!(text.contains("keys (any key closes)"), "{text}");
    assert!(text.contains("pause the display"), "{text}");
    assert!(app.context().help);
}

#[test]
fn rate_history_buckets_by_capture_second() {
    let mut h = RateHistory::default();
    assert!(h.seconds(true).is_empty());
    h.record(BASE + ms(100));
    h.record(BASE + ms(900));
    h.record(BASE + ms(3_100));
    // Slightly late: goes into its own second.
    h.record(BASE + ms(2_500));
    assert_eq!(h.seconds(true), [2, 0, 1, 1]);
    // The current second is still filling.
    assert_eq!(h.seconds(false), [2, 0, 1]);
    h.advance_to(BASE.as_secs() + 5);
    assert_eq!(h.seconds(false), [2, 0, 1, 1, 0]);
    // Far too old to keep: ignored, not misplaced.
    h.record(BASE - ms(10_000_000));
    assert_eq!(h.seconds(true).iter().sum::<u64>(), 4);
    h.advance_to(BASE.as_secs() + 10 * HISTORY_SECS as u64);
    assert_eq!(h.seconds(true).len(), HISTORY_SECS);
}

#[test]
fn sparkline_and_history_follow_counted_requests() {
    let mut s = shared();
    feed_ops(&mut s);
    s.observe(&ev(exchange(
        "10.0.0.2:1",
        OpCode::Ping,
        None,
        BASE + ms(5_000),
        ms(1),
    )));
    s.capture.ended = Some("end of input".into());
    let v = s.view(SortKey::Count);
    // Pings are not counted, so second 5 never opened.
    assert_eq!(v.history, [8, 2]);
    let text = render(&mut App::new("x", SortKey::Count, v), 120, 30).join("\n");
    assert!(text.contains("last 2/s  peak 8/s"), "{text}");
}

#[test]
fn reset_starts_a_new_window() {
    let mut s = shared();
    feed_ops(&mut s);
    let mut app = app_for(&s);
    assert_eq!(app.apply(Action::Reset), Effect::Reset);
    s.stats.reset();
    app.replace(s.view(app.sort));
    let text = render(&mut app, 120, 30).join("\n");
    assert!(text.contains("reqs 0 "), "{text}");
    assert!(text.contains("conns 3 (3 open)"), "{text}");
}

#[test]
fn feed_sink_over_the_golden_capture() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../proto/tests/fixtures/zkcli.pcap"
    );
    let mut source = crate::source::FileSource::open(path).unwrap();
    let mut pipeline = Pipeline::new(crate::pipeline::Options {
        client_ports: vec![21810],
        detail: false,
        ..Default::default()
    });
    let shared = Mutex::new(shared());
    let out = crate::run::run(
        &mut source,
        &mut pipeline,
        &mut Feed { shared: &shared },
        &Limits::default(),
        &AtomicBool::new(false),
    )
    .unwrap();
    let s = lock(&shared);
    assert_eq!(s.capture.counters, out.counters);
    let mut app = App::new("zkcli", SortKey::Count, s.view(SortKey::Count));
    let text = render(&mut app, 120, 30).join("\n");
    assert!(text.contains("getChildren"), "{text}");
    assert!(text.contains("reqs 101"), "{text}");
    assert!(text.contains("packets 255"), "{text}");
}

#[test]
fn cli_parses_top() {
    let cli = Cli::try_parse_from([
        "zktraffic",
        "-r",
        "x.pcap",
        "top",
        "--sort",
        "p99",
        "--refresh",
        "250ms",
        "--depth",
        "2",
    ])
    .unwrap();
    let Some(Mode::Top(a)) = cli.mode else {
        panic!("{:?}", cli.mode)
    };
    assert_eq!(a.sort, SortKey::P99);
    assert_eq!(a.refresh, Duration::from_millis(250));
    assert_eq!(stats_config(&a).path_depth, Some(2));
    let cli = Cli::try_parse_from(["zktraffic", "top"]).unwrap();
    let Some(Mode::Top(a)) = cli.mode else {
        panic!()
    };
    assert_eq!(a.refresh, Duration::from_secs(1));
    assert!(!a.include_pings);
}
