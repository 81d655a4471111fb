"""Ephemerals vanish when their session closes; an observer sees it."""

from kazoo.exceptions import NoChildrenForEphemeralsError

import zkt

owner = zkt.client()
observer = zkt.client()
assert owner.client_id[0] != observer.client_id[0]

observer.create("/eph", b"")
paths = [
    owner.create("/eph/a", b"a", ephemeral=True),
    owner.create("/eph/b", b"b", ephemeral=True),
    owner.create("/eph/q-", b"", ephemeral=True, sequence=True),
]
st = observer.exists("/eph/a")
assert st.ephemeralOwner == owner.client_id[0], st
zkt.expect_error(NoChildrenForEphemeralsError, owner.create, "/eph/a/child", b"")

deleted = zkt.Events()
children = zkt.Events()
assert observer.exists("/eph/a", watch=deleted) is not None
assert sorted(observer.get_children("/eph", watch=children)) == sorted(
    p.rsplit("/", 1)[1] for p in paths
)

owner_sid = zkt.sid(owner)
zkt.stop(owner)

ev = deleted.get("NodeDeleted for /eph/a")
assert ev.type == "DELETED" and ev.path == "/eph/a", ev
ev = children.get("NodeChildrenChanged for /eph")
assert ev.type == "CHILD" and ev.path == "/eph", ev
assert observer.get_children("/eph") == []
# One-shot: nothing more arrives for these watches.
deleted.none_within(0.3, "a second event on a one-shot exists watch")
children.none_within(0.3, "a second event on a one-shot child watch")

zkt.facts(owner=owner_sid, observer=zkt.sid(observer), paths=paths)
observer.delete("/eph")
zkt.stop(observer)
