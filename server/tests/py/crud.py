"""CRUD, stats and sequential nodes, as a kazoo client sees them."""

from kazoo.exceptions import (
    BadVersionError,
    NoNodeError,
    NodeExistsError,
    NotEmptyError,
)

import zkt

zk = zkt.client()

root = "/crud"
path = zk.create(root, b"top")
assert path == root, path
data, st = zk.get(root)
assert data == b"top", data
assert st.version == 0 and st.cversion == 0 and st.numChildren == 0, st
assert st.dataLength == 3, st
assert st.czxid == st.mzxid == st.pzxid, st
assert st.ephemeralOwner == 0, st
created = st.czxid

zkt.expect_error(NodeExistsError, zk.create, root, b"again")
zkt.expect_error(NoNodeError, zk.create, "/crud/missing/child", b"")
zkt.expect_error(NoNodeError, zk.get, "/crud/nothing")
assert zk.exists("/crud/nothing") is None

st2 = zk.set(root, b"changed!")
assert st2.version == 1 and st2.dataLength == 8, st2
assert st2.mzxid > created and st2.czxid == created, st2
zkt.expect_error(BadVersionError, zk.set, root, b"x", version=0)
st3 = zk.set(root, b"v2", version=1)
assert st3.version == 2, st3

zk.create("/crud/a", b"1")
zk.create("/crud/b", b"2")
_, parent = zk.get(root)
assert parent.numChildren == 2 and parent.cversion == 2, parent
assert parent.pzxid > st3.mzxid, parent
assert sorted(zk.get_children(root)) == ["a", "b"]
zkt.expect_error(NotEmptyError, zk.delete, root)
zkt.expect_error(BadVersionError, zk.delete, "/crud/a", version=5)
zk.delete("/crud/a", version=0)
zk.delete("/crud/b")
_, parent = zk.get(root)
assert parent.numChildren == 0 and parent.cversion == 4, parent

# Sequential names come from the parent's count of creates (ZooKeeper's
# stored cversion; deletes do not move it), ten digits wide.
seqs = [zk.create("/crud/s-", b"", sequence=True) for _ in range(5)]
nums = [int(s.rsplit("-", 1)[1]) for s in seqs]
assert all(len(s.rsplit("-", 1)[1]) == 10 for s in seqs), seqs
assert nums == list(range(nums[0], nums[0] + 5)), nums
assert nums[0] == 2, nums  # two creates before them (the deletes do not count)
zk.delete(seqs[-1])
later = zk.create("/crud/s-", b"", sequence=True)
# The number after a delete is the next create's, not one more for the delete.
assert int(later.rsplit("-", 1)[1]) == nums[-1] + 1, later
for p in seqs[:-1] + [later]:
    zk.delete(p)
zk.delete(root)
assert zk.exists(root) is None

# A large value round-trips.
big = bytes(range(256)) * 2048
zk.create("/big", big)
assert zk.get("/big")[0] == big
zk.delete("/big")

zkt.facts(session=zkt.sid(zk), sequential=seqs + [later], created_zxid=created)
zkt.stop(zk)
