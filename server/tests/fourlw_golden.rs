//! Four-letter-word answers against ones captured from a real ZooKeeper
//! 3.8.0 (server/tests/fixtures/fourlw/, see its README). Each test builds
//! a view of the same state the captured server was in (sessions, watches,
//! ephemerals, connections); a shared normalizer masks what differs between
//! two runs (numbers, addresses, dates, paths, the version line).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;

use zkproto::{FourLetterWord as W, OpCode};
use zkserver::config::FourLetterWhitelist;
use zkserver::fourlw::{self, *};

const SID: i64 = 0x0100_0084_8298_0000;
const VERSION: &str = "3.8.0-zkops-test, built on 2025-01-01 00:00 UTC";

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fourlw")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Masks the values that differ between two runs of the same scenario.
fn normalize(text: &str) -> String {
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let (body, nl) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        let body = mask_version(body).unwrap_or_else(|| mask_path(body));
        out.push_str(&mask_tokens(&body));
        out.push_str(nl);
    }
    out
}

fn mask_version(line: &str) -> Option<String> {
    ["Zookeeper version: ", "zookeeper.version=", "zk_version\t"]
        .iter()
        .find(|p| line.starts_with(*p))
        .map(|p| format!("{p}<version>"))
}

fn mask_path(line: &str) -> String {
    match line.split_once("=/") {
        Some((key, _)) if !key.contains(' ') => format!("{key}=<path>"),
        _ => line.to_owned(),
    }
}

fn mask_tokens(line: &str) -> String {
    const NAMES: [&str; 19] = [
        "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "Jan", "Feb", "Mar", "Apr", "May", "Jun",
        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let b = line.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"0x") {
            let mut j = i + 2;
            while j < b.len() && b[j].is_ascii_hexdigit() {
                j += 1;
            }
            out.push_str("0x#");
            i = j;
        } else if b[i].is_ascii_digit() {
            let mut j = i;
            while j < b.len()
                && (b[j].is_ascii_digit()
                    || (b[j] == b'.' && b.get(j + 1).is_some_and(u8::is_ascii_digit)))
            {
                j += 1;
            }
            out.push('#');
            i = j;
        } else if NAMES
            .iter()
            .any(|n| b[i..].starts_with(n.as_bytes()) && b.get(i + 3).is_none_or(|c| *c == b' '))
        {
            out.push_str("<name>");
            i += 3;
        } else {
            let c = line[i..].chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn assert_matches(ours: &str, fixture_name: &str) {
    let theirs = fixture(fixture_name);
    assert_eq!(
        normalize(ours),
        normalize(&theirs),
        "\n--- ours ---\n{ours}\n--- {fixture_name} ---\n{theirs}"
    );
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn latency(samples: &[u64]) -> Latency {
    let mut l = Latency::default();
    for s in samples {
        l.record(*s);
    }
    l
}

/// The captured standalone scenario: zkCli holds one session with an
/// ephemeral (/fl/eph) and data watches on /fl/w and /fl/none (plus a child
/// watch on /fl), and the four-letter word's own connection is open.
fn standalone() -> ServerView {
    let session_conn = ConnView {
        remote: addr(55738),
        interest_ops: 1,
        queued: 0,
        received: 8,
        sent: 8,
        session: Some(SessionConnView {
            session_id: SID,
            last_op: last_op_name(OpCode::GetChildren2).to_owned(),
            established_ms: 1_795_316_005_831,
            timeout_ms: 30_000,
            last_cxid: 8,
            last_zxid: 4,
            last_response_ms: 8_796_042,
            last_latency_ms: 0,
            latency: latency(&[0, 2, 0]),
        }),
    };
    let word_conn = ConnView {
        remote: addr(52040),
        interest_ops: 0,
        queued: 0,
        received: 1,
        sent: 0,
        session: None,
    };
    let mut data_watches = BTreeMap::new();
    data_watches.insert(
        SID,
        BTreeSet::from(["/fl/none".to_owned(), "/fl/w".to_owned()]),
    );
    let mut ephemerals = BTreeMap::new();
    ephemerals.insert(SID, BTreeSet::from(["/fl/eph".to_owned()]));
    let t0 = 1_795_316_118_000;
    ServerView {
        version: VERSION.to_owned(),
        serving: true,
        mode: Mode::Standalone,
        latency: latency(&[0, 2, 0, 0]),
        packets_received: 11,
        packets_sent: 11,
        last_zxid: 4,
        node_count: 8,
        connections: vec![session_conn, word_conn],
        response_sizes: BufferSizes {
            last: 100,
            min: 16,
            max: 100,
        },
        data_watches,
        child_watch_count: 1,
        ephemerals,
        sessions: SessionsView::Buckets(vec![
            ExpiryBucket {
                expire_at_ms: t0,
                members: vec![],
            },
            ExpiryBucket {
                expire_at_ms: t0 + 10_000,
                members: vec![],
            },
            ExpiryBucket {
                expire_at_ms: t0 + 20_000,
                members: vec![],
            },
            ExpiryBucket {
                expire_at_ms: t0 + 28_000,
                members: vec![SID],
            },
        ]),
        session_count: 1,
        connection_buckets: vec![
            ExpiryBucket {
                expire_at_ms: t0,
                members: vec![],
            },
            ExpiryBucket {
                expire_at_ms: t0 + 10_000,
                members: vec![(addr(52100), 0)],
            },
            ExpiryBucket {
                expire_at_ms: t0 + 20_000,
                members: vec![],
            },
            ExpiryBucket {
                expire_at_ms: t0 + 30_000,
                members: vec![(addr(55738), SID)],
            },
        ],
        approximate_data_size: 65,
        open_file_descriptors: 42,
        max_file_descriptors: 20_000,
        uptime_ms: 12_218,
        data_dir_size: 67_109_337,
        log_dir_size: 67_109_337,
        conf: ConfView {
            client_port: 26281,
            secure_client_port: -1,
            data_dir: "/var/lib/zkserver/data".to_owned(),
            data_log_dir: "/var/lib/zkserver/log".to_owned(),
            tick_time: 2000,
            max_client_cnxns: 0,
            min_session_timeout: 4000,
            max_session_timeout: 40_000,
            client_port_listen_backlog: -1,
            server_id: 0,
            quorum: None,
        },
        env: ENVI_KEYS
            .iter()
            .map(|k| ((*k).to_owned(), format!("value of {k}")))
            .collect(),
        ..ServerView::default()
    }
}

/// The captured ensemble: three participants, one kazoo-less zkCli session
/// (ephemeral /q/eph) connected to a follower.
fn ensemble(mode: Mode) -> ServerView {
    let sid = 0x0100_0087_780f_0000;
    let mut v = standalone();
    v.mode = mode;
    v.last_zxid = 0x1_0000_0003;
    v.node_count = 7;
    v.data_watches.clear();
    v.child_watch_count = 0;
    v.ephemerals = BTreeMap::from([(sid, BTreeSet::from(["/q/eph".to_owned()]))]);
    v.peer_state = match mode {
        Mode::Leader => "leading - broadcast",
        _ => "following - broadcast",
    }
    .to_owned();
    v.quorum_size = 3;
    let t0 = 1_795_316_208_000;
    let word_conn = (addr(57664), 0);
    if mode == Mode::Leader {
        v.connections.truncate(0);
        v.connections.push(ConnView {
            remote: addr(36288),
            interest_ops: 0,
            queued: 0,
            received: 1,
            sent: 0,
            session: None,
        });
        v.proposal_sizes = BufferSizes {
            last: 91,
            min: 48,
            max: 91,
        };
        // No client ever talked to the leader.
        v.response_sizes = BufferSizes::default();
        v.learners = 2;
        v.synced_followers = 2;
        v.leader_uptime_ms = 11_085;
        v.sessions = SessionsView::Buckets(vec![ExpiryBucket {
            expire_at_ms: t0 + 24_000,
            members: vec![sid],
        }]);
        v.connection_buckets = vec![
            ExpiryBucket {
                expire_at_ms: t0,
                members: vec![],
            },
            ExpiryBucket {
                expire_at_ms: t0 + 10_000,
                members: vec![word_conn],
            },
        ];
    } else {
        v.sessions = SessionsView::Global(BTreeMap::from([(sid, 30_000)]));
        v.connection_buckets = vec![
            ExpiryBucket {
                expire_at_ms: t0,
                members: vec![],
            },
            ExpiryBucket {
                expire_at_ms: t0 + 10_000,
                members: vec![word_conn],
            },
            ExpiryBucket {
                expire_at_ms: t0 + 30_000,
                members: vec![(addr(57646), sid)],
            },
        ];
    }
    v.conf.server_id = if mode == Mode::Leader { 3 } else { 1 };
    v.conf.quorum = Some(QuorumConf {
        init_limit: 10,
        sync_limit: 5,
        election_alg: 3,
        election_port: 26292,
        quorum_port: 26291,
        peer_type: 0,
        members: (1..=3)
            .map(|i| (i, format!("127.0.0.1{i}:26291:26292:participant")))
            .collect(),
        config_version: 0,
    });
    v
}

fn text(word: W, view: &ServerView) -> String {
    fourlw::answer(word, view).unwrap_or_else(|| panic!("{word} not answered"))
}

#[test]
fn simple_words_match_byte_for_byte() {
    let v = standalone();
    for (word, file) in [
        (W::Ruok, "ruok.txt"),
        (W::Isro, "isro.txt"),
        (W::Srst, "srst.txt"),
        (W::Crst, "crst.txt"),
    ] {
        assert_eq!(text(word, &v), fixture(file), "{word}");
    }
}

#[test]
fn srvr_and_stat_match() {
    let v = standalone();
    assert_matches(&text(W::Srvr, &v), "srvr.txt");
    assert_matches(&text(W::Stat, &v), "stat.txt");
    assert_matches(&text(W::Srvr, &ensemble(Mode::Leader)), "leader-srvr.txt");
    assert_matches(
        &text(W::Srvr, &ensemble(Mode::Follower)),
        "follower-srvr.txt",
    );
}

#[test]
fn srvr_fields() {
    let mut v = standalone();
    v.last_zxid = 0x2_0000_00ff;
    v.node_count = 12_345;
    let srvr = text(W::Srvr, &v);
    let lines: Vec<&str> = srvr.lines().collect();
    assert_eq!(lines[0], format!("Zookeeper version: {VERSION}"));
    assert_eq!(lines[1], "Latency min/avg/max: 0/0.5/2");
    assert!(lines.contains(&"Zxid: 0x2000000ff"), "{srvr}");
    assert!(lines.contains(&"Mode: standalone"), "{srvr}");
    assert!(lines.contains(&"Connections: 2"), "{srvr}");
    assert_eq!(lines.last(), Some(&"Node count: 12345"));
    v.latency = latency(&[1, 9, 3, 2, 4, 3, 1]);
    assert!(text(W::Srvr, &v).contains("Latency min/avg/max: 1/3.2857/9\n"));
    v.latency = Latency::default();
    assert!(text(W::Srvr, &v).contains("Latency min/avg/max: 0/0.0/0\n"));
    for (mode, name) in [
        (Mode::Leader, "leader"),
        (Mode::Follower, "follower"),
        (Mode::Observer, "observer"),
    ] {
        v.mode = mode;
        assert!(text(W::Srvr, &v).contains(&format!("\nMode: {name}\n")));
    }
    v.mode = Mode::ReadOnly;
    let ro = text(W::Srvr, &v);
    assert!(
        ro.contains("\nREAD-ONLY mode; serving only read-only clients\nLatency"),
        "{ro}"
    );
    assert!(ro.contains("\nMode: read-only\n"));
    assert_eq!(text(W::Isro, &v), "ro");
}

#[test]
fn cons_matches_before_and_after_a_reset() {
    let mut v = standalone();
    assert_matches(&text(W::Cons, &v), "cons.txt");
    let cons = text(W::Cons, &v);
    assert!(cons.contains(
        ",sid=0x100008482980000,lop=GETC,est=1795316005831,to=30000,lcxid=0x8,lzxid=0x4,"
    ));
    assert!(cons.ends_with(
        ",llat=0,minlat=0,avglat=0,maxlat=2)\n /127.0.0.1:52040[0](queued=0,recved=1,sent=0)\n\n"
    ));

    // What the server's crst leaves behind.
    if let Some(s) = v.connections[0].session.as_mut() {
        *s = SessionConnView {
            last_op: "NA".to_owned(),
            last_cxid: -1,
            last_zxid: -1,
            last_response_ms: 0,
            last_latency_ms: 0,
            latency: Latency::default(),
            ..s.clone()
        };
    }
    v.connections[0].received = 0;
    v.connections[0].sent = 0;
    let after = text(W::Cons, &v);
    assert_matches(&after, "cons-after-crst.txt");
    assert!(!after.contains("lcxid"));
    assert!(after.contains(",lzxid=0xffffffffffffffff,"));
}

#[test]
fn watch_words_match() {
    let v = standalone();
    assert_matches(&text(W::Wchs, &v), "wchs.txt");
    assert_matches(&text(W::Wchc, &v), "wchc.txt");
    assert_matches(&text(W::Wchp, &v), "wchp.txt");
    assert_eq!(
        text(W::Wchs, &v),
        "1 connections watching 2 paths\nTotal watches:2\n"
    );

    let mut two = v.clone();
    two.data_watches
        .insert(0x42, BTreeSet::from(["/fl/w".to_owned(), "/x".to_owned()]));
    assert_eq!(
        text(W::Wchs, &two),
        "2 connections watching 3 paths\nTotal watches:4\n"
    );
    assert_eq!(
        text(W::Wchp, &two),
        "/fl/none\n\t0x100008482980000\n/fl/w\n\t0x42\n\t0x100008482980000\n/x\n\t0x42\n\n"
    );
}

#[test]
fn dump_matches_for_each_role() {
    assert_matches(&text(W::Dump, &standalone()), "dump.txt");
    assert_matches(&text(W::Dump, &ensemble(Mode::Leader)), "leader-dump.txt");
    assert_matches(
        &text(W::Dump, &ensemble(Mode::Follower)),
        "follower-dump.txt",
    );
    let dump = text(W::Dump, &standalone());
    assert!(dump.contains("Session Sets (4)/(1):\n"));
    assert!(dump.contains("1 expire at Sun Nov 22 02:55:46 UTC 2026:\n\t0x100008482980000\n"));
    assert!(dump.contains("Sessions with Ephemerals (1):\n0x100008482980000:\n\t/fl/eph\n"));
    assert!(dump.contains("\tip: /127.0.0.1:55738 sessionId: 0x100008482980000\n"));
}

#[test]
fn conf_and_dirs_match() {
    assert_matches(&text(W::Conf, &standalone()), "conf.txt");
    assert_matches(&text(W::Conf, &ensemble(Mode::Leader)), "leader-conf.txt");
    assert_matches(
        &text(W::Conf, &ensemble(Mode::Follower)),
        "follower-conf.txt",
    );
    assert!(text(W::Conf, &ensemble(Mode::Leader))
        .ends_with("membership: \nserver.1=127.0.0.11:26291:26292:participant\nserver.2=127.0.0.12:26291:26292:participant\nserver.3=127.0.0.13:26291:26292:participant\nversion=0"));
    assert_matches(&text(W::Dirs, &standalone()), "dirs.txt");
}

#[test]
fn envi_has_zookeepers_keys_in_order() {
    let ours = text(W::Envi, &standalone());
    let theirs = fixture("envi.txt");
    let keys = |t: &str| -> Vec<String> {
        t.lines()
            .map(|l| l.split_once('=').map_or(l, |(k, _)| k).to_owned())
            .collect()
    };
    assert_eq!(keys(&ours), keys(&theirs));
    assert_eq!(keys(&ours)[..2], ["Environment:", "zookeeper.version"]);
    assert!(ours.contains(&format!("\nzookeeper.version={VERSION}\n")));
}

/// The gauges 3.8 prints come first in its mntr, then its internal
/// counters (the first of which is zk_proposal_count): ours must equal that
/// first part.
fn assert_mntr_matches(view: &ServerView, fixture_name: &str) {
    let ours = text(W::Mntr, view);
    let theirs = fixture(fixture_name);
    let n = ours.lines().count();
    let prefix: Vec<&str> = theirs.lines().take(n).collect();
    assert_eq!(
        normalize(&ours),
        normalize(&(prefix.join("\n") + "\n")),
        "{fixture_name}"
    );
    let next = theirs.lines().nth(n).unwrap_or("");
    assert!(
        next.starts_with("zk_proposal_count\t"),
        "{fixture_name}: gauge missed before {next}"
    );
}

#[test]
fn mntr_matches_for_each_role() {
    assert_mntr_matches(&standalone(), "mntr.txt");
    assert_mntr_matches(&ensemble(Mode::Leader), "leader-mntr.txt");
    assert_mntr_matches(&ensemble(Mode::Follower), "follower-mntr.txt");
}

#[test]
fn mntr_fields() {
    let mntr = text(W::Mntr, &standalone());
    let map: BTreeMap<&str, &str> = mntr.lines().filter_map(|l| l.split_once('\t')).collect();
    assert_eq!(map["zk_version"], VERSION);
    assert_eq!(map["zk_server_state"], "standalone");
    assert_eq!(map["zk_avg_latency"], "0.5");
    assert_eq!(map["zk_min_latency"], "0");
    assert_eq!(map["zk_max_latency"], "2");
    assert_eq!(map["zk_num_alive_connections"], "2");
    assert_eq!(map["zk_watch_count"], "3");
    assert_eq!(map["zk_ephemerals_count"], "1");
    assert_eq!(map["zk_znode_count"], "8");
    assert_eq!(map["zk_connection_drop_probability"], "0.0");
    assert!(!map.contains_key("zk_learners"));
    let leader = text(W::Mntr, &ensemble(Mode::Leader));
    assert!(leader.contains("\nzk_peer_state\tleading - broadcast\n"));
    assert!(leader.contains("\nzk_synced_followers\t2\n"));
    assert!(leader.contains("\nzk_learners\t2\n"));
}

#[test]
fn whitelist_follows_zookeeper() {
    let v = standalone();
    let default = FourLetterWhitelist::default();
    assert_eq!(
        fourlw::respond(W::Stat, &default, &v).as_deref(),
        Some(fixture("not-whitelisted-stat.txt").as_str())
    );
    assert!(fourlw::respond(W::Srvr, &default, &v).is_some_and(|t| t.contains("Mode: standalone")));
    let (none, _) = FourLetterWhitelist::parse("");
    assert!(none.allows(W::Srvr));
    assert!(!none.allows(W::Ruok));
    let (star, _) = FourLetterWhitelist::parse(" * ");
    assert!(W::ALL.iter().all(|w| star.allows(*w)));
    let (some, unknown) = FourLetterWhitelist::parse("ruok, mntr,,conf,nope");
    assert_eq!(unknown, ["nope"]);
    assert!(some.allows(W::Mntr) && some.allows(W::Ruok) && some.allows(W::Conf));
    assert!(!some.allows(W::Dump));
    assert_eq!(
        not_whitelisted(W::Dump),
        "dump is not executed because it is not in the whitelist.\n"
    );
}

#[test]
fn unknown_words_and_unimplemented_ones_get_no_answer() {
    // ZooKeeper closed on "abcd" without a byte; such bytes are no word.
    assert!(fixture("unknown-abcd.txt").is_empty());
    assert_eq!(W::detect(b"abcd"), None);
    let v = standalone();
    for w in [W::Gtmk, W::Stmk, W::Hash] {
        assert_eq!(fourlw::answer(w, &v), None, "{w}");
    }
}

#[test]
fn not_serving_answers() {
    let mut v = standalone();
    v.serving = false;
    assert_eq!(text(W::Ruok, &v), "imok");
    assert_eq!(text(W::Isro, &v), "null");
    assert!(text(W::Envi, &v).starts_with("Environment:\n"));
    for w in [
        W::Srvr,
        W::Stat,
        W::Cons,
        W::Mntr,
        W::Dump,
        W::Wchc,
        W::Conf,
        W::Srst,
    ] {
        assert_eq!(text(w, &v), NOT_SERVING, "{w}");
    }
}

#[test]
fn version_line_parses_like_kazoo_and_zkserver_sh() {
    let v = full_version("3.8.0", "zkops-0.1.0", "2025-01-01 00:00 UTC");
    assert_eq!(v, "3.8.0-zkops-0.1.0, built on 2025-01-01 00:00 UTC");
    // kazoo: the digits and dots at the start of zookeeper.version.
    let digits: String = v
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    assert_eq!(digits, "3.8.0");
}

/// A real connection: the accepted peer's address is what cons prints, and
/// the answer travels over the socket and ends with the server's close.
#[test]
fn cons_over_a_real_socket() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let local = listener.local_addr().expect("local addr");
    let mut client = TcpStream::connect(local).expect("connect");
    client.write_all(b"cons").expect("send word");
    let (mut served, peer) = listener.accept().expect("accept");
    let mut word = [0u8; 4];
    served.read_exact(&mut word).expect("read word");
    let word = W::detect(&word).expect("a known word");

    let mut v = standalone();
    v.connections = vec![ConnView {
        remote: peer,
        interest_ops: 0,
        queued: 0,
        received: 1,
        sent: 0,
        session: None,
    }];
    let answer = fourlw::respond(word, &FourLetterWhitelist::All, &v).expect("an answer");
    served.write_all(answer.as_bytes()).expect("write answer");
    drop(served);

    let mut got = String::new();
    client.read_to_string(&mut got).expect("read answer");
    let client_port = client.local_addr().expect("client addr").port();
    assert_eq!(
        got,
        format!(" /127.0.0.1:{client_port}[0](queued=0,recved=1,sent=0)\n\n")
    );
}
