#!/usr/bin/env bash
# capture-fixtures.sh - regenerate the golden ZooKeeper packet captures in
# proto/tests/fixtures/ from real clients talking to a real ZooKeeper 3.8,
# or to zkops' own zkserver.
#
#   scripts/capture-fixtures.sh [SCENARIO...]
#
# SCENARIO is any of: kazoo zkcli climt noreadonly fourlw kazoo-zkserver
# zkcli-zkserver (default: all).
# For each one a fresh standalone server is started on $ZK_ADDR:$ZK_PORT
# (default 127.0.0.1:21810) in a temporary directory, `tcpdump -i lo` records
# the traffic to that address and port into <name>.pcap while
# scripts/fixture_workload.py drives the client, then tcpdump (SIGINT) and the
# server are stopped.
#
# The *-zkserver scenarios run the same client workload as the scenario named
# before the dash, against zkserver instead of Apache ZooKeeper: the script
# builds it (`cargo build --release -p zkserver`, into cargo's own target
# directory, so CARGO_TARGET_DIR is honoured) unless ZKSERVER_BIN names a
# binary to use, and runs it with `--listen $ZK_ADDR:$ZK_PORT --data-dir
# <work>/zks-<scenario>` and a zoo.cfg (tickTime 2000,
# extendedTypesEnabled=true, every four-letter word allowed), stopping it with
# SIGTERM afterwards.
# Afterwards expected.json + MANIFEST.md are rebuilt from the drivers'
# records and scripts/pcap_summary.py cross-checks every capture; only if
# that passes are the files copied into the fixture directory.
#
# Environment: FIXTURE_DIR (default <repo>/proto/tests/fixtures), ZK_ADDR (a
# loopback address), ZK_PORT (the tests expect 21810), ZKSERVER_BIN,
# ZKOPS_VENV (see setup-deps.sh), KEEP_WORK=1 keeps the temporary directory.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
S=$REPO/scripts
OUT=${FIXTURE_DIR:-$REPO/proto/tests/fixtures}
ADDR=${ZK_ADDR:-127.0.0.1}
PORT=${ZK_PORT:-21810}
VENV=${ZKOPS_VENV:-$REPO/.venv}
PY=$VENV/bin/python

declare -A PCAP_NAME=([kazoo]=kazoo.pcap [zkcli]=zkcli.pcap [climt]=cli_mt.pcap
    [noreadonly]=noreadonly.pcap [fourlw]=fourlw.pcap
    [kazoo-zkserver]=kazoo-zkserver.pcap [zkcli-zkserver]=zkcli-zkserver.pcap)
ALL=(kazoo zkcli climt noreadonly fourlw kazoo-zkserver zkcli-zkserver)

say() { echo "capture-fixtures: $*" >&2; }
die() { say "error: $*"; exit 1; }

SCENARIOS=("$@")
((${#SCENARIOS[@]})) || SCENARIOS=("${ALL[@]}")
for sc in "${SCENARIOS[@]}"; do
    [[ -n ${PCAP_NAME[$sc]:-} ]] || die "unknown scenario '$sc' (known: ${ALL[*]})"
done

"$S/setup-deps.sh"
[[ -x $PY ]] || die "no venv python at $PY"
[[ $ADDR == 127.* ]] || die "ZK_ADDR must be a loopback address, not $ADDR"

# zkserver, built once if a scenario needs it
ZKSERVER=""
for sc in "${SCENARIOS[@]}"; do
    [[ $sc == *-zkserver ]] || continue
    if [[ -n ${ZKSERVER_BIN:-} ]]; then
        ZKSERVER=$ZKSERVER_BIN
    else
        say "building zkserver (cargo build --release -p zkserver)"
        (cd "$REPO" && cargo build --release -p zkserver) >&2 ||
            die "building zkserver failed"
        target=$(cd "$REPO" && cargo metadata --format-version 1 --no-deps |
            "$PY" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
        ZKSERVER=$target/release/zkserver
    fi
    [[ -x $ZKSERVER ]] || die "no zkserver binary at $ZKSERVER"
    break
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/zkops-capture.XXXXXX")
. "$(dirname "${BASH_SOURCE[0]}")/tcpdump-lib.sh"
HOLD_PID=""
ZKDIR=""
ZKS_PID=""

cleanup() {
    local rc=$?
    set +e
    if [[ -n $HOLD_PID ]]; then
        touch "$WORK/hold.stop"
        kill "$HOLD_PID" 2>/dev/null
        wait "$HOLD_PID" 2>/dev/null
    fi
    stop_tcpdump
    [[ -n $ZKDIR && -d $ZKDIR ]] && "$S/zk.sh" stop "$ZKDIR" >/dev/null 2>&1
    stop_zkserver
    finish_work "$rc"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_zkserver() { # start_zkserver SCENARIO: returns once it answers ruok
    local sc=$1 dir=$WORK/zks-$1 i
    # The settings zk.sh gives Apache ZooKeeper; --listen and --data-dir
    # override clientPort/clientPortAddress and dataDir.
    printf '%s\n' "tickTime=2000" "dataDir=$dir" "clientPort=$PORT" \
        "extendedTypesEnabled=true" "4lw.commands.whitelist=*" >"$dir.cfg"
    say "[$sc] starting zkserver on $ADDR:$PORT"
    "$ZKSERVER" "$dir.cfg" --listen "$ADDR:$PORT" --data-dir "$dir" >"$dir.out" 2>&1 &
    ZKS_PID=$!
    for ((i = 0; i < 300; i++)); do
        kill -0 "$ZKS_PID" 2>/dev/null || { cat "$dir.out" >&2; die "[$sc] zkserver exited"; }
        [[ $("$S/zk.sh" 4lw "$ADDR" "$PORT" ruok) == imok ]] && return 0
        sleep 0.1
    done
    cat "$dir.out" >&2
    die "[$sc] zkserver did not answer ruok on $ADDR:$PORT"
}

stop_zkserver() { # SIGTERM (a clean shutdown), KILL after 10 s
    stop_pid "$ZKS_PID" TERM 10
    ZKS_PID=""
}

capture() { # capture SCENARIO
    local sc=$1 name=${PCAP_NAME[$1]} pcap filter="host $ADDR and tcp port $PORT"
    local workload=${1%-zkserver} desc=()
    pcap=$WORK/$name
    if [[ $sc == *-zkserver ]]; then
        start_zkserver "$sc"
        desc=(--server-desc "zkserver $("$ZKSERVER" --version | awk '{print $NF}') (zkops), standalone on $ADDR:$PORT")
    else
        ZKDIR=$WORK/zk-$sc
        say "[$sc] starting ZooKeeper on $ADDR:$PORT"
        "$S/zk.sh" standalone "$ZKDIR" --port "$PORT" --addr "$ADDR" >"$WORK/zk-$sc.out" 2>&1 ||
            { cat "$WORK/zk-$sc.out" >&2; die "[$sc] could not start ZooKeeper"; }
    fi
    if [[ $sc == fourlw ]]; then
        # a session holding watches, kept out of the capture by its port
        rm -f "$WORK/hold.port" "$WORK/hold.stop"
        "$PY" "$S/fixture_workload.py" hold --server "$ADDR:$PORT" \
            --port-file "$WORK/hold.port" --stop-file "$WORK/hold.stop" 2>"$WORK/hold.log" &
        HOLD_PID=$!
        local i
        for ((i = 0; i < 200; i++)); do
            [[ -s $WORK/hold.port ]] && break
            kill -0 "$HOLD_PID" 2>/dev/null || { cat "$WORK/hold.log" >&2; die "hold session failed"; }
            sleep 0.1
        done
        [[ -s $WORK/hold.port ]] || die "hold session did not report its port"
        filter="$filter and not port $(<"$WORK/hold.port")"
    fi
    start_tcpdump "$pcap" "$filter"
    say "[$sc] capturing ($filter)"
    "$PY" "$S/fixture_workload.py" "$workload" --server "$ADDR:$PORT" \
        --expect "$WORK/$sc.json" "${desc[@]}"
    sleep 1 # let the last FIN/ACKs through
    stop_tcpdump
    if [[ -n $HOLD_PID ]]; then
        touch "$WORK/hold.stop"
        wait "$HOLD_PID" || true
        HOLD_PID=""
    fi
    if [[ -n $ZKDIR ]]; then
        "$S/zk.sh" stop "$ZKDIR" >/dev/null 2>&1
        ZKDIR=""
    fi
    stop_zkserver
    [[ -s $pcap ]] || die "[$sc] empty capture"
    cp "$pcap" "$STAGE/$name"
    say "[$sc] captured $name ($(stat -c %s "$pcap") bytes)"
}

STAGE=$WORK/out
mkdir -p "$STAGE"

for sc in "${SCENARIOS[@]}"; do
    capture "$sc"
done

# Rebuild expected.json / MANIFEST.md: scenarios not re-run this time keep
# their previous capture and entry.
for sc in "${ALL[@]}"; do
    name=${PCAP_NAME[$sc]}
    [[ -f $STAGE/$name || ! -f $OUT/$name ]] || cp "$OUT/$name" "$STAGE/$name"
done
if [[ -f $OUT/expected.json ]]; then
    "$PY" - "$OUT/expected.json" "$WORK" <<'EOF'
import json, os, sys
names = {"kazoo.pcap": "kazoo", "zkcli.pcap": "zkcli", "cli_mt.pcap": "climt",
         "noreadonly.pcap": "noreadonly", "fourlw.pcap": "fourlw",
         "kazoo-zkserver.pcap": "kazoo-zkserver", "zkcli-zkserver.pcap": "zkcli-zkserver"}
old = json.load(open(sys.argv[1]))
for name, entry in old.items():
    path = os.path.join(sys.argv[2], names.get(name, "?") + ".json")
    if name in names and not os.path.exists(path):
        json.dump(entry, open(path, "w"), indent=2)
EOF
fi
"$PY" "$S/fixture_workload.py" merge --from "$WORK" --out "$STAGE"
"$PY" "$S/pcap_summary.py" --check "$STAGE/expected.json" --port "$PORT" ||
    die "captures do not match the workload expectations; fixtures left unchanged"
mkdir -p "$OUT"
for f in "$STAGE"/*; do
    b=$(basename "$f")
    cp "$f" "$OUT/.$b.tmp" && mv "$OUT/.$b.tmp" "$OUT/$b"
done
say "fixtures updated in $OUT"
ls -l "$OUT"
