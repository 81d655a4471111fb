"""multi (kazoo transactions): all-or-nothing, with per-op results."""

from kazoo.exceptions import (
    BadVersionError,
    NodeExistsError,
    RolledBackError,
    RuntimeInconsistency,
)

import zkt

zk = zkt.client()
zk.create("/m", b"")
zk.create("/m/x", b"x0")

t = zk.transaction()
t.create("/m/a", b"a")
t.create("/m/b", b"b")
t.set_data("/m/x", b"x1", version=0)
t.check("/m/x", 1)
ok = t.commit()
assert ok[0] == "/m/a" and ok[1] == "/m/b", ok
assert ok[2].version == 1, ok
assert ok[3] is True, ok
assert sorted(zk.get_children("/m")) == ["a", "b", "x"]

# The third op fails: nothing of the transaction is applied. Ops before
# the failure report Ok inside the error (kazoo: RolledBackError), ops
# after it RuntimeInconsistency, as ZooKeeper encodes them.
t = zk.transaction()
t.create("/m/c", b"c")
t.delete("/m/a")
t.check("/m/x", 7)
t.set_data("/m/b", b"never")
bad = t.commit()
assert isinstance(bad[0], RolledBackError), bad
assert isinstance(bad[1], RolledBackError), bad
assert isinstance(bad[2], BadVersionError), bad
assert isinstance(bad[3], RuntimeInconsistency), bad
assert zk.exists("/m/c") is None
assert zk.exists("/m/a") is not None
assert zk.get("/m/b")[0] == b"b"

# A failure in the first op.
t = zk.transaction()
t.create("/m/a", b"dup")
t.create("/m/d", b"")
bad2 = t.commit()
assert isinstance(bad2[0], NodeExistsError), bad2
assert isinstance(bad2[1], RuntimeInconsistency), bad2
assert zk.exists("/m/d") is None

zkt.facts(session=zkt.sid(zk))
for p in ["/m/a", "/m/b", "/m/x", "/m"]:
    zk.delete(p)
zkt.stop(zk)
