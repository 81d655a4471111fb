#!/usr/bin/env bash
# zkcli.sh HOST:PORT - interop check with Apache ZooKeeper's Java CLI
# (org.apache.zookeeper.ZooKeeperMain, i.e. zkCli.sh).  A few commands run in
# batch mode (command on the command line: one JVM and session each, exit
# status checked); the rest go to one session on stdin (jline is not on the
# classpath, so the CLI reads plain lines).  Everything lives under a unique
# root that is removed at the end.
# Exit status: 0 all checks pass, 1 some check failed, 2 usage/setup.
# Environment: ZK_CLASSPATH (default: scripts/zk.sh classpath), ZK_JAVA.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=check-lib.sh
. "$HERE/check-lib.sh"

check_hostport "${1:-}"
SERVER=$1
check_reachable "$SERVER"
JAVA=${ZK_JAVA:-java}
CP=${ZK_CLASSPATH:-$("$HERE/../../../scripts/zk.sh" classpath)} || {
    echo "no ZooKeeper classpath (run scripts/setup-deps.sh)" >&2
    exit 2
}
R=/zkcli-$$-$RANDOM
# digest of alice:pw as ZooKeeper computes it: base64(sha1("alice:pw"))
DIGEST=$(printf '%s' "alice:pw" | openssl dgst -sha1 -binary | base64)

zkmain() {
    timeout 60 "$JAVA" -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
        -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
        -cp "$CP" org.apache.zookeeper.ZooKeeperMain -server "$SERVER" "$@" 2>&1
}

# the digest-protected node can only be listed (deleteall walks the tree)
# by its owner, hence the addauth
cleanup() { printf 'addauth digest alice:pw\ndeleteall %s\nquit\n' "$R" | zkmain >/dev/null; }
trap cleanup EXIT

out=$(zkmain create "$R" hello); rc=$?
expect "batch create" "Created $R" "$out"
expect_rc "batch create exit status" 0 "$rc"
out=$(zkmain get "$R"); rc=$?
expect_line "batch get data" "hello" "$out"
expect_rc "batch get exit status" 0 "$rc"
out=$(zkmain get "$R/nope"); rc=$?
expect "batch get missing" "Node does not exist: $R/nope" "$out"
expect_rc "batch get missing exit status" 1 "$rc"
out=$(zkmain create "$R" again); rc=$?
expect "batch create existing" "Node already exists: $R" "$out"
expect_rc "batch create existing exit status" 1 "$rc"

session=$(
    cat <<CMDS
set $R v2
get -s $R
set -v 7 $R v3
create -e $R/eph
create -s $R/s- x
create -c $R/cont
create -t 60000 $R/ttl
ls $R
ls -s $R
getEphemerals $R
getAllChildrenNumber $R
delete $R
sync $R
whoami
getAcl $R
create $R/ro r world:anyone:r
set $R/ro w
addauth digest alice:pw
create $R/sec s auth:alice:pw:cdrwa
getAcl $R/sec
create $R/bad x foo:bar:cdrwa
addWatch -m PERSISTENT_RECURSIVE $R/rw
create $R/rw
create $R/rw/kid
set $R/rw/kid q
stat $R/missing
ls /zookeeper
quit
CMDS
)
out=$(zkmain <<<"$session")
expect_line "set then get -s: data" "v2" "$out"
expect "get -s: dataVersion" "dataVersion = 1" "$out"
expect "set with wrong version" "version No is not valid : $R" "$out"
expect "ephemeral created" "Created $R/eph" "$out"
expect "sequential suffix from parent cversion" "Created $R/s-0000000001" "$out"
expect "container created" "Created $R/cont" "$out"
expect "ttl node created" "Created $R/ttl" "$out"
expect_line "ls lists children" "[cont, eph, s-0000000001, ttl]" "$out"
expect "ls -s: numChildren" "numChildren = 4" "$out"
expect_line "getEphemerals" "[$R/eph]" "$out"
expect_line "getAllChildrenNumber" "4" "$out"
expect "delete non-empty" "Node not empty: $R" "$out"
expect "sync" "Sync is OK" "$out"
expect "whoami" "Auth scheme: User" "$out"
expect_line "getAcl default open" "'world,'anyone" "$out"
expect "read-only node refuses set" "Insufficient permission : $R/ro" "$out"
expect_line "auth scheme stored as digest" "'digest,'alice:$DIGEST" "$out"
expect "unknown ACL scheme" "Acl is not valid : $R/bad" "$out"
expect_not "unknown ACL scheme: not created" "Created $R/bad" "$out"
expect "persistent recursive watch: create" "type:NodeCreated path:$R/rw/kid" "$out"
expect "persistent recursive watch: data" "type:NodeDataChanged path:$R/rw/kid" "$out"
expect "stat missing" "Node does not exist: $R/missing" "$out"
expect_line "ls /zookeeper" "[config, quota]" "$out"

out=$(zkmain ls "$R"); rc=$?
expect_not "ephemeral gone after its session closed" "eph," "$out"
expect "persistent children remain" "s-0000000001" "$out"
expect_rc "ls exit status" 0 "$rc"

trap - EXIT
cleanup
out=$(zkmain ls "$R")
expect "root removed (deleteall)" "Node does not exist: $R" "$out"
finish
