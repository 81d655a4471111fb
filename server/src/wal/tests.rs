//! The log against real files: round trips, crashes, damage, and a model.

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::record::encoded_len;
use super::*;

fn opts(segment_bytes: u64) -> WalOptions {
    WalOptions {
        segment_bytes,
        fsync: true,
        ..WalOptions::default()
    }
}

const PREALLOC: u64 = 4 << 20;

fn opts_prealloc(segment_bytes: u64, prealloc_bytes: u64) -> WalOptions {
    WalOptions {
        prealloc_bytes,
        ..opts(segment_bytes)
    }
}

/// Distinct payloads of varying length, so offsets are not regular.
fn payload(index: u64, salt: &str) -> Vec<u8> {
    format!("{salt}-{index}|")
        .repeat((index % 4 + 1) as usize)
        .into_bytes()
}

fn open(dir: &Path, segment_bytes: u64) -> (Wal, Recovery) {
    Wal::open(dir, opts(segment_bytes)).expect("open")
}

fn fill(wal: &mut Wal, indexes: std::ops::RangeInclusive<u64>, salt: &str) {
    for i in indexes {
        wal.append(i, &payload(i, salt)).expect("append");
    }
}

fn expect(indexes: std::ops::RangeInclusive<u64>, salt: &str) -> Vec<(u64, Vec<u8>)> {
    indexes.map(|i| (i, payload(i, salt))).collect()
}

fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "wal"))
        .collect();
    files.sort();
    files
}

fn first_of(path: &Path) -> u64 {
    let name = path.file_name().and_then(|n| n.to_str()).expect("name");
    segment::parse_name(Path::new("."), name)
        .expect("a segment")
        .expect("a good name")
}

/// Byte offset of record `index` in a segment starting at `first`, when
/// every record was written with `salt`.
fn offset_in_segment(first: u64, index: u64, salt: &str) -> u64 {
    (first..index)
        .map(|i| encoded_len(payload(i, salt).len()))
        .sum()
}

fn flip(path: &Path, at: u64) {
    let mut bytes = fs::read(path).expect("read");
    bytes[at as usize] ^= 0x40;
    fs::write(path, bytes).expect("write");
}

fn file_len(path: &Path) -> u64 {
    fs::metadata(path).expect("stat").len()
}

fn corrupt_path(err: Error) -> PathBuf {
    match err {
        Error::Corrupt { path, .. } => path,
        other => panic!("expected Error::Corrupt, got {other}"),
    }
}

#[test]
fn round_trip_across_segment_rollover() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("wal");
    let (mut wal, rec) = open(&dir, 120);
    assert_eq!(
        rec,
        Recovery {
            first_index: None,
            last_index: None,
            torn_tail: None,
            segments: 0
        }
    );
    fill(&mut wal, 1..=50, "a");
    // Reads see records before they are synced.
    assert_eq!(wal.read(48, 50).expect("read"), expect(48..=50, "a"));
    wal.sync().expect("sync");
    drop(wal);

    let files = segment_files(&dir);
    assert!(files.len() > 5, "rolled over into {} files", files.len());
    // The last segment is still preallocated; the sealed ones were cut back.
    for f in &files[..files.len() - 1] {
        assert!(
            file_len(f) <= 120,
            "{} is {} bytes",
            f.display(),
            file_len(f)
        );
    }
    let (mut wal, rec) = open(&dir, 120);
    assert_eq!(rec.first_index, Some(1));
    assert_eq!(rec.last_index, Some(50));
    assert_eq!(rec.torn_tail, None);
    assert_eq!(rec.segments, files.len());
    assert_eq!(wal.read(1, 50).expect("read"), expect(1..=50, "a"));
    assert_eq!(wal.read(7, 33).expect("read"), expect(7..=33, "a"));
    assert_eq!(wal.read(9, 8).expect("empty range"), vec![]);
    assert!(matches!(wal.read(0, 3), Err(Error::Wal(_))));
    assert!(matches!(wal.read(45, 51), Err(Error::Wal(_))));

    // Gaps are refused and leave the log as it was.
    assert!(matches!(wal.append(52, b"x"), Err(Error::Wal(_))));
    assert!(matches!(wal.append(50, b"x"), Err(Error::Wal(_))));
    fill(&mut wal, 51..=60, "a");
    wal.append(61, b"").expect("an empty payload");
    wal.sync().expect("sync");
    drop(wal);
    let (mut wal, _) = open(&dir, 120);
    let mut want = expect(1..=60, "a");
    want.push((61, Vec::new()));
    assert_eq!(wal.read(1, 61).expect("read"), want);
}

#[test]
fn a_record_larger_than_a_segment_gets_its_own() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (mut wal, _) = open(tmp.path(), 64);
    wal.append(1, b"small").expect("append");
    wal.append(2, &[7u8; 500]).expect("append");
    wal.append(3, b"small").expect("append");
    wal.sync().expect("sync");
    drop(wal);
    assert_eq!(segment_files(tmp.path()).len(), 3);
    let (mut wal, _) = open(tmp.path(), 64);
    assert_eq!(wal.read(2, 2).expect("read"), vec![(2, vec![7u8; 500])]);
}

/// Ten records in one segment, synced, then the handle dropped.
fn ten_records(dir: &Path) -> PathBuf {
    let (mut wal, _) = open(dir, 1 << 20);
    fill(&mut wal, 1..=10, "t");
    wal.sync().expect("sync");
    drop(wal);
    let files = segment_files(dir);
    assert_eq!(files.len(), 1);
    files[0].clone()
}

/// Reopens after damage to record 10 and checks that exactly it went, the
/// cut was reported, and the log takes appends again.
fn assert_last_record_dropped(dir: &Path, seg: &Path, damaged_len: u64) {
    let at = offset_in_segment(1, 10, "t");
    let (mut wal, rec) = open(dir, 1 << 20);
    let torn = rec.torn_tail.expect("a torn tail");
    assert_eq!(torn.segment, seg);
    assert_eq!(torn.offset, at);
    assert_eq!(torn.dropped_bytes, damaged_len - at);
    assert!(!torn.reason.is_empty());
    assert_eq!(rec.last_index, Some(9));
    assert_eq!(file_len(seg), at, "the damage was cut off the file");
    assert_eq!(wal.read(1, 9).expect("read"), expect(1..=9, "t"));

    wal.append(10, b"again").expect("append");
    wal.append(11, b"more").expect("append");
    wal.sync().expect("sync");
    drop(wal);
    let (mut wal, rec) = open(dir, 1 << 20);
    assert_eq!(rec.torn_tail, None);
    assert_eq!(
        wal.read(9, 11).expect("read"),
        vec![
            (9, payload(9, "t")),
            (10, b"again".to_vec()),
            (11, b"more".to_vec())
        ]
    );
}

#[test]
fn torn_tail_cut_mid_record_is_dropped() {
    let record_len = encoded_len(payload(10, "t").len());
    // Cuts inside the header, at its end, and inside the payload.
    for keep in [1, 12, 19, 20, 21, record_len - 1] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let seg = ten_records(tmp.path());
        let cut = offset_in_segment(1, 10, "t") + keep;
        OpenOptions::new()
            .write(true)
            .open(&seg)
            .and_then(|f| f.set_len(cut))
            .expect("cut the file");
        assert_last_record_dropped(tmp.path(), &seg, cut);
    }
}

#[test]
fn flipped_bytes_in_the_last_record_are_a_torn_tail() {
    let record_len = encoded_len(payload(10, "t").len());
    // The length field, the index, the header checksum, the payload.
    for into in [1, 6, 17, record_len - 1] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let seg = ten_records(tmp.path());
        flip(&seg, offset_in_segment(1, 10, "t") + into);
        let len = file_len(&seg);
        assert_last_record_dropped(tmp.path(), &seg, len);
    }
}

#[test]
fn zeros_after_the_last_record_are_a_clean_end() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (mut wal, _) = Wal::open(tmp.path(), opts_prealloc(1 << 20, 0)).expect("open");
    fill(&mut wal, 1..=10, "t");
    wal.sync().expect("sync");
    drop(wal);
    let seg = segment_files(tmp.path()).remove(0);
    let good = file_len(&seg);
    // What a crash can leave where the size got ahead of the data, even
    // without preallocation; not a whole page, so not page-aligned luck.
    OpenOptions::new()
        .write(true)
        .open(&seg)
        .and_then(|f| f.set_len(good + 5000))
        .expect("extend");
    let (mut wal, rec) = Wal::open(tmp.path(), opts_prealloc(1 << 20, 0)).expect("open");
    assert_eq!(rec.torn_tail, None);
    assert_eq!(wal.last_index(), Some(10));
    wal.append(11, b"next").expect("append");
    wal.sync().expect("sync");
    assert_eq!(record_at(&seg, good), 11, "appended right after record 10");
}

#[test]
fn damage_in_a_middle_record_is_corruption_and_nothing_is_cut() {
    // A length byte (which would otherwise make the record seem to run off
    // the end), the index, and the payload; record 9 has only one sound
    // record after it.
    let cases = [5, 9].into_iter().flat_map(|record| {
        let len = encoded_len(payload(record, "t").len());
        [0, 2, 6, len - 1].map(|into| (record, into))
    });
    for (record, into) in cases {
        let tmp = tempfile::tempdir().expect("tempdir");
        let seg = ten_records(tmp.path());
        flip(&seg, offset_in_segment(1, record, "t") + into);
        let before = fs::read(&seg).expect("read");
        let err = Wal::open(tmp.path(), opts(1 << 20)).expect_err("corrupt");
        assert_eq!(corrupt_path(err), seg, "byte {into} of record {record}");
        assert_eq!(
            fs::read(&seg).expect("read"),
            before,
            "open changed the file"
        );
    }
}

#[test]
fn damage_at_the_end_of_an_earlier_segment_is_corruption() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (mut wal, _) = open(tmp.path(), 100);
    fill(&mut wal, 1..=20, "s");
    wal.sync().expect("sync");
    drop(wal);
    let files = segment_files(tmp.path());
    assert!(files.len() >= 3);
    let victim = &files[1];
    let len = file_len(victim);
    flip(victim, len - 1);
    let err = Wal::open(tmp.path(), opts(100)).expect_err("corrupt");
    assert_eq!(&corrupt_path(err), victim);

    // The same damage at the end of the last segment is a torn tail.
    flip(victim, len - 1);
    let last = files.last().expect("files");
    flip(last, offset_in_segment(first_of(last), 21, "s") - 1);
    let (wal, rec) = open(tmp.path(), 100);
    assert_eq!(rec.torn_tail.expect("torn").segment, *last);
    assert_eq!(wal.last_index(), Some(19));
}

#[test]
fn a_segment_whose_name_disagrees_with_its_records_is_corruption() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let seg = ten_records(tmp.path());
    let renamed = tmp.path().join(segment::file_name(2));
    fs::rename(&seg, &renamed).expect("rename");
    let err = Wal::open(tmp.path(), opts(1 << 20)).expect_err("misnumbered");
    assert_eq!(corrupt_path(err), renamed);
}

#[test]
fn reads_check_what_they_return() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let seg = ten_records(tmp.path());
    let (mut wal, _) = open(tmp.path(), 1 << 20);
    let at = offset_in_segment(1, 5, "t");

    // A sound record with the wrong index in record 5's place.
    let mut imposter = Vec::new();
    record::encode(99, &payload(5, "t"), &mut imposter).expect("encode");
    let mut bytes = fs::read(&seg).expect("read");
    let good = bytes.clone();
    bytes[at as usize..at as usize + imposter.len()].copy_from_slice(&imposter);
    fs::write(&seg, &bytes).expect("write");
    assert_eq!(corrupt_path(wal.read(4, 6).expect_err("imposter")), seg);

    fs::write(&seg, &good).expect("write");
    assert_eq!(wal.read(5, 5).expect("read"), expect(5..=5, "t"));
    flip(&seg, at + 25);
    assert_eq!(corrupt_path(wal.read(1, 10).expect_err("bit rot")), seg);
}

#[test]
fn a_missing_middle_segment_is_corruption() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (mut wal, _) = open(tmp.path(), 100);
    fill(&mut wal, 1..=20, "s");
    wal.sync().expect("sync");
    drop(wal);
    let files = segment_files(tmp.path());
    fs::remove_file(&files[1]).expect("remove");
    let err = Wal::open(tmp.path(), opts(100)).expect_err("gap");
    assert_eq!(corrupt_path(err), files[2]);
}

#[test]
fn a_misnamed_segment_is_corruption() {
    let tmp = tempfile::tempdir().expect("tempdir");
    fs::write(tmp.path().join("log-12.wal"), b"").expect("write");
    let err = Wal::open(tmp.path(), opts(100)).expect_err("bad name");
    assert_eq!(corrupt_path(err), tmp.path().join("log-12.wal"));
}

#[test]
fn an_empty_last_segment_left_by_a_crash_is_removed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let _ = ten_records(tmp.path());
    fs::write(tmp.path().join(segment::file_name(11)), b"").expect("write");
    let (mut wal, rec) = open(tmp.path(), 1 << 20);
    assert_eq!((rec.last_index, rec.segments), (Some(10), 1));
    fill(&mut wal, 11..=12, "t");
    wal.sync().expect("sync");
}

#[test]
fn truncate_then_append_then_reopen() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let (mut wal, _) = open(dir, 120);
    fill(&mut wal, 1..=30, "old");
    wal.sync().expect("sync");
    let before = segment_files(dir).len();

    wal.truncate_from(12).expect("truncate");
    assert_eq!(wal.last_index(), Some(11));
    assert!(segment_files(dir).len() < before);
    assert!(segment_files(dir).iter().all(|f| first_of(f) <= 11));
    assert!(matches!(wal.read(11, 12), Err(Error::Wal(_))));
    fill(&mut wal, 12..=20, "new");
    wal.sync().expect("sync");

    // Unsynced records can be truncated too, and earlier ones stay pending.
    fill(&mut wal, 21..=25, "new");
    wal.truncate_from(23).expect("truncate pending");
    wal.sync().expect("sync");
    drop(wal);

    let (mut wal, rec) = open(dir, 120);
    assert_eq!((rec.first_index, rec.last_index), (Some(1), Some(22)));
    let mut want = expect(1..=11, "old");
    want.extend(expect(12..=22, "new"));
    assert_eq!(wal.read(1, 22).expect("read"), want);

    // Truncating at the first record of a segment removes that segment.
    let files = segment_files(dir);
    let boundary = first_of(&files[files.len() - 2]);
    wal.truncate_from(boundary).expect("truncate");
    assert_eq!(segment_files(dir), files[..files.len() - 2]);
    assert_eq!(wal.last_index(), Some(boundary - 1));
    // Truncating past the end changes nothing; at the start empties the log.
    wal.truncate_from(boundary).expect("no-op");
    wal.truncate_from(1).expect("truncate all");
    assert_eq!((wal.first_index(), wal.last_index()), (None, None));
    assert!(segment_files(dir).is_empty());
    wal.append(40, b"fresh start")
        .expect("any index on an empty log");
    wal.sync().expect("sync");
    drop(wal);
    let (wal, rec) = open(dir, 120);
    assert_eq!((rec.first_index, rec.last_index), (Some(40), Some(40)));
    drop(wal);
}

#[test]
fn purge_removes_old_segments_and_survives_reopen() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let (mut wal, _) = open(dir, 120);
    fill(&mut wal, 1..=40, "p");
    wal.sync().expect("sync");
    let before = segment_files(dir);

    wal.purge_upto(17).expect("purge");
    assert_eq!(wal.first_index(), Some(18));
    let after = segment_files(dir);
    assert!(after.len() < before.len());
    // Only the segment holding 18 and later ones remain.
    assert!(first_of(&after[0]) <= 18);
    assert!(after.len() < 2 || first_of(&after[1]) > 18);
    assert!(matches!(wal.read(17, 18), Err(Error::Wal(_))));
    assert_eq!(wal.read(18, 40).expect("read"), expect(18..=40, "p"));
    // A purge never moves backwards.
    wal.purge_upto(3).expect("stale purge");
    assert_eq!(wal.first_index(), Some(18));
    drop(wal);

    let (mut wal, rec) = open(dir, 120);
    assert_eq!((rec.first_index, rec.last_index), (Some(18), Some(40)));
    assert_eq!(wal.read(18, 40).expect("read"), expect(18..=40, "p"));

    // Purging past the end empties the log (a snapshot install).
    wal.purge_upto(100).expect("purge all");
    assert_eq!((wal.first_index(), wal.last_index()), (None, None));
    assert!(segment_files(dir).is_empty());
    drop(wal);
    let (mut wal, rec) = open(dir, 120);
    assert_eq!((rec.first_index, wal.purged()), (None, Some(100)));
    wal.append(101, b"after the snapshot").expect("append");
    wal.sync().expect("sync");
    drop(wal);
    let (mut wal, _) = open(dir, 120);
    assert_eq!(
        wal.read(101, 101).expect("read"),
        vec![(101, b"after the snapshot".to_vec())]
    );

    // An empty log restarted below its purge point keeps what it is given
    // across a reopen: the purge point moves back.
    wal.purge_upto(200).expect("purge all");
    wal.append(150, b"restart")
        .expect("append below the purge point");
    wal.sync().expect("sync");
    drop(wal);
    let (mut wal, rec) = open(dir, 120);
    assert_eq!((rec.first_index, wal.purged()), (Some(150), Some(149)));
    assert_eq!(
        wal.read(150, 150).expect("read"),
        vec![(150, b"restart".to_vec())]
    );
}

#[test]
fn segments_left_by_an_interrupted_purge_are_removed_on_open() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let (mut wal, _) = open(dir, 120);
    fill(&mut wal, 1..=40, "p");
    wal.sync().expect("sync");
    drop(wal);
    let before = segment_files(dir);
    // The purge point is written first; a crash right after leaves every
    // segment in place.
    meta::write(dir, PURGE_FILE, &25u64.to_le_bytes(), true).expect("write");
    let (mut wal, rec) = open(dir, 120);
    assert_eq!(rec.first_index, Some(26));
    assert!(segment_files(dir).len() < before.len());
    assert_eq!(wal.read(26, 40).expect("read"), expect(26..=40, "p"));
}

#[test]
fn meta_round_trip_and_damage() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (wal, _) = open(tmp.path(), 1 << 20);
    assert_eq!(wal.load_meta("vote").expect("load"), None);
    wal.save_meta("vote", b"term 3 for node 2").expect("save");
    wal.save_meta("committed", b"").expect("save");
    assert_eq!(
        wal.load_meta("vote").expect("load"),
        Some(b"term 3 for node 2".to_vec())
    );
    assert_eq!(wal.load_meta("committed").expect("load"), Some(Vec::new()));
    wal.save_meta("vote", b"term 4").expect("overwrite");
    assert_eq!(
        wal.load_meta("vote").expect("load"),
        Some(b"term 4".to_vec())
    );
    for bad in ["", "../vote", "a/b", "vote.meta", &"x".repeat(65)] {
        assert!(
            matches!(wal.save_meta(bad, b"x"), Err(Error::Wal(_))),
            "{bad:?}"
        );
    }
    let leftovers: Vec<_> = fs::read_dir(tmp.path())
        .expect("list")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());

    let path = tmp.path().join("vote.meta");
    let good = fs::read(&path).expect("read");
    for at in 0..good.len() {
        let mut bytes = good.clone();
        bytes[at] ^= 0x01;
        fs::write(&path, &bytes).expect("write");
        let err = wal.load_meta("vote").expect_err("damaged");
        assert_eq!(corrupt_path(err), path, "byte {at}");
    }
    fs::write(&path, &good[..good.len() - 1]).expect("write");
    assert_eq!(
        corrupt_path(wal.load_meta("vote").expect_err("short")),
        path
    );
    fs::write(&path, &good).expect("write");
    assert_eq!(
        wal.load_meta("vote").expect("load"),
        Some(b"term 4".to_vec())
    );
}

#[test]
fn a_damaged_purge_point_fails_open() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (mut wal, _) = open(tmp.path(), 1 << 20);
    fill(&mut wal, 1..=5, "p");
    wal.purge_upto(2).expect("purge");
    drop(wal);
    let path = tmp.path().join(PURGE_FILE);
    flip(&path, file_len(&path) - 1);
    let err = Wal::open(tmp.path(), opts(1 << 20)).expect_err("corrupt");
    assert_eq!(corrupt_path(err), path);
}

#[derive(Debug, Clone)]
enum Step {
    Append {
        n: u64,
        len: usize,
        gap: u64,
    },
    Sync,
    Truncate(u64),
    Purge(u64),
    /// Sync, close, open.
    Reopen,
    /// Close without syncing, like a killed process: whatever was handed to
    /// the OS survives.
    Crash,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (1u64..8, 0usize..40, 0u64..3).prop_map(|(n, len, gap)| Step::Append { n, len, gap }),
        2 => Just(Step::Sync),
        2 => any::<u64>().prop_map(Step::Truncate),
        2 => any::<u64>().prop_map(Step::Purge),
        1 => Just(Step::Reopen),
        1 => Just(Step::Crash),
    ]
}

/// What the log should hold.
#[derive(Debug, Default)]
struct Model {
    entries: Vec<(u64, Vec<u8>)>,
    purged: Option<u64>,
    /// Leading entries known to be on disk.
    durable: usize,
}

impl Model {
    fn first(&self) -> Option<u64> {
        self.entries.first().map(|e| e.0)
    }
    fn last(&self) -> Option<u64> {
        self.entries.last().map(|e| e.0)
    }
}

/// Compares indexes, and with `read_all` the contents too (reading writes
/// buffered records out, so it is skipped after appends to leave something
/// for a crash to lose).
fn check(wal: &mut Wal, model: &Model, read_all: bool) -> Result<(), TestCaseError> {
    prop_assert_eq!(wal.first_index(), model.first());
    prop_assert_eq!(wal.last_index(), model.last());
    prop_assert_eq!(wal.purged(), model.purged);
    if let (true, Some(first), Some(last)) = (read_all, model.first(), model.last()) {
        prop_assert_eq!(&wal.read(first, last).expect("read"), &model.entries);
    }
    Ok(())
}

fn run(segment_bytes: u64, prealloc_bytes: u64, steps: Vec<Step>) -> Result<(), TestCaseError> {
    let tmp = tempfile::tempdir().expect("tempdir");
    let opts = WalOptions {
        segment_bytes,
        fsync: false,
        prealloc_bytes,
        spare_segments: false,
    };
    let (mut wal, _) = Wal::open(tmp.path(), opts.clone()).expect("open");
    let mut model = Model::default();
    let mut counter = 0u8;
    for step in steps {
        let read_all = !matches!(step, Step::Append { .. });
        match step {
            Step::Append { n, len, gap } => {
                let start = match (model.last(), model.purged) {
                    (Some(last), _) => last + 1,
                    (None, Some(p)) => p + 1 + gap,
                    (None, None) => 1 + gap,
                };
                for index in start..start + n {
                    counter = counter.wrapping_add(1);
                    let bytes = vec![counter; len + index as usize % 5];
                    wal.append(index, &bytes).expect("append");
                    model.entries.push((index, bytes));
                }
            }
            Step::Sync => {
                wal.sync().expect("sync");
                model.durable = model.entries.len();
            }
            Step::Truncate(x) => {
                if let Some(first) = model.first() {
                    let span = model.entries.len() as u64 + 2;
                    let from = first.saturating_sub(1) + x % span;
                    wal.truncate_from(from).expect("truncate");
                    model.entries.retain(|e| e.0 < from);
                    model.durable = model.durable.min(model.entries.len());
                } else {
                    wal.truncate_from(x).expect("truncate an empty log");
                }
            }
            Step::Purge(x) => {
                let base = model.first().or(model.purged).unwrap_or(0);
                let upto = base.saturating_sub(2) + x % (model.entries.len() as u64 + 3);
                wal.purge_upto(upto).expect("purge");
                let before = model.entries.len();
                model.entries.retain(|e| e.0 > upto);
                model.durable = model.durable.saturating_sub(before - model.entries.len());
                model.purged = model.purged.max(Some(upto));
            }
            Step::Reopen => {
                wal.sync().expect("sync");
                drop(wal);
                let (reopened, rec) = Wal::open(tmp.path(), opts.clone()).expect("reopen");
                wal = reopened;
                prop_assert_eq!(rec.torn_tail, None);
                prop_assert_eq!(rec.first_index, model.first());
                prop_assert_eq!(rec.last_index, model.last());
                model.durable = model.entries.len();
            }
            Step::Crash => {
                drop(wal);
                let (reopened, rec) = Wal::open(tmp.path(), opts.clone()).expect("reopen");
                wal = reopened;
                prop_assert_eq!(rec.torn_tail, None);
                let got = match (wal.first_index(), wal.last_index()) {
                    (Some(f), Some(l)) => wal.read(f, l).expect("read"),
                    _ => Vec::new(),
                };
                prop_assert!(got.len() >= model.durable, "lost synced records");
                prop_assert!(got.len() <= model.entries.len());
                prop_assert_eq!(&got[..], &model.entries[..got.len()]);
                model.entries = got;
                model.durable = model.entries.len();
            }
        }
        check(&mut wal, &model, read_all)?;
    }
    drop(wal);
    let (mut wal, _) = Wal::open(tmp.path(), opts).expect("final reopen");
    // Only synced records are certain after the final close.
    let durable_last = model.durable.checked_sub(1).map(|i| model.entries[i].0);
    prop_assert!(wal.last_index() >= durable_last, "lost synced records");
    if let (Some(first), Some(last)) = (wal.first_index(), wal.last_index()) {
        let got = wal.read(first, last).expect("read");
        prop_assert!(got.len() <= model.entries.len());
        prop_assert_eq!(&got[..], &model.entries[..got.len()]);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn behaves_like_a_vec(
        segment_bytes in 40u64..400,
        // Off, smaller than a record, a few records, the default.
        prealloc_bytes in prop_oneof![Just(0u64), Just(16), Just(300), Just(PREALLOC)],
        steps in proptest::collection::vec(step(), 1..60),
    ) {
        run(segment_bytes, prealloc_bytes, steps)?;
    }
}

/// The index of the sound record at `offset` of a segment file.
fn record_at(path: &Path, offset: u64) -> u64 {
    let bytes = fs::read(path).expect("read");
    match record::decode(&bytes, offset as usize) {
        record::Decoded::Record { index, .. } => index,
        other => panic!("offset {offset}: {}", other.damage()),
    }
}

#[test]
fn a_preallocated_segment_reopens_where_its_records_end() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let seg = ten_records(tmp.path());
    let records = offset_in_segment(1, 11, "t");
    assert_eq!(file_len(&seg), PREALLOC, "allocated ahead of the records");

    let (mut wal, rec) = open(tmp.path(), 1 << 20);
    assert_eq!(rec.torn_tail, None, "zeros after the records are no damage");
    assert_eq!((rec.first_index, rec.last_index), (Some(1), Some(10)));
    assert_eq!(wal.read(1, 10).expect("read"), expect(1..=10, "t"));
    fill(&mut wal, 11..=12, "t");
    wal.sync().expect("sync");
    assert_eq!(file_len(&seg), PREALLOC, "still within the first chunk");
    assert_eq!(record_at(&seg, records), 11, "no gap before record 11");
    drop(wal);

    let (mut wal, rec) = open(tmp.path(), 1 << 20);
    assert_eq!(rec.torn_tail, None);
    assert_eq!(wal.read(1, 12).expect("read"), expect(1..=12, "t"));
}

#[test]
fn the_file_grows_by_chunks_and_a_big_write_by_what_it_needs() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (mut wal, _) = Wal::open(tmp.path(), opts_prealloc(1 << 30, 4096)).expect("open");
    wal.append(1, &[1u8; 100]).expect("append");
    wal.sync().expect("sync");
    let seg = segment_files(tmp.path()).remove(0);
    assert_eq!(file_len(&seg), 4096);
    // Past the end of the allocation: more than a chunk is needed.
    wal.append(2, &[2u8; 10_000]).expect("append");
    wal.sync().expect("sync");
    let records = encoded_len(100) + encoded_len(10_000);
    assert_eq!(file_len(&seg), records.max(4096 + 4096));
    drop(wal);
    let (mut wal, rec) = Wal::open(tmp.path(), opts_prealloc(1 << 30, 4096)).expect("open");
    assert_eq!(rec.torn_tail, None);
    assert_eq!(wal.read(2, 2).expect("read"), vec![(2, vec![2u8; 10_000])]);
}

#[test]
fn a_sealed_segment_holds_exactly_its_records() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (mut wal, _) = open(tmp.path(), 200);
    fill(&mut wal, 1..=40, "r");
    wal.sync().expect("sync");
    let files = segment_files(tmp.path());
    assert!(files.len() >= 3, "{} segments", files.len());
    for pair in files.windows(2) {
        let (first, next) = (first_of(&pair[0]), first_of(&pair[1]));
        let records = offset_in_segment(first, next, "r");
        assert_eq!(file_len(&pair[0]), records, "{}", pair[0].display());
    }
    let last = files.last().expect("files");
    assert_eq!(file_len(last), PREALLOC);
    drop(wal);
    let (mut wal, rec) = open(tmp.path(), 200);
    assert_eq!(rec.torn_tail, None);
    assert_eq!(wal.read(1, 40).expect("read"), expect(1..=40, "r"));
}

#[test]
fn without_preallocation_files_hold_exactly_their_records() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (mut wal, _) = Wal::open(tmp.path(), opts_prealloc(1 << 20, 0)).expect("open");
    fill(&mut wal, 1..=10, "t");
    wal.sync().expect("sync");
    let seg = segment_files(tmp.path()).remove(0);
    assert_eq!(file_len(&seg), offset_in_segment(1, 11, "t"));
    fill(&mut wal, 11..=12, "t");
    wal.sync().expect("sync");
    assert_eq!(file_len(&seg), offset_in_segment(1, 13, "t"));
    drop(wal);
    let (mut wal, rec) = Wal::open(tmp.path(), opts_prealloc(1 << 20, 0)).expect("open");
    assert_eq!(rec.torn_tail, None);
    assert_eq!(wal.read(1, 12).expect("read"), expect(1..=12, "t"));
}

#[test]
fn truncate_cuts_the_preallocation_and_appends_allocate_again() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let seg = ten_records(tmp.path());
    let (mut wal, _) = open(tmp.path(), 1 << 20);
    wal.truncate_from(6).expect("truncate");
    assert_eq!(file_len(&seg), offset_in_segment(1, 6, "t"));
    fill(&mut wal, 6..=12, "u");
    wal.sync().expect("sync");
    // A chunk from where the file now ends.
    assert_eq!(file_len(&seg), offset_in_segment(1, 6, "t") + PREALLOC);
    assert_eq!(record_at(&seg, offset_in_segment(1, 6, "t")), 6);
    drop(wal);
    let (mut wal, rec) = open(tmp.path(), 1 << 20);
    assert_eq!(rec.torn_tail, None);
    let mut want = expect(1..=5, "t");
    want.extend(expect(6..=12, "u"));
    assert_eq!(wal.read(1, 12).expect("read"), want);
}

/// Records of about 1 KiB, so unsynced ones span several pages.
fn big(index: u64) -> Vec<u8> {
    vec![index as u8 | 1; 900 + (index as usize * 37) % 200]
}

/// Records 1..=5 synced, 6..=30 handed to the OS but not synced, the
/// handle dropped (a crash that kept every page). Returns the segment, the
/// end of the synced records, and each record's offset.
fn synced_then_unsynced(dir: &Path) -> (PathBuf, u64, Vec<u64>) {
    let (mut wal, _) = open(dir, 1 << 20);
    for i in 1..=30 {
        wal.append(i, &big(i)).expect("append");
        if i == 5 {
            wal.sync().expect("sync");
        }
    }
    // A read writes buffered records out, without syncing them.
    wal.read(30, 30).expect("read");
    drop(wal);
    let offsets: Vec<u64> = (1..=31)
        .scan(0, |at, i| {
            let here = *at;
            *at += encoded_len(big(i).len());
            Some(here)
        })
        .collect();
    let seg = segment_files(dir).remove(0);
    (seg, offsets[5], offsets)
}

fn zero(path: &Path, from: u64, len: u64) {
    let mut bytes = fs::read(path).expect("read");
    bytes[from as usize..(from + len) as usize].fill(0);
    fs::write(path, bytes).expect("write");
}

/// The record whose bytes hold `offset`, as its index (offsets[i] is the
/// start of record i + 1).
fn record_holding(offsets: &[u64], offset: u64) -> u64 {
    offsets.partition_point(|&o| o <= offset) as u64
}

#[test]
fn a_page_lost_before_a_later_one_is_a_torn_tail() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (seg, synced_end, offsets) = synced_then_unsynced(tmp.path());
    // A page wholly past the synced records, with records after it.
    let page = synced_end.next_multiple_of(4096);
    assert!(page + 4096 < offsets[28], "a sound record follows the page");
    zero(&seg, page, 4096);
    let damaged = record_holding(&offsets, page);
    let at = offsets[damaged as usize - 1];

    let (mut wal, rec) = open(tmp.path(), 1 << 20);
    let torn = rec.torn_tail.expect("a torn tail");
    assert_eq!(torn.offset, at);
    assert_eq!(torn.dropped_bytes, PREALLOC - at);
    assert!(
        torn.reason
            .contains(&format!("never-written page at {page} before offset")),
        "{}",
        torn.reason
    );
    assert_eq!(rec.last_index, Some(damaged - 1));
    assert!(damaged > 5, "every synced record is kept");
    let want: Vec<_> = (1..damaged).map(|i| (i, big(i))).collect();
    assert_eq!(wal.read(1, damaged - 1).expect("read"), want);
    assert_eq!(file_len(&seg), at, "cut at the first damaged record");

    wal.append(damaged, b"again").expect("append");
    wal.sync().expect("sync");
    drop(wal);
    let (mut wal, rec) = open(tmp.path(), 1 << 20);
    assert_eq!(rec.torn_tail, None);
    assert_eq!(
        wal.read(damaged, damaged).expect("read"),
        vec![(damaged, b"again".to_vec())]
    );
}

#[test]
fn damage_before_a_sound_record_without_a_whole_zero_page_is_corruption() {
    // A flipped byte; zeros short of a page; a page of zeros not aligned
    // to one, so covering no whole page.
    type Damage = fn(&Path, u64);
    let cases: [(&str, Damage); 3] = [
        ("flipped byte", |seg, page| flip(seg, page + 7)),
        ("half a page of zeros", |seg, page| zero(seg, page, 2048)),
        ("unaligned zeros", |seg, page| zero(seg, page + 512, 4096)),
    ];
    for (what, damage) in cases {
        let tmp = tempfile::tempdir().expect("tempdir");
        let (seg, synced_end, offsets) = synced_then_unsynced(tmp.path());
        let page = synced_end.next_multiple_of(4096);
        assert!(page + 8192 < offsets[28]);
        damage(&seg, page);
        let before = fs::read(&seg).expect("read");
        let err = Wal::open(tmp.path(), opts(1 << 20)).expect_err(what);
        assert_eq!(corrupt_path(err), seg, "{what}");
        assert_eq!(
            fs::read(&seg).expect("read"),
            before,
            "{what}: file changed"
        );
    }
}

#[test]
fn a_zero_page_in_an_earlier_segment_is_corruption() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (mut wal, _) = open(tmp.path(), 12_000);
    for i in 1..=40 {
        wal.append(i, &big(i)).expect("append");
    }
    wal.sync().expect("sync");
    drop(wal);
    let files = segment_files(tmp.path());
    assert!(files.len() >= 3);
    assert!(file_len(&files[0]) > 8192);
    zero(&files[0], 4096, 4096);
    let err = Wal::open(tmp.path(), opts(12_000)).expect_err("corrupt");
    assert_eq!(corrupt_path(err), files[0]);
}

#[test]
fn only_an_unsupported_filesystem_turns_preallocation_off() {
    for e in [Errno::OPNOTSUPP, Errno::NOTSUP, Errno::NOSYS] {
        assert!(cannot_preallocate(e), "{e}");
    }
    for e in [
        Errno::NOSPC,
        Errno::IO,
        Errno::BADF,
        Errno::FBIG,
        Errno::INTR,
    ] {
        assert!(!cannot_preallocate(e), "{e}");
    }
}

#[test]
fn a_failed_preallocation_fails_the_write_and_keeps_the_chunk() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("f");
    fs::write(&path, b"").expect("create");
    // Read-only: fallocate fails with EBADF, standing in for ENOSPC.
    let mut active = Active {
        file: File::open(&path).expect("open"),
        pending: b"record".to_vec(),
        written: 0,
        allocated: 0,
        unsynced: false,
        zeroed: false,
    };
    let mut space = Space {
        chunk: 4096,
        spare: None,
    };
    let err = active.write_out(&path, &mut space).expect_err("EBADF");
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert_eq!(space.chunk, 4096, "still preallocating");
    assert_eq!((active.written, active.pending.len()), (0, 6));
}

/// `cargo test -p zkserver --lib wal_sync_latency -- --ignored --nocapture`:
/// fdatasync latency of 2 KiB appends with and without preallocation, in a
/// directory on the project's disk (`/tmp` may be tmpfs), or WAL_BENCH_DIR.
#[test]
#[ignore]
fn wal_sync_latency() {
    let base = std::env::var_os("WAL_BENCH_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    let payload = vec![0x5a; 2048];
    for prealloc_bytes in [0, PREALLOC, 0, PREALLOC] {
        let tmp = tempfile::tempdir_in(&base).expect("tempdir");
        let (mut wal, _) =
            Wal::open(tmp.path(), opts_prealloc(64 << 20, prealloc_bytes)).expect("open");
        let mut micros: Vec<u128> = (1..=5000)
            .map(|i| {
                wal.append(i, &payload).expect("append");
                let start = std::time::Instant::now();
                wal.sync().expect("sync");
                start.elapsed().as_micros()
            })
            .collect();
        micros.sort_unstable();
        let q = |f: f64| micros[((micros.len() - 1) as f64 * f) as usize] as f64 / 1000.0;
        println!(
            "prealloc_bytes {prealloc_bytes:>7}: sync p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms, max {:.3} ms",
            q(0.5),
            q(0.9),
            q(0.99),
            q(0.999),
            q(1.0)
        );
    }
}

#[test]
fn the_log_can_move_to_its_own_thread() {
    fn send<T: Send>() {}
    send::<Wal>();
}

// Spare segments, step by step. Every wait polls at most `SPARE_WAIT`.

/// Big enough for spares, and a spare is asked for at half of it.
const SPARE_SEG: u64 = 2 << 20;
const SPARE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);
const POLL: std::time::Duration = std::time::Duration::from_millis(10);

/// Records of 2 to 9 KiB, distinct and of varying length.
fn busy(index: u64) -> Vec<u8> {
    payload(index, "busy").repeat(250)
}

fn busy_len(indexes: std::ops::RangeInclusive<u64>) -> u64 {
    indexes.map(|i| encoded_len(busy(i).len())).sum()
}

fn busy_records(indexes: std::ops::RangeInclusive<u64>) -> Vec<(u64, Vec<u8>)> {
    indexes.map(|i| (i, busy(i))).collect()
}

fn spare_path(dir: &Path) -> PathBuf {
    dir.join(spare::SPARE_FILE)
}

/// The background filler has finished a spare the log may take.
fn spare_ready(wal: &Wal) -> bool {
    wal.space.spare.as_ref().is_some_and(|s| s.is_ready())
}

/// Polls `done` every 10 ms until it holds, failing after `limit`.
fn wait_for(what: &str, limit: std::time::Duration, mut done: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    let polls = limit.as_millis() / POLL.as_millis() + 1;
    for _ in 0..polls {
        if done() {
            return;
        }
        if start.elapsed() > limit {
            break;
        }
        std::thread::sleep(POLL);
    }
    assert!(done(), "{what}: not after {:?}", start.elapsed());
}

/// The ready spare in `dir` is whole: `len` bytes, all zeros.
fn assert_whole_spare(dir: &Path, len: u64) {
    let bytes = fs::read(spare_path(dir)).expect("read the spare");
    assert_eq!(bytes.len() as u64, len, "the spare's length");
    assert!(bytes.iter().all(|&b| b == 0), "the spare is all zeros");
}

/// Appends and syncs `busy` records from `next` on until the last segment,
/// which held `held` bytes, holds enough to ask for a spare, checking that
/// no spare file appears before that. Returns the last index appended.
fn append_until_a_spare_is_asked(wal: &mut Wal, mut next: u64, mut held: u64) -> u64 {
    let threshold = SPARE_AFTER.min(SPARE_SEG / 2);
    for _ in 0..2000 {
        if held >= threshold {
            return next - 1;
        }
        assert!(
            !spare_path(wal.dir()).exists(),
            "a spare before the segment held {threshold} bytes ({held})"
        );
        wal.append(next, &busy(next)).expect("append");
        wal.sync().expect("sync");
        held += encoded_len(busy(next).len());
        next += 1;
    }
    panic!("the segment never reached {threshold} bytes");
}

/// A new log with segments of `SPARE_SEG`, given synced appends until it
/// asks for a spare, then left alone until the spare is ready. Returns the
/// log, whose next append moves to the spare, and its last index.
fn busy_log_with_a_ready_spare(dir: &Path) -> (Wal, u64) {
    let (mut wal, _) = Wal::open(dir, opts(SPARE_SEG)).expect("open");
    let last = append_until_a_spare_is_asked(&mut wal, 1, 0);
    assert!(busy_len(1..=last) < SPARE_SEG, "still in the first segment");
    wait_for("a ready spare", SPARE_WAIT, || {
        spare_ready(&wal) && fs::metadata(spare_path(dir)).is_ok_and(|m| m.len() == SPARE_SEG)
    });
    assert_whole_spare(dir, SPARE_SEG);
    assert_eq!(segment_files(dir).len(), 1, "waiting did not move the log");
    (wal, last)
}

/// With a spare ready, the next append seals the segment, which is not
/// full, at exactly its records and starts the next one in the spare.
#[test]
fn a_ready_spare_starts_the_next_segment_early() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let (mut wal, n) = busy_log_with_a_ready_spare(dir);
    let first = segment_files(dir).remove(0);
    assert_eq!(file_len(&first), PREALLOC, "preallocated before the seal");

    wal.append(n + 1, &busy(n + 1)).expect("append");
    let files = segment_files(dir);
    assert_eq!(files.len(), 2, "{files:?}");
    assert_eq!((files[0].clone(), first_of(&files[1])), (first, n + 1));
    let records = busy_len(1..=n);
    assert!(
        records + encoded_len(busy(n + 1).len()) <= SPARE_SEG,
        "sealed early"
    );
    assert_eq!(file_len(&files[0]), records, "cut back to its records");
    assert_eq!(
        file_len(&files[1]),
        SPARE_SEG,
        "the new segment is the spare"
    );
    assert!(
        !spare_path(dir).exists(),
        "the spare was renamed into place"
    );
    assert!(wal.active.as_ref().is_some_and(|a| a.zeroed));
    assert!(!spare_ready(&wal));

    wal.sync().expect("sync");
    assert_eq!(record_at(&files[1], 0), n + 1);
    let bytes = fs::read(&files[1]).expect("read");
    let end = encoded_len(busy(n + 1).len()) as usize;
    assert!(
        bytes[end..].iter().all(|&b| b == 0),
        "zeros after the record"
    );
    assert_eq!(wal.read(1, n + 1).expect("read"), busy_records(1..=n + 1));
    assert_eq!(wal.read(n, n + 1).expect("read"), busy_records(n..=n + 1));
}

/// A segment that began as a spare is not sealed early for the next spare:
/// it fills up, and only then does the log move to that spare.
#[test]
fn a_segment_that_was_a_spare_fills_up_before_the_next_spare() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let (mut wal, n) = busy_log_with_a_ready_spare(dir);
    wal.append(n + 1, &busy(n + 1)).expect("append");
    wal.sync().expect("sync");
    assert_eq!(segment_files(dir).len(), 2);

    let mut last = append_until_a_spare_is_asked(&mut wal, n + 2, busy_len(n + 1..=n + 1));
    wait_for("a second ready spare", SPARE_WAIT, || {
        spare_ready(&wal) && fs::metadata(spare_path(dir)).is_ok_and(|m| m.len() == SPARE_SEG)
    });
    last += 1;
    wal.append(last, &busy(last)).expect("append");
    wal.sync().expect("sync");
    assert_eq!(segment_files(dir).len(), 2, "no early seal of a spare");
    assert!(spare_ready(&wal), "the spare still waits");
    assert_whole_spare(dir, SPARE_SEG);

    // Fill the second segment: the record that does not fit goes to the
    // spare.
    for _ in 0..2000 {
        if segment_files(dir).len() > 2 {
            break;
        }
        last += 1;
        wal.append(last, &busy(last)).expect("append");
        wal.sync().expect("sync");
    }
    let files = segment_files(dir);
    assert_eq!(files.len(), 3, "{files:?}");
    assert_eq!(first_of(&files[2]), last);
    let second = busy_len(n + 1..=last - 1);
    assert!(
        second + encoded_len(busy(last).len()) > SPARE_SEG,
        "it was full"
    );
    assert_eq!(file_len(&files[1]), second, "cut back to its records");
    assert_eq!(
        file_len(&files[2]),
        SPARE_SEG,
        "the third segment is the spare"
    );
    assert!(!spare_path(dir).exists());
    assert_eq!(record_at(&files[2], 0), last);
    assert_eq!(wal.read(1, last).expect("read"), busy_records(1..=last));
}

/// A reopen finds every record, the zeros after the records of the last
/// segment (a spare) are a clean end and stay allocated, and a leftover
/// spare file, even one that starts with a sound record, is removed and
/// not read as part of the log.
#[test]
fn a_log_in_a_spare_reopens_clean_and_drops_a_leftover_spare() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let (mut wal, n) = busy_log_with_a_ready_spare(dir);
    let last = n + 5;
    for i in n + 1..=last {
        wal.append(i, &busy(i)).expect("append");
    }
    wal.sync().expect("sync");
    drop(wal);
    let files = segment_files(dir);
    assert_eq!(files.len(), 2);
    assert_eq!(file_len(&files[1]), SPARE_SEG);

    let mut junk = Vec::new();
    record::encode(last + 1, b"not in the log", &mut junk).expect("encode");
    junk.extend_from_slice(&[0xa5; 5000]);
    fs::write(spare_path(dir), &junk).expect("a leftover spare");

    let (mut wal, rec) = Wal::open(dir, opts(SPARE_SEG)).expect("reopen");
    assert_eq!(
        rec,
        Recovery {
            first_index: Some(1),
            last_index: Some(last),
            torn_tail: None,
            segments: 2,
        }
    );
    assert!(!spare_path(dir).exists(), "the leftover spare is gone");
    assert_eq!(segment_files(dir), files);
    assert_eq!(file_len(&files[1]), SPARE_SEG, "the zeros were kept");
    assert_eq!(wal.read(1, last).expect("read"), busy_records(1..=last));

    wal.append(last + 1, b"next").expect("append");
    wal.sync().expect("sync");
    assert_eq!(file_len(&files[1]), SPARE_SEG, "written into the zeros");
    assert_eq!(record_at(&files[1], busy_len(n + 1..=last)), last + 1);
    drop(wal);
    let (mut wal, rec) = Wal::open(dir, opts(SPARE_SEG)).expect("reopen");
    assert_eq!((rec.last_index, rec.torn_tail), (Some(last + 1), None));
    assert_eq!(
        wal.read(last, last + 1).expect("read"),
        vec![(last, busy(last)), (last + 1, b"next".to_vec())]
    );
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in fs::read_dir(from).expect("list") {
        let entry = entry.expect("entry");
        fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
}

fn write_at(path: &Path, at: u64, bytes: &[u8]) {
    let file = OpenOptions::new().write(true).open(path).expect("open");
    std::os::unix::fs::FileExt::write_all_at(&file, bytes, at).expect("write");
}

/// A torn end in a segment that began as a spare (zeros everywhere after
/// the records) is cut off and reported like any torn tail, and the log
/// goes on from there.
#[test]
fn a_torn_tail_in_a_spare_segment_is_dropped() {
    let base = tempfile::tempdir().expect("tempdir");
    let (mut wal, n) = busy_log_with_a_ready_spare(base.path());
    let last = n + 6;
    for i in n + 1..=last {
        wal.append(i, &busy(i)).expect("append");
    }
    wal.sync().expect("sync");
    drop(wal);
    let seg_name = segment::file_name(n + 1);
    // Offsets in the second segment.
    let at_last = busy_len(n + 1..=last - 1);
    let last_len = encoded_len(busy(last).len());
    let end = at_last + last_len;
    let first_len = encoded_len(busy(n + 1).len());

    type Damage = fn(&Path, u64, u64, u64);
    // (what, damage(seg, at_last, last_len, first_len), offset of the cut,
    // last index kept)
    let cases: [(&str, Damage, u64, u64); 4] = [
        (
            "the last record's second half never written",
            |seg, at, len, _| zero(seg, at + len / 2, len - len / 2),
            at_last,
            last - 1,
        ),
        (
            "only part of the last record's header written",
            |seg, at, len, _| zero(seg, at + 10, len - 10),
            at_last,
            last - 1,
        ),
        (
            "garbage after the last record",
            |seg, at, len, _| write_at(seg, at + len, &[0x5a; 3000]),
            end,
            last,
        ),
        (
            "the segment's only record cut in half",
            |seg, _, _, first| zero(seg, first / 2, SPARE_SEG - first / 2),
            0,
            n,
        ),
    ];
    for (what, damage, cut, kept) in cases {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        copy_dir(base.path(), dir);
        let seg = dir.join(&seg_name);
        assert_eq!(file_len(&seg), SPARE_SEG, "{what}");
        damage(&seg, at_last, last_len, first_len);
        assert_eq!(file_len(&seg), SPARE_SEG, "{what}: damaged in place");

        let (mut wal, rec) = Wal::open(dir, opts(SPARE_SEG)).expect(what);
        let torn = rec.torn_tail.expect(what);
        assert_eq!(torn.segment, seg, "{what}");
        assert_eq!(torn.offset, cut, "{what}");
        assert_eq!(torn.dropped_bytes, SPARE_SEG - cut, "{what}");
        assert!(!torn.reason.is_empty(), "{what}");
        assert_eq!(
            (rec.first_index, rec.last_index),
            (Some(1), Some(kept)),
            "{what}"
        );
        if cut == 0 {
            // Emptied, so removed: the next record goes after record n.
            assert_eq!(rec.segments, 1, "{what}");
            assert!(!seg.exists(), "{what}");
        } else {
            assert_eq!(rec.segments, 2, "{what}");
            assert_eq!(file_len(&seg), cut, "{what}: the damage was cut off");
        }
        assert_eq!(wal.read(1, kept).expect(what), busy_records(1..=kept));

        wal.append(kept + 1, b"again").expect(what);
        wal.append(kept + 2, b"more").expect(what);
        wal.sync().expect(what);
        drop(wal);
        let (mut wal, rec) = Wal::open(dir, opts(SPARE_SEG)).expect(what);
        assert_eq!(
            (rec.last_index, rec.torn_tail),
            (Some(kept + 2), None),
            "{what}"
        );
        let mut want = busy_records(kept..=kept);
        want.push((kept + 1, b"again".to_vec()));
        want.push((kept + 2, b"more".to_vec()));
        assert_eq!(wal.read(kept, kept + 2).expect(what), want, "{what}");
    }
}

/// Every way of opening a log that makes no spares, named; `small` is the
/// segment size of the one whose segments are too small.
fn without_spares(small: u64) -> [(&'static str, WalOptions); 4] {
    [
        ("segments below the minimum", opts(small)),
        (
            "fsync off",
            WalOptions {
                fsync: false,
                ..opts(SPARE_SEG)
            },
        ),
        ("no preallocation", opts_prealloc(SPARE_SEG, 0)),
        (
            "spares off",
            WalOptions {
                spare_segments: false,
                ..opts(SPARE_SEG)
            },
        ),
    ]
}

/// Segments below `MIN_SPARE_BYTES`, no fsync, no preallocation, or spares
/// turned off: no spare file, while writing past where one would be asked
/// for (and across a segment roll) or for 300 ms after. Segments of exactly
/// `MIN_SPARE_BYTES` do get one, so the wait is long enough to see it.
#[test]
fn no_spare_for_small_segments_or_without_fsync() {
    for (what, o) in without_spares(MIN_SPARE_BYTES - 4096) {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        let (mut wal, _) = Wal::open(dir, o.clone()).expect(what);
        assert!(wal.space.spare.is_none(), "{what}");
        let target = o.segment_bytes * 3 / 2;
        let (mut i, mut written) = (0, 0);
        while written <= target {
            assert!(i < 2000, "{what}: {i} records");
            assert!(
                !spare_path(dir).exists(),
                "{what}: a spare after {written} bytes"
            );
            i += 1;
            wal.append(i, &busy(i)).expect(what);
            written += encoded_len(busy(i).len());
            if i % 8 == 0 {
                wal.sync().expect(what);
            }
        }
        wal.sync().expect(what);
        assert!(segment_files(dir).len() >= 2, "{what}: rolled over");
        let start = std::time::Instant::now();
        while start.elapsed() < std::time::Duration::from_millis(300) {
            assert!(!spare_path(dir).exists(), "{what}: a spare appeared");
            std::thread::sleep(POLL);
        }
        assert!(!spare_path(dir).exists(), "{what}: a spare appeared");
        assert_eq!(wal.read(1, i).expect(what), busy_records(1..=i), "{what}");
    }

    // The smallest segments that get a spare, written to just past half.
    let tmp = tempfile::tempdir().expect("tempdir");
    let (mut wal, _) = Wal::open(tmp.path(), opts(MIN_SPARE_BYTES)).expect("open");
    let mut i = 0;
    while busy_len(1..=i) < MIN_SPARE_BYTES / 2 {
        assert!(i < 2000);
        i += 1;
        wal.append(i, &busy(i)).expect("append");
    }
    wal.sync().expect("sync");
    wait_for("a spare for the smallest segments", SPARE_WAIT, || {
        spare_path(tmp.path()).exists()
    });
}

/// Whatever the options, a spare left in the directory (a crash, or a
/// clean close with one ready) is removed at open: with spares off nothing
/// else would ever remove it.
#[test]
fn a_leftover_spare_is_removed_at_open_whatever_the_options() {
    let spares_on = [("spares on", opts(SPARE_SEG))];
    for (what, o) in spares_on
        .into_iter()
        .chain(without_spares(MIN_SPARE_BYTES / 2))
    {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        let (mut wal, _) = Wal::open(dir, o.clone()).expect(what);
        fill(&mut wal, 1..=3, "l");
        wal.sync().expect(what);
        drop(wal);
        fs::write(spare_path(dir), vec![0u8; 1 << 16]).expect("a leftover spare");
        let (mut wal, rec) = Wal::open(dir, o).expect(what);
        assert_eq!((rec.last_index, rec.segments), (Some(3), 1), "{what}");
        assert!(
            !spare_path(dir).exists(),
            "{what}: the leftover spare is still there"
        );
        assert_eq!(wal.read(1, 3).expect(what), expect(1..=3, "l"), "{what}");
    }
}
