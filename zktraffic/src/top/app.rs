//! The view's state: what is shown (a snapshot, possibly frozen) and how
//! (table, sort, filter, selection). No terminal here, so it is testable.

use crate::pipeline::Counters;
use crate::source::KernelStats;
use crate::stats::{Dim, Row, Snapshot, SortKey, OTHER};

use super::input::{Action, Context};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Ops,
    Paths,
    Clients,
    Sessions,
    Errors,
}

impl Tab {
    pub const ALL: [Tab; 5] = [
        Tab::Ops,
        Tab::Paths,
        Tab::Clients,
        Tab::Sessions,
        Tab::Errors,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Ops => "ops",
            Tab::Paths => "paths",
            Tab::Clients => "clients",
            Tab::Sessions => "sessions",
            Tab::Errors => "errors",
        }
    }

    pub fn dim(self) -> Option<Dim> {
        match self {
            Tab::Ops => Some(Dim::Op),
            Tab::Paths => Some(Dim::Path),
            Tab::Clients => Some(Dim::Client),
            Tab::Sessions => Some(Dim::Session),
            Tab::Errors => None,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The capture's own health, next to the traffic it saw.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaptureStatus {
    pub counters: Counters,
    pub kernel: Option<KernelStats>,
    /// Why the capture stopped, once it has.
    pub ended: Option<String>,
}

/// Everything one refresh brings.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    pub snapshot: Snapshot,
    pub capture: CaptureStatus,
    /// Requests per second of capture time, oldest first.
    pub history: Vec<u64>,
}

/// One line of the errors table: an op and one of its error codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorRow {
    pub op: String,
    pub code: String,
    pub count: u64,
    /// The op's requests, errors or not, for the share.
    pub op_count: u64,
}

/// What the event loop has to do after an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    None,
    Quit,
    /// Restart the aggregates (a new window) and show the result.
    Reset,
}

#[derive(Debug)]
pub struct App {
    /// Where packets come from, for the title.
    pub source: String,
    pub view: View,
    pub tab: Tab,
    pub sort: SortKey,
    pub paused: bool,
    /// Applied filter; empty shows everything.
    pub filter: String,
    /// The filter being typed, while the input line is open.
    pub input: Option<String>,
    pub help: bool,
    /// Index into the displayed rows.
    pub selected: usize,
    /// First displayed row on screen; kept by the renderer.
    pub offset: usize,
    /// Rows that fit on screen at the last draw, for paging.
    pub page: usize,
}

impl App {
    pub fn new(source: impl Into<String>, sort: SortKey, view: View) -> App {
        App {
            source: source.into(),
            view,
            tab: Tab::Ops,
            sort,
            paused: false,
            filter: String::new(),
            input: None,
            help: false,
            selected: 0,
            offset: 0,
            page: 10,
        }
    }

    /// Takes a fresh view, unless paused: then only learns that the capture ended.
    pub fn update(&mut self, view: View) {
        if self.paused {
            self.view.capture.ended = view.capture.ended;
        } else {
            self.replace(view);
        }
    }

    /// Takes a fresh view even when paused (after a reset, say).
    pub fn replace(&mut self, view: View) {
        self.view = view;
        self.clamp_selection();
    }

    pub fn context(&self) -> Context {
        Context {
            editing: self.input.is_some(),
            help: self.help,
            filtered: !self.filter.is_empty(),
        }
    }

    pub fn apply(&mut self, action: Action) -> Effect {
        match action {
            Action::Quit => return Effect::Quit,
            Action::Reset => return Effect::Reset,
            Action::NextTab => self.set_tab((self.tab.index() + 1) % Tab::ALL.len()),
            Action::PrevTab => {
                self.set_tab((self.tab.index() + Tab::ALL.len() - 1) % Tab::ALL.len())
            }
            Action::Tab(i) => self.set_tab(i),
            Action::SortNext => self.cycle_sort(1),
            Action::SortPrev => self.cycle_sort(SortKey::ALL.len() - 1),
            Action::TogglePause => self.paused = !self.paused,
            Action::EditFilter => self.input = Some(self.filter.clone()),
            Action::FilterChar(c) => self.input.get_or_insert_with(String::new).push(c),
            Action::FilterBackspace => {
                if let Some(s) = &mut self.input {
                    s.pop();
                }
            }
            Action::ApplyFilter => {
                self.filter = self.input.take().unwrap_or_default().trim().to_string();
                self.selected = 0;
            }
            Action::ClearFilter => {
                self.input = None;
                self.filter.clear();
                self.selected = 0;
            }
            Action::Up => self.selected = self.selected.saturating_sub(1),
            Action::Down => self.selected += 1,
            Action::PageUp => self.selected = self.selected.saturating_sub(self.page.max(1)),
            Action::PageDown => self.selected += self.page.max(1),
            Action::Home => self.selected = 0,
            Action::End => self.selected = usize::MAX,
            Action::ToggleHelp => self.help = !self.help,
        }
        self.clamp_selection();
        Effect::None
    }

    fn set_tab(&mut self, i: usize) {
        if let Some(&t) = Tab::ALL.get(i) {
            if t != self.tab {
                self.tab = t;
                self.selected = 0;
                self.offset = 0;
            }
        }
    }

    fn cycle_sort(&mut self, step: usize) {
        let n = SortKey::ALL.len();
        let i = SortKey::ALL
            .iter()
            .position(|k| *k == self.sort)
            .unwrap_or(0);
        self.sort = SortKey::ALL[(i + step) % n];
        self.selected = 0;
    }

    fn clamp_selection(&mut self) {
        self.selected = self.selected.min(self.len().saturating_sub(1));
    }

    /// Rows on screen in the current table, after filter.
    pub fn len(&self) -> usize {
        match self.tab {
            Tab::Errors => self.error_rows().len(),
            _ => self.rows().len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The current dimension table's rows, filtered and sorted; keys folded
    /// into `(other)` come last, and only while nothing is filtered out.
    pub fn rows(&self) -> Vec<&Row> {
        let Some(t) = self.tab.dim().and_then(|d| self.view.snapshot.table(d)) else {
            return Vec::new();
        };
        let mut rows: Vec<&Row> = t
            .rows
            .iter()
            .filter(|r| matches(&self.filter, self.tab, &r.key))
            .collect();
        crate::stats::sort_rows(&mut rows, self.sort);
        if self.filter.is_empty() {
            rows.extend(&t.other);
        }
        rows
    }

    /// Errors by op and code, most frequent first (alphabetical under `key`).
    pub fn error_rows(&self) -> Vec<ErrorRow> {
        let Some(t) = self.view.snapshot.table(Dim::Op) else {
            return Vec::new();
        };
        let mut out: Vec<ErrorRow> = t
            .rows
            .iter()
            .chain(&t.other)
            .flat_map(|r| {
                r.errors_by_code.iter().map(|(code, n)| ErrorRow {
                    op: r.key.clone(),
                    code: code.clone(),
                    count: *n,
                    op_count: r.count,
                })
            })
            .filter(|e| {
                matches(&self.filter, Tab::Errors, &e.op)
                    || matches(&self.filter, Tab::Errors, &e.code)
            })
            .collect();
        if self.sort == SortKey::Key {
            out.sort_by(|a, b| (&a.op, &a.code).cmp(&(&b.op, &b.code)));
        } else {
            out.sort_by(|a, b| {
                b.count
                    .cmp(&a.count)
                    .then_with(|| (&a.op, &a.code).cmp(&(&b.op, &b.code)))
            });
        }
        out
    }
}

/// Paths filter by prefix when the filter looks like one (`/zk` keeps `/zk`
/// and `/zk/a`, not `/zkx`, unless it ends in `/`); everything else by
/// case-insensitive substring, which suits IPs, ports, session ids and ops.
pub fn matches(filter: &str, tab: Tab, key: &str) -> bool {
    if filter.is_empty() {
        return true;
    }
    if tab == Tab::Paths && filter.starts_with('/') {
        return match key.strip_prefix(filter) {
            Some(rest) => rest.is_empty() || rest.starts_with('/') || filter.ends_with('/'),
            None => false,
        };
    }
    key.to_lowercase().contains(&filter.to_lowercase())
}

/// The row standing for keys beyond the cap, which is drawn apart.
pub fn is_other(r: &Row) -> bool {
    r.key == OTHER
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_prefix_and_substring_filters() {
        assert!(matches("/zc", Tab::Paths, "/zc"));
        assert!(matches("/zc", Tab::Paths, "/zc/d"));
        assert!(!matches("/zc", Tab::Paths, "/zcx"));
        assert!(matches("/z", Tab::Paths, "/z/"));
        assert!(matches("/zc/", Tab::Paths, "/zc/d"));
        assert!(!matches("/zc", Tab::Paths, "/a/zc"));
        assert!(matches("ZC", Tab::Paths, "/a/zc"));
        assert!(matches("127.0", Tab::Clients, "127.0.0.1"));
        assert!(!matches("10.", Tab::Clients, "127.0.0.1"));
        assert!(matches("", Tab::Ops, "anything"));
    }
}
