//! Keys to actions. Pure, so every binding is unit-tested without a terminal.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    NextTab,
    PrevTab,
    /// 0-based, in [`super::app::Tab::ALL`] order.
    Tab(usize),
    SortNext,
    SortPrev,
    TogglePause,
    EditFilter,
    FilterChar(char),
    FilterBackspace,
    ApplyFilter,
    ClearFilter,
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
    Reset,
    ToggleHelp,
}

/// The little state the meaning of a key depends on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Context {
    /// The filter input line has the keyboard.
    pub editing: bool,
    pub help: bool,
    /// A filter is applied, so Esc clears it before it quits.
    pub filtered: bool,
}

/// Every binding, for the help overlay; the footer shows a short form.
pub const HELP: &[(&str, &str)] = &[
    ("q  Ctrl-C", "quit"),
    ("Esc", "clear the filter, else quit"),
    (
        "Tab  S-Tab  1-5",
        "switch table: ops, paths, clients, sessions, errors",
    ),
    ("s  S", "next / previous sort key"),
    ("p  space", "pause the display (capture continues)"),
    ("/", "edit the filter; Enter applies, Esc clears"),
    ("", "  /prefix: paths under it; text: keys containing it"),
    ("↑ ↓  k j", "move the selection"),
    ("PgUp PgDn  Home End", "scroll by page, to the ends"),
    ("r", "reset the counters (new window)"),
    ("?", "this help"),
];

pub fn map_key(key: KeyEvent, ctx: Context) -> Option<Action> {
    // Terminals that report releases would otherwise act twice per key.
    if key.kind == KeyEventKind::Release {
        return None;
    }
    // Raw mode turns Ctrl-C into a key, so it has to be bound to be honoured.
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        return Some(Action::Quit);
    }
    if ctx.editing {
        return match key.code {
            KeyCode::Enter => Some(Action::ApplyFilter),
            KeyCode::Esc => Some(Action::ClearFilter),
            KeyCode::Backspace => Some(Action::FilterBackspace),
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                Some(Action::FilterChar(c))
            }
            _ => None,
        };
    }
    if ctx.help {
        // Any key dismisses help; quitting still works from there.
        return match key.code {
            KeyCode::Char('q') => Some(Action::Quit),
            _ => Some(Action::ToggleHelp),
        };
    }
    Some(match key.code {
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Esc if ctx.filtered => Action::ClearFilter,
        KeyCode::Esc => Action::Quit,
        KeyCode::Tab => Action::NextTab,
        KeyCode::BackTab => Action::PrevTab,
        KeyCode::Char(c @ '1'..='5') => Action::Tab(c as usize - '1' as usize),
        KeyCode::Char('s') => Action::SortNext,
        KeyCode::Char('S') => Action::SortPrev,
        KeyCode::Char('p' | ' ') => Action::TogglePause,
        KeyCode::Char('/') => Action::EditFilter,
        KeyCode::Up | KeyCode::Char('k') => Action::Up,
        KeyCode::Down | KeyCode::Char('j') => Action::Down,
        KeyCode::PageUp => Action::PageUp,
        KeyCode::PageDown => Action::PageDown,
        KeyCode::Home | KeyCode::Char('g') => Action::Home,
        KeyCode::End | KeyCode::Char('G') => Action::End,
        KeyCode::Char('r') => Action::Reset,
        KeyCode::Char('?') => Action::ToggleHelp,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn normal(code: KeyCode) -> Option<Action> {
        map_key(key(code), Context::default())
    }

    #[test]
    fn normal_mode_bindings() {
        use Action::*;
        let cases = [
            (KeyCode::Char('q'), Quit),
            (KeyCode::Esc, Quit),
            (KeyCode::Tab, NextTab),
            (KeyCode::BackTab, PrevTab),
            (KeyCode::Char('1'), Tab(0)),
            (KeyCode::Char('5'), Tab(4)),
            (KeyCode::Char('s'), SortNext),
            (KeyCode::Char('S'), SortPrev),
            (KeyCode::Char('p'), TogglePause),
            (KeyCode::Char(' '), TogglePause),
            (KeyCode::Char('/'), EditFilter),
            (KeyCode::Up, Up),
            (KeyCode::Down, Down),
            (KeyCode::PageUp, PageUp),
            (KeyCode::PageDown, PageDown),
            (KeyCode::Home, Home),
            (KeyCode::End, End),
            (KeyCode::Char('r'), Reset),
            (KeyCode::Char('?'), ToggleHelp),
        ];
        for (code, want) in cases {
            assert_eq!(normal(code), Some(want), "{code:?}");
        }
        assert_eq!(normal(KeyCode::Char('6')), None);
        assert_eq!(normal(KeyCode::Char('x')), None);
    }

    #[test]
    fn ctrl_c_quits_in_every_mode() {
        let k = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        for ctx in [
            Context::default(),
            Context {
                editing: true,
                ..Context::default()
            },
            Context {
                help: true,
                ..Context::default()
            },
        ] {
            assert_eq!(map_key(k, ctx), Some(Action::Quit));
        }
    }

    #[test]
    fn esc_clears_an_applied_filter_before_quitting() {
        let ctx = Context {
            filtered: true,
            ..Context::default()
        };
        assert_eq!(map_key(key(KeyCode::Esc), ctx), Some(Action::ClearFilter));
        assert_eq!(map_key(key(KeyCode::Char('q')), ctx), Some(Action::Quit));
    }

    #[test]
    fn editing_takes_every_character() {
        let ctx = Context {
            editing: true,
            ..Context::default()
        };
        let m = |c| map_key(key(c), ctx);
        assert_eq!(m(KeyCode::Char('q')), Some(Action::FilterChar('q')));
        assert_eq!(m(KeyCode::Char('/')), Some(Action::FilterChar('/')));
        assert_eq!(m(KeyCode::Char('1')), Some(Action::FilterChar('1')));
        assert_eq!(m(KeyCode::Backspace), Some(Action::FilterBackspace));
        assert_eq!(m(KeyCode::Enter), Some(Action::ApplyFilter));
        assert_eq!(m(KeyCode::Esc), Some(Action::ClearFilter));
        assert_eq!(m(KeyCode::Up), None);
    }

    #[test]
    fn help_is_dismissed_by_any_key_but_q() {
        let ctx = Context {
            help: true,
            ..Context::default()
        };
        assert_eq!(
            map_key(key(KeyCode::Char('?')), ctx),
            Some(Action::ToggleHelp)
        );
        assert_eq!(map_key(key(KeyCode::Esc), ctx), Some(Action::ToggleHelp));
        assert_eq!(map_key(key(KeyCode::Char('q')), ctx), Some(Action::Quit));
    }

    #[test]
    fn releases_are_ignored() {
        let mut k = key(KeyCode::Char('q'));
        k.kind = KeyEventKind::Release;
        assert_eq!(map_key(k, Context::default()), None);
    }
}
