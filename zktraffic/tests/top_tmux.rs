//! `zktraffic top` in a real terminal: tmux runs it on the golden zkCli
//! capture, the test reads the screen, presses keys, and checks that `q`
//! exits and gives the terminal back (cooked mode, main screen).
//! Skipped, with a note, where tmux is not installed.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A tmux server of our own, so the user's sessions are never touched.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn cmd(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("run tmux")
    }

    fn screen(&self) -> String {
        let out = self.cmd(&["capture-pane", "-p", "-t", "top"]);
        String::from_utf8_lossy(&out.stdout).replace('\u{a0}', " ")
    }

    /// The screen once it has every one of `wants`, or a failure showing it.
    fn wait_for(&self, wants: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let s = self.screen();
            if wants.iter().all(|w| s.contains(w)) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "waited for {wants:?}, screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "top"];
        args.extend(keys);
        assert!(self.cmd(&args).status.success());
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

#[test]
fn top_shows_the_capture_and_quits_cleanly() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux not installed: skipping the terminal test of `zktraffic top`");
        return;
    }
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../proto/tests/fixtures/zkcli.pcap");
    let tmux = Tmux {
        socket: format!("zktraffic-top-test-{}", std::process::id()),
    };
    // The shell around it reports how the program exited and whether the
    // terminal settings it found are back, then waits to be read.
    let script = format!(
        "S=$(stty -g); '{}' -r '{}' -p 21810 top; echo EXITED $?; \
         [ \"$(stty -g)\" = \"$S\" ] && echo TTY-RESTORED; sleep 60",
        env!("CARGO_BIN_EXE_zktraffic"),
        fixture.display()
    );
    let out = tmux.cmd(&[
        "new-session",
        "-d",
        "-s",
        "top",
        "-x",
        "120",
        "-y",
        "30",
        "sh",
        "-c",
        &script,
    ]);
    assert!(
        out.status.success(),
        "tmux: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let s = tmux.wait_for(&["ENDED: end of input", "getChildren", "REQS▼", "q quit"]);
    assert!(s.contains("reqs 101"), "{s}");

    tmux.keys(&["5"]);
    tmux.wait_for(&["ERROR", "NoNode", "NodeExists"]);

    tmux.keys(&["2", "/", "/", "z", "c", "/", "d", "Enter"]);
    // The keys footer is back once Enter has closed the input line.
    let s = tmux.wait_for(&["filter: /zc/d", "q quit", "PATH"]);
    assert!(!s.contains("/zc/pw"), "{s}");

    tmux.keys(&["q"]);
    let s = tmux.wait_for(&["EXITED 0", "TTY-RESTORED"]);
    // Back on the main screen: the program's summary, not its view.
    assert!(s.contains("zktraffic: 255 packets"), "{s}");
    assert!(!s.contains("REQS▼"), "{s}");
}
