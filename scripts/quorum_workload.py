#!/usr/bin/env python3
"""Helpers for scripts/capture-quorum.sh (the ZAB / election golden capture).

    quorum_workload.py run     --server ADDR:PORT --expect FILE
        A kazoo workload of known size through one server. FILE gets what it
        did: the write transactions it caused, by type (each one is a leader
        PROPOSAL and COMMIT), the session ids, and the number of znodes in the
        whole tree at the end (what a later snapshot must hold).
    quorum_workload.py streams PCAP OUTDIR
        Splits every TCP connection to port 2888 (ZAB) or 3888 (election) of
        PCAP into its two byte streams: OUTDIR/<proto>-NN-{c2s,s2c}.bin plus
        OUTDIR/index.json. Uses scripts/pcap_summary.py's reassembly.

The expectations come from the workload itself (what it asked for and what
kazoo reported), never from decoding the capture.
"""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = "/qcap"
N_CREATES = 5
M_SETDATA = 3


def log(msg):
    print(f"[quorum-workload] {msg}", file=sys.stderr, flush=True)


def count_tree(zk, path="/"):
    n = 1
    for child in zk.get_children(path):
        n += count_tree(zk, (path.rstrip("/") + "/" + child))
    return n


def run(args):
    from kazoo.client import KazooClient
    from kazoo.exceptions import NodeExistsError
    from kazoo.security import make_acl

    txns = {}

    def txn(kind):
        txns[kind] = txns.get(kind, 0) + 1

    zk = KazooClient(hosts=args.server, timeout=10.0)
    zk.start(timeout=15)
    txn("createSession")
    session_a = zk.client_id[0]
    log(f"session A 0x{session_a:x}")

    zk.create(ROOT, b"r")
    txn("create")
    for i in range(N_CREATES):
        zk.create(f"{ROOT}/n{i}", b"v%d" % i)
        txn("create")
    # Spread the workload over a few leader pings so that the follower's
    # ping replies report session A.
    time.sleep(1.2)
    for i in range(M_SETDATA):
        zk.set(f"{ROOT}/n{i}", b"s%d" % i)
        txn("setData")

    t = zk.transaction()
    t.create(f"{ROOT}/m1", b"m")
    t.set_data(f"{ROOT}/n3", b"t")
    t.check(f"{ROOT}/n4", 0)
    results = t.commit()
    if any(isinstance(r, Exception) for r in results):
        raise SystemExit(f"multi failed: {results}")
    txn("multi")

    try:
        zk.create(f"{ROOT}/n0", b"again")
        raise SystemExit("create of an existing node succeeded")
    except NodeExistsError:
        txn("error")  # a failed write is still proposed, as an error txn

    zk.set_acls(f"{ROOT}/n1", [make_acl("world", "anyone", all=True)])
    txn("setACL")

    zk2 = KazooClient(hosts=args.server, timeout=10.0)
    zk2.start(timeout=15)
    txn("createSession")
    session_b = zk2.client_id[0]
    log(f"session B 0x{session_b:x}")
    zk2.create(f"{ROOT}/eph", b"e", ephemeral=True)
    txn("create")
    zk2.stop()
    zk2.close()
    txn("closeSession")

    zk.delete(f"{ROOT}/n{N_CREATES - 1}")
    txn("delete")
    time.sleep(1.2)
    tree_nodes = count_tree(zk)
    zk.stop()
    zk.close()
    txn("closeSession")

    expect = {
        "server": args.server,
        "txn_types": txns,
        "client_txns": sum(txns.values()),
        "sessions": [f"0x{session_a:x}", f"0x{session_b:x}"],
        "session_a": f"0x{session_a:x}",
        "tree_nodes_at_end": tree_nodes,
        "paths": sorted([ROOT, f"{ROOT}/m1", f"{ROOT}/eph"]
                        + [f"{ROOT}/n{i}" for i in range(N_CREATES)]),
    }
    with open(args.expect, "w") as f:
        json.dump(expect, f, indent=2, sort_keys=True)
    log(f"done: {expect['client_txns']} write txns, tree of {tree_nodes} nodes")


def streams(args):
    sys.path.insert(0, HERE)
    from pcap_summary import connections  # the project's independent reassembly

    os.makedirs(args.outdir, exist_ok=True)
    index = []
    for port, proto in ((2888, "zab"), (3888, "fle")):
        _, _, conns = connections(args.pcap, port)
        # Connection attempts refused or closed before a byte was sent are
        # left out.
        conns = [c for c in conns if c["c2s"].data or c["s2c"].data]
        for i, c in enumerate(conns):
            entry = {"protocol": proto, "client": "%s:%d" % c["client"]}
            # the server end is the same address family on the known port
            for d in ("c2s", "s2c"):
                name = f"{proto}-{i:02d}-{d}.bin"
                with open(os.path.join(args.outdir, name), "wb") as f:
                    f.write(bytes(c[d].data))
                entry[d] = name
                entry[d + "_len"] = len(c[d].data)
            entry["server_port"] = port
            index.append(entry)
    servers = server_addrs(args.pcap)
    for e in index:
        e["server"] = servers.get((e["client"], e["server_port"]))
    with open(os.path.join(args.outdir, "index.json"), "w") as f:
        json.dump(index, f, indent=1)
    log(f"{len(index)} connections written to {args.outdir}")


def server_addrs(pcap):
    """(client 'ip:port', server port) -> server 'ip:port' from SYNs."""
    sys.path.insert(0, HERE)
    from pcap_summary import read_pcap, tcp_segments

    linktype, pkts = read_pcap(pcap)
    out = {}
    for _ts, src, dst, _seq, _flags, _payload in tcp_segments(linktype, pkts):
        if dst[1] in (2888, 3888):
            out[("%s:%d" % src, dst[1])] = "%s:%d" % dst
    return out


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--server", required=True)
    r.add_argument("--expect", required=True)
    s = sub.add_parser("streams")
    s.add_argument("pcap")
    s.add_argument("outdir")
    args = ap.parse_args()
    {"run": run, "streams": streams}[args.cmd](args)


if __name__ == "__main__":
    main()
