"""A deliberately small ZooKeeper wire client for the requests kazoo 2.11
cannot send: container and TTL creates, addWatch, removeWatches,
checkWatches, getEphemerals, getAllChildrenNumber and whoAmI.  It also keeps
the arrival order of every frame (replies and notifications), which kazoo
hides behind its callback thread, so scenarios can check that a watch event
reaches the client before the reply of the write that triggered it.

Field layouts follow ZooKeeper's jute records (zookeeper.jute); opcode and
error numbers are the protocol's.  Everything is bounded by timeouts: a
server that never answers turns into RawTimeout, never a hang.
"""
import queue
import socket
import struct
import threading
import time

# opcodes
CREATE, DELETE, EXISTS, GET_DATA, SET_DATA = 1, 2, 3, 4, 5
GET_CHILDREN, SYNC, PING, CREATE2 = 8, 9, 11, 15
CHECK_WATCHES, REMOVE_WATCHES, CREATE_CONTAINER, CREATE_TTL = 17, 18, 19, 21
AUTH, GET_EPHEMERALS, GET_ALL_CHILDREN_NUMBER = 100, 103, 104
ADD_WATCH, WHO_AM_I, CLOSE_SESSION = 106, 107, -11

# special xids
XID_NOTIFICATION, XID_PING, XID_AUTH = -1, -2, -4

# create flags (CreateMode)
PERSISTENT, EPHEMERAL, PERSISTENT_SEQUENTIAL, EPHEMERAL_SEQUENTIAL = 0, 1, 2, 3
CONTAINER, PERSISTENT_WITH_TTL, PERSISTENT_SEQUENTIAL_WITH_TTL = 4, 5, 6

# addWatch modes and watcher types of check/removeWatches
ADD_WATCH_PERSISTENT, ADD_WATCH_PERSISTENT_RECURSIVE = 0, 1
WATCHER_CHILDREN, WATCHER_DATA, WATCHER_ANY = 1, 2, 3
WATCHER_PERSISTENT, WATCHER_PERSISTENT_RECURSIVE = 4, 5

PERM_ALL = 31
OPEN_ACL = [(PERM_ALL, "world", "anyone")]

ERROR_NAMES = {
    0: "OK", -1: "SYSTEMERROR", -2: "RUNTIMEINCONSISTENCY", -3: "DATAINCONSISTENCY",
    -4: "CONNECTIONLOSS", -5: "MARSHALLINGERROR", -6: "UNIMPLEMENTED",
    -7: "OPERATIONTIMEOUT", -8: "BADARGUMENTS", -12: "UNKNOWNSESSION",
    -13: "NEWCONFIGNOQUORUM", -14: "RECONFIGINPROGRESS", -100: "APIERROR",
    -101: "NONODE", -102: "NOAUTH", -103: "BADVERSION",
    -108: "NOCHILDRENFOREPHEMERALS", -110: "NODEEXISTS", -111: "NOTEMPTY",
    -112: "SESSIONEXPIRED", -113: "INVALIDCALLBACK", -114: "INVALIDACL",
    -115: "AUTHFAILED", -118: "SESSIONMOVED", -119: "NOTREADONLY",
    -120: "EPHEMERALONLOCALSESSION", -121: "NOWATCHER", -122: "REQUESTTIMEOUT",
    -123: "RECONFIGDISABLED", -124: "SESSIONCLOSEDREQUIRESASL",
    -125: "QUOTAEXCEEDED", -127: "THROTTLEDOP",
}

EVENT_NAMES = {
    -1: "None", 1: "NodeCreated", 2: "NodeDeleted", 3: "NodeDataChanged",
    4: "NodeChildrenChanged", 5: "DataWatchRemoved", 6: "ChildWatchRemoved",
    7: "PersistentWatchRemoved",
}

STATE_NAMES = {
    -1: "Unknown", 0: "Disconnected", 3: "SyncConnected", 4: "AuthFailed",
    5: "ConnectedReadOnly", 6: "SaslAuthenticated", 7: "Closed", -112: "Expired",
}

STAT_FIELDS = ("czxid", "mzxid", "ctime", "mtime", "version", "cversion",
               "aversion", "ephemeralOwner", "dataLength", "numChildren", "pzxid")
_STAT = struct.Struct(">qqqqiiiqiiq")


def error_name(code):
    return ERROR_NAMES.get(code, f"UNKNOWN({code})")


class RawError(Exception):
    """The connection broke or the server answered something unparseable."""


class RawTimeout(RawError):
    pass


# ------------------------------------------------------------------ encoding
class Writer:
    def __init__(self):
        self.parts = []

    def int(self, v):
        self.parts.append(struct.pack(">i", v))
        return self

    def long(self, v):
        self.parts.append(struct.pack(">q", v))
        return self

    def bool(self, v):
        self.parts.append(b"\x01" if v else b"\x00")
        return self

    def buffer(self, b):
        if b is None:
            return self.int(-1)
        self.int(len(b))
        self.parts.append(bytes(b))
        return self

    def string(self, s):
        return self.buffer(None if s is None else s.encode())

    def acls(self, acls):
        self.int(len(acls))
        for perms, scheme, ident in acls:
            self.int(perms).string(scheme).string(ident)
        return self

    def bytes(self):
        return b"".join(self.parts)


class Reader:
    def __init__(self, data, offset=0):
        self.data = data
        self.pos = offset

    def _take(self, n):
        if n < 0 or self.pos + n > len(self.data):
            raise RawError(f"short reply: need {n} bytes at {self.pos} of {len(self.data)}")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def int(self):
        return struct.unpack(">i", self._take(4))[0]

    def long(self):
        return struct.unpack(">q", self._take(8))[0]

    def bool(self):
        return self._take(1) != b"\x00"

    def buffer(self):
        n = self.int()
        return None if n < 0 else self._take(n)

    def string(self):
        b = self.buffer()
        return None if b is None else b.decode()

    def strings(self):
        n = self.int()
        return None if n < 0 else [self.string() for _ in range(n)]

    def stat(self):
        return dict(zip(STAT_FIELDS, _STAT.unpack(self._take(_STAT.size))))

    def remaining(self):
        return len(self.data) - self.pos


# ------------------------------------------------------------------ client
class Reply:
    __slots__ = ("xid", "zxid", "err", "body")

    def __init__(self, xid, zxid, err, body):
        self.xid, self.zxid, self.err, self.body = xid, zxid, err, body

    @property
    def ok(self):
        return self.err == 0

    def reader(self):
        return Reader(self.body)


class RawClient:
    """One session over one TCP connection.  Not reconnecting: a dropped
    connection ends the client (tests want to see that, not hide it)."""

    def __init__(self, host, port, timeout_ms=10000, op_timeout=10.0):
        self.op_timeout = op_timeout
        self.sock = socket.create_connection((host, port), timeout=op_timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._send_lock = threading.Lock()
        self._xid = 0
        self._pending = {}  # xid -> queue for its reply
        self._pending_lock = threading.Lock()
        self.events = queue.Queue()
        # arrival order of everything but pings: ("reply", xid, err) or
        # ("event", type, path)
        self.frames = []
        self.closed = threading.Event()
        self.failure = None
        self._handshake(timeout_ms)
        self.sock.settimeout(None)
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()
        self._pinger = threading.Thread(target=self._ping_loop, daemon=True)
        self._pinger.start()

    # -- framing
    def _send_frame(self, payload):
        with self._send_lock:
            self.sock.sendall(struct.pack(">i", len(payload)) + payload)

    def _recv_exact(self, n):
        chunks, got = [], 0
        while got < n:
            chunk = self.sock.recv(n - got)
            if not chunk:
                raise RawError("connection closed by server")
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def _recv_frame(self):
        (n,) = struct.unpack(">i", self._recv_exact(4))
        if n < 0 or n > 64 * 1024 * 1024:
            raise RawError(f"bad frame length {n}")
        return self._recv_exact(n)

    def _handshake(self, timeout_ms):
        req = (Writer().int(0).long(0).int(timeout_ms).long(0)
               .buffer(b"\x00" * 16).bool(False).bytes())
        self._send_frame(req)
        r = Reader(self._recv_frame())
        r.int()  # protocol version
        self.negotiated_timeout = r.int()
        self.session_id = r.long()
        self.passwd = r.buffer()
        if self.negotiated_timeout <= 0:
            raise RawError("server refused the session")

    # -- background threads
    def _read_loop(self):
        try:
            while True:
                frame = self._recv_frame()
                r = Reader(frame)
                xid, zxid, err = r.int(), r.long(), r.int()
                if xid == XID_PING:
                    continue
                if xid == XID_NOTIFICATION:
                    etype, state, path = r.int(), r.int(), r.string()
                    self.frames.append(("event", EVENT_NAMES.get(etype, etype), path))
                    self.events.put((etype, state, path))
                    continue
                self.frames.append(("reply", xid, err))
                with self._pending_lock:
                    q = self._pending.pop(xid, None)
                if q is not None:
                    q.put(Reply(xid, zxid, err, frame[r.pos:]))
        except (OSError, RawError, struct.error) as e:
            self.failure = e
        finally:
            self.closed.set()
            with self._pending_lock:
                waiting, self._pending = list(self._pending.values()), {}
            for q in waiting:
                q.put(None)

    def _ping_loop(self):
        period = max(self.negotiated_timeout / 3000.0, 0.5)
        ping = Writer().int(XID_PING).int(PING).bytes()
        while not self.closed.wait(period):
            try:
                self._send_frame(ping)
            except OSError:
                return

    # -- requests
    def submit(self, opcode, body=b"", xid=None):
        """Send a request, return a handle for wait()."""
        if self.closed.is_set():
            raise RawError(f"connection is closed ({self.failure})")
        q = queue.Queue(maxsize=1)
        with self._pending_lock:
            if xid is None:
                self._xid += 1
                xid = self._xid
            self._pending[xid] = q
        self._send_frame(Writer().int(xid).int(opcode).bytes() + body)
        return q

    def wait(self, handle):
        try:
            reply = handle.get(timeout=self.op_timeout)
        except queue.Empty:
            raise RawTimeout("no reply within the timeout") from None
        if reply is None:
            raise RawError(f"connection lost ({self.failure})")
        return reply

    def call(self, opcode, body=b"", xid=None):
        return self.wait(self.submit(opcode, body, xid))

    def close(self):
        if not self.closed.is_set():
            try:
                self.call(CLOSE_SESSION)
            except RawError:
                pass
        try:
            self.sock.close()
        except OSError:
            pass
        self.closed.set()
        self._reader.join(timeout=self.op_timeout)

    def next_event(self, timeout):
        """(type name, state name, path) or None after timeout seconds."""
        try:
            etype, state, path = self.events.get(timeout=timeout)
        except queue.Empty:
            return None
        return (EVENT_NAMES.get(etype, str(etype)), STATE_NAMES.get(state, str(state)), path)

    def drain_events(self, settle):
        """Every event arriving until none came for `settle` seconds (bounded
        to 50 events so a flood cannot loop forever)."""
        out = []
        for _ in range(50):
            ev = self.next_event(settle)
            if ev is None:
                break
            out.append(ev)
        return out

    # -- typed helpers: each returns (err, value); value is None on error
    def create(self, path, data=b"", acl=OPEN_ACL, flags=PERSISTENT, ttl=None, opcode=None):
        if opcode is None:
            opcode = CREATE_TTL if ttl is not None else CREATE2
        w = Writer().string(path).buffer(data).acls(acl).int(flags)
        if opcode == CREATE_TTL:
            w.long(ttl if ttl is not None else 0)
        rep = self.call(opcode, w.bytes())
        if not rep.ok:
            return rep.err, None
        r = rep.reader()
        created = r.string()
        stat = r.stat() if opcode != CREATE else None
        return 0, (created, stat)

    def get_data(self, path, watch=False):
        rep = self.call(GET_DATA, Writer().string(path).bool(watch).bytes())
        if not rep.ok:
            return rep.err, None
        r = rep.reader()
        return 0, (r.buffer(), r.stat())

    def exists(self, path, watch=False):
        rep = self.call(EXISTS, Writer().string(path).bool(watch).bytes())
        if not rep.ok:
            return rep.err, None
        return 0, rep.reader().stat()

    def get_children(self, path, watch=False):
        rep = self.call(GET_CHILDREN, Writer().string(path).bool(watch).bytes())
        if not rep.ok:
            return rep.err, None
        return 0, rep.reader().strings()

    def set_data(self, path, data, version=-1):
        rep = self.call(SET_DATA, Writer().string(path).buffer(data).int(version).bytes())
        if not rep.ok:
            return rep.err, None
        return 0, rep.reader().stat()

    def delete(self, path, version=-1):
        rep = self.call(DELETE, Writer().string(path).int(version).bytes())
        return rep.err, None

    def add_watch(self, path, mode):
        rep = self.call(ADD_WATCH, Writer().string(path).int(mode).bytes())
        return rep.err, len(rep.body)

    def remove_watches(self, path, wtype):
        rep = self.call(REMOVE_WATCHES, Writer().string(path).int(wtype).bytes())
        return rep.err, None

    def check_watches(self, path, wtype):
        rep = self.call(CHECK_WATCHES, Writer().string(path).int(wtype).bytes())
        return rep.err, None

    def get_ephemerals(self, prefix):
        rep = self.call(GET_EPHEMERALS, Writer().string(prefix).bytes())
        if not rep.ok:
            return rep.err, None
        return 0, rep.reader().strings()

    def get_all_children_number(self, path):
        rep = self.call(GET_ALL_CHILDREN_NUMBER, Writer().string(path).bytes())
        if not rep.ok:
            return rep.err, None
        return 0, rep.reader().int()

    def who_am_i(self):
        rep = self.call(WHO_AM_I)
        if not rep.ok:
            return rep.err, None
        r = rep.reader()
        n = r.int()
        return 0, [(r.string(), r.string()) for _ in range(max(n, 0))]

    def add_auth(self, scheme, auth):
        body = Writer().int(0).string(scheme).buffer(auth).bytes()
        rep = self.call(AUTH, body, xid=XID_AUTH)
        return rep.err, None

    def sync(self, path):
        rep = self.call(SYNC, Writer().string(path).bytes())
        if not rep.ok:
            return rep.err, None
        return 0, rep.reader().string()


def wait_until(pred, timeout, step=0.1):
    """Poll pred() until true or timeout seconds passed; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(step)
