#!/usr/bin/env bash
# bench-zktraffic.sh - zktraffic's benchmark on real ZooKeeper traffic
# (loopback only).
#
#   scripts/bench-zktraffic.sh [--recapture] [--no-live]
#
# 1. setup-deps, release builds (zktraffic, the loadgen example, the bench).
# 2. Captures, made once and reused until --recapture:
#    target/bench/load.pcap  >= 1M packets of loadgen's pipelined mix against
#                            a real ZooKeeper 3.8 (scripts/zk.sh standalone);
#    target/bench/10k.pcap   10,000 connections open at once, a few requests each.
# 3. The bench binary (zktraffic/benches/throughput.rs) on them: decode
#    throughput and its ratio to a libpcap read of the same file in the same
#    run, and peak RSS / tracked flows on the 10k capture.
# 4. Live: load.pcap replayed onto lo at 100k packets/s (tcpreplay) while
#    `zktraffic -i lo stats` captures; reports its kernel drop counters.
#    Without tcpreplay (or with LIVE_SOURCE=loadgen), loadgen against
#    ZooKeeper is the live load instead (at whatever rate this machine reaches).
# Every step is bounded in time; a trap stops what the script started.
# Results: target/bench/summary.txt (and *.txt/*.log next to it).
#
# Environment: ZKTRAFFIC_BENCH_PORT (default 24181), BENCH_PACKETS (1000000),
# BENCH_CONNS (64), BENCH_WINDOW (32), BENCH_10K_CONNS (10000),
# LIVE_PPS (100000), LIVE_PACKETS (1000000), LIVE_SOURCE (replay|loadgen).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
S=$REPO/scripts
BENCH=$REPO/target/bench
PORT=${ZKTRAFFIC_BENCH_PORT:-24181}
PACKETS=${BENCH_PACKETS:-1000000}
CONNS=${BENCH_CONNS:-64}
WINDOW=${BENCH_WINDOW:-32}
TENK=${BENCH_10K_CONNS:-10000}
LIVE_PPS=${LIVE_PPS:-100000}
LIVE_PACKETS=${LIVE_PACKETS:-1000000}
LIVE_SOURCE=${LIVE_SOURCE:-replay}
ZKDIR=$BENCH/zk
LOADGEN=$REPO/target/release/examples/loadgen
ZKTRAFFIC=$REPO/target/release/zktraffic

RECAPTURE=0 LIVE=1
for a in "$@"; do
    case $a in
        --recapture) RECAPTURE=1 ;;
        --no-live) LIVE=0 ;;
        -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
        *) echo "bench-zktraffic: unknown argument '$a'" >&2; exit 2 ;;
    esac
done

say() { echo "bench-zktraffic: $*" >&2; }
die() { say "error: $*"; exit 1; }
note() { echo "$*" | tee -a "$BENCH/summary.txt"; }

TCPDUMP_PID="" LOADGEN_PID="" ZKT_PID="" REPLAY_PID=""
# stop_pid, shared with the capture scripts.
. "$(dirname "${BASH_SOURCE[0]}")/tcpdump-lib.sh"
cleanup() {
    local rc=$?
    set +e
    stop_pid "$REPLAY_PID" INT
    stop_pid "$LOADGEN_PID" TERM
    stop_pid "$ZKT_PID" INT
    stop_pid "$TCPDUMP_PID" INT
    [[ -f $ZKDIR/zoo.cfg ]] && "$S/zk.sh" stop "$ZKDIR" >/dev/null 2>&1
    rm -f "$BENCH/loadgen.stop"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- setup
"$S/setup-deps.sh"
command -v tcpdump >/dev/null || die "tcpdump missing"
mkdir -p "$BENCH"
: >"$BENCH/summary.txt"
cd "$REPO"
say "building (release)"
cargo build --release --quiet -p zktraffic --bin zktraffic --example loadgen
cargo bench --quiet -p zktraffic --bench throughput --no-run

# 10k connections need 10k descriptors in loadgen and in ZooKeeper (each a
# process of its own); without CAP_SYS_RESOURCE the hard limit caps it.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
(($(ulimit -n) >= TENK + 512)) ||
    die "open-file limit $(ulimit -n) is too low for $TENK connections (need $((TENK + 512)))"
read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
((hi - lo >= TENK + 1000)) || die "ephemeral port range $lo-$hi is too small for $TENK connections"

# ---------------------------------------------------------------- ZooKeeper
zk_start() {
    [[ -f $ZKDIR/zoo.cfg ]] && "$S/zk.sh" stop "$ZKDIR" >/dev/null 2>&1
    rm -rf "$ZKDIR"
    # forceSync=no: the load is about the wire, not the disk.
    # clientPortListenBacklog: 10k connects arrive in a burst.
    ZK_LOG_LEVEL=warn ZK_JVM_OPTS="-Xms256m -Xmx1g -XX:+UseSerialGC" \
        "$S/zk.sh" standalone "$ZKDIR" --port "$PORT" \
        maxClientCnxns=0 forceSync=no clientPortListenBacklog=1024 \
        >"$BENCH/zk-start.log" 2>&1 || { cat "$BENCH/zk-start.log" >&2; die "ZooKeeper did not start"; }
}
zk_stop() { "$S/zk.sh" stop "$ZKDIR" >/dev/null 2>&1 || true; }

# ---------------------------------------------------------------- tcpdump
# Not --immediate-mode: with it libpcap uses TPACKET_V2, whose fixed 64 KiB
# slots (loopback MTU) fit ~1000 packets in -B 65536, and this load then
# loses packets in the kernel; -U still writes every packet out at once.
tcpdump_start() { # tcpdump_start FILE
    rm -f "$1" "$1.log"
    tcpdump -i lo -s 0 -U -B 65536 -Z root -w "$1" "tcp port $PORT" 2>"$1.log" &
    TCPDUMP_PID=$!
    local i
    for ((i = 0; i < 100; i++)); do
        grep -q "listening on" "$1.log" 2>/dev/null && return 0
        kill -0 "$TCPDUMP_PID" 2>/dev/null || { cat "$1.log" >&2; die "tcpdump failed to start"; }
        sleep 0.05
    done
    die "tcpdump did not start listening"
}
tcpdump_count() { # tcpdump_count FILE: packets captured so far (SIGUSR1 makes tcpdump report)
    kill -USR1 "$TCPDUMP_PID" 2>/dev/null || true
    sleep 0.2
    sed -n 's/^\(tcpdump: \)\{0,1\}\([0-9]*\) packets\{0,1\} captured.*/\2/p' "$1.log" | tail -n1
}
CAPTURED=0
tcpdump_stop() { # tcpdump_stop FILE: stops it, sets CAPTURED, warns of kernel drops
    stop_pid "$TCPDUMP_PID" INT
    TCPDUMP_PID=""
    local dropped
    CAPTURED=$(sed -n 's/^\([0-9]*\) packets\{0,1\} captured$/\1/p' "$1.log" | tail -n1)
    dropped=$(sed -n 's/^\([0-9]*\) packets\{0,1\} dropped by kernel$/\1/p' "$1.log" | tail -n1)
    [[ -n $CAPTURED ]] || { cat "$1.log" >&2; die "no tcpdump totals for $1"; }
    ((${dropped:-0} == 0)) || say "warning: tcpdump lost $dropped packets in the kernel for $1"
}

wait_pid() { # wait_pid PID SECONDS: 0 if it exited in time (its status in $?)
    local pid=$1 deadline=$((SECONDS + $2))
    while kill -0 "$pid" 2>/dev/null; do
        ((SECONDS < deadline)) || return 124
        sleep 0.2
    done
    wait "$pid"
}

capture_load() {
    local pcap=$BENCH/load.pcap n=0 deadline
    say "capturing >= $PACKETS packets of load ($CONNS connections, window $WINDOW) -> $pcap"
    tcpdump_start "$pcap"
    rm -f "$BENCH/loadgen.stop"
    # Ops and time are upper bounds; the packet count is what ends it.
    "$LOADGEN" --server "127.0.0.1:$PORT" --conns "$CONNS" --window "$WINDOW" \
        --ops $((PACKETS * 3)) --duration 300 --stop-file "$BENCH/loadgen.stop" \
        >"$BENCH/loadgen-load.txt" 2>&1 &
    LOADGEN_PID=$!
    deadline=$((SECONDS + 330))
    while kill -0 "$LOADGEN_PID" 2>/dev/null && ((SECONDS < deadline)); do
        sleep 1
        n=$(tcpdump_count "$pcap")
        ((${n:-0} >= PACKETS)) && break
    done
    # Stopping lets every connection take its replies and close its session,
    # so the capture ends with whole conversations.
    touch "$BENCH/loadgen.stop"
    wait_pid "$LOADGEN_PID" 60 || { cat "$BENCH/loadgen-load.txt" >&2; die "loadgen failed"; }
    LOADGEN_PID=""
    tcpdump_stop "$pcap"
    ((CAPTURED >= PACKETS)) || die "only $CAPTURED packets captured (want $PACKETS); see $BENCH/loadgen-load.txt"
    echo "$CAPTURED" >"$pcap.count"
    cp "$BENCH/loadgen-load.txt" "$pcap.loadgen"
}

capture_10k() {
    local pcap=$BENCH/10k.pcap
    say "capturing $TENK connections, a few requests each -> $pcap"
    tcpdump_start "$pcap"
    "$LOADGEN" --server "127.0.0.1:$PORT" --conns "$TENK" --window 4 --ops $((TENK * 5)) \
        --duration 120 --io-timeout 60 >"$BENCH/loadgen-10k.txt" 2>&1 &
    LOADGEN_PID=$!
    wait_pid "$LOADGEN_PID" 300 || { cat "$BENCH/loadgen-10k.txt" >&2; die "loadgen (10k) failed"; }
    LOADGEN_PID=""
    sleep 0.5
    tcpdump_stop "$pcap"
    echo "$CAPTURED" >"$pcap.count"
    cp "$BENCH/loadgen-10k.txt" "$pcap.loadgen"
}

have_capture() { [[ $RECAPTURE == 0 && -s $1 && -s $1.count && $1.count -nt $1 ]]; }

if have_capture "$BENCH/load.pcap" && have_capture "$BENCH/10k.pcap"; then
    say "reusing the captures in $BENCH (--recapture makes new ones)"
else
    zk_start
    have_capture "$BENCH/load.pcap" || capture_load
    have_capture "$BENCH/10k.pcap" || capture_10k
    zk_stop
fi
note "load.pcap: $(<"$BENCH/load.pcap.count") packets, $(du -m "$BENCH/load.pcap" | cut -f1) MB; $(<"$BENCH/load.pcap.loadgen")"
note "10k.pcap: $(<"$BENCH/10k.pcap.count") packets, $(du -m "$BENCH/10k.pcap" | cut -f1) MB; $(<"$BENCH/10k.pcap.loadgen")"

# ---------------------------------------------------------------- bench binary
say "decode throughput and peak memory (cargo bench -p zktraffic --bench throughput)"
cargo bench --quiet -p zktraffic --bench throughput -- \
    "$BENCH/load.pcap" --10k "$BENCH/10k.pcap" --port "$PORT" | tee "$BENCH/throughput.txt"
cat "$BENCH/throughput.txt" >>"$BENCH/summary.txt"

# ---------------------------------------------------------------- live
live_capture_start() { # live_capture_start SECONDS
    "$ZKTRAFFIC" -i lo -p "$PORT" --no-quorum --duration "$1s" stats --top 3 \
        >"$BENCH/live-stats.txt" 2>"$BENCH/live.err" &
    ZKT_PID=$!
    # It prints nothing when it starts; give it time to open the interface.
    sleep 2
    kill -0 "$ZKT_PID" 2>/dev/null || { cat "$BENCH/live.err" >&2; die "zktraffic -i lo did not start"; }
}
LIVE_RESULT=""
live_capture_end() { # live_capture_end SECONDS: waits for its --duration to pass
    wait_pid "$ZKT_PID" "$1" || { cat "$BENCH/live.err" >&2; die "zktraffic -i lo failed"; }
    ZKT_PID=""
    LIVE_RESULT=$(grep -o 'zktraffic: [0-9]* packets.*' "$BENCH/live.err" | tail -n1)
}

if ((LIVE)); then
    if [[ $LIVE_SOURCE == replay ]] && command -v tcpreplay >/dev/null && command -v tcprewrite >/dev/null; then
        replay=$BENCH/load-otherhost.pcap
        if [[ ! -s $replay || $replay -ot $BENCH/load.pcap ]]; then
            # A destination MAC other than lo's (all zeros) makes the kernel
            # drop the replayed frames after the capture taps and before TCP,
            # which would otherwise answer every one of them with a RST.
            tcprewrite --enet-dmac=02:00:00:00:00:01 -i "$BENCH/load.pcap" -o "$replay"
        fi
        secs=$(((LIVE_PACKETS + LIVE_PPS - 1) / LIVE_PPS))
        say "live: replaying $LIVE_PACKETS packets onto lo at $LIVE_PPS packets/s while zktraffic -i lo captures"
        live_capture_start $((secs + 5))
        timeout $((secs * 3 + 30)) tcpreplay -i lo --pps "$LIVE_PPS" --limit "$LIVE_PACKETS" "$replay" \
            >"$BENCH/replay.txt" 2>&1 &
        REPLAY_PID=$!
        wait_pid "$REPLAY_PID" $((secs * 3 + 40)) || { cat "$BENCH/replay.txt" >&2; die "tcpreplay failed"; }
        REPLAY_PID=""
        live_capture_end $((secs + 30))
        note "live (tcpreplay $(grep -o '[0-9.]* pps' "$BENCH/replay.txt" | head -n1), $(grep -o 'Actual: [0-9]* packets' "$BENCH/replay.txt")): $LIVE_RESULT"
    else
        say "live: loadgen against ZooKeeper while zktraffic -i lo captures (tcpreplay not used)"
        zk_start
        live_capture_start 20
        started=$SECONDS
        "$LOADGEN" --server "127.0.0.1:$PORT" --conns 256 --window 64 --ops 100000000 \
            --duration 15 >"$BENCH/loadgen-live.txt" 2>&1 || true
        secs=$((SECONDS - started))
        live_capture_end 40
        zk_stop
        packets=$(sed -n 's/^zktraffic: \([0-9]*\) packets.*/\1/p' <<<"$LIVE_RESULT")
        note "live (loadgen, about $((${packets:-0} / (secs > 0 ? secs : 1))) packets/s over ${secs} s: $(<"$BENCH/loadgen-live.txt")): $LIVE_RESULT"
    fi
fi
say "summary in $BENCH/summary.txt"
