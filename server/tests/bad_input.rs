//! Hostile and broken clients: each is cut off (or refused) with an event
//! saying why, and a well-behaved client is served all along.

mod common;

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, TcpStream};
use std::time::{Duration, Instant};

use common::raw::{self, assert_serves, closed_within, dial_from, session};
use common::Embedded;
use zkproto::event::Event;

const CLOSE: Duration = Duration::from_secs(5);

fn client_of(s: &TcpStream) -> String {
    s.local_addr().expect("local addr").to_string()
}

/// Waits for an event of `kind` about the connection from `client`.
fn event_for(srv: &Embedded, kind: &str, client: &str) -> Event {
    srv.wait_event(kind, Duration::from_secs(5), |e| {
        e.kind == kind && e.client.as_deref() == Some(client)
    })
}

#[test]
fn oversized_length_prefix() {
    let srv = Embedded::start("");
    let mut s = dial_from(None, srv.addr);
    let who = client_of(&s);
    // 512 MiB announced: refused from the prefix alone, nothing allocated.
    s.write_all(&(512i32 << 20).to_be_bytes()).expect("send");
    assert!(closed_within(&mut s, CLOSE), "server kept the connection");
    let ev = event_for(&srv, "conn.bad_input", &who);
    assert!(ev.msg.as_deref().unwrap_or("").contains("frame"), "{ev:?}");
    assert_serves(None, srv.addr);

    // The same after a session exists.
    let mut s = session(None, srv.addr);
    let who = client_of(&s);
    s.write_all(&(2i32 << 20).to_be_bytes()).expect("send");
    assert!(closed_within(&mut s, CLOSE));
    let ev = event_for(&srv, "conn.bad_input", &who);
    assert!(ev.session.is_some(), "the session is named: {ev:?}");
    assert_serves(None, srv.addr);
}

#[test]
fn garbage_bytes() {
    let srv = Embedded::start("");
    // A negative length.
    let mut s = dial_from(None, srv.addr);
    let who = client_of(&s);
    s.write_all(&[0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8])
        .expect("send");
    assert!(closed_within(&mut s, CLOSE));
    event_for(&srv, "conn.bad_input", &who);
    assert_serves(None, srv.addr);

    // A whole frame that is no ConnectRequest.
    let mut s = dial_from(None, srv.addr);
    let who = client_of(&s);
    s.write_all(&raw::frame(&[0xff; 7])).expect("send");
    assert!(closed_within(&mut s, CLOSE));
    let ev = event_for(&srv, "conn.bad_input", &who);
    assert!(
        ev.msg.as_deref().unwrap_or("").contains("ConnectRequest"),
        "{ev:?}"
    );

    // A request whose path length runs past its frame.
    let mut s = session(None, srv.addr);
    let who = client_of(&s);
    let mut body = Vec::new();
    body.extend_from_slice(&1000i32.to_be_bytes());
    body.extend_from_slice(b"/short");
    s.write_all(&raw::request(1, raw::GET_DATA, &body))
        .expect("send");
    assert!(closed_within(&mut s, CLOSE));
    let ev = event_for(&srv, "conn.bad_input", &who);
    assert!(
        ev.msg.as_deref().unwrap_or("").contains("undecodable"),
        "{ev:?}"
    );
    assert_serves(None, srv.addr);
}

#[test]
fn half_a_frame_then_close() {
    let srv = Embedded::start("");
    let mut s = session(None, srv.addr);
    let who = client_of(&s);
    let req = raw::path_request(1, raw::GET_DATA, "/zookeeper");
    s.write_all(&req[..req.len() - 3]).expect("send");
    s.shutdown(std::net::Shutdown::Write).expect("shutdown");
    assert!(closed_within(&mut s, CLOSE));
    let ev = event_for(&srv, "conn.closed", &who);
    assert!(
        ev.msg.as_deref().unwrap_or("").contains("mid-frame"),
        "{ev:?}"
    );
    assert_serves(None, srv.addr);
}

/// Writes `bytes` a few at a time with pauses, as a slow link delivers
/// them: each piece is its own short read on the server.
fn trickle(s: &mut TcpStream, bytes: &[u8]) {
    for piece in bytes.chunks(3) {
        s.write_all(piece).expect("send a piece");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The connect and then requests arrive a few bytes at a time. A short
/// read drains the socket, and the server then forgets its readiness
/// instead of reading again; every later piece must still be noticed.
#[test]
fn frames_arriving_in_pieces_are_all_answered() {
    let srv = Embedded::start("");
    let mut s = dial_from(None, srv.addr);
    s.set_nodelay(true).expect("nodelay");
    trickle(&mut s, &raw::connect_frame(10_000));
    let resp = raw::read_frame(&mut s).expect("ConnectResponse");
    let timeout = i32::from_be_bytes(resp[4..8].try_into().expect("4 bytes"));
    assert!(timeout > 0, "session refused");
    for xid in 1..=5 {
        trickle(&mut s, &raw::path_request(xid, raw::GET_DATA, "/zookeeper"));
        let body = raw::read_frame(&mut s).expect("a reply to each request");
        let (got, _, err) = raw::header(&body);
        assert_eq!((got, err), (xid, 0), "getData /zookeeper answered in order");
    }
}

#[test]
fn unknown_opcode_gets_unimplemented_then_close() {
    let srv = Embedded::start("");
    let mut s = session(None, srv.addr);
    let who = client_of(&s);
    s.write_all(&raw::request(7, 9999, &[1, 2, 3]))
        .expect("send");
    let body = raw::read_frame(&mut s).expect("a reply before the close");
    let (xid, _, err) = raw::header(&body);
    assert_eq!((xid, err), (7, -6), "UNIMPLEMENTED for xid 7");
    assert!(closed_within(&mut s, CLOSE));
    let ev = event_for(&srv, "conn.closed", &who);
    assert!(
        ev.msg
            .as_deref()
            .unwrap_or("")
            .contains("unknown opcode 9999"),
        "{ev:?}"
    );
    assert_serves(None, srv.addr);
}

/// 2000 connections from 25 loopback addresses, 80 each, against
/// maxClientCnxns=60: no address ever holds more than 60, every attempt is
/// either served or refused with an event, and (when the flood is quicker
/// than the 10 s handshake timeout, which frees slots) exactly 20 per
/// address are refused.
#[test]
fn connection_flood_is_capped_per_address() {
    // 10,000 connections (125 addresses x 80) unless the file descriptor
    // limit cannot hold both ends of them in this one process.
    const PER_ADDR: usize = 80;
    const MAX: usize = 60;
    let fds = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3)?.parse::<usize>().ok())
        })
        .unwrap_or(1024);
    let addrs_fit = (fds.saturating_sub(512) / (PER_ADDR + MAX)).clamp(5, 125);
    if addrs_fit < 125 {
        eprintln!("file descriptor limit {fds}: flooding from {addrs_fit} addresses, not 125");
    }
    let addrs: u8 = addrs_fit as u8;
    let srv = Embedded::start(&format!("maxClientCnxns={MAX}"));
    let ips: Vec<IpAddr> = (0..addrs)
        .map(|i| IpAddr::V4(Ipv4Addr::new(127, 0, 1, 10 + i)))
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let started = Instant::now();
    // Round robin over the addresses, a few connects in flight at a time:
    // the listen backlog is small, and a dropped SYN costs a second.
    let order: Vec<IpAddr> = (0..PER_ADDR).flat_map(|_| ips.iter().copied()).collect();
    let flood: Vec<tokio::net::TcpStream> = rt.block_on(async {
        let mut all = Vec::with_capacity(order.len());
        for chunk in order.chunks(40) {
            let mut set = tokio::task::JoinSet::new();
            for ip in chunk {
                let (ip, addr) = (*ip, srv.addr);
                set.spawn(async move {
                    let sock = tokio::net::TcpSocket::new_v4().expect("socket");
                    sock.bind((ip, 0).into()).expect("bind");
                    tokio::time::timeout(Duration::from_secs(10), sock.connect(addr)).await
                });
            }
            for r in set.join_all().await {
                all.push(r.expect("connect within 10 s").expect("connect"));
            }
        }
        all
    });
    let took = started.elapsed();
    let in_time = took < Duration::from_secs(20);
    eprintln!("flood of {} connections took {took:?}", order.len());
    assert_eq!(flood.len(), usize::from(addrs) * PER_ADDR);

    // While the flood holds its slots another address is served, and a
    // flooded one is not.
    assert_serves(None, srv.addr);
    if in_time {
        let mut extra = dial_from(Some(ips[0]), srv.addr);
        assert!(
            closed_within(&mut extra, CLOSE),
            "a 61st connection was kept"
        );
    }

    // Once the flood leaves, its addresses are welcome again.
    drop(flood);
    drop(rt);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let closed = srv
            .events()
            .iter()
            .filter(|e| e.kind == "conn.closed")
            .count();
        if closed >= usize::from(addrs) * MAX {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{closed} flood connections closed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_serves(Some(ips[0]), srv.addr);

    // Replay each address's connections from the events, in seq order.
    let evs = srv.finish();
    for ip in &ips {
        let prefix = format!("{ip}:");
        let (mut open, mut most, mut opened, mut refused) = (0i64, 0i64, 0usize, 0usize);
        for e in evs
            .iter()
            .filter(|e| e.client.as_deref().is_some_and(|c| c.starts_with(&prefix)))
        {
            match e.kind.as_str() {
                "conn.opened" => {
                    open += 1;
                    opened += 1;
                    most = most.max(open);
                }
                "conn.closed" => open -= 1,
                "conn.refused" => refused += 1,
                _ => {}
            }
        }
        let extra = if *ip == ips[0] {
            usize::from(in_time) + 1
        } else {
            0
        };
        assert!(most <= MAX as i64, "{ip} held {most} connections at once");
        assert_eq!(
            opened + refused,
            PER_ADDR + extra,
            "{ip}: every attempt accounted for"
        );
        if in_time {
            let want = PER_ADDR - MAX + usize::from(*ip == ips[0]);
            assert_eq!(refused, want, "refusals for {ip}");
        } else {
            assert!(refused > 0, "{ip} was never refused");
        }
    }
}

/// A client that asks for a 1 MB node over and over and never reads is
/// cut off once its unread replies pass the bound; others are served.
#[test]
fn slow_reader_is_disconnected() {
    let srv = Embedded::start("");
    let big = vec![b'x'; 1_000_000];
    let mut w = session(None, srv.addr);
    w.write_all(&raw::create_request(1, "/big", &big))
        .expect("create");
    let reply = raw::read_frame(&mut w).expect("create reply");
    assert_eq!(raw::header(&reply).2, 0, "create /big");

    let mut slow = session(None, srv.addr);
    let who = client_of(&slow);
    slow.set_write_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let writer = std::thread::spawn(move || {
        // 100 MB of replies asked for; the server stops at 64 MiB queued.
        for xid in 1..=100 {
            if slow
                .write_all(&raw::path_request(xid, raw::GET_DATA, "/big"))
                .is_err()
            {
                break;
            }
        }
        slow
    });
    let ev = event_for(&srv, "conn.slow_reader", &who);
    let queued = ev
        .detail
        .as_ref()
        .and_then(|d| d["queued_bytes"].as_u64())
        .unwrap_or(0);
    assert!(queued > 64 << 20, "{ev:?}");
    let closed = event_for(&srv, "conn.closed", &who);
    assert!(
        closed
            .msg
            .as_deref()
            .unwrap_or("")
            .contains("does not read"),
        "{closed:?}"
    );
    let mut slow = writer.join().expect("writer thread");
    assert!(closed_within(&mut slow, CLOSE));

    // The other client reads the same node, whole.
    w.write_all(&raw::path_request(2, raw::GET_DATA, "/big"))
        .expect("getData");
    let body = raw::read_frame(&mut w).expect("getData reply");
    assert_eq!(raw::header(&body).2, 0);
    let n = i32::from_be_bytes(body[16..20].try_into().expect("4 bytes"));
    assert_eq!(n, 1_000_000);
    assert_serves(None, srv.addr);
}

/// A client that has seen a newer zxid than this member (it talked to a
/// member further ahead) is refused: no ConnectResponse, the connection
/// closed, a `session.refused` event; a wrong password for a live session
/// gets the expired-session answer (timeout 0).
#[test]
fn clients_ahead_of_the_server_or_with_a_wrong_password_are_refused() {
    let srv = Embedded::start("");
    let mut ahead = dial_from(None, srv.addr);
    let who = client_of(&ahead);
    let mut frame = raw::connect_frame(10_000);
    // lastZxidSeen sits after the length, protocol version: bytes 8..16.
    frame[8..16].copy_from_slice(&0x7fff_0000_0000_0000i64.to_be_bytes());
    ahead.write_all(&frame).expect("send");
    assert!(
        closed_within(&mut ahead, CLOSE),
        "server kept the connection"
    );
    let ev = event_for(&srv, "session.refused", &who);
    assert!(
        ev.msg.as_deref().unwrap_or("").contains("has seen zxid"),
        "{ev:?}"
    );

    // A live session, then a second connection claiming it with a bad password.
    let mut first = dial_from(None, srv.addr);
    first.write_all(&raw::connect_frame(10_000)).expect("send");
    let reply = raw::read_frame(&mut first).expect("connect reply");
    let session_id = i64::from_be_bytes(reply[8..16].try_into().expect("8 bytes"));
    assert!(session_id > 0);
    let mut thief = dial_from(None, srv.addr);
    let who = client_of(&thief);
    let mut frame = raw::connect_frame(10_000);
    frame[20..28].copy_from_slice(&session_id.to_be_bytes());
    frame[32..48].copy_from_slice(&[7u8; 16]);
    thief.write_all(&frame).expect("send");
    let reply = raw::read_frame(&mut thief).expect("an answer before the close");
    let timeout = i32::from_be_bytes(reply[4..8].try_into().expect("4 bytes"));
    assert_eq!(timeout, 0, "expired-session answer");
    assert!(closed_within(&mut thief, CLOSE));
    let ev = event_for(&srv, "session.rejected", &who);
    assert_eq!(ev.msg.as_deref(), Some("wrong session password"));
    // The real owner is still served.
    first
        .write_all(&raw::path_request(1, raw::EXISTS, "/"))
        .expect("send");
    let body = raw::read_frame(&mut first).expect("exists reply");
    assert_eq!(raw::header(&body), (1, raw::header(&body).1, 0));
    assert_serves(None, srv.addr);
}

/// Out of file descriptors: accepting fails, the server says so once
/// (`server.accept_failed`), keeps serving the sessions it has, and accepts
/// again once descriptors free up.
#[test]
fn running_out_of_file_descriptors_refuses_without_crashing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let srv = common::Proc::start_with_fd_limit(dir.path(), &data, "maxClientCnxns=0", Some(128));
    // A session that exists before the flood.
    let mut owner = TcpStream::connect(srv.addr).expect("connect");
    owner.set_read_timeout(Some(CLOSE)).expect("timeout");
    owner.write_all(&raw::connect_frame(30_000)).expect("send");
    raw::read_frame(&mut owner).expect("connect reply");

    // More connections than the limit leaves room for (bounded: 200).
    let flood: Vec<TcpStream> = (0..200)
        .filter_map(|_| TcpStream::connect(srv.addr).ok())
        .collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    let failed = loop {
        let evs = common::events_in(&srv.events_dir());
        if let Some(e) = evs.into_iter().find(|e| e.kind == "server.accept_failed") {
            break e;
        }
        assert!(Instant::now() < deadline, "no server.accept_failed event");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        failed.msg.as_deref().unwrap_or("").contains("open files"),
        "{failed:?}"
    );
    // The existing session is still served while the listener is starved.
    owner
        .write_all(&raw::path_request(1, raw::EXISTS, "/"))
        .expect("send");
    let body = raw::read_frame(&mut owner).expect("exists reply while starved");
    assert_eq!(raw::header(&body).2, 0);

    drop(flood);
    // Descriptors come back: a newcomer gets a session.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut s = TcpStream::connect(srv.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(2)))
            .expect("timeout");
        s.write_all(&raw::connect_frame(10_000)).expect("send");
        if raw::read_frame(&mut s).is_some() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no new session after the flood left"
        );
    }
    let status = srv.terminate();
    assert!(status.success(), "clean exit expected: {status}");
}
