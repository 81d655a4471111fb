//! Real files in temporary directories; failures and a slow disk are played
//! by sinks that fail or block on command.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use zkproto::event::{Event, Level, Stamp, Zxid};

use super::files::rotated_name;
use super::*;

const LONG: Duration = Duration::from_secs(3600);

fn options(dir: &Path) -> EventLogOptions {
    let mut o = EventLogOptions::new(dir, "1");
    o.flush_every = Duration::from_millis(20);
    o
}

/// An event whose `msg` identifies it; `pad` bytes make lines long enough
/// to rotate small files.
fn test_event(log: &EventLog, msg: String, pad: usize) -> Event {
    let mut ev = log.event("test.event", Level::Info, Stamp::AppliedZxid(Zxid(7)));
    ev.msg = Some(msg);
    ev.path = Some(format!("/{}", "p".repeat(pad)));
    ev
}

fn emit_numbered(log: &EventLog, from: usize, count: usize, pad: usize) {
    for i in from..from + count {
        log.emit(test_event(log, format!("e{i}"), pad));
    }
}

fn assert_seqs_from_zero(events: &[Event]) {
    for (i, ev) in events.iter().enumerate() {
        assert_eq!(ev.seq, i as u64, "seq gap or repeat at index {i}: {ev:?}");
    }
}

fn msgs_of_kind<'a>(events: &'a [Event], kind: &str) -> Vec<&'a str> {
    events
        .iter()
        .filter(|e| e.kind == kind)
        .filter_map(|e| e.msg.as_deref())
        .collect()
}

fn numbered(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("e{i}")).collect()
}

fn parse_lines(bytes: &[u8]) -> Vec<Event> {
    let text = std::str::from_utf8(bytes).expect("sink output is UTF-8");
    text.lines()
        .zip(1..)
        .map(|(line, n)| Event::from_line(line, n).expect("sink output parses"))
        .collect()
}

fn lost_detail(ev: &Event) -> (u64, String) {
    let detail = ev.detail.as_ref().expect("events.lost has a detail");
    let lost = detail["lost"].as_u64().expect("detail.lost is a number");
    let error = detail["error"].as_str().expect("detail.error is a string");
    (lost, error.to_string())
}

/// A `Write` into memory that the test can read while the log runs.
#[derive(Clone, Default)]
struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl SharedBuf {
    fn contents(&self) -> Vec<u8> {
        self.0.lock().expect("buffer lock").clone()
    }
}

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().expect("buffer lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A writer that refuses every write while `fail` is set.
struct FlakyWriter {
    out: SharedBuf,
    fail: Arc<AtomicBool>,
}

impl Write for FlakyWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(io::Error::other("injected failure"));
        }
        self.out.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Blocks the writer thread inside the sink until the gate opens, so the
/// test knows exactly what is queued.
#[derive(Clone, Default)]
struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    fn open(&self) {
        let (lock, cv) = &*self.0;
        *lock.lock().expect("gate lock") = true;
        cv.notify_all();
    }
    fn wait(&self) {
        let (lock, cv) = &*self.0;
        let guard = lock.lock().expect("gate lock");
        let (open, timeout) = cv
            .wait_timeout_while(guard, Duration::from_secs(20), |open| !*open)
            .expect("gate lock");
        assert!(*open && !timeout.timed_out(), "gate never opened");
    }
}

struct GatedSink<S> {
    inner: S,
    gate: Gate,
    entered: mpsc::Sender<()>,
}

impl<S: Sink> Sink for GatedSink<S> {
    fn write_lines(&mut self, lines: &[Line]) -> Result<(), SinkError> {
        let _ = self.entered.send(());
        self.gate.wait();
        self.inner.write_lines(lines)
    }
    fn sync(&mut self) -> io::Result<()> {
        self.inner.sync()
    }
}

/// Emits one event and has another thread flush it, returning once the
/// writer thread is stuck in the sink: from then on every emit queues.
fn stall_writer(log: &EventLog, entered: &mpsc::Receiver<()>) -> std::thread::JoinHandle<()> {
    log.emit(test_event(log, "e0".into(), 0));
    let flusher = log.clone();
    let handle = std::thread::spawn(move || flusher.flush().expect("flush after the gate opens"));
    entered
        .recv_timeout(Duration::from_secs(20))
        .expect("writer reached the sink");
    handle
}

#[test]
fn seq_continues_across_rotation_and_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("events");
    let mut o = options(&dir);
    o.max_file_bytes = 2048;
    o.keep_files = 1000;

    let (log, guard) = EventLog::open(o.clone()).unwrap();
    emit_numbered(&log, 0, 300, 100);
    guard.shutdown().unwrap();
    assert_eq!(log.written(), 300);

    let rotated = files::rotated_files(&dir).unwrap();
    assert!(
        rotated.len() >= 10,
        "expected many rotations, got {rotated:?}"
    );
    for (first, path) in &rotated {
        let size = fs::metadata(path).unwrap().len();
        assert!(size <= 2048, "{} is {size} bytes", path.display());
        let text = fs::read_to_string(path).unwrap();
        let head = Event::from_line(text.lines().next().unwrap(), 1).unwrap();
        assert_eq!(head.seq, *first, "{} names the wrong seq", path.display());
        assert_eq!(path.file_name().unwrap(), rotated_name(*first).as_str());
    }
    let events = read_events(&dir).unwrap();
    assert_seqs_from_zero(&events);
    assert_eq!(msgs_of_kind(&events, "test.event"), numbered(0..300));

    let (log, guard) = EventLog::open(o).unwrap();
    emit_numbered(&log, 300, 100, 100);
    guard.shutdown().unwrap();
    let events = read_events(&dir).unwrap();
    assert_seqs_from_zero(&events);
    assert_eq!(msgs_of_kind(&events, "test.event"), numbered(0..400));
    assert!(events.iter().all(|e| e.node == "1"));
}

#[test]
fn reopen_after_an_empty_current_file_resumes_from_the_rotated_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("events");
    let mut o = options(&dir);
    o.max_file_bytes = 1024;
    let (log, guard) = EventLog::open(o.clone()).unwrap();
    emit_numbered(&log, 0, 40, 50);
    guard.shutdown().unwrap();
    // As if the node died right after a rotation.
    fs::write(dir.join(CURRENT), b"").unwrap();
    let last_kept = read_events(&dir).unwrap().last().unwrap().seq;

    let (log, guard) = EventLog::open(o).unwrap();
    emit_numbered(&log, 40, 1, 0);
    guard.shutdown().unwrap();
    let events = read_events(&dir).unwrap();
    assert_eq!(events.last().unwrap().seq, last_kept + 1);
    assert_eq!(events.last().unwrap().msg.as_deref(), Some("e40"));
}

#[test]
fn keep_files_bounds_the_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("events");
    let mut o = options(&dir);
    o.max_file_bytes = 1024;
    o.keep_files = 3;
    let (log, guard) = EventLog::open(o).unwrap();
    emit_numbered(&log, 0, 500, 50);
    guard.shutdown().unwrap();

    let names: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    let events = read_events(&dir).unwrap();
    let first = events[0].seq;
    assert!(first > 0, "old files were not deleted");
    for (i, ev) in events.iter().enumerate() {
        assert_eq!(ev.seq, first + i as u64);
    }
    assert_eq!(events.last().unwrap().msg.as_deref(), Some("e499"));
}

#[test]
fn shutdown_writes_everything_queued() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("events");
    let (files, resume) = FileSink::open(&dir, 1 << 20, 10).unwrap();
    assert_eq!(resume.next_seq, 0);
    let gate = Gate::default();
    let (entered_tx, entered) = mpsc::channel();
    let sink = GatedSink {
        inner: files,
        gate: gate.clone(),
        entered: entered_tx,
    };
    let mut o = options(&dir);
    o.flush_every = LONG;
    let (log, guard) = EventLog::open_with(o, Some(Box::new(sink)), None).unwrap();

    let flusher = stall_writer(&log, &entered);
    emit_numbered(&log, 1, 1000, 0);
    assert_eq!(log.queued(), 1000);
    let opener = {
        let gate = gate.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            gate.open();
        })
    };
    guard.shutdown().unwrap();
    opener.join().unwrap();
    flusher.join().unwrap();

    let events = read_events(&dir).unwrap();
    assert_seqs_from_zero(&events);
    assert_eq!(msgs_of_kind(&events, "test.event"), numbered(0..1001));
    assert_eq!(
        log.stats(),
        EventLogStats {
            written: 1001,
            lost: 0,
            queued: 0
        }
    );
    // After shutdown nothing is written, and that is counted.
    log.emit(test_event(&log, "late".into(), 0));
    assert_eq!(log.lost(), 1);
    assert!(matches!(log.flush(), Err(crate::Error::ShuttingDown)));
}

#[test]
fn failing_writer_loses_events_without_a_seq_gap_and_says_so() {
    let out = SharedBuf::default();
    let fail = Arc::new(AtomicBool::new(false));
    let writer = FlakyWriter {
        out: out.clone(),
        fail: fail.clone(),
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut o = options(tmp.path());
    o.flush_every = LONG;
    let sink = Box::new(WriterSink::new(writer));
    let (log, guard) = EventLog::open_with(o, Some(sink), None).unwrap();

    emit_numbered(&log, 0, 3, 0);
    log.flush().unwrap();
    fail.store(true, Ordering::SeqCst);
    // e3 is numbered before the failure shows, so it must survive.
    emit_numbered(&log, 3, 1, 0);
    assert!(log.flush().is_err());
    emit_numbered(&log, 4, 5, 0);
    assert!(log.flush().is_err());
    assert_eq!(log.lost(), 5);
    fail.store(false, Ordering::SeqCst);
    log.flush().unwrap();
    emit_numbered(&log, 9, 2, 0);
    guard.shutdown().unwrap();

    let events = parse_lines(&out.contents());
    assert_seqs_from_zero(&events);
    let kinds: Vec<_> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "test.event",
            "test.event",
            "test.event",
            "test.event",
            "events.lost",
            "test.event",
            "test.event"
        ]
    );
    let lost_line = &events[4];
    assert_eq!(lost_line.level, Level::Warn);
    let (lost, error) = lost_detail(lost_line);
    assert_eq!(lost, 5);
    assert!(error.contains("injected failure"), "{error}");
    let msgs = msgs_of_kind(&events, "test.event");
    assert_eq!(msgs, ["e0", "e1", "e2", "e3", "e9", "e10"]);
    assert_eq!(log.written(), 7);
}

#[test]
fn a_full_queue_drops_counts_and_reports() {
    let out = SharedBuf::default();
    let gate = Gate::default();
    let (entered_tx, entered) = mpsc::channel();
    let sink = GatedSink {
        inner: WriterSink::new(out.clone()),
        gate: gate.clone(),
        entered: entered_tx,
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut o = options(tmp.path());
    o.flush_every = LONG;
    o.queue_capacity = 4;
    let (log, guard) = EventLog::open_with(o, Some(Box::new(sink)), None).unwrap();

    let flusher = stall_writer(&log, &entered);
    emit_numbered(&log, 1, 100, 0);
    assert_eq!(log.queued(), 4);
    assert_eq!(log.lost(), 96);
    gate.open();
    flusher.join().unwrap();
    log.flush().unwrap();
    guard.shutdown().unwrap();

    let events = parse_lines(&out.contents());
    assert_seqs_from_zero(&events);
    assert_eq!(msgs_of_kind(&events, "test.event"), numbered(0..5));
    let reports: Vec<_> = events.iter().filter(|e| e.kind == "events.lost").collect();
    assert_eq!(reports.len(), 1, "{events:?}");
    assert_eq!(lost_detail(reports[0]), (96, "queue full".to_string()));
    assert_eq!(
        log.stats(),
        EventLogStats {
            written: 6,
            lost: 96,
            queued: 0
        }
    );
}

#[test]
fn the_mirror_gets_exactly_the_file_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("events");
    let out = SharedBuf::default();
    let mirror = Box::new(WriterSink::new(out.clone()));
    let (log, guard) = EventLog::open_with(options(&dir), None, Some(mirror)).unwrap();
    emit_numbered(&log, 0, 50, 10);
    guard.shutdown().unwrap();

    let on_disk = fs::read(dir.join(CURRENT)).unwrap();
    assert_eq!(
        String::from_utf8(out.contents()).unwrap(),
        String::from_utf8(on_disk).unwrap()
    );
    assert_eq!(parse_lines(&out.contents()).len(), 50);
}

#[test]
fn concurrent_emitters_are_each_written_once_in_their_order() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("events");
    let mut o = options(&dir);
    o.max_file_bytes = 64 * 1024;
    o.keep_files = 1000;
    let (log, guard) = EventLog::open(o).unwrap();
    const THREADS: usize = 4;
    const EACH: usize = 2000;
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                for i in 0..EACH {
                    log.emit(test_event(&log, format!("t{t}-{i}"), 0));
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    guard.shutdown().unwrap();
    assert_eq!(log.lost(), 0);

    let events = read_events(&dir).unwrap();
    assert_seqs_from_zero(&events);
    assert_eq!(events.len(), THREADS * EACH);
    let mut next: HashMap<String, usize> = HashMap::new();
    for ev in &events {
        let msg = ev.msg.as_deref().unwrap();
        let (thread, i) = msg.split_once('-').unwrap();
        let i: usize = i.parse().unwrap();
        let expected = next.entry(thread.to_string()).or_default();
        assert_eq!(i, *expected, "{thread} out of order or repeated");
        *expected += 1;
    }
    assert!(next.values().all(|&n| n == EACH), "{next:?}");
}

#[test]
fn levels_below_the_minimum_are_dropped_without_counting() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("events");
    let (log, guard) = EventLog::open(options(&dir)).unwrap();
    for level in [
        Level::Trace,
        Level::Debug,
        Level::Info,
        Level::Warn,
        Level::Error,
    ] {
        log.emit(log.event("test.level", level, Stamp::Zxid(Zxid(1))));
    }
    guard.shutdown().unwrap();
    let events = read_events(&dir).unwrap();
    assert_seqs_from_zero(&events);
    let levels: Vec<_> = events.iter().map(|e| e.level).collect();
    assert_eq!(levels, [Level::Info, Level::Warn, Level::Error]);
    assert_eq!(log.lost(), 0);
}

#[test]
fn reopen_skips_a_corrupt_last_line_and_cuts_a_torn_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("events");
    let (log, guard) = EventLog::open(options(&dir)).unwrap();
    emit_numbered(&log, 0, 5, 0);
    guard.shutdown().unwrap();
    let current = dir.join(CURRENT);
    let mut f = fs::OpenOptions::new().append(true).open(&current).unwrap();
    f.write_all(b"this is not json\n{\"ts\":\"2026").unwrap();
    drop(f);

    // The reader names the file and the line.
    match read_events(&dir) {
        Err(crate::Error::Corrupt { path, msg }) => {
            assert_eq!(path, current);
            assert!(msg.starts_with("line 6:"), "{msg}");
        }
        other => panic!("expected a corrupt line, got {other:?}"),
    }

    let (log, guard) = EventLog::open(options(&dir)).unwrap();
    emit_numbered(&log, 5, 1, 0);
    guard.shutdown().unwrap();
    let text = fs::read_to_string(&current).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 9, "{text}");
    assert_eq!(lines[5], "this is not json");
    let after: Vec<Event> = lines[6..]
        .iter()
        .zip(7..)
        .map(|(l, n)| Event::from_line(l, n).unwrap())
        .collect();
    let seqs: Vec<_> = after.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [5, 6, 7]);
    let actions: Vec<_> = after[..2]
        .iter()
        .map(|e| {
            assert_eq!((e.kind.as_str(), e.level), ("events.corrupt", Level::Warn));
            e.detail.as_ref().unwrap()["action"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(actions, ["truncated", "skipped"]);
    assert_eq!(after[1].detail.as_ref().unwrap()["lines"], 1);
    assert_eq!(after[2].msg.as_deref(), Some("e5"));
}

#[test]
fn bad_options_are_config_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let mut o = options(tmp.path());
    o.keep_files = 0;
    assert!(matches!(
        EventLog::open(o),
        Err(crate::Error::Config { .. })
    ));
    let mut o = options(tmp.path());
    o.queue_capacity = 0;
    assert!(matches!(
        EventLog::open(o),
        Err(crate::Error::Config { .. })
    ));
}

struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Fills a real 64 KiB tmpfs. Needs root to mount; skipped otherwise.
#[test]
fn a_full_disk_loses_events_cleanly_and_reports_them() {
    let tmp = tempfile::tempdir().unwrap();
    let mnt = tmp.path().join("mnt");
    fs::create_dir(&mnt).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&mnt)
        .output();
    if !matches!(&mounted, Ok(out) if out.status.success()) {
        eprintln!("skipped: cannot mount a tmpfs here (needs root): {mounted:?}");
        return;
    }
    let _unmount = Unmount(mnt.clone());
    let filler = mnt.join("filler");
    fs::write(&filler, vec![0u8; 32 * 1024]).unwrap();
    let dir = mnt.join("events");
    let mut o = options(&dir);
    o.flush_every = LONG;
    let (log, guard) = EventLog::open(o).unwrap();

    let mut emitted = 0;
    // 64 KiB fills within a few hundred 200-byte lines.
    for _ in 0..1000 {
        emit_numbered(&log, emitted, 10, 150);
        emitted += 10;
        let _ = log.flush();
        if log.lost() > 0 {
            break;
        }
    }
    assert!(log.lost() > 0, "the tmpfs never filled");
    assert!(log.flush().is_err(), "still full, the retry must fail");
    fs::remove_file(&filler).unwrap();
    log.flush().unwrap();
    emit_numbered(&log, emitted, 3, 0);
    guard.shutdown().unwrap();

    // No torn line survived the failed writes, and nothing numbered is missing.
    let events = read_events(&dir).unwrap();
    assert_seqs_from_zero(&events);
    assert_eq!(events.len() as u64, log.written());
    let reports: Vec<_> = events.iter().filter(|e| e.kind == "events.lost").collect();
    assert_eq!(reports.len(), 1);
    let (lost, error) = lost_detail(reports[0]);
    assert_eq!(lost, log.lost());
    assert!(error.to_lowercase().contains("space"), "{error}");
    let last = events.last().unwrap().msg.as_deref().unwrap().to_string();
    assert_eq!(last, format!("e{}", emitted + 2));
}
