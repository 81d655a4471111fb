//! ZooKeeper path rules (PathUtils.validatePath), checked at apply time so
//! every replica rejects the same requests.

/// Whether `path` is a valid znode path. A sequential create may end in `/`
/// because the server appends the sequence number, so it is checked as if a
/// digit were already appended, as ZooKeeper does.
pub fn is_valid(path: &str, sequential: bool) -> bool {
    if sequential {
        return valid(&format!("{path}1"));
    }
    valid(path)
}

fn valid(path: &str) -> bool {
    if path == "/" {
        return true;
    }
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    rest.split('/')
        .all(|c| !c.is_empty() && c != "." && c != ".." && c.chars().all(char_allowed))
}

/// ZooKeeper refuses NUL, control characters, private-use code points and
/// the specials block; Java sees anything above U+FFFF as surrogates, which it
/// also refuses, so those are out too.
fn char_allowed(c: char) -> bool {
    let u = c as u32;
    !(u <= 0x1f || (0x7f..=0x9f).contains(&u) || (0xd800..=0xf8ff).contains(&u) || u >= 0xfff0)
}

/// The parent of a valid non-root path and the child's name.
pub fn split(path: &str) -> (&str, &str) {
    let i = path.rfind('/').expect("valid path has a slash");
    let parent = if i == 0 { "/" } else { &path[..i] };
    (parent, &path[i + 1..])
}

/// The path of `name` under `parent`.
pub fn join(parent: &str, name: &str) -> String {
    if parent == "/" {
        format!("/{name}")
    } else {
        format!("{parent}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_table() {
        let cases: &[(&str, bool, bool)] = &[
            ("/", false, true),
            ("/a", false, true),
            ("/a/b-c_d.e", false, true),
            ("/a/...", false, true),
            ("/.a", false, true),
            ("", false, false),
            ("a", false, false),
            ("a/b", false, false),
            ("/a/", false, false),
            ("//", false, false),
            ("/a//b", false, false),
            ("/.", false, false),
            ("/..", false, false),
            ("/a/./b", false, false),
            ("/a/../b", false, false),
            ("/a\0b", false, false),
            ("/a\u{1}", false, false),
            ("/a\u{7f}", false, false),
            ("/a\u{e000}", false, false),
            ("/a\u{fff0}", false, false),
            ("/a\u{1f600}", false, false),
            ("/é", false, true),
            // Sequential: the suffix is appended by the server.
            ("/a/", true, true),
            ("/", true, true),
            ("/a", true, true),
            ("/a//", true, false),
            ("/.", true, true),
            ("", true, false),
        ];
        for (p, seq, ok) in cases {
            assert_eq!(is_valid(p, *seq), *ok, "{p:?} sequential={seq}");
        }
    }

    #[test]
    fn split_and_join() {
        assert_eq!(split("/a"), ("/", "a"));
        assert_eq!(split("/a/b"), ("/a", "b"));
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(join("/a", "b"), "/a/b");
    }
}
