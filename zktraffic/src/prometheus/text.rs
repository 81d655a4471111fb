//! The Prometheus text exposition format 0.0.4, written by hand: the
//! `prometheus-client` crate speaks OpenMetrics, whose counter families
//! (`# TYPE x counter` over `x_total` samples) the Prometheus text parser and
//! `promtool check metrics` misread.

use std::fmt::{Display, Write as _};

#[derive(Default)]
pub(super) struct Expo(String);

impl Expo {
    pub(super) fn head(&mut self, name: &str, kind: &str, help: &str) {
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    pub(super) fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                self.0.push_str(k);
                self.0.push_str("=\"");
                for ch in v.chars() {
                    match ch {
                        '\\' => self.0.push_str("\\\\"),
                        '"' => self.0.push_str("\\\""),
                        '\n' => self.0.push_str("\\n"),
                        c => self.0.push(c),
                    }
                }
                self.0.push('"');
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {value}");
    }

    /// A family of one unlabelled sample.
    pub(super) fn single(&mut self, name: &str, kind: &str, help: &str, value: impl Display) {
        self.head(name, kind, help);
        self.sample(name, &[], value);
    }

    /// A family with one label.
    pub(super) fn by<'a, V: Display>(
        &mut self,
        name: &str,
        kind: &str,
        help: &str,
        label: &str,
        values: impl IntoIterator<Item = (&'a str, V)>,
    ) {
        self.head(name, kind, help);
        for (l, v) in values {
            self.sample(name, &[(label, l)], v);
        }
    }

    pub(super) fn finish(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_and_help_are_escaped() {
        let mut e = Expo::default();
        e.head("m", "gauge", "a \\ b\nc");
        e.sample("m", &[("path", "/a\"b\\c\nd"), ("op", "x")], 1);
        e.single("n", "gauge", "h", 2.5);
        assert_eq!(
            e.finish(),
            "# HELP m a \\\\ b\\nc\n# TYPE m gauge\nm{path=\"/a\\\"b\\\\c\\nd\",op=\"x\"} 1\n\
             # HELP n h\n# TYPE n gauge\nn 2.5\n"
        );
    }
}
