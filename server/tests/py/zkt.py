"""Shared by the kazoo scenario scripts of zkserver's integration tests.

Each script takes the server's host:port as its first argument, asserts
what a client can see, and prints one JSON line of facts (session ids,
zxids, paths) on stdout for the Rust side to check against the server's
event log.  Every wait is bounded.
"""

import json
import queue
import socket
import struct
import sys
import threading
import time

from kazoo.client import KazooClient
from kazoo.retry import KazooRetry

WAIT = 10.0


def hostport():
    if len(sys.argv) < 2:
        sys.exit("usage: %s HOST:PORT [args]" % sys.argv[0])
    return sys.argv[1]


def client(hosts=None, timeout=10.0, **kw):
    """A started client; retries are quick so a test never waits long."""
    kw.setdefault(
        "connection_retry", KazooRetry(max_tries=-1, delay=0.05, max_delay=0.5)
    )
    zk = KazooClient(hosts=hosts or hostport(), timeout=timeout, **kw)
    zk.start(timeout=WAIT)
    return zk


def stop(zk):
    zk.stop()
    zk.close()


def facts(**kw):
    print(json.dumps(kw), flush=True)


def sid(zk):
    return "0x%x" % zk.client_id[0]


class Events:
    """Collects watch callbacks; `get` waits a bounded time for the next."""

    def __init__(self):
        self.q = queue.Queue()

    def __call__(self, ev):
        self.q.put(ev)

    def get(self, what):
        try:
            return self.q.get(timeout=WAIT)
        except queue.Empty:
            raise AssertionError("no watch event within %ss: %s" % (WAIT, what))

    def none_within(self, seconds, what):
        try:
            ev = self.q.get(timeout=seconds)
        except queue.Empty:
            return
        raise AssertionError("unexpected watch event %r: %s" % (ev, what))


def expect_error(exc_type, fn, *args, **kw):
    try:
        fn(*args, **kw)
    except exc_type as e:
        return e
    raise AssertionError("%s(%r) did not raise %s" % (fn.__name__, args, exc_type.__name__))


class Proxy:
    """A loopback TCP proxy that can cut every connection through it and
    refuse new ones for a while, so a client loses its server on demand."""

    def __init__(self, target):
        host, port = target.rsplit(":", 1)
        self.target = (host, int(port))
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.addr = "127.0.0.1:%d" % self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.pairs = []
        self.open = True
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                if not self.open:
                    c.close()
                    continue
                self.accepted += 1
                s = socket.create_connection(self.target, timeout=WAIT)
                s.settimeout(None)
                self.pairs.append((c, s))
            threading.Thread(target=self._pipe, args=(c, s), daemon=True).start()
            threading.Thread(target=self._pipe, args=(s, c), daemon=True).start()

    @staticmethod
    def _pipe(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for x in (a, b):
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        """Breaks every connection and refuses new ones until `resume`."""
        with self.lock:
            self.open = False
            pairs, self.pairs = self.pairs, []
        for c, s in pairs:
            for x in (c, s):
                try:
                    x.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def resume(self):
        with self.lock:
            self.open = True


def wait_for(pred, what, seconds=WAIT):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


class Raw(tuple):
    """A request kazoo 2.11 lacks (addWatch, setWatches), sent through
    kazoo's own queue: an opcode and its already-serialized body."""

    def __new__(cls, opcode, body):
        t = tuple.__new__(cls, (opcode, bytes(body)))
        return t

    @property
    def type(self):
        return self[0]

    def serialize(self):
        return self[1]

    @classmethod
    def deserialize(cls, buf, offset):
        return True


def _string(s):
    b = s.encode("utf-8")
    return struct.pack("!i", len(b)) + b


def _strings(items):
    return struct.pack("!i", len(items)) + b"".join(_string(p) for p in items)


def call(zk, opcode, body):
    result = zk.handler.async_result()
    zk._call(Raw(opcode, body), result)
    return result.get(timeout=WAIT)


def tap(zk):
    """Every raw notification (type, path) the client's connection receives
    from now on, kazoo's own handling left as it was."""
    from kazoo.protocol.serialization import Watch

    seen = queue.Queue()
    conn = zk._connection
    original = conn._read_watch_event

    def read(buffer, offset):
        w, _ = Watch.deserialize(buffer, offset)
        seen.put((w.type, w.path))
        return original(buffer, offset)

    conn._read_watch_event = read
    return seen


PERSISTENT = 0
PERSISTENT_RECURSIVE = 1


def add_watch(zk, path, mode):
    """addWatch (opcode 106); returns the tapped notifications."""
    seen = tap(zk)
    call(zk, 106, _string(path) + struct.pack("!i", mode))
    return seen


def set_watches(zk, relative_zxid, data=(), exist=(), child=()):
    """setWatches (opcode 101), as a client sends after reconnecting."""
    body = struct.pack("!q", relative_zxid)
    body += _strings(list(data)) + _strings(list(exist)) + _strings(list(child))
    call(zk, 101, body)


def next_raw(seen, what):
    try:
        return seen.get(timeout=WAIT)
    except queue.Empty:
        raise AssertionError("no notification within %ss: %s" % (WAIT, what))


def no_raw(seen, seconds, what):
    try:
        extra = seen.get(timeout=seconds)
    except queue.Empty:
        return
    raise AssertionError("unexpected notification %r: %s" % (extra, what))
