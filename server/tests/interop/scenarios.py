#!/usr/bin/env python3
"""Differential ZooKeeper scenarios: drive a server through kazoo (and, for
what kazoo 2.11 cannot send, through rawzk) and record what it answers.

    scenarios.py --hosts 127.0.0.41:26181 [--only NAME[,NAME]] [--json out.json]
    scenarios.py --list

The output maps each scenario name to its list of observations
[label, value].  Values are normalised so that two correct servers give
identical JSON:
  * zxids become ranks within the scenario ("z1" < "z2" < ...; 0 stays "z0"),
    so equalities and orderings survive while absolute numbers do not;
  * times become facts: ctime "now" (within a few seconds of the harness
    clock) or 0, mtime "=ctime" for a never-written node, else ">=ctime";
  * session ids become the label of the harness session owning them;
  * the scenario's unique root path becomes "$ROOT";
  * children and ephemeral lists are sorted (ZooKeeper gives no order).
ZooKeeper errors are recorded as {"error": NAME, "code": N}.  A scenario
that breaks off on a connection problem records "aborted"; only bugs in the
harness itself (or no server at all) make the exit status nonzero.
"""
import argparse
import json
import os
import re
import sys
import threading
import time
import traceback
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rawzk  # noqa: E402

from kazoo.client import KazooClient  # noqa: E402
from kazoo.exceptions import KazooException, ZookeeperError  # noqa: E402
from kazoo.handlers.threading import KazooTimeoutError  # noqa: E402
from kazoo.protocol.states import WatchedEvent, ZnodeStat  # noqa: E402
from kazoo.security import ACL, Id, make_digest_acl  # noqa: E402

OP_TIMEOUT = 10.0  # seconds, every client call
SETTLE = 0.4  # seconds to wait for events that should (not) follow
TIME_SLACK_MS = 5000

SCENARIOS = {}


def scenario(fn):
    SCENARIOS[fn.__name__] = fn
    return fn


# ------------------------------------------------------------------ markers
class Zxid:
    """A raw zxid, replaced by its rank when the scenario ends."""

    def __init__(self, v):
        self.v = v


class Session:
    def __init__(self, v):
        self.v = v


class Failure:
    """A ZooKeeper error code as an observation value."""

    def __init__(self, code):
        self.code = code


def failure_json(code):
    return {"error": rawzk.error_name(code), "code": code}


class Aborted(Exception):
    """The scenario cannot go on (connection lost, timeout)."""


# ------------------------------------------------------------------ context
class Ctx:
    def __init__(self, hosts, name, runid):
        self.hosts = hosts
        host, _, port = hosts.split(",")[0].rpartition(":")
        self.host, self.port = host, int(port)
        self.name = name
        self.root = f"/interop-{runid}-{name}"
        self.obs = []
        self.sessions = {}  # session id -> label
        self.clients = []
        self.raws = []
        self._events = []
        self._ev_cond = threading.Condition()
        self.t0_ms = int(time.time() * 1000)

    def p(self, rel=""):
        return self.root + (("/" + rel) if rel else "")

    # -- clients
    def kazoo(self, label, auth=None, timeout=OP_TIMEOUT):
        c = KazooClient(hosts=self.hosts, timeout=timeout, auth_data=auth,
                        connection_retry={"max_tries": 3, "delay": 0.2, "max_delay": 1})
        try:
            c.start(timeout=OP_TIMEOUT)
        except KazooTimeoutError as e:
            c.close()
            raise Aborted(f"kazoo {label} could not connect") from e
        self.clients.append(c)
        self.sessions[c.client_id[0]] = label
        return c

    def raw(self, label, timeout_ms=10000):
        try:
            r = rawzk.RawClient(self.host, self.port, timeout_ms=timeout_ms, op_timeout=OP_TIMEOUT)
        except (OSError, rawzk.RawError) as e:
            raise Aborted(f"raw {label} could not connect: {e}") from e
        self.raws.append(r)
        self.sessions[r.session_id] = label
        return r

    # -- recording
    def rec(self, label, value):
        self.obs.append([label, value])
        return value

    def do(self, label, fn, *args, **kw):
        """Call a kazoo operation, record its value or its ZooKeeper error.
        Returns the value, or None on error."""
        try:
            v = fn(*args, **kw)
        except ZookeeperError as e:
            self.rec(label, Failure(getattr(e, "code", -999)))
            return None
        except KazooTimeoutError as e:
            raise Aborted(f"{label}: timeout") from e
        self.rec(label, v)
        return v

    def rdo(self, label, fn, *args, **kw):
        """Call a rawzk helper returning (err, value)."""
        try:
            err, v = fn(*args, **kw)
        except rawzk.RawError as e:
            raise Aborted(f"{label}: {e}") from e
        self.rec(label, Failure(err) if err else v)
        return None if err else v

    # -- kazoo watches: one shared, ordered event log
    def watcher(self, name):
        def cb(ev):
            with self._ev_cond:
                self._events.append([name, ev.type, ev.state, self.mask(ev.path)])
                self._ev_cond.notify_all()

        return cb

    def events(self, label, expect, settle=SETTLE, timeout=OP_TIMEOUT, unordered=False):
        """Wait for `expect` events (bounded), then `settle` more seconds for
        unexpected extras; record and clear them all.  unordered: sort them,
        for events whose relative order ZooKeeper leaves open."""
        deadline = time.monotonic() + timeout
        with self._ev_cond:
            while len(self._events) < expect:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._ev_cond.wait(left)
        time.sleep(settle)
        with self._ev_cond:
            got, self._events = self._events, []
        return self.rec(label, sorted(got) if unordered else got)

    def raw_events(self, label, r, settle=SETTLE):
        return self.rec(label, [list(e) for e in r.drain_events(settle)])

    # -- normalisation
    def mask(self, s):
        if isinstance(s, str):
            return s.replace(self.root, "$ROOT").replace(self.root[1:], "$ROOTNAME")
        return s

    def finish(self):
        zx = set()

        def collect(v):
            if isinstance(v, Zxid):
                zx.add(v.v)
            elif isinstance(v, dict):
                for x in v.values():
                    collect(x)
            elif isinstance(v, (list, tuple)):
                for x in v:
                    collect(x)

        pre = [[lab, self.enc(v)] for lab, v in self.obs]
        collect(pre)
        ranks = {0: "z0"}
        for i, z in enumerate(sorted(x for x in zx if x != 0)):
            ranks[z] = f"z{i + 1}"

        def fin(v):
            if isinstance(v, Zxid):
                return ranks[v.v]
            if isinstance(v, Session):
                if v.v == 0:
                    return 0
                return "session:" + self.sessions.get(v.v, "?")
            if isinstance(v, dict):
                return {k: fin(x) for k, x in v.items()}
            if isinstance(v, (list, tuple)):
                return [fin(x) for x in v]
            return v

        return fin(pre)

    def stat(self, s):
        if isinstance(s, ZnodeStat):
            s = {"czxid": s.czxid, "mzxid": s.mzxid, "ctime": s.ctime, "mtime": s.mtime,
                 "version": s.version, "cversion": s.cversion, "aversion": s.aversion,
                 "ephemeralOwner": s.ephemeralOwner, "dataLength": s.dataLength,
                 "numChildren": s.numChildren, "pzxid": s.pzxid}
        now = int(time.time() * 1000)

        def when(t):
            if t == 0:
                return 0
            return "now" if self.t0_ms - TIME_SLACK_MS <= t <= now + TIME_SLACK_MS else "odd"

        if s["version"] == 0:
            mt = "=ctime" if s["mtime"] == s["ctime"] else "!=ctime"
        else:
            mt = ">=ctime" if s["mtime"] >= s["ctime"] else "<ctime"
        owner = s["ephemeralOwner"]
        return {"stat": {
            "czxid": Zxid(s["czxid"]), "mzxid": Zxid(s["mzxid"]), "pzxid": Zxid(s["pzxid"]),
            "ctime": when(s["ctime"]), "mtime": mt, "version": s["version"],
            "cversion": s["cversion"], "aversion": s["aversion"],
            "ephemeralOwner": Session(owner) if owner else 0,
            "dataLength": s["dataLength"], "numChildren": s["numChildren"]}}

    def enc(self, v):
        if isinstance(v, (Zxid, Session)):
            return v
        if isinstance(v, Failure):
            return failure_json(v.code)
        if isinstance(v, ZnodeStat) or (isinstance(v, dict) and "czxid" in v and "pzxid" in v):
            return self.stat(v)
        if isinstance(v, ZookeeperError):  # per-op results of a failed multi
            return failure_json(getattr(v, "code", -999))
        if isinstance(v, WatchedEvent):
            return [v.type, v.state, self.mask(v.path)]
        if isinstance(v, ACL):
            return {"perms": v.perms, "scheme": v.id.scheme, "id": v.id.id}
        if isinstance(v, (bytes, bytearray)):
            if len(v) <= 64:
                try:
                    return {"data": v.decode()}
                except UnicodeDecodeError:
                    return {"hex": v.hex()}
            return {"len": len(v), "sum": sum(v) % 65521}
        if isinstance(v, str):
            return self.mask(v)
        if isinstance(v, dict):
            return {k: self.enc(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [self.enc(x) for x in v]
        return v

    # -- teardown
    def cleanup(self):
        admin = None
        try:
            admin = KazooClient(hosts=self.hosts, timeout=OP_TIMEOUT)
            admin.start(timeout=OP_TIMEOUT)
            remove_tree(admin, self.root)
        except (KazooException, KazooTimeoutError):
            pass
        finally:
            for r in self.raws:
                r.close()
            for c in self.clients + ([admin] if admin else []):
                try:
                    c.stop()
                    c.close()
                except KazooException:
                    pass


def remove_tree(zk, path, depth=0):
    """Depth-first delete that tolerates nodes it may not list (ACLs)."""
    if depth > 20:
        return
    try:
        kids = zk.get_children(path)
    except ZookeeperError:
        kids = []
    for k in kids:
        remove_tree(zk, f"{path}/{k}", depth + 1)
    try:
        zk.delete(path)
    except ZookeeperError:
        pass


def sorted_result(res):
    """(err, list) -> (err, sorted list), for replies ZooKeeper leaves unordered."""
    err, v = res
    return err, (sorted(v) if isinstance(v, list) else v)


def sorted_kids(zk, path, watch=None):
    kids = zk.get_children(path, watch=watch)
    return sorted(kids)


# ================================================================== scenarios
@scenario
def create_modes(c):
    zk = c.kazoo("A")
    c.do("create root", zk.create, c.root, b"r")
    c.do("create persistent", zk.create, c.p("per"), b"v", include_data=True)
    c.do("create ephemeral", zk.create, c.p("eph"), b"", ephemeral=True, include_data=True)
    c.do("create seq", zk.create, c.p("seq-"), b"s", sequence=True)
    c.do("create eph seq", zk.create, c.p("eseq-"), ephemeral=True, sequence=True, include_data=True)
    c.do("create existing", zk.create, c.p("per"))
    c.do("create no parent", zk.create, c.p("missing/x"))
    c.do("create under ephemeral", zk.create, c.p("eph/kid"))
    c.do("create makepath", zk.create, c.p("a/b/c"), b"deep", makepath=True)
    c.do("children", sorted_kids, zk, c.root)
    c.do("root stat", zk.exists, c.root)
    r = c.raw("R")
    c.rdo("raw create via opcode 1", r.create, c.p("plain"), b"p", opcode=rawzk.CREATE)
    c.rdo("raw create double slash", r.create, c.root + "//x")
    c.rdo("raw create trailing slash", r.create, c.p("trail/"))
    c.rdo("raw create relative", r.create, "relative")
    c.rdo("raw create dot", r.create, c.p("."))
    c.rdo("raw create /", r.create, "/")
    c.rdo("raw create flags 7", r.create, c.p("f7"), flags=7)
    c.rdo("raw create null data", r.create, c.p("nulldata"), None)
    c.rdo("get null data", r.get_data, c.p("nulldata"))
    c.rdo("raw delete /", r.delete, "/")
    c.rdo("raw delete /zookeeper", r.delete, "/zookeeper")


@scenario
def sequential_naming(c):
    zk = c.kazoo("A")
    zk.create(c.root)
    for i in range(3):
        c.do(f"seq {i}", zk.create, c.p("n-"), sequence=True)
    zk.create(c.p("plain"))
    zk.delete(c.p("plain"))
    c.do("cversion before", lambda: zk.exists(c.root).cversion)
    name = c.do("seq after create+delete", zk.create, c.p("n-"), sequence=True)
    if name:
        c.rec("suffix is 10 digits", bool(re.fullmatch(r".*n-\d{10}", name)))
    c.do("seq different prefix", zk.create, c.p("other-"), sequence=True)
    c.do("seq eph", zk.create, c.p("e-"), ephemeral=True, sequence=True)
    r = c.raw("R")
    c.rdo("seq with empty name (trailing slash)", r.create, c.root + "/",
          flags=rawzk.PERSISTENT_SEQUENTIAL)
    c.do("sub parent", zk.create, c.p("sub"))
    c.do("seq in fresh parent", zk.create, c.p("sub/x"), sequence=True)
    for i in range(3):
        zk.set(c.p("sub"), b"d%d" % i)
    c.do("seq not affected by parent data version", zk.create, c.p("sub/x"), sequence=True)
    c.do("children", sorted_kids, zk, c.root)
    c.do("root stat", zk.exists, c.root)


@scenario
def container_and_ttl(c):
    r = c.raw("R")
    c.rdo("create root", r.create, c.root)
    c.rdo("container", r.create, c.p("cont"), b"c", flags=rawzk.CONTAINER,
          opcode=rawzk.CREATE_CONTAINER)
    c.rdo("container via create2", r.create, c.p("cont2"), flags=rawzk.CONTAINER)
    c.rdo("container opcode, persistent flag", r.create, c.p("cont3"),
          opcode=rawzk.CREATE_CONTAINER)
    c.rdo("child of container", r.create, c.p("cont/kid"))
    c.rdo("container stat", r.exists, c.p("cont"))
    c.rdo("ttl", r.create, c.p("ttl"), b"t", flags=rawzk.PERSISTENT_WITH_TTL, ttl=60000)
    c.rdo("ttl seq", r.create, c.p("ttls-"), flags=rawzk.PERSISTENT_SEQUENTIAL_WITH_TTL,
          ttl=60000)
    c.rdo("ttl 0", r.create, c.p("ttl0"), flags=rawzk.PERSISTENT_WITH_TTL, ttl=0)
    c.rdo("ttl negative", r.create, c.p("ttlneg"), flags=rawzk.PERSISTENT_WITH_TTL, ttl=-5)
    c.rdo("ttl too big", r.create, c.p("ttlbig"), flags=rawzk.PERSISTENT_WITH_TTL, ttl=1 << 41)
    c.rdo("ttl opcode, persistent flag", r.create, c.p("ttlp"), flags=rawzk.PERSISTENT,
          ttl=60000, opcode=rawzk.CREATE_TTL)
    c.rdo("ttl opcode, ephemeral flag", r.create, c.p("ttle"), flags=rawzk.EPHEMERAL,
          ttl=60000, opcode=rawzk.CREATE_TTL)
    c.rdo("ttl flag via create2", r.create, c.p("ttl2"), flags=rawzk.PERSISTENT_WITH_TTL,
          opcode=rawzk.CREATE2)
    c.rdo("ttl stat", r.exists, c.p("ttl"))
    c.rdo("ephemerals", r.get_ephemerals, c.root)
    c.rdo("children", lambda: sorted_result(r.get_children(c.root)))


@scenario
def container_ttl_reap(c):
    """Needs a server that checks containers often (Apache:
    -Dznode.container.checkIntervalMs=1000, which diff.py sets)."""
    r = c.raw("R")
    zk = c.kazoo("A")
    c.rdo("create root", r.create, c.root)
    c.rdo("container", r.create, c.p("used"), flags=rawzk.CONTAINER, opcode=rawzk.CREATE_CONTAINER)
    c.rdo("never used container", r.create, c.p("unused"), flags=rawzk.CONTAINER,
          opcode=rawzk.CREATE_CONTAINER)
    c.rdo("kid", r.create, c.p("used/kid"))
    c.rdo("ttl short", r.create, c.p("ttl"), flags=rawzk.PERSISTENT_WITH_TTL, ttl=500)
    c.rdo("ttl long", r.create, c.p("ttllong"), flags=rawzk.PERSISTENT_WITH_TTL, ttl=600000)
    c.rdo("ttl with kid", r.create, c.p("ttlkid"), flags=rawzk.PERSISTENT_WITH_TTL, ttl=500)
    c.rdo("ttl kid", r.create, c.p("ttlkid/k"))
    c.do("watch container", zk.exists, c.p("used"), watch=c.watcher("used"))
    c.rdo("delete kid", r.delete, c.p("used/kid"))
    gone = rawzk.wait_until(lambda: zk.exists(c.p("used")) is None and zk.exists(c.p("ttl")) is None,
                            timeout=15, step=0.25)
    c.rec("used container and short ttl reaped within 15s", bool(gone))
    c.events("container deletion event", 1 if gone else 0)
    c.rec("still there", {n: zk.exists(c.p(n)) is not None
                          for n in ("unused", "ttllong", "ttlkid", "ttlkid/k")})


@scenario
def get_set_versions(c):
    zk = c.kazoo("A")
    zk.create(c.root)
    p = c.p("v")
    c.do("create", zk.create, p, b"one", include_data=True)
    c.do("get", zk.get, p)
    c.do("set v0", zk.set, p, b"two", version=0)
    c.do("set stale v0", zk.set, p, b"x", version=0)
    c.do("set v5", zk.set, p, b"x", version=5)
    c.do("set any", zk.set, p, b"three", version=-1)
    c.do("set same data", zk.set, p, b"three")
    c.do("set empty", zk.set, p, b"")
    c.do("get empty", zk.get, p)
    c.do("set version -2", zk.set, p, b"x", version=-2)
    c.do("set missing", zk.set, c.p("missing"), b"x")
    c.do("get missing", zk.get, c.p("missing"))
    c.do("exists missing", zk.exists, c.p("missing"))
    c.do("binary", zk.set, p, bytes(range(256)))
    c.do("get binary", zk.get, p)
    c.do("delete stale", zk.delete, p, version=1)
    c.do("delete right", zk.delete, p, version=5)
    c.do("get deleted", zk.get, p)


@scenario
def delete_errors(c):
    zk = c.kazoo("A")
    zk.create(c.root)
    zk.create(c.p("a/b"), makepath=True)
    c.do("delete not empty", zk.delete, c.p("a"))
    c.do("delete missing", zk.delete, c.p("nope"))
    c.do("delete missing with version", zk.delete, c.p("nope"), version=3)
    c.do("delete leaf", zk.delete, c.p("a/b"))
    c.do("delete leaf again", zk.delete, c.p("a/b"))
    c.do("parent stat", zk.exists, c.p("a"))
    c.do("delete parent", zk.delete, c.p("a"))
    c.do("root stat", zk.exists, c.root)


@scenario
def exists_watch_create(c):
    zk = c.kazoo("A")
    other = c.kazoo("B")
    zk.create(c.root)
    p = c.p("w")
    c.do("exists missing + watch", zk.exists, p, watch=c.watcher("exists"))
    c.do("B creates", other.create, p, b"x")
    c.events("after create", 1)
    c.do("B sets", other.set, p, b"y")
    c.events("after set (watch was one-shot)", 0)
    c.do("exists present + watch", zk.exists, p, watch=c.watcher("exists2"))
    c.do("B sets again", other.set, p, b"z")
    c.events("after second set", 1)
    c.do("exists + watch before delete", zk.exists, p, watch=c.watcher("exists3"))
    c.do("B deletes", other.delete, p)
    c.events("after delete", 1)


@scenario
def data_child_watches(c):
    zk = c.kazoo("A")
    other = c.kazoo("B")
    zk.create(c.root)
    p = c.p("n")
    other.create(p, b"0")
    c.do("get + data watch", zk.get, p, watch=c.watcher("data"))
    c.do("children + child watch", lambda: sorted_kids(zk, p, c.watcher("child")))
    c.do("B set", other.set, p, b"1")
    c.do("B set again", other.set, p, b"2")
    c.events("data watch fires once", 1)
    c.do("B create kid", other.create, c.p("n/k1"))
    c.do("B create kid 2", other.create, c.p("n/k2"))
    c.events("child watch fires once", 1)
    c.do("B set kid", other.set, c.p("n/k1"), b"x")
    c.events("kid change fires nothing", 0)
    c.do("get + data watch", zk.get, p, watch=c.watcher("data2"))
    c.do("children + child watch", lambda: sorted_kids(zk, p, c.watcher("child2")))
    c.do("B delete kids", lambda: [other.delete(c.p("n/k1")), other.delete(c.p("n/k2"))])
    c.events("child watch on kid delete", 1)
    c.do("children + child watch", lambda: sorted_kids(zk, p, c.watcher("child3")))
    c.do("B delete node", other.delete, p)
    c.events("node delete fires data and child watches", 2)
    # same-session trigger: the watcher session writes itself
    zk.create(p, b"a")
    c.do("get + watch", zk.get, p, watch=c.watcher("self"))
    c.do("A sets own node", zk.set, p, b"b")
    c.events("own write fires too", 1)


@scenario
def watch_event_ordering(c):
    """The notification must reach the watching session before the reply of
    its own write, and one notification per path even with two watches."""
    r = c.raw("R")
    c.rdo("create root", r.create, c.root)
    p = c.p("o")
    c.rdo("create", r.create, p, b"a")
    c.rdo("exists + watch", r.exists, p, True)
    c.rdo("get + watch", r.get_data, p, True)
    c.rdo("children + watch", r.get_children, p, True)
    start = len(r.frames)
    c.rdo("set", r.set_data, p, b"b")
    time.sleep(SETTLE)
    c.rec("frames after set", [[f[0], f[1]] if f[0] == "event" else [f[0]]
                               for f in r.frames[start:]])
    c.raw_events("events", r, settle=0.1)
    start = len(r.frames)
    c.rdo("get + watch", r.get_data, p, True)
    c.rdo("children + watch", r.get_children, p, True)
    c.rdo("delete", r.delete, p)
    time.sleep(SETTLE)
    c.rec("frames after delete", [[f[0], f[1]] if f[0] == "event" else [f[0]]
                                  for f in r.frames[start:]])
    c.raw_events("events", r, settle=0.1)


@scenario
def persistent_watch(c):
    r = c.raw("R")
    w = c.raw("W")  # writer: events must come from another session too
    c.rdo("create root", w.create, c.root)
    p = c.p("pw")
    c.rdo("addWatch persistent on missing node", r.add_watch, p, rawzk.ADD_WATCH_PERSISTENT)
    steps = [
        ("create", lambda: w.create(p, b"0")),
        ("set", lambda: w.set_data(p, b"1")),
        ("set again", lambda: w.set_data(p, b"2")),
        ("create kid", lambda: w.create(p + "/k")),
        ("set kid", lambda: w.set_data(p + "/k", b"x")),
        ("create grandkid", lambda: w.create(p + "/k/g")),
        ("delete grandkid", lambda: w.delete(p + "/k/g")),
        ("delete kid", lambda: w.delete(p + "/k")),
        ("delete", lambda: w.delete(p)),
        ("recreate", lambda: w.create(p, b"again")),
    ]
    for label, fn in steps:
        c.rdo(label, fn)
        c.raw_events(f"events after {label}", r)
    c.rdo("get + one-shot watch too", r.get_data, p, True)
    c.rdo("set with both watches", w.set_data, p, b"3")
    c.raw_events("events after set with both", r)
    c.rdo("checkWatches persistent (4)", r.check_watches, p, rawzk.WATCHER_PERSISTENT)
    c.rdo("checkWatches any", r.check_watches, p, rawzk.WATCHER_ANY)
    c.rdo("removeWatches any", r.remove_watches, p, rawzk.WATCHER_ANY)
    c.raw_events("events after remove", r)
    c.rdo("set after remove", w.set_data, p, b"4")
    c.raw_events("events after set after remove", r)
    c.rdo("addWatch bad mode", r.add_watch, p, 7)


@scenario
def persistent_recursive_watch(c):
    r = c.raw("R")
    w = c.raw("W")
    c.rdo("create root", w.create, c.root)
    p = c.p("rw")
    c.rdo("addWatch recursive", r.add_watch, p, rawzk.ADD_WATCH_PERSISTENT_RECURSIVE)
    steps = [
        ("create", lambda: w.create(p)),
        ("create kid", lambda: w.create(p + "/a")),
        ("create grandkid", lambda: w.create(p + "/a/b")),
        ("set grandkid", lambda: w.set_data(p + "/a/b", b"x")),
        ("create sibling outside", lambda: w.create(p + "x")),
        ("set sibling outside", lambda: w.set_data(p + "x", b"y")),
        ("delete grandkid", lambda: w.delete(p + "/a/b")),
        ("create eph kid", lambda: w.create(p + "/e", flags=rawzk.EPHEMERAL)),
    ]
    for label, fn in steps:
        c.rdo(label, fn)
        c.raw_events(f"events after {label}", r)
    c.rdo("children + one-shot child watch", r.get_children, p, True)
    c.rdo("create kid with both watches", w.create, p + "/c")
    c.raw_events("events after create with both", r)
    w.close()
    c.raw_events("events after writer session closed (ephemeral gone)", r, settle=1.0)
    c.rdo("addWatch recursive on /", r.add_watch, "/", rawzk.ADD_WATCH_PERSISTENT_RECURSIVE)
    c.rdo("removeWatches on / any", r.remove_watches, "/", rawzk.WATCHER_ANY)
    c.rdo("removeWatches any", r.remove_watches, p, rawzk.WATCHER_ANY)
    c.rdo("removeWatches again", r.remove_watches, p, rawzk.WATCHER_ANY)


@scenario
def remove_check_watches(c):
    r = c.raw("R")
    w = c.raw("W")
    c.rdo("create root", w.create, c.root)
    p = c.p("rc")
    c.rdo("create", w.create, p)
    for t, n in ((rawzk.WATCHER_CHILDREN, "children"), (rawzk.WATCHER_DATA, "data"),
                 (rawzk.WATCHER_ANY, "any")):
        c.rdo(f"check {n} with no watch", r.check_watches, p, t)
    c.rdo("exists + watch", r.exists, p, True)
    c.rdo("check data", r.check_watches, p, rawzk.WATCHER_DATA)
    c.rdo("check children", r.check_watches, p, rawzk.WATCHER_CHILDREN)
    c.rdo("check any", r.check_watches, p, rawzk.WATCHER_ANY)
    c.rdo("children + watch", r.get_children, p, True)
    c.rdo("check children", r.check_watches, p, rawzk.WATCHER_CHILDREN)
    c.rdo("remove children", r.remove_watches, p, rawzk.WATCHER_CHILDREN)
    c.rdo("check children after remove", r.check_watches, p, rawzk.WATCHER_CHILDREN)
    c.rdo("check data still", r.check_watches, p, rawzk.WATCHER_DATA)
    c.rdo("create kid", w.create, p + "/k")
    c.raw_events("events after create kid (child watch removed)", r)
    c.rdo("remove any", r.remove_watches, p, rawzk.WATCHER_ANY)
    c.rdo("check any after remove", r.check_watches, p, rawzk.WATCHER_ANY)
    c.rdo("set", w.set_data, p, b"x")
    c.raw_events("events after set (data watch removed)", r)
    c.rdo("exists missing + watch", r.exists, p + "/missing", True)
    c.rdo("check data on missing node with exists watch", r.check_watches, p + "/missing",
          rawzk.WATCHER_DATA)
    c.rdo("remove data on missing node", r.remove_watches, p + "/missing", rawzk.WATCHER_DATA)
    c.rdo("remove on path never watched", r.remove_watches, c.p("never"), rawzk.WATCHER_ANY)
    c.rdo("check bad type 9", r.check_watches, p, 9)
    c.rdo("other session cannot see R's watch", w.check_watches, p, rawzk.WATCHER_ANY)
    c.raw_events("events at end", r)


@scenario
def multi_transactions(c):
    zk = c.kazoo("A")
    zk.create(c.root)
    m = c.p("m")
    c.do("get + watch on root", zk.get_children, c.root, watch=c.watcher("rootkids"))

    t = zk.transaction()
    t.create(m, b"a")
    t.create(m + "/kid")
    t.set_data(m, b"b")
    t.check(m, 1)
    t.delete(m + "/kid")
    t.create(m + "/s-", sequence=True)
    t.create(m + "/e", ephemeral=True)
    c.do("multi success", t.commit)
    c.events("one child event for the multi", 1)
    c.do("stat after success", zk.exists, m)

    c.do("get + data watch", zk.get, m, watch=c.watcher("m"))
    t = zk.transaction()
    t.create(c.p("m2"))
    t.check(m, 99)
    t.set_data(m, b"z")
    c.do("multi bad version in middle", t.commit)
    c.do("m2 not created", zk.exists, c.p("m2"))
    c.do("m unchanged", zk.get, m)
    c.events("no events from failed multi", 0)

    t = zk.transaction()
    t.delete(c.p("nope"))
    t.create(c.p("m3"))
    c.do("multi first op fails", t.commit)

    t = zk.transaction()
    t.create(c.p("m4"))
    t.create(c.p("m4"))
    c.do("multi duplicate create", t.commit)

    t = zk.transaction()
    t.create(c.p("m5"))
    t.delete(c.p("m5"))
    t.create(c.p("m5"), b"second")
    c.do("multi create-delete-create", t.commit)
    c.do("m5", zk.get, c.p("m5"))

    t = zk.transaction()
    c.do("empty multi", t.commit)

    t = zk.transaction()
    t.set_data(m, b"w")
    t.delete(m)
    c.do("multi delete non-empty", t.commit)
    c.events("events at end", 0)


@scenario
def acl_digest(c):
    owner = c.kazoo("owner", auth=[("digest", "alice:secret")])
    anon = c.kazoo("anon")
    owner.create(c.root)
    p = c.p("secret")
    acl = [make_digest_acl("alice", "secret", all=True)]
    c.do("create with digest acl", owner.create, p, b"hidden", acl=acl)
    c.do("owner get", owner.get, p)
    c.do("owner get_acls", owner.get_acls, p)
    c.do("anon get", anon.get, p)
    c.do("anon exists (no ACL check)", anon.exists, p)
    c.do("anon get_acls (no ACL check)", anon.get_acls, p)
    c.do("anon set", anon.set, p, b"x")
    c.do("anon children", anon.get_children, p)
    c.do("anon wrong password", anon.add_auth, "digest", "alice:wrong")
    c.do("anon get after wrong auth", anon.get, p)
    c.do("anon right password", anon.add_auth, "digest", "alice:secret")
    c.do("anon get after right auth", anon.get, p)
    c.do("set_acls world read", owner.set_acls, p, [ACL(1, Id("world", "anyone"))], version=0)
    c.do("set_acls stale aversion", owner.set_acls, p, acl, version=0)
    c.do("get_acls after", owner.get_acls, p)
    c.do("owner set now refused", owner.set, p, b"x")
    c.do("stat", owner.exists, p)


@scenario
def acl_auth_scheme(c):
    owner = c.kazoo("owner", auth=[("digest", "bob:pw")])
    anon = c.kazoo("anon")
    owner.create(c.root)
    auth_acl = [ACL(31, Id("auth", ""))]
    c.do("create with auth scheme", owner.create, c.p("a"), b"x", acl=auth_acl)
    c.do("acls stored as digest", owner.get_acls, c.p("a"))
    c.do("anon create with auth scheme", anon.create, c.p("b"), acl=auth_acl)
    c.do("create with auth scheme and id", owner.create, c.p("c"),
         acl=[ACL(31, Id("auth", "someone"))])
    c.do("get_acls c", owner.get_acls, c.p("c"))
    c.do("owner adds second identity", owner.add_auth, "digest", "carol:pw2")
    c.do("create with auth scheme, two identities", owner.create, c.p("d"), acl=auth_acl)
    c.do("get_acls d", owner.get_acls, c.p("d"))
    c.do("anon get a", anon.get, c.p("a"))
    c.do("set_acls to auth", owner.set_acls, c.p("a"), auth_acl)


@scenario
def acl_world_readonly_and_invalid(c):
    zk = c.kazoo("A")
    zk.create(c.root)
    ro = [ACL(1, Id("world", "anyone"))]
    p = c.p("ro")
    c.do("create read-only", zk.create, p, b"r", acl=ro)
    c.do("get", zk.get, p)
    c.do("set", zk.set, p, b"x")
    c.do("create child", zk.create, p + "/k")
    c.do("get_acls", zk.get_acls, p)
    c.do("set_acls (no ADMIN)", zk.set_acls, p, [ACL(31, Id("world", "anyone"))])
    c.do("delete (parent ACL decides)", zk.delete, p)
    c.do("create perms CREATE only", zk.create, c.p("co"), acl=[ACL(4, Id("world", "anyone"))])
    c.do("create child of create-only", zk.create, c.p("co/k"))
    c.do("list create-only", zk.get_children, c.p("co"))
    c.do("delete child of create-only (no DELETE)", zk.delete, c.p("co/k"))
    c.do("create perms 0", zk.create, c.p("zero"), acl=[ACL(0, Id("world", "anyone"))])
    c.do("exists perms 0", zk.exists, c.p("zero"))
    c.do("get perms 0", zk.get, c.p("zero"))
    c.do("empty ACL", zk.create, c.p("e"), acl=[])
    c.do("unknown scheme", zk.create, c.p("u"), acl=[ACL(31, Id("bogus", "x"))])
    c.do("world with other id", zk.create, c.p("w"), acl=[ACL(31, Id("world", "someone"))])
    c.do("ip scheme bad address", zk.create, c.p("i"), acl=[ACL(31, Id("ip", "not-an-ip"))])
    c.do("ip scheme good", zk.create, c.p("ip"), acl=[ACL(31, Id("ip", "127.0.0.1"))])
    c.do("ip scheme cidr", zk.create, c.p("ip2"), acl=[ACL(31, Id("ip", "10.0.0.0/8"))])
    c.do("get ip2 (not in range)", zk.get, c.p("ip2"))
    c.do("digest malformed id", zk.create, c.p("d"), acl=[ACL(31, Id("digest", "nocolon"))])
    c.do("auth scheme without auth", zk.create, c.p("a"), acl=[ACL(31, Id("auth", ""))])
    c.do("perms out of range", zk.create, c.p("big"), acl=[ACL(0x7f, Id("world", "anyone"))])
    c.do("get_acls big", zk.get_acls, c.p("big"))
    c.do("get_acls missing", zk.get_acls, c.p("missing"))
    c.do("set_acls missing", zk.set_acls, c.p("missing"), ro)
    c.do("children", sorted_kids, zk, c.root)


@scenario
def auth_failed(c):
    r = c.raw("R")
    c.rdo("auth unknown scheme", r.add_auth, "bogus", b"x")
    time.sleep(SETTLE)
    c.rec("frames", [[f[0], f[1]] if f[0] == "event" else [f[0], f[1], f[2]] for f in r.frames])
    c.raw_events("events", r, settle=0.1)
    try:
        err, _ = r.exists("/")
        c.rec("next request", failure_json(err) if err else "ok")
    except rawzk.RawError:
        c.rec("next request", "connection closed")
    r2 = c.raw("R2")
    c.rdo("digest without colon", r2.add_auth, "digest", b"nocolon")
    try:
        err, _ = r2.exists("/")
        c.rec("after bad digest", failure_json(err) if err else "ok")
    except rawzk.RawError:
        c.rec("after bad digest", "connection closed")


@scenario
def ephemerals_and_counts(c):
    r = c.raw("R")
    other = c.kazoo("B")
    c.rdo("create root", r.create, c.root)
    c.rdo("e1", r.create, c.p("e1"), flags=rawzk.EPHEMERAL)
    c.rdo("sub", r.create, c.p("sub"))
    c.rdo("sub/e2", r.create, c.p("sub/e2"), flags=rawzk.EPHEMERAL)
    c.rdo("sub/p", r.create, c.p("sub/p"))
    c.do("B ephemeral", other.create, c.p("b1"), ephemeral=True)
    for label, prefix in (("root", c.root), ("sub", c.p("sub")), ("prefix e", c.p("e")),
                          ("missing", c.p("missing")), ("root+/", c.root + "/")):
        c.rdo(f"getEphemerals {label}", lambda p=prefix: sorted_result(r.get_ephemerals(p)))
    c.rdo("getAllChildrenNumber root", r.get_all_children_number, c.root)
    c.rdo("getAllChildrenNumber sub", r.get_all_children_number, c.p("sub"))
    c.rdo("getAllChildrenNumber leaf", r.get_all_children_number, c.p("e1"))
    c.rdo("getAllChildrenNumber missing", r.get_all_children_number, c.p("missing"))
    c.rdo("getAllChildrenNumber /zookeeper", r.get_all_children_number, "/zookeeper")


@scenario
def sync_and_whoami(c):
    zk = c.kazoo("A")
    zk.create(c.root)
    c.do("sync root", zk.sync, c.root)
    c.do("sync missing", zk.sync, c.p("missing"))
    c.do("sync /", zk.sync, "/")
    r = c.raw("R")
    c.rdo("raw sync", r.sync, c.root)
    # ZooKeeper does not define the order of the identities
    c.rdo("whoAmI anonymous", lambda: sorted_result(r.who_am_i()))
    c.rdo("add digest", r.add_auth, "digest", b"dave:pw")
    c.rdo("whoAmI after digest", lambda: sorted_result(r.who_am_i()))
    c.rdo("add same digest again", r.add_auth, "digest", b"dave:pw")
    c.rdo("add second digest", r.add_auth, "digest", b"erin:pw")
    c.rdo("whoAmI after two", lambda: sorted_result(r.who_am_i()))


@scenario
def session_close_ephemerals(c):
    obs = c.kazoo("observer")
    owner = c.kazoo("owner")
    obs.create(c.root)
    c.do("owner ephemeral", owner.create, c.p("e"), b"x", ephemeral=True)
    c.do("owner ephemeral seq", owner.create, c.p("es-"), ephemeral=True, sequence=True)
    c.do("owner persistent", owner.create, c.p("p"))
    c.do("observer sees owner", obs.exists, c.p("e"), watch=c.watcher("e"))
    c.do("observer children", lambda: sorted_kids(obs, c.root, c.watcher("root")))
    c.do("root stat before", obs.exists, c.root)
    owner.stop()
    # the session's ephemerals go in no defined order
    c.events("events after owner closes", 2, unordered=True)
    c.do("children after", sorted_kids, obs, c.root)
    c.do("root stat after", obs.exists, c.root)
    other = c.kazoo("other")
    c.do("other ephemeral", other.create, c.p("o"), ephemeral=True)
    c.do("observer deletes other's ephemeral", obs.delete, c.p("o"))
    c.do("other recreates", other.create, c.p("o"), ephemeral=True)
    c.do("other stat", other.exists, c.p("o"))


@scenario
def session_timeout_expiry(c):
    """A session that goes silent (no close) must expire after its timeout
    and take its ephemerals along; the observer's watch sees it."""
    obs = c.kazoo("observer")
    obs.create(c.root)
    r = c.raw("silent", timeout_ms=4000)
    c.rec("negotiated timeout", r.negotiated_timeout)
    c.rdo("ephemeral", r.create, c.p("e"), flags=rawzk.EPHEMERAL)
    c.do("observer sees it + watch", obs.exists, c.p("e"), watch=c.watcher("e"))
    r.closed.set()  # stops the pinger
    r.sock.close()
    time.sleep(0.5)
    c.do("still there right after disconnect", lambda: obs.exists(c.p("e")) is not None)
    t0 = time.monotonic()
    gone = rawzk.wait_until(lambda: obs.exists(c.p("e")) is None, timeout=20, step=0.2)
    took = time.monotonic() - t0
    c.rec("gone within 20s", bool(gone))
    c.rec("took at least 2s", took >= 2.0)
    c.events("observer event", 1)


@scenario
def session_negotiation(c):
    for ms in (1000, 4000, 10000, 30000, 100000):
        try:
            r = rawzk.RawClient(c.host, c.port, timeout_ms=ms, op_timeout=OP_TIMEOUT)
        except (OSError, rawzk.RawError) as e:
            c.rec(f"timeout {ms}", f"failed: {type(e).__name__}")
            continue
        c.rec(f"timeout {ms}", r.negotiated_timeout)
        c.rec(f"password length {ms}", len(r.passwd or b""))
        r.close()


@scenario
def large_values(c):
    zk = c.kazoo("A")
    zk.create(c.root)
    big = c.p("big")
    c.do("create 1MiB-1KiB", zk.create, big, b"a" * (1024 * 1023))
    c.do("get it", zk.get, big)
    c.do("set 1000000", zk.set, big, b"b" * 1000000)
    r = c.raw("R")

    def accepted(n):
        """True if setData of n bytes is accepted; reconnects after a drop."""
        nonlocal r
        try:
            err, _ = r.set_data(big, b"c" * n)
            return ("err", err) if err else True
        except rawzk.RawError:
            r = c.raw("R")
            return "connection closed"

    over = accepted(2 * 1024 * 1024)
    c.rec("set 2MiB", "accepted" if over is True else over)
    # binary search for the largest accepted payload, reported as frame size
    # (request header + path + data + version) so the path length drops out
    lo, hi = 1024 * 1023, 1024 * 1025
    for _ in range(24):
        if hi - lo <= 1:
            break
        mid = (lo + hi) // 2
        if accepted(mid) is True:
            lo = mid
        else:
            hi = mid
    frame = 8 + 4 + len(big.encode()) + 4 + lo + 4
    c.rec("largest accepted setData frame", frame)
    c.rec("create over limit", over_limit(r, big, b"d" * (2 << 20)))
    r = c.raw("R2")
    err, got = r.get_data(big)
    c.rec("value is the largest accepted", failure_json(err) if err else got[1]["dataLength"] == lo)


def over_limit(r, path, data):
    """What an oversized create does: an error code or a closed connection."""
    try:
        err, _ = r.create(path + "-over", data)
    except rawzk.RawError:
        return "connection closed"
    return failure_json(err) if err else "accepted"


@scenario
def stat_relationships(c):
    zk = c.kazoo("A")
    r = c.raw("R")
    c.do("create parent", zk.create, c.root, b"p", include_data=True)
    c.do("create a (ephemeral)", zk.create, c.p("a"), ephemeral=True, include_data=True)
    c.do("parent after a", zk.exists, c.root)
    c.do("create b", zk.create, c.p("b"), b"bb", include_data=True)
    c.do("parent after b", zk.exists, c.root)
    c.do("set a", zk.set, c.p("a"), b"new")
    c.do("parent after set a (pzxid unchanged)", zk.exists, c.root)
    rep = r.call(rawzk.DELETE, rawzk.Writer().string(c.p("b")).int(-1).bytes())
    c.rec("raw delete b", {"err": rep.err, "zxid": Zxid(rep.zxid)})
    c.do("parent after delete b", zk.exists, c.root)
    rep = r.call(rawzk.SET_DATA, rawzk.Writer().string(c.root).buffer(b"q").int(-1).bytes())
    c.rec("raw set parent", {"err": rep.err, "zxid": Zxid(rep.zxid)})
    c.do("parent after set", zk.exists, c.root)
    c.do("children with stat", lambda: (lambda kids, st: (sorted(kids), st))(
        *zk.get_children(c.root, include_data=True)))
    c.do("set_acls parent", zk.set_acls, c.root, [ACL(31, Id("world", "anyone"))])
    c.do("parent after set_acls", zk.exists, c.root)
    c.rdo("raw creates ephemeral c", r.create, c.p("c"), flags=rawzk.EPHEMERAL)
    c.do("c stat (owner R)", zk.exists, c.p("c"))
    c.rec("ephemeralOwner == own session id",
          zk.exists(c.p("a")).ephemeralOwner == zk.client_id[0])


@scenario
def async_ordering(c):
    zk = c.kazoo("A")
    zk.create(c.root)
    a, b = c.p("a"), c.p("b")
    ops = [
        ("create a", lambda: zk.create_async(a, b"1")),
        ("set a", lambda: zk.set_async(a, b"2")),
        ("get a", lambda: zk.get_async(a)),
        ("create a again", lambda: zk.create_async(a)),
        ("exists b", lambda: zk.exists_async(b)),
        ("create b", lambda: zk.create_async(b, ephemeral=True)),
        ("children", lambda: zk.get_children_async(c.root)),
        ("delete a bad version", lambda: zk.delete_async(a, version=5)),
        ("sync", lambda: zk.sync_async(c.root)),
        ("delete a", lambda: zk.delete_async(a)),
        ("get a gone", lambda: zk.get_async(a)),
        ("set b", lambda: zk.set_async(b, b"x", version=0)),
        ("delete b", lambda: zk.delete_async(b)),
        ("exists b gone", lambda: zk.exists_async(b)),
    ]
    handles = [(label, fn()) for label, fn in ops]
    for label, h in handles:
        try:
            v = h.get(timeout=OP_TIMEOUT)
            c.rec(label, sorted(v) if isinstance(v, list) else v)
        except ZookeeperError as e:
            c.rec(label, Failure(getattr(e, "code", -999)))
        except KazooTimeoutError as e:
            raise Aborted(f"{label}: timeout") from e

    # kazoo's callbacks may run out of order, so the reply order itself is
    # taken from the wire: pipelined raw requests, replies in arrival order
    r = c.raw("R")
    W = rawzk.Writer
    pipeline = [
        ("create a", rawzk.CREATE2, W().string(a).buffer(b"1").acls(rawzk.OPEN_ACL).int(0)),
        ("get a", rawzk.GET_DATA, W().string(a).bool(False)),
        ("create a again", rawzk.CREATE2, W().string(a).buffer(b"").acls(rawzk.OPEN_ACL).int(0)),
        ("set a v7", rawzk.SET_DATA, W().string(a).buffer(b"x").int(7)),
        ("exists missing", rawzk.EXISTS, W().string(b).bool(False)),
        ("sync", rawzk.SYNC, W().string(c.root)),
        ("set a", rawzk.SET_DATA, W().string(a).buffer(b"2").int(0)),
        ("children", rawzk.GET_CHILDREN, W().string(c.root).bool(False)),
        ("delete a", rawzk.DELETE, W().string(a).int(-1)),
        ("get a gone", rawzk.GET_DATA, W().string(a).bool(False)),
    ]
    first = len(r.frames)
    try:
        hs = [r.submit(op, body.bytes()) for _, op, body in pipeline]
        replies = [r.wait(h) for h in hs]
    except rawzk.RawError as e:
        raise Aborted(f"pipeline: {e}") from e
    base = replies[0].xid
    c.rec("pipelined results", [[lab, rawzk.error_name(rep.err)]
                                for (lab, _, _), rep in zip(pipeline, replies)])
    c.rec("pipelined reply order", [f[1] - base for f in r.frames[first:] if f[0] == "reply"])
    c.rec("write zxids", [Zxid(rep.zxid) for (lab, op, _), rep in zip(pipeline, replies)
                          if rep.ok and op in (rawzk.CREATE2, rawzk.SET_DATA, rawzk.DELETE)])


@scenario
def system_nodes(c):
    zk = c.kazoo("A")

    def history_free(stat):
        """/zookeeper's cversion and pzxid depend on what earlier runs did
        under it, so only their changes within this scenario are recorded."""
        d = c.stat(stat)["stat"]
        del d["cversion"], d["pzxid"]
        return {"stat": d}

    c.do("children /zookeeper", sorted_kids, zk, "/zookeeper")
    c.do("get /zookeeper", lambda: (lambda data, st: (data, history_free(st)))(
        *zk.get("/zookeeper")))
    c.do("children /zookeeper/quota", sorted_kids, zk, "/zookeeper/quota")
    c.do("get /zookeeper/quota", zk.get, "/zookeeper/quota")
    data = c.do("get /zookeeper/config", lambda: zk.get("/zookeeper/config")[0])
    if data is not None:
        text = data.decode(errors="replace")
        masked = re.sub(r"\d+\.\d+\.\d+\.\d+", "ADDR", text)
        masked = re.sub(r":\d+", ":PORT", masked)
        c.rec("config lines", sorted(masked.splitlines()))
    c.do("config stat", zk.exists, "/zookeeper/config")
    c.do("acls /zookeeper/config", zk.get_acls, "/zookeeper/config")
    c.do("acls /zookeeper", lambda: (lambda acl, st: (acl, history_free(st)))(
        *zk.get_acls("/zookeeper")))
    c.do("acls /zookeeper/quota", zk.get_acls, "/zookeeper/quota")
    c.do("set /zookeeper/config", zk.set, "/zookeeper/config", b"server.1=x")
    c.do("delete /zookeeper/config", zk.delete, "/zookeeper/config")
    before = zk.exists("/zookeeper")
    name = c.p("").replace("/", "")
    c.do("create under /zookeeper", zk.create, f"/zookeeper/{name}")
    c.do("delete it (if created)", zk.delete, f"/zookeeper/{name}")
    after = zk.exists("/zookeeper")
    c.rec("/zookeeper cversion delta", after.cversion - before.cversion)
    c.rec("/zookeeper pzxid advanced", after.pzxid > before.pzxid)
    c.do("root children include zookeeper", lambda: "zookeeper" in zk.get_children("/"))
    c.do("root exists", lambda: zk.exists("/") is not None)


# ================================================================== runner
def run_one(hosts, name, runid):
    c = Ctx(hosts, name, runid)
    t0 = time.monotonic()
    harness_error = None
    try:
        SCENARIOS[name](c)
    except (Aborted, KazooException, rawzk.RawError, OSError) as e:
        c.rec("aborted", type(e).__name__)
        print(f"[scenarios] {name}: aborted: {e!r}", file=sys.stderr)
    except Exception as e:  # a bug in this harness
        harness_error = e
        c.rec("harness error", type(e).__name__)
        traceback.print_exc()
    finally:
        c.cleanup()
    try:
        out = c.finish()
    except Exception as e:
        harness_error = e
        traceback.print_exc()
        out = [["harness error", type(e).__name__]]
    return out, time.monotonic() - t0, harness_error


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hosts", help="host:port of the server under test")
    ap.add_argument("--only", help="comma-separated scenario names")
    ap.add_argument("--json", help="write the observations here (default: stdout)")
    ap.add_argument("--list", action="store_true", help="list scenario names and exit")
    args = ap.parse_args()
    if args.list:
        print("\n".join(SCENARIOS))
        return 0
    if not args.hosts:
        ap.error("--hosts is required")
    names = list(SCENARIOS)
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in SCENARIOS]
        if unknown:
            ap.error(f"unknown scenario(s): {', '.join(unknown)}")

    probe = KazooClient(hosts=args.hosts, timeout=OP_TIMEOUT)
    try:
        probe.start(timeout=OP_TIMEOUT)
    except KazooTimeoutError:
        print(f"[scenarios] no ZooKeeper answers on {args.hosts}", file=sys.stderr)
        return 2
    finally:
        probe.stop()
        probe.close()

    runid = uuid.uuid4().hex[:8]
    results, bugs, t_all = {}, 0, time.monotonic()
    for n in names:
        obs, secs, err = run_one(args.hosts, n, runid)
        results[n] = obs
        bugs += err is not None
        print(f"[scenarios] {n}: {len(obs)} observations, {secs:.1f}s", file=sys.stderr)
    print(f"[scenarios] {len(names)} scenarios in {time.monotonic() - t_all:.1f}s",
          file=sys.stderr)
    text = json.dumps(results, indent=1, sort_keys=True)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")
    else:
        print(text)
    return 3 if bugs else 0


if __name__ == "__main__":
    sys.exit(main())
