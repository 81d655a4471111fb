"""A client that stops pinging: its session expires after the negotiated
timeout, its ephemerals go, and its id+password are refused afterwards.

The owner runs in a child process that SIGKILLs itself, so its socket
closes without a closeSession and nothing pings any more."""

import json
import os
import signal
import subprocess
import sys
import time

import zkt

if len(sys.argv) > 2 and sys.argv[2] == "owner":
    # Asks for less than minSessionTimeout: the server raises it.
    zk = zkt.client(timeout=1.0)
    paths = [zk.create("/exp/e%d" % i, b"", ephemeral=True) for i in range(3)]
    sid, passwd = zk.client_id
    print(
        json.dumps(
            {
                "session": sid,
                "passwd": passwd.hex(),
                "paths": paths,
            }
        ),
        flush=True,
    )
    os.kill(os.getpid(), signal.SIGKILL)

observer = zkt.client()
observer.create("/exp", b"")
child = subprocess.run(
    [sys.executable, __file__, zkt.hostport(), "owner"],
    capture_output=True,
    timeout=30,
)
killed_at = time.monotonic()
assert child.returncode == -signal.SIGKILL, (child.returncode, child.stderr)
owner = json.loads(child.stdout.decode().strip().splitlines()[-1])

watches = {}
for p in owner["paths"]:
    watches[p] = zkt.Events()
    st = observer.exists(p, watch=watches[p])
    assert st is not None and st.ephemeralOwner == owner["session"], (p, st)

for p, w in watches.items():
    ev = w.get("NodeDeleted for " + p)
    assert ev.type == "DELETED" and ev.path == p, ev
took = time.monotonic() - killed_at
# Not before the timeout, and not long after it either.
assert 3.5 <= took <= 12.0, took
assert observer.get_children("/exp") == []

# The dead session's id and password are refused now: kazoo starts over
# with a new session.
stale = zkt.KazooClient(
    hosts=zkt.hostport(),
    client_id=(owner["session"], bytes.fromhex(owner["passwd"])),
    timeout=10.0,
)
stale.start(timeout=zkt.WAIT)
assert stale.client_id[0] != owner["session"]
zkt.stop(stale)

zkt.facts(
    owner="0x%x" % owner["session"],
    paths=owner["paths"],
    took=took,
)
observer.delete("/exp")
zkt.stop(observer)
