"""One-shot data/child/exists watches, and persistent and persistent
recursive watches armed with addWatch."""

import zkt

zk = zkt.client()
writer = zkt.client()
zk.create("/w", b"")
zk.create("/w/d", b"0")

# A data watch fires once, for the first change only.
data = zkt.Events()
zk.get("/w/d", watch=data)
writer.set("/w/d", b"1")
ev = data.get("NodeDataChanged for /w/d")
assert (ev.type, ev.path) == ("CHANGED", "/w/d"), ev
writer.set("/w/d", b"2")
data.none_within(0.3, "a one-shot data watch fired twice")

# A child watch fires for a new child, not for a child's data.
kids = zkt.Events()
assert zk.get_children("/w", watch=kids) == ["d"]
writer.set("/w/d", b"3")
kids.none_within(0.3, "a child watch fired for a data change")
writer.create("/w/c", b"")
ev = kids.get("NodeChildrenChanged for /w")
assert (ev.type, ev.path) == ("CHILD", "/w"), ev
writer.create("/w/c2", b"")
kids.none_within(0.3, "a one-shot child watch fired twice")

# An exists watch on an absent node fires on its creation; one on a
# present node fires on its deletion.
born = zkt.Events()
assert zk.exists("/w/new", watch=born) is None
writer.create("/w/new", b"")
ev = born.get("NodeCreated for /w/new")
assert (ev.type, ev.path) == ("CREATED", "/w/new"), ev
gone = zkt.Events()
assert zk.exists("/w/new", watch=gone) is not None
writer.delete("/w/new")
ev = gone.get("NodeDeleted for /w/new")
assert (ev.type, ev.path) == ("DELETED", "/w/new"), ev

# A data watch sees a deletion too.
dd = zkt.Events()
zk.get("/w/c2", watch=dd)
writer.delete("/w/c2")
ev = dd.get("NodeDeleted for /w/c2")
assert (ev.type, ev.path) == ("DELETED", "/w/c2"), ev

# Persistent: fires on every change of the node itself (and its children
# list), but not for grandchildren.
pz = zkt.client()
seen = zkt.add_watch(pz, "/w/d", zkt.PERSISTENT)
for i in range(3):
    writer.set("/w/d", str(i).encode())
    t, p = zkt.next_raw(seen, "persistent NodeDataChanged #%d" % i)
    assert (t, p) == (3, "/w/d"), (t, p)
writer.create("/w/d/kid", b"")
t, p = zkt.next_raw(seen, "persistent NodeChildrenChanged")
assert (t, p) == (4, "/w/d"), (t, p)
writer.create("/w/d/kid/grand", b"")
writer.set("/w/d", b"last")
t, p = zkt.next_raw(seen, "persistent after a grandchild")
assert (t, p) == (3, "/w/d"), ("grandchild leaked into a persistent watch", t, p)
zkt.stop(pz)

# Persistent recursive: every node below, with no child events.
rz = zkt.client()
seen = zkt.add_watch(rz, "/w", zkt.PERSISTENT_RECURSIVE)
writer.create("/w/r", b"")
writer.set("/w/d/kid/grand", b"x")
writer.delete("/w/d/kid/grand")
writer.set("/w", b"root")
got = [zkt.next_raw(seen, "recursive #%d" % i) for i in range(4)]
assert got == [
    (1, "/w/r"),
    (3, "/w/d/kid/grand"),
    (2, "/w/d/kid/grand"),
    (3, "/w"),
], got
zkt.no_raw(seen, 0.3, "recursive watch")
zkt.stop(rz)

for p in ["/w/d/kid", "/w/d", "/w/c", "/w/r", "/w"]:
    writer.delete(p)
zkt.facts(session=zkt.sid(zk), writer=zkt.sid(writer))
zkt.stop(zk)
zkt.stop(writer)
