#!/usr/bin/env bash
# capture-quorum.sh - regenerate the quorum-protocol golden capture:
#   zktraffic/tests/fixtures/quorum.pcap           election (3888) + ZAB (2888)
#   zktraffic/tests/fixtures/quorum-expected.json  what the run did
#   zktraffic/tests/fixtures/quorum-streams/       each connection's two byte
#                                                  streams, for decoder tests
#
#   scripts/capture-quorum.sh
#
# What happens, all on loopback (nodes 127.0.0.11-13, quorum 2888, election
# 3888, clients $ZK_CLIENT_PORT, default 21820):
#   1. zk.sh writes a 3-node ensemble's configs (it starts and stops it once;
#      its data is then wiped so the captured startup is a fresh one).
#   2. tcpdump -i lo starts; the nodes start in the order 3, 1, 2 so that 3
#      (highest sid, all zxids 0) leads the first epoch. Nodes 1 and 2 run
#      with -Dzookeeper.forceSnapshotSync=true: whichever of them leads later
#      syncs its follower with SNAP, so the capture has a snapshot holding
#      the workload's tree (node 3 chooses DIFF or SNAP itself).
#   3. scripts/quorum_workload.py drives a kazoo workload of known size
#      through one follower (creates, setData, a multi, a failed create, a
#      setACL, a second session with an ephemeral, a delete).
#   4. The leader is killed with SIGKILL; the two others elect a new one.
#   5. tcpdump and ZooKeeper are stopped; the expectations (workload record +
#      who led when, from the servers' own `srvr` answers) are written, and
#      the streams are extracted.
# Everything is stopped by the EXIT trap whatever happens; every wait is
# bounded.
#
# Environment: ZKOPS_VENV (see setup-deps.sh), ZK_CLIENT_PORT, KEEP_WORK=1
# keeps the temporary directory, FIXTURE_DIR (default
# <repo>/zktraffic/tests/fixtures).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
S=$REPO/scripts
OUT=${FIXTURE_DIR:-$REPO/zktraffic/tests/fixtures}
VENV=${ZKOPS_VENV:-$REPO/.venv}
PY=$VENV/bin/python
CPORT=${ZK_CLIENT_PORT:-21820}
BASE_JVM_OPTS="-Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1"
FORCED_SNAP_SIDS=(1 2)
MAX_PCAP_BYTES=300000

say() { echo "capture-quorum: $*" >&2; }
die() { say "error: $*"; exit 1; }

"$S/setup-deps.sh"
[[ -x $PY ]] || die "no venv python at $PY"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/zkops-quorum.XXXXXX")
ZKDIR=$WORK/zk
. "$(dirname "${BASH_SOURCE[0]}")/tcpdump-lib.sh"


cleanup() {
    local rc=$?
    set +e
    stop_tcpdump
    [[ -d $ZKDIR ]] && "$S/zk.sh" stop "$ZKDIR" >/dev/null 2>&1
    finish_work "$rc"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

node_addr() { echo "127.0.0.$((10 + $1))"; }

node_mode() { # node_mode SID -> leader|follower|down|...
    local out
    out=$("$S/zk.sh" 4lw "$(node_addr "$1")" "$CPORT" srvr 2>/dev/null) || { echo down; return 0; }
    sed -n 's/^Mode:[[:space:]]*//p' <<<"$out" | tr -d '\r'
}

# wait_roles SID... : bounded wait until exactly one of the given nodes leads
# and all others follow; prints the leader's sid.
wait_roles() {
    local deadline=$((SECONDS + 60)) sid m leader followers
    while :; do
        leader="" followers=0
        for sid in "$@"; do
            m=$(node_mode "$sid")
            case $m in
                leader) [[ -z $leader ]] && leader=$sid || leader=conflict ;;
                follower) followers=$((followers + 1)) ;;
            esac
        done
        if [[ -n $leader && $leader != conflict ]] && ((followers == $# - 1)); then
            echo "$leader"
            return 0
        fi
        ((SECONDS < deadline)) || die "timed out waiting for one leader among: $*"
        sleep 0.2
    done
}

# ---------------------------------------------------------------- 1. configs
say "writing ensemble configuration in $ZKDIR"
"$S/zk.sh" ensemble "$ZKDIR" 3 --client-port "$CPORT" >"$WORK/zk-setup.log" 2>&1 ||
    { cat "$WORK/zk-setup.log" >&2; die "could not start the ensemble once"; }
"$S/zk.sh" stop "$ZKDIR" >/dev/null 2>&1
for i in 1 2 3; do
    rm -rf "$ZKDIR/node$i/data/version-2" "$ZKDIR/node$i/zk.log"
    [[ -s $ZKDIR/node$i/data/myid ]] || die "node$i lost its myid"
done

# ---------------------------------------------------------------- 2. capture
PCAP=$WORK/quorum.pcap
FILTER="tcp and (port 2888 or port 3888) and (host 127.0.0.11 or host 127.0.0.12 or host 127.0.0.13)"
start_tcpdump "$PCAP" "$FILTER"

for sid in 3 1 2; do
    opts=$BASE_JVM_OPTS
    for f in "${FORCED_SNAP_SIDS[@]}"; do
        [[ $sid == "$f" ]] && opts="$opts -Dzookeeper.forceSnapshotSync=true"
    done
    ZK_JVM_OPTS=$opts "$S/zk.sh" start "$ZKDIR/node$sid" --no-wait >>"$WORK/zk-setup.log" 2>&1 ||
        { cat "$WORK/zk-setup.log" >&2; die "could not launch node$sid"; }
    sleep 0.3
done
FIRST_LEADER=$(wait_roles 1 2 3)
say "first leader: sid $FIRST_LEADER"
sleep 1.5 # a few pings in the new epoch

# ---------------------------------------------------------------- 3. workload
CLIENT_SID=""
for sid in 1 2 3; do
    [[ $sid != "$FIRST_LEADER" ]] && { CLIENT_SID=$sid; break; }
done
say "workload through follower sid $CLIENT_SID"
"$PY" "$S/quorum_workload.py" run --server "$(node_addr "$CLIENT_SID"):$CPORT" \
    --expect "$WORK/workload.json"
sleep 1.5

# ---------------------------------------------------------------- 4. kill
LEADER_PID=$(<"$ZKDIR/node$FIRST_LEADER/zk.pid")
[[ $LEADER_PID =~ ^[0-9]+$ ]] || die "no pid for the leader"
say "killing the leader (sid $FIRST_LEADER, pid $LEADER_PID) with SIGKILL"
kill -KILL "$LEADER_PID"
for ((i = 0; i < 50; i++)); do
    kill -0 "$LEADER_PID" 2>/dev/null || break
    sleep 0.1
done
rm -f "$ZKDIR/node$FIRST_LEADER/zk.pid"
REMAINING=()
for sid in 1 2 3; do [[ $sid != "$FIRST_LEADER" ]] && REMAINING+=("$sid"); done
NEW_LEADER=$(wait_roles "${REMAINING[@]}")
say "new leader: sid $NEW_LEADER"
sleep 2.5 # sync, pings

# ---------------------------------------------------------------- 5. stop
stop_tcpdump
"$S/zk.sh" stop "$ZKDIR" >/dev/null 2>&1
[[ -s $PCAP ]] || die "empty capture"
size=$(stat -c %s "$PCAP")
((size < MAX_PCAP_BYTES)) || die "capture is $size bytes (limit $MAX_PCAP_BYTES)"

"$PY" - "$WORK/workload.json" "$WORK/quorum-expected.json" "$FIRST_LEADER" "$NEW_LEADER" \
    "$CLIENT_SID" "${FORCED_SNAP_SIDS[*]}" <<'EOF'
import json, sys
wl, out, first, new, client, forced = sys.argv[1:7]
first, new, client = int(first), int(new), int(client)
forced = [int(s) for s in forced.split()]
sids = [1, 2, 3]
w = json.load(open(wl))
followers_first = [s for s in sids if s != first]
followers_new = [s for s in sids if s not in (first, new)]
exp = {
    "about": "written by scripts/capture-quorum.sh from the workload and the "
             "servers' srvr answers, not from decoding the capture",
    "sids": sids,
    "addresses": {str(s): f"127.0.0.{10 + s}" for s in sids},
    "quorum_port": 2888,
    "election_port": 3888,
    "first_leader": first,
    "killed_leader": first,
    "new_leader": new,
    "client_follower": client,
    "follower_infos": {"first_epoch": followers_first, "second_epoch": followers_new},
    "force_snapshot_sync_sids": forced,
    # each leader syncs each of its followers once (DIFF, TRUNC or SNAP, the
    # leader's choice), always by SNAP if it runs with forceSnapshotSync
    "min_syncs": len(followers_first) + len(followers_new),
    "min_snaps": (len(followers_first) if first in forced else 0)
                 + (len(followers_new) if new in forced else 0),
    "workload": w,
}
json.dump(exp, open(out, "w"), indent=2, sort_keys=True)
EOF

rm -rf "$WORK/quorum-streams"
"$PY" "$S/quorum_workload.py" streams "$PCAP" "$WORK/quorum-streams"
cat >"$WORK/quorum-streams/README.md" <<'EOF'
# quorum-streams

Each TCP connection of `../quorum.pcap` on port 2888 (ZAB) or 3888 (leader
election), split into its two reassembled byte streams: `<proto>-NN-c2s.bin`
(sent by the side that opened the connection) and `<proto>-NN-s2c.bin`;
`index.json` names the ends. Made by `scripts/capture-quorum.sh` with
`scripts/quorum_workload.py streams quorum.pcap quorum-streams` (which uses
`scripts/pcap_summary.py`'s TCP reassembly), so the quorum decoders can be
tested on real traffic without the capture pipeline.
EOF

mkdir -p "$OUT"
cp "$PCAP" "$OUT/.quorum.pcap.tmp" && mv "$OUT/.quorum.pcap.tmp" "$OUT/quorum.pcap"
cp "$WORK/quorum-expected.json" "$OUT/quorum-expected.json"
rm -rf "$OUT/quorum-streams"
cp -r "$WORK/quorum-streams" "$OUT/quorum-streams"
say "fixtures updated: $OUT/quorum.pcap ($size bytes), quorum-expected.json, quorum-streams/"
