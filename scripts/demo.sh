#!/usr/bin/env bash
# The project's main job (README "Run it"): a local 3-node Apache ZooKeeper
# ensemble on 127.0.0.11-13 with the zkops tools pointed at it:
#   1. zksmoketest probes every member and recommends timeouts;
#   2. zktraffic sniffs loopback while a kazoo workload runs, then prints stats.
# Installs what it needs; needs root (live capture). Stops everything on exit.
# zkserver replaces Apache ZooKeeper here once it is built (issue #3).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
PORT=${ZKOPS_DEMO_PORT:-2181}
"$REPO/scripts/setup-deps.sh"
export ZKOPS_VENV=${ZKOPS_VENV:-$REPO/.venv}
echo "==> building (release)"
cargo build --release --workspace --quiet

DIR=$(mktemp -d "${TMPDIR:-/tmp}/zkops-demo.XXXXXX")
SNIFFER=""
cleanup() {
    [[ -n $SNIFFER ]] && kill "$SNIFFER" 2>/dev/null || true
    "$REPO/scripts/zk.sh" stop "$DIR" >/dev/null 2>&1 || true
    rm -rf "$DIR"
}
trap cleanup EXIT

echo "==> 3-node Apache ZooKeeper ensemble on 127.0.0.11-13:$PORT"
"$REPO/scripts/zk.sh" ensemble "$DIR" 3 --client-port "$PORT"
SERVERS="127.0.0.11:$PORT,127.0.0.12:$PORT,127.0.0.13:$PORT"

echo
echo "==> zksmoketest --servers $SERVERS"
"$REPO/target/release/zksmoketest" --servers "$SERVERS" --quiet || echo "(zksmoketest exit $?)"

echo
echo "==> zktraffic -i lo -p $PORT stats, while kazoo runs a workload through every member"
"$REPO/target/release/zktraffic" -i lo -p "$PORT" --no-quorum --duration 12s \
    stats --by op,path,client --depth 2 --top 8 &
SNIFFER=$!
sleep 1.5
"$ZKOPS_VENV/bin/python" - "$SERVERS" <<'PY'
import sys, time
from kazoo.client import KazooClient
hosts = sys.argv[1].split(",")
clients = []
for h in hosts:
    zk = KazooClient(hosts=h, timeout=10)
    zk.start()
    clients.append(zk)
zk = clients[0]
zk.ensure_path("/demo/config")
zk.set("/demo/config", b"v1")
for i, c in enumerate(clients):
    c.get("/demo/config", watch=lambda e: None)
    for k in range(50):
        c.create("/demo/members/m-", b"x" * 20, ephemeral=True, sequence=True, makepath=True)
        c.get("/demo/config")
        c.exists("/demo/missing")
zk.set("/demo/config", b"v2")
time.sleep(0.5)
for c in clients:
    c.stop()
    c.close()
zk2 = KazooClient(hosts=hosts[0]); zk2.start(); zk2.delete("/demo", recursive=True); zk2.stop(); zk2.close()
PY
wait "$SNIFFER" || true
SNIFFER=""

echo
ZKS_ADDR=127.0.0.14:$PORT
echo "==> zkserver (one-member Raft group) on $ZKS_ADDR, probed by zksmoketest"
cat >"$DIR/zks.cfg" <<CFG
tickTime=2000
dataDir=$DIR/zks
clientPort=$PORT
clientPortAddress=127.0.0.14
4lw.commands.whitelist=*
CFG
"$REPO/target/release/zkserver" "$DIR/zks.cfg" >"$DIR/zks.out" 2>&1 &
ZKS=$!
for _ in $(seq 50); do
    echo ruok | nc -q1 127.0.0.14 "$PORT" 2>/dev/null | grep -q imok && break
    sleep 0.1
done
"$REPO/target/release/zksmoketest" --servers "$ZKS_ADDR" --quiet || echo "(zksmoketest exit $?)"
echo
echo "==> zkserver's own account of that run: event kinds in $DIR/zks/events/events.log"
kill -TERM "$ZKS" && wait "$ZKS" || true
grep -o '"kind":"[a-z._]*"' "$DIR/zks/events/events.log" | sort | uniq -c | sort -rn | head -12

echo
echo "==> also built: zklogview (its issue comes next)"
"$REPO/target/release/zklogview" --help | head -3
