#!/usr/bin/env bash
# cli_mt.sh HOST:PORT - interop check with ZooKeeper's C client, cli_mt
# (Debian package zookeeper-bin).  Single commands run in cli_mt's batch
# mode (-c, one session each); the watch and ephemeral checks feed one
# session on stdin with short pauses, since cli_mt answers asynchronously.
# Everything lives under a unique root that is removed at the end.
# Exit status: 0 all checks pass, 1 some check failed, 2 usage/setup.
# Environment: CLI_MT (default /usr/lib/zookeeper/bin/cli_mt).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=check-lib.sh
. "$HERE/check-lib.sh"

check_hostport "${1:-}"
SERVER=$1
check_reachable "$SERVER"
CLI=${CLI_MT:-/usr/lib/zookeeper/bin/cli_mt}
[[ -x $CLI ]] || { echo "cli_mt not found at $CLI (apt-get install zookeeper-bin)" >&2; exit 2; }
R=/climt-$$-$RANDOM

# batch CMD: one command in its own session; cli_mt does not exit by itself
# on every error path, hence the timeout
batch() { timeout 10 "$CLI" -h "$SERVER" -c "$*" 2>&1; }

# session CMD...: one session, one command every 0.4 s, then quit
session() {
    {
        local c
        for c in "$@"; do
            printf '%s\n' "$c"
            sleep 0.4
        done
        printf 'quit\n'
        sleep 0.5
    } | timeout 30 "$CLI" -h "$SERVER" 2>&1
}

cleanup() {
    local p
    for p in "$R/a" "$R/s-0000000001" "$R/w" "$R/cont" "$R/ttl" "$R/eph" "$R"; do
        batch "delete $p" >/dev/null
    done
}
trap cleanup EXIT

out=$(batch "create $R")
expect "create root" "[$R]: rc = 0" "$out"
out=$(batch "create $R/a")
expect "create child" "name = $R/a" "$out"
out=$(batch "get $R/a")
expect "get: rc 0" "$R/a: rc = 0" "$out"
expect "get: cli_mt's default data 'new'" "value_len = 3" "$out"
expect "get: version 0" "version=0" "$out"
out=$(batch "set $R/a hello")
expect "set: rc 0" "$R/a: rc = 0" "$out"
expect "set: version 1 in returned stat" "version=1" "$out"
out=$(batch "get $R/a")
expect "get after set: length" "value_len = 5" "$out"
expect_line "get after set: data" "hello" "$out"
out=$(batch "create $R/a")
expect "create existing: NodeExists" "[$R/a]: rc = -110" "$out"
out=$(batch "create +s $R/s-")
expect "sequential suffix from parent cversion" "name = $R/s-0000000001" "$out"
out=$(batch "create $R/missing/x")
expect "create without parent: NoNode" "rc = -101" "$out"
out=$(batch "ls $R")
expect_line "ls: child a" $'\ta' "$out"
expect_line "ls: sequential child" $'\ts-0000000001' "$out"
out=$(batch "ls2 $R")
expect "ls2: rc 0" "$R: rc = 0" "$out"
expect "ls2: stat follows" "czxid=" "$out"
out=$(batch "delete $R")
expect "delete non-empty: NotEmpty" "$R: rc = -111" "$out"
out=$(batch "get $R/nope")
expect "get missing: NoNode" "$R/nope: rc = -101" "$out"
out=$(batch "ls /zookeeper")
expect_line "ls /zookeeper: quota" $'\tquota' "$out"

out=$(session "wexists $R/w" "create $R/w" "create +e $R/eph" "create +c $R/cont" \
    "create +t=5000 $R/ttl" "ls $R" "get $R/w" "set $R/w zz")
expect "wexists on missing node" "Error -101 for $R/w" "$out"
expect "exists watch fires on create" "Watcher CREATED_EVENT state = CONNECTED_STATE for path $R/w" "$out"
expect "ephemeral created" "name = $R/eph" "$out"
expect "container created (mode 4)" "[$R/cont]: rc = 0" "$out"
expect "ttl created (mode 5)" "[$R/ttl]: rc = 0" "$out"
expect_line "ls in session shows ephemeral" $'\teph' "$out"
expect "get watch fires on set" "Watcher CHANGED_EVENT state = CONNECTED_STATE for path $R/w" "$out"
out=$(batch "ls $R")
expect_no_line "ephemeral gone after its session quit" $'\teph' "$out"
expect_line "persistent child still there" $'\tw' "$out"

trap - EXIT
cleanup
out=$(batch "ls /")
expect_not "root removed" "${R#/}" "$out"
finish
