"""A client whose connection drops reconnects to the same server with its
session id and password: the session and its ephemerals survive. kazoo
2.11 drops its watches on a disconnect and never sends setWatches, so the
script sends one itself after the reconnect, as other clients do: changes
made while the client was away fire at once, the rest are re-armed."""

import time

import zkt

proxy = zkt.Proxy(zkt.hostport())
zk = zkt.client(hosts=proxy.addr)
other = zkt.client()
before = zk.client_id

other.create("/rc", b"")
other.create("/rc/x", b"0")
other.create("/rc/later", b"0")
eph = zk.create("/rc/mine", b"", ephemeral=True)
zk.get("/rc/later")
relative = zk.last_zxid
assert relative > 0, relative

states = []
zk.add_listener(states.append)
proxy.cut()
zkt.wait_for(lambda: "SUSPENDED" in states, "SUSPENDED after the cut")
other.set("/rc/x", b"1")
other.create("/rc/y", b"")
time.sleep(0.2)
proxy.resume()
zkt.wait_for(lambda: states[-1:] == ["CONNECTED"], "CONNECTED again")
assert zk.client_id == before, (zk.client_id, before)
assert "LOST" not in states, states
assert zk.get("/rc/x")[0] == b"1"

seen = zkt.tap(zk)
zkt.set_watches(
    zk,
    relative,
    data=["/rc/x", "/rc/later"],
    exist=["/rc/y", "/rc/z"],
    child=["/rc"],
)
got = sorted(zkt.next_raw(seen, "setWatches catch-up #%d" % i) for i in range(3))
assert got == [(1, "/rc/y"), (3, "/rc/x"), (4, "/rc")], got
zkt.no_raw(seen, 0.3, "a watch on an untouched node fired")

other.set("/rc/later", b"1")
assert zkt.next_raw(seen, "re-armed data watch") == (3, "/rc/later")
other.create("/rc/z", b"")
assert zkt.next_raw(seen, "re-armed exists watch") == (1, "/rc/z")
zkt.no_raw(seen, 0.3, "the fired child watch fired again")

st = other.exists(eph)
assert st is not None and st.ephemeralOwner == before[0], st
assert proxy.accepted >= 2, proxy.accepted

zkt.facts(session=zkt.sid(zk), ephemeral=eph, connections=proxy.accepted)
zkt.stop(zk)
assert other.exists(eph) is None
for p in ["/rc/x", "/rc/y", "/rc/z", "/rc/later", "/rc"]:
    other.delete(p)
zkt.stop(other)
