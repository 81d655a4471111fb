//! A session's pipelined requests are answered in order and each read sees
//! exactly the writes sent before it: not fewer (it waits for them), not
//! more (writes behind it are held back until it is answered), whatever
//! group commit does with the writes.

mod common;

use std::io::Write;

use common::raw::{self, create_request, header, path_request, read_frame, EXISTS};
use common::Embedded;

/// getChildren opcode.
const GET_CHILDREN: i32 = 8;

fn children(body: &[u8]) -> Vec<String> {
    match zkproto::ReplyFrame::decode(body, Some(zkproto::OpCode::GetChildren)) {
        Ok(zkproto::ReplyFrame {
            body: zkproto::Response::GetChildren(r),
            ..
        }) => r.children.iter().map(|c| c.to_string()).collect(),
        other => panic!("not a getChildren reply: {other:?}"),
    }
}

#[test]
fn pipelined_reads_see_exactly_the_writes_before_them() {
    let srv = Embedded::start("");
    let mut s = std::net::TcpStream::connect(srv.addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    s.write_all(&raw::connect_frame(10_000)).unwrap();
    read_frame(&mut s).expect("connect reply");

    // Rounds of: one create, a getChildren, three creates, an exists on the
    // last of them, all sent in one write.
    const ROUNDS: usize = 20;
    let mut batch = Vec::new();
    let mut xid = 1;
    batch.extend(create_request(xid, "/p", b""));
    for r in 0..ROUNDS {
        xid += 1;
        batch.extend(create_request(xid, &format!("/p/r{r}-0"), b""));
        xid += 1;
        batch.extend(path_request(xid, GET_CHILDREN, "/p"));
        for k in 1..=3 {
            xid += 1;
            batch.extend(create_request(xid, &format!("/p/r{r}-{k}"), b""));
        }
        xid += 1;
        batch.extend(path_request(xid, EXISTS, &format!("/p/r{r}-3")));
    }
    s.write_all(&batch).unwrap();

    let mut last_zxid = 0;
    for expect_xid in 1..=xid {
        let body = read_frame(&mut s).expect("a reply");
        let (x, zxid, err) = header(&body);
        assert_eq!(x, expect_xid, "replies in request order");
        assert!(zxid >= last_zxid, "zxids never go back");
        last_zxid = zxid;
        assert_eq!(err, 0, "xid {x}");
        // Replies of a round: create, getChildren, 3 creates, exists.
        let k = (x - 2) % 6;
        if x >= 2 && k == 1 {
            let r = ((x - 2) / 6) as usize;
            let mut got = children(&body);
            got.sort();
            let mut want: Vec<String> = (0..=r)
                .flat_map(|i| {
                    let upto = if i == r { 0 } else { 3 };
                    (0..=upto).map(move |k| format!("r{i}-{k}"))
                })
                .collect();
            want.sort();
            assert_eq!(got, want, "getChildren of round {r}");
        }
    }
    drop(s);
    srv.finish();
}
