//! Decode throughput on a realistic mixed conversation, against a plain copy
//! of the same bytes measured in the same run.
//!
//! `cargo bench -p zkproto --bench decode` prints frames/s, MB/s and the ratio.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion, Throughput};
use zkproto::*;

const VALUE: [u8; 100] = [b'v'; 100];

/// One client→server and one server→client byte stream of a typical session:
/// mostly reads, some writes with 100-byte values, children lists, a multi,
/// pings and watch notifications.
struct Conversation {
    to_server: Vec<u8>,
    to_client: Vec<u8>,
    frames: usize,
}

fn stat(n: i64) -> Stat {
    Stat {
        czxid: n,
        mzxid: n + 1,
        ctime: 1_700_000_000_000,
        mtime: 1_700_000_000_500,
        version: 3,
        cversion: 2,
        aversion: 0,
        ephemeral_owner: 0,
        data_length: 100,
        num_children: 4,
        pzxid: n,
    }
}

fn build(rounds: usize) -> Conversation {
    let mut c = Conversation {
        to_server: Vec::new(),
        to_client: Vec::new(),
        frames: 0,
    };
    let children = [
        "member-0000000001",
        "member-0000000002",
        "member-0000000003",
        "lock",
    ];
    let acl = vec![Acl::world_anyone(perms::ALL)];
    for i in 0..rounds {
        let path = format!("/services/api/instances/node-{}", i % 50);
        let (req, resp): (Request<'_>, Response<'_>) = match i % 10 {
            0..=3 => (
                Request::GetData(PathWatchRequest {
                    path: &path,
                    watch: i % 2 == 0,
                }),
                Response::GetData(GetDataResponse {
                    data: Some(&VALUE),
                    stat: stat(i as i64),
                }),
            ),
            4 | 5 => (
                Request::Exists(PathWatchRequest {
                    path: &path,
                    watch: true,
                }),
                Response::Stat(stat(i as i64)),
            ),
            6 => (
                Request::SetData(SetDataRequest {
                    path: &path,
                    data: Some(&VALUE),
                    version: -1,
                }),
                Response::Stat(stat(i as i64)),
            ),
            7 => (
                Request::GetChildren2(PathWatchRequest {
                    path: "/services/api/instances",
                    watch: true,
                }),
                Response::GetChildren2(GetChildren2Response {
                    children: children.to_vec(),
                    stat: stat(1),
                }),
            ),
            8 => (
                Request::Create(CreateRequest {
                    path: &path,
                    data: Some(&VALUE),
                    acl: acl.clone(),
                    flags: 3,
                }),
                Response::Create(PathResponse { path: &path }),
            ),
            _ => (
                Request::Multi(MultiRequest {
                    ops: vec![
                        Request::Check(CheckVersionRequest {
                            path: &path,
                            version: 3,
                        }),
                        Request::SetData(SetDataRequest {
                            path: &path,
                            data: Some(&VALUE),
                            version: 3,
                        }),
                    ],
                }),
                Response::Multi(MultiResponse {
                    results: vec![OpResult::Check, OpResult::SetData(stat(i as i64))],
                }),
            ),
        };
        let xid = i as i32 + 1;
        write_frame(&mut c.to_server, |w| {
            RequestFrame { xid, request: req }.write(w)
        });
        let header = ReplyHeader {
            xid,
            zxid: 0x1_0000_0000 + i as i64,
            err: ErrorCode::OK,
        };
        write_frame(&mut c.to_client, |w| {
            ReplyFrame { header, body: resp }.write(w)
        });
        c.frames += 2;
        if i % 20 == 19 {
            write_frame(&mut c.to_server, |w| {
                RequestFrame {
                    xid: xid::PING,
                    request: Request::Ping,
                }
                .write(w)
            });
            let header = ReplyHeader {
                xid: xid::PING,
                zxid: 0x1_0000_0000 + i as i64,
                err: ErrorCode::OK,
            };
            write_frame(&mut c.to_client, |w| {
                ReplyFrame {
                    header,
                    body: Response::Empty,
                }
                .write(w)
            });
            let header = ReplyHeader {
                xid: xid::NOTIFICATION,
                zxid: 0x1_0000_0000 + i as i64,
                err: ErrorCode::OK,
            };
            let event = WatcherEvent {
                event_type: EventType::NODE_DATA_CHANGED.0,
                state: KeeperState::SYNC_CONNECTED.0,
                path: &path,
            };
            write_frame(&mut c.to_client, |w| {
                ReplyFrame {
                    header,
                    body: Response::Notification(event),
                }
                .write(w)
            });
            c.frames += 3;
        }
    }
    c
}

/// Decodes both directions the way a sniffer does: requests are recorded by
/// xid, replies are decoded against the recorded opcode.
fn decode(c: &Conversation) -> usize {
    let mut pairer: XidPairer<()> = XidPairer::new(1024);
    let mut decoded = 0;
    let mut replies = Frames::new(&c.to_client, DEFAULT_MAX_FRAME);
    for frame in Frames::new(&c.to_server, DEFAULT_MAX_FRAME) {
        let req = RequestFrame::decode(frame.unwrap()).unwrap();
        pairer.request(req.xid, req.request.op().unwrap(), ());
        black_box(&req);
        decoded += 1;
        // Answer it (and any notification in between) before the next request.
        for reply in replies.by_ref() {
            let reply = reply.unwrap();
            let header = ReplyFrame::peek_header(reply).unwrap();
            let op = pairer.reply(header.xid).opcode();
            black_box(ReplyFrame::decode(reply, op).unwrap());
            decoded += 1;
            if header.xid != xid::NOTIFICATION {
                break;
            }
        }
    }
    for reply in replies {
        black_box(ReplyFrame::decode(reply.unwrap(), None).unwrap());
        decoded += 1;
    }
    decoded
}

fn copy(c: &Conversation, dst: &mut Vec<u8>) -> usize {
    dst.clear();
    dst.extend_from_slice(black_box(&c.to_server));
    dst.extend_from_slice(black_box(&c.to_client));
    black_box(&dst);
    dst.len()
}

fn bench(cr: &mut Criterion) {
    let conv = build(20_000);
    let bytes = (conv.to_server.len() + conv.to_client.len()) as u64;
    assert_eq!(decode(&conv), conv.frames);
    let mut g = cr.benchmark_group("mixed_stream");
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("decode", |b| b.iter(|| decode(&conv)));
    let mut dst = Vec::with_capacity(bytes as usize);
    g.bench_function("copy", |b| b.iter(|| copy(&conv, &mut dst)));
    g.finish();
}

/// Best-of-N wall time, so the ratio compares like with like in this run.
fn best_of(n: usize, mut f: impl FnMut()) -> Duration {
    (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap()
}

fn summary() {
    let conv = build(20_000);
    let bytes = (conv.to_server.len() + conv.to_client.len()) as f64;
    let mut dst = Vec::with_capacity(bytes as usize);
    let dec = best_of(30, || {
        black_box(decode(&conv));
    });
    let cp = best_of(30, || {
        black_box(copy(&conv, &mut dst));
    });
    let fps = conv.frames as f64 / dec.as_secs_f64();
    let mbs = bytes / dec.as_secs_f64() / 1e6;
    let copy_mbs = bytes / cp.as_secs_f64() / 1e6;
    println!(
        "zkproto decode: {} frames, {:.1} MB | {:.2} M frames/s, {:.0} MB/s | plain copy {:.0} MB/s | decode/copy throughput ratio {:.4} (copy is {:.0}x faster)",
        conv.frames,
        bytes / 1e6,
        fps / 1e6,
        mbs,
        copy_mbs,
        mbs / copy_mbs,
        copy_mbs / mbs
    );
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    summary();
}
