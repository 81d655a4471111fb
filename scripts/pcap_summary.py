#!/usr/bin/env python3
"""Summarise (and optionally check) ZooKeeper client traffic in a pcap file.

This is an independent, standard-library-only second opinion for the golden
captures in proto/tests/fixtures/: it reassembles the TCP streams to the
ZooKeeper port, splits them into length-prefixed frames and tallies requests,
replies, errors, notifications, pings, multi sub-operations and four-letter
words.  It is not the project's codec and only decodes as much as it needs.

    pcap_summary.py FILE.pcap [--port 21810] [-v]
    pcap_summary.py --check proto/tests/fixtures/expected.json [--dir DIR]

--check compares every file named in expected.json against its entry:
  requests_by_opcode      exact count per opcode (pings and connects excluded)
  min_requests_by_opcode  lower bound per opcode
  errors / min_errors     reply-header error codes, exact / lower bound
  notifications / min_notifications   watch events (xid -1)
  min_pings               ping requests (xid -2, opcode 11)
  connect_requests        exact number of ConnectRequests
  connect_request_lengths exact sorted list of ConnectRequest body lengths
  multi                   list of {"ops": [...], "results": [...]} in order
  fourlw                  exact list of four-letter words, in order
"""
import argparse
import json
import os
import struct
import sys
from collections import Counter, defaultdict

OPNAMES = {
    0: "notification", 1: "create", 2: "delete", 3: "exists", 4: "getData",
    5: "setData", 6: "getACL", 7: "setACL", 8: "getChildren", 9: "sync",
    11: "ping", 12: "getChildren2", 13: "check", 14: "multi", 15: "create2",
    16: "reconfig", 17: "checkWatches", 18: "removeWatches",
    19: "createContainer", 20: "deleteContainer", 21: "createTTL",
    22: "multiRead", 100: "auth", 101: "setWatches", 102: "sasl",
    103: "getEphemerals", 104: "getAllChildrenNumber", 105: "setWatches2",
    106: "addWatch", 107: "whoAmI", -10: "createSession", -11: "closeSession",
    -1: "error",
}

FOURLW = {
    "conf", "cons", "crst", "dump", "envi", "gtmk", "ruok", "stmk", "srvr",
    "srst", "stat", "wchc", "wchp", "wchs", "mntr", "isro", "hash", "dirs",
}


# ------------------------------------------------------------------ pcap
def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise ValueError(f"{path}: too short for a pcap header")
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        raise ValueError(f"{path}: not a classic pcap file (magic {magic.hex()})")
    linktype = struct.unpack(end + "I", data[20:24])[0]
    off = 24
    pkts = []
    while off + 16 <= len(data):
        ts_s, ts_u, incl, _orig = struct.unpack(end + "IIII", data[off:off + 16])
        off += 16
        pkts.append((ts_s, ts_u, data[off:off + incl]))
        off += incl
    return linktype, pkts


def ip_payload(linktype, frame):
    if linktype == 1:  # Ethernet
        etype = struct.unpack("!H", frame[12:14])[0]
        off = 14
        while etype == 0x8100:
            etype = struct.unpack("!H", frame[off + 2:off + 4])[0]
            off += 4
        return etype, frame[off:]
    if linktype == 113:  # Linux cooked
        return struct.unpack("!H", frame[14:16])[0], frame[16:]
    if linktype == 0:  # BSD loopback
        fam = struct.unpack("<I", frame[:4])[0]
        return (0x0800 if fam == 2 else 0x86DD), frame[4:]
    if linktype in (12, 101):  # raw IP
        return (0x0800 if frame[0] >> 4 == 4 else 0x86DD), frame
    raise ValueError(f"unsupported link type {linktype}")


def tcp_segments(linktype, pkts):
    for ts_s, ts_u, frame in pkts:
        etype, ip = ip_payload(linktype, frame)
        if etype == 0x0800:
            ihl = (ip[0] & 0xF) * 4
            total = struct.unpack("!H", ip[2:4])[0]
            if ip[9] != 6:
                continue
            src, dst = ip[12:16], ip[16:20]
            seg = ip[ihl:total]
            srcs = ".".join(map(str, src))
            dsts = ".".join(map(str, dst))
        elif etype == 0x86DD:
            if ip[6] != 6:
                continue
            plen = struct.unpack("!H", ip[4:6])[0]
            seg = ip[40:40 + plen]
            srcs, dsts = ip[8:24].hex(), ip[24:40].hex()
        else:
            continue
        sport, dport, seq = struct.unpack("!HHI", seg[:8])
        doff = (seg[12] >> 4) * 4
        flags = seg[13]
        yield (ts_s + ts_u / 1e6, (srcs, sport), (dsts, dport), seq, flags, seg[doff:])


class Stream:
    def __init__(self):
        self.isn = None
        self.next = None
        self.data = bytearray()
        self.pending = {}

    def add(self, seq, flags, payload):
        if flags & 0x02:  # SYN
            self.isn = seq
            self.next = (seq + 1) & 0xFFFFFFFF
            return
        if self.next is None:  # capture began mid-stream
            self.next = seq
        if not payload:
            return
        self.pending[seq] = payload
        progressed = True
        while progressed:
            progressed = False
            for s in list(self.pending):
                p = self.pending[s]
                delta = (self.next - s) & 0xFFFFFFFF
                if delta == 0:
                    self.data += p
                    self.next = (self.next + len(p)) & 0xFFFFFFFF
                    del self.pending[s]
                    progressed = True
                elif delta < 0x80000000:  # s is before next: overlap/retransmit
                    if delta < len(p):
                        self.data += p[delta:]
                        self.next = (self.next + len(p) - delta) & 0xFFFFFFFF
                    del self.pending[s]
                    progressed = True


def connections(path, port):
    linktype, pkts = read_pcap(path)
    conns = {}
    order = []
    for ts, src, dst, seq, flags, payload in tcp_segments(linktype, pkts):
        if dst[1] == port:
            key, direction = (src, dst), "c2s"
        elif src[1] == port:
            key, direction = (dst, src), "s2c"
        else:
            continue
        if key in conns and direction == "c2s" and flags & 0x02 and not flags & 0x10 \
                and conns[key]["c2s"].data:
            # port reuse: a new connection with the same 4-tuple
            conns[(key, len(order))] = conns.pop(key)
        if key not in conns:
            conns[key] = {"c2s": Stream(), "s2c": Stream(), "start": ts, "client": src}
            order.append(key)
        conns[key][direction].add(seq, flags, payload)
    result = []
    for key in order:
        if key in conns:
            result.append(conns[key])
    result.sort(key=lambda c: c["start"])
    return len(pkts), linktype, result


# ------------------------------------------------------------------ zk frames
def frames(buf):
    out = []
    off = 0
    while off + 4 <= len(buf):
        n = struct.unpack("!i", buf[off:off + 4])[0]
        if n < 0 or off + 4 + n > len(buf):
            break
        out.append(bytes(buf[off + 4:off + 4 + n]))
        off += 4 + n
    return out, len(buf) - off


class R:
    def __init__(self, b, off=0):
        self.b, self.o = b, off

    def i32(self):
        v = struct.unpack("!i", self.b[self.o:self.o + 4])[0]
        self.o += 4
        return v

    def i64(self):
        v = struct.unpack("!q", self.b[self.o:self.o + 8])[0]
        self.o += 8
        return v

    def u8(self):
        v = self.b[self.o]
        self.o += 1
        return v

    def buf(self):
        n = self.i32()
        if n < 0:
            return None
        v = self.b[self.o:self.o + n]
        self.o += n
        return v

    def string(self):
        v = self.buf()
        return None if v is None else v.decode("utf-8", "replace")

    def acls(self):
        n = self.i32()
        for _ in range(max(n, 0)):
            self.i32()
            self.string()
            self.string()

    def stat(self):
        self.o += 8 * 3 + 8 + 4 * 3 + 8 + 4 * 2 + 8


def parse_multi_request(body):
    r = R(body)
    ops = []
    while True:
        typ, done, _err = r.i32(), r.u8(), r.i32()
        if done:
            break
        ops.append(typ)
        if typ in (1, 15, 19):
            r.string(); r.buf(); r.acls(); r.i32()
        elif typ == 21:
            r.string(); r.buf(); r.acls(); r.i32(); r.i64()
        elif typ in (2, 13):
            r.string(); r.i32()
        elif typ == 5:
            r.string(); r.buf(); r.i32()
        elif typ in (4, 8):  # multiRead
            r.string()
        else:
            raise ValueError(f"unknown multi op {typ}")
    return ops


def parse_multi_response(body):
    r = R(body)
    res = []
    while True:
        typ, done, err = r.i32(), r.u8(), r.i32()
        if done:
            break
        if typ == -1:
            res.append(r.i32())
            continue
        res.append(typ)
        if typ == 1:
            r.string()
        elif typ in (15, 19, 21):
            r.string(); r.stat()
        elif typ == 5:
            r.stat()
        elif typ == 4:
            r.buf(); r.stat()
        elif typ == 8:
            n = r.i32()
            for _ in range(max(n, 0)):
                r.string()
    return res


def summarize(path, port=21810, verbose=False):
    npkts, linktype, conns = connections(path, port)
    s = {
        "packets": npkts, "linktype": linktype, "connections": len(conns),
        "connect_requests": 0, "connect_request_lengths": [], "connect_response_lengths": [],
        "connect_readonly_flags": [], "requests_by_opcode": Counter(),
        "pings": 0, "errors": Counter(), "notifications": 0,
        "notification_types": Counter(), "multi": [],
        "fourlw": [], "xids_special": Counter(), "unparsed_bytes": 0,
    }
    for ci, c in enumerate(conns):
        cbuf, sbuf = bytes(c["c2s"].data), bytes(c["s2c"].data)
        if len(cbuf) >= 4 and cbuf[:4].decode("latin1") in FOURLW:
            word = cbuf[:4].decode()
            s["fourlw"].append(word)
            if verbose:
                print(f"[{ci}] 4lw {word!r} -> {len(sbuf)} bytes of answer")
            continue
        reqs, rest_c = frames(cbuf)
        reps, rest_s = frames(sbuf)
        s["unparsed_bytes"] += rest_c + rest_s
        if not reqs:
            continue
        pending = {}
        # ConnectRequest
        creq = reqs[0]
        s["connect_requests"] += 1
        s["connect_request_lengths"].append(len(creq))
        s["connect_readonly_flags"].append(creq[44] if len(creq) >= 45 else None)
        if verbose:
            r = R(creq)
            pv, lz, to, sid = r.i32(), r.i64(), r.i32(), r.i64()
            print(f"[{ci}] connect proto={pv} lastZxid={lz:#x} timeout={to} "
                  f"session={sid:#x} len={len(creq)}")
        for f in reqs[1:]:
            r = R(f)
            xid, op = r.i32(), r.i32()
            if xid < 0:
                s["xids_special"][str(xid)] += 1
            if op == 11:
                s["pings"] += 1
            else:
                s["requests_by_opcode"][str(op)] += 1
            entry = {"op": op}
            if op == 14:
                entry["ops"] = parse_multi_request(f[8:])
            pending.setdefault(xid, []).append(entry)
            if verbose and op != 11:
                print(f"[{ci}]  > xid={xid} {OPNAMES.get(op, op)}")
        for i, f in enumerate(reps):
            if i == 0:
                s["connect_response_lengths"].append(len(f))
                if verbose:
                    r = R(f)
                    pv, to, sid = r.i32(), r.i32(), r.i64()
                    print(f"[{ci}] connect response proto={pv} timeout={to} "
                          f"session={sid:#x} len={len(f)}")
                continue
            r = R(f)
            xid, _zxid, err = r.i32(), r.i64(), r.i32()
            if xid == -1:
                s["notifications"] += 1
                typ, _state, p = r.i32(), r.i32(), r.string()
                s["notification_types"][str(typ)] += 1
                if verbose:
                    print(f"[{ci}]  < notification type={typ} path={p}")
                continue
            q = pending.get(xid)
            req = q.pop(0) if q else {"op": None}
            if err:
                s["errors"][str(err)] += 1
            if req["op"] == 14 and len(f) > 16:
                s["multi"].append({"ops": req["ops"], "results": parse_multi_response(f[16:])})
            if verbose and req["op"] != 11:
                print(f"[{ci}]  < xid={xid} {OPNAMES.get(req['op'], req['op'])} err={err}")
        if verbose and (rest_c or rest_s):
            print(f"[{ci}] trailing partial bytes: c2s={rest_c} s2c={rest_s}")
    for k in ("requests_by_opcode", "errors", "notification_types", "xids_special"):
        s[k] = dict(sorted(s[k].items(), key=lambda kv: int(kv[0])))
    s["connect_request_lengths"].sort()
    s["connect_response_lengths"].sort()
    return s


# ------------------------------------------------------------------ check
def check(expected_path, fixture_dir, port):
    with open(expected_path) as f:
        expected = json.load(f)
    problems = []
    checked = 0
    for name, exp in expected.items():
        if not name.endswith(".pcap"):
            continue
        path = os.path.join(fixture_dir, name)
        if not os.path.exists(path):
            problems.append(f"{name}: missing")
            continue
        got = summarize(path, exp.get("port", port))
        checked += 1

        def bad(msg):
            problems.append(f"{name}: {msg}")

        for key, loose in (("requests_by_opcode", "min_requests_by_opcode"),
                           ("errors", "min_errors")):
            if key in exp:
                want = exp[key]
                have = got[key]
                for op in sorted(set(want) | set(have), key=int):
                    if op in exp.get(loose, {}):
                        continue
                    if want.get(op, 0) != have.get(op, 0):
                        bad(f"{key}[{op}] expected {want.get(op, 0)}, found {have.get(op, 0)}")
        for key, src in (("min_requests_by_opcode", "requests_by_opcode"),
                         ("min_errors", "errors")):
            for op, n in exp.get(key, {}).items():
                if got[src].get(op, 0) < n:
                    bad(f"{src}[{op}] expected >= {n}, found {got[src].get(op, 0)}")
        for key in ("notifications", "connect_requests", "fourlw", "connect_request_lengths",
                    "connect_response_lengths", "multi", "connections"):
            if key in exp and exp[key] != got[key]:
                bad(f"{key} expected {exp[key]!r}, found {got[key]!r}")
        if "min_notifications" in exp and got["notifications"] < exp["min_notifications"]:
            bad(f"notifications expected >= {exp['min_notifications']}, found {got['notifications']}")
        if "min_pings" in exp and got["pings"] < exp["min_pings"]:
            bad(f"pings expected >= {exp['min_pings']}, found {got['pings']}")
        if got["unparsed_bytes"]:
            bad(f"{got['unparsed_bytes']} bytes left over after framing")
    for p in problems:
        print("MISMATCH", p)
    print(f"checked {checked} capture(s): {len(problems)} mismatch(es)")
    return 1 if problems or not checked else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("pcap", nargs="*")
    ap.add_argument("--port", type=int, default=21810)
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--check", metavar="EXPECTED_JSON")
    ap.add_argument("--dir", help="fixture directory (default: the json's directory)")
    a = ap.parse_args()
    if a.check:
        return check(a.check, a.dir or os.path.dirname(os.path.abspath(a.check)), a.port)
    if not a.pcap:
        ap.error("give a pcap file or --check")
    for p in a.pcap:
        s = summarize(p, a.port, a.verbose)
        print(json.dumps({os.path.basename(p): s}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
