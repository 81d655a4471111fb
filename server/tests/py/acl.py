"""Digest authentication and ACLs: NoAuth for strangers, InvalidACL for an
ACL naming nobody, AuthFailed for an unknown scheme."""

import sys

from kazoo.exceptions import (
    AuthFailedError,
    InvalidACLError,
    NoAuthError,
    RolledBackError,
)
from kazoo.protocol.states import KazooState
from kazoo.security import ACL, Id, Permissions, make_digest_acl, make_digest_acl_credential

import zkt

alice = zkt.client(auth_data=[("digest", "alice:secret")])
mallory = zkt.client(auth_data=[("digest", "alice:wrong")])
anon = zkt.client()

private = make_digest_acl("alice", "secret", all=True)
alice.create("/private", b"mine", acl=[private])
acls, _ = alice.get_acls("/private")
assert acls == [private], acls

for who in (anon, mallory):
    zkt.expect_error(NoAuthError, who.get, "/private")
    zkt.expect_error(NoAuthError, who.set, "/private", b"x")
    zkt.expect_error(NoAuthError, who.create, "/private/child", b"")
# getACL wants READ or ADMIN.
zkt.expect_error(NoAuthError, anon.get_acls, "/private")
assert alice.get("/private")[0] == b"mine"

# The auth scheme means "whoever creates it": alice may, anon may not.
# Its id is ignored; kazoo sends an empty one as a null string, which
# `null-auth-id` in argv asks for (the default sends a placeholder).
AUTH_ID = "" if "null-auth-id" in sys.argv else "ignored"
alice.create("/creator", b"", acl=[ACL(Permissions.ALL, Id("auth", AUTH_ID))])
acls, _ = alice.get_acls("/creator")
assert acls[0].id == Id("digest", make_digest_acl_credential("alice", "secret")), acls
zkt.expect_error(
    InvalidACLError, anon.create, "/nobody", b"", acl=[ACL(Permissions.ALL, Id("auth", AUTH_ID))]
)
assert anon.exists("/nobody") is None

# Read-only for the world; getACL hides the digest from a non-admin.
alice.create("/ro", b"r", acl=[ACL(Permissions.READ, Id("world", "anyone")), private])
assert anon.get("/ro")[0] == b"r"
shown, _ = anon.get_acls("/ro")
assert shown[1].id.id == "alice:x", shown
assert alice.get_acls("/ro")[0][1] == private
zkt.expect_error(NoAuthError, anon.set, "/ro", b"w")
alice.create("/ro/kid", b"")
zkt.expect_error(NoAuthError, anon.delete, "/ro/kid")
alice.delete("/ro/kid")

# Inside a multi: the refused op fails the whole transaction.
t = anon.transaction()
t.create("/open-x", b"")
t.create("/private/y", b"")
res = t.commit()
assert isinstance(res[0], RolledBackError) and isinstance(res[1], NoAuthError), res
assert anon.exists("/open-x") is None

# Adding auth mid-session turns NoAuth into access.
mallory.add_auth("digest", "alice:secret")
assert mallory.get("/private")[0] == b"mine"

# An unknown scheme fails the session's authentication.
states = []
bad = zkt.KazooClient(hosts=zkt.hostport(), timeout=5.0)
bad.add_listener(states.append)
bad.start(timeout=zkt.WAIT)
zkt.expect_error(AuthFailedError, bad.add_auth, "nosuchscheme", "x")
zkt.wait_for(lambda: KazooState.LOST in states, "LOST after AuthFailed")
bad.stop()
bad.close()

zkt.facts(alice=zkt.sid(alice), anon=zkt.sid(anon), mallory=zkt.sid(mallory))
alice.delete("/private")
alice.delete("/creator")
alice.delete("/ro")
for c in (alice, mallory, anon):
    zkt.stop(c)
