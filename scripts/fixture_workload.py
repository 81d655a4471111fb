#!/usr/bin/env python3
"""Client workloads for the golden ZooKeeper captures (proto/tests/fixtures/).

Each scenario drives one real client against a ZooKeeper server on loopback and
writes, with --expect FILE, a JSON record of what it did: the ordered list of
operations plus the requests, error replies, notifications, pings and connects
that those operations must put on the wire.  These expectations come from the
driver itself (what it asked for and what the client library reported back),
never from decoding the capture.

    fixture_workload.py kazoo      --server 127.0.0.1:21810 --expect kazoo.json
    fixture_workload.py zkcli      --server ... --zk-dir DIR --expect zkcli.json
    fixture_workload.py climt      --server ... --expect cli_mt.json
    fixture_workload.py noreadonly --server ... --expect noreadonly.json
    fixture_workload.py fourlw     --server ... --expect fourlw.json
    fixture_workload.py hold       --server ... --port-file F --stop-file S
        (helper for fourlw: a kazoo session holding watches and an ephemeral
         node so that cons/wchs/wchc/wchp/dump have something to show)
    fixture_workload.py merge      --from WORKDIR --out FIXTURE_DIR
        (WORKDIR/<name>.json -> FIXTURE_DIR/expected.json + MANIFEST.md)

--server-desc TEXT records which server the workload ran against (the
"server" key), for captures whose server is not the Apache ZooKeeper 3.8 the
MANIFEST's preamble describes.

Opcode numbers used below are the ZooKeeper wire protocol's.
"""
import argparse
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))

# wire opcodes
CREATE, DELETE, EXISTS, GET_DATA, SET_DATA, GET_ACL, SET_ACL = 1, 2, 3, 4, 5, 6, 7
GET_CHILDREN, SYNC, PING, GET_CHILDREN2, CHECK, MULTI, CREATE2 = 8, 9, 11, 12, 13, 14, 15
RECONFIG, CHECK_WATCHES, REMOVE_WATCHES, CREATE_CONTAINER = 16, 17, 18, 19
CREATE_TTL, AUTH, SET_WATCHES, GET_EPHEMERALS, GET_ALL_CHILDREN_NUMBER = 21, 100, 101, 103, 104
SET_WATCHES2, ADD_WATCH, WHO_AM_I, CLOSE_SESSION = 105, 106, 107, -11

# error codes
OK, RUNTIME_INCONSISTENCY, NO_NODE, NO_AUTH, BAD_VERSION = 0, -2, -101, -102, -103
NO_CHILDREN_FOR_EPHEMERALS, NODE_EXISTS, NOT_EMPTY, AUTH_FAILED = -108, -110, -111, -115


def log(msg):
    print(f"[workload] {msg}", file=sys.stderr, flush=True)


def parse_server(s):
    host, _, port = s.rpartition(":")
    if not host.startswith("127."):
        raise SystemExit(f"refusing non-loopback server {s!r}")
    return host, int(port)


class Recorder:
    """Collects what a scenario sends and what it expects back."""

    def __init__(self, client):
        self.client = client
        self.ops = []
        self.req = Counter()
        self.req_loose = set()  # opcodes some step sends an unknown number of times
        self.err = Counter()
        self.err_loose = set()
        self.notifications = 0
        self.notifications_exact = True
        self.min_pings = 0
        self.connects = []  # ConnectRequest body lengths
        self.connect_responses = []  # ConnectResponse body lengths
        self.multi = []
        self.fourlw = []
        self.extra = {}

    def op(self, desc, opcodes, errors=(), loose_opcodes=(), loose_errors=()):
        """One client-level operation.  opcodes: requests it sends (exact);
        errors: error codes in reply headers (exact); loose_*: opcodes/errors
        it may send/receive any number (>= listed) of times."""
        opcodes = [opcodes] if isinstance(opcodes, int) else list(opcodes)
        errors = [errors] if isinstance(errors, int) else list(errors)
        for o in opcodes:
            self.req[str(o)] += 1
        for o in loose_opcodes:
            self.req_loose.add(str(o))
        for e in errors:
            self.err[str(e)] += 1
        for e in loose_errors:
            self.err_loose.add(str(e))
        parts = []
        if opcodes:
            parts.append(_fmt_ops(opcodes))
        if loose_opcodes:
            parts.append("a mix of " + ", ".join(f"{OPNAMES.get(o, '?')}({o})" for o in loose_opcodes))
        if errors:
            parts.append("error " + ", ".join(f"{ERRNAMES.get(e, '?')}({e})" for e in errors))
        self.ops.append(f"{desc} -> {'; '.join(parts)}" if parts else desc)

    def note(self, desc):
        self.ops.append(desc)

    def connect(self, desc, length=45, response_length=37):
        self.connects.append(length)
        self.connect_responses.append(response_length)
        self.ops.append(f"{desc} -> ConnectRequest ({length}-byte body)")

    def notified(self, n=1):
        self.notifications += n

    def result(self):
        exact = {k: v for k, v in self.req.items() if k not in self.req_loose}
        loose = {k: self.req.get(k, 0) or 1 for k in self.req_loose}
        eexact = {k: v for k, v in self.err.items() if k not in self.err_loose}
        eloose = {k: self.err.get(k, 0) or 1 for k in self.err_loose}
        srt = lambda d: dict(sorted(d.items(), key=lambda kv: int(kv[0])))
        out = {"client": self.client, "operations": self.ops}
        if exact:
            out["requests_by_opcode"] = srt(exact)
        if loose:
            out["min_requests_by_opcode"] = srt(loose)
        if self.connects or exact or loose:
            out["errors"] = srt(eexact)
        if eloose:
            out["min_errors"] = srt(eloose)
        if self.connects:
            key = "notifications" if self.notifications_exact else "min_notifications"
            out[key] = self.notifications
            out["min_pings"] = self.min_pings
            out["connect_requests"] = len(self.connects)
            out["connect_request_lengths"] = sorted(self.connects)
            out["connect_response_lengths"] = sorted(self.connect_responses)
        if self.multi:
            out["multi"] = self.multi
        if self.fourlw:
            out["fourlw"] = self.fourlw
        out.update(self.extra)
        return out


def _fmt_ops(opcodes):
    """[4, 12, 12, 12] -> 'getData(4), 3x getChildren2(12)' (runs collapsed)."""
    out = []
    for o in opcodes:
        if out and out[-1][0] == o:
            out[-1][1] += 1
        else:
            out.append([o, 1])
    return ", ".join((f"{n}x " if n > 1 else "") + f"{OPNAMES.get(o, '?')}({o})" for o, n in out)


def expect_error(fn, code, *args, **kwargs):
    """Run a kazoo call that must fail with ZooKeeper error `code`."""
    try:
        fn(*args, **kwargs)
    except Exception as e:  # kazoo.exceptions.ZookeeperError subclasses
        got = getattr(e, "code", None)
        if got != code:
            raise RuntimeError(f"expected error {code}, got {type(e).__name__} ({got})") from e
        return e
    raise RuntimeError(f"expected error {code}, call succeeded")


# --------------------------------------------------------------------- kazoo
def scenario_kazoo(server, rec):
    import logging

    from kazoo.client import KazooClient, KazooState
    from kazoo.exceptions import ZookeeperError
    from kazoo.retry import KazooRetry
    from kazoo.security import make_digest_acl

    logging.basicConfig(level=logging.WARNING)
    host, port = parse_server(server)
    rec.extra["session_timeout_ms"] = 4000

    fired = {}
    lock = threading.Lock()

    def watcher(name):
        ev = threading.Event()
        fired[name] = (ev, [])

        def cb(event):
            with lock:
                fired[name][1].append(event)
            ev.set()
        return cb

    zk = KazooClient(hosts=f"{host}:{port}", timeout=4.0)
    zk.start(timeout=15)
    rec.connect("kazoo start (session timeout 4 s, readOnly=false byte present)")

    # --- creates in every mode kazoo offers
    zk.create("/kz", b"root")
    rec.op("create /kz 'root' (persistent)", CREATE)
    zk.create("/kz/eph", b"e", ephemeral=True)
    rec.op("create /kz/eph (ephemeral)", CREATE)
    zk.create("/kz/seq-", b"s", sequence=True)
    rec.op("create /kz/seq- (persistent sequential)", CREATE)
    zk.create("/kz/eseq-", b"es", ephemeral=True, sequence=True)
    rec.op("create /kz/eseq- (ephemeral sequential)", CREATE)
    zk.create("/kz/c2", b"c2", include_data=True)
    rec.op("create /kz/c2 include_data=True (create2)", CREATE2)
    expect_error(zk.create, NODE_EXISTS, "/kz", b"again")
    rec.op("create /kz again", CREATE, NODE_EXISTS)
    expect_error(zk.create, NO_NODE, "/kz/nope/child", b"")
    rec.op("create /kz/nope/child (missing parent)", CREATE, NO_NODE)
    expect_error(zk.create, NO_CHILDREN_FOR_EPHEMERALS, "/kz/eph/child", b"")
    rec.op("create /kz/eph/child (parent is ephemeral)", CREATE, NO_CHILDREN_FOR_EPHEMERALS)
    for p in ("/kz/wd", "/kz/wg", "/kz/wc", "/kz/wc2"):
        zk.create(p, p.encode())
        rec.op(f"create {p}", CREATE)

    # --- reads arming watches
    assert zk.exists("/kz/wd", watch=watcher("wd")) is not None
    rec.op("exists /kz/wd with watch (node present)", EXISTS)
    assert zk.exists("/kz/missing", watch=watcher("missing")) is None
    rec.op("exists /kz/missing with watch (node absent; reply header carries NoNode)", EXISTS, NO_NODE)
    zk.get("/kz/wg", watch=watcher("wg"))
    rec.op("get /kz/wg with watch", GET_DATA)
    zk.get_children("/kz/wc", watch=watcher("wc"))
    rec.op("get_children /kz/wc with watch", GET_CHILDREN)
    zk.get_children("/kz/wc2", watch=watcher("wc2"), include_data=True)
    rec.op("get_children /kz/wc2 with watch, include_data=True (getChildren2)", GET_CHILDREN2)
    expect_error(zk.get, NO_NODE, "/kz/absent")
    rec.op("get /kz/absent", GET_DATA, NO_NODE)
    kids = zk.get_children("/kz")
    rec.op(f"get_children /kz (no watch; {len(kids)} children)", GET_CHILDREN)

    # --- trigger every armed watch once
    zk.set("/kz/wd", b"d2")
    rec.op("set /kz/wd 'd2' (fires NodeDataChanged on /kz/wd)", SET_DATA)
    zk.create("/kz/missing", b"")
    rec.op("create /kz/missing (fires NodeCreated on /kz/missing)", CREATE)
    zk.delete("/kz/wg")
    rec.op("delete /kz/wg (fires NodeDeleted on /kz/wg)", DELETE)
    zk.create("/kz/wc/x", b"")
    rec.op("create /kz/wc/x (fires NodeChildrenChanged on /kz/wc)", CREATE)
    zk.create("/kz/wc2/y", b"")
    rec.op("create /kz/wc2/y (fires NodeChildrenChanged on /kz/wc2)", CREATE)
    want_types = {"wd": "CHANGED", "missing": "CREATED", "wg": "DELETED", "wc": "CHILD", "wc2": "CHILD"}
    for name, (ev, events) in fired.items():
        if not ev.wait(10):
            raise RuntimeError(f"watch {name} did not fire")
        if events[0].type != want_types[name]:
            raise RuntimeError(f"watch {name}: got {events[0].type}, want {want_types[name]}")
    rec.notified(len(fired))
    rec.note(f"received {len(fired)} watch notifications (xid -1): "
             "NodeDataChanged, NodeCreated, NodeDeleted, 2x NodeChildrenChanged")
    expect_error(zk.set, BAD_VERSION, "/kz/wd", b"d3", version=99)
    rec.op("set /kz/wd version=99", SET_DATA, BAD_VERSION)
    expect_error(zk.set, NO_NODE, "/kz/absent", b"x")
    rec.op("set /kz/absent", SET_DATA, NO_NODE)

    # --- ACLs and auth
    zk.get_acls("/kz")
    rec.op("get_acls /kz", GET_ACL)
    zk.create("/kz/acl", b"secret")
    rec.op("create /kz/acl", CREATE)
    expect_error(zk.set_acls, BAD_VERSION, "/kz/acl",
                 [make_digest_acl("zkops", "pw", all=True)], version=7)
    rec.op("set_acls /kz/acl version=7", SET_ACL, BAD_VERSION)
    zk.set_acls("/kz/acl", [make_digest_acl("zkops", "pw", all=True)])
    rec.op("set_acls /kz/acl [digest zkops:pw ALL]", SET_ACL)
    expect_error(zk.get, NO_AUTH, "/kz/acl")
    rec.op("get /kz/acl before auth", GET_DATA, NO_AUTH)
    zk.add_auth("digest", "zkops:pw")
    rec.op("add_auth digest zkops:pw (xid -4)", AUTH)
    zk.get("/kz/acl")
    rec.op("get /kz/acl after auth", GET_DATA)
    zk.get_acls("/kz/acl")
    rec.op("get_acls /kz/acl", GET_ACL)
    zk.sync("/kz")
    rec.op("sync /kz", SYNC)

    # --- transactions
    t = zk.transaction()
    t.create("/kz/tx", b"a")
    t.set_data("/kz/tx", b"b")
    t.check("/kz/tx", 1)
    t.delete("/kz/tx")
    res = t.commit()
    if any(isinstance(r, Exception) for r in res):
        raise RuntimeError(f"transaction unexpectedly failed: {res}")
    rec.op("transaction [create /kz/tx, set_data /kz/tx, check /kz/tx v1, delete /kz/tx] (succeeds)", MULTI)
    rec.multi.append({"ops": [CREATE, SET_DATA, CHECK, DELETE], "results": [CREATE, SET_DATA, CHECK, DELETE]})
    t = zk.transaction()
    t.create("/kz/txf", b"x")
    t.check("/kz/wd", 99)
    t.set_data("/kz/c2", b"y")
    t.delete("/kz/eph")
    res = t.commit()  # kazoo reports per-op exceptions instead of raising
    codes = [getattr(r, "code", None) if isinstance(r, Exception) else "ok" for r in res]
    if codes != [OK, BAD_VERSION, RUNTIME_INCONSISTENCY, RUNTIME_INCONSISTENCY]:
        raise RuntimeError(f"failed transaction gave {codes}")
    rec.op("transaction [create /kz/txf, check /kz/wd v99, set_data /kz/c2, delete /kz/eph] "
           "(fails at the check: per-op results 0, -103, -2, -2; reply header err 0)", MULTI)
    rec.multi.append({"ops": [CREATE, CHECK, SET_DATA, DELETE],
                      "results": [OK, BAD_VERSION, RUNTIME_INCONSISTENCY, RUNTIME_INCONSISTENCY]})

    # --- reconfig on a standalone server without reconfigEnabled
    try:
        zk.reconfig(joining="server.9=127.0.0.9:2888:3888;2181", leaving=None, new_members=None)
        raise RuntimeError("reconfig unexpectedly succeeded")
    except ZookeeperError as e:
        code = getattr(e, "code", None)
        if not isinstance(code, int):
            raise
        rec.op(f"reconfig joining=server.9 (refused: {type(e).__name__})", RECONFIG, code)

    # --- deletes
    expect_error(zk.delete, BAD_VERSION, "/kz/c2", version=42)
    rec.op("delete /kz/c2 version=42", DELETE, BAD_VERSION)
    expect_error(zk.delete, NOT_EMPTY, "/kz/wc")
    rec.op("delete /kz/wc (has a child)", DELETE, NOT_EMPTY)
    zk.delete("/kz/wc/x")
    rec.op("delete /kz/wc/x", DELETE)
    zk.delete("/kz/eph")
    rec.op("delete /kz/eph", DELETE)
    expect_error(zk.delete, NO_NODE, "/kz/nothere")
    rec.op("delete /kz/nothere", DELETE, NO_NODE)

    # --- idle: pings (kazoo pings when idle for ~1/3 of the session timeout)
    time.sleep(7)
    rec.min_pings = 3
    rec.note("idle 7 s -> pings (xid -2, opcode 11), at least 3")

    # --- forced reconnect of the same session
    zk.get("/kz/wd", watch=lambda e: None)
    rec.op("get /kz/wd with watch (armed before the reconnect; kazoo 2.11 does not "
           "re-register it: no SetWatches)", GET_DATA)
    reconnected = threading.Event()
    seen_suspended = threading.Event()

    def listener(state):
        if state == KazooState.SUSPENDED:
            seen_suspended.set()
        elif state == KazooState.CONNECTED and seen_suspended.is_set():
            reconnected.set()
    zk.add_listener(listener)
    zk._connection._socket.shutdown(socket.SHUT_RDWR)  # drop the TCP connection
    if not reconnected.wait(20):
        raise RuntimeError("kazoo did not reconnect")
    rec.note("client shuts its socket down; kazoo reconnects to the same session")
    rec.connect("kazoo reconnect (sessionId, lastZxidSeen and passwd of the live session)")
    rec.op("kazoo re-sends add_auth digest zkops:pw on the new connection (xid -4)", AUTH)
    time.sleep(0.3)
    zk.exists("/kz")
    rec.op("exists /kz (after reconnect)", EXISTS)
    zk.stop()
    zk.close()
    rec.op("stop (closeSession)", CLOSE_SESSION)

    # --- a second client: auth with an unknown scheme
    # No reconnect attempt (max_tries=1), so that once the server has closed
    # the connection the client is finished and stop() has nothing to send.
    zk2 = KazooClient(hosts=f"{host}:{port}", timeout=4.0,
                      connection_retry=KazooRetry(max_tries=1))
    zk2.start(timeout=15)
    rec.connect("second kazoo client start (connection_retry max_tries=1: no reconnect)")
    expect_error(zk2.add_auth, AUTH_FAILED, "nosuchscheme", "whatever")
    if not zk2._connection.connection_stopped.wait(20):
        raise RuntimeError("second client did not notice the closed connection")
    rec.op("add_auth nosuchscheme whatever (xid -4; the server answers AuthFailed and "
           "closes the connection; no closeSession follows)", AUTH, AUTH_FAILED)
    zk2.stop()
    zk2.close()


# --------------------------------------------------------------------- zkCli
class ZkCli:
    """Drives the Java CLI (org.apache.zookeeper.ZooKeeperMain) over a pipe."""

    def __init__(self, server, timeout_ms):
        env = dict(os.environ, ZK_CLI_LOG_LEVEL="error")
        self.p = subprocess.Popen(
            [os.path.join(HERE, "zk.sh"), "cli", server, "-timeout", str(timeout_ms)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, env=env)
        self.out = []
        self.cv = threading.Condition()
        self.marks = 0
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        for line in self.p.stdout:
            with self.cv:
                self.out.append(line)
                self.cv.notify_all()
        with self.cv:
            self.out.append(None)
            self.cv.notify_all()

    def text(self):
        with self.cv:
            return "".join(x for x in self.out if x)

    def wait_for(self, pred, timeout=30, what="output"):
        deadline = time.time() + timeout
        with self.cv:
            while not pred("".join(x for x in self.out if x)):
                if None in self.out:
                    raise RuntimeError(f"zkCli exited while waiting for {what}:\n{self.text()[-3000:]}")
                left = deadline - time.time()
                if left <= 0:
                    raise RuntimeError(f"timeout waiting for {what}:\n{self.text()[-3000:]}")
                self.cv.wait(left)

    def send(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()

    def barrier(self):
        """An unknown command is answered locally (no traffic) after every
        earlier line has been executed: wait for its 'Command not found'."""
        self.marks += 1
        tag = f"zkops-mark-{self.marks}"
        self.send(tag)
        self.wait_for(lambda t: f"Command not found {tag}" in t, what=tag)

    def connected_count(self):
        return self.text().count("state:SyncConnected type:None")


class Relay:
    """Byte-for-byte TCP relay on loopback.  zkCli connects through it so that
    the driver can cut the connection (forcing the client to reconnect to its
    session) without restarting the server; the capture is taken on the
    server side of the relay, so every frame is the client's own bytes."""

    def __init__(self, listen_host, upstream):
        self.upstream = upstream
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((listen_host, 0))
        self.lsock.listen(8)
        self.address = self.lsock.getsockname()
        self.pairs = []
        self.lock = threading.Lock()
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                c.close()
                continue
            u.settimeout(None)
            for sk in (c, u):
                sk.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pair = (c, u)
            with self.lock:
                self.pairs.append(pair)
                self.accepted += 1
            threading.Thread(target=self._pump, args=(c, u, pair), daemon=True).start()
            threading.Thread(target=self._pump, args=(u, c, pair), daemon=True).start()

    def _pump(self, src, dst, pair):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        self._close(pair)

    def _close(self, pair):
        with self.lock:
            if pair not in self.pairs:
                return
            self.pairs.remove(pair)
        c, u = pair
        for sk in (u, c):  # server side first
            try:
                sk.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sk.close()

    def cut(self):
        with self.lock:
            pairs = list(self.pairs)
        if len(pairs) != 1:
            raise RuntimeError(f"expected one relayed connection, have {len(pairs)}")
        self._close(pairs[0])

    def close(self):
        self.lsock.close()
        with self.lock:
            pairs = list(self.pairs)
        for p in pairs:
            self._close(p)


def scenario_zkcli(server, rec):
    host, port = parse_server(server)
    timeout_ms = 10000
    rec.extra["session_timeout_ms"] = timeout_ms
    relay = Relay(host, (host, port))
    via = f"{relay.address[0]}:{relay.address[1]}"
    rec.extra["relay_note"] = ("zkCli reaches the server through a byte-for-byte TCP relay "
                               "(so the driver can cut its connection); the capture is the "
                               "relay-to-server side, every frame as zkCli wrote it")
    cli = ZkCli(via, timeout_ms)
    cli.wait_for(lambda t: cli.connected_count() >= 1, what="first connection")
    rec.connect(f"zkCli.sh -server <relay to {server}> -timeout {timeout_ms}")
    tree = {"/zc"}  # model of the nodes under /zc, to know how many getChildren ls -R sends

    def run(cmd, opcodes=(), errors=(), desc=None, loose_opcodes=(), loose_errors=()):
        cli.send(cmd)
        rec.op(desc or cmd, opcodes, errors, loose_opcodes, loose_errors)

    # ---- phase 1: every create mode, reads, writes, ACLs, misc opcodes
    run("create /zc root", CREATE)
    run("create -e /zc/eph e", CREATE, desc="create -e /zc/eph e (ephemeral)")
    run("create -s /zc/seq- s", CREATE, desc="create -s /zc/seq- s (sequential)")
    run("create -e -s /zc/eseq- es", CREATE, desc="create -e -s /zc/eseq- es (ephemeral sequential)")
    run("create -c /zc/cont", CREATE_CONTAINER, desc="create -c /zc/cont (container)")
    run("create -t 600000 /zc/ttl t", CREATE_TTL, desc="create -t 600000 /zc/ttl t (TTL)")
    tree |= {"/zc/eph", "/zc/seq", "/zc/eseq", "/zc/cont", "/zc/ttl"}
    run("create /zc again", CREATE, NODE_EXISTS)
    run("create /zc/d d0", CREATE)
    tree.add("/zc/d")
    run("get -s -w /zc/d", GET_DATA, desc="get -s -w /zc/d (data watch)")
    run("set /zc/d d1", SET_DATA, desc="set /zc/d d1 (fires NodeDataChanged)")
    run("set -v 99 /zc/d bad", SET_DATA, BAD_VERSION)
    run("stat /zc/d", EXISTS)
    run("stat -w /zc/none", EXISTS, NO_NODE, desc="stat -w /zc/none (exists watch on a missing node)")
    run("create /zc/none n", CREATE, desc="create /zc/none n (fires NodeCreated)")
    tree.add("/zc/none")
    run("ls -s -w /zc", GET_CHILDREN2, desc="ls -s -w /zc (getChildren2 with child watch)")
    run("create /zc/kid k", CREATE, desc="create /zc/kid k (fires NodeChildrenChanged on /zc)")
    tree.add("/zc/kid")
    # zkCli 3.8 lists with ZooKeeper.getChildren(path, watch, stat), which is
    # always getChildren2 on the wire, even without -s; ls -R first reads the
    # root's data, then lists every node of the subtree depth-first.
    run("ls /zc", GET_CHILDREN2, desc="ls /zc (zkCli 3.8 always lists with getChildren2)")
    run("ls -R /zc", [GET_DATA] + [GET_CHILDREN2] * len(tree),
        desc=f"ls -R /zc (getData on /zc, then one getChildren2 per node of the "
             f"{len(tree)}-node subtree)")
    run("getAcl /zc", GET_ACL)
    run("getAcl -s /zc/d", GET_ACL)
    run("addauth digest zc:pw", AUTH, desc="addauth digest zc:pw (xid -4)")
    run("setAcl /zc/d auth:zc:pw:cdrwa", SET_ACL)
    run("setAcl -v 99 /zc/kid world:anyone:r", SET_ACL, BAD_VERSION)
    run("get /zc/d", GET_DATA, desc="get /zc/d (allowed by the digest auth)")
    run("sync /zc", SYNC)
    run("getEphemerals /zc", GET_EPHEMERALS)
    run("getEphemerals", GET_EPHEMERALS, desc="getEphemerals (no path: all of the session's)")
    run("getAllChildrenNumber /zc", GET_ALL_CHILDREN_NUMBER)
    run("whoami", WHO_AM_I)
    run("config", GET_DATA, desc="config (getData /zookeeper/config)")
    cli.barrier()
    # refused on a standalone server; the code depends on the server's checks
    cli.send("reconfig -add server.9=127.0.0.9:2888:3888;2181")
    cli.barrier()
    out = cli.text()
    if "Reconfig is disabled" in out or "ReconfigDisabled" in out:
        code, why = -123, "ReconfigDisabled"
    elif "Insufficient permission" in out or "NoAuth" in out:
        code, why = NO_AUTH, "NoAuth"
    elif "Unimplemented" in out:
        code, why = -6, "Unimplemented"
    else:
        raise RuntimeError("could not tell how reconfig failed:\n" + out[-2000:])
    rec.op(f"reconfig -add server.9=127.0.0.9:2888:3888;2181 (refused: {why})", RECONFIG, code)
    rec.notified(3)
    rec.note("notifications so far: NodeDataChanged /zc/d, NodeCreated /zc/none, NodeChildrenChanged /zc")

    # ---- phase 2: standard watches armed, reconnect -> SetWatches (101)
    run("get -w /zc/d", GET_DATA, desc="get -w /zc/d (data watch)")
    run("stat -w /zc/later", EXISTS, NO_NODE, desc="stat -w /zc/later (exists watch, node missing)")
    run("ls -w /zc", GET_CHILDREN2, desc="ls -w /zc (getChildren2 with child watch)")
    cli.barrier()
    before = cli.connected_count()
    relay.cut()
    cli.wait_for(lambda t: cli.connected_count() > before, timeout=40, what="reconnect 1")
    rec.note("the relay cuts the TCP connection; zkCli reconnects to its session")
    rec.connect("zkCli reconnect 1 (session id + lastZxidSeen)")
    rec.op("zkCli re-registers data/exist/child watches: SetWatches (opcode 101; Java 3.8 "
           "gives it an ordinary positive xid, not -8)", SET_WATCHES)
    rec.op("zkCli re-sends addauth digest zc:pw (xid -4)", AUTH)
    run("set /zc/d d2", SET_DATA, desc="set /zc/d d2 (fires NodeDataChanged, watch re-registered)")
    run("create /zc/later l", CREATE, desc="create /zc/later l (fires NodeCreated /zc/later and NodeChildrenChanged /zc)")
    tree.add("/zc/later")
    rec.notified(3)

    # ---- phase 3: persistent watches, reconnect -> SetWatches2 (105)
    run("create /zc/pw p0", CREATE)
    run("create /zc/tree t", CREATE)
    tree |= {"/zc/pw", "/zc/tree"}
    run("addWatch -m PERSISTENT /zc/pw", ADD_WATCH)
    # explicit mode: zkCli 3.8 keeps the previous addWatch's -m as the default
    run("addWatch -m PERSISTENT_RECURSIVE /zc/tree", ADD_WATCH)
    run("set /zc/pw p1", SET_DATA, desc="set /zc/pw p1 (fires NodeDataChanged, watch stays)")
    run("create /zc/tree/a a", CREATE, desc="create /zc/tree/a a (fires NodeCreated /zc/tree/a via the recursive watch)")
    tree.add("/zc/tree/a")
    rec.notified(2)
    cli.barrier()
    time.sleep(5)
    rec.min_pings = 1
    rec.note("idle 5 s -> at least one ping (xid -2)")
    before = cli.connected_count()
    relay.cut()
    cli.wait_for(lambda t: cli.connected_count() > before, timeout=40, what="reconnect 2")
    rec.note("the relay cuts the connection again; zkCli reconnects")
    rec.connect("zkCli reconnect 2")
    rec.op("zkCli re-registers its persistent watches: SetWatches2 (opcode 105, ordinary xid)", SET_WATCHES2)
    rec.op("zkCli re-sends addauth digest zc:pw (xid -4)", AUTH)
    run("set /zc/pw p2", SET_DATA, desc="set /zc/pw p2 (fires NodeDataChanged)")
    run("create /zc/tree/a/b b", CREATE, desc="create /zc/tree/a/b b (fires NodeCreated /zc/tree/a/b via the recursive watch)")
    tree.add("/zc/tree/a/b")
    rec.notified(2)
    run("removewatches /zc/pw -a", REMOVE_WATCHES)
    run("removewatches /zc/tree -a", REMOVE_WATCHES)
    run("set /zc/pw p3", SET_DATA, desc="set /zc/pw p3 (no watch left: no notification)")

    # ---- phase 4: quotas (compound commands: counted as lower bounds)
    run("create /zc/q q", CREATE)
    tree.add("/zc/q")
    quota_ops = [CREATE, DELETE, EXISTS, GET_DATA, SET_DATA, GET_CHILDREN]
    run("setquota -n 10 /zc/q", desc="setquota -n 10 /zc/q (exists/getData/getChildren/create/"
        "setData under /zookeeper/quota; some lookups answer NoNode)",
        loose_opcodes=quota_ops, loose_errors=[NO_NODE])
    run("listquota /zc/q", desc="listquota /zc/q (getData of the limit and stat nodes)",
        loose_opcodes=quota_ops)
    run("delquota -n /zc/q", desc="delquota -n /zc/q (exists/getData/setData, may delete)",
        loose_opcodes=quota_ops)
    cli.barrier()

    # ---- phase 5: deletes, close, a fresh session, quit
    run("delete /zc/kid", DELETE)
    tree.discard("/zc/kid")
    run("delete -v 99 /zc/d", DELETE, BAD_VERSION)
    run("delete /zc", DELETE, NOT_EMPTY)
    # ZKUtil.deleteRecursive: breadth-first getChildren of every node, then one
    # multi deleting all of them, deepest first (batch size 1000)
    n = len(tree)
    run("deleteall /zc", [GET_CHILDREN] * n + [MULTI],
        desc=f"deleteall /zc ({n} getChildren over the {n}-node subtree, then one multi of {n} deletes)")
    rec.multi.append({"ops": [DELETE] * n, "results": [DELETE] * n})
    run("stat /zc", EXISTS, NO_NODE, desc="stat /zc (gone)")
    cli.barrier()
    run("close", CLOSE_SESSION)
    cli.barrier()
    cli.send(f"connect {via}")
    cli.wait_for(lambda t: "state:SyncConnected type:None" in t.rsplit("Command not found", 1)[-1],
                 what="new session")
    rec.connect("connect <relay> (a new session)")
    run("whoami", WHO_AM_I)
    run("quit", CLOSE_SESSION, desc="quit (closeSession)")
    cli.p.stdin.close()
    rc = cli.p.wait(timeout=30)
    text = cli.text()
    if rc != 0:
        log(f"zkCli exit status {rc}")
    relay.close()
    if relay.accepted != 4:
        raise RuntimeError(f"relay saw {relay.accepted} connections, expected 4")
    for needle in ("Created /zc/cont", "Created /zc/ttl", "Node already exists: /zc"):
        if needle not in text:
            raise RuntimeError(f"zkCli output lacks {needle!r}:\n{text[-3000:]}")
    rec.extra["note"] = ("setquota/listquota/delquota send a client-determined mix of requests; "
                         "the opcodes they may use are counted under min_requests_by_opcode "
                         "(lower bound = the other commands' exact count) and NoNode under min_errors")


# --------------------------------------------------------------------- cli_mt
def scenario_climt(server, rec):
    cmds = [
        ("create /cm", [CREATE], [], "create /cm (persistent)"),
        ("create +e /cm/e", [CREATE], [], "create +e /cm/e (ephemeral)"),
        ("create +s /cm/s", [CREATE], [], "create +s /cm/s (sequential)"),
        ("create +es /cm/es", [CREATE], [], "create +es /cm/es (ephemeral sequential)"),
        ("create +c /cmc", [CREATE_CONTAINER], [], "create +c /cmc (container)"),
        ("create +t=600000 /cmt", [CREATE_TTL], [], "create +t=600000 /cmt (TTL)"),
        ("create2 /cm/c2", [CREATE2], [], "create2 /cm/c2"),
        ("create /cm", [CREATE], [NODE_EXISTS], "create /cm again"),
        ("exists /cm", [EXISTS], [], "exists /cm (no watch)"),
        ("wexists /cm/w", [EXISTS], [NO_NODE], "wexists /cm/w (exists watch, node missing)"),
        ("get /cm", [GET_DATA], [], "get /cm (cli_mt always sets a data watch)"),
        ("ls /cm", [GET_CHILDREN], [], "ls /cm (child watch)"),
        ("set /cm v1", [SET_DATA], [], "set /cm v1 (fires NodeDataChanged /cm)"),
        ("create /cm/w", [CREATE], [], "create /cm/w (fires NodeCreated /cm/w, NodeChildrenChanged /cm)"),
        ("ls2 /cm", [GET_CHILDREN2], [], "ls2 /cm (getChildren2, child watch)"),
        ("delete /cm/w", [DELETE], [], "delete /cm/w (fires NodeChildrenChanged /cm)"),
        ("sync /cm", [SYNC], [], "sync /cm"),
        ("addauth digest cm:pw", [AUTH], [], "addauth digest cm:pw (xid -4)"),
        ("get /cm/none", [GET_DATA], [NO_NODE], "get /cm/none"),
        ("delete /cm/c2", [DELETE], [], "delete /cm/c2"),
    ]
    p = subprocess.Popen(["/usr/lib/zookeeper/bin/cli_mt", "-h", server],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    out = []
    threading.Thread(target=lambda: out.extend(p.stdout), daemon=True).start()
    deadline = time.time() + 20
    while "CONNECTED_STATE" not in "".join(out):
        if time.time() > deadline or p.poll() is not None:
            raise RuntimeError("cli_mt did not connect:\n" + "".join(out))
        time.sleep(0.05)
    rec.connect(f"cli_mt -h {server}")
    for line, ops, errs, desc in cmds:
        p.stdin.write(line + "\n")
        p.stdin.flush()
        rec.op(desc, ops, errs)
        time.sleep(0.25)  # cli_mt is asynchronous: keep its output readable
    time.sleep(1.0)
    rec.notified(4)
    rec.note("notifications: NodeDataChanged /cm, NodeCreated /cm/w, 2x NodeChildrenChanged /cm")
    p.stdin.write("quit\n")
    p.stdin.flush()
    rec.op("quit (closeSession)", CLOSE_SESSION)
    try:
        p.wait(timeout=15)
    except subprocess.TimeoutExpired:
        p.kill()
        raise RuntimeError("cli_mt did not quit")
    rec.extra["note"] = ("the C client numbers its requests from a clock-derived xid, "
                         "not from 1; cli_mt's get/ls/ls2/wexists set watches, exists does not")
    text = "".join(out)
    if text.count("CHANGED_EVENT") < 1 or text.count("CHILD_EVENT") < 2 or "CREATED_EVENT" not in text:
        raise RuntimeError("cli_mt did not report the expected watch events:\n" + text[-3000:])


# --------------------------------------------------------------------- raw
def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise RuntimeError(f"connection closed after {len(buf)}/{n} bytes")
        buf += chunk
    return buf


def recv_frame(s):
    (n,) = struct.unpack("!i", recv_exact(s, 4))
    return recv_exact(s, n)


def scenario_noreadonly(server, rec):
    host, port = parse_server(server)
    s = socket.create_connection((host, port), timeout=10)
    # ConnectRequest: protocolVersion, lastZxidSeen, timeOut, sessionId, passwd
    # -- and deliberately no trailing readOnly byte (an "old client").
    body = struct.pack("!iqiqi", 0, 0, 10000, 0, 16) + b"\0" * 16
    assert len(body) == 44
    s.sendall(struct.pack("!i", len(body)) + body)
    resp = recv_frame(s)
    proto, timeout, session = struct.unpack("!iiq", resp[:16])
    rec.connect("raw socket: 44-byte ConnectRequest without the readOnly byte "
                "(timeout 10000, session 0, zero passwd)", 44, 36)
    rec.extra["connect_response_note"] = ("the server echoes the old format: 36-byte "
                                          "ConnectResponse without the readOnly byte")
    log(f"noreadonly: session {session:#x}, timeout {timeout}, response {len(resp)} bytes")

    def request(xid, op, payload=b""):
        s.sendall(struct.pack("!iii", 8 + len(payload), xid, op) + payload)
        r = recv_frame(s)
        rxid, _zxid, err = struct.unpack("!iqi", r[:16])
        if rxid != xid:
            raise RuntimeError(f"reply xid {rxid} != {xid}")
        return err, r

    path = b"/"
    err, _ = request(1, GET_DATA, struct.pack("!i", len(path)) + path + b"\0")
    rec.op("getData / (xid 1, watch=false)", GET_DATA, [err] if err else [])
    err, _ = request(-2, PING)
    rec.note("ping (xid -2, opcode 11)")
    rec.min_pings = 1
    err, _ = request(2, CLOSE_SESSION)
    rec.op("closeSession (xid 2, opcode -11)", CLOSE_SESSION, [err] if err else [])
    s.close()


FOURLW_WORDS = ["ruok", "srvr", "stat", "mntr", "conf", "cons", "crst", "dump", "envi",
                "wchs", "wchc", "wchp", "dirs", "isro", "srst", "gtmk"]


def scenario_fourlw(server, rec):
    host, port = parse_server(server)
    rec.extra["note"] = ("meanwhile a kazoo session (fixture_workload.py hold, left out of "
                         "the capture by its port) holds /fourlw/eph and three watches, so "
                         "cons/dump/wchs/wchc/wchp have something to list")
    for w in FOURLW_WORDS:
        s = socket.create_connection((host, port), timeout=10)
        s.sendall(w.encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        if not data:
            raise RuntimeError(f"no answer to {w}")
        rec.fourlw.append(w)
        rec.note(f"connect, send {w!r}, read the answer until the server closes")
        log(f"fourlw: {w}: {len(data)} bytes")
        time.sleep(0.05)


def scenario_hold(server, port_file, stop_file):
    """A kazoo session with an ephemeral node and watches, for fourlw."""
    from kazoo.client import KazooClient
    host, port = parse_server(server)
    zk = KazooClient(hosts=f"{host}:{port}", timeout=10.0)
    zk.start(timeout=15)
    zk.ensure_path("/fourlw")
    zk.create("/fourlw/eph", b"", ephemeral=True)
    zk.get("/fourlw", watch=lambda e: None)
    zk.get_children("/fourlw", watch=lambda e: None)
    zk.exists("/fourlw/none", watch=lambda e: None)
    local_port = zk._connection._socket.getsockname()[1]
    with open(port_file + ".tmp", "w") as f:
        f.write(str(local_port))
    os.rename(port_file + ".tmp", port_file)
    deadline = time.time() + 120
    while not os.path.exists(stop_file) and time.time() < deadline:
        time.sleep(0.1)
    zk.stop()
    zk.close()


# --------------------------------------------------------------------- merge
OPNAMES = {
    1: "create", 2: "delete", 3: "exists", 4: "getData", 5: "setData", 6: "getACL",
    7: "setACL", 8: "getChildren", 9: "sync", 11: "ping", 12: "getChildren2",
    13: "check", 14: "multi", 15: "create2", 16: "reconfig", 17: "checkWatches",
    18: "removeWatches", 19: "createContainer", 20: "deleteContainer", 21: "createTTL",
    22: "multiRead", 100: "auth", 101: "setWatches", 102: "sasl", 103: "getEphemerals",
    104: "getAllChildrenNumber", 105: "setWatches2", 106: "addWatch", 107: "whoAmI",
    -11: "closeSession", -1: "error",
}
ERRNAMES = {
    0: "Ok", -2: "RuntimeInconsistency", -6: "Unimplemented", -101: "NoNode",
    -102: "NoAuth", -103: "BadVersion", -108: "NoChildrenForEphemerals",
    -110: "NodeExists", -111: "NotEmpty", -115: "AuthFailed", -123: "ReconfigDisabled",
}
# name -> (scenario json, one-line description)
FIXTURES = [
    ("kazoo.pcap", "kazoo", "Python kazoo client: every request kazoo can send, "
     "watches and notifications, transactions, auth, pings, reconnect, close."),
    ("zkcli.pcap", "zkcli", "Java zkCli.sh: the 3.6+/3.8 opcodes kazoo cannot send "
     "(createContainer, createTTL, addWatch, removeWatches, getEphemerals, "
     "getAllChildrenNumber, whoAmI, setWatches, setWatches2) and reconnects."),
    ("cli_mt.pcap", "climt", "C client cli_mt from zookeeper-bin."),
    ("noreadonly.pcap", "noreadonly", "Hand-built frames: a ConnectRequest without "
     "the readOnly byte, getData, ping, closeSession."),
    ("fourlw.pcap", "fourlw", "One TCP connection per four-letter word."),
    ("kazoo-zkserver.pcap", "kazoo-zkserver", "The kazoo.pcap workload against "
     "zkserver (zkops' own server) instead of Apache ZooKeeper."),
    ("zkcli-zkserver.pcap", "zkcli-zkserver", "The zkcli.pcap workload against "
     "zkserver (zkops' own server) instead of Apache ZooKeeper."),
]


def _fmt_counts(d, names):
    return ", ".join(f"{k} {names.get(int(k), '?')} x{v}" for k, v in d.items()) or "none"


def merge(src, out):
    expected = {}
    md = [
        "# Golden ZooKeeper captures",
        "",
        "Real client traffic against a real Apache ZooKeeper 3.8.0 server (Debian package",
        "`zookeeper` 3.8.0), standalone on 127.0.0.1:21810, tickTime 2000,",
        "`extendedTypesEnabled=true`, admin server off. Regenerate everything with",
        "`scripts/capture-fixtures.sh` (it calls `scripts/setup-deps.sh`, starts a fresh",
        "server per file with `scripts/zk.sh`, captures with `tcpdump -i lo -s 0 -U` and",
        "drives the clients with `scripts/fixture_workload.py`). Captures differ run to run",
        "(session ids, zxids, timestamps, ports, ping counts), the expectations do not.",
        "",
        "The `*-zkserver.pcap` files are the same client workloads against zkops' own",
        "`zkserver` (which answers as ZooKeeper 3.9) instead: the capture script builds",
        "it and starts it standalone with the same settings (tickTime 2000,",
        "`extendedTypesEnabled=true`, every four-letter word allowed), on the address its",
        "section names; their expectations come from the same workload code.",
        "",
        "Format: classic pcap (microsecond timestamps), link type 1 (Ethernet, as tcpdump",
        "writes for `lo`), IPv4, only TCP to/from port 21810. Packets within a file may",
        "belong to several TCP connections (reconnects, extra clients). zkCli talks",
        "through a byte-for-byte relay so that its connection can be cut (see zkcli.pcap).",
        "",
        "The operation lists and `expected.json` are written by the workload driver from",
        "what it asked each client to do and what the client reported back; they were not",
        "derived by decoding the captures. `scripts/pcap_summary.py --check",
        "proto/tests/fixtures/expected.json` is an independent Python decoder that",
        "cross-checks them (capture-fixtures.sh runs it).",
        "",
        "## expected.json keys",
        "",
        "- `requests_by_opcode`: exact number of client requests per opcode (decimal",
        "  string keys), excluding ConnectRequests and pings; every opcode not listed must",
        "  occur 0 times. `min_requests_by_opcode`: lower bounds, for opcodes that a",
        "  compound CLI command sends a client-determined number of times.",
        "- `errors`: exact number of replies per non-zero reply-header `err`, excluding",
        "  notifications; `min_errors`: lower bounds.",
        "- `notifications` (exact) / `min_notifications`: watch events (xid -1).",
        "- `min_pings`: lower bound on ping requests (xid -2, opcode 11); timing-dependent.",
        "- `connect_requests`, `connect_request_lengths`, `connect_response_lengths`: number",
        "  of ConnectRequests and the sorted lengths (bytes after the 4-byte length prefix)",
        "  of the requests and of the server's ConnectResponses.",
        "- `multi`: per multi request in order, the sub-op types sent and the server's",
        "  per-op result (the op type on success, or the error code for the `-1` error",
        "  results of a failed transaction).",
        "- `fourlw`: the four-letter words sent, one TCP connection each, in order.",
        "- `operations`: the ordered steps the driver performed (also listed below).",
        "",
        "Special xids: -1 notification (server to client), -2 ping, -4 auth. The Java",
        "3.8 client sends SetWatches/SetWatches2 with an ordinary positive xid (its send",
        "path overwrites the -8 it starts with); kazoo 2.11 never sends SetWatches.",
        "",
    ]
    for name, key, blurb in FIXTURES:
        path = os.path.join(src, key + ".json")
        if not os.path.exists(path):
            continue
        with open(path) as f:
            e = json.load(f)
        expected[name] = e
        md += [f"## {name}", "", blurb, "", f"Client: {e['client']}.", ""]
        if "server" in e:
            md += [f"Server: {e['server']}.", ""]
        if "session_timeout_ms" in e:
            md += [f"Requested session timeout: {e['session_timeout_ms']} ms.", ""]
        md += ["Operations, in order:", ""]
        md += [f"{i}. {op}" for i, op in enumerate(e["operations"], 1)]
        md += ["", "Expected on the wire:", ""]
        if "requests_by_opcode" in e:
            md.append("- requests (exact): " + _fmt_counts(e["requests_by_opcode"], OPNAMES))
        if "min_requests_by_opcode" in e:
            md.append("- requests (at least): " + _fmt_counts(e["min_requests_by_opcode"], OPNAMES))
        if "errors" in e:
            md.append("- error replies (exact): " + _fmt_counts(e["errors"], ERRNAMES))
        if "min_errors" in e:
            md.append("- error replies (at least): " + _fmt_counts(e["min_errors"], ERRNAMES))
        if "connect_requests" in e:
            auth = e.get("requests_by_opcode", {}).get("100", 0)
            md.append(f"- ConnectRequests: {e['connect_requests']} (body lengths "
                      f"{e['connect_request_lengths']}; ConnectResponse lengths "
                      f"{e['connect_response_lengths']})")
            notif = e.get("notifications", e.get("min_notifications"))
            qual = "" if "notifications" in e else "at least "
            md.append(f"- special xids: -1 x {qual}{notif} (notifications), -2 x at least "
                      f"{e['min_pings']} (pings), -4 x {auth} (auth)")
        for m in e.get("multi", []):
            md.append(f"- multi: ops {m['ops']} -> results {m['results']}")
        if "fourlw" in e:
            md.append("- four-letter words: " + " ".join(e["fourlw"]))
        for k in ("relay_note", "note", "connect_response_note"):
            if k in e:
                md.append(f"- note: {e[k]}")
        md.append("")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f, indent=2)
        f.write("\n")
    with open(os.path.join(out, "MANIFEST.md"), "w") as f:
        f.write("\n".join(md))
    log(f"wrote expected.json and MANIFEST.md for {len(expected)} capture(s) into {out}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scenario", choices=["kazoo", "zkcli", "climt", "noreadonly", "fourlw", "hold", "merge"])
    ap.add_argument("--from", dest="src", help="merge: directory of scenario JSON files")
    ap.add_argument("--out", help="merge: fixture directory")
    ap.add_argument("--server", default="127.0.0.1:21810")
    ap.add_argument("--expect", help="write the expectations JSON here")
    ap.add_argument("--zk-dir", help="(unused; accepted for compatibility)")
    ap.add_argument("--server-desc", help="which server the workload runs against, "
                    "recorded as the expectations' \"server\"")
    ap.add_argument("--port-file")
    ap.add_argument("--stop-file")
    a = ap.parse_args()
    if a.scenario == "merge":
        merge(a.src, a.out)
        return 0
    parse_server(a.server)
    if a.scenario == "hold":
        scenario_hold(a.server, a.port_file, a.stop_file)
        return 0
    clients = {
        "kazoo": "kazoo (Python) " + _kazoo_version(),
        "zkcli": "Apache ZooKeeper 3.8 Java CLI (zkCli.sh / ZooKeeperMain, no jline)",
        "climt": "Apache ZooKeeper 3.8 C client cli_mt (zookeeper-bin)",
        "noreadonly": "raw Python socket client (hand-built frames)",
        "fourlw": "raw Python socket client (four-letter words)",
    }
    rec = Recorder(clients[a.scenario])
    if a.server_desc:
        rec.extra["server"] = a.server_desc
    if a.scenario == "kazoo":
        scenario_kazoo(a.server, rec)
    elif a.scenario == "zkcli":
        scenario_zkcli(a.server, rec)
    elif a.scenario == "climt":
        scenario_climt(a.server, rec)
    elif a.scenario == "noreadonly":
        scenario_noreadonly(a.server, rec)
    elif a.scenario == "fourlw":
        scenario_fourlw(a.server, rec)
    result = rec.result()
    if a.expect:
        with open(a.expect, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")
    else:
        print(json.dumps(result, indent=2))
    log(f"{a.scenario}: {len(rec.ops)} steps done")
    return 0


def _kazoo_version():
    try:
        from importlib.metadata import version
        return version("kazoo")
    except Exception:
        return "?"


if __name__ == "__main__":
    sys.exit(main())
