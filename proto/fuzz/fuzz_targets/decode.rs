//! Frame splitting, request, reply and handshake decoding over arbitrary bytes.
//! Oracle: no panic, no allocation beyond libFuzzer's -malloc_limit_mb, and
//! whatever decodes re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zkproto::*;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, stream)) = data.split_first() else {
        return;
    };
    // The first byte picks which request opcode replies are decoded against.
    let op = OpCode::ALL[selector as usize % OpCode::ALL.len()];
    for frame in Frames::new(stream, DEFAULT_MAX_FRAME) {
        let Ok(frame) = frame else { break };
        if let Ok(req) = RequestFrame::decode(frame) {
            let mut out = Vec::new();
            req.write(&mut out);
            assert_eq!(out, frame, "request re-encoding differs");
        }
        if let Ok(reply) = ReplyFrame::decode(frame, Some(op)) {
            let mut out = Vec::new();
            reply.write(&mut out);
            assert_eq!(out, frame, "reply re-encoding differs");
        }
        if let Ok(c) = ConnectRequest::decode(frame) {
            assert_eq!(c.to_vec(), frame);
        }
        if let Ok(c) = ConnectResponse::decode(frame) {
            assert_eq!(c.to_vec(), frame);
        }
        let _ = FourLetterWord::detect(frame);
    }
});
