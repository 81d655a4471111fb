//! One direction of a TCP connection turned back into a byte stream.
//!
//! Handles out-of-order and retransmitted (wholly or partly overlapping)
//! segments, streams picked up mid-way, and snaplen-cut segments. Memory is
//! bounded: out-of-order data beyond `max_pending` bytes is given up as a gap
//! rather than buffered, and the consumer is told exactly how much was lost.

use std::collections::BTreeMap;

/// What a segment contributed to the stream, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chunk<'a> {
    Data(std::borrow::Cow<'a, [u8]>),
    /// This many bytes of the stream will never be seen.
    Gap(u64),
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StreamCounters {
    pub out_of_order_segments: u64,
    /// Bytes seen again (retransmissions, overlaps).
    pub duplicate_bytes: u64,
    pub gap_bytes: u64,
    pub gaps: u64,
}

#[derive(Debug)]
pub struct Stream {
    /// Absolute (64-bit, wrap-free) offset of the next byte we expect, and
    /// the 32-bit sequence number it corresponds to.
    next_abs: u64,
    next_seq: u32,
    started: bool,
    pending: BTreeMap<u64, Vec<u8>>,
    pending_bytes: usize,
    max_pending: usize,
    pub counters: StreamCounters,
}

/// Segments further than this from the expected sequence number are not
/// plausibly part of this stream (or are ancient retransmissions).
const MAX_WINDOW: i64 = 1 << 30;

impl Stream {
    pub fn new(max_pending: usize) -> Stream {
        Stream {
            next_abs: 0,
            next_seq: 0,
            started: false,
            pending: BTreeMap::new(),
            pending_bytes: 0,
            max_pending,
            counters: StreamCounters::default(),
        }
    }

    /// Has any byte or SYN of this direction been seen?
    pub fn started(&self) -> bool {
        self.started
    }

    /// Bytes held for reordering.
    pub fn buffered(&self) -> usize {
        self.pending_bytes
    }

    /// Feeds one segment. `wire_len` is the payload length on the wire
    /// (larger than `payload` when the capture cut it). Emits in-order chunks.
    pub fn segment<'a>(
        &mut self,
        seq: u32,
        syn: bool,
        payload: &'a [u8],
        wire_len: usize,
        out: &mut Vec<Chunk<'a>>,
    ) {
        self.segment_with(seq, syn, payload, wire_len, &mut |c| out.push(c));
    }

    /// [`Stream::segment`] handing each chunk to `out` as it comes, so the
    /// caller needs no vector per segment (an allocation per packet).
    pub fn segment_with<'a>(
        &mut self,
        seq: u32,
        syn: bool,
        payload: &'a [u8],
        wire_len: usize,
        out: &mut impl FnMut(Chunk<'a>),
    ) {
        if syn {
            if !self.started {
                self.started = true;
                self.next_seq = seq.wrapping_add(1);
            }
            // Data on a SYN is not used by any ZooKeeper client; skip it.
            return;
        }
        if wire_len == 0 {
            return;
        }
        if !self.started {
            // Picked up mid-stream: start where this segment starts.
            self.started = true;
            self.next_seq = seq;
        }
        let rel = seq.wrapping_sub(self.next_seq) as i32 as i64;
        if rel.abs() > MAX_WINDOW {
            self.counters.duplicate_bytes += wire_len as u64;
            return;
        }
        let abs = (self.next_abs as i64 + rel).max(0) as u64;
        let truncated = payload.len() < wire_len;
        if abs > self.next_abs {
            self.counters.out_of_order_segments += 1;
            self.hold(abs, payload, wire_len);
        } else {
            self.deliver(abs, payload, wire_len, truncated, out);
        }
        self.drain(out);
    }

    fn hold(&mut self, abs: u64, payload: &[u8], wire_len: usize) {
        // A snaplen-cut segment is not held: its tail can never be filled,
        // so the bytes it covers are reported as part of a gap later.
        if payload.len() < wire_len || self.pending_bytes + payload.len() > self.max_pending {
            return;
        }
        let e = self.pending.entry(abs).or_default();
        self.counters.duplicate_bytes += e.len().min(payload.len()) as u64;
        if payload.len() > e.len() {
            self.pending_bytes += payload.len() - e.len();
            *e = payload.to_vec();
        }
    }

    fn deliver<'a>(
        &mut self,
        abs: u64,
        payload: &'a [u8],
        wire_len: usize,
        truncated: bool,
        out: &mut impl FnMut(Chunk<'a>),
    ) {
        let end = abs + wire_len as u64;
        if end <= self.next_abs {
            self.counters.duplicate_bytes += wire_len as u64;
            return;
        }
        let skip = (self.next_abs - abs) as usize;
        self.counters.duplicate_bytes += skip as u64;
        if skip < payload.len() {
            out(Chunk::Data(std::borrow::Cow::Borrowed(&payload[skip..])));
        }
        if truncated {
            let lost = end - self.next_abs - payload.len().saturating_sub(skip) as u64;
            if lost > 0 {
                self.gap(lost, out);
            }
        }
        self.advance_to(end);
    }

    fn advance_to(&mut self, end: u64) {
        let by = end - self.next_abs;
        self.next_abs = end;
        self.next_seq = self.next_seq.wrapping_add(by as u32);
    }

    fn gap<'a>(&mut self, n: u64, out: &mut impl FnMut(Chunk<'a>)) {
        self.counters.gaps += 1;
        self.counters.gap_bytes += n;
        out(Chunk::Gap(n));
    }

    /// Delivers held segments that are now in order; if the reorder budget
    /// is exhausted, skips to the earliest held segment and reports a gap.
    fn drain<'a>(&mut self, out: &mut impl FnMut(Chunk<'a>)) {
        loop {
            let Some((&abs, _)) = self.pending.iter().next() else {
                return;
            };
            if abs > self.next_abs {
                if self.pending_bytes < self.max_pending {
                    return;
                }
                let lost = abs - self.next_abs;
                self.gap(lost, out);
                self.advance_to(abs);
            }
            let data = self.pending.remove(&abs).expect("first key exists");
            self.pending_bytes -= data.len();
            let end = abs + data.len() as u64;
            if end <= self.next_abs {
                self.counters.duplicate_bytes += data.len() as u64;
                continue;
            }
            let skip = (self.next_abs - abs) as usize;
            self.counters.duplicate_bytes += skip as u64;
            let data = if skip == 0 {
                data
            } else {
                data[skip..].to_vec()
            };
            out(Chunk::Data(std::borrow::Cow::Owned(data)));
            self.advance_to(end);
        }
    }

    /// The connection ended (FIN/RST/eviction): whatever is still held comes
    /// out after a gap for the bytes that never arrived.
    pub fn flush<'a>(&mut self, out: &mut Vec<Chunk<'a>>) {
        let mut out = |c| out.push(c);
        while let Some((&abs, _)) = self.pending.iter().next() {
            if abs > self.next_abs {
                let lost = abs - self.next_abs;
                self.gap(lost, &mut out);
                self.advance_to(abs);
            }
            self.drain(&mut out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(chunks: &[Chunk<'_>]) -> (Vec<u8>, u64) {
        let mut data = Vec::new();
        let mut gap = 0;
        for c in chunks {
            match c {
                Chunk::Data(d) => data.extend_from_slice(d),
                Chunk::Gap(n) => gap += n,
            }
        }
        (data, gap)
    }

    const MSG: &[u8] = b"the quick brown fox jumps over the lazy dog";

    #[test]
    fn in_order_with_syn_and_wraparound() {
        let isn = u32::MAX - 5;
        let mut s = Stream::new(1 << 20);
        let mut out = Vec::new();
        s.segment(isn, true, &[], 0, &mut out);
        let mut seq = isn.wrapping_add(1);
        for part in MSG.chunks(7) {
            s.segment(seq, false, part, part.len(), &mut out);
            seq = seq.wrapping_add(part.len() as u32);
        }
        assert_eq!(collect(&out), (MSG.to_vec(), 0));
    }

    #[test]
    fn every_permutation_of_reordered_and_duplicated_segments() {
        // Segments of 5 bytes, delivered reversed, each twice, with overlaps.
        let mut s = Stream::new(1 << 20);
        let mut out = Vec::new();
        s.segment(99, true, &[], 0, &mut out);
        let base = 100u32;
        let segs: Vec<(u32, &[u8])> = MSG
            .chunks(5)
            .enumerate()
            .map(|(i, c)| (base + 5 * i as u32, c))
            .collect();
        for (seq, c) in segs.iter().rev() {
            s.segment(*seq, false, c, c.len(), &mut out);
            s.segment(*seq, false, c, c.len(), &mut out);
        }
        // An overlapping retransmission spanning several segments.
        s.segment(base + 3, false, &MSG[3..20], 17, &mut out);
        assert_eq!(collect(&out), (MSG.to_vec(), 0));
        assert!(s.counters.duplicate_bytes >= MSG.len() as u64);
        assert!(s.counters.out_of_order_segments > 0);
        assert_eq!(s.buffered(), 0);
    }

    #[test]
    fn mid_stream_start() {
        let mut s = Stream::new(1 << 20);
        let mut out = Vec::new();
        s.segment(5000, false, b"abc", 3, &mut out);
        s.segment(5003, false, b"def", 3, &mut out);
        assert_eq!(collect(&out), (b"abcdef".to_vec(), 0));
    }

    #[test]
    fn lost_segment_becomes_a_gap_on_flush_or_budget() {
        let mut s = Stream::new(8);
        let mut out = Vec::new();
        s.segment(0, true, &[], 0, &mut out);
        s.segment(1, false, b"aaaa", 4, &mut out);
        // 4 bytes lost at 5..9; later data held until the budget runs out.
        s.segment(9, false, b"cccc", 4, &mut out);
        assert_eq!(collect(&out), (b"aaaa".to_vec(), 0));
        s.segment(13, false, b"dddd", 4, &mut out);
        let (data, gap) = collect(&out);
        assert_eq!(gap, 4);
        assert_eq!(data, b"aaaaccccdddd");
        assert_eq!(s.counters.gaps, 1);

        let mut s = Stream::new(1 << 20);
        let mut out = Vec::new();
        s.segment(0, true, &[], 0, &mut out);
        s.segment(11, false, b"zz", 2, &mut out);
        s.flush(&mut out);
        assert_eq!(collect(&out), (b"zz".to_vec(), 10));
    }

    #[test]
    fn snaplen_cut_segment_reports_its_missing_tail() {
        let mut s = Stream::new(1 << 20);
        let mut out = Vec::new();
        s.segment(0, true, &[], 0, &mut out);
        s.segment(1, false, b"abc", 10, &mut out);
        s.segment(11, false, b"next", 4, &mut out);
        assert_eq!(out[0], Chunk::Data(b"abc"[..].into()));
        assert_eq!(out[1], Chunk::Gap(7));
        assert_eq!(out[2], Chunk::Data(b"next"[..].into()));
    }
}
